/*
 * metrics: the counters behind GET /metrics (http/metrics_text.c renders
 * them in Prometheus's text format).
 *
 * Per function, (namespace, name) (a block made the first time one is
 * recorded and kept until the server stops, so counters of a deleted
 * function stay monotone): calls by exact HTTP status, calls by outcome class, and
 * histograms of the wait/init/exec times of the calls that ran. Blocks live
 * in a map (base/map.h) under the mutex, which a lookup holds for the
 * lookup alone; every counter is updated with __atomic builtins outside it.
 * A call finds its block through its registry entry (made on its first
 * call), so the lookup is paid once per function, not per call. Figures
 * are copied under the mutex. Process-wide: calls in flight, deploys and
 * opt-tier builds by result. Calls refused by admission (429) are counted
 * by reason; the gauges of the queue are admission's (admit_stats).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/map.h"
#include "core/core_internal.h"

#define NSTATUS CORE_STATUSES_KEPT /* distinct statuses per function; more are dropped */

/* Histogram bounds in microseconds: 1, 2, 5 per decade, 1 us .. 10 s. */
static const uint64_t bounds_us[CORE_HISTO_BOUNDS] = {
    1,      2,      5,      10,      20,      50,      100,     200,
    500,    1000,   2000,   5000,    10000,   20000,   50000,   100000,
    200000, 500000, 1000000, 2000000, 5000000, 10000000,
};
#define NB (sizeof bounds_us / sizeof bounds_us[0])

typedef core_histogram histo;

struct core_fn_metrics {
  char key[CORE_FN_KEY_MAX]; /* "ns/name" */
  uint32_t status_code[NSTATUS]; /* 0: free slot (claimed under the mutex) */
  uint64_t status_count[NSTATUS];
  uint64_t class_count[CORE_CLASS_COUNT];
  histo wait, init, exec;
  uint64_t refused[CORE_REFUSALS]; /* by CORE_REFUSED_* - CORE_REFUSED_CONCURRENCY */
};
typedef struct core_fn_metrics fn_metrics;

struct core_metrics {
  pthread_mutex_t lock;
  mote_map *fns; /* "ns/name" -> fn_metrics, made on first sight, kept to the end */
  uint64_t in_flight;
  uint64_t deploys_ok, deploys_refused;
  uint64_t cancelled_waiting, cancelled_running;
  uint64_t opt_builds_ok, opt_builds_failed;
  uint64_t swept_blobs, swept_file_sets, swept_bytes;
};

core_metrics *metrics_new(void) {
  core_metrics *m = mote_calloc(1, sizeof *m);
  if (!m) return NULL;
  if (!(m->fns = mote_map_new())) {
    mote_free(m);
    return NULL;
  }
  pthread_mutex_init(&m->lock, NULL);
  return m;
}

void metrics_free(core_metrics *m) {
  if (!m) return;
  mote_map_iter it = {0};
  void *v;
  while (mote_map_next(m->fns, &it, NULL, &v)) mote_free(v);
  mote_map_free(m->fns);
  pthread_mutex_destroy(&m->lock);
  mote_free(m);
}

/* The block of (ns, name), made if new; NULL when out of memory. Blocks are
 * never freed before the end, so the pointer stays valid after the lock. */
core_fn_metrics *metrics_fn(core_metrics *m, const char *ns, const char *name) {
  char key[CORE_FN_KEY_MAX];
  if (!core_fn_key(ns, name, key)) return NULL;
  pthread_mutex_lock(&m->lock);
  fn_metrics *f = mote_map_get(m->fns, key);
  if (!f && (f = mote_calloc(1, sizeof *f))) {
    memcpy(f->key, key, sizeof key);
    if (mote_map_put(m->fns, f->key, f, NULL) != 0) {
      mote_free(f);
      f = NULL;
    }
  }
  pthread_mutex_unlock(&m->lock);
  return f;
}

static void observe(histo *h, uint64_t us) {
  size_t i = 0;
  while (i < NB && us > bounds_us[i]) i++;
  __atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&h->sum_us, us, __ATOMIC_RELAXED);
}

static void count_status(core_metrics *m, fn_metrics *f, unsigned status) {
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < NSTATUS; i++) {
      uint32_t code = __atomic_load_n(&f->status_code[i], __ATOMIC_ACQUIRE);
      if (code == status) {
        __atomic_fetch_add(&f->status_count[i], 1, __ATOMIC_RELAXED);
        return;
      }
      if (code == 0) break; /* slots fill in order: not there */
    }
    if (pass) break;
    pthread_mutex_lock(&m->lock); /* claim a slot, unless another thread just did */
    for (size_t i = 0; i < NSTATUS; i++) {
      uint32_t code = f->status_code[i];
      if (code == status) break;
      if (code == 0) {
        __atomic_store_n(&f->status_code[i], status, __ATOMIC_RELEASE);
        break;
      }
    }
    pthread_mutex_unlock(&m->lock);
  }
  /* every slot taken by other statuses: dropped (16 distinct codes per function) */
}

void metrics_call(core_metrics *m, core_fn_metrics *f, unsigned status, core_class cls,
                  const core_call_times *t) {
  if (!m || !f) return;
  count_status(m, f, status);
  if ((unsigned)cls < CORE_CLASS_COUNT) __atomic_fetch_add(&f->class_count[cls], 1, __ATOMIC_RELAXED);
  if (t) {
    observe(&f->wait, t->wait_us);
    observe(&f->init, t->init_us);
    observe(&f->exec, t->exec_us);
  }
}

void metrics_refused(core_metrics *m, core_fn_metrics *f, core_admit_status st) {
  if (!m || !f || st < CORE_REFUSED_CONCURRENCY || st > CORE_REFUSED_TIMEOUT) return;
  __atomic_fetch_add(&f->refused[st - CORE_REFUSED_CONCURRENCY], 1, __ATOMIC_RELAXED);
}

void metrics_in_flight(core_metrics *m, int delta) {
  if (m) __atomic_fetch_add(&m->in_flight, (uint64_t)(int64_t)delta, __ATOMIC_RELAXED);
}

void metrics_deploy(core_metrics *m, bool ok) {
  if (m) __atomic_fetch_add(ok ? &m->deploys_ok : &m->deploys_refused, 1, __ATOMIC_RELAXED);
}

void metrics_cancelled(core_metrics *m, bool running) {
  if (m)
    __atomic_fetch_add(running ? &m->cancelled_running : &m->cancelled_waiting, 1,
                       __ATOMIC_RELAXED);
}

void metrics_opt_build(core_metrics *m, bool ok) {
  if (m)
    __atomic_fetch_add(ok ? &m->opt_builds_ok : &m->opt_builds_failed, 1, __ATOMIC_RELAXED);
}

void metrics_swept(core_metrics *m, uint64_t blobs, uint64_t file_sets, uint64_t bytes) {
  if (!m) return;
  __atomic_fetch_add(&m->swept_blobs, blobs, __ATOMIC_RELAXED);
  __atomic_fetch_add(&m->swept_file_sets, file_sets, __ATOMIC_RELAXED);
  __atomic_fetch_add(&m->swept_bytes, bytes, __ATOMIC_RELAXED);
}


/* ---- figures ------------------------------------------------------------------ */

uint64_t core_histogram_bound_us(unsigned i) { return i < NB ? bounds_us[i] : UINT64_MAX; }

static void copy_histo(core_histogram *to, const histo *h) {
  for (size_t i = 0; i <= NB; i++) to->buckets[i] = __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
  to->sum_us = __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
}

static int by_name(const void *x, const void *y) {
  const core_fn_figures *a = x, *b = y;
  int d = strcmp(a->ns, b->ns);
  return d ? d : strcmp(a->name, b->name);
}

bool metrics_figures(core_metrics *m, core_figures *out) {
  pthread_mutex_lock(&m->lock);
  size_t count = mote_map_count(m->fns);
  core_fn_figures *fs = count ? mote_calloc(count, sizeof *fs) : NULL;
  size_t n = 0;
  mote_map_iter it = {0};
  void *v;
  while (fs && n < count && mote_map_next(m->fns, &it, NULL, &v)) {
    const fn_metrics *f = v;
    core_fn_figures *o = &fs[n++];
    core_fn_key_split(f->key, o->ns, o->name);
    for (size_t i = 0; i < NSTATUS; i++) {
      o->status_code[i] = __atomic_load_n(&f->status_code[i], __ATOMIC_ACQUIRE);
      o->status_count[i] = __atomic_load_n(&f->status_count[i], __ATOMIC_RELAXED);
    }
    for (size_t c = 0; c < CORE_CLASS_COUNT; c++)
      o->class_count[c] = __atomic_load_n(&f->class_count[c], __ATOMIC_RELAXED);
    copy_histo(&o->wait, &f->wait);
    copy_histo(&o->init, &f->init);
    copy_histo(&o->exec, &f->exec);
    for (size_t r = 0; r < CORE_REFUSALS; r++)
      o->refused[r] = __atomic_load_n(&f->refused[r], __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&m->lock);
  if (n > 1) qsort(fs, n, sizeof *fs, by_name);
  out->fns = fs;
  out->nfns = n;
  out->in_flight = __atomic_load_n(&m->in_flight, __ATOMIC_RELAXED);
  out->deploys_ok = __atomic_load_n(&m->deploys_ok, __ATOMIC_RELAXED);
  out->cancelled_waiting = __atomic_load_n(&m->cancelled_waiting, __ATOMIC_RELAXED);
  out->cancelled_running = __atomic_load_n(&m->cancelled_running, __ATOMIC_RELAXED);
  out->deploys_refused = __atomic_load_n(&m->deploys_refused, __ATOMIC_RELAXED);
  out->opt_builds_ok = __atomic_load_n(&m->opt_builds_ok, __ATOMIC_RELAXED);
  out->opt_builds_failed = __atomic_load_n(&m->opt_builds_failed, __ATOMIC_RELAXED);
  out->swept_blobs = __atomic_load_n(&m->swept_blobs, __ATOMIC_RELAXED);
  out->swept_file_sets = __atomic_load_n(&m->swept_file_sets, __ATOMIC_RELAXED);
  out->swept_bytes = __atomic_load_n(&m->swept_bytes, __ATOMIC_RELAXED);
  return count == 0 || fs != NULL;
}
