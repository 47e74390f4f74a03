/*
 * Hand-written glue for host.wat, in the shape src/compile/glue.c generates.
 * The generated code passes the glue instance as its "env" instance, so the
 * import trampolines recover the bindings from it.
 */
#include "host.h"
#include "rt/abi.h"

struct glue {
  Z_host_instance_t w;
  const mote_abi_binding *imports;
};

#define W(inst) (&((struct glue *)(inst))->w)
#define IMPORTS(env) (((struct glue *)(env))->imports)

/* Import 0: "env" "f" (i32) -> i32. */
u32 Z_envZ_f(struct Z_env_instance_t *env, u32 a) {
  const mote_abi_binding *b = &IMPORTS(env)[0];
  return ((u32(*)(void *, u32))b->func.fn)(b->func.ctx, a);
}
/* Import 1: "env" "mem". */
wasm_rt_memory_t *Z_envZ_mem(struct Z_env_instance_t *env) { return IMPORTS(env)[1].memory; }
/* Import 2: "env" "g". */
u32 *Z_envZ_g(struct Z_env_instance_t *env) { return IMPORTS(env)[2].global; }

static void c_callf(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_hostZ_callf(W(i), a[0].i32); }
static void c_read(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_hostZ_read(W(i), a[0].i32); }
static void c_get_g(void *i, const mote_val *a, mote_val *r) { (void)a; r[0].i32 = Z_hostZ_get_g(W(i)); }

static void init_module(void) { Z_host_init_module(); }
static void instantiate(void *i, const mote_abi_binding *imports) {
  ((struct glue *)i)->imports = imports;
  Z_host_instantiate(W(i), (struct Z_env_instance_t *)i);
}
static void free_instance(void *i) { Z_host_free(W(i)); }

#define FN(n, sig, c) \
  {n, sizeof n - 1, {MOTE_ABI_FUNC, sig, 0, 0, 0, 0, 0}, c_##c, (wasm_rt_function_ptr_t)Z_hostZ_##c, NULL}

static const mote_abi_import imports[] = {
    {"env", 3, "f", 1, {MOTE_ABI_FUNC, "i:i", 0, 0, 0, 0, 0}},
    {"env", 3, "mem", 3, {MOTE_ABI_MEMORY, NULL, 0, 0, 1, 1, 10}},
    {"env", 3, "g", 1, {MOTE_ABI_GLOBAL, NULL, MOTE_ABI_I32, 0, 0, 0, 0}},
};

static const mote_abi_export exports[] = {
    FN("callf", "i:i", callf),
    FN("read", "i:i", read),
    FN("get_g", ":i", get_g),
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
