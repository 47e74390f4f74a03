/*
 * Cancels: another thread stops the guest a thread runs (rt.h). The stop
 * takes the deadline's path: the bound thread's `expired` is set with
 * `cancelled`, by the thread itself (at bind, or in the deadline signal's
 * handler on a signal queued to it), and thread.c's stop points deliver
 * MOTE_TRAP_CANCELLED instead of the timeout. The token's lock makes
 * "bound" and the signal one step: a signal is only ever queued to a thread
 * that has not unbound yet, so never to a thread that exited.
 */
#include <errno.h>
#include <stdatomic.h>

#include "rt/rt_internal.h"

#define SIGNAL_FENCE() atomic_signal_fence(memory_order_seq_cst)

void mote_rt_cancel_init(mote_rt_cancel *c) {
  pthread_mutex_init(&c->lock, NULL);
  c->bound = false;
  c->requested = 0;
}

void mote_rt_cancel_destroy(mote_rt_cancel *c) {
  pthread_mutex_destroy(&c->lock);
}

/* On the bound thread: the stop is in force (from here or its handler). */
static void stop_here(mote_rt_thread *t) {
  t->cancelled = 1;
  SIGNAL_FENCE();
  t->expired = 1;
}

void mote_rt_cancel_bind(mote_rt_cancel *c) {
  mote_rt_thread *t = &mote_rt_tls;
  /* The signal's handler must be installed (and the thread able to take
   * it on its alternate stack) before anyone may send it. */
  mote_rt_thread_prepare();
  pthread_mutex_lock(&c->lock);
  c->thread = pthread_self();
  c->bound = true;
  t->cancel = c;
  SIGNAL_FENCE();
  if (c->requested) stop_here(t);
  pthread_mutex_unlock(&c->lock);
}

void mote_rt_cancel_unbind(mote_rt_cancel *c) {
  mote_rt_thread *t = &mote_rt_tls;
  pthread_mutex_lock(&c->lock);
  c->bound = false;
  t->cancel = NULL; /* a signal still in flight now finds another token: ignored */
  SIGNAL_FENCE();
  if (t->cancelled) {
    t->cancelled = 0;
    /* the deadline's own expiry, if one is in force and passed, stays */
    t->expired = 0;
  }
  pthread_mutex_unlock(&c->lock);
}

void mote_rt_cancel_request(mote_rt_cancel *c) {
  pthread_mutex_lock(&c->lock);
  if (!c->requested) {
    c->requested = 1;
    if (c->bound) {
      if (pthread_equal(c->thread, pthread_self())) {
        stop_here(&mote_rt_tls);
      } else {
        union sigval v = {.sival_ptr = c};
        /* EAGAIN (the process's queue of real-time signals is full): the
         * thread still sees the request in its next wait slice
         * (mote_rt_deadline_expired reads the token); a guest computing
         * without host calls then runs on to its deadline. */
        (void)pthread_sigqueue(c->thread, MOTE_RT_DEADLINE_SIGNAL, v);
      }
    }
  }
  pthread_mutex_unlock(&c->lock);
}

bool mote_rt_cancel_requested(const mote_rt_cancel *c) {
  return c->requested != 0;
}

bool mote_rt_cancelled(void) {
  mote_rt_thread *t = &mote_rt_tls;
  mote_rt_cancel *c = t->cancel;
  if (!t->cancelled && c && c->requested) stop_here(t); /* its signal is late or lost */
  return t->cancelled != 0;
}

void mote_rt_cancel_on_signal(const siginfo_t *si) {
  mote_rt_thread *t = &mote_rt_tls;
  mote_rt_cancel *c = t->cancel;
  if (!c || si->si_value.sival_ptr != (void *)c || !c->requested) return;
  stop_here(t);
  mote_rt_stop_if_expired();
}
