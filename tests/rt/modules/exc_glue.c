/*
 * Hand-written glue for exc.wat (exceptions proposal), in the shape
 * src/compile/glue.c generates.
 */
#include "exc.h"
#include "rt/abi.h"

struct glue {
  Z_exc_instance_t w;
  const mote_abi_binding *imports;
};

#define W(inst) (&((struct glue *)(inst))->w)

static void c_throw(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_excZ_throw(W(i), a[0].i32); }
static void c_catch(void *i, const mote_val *a, mote_val *r) { r[0].i32 = Z_excZ_catch(W(i), a[0].i32); }

static void init_module(void) { Z_exc_init_module(); }
static void instantiate(void *i, const mote_abi_binding *imports) {
  ((struct glue *)i)->imports = imports;
  Z_exc_instantiate(W(i));
}
static void free_instance(void *i) { Z_exc_free(W(i)); }

static const mote_abi_export exports[] = {
    {"throw", 5, {MOTE_ABI_FUNC, "i:i", 0, 0, 0, 0, 0}, c_throw, (wasm_rt_function_ptr_t)Z_excZ_throw, NULL},
    {"catch", 5, {MOTE_ABI_FUNC, "i:i", 0, 0, 0, 0, 0}, c_catch, (wasm_rt_function_ptr_t)Z_excZ_catch, NULL},
};

__attribute__((visibility("default"))) const mote_abi_module MOTE_ABI_SYMBOL_ID = {
    .abi_version = MOTE_ABI_VERSION,
    .instance_size = sizeof(struct glue),
    .init_module = init_module,
    .instantiate = instantiate,
    .free = free_instance,
    .import_count = 0,
    .imports = NULL,
    .export_count = 2,
    .exports = exports,
};
