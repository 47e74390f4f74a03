/*
 * What a batch links against without tcc's own libraries. libtcc adds, for
 * every compile into memory, the C library (libc.so, its linker script,
 * libc.so.6's symbols and libc_nonshared.a, opened and read each time) and
 * its libtcc1.a: a one-line file took 0.31 ms that way (0.07 ms of it in
 * the kernel) and 0.18 ms without them (1000 compiles each), for each of
 * Yosys's 825 batches. With -nostdlib it adds none of them, and resolves
 * nothing through the process either, so a batch gets by name what its C
 * may call: the few functions of the C library the batch header declares
 * (xl_lazy_libc.h), the runtime's wasm_rt_* (src/rt/exports.list), and
 * libtcc1's conversions between 64-bit unsigned integers and floats, which
 * tcc's x86-64 code calls (written here; the translator's C converts only
 * values in range).
 * Anything else a batch names fails its compile, and the batch is then
 * compiled the whole way (lz_compile_batch).
 */
#include <dlfcn.h>
#include <libtcc.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "lazy_internal.h"

static unsigned long long fixunssfdi(float a) { return (unsigned long long)a; }
static unsigned long long fixunsdfdi(double a) { return (unsigned long long)a; }
static float floatundisf(unsigned long long a) { return (float)a; }
static double floatundidf(unsigned long long a) { return (double)a; }

/* libtcc1's for 64-bit unsigned integers (signed ones tcc converts inline;
 * the translator's C has no long double). In range (-1, 2^64) they give
 * libtcc1's values; out of it, which the prelude's checks never let through,
 * libtcc1 saturates and these do what gcc's conversions do. */
static const struct {
  const char *name;
  const void *addr;
} conversions[] = {
    {"__fixunssfdi", (const void *)fixunssfdi},
    {"__fixunsdfdi", (const void *)fixunsdfdi},
    {"__floatundisf", (const void *)floatundisf},
    {"__floatundidf", (const void *)floatundidf},
};

/* Found in the process once (dlsym): xl_lazy_libc.h's functions (memset
 * and memmove tcc's own code needs too, for zeroing and struct copies) and
 * src/rt/exports.list's (test_lazy_runtime checks both lists). */
const char *const lz_runtime_names[] = {
    "memcpy", "memmove", "memset", "abort", "sqrt", "sqrtf", "ceil", "ceilf", "floor", "floorf",
    "trunc", "truncf", "nearbyint", "nearbyintf",
    "wasm_rt_init", "wasm_rt_is_initialized", "wasm_rt_free", "wasm_rt_trap",
    "wasm_rt_strerror", "wasm_rt_register_func_type", "wasm_rt_register_tag",
    "wasm_rt_load_exception", "wasm_rt_throw", "wasm_rt_get_unwind_target",
    "wasm_rt_set_unwind_target", "wasm_rt_exception_tag", "wasm_rt_exception_size",
    "wasm_rt_exception", "wasm_rt_allocate_memory", "wasm_rt_grow_memory",
    "wasm_rt_free_memory", "wasm_rt_allocate_funcref_table", "wasm_rt_free_funcref_table",
    "wasm_rt_allocate_externref_table", "wasm_rt_free_externref_table",
    "wasm_rt_grow_funcref_table", "wasm_rt_grow_externref_table", "mote_lazy_ready",
    NULL,
};

#define NAMES (sizeof lz_runtime_names / sizeof lz_runtime_names[0] - 1)
static void *found[NAMES];
static bool all_found;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void find(void) {
  bool ok = true;
  for (size_t i = 0; i < NAMES; i++)
    ok = (found[i] = dlsym(RTLD_DEFAULT, lz_runtime_names[i])) != NULL && ok;
  all_found = ok;
}

bool lz_runtime_lean(TCCState *s) {
  pthread_once(&once, find);
  if (!all_found) return false;
  tcc_set_options(s, "-nostdlib");
  return true;
}

void lz_runtime_add(TCCState *s) {
  for (size_t i = 0; i < NAMES; i++) tcc_add_symbol(s, lz_runtime_names[i], found[i]);
  for (size_t i = 0; i < sizeof conversions / sizeof conversions[0]; i++)
    tcc_add_symbol(s, conversions[i].name, conversions[i].addr);
}
