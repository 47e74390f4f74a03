/*
 * objects: compile once per cluster. The compile cache's key of an object
 * hashes the module's bytes, the tier and the identity of the toolchain
 * (compiler versions, flags, the translator's generation, the ABI): two
 * nodes whose keys agree would build the same object, so one may take the
 * other's. The records:
 *
 *   obj/KEY     {"hash": BLAKE2b of the object, "bytes", "node": who built it},
 *               put once the object is in the builder's cache
 *   build/KEY   a build under way, under the builder's lease (gone with it)
 *
 * Before compiling, the core asks (objects_fetch): an object recorded for
 * its key is fetched from the builder, or any live peer that has it, and
 * its bytes must hash to the recorded hash before it enters the cache
 * (mote_compile_install), where the cache's own checksum then guards it as
 * any object. For the opt tier (gcc, seconds of CPU per node) the core
 * would rather wait: a build under way on a live peer is waited for (its
 * object taken when published); with none, this node takes the build
 * record and compiles, and publishes the object after (objects_built).
 *
 * Why a peer's object may be trusted (it is native code, loaded with
 * dlopen): only nodes holding the cluster secret can serve objects
 * (blobs.c) or write their records (etcd access is the cluster's trust
 * boundary, as for every record: keys, functions), and the bytes are
 * checked against the hash the builder recorded, so a damaged transfer or
 * a peer's damaged cache is refused. What it cannot protect against is a
 * node of the cluster that is itself compromised: such a node can already
 * serve any function it likes and write any record.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/hash.h"
#include "cluster/cluster_internal.h"

/* Fetches a recorded object from its builder or another live peer. */
static bool fetch(mote_cluster *cl, const char *key, const cl_obj *ob) {
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  char path[128];
  snprintf(path, sizeof path, "/cluster/v1/objects/%s", key);
  bool ok = false;
  for (int pass = 0; pass < 2 && !ok; pass++)
    for (size_t i = 0; i < n && !ok; i++) {
      bool builder = !strcmp(nodes[i].name, ob->node);
      if ((pass == 0) != builder || !strcmp(nodes[i].name, cl->node)) continue;
      uint8_t *bytes = NULL;
      size_t len = 0;
      char msg[300];
      if (peer_get(cl, nodes[i].url, path, &bytes, &len, msg, sizeof msg) != PEER_OK) continue;
      char have[MOTE_HASH_HEX];
      mote_hash_bytes(bytes, len, have);
      if (strcmp(have, ob->hash) != 0)
        fprintf(stderr, "mote serve: cluster: %s sent object %s with hash %s, not the recorded "
                "%s: refused\n", nodes[i].name, key, have, ob->hash);
      else if ((ok = mote_compile_install(cl->cache_dir, key, bytes, len)))
        atomic_fetch_add(&cl->objects_fetched, 1);
      free(bytes);
    }
  free(nodes);
  return ok;
}

static bool live(mote_cluster *cl, const char *node) {
  cl_node n;
  return view_node(cl->view, node, &n);
}

bool objects_fetch(void *ctx, mote_tier tier, const char *key, bool wait) {
  mote_cluster *cl = ctx;
  (void)tier;
  uint64_t until = mote_now_us() + (uint64_t)CL_BUILD_WAIT_S * 1000000u;
  char build_key[CL_KEY_MAX];
  snprintf(build_key, sizeof build_key, CL_PREFIX "build/%s", key);
  while (!cl->stop) {
    cl_obj ob;
    if (view_obj(cl->view, key, &ob) && fetch(cl, key, &ob)) return true;
    if (!wait || mote_now_us() > until) return false;
    char builder[CLUSTER_NODE_MAX + 1];
    if (view_building(cl->view, key, builder) && strcmp(builder, cl->node) != 0 &&
        live(cl, builder)) {
      view_wait_objects(cl->view, 500); /* its object, or the end of its build */
      continue;
    }
    pthread_mutex_lock(&cl->lock);
    int64_t lease = cl->lease_ok ? cl->lease : 0;
    pthread_mutex_unlock(&cl->lock);
    if (!lease) return false; /* etcd away: compile here */
    etcd_cmp absent = {.key = build_key, .target = ETCD_CREATE, .op = ETCD_EQUAL, .number = 0};
    etcd_op put = {.kind = ETCD_OP_PUT, .key = build_key, .value = cl->node,
                   .len = strlen(cl->node), .lease = lease};
    bool mine = false;
    if (etcd_txn(cl->etcd, &absent, 1, &put, 1, NULL, 0, &mine, NULL) != ETCD_OK) return false;
    if (mine) return false; /* ours to build; objects_built publishes it */
    view_wait_objects(cl->view, 200); /* another took it: its record is on the way */
  }
  return false;
}

void objects_built(void *ctx, mote_tier tier, const char *key, const char *so_path) {
  mote_cluster *cl = ctx;
  (void)tier;
  cl_obj ob = {0};
  int fd = so_path ? open(so_path, O_RDONLY | O_CLOEXEC) : -1;
  int rc = fd >= 0 ? mote_hash_fd(fd, ob.hash, &ob.bytes) : -1;
  if (fd >= 0) close(fd);
  char obj_key[CL_KEY_MAX], build_key[CL_KEY_MAX];
  snprintf(obj_key, sizeof obj_key, CL_PREFIX "obj/%s", key);
  snprintf(build_key, sizeof build_key, CL_PREFIX "build/%s", key);
  snprintf(ob.node, sizeof ob.node, "%s", cl->node);
  char *json = rc == 0 ? rec_obj_json(&ob) : NULL;
  if (json) {
    etcd_cmp absent = {.key = obj_key, .target = ETCD_CREATE, .op = ETCD_EQUAL, .number = 0};
    etcd_op put = {.kind = ETCD_OP_PUT, .key = obj_key, .value = json, .len = strlen(json)};
    bool done;
    if (etcd_txn(cl->etcd, &absent, 1, &put, 1, NULL, 0, &done, NULL) == ETCD_OK && done)
      atomic_fetch_add(&cl->objects_built, 1); /* etcd away: not shared */
    free(json);
  }
  etcd_cmp mine = {.key = build_key, .target = ETCD_VALUE, .op = ETCD_EQUAL, .value = cl->node,
                   .len = strlen(cl->node)};
  etcd_op del = {.kind = ETCD_OP_DELETE, .key = build_key};
  bool done;
  etcd_txn(cl->etcd, &mine, 1, &del, 1, NULL, 0, &done, NULL);
}
