/*
 * http: the only room that speaks HTTP (libmicrohttpd, whose header no file
 * outside src/http includes). It serves the core over one route table and
 * answers in one of two dialects (mote's errors, OpenWhisk's).
 *
 * This header is what the API facades (src/openwhisk now; later ones the
 * same way) and the server's wiring see: routes are registered into the
 * table (http_add_routes), a handler reads its request and answers through
 * the functions below, and never sees an MHD type.
 *
 *   daemon.c       MHD: start, stop, a request's life, bodies
 *   route.c        THE route table: path pattern, methods, key policy, body
 *                  limit, handlers; the checks before the body, in order
 *   status.c       core status -> HTTP status and error code, in one table;
 *                  error bodies in each dialect
 *   request.c reply.c json.c query.c basic_auth.c access_log.c
 *   faas.c v1.c usage.c metrics_text.c cgi.c cgi_output.c header.c
 *
 * A request, in order (route.c): the route (404), the method (405), the
 * key when the route asks for one (401, 500; the namespace of a {ns} route:
 * 403), the query (400), the body limit against Content-Length (413), the
 * route's check (anything else decided before the body: an unknown
 * function, a bad setting); then the body up to the limit (413 on the way),
 * then the handler. Credentials are checked at most once per request, by
 * http_identify: the table's key policy, or a handler whose target decides
 * (a function not public, a web action that wants a key).
 */
#ifndef MOTE_HTTP_H
#define MOTE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"

/* Limits of the transport (the core has its own). */
#define HTTP_MAX_CALL_BODY (16u << 20)   /* bytes of a call's body (its stdin) */
#define HTTP_MAX_BUNDLE (256u << 20)     /* bytes of a deployed bundle, compressed (the body) */
#define HTTP_MAX_OTHER_BODY (64u << 10)  /* bytes of any other request's body */
#define HTTP_MAX_DISCARD (64u << 20)     /* bytes of an oversized body read and dropped */
#define HTTP_MAX_ARGS 256                /* ?arg= values of a call (bigger inputs: the body) */
#define HTTP_MAX_QUERY_PARAMS 300        /* parameters of any query string */
#define HTTP_STDERR_TAIL 2048            /* bytes of stderr in an error reply */
/* The header block a guest makes (CGI output, a web action's headers): bytes
 * and lines, so that a reply's header block always fits the connection's
 * memory (daemon.c). */
#define HTTP_GUEST_HEADERS_MAX (8u << 10)
#define HTTP_GUEST_HEADER_LINES 100u

typedef struct http_server http_server;
typedef struct http_req http_req;         /* one request, from its first byte to its end */
typedef struct http_response http_response;

/* What a handler returns: the reply is queued (or the request goes on), or
 * the connection must be dropped (out of memory). */
typedef enum http_result { HTTP_CLOSE = 0, HTTP_DONE = 1 } http_result;

/* ---- the route table --------------------------------------------------------- */

enum {
  HTTP_GET = 1u << 0,
  HTTP_HEAD = 1u << 1,
  HTTP_POST = 1u << 2,
  HTTP_PUT = 1u << 3,
  HTTP_DELETE = 1u << 4,
  HTTP_OTHER = 1u << 5, /* any other method */
  HTTP_ANY = 0x3fu,
};

typedef enum http_key_policy {
  HTTP_KEY_OPEN,      /* no key asked for (a handler may still ask: http_identify) */
  HTTP_KEY_REQUIRED,  /* a valid key, before anything else is read */
  HTTP_KEY_NAMESPACE, /* a valid key, and the route's {ns} is "_" or the key's namespace */
} http_key_policy;

/* How errors look: mote's {"error": message, "code": "<what>"}, or
 * OpenWhisk's {"error": message, "code": "<transaction id>"} with its
 * wording for the errors the table makes. */
typedef enum http_dialect { HTTP_DIALECT_MOTE, HTTP_DIALECT_OPENWHISK } http_dialect;

enum {
  HTTP_ROUTE_SLASH_OK = 1u << 0,  /* a trailing '/' names the same resource */
  HTTP_ROUTE_FALLBACK = 1u << 1,  /* only when no other route's pattern matches */
  HTTP_ROUTE_DEPLOY = 1u << 2,    /* its answers count in mote_deploys_total (2xx: ok) */
  HTTP_ROUTE_CLUSTER = 1u << 3,   /* a cluster may serve it on another node (http_forwarder) */
};

typedef struct http_route {
  /* Segments: literal, "{x}" (one non-empty segment, captured as x), or
   * last "{x...}" (the rest of the path: "" or "/..."). */
  const char *pattern;
  unsigned methods;               /* HTTP_GET | ... */
  http_key_policy key;
  http_dialect dialect;
  size_t body_limit;              /* bytes; 0: HTTP_MAX_OTHER_BODY */
  size_t (*body_limit_of)(http_req *r); /* when set, the limit (e.g. by Content-Type) */
  unsigned flags;
  /* Before the body: true when it queued a reply (*res its result). */
  bool (*check)(void *ctx, http_req *r, http_result *res);
  /* With the body read. */
  http_result (*handle)(void *ctx, http_req *r);
  void *ctx;
} http_route;

/* Adds n routes (copied; matched in the order added, a route whose pattern
 * and method both match wins). False when out of memory. */
bool http_add_routes(http_server *h, const http_route *routes, size_t n);
/* mote's own public routes: /healthz, /v1/..., /faas/... (ctx: h). */
bool http_add_mote_routes(http_server *h);
/* The operator's routes, for a server of their own on another address
 * (--metrics-listen): /metrics (every namespace's figures, and the
 * transport figures of public_server, which must outlive h) and /healthz
 * with the number of functions. */
bool http_add_operator_routes(http_server *h, http_server *public_server);

/* A cluster's say in where the requests of HTTP_ROUTE_CLUSTER rows are
 * served (src/cluster). `elsewhere` is asked after the route's key, query
 * and body limit are checked, before its own check and the body: true when
 * another node (or all of them) answers it. Then `forward`, with the body
 * read, answers instead of the route's handler. */
typedef struct http_forwarder {
  bool (*elsewhere)(void *ctx, http_req *r);
  http_result (*forward)(void *ctx, http_req *r);
  void *ctx;
} http_forwarder;
void http_set_forwarder(http_server *h, const http_forwarder *f); /* copied; before start */

/* ---- the server --------------------------------------------------------------- */

/* Defaults of the connection limits (http_config). */
#define HTTP_DEFAULT_MAX_CONNECTIONS 10000u
#define HTTP_DEFAULT_HEAD_TIMEOUT_MS 10000u
#define HTTP_IDLE_TIMEOUT_S 60u          /* a connection without a byte either way */
#define HTTP_DEFAULT_RESPONSE_BUDGET_MIB 512u
#define HTTP_BUDGET_WAIT_MS 1000u

typedef struct http_config {
  const char *host;       /* address to listen on */
  uint16_t port;          /* 0: any free port */
  const char *access_log; /* a file, "-": stderr; NULL: none */
  /* Connections open at once; 0: HTTP_DEFAULT_MAX_CONNECTIONS. Bounded by
   * the open-file limit, whose soft limit http_start raises to the hard
   * one. Past it, the oldest idle connection is closed for a newcomer. */
  unsigned max_connections;
  /* Connections of one client address at once; 0: a tenth of
   * max_connections. Past it the client's new connections are closed. */
  unsigned max_connections_per_client;
  /* A request's head (line and headers) must arrive within this, from its
   * first byte; 0: HTTP_DEFAULT_HEAD_TIMEOUT_MS. */
  unsigned head_timeout_ms;
  /* Response bytes held (queued, not yet all written: a slow reader's) by
   * every connection at once, in MiB; past it a call waits for them to drop
   * (up to HTTP_BUDGET_WAIT_MS) before it runs, then gets 503 with
   * Retry-After; one client address may hold a quarter of it in large
   * responses (held.c). 0: HTTP_DEFAULT_RESPONSE_BUDGET_MIB. */
  unsigned response_budget_mib;
} http_config;

/* A server of the core (not listening yet). NULL with msg when out of
 * memory or the access log cannot be opened. */
http_server *http_new(mote_core *core, const http_config *cfg, char *msg, size_t cap);
/* Starts listening. False with msg (*listen_error: the address could not be
 * bound; else it could not be resolved). */
bool http_start(http_server *h, bool *listen_error, char *msg, size_t cap);
uint16_t http_port(const http_server *h);
/* Stops accepting, waits for the requests in progress (each connection's
 * thread is joined). */
void http_stop(http_server *h);
void http_free(http_server *h); /* after http_stop; writes the access log's backlog */
mote_core *http_core(const http_server *h);

/* ---- a request ----------------------------------------------------------------- */

mote_core *http_req_core(const http_req *r);
const char *http_req_method(const http_req *r); /* as received */
/* A capture of the route's pattern ("name" for {name}), or NULL. */
const char *http_req_capture(const http_req *r, const char *name);
const char *http_req_header(const http_req *r, const char *name); /* NULL: absent */
/* Every header as received, in order. */
void http_req_headers(const http_req *r, void (*fn)(void *ctx, const char *name,
                                                    const char *value), void *ctx);
const char *http_req_query(const http_req *r); /* raw, without '?'; "" when none */
const char *http_req_target(const http_req *r); /* as received: the path and its query */
/* The route's pattern ("/faas/{name}/{path...}"), or NULL before routing. */
const char *http_req_pattern(const http_req *r);

typedef struct http_param {
  char *key, *value; /* decoded, NUL-terminated, from malloc */
} http_param;
/* A strict parser of application/x-www-form-urlencoded text (query.c): pairs
 * in order, repeats kept, '+' a space, %XX decoded; a bad escape, %00, or
 * more than HTTP_MAX_QUERY_PARAMS pairs is an error with a message. Free
 * *out with http_query_free. */
bool http_query_parse(const char *q, http_param **out, size_t *count, char *msg, size_t cap);
void http_query_free(http_param *p, size_t count);
/* The query's parameters, decoded, in order (repeats kept). */
const http_param *http_req_params(const http_req *r, size_t *n);
/* The first value of `key`, or NULL. */
const char *http_req_param(const http_req *r, const char *key);
/* A parameter flag: true for "true" (OpenWhisk's clients send true/false). */
bool http_req_param_true(const http_req *r, const char *key);
const uint8_t *http_req_body(const http_req *r, size_t *len);

/* While r is handled: gone(arg) is called at most once, from another thread
 * and under a lock (so it must not block), when r's client closes the
 * connection before the reply; gone NULL stops watching (after which it is
 * not called). */
void http_req_watch(http_req *r, void (*gone)(void *arg), void *arg);
/* The watcher of a call run for r: its client gone, core_call_stop(call,
 * "client gone"). NULL stops watching (before the call is cleared). */
void http_req_watch_call(http_req *r, core_call *call);
/* The same for any work a core_stop stops (a deploy's initialisation). */
void http_req_watch_stop(http_req *r, core_stop *stop);
/* core_deploy for r (req->stop is set here): a client that goes away
 * abandons the deploy, whose initialisation then stops. */
mote_core_status http_core_deploy(http_req *r, core_deploy_req *req, core_fn **out,
                                  mote_core_error *err);

/* The caller's namespace when its key was checked (else NULL). */
const char *http_req_ns(const http_req *r);
/* Checks the request's credentials, at most once per request: true with
 * http_req_ns set; false when missing or wrong, with the reply queued (401,
 * or 500 when the key store failed, in the route's dialect; *res its
 * result). */
bool http_identify(http_req *r, http_result *res);
/* The same check without a reply: true with http_req_ns set; false when the
 * credentials are missing or wrong, with nothing queued (the route's own
 * check answers). For a forwarder that must know the caller's namespace
 * before the route's check runs. */
bool http_identify_quiet(http_req *r);

/* What the access log says of a call (a route that runs a function fills it). */
typedef struct http_call_log {
  bool set;
  char ns[MOTE_STORE_NS_MAX + 1];  /* the function's namespace */
  char function[CORE_NAME_MAX + 1];
  uint64_t version;
  char activation_id[33]; /* "" when the call never ran */
  uint64_t wait_us, init_us, exec_us;
  const char *code;       /* static: the error code of a failed call; NULL for a success */
} http_call_log;
http_call_log *http_req_call_log(http_req *r);

/* ---- replies ---------------------------------------------------------------------- */

/* A response of len bytes: copied (take false) or taken over (take true: from
 * malloc); NULL when out of memory (a taken body is then freed). */
http_response *http_response_new(const void *body, size_t len, bool take);
/* A JSON response of body (stolen; one line, application/json). */
http_response *http_response_json(json_t *body);
/* Adds a header; false when MHD refuses it (a bad name or value, no room). */
bool http_response_header(http_response *resp, const char *name, const char *value);
void http_response_free(http_response *resp); /* one that was not sent */
/* Queues resp (consumed, even on failure) with `status`. */
http_result http_reply(http_req *r, unsigned status, http_response *resp);
/* Queues resp with `status`, which stays the caller's to free (after): for
 * a caller that records what the client got. False when MHD refused it
 * (the handler then drops the connection: HTTP_CLOSE). */
bool http_queue(http_req *r, unsigned status, http_response *resp);
http_result http_reply_json(http_req *r, unsigned status, json_t *body /* stolen */);
/* An error in the route's dialect; code: mote's error code (the OpenWhisk
 * dialect puts a transaction id there instead). */
http_result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt,
                             ...) __attribute__((format(printf, 4, 5)));
/* A call of function (ns, name) that is stored but still being prepared
 * after a restart (core_fn_preparing): 503 with Retry-After
 * HTTP_STARTING_RETRY_S, in the route's dialect (mote's code "starting"). */
#define HTTP_STARTING_RETRY_S 1u
http_result http_reply_starting(http_req *r, const char *ns, const char *name);
/* Before a call runs: while the response bytes held for slow readers are
 * past --response-budget, waits for them (HTTP_BUDGET_WAIT_MS at most,
 * held.c). True: go on; false: *res is a 503 with Retry-After
 * (HTTP_BUDGET_RETRY_S) queued in the route's dialect (mote's code
 * "response_budget"). */
#define HTTP_BUDGET_RETRY_S 1u
bool http_response_budget(http_req *r, http_result *res);
/* A core error: its status and code from the status table. */
http_result http_reply_core(http_req *r, const mote_core_error *err);
/* OpenWhisk's 401 (its realm, its texts: `missing` no credentials, else wrong ones). */
http_result http_reply_401(http_req *r, bool missing);

/* ---- the status table (status.c) ---------------------------------------------------- */

unsigned http_status_of(mote_core_status st);
const char *http_code_of(mote_core_status st); /* "not_found", "queue_full", ... */
/* A call's reply status and error code by its outcome class (a /faas call). */
unsigned http_class_status(core_class cls);
const char *http_class_code(core_class cls);

/* ---- JSON helpers (json.c) --------------------------------------------------------------- */

/* A JSON string of arbitrary bytes: invalid UTF-8 becomes U+FFFD. */
json_t *json_bytes(const uint8_t *p, size_t n);
/* Unix milliseconds as "2026-11-26T17:22:19.445Z" (UTC). */
json_t *json_utc_ms(int64_t ms);
/* A version record: settings with the defaults applied, its files
 * ({count, bytes, paths up to MOTE_STORE_FILES_LISTED}, from the store's index). */
json_t *http_version_json(mote_core *c, const mote_function_version *v);

/* ---- header rules (header.c), for what a guest puts in a reply --------------------------------- */

/* A field name (n bytes) is a token; a value has no control byte but tab. */
bool http_header_name_ok(const char *s, size_t n);
bool http_header_value_ok(const char *s);
/* Whether a response header is the server's to set, never a function's:
 * hop-by-hop ones (Connection, Transfer-Encoding, Content-Length, Upgrade...)
 * and X-Mote-* (header.c). CGI output and OpenWhisk web actions drop
 * them. */
bool http_header_platform_owned(const char *name);

#endif /* MOTE_HTTP_H */
