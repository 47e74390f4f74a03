/*
 * Private to src/compile: mote's WebAssembly -> C translator (xl_*.c).
 *
 *   xl_read.c    a cursor over the (already checked) binary; the module facts
 *                the function translator needs (segments, declared functions)
 *   xl_func.c    one function body: validation (the spec's algorithm) and C
 *   xl_ops.c     the table of plain numeric instructions
 *   xl_module.c  the instance struct, initialisation, exports, ABI descriptor
 *   xl_out.c     printf for the conversions the translator uses, fast (others
 *                go to the C library's)
 *   xl_prelude.h the helpers every generated file starts with (embedded text)
 *
 * The generated C works on the runtime's <wasm-rt.h> types and calls only
 * the wasm_rt_* functions of src/rt/exports.list.
 */
#ifndef MOTE_XL_H
#define MOTE_XL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "module/module.h"

/* A cursor over [pos, end) of the module bytes. The module reader has
 * checked the structure already; reads are still bounds-checked, and a read
 * past the end sets `bad` and yields zeros. */
typedef struct xl_cur {
  const uint8_t *buf;
  size_t pos, end;
  bool bad;
} xl_cur;

uint8_t xl_u8(xl_cur *c);
uint32_t xl_u32(xl_cur *c);
int32_t xl_s32(xl_cur *c);
int64_t xl_s64(xl_cur *c);
int64_t xl_s33(xl_cur *c);
uint32_t xl_fixed32(xl_cur *c);
uint64_t xl_fixed64(xl_cur *c);

/* A constant expression's one instruction. */
typedef struct xl_const {
  uint8_t op; /* 0x41..0x44, 0x23 global.get, 0xd0 ref.null, 0xd2 ref.func, 0xfd v128 */
  uint64_t bits;      /* const: the value's bits; global.get/ref.func: the index */
  uint8_t v128[16];   /* v128.const */
} xl_const;
void xl_read_const(xl_cur *c, xl_const *out); /* reads through its END */

typedef struct xl_data {
  bool active;
  uint32_t memory;
  xl_const offset;
  const uint8_t *bytes;
  uint32_t len;
  size_t at; /* where its bytes are in the data object (XL_DATA_SYMBOL): after the earlier ones' */
} xl_data;

/* The symbol of an eager object's data segments, one after another in an
 * object file of their own (mote_data_object_write); a lazy object's are its
 * module's bytes (xl_lazy_data). */
#define XL_DATA_SYMBOL "xl_data"

/* An element segment's item, in 4 bytes (as an xl_const, 32: a 16 MB
 * segment of one-byte function indices took 512 MB): a function's index,
 * XL_ITEM_GLOBAL | a global's (global.get), or XL_ITEM_NULL (ref.null). */
#define XL_ITEM_NULL 0xffffffffu
#define XL_ITEM_GLOBAL 0x80000000u

typedef struct xl_elem {
  uint8_t mode; /* 0 active, 1 passive, 2 declarative */
  uint8_t type; /* MOTE_FUNCREF / MOTE_EXTERNREF */
  uint32_t table;
  xl_const offset;
  uint32_t count;
  uint32_t *items; /* count, from malloc(): XL_ITEM_* */
  /* the first item that names no function, or a global an element may not
   * read (an index past 2^31 is no function's nor global's): 0 none */
  uint8_t bad_op;
  uint64_t bad_index;
} xl_elem;

typedef struct xl_global {
  uint8_t type;
  bool is_mutable;
  xl_const init;
} xl_global;

/* Everything about the module the translator needs beyond module.h. */
typedef struct xl_module {
  const mote_module *m;
  const uint8_t *bytes;
  size_t len;
  uint32_t nimports_func, nimports_table, nimports_mem, nimports_global;
  xl_global *globals; /* the module's own, from malloc() */
  uint32_t nglobals;
  xl_data *data;
  uint32_t ndata;
  bool has_datacount;
  xl_elem *elems;
  uint32_t nelems;
  uint8_t *declared; /* per function: may be named by ref.func (from malloc()) */
  /* Code section: each defined function's body [start, end). */
  size_t *body_start, *body_end;
  uint32_t nbodies;
  /* Lazy batches (xl_lazy.c): function bodies are named b<N>, not w<N>
   * (w<N> is then the object's stub); calls still name w<N>. Each body
   * and each of its loops' turns say XL_HOT(d) (d: the defined index),
   * which the batch's header defines (the hot tier's count, lazy_hot.c). */
  bool lazy_bodies;
  /* Loops proven on entry get a copy for gcc (xl_func.c's copy_loop()): set
   * for the opt and the hot tier; tcc's units would only skip them. */
  bool fast_loops;
  /* NULL, or the bytes of C the functions took so far, added to atomically
   * by every thread that writes them, and checked against XL_C_MODULE_BASE
   * + XL_C_PER_BYTE * len (set by the compile, not by lazy objects) */
  size_t *c_written;
} xl_module;

/* Collects the facts; false on out of memory or a structural surprise. */
bool xl_module_scan(xl_module *x, const mote_module *m, const uint8_t *bytes, size_t len);
void xl_module_release(xl_module *x);

/* Validation failure or internal problem of one translation. */
typedef struct xl_error {
  bool failed;
  bool io; /* not the module's fault: memory ran out, or writing the C failed (a full disk) */
  bool limit; /* a valid module past the translator's limits (XL_C_* below) */
  char message[256];
} xl_error;

/* The C a function may take: XL_C_BASE bytes plus XL_C_PER_BYTE per byte
 * of its body (locals' declarations included). Real code takes 5-15 bytes
 * of C per byte of wasm; a few bytes of wasm can ask for kilobytes (a
 * br_if to a block of 1000 results copies them all, a group of 50000
 * locals declares each), which would take the server's memory and time:
 * such a module is refused (xl_error.limit). A module's whole C (counted
 * when xl_module.c_written is set: the compile's translation, not a lazy
 * object's batches) may take XL_C_MODULE_BASE plus XL_C_PER_BYTE per byte
 * of the module. */
#define XL_C_BASE ((size_t)16 << 10)
#define XL_C_PER_BYTE 48
#define XL_C_MODULE_BASE ((size_t)64 << 20)
/* The C budget of a function of `code_len` bytes of body. */
static inline size_t xl_c_budget(size_t code_len) { return XL_C_BASE + XL_C_PER_BYTE * code_len; }

/* Whether the C written once per function and per type (prototypes,
 * import trampolines, the call glue: ~27 bytes per parameter or result)
 * fits the module's budget (XL_C_MODULE_BASE): else false with err (limit).
 * 5000 imports of a type of 1000 parameters are 45 KB of wasm and were 135
 * MB of C before any body. */
bool xl_module_fits(const xl_module *x, xl_error *err);
/* Adds `bytes` of C to the module's count (x->c_written; nothing when it
 * is NULL): false with err (limit) once past XL_C_MODULE_BASE. */
bool xl_c_charge(const xl_module *x, size_t bytes, xl_error *err);

/* What a function's C names outside itself, marked by xl_func_write: per
 * function 1 = called, 2 = ref.func (| both); per data segment 1. */
typedef struct xl_refs {
  uint8_t *funcs; /* mote_module_func_count entries */
  uint8_t *data;  /* x->ndata entries */
  /* optional (NULL: not kept): each function called, in the order first
   * called, mote_module_func_count entries of room */
  uint32_t *called;
  uint32_t ncalled;
  /* optional (NULL: not kept; xl_write_batch and xl_write_functions need
   * it): each function named (called or ref.func), mote_module_func_count
   * entries of room, so that a lazy batch walks what it names, not the
   * module's functions; in the order first named until the batch's
   * declarations are written, which sort it into index order */
  uint32_t *named;
  uint32_t nnamed;
} xl_refs;

/* Writes C for defined function `func_index` (imports first in the index
 * space) to `out`, validating it, and marks what it names in `refs` (may be
 * NULL). Returns false with `err` set if invalid. */
bool xl_func_write(FILE *out, const xl_module *x, uint32_t func_index, xl_refs *refs,
                   xl_error *err);
/* The same, and *deepest_if (may be NULL) the most ifs open at once in it:
 * each is a C block inside the one around it. out may be NULL: the function
 * is translated (and validated, and its C budget checked), and nothing is
 * written. */
bool xl_func_write_nested(FILE *out, const xl_module *x, uint32_t func_index, xl_refs *refs,
                          uint32_t *deepest_if, xl_error *err);
/* Validates defined function `func_index` by the same rules without
 * translating it (xl_check.c: types only, no C, so no C budget); false with
 * `err` set if invalid. *deepest_if as above, or more (the translator
 * writes some ifs as no C block: a guarded truncation's). *c_estimate: the
 * C its translation would take, estimated generously (xl_check.c). */
bool xl_check_function(const xl_module *x, uint32_t func_index, uint32_t *deepest_if,
                       uint64_t *c_estimate, xl_error *err);
/* The most locals a function may declare beyond its parameters. */
#define XL_MAX_LOCALS 50000u
/* A plain load (0x28..0x35) or store (0x36..0x3e): its value's type and its
 * natural alignment (log2) in *vt and *log2 (xl_func.c's tables); false for
 * any other opcode. */
bool xl_memop(uint8_t op, uint8_t *vt, uint8_t *log2);

/* C names. */
char xl_type_letter(uint8_t t);      /* i j f d v r e */
/* The operand stack slot of type t at depth d ("si3"), in one of 8 rotating
 * buffers; records in slots[] (indexed i j f d v r e, 8 entries) that the
 * function needs it. */
const char *xl_slot(uint32_t *slots, uint8_t t, uint32_t d);
const char *xl_c_type(uint8_t t);     /* u32 u64 f32 f64 v128 fref eref */
void xl_write_return_type(FILE *out, const mote_functype *ft);
/* A C function w<f> of ft's signature (parameters a0, a1, ...) that runs
 * `body` (whole lines, may be "") and returns the call of `target`, a
 * pointer to a function of `first` and ft's parameters, with `arg0` and
 * a0, a1, ...: an import's trampoline, a lazy function's stub. */
void xl_write_forwarder(FILE *o, const mote_functype *ft, uint32_t f, const char *body,
                        const char *first, const char *target, const char *arg0);
void xl_write_signature(FILE *out, const mote_functype *ft); /* "ij:d" with quotes */

/* The wasm_rt_type_t number of a value type (6 for v128, which wasm-rt.h
 * lacks), for wasm_rt_register_func_type. */
int xl_rt_type(uint8_t t);

/* Plain numeric instructions 0x45..0xc4 and 0xfc 0..7. */
typedef struct xl_op {
  const char *c;    /* helper or operator template, see xl_ops.c */
  uint8_t in[2];    /* operand types, 0 when fewer */
  uint8_t out;      /* result type */
} xl_op;
const xl_op *xl_numeric_op(uint32_t prefix, uint32_t code);
/* Whether the plain numeric instruction `code` (no prefix) may trap:
 * division, remainder, the truncations of floats that do not saturate.
 * Every other one is a pure function of its operands. */
bool xl_numeric_traps(uint32_t code);

/* ---- loops proven before they start (xl_loop.c) ---------------------------
 * The plan of a loop whose accesses can all be checked on entry (in bounds,
 * no 32-bit wrap, a known number of turns), for the copy xl_func.c writes
 * for gcc. */
#define XL_LOOP_MAX_ACCESSES 32
typedef struct xl_loop xl_loop;
/* The plan of the loop whose body starts at `body` (after an empty
 * blocktype), or NULL if it does not qualify or on no memory. types[ntypes]:
 * the function's locals. Owned by the caller (xl_loop_free). */
xl_loop *xl_loop_plan(xl_cur body, const uint8_t *types, uint32_t ntypes);
void xl_loop_free(xl_loop *lp); /* NULL: nothing */
uint32_t xl_loop_accesses(const xl_loop *lp); /* its loads and stores */
size_t xl_loop_bytes(const xl_loop *lp);      /* its body's wasm, through its end */
/* Declares u64 qn<id> (the turns) and qa<id>_<j> (access j's address in
 * turn 0) and writes the checks that set them, each jumping to L<slow> when
 * it fails; reads the locals (l<N>) as they are on entry, I and M0. */
void xl_loop_write_checks(FILE *o, const xl_loop *lp, uint32_t id, uint32_t slow);
/* Access j's address in turn qk of the copy: the same value as the loop's. */
void xl_loop_address(char *dst, size_t cap, const xl_loop *lp, uint32_t id, uint32_t j);

/* The whole module's C in one unit: prelude, instance, functions,
 * descriptor. */
bool xl_module_write(FILE *out, const xl_module *x, xl_error *err);

/* The same in parts, for compiling chunks of functions separately (split
 * true): the header every part includes as "mod.h" (it also validates the
 * module level), the core (segments, initialisation, exports, descriptor)
 * and the functions [first, end) of the function index space. With split
 * false the three written one after another make one unit. */
bool xl_write_header(FILE *out, const xl_module *x, bool split, xl_error *err);
/* lazy: the defined functions are declared static, for a lazy object's
 * stubs (xl_write_lazy_core); false otherwise. */
bool xl_write_core(FILE *out, const xl_module *x, bool split, bool lazy, xl_error *err);
bool xl_write_chunk(FILE *out, const xl_module *x, uint32_t first, uint32_t end, bool split,
                    xl_error *err);

/* A function's prototype ("XL_FUNC ret w<f>(inst *I, types)", no ';') and
 * the ref.func helper xl_fref_<f> of a function. */
void xl_write_prototype(FILE *out, const mote_module *m, uint32_t f);
void xl_write_fref_helper(FILE *out, const xl_module *x, uint32_t f);

/* Lazy objects (xl_lazy.c, docs/architecture.md "The first answer"). The
 * core of a lazy object: xl_write_core's (split) plus a stub w<N> per
 * defined function, the slot table and the mote_abi_lazy descriptor. Written
 * after xl_write_header(split true) in one unit. */
bool xl_write_lazy_core(FILE *out, const xl_module *x, xl_error *err);

/* The size of the code section of module bytes, from the section headers
 * alone (any bytes: 0 when there is none or they are not a module), in
 * *largest the largest function body (of those well formed), and in
 * *declared the sizes of the type and global sections together. */
size_t xl_code_section_size(const uint8_t *bytes, size_t len, size_t *largest, size_t *declared);

/* Validates the defined functions [first, end) of the index space: a lazy
 * object translates its functions only when called, but a module with an
 * invalid function, or one past its C budget or the module's, must still
 * be refused when it is compiled. Each is checked (xl_check_function); one
 * whose estimated C comes near its budget is translated to nowhere as a
 * batch would translate it, which measures its C. The estimates, or the
 * measures, count against the module's budget (x->c_written). Stops at the
 * first refused. *deepest_if: the most ifs open at once in any of them. */
bool xl_validate_functions(const xl_module *x, uint32_t first, uint32_t end,
                           uint32_t *deepest_if, xl_error *err);

/* One batch for a lazy object: the bodies (b<N>, x->lazy_bodies must be
 * set) of `root` and of functions it calls directly, breadth first, while
 * the batch holds less than `budget` bytes of wasm code and at most `max`
 * functions; then, while it holds less than `fill` bytes, the functions
 * that follow root in the index space (without their callees). A function
 * for which skip(ctx, f) is true (already compiled) is left out. Writes the
 * declarations the bodies need and then the bodies (the caller puts mod.h's
 * text before them). members[] (max entries) gets the functions of the
 * batch, in order, *nmembers their number and *ncalled how many of them are
 * root and its callees (the rest were filled in); refs (zeroed by the
 * caller, sized as for xl_func_write, `called` and `named` given) what they
 * name. False with err set on an invalid
 * function or no memory (members[] and *nmembers then say which functions
 * it had taken). */
bool xl_write_batch(FILE *out, const xl_module *x, uint32_t root, size_t budget, size_t fill,
                    uint32_t max, bool (*skip)(void *ctx, uint32_t f), void *ctx,
                    uint32_t *members, uint32_t *nmembers, uint32_t *ncalled,
                    xl_refs *refs, xl_error *err);

/* The bodies (b<N>, x->lazy_bodies set) of exactly the defined functions
 * members[0..n), after the declarations they need, as xl_write_batch
 * writes them (for the hot tier's batches, src/compile/lazy_hot.c); refs
 * as for xl_write_batch, `named` given. */
bool xl_write_functions(FILE *out, const xl_module *x, const uint32_t *members, uint32_t n,
                        xl_refs *refs, xl_error *err);

/* Cuts the defined functions into chunks of about min..max bytes of wasm
 * code: a chunk ends after a function whose type and locals hash to 0 mod 8
 * once it holds min bytes, or at max bytes. The boundaries do not depend on
 * the code inside functions, so changing the code of one function (keeping
 * the sizes below max) changes its chunk only. Fills ends[] (x->nbodies entries are enough) with each chunk's end
 * in the function index space (the first starts at the first defined
 * function); returns the number of chunks (0 without functions). */
uint32_t xl_plan_chunks(const xl_module *x, size_t min_bytes, size_t max_bytes, uint32_t *ends);

/* printf to a stream and snprintf into dst (always terminated), fast for
 * %s %.*s %c %d %u %x %o with 0, width and l/ll/z/h; other conversions go
 * to stdio. The stream is written without its lock: one thread per stream. */
__attribute__((format(printf, 2, 3))) void xl_printf(FILE *o, const char *fmt, ...);
void xl_vprintf(FILE *o, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) void xl_bprintf(char *dst, size_t cap, const char *fmt,
                                                       ...);
/* s into dst (cap > 0 bytes), cut to fit and terminated: what
 * xl_bprintf(dst, cap, "%s", s) writes, without the formatting. */
void xl_bcopy(char *dst, size_t cap, const char *s);
/* n bytes as C octal escapes ("\ooo"), closing and reopening the string
 * literal after every per_line bytes (0: never). */
void xl_put_octal_escapes(FILE *o, const uint8_t *b, size_t n, size_t per_line);

extern const char mote_xl_prelude_text[];

#endif
