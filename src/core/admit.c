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
 *
 * Calls without a thread (admit_submit: the background calls of call.c)
 * wait in the same queues, as tickets whose grant hands them to an
 * executor: one queue for every call, whichever API made it. A queued
 * ticket has no deadline: a call its caller was told is accepted runs,
 * however long it waits (its caller may cancel it while it waits,
 * admit_cancel, as a blocking OpenWhisk invoke does at the queue timeout).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/map.h"
#include "core/core_internal.h"

#define RETRY_AFTER_MAX_S 3600
#define RUN_GUESS_US 1000000u /* a call's run time before any call has finished */

/* A call waiting with its thread (admit_enter). */
typedef struct waiter {
  core_admit_ticket t; /* first: the queue holds &t */
  pthread_cond_t cond;
  bool granted;        /* the slot was handed to this call */
} waiter;

/* One function's admission state, made on its first call and kept until
 * admit_free (so its gauges stay, and a handle never dangles). */
struct core_admit_fn {
  struct core_admit_fn *next_ring; /* in the ring while it has waiting calls */
  bool in_ring;
  char key[CORE_FN_KEY_MAX];       /* "ns/name" */
  unsigned running, waiting;
  core_admit_ticket *head, *tail; /* its waiting calls, oldest first */
  uint64_t avg_run_us;            /* moving average of its calls' slot time; 0: none yet */
};

struct core_admit {
  pthread_mutex_t lock;
  unsigned workers, free_slots;
  unsigned queue_max, timeout_ms;
  unsigned waiting;                    /* all functions */
  struct core_admit_fn *ring_head, *ring_tail;
  mote_map *fns;                       /* "ns/name" -> struct core_admit_fn */
  uint64_t avg_run_us;                 /* over all functions; 0: none yet */
};

core_admit *admit_new(unsigned workers, unsigned queue_max, unsigned timeout_ms) {
  core_admit *a = mote_calloc(1, sizeof *a);
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

void admit_free(core_admit *a) {
  if (!a) return;
  mote_map_iter it = {0};
  void *f;
  while (mote_map_next(a->fns, &it, NULL, &f)) mote_free(f);
  mote_map_free(a->fns);
  pthread_mutex_destroy(&a->lock);
  mote_free(a);
}

unsigned admit_fn_queue_default(const core_admit *a) {
  return a->queue_max / 2 ? a->queue_max / 2 : 1;
}

core_admit_fn *admit_fn(core_admit *a, const char *ns, const char *name) {
  char key[CORE_FN_KEY_MAX];
  if (!core_fn_key(ns, name, key)) return NULL;
  pthread_mutex_lock(&a->lock);
  struct core_admit_fn *f = mote_map_get(a->fns, key);
  if (!f && (f = mote_calloc(1, sizeof *f))) {
    memcpy(f->key, key, sizeof key);
    if (mote_map_put(a->fns, f->key, f, NULL) != 0) {
      mote_free(f);
      f = NULL;
    }
  }
  pthread_mutex_unlock(&a->lock);
  return f;
}

static void ring_append(core_admit *a, struct core_admit_fn *f) {
  f->next_ring = NULL;
  f->in_ring = true;
  if (a->ring_tail) a->ring_tail->next_ring = f;
  else a->ring_head = f;
  a->ring_tail = f;
}

static void ring_remove(core_admit *a, struct core_admit_fn *f) {
  struct core_admit_fn **p = &a->ring_head, *prev = NULL;
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

static void refuse(core_admit *a, struct core_admit_fn *f, core_admit_status st, unsigned limit,
                   core_admission *out) {
  out->status = st;
  out->fn = NULL;
  out->limit = limit;
  if (st == CORE_REFUSED_CONCURRENCY)
    /* one of its `limit` calls has to finish, after those already waiting */
    out->retry_after_s = retry_after(f->avg_run_us ? f->avg_run_us : a->avg_run_us, f->waiting,
                                     limit);
  else
    /* round-robin serves any call after at most all those waiting now */
    out->retry_after_s = retry_after(a->avg_run_us, a->waiting, a->workers);
}

/* The checks of a call of f, under the lock: a slot taken (ADMITTED), a
 * refusal, or QUEUED when it may wait (the caller queues it). */
static core_admit_status try_admit(core_admit *a, struct core_admit_fn *f,
                                   uint32_t max_concurrency, uint32_t max_queue,
                                   core_admission *out) {
  unsigned fn_queue = max_queue ? max_queue : admit_fn_queue_default(a);
  if (max_concurrency && f->running + f->waiting >= max_concurrency) {
    refuse(a, f, CORE_REFUSED_CONCURRENCY, max_concurrency, out);
    return out->status;
  }
  /* Free slots exist only while nobody waits: a freed slot goes straight
   * to a waiting call (admit_leave). */
  if (a->free_slots > 0) {
    a->free_slots--;
    f->running++;
    out->status = CORE_ADMITTED;
    out->fn = f;
    return CORE_ADMITTED;
  }
  if (a->waiting >= a->queue_max) {
    refuse(a, f, CORE_REFUSED_QUEUE_FULL, a->queue_max, out);
    return out->status;
  }
  if (f->waiting >= fn_queue) {
    refuse(a, f, CORE_REFUSED_FUNCTION_QUEUE_FULL, fn_queue, out);
    return out->status;
  }
  return CORE_ADMIT_QUEUED;
}

static void enqueue(core_admit *a, struct core_admit_fn *f, core_admit_ticket *t) {
  t->next = NULL;
  if (f->tail) f->tail->next = t;
  else f->head = t;
  f->tail = t;
  f->waiting++;
  a->waiting++;
  if (!f->in_ring) ring_append(a, f);
}

/* Takes t out of f's queue: false when it is not there (granted). */
static bool dequeue(core_admit *a, struct core_admit_fn *f, core_admit_ticket *t) {
  core_admit_ticket **p = &f->head, *prev = NULL;
  while (*p && *p != t) {
    prev = *p;
    p = &(*p)->next;
  }
  if (!*p) return false;
  *p = t->next;
  if (f->tail == t) f->tail = prev;
  f->waiting--;
  a->waiting--;
  if (!f->head) ring_remove(a, f);
  return true;
}

static void grant_waiter(core_admit_ticket *t) {
  waiter *w = (waiter *)t;
  w->granted = true;
  pthread_cond_signal(&w->cond);
}

void admit_enter(core_admit *a, core_admit_fn *f, uint32_t max_concurrency, uint32_t max_queue,
                 core_admission *out) {
  memset(out, 0, sizeof *out);
  if (!f) {
    out->status = CORE_ADMIT_NO_MEMORY;
    return;
  }
  uint64_t t0 = mote_now_us();
  pthread_mutex_lock(&a->lock);
  if (try_admit(a, f, max_concurrency, max_queue, out) != CORE_ADMIT_QUEUED) goto done;

  waiter w = {.t = {.next = NULL, .grant = grant_waiter}, .granted = false};
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cond, &attr);
  pthread_condattr_destroy(&attr);
  enqueue(a, f, &w.t);

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
    out->status = CORE_ADMITTED;
    out->fn = f;
  } else {
    dequeue(a, f, &w.t);
    refuse(a, f, CORE_REFUSED_TIMEOUT, a->timeout_ms, out);
  }
  pthread_cond_destroy(&w.cond);

done:
  pthread_mutex_unlock(&a->lock);
  out->wait_us = mote_now_us() - t0;
}

void admit_submit(core_admit *a, core_admit_fn *f, uint32_t max_concurrency, uint32_t max_queue,
                  core_admit_ticket *t, core_admission *out) {
  memset(out, 0, sizeof *out);
  if (!f) {
    out->status = CORE_ADMIT_NO_MEMORY;
    return;
  }
  pthread_mutex_lock(&a->lock);
  if (try_admit(a, f, max_concurrency, max_queue, out) == CORE_ADMIT_QUEUED) {
    enqueue(a, f, t);
    out->status = CORE_ADMIT_QUEUED;
    out->fn = f; /* once granted */
  }
  pthread_mutex_unlock(&a->lock);
}

bool admit_cancel(core_admit *a, core_admit_fn *f, core_admit_ticket *t, core_admission *out) {
  pthread_mutex_lock(&a->lock);
  bool removed = dequeue(a, f, t);
  if (removed) refuse(a, f, CORE_REFUSED_TIMEOUT, a->timeout_ms, out);
  pthread_mutex_unlock(&a->lock);
  return removed;
}

/* avg += (x - avg) / 8, starting at the first value. */
static void average(uint64_t *avg, uint64_t x) {
  *avg = *avg ? (uint64_t)((int64_t)*avg + ((int64_t)x - (int64_t)*avg) / 8) : (x ? x : 1);
}

void admit_leave(core_admit *a, core_admission *adm, uint64_t run_us) {
  struct core_admit_fn *f = adm->fn;
  if (!f) return;
  adm->fn = NULL;
  pthread_mutex_lock(&a->lock);
  f->running--;
  average(&f->avg_run_us, run_us);
  average(&a->avg_run_us, run_us);
  struct core_admit_fn *next = a->ring_head;
  if (next) {
    /* Hand the slot to the oldest call of the function whose turn it is;
     * that function goes to the back of the ring. */
    core_admit_ticket *t = next->head;
    next->head = t->next;
    if (!next->head) next->tail = NULL;
    next->waiting--;
    next->running++;
    a->waiting--;
    ring_remove(a, next);
    if (next->head) ring_append(a, next);
    t->grant(t);
  } else {
    a->free_slots++;
  }
  pthread_mutex_unlock(&a->lock);
}

static int by_name(const void *x, const void *y) {
  const core_queue_figures *a = x, *b = y;
  int d = strcmp(a->ns, b->ns);
  return d ? d : strcmp(a->name, b->name);
}

void admit_stats(core_admit *a, core_figures *out) {
  pthread_mutex_lock(&a->lock);
  out->workers = a->workers;
  out->busy = a->workers - a->free_slots;
  out->waiting = a->waiting;
  out->queue_max = a->queue_max;
  size_t count = mote_map_count(a->fns);
  core_queue_figures *list = count ? mote_calloc(count, sizeof *list) : NULL;
  size_t n = 0;
  mote_map_iter it = {0};
  void *v;
  while (list && n < count && mote_map_next(a->fns, &it, NULL, &v)) {
    const struct core_admit_fn *f = v;
    core_fn_key_split(f->key, list[n].ns, list[n].name);
    list[n].running = f->running;
    list[n].waiting = f->waiting;
    n++;
  }
  pthread_mutex_unlock(&a->lock);
  if (n > 1) qsort(list, n, sizeof *list, by_name);
  out->queues = list;
  out->nqueues = n;
}
