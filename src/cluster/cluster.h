/*
 * cluster: N nodes of `mote serve` as one platform, standing on etcd (its
 * records, the source of truth; no consensus of our own) and HAProxy in
 * front. The room's one public header: the node (`mote serve --cluster`)
 * and the administration the CLI does on the cluster's records.
 *
 *   etcd.c        the v3 HTTP/JSON gateway over libcurl (etcd.h)
 *   records.c     the records in etcd, as JSON: functions, nodes, keys,
 *                 namespaces, compiled objects
 *   view.c        this node's copy of every record, kept by the watch
 *   placement.c   which live nodes serve a function (rendezvous hashing)
 *   member.c      the node's lease and record: membership
 *   sync.c        the watch: full reads, events, the view, what changed
 *   apply.c       a function's record made what this node serves (core_apply)
 *   commit.c      deploys and deletes committed in etcd (the core's hooks)
 *   peer.c        bytes pulled from and pushed to peers (libcurl)
 *   blobs.c       the routes that serve them to peers (cluster secret)
 *   objects.c     compiled objects: fetched from peers, published, built once
 *   forward.c     calls of functions served elsewhere, activations of other
 *                 nodes, usage and activation lists from all nodes
 *   admin.c       keys, namespaces, limits, drain, status (mote CLI)
 *   haproxy.c     haproxy.cfg for the live nodes, kept current through
 *                 HAProxy's runtime API
 *
 * Layout of the records (every key under /mote/):
 *   secret                   the cluster secret (made by the first node)
 *   nodes/NAME               a live node: URL, id tag (under its lease)
 *   drain/NAME               a drained node
 *   fn/NS/NAME               a function's current version
 *   seq/NS/NAME              the last version number given
 *   ns/NS                    a namespace and its limits
 *   keys/UUID                an API key: namespace, salt, hash (never the secret)
 *   obj/KEY                  a compiled object: its hash, the node that built it
 *   build/KEY                a build under way (under the builder's lease)
 *   commit/NODE.NONCE        a deploy's or a delete's transaction was
 *                            applied (under the node's lease; deleted once
 *                            it knows)
 *
 * Threads: a node runs its lease, its watch and its applier on threads of
 * its own; the functions below may be called from any thread.
 */
#ifndef MOTE_CLUSTER_H
#define MOTE_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "http/http.h"

#define CLUSTER_NODE_MAX 63     /* bytes of a node's name (mote_store_valid_name) */
#define CLUSTER_LEASE_TTL_S 2   /* a node's lease: gone 2 s after its last renewal */
#define CLUSTER_RENEW_MS 250    /* renewed 4 times a second */
#define CLUSTER_SECRET_HEADER "X-Mote-Cluster-Secret"
#define CLUSTER_NODE_HEADER "X-Mote-Node"              /* the node that served a forwarded call */
#define CLUSTER_FORWARDED_HEADER "X-Mote-Forwarded-By" /* a request a node passed on: not again */

/* ---- a node -------------------------------------------------------------------- */

typedef struct mote_cluster mote_cluster;

typedef struct mote_cluster_config {
  const char *endpoints; /* etcd: "http://H:P[,http://H2:P2...]" */
  const char *node;      /* this node's name, unique in the cluster */
  /* `mote serve --dev`: this namespace and key (uuid:key) made in the
   * cluster when missing; NULL: none. */
  const char *dev_ns, *dev_uuid, *dev_key;
  /* Compile every object here, fetch none from peers (the objects built
   * here are still published for them). */
  bool no_peer_objects;
} mote_cluster_config;

/* The id tag of a node's activation ids (8 hex digits), for the core's
 * config: a hash of its name. */
void mote_cluster_id_tag(const char *node, char out[9]);

/* Checks the config, attaches to the core (its deploys and deletes commit
 * through the cluster from now on) and registers the cluster's routes and
 * forwarder in http's table. Nothing runs yet. NULL with msg. */
mote_cluster *mote_cluster_new(mote_core *core, http_server *http, const mote_cluster_config *cfg,
                               char *msg, size_t cap);
/* Joins, reachable at `advertise` ("http://H:P"; NULL: http://host:port of
 * the address the HTTP server listens on, which must be a specific one):
 * the threads start (lease, watch, applier). etcd need not answer now: the
 * node serves what its store holds and joins when etcd does. */
bool mote_cluster_start(mote_cluster *cl, const char *advertise, const char *host, uint16_t port,
                        char *msg, size_t cap);
/* Leaves (the lease revoked, so peers know at once) and stops the threads.
 * Before the core closes; after the HTTP server stopped. */
void mote_cluster_free(mote_cluster *cl);

/* ---- administration (the CLI): the cluster's records, through etcd ---------------- */

typedef enum mote_cluster_status {
  MOTE_CLUSTER_OK = 0,
  MOTE_CLUSTER_UNAVAILABLE, /* etcd did not answer */
  MOTE_CLUSTER_INVALID,     /* a bad name, uuid, or value */
  MOTE_CLUSTER_NOT_FOUND,
  MOTE_CLUSTER_FAILED,      /* etcd refused, or a record is damaged */
} mote_cluster_status;

typedef struct mote_cluster_error {
  mote_cluster_status status;
  char message[512];
} mote_cluster_error;

typedef struct mote_cluster_admin mote_cluster_admin;
mote_cluster_admin *mote_cluster_admin_new(const char *endpoints, mote_cluster_error *err);
void mote_cluster_admin_free(mote_cluster_admin *a);

/* Keys (uuid NULL: a random one; key NULL: a random secret); the secret is
 * returned once, never stored. A key's namespace is made when missing. */
mote_cluster_status mote_cluster_key_create(mote_cluster_admin *a, const char *ns,
                                            char uuid_out[MOTE_STORE_UUID_LEN + 1],
                                            char key_out[MOTE_STORE_KEY_LEN + 1],
                                            mote_cluster_error *err);
/* ns NULL: every key. *out from malloc. */
mote_cluster_status mote_cluster_key_list(mote_cluster_admin *a, const char *ns,
                                          mote_key_info **out, size_t *n,
                                          mote_cluster_error *err);
mote_cluster_status mote_cluster_key_delete(mote_cluster_admin *a, const char *uuid,
                                            mote_cluster_error *err);

typedef struct mote_cluster_ns {
  mote_namespace ns;
  mote_namespace_limits limits;
  unsigned keys;
} mote_cluster_ns;
mote_cluster_status mote_cluster_namespace_list(mote_cluster_admin *a, mote_cluster_ns **out,
                                                size_t *n, mote_cluster_error *err);
/* A namespace's limits (0: the servers' default): get, or set (NOT_FOUND
 * when the namespace does not exist). Every node applies a change at once. */
mote_cluster_status mote_cluster_limits_get(mote_cluster_admin *a, const char *ns,
                                            mote_namespace_limits *out, mote_cluster_error *err);
mote_cluster_status mote_cluster_limits_set(mote_cluster_admin *a, const char *ns,
                                            const mote_namespace_limits *lim,
                                            mote_cluster_error *err);

/* drain true: the node serves nothing new; its functions go to others. */
mote_cluster_status mote_cluster_drain(mote_cluster_admin *a, const char *node, bool drain,
                                       mote_cluster_error *err);

/* The cluster as its records say: nodes (live, drained) and functions with
 * the nodes placed to serve them. *json from malloc (a JSON object). */
mote_cluster_status mote_cluster_status_json(mote_cluster_admin *a, char **json,
                                             mote_cluster_error *err);

/* haproxy.cfg for the live nodes (*text from malloc): listen on `bind`
 * (HOST:PORT), health checks on /healthz, balance uri (consistent hashing on
 * /faas/NAME), the runtime API on `socket` (a path). */
mote_cluster_status mote_cluster_haproxy_config(mote_cluster_admin *a, const char *bind,
                                                const char *socket, char **text,
                                                mote_cluster_error *err);
/* Keeps a running HAProxy's servers the live nodes, through its runtime API
 * on `socket`, until *stop: each change of the nodes in etcd is sent at
 * once (lines on `log`, may be NULL). */
mote_cluster_status mote_cluster_haproxy_follow(mote_cluster_admin *a, const char *socket,
                                                const volatile bool *stop, FILE *log,
                                                mote_cluster_error *err);

#endif /* MOTE_CLUSTER_H */
