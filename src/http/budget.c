/*
 * budget: the response bytes held at once, for every connection together,
 * and each client address's share of them.
 *
 * A response is held from the moment it is queued (http_queue) to its
 * request's end (daemon.c's completed callback): MHD keeps its body until
 * the client has taken the last byte. A client that reads slowly, or not at
 * all, holds its response that long (at most MHD's idle timeout,
 * HTTP_IDLE_TIMEOUT_S, without any progress: then the connection is closed
 * and the rest of that reply is lost to a client that did not read for a
 * minute). Past the budget, a call waits for the bytes held to drop before
 * it runs (back-pressure, up to HTTP_BUDGET_WAIT_MS), then is refused with
 * 503 and Retry-After: a call that has run is never dropped, and a response
 * queued is delivered whole to a client that reads. Calls already running
 * may each add one response past the budget: their size is known only at
 * their end.
 *
 * One client address may hold at most a share of the budget
 * (1/HTTP_BUDGET_CLIENT_SHARE) in large responses (HTTP_BUDGET_LARGE bytes
 * or more): past it, its own calls wait and are refused, and the others' go
 * on; so a single client that does not read cannot spend the whole budget
 * and shut everyone else out.
 *
 * The call path pays two atomic additions per request; the lock (and the
 * map of clients) is taken for large responses and for waiters only. A
 * release wakes waiters only when someone waits: seq_cst on both counters,
 * so either the release sees the waiter or the waiter sees the bytes
 * released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/map.h"
#include "http/http_internal.h"

typedef struct budget_client {
  uint64_t held;                 /* in large responses */
} budget_client;

bool budget_init(http_budget *b, uint64_t limit) {
  atomic_init(&b->held, 0);
  atomic_init(&b->large, 0);
  atomic_init(&b->waiters, 0);
  atomic_init(&b->refused, 0);
  b->limit = limit;
  b->share = limit / HTTP_BUDGET_CLIENT_SHARE;
  if (!(b->clients = mote_map_new())) return false;
  pthread_mutex_init(&b->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&b->drop, &attr);
  pthread_condattr_destroy(&attr);
  return true;
}

void budget_destroy(http_budget *b) {
  if (!b->clients) return;
  mote_map_iter it = {0};
  void *v;
  while (mote_map_next(b->clients, &it, NULL, &v)) free(v);
  mote_map_free(b->clients);
  b->clients = NULL;
  pthread_cond_destroy(&b->drop);
  pthread_mutex_destroy(&b->lock);
}

bool budget_take(http_budget *b, uint64_t n, const char *client) {
  atomic_fetch_add(&b->held, n);
  if (n < HTTP_BUDGET_LARGE || !client || !*client) return false;
  pthread_mutex_lock(&b->lock);
  budget_client *c = mote_map_get(b->clients, client);
  if (!c && (c = calloc(1, sizeof *c)) && mote_map_put(b->clients, client, c, NULL) != 0) {
    free(c);
    c = NULL;
  }
  if (c) {
    c->held += n;
    atomic_fetch_add(&b->large, n);
  }
  pthread_mutex_unlock(&b->lock);
  return c != NULL; /* out of memory: counted in the whole only */
}

void budget_give(http_budget *b, uint64_t n, const char *client) {
  uint64_t now = atomic_fetch_sub(&b->held, n) - n;
  if (client) {
    pthread_mutex_lock(&b->lock);
    budget_client *c = mote_map_get(b->clients, client);
    if (c) {
      c->held -= n;
      if (!c->held) free(mote_map_remove(b->clients, client));
    }
    atomic_fetch_sub(&b->large, n);
    if (atomic_load(&b->waiters)) pthread_cond_broadcast(&b->drop);
    pthread_mutex_unlock(&b->lock);
  } else if (now <= b->limit && atomic_load(&b->waiters)) {
    pthread_mutex_lock(&b->lock);
    pthread_cond_broadcast(&b->drop);
    pthread_mutex_unlock(&b->lock);
  }
}

/* Under the lock: what stops a call of client now. */
static budget_verdict verdict(http_budget *b, const char *client) {
  if (atomic_load(&b->held) > b->limit) return BUDGET_FULL;
  if (client && atomic_load(&b->large) > b->share) {
    const budget_client *c = mote_map_get(b->clients, client);
    if (c && c->held > b->share) return BUDGET_CLIENT_FULL;
  }
  return BUDGET_OK;
}

bool budget_open(http_budget *b) {
  /* No client can be past its share while all large ones together are not. */
  return atomic_load(&b->held) <= b->limit && atomic_load(&b->large) <= b->share;
}

budget_verdict budget_wait(http_budget *b, const char *client, unsigned ms) {
  if (budget_open(b)) return BUDGET_OK;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&b->lock);
  atomic_fetch_add(&b->waiters, 1);
  int rc = 0;
  budget_verdict v;
  while ((v = verdict(b, client)) != BUDGET_OK && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&b->drop, &b->lock, &until);
  atomic_fetch_sub(&b->waiters, 1);
  pthread_mutex_unlock(&b->lock);
  if (v != BUDGET_OK) atomic_fetch_add(&b->refused, 1);
  return v;
}

void budget_figures(http_budget *b, http_budget_figures *out) {
  out->held = atomic_load(&b->held);
  out->limit = b->limit;
  out->share = b->share;
  out->refused = atomic_load(&b->refused);
  pthread_mutex_lock(&b->lock);
  out->clients = (unsigned)mote_map_count(b->clients);
  pthread_mutex_unlock(&b->lock);
}
