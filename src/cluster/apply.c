/*
 * apply: the applier thread. Functions are scheduled by name ("NS/NAME",
 * once however often they change before their turn: the applier reads the
 * view's latest record when it gets to one) and made what this node should
 * serve, one at a time:
 *
 *   no record              deleted in the cluster: forgotten here (if the
 *                          name is that namespace's here)
 *   placed on this node    its bytes pulled from a peer when missing (the
 *                          holders first; verified by their hashes), then
 *                          core_apply: compiled or a peer's object, loaded,
 *                          initialised, current; unless this version serves
 *   placed elsewhere       the record kept, the name not served here
 *
 * One that fails (no live peer has its bytes yet, a load that fails) is
 * tried again after CL_RETRY_MS. The revision up to which every function is
 * applied (apply_revision) is what /healthz says: tests and benchmarks wait
 * for it instead of sleeping.
 *
 * CL_APPLIERS threads apply, each a different name at a time (a name
 * scheduled again while it is being applied waits for that to end): one
 * slow function (a mote_init that takes its time, an opt compile because
 * tcc cannot build it, a pull from a slow peer) does not hold every other
 * function back, as the one applier did until stop 30.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "cluster/cluster_internal.h"

static uint64_t now_ms(void) { return mote_now_us() / 1000; }

void apply_schedule(mote_cluster *cl, const char *fnkey, int64_t rev) {
  cl_pending *p = mote_map_get(cl->scheduled, fnkey);
  if (p) { /* once is enough; and now, if it was waiting for a retry */
    p->due_ms = 0;
    if (rev < p->rev) p->rev = rev;
    pthread_cond_broadcast(&cl->apply_wake);
    return;
  }
  if (strlen(fnkey) >= sizeof p->fnkey || !(p = calloc(1, sizeof *p))) {
    fprintf(stderr, "mote serve: cluster: cannot schedule %s (out of memory)\n", fnkey);
    return;
  }
  snprintf(p->fnkey, sizeof p->fnkey, "%s", fnkey);
  p->rev = rev;
  if (mote_map_put(cl->scheduled, p->fnkey, p, NULL) != 0) {
    free(p);
    return;
  }
  if (cl->queue_tail) cl->queue_tail->next = p;
  else cl->queue = p;
  cl->queue_tail = p;
  pthread_cond_broadcast(&cl->apply_wake);
}

void apply_schedule_all(mote_cluster *cl, int64_t rev) {
  char **keys = NULL;
  size_t n = view_fn_keys(cl->view, &keys);
  /* and the functions the store has that the records may not (deleted) */
  mote_function_version *local = NULL;
  size_t nl = 0;
  mote_store_error se;
  if (mote_store_list(core_store(cl->core), NULL, &local, &nl, &se) != MOTE_STORE_OK) nl = 0;
  pthread_mutex_lock(&cl->lock);
  for (size_t i = 0; i < n; i++) apply_schedule(cl, keys[i], rev);
  for (size_t i = 0; i < nl; i++) {
    char key[CL_KEY_MAX];
    snprintf(key, sizeof key, "%s/%s", local[i].ns, local[i].name);
    apply_schedule(cl, key, rev);
  }
  cl_publish_state(cl);
  pthread_mutex_unlock(&cl->lock);
  for (size_t i = 0; i < n; i++) free(keys[i]);
  free(keys);
  for (size_t i = 0; i < nl; i++) mote_function_version_clear(&local[i]);
  free(local);
}

int64_t apply_revision(mote_cluster *cl) {
  int64_t r = cl->view_rev;
  for (cl_pending *p = cl->queue; p; p = p->next)
    if (p->rev - 1 < r) r = p->rev - 1;
  for (unsigned i = 0; i < CL_APPLIERS; i++)
    if (cl->busy[i] && cl->busy[i]->rev - 1 < r) r = cl->busy[i]->rev - 1;
  return r < 0 ? 0 : r;
}

/* Whether another applier is applying fnkey now. cl->lock held. */
static bool being_applied(const mote_cluster *cl, const char *fnkey) {
  for (unsigned i = 0; i < CL_APPLIERS; i++)
    if (cl->busy[i] && !strcmp(cl->busy[i]->fnkey, fnkey)) return true;
  return false;
}

/* The version's bytes are here (held against the store's sweeps until its
 * record is kept: a sweep removes what nothing named for a while). */
static bool have_bytes(mote_cluster *cl, const mote_function_version *v) {
  return mote_store_hold(core_store(cl->core), v->module_hash, v->files_hash);
}

bool apply_placed_here(mote_cluster *cl, const char *fnkey, uint32_t replicas) {
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  size_t *order = malloc((n ? n : 1) * sizeof *order);
  bool here = false;
  if (order) {
    size_t placed = placement(nodes, n, fnkey, replicas, order);
    for (size_t i = 0; i < placed && !here; i++) here = !strcmp(nodes[order[i]].name, cl->node);
  }
  /* Before this node's own record is in the view (joining, or etcd away)
   * it serves what it has: every function of the default placement. */
  bool known = false;
  for (size_t i = 0; i < n && !known; i++) known = !strcmp(nodes[i].name, cl->node);
  if (!known) here = replicas == 0;
  free(order);
  free(nodes);
  return here;
}

/* Makes fnkey what this node should serve: false to try again later. */
static bool reconcile(mote_cluster *cl, const char *fnkey) {
  char ns[MOTE_STORE_NS_MAX + 1];
  const char *slash = strchr(fnkey, '/');
  if (!slash || (size_t)(slash - fnkey) > MOTE_STORE_NS_MAX) return true;
  snprintf(ns, sizeof ns, "%.*s", (int)(slash - fnkey), fnkey);
  const char *name = slash + 1;
  uint64_t served = core_served_version(cl->core, ns, name);
  cl_fn f;
  if (!view_fn(cl->view, fnkey, &f)) { /* deleted (or never known) */
    mote_function_version local;
    mote_store_error se;
    bool stored = mote_store_get(core_store(cl->core), ns, name, &local, &se) == MOTE_STORE_OK;
    if (stored) mote_function_version_clear(&local);
    if (stored || served) core_forget(cl->core, ns, name);
    return true;
  }
  bool ok = true;
  mote_core_error err;
  if (apply_placed_here(cl, fnkey, f.rec.settings.replicas)) {
    if (served != f.rec.version) {
      char msg[600];
      uint8_t *wasm = NULL;
      size_t len = 0;
      mote_store_error se;
      if (!have_bytes(cl, &f.rec) && !blobs_pull(cl, &f, msg, sizeof msg)) {
        fprintf(stderr, "mote serve: cluster: %s v%llu: %s; trying again\n", fnkey,
                (unsigned long long)f.rec.version, msg);
        ok = false;
      } else if (mote_store_blob_read(core_store(cl->core), f.rec.module_hash, &wasm, &len,
                                      &se) != MOTE_STORE_OK) {
        fprintf(stderr, "mote serve: cluster: %s v%llu: %s; trying again\n", fnkey,
                (unsigned long long)f.rec.version, se.message);
        ok = false;
      } else if (core_apply(cl->core, &f.rec, wasm, len, &err) != MOTE_CORE_OK) {
        fprintf(stderr, "mote serve: cluster: %s v%llu cannot be served here: %s; trying "
                "again\n", fnkey, (unsigned long long)f.rec.version, err.message);
        ok = false;
      }
      free(wasm);
    }
  } else {
    mote_function_version local;
    mote_store_error se;
    bool same = false;
    if (mote_store_get(core_store(cl->core), ns, name, &local, &se) == MOTE_STORE_OK) {
      same = local.version == f.rec.version;
      mote_function_version_clear(&local);
    }
    if ((served || !same) && core_keep_record(cl->core, &f.rec, &err) != MOTE_CORE_OK) {
      fprintf(stderr, "mote serve: cluster: %s: %s\n", fnkey, err.message);
      ok = false;
    }
  }
  cl_fn_clear(&f);
  return ok;
}

void *apply_main(void *arg) {
  mote_cluster *cl = arg;
  pthread_mutex_lock(&cl->lock);
  unsigned slot = cl->appliers++;
  while (!cl->stop) {
    uint64_t now = now_ms(), next_due = 0;
    cl_pending *p = cl->queue, *prev = NULL;
    /* the first due whose name no other applier has (that one, when it
     * ends, wakes the others) */
    for (; p && (p->due_ms > now || being_applied(cl, p->fnkey)); prev = p, p = p->next)
      if (p->due_ms > now && (!next_due || p->due_ms < next_due)) next_due = p->due_ms;
    if (!p) {
      uint64_t wait = next_due ? next_due - now : 1000;
      struct timespec until =
          mote_time_in(CLOCK_REALTIME, wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait);
      pthread_cond_timedwait(&cl->apply_wake, &cl->lock, &until);
      continue;
    }
    if (prev) prev->next = p->next;
    else cl->queue = p->next;
    if (cl->queue_tail == p) cl->queue_tail = prev;
    p->next = NULL;
    mote_map_remove(cl->scheduled, p->fnkey);
    cl->busy[slot] = p;
    pthread_mutex_unlock(&cl->lock);
    bool ok = reconcile(cl, p->fnkey);
    pthread_mutex_lock(&cl->lock);
    cl->busy[slot] = NULL;
    /* an applier may wait for this name (the appliers' own condition: on
     * cl->wake every apply woke the lease thread, which renewed at once) */
    pthread_cond_broadcast(&cl->apply_wake);
    cl_pending *again = ok ? NULL : mote_map_get(cl->scheduled, p->fnkey);
    if (again && again->rev > p->rev) again->rev = p->rev; /* not applied: the older stays owed */
    if (!ok && !cl->stop && !again && mote_map_put(cl->scheduled, p->fnkey, p, NULL) == 0) {
      p->due_ms = now_ms() + CL_RETRY_MS; /* its rev stays: not applied yet */
      if (cl->queue_tail) cl->queue_tail->next = p;
      else cl->queue = p;
      cl->queue_tail = p;
    } else {
      free(p);
    }
    cl_publish_state(cl);
  }
  pthread_mutex_unlock(&cl->lock);
  return NULL;
}
