/*
 * rt: loading, traps of every kind, stack exhaustion, memory limits,
 * instantiate/free churn, faults outside guest code.
 */
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "rt_fixture.h"

static const char *basic_so(void) {
  static const char *so;
  if (!so) so = fx_build("basic", "basic", NULL, NULL);
  return so;
}

/* Expects export `name`(a0, a1) to trap with `kind`. */
static void expect_trap(mote_rt_instance *inst, const char *name, uint32_t a0, uint32_t a1,
                        mote_trap_kind kind, const char *message) {
  mote_rt_error err;
  mote_rt_status st = fx_call(inst, name, a0, a1, NULL, &err);
  CHECK_EQ_INT(st, MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, kind);
  CHECK_STR_CONTAINS(err.message, message);
}

TEST(load_and_call) {
  mote_rt_module *m = fx_load(basic_so());
  if (!m) return;
  CHECK(mote_rt_module_find_export(m, "add", 3) >= 0);
  CHECK(mote_rt_module_find_export(m, "ad", 2) < 0);
  CHECK(mote_rt_module_find_export(m, "addx", 4) < 0);
  mote_rt_instance *inst = test_instance(m, NULL);
  mote_val r;
  mote_rt_error err;
  CHECK_EQ_INT(fx_call(inst, "add", 40, 2, &r, &err), MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 42);
  CHECK_EQ_INT(fx_call(inst, "store", 1000, 0xdeadbeef, NULL, &err), MOTE_RT_OK);
  CHECK_EQ_INT(fx_call(inst, "load", 1000, 0, &r, &err), MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 0xdeadbeef);

  /* Several results. */
  mote_val args[1] = {{.i32 = 9}}, res[2];
  CHECK_EQ_INT(mote_rt_call(inst, fx_export(m, "pair"), args, res, &err), MOTE_RT_OK);
  CHECK_EQ_INT(res[0].i32, 9);
  CHECK_EQ_INT(res[1].i64, 9);

  /* Exports as externs: memory with its current size, global storage. */
  mote_rt_extern mem = mote_rt_instance_export(inst, fx_export(m, "mem"));
  CHECK_EQ_INT(mem.type.kind, MOTE_ABI_MEMORY);
  CHECK_EQ_INT(mem.type.min, 1);
  CHECK(mem.binding.memory && mem.binding.memory->data[1000] == 0xef);
  mote_rt_extern g = mote_rt_instance_export(inst, fx_export(m, "g"));
  CHECK_EQ_INT(g.type.kind, MOTE_ABI_GLOBAL);
  CHECK(g.binding.global && *(uint64_t *)g.binding.global == 7);
  *(uint64_t *)g.binding.global = 99;
  CHECK_EQ_INT(fx_call(inst, "get_g", 0, 0, &r, &err), MOTE_RT_OK);
  CHECK_EQ_INT(r.i64, 99);
  mote_rt_extern add = mote_rt_instance_export(inst, fx_export(m, "add"));
  CHECK(add.binding.func.fn != NULL && add.binding.func.ctx != NULL);
  CHECK_STR_CONTAINS(add.type.signature, "ii:i");

  /* Not a function. */
  mote_val none[1];
  CHECK_EQ_INT(mote_rt_call(inst, fx_export(m, "mem"), none, none, &err), MOTE_RT_LINK_FAILED);
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

TEST(trap_kinds) {
  mote_rt_module *m = fx_load(basic_so());
  if (!m) return;
  mote_rt_instance *inst = test_instance(m, NULL);
  expect_trap(inst, "unreachable", 0, 0, MOTE_TRAP_UNREACHABLE, "unreachable");
  expect_trap(inst, "div", 1, 0, MOTE_TRAP_DIV_BY_ZERO, "integer divide by zero");
  expect_trap(inst, "div", 0x80000000u, (uint32_t)-1, MOTE_TRAP_INT_OVERFLOW, "integer overflow");
  expect_trap(inst, "call_null", 0, 0, MOTE_TRAP_CALL_INDIRECT, "indirect call");
  expect_trap(inst, "load", 65536 - 3, 0, MOTE_TRAP_OOB, "out of bounds memory access");
  expect_trap(inst, "load", 0xffffffffu, 0, MOTE_TRAP_OOB, "out of bounds memory access");
  /* addr + offset = 8 GiB - 2: the last bytes any access can reach. */
  expect_trap(inst, "load_far", 0xffffffffu, 0, MOTE_TRAP_OOB, "out of bounds memory access");
  expect_trap(inst, "load_far", 0, 0, MOTE_TRAP_OOB, "out of bounds memory access");

  mote_val a[1] = {{.f64 = NAN}}, r[1];
  mote_rt_error err;
  CHECK_EQ_INT(mote_rt_call(inst, fx_export(m, "trunc"), a, r, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_INVALID_CONVERSION);
  a[0].f64 = 1e12;
  CHECK_EQ_INT(mote_rt_call(inst, fx_export(m, "trunc"), a, r, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_INT_OVERFLOW);

  /* The instance still works after all that. */
  mote_val v;
  CHECK_EQ_INT(fx_call(inst, "add", 1, 2, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 3);
  CHECK_EQ_INT(fx_call(inst, "load", 65532, 0, &v, &err), MOTE_RT_OK);
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

TEST(stack_exhaustion) {
  mote_rt_module *m = fx_load(basic_so());
  if (!m) return;
  mote_rt_instance *inst = test_instance(m, NULL);
  for (int i = 0; i < 3; i++) {
    expect_trap(inst, "rec", 0, 0, MOTE_TRAP_EXHAUSTION, "call stack exhausted");
    mote_val v;
    mote_rt_error err;
    CHECK_EQ_INT(fx_call(inst, "add", 20, 22, &v, &err), MOTE_RT_OK);
    CHECK_EQ_INT(v.i32, 42);
  }
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

TEST(memory_grow_and_caps) {
  mote_rt_module *m = fx_load(basic_so());
  if (!m) return;
  mote_val v;
  mote_rt_error err;

  /* The module's own maximum (100 pages). */
  mote_rt_instance *inst = test_instance(m, NULL);
  CHECK_EQ_INT(fx_call(inst, "grow", 99, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 1);
  CHECK_EQ_INT(fx_call(inst, "grow", 1, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT((int32_t)v.i32, -1);
  CHECK_EQ_INT(fx_call(inst, "size", 0, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 100);
  /* The grown pages are usable and zero. */
  CHECK_EQ_INT(fx_call(inst, "load", 100 * 65536 - 4, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 0);
  expect_trap(inst, "load", 100 * 65536 - 3, 0, MOTE_TRAP_OOB, "out of bounds");
  mote_rt_instance_free(inst);

  /* The instance's cap lowers it. */
  mote_rt_limits limits = {.max_memory_pages = 5};
  inst = test_instance(m, &limits);
  CHECK_EQ_INT(fx_call(inst, "grow", 4, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 1);
  CHECK_EQ_INT(fx_call(inst, "grow", 1, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT((int32_t)v.i32, -1);
  CHECK_EQ_INT(fx_call(inst, "grow", 0, 0, &v, &err), MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 5);
  mote_rt_instance_free(inst);

  /* A cap below what the module needs (its table has 2 elements) fails the
   * instantiation with a resource trap, and frees what was made. */
  mote_rt_limits tiny = {.max_table_elems = 1};
  mote_rt_instance *none = NULL;
  CHECK_EQ_INT(mote_rt_instantiate(m, NULL, &tiny, &none, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_RESOURCE);
  CHECK(none == NULL);
  mote_rt_module_free(m);
}

TEST(host_memories_and_tables) {
  wasm_rt_memory_t *mem = mote_rt_memory_new(2, 3, true);
  CHECK(mem && mem->pages == 2 && mem->size == 2 * 65536);
  if (mem) {
    mem->data[2 * 65536 - 1] = 1;
    CHECK_EQ_INT(wasm_rt_grow_memory(mem, 1), 2);
    CHECK_EQ_INT(wasm_rt_grow_memory(mem, 1), UINT32_MAX);
    mem->data[3 * 65536 - 1] = 1;
  }
  mote_rt_memory_free(mem);
  CHECK(mote_rt_memory_new(4, 3, true) == NULL);

  wasm_rt_funcref_table_t *t = mote_rt_funcref_table_new(1, 4, true);
  CHECK(t && t->size == 1 && t->data[0].func == NULL);
  if (t) {
    wasm_rt_funcref_t f = {1, (wasm_rt_function_ptr_t)host_memories_and_tables, NULL};
    CHECK_EQ_INT(wasm_rt_grow_funcref_table(t, 3, f), 1);
    CHECK(t->data[3].func == f.func);
    CHECK_EQ_INT(wasm_rt_grow_funcref_table(t, 1, f), UINT32_MAX);
  }
  mote_rt_funcref_table_free(t);
  wasm_rt_externref_table_t *e = mote_rt_externref_table_new(0, 0, false);
  CHECK(e && e->max_size == 10000000u);
  if (e) {
    CHECK_EQ_INT(wasm_rt_grow_externref_table(e, 0xffffffffu, NULL), UINT32_MAX);
    CHECK_EQ_INT(wasm_rt_grow_externref_table(e, 2, (void *)e), 0);
    CHECK(e->data[1] == (void *)e);
  }
  mote_rt_externref_table_free(e);

  /* Never-allocated memories and tables free quietly. */
  wasm_rt_memory_t zm;
  wasm_rt_funcref_table_t zt;
  memset(&zm, 0, sizeof zm);
  memset(&zt, 0, sizeof zt);
  wasm_rt_free_memory(&zm);
  wasm_rt_free_funcref_table(&zt);
}

TEST(function_types_are_shared) {
  uint32_t a = wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_F32, WASM_RT_I64);
  uint32_t b = wasm_rt_register_func_type(0, 1, WASM_RT_I64);
  uint32_t c = wasm_rt_register_func_type(2, 1, WASM_RT_I32, WASM_RT_F32, WASM_RT_I64);
  uint32_t d = wasm_rt_register_func_type(0, 0);
  CHECK(a != 0 && b != 0 && d != 0);
  CHECK(a != b && a == c && d != a && d != b);
}

TEST(instantiate_free_churn) {
  mote_rt_module *m = fx_load(basic_so());
  if (!m) return;
  for (int i = 0; i < 2000; i++) {
    mote_rt_instance *inst = test_instance(m, NULL);
    if (!inst) break;
    mote_val v;
    mote_rt_error err;
    if (i % 100 == 0) {
      CHECK_EQ_INT(fx_call(inst, "load", 1u << 20, 0, &v, &err), MOTE_RT_TRAP);
    }
    CHECK_EQ_INT(fx_call(inst, "add", (uint32_t)i, 1, &v, &err), MOTE_RT_OK);
    mote_rt_instance_free(inst);
  }
  mote_rt_module_free(m);
  /* Load/free churn of the module itself. */
  for (int i = 0; i < 200; i++) {
    mote_rt_module *mm = fx_load(basic_so());
    if (!mm) break;
    mote_rt_instance *inst = test_instance(mm, NULL);
    mote_rt_instance_free(inst);
    mote_rt_module_free(mm);
  }
}

TEST(exceptions) {
  mote_rt_module *m = fx_load(fx_build("exc", "exc", "--enable-exceptions", NULL));
  if (!m) return;
  mote_rt_instance *inst = test_instance(m, NULL);
  mote_val v;
  mote_rt_error err;
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT(fx_call(inst, "catch", 41, 0, &v, &err), MOTE_RT_OK);
    CHECK_EQ_INT(v.i32, 42);
    expect_trap(inst, "throw", 1, 0, MOTE_TRAP_UNCAUGHT_EXCEPTION, "uncaught exception");
  }
  mote_rt_instance_free(inst);
  mote_rt_module_free(m);
}

TEST(wrong_abi_is_refused) {
  const char *so = fx_build("basic", "basic_abi99", NULL, "-DTEST_ABI_VERSION=99");
  CHECK(so != NULL);
  if (!so) return;
  mote_rt_module *m = NULL;
  mote_rt_error err;
  CHECK_EQ_INT(mote_rt_module_load(so, &m, &err), MOTE_RT_LOAD_FAILED);
  CHECK(m == NULL);
  CHECK_STR_CONTAINS(err.message, "ABI version 99");
  CHECK_EQ_INT(mote_rt_module_load("/nonexistent/x.so", &m, &err), MOTE_RT_LOAD_FAILED);
  CHECK_STR_CONTAINS(err.message, "cannot load");
  CHECK_EQ_INT(mote_rt_module_load("/lib/x86_64-linux-gnu/libm.so.6", &m, &err),
               MOTE_RT_LOAD_FAILED);
}

/* Runs fn in a child with stderr captured; returns the wait status. */
static int in_child(void (*fn)(void), char *out, size_t n) {
  int p[2];
  if (pipe(p) != 0) return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    dup2(p[1], 2);
    close(p[0]);
    fn();
    _exit(0);
  }
  close(p[1]);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < n && (r = read(p[0], out + got, n - 1 - got)) > 0) got += (size_t)r;
  out[got] = '\0';
  close(p[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

static void host_segfault(void) {
  mote_rt_init();
  volatile uintptr_t addr = 16; /* opaque to the compiler */
  *(volatile int *)addr = 1;
}

static void trap_outside_call(void) {
  mote_rt_init();
  wasm_rt_trap(WASM_RT_TRAP_UNREACHABLE);
}

/* A fault in memory owned by a live instance is still a host bug when no
 * guest call is running. */
static void host_touches_guest_guard(void) {
  mote_rt_module *m = fx_load(basic_so());
  mote_rt_instance *inst = m ? test_instance(m, NULL) : NULL;
  if (!inst) _exit(3);
  mote_rt_extern mem = mote_rt_instance_export(inst, fx_export(m, "mem"));
  mem.binding.memory->data[1 << 20] = 1;
}

TEST(faults_outside_guest_crash_loudly) {
  char out[4096];
  int st = in_child(host_segfault, out, sizeof out);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
  CHECK_STR_CONTAINS(out, "mote: fatal signal SIGSEGV at address 0x10 (not in guest code)");

  st = in_child(trap_outside_call, out, sizeof out);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
  CHECK_STR_CONTAINS(out, "trap outside any guest call");

  st = in_child(host_touches_guest_guard, out, sizeof out);
  CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);
  CHECK_STR_CONTAINS(out, "(not in guest code)");
}

RUN_TESTS(load_and_call, trap_kinds, stack_exhaustion, memory_grow_and_caps,
          host_memories_and_tables, function_types_are_shared, instantiate_free_churn,
          exceptions, wrong_abi_is_refused, faults_outside_guest_crash_loudly)
