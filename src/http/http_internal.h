/* Internal to src/http: shared between its files and its tests, not an API.
 * The one header that includes microhttpd.h. */
#ifndef MOTE_HTTP_INTERNAL_H
#define MOTE_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>

#include "base/clock.h"
#include "http/http.h"

/* MHD's per-connection pool: request line, headers and MHD's parsed query.
 * libmicrohttpd allocates pools of 32 KiB and less with malloc and larger
 * ones with mmap, whose fresh pages fault (~80 us each here) and whose
 * munmap interrupts the other CPU: with 256 KiB a call on a new connection
 * took 0.86 ms end to end, with 32 KiB 0.18 ms (wrk -H "Connection: close").
 * The price: MHD keeps ~64 bytes per query parameter in it, so a query of
 * more than ~450 parameters makes MHD drop the connection; ours stop at
 * HTTP_MAX_QUERY_PARAMS with a 400 first. */
#define HTTP_CONNECTION_MEMORY (32u << 10)
#define HTTP_ACCESS_LOG_BACKLOG (4u << 20) /* bytes of access-log lines not yet written */
#define HTTP_MAX_CAPTURES 4
/* A request's head (request line and headers) at most, and its header
 * lines: what MHD keeps of them in the connection's memory leaves room for
 * the largest reply head we make (a guest's HTTP_GUEST_HEADERS_MAX plus
 * ours), so a reply is never lost for want of memory (431 beyond). */
#define HTTP_MAX_HEAD (12u << 10)
#define HTTP_MAX_HEADER_LINES 64u
/* Connections the server keeps beyond max_connections for a moment, while
 * it closes idle ones to make room (conns.c). */
#define HTTP_EVICT_RESERVE 64u
#define HTTP_FD_RESERVE 512u          /* descriptors kept for all but connections */
#define HTTP_ERRLOG_PER_S 10          /* MHD's error lines a second, then counted */

typedef struct http_access_log http_access_log;
typedef struct http_conns http_conns;

/* held.c: the response bytes held by every connection at once, and by
 * each client address in large responses (its share). */
#define HTTP_BUDGET_LARGE (64u << 10)   /* a response counted per client from this size */
#define HTTP_BUDGET_CLIENT_SHARE 4u     /* a client may hold 1/4 of the budget */
typedef struct http_budget {
  _Atomic uint64_t held;         /* queued, their requests not ended */
  _Atomic uint64_t large;        /* of which in large responses (counted per client) */
  _Atomic uint64_t pending;      /* calls let in, not answered yet */
  _Atomic uint64_t guess;        /* what a pending call's response may be (bytes) */
  _Atomic unsigned waiters;      /* calls in held_enter */
  _Atomic uint64_t refused;      /* calls refused for it */
  uint64_t limit, share;
  pthread_mutex_t lock;          /* clients, and waiters */
  pthread_cond_t drop;           /* CLOCK_MONOTONIC */
  struct mote_map *clients;      /* address text -> held_client (held.c) */
} http_budget;
/* A request's part in it (in its http_req). */
typedef struct http_budget_ticket {
  bool pending;                  /* a call let in, not answered yet */
  bool client_pending;           /* ... counted to its client too */
  bool client_held;              /* its response counted to its client */
  uint64_t held;                 /* its response's bytes held */
  char client[64];               /* the address it is counted to */
} http_budget_ticket;

struct http_server {
  mote_core *core;
  char host[256];
  uint16_t port;
  struct MHD_Daemon *daemon;
  http_access_log *access_log;   /* NULL: off */
  http_route *routes;            /* the table, in the order added */
  size_t nroutes;
  http_config cfg;               /* with the defaults applied at http_start */
  http_conns *conns;             /* the open connections (conns.c) */
  pthread_mutex_t errlog_lock;   /* MHD's error log, rate-limited */
  int64_t errlog_second;
  unsigned errlog_lines;
  uint64_t errlog_dropped;
  http_forwarder fwd;            /* a cluster's (elsewhere NULL: none) */
  http_budget budget;            /* response bytes held (held.c) */
};

struct http_response {
  struct MHD_Response *mhd;
  size_t len;                    /* the body's bytes, for the access log */
};

typedef struct http_conn http_conn;
/* The function a /faas path names (faas.c): its namespace and name, and
 * the path after them (CGI's PATH_INFO). */
typedef struct http_faas_target {
  char ns[MOTE_STORE_NS_MAX + 1];
  char name[CORE_NAME_MAX + 1];
  bool ns_in_path;               /* /faas/NS/NAME (else /faas/NAME) */
  const char *path_info;         /* "" or "/...", into capbuf */
} http_faas_target;

/* Everything one request owns; freed at once when it completes. */
struct http_req {
  http_server *h;
  struct MHD_Connection *conn;
  http_conn *hc;                 /* its connection's entry in h->conns (NULL: none) */
  const http_route *route;       /* NULL until routed (or no route) */
  char *uri;                     /* raw request target, query included */
  char *path;                    /* the target's path, %-decoded (framing.c); NULL until then */
  const char *query;             /* points into uri after '?', or "" */
  http_param *params;            /* the decoded query */
  size_t nparams;
  char query_err[160];
  struct {
    const char *name;            /* into the route's pattern, nlen bytes */
    size_t nlen;
    const char *value;           /* into capbuf */
  } caps[HTTP_MAX_CAPTURES];
  size_t ncaps;
  char capbuf[1024];             /* the captured segments, NUL-terminated */
  char method[16];               /* as received (longer ones truncated: refused anyway) */
  char version[16];              /* "HTTP/1.1" */
  bool started;
  uint8_t *body;
  size_t len, cap, limit;
  bool too_large;
  bool forwarded;                /* served elsewhere: http_forwarder.forward answers */
  size_t discarded;              /* bytes of an oversized body dropped */
  int auth;                      /* 0: not checked; 1: ns is the caller's; -1: refused */
  char ns[MOTE_STORE_NS_MAX + 1];
  uint64_t t_arrival_us;         /* CLOCK_MONOTONIC, at the first handler call */
  uint64_t t_start_us;           /* CLOCK_MONOTONIC, when the request line was read */
  int64_t t_wall_ms;             /* the same in Unix time, for the access log */
  unsigned status;               /* of the response queued; 0: none yet */
  uint64_t bytes_out;            /* its body */
  http_budget_ticket budget;     /* what it holds of h->budget */
  http_call_log call;
  http_faas_target faas;         /* a /faas call: what its path names */
};

/* conns.c: the open connections (MHD's socket context is each one's entry),
 * and a thread that enforces the deadline of a request's head (trickled
 * bytes do not extend it: the first byte of a head starts it) and closes
 * the oldest idle connections when a newcomer finds the server full, so
 * that /healthz and every other client still get in. */
http_conns *conns_new(unsigned max_connections, unsigned head_timeout_ms);
void conns_free(http_conns *t); /* after the daemon stopped: every entry closed */
/* MHD_CONNECTION_NOTIFY_STARTED: a new entry (NULL when out of memory); past
 * max_connections the oldest idle connection is closed. */
http_conn *conns_open(http_conns *t, int fd);
void conns_close(http_conns *t, http_conn *k); /* MHD_CONNECTION_NOTIFY_CLOSED */
/* The head of a request is read: r is handled (no head deadline; its body's
 * rate is watched until conns_body_read). */
void conns_request(http_conns *t, http_conn *k, http_req *r);
/* n more bytes of the request's body read; all of it read (or none). */
void conns_body(http_conn *k, size_t n);
void conns_body_read(http_conn *k);
/* Its request completed: the connection is idle until the next head. */
void conns_idle(http_conns *t, http_conn *k);
typedef struct http_conn_figures {
  unsigned open;                 /* connections open now */
  uint64_t head_timeouts;        /* closed: a head not read within its deadline */
  uint64_t body_timeouts;        /* closed: a body that came slower than its least rate */
  uint64_t evicted;              /* closed idle to make room for a newcomer */
} http_conn_figures;
void conns_figures(http_conns *t, http_conn_figures *out);

/* held.c, continued. A call's request: held_open (no call would wait
 * now: held_enter_open lets it in at once), else held_enter (waits up to
 * ms while the bytes held, with the calls let in, are past the budget or
 * the client's past its share; lets it in, or says what stopped it, counted
 * as refused). Every request: held_take (http_queue: its response's n
 * bytes, held until its end; a call let in is then answered), held_end
 * (the request's end: what it held is given back). */
bool held_init(http_budget *b, uint64_t limit); /* false: out of memory */
void held_destroy(http_budget *b);
typedef enum { HELD_OK, HELD_FULL, HELD_CLIENT_FULL } held_verdict;
bool held_open(http_budget *b);
void held_enter_open(http_budget *b, http_budget_ticket *t);
held_verdict held_enter(http_budget *b, http_budget_ticket *t, const char *client,
                            unsigned ms);
void held_take(http_budget *b, http_budget_ticket *t, uint64_t n, const char *client);
void held_end(http_budget *b, http_budget_ticket *t);
typedef struct http_budget_figures {
  uint64_t held, limit, share, refused, pending;
} http_budget_figures;
void held_figures(http_budget *b, http_budget_figures *out);

/* framing.c: the rules of RFC 9112 for a request's head that MHD 0.9.75
 * does not apply, checked before routing: a path that is not valid %-encoded
 * UTF-8 without NUL (400), a head too large (431), conflicting or bad
 * Content-Length, Transfer-Encoding other than chunked (501; with
 * Content-Length or in HTTP/1.0: 400), HTTP/1.1 without exactly one Host
 * (400), an Expect other than 100-continue (417). Sets r->path. True when a
 * reply was queued (the connection closes after it). */
bool framing_check(http_req *r, http_result *res);
/* %-decoding (plus: '+' is a space): a string from malloc, or NULL with msg
 * (a bad escape, %00, out of memory). */
char *http_pct_decode(const char *p, size_t n, bool plus, char *msg, size_t cap);
/* The path of a request target (what precedes '?'), %-decoded into *path
 * (malloc; the caller frees it): 0; or 1 with msg when it is not a valid
 * path (a control byte raw or escaped, NUL, a bad escape, invalid UTF-8),
 * or -1 when out of memory; *path is NULL then. */
int http_path_decode(const char *uri, char **path, char *msg, size_t cap);


/* route.c: the first handler call of a request (route, method, key,
 * query, limits, check) on r->path: true when a reply was queued. */
bool route_first(http_server *h, http_req *r, http_result *res);
/* The route of (url, r->method): r->route and its captures; else r->route
 * NULL or the first route whose pattern matched with another method, and
 * *methods the methods of those (0: no pattern matched). */
void route_find(http_server *h, http_req *r, const char *url, unsigned *methods);
/* The handler, once the body is read. */
http_result route_handle(http_req *r);

/* status.c: the table's own errors, in r's dialect. */
http_result status_method_not_allowed(http_req *r, unsigned methods);
http_result status_no_route(http_req *r, const char *url);
http_result status_bad_query(http_req *r);
http_result status_too_large(http_req *r, unsigned long long declared); /* 0: streamed */
http_result status_forbidden_ns(http_req *r);
http_result status_auth_failed(http_req *r);

/* request.c */
bool request_declared_length(http_req *r, unsigned long long *n);
/* "ADDR:PORT" or "[ADDR]:PORT" of the peer (or "-"); addr and port alone. */
void request_remote(http_req *r, char *text, size_t cap, char *addr, size_t acap, char *port,
                    size_t pcap);


/* basic_auth.c: `Basic base64(uuid:key)` (scheme in any case, standard
 * base64 with padding) split; false when it is not one, or when a part is
 * empty or longer than a uuid and a key. */
bool basic_auth_parse(const char *header, char uuid[MOTE_STORE_UUID_LEN + 1],
                      char key[MOTE_STORE_KEY_LEN + 1]);

/* access_log.c */
http_access_log *access_log_open(const char *path, char *msg, size_t cap);
void access_log_close(http_access_log *l); /* writes what is pending */
void access_log_request(http_access_log *l, http_req *r, bool aborted);
uint64_t access_log_dropped(http_access_log *l);

/* cgi_output.c: a CGI function's header block, parsed (no HTTP library). */
typedef struct cgi_header {
  const char *name, *value; /* point into cgi_head.block */
} cgi_header;
typedef struct cgi_head {
  unsigned status;                    /* Status, else 302 with Location, else 200 */
  const char *content_type, *location; /* NULL when not printed */
  cgi_header *headers;                /* the headers passed through (malloc) */
  size_t nheaders;
  char dropped[512];                  /* names of refused headers, ", " between */
  size_t body_offset;                 /* the body's first byte in the output */
  char *block;                        /* the block's text, owning the strings (malloc) */
} cgi_head;
/* 0: *h is filled (free with cgi_head_free); 1: not valid CGI, msg says why
 * (the call is a 502); -1: out of memory. On non-zero *h owns nothing. */
int cgi_parse(const uint8_t *out, size_t len, cgi_head *h, char *msg, size_t cap);
void cgi_head_free(cgi_head *h);

/* cgi.c: the guest environment of a CGI call (the function's own env minus
 * what the request sets, then the CGI/1.1 variables and HTTP_* headers, never
 * Authorization); NULL when out of memory. And the response of its output:
 * 0 with *out, 1 not valid CGI (msg), -1 out of memory. */
char **cgi_env(http_req *r, const mote_function_settings *st, size_t *count);
void cgi_env_free(char **env, size_t count);
int cgi_response(const uint8_t *out, size_t len, http_response **resp, unsigned *status,
                 char *msg, size_t cap);

/* The route handlers of mote's API (v1.c, usage.c, faas.c, metrics_text.c). */
http_result v1_health(void *ctx, http_req *r);
http_result v1_metrics(void *ctx, http_req *r);
http_result v1_metrics_namespace(void *ctx, http_req *r);
http_result v1_functions_list(void *ctx, http_req *r);
http_result v1_function_get(void *ctx, http_req *r);
bool v1_function_put_check(void *ctx, http_req *r, http_result *res);
http_result v1_function_put(void *ctx, http_req *r);
size_t v1_function_put_limit(http_req *r);
http_result v1_function_delete(void *ctx, http_req *r);
http_result v1_activations_list(void *ctx, http_req *r);
http_result v1_activation_get(void *ctx, http_req *r);
http_result v1_usage(void *ctx, http_req *r);
bool faas_check(void *ctx, http_req *r, http_result *res);
http_result faas_call(void *ctx, http_req *r);
/* The Prometheus text of the core's figures and the access log's (from
 * malloc, *len bytes), or NULL when out of memory. ns: only the figures of
 * that namespace's functions (a tenant's /v1/metrics); NULL: all of them
 * and the server's own (the operator's /metrics). */
char *metrics_text(mote_core *c, http_server *public_server, const char *ns, size_t *len);

#endif /* MOTE_HTTP_INTERNAL_H */
