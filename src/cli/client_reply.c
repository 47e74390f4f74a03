/*
 * client_reply: what a client verb says about a reply that is not a
 * success, and the exit status it returns.
 *
 * The server's errors are JSON: {"error": message, "code": word, ...}, a
 * failed call also "exit_code", "trap" and "stderr" (its tail). The exit
 * status follows `mote run` where the cause is the same (a trap is 68
 * whether the module ran here or on the server), and a call whose function
 * exited non-zero exits with that status.
 */
#include <string.h>

#include "cli.h"
#include "cli/client.h"
#include "server/server.h" /* the development key, to name it */

json_t *mote_reply_json(const char *verb, const mote_reply *r, int *status) {
  json_error_t err;
  json_t *j = json_loadb(r->body, r->body_len, 0, &err);
  if (j && json_is_object(j)) return j;
  json_decref(j);
  fprintf(stderr, "mote %s: the server's reply (HTTP %ld) is not the JSON object expected: %s\n",
          verb, r->status, err.text);
  *status = MOTE_EXIT_REMOTE;
  return NULL;
}

void mote_reply_print_raw(const mote_reply *r) {
  fwrite(r->body, 1, r->body_len, stdout);
  if (r->body_len && r->body[r->body_len - 1] != '\n') putchar('\n');
}

static int status_of_code(const char *code, long http, json_t *j) {
  static const struct {
    const char *code;
    int status;
  } by_code[] = {
      {"trap", MOTE_EXIT_TRAP},
      {"timeout", MOTE_EXIT_TIMEOUT},
      {"limit", MOTE_EXIT_LIMIT},
      {"link", MOTE_EXIT_LINK},
      {"unsupported_import", MOTE_EXIT_LINK},
      {"malformed_module", MOTE_EXIT_MODULE},
      {"unsupported_module", MOTE_EXIT_MODULE},
      {"invalid_module", MOTE_EXIT_MODULE},
      {"empty_module", MOTE_EXIT_MODULE},
      {"compile_limit", MOTE_EXIT_COMPILE},
      {"compile_failed", MOTE_EXIT_COMPILE},
      {"load_failed", MOTE_EXIT_COMPILE},
  };
  if (!strcmp(code, "exit")) {
    /* The function's own status, as a process would have it; one that is a
     * multiple of 256 must still not read as success. */
    int st = (int)(mote_json_int(j, "exit_code") & 0xff);
    return st ? st : 1;
  }
  for (size_t i = 0; i < sizeof by_code / sizeof by_code[0]; i++)
    if (!strcmp(code, by_code[i].code)) return by_code[i].status;
  if (http == 404) return MOTE_EXIT_NOT_FOUND;
  if (http == 403 && !strcmp(code, "forbidden")) return MOTE_EXIT_AUTH;
  if (http >= 400 && http < 500) return MOTE_EXIT_REFUSED;
  return MOTE_EXIT_REMOTE;
}

/* A 401 of the server (not a function's own: that one has an activation):
 * what was wrong, and where keys come from. */
static int auth_fail(const char *verb, const mote_reply *r, json_t *j) {
  const char *msg = j ? mote_json_str(j, "error") : "";
  fprintf(stderr, "mote %s: the server wants a valid API key: %s\n", verb,
          *msg ? msg : "HTTP 401");
  if (r->auth_sent)
    fprintf(stderr, "mote %s: the key sent (--auth or $MOTE_AUTH) is unknown to this server, "
            "deleted, or its secret is wrong\n", verb);
  else
    fprintf(stderr, "mote %s: no key was sent: pass --auth UUID:KEY or set MOTE_AUTH=UUID:KEY\n",
            verb);
  fprintf(stderr,
          "mote %s: make a key where the server runs, with its data directory: `mote keys "
          "create NAMESPACE --data DIR` prints UUID:KEY; a server started with `mote serve "
          "--dev` takes the development key of namespace " MOTE_DEV_NAMESPACE ":\n"
          "  export MOTE_AUTH=" MOTE_DEV_UUID ":" MOTE_DEV_KEY "\n",
          verb);
  return MOTE_EXIT_AUTH;
}

int mote_reply_fail(const char *verb, const mote_reply *r) {
  json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
  if (r->status == 401 && !r->activation_id[0]) {
    int st = auth_fail(verb, r, j);
    json_decref(j);
    return st;
  }
  const char *msg = j ? mote_json_str(j, "error") : "";
  if (!*msg) {
    /* Not one of mote's errors: a CGI function's own answer (the call has
     * an activation), or a proxy's page. Its first line. */
    size_t n = strcspn(r->body, "\r\n");
    bool cgi = r->activation_id[0] != '\0';
    fprintf(stderr, "mote %s: the %s answered HTTP %ld%s%.*s\n", verb,
            cgi ? "function" : "server", r->status, n ? ": " : "", (int)(n > 300 ? 300 : n),
            r->body);
    json_decref(j);
    return cgi                 ? MOTE_EXIT_REMOTE
           : r->status == 404 ? MOTE_EXIT_NOT_FOUND
           : r->status >= 400 && r->status < 500 ? MOTE_EXIT_REFUSED
                                                 : MOTE_EXIT_REMOTE;
  }
  fprintf(stderr, "mote %s: %s\n", verb, msg);
  const char *trap = mote_json_str(j, "trap");
  if (*trap && !strstr(msg, trap)) fprintf(stderr, "mote %s: trap: %s\n", verb, trap);
  const char *tail = mote_json_str(j, "stderr");
  if (*tail) {
    size_t n = strlen(tail);
    fprintf(stderr, "mote %s: the function's stderr (its end):\n%s%s", verb, tail,
            tail[n - 1] == '\n' ? "" : "\n");
  }
  int st = status_of_code(mote_json_str(j, "code"), r->status, j);
  json_decref(j);
  return st;
}
