/*
 * module: reading a WebAssembly binary.
 *
 * mote_module_read() parses a whole .wasm held in memory, checking every
 * length and index against the buffer, and either returns a read-only
 * description of the module or an error naming what is wrong and where.
 * It refuses modules that use features past WebAssembly 2.0, naming the
 * feature and the function and byte offset where it was met.
 *
 * It checks the binary's structure (the "malformed" class of errors). Of the
 * "invalid" class (well-formed but ill-typed) it checks the types of constant
 * expressions (global initializers, segment offsets, element items) and the
 * table of call_indirect; the translator (src/compile/xl_*.c) validates the
 * rest. A malformed module is reported as such even if it is also invalid.
 *
 * Ownership: the module keeps pointers into the caller's bytes; the bytes must
 * outlive it. Names are not NUL-terminated: use the *_len fields.
 */
#ifndef MOTE_MODULE_H
#define MOTE_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mote_module mote_module;

typedef enum mote_module_status {
  MOTE_MODULE_OK = 0,
  MOTE_MODULE_MALFORMED,   /* not a well-formed binary: see message */
  MOTE_MODULE_UNSUPPORTED, /* uses a feature mote cannot run: see message */
  MOTE_MODULE_TOO_LARGE,   /* exceeds one of the implementation limits */
  MOTE_MODULE_NOMEM,
  MOTE_MODULE_INVALID,     /* well-formed but ill-typed (the spec's "invalid") */
} mote_module_status;

typedef struct mote_module_error {
  mote_module_status status;
  size_t offset;     /* byte offset in the binary where the problem was found */
  char message[256]; /* one line, for a user: what and where */
} mote_module_error;

/* Value types (binary encoding). */
typedef enum mote_valtype {
  MOTE_I32 = 0x7f,
  MOTE_I64 = 0x7e,
  MOTE_F32 = 0x7d,
  MOTE_F64 = 0x7c,
  MOTE_V128 = 0x7b,
  MOTE_FUNCREF = 0x70,
  MOTE_EXTERNREF = 0x6f,
} mote_valtype;

typedef enum mote_extern_kind {
  MOTE_EXTERN_FUNC = 0,
  MOTE_EXTERN_TABLE = 1,
  MOTE_EXTERN_MEMORY = 2,
  MOTE_EXTERN_GLOBAL = 3,
} mote_extern_kind;

typedef struct mote_functype {
  uint32_t param_count;
  uint32_t result_count;
  const uint8_t *params;  /* mote_valtype codes, param_count of them */
  const uint8_t *results; /* mote_valtype codes, result_count of them */
} mote_functype;

typedef struct mote_limits {
  uint64_t min;
  uint64_t max; /* valid when has_max */
  bool has_max;
} mote_limits;

typedef struct mote_tabletype {
  uint8_t elemtype; /* MOTE_FUNCREF or MOTE_EXTERNREF */
  mote_limits limits;
} mote_tabletype;

typedef struct mote_globaltype {
  uint8_t valtype;
  bool is_mutable;
} mote_globaltype;

typedef struct mote_import {
  const char *module;
  uint32_t module_len;
  const char *name;
  uint32_t name_len;
  mote_extern_kind kind;
  union {
    uint32_t type_index; /* FUNC: index into the type section */
    mote_tabletype table;
    mote_limits memory;
    mote_globaltype global;
  } u;
} mote_import;

typedef struct mote_export {
  const char *name;
  uint32_t name_len;
  mote_extern_kind kind;
  uint32_t index; /* in the kind's index space (imports first) */
} mote_export;

/* Reads `len` bytes at `bytes`. On success *out is a new module (free with
 * mote_module_free) and `err` is untouched; otherwise *out is NULL and `err`
 * (may be NULL) says why. */
mote_module_status mote_module_read(const uint8_t *bytes, size_t len, mote_module **out,
                                    mote_module_error *err);
/* The same for bytes that mote_module_read accepted before, as the caller
 * knows (a lazy object's module, checked against its hash): the function
 * bodies are walked by their sizes but not decoded, which is most of a
 * read (Yosys's 28 MB of code: ~0.2 s). Anything else must go through
 * mote_module_read: a body's errors go unseen here. */
mote_module_status mote_module_read_known(const uint8_t *bytes, size_t len, mote_module **out,
                                          mote_module_error *err);
void mote_module_free(mote_module *m);

/* The text name of a value type ("i32", "funcref"), or "?". */
const char *mote_valtype_name(uint8_t type);

/* Types. */
uint32_t mote_module_type_count(const mote_module *m);
const mote_functype *mote_module_type(const mote_module *m, uint32_t type_index);

/* Imports and exports, in binary order. */
uint32_t mote_module_import_count(const mote_module *m);
const mote_import *mote_module_import(const mote_module *m, uint32_t i);
uint32_t mote_module_export_count(const mote_module *m);
const mote_export *mote_module_export(const mote_module *m, uint32_t i);

/* Index spaces (imported entities first, then the module's own). */
uint32_t mote_module_func_count(const mote_module *m);
const mote_functype *mote_module_func_type(const mote_module *m, uint32_t func_index);
/* The type index of a function (UINT32_MAX if there is no such function). */
uint32_t mote_module_func_type_index(const mote_module *m, uint32_t func_index);
uint32_t mote_module_table_count(const mote_module *m);
const mote_tabletype *mote_module_table(const mote_module *m, uint32_t table_index);
uint32_t mote_module_memory_count(const mote_module *m);
const mote_limits *mote_module_memory(const mote_module *m, uint32_t memory_index);
uint32_t mote_module_global_count(const mote_module *m);
const mote_globaltype *mote_module_global(const mote_module *m, uint32_t global_index);

/* The start function, if any. */
bool mote_module_start(const mote_module *m, uint32_t *func_index);

/* The module name from the "name" custom section, if present (*len set). */
const char *mote_module_name(const mote_module *m, uint32_t *len);
/* The name of a function from the "name" section, or NULL. */
const char *mote_module_func_name(const mote_module *m, uint32_t func_index, uint32_t *len);

/* A custom section by name, or NULL; *len set to its payload size. */
const uint8_t *mote_module_custom_section(const mote_module *m, const char *name, size_t *len);

#endif /* MOTE_MODULE_H */
