/*
 * Hand-written glue for basic.wat, in the shape src/compile/glue.c generates:
 * the module's mote_abi_module descriptor and type-erased entry points.
 * Compiled with -fvisibility=hidden; TEST_ABI_VERSION overrides the version
 * to test that the runtime refuses other ABIs.
 */
#include "basic.h"
#include "rt/abi.h"

#ifndef TEST_ABI_VERSION
#define TEST_ABI_VERSION MOTE_ABI_VERSION
#endif

struct glue {
  Z_basic_instance_t w;
  const mote_abi_binding *imports;
};

#define W(inst) (&((struct glue *)(inst))->w)

static void c_add(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_basicZ_add(W(i), a[0].i32, a[1].i32); }
static void c_unreachable(void *i, const mote_val *a, mote_val *r) { (void)a; (void)r; Z_basicZ_unreachable(W(i)); }
static void c_div(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_basicZ_div(W(i), a[0].i32, a[1].i32); }
static void c_trunc(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_basicZ_trunc(W(i), a[0].f64); }
static void c_call_null(void *i, const mote_val *a, mote_val *r) { (void)a; r[0].i32 = Z_basicZ_call_null(W(i)); }
static void c_load(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_basicZ_load(W(i), a[0].i32); }
static void c_store(void *i, const mote_val *a, mote_val *r) { (void)r; Z_basicZ_store(W(i), a[0].i32, a[1].i32); }
static void c_load_far(void *i, const mote_val *a, mote_val *r) { r[0].i64 = Z_basicZ_load_far(W(i), a[0].i32); }
static void c_rec(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_basicZ_rec(W(i), a[0].i32); }
static void c_grow(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_basicZ_grow(W(i), a[0].i32); }
static void c_size(void *i, const mote_val *a, mote_val *r) { (void)a; r[0].i32 = Z_basicZ_size(W(i)); }
static void c_get_g(void *i, const mote_val *a, mote_val *r) { (void)a; r[0].i64 = Z_basicZ_get_g(W(i)); }
static void c_pair(void *i, const mote_val *a, mote_val *r) {
  struct wasm_multi_ij m = Z_basicZ_pair(W(i), a[0].i32);
  r[0].i32 = m.i0;
  r[1].i64 = m.j1;
}
static void *g_mem(void *i) { return Z_basicZ_mem(W(i)); }
static void *g_g(void *i) { return Z_basicZ_g(W(i)); }

static void init_module(void) { Z_basic_init_module(); }
static void instantiate(void *i, const mote_abi_binding *imports) {
  ((struct glue *)i)->imports = imports;
  Z_basic_instantiate(W(i));
}
static void free_instance(void *i) { Z_basic_free(W(i)); }

#define FN(n, sig, c) \
  {n, sizeof n - 1, {MOTE_ABI_FUNC, sig, 0, 0, 0, 0, 0}, c_##c, (wasm_rt_function_ptr_t)Z_basicZ_##c, NULL}

static const mote_abi_export exports[] = {
    {"mem", 3, {MOTE_ABI_MEMORY, NULL, 0, 0, 1, 1, 100}, NULL, NULL, g_mem},
    {"g", 1, {MOTE_ABI_GLOBAL, NULL, MOTE_ABI_I64, 1, 0, 0, 0}, NULL, NULL, g_g},
    FN("add", "ii:i", add),
    FN("unreachable", ":", unreachable),
    FN("div", "ii:i", div),
    FN("trunc", "d:i", trunc),
    FN("call_null", ":i", call_null),
    FN("load", "i:i", load),
    FN("store", "ii:", store),
    FN("load_far", "i:j", load_far),
    FN("rec", "i:i", rec),
    FN("grow", "i:i", grow),
    FN("size", ":i", size),
    FN("get_g", ":j", get_g),
    FN("pair", "i:ij", pair),
};

__attribute__((visibility("default"))) const mote_abi_module MOTE_ABI_SYMBOL_ID = {
    .abi_version = TEST_ABI_VERSION,
    .instance_size = sizeof(struct glue),
    .init_module = init_module,
    .instantiate = instantiate,
    .free = free_instance,
    .import_count = 0,
    .imports = NULL,
    .export_count = sizeof exports / sizeof exports[0],
    .exports = exports,
};
