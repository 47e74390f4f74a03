/*
 * rt: cancels (mote_rt_cancel_*): another thread stops a guest that loops
 * without calls, one that loops through host calls, and host code that waits
 * polling mote_rt_deadline_expired, all with MOTE_TRAP_CANCELLED (never a
 * timeout: the deadline in force is a minute away); a request made before the
 * run stops it at once; after unbind the thread runs as before, and a late
 * request does nothing to it. States only: the loops never end by themselves.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "rt/guest.h"
#include "rt_fixture.h"

#define NEVER_NS (60000ull * 1000000ull)

typedef struct job {
  mote_rt_module *m;
  const char *export_;
  uint32_t arg;
  mote_rt_cancel cancel;
  atomic_int ticks;   /* host calls made by the guest so far */
  atomic_int started; /* the worker is about to call */
  mote_rt_status st;
  mote_rt_error err;
  int after_add;      /* the worker's add after unbind: 1 when it returned 5 */
} job;


/* tick(x): counts; x == 2 waits for the deadline (or the cancel), polling. */
static uint32_t host_tick(void *ctx, uint32_t x) {
  job *j = ctx;
  mote_rt_host_enter();
  atomic_fetch_add(&j->ticks, 1);
  if (x == 2)
    while (!mote_rt_deadline_expired()) {
    }
  mote_rt_host_leave();
  return 2 * x;
}

static mote_rt_instance *new_inst(job *j) {
  static uint32_t spin_at_start;
  mote_rt_extern ext[2];
  memset(ext, 0, sizeof ext);
  ext[0].type.kind = MOTE_ABI_FUNC;
  ext[0].type.signature = "i:i";
  ext[0].binding.func.fn = (wasm_rt_function_ptr_t)host_tick;
  ext[0].binding.func.ctx = j;
  ext[1].type.kind = MOTE_ABI_GLOBAL;
  ext[1].type.valtype = MOTE_ABI_I32;
  ext[1].binding.global = &spin_at_start;
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  mote_rt_status st = mote_rt_instantiate(j->m, ext, NULL, &inst, &err);
  CHECK_MSG(st == MOTE_RT_OK, err.message);
  return inst;
}

static void *worker(void *p) {
  job *j = p;
  mote_rt_instance *inst = new_inst(j);
  if (!inst) return NULL;
  mote_rt_cancel_bind(&j->cancel);
  mote_rt_error derr;
  CHECK(mote_rt_deadline_set(NEVER_NS, &derr) == MOTE_RT_OK);
  atomic_store(&j->started, 1);
  j->st = fx_call(inst, j->export_, j->arg, 0, NULL, &j->err);
  /* Still bound: a later call is refused at once, as after a deadline. */
  mote_rt_error again;
  CHECK_EQ_INT(fx_call(inst, "add", 2, 3, NULL, &again), MOTE_RT_TRAP);
  CHECK_EQ_INT(again.trap, MOTE_TRAP_CANCELLED);
  mote_rt_deadline_clear();
  mote_rt_cancel_unbind(&j->cancel);
  /* Unbound: the thread and the instance work as before. */
  mote_val v;
  CHECK(mote_rt_deadline_set(NEVER_NS, &derr) == MOTE_RT_OK);
  if (fx_call(inst, "add", 2, 3, &v, &again) == MOTE_RT_OK && v.i32 == 5) j->after_add = 1;
  CHECK(!mote_rt_deadline_expired());
  mote_rt_deadline_clear();
  mote_rt_instance_free(inst);
  return NULL;
}

/* Runs export(arg) on a worker; once `wait_ticks` host calls happened (0:
 * once it is about to call), cancels it from here. */
static void run_cancelled(mote_rt_module *m, const char *export_, uint32_t arg, int wait_ticks,
                          bool request_first) {
  job j = {.m = m, .export_ = export_, .arg = arg};
  mote_rt_cancel_init(&j.cancel);
  if (request_first) mote_rt_cancel_request(&j.cancel);
  pthread_t t;
  CHECK(pthread_create(&t, NULL, worker, &j) == 0);
  while (!atomic_load(&j.started) || atomic_load(&j.ticks) < wait_ticks) sched_yield();
  mote_rt_cancel_request(&j.cancel);
  mote_rt_cancel_request(&j.cancel); /* twice: the same */
  pthread_join(t, NULL);
  CHECK_EQ_INT(j.st, MOTE_RT_TRAP);
  CHECK_EQ_INT(j.err.trap, MOTE_TRAP_CANCELLED);
  CHECK_STR_CONTAINS(j.err.message, "cancelled");
  CHECK_EQ_INT(j.after_add, 1);
  CHECK(mote_rt_cancel_requested(&j.cancel));
  /* After unbind (the thread is gone): does nothing, crashes nothing. */
  mote_rt_cancel_request(&j.cancel);
  mote_rt_cancel_destroy(&j.cancel);
}

static mote_rt_module *load(void) {
  static const char *so;
  if (!so) so = fx_build("deadline", "deadline", NULL, NULL);
  return fx_load(so);
}

TEST(tight_loop) {
  mote_rt_module *m = load();
  if (!m) return;
  for (int i = 0; i < 20; i++) run_cancelled(m, "spin", 0, 0, false);
  mote_rt_module_free(m);
}

TEST(loop_through_host) {
  mote_rt_module *m = load();
  if (!m) return;
  /* the guest is surely in its loop: it has called the host 100 times */
  for (int i = 0; i < 20; i++) run_cancelled(m, "spin_host", 3, 100, false);
  mote_rt_module_free(m);
}

TEST(host_waiting) {
  mote_rt_module *m = load();
  if (!m) return;
  /* the host function polls mote_rt_deadline_expired: the cancel ends it */
  for (int i = 0; i < 20; i++) run_cancelled(m, "call_host", 2, 1, false);
  mote_rt_module_free(m);
}

TEST(requested_before_run) {
  mote_rt_module *m = load();
  if (!m) return;
  run_cancelled(m, "spin", 0, 0, true);
  mote_rt_module_free(m);
}

TEST(other_threads_untouched) {
  /* A token bound and requested on one thread stops nothing on another. */
  mote_rt_module *m = load();
  if (!m) return;
  job j = {.m = m};
  mote_rt_cancel_init(&j.cancel);
  mote_rt_instance *inst = new_inst(&j);
  if (!inst) return;
  mote_rt_error err;
  mote_val v;
  CHECK(mote_rt_deadline_set(NEVER_NS, &err) == MOTE_RT_OK);
  mote_rt_cancel_request(&j.cancel); /* unbound: nothing */
  CHECK(!mote_rt_cancelled());
  CHECK_EQ_INT(fx_call(inst, "add", 1, 2, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 3);
  mote_rt_deadline_clear();
  mote_rt_instance_free(inst);
  mote_rt_cancel_destroy(&j.cancel);
  mote_rt_module_free(m);
}

RUN_TESTS(tight_loop, loop_through_host, host_waiting, requested_before_run,
          other_threads_untouched)
