/*
 * The frozen ABI between the runtime (src/rt) and a compiled module.
 *
 * A compiled module is a shared object holding the C that mote's translator
 * (src/compile/xl_*.c) wrote for one .wasm. It exports exactly one symbol,
 * MOTE_ABI_SYMBOL, a `mote_abi_module` describing the module's imports and
 * exports with their types and giving the runtime type-erased entry points.
 * Everything else in the object is hidden.
 *
 * The runtime checks `abi_version` at load and refuses any other value, so a
 * cache entry built by an older mote is rebuilt rather than misread. Change
 * this file only by bumping MOTE_ABI_VERSION.
 *
 * Calling convention: every wasm function, exported or imported, is called as
 * `ret fn(void *ctx, args...)` with u32/u64/f32/f64/v128/wasm_rt_funcref_t/
 * wasm_rt_externref_t arguments (v128: 16 bytes passed as two integer
 * eightbytes; a host function declares it as mote_v128) and,
 * for several results, a `struct wasm_multi_<letters>` return value whose
 * fields are named <letter><index> (e.g. `struct wasm_multi_ij { u32 i0;
 * u64 j1; }`). For a module's own exports, ctx is the instance pointer; for a
 * host function, ctx is whatever the host registered with it.
 *
 * Memories: a memory's `data` never moves once allocated (the runtime
 * reserves its whole address range up front), so compiled code may keep it
 * in a register across calls and growth.
 *
 * Version 3: v128 values (mote_val.v128, signature letter 'v', type 0x7b).
 */
#ifndef MOTE_RT_ABI_H
#define MOTE_RT_ABI_H

#include <stdint.h>

#include <wasm-rt.h>

#define MOTE_ABI_VERSION 3
#define MOTE_ABI_SYMBOL "mote_abi_module_v3"
#define MOTE_ABI_SYMBOL_ID mote_abi_module_v3 /* the same, as an identifier */

/* A v128 argument or result of a host function, as the generated code
 * passes it (its union of lanes has the same size and class). */
typedef struct mote_v128 {
  uint64_t lo, hi; /* bytes 0..7 and 8..15 of the little-endian value */
} mote_v128;

/* A value crossing the host/guest boundary. */
typedef union mote_val {
  uint32_t i32;
  uint64_t i64;
  float f32;
  double f64;
  wasm_rt_funcref_t funcref;
  wasm_rt_externref_t externref;
  uint8_t v128[16]; /* little-endian lanes */
} mote_val;

typedef enum mote_abi_kind {
  MOTE_ABI_FUNC = 0,
  MOTE_ABI_TABLE = 1,
  MOTE_ABI_MEMORY = 2,
  MOTE_ABI_GLOBAL = 3,
} mote_abi_kind;

/* Value type codes, as in the binary format. */
enum {
  MOTE_ABI_I32 = 0x7f,
  MOTE_ABI_I64 = 0x7e,
  MOTE_ABI_F32 = 0x7d,
  MOTE_ABI_F64 = 0x7c,
  MOTE_ABI_V128 = 0x7b,
  MOTE_ABI_FUNCREF = 0x70,
  MOTE_ABI_EXTERNREF = 0x6f,
};

/* The type of an import or an export. */
typedef struct mote_abi_type {
  uint8_t kind; /* mote_abi_kind */
  /* FUNC: "params:results", one letter per value: i=i32 j=i64 f=f32 d=f64
   * v=v128 r=funcref e=externref. "ij:d" is (i32, i64) -> f64; ":" is () -> (). */
  const char *signature;
  /* TABLE: element type; GLOBAL: value type (MOTE_ABI_I32...). */
  uint8_t valtype;
  uint8_t mutable_; /* GLOBAL: 1 if mutable */
  uint8_t has_max;  /* TABLE/MEMORY */
  uint64_t min;     /* TABLE: elements; MEMORY: 64 KiB pages */
  uint64_t max;     /* valid when has_max */
} mote_abi_type;

/* One resolved import, as the runtime hands it to `instantiate`. */
typedef union mote_abi_binding {
  struct {
    wasm_rt_function_ptr_t fn; /* called as fn(ctx, args...) */
    void *ctx;
  } func;
  wasm_rt_memory_t *memory;
  wasm_rt_funcref_table_t *funcref_table;
  wasm_rt_externref_table_t *externref_table;
  void *global; /* the global's storage: u32, u64, f32, f64 or a reference */
} mote_abi_binding;

typedef struct mote_abi_import {
  const char *module; /* not NUL-terminated in general: use module_len */
  uint32_t module_len;
  const char *name;
  uint32_t name_len;
  mote_abi_type type;
} mote_abi_import;

typedef struct mote_abi_export {
  const char *name;
  uint32_t name_len;
  mote_abi_type type;
  /* FUNC: calls the export; args and results in signature order. May trap. */
  void (*call)(void *instance, const mote_val *args, mote_val *results);
  /* FUNC: the function itself, to bind as another module's import or to
   * place in a table; its ctx is the instance pointer. */
  wasm_rt_function_ptr_t func;
  /* TABLE, MEMORY, GLOBAL: the storage inside (or imported by) the instance. */
  void *(*get)(void *instance);
} mote_abi_export;

typedef struct mote_abi_module {
  uint32_t abi_version;   /* MOTE_ABI_VERSION */
  uint32_t instance_size; /* bytes the runtime allocates per instance */
  /* Once per load, before any instantiate: registers function types. */
  void (*init_module)(void);
  /* Initialises *instance: imports, globals, memories, tables, segments, then
   * the start function. `imports` has import_count entries in import order
   * and must outlive the instance. May trap. */
  void (*instantiate)(void *instance, const mote_abi_binding *imports);
  /* Frees what instantiate allocated (own memories and tables). */
  void (*free)(void *instance);
  uint32_t import_count;
  const mote_abi_import *imports;
  uint32_t export_count;
  const mote_abi_export *exports;
  /* Version 2: snapshots (rt.h, mote_rt_snapshot_*). MOTE_ABI_SNAPSHOT is set
   * when every import is a function and no global holds a reference: the
   * instance's state is then its own bytes, memories and tables, plus the
   * pointers `rebind` sets. rebind points a copied instance at new import
   * bindings (and at itself) exactly as instantiate does, without running
   * any initialisation. NULL when the flag is clear. */
  uint32_t flags;
  void (*rebind)(void *instance, const mote_abi_binding *imports);
} mote_abi_module;

#define MOTE_ABI_SNAPSHOT 1u

/*
 * Lazy objects (the quick tier of big modules, src/compile/lazy.c). Such an
 * object also exports MOTE_ABI_LAZY_SYMBOL. Each of its defined functions
 * w<N> is a stub with the function's C signature: it loads slots[N -
 * import_func_count] and, while that is NULL, calls the runtime's
 * mote_lazy_ready(descriptor, N), which compiles N (with some of the
 * functions it calls) in process and fills its slot; then it calls through
 * the slot. Table entries, ref.func and exports hold the stubs' addresses, so
 * a funcref is the same before and after its function was compiled. The
 * other arrays name what the lazily compiled code links against. An optional
 * symbol with a version of its own: objects without it are unchanged.
 */
#define MOTE_ABI_LAZY_VERSION 2
#define MOTE_ABI_LAZY_SYMBOL "mote_abi_lazy_v1"

typedef struct mote_abi_lazy {
  uint32_t version;           /* MOTE_ABI_LAZY_VERSION */
  uint32_t func_count;        /* the whole function index space */
  uint32_t import_func_count; /* the first defined function's index */
  uint32_t data_count;
  uint32_t type_count;
  void *volatile *slots;      /* per defined function: its code, NULL until ready */
  void **state;               /* the runtime's, per loaded object */
  const wasm_rt_function_ptr_t *funcs; /* func_count: w<N>, stubs and import trampolines */
  /* data_count: the data segments xl_d<i>, which the object does not hold:
   * the runtime points them into the module's bytes when it attaches */
  const uint8_t **data;
  uint32_t *const *types;     /* type_count: the type ids xl_ft<t> */
  void *table_init;           /* xl_table_init */
} mote_abi_lazy;

#endif /* MOTE_RT_ABI_H */
