/*
 * Per-thread state: the trap target stack, the guest/host flag, the
 * alternate signal stack and the stack bounds used to recognise stack
 * exhaustion; where a passed deadline may stop the guest.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rt/guest.h"
#include "rt/rt_internal.h"

__thread mote_rt_thread mote_rt_tls;

/* The handler only classifies the fault and jumps or reports: a small stack
 * is enough, plus room for sanitizer instrumentation. */
#define ALT_STACK_SIZE ((size_t)128 << 10)
/* Someone else's alternate stack (the sanitizers install one per thread) is
 * kept when at least this large. */
#define ALT_STACK_MIN ((size_t)16 << 10)

static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

/* Runs at thread exit for threads that ran guest code: value is our
 * alternate stack (from mmap) or a dummy when we did not install one. */
static void thread_exit(void *value) {
  mote_rt_thread *t = &mote_rt_tls;
  /* First, while the alternate stack still exists for its signal. */
  mote_rt_deadline_thread_exit();
  free(t->exc_buf);
  t->exc_buf = NULL;
  if (value != (void *)&thread_key) {
    stack_t cur;
    /* Disable it before unmapping, but only if it is still ours. */
    if (sigaltstack(NULL, &cur) == 0 && cur.ss_sp == value) {
      stack_t off = {.ss_flags = SS_DISABLE};
      sigaltstack(&off, NULL);
    }
    munmap(value, ALT_STACK_SIZE);
  }
}

static void make_key(void) {
  /* Without the key, stacks of exiting threads leak: nothing else to do. */
  (void)pthread_key_create(&thread_key, thread_exit);
}

/* Bytes of stack kept below the caller of mote_rt_thread_trim_stack. */
#define TRIM_KEEP (64u << 10)

/* The range this thread's stack may occupy. For the main thread glibc
 * derives the low end from RLIMIT_STACK, which is where growth stops. */
static void find_stack(mote_rt_thread *t) {
  pthread_attr_t attr;
  void *addr = NULL;
  size_t size = 0;
  t->stack_low = t->stack_high = 0;
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
    t->stack_low = (uintptr_t)addr;
    t->stack_high = (uintptr_t)addr + size;
  }
  pthread_attr_destroy(&attr);
}

bool mote_rt_thread_prepare(void) {
  mote_rt_thread *t = &mote_rt_tls;
  bool ok = false;
  void *stack = MAP_FAILED;
  if (t->prepared) return true;

  mote_rt_init();
  pthread_once(&thread_key_once, make_key);

  stack_t cur;
  void *key_value = (void *)&thread_key; /* "no stack of ours" */
  if (sigaltstack(NULL, &cur) != 0) goto out;
  if ((cur.ss_flags & SS_DISABLE) || cur.ss_size < ALT_STACK_MIN) {
    stack = mmap(NULL, ALT_STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED) goto out;
    stack_t ss = {.ss_sp = stack, .ss_size = ALT_STACK_SIZE, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) goto out;
    key_value = stack;
  }
  if (pthread_setspecific(thread_key, key_value) != 0) {
    if (key_value == stack) {
      stack_t off = {.ss_flags = SS_DISABLE};
      sigaltstack(&off, NULL);
    }
    goto out;
  }
  stack = MAP_FAILED; /* owned by the key destructor now */
  find_stack(t);
  t->main_thread = getpid() == (pid_t)syscall(SYS_gettid);
  t->prepared = true;
  ok = true;
out:
  if (stack != MAP_FAILED) munmap(stack, ALT_STACK_SIZE);
  return ok;
}

void mote_rt_thread_trim_stack(void) {
  mote_rt_thread *t = &mote_rt_tls;
  /* Not the main thread: its low end is a guess from RLIMIT_STACK. */
  /* The main thread is known since prepare: getpid and gettid were two system calls a call. */
  if (!t->prepared || !t->stack_low || t->main_thread) return;
  uintptr_t here = (uintptr_t)__builtin_frame_address(0);
  uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
  if (here < t->stack_low + TRIM_KEEP + page) return;
  uintptr_t end = (here - TRIM_KEEP) & ~(page - 1);
  madvise((void *)t->stack_low, end - t->stack_low, MADV_DONTNEED);
}

/* Keeps the compiler from moving the per-thread state's stores across
 * these points: the deadline's handler reads them asynchronously. */
#define SIGNAL_FENCE() atomic_signal_fence(memory_order_seq_cst)

/* True where the deadline's handler may jump to the innermost target: guest
 * code of a timed call, outside host functions and runtime work. */
static bool stoppable(const mote_rt_thread *t) {
  return t->frame && t->guest && t->host_depth == 0 && t->critical == 0 && !t->untimed;
}

void mote_rt_stop_if_expired(void) {
  mote_rt_thread *t = &mote_rt_tls;
  SIGNAL_FENCE();
  if (t->expired && stoppable(t))
    mote_rt_deliver(t->cancelled ? MOTE_TRAP_CANCELLED : MOTE_TRAP_TIMEOUT, 0);
}

mote_trap_kind mote_rt_run_guest(void (*body)(void *ctx), void *ctx, bool timed,
                                 uint32_t *detail) {
  mote_rt_thread *t = &mote_rt_tls;
  mote_rt_frame frame;
  mote_trap_kind kind = MOTE_TRAP_NONE;
  *detail = 0;
  if (!mote_rt_thread_prepare()) return MOTE_TRAP_RESOURCE;

  /* Everything restored below is saved before sigsetjmp and not modified
   * between it and a siglongjmp, so none of it needs `volatile`. */
  jmp_buf *saved_unwind = t->unwind;
  bool saved_guest = t->guest;
  uint32_t saved_host_depth = t->host_depth;
  uint32_t saved_critical = t->critical;
  bool saved_untimed = t->untimed;
  frame.prev = t->frame;

  /* savesigs=0: saving the mask is a system call (1.5 us on this VM, more
   * than the rest of a call). The fault and deadline handlers are installed
   * with SA_NODEFER and an empty mask (signals.c), so jumping out of them
   * leaves the thread's mask as it was. */
  if (sigsetjmp(frame.env, 0) == 0) {
    /* Only now is frame.env a valid target, so only now may the state say
     * "guest": host_depth goes to 0 last (when nested inside a host
     * function, it is what keeps the deadline's handler away until then). */
    SIGNAL_FENCE();
    t->frame = &frame;
    /* An exception no try block catches unwinds to this frame too. */
    t->unwind = &frame.env;
    t->untimed = !timed;
    t->critical = 0;
    t->guest = true;
    SIGNAL_FENCE();
    t->host_depth = 0;
    /* A deadline that passed before (or while we were getting here). */
    SIGNAL_FENCE();
    if (t->expired) mote_rt_stop_if_expired();
    body(ctx);
  } else {
    kind = t->trap_kind;
    *detail = t->trap_detail;
  }
  /* The reverse order: stop being stoppable first, then drop the target. */
  SIGNAL_FENCE();
  t->host_depth = saved_host_depth;
  t->guest = saved_guest;
  SIGNAL_FENCE();
  t->critical = saved_critical;
  t->untimed = saved_untimed;
  t->frame = frame.prev;
  t->unwind = saved_unwind;
  SIGNAL_FENCE();
  return kind;
}

/* Stack that host functions and runtime work need below the guest's frames.
 * A deep recursion may leave almost none, and a fault in there is not one
 * the guest can take: inside a host function it is the host's (signals.c:
 * the process dies), and inside runtime work a jump out of it may leave a
 * lock held (malloc's arena, from table.grow's realloc). So guest code that
 * enters either with less than this left has exhausted its call stack: the
 * trap is delivered there, before anything is taken. WASI's path functions
 * keep ~9 KiB of locals, and glibc's calls below them need a few KiB more;
 * a sanitizer build several times that. */
#define HOST_STACK_RESERVE ((uintptr_t)128 << 10)

static void need_stack(mote_rt_thread *t) {
  if (!t->frame || !t->guest || t->host_depth || t->critical || !t->stack_low) return;
  /* below the low bound too, where the main thread's stack may have grown
   * (signals.c's zone) */
  uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
  if (sp < t->stack_high && sp < t->stack_low + HOST_STACK_RESERVE &&
      sp + STACK_ZONE_BELOW >= t->stack_low)
    mote_rt_deliver(MOTE_TRAP_EXHAUSTION, 0);
}

void mote_rt_host_enter(void) {
  mote_rt_thread *t = &mote_rt_tls;
  need_stack(t);
  t->host_depth++;
  SIGNAL_FENCE();
}

void mote_rt_host_leave(void) {
  mote_rt_thread *t = &mote_rt_tls;
  if (t->host_depth == 0) return;
  SIGNAL_FENCE();
  t->host_depth--;
  /* A deadline that passed while the host function ran stops the guest now
   * that it is done. */
  SIGNAL_FENCE();
  if (t->expired) mote_rt_stop_if_expired();
}

void mote_rt_critical_enter(void) {
  mote_rt_thread *t = &mote_rt_tls;
  need_stack(t);
  t->critical++;
  SIGNAL_FENCE();
}

void mote_rt_critical_leave(void) {
  mote_rt_thread *t = &mote_rt_tls;
  SIGNAL_FENCE();
  if (t->critical > 0) t->critical--;
  SIGNAL_FENCE();
  if (t->expired) mote_rt_stop_if_expired();
}
