/*
 * http: the daemon, routing and request bodies.
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
 * A request's life: the URI log callback allocates its srv_req (holding the
 * raw URI: MHD hands the handler the path without the query, and this parser
 * keeps repeated and malformed parameters visible); the first handler call
 * routes and makes the checks that need no body (404, 400, 413 on the
 * declared length, 415); later calls collect the body up to the route's
 * limit; the last one runs the route. Every response is queued through
 * reply_queue, which notes its status and size in the request (found
 * through the connection's srv_conn); the completed callback writes the
 * access-log line and frees it all.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "server/openwhisk.h"
#include "server/server_internal.h"

enum {
  R_NONE = 0,
  R_HEALTH,
  R_FUNCTIONS,
  R_FUNCTION,
  R_ACTIVATIONS,
  R_ACTIVATION,
  R_FAAS,
  R_METRICS,
  R_USAGE,
  R_OW, /* /api/v1...: OpenWhisk's API (ow_routes.c) */
};

static srv_conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? ci->socket_context : NULL;
}

static void connection_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe) {
  (void)cls;
  (void)c;
  if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = calloc(1, sizeof(srv_conn)); /* NULL: the request is not logged */
  } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
    free(*socket_context);
    *socket_context = NULL;
  }
}

static void *uri_log(void *cls, const char *uri, struct MHD_Connection *c) {
  (void)cls;
  srv_req *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->uri = strdup(uri ? uri : "/");
  if (!r->uri) {
    free(r);
    return NULL;
  }
  char *q = strchr(r->uri, '?');
  r->query = q ? q + 1 : "";
  r->t_start_us = srv_now_us();
  r->t_wall_ms = srv_wall_ms();
  srv_conn *conn = conn_of(c);
  if (conn) conn->req = r;
  return r;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  mote_server *s = cls;
  srv_req *r = *con_cls;
  if (!r) return;
  srv_conn *conn = conn_of(c);
  if (conn && conn->req == r) conn->req = NULL;
  if (s->access_log) {
    if (!r->status) { /* a response MHD made on its own (a malformed request) */
      const union MHD_ConnectionInfo *ci =
          MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
      if (ci) r->status = ci->http_status;
    }
    access_log_request(s->access_log, c, r, toe != MHD_REQUEST_TERMINATED_COMPLETED_OK);
  }
  query_free(r->params, r->nparams);
  free(r->path_info);
  free(r->body);
  free(r->uri);
  free(r);
  *con_cls = NULL;
}

/* "/prefix/{name}": copies name if the url is exactly that. */
static bool match_named(const char *url, const char *prefix, char *name, size_t cap) {
  size_t n = strlen(prefix);
  if (strncmp(url, prefix, n) != 0) return false;
  const char *rest = url + n;
  size_t len = strlen(rest);
  if (len == 0 || len >= cap || strchr(rest, '/')) return false;
  memcpy(name, rest, len + 1);
  return true;
}

static int route(const char *url, srv_req *r) {
  if (!strcmp(url, "/healthz")) return R_HEALTH;
  if (!strcmp(url, "/metrics")) return R_METRICS;
  if (!strncmp(url, "/api/v1", 7) && (url[7] == '\0' || url[7] == '/')) return R_OW;
  if (!strcmp(url, "/v1/usage") || !strcmp(url, "/v1/usage/")) return R_USAGE;
  if (!strcmp(url, "/v1/functions") || !strcmp(url, "/v1/functions/")) return R_FUNCTIONS;
  if (match_named(url, "/v1/functions/", r->name, sizeof r->name)) return R_FUNCTION;
  if (!strcmp(url, "/v1/activations") || !strcmp(url, "/v1/activations/")) return R_ACTIVATIONS;
  if (match_named(url, "/v1/activations/", r->name, sizeof r->name)) return R_ACTIVATION;
  if (match_named(url, "/faas/", r->name, sizeof r->name)) return R_FAAS;
  /* /faas/{name}/more: the rest is the PATH_INFO of a CGI function (faas.c
   * refuses it for the others). */
  if (!strncmp(url, "/faas/", 6)) {
    const char *n = url + 6, *slash = strchr(n, '/');
    size_t len = slash ? (size_t)(slash - n) : 0;
    if (slash && len > 0 && len < sizeof r->name) {
      memcpy(r->name, n, len);
      r->name[len] = '\0';
      r->path_info = strdup(slash);
      if (r->path_info) return R_FAAS;
    }
  }
  return R_NONE;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *method,
                                          const char *allow) {
  char msg[160];
  snprintf(msg, sizeof msg, "method %s is not allowed here (allowed: %s)", method, allow);
  json_t *o = json_object();
  json_object_set_new(o, "error", json_string(msg));
  json_object_set_new(o, "code", json_string("method_not_allowed"));
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  if (!text) return MHD_NO;
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(text);
    return MHD_NO;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  enum MHD_Result ret = reply_queue(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp, strlen(text));
  MHD_destroy_response(resp);
  return ret;
}

/* The routes that take a key whatever they name (/faas/NAME asks for one
 * only for a function that is not public: faas.c). */
static bool route_needs_key(int route) {
  return route == R_FUNCTIONS || route == R_FUNCTION || route == R_ACTIVATIONS ||
         route == R_ACTIVATION || route == R_USAGE;
}

/* The first call: route, check the method, the credentials, the query, the
 * declared length. Returns true when a reply was queued (*res holds MHD's
 * result). The credentials come before anything that reads more: a deploy
 * without a valid key is refused before its body (up to 256 MiB) is read. */
static bool first_call(mote_server *s, struct MHD_Connection *c, const char *url,
                       const char *method, const char *version, srv_req *r,
                       enum MHD_Result *res) {
  r->t_arrival_us = srv_now_us();
  snprintf(r->method, sizeof r->method, "%s", method);
  snprintf(r->version, sizeof r->version, "%s", version ? version : "HTTP/1.1");
  r->route = route(url, r);
  /* OpenWhisk's API makes its own checks, with its own replies. */
  if (r->route == R_OW) return ow_first_call(s, c, url, method, r, res);
  bool get = !strcmp(method, "GET"), head = !strcmp(method, "HEAD");
  bool put = !strcmp(method, "PUT"), post = !strcmp(method, "POST");
  bool del = !strcmp(method, "DELETE");
  r->limit = SRV_MAX_OTHER_BODY;
  switch (r->route) {
    case R_NONE:
      *res = reply_error(c, 404, "not_found",
                         "no route %s %s (see /v1/functions, /v1/activations, /faas/NAME, "
                         "/api/v1)",
                         method, url);
      return true;
    case R_HEALTH:
    case R_METRICS:
    case R_FUNCTIONS:
    case R_ACTIVATIONS:
    case R_ACTIVATION:
    case R_USAGE:
      if (!get && !head) return (*res = method_not_allowed(c, method, "GET")), true;
      break;
    case R_FUNCTION:
      if (!get && !head && !put && !del)
        return (*res = method_not_allowed(c, method, "GET, PUT, DELETE")), true;
      if (put) r->limit = deploy_body_limit(c);
      break;
    case R_FAAS:
      if (!get && !post) return (*res = method_not_allowed(c, method, "GET, POST")), true;
      r->limit = SRV_MAX_CALL_BODY;
      break;
  }
  if (route_needs_key(r->route)) {
    srv_auth_result why;
    int st = auth_identify(s, c, r->ns, &why);
    if (st != 0 && r->route == R_FUNCTION && put) metrics_deploy(s->metrics, false);
    if (st == 401) return (*res = auth_reply_401(c, why)), true;
    if (st != 0) {
      *res = reply_error(c, 500, "auth_failed",
                         "the server could not check the credentials (its log says why)");
      return true;
    }
    r->authed = true;
  }
  if (!query_parse(r->query, &r->params, &r->nparams, r->query_err, sizeof r->query_err)) {
    if (r->route == R_FUNCTION && put) metrics_deploy(s->metrics, false);
    *res = reply_error(c, 400, "bad_query", "%s", r->query_err);
    return true;
  }
  unsigned long long n;
  if (request_declared_length(c, &n) && n > r->limit) {
    if (r->route == R_FUNCTION && put) metrics_deploy(s->metrics, false);
    *res = reply_error(c, 413, "body_too_large",
                       "the request body of %llu bytes is larger than the limit of %zu bytes",
                       n, r->limit);
    return true;
  }
  int st = 0;
  if (r->route == R_FAAS) st = faas_precheck(s, c, r, res);
  else if (r->route == R_FUNCTION && put) st = api_function_put_precheck(s, c, r, res);
  return st != 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls) {
  mote_server *s = cls;
  srv_req *r = *con_cls;
  if (!r) return MHD_NO; /* out of memory in uri_log: drop the connection */
  enum MHD_Result res;
  if (!r->started) {
    r->started = true;
    if (first_call(s, c, url, method, version, r, &res)) return res;
    return MHD_YES; /* MHD sends 100 Continue if asked, then the body */
  }
  if (*upload_size) {
    size_t n = *upload_size;
    *upload_size = 0;
    if (r->too_large) {
      /* MHD 0.9.75 takes no reply in the middle of a body: the rest is read
       * and dropped, then the 413 goes out; past a bound, the connection is
       * closed instead. */
      r->discarded += n;
      return r->discarded > SRV_MAX_DISCARD ? MHD_NO : MHD_YES;
    }
    if (n > r->limit - r->len) {
      /* Chunked bodies announce no length: the limit is found on the way. */
      r->too_large = true;
      r->discarded = r->len + n;
      free(r->body);
      r->body = NULL;
      r->len = r->cap = 0;
      return MHD_YES;
    }
    if (r->len + n > r->cap) {
      size_t want = r->cap ? r->cap : 16384;
      while (want < r->len + n) want *= 2;
      if (want > r->limit) want = r->limit;
      uint8_t *grown = realloc(r->body, want);
      if (!grown) return MHD_NO; /* out of memory: drop the connection */
      r->body = grown;
      r->cap = want;
    }
    memcpy(r->body + r->len, upload, n);
    r->len += n;
    return MHD_YES;
  }
  if (r->too_large) {
    if (r->route == R_FUNCTION && !strcmp(method, "PUT")) metrics_deploy(s->metrics, false);
    if (r->route == R_OW)
      return ow_reply_error(c, 413, "The request content was malformed:\nrequest entity "
                            "exceeds the allowed %zu bytes.", r->limit);
    return reply_error(c, 413, "body_too_large",
                       "the request body is larger than the limit of %zu bytes", r->limit);
  }

  bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
  switch (r->route) {
    case R_HEALTH: {
      json_t *o = json_object();
      json_object_set_new(o, "status", json_string("ok"));
      json_object_set_new(o, "functions", json_integer(registry_count(s->reg)));
      return reply_json(c, 200, o);
    }
    case R_METRICS: {
      size_t len = 0;
      char *text = metrics_render(s->metrics, s, &len);
      struct MHD_Response *resp =
          text ? MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE) : NULL;
      if (!resp) {
        free(text);
        return reply_error(c, 500, "internal", "out of memory");
      }
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
      enum MHD_Result ret = reply_queue(c, 200, resp, len);
      MHD_destroy_response(resp);
      return ret;
    }
    case R_FUNCTIONS: return api_functions_list(s, c, r);
    case R_FUNCTION:
      if (get) return api_function_get(s, c, r);
      if (!strcmp(method, "PUT")) return api_function_put(s, c, r);
      return api_function_delete(s, c, r);
    case R_ACTIVATIONS: return api_activations_list(s, c, r);
    case R_ACTIVATION: return api_activation_get(s, c, r);
    case R_FAAS: return faas_call(s, c, r);
    case R_USAGE: return api_usage(s, c, r);
    case R_OW: return ow_handle(s, c, url, r);
  }
  return reply_error(c, 404, "not_found", "no such route");
}

/* ---- start and stop -------------------------------------------------------- */

static mote_server_status fail(mote_server_error *err, mote_server_status st, const char *fmt,
                               ...) __attribute__((format(printf, 3, 4)));
static mote_server_status fail(mote_server_error *err, mote_server_status st, const char *fmt,
                               ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  err->status = st;
  return st;
}

/* Loads every stored function into the registry. */
static void load_all(mote_server *s) {
  mote_function_version *list = NULL;
  size_t n = 0;
  mote_store_error serr;
  if (mote_store_list(s->store, NULL, &list, &n, &serr) != MOTE_STORE_OK) {
    fprintf(stderr, "mote serve: cannot list the stored functions: %s\n", serr.message);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    char path[PATH_MAX], msg[1024];
    mote_store_blob_path(s->store, list[i].module_hash, path, sizeof path);
    FILE *f = fopen(path, "rb");
    uint8_t *wasm = NULL;
    long len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
      wasm = malloc(len ? (size_t)len : 1);
      if (wasm && fread(wasm, 1, (size_t)len, f) != (size_t)len) {
        free(wasm);
        wasm = NULL;
      }
    }
    if (f) fclose(f);
    srv_fn *fn = NULL;
    bool need_opt = false;
    const char *code = NULL;
    char files_dir[PATH_MAX];
    if (list[i].files_hash)
      mote_store_files_path(s->store, list[i].files_hash, files_dir, sizeof files_dir);
    if (!wasm) {
      fprintf(stderr, "mote serve: %s v%llu: cannot read its module %s: %s; not served\n",
              list[i].name, (unsigned long long)list[i].version, path, strerror(errno));
    } else if (fn_load(s, list[i].name, wasm, (size_t)len, &list[i].settings,
                       list[i].files_hash ? files_dir : NULL, &fn, &need_opt, &code, msg,
                       sizeof msg) != 0) {
      fprintf(stderr, "mote serve: %s v%llu: %s; not served\n", list[i].name,
              (unsigned long long)list[i].version, msg);
    } else {
      fn->rec = list[i]; /* takes over the record's strings */
      memset(&list[i], 0, sizeof list[i]);
      snapstore_keep(s, fn);
      if (need_opt) bg_queue_opt(s, fn, wasm, (size_t)len);
      registry_put(s->reg, fn);
    }
    free(wasm);
    mote_function_version_clear(&list[i]);
  }
  free(list);
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

mote_server_status mote_server_start(const mote_server_config *cfg, mote_server **out,
                                     mote_server_error *err) {
  *out = NULL;
  err->status = MOTE_SERVER_OK;
  err->message[0] = '\0';
  if (!cfg->data_dir || !*cfg->data_dir)
    return fail(err, MOTE_SERVER_INVALID, "a data directory is required");
  mote_server *s = calloc(1, sizeof *s);
  if (!s) return fail(err, MOTE_SERVER_IO, "out of memory");
  snprintf(s->host, sizeof s->host, "%s", cfg->host ? cfg->host : "127.0.0.1");
  snprintf(s->data_dir, sizeof s->data_dir, "%s", cfg->data_dir);
  snprintf(s->cache_dir, sizeof s->cache_dir, "%s/cache", cfg->data_dir);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  s->workers = cfg->workers ? cfg->workers : (unsigned)(ncpu > 0 ? ncpu : 1);
  s->keep_snapshots = !cfg->no_kept_snapshots;
  pthread_mutex_init(&s->deploy_lock, NULL);
  bg_start(s);
  json_object_seed(0); /* before any thread makes objects */
  mote_rt_init();

  mote_server_status st = MOTE_SERVER_OK;
  struct sockaddr_storage ss;
  bool v6 = false;
  int gai;
  if (mkdir(s->data_dir, 0755) != 0 && errno != EEXIST) {
    st = fail(err, MOTE_SERVER_IO, "cannot create %s: %s", s->data_dir, strerror(errno));
    goto fail;
  }
  mote_store_error serr;
  if (mote_store_open(s->data_dir, &s->store, &serr) != MOTE_STORE_OK) {
    st = fail(err, MOTE_SERVER_IO, "cannot open the store in %s: %s", s->data_dir, serr.message);
    goto fail;
  }
  if (!(s->auth = auth_new())) {
    st = fail(err, MOTE_SERVER_IO, "out of memory");
    goto fail;
  }
  if (cfg->dev) {
    char msg[512];
    if ((st = auth_dev_setup(s, &s->dev_key_created, msg, sizeof msg)) != MOTE_SERVER_OK) {
      fail(err, st, "%s", msg);
      goto fail;
    }
  }
  s->reg = registry_new();
  s->metrics = metrics_new();
  s->admit = admit_new(s->workers,
                       cfg->queue ? cfg->queue : SRV_DEFAULT_QUEUE_PER_WORKER * s->workers,
                       cfg->queue_timeout_ms ? cfg->queue_timeout_ms
                                             : SRV_DEFAULT_QUEUE_TIMEOUT_MS);
  s->quota = quota_new(s->store, cfg->ns_invocations_per_minute, cfg->ns_concurrent);
  s->acct = accounting_new(s->store);
  s->ow = ow_server_new(s->workers);
  if (!s->reg || !s->metrics || !s->admit || !s->quota || !s->acct || !s->ow) {
    st = fail(err, MOTE_SERVER_IO, "out of memory");
    goto fail;
  }
  if (cfg->access_log && *cfg->access_log) {
    char msg[512];
    if (!(s->access_log = access_log_open(cfg->access_log, msg, sizeof msg))) {
      st = fail(err, MOTE_SERVER_IO, "%s", msg);
      goto fail;
    }
  }
  load_all(s);

  if ((gai = resolve_listen(s->host, cfg->port, &ss, &v6)) != 0) {
    st = fail(err, MOTE_SERVER_INVALID, "cannot listen on %s: %s", s->host, gai_strerror(gai));
    goto fail;
  }
  s->daemon = MHD_start_daemon(
      MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG |
          (v6 ? MHD_USE_IPv6 : 0),
      cfg->port, NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
      MHD_OPTION_URI_LOG_CALLBACK, uri_log, s, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
      MHD_OPTION_NOTIFY_CONNECTION, connection_notify, s,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SRV_CONNECTION_MEMORY, MHD_OPTION_END);
  if (!s->daemon) {
    st = fail(err, MOTE_SERVER_LISTEN, "cannot listen on %s:%u (in use, or not an address of "
              "this host?)", s->host, cfg->port);
    goto fail;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : cfg->port;
  *out = s;
  return MOTE_SERVER_OK;

fail:
  mote_server_stop(s);
  return st;
}

uint16_t mote_server_port(const mote_server *s) { return s->port; }

unsigned mote_server_function_count(const mote_server *s) { return registry_count(s->reg); }

bool mote_server_dev_key_created(const mote_server *s) { return s->dev_key_created; }

void mote_server_stop(mote_server *s) {
  if (!s) return;
  if (s->daemon) {
    MHD_quiesce_daemon(s->daemon);
    MHD_stop_daemon(s->daemon); /* joins every connection thread */
  }
  ow_server_free(s->ow); /* the invokes still running: before what they use goes */
  bg_stop(s);
  registry_free(s->reg);
  metrics_free(s->metrics);
  admit_free(s->admit);
  quota_free(s->quota);
  accounting_free(s->acct); /* writes the last deltas: before the store closes */
  access_log_close(s->access_log); /* after the daemon: no request logs any more */
  if (s->store) mote_store_close(s->store);
  auth_free(s->auth);
  pthread_mutex_destroy(&s->deploy_lock);
  free(s);
}
