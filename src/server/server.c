/*
 * server: `mote serve` put together. The wiring and the start/stop order
 * only: the platform is the core's (src/core), HTTP is src/http's, and the
 * API facades register their routes in http's table (mote's own, then
 * OpenWhisk's /api/v1).
 *
 * Start: the core (store, parts, every stored function loaded), the --dev
 * key, the HTTP servers with their route tables (the public one; the
 * operator's /metrics on its own address), then listening, the operator's
 * first. Stop: no new
 * connections and the requests in progress finished (MHD joins every
 * connection thread), then the background calls drained (each accepted
 * call gets its record), then the HTTP server's last access-log lines, then
 * the core.
 */
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cluster/cluster.h"
#include "core/core.h"
#include "http/http.h"
#include "openwhisk/openwhisk.h"
#include "server/server.h"

_Static_assert(MOTE_SERVER_QUANTUM_OFF == CORE_QUANTUM_OFF, "the same \"off\"");

struct mote_server {
  mote_core *core;
  http_server *http;
  mote_cluster *cluster; /* NULL: a single node */
  http_server *operator_http; /* /metrics on the operator's address; NULL: none */
  bool dev_key_created; /* --dev made the development key at this start */
};

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

mote_server_status mote_server_start(const mote_server_config *cfg, mote_server **out,
                                     mote_server_error *err) {
  *out = NULL;
  err->status = MOTE_SERVER_OK;
  err->message[0] = '\0';
  if (!cfg->data_dir || !*cfg->data_dir)
    return fail(err, MOTE_SERVER_INVALID, "a data directory is required");
  mote_server *s = calloc(1, sizeof *s);
  if (!s) return fail(err, MOTE_SERVER_IO, "out of memory");
  json_object_seed(0); /* before any thread makes objects */
  mote_server_status st = MOTE_SERVER_OK;
  char msg[512];

  if (cfg->cluster && (!cfg->node || !*cfg->node))
    return fail(err, MOTE_SERVER_INVALID, "a node of a cluster needs a name (--node NAME)");
  char tag[9] = "";
  if (cfg->cluster) mote_cluster_id_tag(cfg->node, tag);
  mote_core_config cc = {.data_dir = cfg->data_dir, .workers = cfg->workers,
                         .max_alive = cfg->max_alive, .cpu_quantum_ms = cfg->cpu_quantum_ms,
                         .queue = cfg->queue, .queue_timeout_ms = cfg->queue_timeout_ms,
                         .ns_invocations_per_minute = cfg->ns_invocations_per_minute,
                         .ns_concurrent = cfg->ns_concurrent, .images = cfg->images,
                         .no_kept_snapshots = cfg->no_kept_snapshots,
                         .cluster = cfg->cluster != NULL, .id_tag = cfg->cluster ? tag : NULL,
                         .background_start = true, .init_memory_mib = cfg->init_memory_mib};
  mote_core_error cerr;
  if (mote_core_open(&cc, &s->core, &cerr) != MOTE_CORE_OK) {
    st = fail(err, cerr.status == MOTE_CORE_INVALID ? MOTE_SERVER_INVALID : MOTE_SERVER_IO, "%s",
              cerr.message);
    goto fail;
  }
  if (cfg->dev && core_dev_key(s->core, MOTE_DEV_NAMESPACE, MOTE_DEV_UUID, MOTE_DEV_KEY,
                               &s->dev_key_created, &cerr) != MOTE_CORE_OK) {
    st = fail(err, cerr.status == MOTE_CORE_INVALID ? MOTE_SERVER_INVALID : MOTE_SERVER_IO, "%s",
              cerr.message);
    goto fail;
  }
  http_config hc = {.host = cfg->host, .port = cfg->port, .access_log = cfg->access_log,
                    .max_connections = cfg->max_connections,
                    .max_connections_per_client = cfg->max_connections_per_client,
                    .head_timeout_ms = cfg->head_timeout_ms,
                    .response_budget_mib = cfg->response_budget_mib};
  if (!(s->http = http_new(s->core, &hc, msg, sizeof msg))) {
    st = fail(err, MOTE_SERVER_IO, "%s", msg);
    goto fail;
  }
  if (!http_add_mote_routes(s->http) || !ow_add_routes(s->http)) {
    st = fail(err, MOTE_SERVER_IO, "out of memory");
    goto fail;
  }
  if (cfg->cluster) {
    /* The cluster's routes go before listening; its threads after, once the
     * advertised address answers. */
    mote_cluster_config clc = {.endpoints = cfg->cluster, .node = cfg->node,
                               .no_peer_objects = cfg->no_peer_objects};
    if (cfg->dev) {
      clc.dev_ns = MOTE_DEV_NAMESPACE;
      clc.dev_uuid = MOTE_DEV_UUID;
      clc.dev_key = MOTE_DEV_KEY;
    }
    if (!(s->cluster = mote_cluster_new(s->core, s->http, &clc, msg, sizeof msg))) {
      st = fail(err, MOTE_SERVER_INVALID, "%s", msg);
      goto fail;
    }
  }
  if (cfg->metrics_host) {
    http_config oc = {.host = cfg->metrics_host, .port = cfg->metrics_port};
    if (!(s->operator_http = http_new(s->core, &oc, msg, sizeof msg))) {
      st = fail(err, MOTE_SERVER_IO, "%s", msg);
      goto fail;
    }
    if (!http_add_operator_routes(s->operator_http, s->http)) {
      st = fail(err, MOTE_SERVER_IO, "out of memory");
      goto fail;
    }
  }
  /* The operator's address first: a server that cannot serve its metrics
   * never takes a call. */
  bool listen_error;
  if (s->operator_http && !http_start(s->operator_http, &listen_error, msg, sizeof msg)) {
    st = fail(err, listen_error ? MOTE_SERVER_LISTEN_METRICS : MOTE_SERVER_INVALID,
              "the operator's metrics address: %s", msg);
    goto fail;
  }
  if (!http_start(s->http, &listen_error, msg, sizeof msg)) {
    st = fail(err, listen_error ? MOTE_SERVER_LISTEN : MOTE_SERVER_INVALID, "%s", msg);
    goto fail;
  }
  if (s->cluster && !mote_cluster_start(s->cluster, cfg->advertise, cfg->host,
                                         http_port(s->http), msg, sizeof msg)) {
    st = fail(err, MOTE_SERVER_INVALID, "%s", msg);
    goto fail;
  }
  *out = s;
  return MOTE_SERVER_OK;

fail:
  mote_server_stop(s);
  return st;
}

uint16_t mote_server_port(const mote_server *s) { return http_port(s->http); }

uint16_t mote_server_metrics_port(const mote_server *s) {
  return s->operator_http ? http_port(s->operator_http) : 0;
}

unsigned mote_server_function_count(const mote_server *s) { return core_fn_count(s->core); }

bool mote_server_dev_key_created(const mote_server *s) { return s->dev_key_created; }

void mote_server_stop(mote_server *s) {
  if (!s) return;
  http_stop(s->http);        /* no request runs any more */
  mote_cluster_free(s->cluster); /* the lease revoked: peers know at once */
  http_stop(s->operator_http);
  mote_core_drain(s->core);  /* every accepted background call to its record */
  http_free(s->operator_http); /* before the public one, whose access log it reads */
  http_free(s->http);        /* the access log's last lines */
  mote_core_close(s->core);
  free(s);
}
