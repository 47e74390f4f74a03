/*
 * daemon: libmicrohttpd's daemon, a request's life, request bodies.
 *
 * libmicrohttpd runs in thread-per-connection mode: a listening thread
 * accepts, and each connection (keep-alive included) gets its own thread
 * that reads requests, calls the handler and writes responses. A function
 * call runs synchronously inside the handler, on that thread, so a slow call
 * blocks only its own connection. (MHD's thread pool would run several
 * connections' event loops per thread: one long call there would stall every
 * other connection of its thread.) How many calls run at once is bounded
 * separately by `workers` execution slots with a bounded, fair queue in
 * front of them (admit.c), whose wait is reported as X-Mote-Wait-Us. Other
 * routes (/healthz, /metrics, the API) take no slot, so they answer while
 * every worker is busy.
 *
 * A request's life: the URI log callback allocates its http_req (holding the
 * raw URI: MHD hands the handler the path without the query, and the query
 * parser keeps repeated and malformed parameters visible); the first
 * handler call runs the route table's checks (route.c); later calls collect
 * the body up to the route's limit; the last one runs the route's handler.
 * Every response is queued through http_reply, which notes its status and
 * size in the request; the completed callback writes the access-log line
 * and frees it all.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

static void connection_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe) {
  (void)cls;
  (void)c;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = calloc(1, sizeof(http_conn)); /* NULL: the request is not logged */
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    free(*socket_context);
    *socket_context = NULL;
  }
}

static http_conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
  http_req *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->uri = strdup(uri ? uri : "/");
  if (!r->uri) {
    free(r);
    return NULL;
  }
  char *q = strchr(r->uri, '?');
  r->query = q ? q + 1 : "";
  r->h = cls;
  r->conn = c;
  r->t_start_us = mote_now_us();
  r->t_wall_ms = mote_wall_ms();
  http_conn *conn = conn_of(c);
  if (conn) conn->req = r;
  return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  http_server *h = cls;
  http_req *r = *con_cls;
  if (!r) return;
  http_conn *conn = conn_of(c);
  if (conn && conn->req == r) conn->req = NULL;
  if (h->access_log) {
    if (!r->status) { /* a response MHD made on its own (a malformed request) */
      const union MHD_ConnectionInfo *ci =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
      if (ci) r->status = ci->http_status;
    }
    access_log_request(h->access_log, r, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
  }
  http_query_free(r->params, r->nparams);
  free(r->body);
  free(r->uri);
  free(r);
  *con_cls = NULL;
}

/* Appends a piece of the body; false to drop the connection. */
static bool take_body(http_req *r, const char *upload, size_t n) {
  if (r->too_large) {
    /* MHD 0.9.75 takes no reply in the middle of a body: the rest is read
     * and dropped, then the 413 goes out; past a bound, the connection is
     * closed instead. */
    r->discarded += n;
    return r->discarded <= HTTP_MAX_DISCARD;
  }
  if (n > r->limit - r->len) {
    /* Chunked bodies announce no length: the limit is found on the way. */
    r->too_large = true;
    r->discarded = r->len + n;
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    return true;
  }
  if (r->len + n > r->cap) {
    size_t want = r->cap ? r->cap : 16384;
    while (want < r->len + n) want *= 2;
    if (want > r->limit) want = r->limit;
    uint8_t *grown = realloc(r->body, want);
    if (!grown) return false; /* out of memory: drop the connection */
    r->body = grown;
    r->cap = want;
  }
  memcpy(r->body + r->len, upload, n);
  r->len += n;
  return true;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
  http_server *h = cls;
  http_req *r = *con_cls;
  (void)c;
  if (!r) return MHD_NO; /* out of memory in uri_log: drop the connection */
  if (!r->started) {
    r->started = true;
    r->t_arrival_us = mote_now_us();
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->version, sizeof r->version, "%s", version ? version : "HTTP/1.1");
    http_result res;
    if (route_first(h, r, url, &res)) return res == HTTP_DONE ? MHD_YES : MHD_NO;
    return MHD_YES; /* MHD sends 100 Continue if asked, then the body */
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    return take_body(r, upload, n) ? MHD_YES : MHD_NO;
  }
  return route_handle(r) == HTTP_DONE ? MHD_YES : MHD_NO;
}

/* ---- start and stop ----------------------------------------------------------- */

http_server *http_new(mote_core *core, const http_config *cfg, char *msg, size_t cap) {
  http_server *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(msg, cap, "out of memory");
    return NULL;
  }
  h->core = core;
  h->port = cfg->port;
  snprintf(h->host, sizeof h->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
  if (cfg->access_log && *cfg->access_log &&
      !(h->access_log = access_log_open(cfg->access_log, msg, cap))) {
    free(h);
    return NULL;
  }
  return h;
}

static int resolve_listen(const char *host, uint16_t port, struct sockaddr_storage *ss,
                          bool *v6) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICSERV | AI_PASSIVE};
  struct addrinfo *ai = NULL;
  char ports[8];
  snprintf(ports, sizeof ports, "%u", port);
  int rc = getaddrinfo(host, ports, &hints, &ai);
  if (rc) return rc;
  memcpy(ss, ai->ai_addr, ai->ai_addrlen);
  *v6 = ai->ai_family == AF_INET6;
  freeaddrinfo(ai);
  return 0;
}

bool http_start(http_server *h, bool *listen_error, char *msg, size_t cap) {
  struct sockaddr_storage ss;
  bool v6 = false;
  *listen_error = false;
  int gai = resolve_listen(h->host, h->port, &ss, &v6);
  if (gai) {
    snprintf(msg, cap, "cannot listen on %s: %s", h->host, gai_strerror(gai));
    return false;
  }
  h->daemon = MHD_start_daemon(
      MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
          (v6 ? MHD_USE_IPv6 : 0),
      h->port, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_URI_LOG_CALLBACK, uri_log, h, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
      MHD_OPTION_NOTIFY_CONNECTION, connection_notify, h,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONNECTION_MEMORY, MHD_OPTION_END);
  if (!h->daemon) {
    *listen_error = true;
    snprintf(msg, cap, "cannot listen on %s:%u (in use, or not an address of this host?)",
             h->host, h->port);
    return false;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
  if (info) h->port = info->port;
  return true;
}

uint16_t http_port(const http_server *h) { return h->port; }

mote_core *http_core(const http_server *h) { return h->core; }

void http_stop(http_server *h) {
  if (!h || !h->daemon) return;
  MHD_quiesce_daemon(h->daemon);
  MHD_stop_daemon(h->daemon); /* joins every connection thread */
  h->daemon = NULL;
}

void http_free(http_server *h) {
  if (!h) return;
  http_stop(h);
  access_log_close(h->access_log); /* after the daemon: no request logs any more */
  free(h->routes);
  free(h);
}
