/*
 * rt: deadlines. Tight loops without calls, loops through memory.grow and
 * host functions (never interrupted half way), nesting (guest -> host ->
 * guest), instantiation, threads, deadlines that do not expire or are
 * cleared, the signal mask afterwards, and what a deadline costs.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "rt/guest.h"
#include "rt_fixture.h"

#define MS (1000000ull)
/* How long after its deadline a guest may stop before the test calls it a
 * failure. Not a latency goal: this suite runs beside builds on 2 cores, where
 * a thread waits tens of ms for a CPU (more under ASan), so a tight slack fails
 * by chance (50 ms did). The proof that the deadline stopped a guest is the
 * state: the loops never end by themselves, so a call that returns TIMEOUT was
 * stopped. This bound only catches a stop seconds late; the real latency is a
 * figure, printed by `cost` (the most any call of this run was late). */
#define LATE_NS (5000ull * MS)
/* A deadline no call reaches, however loaded the machine: for calls that must
 * not time out. */
#define NEVER_NS (60000ull * MS)

static const char *deadline_so(void) {
  static const char *so;
  if (!so) so = fx_build("deadline", "deadline", NULL, NULL);
  return so;
}

/* The latest stop after a deadline in this run, for `cost` to print. */
static uint64_t late_max_ns;
static unsigned late_count;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void busy_wait(uint64_t ns) {
  uint64_t end = now_ns() + ns;
  while (now_ns() < end) {
  }
}

/* The host side of the module's imports, one per instance. */
typedef struct host_env {
  uint32_t spin_at_start;        /* the imported global */
  uint64_t busy_ns;              /* tick(0): the wait between the two steps */
  volatile uint64_t step1, step2; /* tick(0): both always done together */
  mote_rt_instance *inner;       /* tick(1): calls its "spin", then its "add" */
  mote_rt_error inner_err, again_err;
  int after_inner;               /* tick(1): the host code after the inner calls ran */
  int polls;                     /* tick(2): how often it polled the deadline */
} host_env;

/* tick(0): two steps with a wait between; tick(1): a nested call that
 * spins, then another; tick(2): waits for the deadline, polling; else 2x. */
static uint32_t host_tick(void *ctx, uint32_t x) {
  host_env *env = ctx;
  uint32_t r = 2 * x;
  mote_rt_host_enter();
  if (x == 0) {
    env->step1++;
    busy_wait(env->busy_ns);
    env->step2++;
  } else if (x == 1) {
    mote_val v;
    fx_call(env->inner, "spin", 0, 0, &v, &env->inner_err);
    /* The deadline has passed: a new call is refused at once. */
    fx_call(env->inner, "add", 1, 2, &v, &env->again_err);
    env->after_inner++;
  } else if (x == 2) {
    while (!mote_rt_deadline_expired()) env->polls++;
  }
  mote_rt_host_leave();
  return r;
}

static mote_rt_status new_inst(mote_rt_module *m, host_env *env, mote_rt_instance **inst,
                               mote_rt_error *err) {
  mote_rt_extern ext[2];
  memset(ext, 0, sizeof ext);
  ext[0].type.kind = MOTE_ABI_FUNC;
  ext[0].type.signature = "i:i";
  ext[0].binding.func.fn = (wasm_rt_function_ptr_t)host_tick;
  ext[0].binding.func.ctx = env;
  ext[1].type.kind = MOTE_ABI_GLOBAL;
  ext[1].type.valtype = MOTE_ABI_I32;
  ext[1].binding.global = &env->spin_at_start;
  return mote_rt_instantiate(m, ext, NULL, inst, err);
}

static mote_rt_instance *new_ok(mote_rt_module *m, host_env *env) {
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  mote_rt_status st = new_inst(m, env, &inst, &err);
  CHECK_MSG(st == MOTE_RT_OK, err.message);
  return inst;
}

static void set_deadline(uint64_t ns) {
  mote_rt_error err;
  mote_rt_status st = mote_rt_deadline_set(ns, &err);
  CHECK_MSG(st == MOTE_RT_OK, err.message);
}

/* Calls `name`(a0) under a deadline of `ms`; expects a timeout no earlier
 * than the deadline and no later than the slack after it. */
static void expect_timeout(mote_rt_instance *inst, const char *name, uint32_t a0, uint64_t ms) {
  mote_rt_error err;
  uint64_t t0 = now_ns();
  set_deadline(ms * MS);
  mote_rt_status st = fx_call(inst, name, a0, 0, NULL, &err);
  uint64_t took = now_ns() - t0;
  mote_rt_deadline_clear();
  CHECK_EQ_INT(st, MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_TIMEOUT);
  char want[64];
  snprintf(want, sizeof want, "timeout: the deadline of %llu ms passed", (unsigned long long)ms);
  CHECK_STR_CONTAINS(err.message, want);
  /* Never early: a state of the clock, whatever the load. */
  CHECK_MSG(took >= ms * MS, name);
  CHECK_MSG(took <= ms * MS + LATE_NS, name);
  if (took >= ms * MS) {
    uint64_t late = took - ms * MS;
    if (late > late_max_ns) late_max_ns = late;
    late_count++;
  }
}

static void expect_add(mote_rt_instance *inst, uint32_t a, uint32_t b) {
  mote_val v;
  mote_rt_error err;
  CHECK_EQ_INT(fx_call(inst, "add", a, b, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, a + b);
}

/* No signal the test had unblocked is blocked now. */
static bool mask_unchanged(const sigset_t *before) {
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, NULL, &now);
  for (int s = 1; s <= SIGRTMAX; s++)
    if (sigismember(&now, s) != sigismember(before, s)) return false;
  return true;
}

TEST(tight_loop) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  host_env env = {0};
  mote_rt_instance *inst = new_ok(m, &env);
  if (!inst) return;
  sigset_t before;
  pthread_sigmask(SIG_SETMASK, NULL, &before);
  for (int i = 0; i < 50; i++) {
    expect_timeout(inst, "spin", 0, 20);
    /* The same thread and instance, without and with a deadline. */
    expect_add(inst, (uint32_t)i, 1);
    set_deadline(NEVER_NS);
    expect_add(inst, (uint32_t)i, 2);
    mote_rt_deadline_clear();
  }
  CHECK(mask_unchanged(&before));
  /* Memory is intact and usable. */
  mote_val v;
  mote_rt_error err;
  CHECK_EQ_INT(fx_call(inst, "fill", 1000, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 999 * 1000 / 2);
  mote_rt_instance_free(inst);

  /* A fresh instance of the same module, timed out and freed at once. */
  for (int i = 0; i < 20; i++) {
    inst = new_ok(m, &env);
    if (!inst) break;
    expect_timeout(inst, "spin", 0, 5);
    mote_rt_instance_free(inst);
  }
  mote_rt_module_free(m);
}

TEST(loops_through_runtime_and_host) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  host_env env = {.busy_ns = 200000};
  mote_rt_instance *inst = new_ok(m, &env);
  if (!inst) return;
  wasm_rt_memory_t *mem = mote_rt_instance_export(inst, fx_export(m, "mem")).binding.memory;
  for (int i = 0; i < 20; i++) {
    expect_timeout(inst, "spin_grow", 0, 10);
    CHECK(mem->pages == 1 && mem->size == 65536);
    expect_add(inst, 2, 3);
  }
  /* A host function that takes 200 us between its two steps: the deadline
   * almost always passes inside it, and it always finishes. */
  for (int i = 0; i < 30; i++) {
    expect_timeout(inst, "spin_host", 0, 10);
    CHECK(env.step1 > 0);
    CHECK_EQ_INT(env.step1, env.step2);
    expect_add(inst, 2, 3);
  }
  /* Mostly guest time: the deadline passes in either. */
  env.busy_ns = 0;
  for (int i = 0; i < 30; i++) {
    expect_timeout(inst, "spin_host", 0, 3);
    CHECK_EQ_INT(env.step1, env.step2);
  }
  /* A host function that waits for the deadline, polling. A thread held off
   * its CPU for the whole 10 ms before the call reaches the host finds the
   * deadline already passed and polls 0 times: that attempt shows nothing, so
   * try again (a host that never sees the deadline unpassed fails them all). */
  for (int attempt = 0; attempt < 50 && env.polls == 0; attempt++)
    expect_timeout(inst, "call_host", 2, 10);
  CHECK(env.polls > 0);
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

TEST(nesting) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  host_env outer_env = {0}, inner_env = {0};
  mote_rt_instance *outer = new_ok(m, &outer_env), *inner = new_ok(m, &inner_env);
  if (!outer || !inner) return;
  outer_env.inner = inner;
  /* Ten rounds where the host was reached. A thread held off its CPU for the
   * whole 10 ms before the outer guest calls the host finds the deadline
   * passed and never reaches it: such a round shows nothing and is run again
   * (a runtime that never reaches the host fails every one). */
  int rounds = 0;
  for (int attempt = 0; attempt < 100 && rounds < 10; attempt++) {
    memset(&outer_env.inner_err, 0, sizeof outer_env.inner_err);
    memset(&outer_env.again_err, 0, sizeof outer_env.again_err);
    int after = outer_env.after_inner;
    /* guest -> host -> guest that spins: both calls time out, and the host
     * code between them runs to its end. */
    expect_timeout(outer, "call_host", 1, 10);
    if (outer_env.after_inner == after && outer_env.inner_err.status == MOTE_RT_OK) continue;
    rounds++;
    CHECK_EQ_INT(outer_env.after_inner, after + 1);
    CHECK_EQ_INT(outer_env.inner_err.status, MOTE_RT_TRAP);
    CHECK_EQ_INT(outer_env.inner_err.trap, MOTE_TRAP_TIMEOUT);
    CHECK_EQ_INT(outer_env.again_err.status, MOTE_RT_TRAP);
    CHECK_EQ_INT(outer_env.again_err.trap, MOTE_TRAP_TIMEOUT);
    /* Spinning in the outer guest around the nested call. */
    expect_timeout(outer, "spin_host", 1, 10);
    expect_add(outer, 4, 5);
    expect_add(inner, 4, 5);
  }
  CHECK_EQ_INT(rounds, 10);
  mote_rt_instance_free(outer);
  mote_rt_instance_free(inner);
  mote_rt_module_free(m);
}

TEST(instantiate) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  for (int i = 0; i < 10; i++) {
    /* The start function spins: the instantiation times out and leaves
     * nothing behind. */
    host_env env = {.spin_at_start = 1};
    mote_rt_instance *inst = NULL;
    mote_rt_error err;
    uint64_t t0 = now_ns();
    set_deadline(10 * MS);
    CHECK_EQ_INT(new_inst(m, &env, &inst, &err), MOTE_RT_TRAP);
    CHECK(now_ns() - t0 <= 10 * MS + LATE_NS);
    CHECK_EQ_INT(err.trap, MOTE_TRAP_TIMEOUT);
    CHECK_STR_CONTAINS(err.message, "timeout: the deadline of 10 ms passed");
    CHECK(inst == NULL);
    /* Still expired: a new instance is refused too, until cleared. */
    env.spin_at_start = 0;
    CHECK_EQ_INT(new_inst(m, &env, &inst, &err), MOTE_RT_TRAP);
    CHECK_EQ_INT(err.trap, MOTE_TRAP_TIMEOUT);
    mote_rt_deadline_clear();
    inst = new_ok(m, &env);
    if (inst) expect_add(inst, 1, 1);
    mote_rt_instance_free(inst);
  }
  /* Loading a module is not timed. */
  set_deadline(0);
  mote_rt_module *m2 = fx_load(deadline_so());
  mote_rt_deadline_clear();
  mote_rt_module_free(m2);
  mote_rt_module_free(m);
}

TEST(no_expiry) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  host_env env = {0};
  mote_rt_instance *inst = new_ok(m, &env);
  if (!inst) return;
  mote_val v;
  mote_rt_error err;

  /* A deadline that does not pass changes nothing. */
  set_deadline(NEVER_NS);
  CHECK_EQ_INT(fx_call(inst, "fill", 5000, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 4999 * 5000 / 2);
  CHECK_EQ_INT(fx_call(inst, "call_host", 21, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 42);
  CHECK(!mote_rt_deadline_expired());
  mote_rt_deadline_clear();

  /* Cleared before it passes: no timeout later, in or out of guest code. The
   * call under the 10 ms deadline finishes unless the thread is held off its
   * CPU past the deadline first; then it times out, never earlier. */
  for (int i = 0; i < 5; i++) {
    uint64_t t0 = now_ns();
    set_deadline(10 * MS);
    mote_rt_status st = fx_call(inst, "add", 1, 2, &v, &err);
    mote_rt_deadline_clear();
    if (st != MOTE_RT_OK)
      CHECK(st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_TIMEOUT && now_ns() - t0 >= 10 * MS);
    else
      CHECK_EQ_INT(v.i32, 3);
    busy_wait(20 * MS);
    CHECK(!mote_rt_deadline_expired());
    expect_add(inst, 3, 4);
  }
  set_deadline(10 * MS);
  mote_rt_deadline_clear();
  CHECK_EQ_INT(fx_call(inst, "call_host", 0, 0, &v, &err), MOTE_RT_OK);
  env.busy_ns = 30 * MS; /* past the old deadline inside a host function */
  CHECK_EQ_INT(fx_call(inst, "call_host", 0, 0, &v, &err), MOTE_RT_OK);
  env.busy_ns = 0;

  /* Re-armed before it passes: the earlier arming does not fire (nor does
   * it count if it fired before the re-arming). */
  set_deadline(10 * MS);
  set_deadline(NEVER_NS);
  busy_wait(30 * MS);
  CHECK(!mote_rt_deadline_expired());
  expect_add(inst, 5, 6);
  mote_rt_deadline_clear();

  /* It passes while no guest runs: the next call is refused, and a new
   * deadline starts afresh. */
  set_deadline(5 * MS);
  uint64_t t0 = now_ns();
  while (!mote_rt_deadline_expired() && now_ns() - t0 < LATE_NS) {
  }
  CHECK(mote_rt_deadline_expired());
  CHECK_EQ_INT(fx_call(inst, "add", 1, 1, &v, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_TIMEOUT);
  CHECK_STR_CONTAINS(err.message, "the deadline of 5 ms passed");
  set_deadline(NEVER_NS);
  expect_add(inst, 1, 1);
  mote_rt_deadline_clear();

  /* 0: already passed. Sub-millisecond deadlines say so. */
  set_deadline(0);
  CHECK_EQ_INT(fx_call(inst, "add", 1, 1, &v, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_TIMEOUT);
  set_deadline(500000);
  CHECK_EQ_INT(fx_call(inst, "spin", 0, 0, &v, &err), MOTE_RT_TRAP);
  CHECK_STR_CONTAINS(err.message, "the deadline of 0.500 ms passed");
  mote_rt_deadline_clear();
  expect_add(inst, 1, 1);

  /* A timeout raised by a host without a deadline has the plain message. */
  CHECK_STR_CONTAINS(mote_rt_trap_message(MOTE_TRAP_TIMEOUT), "timeout");
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

typedef struct worker {
  mote_rt_module *m;
  int failures, timeouts;
} worker;

static void *work(void *p) {
  worker *w = p;
  host_env env = {0}, inner_env = {0};
  mote_rt_instance *inst = NULL, *inner = NULL;
  mote_rt_error err;
  if (new_inst(w->m, &env, &inst, &err) != MOTE_RT_OK ||
      new_inst(w->m, &inner_env, &inner, &err) != MOTE_RT_OK) {
    w->failures++;
    return NULL;
  }
  env.inner = inner;
  static const char *const loops[] = {"spin", "spin_grow", "spin_host", "call_host"};
  for (uint32_t i = 0; i < 40; i++) {
    mote_val v;
    const char *name = loops[i % 4];
    uint32_t arg = i % 4 == 3 ? 1 : 0;
    uint64_t t0 = now_ns();
    if (mote_rt_deadline_set(5 * MS, &err) != MOTE_RT_OK) w->failures++;
    mote_rt_status st = fx_call(inst, name, arg, 0, &v, &err);
    if (now_ns() - t0 > 5 * MS + LATE_NS) w->failures++;
    mote_rt_deadline_clear();
    if (st != MOTE_RT_TRAP || err.trap != MOTE_TRAP_TIMEOUT) w->failures++;
    else w->timeouts++;
    if (env.step1 != env.step2) w->failures++;
    if (fx_call(inst, "add", i, 1, &v, &err) != MOTE_RT_OK || v.i32 != i + 1) w->failures++;
    if (mote_rt_deadline_set(NEVER_NS, &err) != MOTE_RT_OK) w->failures++;
    if (fx_call(inst, "fill", 100, 0, &v, &err) != MOTE_RT_OK || v.i32 != 4950) w->failures++;
    mote_rt_deadline_clear();
    if (i % 10 == 0) {
      mote_rt_instance *tmp = NULL;
      if (new_inst(w->m, &inner_env, &tmp, &err) != MOTE_RT_OK) w->failures++;
      mote_rt_instance_free(tmp);
    }
  }
  mote_rt_instance_free(inst);
  mote_rt_instance_free(inner);
  return NULL;
}

/* POSIX timers the process has, or -1 if the kernel does not say. */
static int count_timers(void) {
  FILE *f = fopen("/proc/self/timers", "r");
  if (!f) return -1;
  char line[256];
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "ID:", 3) == 0) n++;
  fclose(f);
  return n;
}

TEST(threads) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  int timers = count_timers();
  /* Twice: the second round's threads get timers of their own after the
   * first round's were deleted at thread exit. */
  for (int round = 0; round < 2; round++) {
    pthread_t th[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
      w[i] = (worker){.m = m};
      CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
      pthread_join(th[i], NULL);
      CHECK_EQ_INT(w[i].failures, 0);
      CHECK_EQ_INT(w[i].timeouts, 40);
    }
  }
  /* Each thread's timer went with it. */
  CHECK_EQ_INT(count_timers(), timers);
  mote_rt_module_free(m);
}

/* A thread that starts with every signal blocked still times out. */
static void *blocked_worker(void *p) {
  worker *w = p;
  host_env env = {0};
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  if (new_inst(w->m, &env, &inst, &err) != MOTE_RT_OK) {
    w->failures++;
    return NULL;
  }
  if (mote_rt_deadline_set(5 * MS, &err) != MOTE_RT_OK) w->failures++;
  if (fx_call(inst, "spin", 0, 0, NULL, &err) != MOTE_RT_TRAP || err.trap != MOTE_TRAP_TIMEOUT)
    w->failures++;
  else
    w->timeouts++;
  mote_rt_deadline_clear();
  mote_rt_instance_free(inst);
  return NULL;
}

TEST(blocked_signal_mask) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t th;
  worker w = {.m = m};
  int rc = pthread_create(&th, NULL, blocked_worker, &w);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  CHECK(rc == 0);
  if (rc == 0) pthread_join(th, NULL);
  CHECK_EQ_INT(w.failures, 0);
  CHECK_EQ_INT(w.timeouts, 1);
  mote_rt_module_free(m);
}

TEST(fork_child) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  host_env env = {0};
  mote_rt_instance *inst = new_ok(m, &env);
  if (!inst) return;
  set_deadline(1000 * MS); /* this thread has its timer now */
  CHECK(mote_rt_deadline_at() != UINT64_MAX);
  mote_rt_deadline_clear();
  CHECK(mote_rt_deadline_at() == UINT64_MAX);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    /* The child has the thread's state but not its timer. */
    mote_rt_error err;
    if (mote_rt_deadline_set(5 * MS, &err) != MOTE_RT_OK) _exit(2);
    if (fx_call(inst, "spin", 0, 0, NULL, &err) != MOTE_RT_TRAP || err.trap != MOTE_TRAP_TIMEOUT)
      _exit(3);
    _exit(0);
  }
  int st = 0;
  CHECK(pid > 0 && waitpid(pid, &st, 0) == pid);
  CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child did not time out");
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

/* Not a check: what a deadline adds to a call, printed for the record. */
TEST(cost) {
  mote_rt_module *m = fx_load(deadline_so());
  if (!m) return;
  host_env env = {0};
  mote_rt_instance *inst = new_ok(m, &env);
  if (!inst) return;
  uint32_t add = fx_export(m, "add");
  mote_val args[2] = {{.i32 = 1}, {.i32 = 2}}, res[1];
  mote_rt_error err;
  enum { N = 200000 };
  double per[3];
  for (int mode = 0; mode < 3; mode++) {
    uint64_t t0 = now_ns();
    if (mode == 1) set_deadline(60000 * MS);
    for (int i = 0; i < N; i++) {
      if (mode == 2) mote_rt_deadline_set(60000 * MS, &err);
      mote_rt_call(inst, add, args, res, &err);
      if (mode == 2) mote_rt_deadline_clear();
    }
    if (mode == 1) mote_rt_deadline_clear();
    per[mode] = (double)(now_ns() - t0) / N;
  }
  printf("cost: mote_rt_call %.0f ns; under an armed deadline %.0f ns; with set+clear around "
         "each call %.0f ns\n",
         per[0], per[1], per[2]);
  printf("latency: of %u guests stopped by a deadline, the latest stopped %.1f ms after it\n",
         late_count, (double)late_max_ns / 1e6);
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

RUN_TESTS(tight_loop, loops_through_runtime_and_host, nesting, instantiate, no_expiry, threads,
          blocked_signal_mask, fork_child, cost)
