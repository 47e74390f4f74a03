/*
 * `mote deploy NAME FILE`: PUT /v1/functions/NAME with the module (or a
 * bundle) as the body and the settings in the query string.
 *
 * The kind of FILE is read from its first bytes (a module starts "\0asm", a
 * gzip stream 1f 8b, a zip archive "PK\3\4"), then from its name; the
 * server checks the rest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/fs.h"
#include "cli.h"
#include "cli/client.h"

static void usage(FILE *out) {
  fputs("usage: mote deploy NAME FILE [--memory MIB] [--timeout MS] [--env KEY=VALUE]...\n"
        "                   [--public] [--cgi] [--max-concurrency N] [--server URL] [--json]\n"
        "\n"
        "Deploys FILE as function NAME (a new version when NAME exists) and prints the\n"
        "version. FILE is a WebAssembly command module (.wasm), or a bundle of the module\n"
        "and its files (.tar.gz, .tgz or .zip). Settings not given take the server's\n"
        "defaults; each deploy sets them all anew.\n"
        "\n"
        "  --memory MIB         cap on the function's linear memory (1-4096)\n"
        "  --timeout MS         wall time of one call before it is stopped (504)\n"
        "  --env KEY=VALUE      a variable of the function's environment (repeatable)\n"
        "  --public             callable through /faas/NAME (mote invoke) without a key\n"
        "  --cgi                run it as CGI: the request in CGI variables, stdout starts\n"
        "                       with headers\n"
        "  --max-concurrency N  calls of it that run at once; more get 429 (0: no limit)\n"
        MOTE_CLIENT_OPTS_HELP
        "\n"
        "exit status: 0 deployed; 64 bad command line; 65 the server finds the module\n"
        "malformed, invalid or unsupported; 66 compiling it failed; 67 an import cannot be\n"
        "satisfied; 72 refused (a bad setting or name, too large, a kind the server does\n"
        "not take); 73 the server failed; 74 FILE cannot be read; 75 no server at URL;\n"
        "77 no valid API key.\n",
        out);
}

static const char *content_type_of(const char *path, const uint8_t *b, size_t n) {
  if (n >= 4 && !memcmp(b, "\0asm", 4)) return "application/wasm";
  if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) return "application/gzip";
  if (n >= 4 && !memcmp(b, "PK\3\4", 4)) return "application/zip";
  size_t len = strlen(path);
#define ENDS_WITH(s) (len >= strlen(s) && !strcmp(path + len - strlen(s), s))
  if (ENDS_WITH(".wasm")) return "application/wasm"; /* the server names what is wrong */
  if (ENDS_WITH(".tar.gz") || ENDS_WITH(".tgz")) return "application/gzip";
  if (ENDS_WITH(".zip")) return "application/zip";
#undef ENDS_WITH
  return NULL;
}

static bool is_count(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

int mote_cmd_deploy(int argc, char **argv) {
  mote_client_opts o = {0};
  const char *name = NULL, *file = NULL;
  mote_path path = {0};
  /* Settings are added to the query as they come; the name goes first. */
  mote_path query = {0};
  int rc = MOTE_EXIT_USAGE;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int c = mote_client_opt("deploy", argc, argv, &i, &o);
    if (c < 0) goto out;
    if (c > 0) continue;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      rc = 0;
      goto out;
    }
    if (!strcmp(a, "--public")) {
      mote_path_param(&query, "public", "true");
    } else if (!strcmp(a, "--cgi")) {
      mote_path_param(&query, "cgi", "true");
    } else if (!strcmp(a, "--memory") || !strcmp(a, "--timeout") ||
               !strcmp(a, "--max-concurrency") || !strcmp(a, "--env")) {
      if (i + 1 >= argc) {
        fprintf(stderr, "mote deploy: %s needs a value (see mote deploy --help)\n", a);
        goto out;
      }
      const char *v = argv[++i];
      if (!strcmp(a, "--env")) {
        if (!strchr(v, '=') || v[0] == '=') {
          fprintf(stderr, "mote deploy: --env takes KEY=VALUE, not \"%s\"\n", v);
          goto out;
        }
        mote_path_param(&query, "env", v);
        continue;
      }
      if (!is_count(v)) {
        fprintf(stderr, "mote deploy: %s takes a whole number, not \"%s\"\n", a, v);
        goto out;
      }
      /* --max-concurrency is the server's "concurrency" setting. */
      mote_path_param(&query, !strcmp(a, "--max-concurrency") ? "concurrency" : a + 2, v);
    } else if (a[0] == '-' && a[1]) {
      fprintf(stderr, "mote deploy: unknown option %s\n", a);
      usage(stderr);
      goto out;
    } else if (!name) {
      name = a;
    } else if (!file) {
      file = a;
    } else {
      fprintf(stderr, "mote deploy: one NAME and one FILE, then options; \"%s\" is extra\n", a);
      goto out;
    }
  }
  if (!file) {
    fprintf(stderr, "mote deploy: needs a NAME and a FILE (see mote deploy --help)\n");
    goto out;
  }

  size_t len = 0;
  uint8_t *bytes = mote_read_file(file, &len);
  if (!bytes) {
    fprintf(stderr, "mote deploy: cannot read %s: %s\n", file,
            errno == EINVAL ? "not a regular file" : strerror(errno));
    rc = MOTE_EXIT_IO;
    goto out;
  }
  const char *ct = content_type_of(file, bytes, len);
  if (!ct) {
    fprintf(stderr, "mote deploy: %s is neither a WebAssembly module (.wasm) nor a bundle "
            "(.tar.gz, .tgz, .zip)\n", file);
    free(bytes);
    rc = MOTE_EXIT_MODULE;
    goto out;
  }
  mote_path_add(&path, "/v1/functions/");
  mote_path_add_escaped(&path, name);
  mote_path_add(&path, query.s ? query.s : "");
  if (path.oom || query.oom) {
    fprintf(stderr, "mote deploy: out of memory\n");
    free(bytes);
    rc = MOTE_EXIT_REMOTE;
    goto out;
  }
  mote_reply r;
  rc = mote_client_request("deploy", &o, "PUT", path.s, bytes, len, ct, &r);
  free(bytes);
  if (rc) goto out;
  if (r.status != 201 && r.status != 200) {
    rc = mote_reply_fail("deploy", &r);
  } else if (o.json) {
    mote_reply_print_raw(&r);
  } else {
    json_t *j = mote_reply_json("deploy", &r, &rc);
    if (j) {
      printf("deployed %s version %lld (module %.12s, %s tier)\n", mote_json_str(j, "name"),
             (long long)mote_json_int(j, "version"), mote_json_str(j, "module_hash"),
             mote_json_str(j, "tier"));
      json_decref(j);
    }
  }
  mote_reply_clear(&r);
out:
  free(path.s);
  free(query.s);
  return rc;
}
