/*
 * accounting: accounting per namespace and function (invocations, errors,
 * refusals, execution time, memory-time).
 *
 * Calls add to deltas in memory; a thread writes them to the store's usage
 * totals every ACCT_FLUSH_MS (one transaction for all, instead of a write
 * per call beside the activation record), and readers (GET /v1/usage,
 * /metrics) flush first, so they see every call answered before them. A
 * crash of the process loses at most the last interval's deltas; a failed
 * write keeps them for the next try.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "base/map.h"
#include "core/core_internal.h"

#define ACCT_FLUSH_MS 1000

typedef struct acct_entry {
  mote_usage delta; /* ns and function set once; counters since the last flush */
} acct_entry;

struct core_accounting {
  mote_store *store;
  pthread_mutex_t lock;      /* guards the table and the deltas */
  pthread_mutex_t flush_lock; /* one flush at a time, so deltas reach the store in order */
  mote_map *entries;          /* "ns/function" -> acct_entry (names hold no '/') */
  pthread_t thread;
  bool started, stop;
  pthread_cond_t wake;
};

/* The key of (ns, function): names never hold a '/'. */
static void key_of(const char *ns, const char *fn, char out[2 * (MOTE_STORE_NS_MAX + 1)]) {
  size_t n = strnlen(ns, MOTE_STORE_NS_MAX), f = strnlen(fn, MOTE_STORE_NS_MAX);
  memcpy(out, ns, n);
  out[n] = '/';
  memcpy(out + n + 1, fn, f);
  out[n + 1 + f] = '\0';
}

static bool delta_empty(const mote_usage *u) {
  return !u->invocations && !u->errors && !u->refused && !u->exec_us && !u->memory_mib_us;
}

/* Zeroes the counters of u, keeping its namespace and function. */
static void delta_clear(mote_usage *u) {
  u->invocations = u->errors = u->refused = u->exec_us = u->memory_mib_us = 0;
  u->first_ms = u->last_ms = 0;
}

void core_usage_add(mote_usage *to, const mote_usage *d) {
  to->invocations += d->invocations;
  to->errors += d->errors;
  to->refused += d->refused;
  to->exec_us += d->exec_us;
  to->memory_mib_us += d->memory_mib_us;
  if (!to->first_ms || (d->first_ms && d->first_ms < to->first_ms)) to->first_ms = d->first_ms;
  if (d->last_ms > to->last_ms) to->last_ms = d->last_ms;
}

/* Adds d to its entry (made on first sight); false when out of memory. Under lock. */
static bool add_locked(core_accounting *a, const mote_usage *d) {
  char key[2 * (MOTE_STORE_NS_MAX + 1)];
  key_of(d->ns, d->function, key);
  acct_entry *e = mote_map_get(a->entries, key);
  if (!e) {
    if (!(e = mote_calloc(1, sizeof *e))) return false;
    memcpy(e->delta.ns, d->ns, sizeof e->delta.ns);
    memcpy(e->delta.function, d->function, sizeof e->delta.function);
    if (mote_map_put(a->entries, key, e, NULL) != 0) {
      mote_free(e);
      return false;
    }
  }
  core_usage_add(&e->delta, d);
  return true;
}

bool accounting_flush(core_accounting *a) {
  pthread_mutex_lock(&a->flush_lock);
  pthread_mutex_lock(&a->lock);
  size_t count = mote_map_count(a->entries);
  mote_usage *batch = count ? mote_malloc(count * sizeof *batch) : NULL;
  size_t n = 0;
  mote_map_iter it = {0};
  void *v;
  while (batch && mote_map_next(a->entries, &it, NULL, &v)) {
    acct_entry *e = v;
    if (delta_empty(&e->delta)) continue;
    batch[n++] = e->delta;
    delta_clear(&e->delta);
  }
  bool had = count > 0;
  pthread_mutex_unlock(&a->lock);
  bool ok = !had || batch;
  if (n) {
    mote_store_error err;
    if (mote_store_usage_add(a->store, batch, n, &err) != MOTE_STORE_OK) {
      fprintf(stderr, "mote serve: accounting not written (kept for the next try): %s\n",
              err.message);
      pthread_mutex_lock(&a->lock);
      for (size_t i = 0; i < n; i++) add_locked(a, &batch[i]); /* entries exist: no allocation */
      pthread_mutex_unlock(&a->lock);
      ok = false;
    }
  }
  mote_free(batch);
  pthread_mutex_unlock(&a->flush_lock);
  return ok;
}

static void *flush_thread(void *arg) {
  core_accounting *a = arg;
  pthread_mutex_lock(&a->lock);
  while (!a->stop) {
    struct timespec until = mote_time_in(CLOCK_REALTIME, ACCT_FLUSH_MS);
    pthread_cond_timedwait(&a->wake, &a->lock, &until);
    if (a->stop) break;
    pthread_mutex_unlock(&a->lock);
    accounting_flush(a);
    pthread_mutex_lock(&a->lock);
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

core_accounting *accounting_new(mote_store *store) {
  core_accounting *a = mote_calloc(1, sizeof *a);
  if (!a) return NULL;
  if (!(a->entries = mote_map_new())) {
    mote_free(a);
    return NULL;
  }
  a->store = store;
  pthread_mutex_init(&a->lock, NULL);
  pthread_mutex_init(&a->flush_lock, NULL);
  pthread_cond_init(&a->wake, NULL);
  if (pthread_create(&a->thread, NULL, flush_thread, a) == 0) a->started = true;
  /* Without the thread, readers still flush: accounting stays exact. */
  return a;
}

void accounting_free(core_accounting *a) {
  if (!a) return;
  if (a->started) {
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
  }
  accounting_flush(a);
  mote_map_iter it = {0};
  void *e;
  while (mote_map_next(a->entries, &it, NULL, &e)) mote_free(e);
  mote_map_free(a->entries);
  pthread_cond_destroy(&a->wake);
  pthread_mutex_destroy(&a->flush_lock);
  pthread_mutex_destroy(&a->lock);
  mote_free(a);
}

void accounting_call(core_accounting *a, const char *ns, const char *function,
                     core_acct_kind kind, uint64_t exec_us, uint32_t memory_mib, int64_t now_ms) {
  mote_usage d;
  memset(&d, 0, sizeof d);
  snprintf(d.ns, sizeof d.ns, "%s", ns);
  snprintf(d.function, sizeof d.function, "%s", function);
  if (kind == CORE_ACCT_REFUSED) {
    d.refused = 1;
  } else {
    d.invocations = 1;
    d.errors = kind == CORE_ACCT_FAILED;
    d.exec_us = exec_us;
    d.memory_mib_us = (uint64_t)memory_mib * exec_us;
  }
  d.first_ms = d.last_ms = now_ms;
  pthread_mutex_lock(&a->lock);
  bool ok = add_locked(a, &d);
  pthread_mutex_unlock(&a->lock);
  if (!ok) fprintf(stderr, "mote serve: out of memory: a call of %s not accounted\n", function);
}
