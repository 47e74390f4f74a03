/*
 * commit: a deploy or a delete made true for the cluster, in etcd. The
 * core's hooks (core_cluster_ops), called by core_deploy and core_delete.
 *
 * A deploy is acknowledged (201) only when
 *   - its bytes are on two live nodes: this one (the core stored them) and
 *     a peer they were pushed to, the first that takes them in the
 *     function's placement order (on one node when the cluster has one);
 *   - its record is committed: one transaction that checks the last version
 *     number of (namespace, name) (seq/NS/NAME) is what was read, and puts
 *     the next number and the record fn/NS/NAME. A concurrent deploy makes
 *     it fail; it is read and tried again (CL_COMMIT_TRIES), so versions are
 *     numbered once each, cluster-wide. Names are per namespace: two
 *     namespaces' functions of one name are two records.
 * So a kill -9 of this node right after its 201 loses nothing: the record
 * is in etcd and the bytes on a peer, from which the others pull them.
 *
 * A delete removes the record, checking in the same transaction that it is
 * the one read (seq/NS/NAME stays: a later deploy of the name goes on from
 * its number). Every node's watch then forgets the function; calls in
 * flight finish on their version.
 *
 * Both mark each try (ours_applied): a transaction whose reply was lost may
 * have been applied, and is then not applied again, so one deploy is one
 * version and one delete never takes a deploy that came after it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/clock.h"
#include "cluster/cluster_internal.h"

/* Pushes the bytes to one live peer, in the function's placement order:
 * holders[1] gets its name. False (with err) when the cluster has other
 * live nodes and none took them. */
static bool replicate(mote_cluster *cl, const core_commit *w, char holders[2][CLUSTER_NODE_MAX + 1],
                      size_t *nholders, mote_core_error *err) {
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  size_t *order = malloc((n ? n : 1) * sizeof *order);
  char fnkey[CL_KEY_MAX], msg[512] = "";
  snprintf(fnkey, sizeof fnkey, "%s/%s", w->ns, w->name);
  bool ok = false;
  size_t peers = 0;
  if (order) {
    placement(nodes, n, fnkey, w->settings->replicas, order);
    for (size_t i = 0; i < n && !ok; i++) {
      const cl_node *to = &nodes[order[i]];
      if (!strcmp(to->name, cl->node)) continue;
      peers++;
      if (blobs_push(cl, to, w->module_hash, w->files_hash, msg, sizeof msg)) {
        snprintf(holders[1], CLUSTER_NODE_MAX + 1, "%s", to->name);
        *nholders = 2;
        ok = true;
      } else {
        fprintf(stderr, "mote serve: cluster: %s: %s\n", fnkey, msg);
      }
    }
  }
  free(order);
  free(nodes);
  if (ok || peers == 0) return true; /* a cluster of one: stored on its one node */
  err->status = MOTE_CORE_UNAVAILABLE;
  snprintf(err->message, sizeof err->message,
           "the module could not be stored on a second node (%zu other live node(s); the last "
           "said: %s): not deployed, try again", peers, msg);
  return false;
}

/* Whether a transaction that says its comparison failed was ours, applied
 * all the same: etcd.c sends a request again to the next endpoint when the
 * reply to the first never came (a leader lost meanwhile), and the first may
 * have been applied. Each try puts a marker of its own (commit/NODE.NONCE,
 * under the node's lease) in the same transaction: there, it was applied,
 * whatever deploys came after it. */
static etcd_status ours_applied(mote_cluster *cl, const char *marker, bool *applied) {
  etcd_kv kv;
  *applied = false;
  /* a read that fails is not an answer: taken for "not applied", a delete
   * went round again and a deploy made a second version */
  etcd_status st = etcd_get(cl->etcd, marker, &kv, applied, NULL);
  if (st == ETCD_OK && *applied) etcd_kv_clear(&kv);
  return st;
}

/* Whether the node holds its lease (*lease: it), which a try's marker is
 * put under: without it (etcd away, or the lease lost) a deploy or a delete
 * answers 503, since a marker left behind without a lease would stay for
 * ever. */
static bool lease_now(mote_cluster *cl, int64_t *lease) {
  pthread_mutex_lock(&cl->lock);
  bool held = cl->lease_ok;
  *lease = held ? cl->lease : 0;
  pthread_mutex_unlock(&cl->lock);
  return held;
}

/* A try's marker: its key (commit/NODE.NONCE) in `key` and the op that puts
 * it, under the node's lease. */
static etcd_op marker_put(mote_cluster *cl, char key[CL_KEY_MAX], const char *value) {
  unsigned char nonce[8];
  randombytes_buf(nonce, sizeof nonce);
  snprintf(key, CL_KEY_MAX, CL_PREFIX "commit/%s.%02x%02x%02x%02x%02x%02x%02x%02x", cl->node,
           nonce[0], nonce[1], nonce[2], nonce[3], nonce[4], nonce[5], nonce[6], nonce[7]);
  int64_t lease;
  lease_now(cl, &lease);
  return (etcd_op){.kind = ETCD_OP_PUT, .key = key, .value = value, .len = strlen(value),
                   .lease = lease};
}

/* A transaction of one comparison with a try's marker put last in `then`
 * (its room left by the caller): whether it was applied, by this try or by
 * an earlier send of it. The marker is deleted once seen (else its lease
 * ends it). */
static etcd_status txn_marked(mote_cluster *cl, const etcd_cmp *cmp, etcd_op *then, size_t nthen,
                              const char *value, bool *done) {
  char marker[CL_KEY_MAX];
  then[nthen] = marker_put(cl, marker, value);
  *done = false;
  etcd_status st = etcd_txn(cl->etcd, cmp, 1, then, nthen + 1, NULL, 0, done, NULL);
  if (st == ETCD_OK && !*done) st = ours_applied(cl, marker, done);
  if (st == ETCD_OK && *done) etcd_delete(cl->etcd, marker, false, NULL);
  return st; /* not OK: the outcome is unknown (the caller's 503: try again) */
}

mote_core_status commit_deploy(void *ctx, const core_commit *w, uint64_t *version,
                               bool *serve_here, mote_core_error *err) {
  mote_cluster *cl = ctx;
  int64_t lease;
  if (!lease_now(cl, &lease)) return cl_unavailable(cl, err, "deploy");
  char holders[2][CLUSTER_NODE_MAX + 1];
  size_t nholders = 1;
  snprintf(holders[0], sizeof holders[0], "%s", cl->node);
  if (!replicate(cl, w, holders, &nholders, err)) return err->status;
  const char *hp[2] = {holders[0], holders[1]};
  char seq_key[CL_KEY_MAX], fn_key[CL_KEY_MAX];
  snprintf(seq_key, sizeof seq_key, CL_PREFIX "seq/%s/%s", w->ns, w->name);
  snprintf(fn_key, sizeof fn_key, CL_PREFIX "fn/%s/%s", w->ns, w->name);
  for (int tries = 0; tries < CL_COMMIT_TRIES; tries++) {
    etcd_kv seq = {0};
    bool has_seq = false;
    if (etcd_get(cl->etcd, seq_key, &seq, &has_seq, NULL) != ETCD_OK)
      return cl_unavailable(cl, err, "deploy");
    uint64_t next = (has_seq ? strtoull((const char *)seq.value, NULL, 10) : 0) + 1;
    int64_t seq_mod = has_seq ? seq.mod_rev : 0;
    etcd_kv_clear(&seq);
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)next);
    char *record = rec_fn_json(w, next, mote_wall_ms(), hp, nholders);
    if (!record) {
      err->status = MOTE_CORE_NO_MEMORY;
      snprintf(err->message, sizeof err->message, "out of memory");
      return MOTE_CORE_NO_MEMORY;
    }
    if (strlen(record) > CL_RECORD_MAX) {
      free(record);
      err->status = MOTE_CORE_TOO_LARGE;
      snprintf(err->message, sizeof err->message,
               "the function's record (its settings and meta) is larger than the cluster's "
               "records may be (%u bytes)", CL_RECORD_MAX);
      return MOTE_CORE_TOO_LARGE;
    }
    etcd_cmp cmp = {.key = seq_key, .target = has_seq ? ETCD_MOD : ETCD_CREATE,
                    .op = ETCD_EQUAL, .number = seq_mod};
    etcd_op then[3] = {
        {.kind = ETCD_OP_PUT, .key = seq_key, .value = num, .len = strlen(num)},
        {.kind = ETCD_OP_PUT, .key = fn_key, .value = record, .len = strlen(record)}};
    bool done = false;
    etcd_status st = txn_marked(cl, &cmp, then, 2, num, &done);
    free(record);
    if (st != ETCD_OK) return cl_unavailable(cl, err, "deploy");
    if (done) {
      char fnkey[CL_KEY_MAX];
      snprintf(fnkey, sizeof fnkey, "%s/%s", w->ns, w->name);
      *version = next;
      *serve_here = apply_placed_here(cl, fnkey, w->settings->replicas);
      return MOTE_CORE_OK;
    }
  }
  err->status = MOTE_CORE_UNAVAILABLE;
  snprintf(err->message, sizeof err->message,
           "function \"%s\" is being deployed from elsewhere at the same time, %d times in a "
           "row: try again", w->name, CL_COMMIT_TRIES);
  return MOTE_CORE_UNAVAILABLE;
}

void commit_deployed(void *ctx, const char *ns, const char *name) {
  mote_cluster *cl = ctx;
  char fnkey[CL_KEY_MAX];
  snprintf(fnkey, sizeof fnkey, "%s/%s", ns, name);
  pthread_mutex_lock(&cl->lock);
  apply_schedule(cl, fnkey, cl->view_rev + 1);
  cl_publish_state(cl);
  pthread_mutex_unlock(&cl->lock);
}

mote_core_status commit_delete(void *ctx, const char *ns, const char *name,
                               mote_core_error *err) {
  mote_cluster *cl = ctx;
  int64_t lease;
  if (!lease_now(cl, &lease)) return cl_unavailable(cl, err, "delete");
  char fn_key[CL_KEY_MAX];
  snprintf(fn_key, sizeof fn_key, CL_PREFIX "fn/%s/%s", ns, name);
  bool tried = false;
  for (int tries = 0; tries < CL_COMMIT_TRIES; tries++) {
    etcd_kv fn = {0};
    bool has_fn = false;
    if (etcd_get(cl->etcd, fn_key, &fn, &has_fn, NULL) != ETCD_OK)
      return cl_unavailable(cl, err, "delete");
    /* gone after a try of ours that was not applied (its marker says so):
     * another delete at the same moment; the name is deleted either way */
    if (!has_fn && tried) return MOTE_CORE_OK;
    if (!has_fn) {
      err->status = MOTE_CORE_NOT_FOUND;
      snprintf(err->message, sizeof err->message, "no function named \"%s\"", name);
      return MOTE_CORE_NOT_FOUND;
    }
    int64_t mod = fn.mod_rev;
    etcd_kv_clear(&fn);
    etcd_cmp same = {.key = fn_key, .target = ETCD_MOD, .op = ETCD_EQUAL, .number = mod};
    /* marked as a deploy's try is: a try whose reply was lost, applied, and
     * followed by another node's deploy of the name must not delete that
     * one too when it is found applied */
    etcd_op then[2] = {{.kind = ETCD_OP_DELETE, .key = fn_key}};
    bool done = false;
    if (txn_marked(cl, &same, then, 1, "delete", &done) != ETCD_OK)
      return cl_unavailable(cl, err, "delete");
    tried = true;
    if (done) return MOTE_CORE_OK;
  }
  err->status = MOTE_CORE_UNAVAILABLE;
  snprintf(err->message, sizeof err->message,
           "function \"%s\" is being changed from elsewhere at the same time: try again", name);
  return MOTE_CORE_UNAVAILABLE;
}
