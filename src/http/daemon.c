/*
 * daemon: libmicrohttpd's daemon, a request's life, request bodies.
 *
 * libmicrohttpd runs in thread-per-connection mode: a listening thread
 * accepts, and each connection (keep-alive included) gets its own thread
 * that reads requests, calls the handler and writes responses. A function
 * call runs synchronously inside the handler, on that thread, so a slow call
 * blocks only its own connection. How many calls run at once is bounded
 * separately by admission (core/admit.c), whose wait is reported as
 * X-Mote-Wait-Us. Other routes (/healthz, /metrics, the API) take no slot,
 * so they answer while every worker is busy.
 *
 * Why threads (issue 14 measured both, docs/architecture.md "Threads"):
 * an idle connection costs its thread ~48 KB here (10,000 idle keep-alive
 * connections: 482 MB, /healthz p99 10 us), while MHD's epoll mode with
 * the handlers on a pool of threads held them in 340 MB and 71 threads but
 * paid 40-80 us for every hand-over between threads: a call at one client
 * took 76-184 us instead of 14, and 16 connections made 17-28k calls/s
 * instead of 40-46k.
 *
 * Connections: at most max_connections (the oldest idle ones make room
 * for newcomers, so /healthz answers on a full server),
 * max_connections_per_client from one address (MHD's per-IP limit), a
 * deadline for every request head that trickled bytes do not extend
 * (conns.c), MHD's idle timeout between requests. MHD's error log is
 * rate-limited: a flood of refused connections writes a few lines a second
 * and a count.
 *
 * A request's life: the URI log callback allocates its http_req (holding the
 * raw URI: MHD hands the handler the path without the query, decoded in
 * place and cut at a NUL) and hides the query from MHD, whose own parse of
 * it takes connection memory per parameter and dropped the connection past
 * ~450 of them (ours, query.c, answers 400). The first handler call checks
 * the framing (framing.c: the path, the head's size, Content-Length,
 * Transfer-Encoding, Host, Expect), then runs the route table's checks
 * (route.c); later calls collect the body up to the route's limit; the
 * last one runs the route's handler. Every response is queued through
 * http_reply, which notes its status and size in the request; the completed
 * callback writes the access-log line and frees it all.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "http/http_internal.h"

static void connection_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe) {
  http_server *h = cls;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    /* NULL (out of memory): the connection has no deadline, nor a log line */
    *socket_context = ci ? conns_open(h->conns, ci->connect_fd) : NULL;
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    conns_close(h->conns, *socket_context);
    *socket_context = NULL;
  }
}

static http_conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
  /* MHD parses the query after this callback, into the connection's
   * memory: it gets an empty one (the text is MHD's own read buffer). */
  char *q = uri ? strchr(uri, '?') : NULL;
  http_req *r = calloc(1, sizeof *r);
  if (r) r->uri = strdup(uri ? uri : "/");
  if (q) q[1] = '\0';
  if (!r || !r->uri) {
    free(r);
    return NULL;
  }
  q = strchr(r->uri, '?');
  r->query = q ? q + 1 : "";
  r->h = cls;
  r->conn = c;
  r->hc = conn_of(c);
  r->t_start_us = mote_now_us();
  r->t_wall_ms = mote_wall_ms();
  return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  http_server *h = cls;
  http_req *r = *con_cls;
  if (!r) return;
  conns_idle(h->conns, r->hc);
  held_end(&h->budget, &r->budget);
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
  free(r->path);
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
  (void)url; /* MHD's decoding, cut at a NUL: framing.c makes r->path instead */
  if (!r) return MHD_NO; /* out of memory in uri_log: drop the connection */
  if (!r->started) {
    r->started = true;
    r->t_arrival_us = mote_now_us();
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->version, sizeof r->version, "%s", version ? version : "HTTP/1.1");
    conns_request(h->conns, r->hc, r);
    http_result res;
    if (framing_check(r, &res) || route_first(h, r, &res)) return res == HTTP_DONE ? MHD_YES : MHD_NO;
    return MHD_YES; /* MHD sends 100 Continue if asked, then the body */
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    conns_body(r->hc, n);
    return take_body(r, upload, n) ? MHD_YES : MHD_NO;
  }
  conns_body_read(r->hc);
  return route_handle(r) == HTTP_DONE ? MHD_YES : MHD_NO;
}

/* MHD's error log: HTTP_ERRLOG_PER_S lines a second at most, then a count
 * of the lines left out. */
static void error_log(void *cls, const char *fmt, va_list ap) {
  http_server *h = cls;
  int64_t second = mote_wall_ms() / 1000;
  pthread_mutex_lock(&h->errlog_lock);
  if (second != h->errlog_second) {
    if (h->errlog_dropped)
      fprintf(stderr, "mote serve: (%llu more lines of libmicrohttpd's log left out)\n",
              (unsigned long long)h->errlog_dropped);
    h->errlog_second = second;
    h->errlog_lines = 0;
    h->errlog_dropped = 0;
  }
  bool write = h->errlog_lines++ < HTTP_ERRLOG_PER_S;
  if (!write) h->errlog_dropped++;
  pthread_mutex_unlock(&h->errlog_lock);
  if (write) vfprintf(stderr, fmt, ap);
}

/* ---- start and stop ----------------------------------------------------------- */

http_server *http_new(mote_core *core, const http_config *cfg, char *msg, size_t cap) {
  http_server *h = calloc(1, sizeof *h);
  if (!h) {
    snprintf(msg, cap, "out of memory");
    return NULL;
  }
  h->core = core;
  h->cfg = *cfg;
  h->cfg.access_log = NULL; /* not kept */
  h->port = cfg->port;
  snprintf(h->host, sizeof h->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
  h->cfg.host = h->host;
  pthread_mutex_init(&h->errlog_lock, NULL);
  if (!held_init(&h->budget, (uint64_t)(cfg->response_budget_mib
                                               ? cfg->response_budget_mib
                                               : HTTP_DEFAULT_RESPONSE_BUDGET_MIB) << 20)) {
    pthread_mutex_destroy(&h->errlog_lock);
    free(h);
    snprintf(msg, cap, "out of memory");
    return NULL;
  }
  if (cfg->access_log && *cfg->access_log &&
      !(h->access_log = access_log_open(cfg->access_log, msg, cap))) {
    held_destroy(&h->budget);
    pthread_mutex_destroy(&h->errlog_lock);
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

/* The connection limits with their defaults, within the open-file limit
 * (whose soft limit is raised to the hard one first). */
static void apply_limits(http_config *cfg) {
  struct rlimit rl;
  unsigned fds = 1024;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    if (rl.rlim_cur < rl.rlim_max) {
      rlim_t was = rl.rlim_cur;
      rl.rlim_cur = rl.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = was;
    }
    fds = rl.rlim_cur > 1u << 30 ? 1u << 30 : (unsigned)rl.rlim_cur;
  }
  /* Descriptors for everything else: the store, compilers, calls' files. */
  unsigned room = fds > HTTP_FD_RESERVE + 2 * HTTP_EVICT_RESERVE
                      ? fds - HTTP_FD_RESERVE - HTTP_EVICT_RESERVE : HTTP_EVICT_RESERVE;
  unsigned want = cfg->max_connections ? cfg->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS;
  if (want > room) {
    fprintf(stderr, "mote serve: at most %u connections (the open-file limit is %u; raise "
            "it with ulimit -n for more)\n", room, fds);
    want = room;
  }
  cfg->max_connections = want;
  if (!cfg->max_connections_per_client)
    cfg->max_connections_per_client = want / 10 ? want / 10 : 1;
  if (!cfg->head_timeout_ms) cfg->head_timeout_ms = HTTP_DEFAULT_HEAD_TIMEOUT_MS;
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
  apply_limits(&h->cfg);
  if (!(h->conns = conns_new(h->cfg.max_connections, h->cfg.head_timeout_ms))) {
    snprintf(msg, cap, "out of memory, or no thread could be started");
    return false;
  }
  h->daemon = MHD_start_daemon(
      MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
          (v6 ? MHD_USE_IPv6 : 0),
      h->port, NULL, NULL, handler, h, MHD_OPTION_EXTERNAL_LOGGER, error_log, h,
      MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_URI_LOG_CALLBACK, uri_log, h, MHD_OPTION_NOTIFY_COMPLETED, completed, h,
      MHD_OPTION_NOTIFY_CONNECTION, connection_notify, h,
      MHD_OPTION_CONNECTION_TIMEOUT, HTTP_IDLE_TIMEOUT_S,
      MHD_OPTION_CONNECTION_LIMIT, h->cfg.max_connections + HTTP_EVICT_RESERVE,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, h->cfg.max_connections_per_client,
      MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096u,
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
  conns_free(h->conns);
  access_log_close(h->access_log); /* after the daemon: no request logs any more */
  held_destroy(&h->budget);
  pthread_mutex_destroy(&h->errlog_lock);
  free(h->routes);
  free(h);
}
