/*
 * rt: linking and import type checks, host functions, nesting (guest ->
 * host -> guest), mote_rt_raise, cross-instance imports, threads, and
 * faults inside host functions.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "rt/guest.h"
#include "rt_fixture.h"

static const char *basic_so(void) {
  static const char *so;
  if (!so) so = fx_build("basic", "basic", NULL, NULL);
  return so;
}

static const char *host_so(void) {
  static const char *so;
  if (!so) so = fx_build("host", "host", NULL, NULL);
  return so;
}

/* The host side of the "host" module's imports. */
typedef struct host_env {
  wasm_rt_memory_t *mem;
  uint32_t g;
  mote_rt_instance *self;  /* the host instance, for recursion */
  mote_rt_instance *other; /* a basic instance, for nested calls */
  mote_rt_error inner_err; /* what the nested call returned */
  int depth, max_depth;
} host_env;

/* f(x): 42 -> proc_exit(3); 1000+ -> nested trapping call into `other`;
 * 2000+ -> recurse through the guest x-2000 times; otherwise 2x. */
static uint32_t host_f(void *ctx, uint32_t x) {
  host_env *env = ctx;
  uint32_t r = 2 * x;
  mote_rt_host_enter();
  if (x == 42) mote_rt_raise(MOTE_TRAP_EXIT, 3);
  if (x >= 2000) {
    env->depth++;
    if (env->depth > env->max_depth) env->max_depth = env->depth;
    mote_val v;
    r = 0;
    if (x > 2000 && fx_call(env->self, "callf", x - 1, 0, &v, &env->inner_err) == MOTE_RT_OK)
      r = v.i32;
    env->depth--;
  } else if (x >= 1000) {
    mote_val v;
    r = fx_call(env->other, "div", x, 0, &v, &env->inner_err) == MOTE_RT_TRAP ? 7 : 0;
  }
  mote_rt_host_leave();
  return r;
}

static mote_rt_extern host_func(wasm_rt_function_ptr_t fn, void *ctx, const char *sig) {
  mote_rt_extern e;
  memset(&e, 0, sizeof e);
  e.type.kind = MOTE_ABI_FUNC;
  e.type.signature = sig;
  e.binding.func.fn = fn;
  e.binding.func.ctx = ctx;
  return e;
}

/* The three imports of "host": f, mem, g. */
static void host_imports(host_env *env, mote_rt_extern ext[3]) {
  ext[0] = host_func((wasm_rt_function_ptr_t)host_f, env, "i:i");
  memset(&ext[1], 0, sizeof ext[1]);
  ext[1].type.kind = MOTE_ABI_MEMORY;
  ext[1].type.min = env->mem->pages;
  ext[1].type.has_max = 1;
  ext[1].type.max = 3;
  ext[1].binding.memory = env->mem;
  memset(&ext[2], 0, sizeof ext[2]);
  ext[2].type.kind = MOTE_ABI_GLOBAL;
  ext[2].type.valtype = MOTE_ABI_I32;
  ext[2].binding.global = &env->g;
}

static void expect_link_error(mote_rt_module *m, const mote_rt_extern *ext, const char *what) {
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  CHECK_EQ_INT(mote_rt_instantiate(m, ext, NULL, &inst, &err), MOTE_RT_LINK_FAILED);
  CHECK(inst == NULL);
  CHECK_STR_CONTAINS(err.message, what);
}

TEST(link_checks) {
  mote_rt_module *m = fx_load(host_so());
  if (!m) return;
  host_env env = {.mem = mote_rt_memory_new(1, 3, true), .g = 5};
  mote_rt_extern ext[3];

  host_imports(&env, ext);
  ext[0].type.signature = "ii:i";
  expect_link_error(m, ext, "incompatible import type for \"env\" \"f\": expected signature i:i");
  host_imports(&env, ext);
  ext[0].type.kind = MOTE_ABI_GLOBAL;
  expect_link_error(m, ext, "\"env\" \"f\": expected a function, got a global");
  host_imports(&env, ext);
  ext[2].type.mutable_ = 1;
  expect_link_error(m, ext, "\"env\" \"g\": expected immutable i32, got mutable i32");
  host_imports(&env, ext);
  ext[2].type.valtype = MOTE_ABI_I64;
  expect_link_error(m, ext, "\"env\" \"g\"");
  host_imports(&env, ext);
  ext[1].type.has_max = 0;
  expect_link_error(m, ext, "\"env\" \"mem\": needs a maximum of at most 10 pages");
  host_imports(&env, ext);
  ext[1].type.max = 11;
  expect_link_error(m, ext, "\"env\" \"mem\"");
  expect_link_error(m, NULL, "no imports");

  /* The memory's current size counts, not its declared minimum. */
  wasm_rt_memory_t *empty = mote_rt_memory_new(0, 3, true);
  host_imports(&env, ext);
  ext[1].binding.memory = empty;
  ext[1].type.min = 5; /* a lie: the real size (0 pages) is what is checked */
  expect_link_error(m, ext, "needs at least 1 pages, the provided one has 0");
  CHECK_EQ_INT(wasm_rt_grow_memory(empty, 1), 0);
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  CHECK_EQ_INT(mote_rt_instantiate(m, ext, NULL, &inst, &err), MOTE_RT_OK);
  mote_rt_instance_free(inst);
  mote_rt_memory_free(empty);

  mote_rt_memory_free(env.mem);
  mote_rt_module_free(m);
}

TEST(host_functions_and_nesting) {
  mote_rt_module *hm = fx_load(host_so()), *bm = fx_load(basic_so());
  if (!hm || !bm) return;
  host_env env = {.mem = mote_rt_memory_new(1, 3, true), .g = 5};
  mote_rt_extern ext[3];
  host_imports(&env, ext);
  mote_rt_instance *inst = NULL, *basic = NULL;
  mote_rt_error err;
  CHECK_EQ_INT(mote_rt_instantiate(hm, ext, NULL, &inst, &err), MOTE_RT_OK);
  CHECK_EQ_INT(mote_rt_instantiate(bm, NULL, NULL, &basic, &err), MOTE_RT_OK);
  if (!inst || !basic) return;
  env.self = inst;
  env.other = basic;

  mote_val v;
  CHECK_EQ_INT(fx_call(inst, "callf", 5, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 11);
  CHECK_EQ_INT(fx_call(inst, "get_g", 0, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 5);
  env.mem->data[100] = 0x2a;
  CHECK_EQ_INT(fx_call(inst, "read", 100, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 0x2a);
  CHECK_EQ_INT(fx_call(inst, "read", 65535, 0, &v, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_OOB);

  /* guest -> host -> guest that traps: the inner call returns the trap to
   * the host function, the outer call goes on. */
  CHECK_EQ_INT(fx_call(inst, "callf", 1000, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 8);
  CHECK_EQ_INT(env.inner_err.trap, MOTE_TRAP_DIV_BY_ZERO);

  /* guest -> host -> guest -> host ... 50 levels; the innermost returns 0,
   * each level adds 1. */
  CHECK_EQ_INT(fx_call(inst, "callf", 2050, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 51);
  CHECK_EQ_INT(env.max_depth, 51);
  CHECK_EQ_INT(env.depth, 0);

  /* A host function stops the run; the instance is usable afterwards. */
  CHECK_EQ_INT(fx_call(inst, "callf", 42, 0, &v, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_EXIT);
  CHECK_EQ_INT(err.detail, 3);
  CHECK_STR_CONTAINS(err.message, "exited with code 3");
  CHECK_EQ_INT(fx_call(inst, "callf", 1, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 3);

  /* Another instance's export as the import: a trap inside it is a trap. */
  mote_rt_extern ext2[3];
  host_imports(&env, ext2);
  ext2[0] = mote_rt_instance_export(basic, fx_export(bm, "load"));
  mote_rt_instance *inst2 = NULL;
  CHECK_EQ_INT(mote_rt_instantiate(hm, ext2, NULL, &inst2, &err), MOTE_RT_OK);
  if (inst2) {
    mote_rt_instance *b = basic;
    CHECK_EQ_INT(fx_call(b, "store", 8, 1234, NULL, &err), MOTE_RT_OK);
    CHECK_EQ_INT(fx_call(inst2, "callf", 8, 0, &v, &err), MOTE_RT_OK);
    CHECK_EQ_INT(v.i32, 1235);
    CHECK_EQ_INT(fx_call(inst2, "callf", 1u << 20, 0, &v, &err), MOTE_RT_TRAP);
    CHECK_EQ_INT(err.trap, MOTE_TRAP_OOB);
  }
  mote_rt_instance_free(inst2);

  mote_rt_instance_free(inst);
  mote_rt_instance_free(basic);
  mote_rt_memory_free(env.mem);
  mote_rt_module_free(hm);
  mote_rt_module_free(bm);
}

/* Each thread: its own instance, a loop of traps of every sort and
 * successful calls. */
typedef struct worker {
  mote_rt_module *m;
  int failures;
} worker;

static void *work(void *p) {
  worker *w = p;
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  if (mote_rt_instantiate(w->m, NULL, NULL, &inst, &err) != MOTE_RT_OK) {
    w->failures++;
    return NULL;
  }
  for (uint32_t i = 0; i < 300; i++) {
    mote_val v;
    if (fx_call(inst, "div", i, 0, &v, &err) != MOTE_RT_TRAP || err.trap != MOTE_TRAP_DIV_BY_ZERO)
      w->failures++;
    if (fx_call(inst, "add", i, 1, &v, &err) != MOTE_RT_OK || v.i32 != i + 1) w->failures++;
    if (fx_call(inst, "load", 0x10000000u + i, 0, &v, &err) != MOTE_RT_TRAP || err.trap != MOTE_TRAP_OOB)
      w->failures++;
    if (i % 50 == 0 &&
        (fx_call(inst, "rec", 0, 0, &v, &err) != MOTE_RT_TRAP || err.trap != MOTE_TRAP_EXHAUSTION))
      w->failures++;
    if (i % 100 == 0) {
      /* A fresh instance now and then, while the others trap. */
      mote_rt_instance *tmp = NULL;
      if (mote_rt_instantiate(w->m, NULL, NULL, &tmp, &err) != MOTE_RT_OK) w->failures++;
      mote_rt_instance_free(tmp);
    }
  }
  mote_rt_instance_free(inst);
  return NULL;
}

TEST(threads) {
  mote_rt_module *m = fx_load(basic_so());
  if (!m) return;
  pthread_t th[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){.m = m};
    CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_EQ_INT(w[i].failures, 0);
  }
  mote_rt_module_free(m);
}

/* A host function that reads past the guest memory it was given: inside a
 * live reservation, during a guest call, but in host code: a crash. */
static uint32_t bad_host_f(void *ctx, uint32_t x) {
  host_env *env = ctx;
  mote_rt_host_enter();
  uint32_t r = env->mem->data[(size_t)x << 20];
  mote_rt_host_leave();
  return r;
}

static void host_bug_during_guest_call(void) {
  mote_rt_module *m = fx_load(host_so());
  if (!m) _exit(3);
  host_env env = {.mem = mote_rt_memory_new(1, 3, true), .g = 5};
  mote_rt_extern ext[3];
  host_imports(&env, ext);
  ext[0].binding.func.fn = (wasm_rt_function_ptr_t)bad_host_f;
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  if (mote_rt_instantiate(m, ext, NULL, &inst, &err) != MOTE_RT_OK) _exit(4);
  mote_val v;
  fx_call(inst, "callf", 64, 0, &v, &err);
  _exit(5); /* not reached: the process must die */
}

TEST(host_fault_during_guest_call_crashes) {
  int p[2];
  CHECK(pipe(p) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(p[1], 2);
    close(p[0]);
    host_bug_during_guest_call();
  }
  close(p[1]);
  char out[4096];
  size_t got = 0;
  ssize_t r;
  while (got + 1 < sizeof out && (r = read(p[0], out + got, sizeof out - 1 - got)) > 0)
    got += (size_t)r;
  out[got] = '\0';
  close(p[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  CHECK_MSG(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, out);
  CHECK_STR_CONTAINS(out, "mote: fatal signal SIGSEGV");
  CHECK_STR_CONTAINS(out, "(not in guest code)");
}

RUN_TESTS(link_checks, host_functions_and_nesting, threads, host_fault_during_guest_call_crashes)
