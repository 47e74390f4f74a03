/*
 * budget: the response bytes held at once, for every connection together.
 *
 * A response is held from the moment it is queued (http_queue) to its
 * request's end (daemon.c's completed callback): MHD keeps its body until
 * the client has taken the last byte. A client that reads slowly, or not at
 * all, holds its response that long (at most MHD's idle timeout,
 * HTTP_IDLE_TIMEOUT_S, without any progress). Past the budget, a call waits
 * for the bytes held to drop before it runs (back-pressure, up to
 * HTTP_BUDGET_WAIT_MS), then is refused with 503 and Retry-After: a call
 * that has run is never dropped, and a response queued is delivered whole
 * to a client that reads. Calls already running may each add one response
 * past the budget: their size is known only at their end.
 *
 * The call path pays two atomic additions per request; the lock and the
 * condition variable are for the waiters only (a release wakes them only
 * when someone waits: seq_cst on both counters, so a release either sees
 * the waiter or the waiter sees the bytes released).
 */
#include <errno.h>
#include <time.h>

#include "http/http_internal.h"

void budget_init(http_budget *b, uint64_t limit) {
  atomic_init(&b->held, 0);
  atomic_init(&b->waiters, 0);
  atomic_init(&b->refused, 0);
  b->limit = limit;
  pthread_mutex_init(&b->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&b->drop, &attr);
  pthread_condattr_destroy(&attr);
}

void budget_destroy(http_budget *b) {
  pthread_cond_destroy(&b->drop);
  pthread_mutex_destroy(&b->lock);
}

void budget_take(http_budget *b, uint64_t n) { atomic_fetch_add(&b->held, n); }

void budget_give(http_budget *b, uint64_t n) {
  uint64_t now = atomic_fetch_sub(&b->held, n) - n;
  if (now <= b->limit && atomic_load(&b->waiters)) {
    pthread_mutex_lock(&b->lock);
    pthread_cond_broadcast(&b->drop);
    pthread_mutex_unlock(&b->lock);
  }
}

bool budget_wait(http_budget *b, unsigned ms) {
  if (atomic_load(&b->held) <= b->limit) return true;
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
  while (atomic_load(&b->held) > b->limit && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&b->drop, &b->lock, &until);
  atomic_fetch_sub(&b->waiters, 1);
  pthread_mutex_unlock(&b->lock);
  bool ok = atomic_load(&b->held) <= b->limit;
  if (!ok) atomic_fetch_add(&b->refused, 1);
  return ok;
}

void budget_figures(http_budget *b, http_budget_figures *out) {
  out->held = atomic_load(&b->held);
  out->limit = b->limit;
  out->refused = atomic_load(&b->refused);
}
