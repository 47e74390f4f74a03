/* The binary rewrite before wasm2c (src/compile/rewrite.c), end to end:
 * compile, load, link, instantiate, call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile/compile.h"
#include "rt/rt.h"
#include "test.h"

static char cache_dir[64];

static void fresh_cache(void) {
  snprintf(cache_dir, sizeof cache_dir, "/tmp/mote-test-rewrite-XXXXXX");
  CHECK(mkdtemp(cache_dir) != NULL);
}

static void drop_cache(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", cache_dir);
  CHECK_EQ_INT(system(cmd), 0);
}

/* wat2wasm refuses global.get as an element item: the fixtures write
 * `(ref.null extern)` (assembled with --no-check) where they mean
 * `(global.get 0)`, and this patches the bytes, which have the same length. */
static uint8_t *wat_with_global_items(const char *wat, size_t *len) {
  uint8_t *wasm = test_wat(wat, "--no-check", len);
  for (size_t i = 0; wasm && i + 3 <= *len; i++)
    if (wasm[i] == 0xd0 && wasm[i + 1] == 0x6f && wasm[i + 2] == 0x0b) {
      wasm[i] = 0x23;
      wasm[i + 1] = 0x00;
    }
  return wasm;
}

/* Compiles `wat` on `tier` and loads it; NULL (and a failed check) if not. */
static mote_rt_module *build(const char *wat, mote_tier tier) {
  size_t len;
  uint8_t *wasm = wat_with_global_items(wat, &len);
  CHECK(wasm != NULL);
  if (!wasm) return NULL;
  mote_compile_options o = {.cache_dir = cache_dir, .tier = tier};
  mote_compile_result r;
  mote_compile_error err = {0};
  mote_compile_status st = mote_compile(wasm, len, &o, &r, &err);
  free(wasm);
  CHECK_MSG(st == MOTE_COMPILE_OK, err.message);
  if (st != MOTE_COMPILE_OK) return NULL;
  mote_rt_module *m = NULL;
  mote_rt_error rerr;
  if (mote_rt_module_load(r.so_path, &m, &rerr) != MOTE_RT_OK) {
    CHECK_MSG(0, rerr.message);
    return NULL;
  }
  return m;
}

/* Calls export `name` with up to two i32 arguments; the i32 result. */
static uint32_t call_i32(mote_rt_instance *inst, const char *name, uint32_t a, uint32_t b,
                         mote_rt_status *status) {
  mote_rt_module *m = mote_rt_instance_module(inst);
  int32_t idx = mote_rt_module_find_export(m, name, strlen(name));
  CHECK_MSG(idx >= 0, name);
  mote_val args[2] = {{.i32 = a}, {.i32 = b}}, res[1] = {{.i32 = 0xdeadbeef}};
  mote_rt_error err;
  mote_rt_status st = idx >= 0 ? mote_rt_call(inst, (uint32_t)idx, args, res, &err) : MOTE_RT_LINK_FAILED;
  if (status) *status = st;
  else CHECK_MSG(st == MOTE_RT_OK, name);
  return res[0].i32;
}

/* Host functions: each answers differently, so a mixed-up binding shows. */
static uint32_t host_none(void *ctx) { (void)ctx; return 100; }
static uint32_t host_one(void *ctx, uint32_t x) { (void)ctx; return x + 1; }
static uint32_t host_two(void *ctx, uint32_t a, uint32_t b) { (void)ctx; return a * b; }
static uint32_t host_global = 7;

static mote_rt_extern host_func(void (*fn)(void), const char *sig) {
  mote_rt_extern e = {.type = {.kind = MOTE_ABI_FUNC, .signature = sig}};
  e.binding.func.fn = fn;
  return e;
}

/* One module/name pair imported three times with three types (and a
 * module name that needs escaping in C); imported functions also reached
 * through a table. */
static const char overloaded_wat[] =
    "(module\n"
    "  (import \"env\" \"f\" (func $f0 (result i32)))\n"
    "  (import \"env\" \"f\" (func $f1 (param i32) (result i32)))\n"
    "  (import \"env\" \"f\" (global $g i32))\n"
    "  (import \"we\\\"ird \\c3\\a9\" \"f\" (func $f2 (param i32 i32) (result i32)))\n"
    "  (table 2 funcref)\n"
    "  (elem (i32.const 0) $f1 $f0)\n"
    "  (func (export \"a\") (result i32) call $f0)\n"
    "  (func (export \"b\") (param i32) (result i32) local.get 0 call $f1)\n"
    "  (func (export \"c\") (result i32) global.get $g)\n"
    "  (func (export \"d\") (param i32 i32) (result i32) local.get 0 local.get 1 call $f2)\n"
    "  (func (export \"e\") (param i32) (result i32)\n"
    "    local.get 0 i32.const 0 call_indirect (param i32) (result i32))\n"
    "  (func (export \"z\") (result i32) i32.const 1 call_indirect (result i32)))\n";

static void overloaded_imports_on(mote_tier tier) {
  mote_rt_module *m = build(overloaded_wat, tier);
  if (!m) return;
  const mote_abi_module *abi = mote_rt_module_abi(m);
  CHECK_EQ_INT(abi->import_count, 4);
  /* the descriptor keeps the original names: the runtime links by them */
  for (uint32_t k = 0; k < 3; k++) {
    CHECK(abi->imports[k].module_len == 3 && !memcmp(abi->imports[k].module, "env", 3));
    CHECK(abi->imports[k].name_len == 1 && abi->imports[k].name[0] == 'f');
  }
  CHECK(abi->imports[3].module_len == 9 && !memcmp(abi->imports[3].module, "we\"ird \xc3\xa9", 9));

  mote_rt_extern imports[4] = {
      host_func((wasm_rt_function_ptr_t)host_none, ":i"),
      host_func((wasm_rt_function_ptr_t)host_one, "i:i"),
      {.type = {.kind = MOTE_ABI_GLOBAL, .valtype = MOTE_ABI_I32}},
      host_func((wasm_rt_function_ptr_t)host_two, "ii:i"),
  };
  imports[2].binding.global = &host_global;
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  CHECK_EQ_INT(mote_rt_instantiate(m, imports, NULL, &inst, &err), MOTE_RT_OK);
  if (inst) {
    CHECK_EQ_INT(call_i32(inst, "a", 0, 0, NULL), 100);
    CHECK_EQ_INT(call_i32(inst, "b", 41, 0, NULL), 42);
    CHECK_EQ_INT(call_i32(inst, "c", 0, 0, NULL), 7);
    CHECK_EQ_INT(call_i32(inst, "d", 6, 7, NULL), 42);
    CHECK_EQ_INT(call_i32(inst, "e", 9, 0, NULL), 10);
    CHECK_EQ_INT(call_i32(inst, "z", 0, 0, NULL), 100);
    mote_rt_instance_free(inst);
  }
  /* linking still checks each import's own type: swapping two fails */
  mote_rt_extern swapped[4] = {imports[1], imports[0], imports[2], imports[3]};
  CHECK_EQ_INT(mote_rt_instantiate(m, swapped, NULL, &inst, &err), MOTE_RT_LINK_FAILED);
  mote_rt_module_free(m);
}

TEST(overloaded_imports_each_reach_their_own_host_function) {
  fresh_cache();
  overloaded_imports_on(MOTE_TIER_OPT);
  overloaded_imports_on(MOTE_TIER_QUICK);
  drop_cache();
}

/* Exports a funcref global holding a function that returns 42. */
static const char provider_wat[] =
    "(module\n"
    "  (func $f (result i32) i32.const 42)\n"
    "  (global (export \"g\") funcref (ref.func $f)))\n";

/* global.get items in active segments; one has a start function (and so a
 * [] -> [] type), one has neither; a later segment overwrites a lowered slot. */
static const char with_start_wat[] =
    "(module\n"
    "  (import \"a\" \"g\" (global $g funcref))\n"
    "  (table $t 4 funcref)\n"
    "  (global $started (mut i32) (i32.const 0))\n"
    "  (elem (table $t) (i32.const 1) funcref (ref.func $seven) (ref.null extern) (ref.null func))\n"
    "  (elem (table $t) (i32.const 0) funcref (ref.null extern))\n"
    "  (func $seven (result i32) i32.const 7)\n"
    "  (func $start global.get $started i32.const 1 i32.add global.set $started)\n"
    "  (start $start)\n"
    "  (func (export \"call\") (param i32) (result i32) local.get 0 call_indirect (result i32))\n"
    "  (func (export \"started\") (result i32) global.get $started))\n";

static const char no_start_wat[] =
    "(module\n"
    "  (import \"a\" \"g\" (global $g funcref))\n"
    "  (table $t 4 funcref)\n"
    "  (elem (table $t) (i32.const 0) funcref (ref.null extern) (ref.null extern) (ref.null extern))\n"
    "  (elem (table $t) (i32.const 1) func $seven)\n"
    "  (func $seven (result i32) i32.const 7)\n"
    "  (func (export \"call\") (param i32) (result i32) local.get 0 call_indirect (result i32)))\n";

static void global_items_on(mote_tier tier) {
  mote_rt_module *provider = build(provider_wat, tier);
  mote_rt_module *with_start = build(with_start_wat, tier);
  mote_rt_module *no_start = build(no_start_wat, tier);
  mote_rt_instance *p = NULL, *a = NULL, *b = NULL;
  mote_rt_error err;
  mote_rt_status st;
  if (!provider || !with_start || !no_start) goto out;
  CHECK_EQ_INT(mote_rt_instantiate(provider, NULL, NULL, &p, &err), MOTE_RT_OK);
  if (!p) goto out;
  mote_rt_extern g = mote_rt_instance_export(p, 0);

  CHECK_EQ_INT(mote_rt_instantiate(with_start, &g, NULL, &a, &err), MOTE_RT_OK);
  if (a) {
    CHECK_EQ_INT(call_i32(a, "started", 0, 0, NULL), 1); /* the original start ran once */
    CHECK_EQ_INT(call_i32(a, "call", 0, 0, NULL), 42);
    CHECK_EQ_INT(call_i32(a, "call", 1, 0, NULL), 7);
    CHECK_EQ_INT(call_i32(a, "call", 2, 0, NULL), 42);
    call_i32(a, "call", 3, 0, &st); /* ref.null: a trap */
    CHECK_EQ_INT(st, MOTE_RT_TRAP);
  }
  CHECK_EQ_INT(mote_rt_instantiate(no_start, &g, NULL, &b, &err), MOTE_RT_OK);
  if (b) {
    CHECK_EQ_INT(call_i32(b, "call", 0, 0, NULL), 42);
    CHECK_EQ_INT(call_i32(b, "call", 1, 0, NULL), 7); /* the later segment wins */
    CHECK_EQ_INT(call_i32(b, "call", 2, 0, NULL), 42);
    call_i32(b, "call", 3, 0, &st);
    CHECK_EQ_INT(st, MOTE_RT_TRAP);
  }
out:
  if (b) mote_rt_instance_free(b);
  if (a) mote_rt_instance_free(a);
  if (p) mote_rt_instance_free(p);
  if (no_start) mote_rt_module_free(no_start);
  if (with_start) mote_rt_module_free(with_start);
  if (provider) mote_rt_module_free(provider);
}

TEST(global_get_elem_items_are_set_at_instantiation_and_start_still_runs) {
  fresh_cache();
  global_items_on(MOTE_TIER_OPT);
  global_items_on(MOTE_TIER_QUICK);
  drop_cache();
}

static mote_compile_status compile_wat(const char *wat, const char *flags, mote_compile_error *err) {
  size_t len;
  uint8_t *wasm = flags ? test_wat(wat, flags, &len) : wat_with_global_items(wat, &len);
  CHECK(wasm != NULL);
  if (!wasm) return MOTE_COMPILE_IO;
  mote_compile_options o = {.cache_dir = cache_dir, .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_status st = mote_compile(wasm, len, &o, &r, err);
  free(wasm);
  return st;
}

TEST(global_get_in_a_passive_segment_is_refused_by_name) {
  fresh_cache();
  mote_compile_error err = {0};
  CHECK_EQ_INT(compile_wat("(module (import \"a\" \"g\" (global $g funcref))"
                           " (elem funcref (ref.null extern)))",
                           NULL, &err),
               MOTE_COMPILE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.stage, "read");
  CHECK_STR_CONTAINS(err.message, "passive or declarative element segment");
  drop_cache();
}

TEST(ill_typed_constant_expressions_are_invalid_at_read) {
  fresh_cache();
  mote_compile_error err = {0};
  CHECK_EQ_INT(compile_wat("(module (memory 1) (data (i64.const 0) \"x\"))", "--no-check", &err),
               MOTE_COMPILE_INVALID);
  CHECK_STR_CONTAINS(err.stage, "read");
  CHECK_STR_CONTAINS(err.message, "type mismatch");
  CHECK_STR_CONTAINS(err.message, "in the offset of data segment 0 at offset 0x");
  CHECK_EQ_INT(compile_wat("(module (table 1 externref) (func i32.const 0 call_indirect))",
                           "--no-check", &err),
               MOTE_COMPILE_INVALID);
  CHECK_STR_CONTAINS(err.message, "call_indirect through table 0 of externref");
  drop_cache();
}

RUN_TESTS(overloaded_imports_each_reach_their_own_host_function,
          global_get_elem_items_are_set_at_instantiation_and_start_still_runs,
          global_get_in_a_passive_segment_is_refused_by_name,
          ill_typed_constant_expressions_are_invalid_at_read)
