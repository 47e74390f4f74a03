/*
 * admit: admission control of calls: which call runs now, which waits, which
 * is refused with 429.
 *
 * A call needs one of `workers` execution slots. When none is free it waits
 * in a queue bounded three ways, so that no caller, however hostile, can
 * hold the server or take more than its share:
 *   - overall: at most `queue` calls wait (--queue), beyond that 429
 *     queue_full;
 *   - per function: at most max_queue calls of one function wait (its
 *     setting; by default half the overall queue, at least 1), so a flood
 *     on one function leaves room in the queue for the others (429
 *     function_queue_full);
 *   - in time: a call waits at most `timeout_ms` (--queue-timeout), then
 *     429 queue_timeout.
 * A function's own concurrency limit (max_concurrency, its calls running or
 * waiting) is checked first and refuses at once (429 concurrency_limit).
 * Every refusal carries an estimate of when a retry may succeed
 * (Retry-After, whole seconds, at least 1).
 *
 * Fairness: waiting calls are kept per function (FIFO within a function),
 * and the functions that have waiting calls form a ring. A freed slot goes
 * to the oldest call of the function at the head of the ring, and that
 * function then moves to the ring's tail. So slots go round-robin across
 * functions, not to whoever queued first: with N functions waiting, each
 * gets at least one of every N freed slots however many calls the others
 * have queued. A slot is handed over directly under the lock (never freed
 * and raced for), so a call arriving while others wait cannot jump the
 * queue.
 *
 * One mutex guards everything: an admission is a few pointer moves, far
 * cheaper than the call it admits. Each waiting call sleeps on its own
 * condition variable (CLOCK_MONOTONIC), so a handover wakes exactly the
 * call it chose.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/map.h"
#include "server/server_internal.h"

#define RETRY_AFTER_MAX_S 3600
#define RUN_GUESS_US 1000000u /* a call's run time before any call has finished */

typedef struct waiter {
  struct waiter *next;
  pthread_cond_t cond;
  bool granted; /* the slot was handed to this call */
} waiter;

/* One function's admission state, made on its first call and kept until the
 * server stops (so its gauges stay, and a handle never dangles). */
struct srv_admit_fn {
  struct srv_admit_fn *next_ring; /* in the ring while it has waiting calls */
  bool in_ring;
  char name[SRV_NAME_MAX + 1];
  unsigned running, waiting;
  waiter *head, *tail;            /* its waiting calls, oldest first */
  uint64_t avg_run_us;            /* moving average of its calls' slot time; 0: none yet */
};

struct srv_admit {
  pthread_mutex_t lock;
  unsigned workers, free_slots;
  unsigned queue_max, timeout_ms;
  unsigned waiting;                    /* all functions */
  struct srv_admit_fn *ring_head, *ring_tail;
  mote_map *fns;                       /* name -> struct srv_admit_fn */
  uint64_t avg_run_us;                 /* over all functions; 0: none yet */
};

srv_admit *admit_new(unsigned workers, unsigned queue_max, unsigned timeout_ms) {
  srv_admit *a = mote_calloc(1, sizeof *a);
  if (!a) return NULL;
  if (!(a->fns = mote_map_new())) {
    mote_free(a);
    return NULL;
  }
  pthread_mutex_init(&a->lock, NULL);
  a->workers = a->free_slots = workers ? workers : 1;
  a->queue_max = queue_max;
  a->timeout_ms = timeout_ms;
  return a;
}

void admit_free(srv_admit *a) {
  if (!a) return;
  mote_map_iter it = {0};
  void *f;
  while (mote_map_next(a->fns, &it, NULL, &f)) mote_free(f);
  mote_map_free(a->fns);
  pthread_mutex_destroy(&a->lock);
  mote_free(a);
}

unsigned admit_fn_queue_default(const srv_admit *a) {
  return a->queue_max / 2 ? a->queue_max / 2 : 1;
}

const char *admit_status_code(srv_admit_status st) {
  switch (st) {
    case SRV_ADMITTED: return "admitted";
    case SRV_REFUSED_CONCURRENCY: return "concurrency_limit";
    case SRV_REFUSED_QUEUE_FULL: return "queue_full";
    case SRV_REFUSED_FUNCTION_QUEUE_FULL: return "function_queue_full";
    case SRV_REFUSED_TIMEOUT: return "queue_timeout";
    default: return "overloaded";
  }
}

/* The state of `name`, made if new; NULL when out of memory. Under the lock. */
static struct srv_admit_fn *fn_state(srv_admit *a, const char *name) {
  struct srv_admit_fn *f = mote_map_get(a->fns, name);
  if (f) return f;
  if (!(f = mote_calloc(1, sizeof *f))) return NULL;
  snprintf(f->name, sizeof f->name, "%s", name);
  if (mote_map_put(a->fns, f->name, f, NULL) != 0) {
    mote_free(f);
    return NULL;
  }
  return f;
}

static void ring_append(srv_admit *a, struct srv_admit_fn *f) {
  f->next_ring = NULL;
  f->in_ring = true;
  if (a->ring_tail) a->ring_tail->next_ring = f;
  else a->ring_head = f;
  a->ring_tail = f;
}

static void ring_remove(srv_admit *a, struct srv_admit_fn *f) {
  struct srv_admit_fn **p = &a->ring_head, *prev = NULL;
  while (*p && *p != f) {
    prev = *p;
    p = &(*p)->next_ring;
  }
  if (!*p) return;
  *p = f->next_ring;
  if (a->ring_tail == f) a->ring_tail = prev;
  f->next_ring = NULL;
  f->in_ring = false;
}

/* Seconds until a retry is likely to find room: `ahead` calls must get a
 * slot first, and `slots` slots free up once per average run each. */
static unsigned retry_after(uint64_t avg_run_us, uint64_t ahead, unsigned slots) {
  uint64_t run = avg_run_us ? avg_run_us : RUN_GUESS_US;
  uint64_t us = (ahead + 1) * run / (slots ? slots : 1);
  uint64_t s = (us + 999999) / 1000000;
  return s < 1 ? 1 : s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (unsigned)s;
}

static void refuse(srv_admit *a, struct srv_admit_fn *f, srv_admit_status st, unsigned limit,
                   srv_admission *out) {
  out->status = st;
  out->limit = limit;
  if (st == SRV_REFUSED_CONCURRENCY)
    /* one of its `limit` calls has to finish, after those already waiting */
    out->retry_after_s = retry_after(f->avg_run_us ? f->avg_run_us : a->avg_run_us, f->waiting,
                                     limit);
  else
    /* round-robin serves any call after at most all those waiting now */
    out->retry_after_s = retry_after(a->avg_run_us, a->waiting, a->workers);
}

static uint64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void admit_enter(srv_admit *a, const char *function, uint32_t max_concurrency, uint32_t max_queue,
                 srv_admission *out) {
  memset(out, 0, sizeof *out);
  uint64_t t0 = mono_us();
  unsigned fn_queue = max_queue ? max_queue : admit_fn_queue_default(a);
  pthread_mutex_lock(&a->lock);
  struct srv_admit_fn *f = fn_state(a, function);
  if (!f) {
    pthread_mutex_unlock(&a->lock);
    out->status = SRV_ADMIT_NO_MEMORY;
    return;
  }
  if (max_concurrency && f->running + f->waiting >= max_concurrency) {
    refuse(a, f, SRV_REFUSED_CONCURRENCY, max_concurrency, out);
    goto done;
  }
  /* Free slots exist only while nobody waits: a freed slot goes straight
   * to a waiting call (admit_leave). */
  if (a->free_slots > 0) {
    a->free_slots--;
    f->running++;
    out->status = SRV_ADMITTED;
    out->fn = f;
    goto done;
  }
  if (a->waiting >= a->queue_max) {
    refuse(a, f, SRV_REFUSED_QUEUE_FULL, a->queue_max, out);
    goto done;
  }
  if (f->waiting >= fn_queue) {
    refuse(a, f, SRV_REFUSED_FUNCTION_QUEUE_FULL, fn_queue, out);
    goto done;
  }

  waiter w = {.next = NULL, .granted = false};
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cond, &attr);
  pthread_condattr_destroy(&attr);
  if (f->tail) f->tail->next = &w;
  else f->head = &w;
  f->tail = &w;
  f->waiting++;
  a->waiting++;
  if (!f->in_ring) ring_append(a, f);

  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += a->timeout_ms / 1000;
  deadline.tv_nsec += (long)(a->timeout_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  int rc = 0;
  while (!w.granted && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&w.cond, &a->lock, &deadline);
  if (w.granted) {
    /* admit_leave took it off the queue and counted it as running */
    out->status = SRV_ADMITTED;
    out->fn = f;
  } else {
    waiter **p = &f->head, *prev = NULL;
    while (*p != &w) {
      prev = *p;
      p = &(*p)->next;
    }
    *p = w.next;
    if (f->tail == &w) f->tail = prev;
    f->waiting--;
    a->waiting--;
    if (!f->head) ring_remove(a, f);
    refuse(a, f, SRV_REFUSED_TIMEOUT, a->timeout_ms, out);
  }
  pthread_cond_destroy(&w.cond);

done:
  pthread_mutex_unlock(&a->lock);
  out->wait_us = mono_us() - t0;
}

/* avg += (x - avg) / 8, starting at the first value. */
static void average(uint64_t *avg, uint64_t x) {
  *avg = *avg ? (uint64_t)((int64_t)*avg + ((int64_t)x - (int64_t)*avg) / 8) : (x ? x : 1);
}

void admit_leave(srv_admit *a, srv_admission *adm, uint64_t run_us) {
  struct srv_admit_fn *f = adm->fn;
  if (!f) return;
  adm->fn = NULL;
  pthread_mutex_lock(&a->lock);
  f->running--;
  average(&f->avg_run_us, run_us);
  average(&a->avg_run_us, run_us);
  struct srv_admit_fn *next = a->ring_head;
  if (next) {
    /* Hand the slot to the oldest call of the function whose turn it is;
     * that function goes to the back of the ring. */
    waiter *w = next->head;
    next->head = w->next;
    if (!next->head) next->tail = NULL;
    next->waiting--;
    next->running++;
    a->waiting--;
    ring_remove(a, next);
    if (next->head) ring_append(a, next);
    w->granted = true;
    pthread_cond_signal(&w->cond);
  } else {
    a->free_slots++;
  }
  pthread_mutex_unlock(&a->lock);
}

void admit_stats(srv_admit *a, srv_admit_totals *tot, srv_admit_fn_stats **fns, size_t *nfns) {
  *fns = NULL;
  *nfns = 0;
  pthread_mutex_lock(&a->lock);
  tot->workers = a->workers;
  tot->busy = a->workers - a->free_slots;
  tot->waiting = a->waiting;
  tot->queue_max = a->queue_max;
  size_t count = mote_map_count(a->fns);
  srv_admit_fn_stats *list = count ? mote_calloc(count, sizeof *list) : NULL;
  size_t n = 0;
  mote_map_iter it = {0};
  void *v;
  while (list && n < count && mote_map_next(a->fns, &it, NULL, &v)) {
    const struct srv_admit_fn *f = v;
    snprintf(list[n].name, sizeof list[n].name, "%s", f->name);
    list[n].running = f->running;
    list[n].waiting = f->waiting;
    n++;
  }
  pthread_mutex_unlock(&a->lock);
  *fns = list;
  *nfns = n;
}
