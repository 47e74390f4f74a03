/*
 * Loops proven before they start: the plan of a loop whose every memory
 * access can be checked, once, to stay in bounds without a 32-bit wrap, so
 * that the opt tier may run a copy of it without load barriers and with
 * 64-bit affine addresses, which gcc can vectorize (xl_func.c writes the
 * copy; see docs/architecture.md, "Loops proven before they start").
 *
 * A loop qualifies when its body is one straight line: no block, branch, call
 * or trapping instruction (division, remainder, float-to-int truncation),
 * and its only branch is a final br_if 0 whose condition is a value, or an
 * i32.ne of two values, that changes by a constant each turn, or an ordered
 * comparison (lt, le, gt, ge, signed or not) of a value that does with one
 * that does not. Then:
 * - its i32 locals are either not set in the body (invariant), set to
 *   themselves plus a constant (induction variables), or anything else
 *   (unknown at a turn's start);
 * - every load's and store's address is, in turn k (0, 1, ...), a value
 *   a + e*k mod 2^32: a a sum of constants and the locals' values on entry,
 *   e a constant;
 * - the condition is v + d*k mod 2^32, so the number of turns n is known on
 *   entry: 1 + the least k with v + d*k = 0; or m + d*k R c, and n is 1 +
 *   the least k where the relation fails, if m + d*k does not wrap (the
 *   checks see that it does not, through turn n - 1).
 * The checks on entry: n exists; every access's exact a + e*k (e as signed)
 * stays in [0, 2^32) for k < n, so that it equals wasm's wrapped address;
 * and its last byte is below the memory's size at both ends, so no access
 * of the n turns traps. Nothing in the body can change the memory's size.
 * When a check fails, the loop runs as translated (the slow copy).
 */
#include <stdlib.h>
#include <string.h>

#include "xl.h"

#define TERMS 4        /* locals in one affine value */
#define MAX_LOCALS 64  /* distinct locals a body may name */
#define MAX_DEPTH 64   /* operand stack in the body */
#define MAX_INSNS 4096
/* Fewer turns run as translated: the checks cost about as much as a few
 * turns of a loop with many accesses, and the copy gains nothing before a
 * vector's lanes fill (nbody's inner loops of 1-4 turns and 13 accesses ran
 * 1.2x slower when every entry checked them all). */
#define MIN_TURNS 16

/* c + k*turn + sum(coef[i] * local[i] on entry), mod 2^32; !known: anything */
typedef struct aff {
  bool known;
  uint8_t n;
  uint32_t c, k;
  uint32_t local[TERMS], coef[TERMS];
} aff;

typedef struct val {
  aff v;
  uint8_t cmp; /* a comparison's result (its opcode, 0x47..0x4f): of a and b */
  aff a, b;
} val;

typedef struct xl_loop_access {
  aff addr;
  uint32_t offset, size;
  /* the first access whose address in turn 0 differs from this one's by a
   * constant only (itself if none), and that constant: the copy names the
   * pair's addresses from one variable, so gcc sees that they are
   * neighbours */
  uint32_t base;
  int32_t delta;
} xl_loop_access;

struct xl_loop {
  size_t bytes; /* the body's, through its end */
  /* another turn while: rel == 0: cond != 0; else cond R limit (R: rel's
   * opcode, i32.lt_s..i32.ge_u, with cond the one that moves) */
  aff cond, limit;
  uint8_t rel;
  uint32_t naccess;
  xl_loop_access access[XL_LOOP_MAX_ACCESSES];
};

/* The body's locals: index, whether i32, set in the body, and its step as an
 * induction variable. */
typedef struct body_locals {
  uint32_t n;
  uint32_t index[MAX_LOCALS];
  bool i32[MAX_LOCALS], set[MAX_LOCALS], iv[MAX_LOCALS];
  uint32_t step[MAX_LOCALS];
} body_locals;

static const aff unknown = {0};

static aff constant(uint32_t c) { return (aff){.known = true, .c = c}; }

static aff symbol(uint32_t local) {
  return (aff){.known = true, .n = 1, .local = {local}, .coef = {1}};
}

/* a + s*b */
static aff add(aff a, aff b, uint32_t s) {
  if (!a.known || !b.known) return unknown;
  a.c += s * b.c;
  a.k += s * b.k;
  for (uint8_t i = 0; i < b.n; i++) {
    uint8_t j = 0;
    while (j < a.n && a.local[j] != b.local[i]) j++;
    if (j == a.n) {
      if (a.n == TERMS) return unknown;
      a.local[a.n] = b.local[i];
      a.coef[a.n++] = 0;
    }
    a.coef[j] += s * b.coef[i];
  }
  uint8_t m = 0; /* drop the terms that cancelled */
  for (uint8_t i = 0; i < a.n; i++)
    if (a.coef[i]) {
      a.local[m] = a.local[i];
      a.coef[m++] = a.coef[i];
    }
  a.n = m;
  return a;
}

static aff scale(aff a, uint32_t s) {
  aff z = constant(0);
  return add(z, a, s);
}

static bool is_constant(aff a) { return a.known && a.n == 0 && a.k == 0; }

static int find_local(const body_locals *bl, uint32_t x) {
  for (uint32_t i = 0; i < bl->n; i++)
    if (bl->index[i] == x) return (int)i;
  return -1;
}

static uint32_t access_size(uint8_t op) {
  static const uint8_t sizes[] = {4, 8, 4, 8, 1, 1, 2, 2, 1, 1, 2, 2, 4, 4, /* loads */
                                  4, 8, 4, 8, 1, 2, 1, 2, 4};                /* stores */
  return sizes[op - 0x28];
}

typedef struct run {
  body_locals *bl; /* filled on the first pass, as the body names them */
  const uint8_t *types; /* the function's locals */
  uint32_t ntypes;
  aff now[MAX_LOCALS];
  val stack[MAX_DEPTH];
  uint32_t h;
  xl_loop *lp; /* the accesses and the condition, on the last pass */
} run;

/* The body's slot of local x: a new one, at its own symbol (i32) or
 * unknown, on the first pass (-1: too many, or no such local). */
static int local_slot(run *r, uint32_t x) {
  body_locals *bl = r->bl;
  int l = find_local(bl, x);
  if (l >= 0 || r->lp) return l;
  if (bl->n == MAX_LOCALS || x >= r->ntypes) return -1;
  l = (int)bl->n++;
  bl->index[l] = x;
  bl->i32[l] = r->types[x] == MOTE_I32;
  bl->set[l] = bl->iv[l] = false;
  r->now[l] = bl->i32[l] ? symbol(x) : unknown;
  return l;
}

static bool pop(run *r, val *v) {
  if (r->h == 0) return false;
  *v = r->stack[--r->h];
  return true;
}

static bool push(run *r, aff a) {
  if (r->h == MAX_DEPTH) return false;
  r->stack[r->h++] = (val){.v = a};
  return true;
}

static bool same_but_constant(const aff *a, const aff *b) {
  if (a->n != b->n) return false; /* (their steps may differ) */
  for (uint8_t i = 0; i < a->n; i++) {
    uint8_t j = 0;
    while (j < b->n && b->local[j] != a->local[i]) j++;
    if (j == b->n || b->coef[j] != a->coef[i]) return false;
  }
  return true;
}

static bool note_access(run *r, aff addr, uint32_t offset, uint32_t size) {
  if (!r->lp) return true;
  if (!addr.known || r->lp->naccess == XL_LOOP_MAX_ACCESSES) return false;
  uint32_t j = r->lp->naccess++, base = 0;
  while (base < j && !same_but_constant(&r->lp->access[base].addr, &addr)) base++;
  r->lp->access[j] = (xl_loop_access){addr, offset, size, base,
                                      (int32_t)(addr.c - r->lp->access[base].addr.c)};
  if (base == j) r->lp->access[j].delta = 0;
  return true;
}

/* The back edge's condition `c` into lp: a value (or i32.ne: a difference)
 * that moves, or an ordered comparison of one that moves, towards the
 * limit, with one that does not. */
static bool condition(xl_loop *lp, const val *c) {
  if (c->cmp == 0 || c->cmp == 0x47) {
    lp->cond = c->cmp ? add(c->a, c->b, UINT32_MAX) : c->v;
    lp->rel = 0;
    return lp->cond.known && lp->cond.k != 0;
  }
  /* 0x48 lt_s, 0x49 lt_u, 0x4a gt_s, 0x4b gt_u, 0x4c le_s, 0x4d le_u, 0x4e ge_s,
   * 0x4f ge_u; with the mover on the right, the mirror: lt <-> gt, le <-> ge */
  if (!c->a.known || !c->b.known || (c->a.k != 0) == (c->b.k != 0)) return false;
  bool left = c->a.k != 0;
  uint8_t rel = c->cmp;
  if (!left) rel = rel <= 0x49 ? rel + 2 : rel <= 0x4b ? rel - 2 : rel <= 0x4d ? rel + 2 : rel - 2;
  lp->cond = left ? c->a : c->b;
  lp->limit = left ? c->b : c->a;
  lp->rel = rel;
  /* it must move towards the limit: up for lt and le, down for gt and ge */
  bool up = rel == 0x48 || rel == 0x49 || rel == 0x4c || rel == 0x4d;
  return up == ((int32_t)lp->cond.k > 0);
}

/* Runs the body once over affine values (r->now: the locals at a turn's
 * start). False if it does not qualify; on the last pass (r->lp), also if
 * an address or the condition is not affine. */
static bool execute(run *r, xl_cur c) {
  val a, b, x;
  const size_t start = c.pos;
  for (uint32_t insns = 0; insns < MAX_INSNS && !c.bad; insns++) {
    uint8_t op = xl_u8(&c);
    int l;
    switch (op) {
      case 0x01: break;
      case 0x1a:
        if (!pop(r, &a)) return false;
        break;
      case 0x1b:
        if (!pop(r, &a) || !pop(r, &b) || !pop(r, &x) || !push(r, unknown)) return false;
        break;
      case 0x20:
      case 0x21:
      case 0x22:
        if ((l = local_slot(r, xl_u32(&c))) < 0) return false;
        if (op != 0x20) r->bl->set[l] = true;
        if (op == 0x20) {
          if (!push(r, r->now[l])) return false;
          break;
        }
        if (!pop(r, &a)) return false;
        r->now[l] = r->bl->i32[l] ? a.v : unknown;
        if (op == 0x22 && !push(r, a.v)) return false;
        break;
      case 0x23:
        (void)xl_u32(&c);
        if (!push(r, unknown)) return false;
        break;
      case 0x41:
        if (!push(r, constant((uint32_t)xl_s32(&c)))) return false;
        break;
      case 0x42:
        (void)xl_s64(&c);
        if (!push(r, unknown)) return false;
        break;
      case 0x43:
        (void)xl_fixed32(&c);
        if (!push(r, unknown)) return false;
        break;
      case 0x44:
        (void)xl_fixed64(&c);
        if (!push(r, unknown)) return false;
        break;
      case 0x0d: { /* the back edge: br_if 0, then the loop's end */
        if (xl_u32(&c) != 0 || !pop(r, &a) || xl_u8(&c) != 0x0b || c.bad) return false;
        if (!r->lp) return true;
        r->lp->bytes = c.pos - start;
        return condition(r->lp, &a);
      }
      default:
        if (op >= 0x28 && op <= 0x3e) {
          (void)xl_u32(&c); /* alignment (xl_func.c checks it) */
          uint32_t offset = xl_u32(&c);
          if (op >= 0x36 && !pop(r, &x)) return false; /* a store's value */
          if (!pop(r, &a) || !note_access(r, a.v, offset, access_size(op))) return false;
          if (op < 0x36 && !push(r, unknown)) return false;
          break;
        }
        if (op < 0x45 || op > 0xc4 || xl_numeric_traps(op)) return false;
        const xl_op *o = xl_numeric_op(0, op);
        if (!o) return false;
        if (o->in[1] && !pop(r, &b)) return false;
        if (o->in[0] && !pop(r, &a)) return false;
        aff v = unknown;
        if (op == 0x6a) v = add(a.v, b.v, 1);
        if (op == 0x6b) v = add(a.v, b.v, UINT32_MAX);
        if (op == 0x6c && is_constant(b.v)) v = scale(a.v, b.v.c);
        if (op == 0x6c && is_constant(a.v)) v = scale(b.v, a.v.c);
        if (op == 0x74 && is_constant(b.v)) v = scale(a.v, (uint32_t)1 << (b.v.c & 31));
        if (!push(r, v)) return false;
        if (op >= 0x47 && op <= 0x4f) {
          r->stack[r->h - 1].cmp = op;
          r->stack[r->h - 1].a = a.v;
          r->stack[r->h - 1].b = b.v;
        }
        break;
    }
  }
  return false;
}

xl_loop *xl_loop_plan(xl_cur body, const uint8_t *types, uint32_t ntypes) {
  body_locals bl = {0};
  /* Pass 1: each local as its own symbol (local_slot()); an induction
   * variable ends a turn as itself plus a constant. */
  run *r = calloc(1, sizeof *r);
  xl_loop *lp = calloc(1, sizeof *lp);
  if (!r || !lp) goto no;
  *r = (run){.bl = &bl, .types = types, .ntypes = ntypes};
  if (!execute(r, body)) goto no;
  for (uint32_t i = 0; i < bl.n; i++) {
    aff e = r->now[i];
    bl.iv[i] = bl.set[i] && e.known && e.k == 0 && e.n == 1 && e.local[0] == bl.index[i] &&
               e.coef[0] == 1;
    bl.step[i] = e.c;
  }
  /* Pass 2: a turn's start, turn k */
  *r = (run){.bl = &bl, .types = types, .ntypes = ntypes, .lp = lp};
  for (uint32_t i = 0; i < bl.n; i++) {
    if (!bl.i32[i] || (bl.set[i] && !bl.iv[i])) r->now[i] = unknown;
    else r->now[i] = symbol(bl.index[i]);
    if (bl.iv[i]) r->now[i].k = bl.step[i];
  }
  if (!execute(r, body)) goto no;
  free(r);
  return lp;
no:
  free(r);
  free(lp);
  return NULL;
}

void xl_loop_free(xl_loop *lp) { free(lp); }

uint32_t xl_loop_accesses(const xl_loop *lp) { return lp->naccess; }

size_t xl_loop_bytes(const xl_loop *lp) { return lp->bytes; }

/* An affine value at turn 0, as C over the locals (u32) */
static void write_start(FILE *o, const aff *a) {
  xl_printf(o, "(u32)(%uu", a->c);
  for (uint8_t i = 0; i < a->n; i++) xl_printf(o, " + %uu * l%u", a->coef[i], a->local[i]);
  xl_printf(o, ")");
}

/* qn<id> when the condition is cond != 0 (in a block that declares u32 qv) */
static void write_count_nonzero(FILE *o, const xl_loop *lp, uint32_t id, uint32_t slow) {
  /* n - 1 = the least k with v + d*k = 0 mod 2^32, d = 2^t * odd: it exists
   * iff 2^t divides -v, and is then (-v / 2^t) * odd^-1 mod 2^(32-t). */
  uint32_t d = lp->cond.k, t = 0;
  while (!(d >> t & 1)) t++;
  uint32_t odd = d >> t, inv = odd;
  for (int i = 0; i < 5; i++) inv *= 2 - odd * inv; /* Newton: odd * inv = 1 mod 2^32 */
  uint32_t kmask = t ? ((uint32_t)1 << (32 - t)) - 1 : UINT32_MAX;
  xl_printf(o, "u32 qv = 0u - ");
  write_start(o, &lp->cond);
  xl_printf(o, ";\n");
  if (t) xl_printf(o, "if (qv & %uu) goto L%u;\n", ((uint32_t)1 << t) - 1, slow);
  xl_printf(o, "qn%u = (u64)(((qv >> %u) * %uu) & %uu) + 1;\n", id, t, inv, kmask);
}

/* qn<id> when the condition is m + d*k R c: n = 1 + the least k where it
 * fails, counted on the exact values, which must then not wrap through
 * turn n - 1 (the last turn's m + d*(n-1) in the type's range) */
static void write_count_ordered(FILE *o, const xl_loop *lp, uint32_t id, uint32_t slow) {
  bool sgn = lp->rel == 0x48 || lp->rel == 0x4a || lp->rel == 0x4c || lp->rel == 0x4e;
  bool up = lp->rel == 0x48 || lp->rel == 0x49 || lp->rel == 0x4c || lp->rel == 0x4d;
  bool strict = lp->rel <= 0x4b;
  int64_t d = (int32_t)lp->cond.k, step = up ? d : -d;
  const char *cast = sgn ? "(s64)(s32)" : "(s64)";
  xl_printf(o, "s64 qm = %s", cast);
  write_start(o, &lp->cond);
  xl_printf(o, ", qc = %s", cast);
  write_start(o, &lp->limit);
  /* the first turn's test fails: one turn (too few anyway) */
  static const char *const holds[] = {"<", "<", ">", ">", "<=", "<=", ">=", ">="};
  xl_printf(o, ";\nif (!(qm %s qc)) goto L%u;\n", holds[lp->rel - 0x48], slow);
  xl_printf(o, "qn%u = (u64)(%s + %lld) / %lldu + %d;\n", id, up ? "qc - qm" : "qm - qc",
            strict ? (long long)step - 1 : 0LL, (long long)step, strict ? 1 : 2);
  xl_printf(o, "{ s64 ql = qm + (s64)%lld * (s64)(qn%u - 1);\n", (long long)d, id);
  if (sgn) xl_printf(o, "if (ql < -2147483648 || ql > 2147483647) goto L%u; }\n", slow);
  else xl_printf(o, "if (ql < 0 || ql > 4294967295) goto L%u; }\n", slow);
}

void xl_loop_write_checks(FILE *o, const xl_loop *lp, uint32_t id, uint32_t slow) {
  xl_printf(o, "u64 qn%u", id);
  for (uint32_t j = 0; j < lp->naccess; j++) xl_printf(o, ", qa%u_%u", id, j);
  xl_printf(o, ";\n{ ");
  if (lp->rel) write_count_ordered(o, lp, id, slow);
  else write_count_nonzero(o, lp, id, slow);
  xl_printf(o, "if (qn%u < %u) goto L%u;\n", id, MIN_TURNS, slow);
  xl_printf(o, "u64 qsize = (u64)I->m0->pages << 16;\n");
  for (uint32_t j = 0; j < lp->naccess; j++) {
    const xl_loop_access *a = &lp->access[j];
    /* the exact address of the last turn; |e| < 2^31 and n <= 2^32: no s64
     * overflow */
    xl_printf(o, "qa%u_%u = ", id, j);
    if (a->base == j) {
      write_start(o, &a->addr);
    } else { /* the same value mod 2^32, exactly when in [0, 2^32) (below
              * 0 it wraps in u64 too) */
      xl_printf(o, "qa%u_%u + (u64)(s64)%d;\n", id, a->base, a->delta);
      xl_printf(o, "if (qa%u_%u > 0xffffffffu) goto L%u", id, j, slow);
    }
    xl_printf(o, ";\n{ s64 qz = (s64)qa%u_%u + (s64)%d * (s64)(qn%u - 1);\n", id, j,
              (int32_t)a->addr.k, id);
    /* (past 2^32 - 1 it is past the size too: a memory has at most 2^32
     * bytes) */
    xl_printf(o,
              "if (qz < 0 || (u64)(qz > (s64)qa%u_%u ? qz : (s64)qa%u_%u) + %uu + %uu > qsize) "
              "goto L%u; }\n",
              id, j, id, j, a->offset, a->size, slow);
  }
  xl_printf(o, "}\n");
}

void xl_loop_address(char *dst, size_t cap, const xl_loop *lp, uint32_t id, uint32_t j) {
  const xl_loop_access *a = &lp->access[j];
  int32_t e = (int32_t)a->addr.k;
  /* the product in u64, wrapping: gcc takes `(u64)((s64)e * (s64)qk)` for a
   * gather and vectorizes no stride but 1 (the sum is exact: the checks keep
   * it in [0, 2^32)) */
  xl_bprintf(dst, cap, "(qa%u_%u + (u64)(s64)%d + (u64)(s64)%d * qk)", id, a->base, a->delta, e);
}
