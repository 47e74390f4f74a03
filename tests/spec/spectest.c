/*
 * The "spectest" host module every spec script may import from:
 * print functions, four globals, a table and a memory.
 */
#include <string.h>

#include "spec.h"

static void print(void *ctx) { (void)ctx; }
static void print_i32(void *ctx, uint32_t a) { (void)ctx; (void)a; }
static void print_i64(void *ctx, uint64_t a) { (void)ctx; (void)a; }
static void print_f32(void *ctx, float a) { (void)ctx; (void)a; }
static void print_f64(void *ctx, double a) { (void)ctx; (void)a; }
static void print_i32_f32(void *ctx, uint32_t a, float b) { (void)ctx; (void)a; (void)b; }
static void print_f64_f64(void *ctx, double a, double b) { (void)ctx; (void)a; (void)b; }

static uint32_t global_i32 = 666;
static uint64_t global_i64 = 666;
static float global_f32 = 666.6f;
static double global_f64 = 666.6;
static wasm_rt_funcref_table_t *table;
static wasm_rt_memory_t *memory;

void spectest_init(void) {
  if (!table) table = mote_rt_funcref_table_new(10, 20, true);
  if (!memory) memory = mote_rt_memory_new(1, 2, true);
}

static mote_rt_extern func(void (*fn)(void), const char *sig) {
  mote_rt_extern e = {.type = {.kind = MOTE_ABI_FUNC, .signature = sig}};
  e.binding.func.fn = fn;
  e.binding.func.ctx = NULL;
  return e;
}

static mote_rt_extern global(void *storage, uint8_t valtype) {
  mote_rt_extern e = {.type = {.kind = MOTE_ABI_GLOBAL, .valtype = valtype, .mutable_ = 0}};
  e.binding.global = storage;
  return e;
}

bool spectest_lookup(const char *name, mote_rt_extern *out) {
  spectest_init();
#define FN(n, sig)                                       \
  if (!strcmp(name, #n)) {                               \
    *out = func((wasm_rt_function_ptr_t)n, sig); \
    return true;                                         \
  }
  FN(print, ":");
  FN(print_i32, "i:");
  FN(print_i64, "j:");
  FN(print_f32, "f:");
  FN(print_f64, "d:");
  FN(print_i32_f32, "if:");
  FN(print_f64_f64, "dd:");
#undef FN
  if (!strcmp(name, "global_i32")) { *out = global(&global_i32, MOTE_ABI_I32); return true; }
  if (!strcmp(name, "global_i64")) { *out = global(&global_i64, MOTE_ABI_I64); return true; }
  if (!strcmp(name, "global_f32")) { *out = global(&global_f32, MOTE_ABI_F32); return true; }
  if (!strcmp(name, "global_f64")) { *out = global(&global_f64, MOTE_ABI_F64); return true; }
  if (!strcmp(name, "table")) {
    *out = (mote_rt_extern){.type = {.kind = MOTE_ABI_TABLE, .valtype = MOTE_ABI_FUNCREF,
                                     .has_max = 1, .min = table->size, .max = 20}};
    out->binding.funcref_table = table;
    return true;
  }
  if (!strcmp(name, "memory")) {
    *out = (mote_rt_extern){.type = {.kind = MOTE_ABI_MEMORY, .has_max = 1,
                                     .min = memory->pages, .max = 2}};
    out->binding.memory = memory;
    return true;
  }
  return false;
}
