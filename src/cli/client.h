/*
 * The client side of the mote command: the verbs that talk to a running
 * `mote serve` (deploy, invoke, ls, rm, logs, activations) share this.
 *
 *   client.c        HTTP requests (libcurl), the server's address
 *   client_reply.c  error replies: the message a user reads, the exit status
 *   table.c         aligned tables on a terminal, tab-separated otherwise
 */
#ifndef MOTE_CLI_CLIENT_H
#define MOTE_CLI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define MOTE_DEFAULT_URL "http://127.0.0.1:8080"

/* The options every client verb takes. */
typedef struct mote_client_opts {
  const char *server; /* --server, else $MOTE_URL, else MOTE_DEFAULT_URL */
  const char *auth;   /* --auth UUID:KEY, else $MOTE_AUTH; none when both are unset */
  bool json;          /* --json: the server's JSON as it came */
} mote_client_opts;

/* Text the options' help shares. */
#define MOTE_CLIENT_OPTS_HELP                                                        \
  "  --server URL  the mote server (default $MOTE_URL, else " MOTE_DEFAULT_URL ")\n" \
  "  --auth UUID:KEY  the API key to send (default $MOTE_AUTH); see mote --help\n"     \
  "  --json        print the server's JSON reply instead of a table\n"

/* Consumes argv[*i] (and its value) when it is --server, --auth or --json
 * and advances *i past it. Returns 1 when consumed, 0 when not one of them,
 * and -1 after printing a usage error ("mote VERB: ...") for a missing value. */
int mote_client_opt(const char *verb, int argc, char **argv, int *i, mote_client_opts *o);
/* The server's base URL: o->server, $MOTE_URL or the default. */
const char *mote_client_base_url(const mote_client_opts *o);

/* One HTTP reply. body is from malloc and NUL-terminated (body_len does
 * not count the NUL): binary bodies keep every byte. */
typedef struct mote_reply {
  long status;
  bool auth_sent;         /* the request carried credentials (--auth, $MOTE_AUTH) */
  char *body;
  size_t body_len;
  char activation_id[40]; /* the X-Mote-* headers of a call; empty when absent */
  char wait_us[24], init_us[24], exec_us[24], version[24], tier[24];
} mote_reply;

void mote_reply_clear(mote_reply *r);

/* One request to base URL + path (path holds the query, already escaped),
 * with the credentials of o->auth or $MOTE_AUTH as HTTP basic
 * authentication. body may be NULL (no body); content_type applies to it.
 * Returns 0 with *out filled (any HTTP status), else prints "mote VERB:
 * cannot reach ..." and returns the exit status (MOTE_EXIT_UNREACHABLE;
 * MOTE_EXIT_USAGE for credentials that are not UUID:KEY). */
int mote_client_request(const char *verb, const mote_client_opts *o, const char *method,
                        const char *path, const void *body, size_t body_len,
                        const char *content_type, mote_reply *out);

/* A path built piece by piece, each value percent-escaped. From malloc;
 * NULL only when out of memory. */
typedef struct mote_path {
  char *s;
  size_t len, cap;
  bool has_query;
  bool oom;
} mote_path;

void mote_path_add(mote_path *p, const char *literal);     /* as is */
void mote_path_add_escaped(mote_path *p, const char *text); /* one path segment */
void mote_path_param(mote_path *p, const char *key, const char *value); /* ?k=v / &k=v */

/* ---- client_reply.c ------------------------------------------------------- */

/* The reply as JSON, or NULL (with "mote VERB: ..." printed and
 * *status set to MOTE_EXIT_REMOTE) when it is not. */
json_t *mote_reply_json(const char *verb, const mote_reply *r, int *status);
/* For a reply that is not a success: prints "mote VERB: <the server's
 * message>" and the tail of the function's stderr when the reply carries
 * one, and returns the exit status (documented in `mote invoke --help`).
 * A 401 of the server says how to get a key, and is MOTE_EXIT_AUTH. */
int mote_reply_fail(const char *verb, const mote_reply *r);
/* --json: the body as the server sent it (one line). */
void mote_reply_print_raw(const mote_reply *r);

/* ---- table.c -------------------------------------------------------------- */

/* Rows of cells, the header first, printed at once: on a terminal, columns
 * aligned; otherwise one line per row, cells separated by tabs
 * (tabs and newlines in cells become spaces), for cut and awk. */
typedef struct mote_table mote_table;

mote_table *mote_table_new(size_t columns, const char *const *header);
void mote_table_add(mote_table *t, const char *const *cells); /* copies them */
void mote_table_print(mote_table *t, FILE *out);
void mote_table_free(mote_table *t);

/* Formatting shared by the tables: microseconds as "850 us", "12.3 ms",
 * "1.52 s"; integers of a JSON object ("" when absent). */
void mote_fmt_us(char *buf, size_t cap, json_int_t us);
const char *mote_json_str(json_t *o, const char *key); /* "" when absent */
json_int_t mote_json_int(json_t *o, const char *key);  /* 0 when absent */

#endif
