/*
 * sync: the watch. A full read of every record under /mote/ (at start, and
 * when etcd has compacted the revisions the watch would resume from), then
 * a watch from the next revision, resumed from the last one delivered
 * whenever it breaks off (etcd stopped, a member killed: the next endpoint).
 * Each change goes to the view, and then:
 *
 *   a function's record     scheduled for the applier (apply.c)
 *   the nodes or a drain    every function scheduled (placement may move)
 *   a key                   mirrored into the store (put by its hash, or
 *                           deleted and dropped from the key cache)
 *   a namespace             mirrored: created, its limits set (and read
 *                           again by the core at once), or deleted
 *
 * A full read also removes what the store holds and the records no longer
 * do: keys, and (through the applier) functions deleted while this node was
 * away. Joining a cluster makes a data directory a replica of the cluster's
 * records: keys and functions of its own, unknown to the cluster, go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cluster/cluster_internal.h"

static void mirror_key(mote_cluster *cl, const char *uuid, const etcd_kv *kv) {
  mote_store_error se;
  mote_store *s = core_store(cl->core);
  if (!kv) {
    if (mote_store_key_delete(s, uuid, &se) >= MOTE_STORE_IO)
      fprintf(stderr, "mote serve: cluster: key %s: %s\n", uuid, se.message);
    core_identity_forget(cl->core, uuid);
    return;
  }
  mote_key_record rec;
  if (!rec_key_parse(uuid, kv->value, kv->len, &rec)) {
    fprintf(stderr, "mote serve: cluster: the record of key %s is not valid; ignored\n", uuid);
    return;
  }
  if (mote_store_key_put(s, &rec, &se) != MOTE_STORE_OK)
    fprintf(stderr, "mote serve: cluster: key %s: %s\n", uuid, se.message);
  core_identity_forget(cl->core, uuid); /* a replaced secret is checked afresh */
}

static void mirror_ns(mote_cluster *cl, const char *ns, const etcd_kv *kv) {
  mote_store_error se;
  mote_store *s = core_store(cl->core);
  if (!kv) {
    if (mote_store_namespace_delete(s, ns, &se) >= MOTE_STORE_IO)
      fprintf(stderr, "mote serve: cluster: namespace %s: %s\n", ns, se.message);
    core_identity_forget(cl->core, NULL); /* its keys went with it */
    core_limits_changed(cl->core, ns);
    return;
  }
  int64_t created;
  mote_namespace_limits lim;
  if (!rec_ns_parse(kv->value, kv->len, &created, &lim)) {
    fprintf(stderr, "mote serve: cluster: the record of namespace %s is not valid; ignored\n", ns);
    return;
  }
  if (mote_store_namespace_create(s, ns, NULL, &se) != MOTE_STORE_OK ||
      mote_store_namespace_limits_set(s, ns, &lim, &se) != MOTE_STORE_OK)
    fprintf(stderr, "mote serve: cluster: namespace %s: %s\n", ns, se.message);
  core_limits_changed(cl->core, ns);
}

/* One record changed (kv NULL: key deleted). */
static void on_change(mote_cluster *cl, const char *key, const etcd_kv *kv, int64_t rev,
                      bool scheduling) {
  char subject[CL_KEY_MAX];
  cl_change what = kv ? view_put(cl->view, kv, subject, sizeof subject)
                      : view_delete(cl->view, key, subject, sizeof subject);
  switch (what) {
    case CL_CHANGE_FN:
      if (scheduling) {
        pthread_mutex_lock(&cl->lock);
        apply_schedule(cl, subject, rev);
        pthread_mutex_unlock(&cl->lock);
      }
      break;
    case CL_CHANGE_NODES:
      if (scheduling) apply_schedule_all(cl, rev);
      break;
    case CL_CHANGE_KEY: mirror_key(cl, subject, kv); break;
    case CL_CHANGE_NS: mirror_ns(cl, subject, kv); break;
    default: break;
  }
}

/* A key holding a NUL is none of mote's (its C string would name another). */
static bool foreign(const etcd_kv *kv) {
  if (strlen(kv->key) == kv->key_len) return false;
  fprintf(stderr, "mote serve: cluster: a key with a NUL byte under %s (%s...); ignored\n",
          CL_PREFIX, kv->key);
  return true;
}

static bool on_events(void *ctx, const etcd_event *ev, size_t n, int64_t rev) {
  mote_cluster *cl = ctx;
  for (size_t i = 0; i < n; i++)
    if (!foreign(&ev[i].kv))
      on_change(cl, ev[i].kv.key, ev[i].deleted ? NULL : &ev[i].kv, rev, true);
  pthread_mutex_lock(&cl->lock);
  cl->watching = true; /* n 0: established */
  if (n) cl->view_rev = rev;
  cl_publish_state(cl);
  bool go_on = !cl->stop;
  pthread_mutex_unlock(&cl->lock);
  return go_on;
}

/* Local keys the records do not have go. */
static void drop_stale_keys(mote_cluster *cl, const etcd_kv *kvs, size_t n) {
  mote_key_info *keys = NULL;
  size_t nk = 0;
  mote_store_error se;
  if (mote_store_key_list(core_store(cl->core), NULL, &keys, &nk, &se) != MOTE_STORE_OK) return;
  for (size_t i = 0; i < nk; i++) {
    char key[CL_KEY_MAX];
    snprintf(key, sizeof key, CL_PREFIX "keys/%s", keys[i].uuid);
    bool present = false;
    for (size_t j = 0; j < n && !present; j++) present = !strcmp(kvs[j].key, key);
    if (!present) mirror_key(cl, keys[i].uuid, NULL);
  }
  free(keys);
}

/* Every record read again: the view brought up to it (each record put,
 * then what the read did not have dropped: never empty meanwhile, so calls
 * and the applier go on seeing every function), keys and namespaces
 * mirrored, every function scheduled. */
static bool full_read(mote_cluster *cl, int64_t *rev) {
  etcd_kv *kvs = NULL;
  size_t n = 0;
  if (etcd_range_prefix(cl->etcd, CL_PREFIX, &kvs, &n, rev) != ETCD_OK) return false;
  for (size_t i = 0; i < n; i++)
    if (!foreign(&kvs[i])) on_change(cl, kvs[i].key, &kvs[i], *rev, false);
  if (!view_keep_only(cl->view, kvs, n)) {
    etcd_kvs_free(kvs, n);
    return false; /* out of memory: read again */
  }
  drop_stale_keys(cl, kvs, n);
  etcd_kvs_free(kvs, n);
  pthread_mutex_lock(&cl->lock);
  cl->view_rev = *rev;
  pthread_mutex_unlock(&cl->lock);
  apply_schedule_all(cl, *rev);
  return true;
}

static void pause_ms(mote_cluster *cl, unsigned ms) {
  struct timespec until = mote_time_in(CLOCK_REALTIME, ms);
  pthread_mutex_lock(&cl->lock);
  if (!cl->stop) pthread_cond_timedwait(&cl->wake, &cl->lock, &until);
  pthread_mutex_unlock(&cl->lock);
}

void *sync_main(void *arg) {
  mote_cluster *cl = arg;
  int64_t rev = 0;
  bool full = true;
  while (!cl->stop) {
    if (full) {
      if (!full_read(cl, &rev)) {
        pause_ms(cl, 200);
        continue;
      }
      full = false;
    }
    int64_t last = rev;
    etcd_status st = etcd_watch(cl->etcd, CL_PREFIX, rev + 1, on_events, cl, &cl->stop, &last);
    if (last > rev) rev = last;
    pthread_mutex_lock(&cl->lock);
    cl->watching = false;
    cl_publish_state(cl);
    pthread_mutex_unlock(&cl->lock);
    if (st == ETCD_COMPACTED) full = true;
    else if (st != ETCD_STOPPED) pause_ms(cl, 200);
  }
  return NULL;
}
