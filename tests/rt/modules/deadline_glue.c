/*
 * Hand-written glue for deadline.wat, in the shape src/compile/glue.c
 * generates (see host_glue.c).
 */
#include "deadline.h"
#include "rt/abi.h"

struct glue {
  Z_deadline_instance_t w;
  const mote_abi_binding *imports;
};

#define W(inst) (&((struct glue *)(inst))->w)
#define IMPORTS(env) (((struct glue *)(env))->imports)

/* Import 0: "env" "tick" (i32) -> i32. */
u32 Z_envZ_tick(struct Z_env_instance_t *env, u32 a) {
  const mote_abi_binding *b = &IMPORTS(env)[0];
  return ((u32(*)(void *, u32))b->func.fn)(b->func.ctx, a);
}
/* Import 1: "env" "spin_at_start". */
u32 *Z_envZ_spin_at_start(struct Z_env_instance_t *env) { return IMPORTS(env)[1].global; }

static void c_spin(void *i, const mote_val *a, mote_val *r) { (void)a; (void)r; Z_deadlineZ_spin(W(i)); }
static void c_spin_grow(void *i, const mote_val *a, mote_val *r) { (void)a; (void)r; Z_deadlineZ_spin_grow(W(i)); }
static void c_spin_host(void *i, const mote_val *a, mote_val *r) { (void)r; Z_deadlineZ_spin_host(W(i), a[0].i32); }
static void c_call_host(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_deadlineZ_call_host(W(i), a[0].i32); }
static void c_add(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_deadlineZ_add(W(i), a[0].i32, a[1].i32); }
static void c_fill(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_deadlineZ_fill(W(i), a[0].i32); }
static void *g_mem(void *i) { return Z_deadlineZ_mem(W(i)); }

static void init_module(void) { Z_deadline_init_module(); }
static void instantiate(void *i, const mote_abi_binding *imports) {
  ((struct glue *)i)->imports = imports;
  Z_deadline_instantiate(W(i), (struct Z_env_instance_t *)i);
}
static void free_instance(void *i) { Z_deadline_free(W(i)); }

#define FN(n, sig, c) \
  {n, sizeof n - 1, {MOTE_ABI_FUNC, sig, 0, 0, 0, 0, 0}, c_##c, (wasm_rt_function_ptr_t)Z_deadlineZ_##c, NULL}

static const mote_abi_import imports[] = {
    {"env", 3, "tick", 4, {MOTE_ABI_FUNC, "i:i", 0, 0, 0, 0, 0}},
    {"env", 3, "spin_at_start", 13, {MOTE_ABI_GLOBAL, NULL, MOTE_ABI_I32, 0, 0, 0, 0}},
};

static const mote_abi_export exports[] = {
    {"mem", 3, {MOTE_ABI_MEMORY, NULL, 0, 0, 1, 1, 100}, NULL, NULL, g_mem},
    FN("spin", ":", spin),
    FN("spin_grow", ":", spin_grow),
    FN("spin_host", "i:", spin_host),
    FN("call_host", "i:i", call_host),
    FN("add", "ii:i", add),
    FN("fill", "i:i", fill),
};

__attribute__((visibility("default"))) const mote_abi_module MOTE_ABI_SYMBOL_ID = {
    .abi_version = MOTE_ABI_VERSION,
    .instance_size = sizeof(struct glue),
    .init_module = init_module,
    .instantiate = instantiate,
    .free = free_instance,
    .import_count = sizeof imports / sizeof imports[0],
    .imports = imports,
    .export_count = sizeof exports / sizeof exports[0],
    .exports = exports,
};
