/*
 * Deadlines: a per-thread POSIX timer (CLOCK_MONOTONIC, SIGEV_THREAD_ID)
 * that sends MOTE_RT_DEADLINE_SIGNAL to the thread that armed it. The
 * handler marks the deadline expired and, if the thread is in guest code
 * that may be stopped there (thread.c), jumps to the innermost trap target
 * with MOTE_TRAP_TIMEOUT. Elsewhere (host functions, runtime work, no guest
 * at all) the mark is enough: mote_rt_host_leave, the end of runtime work
 * and the start of every timed guest call check it.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rt/rt_internal.h"

#define NS_PER_S 1000000000ull

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void mote_rt_deadline_on_signal(int sig, siginfo_t *si, void *ucontext) {
  (void)sig;
  (void)ucontext;
  mote_rt_thread *t = &mote_rt_tls;
  int saved_errno = errno;
  /* Only our timer's signal, and only for the deadline in force: a signal
   * from an earlier arming that was late (blocked for a while) finds either
   * no deadline or one that has not passed yet. */
  if (si->si_code == SI_TIMER && t->armed && now_ns() >= t->deadline_at) {
    t->expired = 1;
    mote_rt_stop_if_expired();
  } else if (si->si_code == SI_QUEUE) {
    mote_rt_cancel_on_signal(si); /* cancel.c: another thread's stop */
  }
  errno = saved_errno;
}

/* The thread's timer, created on first use. */
static bool make_timer(mote_rt_thread *t, mote_rt_error *err) {
  if (t->has_timer) return true;
  struct sigevent sev;
  memset(&sev, 0, sizeof sev);
  sev.sigev_notify = SIGEV_THREAD_ID;
  sev.sigev_signo = MOTE_RT_DEADLINE_SIGNAL;
  sev._sigev_un._tid = gettid();
  if (timer_create(CLOCK_MONOTONIC, &sev, &t->timer) != 0) {
    mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0,
                 "cannot create the timer for a deadline: %s (too many threads with deadlines? "
                 "see RLIMIT_SIGPENDING)",
                 strerror(errno));
    return false;
  }
  t->has_timer = true;
  /* A thread that inherited a mask blocking the signal would never time
   * out: unblock it, once. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, MOTE_RT_DEADLINE_SIGNAL);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  return true;
}

mote_rt_status mote_rt_deadline_set(uint64_t timeout_ns, mote_rt_error *err) {
  mote_rt_thread *t = &mote_rt_tls;
  if (err) memset(err, 0, sizeof *err);
  if (!mote_rt_thread_prepare())
    return mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0,
                        "out of memory setting up the thread for a deadline");
  if (!make_timer(t, err)) return MOTE_RT_NOMEM;

  /* Disarmed while the fields change, so the handler never sees half. */
  t->armed = 0;
  atomic_signal_fence(memory_order_seq_cst);
  uint64_t now = now_ns();
  t->deadline_ns = timeout_ns;
  t->deadline_at = timeout_ns > UINT64_MAX - now ? UINT64_MAX : now + timeout_ns;
  t->expired = t->cancelled; /* a cancel is not forgotten by a new deadline */
  atomic_signal_fence(memory_order_seq_cst);
  t->armed = 1;
  atomic_signal_fence(memory_order_seq_cst);

  /* Absolute, so that the handler's "has it passed?" compares against the
   * same instant. A time already passed (timeout 0) fires at once. */
  struct itimerspec its;
  memset(&its, 0, sizeof its);
  its.it_value.tv_sec = (time_t)(t->deadline_at / NS_PER_S);
  its.it_value.tv_nsec = (long)(t->deadline_at % NS_PER_S);
  int rc = timer_settime(t->timer, TIMER_ABSTIME, &its, NULL);
  if (rc != 0 && errno == EINVAL) {
    /* A child of fork() inherits our TLS but not the timer: make its own. */
    t->has_timer = false;
    if (make_timer(t, err)) rc = timer_settime(t->timer, TIMER_ABSTIME, &its, NULL);
  }
  if (rc != 0) {
    t->armed = 0;
    if (!t->has_timer) return MOTE_RT_NOMEM; /* err filled by make_timer */
    return mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0,
                        "cannot arm the timer for a deadline: %s", strerror(errno));
  }
  return MOTE_RT_OK;
}

void mote_rt_deadline_clear(void) {
  mote_rt_thread *t = &mote_rt_tls;
  t->armed = 0;
  atomic_signal_fence(memory_order_seq_cst);
  /* An expired timer has fired (it is one-shot): nothing to disarm. A
   * cancelled thread's has not, necessarily. */
  if (t->has_timer && (!t->expired || t->cancelled)) {
    struct itimerspec off;
    memset(&off, 0, sizeof off);
    timer_settime(t->timer, 0, &off, NULL);
  }
  t->expired = t->cancelled;
  t->deadline_ns = 0;
}

bool mote_rt_deadline_expired(void) {
  return mote_rt_tls.expired != 0 || mote_rt_cancelled();
}

uint64_t mote_rt_deadline_at(void) {
  const mote_rt_thread *t = &mote_rt_tls;
  return t->armed ? t->deadline_at : UINT64_MAX;
}

void mote_rt_deadline_thread_exit(void) {
  mote_rt_thread *t = &mote_rt_tls;
  t->armed = 0;
  if (t->has_timer) timer_delete(t->timer);
  t->has_timer = false;
}

void mote_rt_deadline_message(char *buf, size_t n) {
  const mote_rt_thread *t = &mote_rt_tls;
  uint64_t ns = t->deadline_ns;
  if (!t->armed && !t->expired) {
    snprintf(buf, n, "%s", mote_rt_trap_message(MOTE_TRAP_TIMEOUT));
  } else if (ns % 1000000 == 0) {
    snprintf(buf, n, "timeout: the deadline of %llu ms passed", (unsigned long long)(ns / 1000000));
  } else {
    snprintf(buf, n, "timeout: the deadline of %.3f ms passed", (double)ns / 1e6);
  }
}
