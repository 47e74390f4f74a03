/*
 * quota: per-namespace invocation limits, OpenWhisk's two throttles.
 *
 *   invocations per minute  a sliding window of 60 one-second buckets: the
 *                           calls admitted in the last 60 s (refused calls
 *                           do not count, so a client that backs off gets
 *                           back in as the window slides)
 *   concurrent              calls of the namespace running or waiting for
 *                           a worker, from quota_enter to quota_leave
 *
 * A namespace's limits come from the store (mote namespaces limits) and
 * fall back to the server's defaults; they are re-read at most every
 * CORE_QUOTA_REFRESH_MS, so a change made by another process applies within
 * that time without a restart.
 *
 * One mutex guards the table: a call holds it for a hash lookup and a few
 * additions (about 100 ns), which at 30,000 calls/s is far from contended.
 * The store read of a refresh is done outside it; meanwhile the limits read
 * before stay in force. A namespace's first read is waited for by every call
 * of it: without it, the calls that arrive together with the first (a burst)
 * would all pass under the server's defaults.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/map.h"
#include "core/core_internal.h"

#define QUOTA_WINDOW_S 60

typedef struct quota_ns {
  char name[MOTE_STORE_NS_MAX + 1];
  uint32_t per_minute, concurrent; /* in force; 0: no limit */
  int64_t read_ms;                 /* when they were read from the store; 0: never */
  bool reading;                    /* a thread is reading them */
  uint32_t running;
  int64_t bucket_s[QUOTA_WINDOW_S]; /* the second each bucket counts, or 0 */
  uint32_t bucket_n[QUOTA_WINDOW_S];
} quota_ns;

struct core_quota {
  pthread_mutex_t lock;
  pthread_cond_t read_done; /* a namespace's limits were read */
  mote_store *store;
  uint32_t default_per_minute, default_concurrent;
  unsigned share_index, share_count; /* this process's part of each limit */
  mote_map *ns; /* name -> quota_ns */
};

core_quota *quota_new(mote_store *store, uint32_t default_per_minute,
                     uint32_t default_concurrent) {
  core_quota *q = mote_calloc(1, sizeof *q);
  if (!q) return NULL;
  if (!(q->ns = mote_map_new())) {
    mote_free(q);
    return NULL;
  }
  pthread_mutex_init(&q->lock, NULL);
  pthread_cond_init(&q->read_done, NULL);
  q->store = store;
  q->default_per_minute = default_per_minute;
  q->default_concurrent = default_concurrent;
  return q;
}

void quota_free(core_quota *q) {
  if (!q) return;
  mote_map_iter it = {0};
  void *n;
  while (mote_map_next(q->ns, &it, NULL, &n)) mote_free(n);
  mote_map_free(q->ns);
  pthread_cond_destroy(&q->read_done);
  pthread_mutex_destroy(&q->lock);
  mote_free(q);
}

/* The entry of `ns`, made on first sight; NULL when out of memory. Under lock. */
static quota_ns *find(core_quota *q, const char *ns) {
  quota_ns *n = mote_map_get(q->ns, ns);
  if (n) return n;
  if (!(n = mote_calloc(1, sizeof *n))) return NULL;
  snprintf(n->name, sizeof n->name, "%s", ns);
  n->per_minute = q->default_per_minute;
  n->concurrent = q->default_concurrent;
  if (mote_map_put(q->ns, n->name, n, NULL) != 0) {
    mote_free(n);
    return NULL;
  }
  return n;
}

/* Re-reads the limits of n when they are stale; called with the lock held,
 * drops it around the store read. */
static void refresh(core_quota *q, quota_ns *n, int64_t now_ms) {
  if (n->reading && !n->read_ms) { /* the first read is in progress: wait for it */
    while (n->reading) pthread_cond_wait(&q->read_done, &q->lock);
    return;
  }
  if (n->reading || (n->read_ms && now_ms - n->read_ms < CORE_QUOTA_REFRESH_MS)) return;
  if (!q->store) {
    n->read_ms = now_ms;
    return;
  }
  n->reading = true;
  char name[sizeof n->name];
  memcpy(name, n->name, sizeof name);
  pthread_mutex_unlock(&q->lock);
  mote_namespace_limits lim;
  mote_store_error err;
  mote_store_status st = mote_store_namespace_limits_get(q->store, name, &lim, &err);
  pthread_mutex_lock(&q->lock);
  n->reading = false;
  n->read_ms = now_ms ? now_ms : 1;
  if (st == MOTE_STORE_OK) { /* else keep what was in force; retried after the refresh time */
    n->per_minute = lim.invocations_per_minute ? lim.invocations_per_minute
                                               : q->default_per_minute;
    n->concurrent = lim.concurrent ? lim.concurrent : q->default_concurrent;
  }
  pthread_cond_broadcast(&q->read_done);
}

void quota_share(core_quota *q, unsigned index, unsigned count) {
  pthread_mutex_lock(&q->lock);
  q->share_index = index;
  q->share_count = count;
  pthread_mutex_unlock(&q->lock);
}

void quota_stale(core_quota *q, const char *ns) {
  pthread_mutex_lock(&q->lock);
  quota_ns *n = mote_map_get(q->ns, ns);
  if (n && !n->reading) n->read_ms = 0;
  pthread_mutex_unlock(&q->lock);
}

/* This process's part of a limit (0: none stays none): the parts of all
 * add up to the limit. A part of 0 refuses every call. */
static uint32_t part(const core_quota *q, uint32_t limit) {
  if (!limit || q->share_count <= 1) return limit;
  return limit / q->share_count + (q->share_index < limit % q->share_count ? 1 : 0);
}

void quota_enter(core_quota *q, const char *ns, int64_t now_ms, core_quota_verdict *v) {
  memset(v, 0, sizeof *v);
  pthread_mutex_lock(&q->lock);
  quota_ns *n = find(q, ns);
  if (!n) {
    pthread_mutex_unlock(&q->lock);
    v->status = CORE_QUOTA_NO_MEMORY;
    return;
  }
  refresh(q, n, now_ms);
  int64_t now_s = now_ms / 1000;
  uint32_t concurrent = part(q, n->concurrent), per_minute = part(q, n->per_minute);
  if (n->concurrent && n->running >= concurrent) {
    v->status = CORE_QUOTA_CONCURRENT;
    v->count = n->running;
    v->allowed = concurrent;
    v->retry_after_s = 1;
    pthread_mutex_unlock(&q->lock);
    return;
  }
  unsigned slot = (unsigned)(now_s % QUOTA_WINDOW_S);
  if (n->per_minute) {
    uint64_t sum = 0;
    int64_t oldest = now_s;
    for (unsigned i = 0; i < QUOTA_WINDOW_S; i++)
      if (n->bucket_s[i] > now_s - QUOTA_WINDOW_S && n->bucket_s[i] <= now_s && n->bucket_n[i]) {
        sum += n->bucket_n[i];
        if (n->bucket_s[i] < oldest) oldest = n->bucket_s[i];
      }
    if (sum >= per_minute) {
      v->status = CORE_QUOTA_RATE;
      v->count = (unsigned)sum;
      v->allowed = per_minute;
      /* When the oldest second counted leaves the window. */
      int64_t wait = oldest + QUOTA_WINDOW_S - now_s;
      v->retry_after_s = wait < 1 ? 1 : (unsigned)wait;
      pthread_mutex_unlock(&q->lock);
      return;
    }
  }
  if (n->bucket_s[slot] != now_s) {
    n->bucket_s[slot] = now_s;
    n->bucket_n[slot] = 0;
  }
  n->bucket_n[slot]++;
  n->running++;
  pthread_mutex_unlock(&q->lock);
  v->status = CORE_QUOTA_OK;
}

void quota_leave(core_quota *q, const char *ns) {
  pthread_mutex_lock(&q->lock);
  quota_ns *n = mote_map_get(q->ns, ns);
  if (n && n->running) n->running--;
  pthread_mutex_unlock(&q->lock);
}

void quota_message(const core_quota_verdict *v, char *msg, size_t cap) {
  /* OpenWhisk's wording (Messages.tooManyRequests / tooManyConcurrentRequests). */
  if (v->status == CORE_QUOTA_RATE)
    snprintf(msg, cap, "Too many requests in the last minute (count: %u, allowed: %u).",
             v->count, v->allowed);
  else if (v->status == CORE_QUOTA_CONCURRENT)
    snprintf(msg, cap, "Too many concurrent requests in flight (count: %u, allowed: %u).",
             v->count, v->allowed);
  else
    snprintf(msg, cap, "out of memory");
}
