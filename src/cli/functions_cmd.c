/*
 * `mote ls` and `mote rm NAME`: the deployed functions (GET and DELETE
 * /v1/functions).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli/client.h"

/* Parses [options] and up to `max_pos` positional words (into pos[]).
 * Returns -1 to go on, else the exit status (0 after --help). */
static int parse(const char *verb, int argc, char **argv, mote_client_opts *o,
                 const char **pos, int max_pos, int *npos, void (*usage)(FILE *)) {
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int c = mote_client_opt(verb, argc, argv, &i, o);
    if (c < 0) return MOTE_EXIT_USAGE;
    if (c > 0) continue;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (a[0] == '-' || *npos == max_pos) {
      fprintf(stderr, "mote %s: %s \"%s\"\n", verb, a[0] == '-' ? "unknown option" : "extra word",
              a);
      usage(stderr);
      return MOTE_EXIT_USAGE;
    }
    pos[(*npos)++] = a;
  }
  return -1;
}

static void ls_usage(FILE *out) {
  fputs("usage: mote ls [--server URL] [--json]\n"
        "\n"
        "Lists the deployed functions: the current version of each and its settings.\n"
        "A table on a terminal; tab-separated lines (header first) otherwise.\n"
        "\n" MOTE_CLIENT_OPTS_HELP
        "\n"
        "exit status: 0; 64 bad command line; 73 the server failed; 75 no server at URL;\n"
        "77 no valid API key.\n",
        out);
}

/* "2024-05-01T12:00:00.123Z" -> "2024-05-01 12:00:00". */
static void short_time(char *buf, size_t cap, const char *iso) {
  snprintf(buf, cap, "%.19s", iso);
  char *t = strchr(buf, 'T');
  if (t) *t = ' ';
}

int mote_cmd_ls(int argc, char **argv) {
  mote_client_opts o = {0};
  const char *pos[1];
  int npos;
  int rc = parse("ls", argc, argv, &o, pos, 0, &npos, ls_usage);
  if (rc >= 0) return rc;
  mote_reply r;
  if ((rc = mote_client_request("ls", &o, "GET", "/v1/functions", NULL, 0, NULL, &r))) return rc;
  if (r.status != 200) {
    rc = mote_reply_fail("ls", &r);
  } else if (o.json) {
    mote_reply_print_raw(&r);
  } else {
    json_t *j = mote_reply_json("ls", &r, &rc);
    json_t *list = json_object_get(j, "functions");
    static const char *const header[] = {"NAME",   "VERSION", "MEMORY",        "TIMEOUT",
                                         "MAX-CONCURRENCY", "FLAGS",   "DEPLOYED (UTC)"};
    mote_table *t = mote_table_new(7, header);
    size_t i;
    json_t *f;
    json_array_foreach(list, i, f) {
      json_t *st = json_object_get(f, "settings");
      char version[24], memory[24], timeout[24], conc[24], flags[40], when[40];
      snprintf(version, sizeof version, "%lld", (long long)mote_json_int(f, "version"));
      snprintf(memory, sizeof memory, "%lld MiB", (long long)mote_json_int(st, "memory_mib"));
      snprintf(timeout, sizeof timeout, "%lld ms", (long long)mote_json_int(st, "timeout_ms"));
      json_int_t c = mote_json_int(st, "concurrency");
      snprintf(conc, sizeof conc, c ? "%lld" : "-", (long long)c);
      bool pub = json_is_true(json_object_get(st, "public"));
      bool cgi = json_is_true(json_object_get(st, "cgi"));
      size_t nenv = json_array_size(json_object_get(st, "env"));
      snprintf(flags, sizeof flags, "%s%s%s", pub ? "public" : "", pub && cgi ? "," : "",
               cgi ? "cgi" : "");
      if (nenv) {
        size_t n = strlen(flags);
        snprintf(flags + n, sizeof flags - n, "%senv:%zu", n ? "," : "", nenv);
      }
      if (!flags[0]) snprintf(flags, sizeof flags, "-");
      short_time(when, sizeof when, mote_json_str(f, "created"));
      const char *row[] = {mote_json_str(f, "name"), version, memory, timeout, conc, flags, when};
      mote_table_add(t, row);
    }
    if (j) mote_table_print(t, stdout);
    if (j && json_array_size(list) == 0 && isatty(STDERR_FILENO))
      fprintf(stderr, "mote ls: no functions yet (mote deploy NAME FILE.wasm)\n");
    mote_table_free(t);
    json_decref(j);
  }
  mote_reply_clear(&r);
  return rc;
}

static void rm_usage(FILE *out) {
  fputs("usage: mote rm NAME [--server URL] [--json]\n"
        "\n"
        "Removes function NAME: its versions are deleted and calls of it answer 404 from\n"
        "now on (calls already running finish). Its activation records stay.\n"
        "\n" MOTE_CLIENT_OPTS_HELP
        "\n"
        "exit status: 0 removed; 64 bad command line; 71 no function NAME; 73 the server\n"
        "failed; 75 no server at URL; 77 no valid API key.\n",
        out);
}

int mote_cmd_rm(int argc, char **argv) {
  mote_client_opts o = {0};
  const char *pos[1];
  int npos;
  int rc = parse("rm", argc, argv, &o, pos, 1, &npos, rm_usage);
  if (rc >= 0) return rc;
  if (npos != 1) {
    fprintf(stderr, "mote rm: needs the NAME of a function (see mote rm --help)\n");
    return MOTE_EXIT_USAGE;
  }
  mote_path path = {0};
  mote_path_add(&path, "/v1/functions/");
  mote_path_add_escaped(&path, pos[0]);
  mote_reply r;
  rc = path.oom ? MOTE_EXIT_REMOTE
                : mote_client_request("rm", &o, "DELETE", path.s, NULL, 0, NULL, &r);
  free(path.s);
  if (rc) return rc;
  if (r.status != 200) rc = mote_reply_fail("rm", &r);
  else if (o.json) mote_reply_print_raw(&r);
  else printf("removed %s\n", pos[0]);
  mote_reply_clear(&r);
  return rc;
}
