/*
 * SIGSEGV/SIGBUS: a fault is a guest trap only while this thread runs guest
 * code (inside mote_rt_call/instantiate, not inside a host function) and the
 * address is in a linear memory reservation (out of bounds access) or on
 * the thread's stack guard (call stack exhausted). Anything else is a bug
 * in the host: report it and die by the same signal.
 *
 * MOTE_RT_DEADLINE_SIGNAL: a thread's deadline passed (deadline.c).
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"


static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static volatile sig_atomic_t installed;

/* Guest code never faults on its own stack except by running out of it:
 * below the low bound, or inside the range when the main stack could not
 * grow that far (another mapping in the way). */
static bool in_stack_zone(const mote_rt_thread *t, uintptr_t addr) {
  if (!t->stack_low) return false;
  uintptr_t lo = t->stack_low > STACK_ZONE_BELOW ? t->stack_low - STACK_ZONE_BELOW : 0;
  return addr >= lo && addr < t->stack_high;
}

static void on_fault(int sig, siginfo_t *si, void *ucontext) {
  (void)ucontext;
  mote_rt_thread *t = &mote_rt_tls;
  uintptr_t addr = (uintptr_t)si->si_addr;
  bool in_guest = t->frame && t->guest && t->host_depth == 0;
  /* A deadline passing now must not jump out of this handler (and hide a
   * crash): it waits. A trap delivered below restores the count. */
  t->critical++;

  if (in_guest && si->si_code > 0) {
    if (mote_rt_memory_region_contains(addr)) mote_rt_deliver(MOTE_TRAP_OOB, 0);
    if (in_stack_zone(t, addr)) mote_rt_deliver(MOTE_TRAP_EXHAUSTION, 0);
  }

  mote_rt_write_str(sig == SIGBUS ? "mote: fatal signal SIGBUS" : "mote: fatal signal SIGSEGV");
  mote_rt_write_str(" at address ");
  mote_rt_write_hex(addr);
  mote_rt_write_str(in_guest ? " (in guest code, outside any linear memory or stack guard)\n"
                             : " (not in guest code)\n");
  /* Die by the signal itself: with the default action restored, returning
   * re-executes the faulting instruction; a sent signal is raised again. */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  if (si->si_code <= 0) raise(sig);
}

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* SA_NODEFER with an empty sa_mask: the handler runs with the thread's
   * own mask, so a trap may siglongjmp to a target saved without the mask
   * (thread.c) and leave nothing blocked. */
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIGBUS, &sa, NULL) != 0) {
    /* Without the handler every guest OOB access would kill the process:
     * nothing can run safely. */
    mote_rt_write_str("mote: cannot install the SIGSEGV/SIGBUS handlers\n");
    abort();
  }
  /* The same flags for the same reason, plus SA_RESTART: a deadline
   * passing while host code waits in read() or write() must not make those
   * fail. */
  sa.sa_sigaction = mote_rt_deadline_on_signal;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
  if (sigaction(MOTE_RT_DEADLINE_SIGNAL, &sa, NULL) != 0) {
    mote_rt_write_str("mote: cannot install the deadline signal's handler\n");
    abort();
  }
  installed = 1;
}

void mote_rt_init(void) {
  pthread_once(&init_once, install);
}

void wasm_rt_init(void) {
  mote_rt_init();
}

bool wasm_rt_is_initialized(void) {
  /* Generated init/instantiate functions assert this; loading a module
   * initialises the runtime first. */
  return installed != 0;
}

void wasm_rt_free(void) {
  /* Process-wide state (handlers, function types) lives until exit: other
   * threads and modules may still use it. */
}
