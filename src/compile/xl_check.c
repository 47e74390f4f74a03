/*
 * Validation of a function body without translating it: the typing rules
 * of xl_func.c (the translator, which applies them again as it writes C),
 * on a stack of types and a stack of blocks, and nothing else. A lazy
 * object validates every function at build time and translates each only
 * when first called (xl_lazy.c); translating to validate took 1.3 s of CPU
 * of Yosys's 2.5 s first answer.
 *
 * Same rules, same tables: the numeric instructions' types (xl_ops.c), the
 * SIMD ones' (xl_simd with no C), the memory accesses' (xl_memop).
 * The module reader (module/code.c) has decoded every body already: opcodes
 * exist, immediates are well formed, blocks nest. Not known here: the C a
 * function takes, which its budget (XL_C_*) bounds. The checker estimates
 * it instead (xl_check_function's *c_estimate): the translator's own size
 * for the locals' declarations, plus a generous size per byte of code and
 * per value a branch, a call or a block's end copies (the few bytes of wasm
 * that ask for megabytes of C are such copies); xl_validate_functions has
 * the translator measure the functions whose estimate comes near their
 * budget.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "module/module.h"
#include "xl.h"
#include "xl_simd.h"

#define ANY 0 /* popped from a polymorphic stack: any type */

enum { K_FUNC, K_BLOCK, K_LOOP, K_IF, K_ELSE };

typedef struct block {
  uint8_t kind;
  bool unreachable;
  uint8_t one;             /* a single result's type (results point here) */
  uint32_t height;         /* of the value stack at entry, below the parameters */
  uint32_t np, nr;
  const uint8_t *params, *results;
} block;

/* The estimate: bytes of C per byte of code (real code takes 5-15, xl.h),
 * per value copied, and per local declared (xl_func.c's own figure). */
#define EST_PER_BYTE 16u
#define EST_PER_VALUE 48u
#define EST_PER_LOCAL 40u

/* The state of one function's check. locals, stack, blocks and seen are
 * owned (freed by xl_check_function); a block's params and results point
 * into the module's types or at its own `one`. */
typedef struct ck {
  const xl_module *x;
  const mote_module *m;
  uint32_t func;
  size_t at; /* the instruction's offset, for messages */
  xl_cur c;
  xl_error *err;
  uint8_t *locals;
  uint32_t nlocals;
  uint8_t *stack; /* value types */
  uint32_t h, cap;
  block *blocks;
  uint32_t nb, bcap;
  /* br_table: seen[depth] == seen_mark for a label checked in this one
   * (bcap entries) */
  uint32_t *seen, seen_mark;
  uint32_t ifs, deepest_if;
  uint64_t copied; /* values copied by branches, calls, blocks' ends (the estimate) */
} ck;

__attribute__((format(printf, 2, 3))) static bool fail(ck *k, const char *fmt, ...) {
  if (k->err->failed) return false;
  char what[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(k->err->message, sizeof k->err->message, "%s in function %u at offset 0x%zx", what,
           k->func, k->at);
  k->err->failed = true;
  return false;
}

static bool out_of_memory(ck *k) {
  bool first = !k->err->failed;
  fail(k, "out of memory");
  if (first) k->err->io = true;
  return false;
}

static const char *type_name(uint8_t t) { return t == ANY ? "any" : mote_valtype_name(t); }

/* ---- the value stack ---------------------------------------------------- */

static bool push(ck *k, uint8_t t) {
  if (k->h == k->cap) {
    uint32_t cap = k->cap ? 2 * k->cap : 64;
    uint8_t *s = realloc(k->stack, cap);
    if (!s) return out_of_memory(k);
    k->stack = s;
    k->cap = cap;
  }
  k->stack[k->h++] = t;
  return true;
}

static bool push_n(ck *k, uint32_t n, const uint8_t *types) {
  for (uint32_t i = 0; i < n; i++)
    if (!push(k, types[i])) return false;
  return true;
}

/* Pops a value expected to be of type `want` (ANY: any); *got its type. */
static bool pop(ck *k, uint8_t want, uint8_t *got) {
  block *b = &k->blocks[k->nb - 1];
  uint8_t t;
  if (k->h == b->height) {
    if (!b->unreachable)
      return fail(k, "type mismatch: expected %s but the stack is empty", type_name(want));
    t = ANY;
  } else {
    t = k->stack[--k->h];
  }
  if (want != ANY && t != ANY && t != want)
    return fail(k, "type mismatch: expected %s, got %s", type_name(want), type_name(t));
  if (got) *got = t == ANY ? want : t;
  return true;
}

static bool pop_n(ck *k, uint32_t n, const uint8_t *types) {
  for (uint32_t i = n; i-- > 0;)
    if (!pop(k, types[i], NULL)) return false;
  return true;
}

static bool pop_i32s(ck *k, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (!pop(k, MOTE_I32, NULL)) return false;
  return true;
}

/* ---- blocks --------------------------------------------------------------- */

static bool valtype(uint8_t t) {
  return t == MOTE_I32 || t == MOTE_I64 || t == MOTE_F32 || t == MOTE_F64 || t == MOTE_V128 ||
         t == MOTE_FUNCREF || t == MOTE_EXTERNREF;
}

/* A block type: [] -> [], [] -> [t], or a function type's. */
static bool blocktype(ck *k, block *b) {
  uint8_t first = k->c.pos < k->c.end ? k->c.buf[k->c.pos] : 0;
  b->np = b->nr = 0;
  b->params = b->results = NULL;
  if (first == 0x40) {
    k->c.pos++;
    return true;
  }
  if (first >= 0x40 && first < 0x80) {
    k->c.pos++;
    if (!valtype(first)) return fail(k, "malformed block type 0x%02x", first);
    b->one = first;
    b->nr = 1;
    return true;
  }
  int64_t idx = xl_s33(&k->c);
  if (idx < 0 || (uint64_t)idx >= mote_module_type_count(k->m))
    return fail(k, "unknown type %" PRId64 " of a block", idx);
  const mote_functype *ft = mote_module_type(k->m, (uint32_t)idx);
  b->np = ft->param_count;
  b->params = ft->params;
  b->nr = ft->result_count;
  b->results = ft->results;
  return true;
}

/* Enters a block of type b (its parameters popped and pushed again). */
static bool enter(ck *k, uint8_t kind, block b) {
  if (!pop_n(k, b.np, b.params) || !push_n(k, b.np, b.params)) return false;
  k->copied += b.np;
  if (k->nb == k->bcap) {
    uint32_t cap = k->bcap ? 2 * k->bcap : 16;
    block *s = realloc(k->blocks, cap * sizeof *s);
    if (!s) return out_of_memory(k);
    k->blocks = s;
    uint32_t *seen = realloc(k->seen, cap * sizeof *seen);
    if (!seen) return out_of_memory(k);
    memset(seen + k->bcap, 0, (cap - k->bcap) * sizeof *seen);
    k->seen = seen;
    k->bcap = cap;
  }
  if (kind == K_IF && ++k->ifs > k->deepest_if) k->deepest_if = k->ifs;
  b.kind = kind;
  b.unreachable = false;
  b.height = k->h - b.np;
  k->blocks[k->nb++] = b;
  return true;
}

static const uint8_t *results_of(block *b) { return b->nr == 1 && !b->results ? &b->one : b->results; }

/* The types a branch to b carries. */
static uint32_t label_arity(const block *b) { return b->kind == K_LOOP ? b->np : b->nr; }
static const uint8_t *label_types(block *b) { return b->kind == K_LOOP ? b->params : results_of(b); }

static void set_unreachable(ck *k) {
  block *b = &k->blocks[k->nb - 1];
  k->h = b->height;
  b->unreachable = true;
}

/* The block `depth` labels out (0: the innermost), or NULL (failed). */
static block *target(ck *k, uint32_t depth) {
  if (depth >= k->nb) {
    fail(k, "unknown label %u", depth);
    return NULL;
  }
  return &k->blocks[k->nb - 1 - depth];
}

static bool end_block(ck *k) {
  block *b = &k->blocks[k->nb - 1];
  if (!pop_n(k, b->nr, results_of(b))) return false;
  k->copied += b->nr;
  if (k->h != b->height)
    return fail(k, "type mismatch: %u values left at the end of a block", k->h - b->height);
  if (b->kind == K_IF &&
      !(b->np == b->nr && (b->np == 0 || !memcmp(b->params, results_of(b), b->np))))
    return fail(k, "type mismatch: if without else must leave its parameters");
  if (b->kind == K_IF || b->kind == K_ELSE) k->ifs--;
  k->nb--;
  return push_n(k, b->nr, results_of(b));
}

/* ---- instructions ----------------------------------------------------------- */

static bool memarg(ck *k, uint32_t natural_log2) {
  uint32_t align = xl_u32(&k->c);
  xl_u32(&k->c); /* the offset */
  if (mote_module_memory_count(k->m) == 0) return fail(k, "unknown memory 0");
  if (align > natural_log2) return fail(k, "alignment must not be larger than natural");
  return true;
}

static bool table_index(ck *k, uint32_t t, uint8_t *elem) {
  if (t >= mote_module_table_count(k->m)) return fail(k, "unknown table %u", t);
  *elem = mote_module_table(k->m, t)->elemtype;
  return true;
}

static bool elem_index(ck *k, uint32_t e) {
  return e < k->x->nelems || fail(k, "unknown elem segment %u", e);
}

static bool data_index(ck *k, uint32_t d) {
  if (!k->x->has_datacount) return fail(k, "data count section required");
  return d < k->x->ndata || fail(k, "unknown data segment %u", d);
}

/* A load (an address in, a value out) or a store (an address and a value
 * in): xl_func.c's table gives the value's type and natural alignment. */
static bool mem_access(ck *k, uint8_t op) {
  uint8_t vt, log2;
  xl_memop(op, &vt, &log2);
  if (!memarg(k, log2)) return false;
  if (op <= 0x35) return pop(k, MOTE_I32, NULL) && push(k, vt);
  return pop(k, vt, NULL) && pop(k, MOTE_I32, NULL);
}

static bool misc(ck *k) {
  uint32_t sub = xl_u32(&k->c), a, b;
  uint8_t ta = 0, tb = 0;
  const xl_op *op = xl_numeric_op(0xfc, sub);
  if (op) return pop(k, op->in[0], NULL) && push(k, op->out);
  switch (sub) {
    case 8: /* memory.init */
      a = xl_u32(&k->c);
      xl_u8(&k->c);
      if (mote_module_memory_count(k->m) == 0) return fail(k, "unknown memory 0");
      return data_index(k, a) && pop_i32s(k, 3);
    case 9: /* data.drop */
      return data_index(k, xl_u32(&k->c));
    case 10: /* memory.copy */
    case 11: /* memory.fill */
      xl_u8(&k->c);
      if (sub == 10) xl_u8(&k->c);
      if (mote_module_memory_count(k->m) == 0) return fail(k, "unknown memory 0");
      return pop_i32s(k, 3);
    case 12: /* table.init elem table */
      a = xl_u32(&k->c);
      b = xl_u32(&k->c);
      if (!table_index(k, b, &tb) || !elem_index(k, a)) return false;
      if (k->x->elems[a].type != tb)
        return fail(k, "type mismatch: table.init of %s from %s", type_name(tb),
                    type_name(k->x->elems[a].type));
      return pop_i32s(k, 3);
    case 13: /* elem.drop */
      return elem_index(k, xl_u32(&k->c));
    case 14: /* table.copy dst src */
      a = xl_u32(&k->c);
      b = xl_u32(&k->c);
      if (!table_index(k, a, &ta) || !table_index(k, b, &tb)) return false;
      if (ta != tb)
        return fail(k, "type mismatch: table.copy from %s to %s", type_name(tb), type_name(ta));
      return pop_i32s(k, 3);
    case 15: /* table.grow */
      return table_index(k, xl_u32(&k->c), &ta) && pop(k, MOTE_I32, NULL) && pop(k, ta, NULL) &&
             push(k, MOTE_I32);
    case 16: /* table.size */
      return table_index(k, xl_u32(&k->c), &ta) && push(k, MOTE_I32);
    case 17: /* table.fill */
      return table_index(k, xl_u32(&k->c), &ta) && pop(k, MOTE_I32, NULL) && pop(k, ta, NULL) &&
             pop(k, MOTE_I32, NULL);
  }
  return fail(k, "illegal opcode 0xfc %u", sub);
}

static bool simd(ck *k) {
  xl_simd_io io = {NULL, &k->c, k->h, false};
  xl_simd_effect eff;
  if (!xl_simd(&io, k->m, &eff, k->err, k->func, k->at)) return false;
  for (uint32_t i = eff.npop; i-- > 0;)
    if (!pop(k, eff.pop[i], NULL)) return false;
  for (uint32_t i = 0; i < eff.npush; i++)
    if (!push(k, eff.push[i])) return false;
  return true;
}

static bool br_table(ck *k) {
  uint32_t n = xl_u32(&k->c);
  if (n > k->c.end - k->c.pos) return fail(k, "br_table too long");
  size_t labels = k->c.pos;
  for (uint32_t i = 0; i <= n; i++) xl_u32(&k->c);
  size_t after = k->c.pos;
  if (!pop(k, MOTE_I32, NULL)) return false;
  /* each target's types against the stack, leaving it as it is; once per
   * label, not per entry (a million entries of a label of 1000 values
   * would be a billion steps) */
  k->c.pos = labels;
  uint32_t arity = 0;
  if (++k->seen_mark == 0) { /* wrapped (2^32 br_tables: not in one body): clear */
    memset(k->seen, 0, k->bcap * sizeof *k->seen);
    k->seen_mark = 1;
  }
  for (uint32_t i = 0; i <= n; i++) {
    uint32_t l = xl_u32(&k->c);
    block *to = target(k, l);
    if (!to) return false;
    if (i == 0) arity = label_arity(to);
    if (label_arity(to) != arity) return fail(k, "type mismatch: br_table targets of different arity");
    k->copied += arity;
    if (k->seen[l] == k->seen_mark) continue;
    k->seen[l] = k->seen_mark;
    uint32_t saved = k->h;
    bool ok = pop_n(k, arity, label_types(to));
    k->h = saved;
    if (!ok) return false;
  }
  k->c.pos = after;
  set_unreachable(k);
  return true;
}

static bool select_op(ck *k, uint8_t op) {
  uint8_t t, t2;
  if (op == 0x1c) {
    uint32_t n = xl_u32(&k->c);
    if (n != 1) return fail(k, "invalid result arity %u of select", n);
    t = xl_u8(&k->c);
    if (!valtype(t)) return fail(k, "malformed value type 0x%02x of select", t);
    if (!pop(k, MOTE_I32, NULL) || !pop(k, t, NULL) || !pop(k, t, NULL)) return false;
  } else {
    if (!pop(k, MOTE_I32, NULL) || !pop(k, ANY, &t2) || !pop(k, t2, &t)) return false;
    if (t == MOTE_FUNCREF || t == MOTE_EXTERNREF)
      return fail(k, "type mismatch: select without a type of %s", type_name(t));
    if (t == ANY) t = t2;
  }
  return push(k, t);
}

static bool global_access(ck *k, bool set) {
  uint32_t g = xl_u32(&k->c);
  if (g >= mote_module_global_count(k->m)) return fail(k, "unknown global %u", g);
  const mote_globaltype *gt = mote_module_global(k->m, g);
  if (!set) return push(k, gt->valtype);
  if (!gt->is_mutable) return fail(k, "global is immutable: global.set %u", g);
  return pop(k, gt->valtype, NULL);
}

static bool call(ck *k, const mote_functype *ft) {
  k->copied += (uint64_t)ft->param_count + ft->result_count;
  return pop_n(k, ft->param_count, ft->params) && push_n(k, ft->result_count, ft->results);
}

static bool else_op(ck *k) {
  block *f = &k->blocks[k->nb - 1];
  if (f->kind != K_IF) return fail(k, "else without if");
  if (!pop_n(k, f->nr, results_of(f))) return false;
  if (k->h != f->height)
    return fail(k, "type mismatch: %u values left at the end of a block", k->h - f->height);
  f->kind = K_ELSE;
  f->unreachable = false;
  k->copied += (uint64_t)f->nr + f->np;
  return push_n(k, f->np, f->params);
}

/* br (0x0c) or br_if (0x0d) */
static bool br_op(ck *k, uint8_t op) {
  block *to = target(k, xl_u32(&k->c));
  if (!to || (op == 0x0d && !pop(k, MOTE_I32, NULL))) return false;
  k->copied += label_arity(to);
  if (!pop_n(k, label_arity(to), label_types(to))) return false;
  if (op == 0x0d) return push_n(k, label_arity(to), label_types(to));
  set_unreachable(k);
  return true;
}

/* The control instructions (0x00-0x11); *done once the final end was read. */
static bool control(ck *k, uint8_t op, bool *done) {
  uint32_t a, b;
  uint8_t t = 0;
  block bt = {0};
  switch (op) {
    case 0x00: set_unreachable(k); return true; /* unreachable */
    case 0x01: return true;
    case 0x02: return blocktype(k, &bt) && enter(k, K_BLOCK, bt);
    case 0x03: return blocktype(k, &bt) && enter(k, K_LOOP, bt);
    case 0x04: return blocktype(k, &bt) && pop(k, MOTE_I32, NULL) && enter(k, K_IF, bt);
    case 0x05: return else_op(k);
    case 0x0b: /* end */
      if (!end_block(k)) return false;
      if (k->nb > 0) return true;
      *done = true;
      return k->c.pos == k->c.end || fail(k, "bytes after the final end");
    case 0x0c:
    case 0x0d: return br_op(k, op);
    case 0x0e: return br_table(k);
    case 0x0f: /* return */
      if (!pop_n(k, k->blocks[0].nr, results_of(&k->blocks[0]))) return false;
      k->copied += k->blocks[0].nr;
      set_unreachable(k);
      return true;
    case 0x10: /* call */
      a = xl_u32(&k->c);
      if (a >= mote_module_func_count(k->m)) return fail(k, "unknown function %u", a);
      return call(k, mote_module_func_type(k->m, a));
    case 0x11: /* call_indirect */
      a = xl_u32(&k->c);
      b = xl_u32(&k->c);
      if (a >= mote_module_type_count(k->m)) return fail(k, "unknown type %u", a);
      if (!table_index(k, b, &t)) return false;
      if (t != MOTE_FUNCREF)
        return fail(k, "type mismatch: call_indirect through a table of %s", type_name(t));
      return pop(k, MOTE_I32, NULL) && call(k, mote_module_type(k->m, a));
  }
  return fail(k, "illegal opcode 0x%02x", op);
}

/* One instruction; false when the function is invalid. *done once its
 * final end was read. */
static bool step(ck *k, bool *done) {
  uint8_t op = xl_u8(&k->c), t = 0;
  uint32_t a;
  if (op >= 0x45 && op <= 0xc4) {
    const xl_op *n = xl_numeric_op(0, op);
    if (n->in[1] && !pop(k, n->in[1], NULL)) return false;
    return pop(k, n->in[0], NULL) && push(k, n->out);
  }
  if (op <= 0x11) return control(k, op, done);
  switch (op) {
    case 0x1a: return pop(k, ANY, NULL); /* drop */
    case 0x1b:
    case 0x1c: return select_op(k, op);
    case 0x20: /* local.get */
    case 0x21: /* local.set */
    case 0x22: /* local.tee */
      a = xl_u32(&k->c);
      if (a >= k->nlocals) return fail(k, "unknown local %u", a);
      t = k->locals[a];
      if (op == 0x20) return push(k, t);
      return pop(k, t, NULL) && (op == 0x21 || push(k, t));
    case 0x23: return global_access(k, false);
    case 0x24: return global_access(k, true);
    case 0x25: /* table.get */
      return table_index(k, xl_u32(&k->c), &t) && pop(k, MOTE_I32, NULL) && push(k, t);
    case 0x26: /* table.set */
      return table_index(k, xl_u32(&k->c), &t) && pop(k, t, NULL) && pop(k, MOTE_I32, NULL);
    case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e:
    case 0x2f: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
    case 0x36: case 0x37: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c:
    case 0x3d: case 0x3e:
      return mem_access(k, op);
    case 0x3f: /* memory.size */
    case 0x40: /* memory.grow */
      xl_u8(&k->c);
      if (mote_module_memory_count(k->m) == 0) return fail(k, "unknown memory 0");
      return (op == 0x3f || pop(k, MOTE_I32, NULL)) && push(k, MOTE_I32);
    case 0x41: xl_s32(&k->c); return push(k, MOTE_I32);
    case 0x42: xl_s64(&k->c); return push(k, MOTE_I64);
    case 0x43: xl_fixed32(&k->c); return push(k, MOTE_F32);
    case 0x44: xl_fixed64(&k->c); return push(k, MOTE_F64);
    case 0xd0: /* ref.null */
      t = xl_u8(&k->c);
      if (t != MOTE_FUNCREF && t != MOTE_EXTERNREF) return fail(k, "malformed reference type");
      return push(k, t);
    case 0xd1: /* ref.is_null */
      if (!pop(k, ANY, &t)) return false;
      if (t != ANY && t != MOTE_FUNCREF && t != MOTE_EXTERNREF)
        return fail(k, "type mismatch: ref.is_null of %s", type_name(t));
      return push(k, MOTE_I32);
    case 0xd2: /* ref.func */
      a = xl_u32(&k->c);
      if (a >= mote_module_func_count(k->m)) return fail(k, "unknown function %u", a);
      if (!k->x->declared[a]) return fail(k, "undeclared function reference %u", a);
      return push(k, MOTE_FUNCREF);
    case 0xfc: return misc(k);
    case 0xfd: return simd(k);
  }
  return fail(k, "illegal opcode 0x%02x", op);
}

static bool read_locals(ck *k, const mote_functype *ft) {
  uint32_t groups = xl_u32(&k->c);
  uint64_t total = ft->param_count;
  size_t at = k->c.pos;
  for (uint32_t i = 0; i < groups && !k->c.bad; i++) {
    total += xl_u32(&k->c);
    xl_u8(&k->c);
  }
  if (total > XL_MAX_LOCALS + (uint64_t)ft->param_count) return fail(k, "too many locals");
  if (!(k->locals = malloc(total ? total : 1))) return out_of_memory(k);
  memcpy(k->locals, ft->params, ft->param_count);
  k->nlocals = ft->param_count;
  k->c.pos = at;
  for (uint32_t i = 0; i < groups && !k->c.bad; i++) {
    uint32_t n = xl_u32(&k->c);
    uint8_t t = xl_u8(&k->c);
    if (!valtype(t)) return fail(k, "malformed value type 0x%02x of a local", t);
    memset(k->locals + k->nlocals, t, n);
    k->nlocals += n;
  }
  return !k->c.bad || fail(k, "unexpected end of function");
}

bool xl_check_function(const xl_module *x, uint32_t func_index, uint32_t *deepest_if,
                       uint64_t *c_estimate, xl_error *err) {
  uint32_t d = func_index - x->nimports_func;
  ck k = {.x = x, .m = x->m, .func = func_index, .err = err};
  k.c = (xl_cur){x->bytes, x->body_start[d], x->body_end[d], false};
  k.at = k.c.pos;
  const mote_functype *ft = mote_module_func_type(x->m, func_index);
  *c_estimate = 0;
  if (!ft) return fail(&k, "unknown type of function %u", func_index); /* as xl_module.c */
  block fn = {.np = 0, .nr = ft->result_count, .results = ft->results};
  bool ok = read_locals(&k, ft) && enter(&k, K_FUNC, fn);
  for (bool done = false; ok && !done;) {
    k.at = k.c.pos;
    if (k.c.pos >= k.c.end) {
      ok = fail(&k, "unexpected end of function");
      break;
    }
    ok = step(&k, &done);
    if (ok && k.c.bad) ok = fail(&k, "unexpected end of function");
  }
  *deepest_if = k.deepest_if;
  uint64_t code = x->body_end[d] - x->body_start[d];
  uint32_t declared = k.nlocals > ft->param_count ? k.nlocals - ft->param_count : 0;
  *c_estimate = 64 + EST_PER_LOCAL * (uint64_t)declared + EST_PER_BYTE * code +
                EST_PER_VALUE * k.copied;
  free(k.locals);
  free(k.stack);
  free(k.blocks);
  free(k.seen);
  return ok;
}
