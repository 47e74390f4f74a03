/*
 * cluster: a node put together (see cluster.h): the config checked, the
 * core's hooks attached, the peer routes and the forwarder registered in
 * http's table, then three threads:
 *
 *   member   the node's lease (renewed every CLUSTER_RENEW_MS) and record,
 *            the cluster secret, --dev's namespace and key   (member.c)
 *   sync     a full read of the records, then a watch of every change,
 *            resumed where it broke off; keys and namespaces mirrored into
 *            the store, functions scheduled                  (sync.c)
 *   apply    each scheduled function made what this node serves (apply.c)
 *
 * Edge autonomy: none of them stands between a call and its run. Calls are
 * served from the core's registry whether etcd answers or not; what waits
 * for etcd is a change (a deploy, a delete, a key), which gets 503 while it
 * is unreachable (commit.c), and the convergence, which the watch does once
 * it is back (from the revision it had reached, or by a full read).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"

void mote_cluster_id_tag(const char *node, char out[9]) {
  uint8_t h[4];
  crypto_generichash(h, sizeof h, (const uint8_t *)node, strlen(node), NULL, 0);
  snprintf(out, 9, "%02x%02x%02x%02x", h[0], h[1], h[2], h[3]);
}

bool cl_valid_url(const char *url) {
  size_t n = strlen(url);
  return n > 7 && n < CL_URL_MAX && !strncmp(url, "http://", 7) && !strpbrk(url + 7, "/?# \"\\") &&
         strchr(url + 7, ':');
}

void cl_publish_state(mote_cluster *cl) {
  core_cluster_state st = {.member = true};
  snprintf(st.node, sizeof st.node, "%s", cl->node);
  st.reachable = cl->lease_ok && cl->watching;
  st.revision = apply_revision(cl);
  st.objects_fetched = atomic_load(&cl->objects_fetched);
  st.objects_built = atomic_load(&cl->objects_built);
  st.forwarded = atomic_load(&cl->forwarded);
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  st.nodes = (unsigned)n;
  unsigned index = 0, live = 0;
  for (size_t i = 0; i < n; i++) {
    if (!strcmp(nodes[i].name, cl->node)) st.draining = nodes[i].draining;
    if (nodes[i].draining) continue;
    if (strcmp(nodes[i].name, cl->node) < 0) index++;
    live++;
  }
  free(nodes);
  core_cluster_state_set(cl->core, &st);
  /* Namespace limits: this node's share of the nodes that serve. */
  if (live && (index != cl->quota_index || live != cl->quota_count)) {
    cl->quota_index = index;
    cl->quota_count = live;
    core_quota_share(cl->core, index, live);
  }
}

mote_core_status cl_unavailable(mote_cluster *cl, mote_core_error *err, const char *doing) {
  err->status = MOTE_CORE_UNAVAILABLE;
  snprintf(err->message, sizeof err->message,
           "the cluster cannot %s now: its etcd (%s) does not answer (%s). Calls are served on; "
           "deploys, deletes and key changes wait for etcd: try again once it is back",
           doing, etcd_endpoint(cl->etcd), etcd_error());
  return MOTE_CORE_UNAVAILABLE;
}

/* The core's sweep keeps the bytes every record names (this node may hold
 * them for others, or not have applied the record yet): its hashes and its
 * meta; none before the first full read (the records are not known: no
 * sweep). */
static bool sweep_keep(void *ctx, char ***texts, size_t *n) {
  mote_cluster *cl = ctx;
  pthread_mutex_lock(&cl->lock);
  bool known = cl->view_rev > 0;
  pthread_mutex_unlock(&cl->lock);
  return known && view_fn_names(cl->view, texts, n);
}

mote_cluster *mote_cluster_new(mote_core *core, http_server *http, const mote_cluster_config *cfg,
                               char *msg, size_t cap) {
  if (!cfg->node || !mote_store_valid_name(cfg->node) || strlen(cfg->node) > CLUSTER_NODE_MAX) {
    snprintf(msg, cap, "--node takes a name of 1 to %d of A-Z a-z 0-9 _ . - (not starting with "
             "'.' or '-'), unique in the cluster", CLUSTER_NODE_MAX);
    return NULL;
  }
  if (sodium_init() < 0) {
    snprintf(msg, cap, "libsodium cannot start");
    return NULL;
  }
  mote_cluster *cl = calloc(1, sizeof *cl);
  if (!cl) {
    snprintf(msg, cap, "out of memory");
    return NULL;
  }
  cl->core = core;
  cl->http = http;
  snprintf(cl->node, sizeof cl->node, "%s", cfg->node);
  mote_cluster_id_tag(cl->node, cl->tag);
  snprintf(cl->cache_dir, sizeof cl->cache_dir, "%s/cache", core_data_dir(core));
  if (cfg->dev_ns && cfg->dev_uuid && cfg->dev_key) {
    snprintf(cl->dev_ns, sizeof cl->dev_ns, "%s", cfg->dev_ns);
    snprintf(cl->dev_uuid, sizeof cl->dev_uuid, "%s", cfg->dev_uuid);
    snprintf(cl->dev_key, sizeof cl->dev_key, "%s", cfg->dev_key);
  }
  pthread_mutex_init(&cl->lock, NULL);
  pthread_cond_init(&cl->wake, NULL);
  pthread_cond_init(&cl->apply_wake, NULL);
  if (!(cl->etcd = etcd_new(cfg->endpoints, msg, cap))) goto fail;
  if (!(cl->view = view_new()) || !(cl->scheduled = mote_map_new())) {
    snprintf(msg, cap, "out of memory");
    goto fail;
  }
  if (!blobs_add_routes(cl)) {
    snprintf(msg, cap, "out of memory");
    goto fail;
  }
  forward_attach(cl);
  core_cluster_ops ops = {.ctx = cl, .commit_deploy = commit_deploy,
                          .deployed = commit_deployed,
                          .commit_delete = commit_delete,
                          .fetch_object = cfg->no_peer_objects ? NULL : objects_fetch,
                          .object_built = objects_built, .sweep_keep = sweep_keep};
  core_cluster_attach(core, &ops);
  pthread_mutex_lock(&cl->lock);
  cl_publish_state(cl);
  pthread_mutex_unlock(&cl->lock);
  return cl;
fail:
  mote_cluster_free(cl);
  return NULL;
}

bool mote_cluster_start(mote_cluster *cl, const char *advertise, const char *host, uint16_t port,
                        char *msg, size_t cap) {
  if (advertise) {
    snprintf(cl->url, sizeof cl->url, "%s", advertise);
  } else if (!host || !*host || !strcmp(host, "0.0.0.0") || strchr(host, ':')) {
    snprintf(msg, cap, "listening on %s, this node needs --advertise http://HOST:PORT: the URL "
             "its peers reach it at", host && *host ? host : "every address");
    return false;
  } else {
    snprintf(cl->url, sizeof cl->url, "http://%s:%u", host, port);
  }
  size_t len = strlen(cl->url);
  while (len > 7 && cl->url[len - 1] == '/') cl->url[--len] = '\0';
  if (!cl_valid_url(cl->url)) {
    snprintf(msg, cap, "--advertise takes the URL peers reach this node at, http://HOST:PORT, "
             "not %s", advertise);
    return false;
  }
  pthread_mutex_lock(&cl->lock);
  bool ok = pthread_create(&cl->member_thread, NULL, member_main, cl) == 0;
  if (ok && pthread_create(&cl->sync_thread, NULL, sync_main, cl) != 0) {
    ok = false;
    cl->stop = true;
    pthread_mutex_unlock(&cl->lock);
    pthread_join(cl->member_thread, NULL);
    pthread_mutex_lock(&cl->lock);
  } else if (ok) {
    unsigned n = 0;
    while (n < CL_APPLIERS && pthread_create(&cl->apply_threads[n], NULL, apply_main, cl) == 0)
      n++;
    if (n == 0) {
      ok = false;
      cl->stop = true;
      pthread_mutex_unlock(&cl->lock);
      pthread_join(cl->member_thread, NULL);
      pthread_join(cl->sync_thread, NULL);
      pthread_mutex_lock(&cl->lock);
    }
    cl->started_appliers = n; /* fewer than asked: they apply, more slowly */
  }
  cl->started = ok;
  pthread_mutex_unlock(&cl->lock);
  if (!ok) snprintf(msg, cap, "cannot start the cluster's threads");
  return ok;
}

void mote_cluster_free(mote_cluster *cl) {
  if (!cl) return;
  pthread_mutex_lock(&cl->lock);
  cl->stop = true;
  pthread_cond_broadcast(&cl->wake);
  pthread_cond_broadcast(&cl->apply_wake);
  bool started = cl->started;
  pthread_mutex_unlock(&cl->lock);
  if (cl->view) view_wake(cl->view);
  if (started) {
    pthread_join(cl->member_thread, NULL);
    pthread_join(cl->sync_thread, NULL);
    for (unsigned i = 0; i < cl->started_appliers; i++) pthread_join(cl->apply_threads[i], NULL);
  }
  /* Peers learn at once that this node is gone (else in CLUSTER_LEASE_TTL_S). */
  if (cl->lease) etcd_lease_revoke(cl->etcd, cl->lease);
  core_cluster_ops none = {0};
  if (cl->core) core_cluster_attach(cl->core, &none);
  for (cl_pending *p = cl->queue, *next; p; p = next) {
    next = p->next;
    free(p);
  }
  mote_map_free(cl->scheduled);
  view_free(cl->view);
  etcd_free(cl->etcd);
  pthread_cond_destroy(&cl->wake);
  pthread_cond_destroy(&cl->apply_wake);
  pthread_mutex_destroy(&cl->lock);
  free(cl);
}
