/* core: admission (admit.c): slots, the three bounds of the queue, the
 * round-robin handover between functions, tickets (calls without a thread:
 * one queue for every call) and their cancel. Deterministic: the order of
 * grants is read from the tickets, never from timing. */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "core/core_internal.h"
#include "test.h"

/* A ticket that notes the order of its grant. */
typedef struct note {
  core_admit_ticket t;
  int id;
  int *log, *n;
} note;

static void noted(core_admit_ticket *t) {
  note *x = (note *)t;
  x->log[(*x->n)++] = x->id;
}

static note ticket(int id, int *log, int *n) {
  return (note){.t = {.next = NULL, .grant = noted}, .id = id, .log = log, .n = n};
}

TEST(slots_then_refusals) {
  core_admit *a = admit_new(2, 2, 4, 1000);
  admit_set_quantum(a, UINT64_MAX / 2); /* no slot taken back here */
  core_admit_fn *f = admit_fn(a, "ns", "f");
  CHECK(a && f && admit_fn(a, "ns", "f") == f); /* one state per function */
  CHECK(admit_fn(a, "ns", "a/b") == NULL && admit_fn(a, "../x", "f") == NULL);
  core_admission x, y, z;
  admit_enter(a, f, 0, 0, 0, &x);
  admit_enter(a, f, 0, 0, 0, &y);
  CHECK_EQ_INT(x.status, CORE_ADMITTED);
  CHECK_EQ_INT(y.status, CORE_ADMITTED);
  /* The function's own concurrency limit: refused at once. */
  admit_enter(a, f, 2, 0, 0, &z);
  CHECK_EQ_INT(z.status, CORE_REFUSED_CONCURRENCY);
  CHECK_EQ_INT(z.limit, 2);
  CHECK(z.retry_after_s >= 1);
  /* Tickets wait: the function's share is half the queue (2). */
  int log[8], n = 0;
  note t1 = ticket(1, log, &n), t2 = ticket(2, log, &n), t3 = ticket(3, log, &n);
  admit_submit(a, f, 0, 0, &t1.t, &z);
  CHECK_EQ_INT(z.status, CORE_ADMIT_QUEUED);
  admit_submit(a, f, 0, 0, &t2.t, &z);
  CHECK_EQ_INT(z.status, CORE_ADMIT_QUEUED);
  admit_submit(a, f, 0, 0, &t3.t, &z);
  CHECK_EQ_INT(z.status, CORE_REFUSED_FUNCTION_QUEUE_FULL);
  CHECK_EQ_INT(z.limit, 2);
  /* Another function fills the rest; then the queue is full for all. */
  core_admit_fn *g = admit_fn(a, "ns", "g");
  note u1 = ticket(11, log, &n), u2 = ticket(12, log, &n), u3 = ticket(13, log, &n);
  admit_submit(a, g, 0, 0, &u1.t, &z);
  admit_submit(a, g, 0, 0, &u2.t, &z);
  CHECK_EQ_INT(z.status, CORE_ADMIT_QUEUED);
  admit_submit(a, g, 0, 5, &u3.t, &z); /* its own max_queue 5, but the queue (4) is full */
  CHECK_EQ_INT(z.status, CORE_REFUSED_QUEUE_FULL);
  CHECK_EQ_INT(z.limit, 4);
  core_figures fig;
  memset(&fig, 0, sizeof fig);
  admit_stats(a, &fig);
  CHECK(fig.workers == 2 && fig.busy == 2 && fig.waiting == 4 && fig.queue_max == 4);
  CHECK(fig.nqueues == 2 && !strcmp(fig.queues[0].name, "f") && fig.queues[0].running == 2 &&
        fig.queues[0].waiting == 2 && !strcmp(fig.queues[1].name, "g"));
  free(fig.queues);
  /* Freed slots go round-robin between the functions: f, g, f, g. */
  core_admission held[4] = {x, y};
  admit_leave(a, &held[0], 1000);
  admit_leave(a, &held[1], 1000);
  CHECK_EQ_INT(n, 2);
  CHECK(log[0] == 1 && log[1] == 11);
  held[2] = (core_admission){.status = CORE_ADMITTED, .run = t1.t.run};
  held[3] = (core_admission){.status = CORE_ADMITTED, .run = u1.t.run};
  admit_leave(a, &held[2], 1000);
  admit_leave(a, &held[3], 1000);
  CHECK_EQ_INT(n, 4);
  CHECK(log[2] == 2 && log[3] == 12);
  for (int i = 0; i < 2; i++) { /* t2 and u2 end */
    core_admission done = {.status = CORE_ADMITTED, .run = i ? u2.t.run : t2.t.run};
    admit_leave(a, &done, 1000);
  }
  memset(&fig, 0, sizeof fig);
  admit_stats(a, &fig);
  CHECK(fig.busy == 0 && fig.waiting == 0);
  free(fig.queues);
  admit_free(a);
}

/* A call waiting with its thread is refused at the queue timeout; a ticket
 * has none (its caller cancels it), and a cancel after the grant fails. */
TEST(timeouts_and_cancel) {
  core_admit *a = admit_new(1, 1, 8, 1);
  admit_set_quantum(a, UINT64_MAX / 2);
  core_admit_fn *f = admit_fn(a, "ns", "f");
  CHECK(admit_fn(a, "other", "f") != f); /* names are per namespace */
  core_admission x, y;
  admit_enter(a, f, 0, 0, 0, &x);
  CHECK_EQ_INT(x.status, CORE_ADMITTED);
  admit_enter(a, f, 0, 0, 0, &y); /* nobody frees the slot: 1 ms, then refused */
  CHECK_EQ_INT(y.status, CORE_REFUSED_TIMEOUT);
  CHECK_EQ_INT(y.limit, 1);
  int log[4], n = 0;
  note t1 = ticket(1, log, &n), t2 = ticket(2, log, &n);
  admit_submit(a, f, 0, 0, &t1.t, &y);
  admit_submit(a, f, 0, 0, &t2.t, &y);
  CHECK_EQ_INT(y.status, CORE_ADMIT_QUEUED);
  CHECK(admit_cancel(a, f, &t1.t, &y)); /* still queued: out, refused */
  CHECK_EQ_INT(y.status, CORE_REFUSED_TIMEOUT);
  admit_leave(a, &x, 10);
  CHECK(n == 1 && log[0] == 2); /* the slot went to the one left */
  CHECK(!admit_cancel(a, f, &t2.t, &y)); /* granted already */
  core_admission z = {.status = CORE_ADMITTED, .run = t2.t.run};
  admit_leave(a, &z, 10);
  admit_enter(a, f, 0, 0, 0, &z); /* the slot is free again */
  CHECK_EQ_INT(z.status, CORE_ADMITTED);
  admit_leave(a, &z, 10);
  admit_free(a);
}

/* Two bounds: a call that sleeps gives its CPU slot back and keeps its
 * instance; the instances bound the calls alive, sleeping or not. */
TEST(yield_keeps_the_instance) {
  core_admit *a = admit_new(1, 3, 8, 1000);
  admit_set_quantum(a, UINT64_MAX / 2);
  core_admit_fn *f = admit_fn(a, "ns", "f");
  core_admission x, y;
  admit_enter(a, f, 0, 0, 0, &x);
  CHECK_EQ_INT(x.status, CORE_ADMITTED);
  int log[8], n = 0;
  note t1 = ticket(1, log, &n), t2 = ticket(2, log, &n), t3 = ticket(3, log, &n);
  admit_submit(a, f, 0, 0, &t1.t, &y);
  CHECK_EQ_INT(y.status, CORE_ADMIT_QUEUED);
  admit_yield(a, x.run); /* x sleeps: its slot goes to t1 */
  CHECK(n == 1 && log[0] == 1 && t1.t.run);
  admit_submit(a, f, 0, 0, &t2.t, &y);
  CHECK_EQ_INT(y.status, CORE_ADMIT_QUEUED); /* t1 computes */
  admit_yield(a, t1.t.run);
  CHECK(n == 2 && log[1] == 2);
  admit_submit(a, f, 0, 0, &t3.t, &y);
  CHECK_EQ_INT(y.status, CORE_ADMIT_QUEUED);
  admit_yield(a, t2.t.run); /* a free CPU slot, but 3 calls are alive: t3 waits */
  CHECK_EQ_INT(n, 2);
  core_figures fig;
  memset(&fig, 0, sizeof fig);
  admit_stats(a, &fig);
  CHECK(fig.alive == 3 && fig.alive_max == 3 && fig.busy == 0 && fig.waiting == 1 &&
        fig.cpu_yielded == 3);
  free(fig.queues);
  admit_yield(a, t2.t.run); /* a second yield of one call changes nothing */
  admit_leave(a, &x, 10); /* an instance frees: t3 starts */
  CHECK(n == 3 && log[2] == 3);
  core_admission done[3] = {{.status = CORE_ADMITTED, .run = t1.t.run},
                            {.status = CORE_ADMITTED, .run = t2.t.run},
                            {.status = CORE_ADMITTED, .run = t3.t.run}};
  for (int i = 0; i < 3; i++) admit_leave(a, &done[i], 10);
  memset(&fig, 0, sizeof fig);
  admit_stats(a, &fig);
  CHECK(fig.alive == 0 && fig.busy == 0 && fig.waiting == 0);
  free(fig.queues);
  admit_free(a);
}

/* A call past its quantum loses its CPU slot to a call that needs one (a
 * quantum of 0: at once); with the quantum off, the newcomer waits. */
TEST(quantum_takes_the_slot_back) {
  core_admit *a = admit_new(1, 4, 8, 1);
  admit_set_quantum(a, 0);
  core_admit_fn *f = admit_fn(a, "ns", "f");
  core_admission x, y, z;
  admit_enter(a, f, 0, 0, 0, &x);
  admit_enter(a, f, 0, 0, 0, &y); /* x is past its quantum: y takes its slot */
  CHECK_EQ_INT(y.status, CORE_ADMITTED);
  core_figures fig;
  memset(&fig, 0, sizeof fig);
  admit_stats(a, &fig);
  CHECK(fig.alive == 2 && fig.busy == 1 && fig.cpu_demoted == 1);
  free(fig.queues);
  admit_set_quantum(a, UINT64_MAX);
  admit_enter(a, f, 0, 0, 0, &z); /* y keeps its slot: 1 ms, then refused */
  CHECK_EQ_INT(z.status, CORE_REFUSED_TIMEOUT);
  CHECK(z.retry_after_s >= 1);
  admit_leave(a, &x, 10);
  admit_leave(a, &y, 10);
  admit_free(a);
}

/* A call that waits for the slot of a call not yet past its quantum gets it
 * from the clock thread once the quantum ends (the clock is woken only when
 * a call starts to wait, not at every call: the wait would run into its
 * 60 s timeout if that wake-up were missed). */
TEST(the_clock_hands_over_after_the_quantum) {
  core_admit *a = admit_new(1, 4, 8, 60000);
  admit_set_quantum(a, 20000); /* 20 ms */
  core_admit_fn *f = admit_fn(a, "ns", "f");
  core_admission x, y;
  admit_enter(a, f, 0, 0, 0, &x);
  CHECK_EQ_INT(x.status, CORE_ADMITTED);
  admit_enter(a, f, 0, 0, 0, &y); /* waits for the clock (or x is already due) */
  CHECK_EQ_INT(y.status, CORE_ADMITTED);
  core_figures fig;
  memset(&fig, 0, sizeof fig);
  admit_stats(a, &fig);
  CHECK(fig.alive == 2 && fig.busy == 1 && fig.cpu_demoted == 1);
  free(fig.queues);
  admit_leave(a, &y, 10);
  /* Again, with the clock asleep until a deadline of a call that left. */
  admit_enter(a, f, 0, 0, 0, &y);
  CHECK_EQ_INT(y.status, CORE_ADMITTED);
  core_admission z;
  admit_enter(a, f, 0, 0, 0, &z);
  CHECK_EQ_INT(z.status, CORE_ADMITTED);
  memset(&fig, 0, sizeof fig);
  admit_stats(a, &fig);
  CHECK(fig.alive == 3 && fig.busy == 1 && fig.cpu_demoted == 2);
  free(fig.queues);
  admit_leave(a, &x, 10);
  admit_leave(a, &y, 10);
  admit_leave(a, &z, 10);
  admit_free(a);
}

/* Retry-After with every instance taken: the soonest expected end of a
 * call alive (its timeout, when no run of the function has ended yet). */
TEST(retry_after_from_the_calls_alive) {
  core_admit *a = admit_new(1, 2, 1, 1);
  admit_set_quantum(a, 0);
  core_admit_fn *f = admit_fn(a, "ns", "f");
  core_admission x, y, z, w;
  admit_enter(a, f, 0, 0, 30000, &x); /* ends within 30 s */
  admit_enter(a, f, 0, 0, 9000, &y);  /* within 9 s */
  admit_enter(a, f, 0, 0, 0, &z);     /* no instance: waits 1 ms, refused */
  CHECK_EQ_INT(z.status, CORE_REFUSED_TIMEOUT);
  CHECK_EQ_INT(z.retry_after_s, 1); /* a run guess of 1 s (none ended yet) is sooner */
  admit_leave(a, &y, 20000000);      /* runs of f take 20 s now */
  admit_enter(a, f, 0, 0, 9000, &y);  /* within 9 s again */
  admit_enter(a, f, 0, 0, 0, &w);
  CHECK_EQ_INT(w.status, CORE_REFUSED_TIMEOUT);
  CHECK(w.retry_after_s >= 8 && w.retry_after_s <= 9); /* y's deadline, not 1 */
  admit_leave(a, &x, 10);
  admit_leave(a, &y, 10);
  admit_free(a);
}

/* A call waiting with its thread, stopped from another (its client gone). */
typedef struct stopped_wait {
  core_admit *a;
  core_admit_fn *f;
  core_admit_stop stop;
  core_admission out;
} stopped_wait;

static void *wait_stoppable(void *p) {
  stopped_wait *w = p;
  admit_enter_stoppable(w->a, w->f, 0, 0, 0, &w->stop, &w->out);
  return NULL;
}

TEST(stop_wakes_a_waiting_call) {
  /* one slot, taken; a queue timeout no test reaches (10 minutes) */
  core_admit *a = admit_new(1, 1, 4, 600000);
  admit_set_quantum(a, UINT64_MAX);
  core_admit_fn *f = admit_fn(a, "ns", "f");
  core_admission held;
  admit_enter(a, f, 0, 0, 0, &held);
  CHECK_EQ_INT(held.status, CORE_ADMITTED);
  stopped_wait w = {.a = a, .f = f};
  pthread_t t;
  CHECK(pthread_create(&t, NULL, wait_stoppable, &w) == 0);
  core_figures fg;
  for (;;) { /* until it waits (a state, read under admission's lock) */
    memset(&fg, 0, sizeof fg);
    admit_stats(a, &fg);
    mote_free(fg.queues);
    if (fg.waiting == 1) break;
    sched_yield();
  }
  admit_stop(a, &w.stop);
  pthread_join(t, NULL);
  CHECK_EQ_INT(w.out.status, CORE_ADMIT_CANCELLED);
  CHECK(w.out.run == NULL);
  memset(&fg, 0, sizeof fg);
  admit_stats(a, &fg);
  mote_free(fg.queues);
  CHECK_EQ_INT(fg.waiting, 0); /* it left the queue */
  /* Stopped before it would wait: refused at once, no place taken. */
  stopped_wait w2 = {.a = a, .f = f, .stop = {.requested = true}};
  wait_stoppable(&w2);
  CHECK_EQ_INT(w2.out.status, CORE_ADMIT_CANCELLED);
  /* The slot is intact: given back, the next call is admitted at once. */
  admit_leave(a, &held, 1);
  core_admission next;
  admit_enter_stoppable(a, f, 0, 0, 0, &w2.stop, &next); /* stopped, but a slot is free */
  CHECK_EQ_INT(next.status, CORE_ADMITTED);
  admit_leave(a, &next, 1);
  admit_free(a);
}

TEST(init_memory_budget) {
  core_budget *b = budget_new(100);
  core_budget_figures fg;
  CHECK(budget_reserve(b, 60, &fg));
  CHECK(!budget_reserve(b, 41, &fg)); /* 60 reserved: 41 more does not fit */
  CHECK(fg.cap == 100 && fg.reserved == 60 && fg.used == 0);
  CHECK(budget_reserve(b, 40, NULL));
  budget_settle(b, 60, 25); /* the first ran: it keeps 25 */
  budget_figures(b, &fg);
  CHECK(fg.used == 25 && fg.reserved == 40);
  budget_settle(b, 40, 0); /* the second failed: keeps nothing */
  CHECK(budget_reserve(b, 75, NULL));
  CHECK(!budget_reserve(b, 1, NULL));
  budget_settle(b, 75, 0);
  budget_release(b, 25);
  budget_figures(b, &fg);
  CHECK(fg.used == 0 && fg.reserved == 0);
  budget_release(b, 5); /* more than is used: clamps, never wraps */
  budget_figures(b, &fg);
  CHECK(fg.used == 0);
  budget_free(b);
  b = budget_new(0); /* the default: half the machine's memory */
  budget_figures(b, &fg);
  CHECK(fg.cap == budget_default_bytes() && fg.cap > 0);
  budget_free(b);
}

RUN_TESTS(slots_then_refusals, the_clock_hands_over_after_the_quantum, timeouts_and_cancel, yield_keeps_the_instance,
          quantum_takes_the_slot_back, retry_after_from_the_calls_alive, stop_wakes_a_waiting_call,
          init_memory_budget)
