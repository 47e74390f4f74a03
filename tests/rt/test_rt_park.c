/* Instances whose instantiation trapped (src/rt/module.c, mote_rt_module_park):
 * elements written into an imported table before the trap stay there and
 * stay callable (the spec's linking rules), so the instance behind them
 * must live as long as its module, however many failed. Run under ASan by
 * make unit-san, where a freed one is a use-after-free report. */
#include "rt/rt.h"
#include "test.h"

static mote_rt_extern table_import(wasm_rt_funcref_table_t *t) {
  mote_rt_extern e = {.type = {.kind = MOTE_ABI_TABLE, .valtype = MOTE_ABI_FUNCREF, .min = 1}};
  e.binding.funcref_table = t;
  return e;
}

/* Writes its function into the imported table, then traps in start; the
 * function reads the instance's global and memory, so a freed instance
 * shows. */
static const char *failing =
    "(module (import \"m\" \"t\" (table 1 funcref)) (memory 1) (global $g (mut i32) (i32.const 0))"
    " (elem (i32.const 0) $f)"
    " (func $f (result i32) (i32.store (i32.const 8) (i32.const 5))"
    "   (i32.add (global.get $g) (i32.load (i32.const 8))))"
    " (func $boom (global.set $g (i32.const 37)) unreachable) (start $boom))";

/* Calls entry 0 of the imported table. */
static const char *caller =
    "(module (import \"m\" \"t\" (table 1 funcref))"
    " (func (export \"call0\") (result i32) (call_indirect (result i32) (i32.const 0))))";

static int32_t call0(mote_rt_module *c, wasm_rt_funcref_table_t *t) {
  mote_rt_extern imp = table_import(t);
  mote_rt_instance *in = NULL;
  mote_rt_error err;
  mote_val r = {0};
  CHECK(mote_rt_instantiate(c, &imp, NULL, &in, &err) == MOTE_RT_OK);
  if (!in) return -1;
  int32_t e = mote_rt_module_find_export(c, "call0", 5);
  CHECK_MSG(mote_rt_call(in, (uint32_t)e, NULL, &r, &err) == MOTE_RT_OK, err.message);
  mote_rt_instance_free(in);
  return (int32_t)r.i32;
}

TEST(a_failed_instance_whose_functions_an_imported_table_holds_stays_callable) {
  mote_rt_module *m = test_load_wat(failing), *c = test_load_wat(caller);
  if (!m || !c) return;
  /* more than the 64 the first version kept: each in a table of its own,
   * so every one stays referenced */
  enum { N = 100 };
  wasm_rt_funcref_table_t *tables[N];
  for (int i = 0; i < N; i++) {
    tables[i] = mote_rt_funcref_table_new(1, 1, true);
    mote_rt_extern imp = table_import(tables[i]);
    mote_rt_instance *in = NULL;
    mote_rt_error err;
    CHECK(mote_rt_instantiate(m, &imp, NULL, &in, &err) == MOTE_RT_TRAP);
    CHECK(in == NULL);
    CHECK_EQ_INT(err.trap, MOTE_TRAP_UNREACHABLE);
  }
  for (int i = 0; i < N; i++) CHECK_EQ_INT(call0(c, tables[i]), 42);
  mote_rt_module_free(m);
  mote_rt_module_free(c);
  for (int i = 0; i < N; i++) mote_rt_funcref_table_free(tables[i]);
}

RUN_TESTS(a_failed_instance_whose_functions_an_imported_table_holds_stays_callable)
