/*
 * `mote usage [--function NAME]`: the accounting of the caller's namespace
 * (GET /v1/usage): per function, calls that ran, errors, calls refused
 * (429), execution time and memory-time (GB-seconds).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli/client.h"

static void usage(FILE *out) {
  fputs("usage: mote usage [--function NAME] [--server URL] [--auth UUID:KEY] [--json]\n"
        "\n"
        "Prints the accounting of your key's namespace since its first call: per function,\n"
        "the calls that ran, how many failed (non-zero exit, trap, timeout, limit), the calls\n"
        "refused with 429, the execution time, and GB-seconds (the memory limit in GiB times\n"
        "the execution time). The last line is the namespace's total. Deleted functions stay.\n"
        "\n" MOTE_CLIENT_OPTS_HELP
        "  --function NAME  only that function\n"
        "\n"
        "exit status: 0; 64 bad command line; 73 the server failed; 75 no server at URL;\n"
        "77 no valid API key.\n",
        out);
}

/* A row of the table from one usage object (or the total). */
static void add_row(mote_table *t, const char *name, json_t *u) {
  char calls[24], errors[24], refused[24], exec[40], gbs[40];
  snprintf(calls, sizeof calls, "%lld", (long long)mote_json_int(u, "invocations"));
  snprintf(errors, sizeof errors, "%lld", (long long)mote_json_int(u, "errors"));
  snprintf(refused, sizeof refused, "%lld", (long long)mote_json_int(u, "refused"));
  mote_fmt_us(exec, sizeof exec,
              (json_int_t)(json_number_value(json_object_get(u, "exec_seconds")) * 1e6 + 0.5));
  snprintf(gbs, sizeof gbs, "%.6f", json_number_value(json_object_get(u, "gb_seconds")));
  const char *row[] = {name, calls, errors, refused, exec, gbs};
  mote_table_add(t, row);
}

int mote_cmd_usage(int argc, char **argv) {
  mote_client_opts o = {0};
  const char *function = NULL;
  for (int i = 1; i < argc; i++) {
    int c = mote_client_opt("usage", argc, argv, &i, &o);
    if (c < 0) return MOTE_EXIT_USAGE;
    if (c > 0) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(argv[i], "--function") && i + 1 < argc) {
      function = argv[++i];
      continue;
    }
    fprintf(stderr, "mote usage: %s \"%s\"\n",
            !strcmp(argv[i], "--function") ? "needs a value:" : "unknown argument", argv[i]);
    usage(stderr);
    return MOTE_EXIT_USAGE;
  }
  mote_path p = {0};
  mote_path_add(&p, "/v1/usage");
  if (function) mote_path_param(&p, "function", function);
  if (p.oom) {
    free(p.s);
    fprintf(stderr, "mote usage: out of memory\n");
    return MOTE_EXIT_IO;
  }
  mote_reply r;
  int rc = mote_client_request("usage", &o, "GET", p.s, NULL, 0, NULL, &r);
  free(p.s);
  if (rc) return rc;
  if (r.status != 200) {
    rc = mote_reply_fail("usage", &r);
  } else if (o.json) {
    mote_reply_print_raw(&r);
  } else {
    json_t *j = mote_reply_json("usage", &r, &rc);
    if (j) {
      static const char *const header[] = {"FUNCTION", "CALLS",     "ERRORS",
                                           "REFUSED",  "EXEC TIME", "GB-SECONDS"};
      mote_table *t = mote_table_new(6, header);
      json_t *list = json_object_get(j, "functions"), *u;
      size_t i;
      json_array_foreach(list, i, u) add_row(t, mote_json_str(u, "function"), u);
      char total[80];
      snprintf(total, sizeof total, "(namespace %s)", mote_json_str(j, "namespace"));
      add_row(t, total, json_object_get(j, "total"));
      mote_table_print(t, stdout);
      mote_table_free(t);
      json_decref(j);
    }
  }
  mote_reply_clear(&r);
  return rc;
}
