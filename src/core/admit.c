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
 * Two bounds, not one (issue 14): `workers` CPU slots and `max_alive`
 * instances alive at once. A call needs both to start; it gives its CPU
 * slot back, keeping its instance, when it stops computing (a sleep or a
 * wait in the host: admit_yield, from WASI's poll_oneoff) or when it has
 * held the slot for a quantum (CORE_CPU_QUANTUM_US) while other calls wait
 * (the clock thread takes it back). Calls past their first quantum run on,
 * bounded by max_alive and sharing the CPUs by the kernel's scheduler, and
 * a fresh call never waits behind them for more than a quantum: 20 endless
 * loops and long sleeps no longer shut every other function out (before,
 * two sleeping calls held both slots of a 2-CPU server for 30 s).
 *
 * Retry-After comes from what is ahead: the calls waiting, each needing a
 * CPU slot for its average hold (at most a quantum), and, when every
 * instance is taken, the soonest expected ends of the calls alive (their
 * function's average run, at most their timeout).
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
 * A call waiting with its thread may be stopped from another thread
 * (admit_stop, when its client has gone): it leaves the queue at once,
 * taking nobody's turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/clock.h"
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
  unsigned running, waiting;       /* running: alive (admitted, not left) */
  core_admit_ticket *head, *tail;  /* its waiting calls, oldest first */
  uint64_t avg_run_us;             /* moving average of its calls' whole runs; 0: none yet */
};

/* A call alive: admitted and not left (a node of a fixed pool). */
typedef struct admit_run {
  struct admit_run *prev, *next;   /* in the list of calls alive, oldest first */
  struct core_admit_fn *fn;
  uint64_t since_us;               /* admitted (and its CPU slot held since) */
  uint64_t deadline_us;            /* its run ends by then at the latest; 0: unknown */
  bool cpu;                        /* holds a CPU slot */
} admit_run;

struct core_admit {
  pthread_mutex_t lock;
  unsigned workers, free_cpu;          /* CPU slots */
  unsigned max_alive, alive;           /* instances */
  unsigned queue_max, timeout_ms;
  unsigned waiting;                    /* all functions */
  struct core_admit_fn *ring_head, *ring_tail;
  mote_map *fns;                       /* "ns/name" -> struct core_admit_fn */
  admit_run *runs;                     /* max_alive nodes */
  admit_run *free_runs;                /* unused nodes (next) */
  admit_run *alive_head, *alive_tail;
  uint64_t avg_run_us;                 /* whole runs, over all functions; 0: none yet */
  uint64_t avg_slot_us;                /* CPU-slot holds; 0: none yet */
  uint64_t quantum_us;
  uint64_t demoted;                    /* CPU slots taken back after a quantum */
  uint64_t yielded;                    /* CPU slots given back by calls that waited */
  pthread_cond_t clock_cond;           /* the clock thread: a quantum may have passed */
  pthread_t clock;
  bool clock_idle;                     /* it sleeps with no deadline: only clock_poke wakes it */
  bool clock_started, stopping;
};

static void *clock_main(void *arg);
static void clock_poke(core_admit *a);

core_admit *admit_new(unsigned workers, unsigned max_alive, unsigned queue_max,
                      unsigned timeout_ms) {
  core_admit *a = mote_calloc(1, sizeof *a);
  if (!a) return NULL;
  a->workers = a->free_cpu = workers ? workers : 1;
  a->max_alive = max_alive > a->workers ? max_alive : a->workers;
  if (!(a->fns = mote_map_new()) || !(a->runs = mote_calloc(a->max_alive, sizeof *a->runs))) {
    mote_map_free(a->fns);
    mote_free(a);
    return NULL;
  }
  for (unsigned i = 0; i < a->max_alive; i++) {
    a->runs[i].next = a->free_runs;
    a->free_runs = &a->runs[i];
  }
  pthread_mutex_init(&a->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&a->clock_cond, &attr);
  pthread_condattr_destroy(&attr);
  a->queue_max = queue_max;
  a->timeout_ms = timeout_ms;
  a->quantum_us = CORE_CPU_QUANTUM_US;
  if (pthread_create(&a->clock, NULL, clock_main, a) != 0) {
    admit_free(a);
    return NULL;
  }
  a->clock_started = true;
  return a;
}

void admit_free(core_admit *a) {
  if (!a) return;
  pthread_mutex_lock(&a->lock);
  a->stopping = true;
  pthread_cond_signal(&a->clock_cond);
  pthread_mutex_unlock(&a->lock);
  if (a->clock_started) pthread_join(a->clock, NULL);
  mote_map_iter it = {0};
  void *f;
  while (mote_map_next(a->fns, &it, NULL, &f)) mote_free(f);
  mote_map_free(a->fns);
  pthread_cond_destroy(&a->clock_cond);
  pthread_mutex_destroy(&a->lock);
  mote_free(a->runs);
  mote_free(a);
}

void admit_set_quantum(core_admit *a, uint64_t quantum_us) {
  pthread_mutex_lock(&a->lock);
  a->quantum_us = quantum_us;
  pthread_cond_signal(&a->clock_cond);
  pthread_mutex_unlock(&a->lock);
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

/* avg += (x - avg) / 8, starting at the first value. */
static void average(uint64_t *avg, uint64_t x) {
  *avg = *avg ? (uint64_t)((int64_t)*avg + ((int64_t)x - (int64_t)*avg) / 8) : (x ? x : 1);
}

/* ---- calls alive ----------------------------------------------------------- */

static admit_run *run_begin(core_admit *a, struct core_admit_fn *f, uint32_t timeout_ms,
                            uint64_t now) {
  admit_run *r = a->free_runs; /* never NULL: alive < max_alive was checked */
  a->free_runs = r->next;
  r->fn = f;
  r->since_us = now;
  r->deadline_us = timeout_ms ? now + (uint64_t)timeout_ms * 1000 : 0;
  r->cpu = true;
  r->next = NULL;
  r->prev = a->alive_tail;
  if (a->alive_tail) a->alive_tail->next = r;
  else a->alive_head = r;
  a->alive_tail = r;
  a->alive++;
  a->free_cpu--;
  f->running++;
  return r;
}

/* Its CPU slot back (the call goes on, or is over). */
static void run_release_cpu(core_admit *a, admit_run *r, uint64_t now) {
  if (!r->cpu) return;
  r->cpu = false;
  a->free_cpu++;
  average(&a->avg_slot_us, now - r->since_us);
}

/* The oldest CPU holder past its quantum loses its slot: true when one did. */
static bool demote_oldest(core_admit *a, uint64_t now) {
  if (a->quantum_us == UINT64_MAX) return false; /* off */
  for (admit_run *r = a->alive_head; r; r = r->next) {
    if (!r->cpu) continue;
    if (now - r->since_us < a->quantum_us) return false; /* the oldest holder is not due */
    run_release_cpu(a, r, now);
    a->demoted++;
    return true;
  }
  return false;
}

/* Whether a call may start now (an instance and a CPU slot, taking one
 * back from a call past its quantum if need be). */
static bool room(core_admit *a, uint64_t now) {
  return a->alive < a->max_alive && (a->free_cpu > 0 || demote_oldest(a, now));
}

/* Hands what is free to the calls waiting, round-robin between functions:
 * the oldest call of the function whose turn it is; that function goes to
 * the back of the ring. */
static void dispatch(core_admit *a) {
  uint64_t now = mote_now_us();
  while (a->ring_head && room(a, now)) {
    struct core_admit_fn *next = a->ring_head;
    core_admit_ticket *t = next->head;
    next->head = t->next;
    if (!next->head) next->tail = NULL;
    next->waiting--;
    a->waiting--;
    ring_remove(a, next);
    if (next->head) ring_append(a, next);
    t->run = run_begin(a, next, t->timeout_ms, now);
    t->grant(t);
  }
  clock_poke(a);
}

/* When the clock must next look: the end of the oldest CPU holder's quantum
 * while calls wait for a CPU slot (and an instance is free); UINT64_MAX:
 * never, until the state changes. */
static uint64_t clock_due(const core_admit *a) {
  if (!a->ring_head || a->alive >= a->max_alive || a->free_cpu > 0 ||
      a->quantum_us == UINT64_MAX)
    return UINT64_MAX;
  for (const admit_run *r = a->alive_head; r; r = r->next)
    if (r->cpu) return r->since_us + a->quantum_us;
  return UINT64_MAX;
}

/* Under the lock, after a change of state: wakes the clock only when it
 * sleeps with no deadline and now has one. A clock sleeping until a
 * deadline is left alone: no change makes the oldest holder's quantum end
 * sooner (a holder leaving makes it later: the clock wakes early once and
 * looks again). Signalling at every queued call cost a wake-up of the
 * clock thread per call under load (about a tenth of calls/s at 16
 * connections on 2 CPUs). */
static void clock_poke(core_admit *a) {
  if (a->clock_idle && clock_due(a) != UINT64_MAX) {
    a->clock_idle = false;
    pthread_cond_signal(&a->clock_cond);
  }
}

/* The clock: while calls wait for a CPU slot that calls past their quantum
 * hold, it wakes when the oldest holder's quantum ends and dispatches. */
static void *clock_main(void *arg) {
  core_admit *a = arg;
  pthread_mutex_lock(&a->lock);
  while (!a->stopping) {
    uint64_t wake = clock_due(a);
    if (wake == UINT64_MAX) {
      a->clock_idle = true;
      pthread_cond_wait(&a->clock_cond, &a->lock);
      a->clock_idle = false;
      continue;
    }
    if (mote_now_us() >= wake) {
      dispatch(a);
      continue;
    }
    struct timespec until = {(time_t)(wake / 1000000u), (long)(wake % 1000000u) * 1000L};
    pthread_cond_timedwait(&a->clock_cond, &a->lock, &until);
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

/* ---- Retry-After ----------------------------------------------------------- */

static unsigned seconds(uint64_t us) {
  uint64_t s = (us + 999999) / 1000000;
  return s < 1 ? 1 : s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : (unsigned)s;
}

static int by_u64(const void *x, const void *y) {
  uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
  return a < b ? -1 : a > b;
}

/* Microseconds until `ahead` waiting calls and then one more are likely
 * to have started: each needs a CPU slot for its average hold (a quantum
 * at most, as slots are taken back after one), and, with every instance
 * taken, one of the calls alive must end first: the (ahead+1)-th soonest
 * expected end (its function's average run, or its deadline if sooner). */
static uint64_t ahead_us(core_admit *a, uint64_t ahead, uint64_t now) {
  uint64_t slot = a->avg_slot_us ? a->avg_slot_us : a->quantum_us;
  if (slot > a->quantum_us) slot = a->quantum_us;
  uint64_t us = (ahead + 1) * slot / a->workers;
  if (a->alive < a->max_alive) return us;
  uint64_t ends[a->max_alive];
  size_t n = 0;
  for (admit_run *r = a->alive_head; r; r = r->next) {
    uint64_t avg = r->fn->avg_run_us ? r->fn->avg_run_us
                   : a->avg_run_us   ? a->avg_run_us
                                     : RUN_GUESS_US;
    uint64_t end = r->since_us + avg;
    if (r->deadline_us && r->deadline_us < end) end = r->deadline_us;
    ends[n++] = end > now ? end - now : 0;
  }
  qsort(ends, n, sizeof *ends, by_u64);
  uint64_t inst = ends[ahead < n ? ahead : n - 1];
  return inst > us ? inst : us;
}

static void refuse(core_admit *a, struct core_admit_fn *f, core_admit_status st, unsigned limit,
                   core_admission *out) {
  out->status = st;
  out->fn = NULL;
  out->run = NULL;
  out->limit = limit;
  uint64_t now = mote_now_us();
  if (st == CORE_REFUSED_CONCURRENCY) {
    /* one of its `limit` calls has to end, after those already waiting */
    uint64_t run = f->avg_run_us ? f->avg_run_us : a->avg_run_us ? a->avg_run_us : RUN_GUESS_US;
    out->retry_after_s = seconds((f->waiting + 1) * run / (limit ? limit : 1));
  } else {
    /* round-robin serves any call after at most all those waiting now */
    out->retry_after_s = seconds(ahead_us(a, a->waiting, now));
  }
}

/* The checks of a call of f, under the lock: started (ADMITTED, out->run
 * set), a refusal, or QUEUED when it may wait (the caller queues it). */
static core_admit_status try_admit(core_admit *a, struct core_admit_fn *f,
                                   uint32_t max_concurrency, uint32_t max_queue,
                                   uint32_t timeout_ms, core_admission *out) {
  unsigned fn_queue = max_queue ? max_queue : admit_fn_queue_default(a);
  if (max_concurrency && f->running + f->waiting >= max_concurrency) {
    refuse(a, f, CORE_REFUSED_CONCURRENCY, max_concurrency, out);
    return out->status;
  }
  /* Nobody waiting is passed: while calls wait, what frees up is theirs. */
  uint64_t now = mote_now_us();
  if (!a->ring_head && room(a, now)) {
    out->status = CORE_ADMITTED;
    out->fn = f;
    out->run = run_begin(a, f, timeout_ms, now);
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
  clock_poke(a); /* a quantum may now matter */
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
                 uint32_t timeout_ms, core_admission *out) {
  admit_enter_stoppable(a, f, max_concurrency, max_queue, timeout_ms, NULL, out);
}

void admit_stop(core_admit *a, core_admit_stop *stop) {
  pthread_mutex_lock(&a->lock);
  stop->requested = true;
  if (stop->waiter) pthread_cond_signal(&((waiter *)stop->waiter)->cond);
  pthread_mutex_unlock(&a->lock);
}

void admit_enter_stoppable(core_admit *a, core_admit_fn *f, uint32_t max_concurrency,
                           uint32_t max_queue, uint32_t timeout_ms, core_admit_stop *stop,
                           core_admission *out) {
  memset(out, 0, sizeof *out);
  if (!f) {
    out->status = CORE_ADMIT_NO_MEMORY;
    return;
  }
  uint64_t t0 = mote_now_us();
  pthread_mutex_lock(&a->lock);
  if (try_admit(a, f, max_concurrency, max_queue, timeout_ms, out) != CORE_ADMIT_QUEUED)
    goto done;
  if (stop && stop->requested) { /* gone before it would wait: no place taken */
    out->status = CORE_ADMIT_CANCELLED;
    goto done;
  }

  waiter w = {.t = {.next = NULL, .grant = grant_waiter, .timeout_ms = timeout_ms},
              .granted = false};
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&w.cond, &attr);
  pthread_condattr_destroy(&attr);
  enqueue(a, f, &w.t);
  if (stop) stop->waiter = &w;

  struct timespec deadline = mote_time_in(CLOCK_MONOTONIC, a->timeout_ms);
  int rc = 0;
  while (!w.granted && rc != ETIMEDOUT && !(stop && stop->requested))
    rc = pthread_cond_timedwait(&w.cond, &a->lock, &deadline);
  if (stop) stop->waiter = NULL;
  if (w.granted) {
    /* dispatch took it off the queue and made it alive */
    out->status = CORE_ADMITTED;
    out->fn = f;
    out->run = w.t.run;
  } else if (stop && stop->requested) {
    dequeue(a, f, &w.t);
    out->status = CORE_ADMIT_CANCELLED;
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
  t->run = NULL;
  if (try_admit(a, f, max_concurrency, max_queue, t->timeout_ms, out) == CORE_ADMIT_QUEUED) {
    enqueue(a, f, t);
    out->status = CORE_ADMIT_QUEUED;
    out->fn = f; /* once granted (t->run then) */
  } else if (out->status == CORE_ADMITTED) {
    t->run = out->run;
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

void admit_yield(core_admit *a, void *run) {
  admit_run *r = run;
  if (!r) return;
  pthread_mutex_lock(&a->lock);
  if (r->cpu && a->quantum_us != UINT64_MAX) {
    run_release_cpu(a, r, mote_now_us());
    a->yielded++;
    dispatch(a);
  }
  pthread_mutex_unlock(&a->lock);
}

void admit_leave(core_admit *a, core_admission *adm, uint64_t run_us) {
  admit_run *r = adm->run;
  if (!r) return;
  adm->run = NULL;
  adm->fn = NULL;
  pthread_mutex_lock(&a->lock);
  struct core_admit_fn *f = r->fn;
  run_release_cpu(a, r, mote_now_us());
  if (r->prev) r->prev->next = r->next;
  else a->alive_head = r->next;
  if (r->next) r->next->prev = r->prev;
  else a->alive_tail = r->prev;
  r->next = a->free_runs;
  a->free_runs = r;
  a->alive--;
  f->running--;
  average(&f->avg_run_us, run_us);
  average(&a->avg_run_us, run_us);
  dispatch(a);
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
  out->busy = a->workers - a->free_cpu;
  out->alive = a->alive;
  out->alive_max = a->max_alive;
  out->cpu_demoted = a->demoted;
  out->cpu_yielded = a->yielded;
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
