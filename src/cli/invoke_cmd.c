/*
 * `mote invoke NAME [ARGS...]`: one call of a deployed function through
 * /faas/NAME, its stdout written to ours byte for byte.
 *
 * ARGS become ?arg=A&arg=B (argv[1..] of the function). Without --data the
 * call is a GET with empty stdin; with it, a POST whose body (a file's
 * bytes, or all of our stdin for "-") is the function's stdin.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fs.h"
#include "cli.h"
#include "cli/client.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: mote invoke NAME [ARGS...] [--data FILE|-] [--verbose] [--server URL]\n"
          "                   [--auth UUID:KEY]\n"
          "\n"
          "Calls function NAME once with ARGS as its arguments and writes what it wrote\n"
          "to stdout to ours, unchanged. NAME is a function of the key's namespace (of\n"
          "guest without a key); NS/NAME one of namespace NS (say, a public function of\n"
          "another). Options may come anywhere; after \"--\" every word is an argument\n"
          "(for arguments that start with '-').\n"
          "\n"
          "  --data FILE   send FILE as the function's stdin (POST); \"-\" sends our stdin\n"
          "  -v, --verbose print the activation id, version, tier and timings to stderr\n"
          "  --server URL  the mote server (default $MOTE_URL, else %s)\n"
          "  --auth UUID:KEY  the API key (default $MOTE_AUTH): needed unless NAME is public\n"
          "\n"
          "On an error the server's message, and the end of the function's stderr, go to\n"
          "stderr. Exit status: 0 when the function exited 0; its own status when it\n"
          "exited non-zero; else, as for `mote run`,\n"
          "  %d  bad command line              %d  an import cannot be satisfied\n"
          "  %d  the function trapped          %d  its timeout passed\n"
          "  %d  a limit was exceeded (output cap, memory)\n"
          "  %d  no function NAME              %d  refused (bad arguments, too large, busy)\n"
          "  %d  the server failed (or its reply made no sense, or the CGI output was bad)\n"
          "  %d  FILE cannot be read, or stdout cannot be written\n"
          "  %d  no server at URL\n"
          "  %d  no valid API key\n"
          "`mote activations ID` shows the record of a call.\n",
          MOTE_DEFAULT_URL, MOTE_EXIT_USAGE, MOTE_EXIT_LINK, MOTE_EXIT_TRAP, MOTE_EXIT_TIMEOUT,
          MOTE_EXIT_LIMIT, MOTE_EXIT_NOT_FOUND, MOTE_EXIT_REFUSED, MOTE_EXIT_REMOTE, MOTE_EXIT_IO,
          MOTE_EXIT_UNREACHABLE, MOTE_EXIT_AUTH);
}

/* All of stdin (from malloc), or NULL with errno. */
static uint8_t *read_stdin(size_t *len) {
  size_t cap = 65536, n = 0;
  uint8_t *buf = malloc(cap);
  if (!buf) return NULL;
  for (;;) {
    if (n == cap) {
      uint8_t *grown = realloc(buf, cap * 2);
      if (!grown) {
        free(buf);
        return NULL;
      }
      buf = grown;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, stdin);
    n += got;
    if (got == 0) break;
  }
  if (ferror(stdin)) {
    int e = errno;
    free(buf);
    errno = e ? e : EIO;
    return NULL;
  }
  *len = n;
  return buf;
}

static void print_call(const mote_reply *r) {
  char w[32], in[32], ex[32];
  mote_fmt_us(w, sizeof w, strtoll(r->wait_us, NULL, 10));
  mote_fmt_us(in, sizeof in, strtoll(r->init_us, NULL, 10));
  mote_fmt_us(ex, sizeof ex, strtoll(r->exec_us, NULL, 10));
  if (r->activation_id[0])
    fprintf(stderr, "mote invoke: activation %s, version %s, %s tier, HTTP %ld: wait %s, "
            "init %s, exec %s\n", r->activation_id, r->version, r->tier, r->status, w, in, ex);
  else
    fprintf(stderr, "mote invoke: HTTP %ld, no activation (the call did not run)\n", r->status);
}

int mote_cmd_invoke(int argc, char **argv) {
  mote_client_opts o = {0};
  const char *name = NULL, *data = NULL;
  bool verbose = false, only_args = false;
  mote_path path = {0};
  uint8_t *body = NULL;
  size_t body_len = 0;
  int rc = MOTE_EXIT_USAGE;
  mote_path_add(&path, "/faas/");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!only_args && a[0] == '-' && a[1]) {
      int c = mote_client_opt("invoke", argc, argv, &i, &o);
      if (c < 0) goto out;
      if (c > 0 && o.json) {
        fprintf(stderr, "mote invoke: --json does not apply: the output is the function's "
                "own (see `mote activations ID --json` for the record)\n");
        goto out;
      }
      if (c > 0) continue;
      if (!strcmp(a, "--")) {
        only_args = true;
      } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
        usage(stdout);
        rc = 0;
        goto out;
      } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
        verbose = true;
      } else if (!strcmp(a, "--data")) {
        if (i + 1 >= argc) {
          fprintf(stderr, "mote invoke: --data needs a FILE, or - for stdin\n");
          goto out;
        }
        data = argv[++i];
      } else {
        fprintf(stderr, "mote invoke: unknown option %s (put -- before arguments of the "
                "function that start with '-')\n", a);
        goto out;
      }
    } else if (!name) {
      /* NS/NAME: /faas/NS/NAME, a function of another namespace (public) */
      name = a;
      const char *slash = strchr(name, '/');
      if (slash) {
        char ns[256];
        snprintf(ns, sizeof ns, "%.*s", (int)(slash - name), name);
        mote_path_add_escaped(&path, ns);
        mote_path_add(&path, "/");
      }
      mote_path_add_escaped(&path, slash ? slash + 1 : name);
    } else {
      mote_path_param(&path, "arg", a);
    }
  }
  if (!name) {
    fprintf(stderr, "mote invoke: needs the NAME of a function (see mote invoke --help)\n");
    goto out;
  }
  if (path.oom) {
    fprintf(stderr, "mote invoke: out of memory\n");
    rc = MOTE_EXIT_REMOTE;
    goto out;
  }
  if (data) {
    bool from_stdin = !strcmp(data, "-");
    body = from_stdin ? read_stdin(&body_len) : mote_read_file(data, &body_len);
    if (!body) {
      fprintf(stderr, "mote invoke: cannot read %s: %s\n", from_stdin ? "stdin" : data,
              errno == EINVAL ? "not a regular file" : strerror(errno));
      rc = MOTE_EXIT_IO;
      goto out;
    }
  }

  mote_reply r;
  rc = mote_client_request("invoke", &o, data ? "POST" : "GET", path.s, body, body_len,
                           "application/octet-stream", &r);
  if (rc) goto out;
  if (verbose) print_call(&r);
  /* Below 400: a CGI function may answer 201, 204 or a redirect itself. */
  if (r.status >= 200 && r.status < 400) {
    if (fwrite(r.body, 1, r.body_len, stdout) != r.body_len || fflush(stdout) != 0) {
      fprintf(stderr, "mote invoke: cannot write the output: %s\n", strerror(errno));
      rc = MOTE_EXIT_IO;
    }
  } else {
    rc = mote_reply_fail("invoke", &r);
  }
  mote_reply_clear(&r);
out:
  free(body);
  free(path.s);
  return rc;
}
