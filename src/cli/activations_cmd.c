/*
 * `mote logs NAME` and `mote activations [ID]`: the records of calls
 * (GET /v1/activations), kept by the server for the last 1000 calls of
 * each function, with the first KiB of stdout and the last KiB of stderr.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli/client.h"

#define LOGS_DEFAULT_LIMIT "20"

static bool parse_limit(const char *verb, const char *v) {
  char *end;
  long n = strtol(v, &end, 10);
  if (end == v || *end || n < 1 || n > 1000) {
    fprintf(stderr, "mote %s: --limit takes a count between 1 and 1000, not \"%s\"\n", verb, v);
    return false;
  }
  return true;
}

/* Options of both verbs: the client's, --limit, and --function when
 * `function` is not NULL. One positional word at most (*word).
 * Returns -1 to go on, else the exit status (0 after --help). */
static int parse(const char *verb, int argc, char **argv, mote_client_opts *o,
                 const char **limit, const char **function, const char **word,
                 void (*usage)(FILE *)) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int c = mote_client_opt(verb, argc, argv, &i, o);
    if (c < 0) return MOTE_EXIT_USAGE;
    if (c > 0) continue;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--limit") || (function && !strcmp(a, "--function"))) {
      if (i + 1 >= argc) {
        fprintf(stderr, "mote %s: %s needs a value (see mote %s --help)\n", verb, a, verb);
        return MOTE_EXIT_USAGE;
      }
      const char *v = argv[++i];
      if (!strcmp(a, "--limit")) {
        if (!parse_limit(verb, v)) return MOTE_EXIT_USAGE;
        *limit = v;
      } else {
        *function = v;
      }
    } else if (a[0] == '-' || *word) {
      fprintf(stderr, "mote %s: %s \"%s\"\n", verb, a[0] == '-' ? "unknown option" : "extra word",
              a);
      usage(stderr);
      return MOTE_EXIT_USAGE;
    } else {
      *word = a;
    }
  }
  return -1;
}

/* "2024-05-01T12:00:00.123Z" -> "2024-05-01 12:00:00.123". */
static void short_time(char *buf, size_t cap, const char *iso) {
  snprintf(buf, cap, "%.23s", iso);
  char *t = strchr(buf, 'T');
  if (t) *t = ' ';
}

/* An excerpt of a function's output, each line behind `label`; control
 * characters other than tab shown as '?', so output cannot drive the
 * terminal. */
static void print_excerpt(const char *label, const char *text) {
  if (!text || !*text) return;
  const char *p = text;
  while (*p) {
    size_t n = strcspn(p, "\n");
    printf("  %s | ", label);
    for (size_t k = 0; k < n; k++) {
      unsigned char ch = (unsigned char)p[k];
      putchar((ch < 0x20 && ch != '\t') || ch == 0x7f ? '?' : ch);
    }
    putchar('\n');
    p += n;
    if (*p == '\n') p++;
  }
}

/* The record's outcome; "exit" with its status, which the record holds
 * apart. */
static const char *outcome(char *buf, size_t cap, json_t *a) {
  const char *o = mote_json_str(a, "outcome");
  if (strcmp(o, "exit") != 0) return o;
  snprintf(buf, cap, "exit %lld", (long long)mote_json_int(a, "exit_code"));
  return buf;
}

static void timings(char *buf, size_t cap, json_t *a) {
  char w[32], in[32], ex[32];
  mote_fmt_us(w, sizeof w, mote_json_int(a, "wait_us"));
  mote_fmt_us(in, sizeof in, mote_json_int(a, "init_us"));
  mote_fmt_us(ex, sizeof ex, mote_json_int(a, "exec_us"));
  snprintf(buf, cap, "wait %s, init %s, exec %s", w, in, ex);
}

/* GET /v1/activations with the filters; *out the reply's JSON unless --json
 * printed it. Returns the exit status. */
static int fetch_list(const char *verb, const mote_client_opts *o, const char *function,
                      const char *limit, json_t **out) {
  *out = NULL;
  mote_path path = {0};
  mote_path_add(&path, "/v1/activations");
  if (function) mote_path_param(&path, "function", function);
  if (limit) mote_path_param(&path, "limit", limit);
  if (path.oom) {
    free(path.s);
    fprintf(stderr, "mote %s: out of memory\n", verb);
    return MOTE_EXIT_REMOTE;
  }
  mote_reply r;
  int rc = mote_client_request(verb, o, "GET", path.s, NULL, 0, NULL, &r);
  free(path.s);
  if (rc) return rc;
  if (r.status != 200) rc = mote_reply_fail(verb, &r);
  else if (o->json) mote_reply_print_raw(&r);
  else *out = mote_reply_json(verb, &r, &rc);
  mote_reply_clear(&r);
  return rc;
}

/* ---- mote logs ---------------------------------------------------------------- */

static void logs_usage(FILE *out) {
  fputs("usage: mote logs NAME [--limit N] [--server URL] [--json]\n"
        "\n"
        "The last calls of function NAME, oldest first: when, the activation id, the\n"
        "version, the outcome and timings, then the start of what it wrote to stdout\n"
        "and the end of what it wrote to stderr (1 KiB of each is kept per call).\n"
        "\n"
        "  --limit N     how many calls (1-1000, default " LOGS_DEFAULT_LIMIT ")\n"
        MOTE_CLIENT_OPTS_HELP
        "\n"
        "exit status: 0; 64 bad command line; 71 no function NAME and no records of it;\n"
        "73 the server failed; 75 no server at URL; 77 no valid API key.\n",
        out);
}

int mote_cmd_logs(int argc, char **argv) {
  mote_client_opts o = {0};
  const char *limit = LOGS_DEFAULT_LIMIT, *name = NULL;
  int rc = parse("logs", argc, argv, &o, &limit, NULL, &name, logs_usage);
  if (rc >= 0) return rc;
  if (!name) {
    fprintf(stderr, "mote logs: needs the NAME of a function (see mote logs --help)\n");
    return MOTE_EXIT_USAGE;
  }
  json_t *j;
  if ((rc = fetch_list("logs", &o, name, limit, &j)) || !j) return rc;
  json_t *list = json_object_get(j, "activations");
  size_t n = json_array_size(list);
  if (n == 0) {
    /* No records: say whether the function exists at all. */
    mote_path path = {0};
    mote_path_add(&path, "/v1/functions/");
    mote_path_add_escaped(&path, name);
    mote_reply r;
    rc = path.oom ? MOTE_EXIT_REMOTE
                  : mote_client_request("logs", &o, "GET", path.s, NULL, 0, NULL, &r);
    free(path.s);
    if (!rc) {
      if (r.status == 200) fprintf(stderr, "mote logs: %s has not been called yet\n", name);
      else rc = mote_reply_fail("logs", &r);
      mote_reply_clear(&r);
    }
  }
  for (size_t i = n; i-- > 0;) { /* the server lists the newest first */
    json_t *a = json_array_get(list, i);
    char when[40], times[120], status[64], what[32];
    short_time(when, sizeof when, mote_json_str(a, "start"));
    timings(times, sizeof times, a);
    json_int_t http = mote_json_int(a, "http_status");
    snprintf(status, sizeof status, "HTTP %lld", (long long)http);
    printf("%s  %s  version %lld  %s  %s  (%s)\n", when, mote_json_str(a, "id"),
           (long long)mote_json_int(a, "version"), status, outcome(what, sizeof what, a), times);
    json_t *out = json_object_get(a, "stdout"), *err = json_object_get(a, "stderr");
    print_excerpt("stdout", json_string_value(out));
    print_excerpt("stderr", json_string_value(err));
  }
  json_decref(j);
  return rc;
}

/* ---- mote activations ------------------------------------------------------------ */

static void activations_usage(FILE *out) {
  fputs("usage: mote activations [--function NAME] [--limit N] [--server URL] [--json]\n"
        "       mote activations ID [--server URL] [--json]\n"
        "\n"
        "The records of calls, newest first: one line each (a table on a terminal,\n"
        "tab-separated lines otherwise). With an ID (X-Mote-Activation-Id, or the first\n"
        "column), that one call in full, with its stdout and stderr excerpts.\n"
        "\n"
        "  --function NAME  only the calls of NAME\n"
        "  --limit N        how many (1-1000, default 50)\n"
        MOTE_CLIENT_OPTS_HELP
        "\n"
        "exit status: 0; 64 bad command line; 71 no activation ID (or one of another\n"
        "namespace); 73 the server failed; 75 no server at URL; 77 no valid API key.\n",
        out);
}

static int show_one(const mote_client_opts *o, const char *id) {
  mote_path path = {0};
  mote_path_add(&path, "/v1/activations/");
  mote_path_add_escaped(&path, id);
  mote_reply r;
  int rc = path.oom ? MOTE_EXIT_REMOTE
                    : mote_client_request("activations", o, "GET", path.s, NULL, 0, NULL, &r);
  free(path.s);
  if (rc) return rc;
  json_t *a = NULL;
  if (r.status != 200) rc = mote_reply_fail("activations", &r);
  else if (o->json) mote_reply_print_raw(&r);
  else a = mote_reply_json("activations", &r, &rc);
  mote_reply_clear(&r);
  if (!a) return rc;
  char when[40], times[120];
  short_time(when, sizeof when, mote_json_str(a, "start"));
  timings(times, sizeof times, a);
  printf("id        %s\n"
         "function  %s (version %lld)\n"
         "start     %s UTC\n"
         "outcome   %s (HTTP %lld, exit code %lld)\n"
         "timings   %s\n",
         mote_json_str(a, "id"), mote_json_str(a, "function"),
         (long long)mote_json_int(a, "version"), when, mote_json_str(a, "outcome"),
         (long long)mote_json_int(a, "http_status"), (long long)mote_json_int(a, "exit_code"),
         times);
  print_excerpt("stdout", json_string_value(json_object_get(a, "stdout")));
  print_excerpt("stderr", json_string_value(json_object_get(a, "stderr")));
  json_decref(a);
  return 0;
}

int mote_cmd_activations(int argc, char **argv) {
  mote_client_opts o = {0};
  const char *limit = NULL, *function = NULL, *id = NULL;
  int rc = parse("activations", argc, argv, &o, &limit, &function, &id, activations_usage);
  if (rc >= 0) return rc;
  if (id) {
    if (limit || function) {
      fprintf(stderr, "mote activations: an ID names one call: --limit and --function do "
              "not apply\n");
      return MOTE_EXIT_USAGE;
    }
    return show_one(&o, id);
  }
  json_t *j;
  if ((rc = fetch_list("activations", &o, function, limit, &j)) || !j) return rc;
  static const char *const header[] = {"ID",   "FUNCTION", "VERSION", "START (UTC)", "HTTP",
                                       "WAIT", "INIT",     "EXEC",    "OUTCOME"};
  mote_table *t = mote_table_new(9, header);
  size_t i;
  json_t *a;
  json_array_foreach(json_object_get(j, "activations"), i, a) {
    char version[24], when[40], http[16], w[32], in[32], ex[32], what[32];
    snprintf(version, sizeof version, "%lld", (long long)mote_json_int(a, "version"));
    short_time(when, sizeof when, mote_json_str(a, "start"));
    snprintf(http, sizeof http, "%lld", (long long)mote_json_int(a, "http_status"));
    mote_fmt_us(w, sizeof w, mote_json_int(a, "wait_us"));
    mote_fmt_us(in, sizeof in, mote_json_int(a, "init_us"));
    mote_fmt_us(ex, sizeof ex, mote_json_int(a, "exec_us"));
    const char *row[] = {mote_json_str(a, "id"), mote_json_str(a, "function"), version, when,
                         http, w, in, ex, outcome(what, sizeof what, a)};
    mote_table_add(t, row);
  }
  mote_table_print(t, stdout);
  mote_table_free(t);
  json_decref(j);
  return 0;
}
