/* Loops proven before they start (src/compile/xl_loop.c, xl_func.c's
 * copy_loop()): the opt tier's copy of such a loop, without load barriers
 * and with 64-bit addresses, must do exactly what the loop does, and must
 * not run when a check fails (an access out of bounds, an address that
 * wraps, a count that never comes). Each case runs on the opt tier (the
 * copy) and the quick tier (tcc: the loop as translated) from the same
 * memory, and the whole memory and the trap after it are compared with a C
 * model of the wasm. The opt tier's C is compiled with -DXL_COUNT_COPIES
 * (a compiler script), so its object counts the copies that ran: each case
 * says whether the copy must run. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/compile.h"
#include "compile/xl.h"
#include "module/module.h"
#include "rt/rt.h"
#include "test.h"

#define PAGE 65536u

/* 0 add(d, a, b, n): d[i] = min(a[i] + b[i], 255), i from -n up to 0 and
 *   the addresses x + n + i: clang's shape of such a loop;
 * 1 add2(d, a, b, n): two bytes a turn, i from 0 by 2 while i != n;
 * 2 acc(s, a, n): the i32 at s += a[i] (an address that does not move);
 * 3 axpy(y, x, n, c): y[i] += c * x[i] in f64 (a load written back);
 * 4 rev(d, n): d[i - 8] = i, i from n down to 1;
 * 5 sharp(o, a, n): o[i] = a[i], o[i + 1000] = a[i - 1] (two addresses a
 *   constant apart, the second below 0 when a is 0: after a store);
 * 6 div(d, n): a loop with a division, which is not copied;
 * 7 peek(a, n): an i32 at a + i + 8, dropped (only its trap counts, and the
 *   copy has no barrier to keep it);
 * 8 walk(d, n): d[j] = i, j += i: j is no induction variable (its address
 *   is not affine: no copy);
 * 9 upto(d, start, limit): d[i - start] = i, i from start by 4 while
 *   i <u limit (an ordered condition);
 * 10 upto_s: the same while i <=s limit;
 * 11 downto(d, start, limit): d[start - i] = i, i down by 4 while limit <u i
 *   (the mover on the right);
 * 12 sink(d, p, n): the f64 at p = 1.5 (an address and a value that do not
 *   move), d[i] = i: when d[i] traps, the f64 must have been stored;
 * 13 grow(n): memory.grow;
 * 14 fill(p, n, seed): bytes of a generator. */
static const char module_wat[] =
    "(module (memory (export \"mem\") 1)"
    " (func (export \"add\") (param $d i32) (param $a i32) (param $b i32) (param $n i32)"
    "  (local $i i32) (local $t i32)"
    "  (local.set $i (i32.sub (i32.const 0) (local.get $n)))"
    "  (loop"
    "   (i32.store8 (i32.add (i32.add (local.get $d) (local.get $n)) (local.get $i))"
    "    (select (local.tee $t (i32.add"
    "      (i32.load8_u (i32.add (i32.add (local.get $a) (local.get $n)) (local.get $i)))"
    "      (i32.load8_u (i32.add (i32.add (local.get $b) (local.get $n)) (local.get $i)))))"
    "     (i32.const 255) (i32.lt_u (local.get $t) (i32.const 255))))"
    "   (br_if 0 (local.tee $i (i32.add (local.get $i) (i32.const 1))))))"
    " (func (export \"add2\") (param $d i32) (param $a i32) (param $b i32) (param $n i32)"
    "  (local $i i32)"
    "  (loop"
    "   (i32.store8 (i32.add (local.get $d) (local.get $i))"
    "    (i32.add (i32.load8_u (i32.add (local.get $a) (local.get $i)))"
    "     (i32.load8_u (i32.add (local.get $b) (local.get $i)))))"
    "   (i32.store8 offset=1 (i32.add (local.get $d) (local.get $i))"
    "    (i32.add (i32.load8_u offset=1 (i32.add (local.get $a) (local.get $i)))"
    "     (i32.load8_u offset=1 (i32.add (local.get $b) (local.get $i)))))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 2))) (local.get $n)))))"
    " (func (export \"acc\") (param $s i32) (param $a i32) (param $n i32) (local $i i32)"
    "  (loop"
    "   (i32.store (local.get $s) (i32.add (i32.load (local.get $s))"
    "    (i32.load8_u (i32.add (local.get $a) (local.get $i)))))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))"
    " (func (export \"axpy\") (param $y i32) (param $x i32) (param $n i32) (param $c f64)"
    "  (local $i i32) (local $p i32)"
    "  (loop"
    "   (local.set $p (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 3))))"
    "   (local.get $p)"
    "   (f64.mul (local.get $c)"
    "    (f64.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 3)))))"
    "   (f64.load (local.get $p)) (f64.add) (f64.store)"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))"
    " (func (export \"rev\") (param $d i32) (param $n i32) (local $i i32)"
    "  (local.set $i (local.get $n))"
    "  (loop"
    "   (i32.store8 (i32.sub (i32.add (local.get $d) (local.get $i)) (i32.const 8)) (local.get $i))"
    "   (br_if 0 (local.tee $i (i32.sub (local.get $i) (i32.const 1))))))"
    " (func (export \"sharp\") (param $o i32) (param $a i32) (param $n i32) (local $i i32)"
    "  (loop"
    "   (i32.store8 (i32.add (local.get $o) (local.get $i))"
    "    (i32.load8_u (i32.add (local.get $a) (local.get $i))))"
    "   (i32.store8 offset=1000 (i32.add (local.get $o) (local.get $i))"
    "    (i32.load8_u (i32.sub (i32.add (local.get $a) (local.get $i)) (i32.const 1))))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))"
    " (func (export \"div\") (param $d i32) (param $n i32) (local $i i32)"
    "  (loop"
    "   (i32.store8 (i32.add (local.get $d) (local.get $i))"
    "    (i32.div_u (i32.const 1000) (i32.add (local.get $i) (i32.const 1))))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))"
    " (func (export \"peek\") (param $a i32) (param $n i32) (local $i i32)"
    "  (loop"
    "   (drop (i32.load offset=8 (i32.add (local.get $a) (local.get $i))))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))"
    " (func (export \"walk\") (param $d i32) (param $n i32) (local $i i32) (local $j i32)"
    "  (loop"
    "   (i32.store8 (i32.add (local.get $d) (local.get $j)) (local.get $i))"
    "   (local.set $j (i32.add (local.get $j) (local.get $i)))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))"
    " (func (export \"upto\") (param $d i32) (param $start i32) (param $limit i32) (local $i i32)"
    "  (local.set $i (local.get $start))"
    "  (loop"
    "   (i32.store8 (i32.sub (i32.add (local.get $d) (local.get $i)) (local.get $start)) (local.get $i))"
    "   (br_if 0 (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $limit)))))"
    " (func (export \"upto_s\") (param $d i32) (param $start i32) (param $limit i32) (local $i i32)"
    "  (local.set $i (local.get $start))"
    "  (loop"
    "   (i32.store8 (i32.sub (i32.add (local.get $d) (local.get $i)) (local.get $start)) (local.get $i))"
    "   (br_if 0 (i32.le_s (local.tee $i (i32.add (local.get $i) (i32.const 4))) (local.get $limit)))))"
    " (func (export \"downto\") (param $d i32) (param $start i32) (param $limit i32) (local $i i32)"
    "  (local.set $i (local.get $start))"
    "  (loop"
    "   (i32.store8 (i32.sub (i32.add (local.get $d) (local.get $start)) (local.get $i)) (local.get $i))"
    "   (br_if 0 (i32.lt_u (local.get $limit) (local.tee $i (i32.sub (local.get $i) (i32.const 4)))))))"
    " (func (export \"sink\") (param $d i32) (param $p i32) (param $n i32) (local $i i32)"
    "  (loop"
    "   (f64.store (local.get $p) (f64.const 1.5))"
    "   (i32.store8 (i32.add (local.get $d) (local.get $i)) (local.get $i))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n)))))"
    " (func (export \"grow\") (param $n i32) (drop (memory.grow (local.get $n))))"
    " (func (export \"fill\") (param $p i32) (param $n i32) (param $seed i32) (local $i i32)"
    "  (loop"
    "   (local.set $seed (i32.add (i32.mul (local.get $seed) (i32.const 1664525))"
    "    (i32.const 1013904223)))"
    "   (i32.store8 (i32.add (local.get $p) (local.get $i))"
    "    (i32.shr_u (local.get $seed) (i32.const 24)))"
    "   (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1))) (local.get $n))))))";

enum { ADD, ADD2, ACC, AXPY, REV, SHARP, DIV, PEEK, WALK, UPTO, UPTO_S, DOWNTO, SINK, GROW, FILL };

/* ---- the model: the wasm's accesses in order, each trapping past the end */

typedef struct model {
  uint8_t *m;
  uint32_t size; /* the memory's bytes */
  bool trapped;
} model;

static bool at(model *s, uint32_t a, uint32_t size) {
  if ((uint64_t)a + size > s->size) s->trapped = true;
  return !s->trapped;
}

static uint32_t ld8(model *s, uint32_t a) { return at(s, a, 1) ? s->m[a] : 0; }
static void st8(model *s, uint32_t a, uint32_t v) {
  if (at(s, a, 1)) s->m[a] = (uint8_t)v;
}

static void model_run(model *s, int f, const uint32_t *p, double c) {
  uint32_t i = 0, t, v;
  switch (f) {
    case ADD:
      for (i = 0u - p[3];;) {
        t = ld8(s, p[1] + p[3] + i);
        t += ld8(s, p[2] + p[3] + i);
        st8(s, p[0] + p[3] + i, t < 255 ? t : 255);
        if (s->trapped || ++i == 0) return;
      }
    case ADD2:
      for (;;) {
        t = ld8(s, p[1] + i) + ld8(s, p[2] + i);
        st8(s, p[0] + i, t);
        if (!at(s, p[1] + i, 2) || !at(s, p[2] + i, 2)) return; /* offset=1 */
        t = s->m[p[1] + i + 1] + s->m[p[2] + i + 1];
        if (at(s, p[0] + i, 2)) s->m[p[0] + i + 1] = (uint8_t)t;
        if (s->trapped || (i += 2) == p[3]) return;
      }
    case ACC:
      for (;;) {
        if (!at(s, p[0], 4)) return;
        memcpy(&v, s->m + p[0], 4);
        v += ld8(s, p[1] + i);
        if (at(s, p[0], 4)) memcpy(s->m + p[0], &v, 4);
        if (s->trapped || ++i == p[2]) return;
      }
    case AXPY:
      for (;;) {
        uint32_t y = p[0] + (i << 3), x = p[1] + (i << 3);
        double a, b;
        if (!at(s, x, 8)) return;
        memcpy(&a, s->m + x, 8);
        if (!at(s, y, 8)) return;
        memcpy(&b, s->m + y, 8);
        b = b + c * a;
        memcpy(s->m + y, &b, 8);
        if (++i == p[2]) return;
      }
    case REV:
      for (i = p[1];;) {
        st8(s, p[0] + i - 8, i);
        if (s->trapped || --i == 0) return;
      }
    case PEEK:
      for (;;) {
        if (!at(s, p[0] + i + 8, 4) || ++i == p[1]) return;
      }
    case WALK:
      for (t = 0;;) {
        st8(s, p[0] + t, i);
        t += i;
        if (s->trapped || ++i == p[1]) return;
      }
    case UPTO:
    case UPTO_S:
      for (i = p[1];;) {
        st8(s, p[0] + i - p[1], i);
        i += 4;
        if (s->trapped || (f == UPTO ? !(i < p[2]) : !((int32_t)i <= (int32_t)p[2]))) return;
      }
    case DOWNTO:
      for (i = p[1];;) {
        st8(s, p[0] + p[1] - i, i);
        i -= 4;
        if (s->trapped || !(p[2] < i)) return;
      }
    case SINK:
      for (;;) {
        if (!at(s, p[1], 8)) return;
        const double x = 1.5;
        memcpy(s->m + p[1], &x, 8);
        st8(s, p[0] + i, i);
        if (s->trapped || ++i == p[2]) return;
      }
    case SHARP:
      for (;;) {
        st8(s, p[0] + i, ld8(s, p[1] + i));
        t = ld8(s, p[1] + i - 1);
        if (at(s, p[0] + i, 1001)) s->m[p[0] + i + 1000] = (uint8_t)t;
        if (s->trapped || ++i == p[2]) return;
      }
  }
}

/* ---- running it -------------------------------------------------------- */

typedef struct tier_run {
  mote_rt_module *m;
  mote_rt_instance *inst;
  uint8_t *mem;
  void *so;                        /* opt: the object again, for its counter */
  unsigned long long *copies_run; /* opt: xl_copies_run */
} tier_run;

/* Compiles on `tier` (opt: with -DXL_COUNT_COPIES), loads, instantiates. */
static bool start(tier_run *r, const uint8_t *wasm, size_t len, mote_tier tier) {
  memset(r, 0, sizeof *r);
  mote_compile_options o = {.cache_dir = test_cache_dir(), .tier = tier};
  mote_compile_result cr;
  mote_compile_error cerr;
  mote_rt_error err;
  char cc[512];
  if (!o.cache_dir[0]) return false;
  /* the script once: its path, size and time are in the cache key */
  static bool written;
  if (tier == MOTE_TIER_OPT) {
    if (!written &&
        !test_script("gcc-count-copies", "exec gcc -DXL_COUNT_COPIES \"$@\"\n", cc, sizeof cc))
      return false;
    written = true;
    snprintf(cc, sizeof cc, "%s/gcc-count-copies", test_cache_dir());
    setenv("MOTE_CC", cc, 1);
  }
  mote_compile_status st = mote_compile(wasm, len, &o, &cr, &cerr);
  unsetenv("MOTE_CC");
  CHECK_MSG(st == MOTE_COMPILE_OK, cerr.message);
  if (st != MOTE_COMPILE_OK) return false;
  mote_rt_init();
  CHECK_MSG(mote_rt_module_load(cr.so_path, &r->m, &err) == MOTE_RT_OK, err.message);
  r->inst = r->m ? test_instance(r->m, NULL) : NULL;
  if (!r->inst) return false;
  int32_t mem = mote_rt_module_find_export(r->m, "mem", 3);
  r->mem = mote_rt_instance_export(r->inst, (uint32_t)mem).binding.memory->data;
  if (tier == MOTE_TIER_OPT) {
    r->so = dlopen(cr.so_path, RTLD_NOW | RTLD_NOLOAD);
    r->copies_run = r->so ? dlsym(r->so, "xl_copies_run") : NULL;
    CHECK_MSG(r->copies_run != NULL, cr.so_path);
    return r->copies_run != NULL;
  }
  return true;
}

static void stop(tier_run *r) {
  if (r->inst) mote_rt_instance_free(r->inst);
  if (r->so) dlclose(r->so);
  if (r->m) mote_rt_module_free(r->m);
}

static const char *const names[] = {"add", "add2", "acc", "axpy", "rev", "sharp", "div", "peek", "walk",
                                    "upto", "upto_s", "downto", "sink", "grow",
                                    "fill"};

static mote_rt_status call(tier_run *r, int f, const uint32_t *p, double c,
                           mote_rt_error *err) {
  mote_val args[4] = {{.i32 = (int32_t)p[0]}, {.i32 = (int32_t)p[1]}, {.i32 = (int32_t)p[2]},
                      {.i32 = (int32_t)p[3]}};
  if (f == AXPY) args[3].f64 = c;
  mote_val res[1];
  int32_t e = mote_rt_module_find_export(r->m, names[f], strlen(names[f]));
  CHECK_MSG(e >= 0, names[f]);
  return mote_rt_call(r->inst, (uint32_t)e, args, res, err);
}

/* Fills the memory with a generator's bytes (the fill loop: copied too). */
static void fill(tier_run *r, uint32_t seed) {
  mote_rt_error err;
  const uint32_t p[4] = {0, PAGE, seed, 0};
  CHECK_EQ_INT(call(r, FILL, p, 0, &err), MOTE_RT_OK);
}

typedef struct loop_case {
  const char *what;
  int f;
  uint32_t p[4];
  double c;
  bool copy;      /* its copy runs (else the loop as translated) */
  uint32_t grow;  /* pages grown first */
} loop_case;

static const loop_case cases[] = {
    {"apart", ADD, {1000, 2000, 3000, 600}, 0, true, 0},
    {"writes one after what it reads", ADD, {2001, 2000, 3000, 600}, 0, true, 0},
    {"writes one before what it reads", ADD, {1999, 2000, 3000, 600}, 0, true, 0},
    {"the same bytes", ADD, {2000, 2000, 2000, 333}, 0, true, 0},
    {"runs past the end", ADD, {PAGE - 100, 2000, 3000, 200}, 0, false, 0},
    {"reads past the end", ADD, {1000, 2000, PAGE - 10, 64}, 0, false, 0},
    {"n = 0: 2^32 turns, until past the end", ADD, {60000, 1000, 2000, 0}, 0, false, 0},
    {"a turn that is one", ADD, {7, 100, 200, 1}, 0, false, 0},
    {"15 turns: too few", ADD, {1000, 2000, 3000, 15}, 0, false, 0},
    {"16 turns: enough", ADD, {1000, 2000, 3000, 16}, 0, true, 0},
    {"two a turn", ADD2, {1000, 3000, 5000, 512}, 0, true, 0},
    {"two a turn, onto its input", ADD2, {3001, 3000, 5000, 512}, 0, true, 0},
    {"an odd count: never equal, until past the end", ADD2, {1000, 3000, 5000, 511}, 0, false, 0},
    {"an address that stays", ACC, {4000, 100, 3000}, 0, true, 0},
    {"an address that stays, inside what it reads", ACC, {150, 100, 3000}, 0, true, 0},
    {"f64 written back", AXPY, {8000, 24000, 1000}, 0.5, true, 0},
    {"f64 written back onto its input", AXPY, {8000, 8008, 1000}, -1.25, true, 0},
    {"f64 written back past the end", AXPY, {PAGE - 800, 1000, 200}, 2.0, false, 0},
    {"down", REV, {1000, 500}, 0, true, 0},
    {"down below 0: wraps, and traps", REV, {4, 16}, 0, false, 0},
    {"two addresses a constant apart", SHARP, {5000, 100, 900}, 0, true, 0},
    {"the one before the first is below 0", SHARP, {5000, 0, 900}, 0, false, 0},
    {"onto itself", SHARP, {101, 100, 900}, 0, true, 0},
    {"a walk", WALK, {1000, 100}, 0, false, 0},
    {"a dropped load in bounds", PEEK, {PAGE - 111, 100}, 0, true, 0},
    {"a dropped load whose last byte is past the end", PEEK, {PAGE - 110, 100}, 0, false, 0},
    {"a dropped load whose offset is past the end", PEEK, {PAGE - 104, 100}, 0, false, 0},
    {"up to a limit", UPTO, {1000, 100, 100 + 4 * 500}, 0, true, 0},
    {"up to a limit not on the way", UPTO, {1000, 100, 100 + 4 * 500 + 3}, 0, true, 0},
    {"up to a limit below the start: one turn", UPTO, {1000, 5000, 100}, 0, false, 0},
    {"up past 2^32: wraps, and goes on until past the end", UPTO,
     {1000, 0xffffff00u, 0xffffffffu}, 0, false, 0},
    {"up from below 0, signed", UPTO_S, {1000, (uint32_t)-1000, 1000}, 0, true, 0},
    {"up to INT32_MAX, signed: never past it", UPTO_S, {1000, 0x7fffff00u, 0x7fffffffu}, 0, false, 0},
    {"down to a limit", DOWNTO, {1000, 5000, 3000}, 0, true, 0},
    {"down to 0 exactly", DOWNTO, {1000, 64, 0}, 0, true, 0},
    {"down past 0: wraps, and goes on until past the end", DOWNTO, {1000, 66, 0}, 0, false, 0},
    {"a store that does not move, then a trap", SINK, {PAGE - 10, 100, 20}, 0, false, 0},
    {"a store that does not move", SINK, {1000, 100, 20}, 0, true, 0},
    {"in a grown page", ADD, {PAGE + 1000, 2000, PAGE + 3000, 600}, 0, true, 1},
    {"past a grown page", ADD, {2 * PAGE - 100, 2000, 3000, 200}, 0, false, 1},
    {"three grown pages, the last byte", ADD2, {4 * PAGE - 512, 0, PAGE, 512}, 0, true, 3},
};

static void check_case(const uint8_t *wasm, size_t len, const loop_case *k) {
  uint32_t size = PAGE * (1 + k->grow);
  uint8_t *want = malloc(size);
  CHECK(want != NULL);
  for (int tier = MOTE_TIER_OPT; want && tier <= MOTE_TIER_QUICK; tier++) {
    tier_run r;
    if (start(&r, wasm, len, (mote_tier)tier)) {
      mote_rt_error err;
      const uint32_t g[4] = {k->grow, 0, 0, 0};
      if (k->grow) CHECK_EQ_INT(call(&r, GROW, g, 0, &err), MOTE_RT_OK);
      fill(&r, 12345);
      memcpy(want, r.mem, size);
      model s = {want, size, false};
      model_run(&s, k->f, k->p, k->c);
      unsigned long long before = r.copies_run ? *r.copies_run : 0;
      mote_rt_status st = call(&r, k->f, k->p, k->c, &err);
      CHECK_MSG(st == (s.trapped ? MOTE_RT_TRAP : MOTE_RT_OK), k->what);
      if (st == MOTE_RT_TRAP) CHECK_MSG(err.trap == MOTE_TRAP_OOB, k->what);
      CHECK_MSG(memcmp(r.mem, want, size) == 0, k->what);
      if (r.copies_run) CHECK_MSG((*r.copies_run > before) == k->copy, k->what);
    }
    stop(&r);
  }
  free(want);
}

TEST(a_copied_loop_does_what_the_loop_does_on_every_edge) {
  size_t len;
  uint8_t *wasm = test_wat(module_wat, NULL, &len);
  CHECK(wasm != NULL);
  for (size_t i = 0; wasm && i < sizeof cases / sizeof cases[0]; i++) check_case(wasm, len, &cases[i]);
  free(wasm);
}

/* The module's C as the translator writes it for gcc (fast_loops) or for
 * tcc: the caller frees it; NULL (why set) when it is refused. */
static char *translated(const uint8_t *wasm, size_t len, bool fast_loops, xl_error *why) {
  memset(why, 0, sizeof *why);
  mote_module *m = NULL;
  mote_module_error merr;
  xl_module x;
  char *c = NULL;
  size_t clen = 0;
  bool written = false;
  if (wasm && mote_module_read(wasm, len, &m, &merr) == MOTE_MODULE_OK &&
      xl_module_scan(&x, m, wasm, len)) {
    x.fast_loops = fast_loops;
    FILE *o = open_memstream(&c, &clen);
    written = o && xl_module_write(o, &x, why);
    if (o && fclose(o) != 0) written = false;
    xl_module_release(&x);
  }
  mote_module_free(m);
  if (!written) {
    free(c);
    c = NULL;
  }
  return c;
}

/* ---- generated loops ------------------------------------------------------
 * Loops of random shape that qualify (most do: a few end up not affine), run
 * from edges (bases near 0 and the end, counts that are never reached)
 * on both tiers, which must leave the same memory and the same trap. The
 * differential fuzzer's modules (binaryen's) have no such loop: each of
 * theirs checks a hang limit. */

static uint32_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(*s >> 33);
}

static const char *pick(uint64_t *s, const char *const *from, uint32_t n) {
  return from[rnd(s) % n];
}

/* An address: a parameter, plus an induction variable scaled, plus a
 * constant (negative sometimes). */
static void gen_address(FILE *o, uint64_t *s) {
  static const char *const shifts[] = {"", "(i32.shl %s (i32.const 1))", "(i32.shl %s (i32.const 2))",
                                       "(i32.mul %s (i32.const 8))", "(i32.mul (i32.const 3) %s)"};
  char iv[32];
  snprintf(iv, sizeof iv, "(local.get $%s)", rnd(s) % 3 ? "i" : "j");
  const char *sh = pick(s, shifts, 5);
  fprintf(o, "(i32.add (i32.add (local.get $p%u) ", rnd(s) % 3);
  if (sh[0]) fprintf(o, sh, iv);
  else fputs(iv, o);
  fprintf(o, ") (i32.const %d))", (int)(rnd(s) % 41) - 20);
}

static void gen_value(FILE *o, uint64_t *s, int depth) {
  static const char *const loads[] = {"i32.load8_u", "i32.load8_s", "i32.load16_u", "i32.load"};
  static const char *const ops[] = {"i32.add", "i32.sub", "i32.mul", "i32.xor", "i32.and",
                                    "i32.shr_u", "i32.rotl", "i32.or"};
  uint32_t k = depth > 2 ? rnd(s) % 3 : rnd(s) % 6;
  if (k == 0) {
    fprintf(o, "(i32.const %d)", (int)rnd(s) % 1000);
  } else if (k == 1) {
    static const char *const locals[] = {"i", "j", "t", "p0"};
    fprintf(o, "(local.get $%s)", pick(s, locals, 4));
  } else if (k == 2 || k == 3) {
    fprintf(o, "(%s offset=%u ", pick(s, loads, 4), rnd(s) % 3 ? 0 : rnd(s) % 9);
    gen_address(o, s);
    fputs(")", o);
  } else if (k == 4) {
    fprintf(o, "(%s ", pick(s, ops, 8));
    gen_value(o, s, depth + 1);
    fputs(" ", o);
    gen_value(o, s, depth + 1);
    fputs(")", o);
  } else {
    fputs("(select ", o);
    gen_value(o, s, depth + 1);
    fputs(" ", o);
    gen_value(o, s, depth + 1);
    fputs(" (i32.lt_u ", o);
    gen_value(o, s, depth + 1);
    fputs(" (i32.const 128)))", o);
  }
}

/* run(p0, p1, p2, start, n): i from start by si, j from p1 by sj; the loop
 * ends when i reaches 0 (tee) or n (ne). */
static char *gen_module(uint64_t seed, int *step, int *form) {
  uint64_t s = seed;
  char *text = NULL;
  size_t len = 0;
  FILE *o = open_memstream(&text, &len);
  if (!o) return NULL;
  static const int steps[] = {1, 1, 2, 4, -1, -2, 3};
  int si = steps[rnd(&s) % 7], sj = steps[rnd(&s) % 7];
  /* the condition: 0 i != 0 (a tee), 1 i != n, else the relation of i and n
   * (0x48 + form - 2: lt_s, lt_u, gt_s, gt_u, le_s, le_u, ge_s, ge_u), in
   * the direction i moves, with n on either side */
  int f = (int)(rnd(&s) % 4);
  if (f >= 2) f = 2 + (int)(rnd(&s) % 2) + (si > 0 ? 0 : 2) + (int)(rnd(&s) % 2) * 4;
  *step = si;
  *form = f;
  fputs("(module (memory (export \"mem\") 1)"
        " (func (export \"run\") (param $p0 i32) (param $p1 i32) (param $p2 i32)"
        " (param $start i32) (param $n i32) (local $i i32) (local $j i32) (local $t i32)"
        " (local.set $i (local.get $start)) (local.set $j (local.get $p1)) (loop ", o);
  uint32_t m = 1 + rnd(&s) % 4;
  for (uint32_t k = 0; k < m; k++) {
    if (rnd(&s) % 3 == 0) {
      fputs("(local.set $t ", o);
      gen_value(o, &s, 0);
      fputs(") ", o);
    }
    if (rnd(&s) % 3 == 0) { /* a load only for its trap: gcc deletes it in the copy */
      fprintf(o, "(drop (i32.load offset=%u ", rnd(&s) % 2 ? 0 : rnd(&s) % 9);
      gen_address(o, &s);
      fputs(")) ", o);
    }
    static const char *const stores[] = {"i32.store8", "i32.store16", "i32.store"};
    fprintf(o, "(%s offset=%u ", pick(&s, stores, 3), rnd(&s) % 2 ? 0 : rnd(&s) % 9);
    gen_address(o, &s);
    fputs(" ", o);
    gen_value(o, &s, 0);
    fputs(") ", o);
  }
  uint32_t how = rnd(&s) % 4; /* j: an induction variable, or not */
  if (how == 2)
    fputs("(local.set $j (i32.add (i32.mul (local.get $j) (i32.const 2)) (i32.const 1))) ", o);
  else if (how == 3)
    fputs("(local.set $j (i32.add (local.get $j) (local.get $i))) ", o);
  else
    fprintf(o, "(local.set $j (i32.add (local.get $j) (i32.const %d))) ", sj);
  static const char *const rel[] = {"lt_s", "lt_u", "gt_s", "gt_u", "le_s", "le_u", "ge_s", "ge_u"};
  static const int mirror[] = {2, 3, 0, 1, 6, 7, 4, 5};
  char next[96];
  snprintf(next, sizeof next, "(local.tee $i (i32.add (local.get $i) (i32.const %d)))", si);
  if (f == 0)
    fprintf(o, "(br_if 0 %s)", next);
  else if (f == 1)
    fprintf(o, "(br_if 0 (i32.ne %s (local.get $n)))", next);
  else if (rnd(&s) % 2)
    fprintf(o, "(br_if 0 (i32.%s %s (local.get $n)))", rel[f - 2], next);
  else
    fprintf(o, "(br_if 0 (i32.%s (local.get $n) %s))", rel[mirror[f - 2]], next);
  fputs(")))", o);
  fclose(o);
  return text;
}

TEST(generated_loops_leave_the_same_memory_on_both_tiers) {
  static const uint32_t bases[] = {0, 1, 7, 100, 4096, PAGE / 2, PAGE - 300, PAGE - 8, PAGE - 1};
  static const uint32_t counts[] = {0, 1, 2, 7, 64, 100, 1000, 5000};
  uint8_t *mem[2] = {malloc(PAGE), malloc(PAGE)};
  CHECK(mem[0] && mem[1]);
  unsigned copied = 0;
  unsigned long long ran = 0;
  for (uint64_t seed = 1; mem[0] && mem[1] && seed <= 64; seed++) {
    int step;
    int form;
    char *wat = gen_module(seed * 0x9e3779b97f4a7c15ull, &step, &form);
    size_t len;
    uint8_t *wasm = wat ? test_wat(wat, NULL, &len) : NULL;
    CHECK_MSG(wasm != NULL, wat);
    tier_run r[2];
    memset(r, 0, sizeof r);
    bool ok = wasm && start(&r[0], wasm, len, MOTE_TIER_OPT) &&
              start(&r[1], wasm, len, MOTE_TIER_QUICK);
    uint64_t s = seed;
    for (int run = 0; ok && run < 10; run++) {
      mote_val args[5];
      for (int a = 0; a < 3; a++) args[a].i32 = (int32_t)bases[rnd(&s) % 9];
      uint32_t n = counts[rnd(&s) % 8];
      args[3].i32 = rnd(&s) % 2 ? 0 : (int32_t)(0u - n); /* start */
      args[4].i32 = (int32_t)n;
      if (run % 2) { /* from the middle, n turns exactly: the copy's runs */
        for (int a = 0; a < 3; a++) args[a].i32 = 8192 + (int32_t)(rnd(&s) % 8192);
        n = 16 + rnd(&s) % 1000;
        uint32_t span = n * (uint32_t)step, start = step > 0 ? 0 : 100 - span;
        args[3].i32 = (int32_t)(form == 0 ? 0u - span : start);
        args[4].i32 = (int32_t)(start + span); /* i != n, lt, gt */
        if (form >= 6) args[4].i32 += step > 0 ? -1 : 1; /* le, ge */
      }
      mote_rt_status st[2];
      mote_rt_error err[2];
      unsigned long long before = *r[0].copies_run;
      for (int t = 0; t < 2; t++) {
        uint64_t f = seed * 1000 + (uint64_t)run;
        for (uint32_t i = 0; i < PAGE; i++) r[t].mem[i] = (uint8_t)rnd(&f);
        mote_val res[1];
        st[t] = mote_rt_call(r[t].inst, (uint32_t)mote_rt_module_find_export(r[t].m, "run", 3),
                             args, res, &err[t]);
        memcpy(mem[t], r[t].mem, PAGE);
      }
      ran += *r[0].copies_run > before;
      char what[160];
      snprintf(what, sizeof what, "seed %llu, run %d (%d %d %d %d %d)", (unsigned long long)seed,
               run, args[0].i32, args[1].i32, args[2].i32, args[3].i32, args[4].i32);
      CHECK_MSG(st[0] == st[1], what);
      if (st[0] == MOTE_RT_TRAP && st[1] == MOTE_RT_TRAP) CHECK_MSG(err[0].trap == err[1].trap, what);
      CHECK_MSG(memcmp(mem[0], mem[1], PAGE) == 0, what);
    }
    if (ok) { /* how many of them had a copy */
      xl_error why;
      char *c = translated(wasm, len, true, &why);
      copied += c && strstr(c, "for (u64 qk") != NULL;
      free(c);
    }
    for (int t = 0; t < 2; t++) stop(&r[t]);
    free(wasm);
    free(wat);
  }
  CHECK(copied >= 32); /* the generator makes loops that qualify */
  CHECK(ran >= 60);     /* and runs from which their copies run */
  free(mem[0]);
  free(mem[1]);
}

/* The C of the module: which loops have a copy (the opt tier's), and what
 * the copy is without. */
TEST(the_loops_that_qualify_get_a_copy_without_barriers) {
  size_t len;
  uint8_t *wasm = test_wat(module_wat, NULL, &len);
  CHECK(wasm != NULL);
  xl_error why;
  char *c = translated(wasm, len, true, &why);
  CHECK_MSG(c != NULL, why.message);
  for (uint32_t f = 0; c && f <= FILL; f++) {
    if (f == GROW) continue;
    char head[32];
    snprintf(head, sizeof head, " w%u(inst *I", f);
    const char *p = strstr(c, head);
    while (p && strchr(p, '\n')[-1] != '{') p = strstr(p + 1, head);
    CHECK(p != NULL);
    if (!p) continue;
    const char *end = strstr(p, "\nXL_FUNC ");
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *text = strndup(p, n);
    const char *copy = strstr(text, "for (u64 qk = 0;");
    CHECK_MSG((copy != NULL) == (f != DIV && f != WALK), names[f]);
    if (copy) {
      const char *after = strstr(copy, "\n}\n");
      CHECK(after != NULL);
      char *body = strndup(copy, after ? (size_t)(after - copy) : 0);
      CHECK_MSG(!strstr(body, "XL_LDK") && !strstr(body, "XL_READS") && !strstr(body, "goto"),
                names[f]);
      CHECK_MSG(strstr(body, "qa") != NULL, names[f]);
      free(body);
    }
    CHECK_MSG((strstr(text, "XL_READS") != NULL) == (f == AXPY), names[f]); /* in the loop */
    free(text);
  }
  free(c);
  /* tcc's C (the quick tier, lazy batches) has neither checks nor copies */
  c = translated(wasm, len, false, &why);
  CHECK_MSG(c != NULL, why.message);
  CHECK(c && !strstr(c, "u64 qn") && !strstr(c, "for (u64 qk"));
  free(c);
  free(wasm);
}

/* Copies are outside a function's C budget (so a function that fitted
 * without them still fits) and take at most half of it: 400 loops of one
 * shape in one function translate, the last ones without a copy (all 400
 * get one without the cap). */
TEST(a_function_of_many_loops_fits_its_budget_with_some_copies) {
  char *wat = NULL;
  size_t wlen = 0, len;
  FILE *o = open_memstream(&wat, &wlen);
  CHECK(o != NULL);
  if (!o) return;
  fputs("(module (memory 1) (func (export \"f\") (param $d i32) (param $n i32) (local $i i32)", o);
  for (int k = 0; k < 400; k++)
    fprintf(o, " (local.set $i (i32.const 0)) (loop (i32.store8 offset=%d (i32.add (local.get $d)"
               " (local.get $i)) (i32.load8_u (i32.add (local.get $n) (local.get $i))))"
               " (br_if 0 (i32.ne (local.tee $i (i32.add (local.get $i) (i32.const 1)))"
               " (local.get $n))))", k);
  fputs("))", o);
  fclose(o);
  uint8_t *wasm = test_wat(wat, NULL, &len);
  free(wat);
  CHECK(wasm != NULL);
  xl_error why;
  char *c = translated(wasm, len, true, &why);
  CHECK_MSG(c != NULL, why.message);
  unsigned copies = 0;
  for (const char *p = c; p && (p = strstr(p, "for (u64 qk = 0;")); p++) copies++;
  CHECK(copies >= 350 && copies < 400); /* 389: half the budget, not a quarter */
  free(c);
  free(wasm);
}

RUN_TESTS(a_copied_loop_does_what_the_loop_does_on_every_edge,
          a_function_of_many_loops_fits_its_budget_with_some_copies,
          generated_loops_leave_the_same_memory_on_both_tiers,
          the_loops_that_qualify_get_a_copy_without_barriers)
