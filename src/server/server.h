/*
 * server: the HTTP front of mote (`mote serve`): the paper's Controller and
 * Invoker in one process.
 *
 *   GET  /healthz                         liveness
 *   PUT  /v1/functions/{name}?settings    deploy a module (Content-Type: application/wasm)
 *   GET  /v1/functions[/{name}]           list / describe
 *   DELETE /v1/functions/{name}
 *   GET|POST /faas/[{ns}/]{name}?arg=..   call: args -> argv[1..], body -> stdin,
 *                                         stdout -> the response body
 *   GET  /v1/activations[?function=&limit=&since=]  and  /v1/activations/{id}
 *   GET  /v1/usage[?function=]            accounting of the caller's namespace
 *   GET  /v1/metrics                      Prometheus text of the caller's namespace's
 *                                         functions
 *   GET  /metrics                         Prometheus text, on the operator's address
 *                                         only (metrics_host:metrics_port), never here
 *   /api/v1/...                           OpenWhisk's REST API (src/openwhisk): actions,
 *                                         invokes, activations, web actions
 *
 * Per-namespace limits (core/quota.c: invocations per minute, concurrent calls)
 * apply to every call of a namespace's functions, by any route.
 *
 * Threads: libmicrohttpd runs one thread per connection (plus its listening
 * thread); a call runs synchronously on its connection's thread, after it
 * has taken one of `workers` execution slots; calls that find none wait in a
 * bounded queue, shared fairly between functions, or get 429 with
 * Retry-After. See docs/architecture.md.
 *
 * State under data_dir: the store (store.h) and the compile cache
 * (data_dir/cache). Every stored function is loaded at start.
 *
 * Authentication: OpenWhisk's `Authorization: Basic uuid:key` (http/route.c, core/identity.c),
 * checked against the store's API keys, each of one namespace. Every /v1
 * route requires a key (401 with WWW-Authenticate without a valid one) and
 * works in the caller's namespace only: its functions, its activations.
 * Function names are per namespace, as OpenWhisk's: two namespaces may each
 * have a function `echo`. /faas/{ns}/{name} calls one of namespace ns,
 * /faas/{name} one of the key's namespace (of guest without a key); see
 * http/faas.c. A function deployed public=true is open to anyone; any other
 * answers 404 to whoever may not call it, exactly as a missing one.
 * /healthz is open and says only "ok".
 *
 * The operator's address (metrics_host, metrics_port; loopback by default,
 * as Prometheus exporters are deployed) serves GET /metrics, which names
 * every namespace's functions and figures, and a /healthz that counts
 * functions. Nothing of it is on the public address, whatever the key.
 */
#ifndef MOTE_SERVER_H
#define MOTE_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "rt/rt.h"

typedef struct mote_server mote_server;

typedef struct mote_server_config {
  const char *host;     /* an address to listen on: "127.0.0.1", "0.0.0.0", "::1" */
  uint16_t port;        /* 0: any free port (see mote_server_port) */
  const char *data_dir; /* created if missing */
  /* The operator's address (/metrics): another listening socket, on its
   * own port (0: any free one, see mote_server_metrics_port); metrics_host
   * NULL: no operator address at all. */
  const char *metrics_host;
  uint16_t metrics_port;
  unsigned workers;     /* function runs at once; 0: the number of CPUs */
  unsigned queue;       /* calls waiting for a worker at most; 0: 8 per worker */
  unsigned queue_timeout_ms; /* longest wait for a worker (then 429); 0: 5000 */
  const char *access_log; /* a file for one JSON line per request, "-": stderr; NULL: off */
  bool dev;             /* create namespace MOTE_DEV_NAMESPACE with the well-known key */
  /* Per-namespace limits where a namespace has none of its own (mote
   * namespaces limits); 0: no limit. Beyond them a call gets 429. */
  unsigned ns_invocations_per_minute;
  unsigned ns_concurrent;
  /* How a call's memory is made from its snapshot: MOTE_RT_IMAGE_AUTO (0,
   * by the image's size), or COPY, MAP, MAP_DROP (for benchmarks). */
  mote_rt_image_mode images;
  /* Neither load nor keep functions' snapshots in the store: every start
   * runs every initialisation (as before issue 15; for benchmarks). */
  bool no_kept_snapshots;
  /* Connections (http.h's http_config): at once, of one client address, and
   * the deadline of a request's head; 0: the defaults. */
  unsigned max_connections, max_connections_per_client, head_timeout_ms;
  unsigned response_budget_mib; /* http_config's; 0: the default */
  /* Calls alive at once (0: 16 per worker, at least 32), and how long a
   * call keeps its CPU slot while others wait (0: the core's default;
   * MOTE_SERVER_QUANTUM_OFF: to its end). */
  unsigned max_alive, cpu_quantum_ms;
  /* The node's memory for initialised functions (their snapshots), MiB; 0:
   * half the machine's memory. A deploy that may not fit is refused (507). */
  uint64_t init_memory_mib;
  /* A node of a cluster (src/cluster): etcd's endpoints ("http://H:P,..."),
   * or NULL for the single node mote is without one; this node's name, and
   * the URL peers reach it at (NULL: http://HOST:PORT of the listening
   * address, which must then be a specific one). */
  const char *cluster;
  const char *node;
  const char *advertise;
  /* A node of a cluster that compiles every object itself (no peer's). */
  bool no_peer_objects;
} mote_server_config;

#define MOTE_SERVER_QUANTUM_OFF 0xffffffffu

/* OpenWhisk's well-known development credential (its `guest` namespace),
 * which wsk and the npm client's examples use. Public knowledge: only for
 * a server on loopback (`mote serve --dev`). */
#define MOTE_DEV_NAMESPACE "guest"
#define MOTE_DEV_UUID "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
#define MOTE_DEV_KEY "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

typedef enum mote_server_status {
  MOTE_SERVER_OK = 0,
  MOTE_SERVER_INVALID, /* a bad config value */
  MOTE_SERVER_IO,      /* the data directory or the store cannot be used */
  MOTE_SERVER_LISTEN,  /* the address cannot be bound */
  MOTE_SERVER_LISTEN_METRICS, /* the operator's metrics address cannot be bound */
} mote_server_status;

typedef struct mote_server_error {
  mote_server_status status;
  char message[512];
} mote_server_error;

/* Opens the store, loads every stored function, and starts listening.
 * Messages about single functions that cannot be loaded go to stderr. */
mote_server_status mote_server_start(const mote_server_config *cfg, mote_server **out,
                                     mote_server_error *err);
/* The port it listens on. */
uint16_t mote_server_port(const mote_server *s);
/* The operator's port (/metrics), 0 when it has none. */
uint16_t mote_server_metrics_port(const mote_server *s);
/* With cfg->dev: true when this start created the development key (false:
 * it was there already). */
bool mote_server_dev_key_created(const mote_server *s);
/* How many functions it serves. */
unsigned mote_server_function_count(const mote_server *s);
/* Stops accepting, lets calls in flight finish (each is bounded by its
 * timeout), waits for the background compile in progress, frees all. */
void mote_server_stop(mote_server *s);

#endif /* MOTE_SERVER_H */
