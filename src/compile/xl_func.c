/*
 * One function body -> C, validated on the way (the spec's validation
 * algorithm: an operand stack of types and a stack of control frames).
 *
 * Every operand stack slot is a C local named by its depth and type (si3 is
 * the i32 at depth 3), so the value an instruction leaves is always in the
 * variable its consumer reads, and a branch only copies its values to the
 * target's slots. Blocks and loops are labels and gotos, `if` is a C if,
 * br_table a switch (and a computed goto for gcc: br_table()).
 * Code after an unconditional branch (unreachable code) is validated but not
 * written. Locals are l0.. (parameters first).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "xl.h"
#include "xl_simd.h"

enum { K_FUNC, K_BLOCK, K_LOOP, K_IF, K_ELSE };
/* The longest C of a pending value (longer ones are written to their slot). */
#define PEND 128
#define ANY 0 /* the type of a value popped from a polymorphic stack */
/* What a pending value is made of. Operators are the numeric instructions
 * whose C has no name in it (no cast, no helper: `$0 + $1`, `$0 >> ($1 & 31)`). */
enum {
  PK_OTHER,    /* anything else, or a value in its slot */
  PK_CONST,    /* integer constants and operators */
  PK_LOCAL,    /* a local.get alone */
  PK_OF_LOCAL, /* one local, integer constants and operators (`(l3 - 1u)`) */
};

typedef struct frame {
  uint8_t kind;
  uint32_t label;
  uint32_t height; /* operand stack height below the block's parameters */
  uint32_t np, nr;
  const uint8_t *params, *results;
  bool unreachable;
  bool dead; /* entered in unreachable code: nothing of it is written */
  bool used; /* a branch targets its label */
  size_t start; /* the offset of its instruction in the body */
  uint32_t loop; /* the innermost loop frame around it (UINT32_MAX: none) */
  /* a loop's: the first of the tables (cgoto_table.next) that its end
   * decides on next (UINT32_MAX: none) */
  uint32_t tables;
} frame;

/* A br_table written as a computed goto too: its entries, where its
 * "#if XL_CGOTO && 0" has the 0, the local whose value alone is its index
 * (UINT32_MAX: none), the next table in its loop's list, whether a loop's
 * end has decided on it, and whether it is a state machine's (see
 * end_loop_tables()). */
typedef struct {
  uint32_t entries;
  size_t at;
  uint32_t local, next;
  bool seen, state_machine;
} cgoto_table;

typedef struct fx {
  const xl_module *x;
  const mote_module *m;
  xl_refs *refs;
  FILE *o;
  size_t code_len; /* its body's bytes, locals included */
  uint32_t pend_lo; /* no stack entry below it is pending (materialize starts there) */
  uint32_t *lfirst, lfirst_cap; /* write_br_table's first[label]: UINT32_MAX between tables */
  size_t budget;  /* bytes of C the function may take (XL_C_BASE, XL_C_PER_BYTE) */
  uint32_t nops;  /* instructions translated: the budget is checked every 64 */
  xl_error *err;
  xl_cur c;
  uint32_t func;
  uint8_t *stack;
  /* Per stack entry: 1 + the index in `keeps` of the load it comes straight
   * from, or 0. */
  uint32_t *loaded;
  /* Per stack entry: a value not yet in its slot, written where it is used
   * instead (pend[i][0] == 0: in its slot): a constant, a local's name, or a
   * trap-free numeric instruction of pending values and of the slot of its
   * own depth (which nothing writes while the value is on the stack; own:
   * whether it reads it); and the locals it reads, as bits (local & 63), so
   * that setting one of them writes it to its slot first. */
  char (*pend)[PEND];
  uint64_t *pend_locals;
  uint8_t *pend_own;
  /* Per stack entry: what a pending value is made of (PK_*), and its local
   * for PK_LOCAL and PK_OF_LOCAL: what the rules that look at a value's
   * source read (the state machines of br_table, guarded_trunc), set where
   * the value is pushed rather than parsed back from its C. */
  uint8_t *pend_kind;
  uint32_t *pend_local;
  /* Per depth: whether the value is a float comparison's (see select). */
  uint8_t *fcmp;
  /* Where each load's barrier letter is in the body text (see load()). */
  size_t *keeps;
  uint32_t nkeeps, keeps_cap;
  /* A float load that may need no barrier (see written_back()): 1 + its
   * index in `keeps` (0: none), its opcode, address text and offset, the
   * depth of its value (then of the add, sub, mul or div of it), and whether
   * that arithmetic has been seen. */
  uint32_t wb_id, wb_depth, wb_off;
  uint8_t wb_op, wb_stage;
  char wb_addr[PEND];
  uint32_t h, cap;
  frame *frames;
  uint32_t nf, fcap;
  /* ifs open now, and the most open at once: each is a C block nested in the
   * one around it, which a compiler's parser descends recursively */
  uint32_t ifs, deepest_if;
  uint8_t *locals;
  uint32_t nlocals;
  /* Per local: 1 + the offset of the last local.set or local.tee of it, and
   * of the last that gave it a value other than a constant (0: none; see
   * end_loop_tables()) */
  size_t *set_at, *varied_at;
  uint32_t slots[8]; /* per type letter index: 1 + the deepest slot used */
  uint32_t labels;
  /* the br_tables written as a computed goto too (br_table()), of which
   * the function's end chooses one */
  cgoto_table *cgotos;
  uint32_t ncgotos, cgotos_cap;
  size_t at; /* the current instruction's offset */
  /* The loop being copied for gcc (copy_loop()): its plan (xl_loop.c), the
   * label of its copy (and the id of the copy's variables), of the point
   * after both, its frame, where its body's text starts in the output, and
   * the places in that text the copy changes. obuf: the output's buffer. */
  xl_loop *lp;
  uint32_t lp_id, lp_end, lp_frame;
  size_t lp_body;
  struct lp_span {
    size_t at, end;
    uint8_t kind; /* SPAN_* */
  } *lp_spans;
  uint32_t lp_nspans, lp_cap;
  char **obuf;
  /* bytes of the output that are loop copies and their checks: outside the
   * budget (c_used()), and at most half of it */
  size_t copied;
} fx;

/* ---- names ------------------------------------------------------------- */

char xl_type_letter(uint8_t t) {
  switch (t) {
    case MOTE_I32: return 'i';
    case MOTE_I64: return 'j';
    case MOTE_F32: return 'f';
    case MOTE_F64: return 'd';
    case MOTE_V128: return 'v';
    case MOTE_FUNCREF: return 'r';
    case MOTE_EXTERNREF: return 'e';
    default: return '?';
  }
}

const char *xl_c_type(uint8_t t) {
  switch (t) {
    case MOTE_I32: return "u32";
    case MOTE_I64: return "u64";
    case MOTE_F32: return "f32";
    case MOTE_F64: return "f64";
    case MOTE_V128: return "v128";
    case MOTE_FUNCREF: return "fref";
    case MOTE_EXTERNREF: return "eref";
    default: return "void";
  }
}

/* The C type of a value inside a function body. */
static const char *body_type(uint8_t t) { return t == MOTE_V128 ? "xl_v" : xl_c_type(t); }

static const char *type_name(uint8_t t) { return t == ANY ? "any" : mote_valtype_name(t); }

static int letter_index(uint8_t t) {
  switch (t) {
    case MOTE_I32: return 0;
    case MOTE_I64: return 1;
    case MOTE_F32: return 2;
    case MOTE_F64: return 3;
    case MOTE_V128: return 4;
    case MOTE_FUNCREF: return 5;
    case MOTE_EXTERNREF: return 6;
    default: return 7;
  }
}

void xl_write_return_type(FILE *out, const mote_functype *ft) {
  if (ft->result_count == 0) {
    fputs_unlocked("void", out);
  } else if (ft->result_count == 1) {
    fputs_unlocked(xl_c_type(ft->results[0]), out);
  } else {
    fputs_unlocked("struct wasm_multi_", out);
    for (uint32_t i = 0; i < ft->result_count; i++) fputc_unlocked(xl_type_letter(ft->results[i]), out);
  }
}

void xl_write_forwarder(FILE *o, const mote_functype *ft, uint32_t f, const char *body,
                        const char *first, const char *target, const char *arg0) {
  fputs_unlocked("XL_FUNC ", o);
  xl_write_return_type(o, ft);
  xl_printf(o, " w%u(inst *I", f);
  for (uint32_t i = 0; i < ft->param_count; i++)
    xl_printf(o, ", %s a%u", xl_c_type(ft->params[i]), i);
  xl_printf(o, ") {\n%s  return ((", body);
  xl_write_return_type(o, ft);
  xl_printf(o, " (*)(%s", first);
  for (uint32_t i = 0; i < ft->param_count; i++) xl_printf(o, ", %s", xl_c_type(ft->params[i]));
  xl_printf(o, "))%s)(%s", target, arg0);
  for (uint32_t i = 0; i < ft->param_count; i++) xl_printf(o, ", a%u", i);
  fputs_unlocked(");\n}\n", o);
}

void xl_write_signature(FILE *out, const mote_functype *ft) {
  fputc_unlocked('"', out);
  for (uint32_t i = 0; i < ft->param_count; i++) fputc_unlocked(xl_type_letter(ft->params[i]), out);
  fputc_unlocked(':', out);
  for (uint32_t i = 0; i < ft->result_count; i++) fputc_unlocked(xl_type_letter(ft->results[i]), out);
  fputc_unlocked('"', out);
}

/* ---- errors and output --------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static bool fail(fx *f, const char *fmt, ...) {
  if (f->err->failed) return false;
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  uint32_t len = 0;
  const char *name = mote_module_func_name(f->m, f->func, &len);
  if (name)
    snprintf(f->err->message, sizeof f->err->message, "%s in function %u ($%.*s) at offset 0x%zx",
             what, f->func, (int)(len > 40 ? 40 : len), name, f->at);
  else
    snprintf(f->err->message, sizeof f->err->message, "%s in function %u at offset 0x%zx", what,
             f->func, f->at);
  f->err->failed = true;
  return false;
}

/* The C the function's budget counts: all but the loops' copies. */
static size_t c_used(fx *f) { return (size_t)ftell(f->o) - f->copied; }

/* The function's C past its budget (XL_C_BASE): a limit, not invalid. */
static bool too_much_c(fx *f) {
  bool first = !f->err->failed;
  fail(f, "its C would take more than %zu KiB, the most for its %zu bytes of code: refused",
       f->budget >> 10, f->code_len);
  if (first) f->err->limit = true;
  return false;
}

/* Memory ran out: the translation failed, the module is not at fault. */
static bool out_of_memory(fx *f) {
  bool first = !f->err->failed;
  fail(f, "out of memory");
  if (first) f->err->io = true;
  return false;
}

static frame *top(fx *f) { return &f->frames[f->nf - 1]; }
/* The frame a branch of `depth` targets (0: the innermost). */
static frame *target(fx *f, uint32_t depth) { return &f->frames[f->nf - 1 - depth]; }
static bool live(fx *f) { return !top(f)->dead && !top(f)->unreachable; }

/* Function a named (how: 1 called, 2 by ref.func), listed the first time. */
static void name_func(xl_refs *refs, uint32_t a, uint8_t how) {
  if (refs->named && !refs->funcs[a]) refs->named[refs->nnamed++] = a;
  refs->funcs[a] |= how;
}

__attribute__((format(printf, 2, 3))) static void emit(fx *f, const char *fmt, ...) {
  if (!live(f)) return;
  va_list ap;
  va_start(ap, fmt);
  xl_vprintf(f->o, fmt, ap);
  va_end(ap);
}

/* 'letter' and n in decimal at dst (at least 12 bytes), terminated. */
static void numbered(char *dst, char letter, uint32_t n) {
  char digits[10];
  int nd = 0;
  do {
    digits[nd++] = (char)('0' + n % 10);
    n /= 10;
  } while (n);
  *dst++ = letter;
  while (nd) *dst++ = digits[--nd];
  *dst = 0;
}

const char *xl_slot(uint32_t *slots, uint8_t t, uint32_t d) {
  static __thread char bufs[8][24];
  static __thread unsigned n;
  char *b = bufs[n++ & 7];
  int k = letter_index(t);
  if (d + 1 > slots[k]) slots[k] = d + 1;
  b[0] = 's';
  numbered(b + 1, xl_type_letter(t), d);
  return b;
}

static const char *S(fx *f, uint8_t t, uint32_t d) { return xl_slot(f->slots, t, d); }

/* ---- the operand stack ---------------------------------------------------- */

static bool push(fx *f, uint8_t t) {
  if (f->h == f->cap) {
    uint32_t cap = f->cap ? 2 * f->cap : 64;
    uint8_t *s = realloc(f->stack, cap);
    if (!s) return out_of_memory(f);
    f->stack = s;
    uint32_t *l = realloc(f->loaded, cap * sizeof *l);
    if (!l) return out_of_memory(f);
    f->loaded = l;
    char(*pd)[PEND] = realloc(f->pend, cap * sizeof *pd);
    if (!pd) return out_of_memory(f);
    f->pend = pd;
    uint64_t *pl = realloc(f->pend_locals, cap * sizeof *pl);
    if (!pl) return out_of_memory(f);
    f->pend_locals = pl;
    uint8_t *po = realloc(f->pend_own, cap);
    if (!po) return out_of_memory(f);
    f->pend_own = po;
    uint8_t *pk = realloc(f->pend_kind, cap);
    if (!pk) return out_of_memory(f);
    f->pend_kind = pk;
    uint32_t *plo = realloc(f->pend_local, cap * sizeof *plo);
    if (!plo) return out_of_memory(f);
    f->pend_local = plo;
    uint8_t *fc = realloc(f->fcmp, cap);
    if (!fc) return out_of_memory(f);
    f->fcmp = fc;
    /* rows never pushed are read too: unreachable code pops values that
     * are not there (br_table's condition: V() of the frame's height) and
     * branches raise the height by the label's arity; each row must be a
     * C string and a load index of 0 (a fuzzer found strlen running off
     * an uninitialised row) */
    memset(f->stack + f->cap, 0, cap - f->cap);
    memset(f->loaded + f->cap, 0, (cap - f->cap) * sizeof *l);
    memset(f->pend + f->cap, 0, (cap - f->cap) * sizeof *pd);
    memset(f->pend_locals + f->cap, 0, (cap - f->cap) * sizeof *pl);
    memset(f->pend_own + f->cap, 0, cap - f->cap);
    memset(f->pend_kind + f->cap, 0, cap - f->cap);
    memset(f->pend_local + f->cap, 0, (cap - f->cap) * sizeof *plo);
    memset(f->fcmp + f->cap, 0, cap - f->cap);
    f->cap = cap;
  }
  f->loaded[f->h] = 0;
  f->pend[f->h][0] = 0;
  f->pend_locals[f->h] = 0;
  f->pend_own[f->h] = 0;
  f->pend_kind[f->h] = PK_OTHER;
  f->pend_local[f->h] = 0;
  f->fcmp[f->h] = 0;
  f->stack[f->h++] = t;
  return true;
}

static uint64_t local_bit(int32_t local) { return local < 0 ? 0 : (uint64_t)1 << (local & 63); }

/* Pushes a value that stays pending: `text` (shorter than PEND), reading the
 * locals of `locals`, is written where the value is used. */
static bool push_pending(fx *f, uint8_t t, const char *text, uint64_t locals) {
  if (!push(f, t)) return false;
  xl_bcopy(f->pend[f->h - 1], sizeof f->pend[0], text);
  f->pend_locals[f->h - 1] = locals;
  if (f->h - 1 < f->pend_lo) f->pend_lo = f->h - 1;
  return true;
}

/* Pushes local.get of `local` (of type t), pending. */
static bool push_local(fx *f, uint8_t t, uint32_t local) {
  char text[16]; /* a local.get costs a printf's call no more */
  numbered(text, 'l', local);
  if (!push_pending(f, t, text, local_bit((int32_t)local))) return false;
  f->pend_kind[f->h - 1] = PK_LOCAL;
  f->pend_local[f->h - 1] = local;
  return true;
}

/* The C of the value at depth d (just popped, or on the stack). */
static const char *V(fx *f, uint8_t t, uint32_t d) {
  if (d < f->cap && f->pend[d][0]) return f->pend[d];
  return S(f, t, d);
}

/* Writes pending values into their slots: all of them (before anything that
 * reads slots or branches), or those that read local `local` (before it is
 * set). From pend_lo up: a scan of the whole stack at nearly every
 * instruction was quadratic (a module of 25,000 values kept on the stack
 * and as many blocks took 5.5 s to translate). */
static void materialize(fx *f, int32_t local) {
  uint32_t lo = f->h;
  for (uint32_t i = f->pend_lo; i < f->h; i++) {
    if (!f->pend[i][0]) continue;
    if (local >= 0 && !(f->pend_locals[i] & local_bit(local))) {
      if (i < lo) lo = i;
      continue;
    }
    if (live(f)) xl_printf(f->o, "%s = %s;\n", S(f, f->stack[i], i), f->pend[i]);
    f->pend[i][0] = 0;
    f->pend_locals[i] = 0;
    f->pend_own[i] = 0;
    f->pend_kind[i] = PK_OTHER;
  }
  f->pend_lo = lo;
}

/* Pops a value expected to be of type `want` (ANY: any type); *got its type. */
static bool pop(fx *f, uint8_t want, uint8_t *got) {
  frame *fr = top(f);
  uint8_t t;
  if (f->h == fr->height) {
    if (!fr->unreachable)
      return fail(f, "type mismatch: expected %s but the stack is empty", type_name(want));
    t = ANY;
  } else {
    t = f->stack[--f->h];
  }
  if (want != ANY && t != ANY && t != want)
    return fail(f, "type mismatch: expected %s, got %s", type_name(want), type_name(t));
  if (got) *got = t == ANY ? want : t;
  return true;
}

static bool pop_n(fx *f, uint32_t n, const uint8_t *types) {
  for (uint32_t i = n; i-- > 0;)
    if (!pop(f, types[i], NULL)) return false;
  return true;
}

static bool push_n(fx *f, uint32_t n, const uint8_t *types) {
  for (uint32_t i = 0; i < n; i++)
    if (!push(f, types[i])) return false;
  return true;
}

/* ---- frames -------------------------------------------------------------- */

static bool push_frame(fx *f, uint8_t kind, uint32_t np, const uint8_t *params, uint32_t nr,
                       const uint8_t *results, uint8_t one) {
  if (f->nf == f->fcap) {
    uint32_t cap = f->fcap ? 2 * f->fcap : 16;
    frame *s = realloc(f->frames, cap * sizeof *s);
    if (!s) return out_of_memory(f);
    f->frames = s;
    f->fcap = cap;
  }
  bool dead = f->nf > 0 && !live(f);
  frame *fr = &f->frames[f->nf++];
  if (kind == K_IF && ++f->ifs > f->deepest_if) f->deepest_if = f->ifs;
  static const uint8_t single[256] = {
      [MOTE_I32] = MOTE_I32,       [MOTE_I64] = MOTE_I64,
      [MOTE_F32] = MOTE_F32,       [MOTE_F64] = MOTE_F64,
      [MOTE_V128] = MOTE_V128,     [MOTE_FUNCREF] = MOTE_FUNCREF,
      [MOTE_EXTERNREF] = MOTE_EXTERNREF};
  if (nr == 1 && results == NULL) {
    if (single[one] != one || one == 0) return fail(f, "malformed block type 0x%02x", one);
    results = &single[one];
  }
  uint32_t loop = UINT32_MAX; /* the frame's parent's loop, or the parent */
  if (f->nf > 1) loop = fr[-1].kind == K_LOOP ? f->nf - 2 : fr[-1].loop;
  *fr = (frame){.kind = kind, .label = f->labels++, .height = f->h - np, .np = np, .nr = nr,
                .params = params, .results = results, .dead = dead, .start = f->at,
                .loop = loop, .tables = UINT32_MAX};
  return true;
}

/* The types a branch to frame `fr` carries. */
static uint32_t label_arity(const frame *fr) { return fr->kind == K_LOOP ? fr->np : fr->nr; }
static const uint8_t *label_types(const frame *fr) {
  return fr->kind == K_LOOP ? fr->params : fr->results;
}

/* Copies the top n values (at h-n..h-1) to the slots of a branch target. */
static void copy_to(fx *f, const frame *to, uint32_t n, const uint8_t *types) {
  uint32_t src = f->h - n, dst = to->height;
  if (src == dst) return;
  for (uint32_t i = 0; i < n; i++)
    emit(f, "%s = %s; ", S(f, types[i], dst + i), S(f, types[i], src + i));
}

/* A v128 crosses a call or a global as the calling convention's union and
 * is an xl_v inside a function (xl_prelude.h): `text` converted out of the
 * function if t is v128, as it is otherwise (in a rotating buffer). */
static const char *v_out(fx *f, uint8_t t, const char *text) {
  static __thread char bufs[4][64];
  static __thread unsigned n;
  (void)f;
  if (t != MOTE_V128) return text;
  char *b = bufs[n++ & 3];
  xl_bprintf(b, sizeof bufs[0], "xl_vout(%s)", text);
  return b;
}

static void write_return(fx *f, uint32_t n, const uint8_t *types) {
  if (n == 0) {
    emit(f, "return;\n");
  } else if (n == 1) {
    emit(f, "return %s;\n", v_out(f, types[0], S(f, types[0], f->h - 1)));
  } else {
    emit(f, "{ struct wasm_multi_");
    for (uint32_t i = 0; i < n; i++) emit(f, "%c", xl_type_letter(types[i]));
    emit(f, " r_ = {");
    for (uint32_t i = 0; i < n; i++)
      emit(f, "%s%s", i ? ", " : "", v_out(f, types[i], S(f, types[i], f->h - n + i)));
    emit(f, "}; return r_; }\n");
  }
}

/* A branch to the frame `depth` levels out; validation done by the caller. */
static void write_branch(fx *f, uint32_t depth) {
  frame *to = target(f, depth);
  uint32_t n = label_arity(to);
  if (to->kind == K_FUNC) {
    write_return(f, n, label_types(to));
    return;
  }
  copy_to(f, to, n, label_types(to));
  emit(f, "goto L%u;\n", to->label);
  if (live(f)) to->used = true;
}

static void set_unreachable(fx *f) {
  frame *fr = top(f);
  f->h = fr->height;
  fr->unreachable = true;
}

/* ---- block types, calls -------------------------------------------------- */

static bool blocktype(fx *f, uint32_t *np, const uint8_t **params, uint32_t *nr,
                      const uint8_t **results, uint8_t *one) {
  size_t at = f->c.pos;
  uint8_t b = at < f->c.end ? f->c.buf[at] : 0;
  *np = 0;
  *params = NULL;
  *one = 0;
  if (b == 0x40) {
    f->c.pos++;
    *nr = 0;
    *results = NULL;
    return true;
  }
  if (b >= 0x40 && b < 0x80) {
    f->c.pos++;
    *one = b;
    *nr = 1;
    *results = NULL;
    return true;
  }
  int64_t idx = xl_s33(&f->c);
  if (idx < 0 || (uint64_t)idx >= mote_module_type_count(f->m))
    return fail(f, "unknown type %" PRId64 " of a block", idx);
  const mote_functype *ft = mote_module_type(f->m, (uint32_t)idx);
  *np = ft->param_count;
  *params = ft->params;
  *nr = ft->result_count;
  *results = ft->results;
  return true;
}

/* Writes "<dst> = " (or the struct unpacking prefix) for a call of type ft
 * whose arguments start at depth `base`; then the callee expression is
 * written by the caller, then finish_call. */
static void start_call(fx *f, const mote_functype *ft, uint32_t base) {
  if (ft->result_count == 1)
    emit(f, "%s = %s", S(f, ft->results[0], base), ft->results[0] == MOTE_V128 ? "xl_vin(" : "");
  else if (ft->result_count > 1)
    emit(f, "{ __typeof__(");
  (void)base;
}

static void write_args(fx *f, const mote_functype *ft, uint32_t base) {
  for (uint32_t i = 0; i < ft->param_count; i++)
    emit(f, ", %s", v_out(f, ft->params[i], V(f, ft->params[i], base + i)));
  emit(f, ")");
}

static void finish_call(fx *f, const mote_functype *ft, uint32_t base) {
  if (ft->result_count > 1) {
    /* gcc and tcc both know __typeof__ */
    emit(f, ") r_; ");
  }
  (void)base;
}

/* A call of a callee written by `callee` (its C expression, as a function
 * taking the context first). */
static void write_call(fx *f, const mote_functype *ft, uint32_t base, const char *callee,
                       const char *ctx) {
  if (ft->result_count <= 1) {
    start_call(f, ft, base);
    emit(f, "%s(%s", callee, ctx);
    write_args(f, ft, base);
    emit(f, "%s;\n", ft->result_count == 1 && ft->results[0] == MOTE_V128 ? ")" : "");
    return;
  }
  emit(f, "{ struct wasm_multi_");
  for (uint32_t i = 0; i < ft->result_count; i++) emit(f, "%c", xl_type_letter(ft->results[i]));
  emit(f, " r_ = %s(%s", callee, ctx);
  write_args(f, ft, base);
  emit(f, "; ");
  for (uint32_t i = 0; i < ft->result_count; i++)
    emit(f, ft->results[i] == MOTE_V128 ? "%s = xl_vin(r_.%c%u); " : "%s = r_.%c%u; ",
         S(f, ft->results[i], base + i), xl_type_letter(ft->results[i]), i);
  emit(f, "}\n");
  (void)finish_call;
}

/* The C function pointer type of ft, e.g. "u32 (*)(void *, u32, f64)". */
static void write_fn_type(fx *f, const mote_functype *ft) {
  if (!live(f)) return;
  xl_write_return_type(f->o, ft);
  emit(f, " (*)(void *");
  for (uint32_t i = 0; i < ft->param_count; i++) emit(f, ", %s", xl_c_type(ft->params[i]));
  emit(f, ")");
}

/* ---- memory ---------------------------------------------------------------- */

static bool memarg(fx *f, uint32_t natural_log2, uint32_t *offset) {
  uint32_t align = xl_u32(&f->c);
  *offset = xl_u32(&f->c);
  if (mote_module_memory_count(f->m) == 0) return fail(f, "unknown memory 0");
  if (align > natural_log2) return fail(f, "alignment must not be larger than natural");
  return true;
}

typedef struct memop {
  const char *ct;  /* C type in memory */
  const char *cv;  /* conversion to the value, "" if none */
  uint8_t vt;      /* value type */
  uint8_t log2;
} memop;

static const memop loads[] = {
    /* 0x28 */ {"u32", "", MOTE_I32, 2},          {"u64", "", MOTE_I64, 3},
    {"f32", "", MOTE_F32, 2},                     {"f64", "", MOTE_F64, 3},
    /* 0x2c */ {"s8", "(u32)(s32)", MOTE_I32, 0}, {"u8", "(u32)", MOTE_I32, 0},
    {"s16", "(u32)(s32)", MOTE_I32, 1},           {"u16", "(u32)", MOTE_I32, 1},
    /* 0x30 */ {"s8", "(u64)(s64)", MOTE_I64, 0}, {"u8", "(u64)", MOTE_I64, 0},
    {"s16", "(u64)(s64)", MOTE_I64, 1},           {"u16", "(u64)", MOTE_I64, 1},
    {"s32", "(u64)(s64)", MOTE_I64, 2},           {"u32", "(u64)", MOTE_I64, 2},
};
static const memop stores[] = {
    /* 0x36 */ {"u32", "", MOTE_I32, 2}, {"u64", "", MOTE_I64, 3},
    {"f32", "", MOTE_F32, 2},            {"f64", "", MOTE_F64, 3},
    /* 0x3a */ {"u8", "(u8)", MOTE_I32, 0}, {"u16", "(u16)", MOTE_I32, 1},
    {"u8", "(u8)", MOTE_I64, 0},         {"u16", "(u16)", MOTE_I64, 1},
    {"u32", "(u32)", MOTE_I64, 2},
};

bool xl_memop(uint8_t op, uint8_t *vt, uint8_t *log2) {
  const memop *mo = op >= 0x28 && op <= 0x35   ? &loads[op - 0x28]
                    : op >= 0x36 && op <= 0x3e ? &stores[op - 0x36]
                                               : NULL;
  if (!mo) return false;
  *vt = mo->vt;
  *log2 = mo->log2;
  return true;
}

/* ---- loops copied for gcc ------------------------------------------------
 * A loop that xl_loop.c can prove before it starts (no access of its turns
 * traps or wraps, and its number of turns is known) gets a second copy for
 * gcc, under XL_FAST_LOOPS (the prelude: gcc only):
 *
 *   qn<id>, qa<id>_<j> = the checks on entry (any failing: goto L<slow>)
 *   goto L<id>;
 *   L<slow>:; the loop as translated; if (cond) goto L<slow>;
 *   goto L<end>;
 *   L<id>:; for (u64 qk = 0; qk < qn<id>; qk++) { the body again }
 *   L<end>:;
 *
 * The copy is the translated body's text with three changes: a load has no
 * barrier (XL_LD_: it cannot trap), an address is qa<id>_<j> + e * qk (the
 * same value, in 64 bits: affine, which gcc needs to vectorize), and
 * written_back()'s XL_READS is gone. The body's other statements stay,
 * so its locals leave the copy with the values they leave the loop with. */
enum { SPAN_KEEP, SPAN_ADDRESS, SPAN_DROP };

static void note_span(fx *f, size_t at, size_t end, uint8_t kind) {
  if (!f->lp || f->lp_nspans == UINT32_MAX) return;
  if (f->lp_nspans == f->lp_cap) {
    uint32_t cap = f->lp_cap ? 2 * f->lp_cap : 16;
    struct lp_span *s = realloc(f->lp_spans, cap * sizeof *s);
    if (!s) {
      f->lp_nspans = UINT32_MAX; /* no memory: copy_loop() writes no copy */
      return;
    }
    f->lp_spans = s, f->lp_cap = cap;
  }
  f->lp_spans[f->lp_nspans++] = (struct lp_span){at, end, kind};
}

/* A load's or a store's address, "(u64)a + offu" (noted in a loop copied
 * for gcc). */
static void write_address(fx *f, const char *a, uint32_t off) {
  size_t at = f->lp ? (size_t)ftell(f->o) : 0;
  xl_printf(f->o, "(u64)%s", a);
  if (f->lp) note_span(f, at, (size_t)ftell(f->o), SPAN_ADDRESS);
  xl_printf(f->o, " + %uu", off);
}

/* At a loop's start (its label not yet written): plans its copy. */
static void plan_loop(fx *f) {
  frame *fr = top(f);
  if (!f->x->fast_loops || f->lp || !live(f) || fr->np || fr->nr ||
      !mote_module_memory_count(f->m))
    return;
  if (f->copied > f->budget / 2) return;
  xl_loop *lp = xl_loop_plan(f->c, f->locals, f->nlocals);
  if (!lp) return;
  /* a copy the cap would refuse (copy_loop()): no checks either. A copy
   * with its checks took 5-23 bytes of C per byte of wasm (a review's
   * measure): 16 a byte and 256 an access's checks is the estimate. */
  if (f->copied + 16 * xl_loop_bytes(lp) + 256 * xl_loop_accesses(lp) > f->budget / 2) {
    xl_loop_free(lp);
    return;
  }
  size_t at = (size_t)ftell(f->o);
  f->lp = lp;
  f->lp_id = f->labels++;
  f->lp_end = f->labels++;
  f->lp_frame = f->nf - 1;
  f->lp_nspans = 0;
  fputs_unlocked("#if defined(XL_FAST_LOOPS)\n", f->o);
  xl_loop_write_checks(f->o, lp, f->lp_id, fr->label);
  xl_printf(f->o, "goto L%u;\n#endif\n", f->lp_id);
  f->copied += (size_t)ftell(f->o) - at;
}

/* At the loop's back edge (written; its body's text ends at body_end): the
 * copy. Without it (no memory, the accesses not as planned, or the
 * function's copies at half its budget) L<id> goes to the loop as
 * translated. */
static void copy_loop(fx *f, size_t body_end) {
  xl_loop *lp = f->lp;
  f->lp = NULL;
  uint32_t id = f->lp_id, naddr = 0;
  size_t start = (size_t)ftell(f->o);
  xl_printf(f->o, "#if defined(XL_FAST_LOOPS)\ngoto L%u;\nL%u:;\n", f->lp_end, id);
  fflush(f->o);
  size_t n = body_end - f->lp_body;
  char *text = malloc(n + 1);
  if (text) memcpy(text, *f->obuf + f->lp_body, n);
  for (uint32_t i = 0; i < f->lp_nspans && f->lp_nspans != UINT32_MAX; i++)
    naddr += f->lp_spans[i].kind == SPAN_ADDRESS;
  if (!text || f->lp_nspans == UINT32_MAX || naddr != xl_loop_accesses(lp) ||
      f->copied + n > f->budget / 2) {
    xl_printf(f->o, "goto L%u;\n", f->frames[f->lp_frame].label);
  } else {
    xl_printf(f->o, "XL_COPY_RAN();\nfor (u64 qk = 0; qk < qn%u; qk++) {\n", id);
    size_t cur = 0;
    char addr[96];
    for (uint32_t i = 0, j = 0; i < f->lp_nspans; i++) {
      const struct lp_span *s = &f->lp_spans[i];
      size_t at = s->at - f->lp_body, end = s->end - f->lp_body;
      fwrite_unlocked(text + cur, 1, at - cur, f->o);
      if (s->kind == SPAN_KEEP) fputc_unlocked('_', f->o);
      if (s->kind == SPAN_ADDRESS) {
        xl_loop_address(addr, sizeof addr, lp, id, j++);
        fputs_unlocked(addr, f->o);
      }
      cur = end;
    }
    fwrite_unlocked(text + cur, 1, n - cur, f->o);
    fputs_unlocked("}\n", f->o);
  }
  xl_printf(f->o, "L%u:;\n#endif\n", f->lp_end);
  f->copied += (size_t)ftell(f->o) - start;
  free(text);
  xl_loop_free(lp);
}

/* Whether an address's text is a local ("l3") or a local plus a constant
 * ("(l3 + 16u)"): the same text then means the same value as long as no
 * local is set. */
static bool locals_only(const char *a) {
  bool sum = a[0] == '(';
  a += sum;
  if (*a++ != 'l' || !isdigit((unsigned char)*a)) return false;
  while (isdigit((unsigned char)*a)) a++;
  if (!sum) return !*a;
  if (strncmp(a, " + ", 3)) return false;
  a += 3;
  if (!isdigit((unsigned char)*a)) return false;
  while (isdigit((unsigned char)*a)) a++;
  return !strcmp(a, "u)");
}

/* A load must trap when out of bounds even if its value turns out unused,
 * and gcc deletes unused loads: every load is written as XL_LDK, which keeps
 * its value alive with an empty asm. One whose value is the address of a
 * later load or store needs no barrier (that access uses the value, and it
 * is itself kept), so its K becomes '_' (XL_LD_, a plain load) when the
 * address is consumed: the text is patched in place. */
static void address_used(fx *f) {
  uint32_t k = f->h < f->cap ? f->loaded[f->h] : 0;
  if (k && live(f)) f->keeps[k - 1] |= (size_t)1 << 63;
}

static bool load(fx *f, uint8_t op) {
  const memop *mo = &loads[op - 0x28];
  uint32_t off;
  if (!memarg(f, mo->log2, &off) || !pop(f, MOTE_I32, NULL)) return false;
  address_used(f);
  uint32_t id = 0;
  if (live(f)) {
    if (f->nkeeps == f->keeps_cap) {
      uint32_t cap = f->keeps_cap ? 2 * f->keeps_cap : 64;
      size_t *k = realloc(f->keeps, cap * sizeof *k);
      if (!k) return out_of_memory(f);
      f->keeps = k;
      f->keeps_cap = cap;
    }
    const char *dst = S(f, mo->vt, f->h);
    xl_printf(f->o, "%s = %s", dst, mo->cv);
    f->keeps[f->nkeeps++] = (size_t)ftell(f->o) + 5; /* the K of XL_LDK */
    id = f->nkeeps;
    if (f->lp) note_span(f, f->keeps[id - 1], f->keeps[id - 1] + 1, SPAN_KEEP);
    xl_printf(f->o, "XL_LDK(%s, M0, ", mo->ct);
    write_address(f, V(f, MOTE_I32, f->h), off);
    xl_printf(f->o, ");\n");
  }
  f->wb_id = 0;
  if (id && (op == 0x2a || op == 0x2b) && locals_only(V(f, MOTE_I32, f->h))) {
    f->wb_id = id;
    f->wb_op = op;
    f->wb_off = off;
    f->wb_depth = f->h;
    f->wb_stage = 0;
    xl_bcopy(f->wb_addr, sizeof f->wb_addr, V(f, MOTE_I32, f->h));
  }
  if (!push(f, mo->vt)) return false;
  f->loaded[f->h - 1] = id;
  return true;
}

/* A float load whose value goes straight into an add, sub, mul or div whose
 * result the next instruction stores to the same address, offset and type
 * (x = load a; store a, x + y) needs no barrier: if the load traps, so does
 * the store, and nothing observable lies between them. The store keeps the
 * load: it is followed by XL_READS (an empty asm that reads the bytes it
 * wrote, so gcc cannot delete it as overwritten later), and gcc cannot prove
 * it redundant (its value equal to what was loaded): -fsignaling-nans keeps
 * x + 0, x - 0, x * 1 and x / 1 as arithmetic. Called at every instruction
 * with its opcode, before it runs; `h` is the stack height then. */
static void written_back(fx *f, uint8_t op, uint32_t h) {
  if (!f->wb_id) return;
  if (f->wb_stage == 0 && (op == 0x20 || (op >= 0x41 && op <= 0x44))) return;
  bool arith = f->wb_op == 0x2a ? op >= 0x92 && op <= 0x95 : op >= 0xa0 && op <= 0xa3;
  if (f->wb_stage == 0 && arith && h >= 2 && (f->wb_depth == h - 1 || f->wb_depth == h - 2)) {
    f->wb_stage = 1;
    f->wb_depth = h - 2;
    return;
  }
  if (f->wb_stage == 1 && op == f->wb_op + 0x0e && h >= 2 && f->wb_depth == h - 1) return;
  f->wb_id = 0;
}

static bool store(fx *f, uint8_t op) {
  const memop *mo = &stores[op - 0x36];
  uint32_t off;
  if (!memarg(f, mo->log2, &off) || !pop(f, mo->vt, NULL) || !pop(f, MOTE_I32, NULL))
    return false;
  address_used(f);
  const char *a = V(f, MOTE_I32, f->h);
  if (live(f)) {
    xl_printf(f->o, "XL_ST(%s, M0, ", mo->ct);
    write_address(f, a, off);
    xl_printf(f->o, ", %s%s);\n", mo->cv, V(f, mo->vt, f->h + 1));
  }
  /* written_back() let it through: the same address and offset */
  if (f->wb_id && f->wb_off == off && !strcmp(f->wb_addr, a) && live(f)) {
    f->keeps[f->wb_id - 1] |= (size_t)1 << 63;
    size_t at = f->lp ? (size_t)ftell(f->o) : 0;
    emit(f, "XL_READS(%s, M0, (u64)%s + %uu);\n", mo->ct, a, off);
    if (f->lp) note_span(f, at, (size_t)ftell(f->o), SPAN_DROP);
  }
  f->wb_id = 0;
  return true;
}

/* ---- tables, globals, references ---------------------------------------- */

static bool table_index(fx *f, uint32_t t, uint8_t *elem) {
  if (t >= mote_module_table_count(f->m)) return fail(f, "unknown table %u", t);
  *elem = mote_module_table(f->m, t)->elemtype;
  return true;
}

static bool elem_index(fx *f, uint32_t e) {
  if (e >= f->x->nelems) return fail(f, "unknown elem segment %u", e);
  return true;
}

static bool data_index(fx *f, uint32_t d) {
  if (!f->x->has_datacount) return fail(f, "data count section required");
  if (d >= f->x->ndata) return fail(f, "unknown data segment %u", d);
  return true;
}

static const char *tbl_suffix(uint8_t elem) { return elem == MOTE_FUNCREF ? "f" : "e"; }

static bool misc(fx *f) {
  uint32_t sub = xl_u32(&f->c), a, b;
  uint8_t ta = 0, tb = 0;
  const xl_op *op = xl_numeric_op(0xfc, sub);
  uint32_t h;
  if (op) {
    if (!pop(f, op->in[0], NULL)) return false;
    emit(f, "%s = %s(%s);\n", S(f, op->out, f->h), op->c, S(f, op->in[0], f->h));
    return push(f, op->out);
  }
  switch (sub) {
    case 8: /* memory.init */
      a = xl_u32(&f->c);
      xl_u8(&f->c);
      if (mote_module_memory_count(f->m) == 0) return fail(f, "unknown memory 0");
      if (!data_index(f, a)) return false;
      if (!pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL))
        return false;
      h = f->h;
      if (f->refs && live(f)) f->refs->data[a] = 1;
      emit(f, "xl_memory_init(I->m0, I->data_dropped[%u] ? 0 : %uu, xl_d%u, %s, %s, %s);\n", a,
           f->x->data[a].len, a, S(f, MOTE_I32, h), S(f, MOTE_I32, h + 1), S(f, MOTE_I32, h + 2));
      return true;
    case 9: /* data.drop */
      a = xl_u32(&f->c);
      if (!data_index(f, a)) return false;
      emit(f, "I->data_dropped[%u] = 1;\n", a);
      return true;
    case 10: /* memory.copy */
    case 11: /* memory.fill */
      xl_u8(&f->c);
      if (sub == 10) xl_u8(&f->c);
      if (mote_module_memory_count(f->m) == 0) return fail(f, "unknown memory 0");
      if (!pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL))
        return false;
      h = f->h;
      emit(f, "xl_memory_%s(I->m0, %s, %s, %s);\n", sub == 10 ? "copy" : "fill",
           S(f, MOTE_I32, h), S(f, MOTE_I32, h + 1), S(f, MOTE_I32, h + 2));
      return true;
    case 12: /* table.init elem table */
      a = xl_u32(&f->c);
      b = xl_u32(&f->c);
      if (!table_index(f, b, &tb) || !elem_index(f, a)) return false;
      if (f->x->elems[a].type != tb)
        return fail(f, "type mismatch: table.init of %s from %s", type_name(tb),
                    type_name(f->x->elems[a].type));
      if (!pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL))
        return false;
      h = f->h;
      emit(f, "xl_table_init(I, %u, I->t%u, %s, %s, %s);\n", a, b, S(f, MOTE_I32, h),
           S(f, MOTE_I32, h + 1), S(f, MOTE_I32, h + 2));
      return true;
    case 13: /* elem.drop */
      a = xl_u32(&f->c);
      if (!elem_index(f, a)) return false;
      emit(f, "I->elem_dropped[%u] = 1;\n", a);
      return true;
    case 14: /* table.copy dst src */
      a = xl_u32(&f->c);
      b = xl_u32(&f->c);
      if (!table_index(f, a, &ta) || !table_index(f, b, &tb)) return false;
      if (ta != tb)
        return fail(f, "type mismatch: table.copy from %s to %s", type_name(tb), type_name(ta));
      if (!pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL) || !pop(f, MOTE_I32, NULL))
        return false;
      h = f->h;
      emit(f, "xl_table_copy_%s(I->t%u, I->t%u, %s, %s, %s);\n", tbl_suffix(ta), a, b,
           S(f, MOTE_I32, h), S(f, MOTE_I32, h + 1), S(f, MOTE_I32, h + 2));
      return true;
    case 15: /* table.grow */
      a = xl_u32(&f->c);
      if (!table_index(f, a, &ta)) return false;
      if (!pop(f, MOTE_I32, NULL) || !pop(f, ta, NULL)) return false;
      h = f->h;
      emit(f, "%s = wasm_rt_grow_%s_table(I->t%u, %s, %s);\n", S(f, MOTE_I32, h),
           ta == MOTE_FUNCREF ? "funcref" : "externref", a, S(f, MOTE_I32, h + 1), S(f, ta, h));
      return push(f, MOTE_I32);
    case 16: /* table.size */
      a = xl_u32(&f->c);
      if (!table_index(f, a, &ta)) return false;
      emit(f, "%s = I->t%u->size;\n", S(f, MOTE_I32, f->h), a);
      return push(f, MOTE_I32);
    case 17: /* table.fill */
      a = xl_u32(&f->c);
      if (!table_index(f, a, &ta)) return false;
      if (!pop(f, MOTE_I32, NULL) || !pop(f, ta, NULL) || !pop(f, MOTE_I32, NULL)) return false;
      h = f->h;
      emit(f, "xl_table_fill_%s(I->t%u, %s, %s, %s);\n", tbl_suffix(ta), a, S(f, MOTE_I32, h),
           S(f, ta, h + 1), S(f, MOTE_I32, h + 2));
      return true;
  }
  return fail(f, "illegal opcode 0xfc %u", sub);
}

static bool global_access(fx *f, bool set) {
  uint32_t g = xl_u32(&f->c);
  if (g >= mote_module_global_count(f->m)) return fail(f, "unknown global %u", g);
  const mote_globaltype *gt = mote_module_global(f->m, g);
  bool imported = g < f->x->nimports_global;
  bool v = gt->valtype == MOTE_V128;
  if (!set) {
    emit(f, "%s = %s%sI->g%u%s%s;\n", S(f, gt->valtype, f->h), v ? "xl_vin(" : "",
         imported ? "(*" : "", g, imported ? ")" : "", v ? ")" : "");
    return push(f, gt->valtype);
  }
  if (!gt->is_mutable) return fail(f, "global is immutable: global.set %u", g);
  if (!pop(f, gt->valtype, NULL)) return false;
  emit(f, "%sI->g%u%s = %s;\n", imported ? "(*" : "", g, imported ? ")" : "",
       v_out(f, gt->valtype, V(f, gt->valtype, f->h)));
  return true;
}

/* ---- the instruction loop ------------------------------------------------ */

/* Whether a numeric instruction's C is operators only: a template without a
 * name (a cast's type, a helper). */
static bool operators_only(const xl_op *op) {
  if (!strchr(op->c, '$')) return false;
  for (const char *p = op->c; *p; p++)
    if (isalpha((unsigned char)*p) || *p == '_') return false;
  return true;
}

/* What the result of operators on the n pending values from depth d is made
 * of (PK_*; *local its local). */
static uint8_t made_of(const fx *f, uint32_t d, uint32_t n, uint32_t *local) {
  bool any = false;
  for (uint32_t i = d; i < d + n; i++) {
    uint8_t k = f->pend[i][0] ? f->pend_kind[i] : PK_OTHER;
    if (k == PK_OTHER) return PK_OTHER;
    if (k == PK_CONST) continue;
    if (any && f->pend_local[i] != *local) return PK_OTHER;
    any = true;
    *local = f->pend_local[i];
  }
  return any ? PK_OF_LOCAL : PK_CONST;
}

/* A numeric instruction's C (code 0x45-0xc4, no prefix): its result stays
 * pending if it cannot trap and its operands are pending or (the first) in
 * the slot of the result's own depth; otherwise it is written to its slot
 * now. */
static bool numeric(fx *f, uint8_t code) {
  const xl_op *op = xl_numeric_op(0, code);
  uint32_t n = op->in[1] ? 2 : 1;
  for (uint32_t i = n; i-- > 0;)
    if (!pop(f, op->in[i], NULL)) return false;
  if (!live(f)) return push(f, op->out);
  uint32_t h = f->h;
  char a[PEND], b[PEND], e[2 * PEND + 64];
  xl_bcopy(a, sizeof a, V(f, op->in[0], h));
  xl_bcopy(b, sizeof b, n > 1 ? V(f, op->in[1], h + 1) : "");
  size_t len = 0;
  e[len++] = '(';
  if (strchr(op->c, '$')) {
    /* fits: two operands under PEND each, a template under 64 */
    for (const char *p = op->c; *p; p++) {
      if (p[0] == '$' && (p[1] == '0' || p[1] == '1')) {
        const char *x = p[1] == '0' ? a : b;
        size_t k = strlen(x);
        memcpy(e + len, x, k);
        len += k;
        p++;
      } else {
        e[len++] = *p;
      }
    }
    e[len] = 0;
  } else {
    xl_bprintf(e + len, sizeof e - len, "%s(%s%s%s)", op->c, a, n > 1 ? ", " : "", b);
    len += strlen(e + len);
  }
  e[len++] = ')';
  e[len] = 0;
  /* the second operand's own slot is deeper than the result: it must not
   * be read */
  bool operands_ok = n == 1 || (f->pend[h + 1][0] && !f->pend_own[h + 1]);
  uint64_t locals = f->pend_locals[h] | (n > 1 ? f->pend_locals[h + 1] : 0);
  uint8_t own = !f->pend[h][0] || f->pend_own[h];
  bool fcmp = n > 1 && op->out == MOTE_I32 && (op->in[0] == MOTE_F32 || op->in[0] == MOTE_F64);
  if (!xl_numeric_traps(code) && operands_ok && len < PEND) {
    uint32_t of = 0;
    uint8_t kind = operators_only(op) && !own ? made_of(f, h, n, &of) : PK_OTHER;
    if (!push_pending(f, op->out, e, locals)) return false;
    f->pend_own[h] = own;
    f->pend_kind[h] = kind;
    f->pend_local[h] = of;
    f->fcmp[h] = fcmp;
    return true;
  }
  xl_printf(f->o, "%s = %s;\n", S(f, op->out, h), e);
  if (!push(f, op->out)) return false;
  f->fcmp[h] = fcmp;
  return true;
}

/* Whether frame `fr` ends where a branch to it goes (not a loop) and its
 * label carries `arity` values. */
static bool block_like(const frame *fr, uint32_t arity) {
  return (fr->kind == K_BLOCK || fr->kind == K_IF || fr->kind == K_ELSE) && fr->nr == arity;
}

/* Reads a constant: whether it is the minimum of type `to` (i32 or i64). */
static bool is_minimum(xl_cur *c, uint8_t to) {
  if (to == MOTE_I32) return xl_u8(c) == 0x41 && xl_s32(c) == INT32_MIN;
  return xl_u8(c) == 0x42 && xl_s64(c) == INT64_MIN;
}

/* clang's wasm writes C's (int)x, undefined out of range, as "the
 * truncation, or INT32_MIN for a NaN or a value out of range", in one of two
 * forms (the first once binaryen's wasm-opt has run, which clang does when
 * it is on the PATH):
 *
 *   block (result i32)                     block
 *     ... local.tee N                        block
 *     f32.abs f32.const 2^31 f32.lt            ... local.tee N
 *     if                                       f32.abs f32.const 2^31 f32.lt
 *       local.get N i32.trunc_f32_s br 1       i32.eqz br_if 0
 *     end                                      local.get N i32.trunc_f32_s
 *     i32.const INT32_MIN                      local.set M br 1
 *   end                                      end
 *                                            i32.const INT32_MIN local.set M
 *                                          end
 *
 * That is xl_i32_trunc_f32_s_or_min: on x86-64 one cvttss2si, where the
 * forms above test the range three times. Likewise from f64, and to i64
 * (2^63, INT64_MIN). Called at an abs (op) whose operand is local N's value:
 * when the bytes that follow are exactly one of these and the frames are
 * those blocks, the result is pushed (pending) and the cursor moves past
 * what it replaces: in the first form to the block's end, in the second to
 * `local.set M`, whose path with `br 1` is then the path of both (the rest
 * is translated as usual, after a goto). What is skipped is valid as it
 * stands. Otherwise nothing changes and false is returned. */
static bool guarded_trunc(fx *f, uint8_t op) {
  bool from64 = op == 0x99;
  frame *fr = top(f);
  if (!live(f) || f->nf < 2 || f->h <= fr->height ||
      f->stack[f->h - 1] != (from64 ? MOTE_F64 : MOTE_F32))
    return false;
  const char *x = f->pend[f->h - 1];
  if (!x[0] || f->pend_kind[f->h - 1] != PK_LOCAL || f->pend_local[f->h - 1] > INT32_MAX)
    return false;
  uint32_t local = f->pend_local[f->h - 1];

  xl_cur c = f->c;
  uint8_t to;
  if (!from64) {
    if (xl_u8(&c) != 0x43) return false;
    uint32_t k = xl_fixed32(&c);
    to = k == 0x4f000000u ? MOTE_I32 : k == 0x5f000000u ? MOTE_I64 : 0;
  } else {
    if (xl_u8(&c) != 0x44) return false;
    uint64_t k = xl_fixed64(&c);
    to = k == 0x41e0000000000000ull ? MOTE_I32 : k == 0x43e0000000000000ull ? MOTE_I64 : 0;
  }
  if (!to || xl_u8(&c) != (from64 ? 0x63 : 0x5d)) return false;
  uint8_t trunc = to == MOTE_I32 ? (from64 ? 0xaa : 0xa8) : (from64 ? 0xb0 : 0xae);
  uint8_t form = xl_u8(&c);
  xl_cur resume;
  bool same;
  if (form == 0x04) { /* if ... end, then the minimum: the block's result */
    same = f->h == fr->height + 1 && block_like(fr, 1) && fr->results[0] == to &&
           xl_u8(&c) == 0x40 && xl_u8(&c) == 0x20 && xl_u32(&c) == local &&
           xl_u8(&c) == trunc && xl_u8(&c) == 0x0c && xl_u32(&c) == 1 && xl_u8(&c) == 0x0b &&
           is_minimum(&c, to);
    resume = c;
  } else if (form == 0x45) { /* i32.eqz br_if 0 ...: both paths set local M */
    same = block_like(fr, 0) && block_like(&f->frames[f->nf - 2], 0) && xl_u8(&c) == 0x0d &&
           xl_u32(&c) == 0 && xl_u8(&c) == 0x20 && xl_u32(&c) == local && xl_u8(&c) == trunc;
    resume = c;
    uint32_t m = 0;
    same = same && xl_u8(&c) == 0x21 && ((m = xl_u32(&c)), !c.bad) && xl_u8(&c) == 0x0c &&
           xl_u32(&c) == 1 && xl_u8(&c) == 0x0b && is_minimum(&c, to) && xl_u8(&c) == 0x21 &&
           xl_u32(&c) == m;
  } else {
    return false;
  }
  if (!same || c.bad || c.pos >= c.end || c.buf[c.pos] != 0x0b) return false;

  char e[PEND];
  xl_bprintf(e, sizeof e, "xl_%s_trunc_%s_s_or_min(%s)", to == MOTE_I32 ? "i32" : "i64",
             from64 ? "f64" : "f32", x);
  f->h--;
  (void)push_pending(f, to, e, local_bit((int32_t)local)); /* into the slot just freed */
  f->c = resume;
  return true;
}

/* At the end of loop `fr`, on the tables inside it: a table is a state
 * machine's when its index is a local that the innermost loop around it sets,
 * and no loop around it sets to anything but constants (each case sets the
 * next state; what the local had before does not matter). The tables then
 * go to the next loop out, so each loop end sees each table once. */
static void end_loop_tables(fx *f, const frame *fr) {
  uint32_t last = UINT32_MAX;
  for (uint32_t i = fr->tables; i != UINT32_MAX; last = i, i = f->cgotos[i].next) {
    cgoto_table *t = &f->cgotos[i];
    if (t->local >= f->nlocals) continue;
    if (!t->seen) t->state_machine = f->set_at[t->local] > fr->start;
    t->seen = true;
    if (f->varied_at[t->local] > fr->start) t->state_machine = false;
  }
  if (last != UINT32_MAX && fr->loop != UINT32_MAX) {
    f->cgotos[last].next = f->frames[fr->loop].tables;
    f->frames[fr->loop].tables = fr->tables;
  }
}

static bool end_frame(fx *f) {
  frame *fr = top(f);
  if (!pop_n(f, fr->nr, fr->results)) return false;
  if (f->h != fr->height)
    return fail(f, "type mismatch: %u values left at the end of a block",
                f->h - fr->height);
  if (fr->kind == K_IF && !(fr->np == fr->nr && (fr->np == 0 || !memcmp(fr->params, fr->results, fr->np))))
    return fail(f, "type mismatch: if without else must leave its parameters");
  if (fr->kind == K_LOOP) end_loop_tables(f, fr);
  if (fr->kind == K_FUNC) {
    if (!fr->unreachable) {
      f->h += fr->nr;
      write_return(f, fr->nr, fr->results);
      f->h -= fr->nr;
    }
    f->nf--;
    return true;
  }
  bool dead = fr->dead;
  uint32_t label = fr->label;
  bool used = fr->used;
  uint8_t kind = fr->kind;
  uint32_t nr = fr->nr;
  const uint8_t *results = fr->results;
  f->nf--;
  if (kind == K_IF || kind == K_ELSE) f->ifs--;
  if (!dead) {
    if (kind == K_IF || kind == K_ELSE) fputs_unlocked("}\n", f->o);
    if (used && kind != K_LOOP) xl_printf(f->o, "L%u:;\n", label);
  }
  return push_n(f, nr, results);
}

/* ---- br_table -------------------------------------------------------------
 * A br_table is a C switch whose cases are the branches. gcc makes it one
 * indirect jump, which every case of an interpreter's dispatch loop goes back
 * to: one jump that predicts badly. So a dispatch's table is also written as
 * a computed goto through a table of label addresses, chosen by the
 * preprocessor where the compiler has them (XL_CGOTO: gcc; tcc keeps the
 * switch). gcc copies the block ending in a computed goto into its
 * predecessors (with toolchain.c's max-goto-duplication-insns), so each case
 * jumps to the next on its own and the jumps predict as an interpreter's
 * threaded code does. The table holds the labels' addresses, so a dispatch
 * is a load and the jump; a table of offsets from one label (no relocations)
 * also needed the base's address and an add in every copy, which made the
 * copies bigger (fewer fit the duplication limit) and each dispatch longer.
 * The index reaches the table through an empty asm (XL_OPAQUE): gcc reads a
 * table of addresses at compile time, and where one path's index is a
 * constant (a select of the default) it jumped there directly and tested
 * that path in front of the dispatch, which then got no copies.
 * What the computed goto costs decides which table gets it:
 * - one per function, its biggest (but not a state machine's, below): every
 *   label whose address is taken is a target of every computed goto, so each
 *   more table multiplies the edges;
 * - in a loop: gcc neither inlines nor clones a function with label addresses
 *   in a static table, which a switch helper outside a loop would lose;
 * - 8 to 4096 entries, 4 to 256 targets: fewer are gcc's compares or lookup
 *   tables; more make the copies times the targets edges too many for gcc's
 *   memory (2048 targets: 531 MiB against 192, 3072: past the 1 GiB limit);
 * - not a state machine's: a table whose index is a local (and constants)
 *   that its loop sets, to nothing but constants: each case sets the next
 *   state. gcc threads such a switch's transitions into direct jumps and a
 *   computed goto's not: a 12-state machine from clang ran 4x slower. */
#define CGOTO_MIN_ENTRIES 8
#define CGOTO_MAX_ENTRIES 4096
#define CGOTO_MIN_TARGETS 4
#define CGOTO_MAX_TARGETS 256

/* Whether the value at depth d (just popped) is made of integer constants
 * and operators only. */
static bool is_constant(const fx *f, uint32_t d) {
  return d < f->cap && f->pend[d][0] && f->pend_kind[d] == PK_CONST;
}

/* The local that the value at depth d (just popped) is made of alone, with
 * integer constants and operators (`l3`, `(l3 - 1u)`), or UINT32_MAX. */
static uint32_t only_local(const fx *f, uint32_t d) {
  if (d >= f->cap || !f->pend[d][0]) return UINT32_MAX;
  if (f->pend_kind[d] != PK_LOCAL && f->pend_kind[d] != PK_OF_LOCAL) return UINT32_MAX;
  return f->pend_local[d];
}

/* The computed goto chosen among a function's tables (NULL: none): its
 * biggest that is not a state machine's (br_table()). */
static const cgoto_table *chosen_cgoto(const fx *f) {
  const cgoto_table *best = NULL;
  for (uint32_t i = 0; i < f->ncgotos; i++) {
    const cgoto_table *t = &f->cgotos[i];
    if (!t->state_machine && (!best || t->entries > best->entries)) best = t;
  }
  return best;
}

/* Whether a branch to `depth` is a goto alone (no values to move). */
static bool branch_is_goto(fx *f, uint32_t depth) {
  const frame *to = target(f, depth);
  uint32_t n = label_arity(to);
  return to->kind != K_FUNC && (n == 0 || f->h - n == to->height);
}

/* The computed goto of a table of n + 1 entries (`labels`, the last the
 * default) on `cond`, its groups (first[label]) in the switch's order: a
 * target that needs values moved or is the function's return is a local
 * label T<table>_<label> before the branch it writes. */
static bool write_cgoto(fx *f, const char *cond, const uint32_t *labels, uint32_t n,
                        const uint32_t *first) {
  uint32_t t = f->labels++; /* names its local labels: unique like an L's */
  fputs_unlocked("{ static void *const xl_bt[] = {", f->o);
  for (uint32_t i = 0; i <= n; i++) {
    if (branch_is_goto(f, labels[i]))
      xl_printf(f->o, "%s&&L%u", i ? ", " : "", target(f, labels[i])->label);
    else
      xl_printf(f->o, "%s&&T%u_%u", i ? ", " : "", t, labels[i]);
  }
  /* the index as 64 bits through the asm: a 32-bit one would be
   * zero-extended again after it */
  xl_printf(f->o, "};\nu32 xl_i = %s;\nu64 xl_j = xl_i < %uu ? xl_i : %uu;\nXL_OPAQUE(xl_j);\n",
            cond, n, n);
  fputs_unlocked("goto *xl_bt[xl_j];\n", f->o);
  for (uint32_t i = 0; i <= n; i++) {
    if (first[labels[i]] != i) continue;
    if (branch_is_goto(f, labels[i])) {
      target(f, labels[i])->used = true;
    } else {
      xl_printf(f->o, "T%u_%u:;\n", t, labels[i]);
      write_branch(f, labels[i]);
      if (c_used(f) > f->budget) return false; /* the caller says why */
    }
  }
  fputs_unlocked("}\n", f->o);
  return true;
}

/* The innermost loop frame around the current instruction (UINT32_MAX:
 * none). */
static uint32_t innermost_loop(const fx *f) {
  const frame *top = &f->frames[f->nf - 1];
  return top->kind == K_LOOP ? f->nf - 1 : top->loop;
}

/* Whether a table of n + 1 entries over `targets` distinct labels gets the
 * computed goto too (the rules above; one per function is chosen later). */
static bool cgoto_eligible(const fx *f, uint32_t n, uint32_t targets) {
  return innermost_loop(f) != UINT32_MAX && n + 1 >= CGOTO_MIN_ENTRIES && n + 1 <= CGOTO_MAX_ENTRIES &&
         targets >= CGOTO_MIN_TARGETS && targets <= CGOTO_MAX_TARGETS;
}

/* f->lfirst with room for every open frame's label (all UINT32_MAX). */
static bool lfirst_ready(fx *f) {
  if (f->lfirst_cap >= f->nf) return true;
  uint32_t cap = f->nf < 64 ? 64 : f->nf * 2;
  uint32_t *grown = realloc(f->lfirst, (size_t)cap * sizeof *grown);
  if (!grown) return out_of_memory(f);
  for (uint32_t l = f->lfirst_cap; l < cap; l++) grown[l] = UINT32_MAX;
  f->lfirst = grown, f->lfirst_cap = cap;
  return true;
}

/* A valid table of n + 1 entries (`labels`, the last the default) on
 * `cond`, in live code: the switch, and where it is eligible the computed
 * goto under the preprocessor's choice. Cases are grouped per distinct
 * target, in order of first appearance: each label's entries chained in
 * order (first[label], next[i]), so a table of a million one-byte targets
 * costs a million steps, not the square (a lazy batch is translated on the
 * compiler thread that every call waits for). */
static bool write_br_table(fx *f, const char *cond, uint32_t local, const uint32_t *labels,
                           uint32_t n) {
  /* first[] is kept by the function, all UINT32_MAX, and put back so after
   * each table by its own labels: made and scanned per table over every
   * frame, it cost the depth of the nesting per br_table (35 s for a 2 MB
   * module of 400,000 nested blocks) */
  if (!lfirst_ready(f)) return false;
  uint32_t *first = f->lfirst;
  uint32_t *next = malloc(((size_t)n + 1) * sizeof *next);
  if (!next) return out_of_memory(f);
  uint32_t targets = 0;
  for (uint32_t i = n + 1; i-- > 0;) {
    targets += first[labels[i]] == UINT32_MAX;
    next[i] = first[labels[i]];
    first[labels[i]] = i;
  }
  bool cgoto = cgoto_eligible(f, n, targets), within = true;
  if (cgoto && f->ncgotos == f->cgotos_cap) {
    uint32_t cap = f->cgotos_cap ? 2 * f->cgotos_cap : 4;
    cgoto_table *grown = realloc(f->cgotos, cap * sizeof *grown);
    if (!grown) {
      for (uint32_t i = 0; i <= n; i++) first[labels[i]] = UINT32_MAX;
      free(next);
      return out_of_memory(f);
    }
    f->cgotos = grown, f->cgotos_cap = cap;
  }
  if (cgoto) {
    fputs_unlocked("#if XL_CGOTO && ", f->o);
    /* 0, or 1 for the table chosen at the function's end (chosen_cgoto) */
    frame *loop = &f->frames[innermost_loop(f)];
    f->cgotos[f->ncgotos] = (cgoto_table){
        .entries = n + 1, .at = (size_t)ftell(f->o), .local = local, .next = loop->tables};
    loop->tables = f->ncgotos++;
    fputs_unlocked("0\n", f->o);
    within = write_cgoto(f, cond, labels, n, first);
    if (within) fputs_unlocked("#else\n", f->o);
  }
  /* a branch per distinct target, each copying its label's values: one
   * table of 30,000 targets of 1000 results was 1 GB of C, so the budget is
   * checked per target, not only between instructions */
  if (within) xl_printf(f->o, "switch (%s) {\n", cond);
  for (uint32_t i = 0; within && i <= n; i++) {
    if (first[labels[i]] != i) continue;
    for (uint32_t k = i; k != UINT32_MAX; k = next[k]) {
      if (k == n)
        fputs_unlocked("default: ", f->o);
      else
        xl_printf(f->o, "case %u: ", k);
    }
    write_branch(f, labels[i]);
    within = c_used(f) <= f->budget;
  }
  if (within) fputs_unlocked("}\n", f->o);
  if (within && cgoto) fputs_unlocked("#endif\n", f->o);
  for (uint32_t i = 0; i <= n; i++) first[labels[i]] = UINT32_MAX;
  free(next);
  return within || too_much_c(f);
}

static bool br_table(fx *f) {
  char cond[PEND];
  uint32_t n = xl_u32(&f->c);
  if (n > f->c.end - f->c.pos) return fail(f, "br_table too long");
  uint32_t *labels = malloc(((size_t)n + 1) * sizeof *labels);
  if (!labels) return out_of_memory(f);
  for (uint32_t i = 0; i <= n; i++) labels[i] = xl_u32(&f->c);
  bool ok = pop(f, MOTE_I32, NULL);
  xl_bcopy(cond, sizeof cond, ok ? V(f, MOTE_I32, f->h) : "");
  uint32_t local = ok ? only_local(f, f->h) : UINT32_MAX;
  materialize(f, -1);
  uint32_t arity = 0;
  ok = ok && lfirst_ready(f);
  uint32_t checked = 0; /* labels[0, checked) may be marked in lfirst */
  for (uint32_t i = 0; ok && i <= n; i++, checked = i) {
    if (labels[i] >= f->nf) {
      ok = fail(f, "unknown label %u", labels[i]);
      break;
    }
    frame *to = target(f, labels[i]);
    if (i == 0) arity = label_arity(to);
    if (label_arity(to) != arity) {
      ok = fail(f, "type mismatch: br_table targets of different arity");
      break;
    }
    /* each distinct target's types against the stack, leaving it as it is
     * (popping only moves the height); checked once per label, not per
     * entry: a million entries of a label of 1000 values were a billion
     * steps */
    if (f->lfirst[labels[i]] != UINT32_MAX) continue;
    f->lfirst[labels[i]] = i;
    uint32_t saved = f->h;
    ok = pop_n(f, arity, label_types(to));
    f->h = saved;
  }
  for (uint32_t i = 0; i < checked && f->lfirst; i++) f->lfirst[labels[i]] = UINT32_MAX;
  if (ok && live(f)) ok = write_br_table(f, cond, local, labels, n);
  free(labels);
  if (!ok) return false;
  set_unreachable(f);
  return true;
}

static bool body(fx *f) {
  for (;;) {
    f->at = f->c.pos;
    if (f->c.pos >= f->c.end) return fail(f, "unexpected end of function");
    if ((++f->nops & 63) == 0 && c_used(f) > f->budget) return too_much_c(f);
    uint8_t op = xl_u8(&f->c), t = 0, t2 = 0;
    uint32_t a, b, np, nr, h;
    const uint8_t *params, *results;
    uint8_t one;
    frame *fr;
    written_back(f, op, f->h);
    if ((op == 0x8b || op == 0x99) && guarded_trunc(f, op)) continue;
    if (op >= 0x45 && op <= 0xc4) {
      if (!numeric(f, op)) return false;
      continue;
    }
    /* Pending values (constants, locals) stay pending through instructions
     * that neither branch nor read slots nor set locals; the others first
     * write them to their slots. */
    bool keeps_pending = (op >= 0x28 && op <= 0x3f) || (op >= 0x41 && op <= 0x44) ||
                         (op >= 0x20 && op <= 0x24) || op == 0x01 || op == 0x1a ||
                         op == 0x1b || op == 0x1c || op == 0x10 || op == 0x04 || op == 0x0d ||
                         op == 0x0e;
    if (!keeps_pending) materialize(f, -1);
    char cond[PEND];
    switch (op) {
      case 0x00: /* unreachable */
        emit(f, "XL_TRAP(UNREACHABLE);\n");
        set_unreachable(f);
        break;
      case 0x01: break;
      case 0x02: /* block */
      case 0x03: /* loop */
        if (!blocktype(f, &np, &params, &nr, &results, &one)) return false;
        if (!pop_n(f, np, params) || !push_n(f, np, params)) return false;
        if (!push_frame(f, op == 0x02 ? K_BLOCK : K_LOOP, np, params, nr, results, one))
          return false;
        if (op == 0x03) plan_loop(f);
        /* a lazy batch counts its loops' turns for the hot tier (lazy_hot.c) */
        if (op == 0x03 && f->x->lazy_bodies)
          emit(f, "L%u:; XL_HOT(%u);\n", top(f)->label, f->func - f->x->nimports_func);
        else if (op == 0x03)
          emit(f, "L%u:;\n", top(f)->label);
        if (op == 0x03 && f->lp && f->lp_frame == f->nf - 1) f->lp_body = (size_t)ftell(f->o);
        break;
      case 0x04: /* if */
        if (!blocktype(f, &np, &params, &nr, &results, &one)) return false;
        if (!pop(f, MOTE_I32, NULL)) return false;
        xl_bcopy(cond, sizeof cond, V(f, MOTE_I32, f->h));
        materialize(f, -1); /* the parameters, and whatever is below */
        if (!pop_n(f, np, params) || !push_n(f, np, params)) return false;
        emit(f, "if (%s) {\n", cond);
        if (!push_frame(f, K_IF, np, params, nr, results, one)) return false;
        break;
      case 0x05: /* else */
        fr = top(f);
        if (fr->kind != K_IF) return fail(f, "else without if");
        if (!pop_n(f, fr->nr, fr->results)) return false;
        if (f->h != fr->height)
          return fail(f, "type mismatch: %u values left at the end of a block",
                      f->h - fr->height);
        fr->kind = K_ELSE;
        fr->unreachable = false;
        if (!fr->dead) fputs_unlocked("} else {\n", f->o);
        if (!push_n(f, fr->np, fr->params)) return false;
        break;
      case 0x0b: /* end */
        if (!end_frame(f)) return false;
        if (f->nf == 0) return f->c.pos == f->c.end || fail(f, "bytes after the final end");
        break;
      case 0x0c: /* br */
      case 0x0d: /* br_if */
        a = xl_u32(&f->c);
        if (a >= f->nf) return fail(f, "unknown label %u", a);
        fr = target(f, a);
        if (op == 0x0d) {
          if (!pop(f, MOTE_I32, NULL)) return false;
          xl_bcopy(cond, sizeof cond, V(f, MOTE_I32, f->h));
          materialize(f, -1);
          if (!pop_n(f, label_arity(fr), label_types(fr))) return false;
          if (!push_n(f, label_arity(fr), label_types(fr))) return false;
          size_t body_end = f->lp ? (size_t)ftell(f->o) : 0;
          emit(f, "if (%s) { ", cond);
          write_branch(f, a);
          emit(f, "}\n");
          if (f->lp && a == 0 && f->lp_frame == f->nf - 1) copy_loop(f, body_end);
        } else {
          materialize(f, -1);
          if (!pop_n(f, label_arity(fr), label_types(fr))) return false;
          f->h += label_arity(fr); /* values stay where the branch reads them */
          write_branch(f, a);
          set_unreachable(f);
        }
        break;
      case 0x0e: /* br_table */
        if (!br_table(f)) return false;
        break;
      case 0x0f: { /* return */
        frame *fn = &f->frames[0];
        if (!pop_n(f, fn->nr, fn->results)) return false;
        f->h += fn->nr;
        write_return(f, fn->nr, fn->results);
        set_unreachable(f);
        break;
      }
      case 0x10: { /* call */
        a = xl_u32(&f->c);
        if (a >= mote_module_func_count(f->m)) return fail(f, "unknown function %u", a);
        const mote_functype *ft = mote_module_func_type(f->m, a);
        if (!pop_n(f, ft->param_count, ft->params)) return false;
        char callee[24];
        xl_bprintf(callee, sizeof callee, "w%u", a);
        if (f->refs && live(f)) {
          if (f->refs->called && !(f->refs->funcs[a] & 1)) f->refs->called[f->refs->ncalled++] = a;
          name_func(f->refs, a, 1);
        }
        write_call(f, ft, f->h, callee, "I");
        if (!push_n(f, ft->result_count, ft->results)) return false;
        break;
      }
      case 0x11: { /* call_indirect */
        a = xl_u32(&f->c);
        b = xl_u32(&f->c);
        if (a >= mote_module_type_count(f->m)) return fail(f, "unknown type %u", a);
        if (!table_index(f, b, &t)) return false;
        if (t != MOTE_FUNCREF) return fail(f, "type mismatch: call_indirect through a table of %s", type_name(t));
        const mote_functype *ft = mote_module_type(f->m, a);
        if (!pop(f, MOTE_I32, NULL) || !pop_n(f, ft->param_count, ft->params)) return false;
        h = f->h;
        emit(f, "{ const fref *c_ = xl_callee(I->t%u, %s, xl_ft%u); ", b,
             S(f, MOTE_I32, h + ft->param_count), a);
        if (live(f)) {
          /* the callee's cast: as long as the type's parameters make it (a
           * fixed buffer cut it at ~100 and the C did not compile) */
          FILE *save = f->o;
          char *callee = NULL;
          size_t len = 0;
          f->o = open_memstream(&callee, &len);
          if (!f->o) {
            f->o = save;
            return out_of_memory(f);
          }
          fputs_unlocked("((", f->o);
          write_fn_type(f, ft);
          fputs_unlocked(")c_->func)", f->o);
          bool ok = fclose(f->o) == 0 && callee;
          f->o = save;
          if (ok) write_call(f, ft, h, callee, "c_->module_instance");
          free(callee);
          if (!ok) return out_of_memory(f);
        }
        emit(f, "}\n");
        if (!push_n(f, ft->result_count, ft->results)) return false;
        break;
      }
      case 0x1a: /* drop */
        if (!pop(f, ANY, NULL)) return false;
        break;
      case 0x1b: /* select */
      case 0x1c: /* select t */
        if (op == 0x1c) {
          a = xl_u32(&f->c);
          if (a != 1) return fail(f, "invalid result arity %u of select", a);
          t = xl_u8(&f->c);
          if (!pop(f, MOTE_I32, NULL) || !pop(f, t, NULL) || !pop(f, t, NULL)) return false;
        } else {
          if (!pop(f, MOTE_I32, NULL) || !pop(f, ANY, &t2) || !pop(f, t2, &t)) return false;
          if (t == MOTE_FUNCREF || t == MOTE_EXTERNREF)
            return fail(f, "type mismatch: select without a type of %s", type_name(t));
          if (t == ANY) t = t2;
        }
        h = f->h;
        if (t != ANY && live(f)) {
          char va[PEND], vb[PEND];
          xl_bcopy(va, sizeof va, V(f, t, h));
          xl_bcopy(vb, sizeof vb, V(f, t, h + 1));
          xl_bcopy(cond, sizeof cond, V(f, MOTE_I32, h + 2));
          /* a float comparison's condition becomes a blend; any other
           * would be a branch on data (xl_prelude.h) */
          bool blend = h + 2 < f->cap && f->fcmp[h + 2];
          if ((t == MOTE_F32 || t == MOTE_F64) && !blend)
            xl_printf(f->o, "%s = xl_%s_select(%s, %s, %s);\n", S(f, t, h),
                      t == MOTE_F32 ? "f32" : "f64", cond, va, vb);
          else
            xl_printf(f->o, "%s = %s ? %s : %s;\n", S(f, t, h), cond, va, vb);
        }
        if (!push(f, t)) return false;
        break;
      case 0x20: /* local.get */
      case 0x21: /* local.set */
      case 0x22: /* local.tee */
        a = xl_u32(&f->c);
        if (a >= f->nlocals) return fail(f, "unknown local %u", a);
        t = f->locals[a];
        if (op == 0x20) {
          if (!push_local(f, t, a)) return false;
        } else {
          if (!pop(f, t, NULL)) return false;
          if (live(f)) {
            f->set_at[a] = f->at + 1;
            if (!is_constant(f, f->h)) f->varied_at[a] = f->at + 1;
          }
          materialize(f, (int32_t)a); /* values read from the local before it changes */
          emit(f, "l%u = %s;\n", a, V(f, t, f->h));
          if (op == 0x22 && !push_local(f, t, a)) return false;
        }
        break;
      case 0x23: if (!global_access(f, false)) return false; break;
      case 0x24: if (!global_access(f, true)) return false; break;
      case 0x25: /* table.get */
        a = xl_u32(&f->c);
        if (!table_index(f, a, &t) || !pop(f, MOTE_I32, NULL)) return false;
        emit(f, "%s = xl_table_get_%s(I->t%u, %s);\n", S(f, t, f->h), tbl_suffix(t), a,
             S(f, MOTE_I32, f->h));
        if (!push(f, t)) return false;
        break;
      case 0x26: /* table.set */
        a = xl_u32(&f->c);
        if (!table_index(f, a, &t) || !pop(f, t, NULL) || !pop(f, MOTE_I32, NULL)) return false;
        emit(f, "xl_table_set_%s(I->t%u, %s, %s);\n", tbl_suffix(t), a, S(f, MOTE_I32, f->h),
             S(f, t, f->h + 1));
        break;
      case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e:
      case 0x2f: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
        if (!load(f, op)) return false;
        break;
      case 0x36: case 0x37: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c:
      case 0x3d: case 0x3e:
        if (!store(f, op)) return false;
        break;
      case 0x3f: /* memory.size */
        xl_u8(&f->c);
        if (mote_module_memory_count(f->m) == 0) return fail(f, "unknown memory 0");
        emit(f, "%s = I->m0->pages;\n", S(f, MOTE_I32, f->h));
        if (!push(f, MOTE_I32)) return false;
        break;
      case 0x40: /* memory.grow */
        xl_u8(&f->c);
        if (mote_module_memory_count(f->m) == 0) return fail(f, "unknown memory 0");
        if (!pop(f, MOTE_I32, NULL)) return false;
        emit(f, "%s = wasm_rt_grow_memory(I->m0, %s);\n", S(f, MOTE_I32, f->h),
             S(f, MOTE_I32, f->h));
        if (!push(f, MOTE_I32)) return false;
        break;
      case 0x41:
        xl_bprintf(cond, sizeof cond, "%uu", (uint32_t)xl_s32(&f->c));
        if (!push_pending(f, MOTE_I32, cond, 0)) return false;
        f->pend_kind[f->h - 1] = PK_CONST;
        break;
      case 0x42:
        xl_bprintf(cond, sizeof cond, "%" PRIu64 "ull", (uint64_t)xl_s64(&f->c));
        if (!push_pending(f, MOTE_I64, cond, 0)) return false;
        f->pend_kind[f->h - 1] = PK_CONST;
        break;
      case 0x43:
        xl_bprintf(cond, sizeof cond, "xl_f32_of(0x%08xu)", xl_fixed32(&f->c));
        if (!push_pending(f, MOTE_F32, cond, 0)) return false;
        break;
      case 0x44:
        xl_bprintf(cond, sizeof cond, "xl_f64_of(0x%016" PRIx64 "ull)", xl_fixed64(&f->c));
        if (!push_pending(f, MOTE_F64, cond, 0)) return false;
        break;
      case 0xd0: /* ref.null */
        t = xl_u8(&f->c);
        if (t != MOTE_FUNCREF && t != MOTE_EXTERNREF) return fail(f, "malformed reference type");
        if (t == MOTE_FUNCREF)
          emit(f, "%s = wasm_rt_funcref_null_value;\n", S(f, t, f->h));
        else
          emit(f, "%s = NULL;\n", S(f, t, f->h));
        if (!push(f, t)) return false;
        break;
      case 0xd1: /* ref.is_null */
        if (!pop(f, ANY, &t)) return false;
        if (t != ANY && t != MOTE_FUNCREF && t != MOTE_EXTERNREF)
          return fail(f, "type mismatch: ref.is_null of %s", type_name(t));
        if (t == MOTE_FUNCREF)
          emit(f, "%s = %s.func == NULL;\n", S(f, MOTE_I32, f->h), S(f, t, f->h));
        else if (t == MOTE_EXTERNREF)
          emit(f, "%s = %s == NULL;\n", S(f, MOTE_I32, f->h), S(f, t, f->h));
        if (!push(f, MOTE_I32)) return false;
        break;
      case 0xd2: /* ref.func */
        a = xl_u32(&f->c);
        if (a >= mote_module_func_count(f->m)) return fail(f, "unknown function %u", a);
        if (!f->x->declared[a]) return fail(f, "undeclared function reference %u", a);
        if (f->refs && live(f)) name_func(f->refs, a, 2);
        emit(f, "%s = xl_fref_%u(I);\n", S(f, MOTE_FUNCREF, f->h), a);
        if (!push(f, MOTE_FUNCREF)) return false;
        break;
      case 0xfc:
        if (!misc(f)) return false;
        break;
      case 0xfd: {
        xl_simd_io io = {f->o, &f->c, f->h, live(f)};
        xl_simd_effect eff;
        if (!xl_simd(&io, f->m, &eff, f->err, f->func, f->at)) return false;
        for (uint32_t i = eff.npop; i-- > 0;)
          if (!pop(f, eff.pop[i], NULL)) return false;
        for (uint32_t i = 0; i < eff.npush; i++)
          if (!push(f, eff.push[i])) return false;
        for (int k = 0; k < 8; k++)
          if (eff.slots[k] > f->slots[k]) f->slots[k] = eff.slots[k];
        break;
      }
      default:
        return fail(f, "illegal opcode 0x%02x", op);
    }
    if (f->c.bad) return fail(f, "unexpected end of function");
  }
}

static bool read_locals(fx *f, const mote_functype *ft) {
  uint32_t groups = xl_u32(&f->c);
  uint64_t total = ft->param_count;
  size_t at = f->c.pos;
  for (uint32_t i = 0; i < groups && !f->c.bad; i++) {
    total += xl_u32(&f->c);
    xl_u8(&f->c);
  }
  if (total > XL_MAX_LOCALS + (uint64_t)ft->param_count) return fail(f, "too many locals");
  f->locals = malloc(total ? total : 1);
  f->set_at = calloc(total ? total : 1, sizeof *f->set_at);
  f->varied_at = calloc(total ? total : 1, sizeof *f->varied_at);
  if (!f->locals || !f->set_at || !f->varied_at) return out_of_memory(f);
  memcpy(f->locals, ft->params, ft->param_count);
  f->nlocals = ft->param_count;
  f->c.pos = at;
  for (uint32_t i = 0; i < groups && !f->c.bad; i++) {
    uint32_t n = xl_u32(&f->c);
    uint8_t t = xl_u8(&f->c);
    memset(f->locals + f->nlocals, t, n);
    f->nlocals += n;
  }
  return !f->c.bad;
}

bool xl_func_write(FILE *out, const xl_module *x, uint32_t func_index, xl_refs *refs,
                   xl_error *err) {
  return xl_func_write_nested(out, x, func_index, refs, NULL, err);
}

bool xl_func_write_nested(FILE *out, const xl_module *x, uint32_t func_index, xl_refs *refs,
                          uint32_t *deepest_if, xl_error *err) {
  const mote_module *m = x->m;
  const mote_functype *ft = mote_module_func_type(m, func_index);
  uint32_t d = func_index - x->nimports_func;
  fx f = {.x = x, .m = m, .refs = refs, .err = err, .func = func_index};
  f.c = (xl_cur){x->bytes, x->body_start[d], x->body_end[d], false};
  f.code_len = x->body_end[d] - x->body_start[d];
  f.budget = xl_c_budget(f.code_len);
  char *buf = NULL;
  size_t len = 0;
  bool ok = false;
  f.o = open_memstream(&buf, &len);
  f.obuf = &buf;
  if (!f.o) return fail(&f, "out of memory");
  if (!read_locals(&f, ft)) goto done;
  if (!push_frame(&f, K_FUNC, 0, NULL, ft->result_count, ft->results, 0)) goto done;
  ok = body(&f);
  if (deepest_if) *deepest_if = f.deepest_if;
  /* the declarations written before the body: a local or a slot's line
   * takes at most 40 bytes */
  size_t decl = 64 + 40 * (size_t)(f.nlocals - ft->param_count);
  for (uint32_t i = 0; i < ft->param_count; i++) decl += ft->params[i] == MOTE_V128 ? 40 : 0;
  for (int k = 0; k < 8; k++) /* a line per type used: ", sX123" each */
    if (f.slots[k]) decl += 32 + 12 * (size_t)f.slots[k];
  if (ok && c_used(&f) + decl > f.budget) ok = too_much_c(&f);
  if (ok) ok = xl_c_charge(x, c_used(&f) + decl, err);
done:
  fclose(f.o);
  for (uint32_t k = 0; ok && k < f.nkeeps; k++)
    if (f.keeps[k] >> 63) buf[f.keeps[k] & ~((size_t)1 << 63)] = '_';
  const cgoto_table *cgoto = ok ? chosen_cgoto(&f) : NULL;
  if (cgoto) buf[cgoto->at] = '1';
  if (ok && out) {
    xl_printf(out, "XL_FUNC ");
    xl_write_return_type(out, ft);
    xl_printf(out, " %c%u(inst *I", x->lazy_bodies ? 'b' : 'w', func_index);
    for (uint32_t i = 0; i < ft->param_count; i++)
      xl_printf(out, ", %s %c%u", xl_c_type(ft->params[i]), ft->params[i] == MOTE_V128 ? 'a' : 'l',
                i);
    fputs_unlocked(") {\n", out);
    for (uint32_t i = 0; i < ft->param_count; i++)
      if (ft->params[i] == MOTE_V128) xl_printf(out, "xl_v l%u = xl_vin(a%u);\n", i, i);
    for (uint32_t i = ft->param_count; i < f.nlocals; i++)
      xl_printf(out, "%s l%u = %s;\n", body_type(f.locals[i]), i,
              f.locals[i] == MOTE_FUNCREF || f.locals[i] == MOTE_V128 ? "{0}" : "0");
    static const uint8_t order[7] = {MOTE_I32, MOTE_I64, MOTE_F32, MOTE_F64,
                                     MOTE_V128, MOTE_FUNCREF, MOTE_EXTERNREF};
    for (int k = 0; k < 7; k++) {
      if (!f.slots[k]) continue;
      xl_printf(out, "%s", body_type(order[k]));
      for (uint32_t i = 0; i < f.slots[k]; i++)
        xl_printf(out, "%s s%c%u", i ? "," : "", xl_type_letter(order[k]), i);
      fputs_unlocked(";\n", out);
    }
    /* (Reading an own memory's base from the instance's own struct, one
     * load instead of two, made the interp kernel 20% slower: gcc then
     * reloads it in the loop instead of keeping it in a register.) */
    if (mote_module_memory_count(m)) fputs_unlocked("u8 *M0 = I->m0->data; (void)M0;\n", out);
    if (x->lazy_bodies) xl_printf(out, "XL_HOT(%u);\n", d); /* and its calls */
    fwrite(buf, 1, len, out);
    fputs_unlocked("}\n\n", out);
  }
  free(buf);
  free(f.stack);
  free(f.loaded);
  free(f.pend);
  free(f.pend_locals);
  free(f.pend_own);
  free(f.pend_kind);
  free(f.pend_local);
  free(f.fcmp);
  free(f.keeps);
  xl_loop_free(f.lp);
  free(f.lp_spans);
  free(f.frames);
  free(f.locals);
  free(f.set_at);
  free(f.varied_at);
  free(f.cgotos);
  free(f.lfirst);
  return ok;
}
