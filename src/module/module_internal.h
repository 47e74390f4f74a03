/*
 * module: private declarations shared by the reader's files.
 *
 *   reader.c    the cursor: bytes, LEB128 integers, names (UTF-8), counts,
 *               error recording and allocation
 *   features.c  the post-2.0 features mote refuses, and the type encodings
 *               (value, reference, block types; limits) where they show up
 *   sections.c  the section loop and every section but code
 *   code.c      the instruction decoder for function bodies and constant
 *               expressions
 *   simd.c      the immediates of the SIMD instructions
 *   names.c     the "name" custom section, read leniently
 *   api.c       mote_module_read(), mote_module_free() and the accessors
 *   layout.c    the accessors of layout.h (where things are in the binary)
 */
#ifndef MOTE_MODULE_INTERNAL_H
#define MOTE_MODULE_INTERNAL_H

#include <stdarg.h>

#include "module/layout.h"
#include "module/module.h"

/* Implementation limits. The web's JS API limits (the ones browsers and
 * toolchains already respect), so a module that runs elsewhere runs here;
 * anything above is refused with MOTE_MODULE_TOO_LARGE before allocating. */
enum {
  MR_MAX_TYPES = 1000000,
  MR_MAX_FUNCS = 1000000, /* imported + defined */
  MR_MAX_IMPORTS = 100000,
  MR_MAX_EXPORTS = 100000,
  MR_MAX_GLOBALS = 1000000,
  MR_MAX_TABLES = 100000,
  MR_MAX_DATA_SEGMENTS = 100000,
  MR_MAX_ELEM_SEGMENTS = 10000000,
  MR_MAX_PARAMS = 1000,
  MR_MAX_RESULTS = 1000,
  MR_MAX_LOCALS = 50000, /* declared locals of one function */
  MR_MAX_BODY_SIZE = 7654321,
};

/* A name from the "name" section's function map. */
typedef struct mr_name {
  uint32_t index;
  uint32_t len;
  const char *name; /* points into the module's bytes */
} mr_name;

typedef struct mr_custom {
  const char *name; /* points into the module's bytes, valid UTF-8 */
  uint32_t name_len;
  const uint8_t *data; /* payload, points into the module's bytes */
  size_t data_len;
} mr_custom;

/* Every array below is from malloc() and owned by the module; every pointer
 * to a name or a byte string points into the caller's bytes. */
struct mote_module {
  const uint8_t *bytes;
  size_t len;

  mote_functype *types;
  uint32_t type_count;

  mote_import *imports;
  uint32_t import_count;
  mote_export *exports;
  uint32_t export_count;

  /* Index spaces: imported entries first, then the module's own. */
  uint32_t *func_type_index; /* type index of every function */
  uint32_t func_count;
  uint32_t func_import_count;
  mote_tabletype *tables;
  uint32_t table_count;
  mote_limits *memories;
  uint32_t memory_count;
  mote_globaltype *globals;
  uint32_t global_count;

  bool has_start;
  uint32_t start;

  /* From the "name" section (absent or broken: all zero). */
  const char *module_name;
  uint32_t module_name_len;
  mr_name *func_names; /* strictly increasing index, for bsearch */
  uint32_t func_name_count;

  /* Custom sections: the first MR_CUSTOMS_LISTED, and the first "name" one, are
   * listed (here and in the layout); the others are read and skipped, so
   * that millions of 3-byte custom sections do not take 64 bytes each. */
  mr_custom *customs;
  uint32_t custom_count;
  uint32_t custom_cap;
  uint32_t customs_seen; /* read, listed or not */
  bool name_listed;      /* a "name" section is */

  /* Layout (layout.h): every section in binary order. */
  mote_section_span *sections;
  uint32_t section_count;
  uint32_t section_cap;
};

#define MR_CUSTOMS_LISTED 1024

/* The state of one mote_module_read(). The first error wins: later failures
 * (unwinding callers) do not overwrite it. */
typedef struct mr_parse {
  mote_module *m;
  mote_module_error err;
  bool failed;
  char where[160]; /* what is being read, e.g. "function 7 ($main)" */

  /* The first "invalid" (ill-typed) finding: reported only once the whole
   * binary has been read, so that a malformed module is called malformed. */
  bool invalid;
  mote_module_error invalid_err;

  bool has_datacount;
  uint32_t datacount;
  uint32_t defined_funcs; /* function section count */
  bool seen_code;
  /* the bytes were read whole before (mote_module_read_known): function
   * bodies are walked by their sizes, not decoded */
  bool known_bodies;

  /* Scratch for the decoder: the kind of every open block. From malloc(),
   * reused across bodies, freed at the end of the read. */
  uint8_t *blocks;
  size_t blocks_cap;
} mr_parse;

/* A cursor over [pos, end) of the module bytes. Offsets are absolute in the
 * whole binary so that every message can name the byte where it happened. */
typedef struct mr_reader {
  mr_parse *p;
  const uint8_t *buf;
  size_t pos;
  size_t end;
} mr_reader;

/* ---- reader.c ---------------------------------------------------------- */

/* Records an error (if none yet) and returns false, so that callers can
 * write `return mr_fail(...)`. The message gets " in <where> at offset 0x..". */
bool mr_fail(mr_parse *p, mote_module_status status, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool mr_failv(mr_parse *p, mote_module_status status, size_t offset, const char *fmt,
              va_list ap);
/* Records an "invalid" finding (if none yet) for the end of the read; the
 * read goes on, so callers return true. Same message form as mr_fail. */
void mr_invalid(mr_parse *p, size_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mr_where(mr_parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "function 7" or "function 7 ($name)" into buf (a sanitised, short name). */
void mr_func_label(const mote_module *m, uint32_t func_index, char *buf, size_t size);

size_t mr_remaining(const mr_reader *r);
bool mr_u8(mr_reader *r, uint8_t *out);
bool mr_bytes(mr_reader *r, size_t n, const uint8_t **out);
bool mr_u32(mr_reader *r, uint32_t *out);
bool mr_s32(mr_reader *r, int32_t *out);
bool mr_s33(mr_reader *r, int64_t *out);
bool mr_s64(mr_reader *r, int64_t *out);
/* A byte that must be 0x00 (the reserved memory index of 2.0). */
bool mr_zero_byte(mr_reader *r, const char *insn);
/* A name: u32 length, then that many bytes of valid UTF-8. */
bool mr_name_str(mr_reader *r, const char **out, uint32_t *len);
bool mr_utf8_valid(const uint8_t *s, size_t len);
/* A vector count: refused if above `limit` (TOO_LARGE) or if `count *
 * min_size` bytes cannot remain (MALFORMED), so no allocation is ever sized
 * by an unchecked number. `what` names the entries for the message. */
bool mr_count(mr_reader *r, uint32_t *out, size_t min_size, uint32_t limit, const char *what);
/* calloc()/realloc() that check for overflow and record NOMEM. */
void *mr_alloc(mr_parse *p, size_t n, size_t size);
bool mr_grow(mr_parse *p, void **array, size_t n, size_t size);

/* ---- features.c -------------------------------------------------------- */

typedef enum mr_feature {
  MR_THREADS,
  MR_EXCEPTIONS,
  MR_TAIL_CALLS,
  MR_MEMORY64,
  MR_MULTI_MEMORY,
  MR_GC,
  MR_FUNC_REFS,
  MR_EXTENDED_CONST,
  MR_RELAXED_SIMD,
} mr_feature;

/* Records MOTE_MODULE_UNSUPPORTED naming the feature; returns false. */
bool mr_unsupported(mr_reader *r, size_t offset, mr_feature f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A value type byte; post-2.0 types are refused as unsupported. */
bool mr_valtype(mr_reader *r, uint8_t *out);
/* A reference type byte (funcref or externref). */
bool mr_reftype(mr_reader *r, uint8_t *out);
/* The heap type of ref.null. */
bool mr_heaptype(mr_reader *r, uint8_t *out);
/* Limits of a table (is_memory false) or memory. */
bool mr_limits(mr_reader *r, bool is_memory, mote_limits *out);

/* ---- code.c ------------------------------------------------------------ */

/* Decodes the code section (all bodies). */
bool mr_code_section(mr_reader *r);
/* What a valid constant expression is: one instruction (then END). */
typedef struct mr_const {
  uint8_t op; /* 0x41 0x42 0x43 0x44 i32..f64.const, 0x23 global.get, 0xd0 ref.null,
                 0xd2 ref.func; 0 when the expression is invalid */
  uint32_t index; /* global.get, ref.func: the index */
  size_t at;      /* the instruction's first byte */
  size_t len;     /* its length, END excluded */
} mr_const;

/* Decodes a constant expression up to and including its END, and checks that
 * it leaves exactly one value of `type` using only the first `globals`
 * globals, immutable ones. Returns false on a structural error; typing
 * errors are recorded with mr_invalid (and out->op is 0). `out` may be NULL. */
bool mr_const_expr(mr_reader *r, uint8_t type, uint32_t globals, mr_const *out);
/* The name of a value type for a message ("i32", "funcref"). */
const char *mr_type_name(uint8_t type);

/* ---- simd.c ------------------------------------------------------------ */

/* The rest of a SIMD instruction after its 0xfd prefix at `at`: the
 * sub-opcode (into *sub) and its immediates. */
bool mr_simd_op(mr_reader *r, size_t at, uint32_t *sub);

/* ---- sections.c -------------------------------------------------------- */

bool mr_sections(mr_parse *p);

/* ---- names.c ----------------------------------------------------------- */

/* Finds and reads the "name" section before anything else, so that error
 * messages can name functions; never fails the read (custom sections are not
 * validated), except for running out of memory. */
bool mr_names_prescan(mr_parse *p);

#endif /* MOTE_MODULE_INTERNAL_H */
