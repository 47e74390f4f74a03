/* Lazy objects (src/compile/lazy.c): functions compiled in process on their
 * first call; stubs called from several threads; deadlines during a compile;
 * funcrefs before and after; invalid bodies refused up front. */
#include <elf.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/tmpdir.h"
#include "compile/cache.h"
#include "compile/compile.h"
#include "compile/compile_internal.h"
#include "compile/lazy.h"
#include "compile/lazy_internal.h"
#include "compile/xl.h"
#include "module/module.h"
#include "rt/rt.h"
#include "test.h"

/* A batch declares these instead of including the C library's headers:
 * after the real headers, gcc checks each declaration against them. */
#include "compile/xl_lazy_libc.h"

/* Under ASan: malloc fills whole blocks (not the first 4 KiB only), so
 * that C text read from memory never written runs off its block every
 * time (the translator's operand rows, below). */
#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "max_malloc_fill_size=67108864"; }
#endif

/* Compiles a module (text) lazily on the quick tier and loads it. */
static mote_rt_module *load_lazy(const char *wat) {
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  CHECK(wasm != NULL);
  if (!wasm) return NULL;
  CHECK(mote_lazy_wanted(wasm, len));
  mote_rt_module *m = test_load_wasm(wasm, len);
  free(wasm);
  return m;
}

/* load_lazy(wat) instantiated: the instance, *m its module; NULL after a
 * failed check. */
static mote_rt_instance *lazy_instance(const char *wat, mote_rt_module **m) {
  *m = load_lazy(wat);
  return *m ? test_instance(*m, NULL) : NULL;
}

static int32_t export_of(mote_rt_module *m, const char *name) {
  int32_t i = mote_rt_module_find_export(m, name, strlen(name));
  CHECK(i >= 0);
  return i;
}

static uint64_t batches(void) {
  uint64_t b, f;
  mote_lazy_stats(&b, &f);
  return b;
}

/* Every code block of every attached lazy object (batches compiled in
 * process, workers' and hot batches' objects linked in process): no page of
 * it is writable and executable at once, and some page of it executes. The
 * number of blocks seen. */
static unsigned check_code_blocks_wx(void) {
  unsigned blocks = 0;
  pthread_mutex_lock(&lz_reg_lock);
  for (lazy_state *st = lz_states; st; st = st->next)
    for (code_block *cb = st->code; cb; cb = cb->next) {
      uintptr_t lo = (uintptr_t)cb->mem, hi = lo + cb->len;
      FILE *f = fopen("/proc/self/maps", "r");
      CHECK(f != NULL);
      if (!f) continue;
      char line[512];
      bool executes = false, wx = false;
      while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &a, &b, perms) != 3 || b <= lo || a >= hi) continue;
        executes |= perms[2] == 'x';
        wx |= perms[1] == 'w' && perms[2] == 'x';
      }
      fclose(f);
      CHECK(executes);
      CHECK(!wx);
      blocks++;
    }
  pthread_mutex_unlock(&lz_reg_lock);
  return blocks;
}

TEST(a_lazy_module_computes_what_an_eager_one_does) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (func $fib (export \"fib\") (param i32) (result i32)"
      "  (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))"
      "   (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))"
      "                  (call $fib (i32.sub (local.get 0) (i32.const 2)))))))"
      " (func (export \"lazy_1\")))", &m);
  if (!in) return;
  mote_rt_error err;
  uint64_t before = batches();
  mote_val a = {.i32 = 20}, r = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "fib"), &a, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 6765);
  CHECK_EQ_INT(batches(), before + 1); /* compiled once, recursion through its slot */
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "fib"), &a, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(batches(), before + 1);
  CHECK(check_code_blocks_wx() >= 1); /* the batch compiled in process */
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* A batch of C with data of its own, linked in process by lz_tcc_build as
 * every batch is (against the last attached object): its code runs, its
 * initialised and zeroed statics take writes (the data is on pages of its
 * own, read-write), and no page of any code block is writable and
 * executable. */
TEST(a_batch_writes_its_own_data_and_runs_from_read_only_code) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance("(module (func (export \"lazy_2\")))", &m);
  if (!in) return;
  static const char body[] = "static int counter = 5;\nstatic int zeroed;\n"
                             "int b0(void) { zeroed += 2; return counter++ + zeroed; }\n";
  pthread_mutex_lock(&lz_reg_lock);
  lazy_state *st = lz_states;
  pthread_mutex_unlock(&lz_reg_lock);
  CHECK(st != NULL);
  if (st) {
    char msg[MSG_CAP] = "";
    uint8_t funcs[8] = {0}, data[8] = {0};
    xl_refs refs = {.funcs = funcs, .data = data};
    uint32_t member = 0;
    void *addr = NULL;
    CHECK(lz_tcc_build(msg, st, "", body, sizeof body - 1, NULL, false, &refs, &member, 1,
                       &addr) != NULL);
    CHECK(msg[0] == 0);
    CHECK(addr != NULL);
    if (addr) {
      int (*b0)(void);
      memcpy(&b0, &addr, sizeof b0);
      CHECK_EQ_INT(b0(), 5 + 2);
      CHECK_EQ_INT(b0(), 6 + 4);
    }
    CHECK(check_code_blocks_wx() >= 1);
  }
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* A batch includes no C library header (xl_lazy_libc.h declares what the
 * prelude uses): the instructions that call into it compile and compute. */
TEST(a_batch_without_libc_headers_rounds_and_copies) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (memory 1)"
      " (func (export \"f\") (param f64) (result f64)"
      "  (f64.add (f64.add (f64.ceil (local.get 0)) (f64.floor (local.get 0)))"
      "   (f64.add (f64.add (f64.trunc (local.get 0)) (f64.nearest (local.get 0)))"
      "    (f64.sqrt (f64.abs (local.get 0))))))"
      " (func (export \"g\") (param f32) (result f32)"
      "  (f32.add (f32.add (f32.ceil (local.get 0)) (f32.floor (local.get 0)))"
      "   (f32.add (f32.add (f32.trunc (local.get 0)) (f32.nearest (local.get 0)))"
      "    (f32.sqrt (f32.abs (local.get 0))))))"
      " (func (export \"mem\") (result i32)"
      "  (memory.fill (i32.const 0) (i32.const 7) (i32.const 8))"
      "  (memory.copy (i32.const 4) (i32.const 0) (i32.const 8))"
      "  (i32.add (i32.load8_u (i32.const 11)) (i32.load8_u (i32.const 12)))))", &m);
  if (!in) return;
  mote_rt_error err;
  mote_val a = {.f64 = -2.25}, r = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f"), &a, &r, &err) == MOTE_RT_OK);
  CHECK(r.f64 == -2.0 + -3.0 + -2.0 + -2.0 + 1.5);
  a.f32 = 6.25f;
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "g"), &a, &r, &err) == MOTE_RT_OK);
  CHECK(r.f32 == 7.0f + 6.0f + 6.0f + 6.0f + 2.5f);
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "mem"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 7); /* byte 11 copied from 7, byte 12 never written */
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* tcc only warns about a call of an undeclared function and binds it to
 * whatever the process has of that name: gcc, stricter, checks that the
 * header a batch starts with (either of the two) declares all it calls. */
static bool gcc_accepts(const char *text, bool quiet) {
  char path[64];
  snprintf(path, sizeof path, "/tmp/mote-test-header-XXXXXX.c");
  int fd = mkstemps(path, 2);
  if (fd < 0) return false;
  FILE *f = fdopen(fd, "w");
  bool written = f && fputs(text, f) >= 0;
  if (f) fclose(f);
  char cmd[256];
  snprintf(cmd, sizeof cmd,
           "gcc -std=gnu11 -fsyntax-only -Werror=implicit-function-declaration "
           "-Werror=implicit-int %s%s",
           path, quiet ? " 2>/dev/null" : "");
  bool ok = written && system(cmd) == 0;
  unlink(path);
  return ok;
}

TEST(a_batch_header_declares_everything_it_calls) {
  size_t len;
  uint8_t *wasm = test_wat("(module (memory 1) (func (export \"f\")))", NULL, &len);
  CHECK(wasm != NULL);
  if (!wasm) return;
  mote_module *mod = NULL;
  mote_module_error merr;
  CHECK(mote_module_read(wasm, len, &mod, &merr) == MOTE_MODULE_OK);
  xl_module x;
  if (mod && xl_module_scan(&x, mod, wasm, len)) {
    x.lazy_bodies = true;
    char *header = lz_header_text(&x, true);
    CHECK(header != NULL);
    char *scalar = header ? lz_scalar_header(header) : NULL;
    CHECK(scalar != NULL);
    if (header) CHECK(gcc_accepts(header, false));
    if (scalar) CHECK(gcc_accepts(scalar, false));
    char *hot = scalar ? lz_hot_header(scalar) : NULL; /* the hot tier's, gcc's own */
    CHECK(hot != NULL && !strstr(hot, "visibility(\"hidden\")"));
    if (hot) CHECK(gcc_accepts(hot, false));
    free(hot);
    /* and the check can fail: a call of something undeclared */
    if (scalar) {
      size_t n = strlen(scalar);
      char *bad = malloc(n + 64);
      if (bad) {
        snprintf(bad, n + 64, "%sdouble xl_t(double v) { return fabs(v); }\n", scalar);
        CHECK(!gcc_accepts(bad, true));
        free(bad);
      }
    }
    free(header);
    free(scalar);
    xl_module_release(&x);
  }
  mote_module_free(mod);
  free(wasm);
}

/* A batch that names nothing of SIMD is compiled without the prelude's
 * SIMD helpers; one that does, with them: both compute. */
TEST(scalar_and_simd_batches_compute) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (global $g (mut v128) (v128.const i32x4 1 2 3 4))"
      " (func (export \"scalar\") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3)))"
      " (func (export \"simd\") (param i32) (result i32)"
      "  (i32x4.extract_lane 2 (i32x4.add (global.get $g) (i32x4.splat (local.get 0))))))", &m);
  if (!in) return;
  mote_rt_error err;
  /* simd first: scalar's batch would be filled with it */
  mote_val a = {.i32 = 5}, r = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "simd"), &a, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 8);
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "scalar"), &a, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 15);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* Checks that a module (text, not validated by wat2wasm) is refused as
 * invalid when compiled, naming `function` in the message if given. */
static void refused_as_invalid(const char *wat, const char *function) {
  size_t len;
  uint8_t *wasm = test_wat(wat, "--no-check", &len);
  CHECK(wasm != NULL);
  if (!wasm) return;
  mote_compile_options o = {.cache_dir = test_cache_dir(), .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_error cerr;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &cerr), MOTE_COMPILE_INVALID);
  if (function) CHECK_MSG(strstr(cerr.message, function) != NULL, cerr.message);
  /* a lazy build writes the bytes beside its object while it validates:
   * not kept for a module refused */
  char key[65], path[4200];
  mote_cache_key(wasm, len, MOTE_TIER_QUICK, key);
  snprintf(path, sizeof path, "%s/%s.wasm", o.cache_dir, key);
  CHECK_MSG(access(path, F_OK) != 0, path);
  free(wasm);
}

TEST(a_module_with_an_invalid_body_is_refused_when_compiled) {
  setenv("MOTE_QUICK_LAZY", "always", 1);
  refused_as_invalid("(module (func (export \"bad\") (result i32) (i64.const 1)))", NULL);
  /* validation runs in ranges, a thread a core: an invalid last function
   * (the last range's) is found too, and named as one thread would */
  refused_as_invalid("(module (func (result i32) (i32.const 1)) (func (result i32) (i32.const 2))"
                     " (func (result i32) (i32.const 3)) (func (export \"bad\") (result i32)"
                     " (i64.const 1)))",
                     "function 3");
  /* two invalid, in different ranges: the first is named */
  refused_as_invalid("(module (func (result i32) (i32.const 1)) (func (result i32) (i64.const 2))"
                     " (func (result i32) (i32.const 3)) (func (export \"bad\") (result i32)"
                     " (i64.const 1)))",
                     "function 1");
}

/* A lazy object checks its functions when built without translating them
 * (xl_check.c), but what would pass a C budget is still refused then, as
 * an eager build refuses it: a function whose estimate comes near its
 * budget is translated to nowhere (2000 br_if to a block of 200 results,
 * entered with a value below them: each copies all 200), and the module's
 * functions count against its budget (10,000 functions declaring 400 locals
 * each, each within its own budget, 160 MB of C in all). */
static void refused_as_over_budget(const uint8_t *wasm, size_t len, const char *what) {
  mote_compile_options o = {.cache_dir = test_cache_dir(), .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_error cerr;
  CHECK(mote_lazy_wanted(wasm, len));
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &cerr), MOTE_COMPILE_LIMIT);
  CHECK_STR_CONTAINS(cerr.message, what);
}

/* A module of 10,000 functions of type [] -> [], each declaring one group
 * of `locals` i32 locals (128 to 16383: two bytes of LEB) and nothing
 * else; *len its size. NULL (checked) without memory. */
static uint8_t *functions_of_locals(uint32_t locals, size_t *len) {
  enum { FUNCS = 10000 };
  uint8_t *m = malloc(64 + 8 * FUNCS);
  CHECK(m != NULL);
  if (!m) return NULL;
  static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0};
  memcpy(m, head, sizeof head);
  size_t k = sizeof head;
  /* functions: 10,000 of type 0 (a section of 2 + 10,000 bytes) */
  m[k++] = 3;
  m[k++] = 0x92, m[k++] = 0x4e; /* 10002 */
  m[k++] = 0x90, m[k++] = 0x4e; /* 10000 */
  memset(m + k, 0, FUNCS);
  k += FUNCS;
  /* code: 10,000 bodies of 5 bytes and their sizes */
  m[k++] = 10;
  m[k++] = 0xe2, m[k++] = 0xd4, m[k++] = 0x03; /* 2 + 60,000 = 60002 */
  m[k++] = 0x90, m[k++] = 0x4e;
  for (int i = 0; i < FUNCS; i++) {
    const uint8_t body[] = {5, 1, (uint8_t)(0x80 | (locals & 0x7f)), (uint8_t)(locals >> 7), 0x7f,
                            0x0b};
    memcpy(m + k, body, sizeof body);
    k += sizeof body;
  }
  *len = k;
  return m;
}

TEST(a_lazy_module_past_a_c_budget_is_refused_when_compiled) {
  size_t cap = 64 << 10, n = 0;
  char *wat = malloc(cap);
  CHECK(wat != NULL);
  if (!wat) return;
  n += (size_t)snprintf(wat + n, cap - n, "(module (type $t (func (result");
  for (int i = 0; i < 200; i++) n += (size_t)snprintf(wat + n, cap - n, " i64");
  n += (size_t)snprintf(wat + n, cap - n, ")))\n(func (export \"bomb\")\nblock (type $t)\ni32.const 7\n");
  for (int i = 0; i < 200; i++) n += (size_t)snprintf(wat + n, cap - n, "i64.const %d\n", i);
  for (int i = 0; i < 2000; i++) n += (size_t)snprintf(wat + n, cap - n, "i32.const 0 br_if 0\n");
  n += (size_t)snprintf(wat + n, cap - n, "br 0\nend\n");
  for (int i = 0; i < 200; i++) n += (size_t)snprintf(wat + n, cap - n, "drop\n");
  snprintf(wat + n, cap - n, ") (func (export \"lazy_10\")))");
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  free(wat);
  CHECK(wasm != NULL);
  if (wasm) refused_as_over_budget(wasm, len, "its C would take more than");
  free(wasm);

  /* 400 locals: each function's estimate passes half its budget, and its
   * translation counts; 200: each is only estimated (40 bytes a local, as
   * the translator counts them), and the estimates count */
  setenv("MOTE_QUICK_LAZY", "always", 1);
  static const uint32_t locals[] = {400, 200};
  for (size_t i = 0; i < sizeof locals / sizeof locals[0]; i++) {
    size_t k = 0;
    uint8_t *m = functions_of_locals(locals[i], &k);
    if (m) refused_as_over_budget(m, k, "the module's C would take more than");
    free(m);
  }
}

/* ifs nested deeper than MOTE_LAZY_MAX_IF_NESTING: tcc would descend them
 * in process (100000 overflowed the compiler thread's stack and killed the
 * process); the module is built eager instead, even when forced lazy, and
 * still computes. */
TEST(a_module_with_ifs_nested_too_deep_is_built_eager) {
  setenv("MOTE_QUICK_LAZY", "always", 1);
  uint32_t depth = MOTE_LAZY_MAX_IF_NESTING + 10;
  size_t cap = 200 + (size_t)depth * 128; /* a level's text is under 100 bytes */
  char *wat = malloc(cap);
  CHECK(wat != NULL);
  if (!wat) return;
  /* with (local.get 0) = 1 every level takes its then and adds 1 */
  size_t n = (size_t)snprintf(wat, cap, "(module (func (export \"deep\") (param i32) (result i32)\n");
  for (uint32_t i = 0; i < depth; i++)
    n += (size_t)snprintf(wat + n, cap - n, "(i32.add (i32.const 1) (if (result i32) (local.get 0) (then\n");
  n += (size_t)snprintf(wat + n, cap - n, "(i32.const 0)");
  for (uint32_t i = 0; i < depth; i++)
    n += (size_t)snprintf(wat + n, cap - n, ") (else (i32.const -1))))\n");
  snprintf(wat + n, cap - n, "))");
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(wat, &m);
  /* an eager object: no module bytes beside it */
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  free(wat);
  if (wasm) {
    char key[65], path[4200];
    mote_cache_key(wasm, len, MOTE_TIER_QUICK, key);
    snprintf(path, sizeof path, "%s/%s.so", test_cache_dir(), key);
    CHECK_MSG(access(path, F_OK) == 0, path); /* the key is the object's */
    snprintf(path, sizeof path, "%s/%s.wasm", test_cache_dir(), key);
    CHECK_MSG(access(path, F_OK) != 0, path);
    free(wasm);
  }
  if (!in) return;
  mote_rt_error err;
  uint64_t before = batches();
  mote_val a = {.i32 = 1}, r = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "deep"), &a, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, (int32_t)depth);
  CHECK_EQ_INT(batches(), before); /* nothing compiled in process */
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* A br_table's switch groups its entries by target (linear in their
 * number: it was quadratic, 25 s of the compiler thread for a table of
 * 256000 entries): every entry and the default still go where they
 * point. */
TEST(a_big_br_table_branches_where_each_entry_points) {
  enum { ENTRIES = 3000, TARGETS = 5 };
  size_t cap = 1000 + (size_t)ENTRIES * 4;
  char *wat = malloc(cap);
  CHECK(wat != NULL);
  if (!wat) return;
  size_t n = (size_t)snprintf(wat, cap, "(module (func (export \"t\") (param i32) (result i32)\n"
                              "(block (block (block (block (block (br_table");
  for (uint32_t k = 0; k < ENTRIES; k++)
    n += (size_t)snprintf(wat + n, cap - n, " %u", k * 7 % TARGETS);
  /* the default: the outermost block's */
  snprintf(wat + n, cap - n, " 4 (local.get 0))) (return (i32.const 10))) (return (i32.const 11)))"
           " (return (i32.const 12))) (return (i32.const 13))) (i32.const 14)))");
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(wat, &m);
  free(wat);
  if (!in) return;
  mote_rt_error err;
  uint32_t t = (uint32_t)export_of(m, "t");
  bool all = true;
  for (uint32_t k = 0; k <= (uint32_t)ENTRIES + 1 && all; k++) {
    mote_val a = {.i32 = k}, r = {0};
    all = mote_rt_call(in, t, &a, &r, &err) == MOTE_RT_OK &&
          r.i32 == (uint32_t)(10 + (k < (uint32_t)ENTRIES ? k * 7 % TARGETS : 4));
    if (!all) fprintf(stderr, "entry %u: %u\n", k, r.i32);
  }
  CHECK(all);
  mote_val a = {.i32 = UINT32_MAX}, r = {0};
  CHECK(mote_rt_call(in, t, &a, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 14);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* Unreachable code pops values that are not there: br_table's condition
 * was read from an operand row never written (strlen ran off the rows'
 * block: found by fuzz_tcc; under ASan here every time). */
TEST(a_br_table_in_unreachable_code_reads_no_row_never_written) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (func (export \"f\") (result i32)"
      "  i32.const 7 block unreachable br_table 0 0 end))", &m);
  if (!in) return;
  mote_rt_error err;
  mote_val r = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f"), NULL, &r, &err) == MOTE_RT_TRAP);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* ---- several threads call one stub --------------------------------------- */

typedef struct caller {
  mote_rt_module *m;
  uint32_t result;
  mote_rt_status st;
} caller;

static void *call_g(void *p) {
  caller *c = p;
  mote_rt_instance *in = NULL;
  mote_rt_error err;
  c->st = mote_rt_instantiate(c->m, NULL, NULL, &in, &err);
  if (c->st != MOTE_RT_OK) return NULL;
  mote_val r = {0};
  c->st = mote_rt_call(in, (uint32_t)mote_rt_module_find_export(c->m, "g", 1), NULL, &r, &err);
  c->result = r.i32;
  mote_rt_instance_free(in);
  return NULL;
}

#define CALLERS 4

/* Holds the first compile until every caller waits for it. */
static bool wait_for_all_callers(void *ctx) {
  (void)ctx;
  while (mote_lazy_waiting() < CALLERS) sched_yield();
  return true;
}

TEST(a_stub_called_from_several_threads_compiles_once) {
  mote_rt_module *m = load_lazy(
      "(module (func $h (result i32) (i32.const 40))"
      " (func (export \"g\") (result i32) (i32.add (call $h) (i32.const 2)))"
      " (func (export \"lazy_2\")))");
  if (!m) return;
  uint64_t before = batches();
  mote_lazy_test_hook(wait_for_all_callers, NULL);
  caller c[CALLERS];
  pthread_t t[CALLERS];
  for (int i = 0; i < CALLERS; i++) {
    c[i] = (caller){.m = m};
    CHECK(pthread_create(&t[i], NULL, call_g, &c[i]) == 0);
  }
  for (int i = 0; i < CALLERS; i++) pthread_join(t[i], NULL);
  mote_lazy_test_hook(NULL, NULL);
  for (int i = 0; i < CALLERS; i++) {
    CHECK_EQ_INT(c[i].st, MOTE_RT_OK);
    CHECK_EQ_INT(c[i].result, 42);
  }
  /* one batch: g with h, its direct callee; the other callers found g ready */
  CHECK_EQ_INT(batches(), before + 1);
  mote_rt_module_free(m);
}

/* ---- a deadline during a compile ------------------------------------------ */

static volatile int hook_done;
static uint64_t deadline_ns;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The compile goes on only once the caller's deadline has passed. */
static bool hold_past_deadline(void *ctx) {
  (void)ctx;
  while (now_ns() < __atomic_load_n(&deadline_ns, __ATOMIC_ACQUIRE) + 50000000ull) sched_yield();
  __atomic_store_n(&hook_done, 1, __ATOMIC_RELEASE);
  return true;
}

TEST(a_deadline_during_a_lazy_compile_stops_the_call_after_the_compile) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (func (export \"spin\") (loop $l (br $l)))"
      " (func (export \"lazy_3\")))", &m);
  if (!in) return;
  mote_rt_error err;
  uint64_t before = batches();
  hook_done = 0;
  mote_lazy_test_hook(hold_past_deadline, NULL);
  __atomic_store_n(&deadline_ns, now_ns() + 1000000ull, __ATOMIC_RELEASE);
  CHECK(mote_rt_deadline_set(1000000ull, &err) == MOTE_RT_OK);
  mote_rt_status st = mote_rt_call(in, (uint32_t)export_of(m, "spin"), NULL, NULL, &err);
  /* stopped, but only once the compile was over (the hook had returned and
   * the batch is in) */
  CHECK(__atomic_load_n(&hook_done, __ATOMIC_ACQUIRE) == 1);
  mote_rt_deadline_clear();
  mote_lazy_test_hook(NULL, NULL);
  CHECK_EQ_INT(st, MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_TIMEOUT);
  CHECK_EQ_INT(batches(), before + 1);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* ---- funcrefs ------------------------------------------------------------- */

/* Whether a loaded object under the test's cache needs its text relocated
 * (DT_TEXTREL, or DF_TEXTREL in DT_FLAGS); *seen counts such objects. */
struct textrel_scan {
  int seen, textrel;
};
static int scan_textrel(struct dl_phdr_info *info, size_t size, void *p) {
  (void)size;
  struct textrel_scan *t = p;
  const char *dir = test_cache_dir();
  if (!info->dlpi_name || !dir[0] || strncmp(info->dlpi_name, dir, strlen(dir))) return 0;
  t->seen++;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC) continue;
    const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    for (; d->d_tag != DT_NULL; d++)
      if (d->d_tag == DT_TEXTREL || (d->d_tag == DT_FLAGS && (d->d_un.d_val & DF_TEXTREL)))
        t->textrel++;
  }
  return 0;
}

/* The stubs are local symbols. The first version's were .globl and
 * .hidden, and tcc made every call of a stub from the core's C (an export's
 * trampoline) a relocation of the object's text at each load (a review
 * found it; this fails with that version's stubs). */
TEST(a_lazy_objects_text_is_not_relocated_at_load) {
  mote_rt_module *m = load_lazy("(module (func (export \"a\") (result i32) (i32.const 1))"
                                " (func (export \"b\") (result i32) (i32.const 2))"
                                " (func (export \"c\") (param i32) (result i32) (local.get 0)))");
  if (!m) return;
  struct textrel_scan t = {0, 0};
  dl_iterate_phdr(scan_textrel, &t);
  CHECK(t.seen >= 1);
  CHECK_EQ_INT(t.textrel, 0);
  mote_rt_module_free(m);
}

/* Stands in for what mote_lazy_ready may do to the registers a caller does
 * not expect kept: all of them garbage (its usual path leaves the xmm
 * registers as they were, so without this a stub that lost them passed). */
static int ready_answers;
static void clobber_argument_registers(void) {
  ready_answers++;
  __asm__ volatile("pcmpeqd %%xmm0, %%xmm0\n\tpcmpeqd %%xmm1, %%xmm1\n\tpcmpeqd %%xmm2, %%xmm2\n\t"
                   "pcmpeqd %%xmm3, %%xmm3\n\tpcmpeqd %%xmm4, %%xmm4\n\tpcmpeqd %%xmm5, %%xmm5\n\t"
                   "pcmpeqd %%xmm6, %%xmm6\n\tpcmpeqd %%xmm7, %%xmm7\n\t"
                   "movq $-1, %%rdi\n\tmovq $-1, %%rsi\n\tmovq $-1, %%rdx\n\tmovq $-1, %%rcx\n\t"
                   "movq $-1, %%r8\n\tmovq $-1, %%r9\n\tmovq $-1, %%r10\n\tmovq $-1, %%r11"
                   ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "rdi", "rsi",
                   "rdx", "rcx", "r8", "r9", "r10", "r11");
}

/* A stub is assembly: a jump through its slot, or, while the slot is empty,
 * a call of mote_lazy_ready that must keep every argument register and the
 * arguments on the stack for the function it then jumps to. $g and $h are
 * reached only through the table, so their first calls take that way (a
 * batch each), the second the jump, with mote_lazy_ready made to clobber
 * every register it may. $g: the result pointer (three results, returned
 * through memory) and the instance in rdi and rsi, 4 i64 in registers and 4
 * on the stack, 8 f64 in xmm0-7 and 2 on the stack, a v128 on the stack.
 * $h: a v128 in two integer registers (the union is of integers), an f32 in
 * xmm0, a v128 result in rax and rdx. */
TEST(a_stub_passes_every_argument_through_whichever_way_it_takes) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (type $gt (func (param i64 i64 i64 i64 i64 i64 i64 i64 f64 f64 f64 f64 f64 f64 f64 f64 f64 f64 v128) (result i64 f64 i32)))"
      " (type $ht (func (param v128 f32 i32) (result v128)))"
      " (table 2 funcref) (elem (i32.const 0) $g $h)"
      " (func $g (type $gt) (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.add (i64.mul (local.get 0) (i64.const 1)) (i64.mul (local.get 1) (i64.const 2))) (i64.mul (local.get 2) (i64.const 3))) (i64.mul (local.get 3) (i64.const 4))) (i64.mul (local.get 4) (i64.const 5))) (i64.mul (local.get 5) (i64.const 6))) (i64.mul (local.get 6) (i64.const 7))) (i64.mul (local.get 7) (i64.const 8)))"
      "  (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.add (f64.mul (local.get 8) (f64.const 1)) (f64.mul (local.get 9) (f64.const 2))) (f64.mul (local.get 10) (f64.const 3))) (f64.mul (local.get 11) (f64.const 4))) (f64.mul (local.get 12) (f64.const 5))) (f64.mul (local.get 13) (f64.const 6))) (f64.mul (local.get 14) (f64.const 7))) (f64.mul (local.get 15) (f64.const 8))) (f64.mul (local.get 16) (f64.const 9))) (f64.mul (local.get 17) (f64.const 10)))"
      "  (i32.add (i32x4.extract_lane 0 (local.get 18)) (i32.mul (i32x4.extract_lane 3 (local.get 18)) (i32.const 3))))"
      " (func $h (type $ht) (i32x4.add (local.get 0)"
      "  (i32x4.splat (i32.add (i32.trunc_f32_s (local.get 1)) (local.get 2)))))"
      " (func (export \"run\") (param $x i64) (result i64) (local $a i64) (local $b f64) (local $c i32)"
      "  (call_indirect (type $gt) (i64.add (local.get $x) (i64.const 0)) (i64.add (local.get $x) (i64.const 1)) (i64.add (local.get $x) (i64.const 2)) (i64.add (local.get $x) (i64.const 3)) (i64.add (local.get $x) (i64.const 4)) (i64.add (local.get $x) (i64.const 5)) (i64.add (local.get $x) (i64.const 6)) (i64.add (local.get $x) (i64.const 7))"
      "   (f64.const 0.5) (f64.const 1.5) (f64.const 2.5) (f64.const 3.5) (f64.const 4.5) (f64.const 5.5) (f64.const 6.5) (f64.const 7.5) (f64.const 8.5) (f64.const 9.5) (v128.const i32x4 1 2 3 4) (i32.const 0))"
      "  (local.set $c) (local.set $b) (local.set $a)"
      "  (i64.add (i64.add (local.get $a) (i64.trunc_f64_s (local.get $b))) (i64.extend_i32_u (local.get $c))))"
      " (func (export \"run2\") (result i32) (local $v v128)"
      "  (local.set $v (call_indirect (type $ht) (v128.const i32x4 10 20 30 40) (f32.const 1.5) (i32.const 5) (i32.const 1)))"
      "  (i32.add (i32x4.extract_lane 0 (local.get $v)) (i32.mul (i32x4.extract_lane 3 (local.get $v)) (i32.const 1000)))))",
      &m);
  if (!in) return;
  mote_lazy_test_ready_hook(clobber_argument_registers);
  mote_rt_error err;
  ready_answers = 0;
  for (int round = 0; round < 2; round++) { /* the slow way, then the jump */
    mote_val a = {.i64 = 1000}, r = {0};
    /* 36168 (the i64s: (1000 + i) * (i + 1)), 357 (the f64s: (j + 0.5) * (j + 1), 357.5),
     * 13 (lanes 0 and 3 of the v128: 1 + 3 * 4) */
    CHECK(mote_rt_call(in, (uint32_t)export_of(m, "run"), &a, &r, &err) == MOTE_RT_OK);
    CHECK_EQ_INT(r.i64, 36168 + 357 + 13);
    r.i32 = 0;
    /* lanes + (1 + 5): 16 + 1000 * 46 */
    CHECK(mote_rt_call(in, (uint32_t)export_of(m, "run2"), NULL, &r, &err) == MOTE_RT_OK);
    CHECK_EQ_INT(r.i32, 46016);
    /* run, $g, run2 and $h the slow way (each compiled, or installed from a
     * batch that filled it), then none */
    CHECK_EQ_INT(ready_answers, 4);
  }
  mote_lazy_test_ready_hook(NULL);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

TEST(funcrefs_are_the_same_before_and_after_their_function_is_compiled) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (table (export \"t\") 1 funcref) (elem (i32.const 0) $f)"
      " (func $f (export \"f\") (result i32) (i32.const 7))"
      " (func (export \"rf\") (result funcref) (ref.func $f))"
      " (func (export \"ci\") (result i32) (call_indirect (result i32) (i32.const 0)))"
      " (func (export \"lazy_4\")))", &m);
  if (!in) return;
  mote_rt_error err;
  mote_rt_extern t = mote_rt_instance_export(in, (uint32_t)export_of(m, "t"));
  mote_rt_extern f = mote_rt_instance_export(in, (uint32_t)export_of(m, "f"));
  wasm_rt_function_ptr_t entry0 = t.binding.funcref_table->data[0].func;
  wasm_rt_function_ptr_t export0 = f.binding.func.fn;
  mote_val r = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "rf"), NULL, &r, &err) == MOTE_RT_OK);
  wasm_rt_function_ptr_t ref0 = r.funcref.func;
  CHECK(entry0 == export0);
  CHECK(ref0 == export0);
  /* f is compiled by now (rf's batch took it, or this call), called through the table */
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "ci"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 7);
  CHECK(t.binding.funcref_table->data[0].func == entry0);
  CHECK(mote_rt_instance_export(in, (uint32_t)export_of(m, "f")).binding.func.fn == export0);
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "rf"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK(r.funcref.func == ref0);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* A lazy object's data segments are its module's bytes, pointed at when it
 * is loaded (the object does not hold them): active and passive segments
 * arrive in memory, and again after the object was unloaded and loaded. */
TEST(a_lazy_objects_data_comes_from_its_module_bytes) {
  static const char text[] = "mote's data, from the module";
  char wat[600];
  snprintf(wat, sizeof wat,
           "(module (memory 1) (data (i32.const 16) \"%s\") (data $p \"passive!\")"
           " (func (export \"at\") (param i32) (result i32) (i32.load8_u (local.get 0)))"
           " (func (export \"init\") (memory.init $p (i32.const 100) (i32.const 0) (i32.const 8)))"
           " (func (export \"lazy_9\")))",
           text);
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  CHECK(wasm != NULL);
  if (!wasm) return;
  mote_compile_options o = {.cache_dir = test_cache_dir(), .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_error cerr;
  CHECK(mote_lazy_wanted(wasm, len));
  CHECK(mote_compile(wasm, len, &o, &r, &cerr) == MOTE_COMPILE_OK);
  size_t so_len = 0;
  uint8_t *so = mote_read_file(r.so_path, &so_len);
  CHECK(so != NULL);
  CHECK(so && !memmem(so, so_len, text, strlen(text)));
  free(so);
  for (int round = 0; round < 2; round++) {
    mote_rt_module *m = NULL;
    mote_rt_error err;
    CHECK(mote_rt_module_load(r.so_path, &m, &err) == MOTE_RT_OK);
    if (!m) break;
    mote_rt_instance *in = test_instance(m, NULL);
    if (in) {
      mote_val a = {.i32 = 16}, v = {0};
      for (size_t i = 0; i < strlen(text); i++) {
        a.i32 = 16 + (int32_t)i;
        CHECK(mote_rt_call(in, (uint32_t)export_of(m, "at"), &a, &v, &err) == MOTE_RT_OK);
        CHECK_EQ_INT(v.i32, (unsigned char)text[i]);
      }
      CHECK(mote_rt_call(in, (uint32_t)export_of(m, "init"), NULL, NULL, &err) == MOTE_RT_OK);
      a.i32 = 107;
      CHECK(mote_rt_call(in, (uint32_t)export_of(m, "at"), &a, &v, &err) == MOTE_RT_OK);
      CHECK_EQ_INT(v.i32, '!');
      mote_rt_instance_free(in);
    }
    mote_rt_module_free(m);
  }
  free(wasm);
}

/* A module made lazy (an export lazy_<n>), from WAT; NULL (checked) if not. */
static uint8_t *lazy_module(int n, size_t *len) {
  char wat[128];
  snprintf(wat, sizeof wat, "(module (func (export \"x\")) (func (export \"lazy_%d\")))", n);
  uint8_t *wasm = test_wat(wat, NULL, len);
  CHECK(wasm != NULL);
  return wasm;
}

static mote_compile_status compile_quick(const uint8_t *wasm, size_t len, mote_compile_error *e) {
  mote_compile_options o = {.cache_dir = test_cache_dir(), .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  return mote_compile(wasm, len, &o, &r, e);
}

/* <cache>/<key><ext> in path (PATH_CAP) for wasm's quick-tier key. */
#define PATH_CAP 4200
static void entry_path(const uint8_t *wasm, size_t len, const char *ext, char *path) {
  char key[65];
  mote_cache_key(wasm, len, MOTE_TIER_QUICK, key);
  snprintf(path, PATH_CAP, "%s/%s%s", test_cache_dir(), key, ext);
}

/* wasm compiled on the quick tier while a directory (not empty) squats on
 * its cache entry's <key><ext>, which is cleared again after: the status,
 * and the message in cerr. */
static mote_compile_status compile_squatted(const uint8_t *wasm, size_t len, const char *ext,
                                            mote_compile_error *cerr) {
  char path[PATH_CAP], squat[PATH_CAP + 16];
  entry_path(wasm, len, ext, path);
  snprintf(squat, sizeof squat, "%s/in-the-way", path);
  CHECK(mkdir(path, 0755) == 0 && mkdir(squat, 0755) == 0);
  mote_compile_status st = compile_quick(wasm, len, cerr);
  CHECK(rmdir(squat) == 0 && rmdir(path) == 0);
  return st;
}

/* The module's bytes cannot be written beside the object (a directory
 * squats on <key>.wasm): the compile fails as the cache's fault, leaves no
 * object, and works once the way is clear. */
TEST(a_lazy_build_whose_bytes_cannot_be_kept_fails_as_io) {
  size_t len;
  uint8_t *wasm = lazy_module(8, &len);
  if (!wasm) return;
  mote_compile_error cerr;
  char so[PATH_CAP], bytes[PATH_CAP];
  entry_path(wasm, len, ".so", so);
  entry_path(wasm, len, ".wasm", bytes);
  CHECK_EQ_INT(compile_squatted(wasm, len, ".wasm", &cerr), MOTE_COMPILE_IO);
  CHECK_STR_CONTAINS(cerr.message, "cannot write to the cache");
  CHECK(access(so, F_OK) != 0);
  CHECK_EQ_INT(compile_quick(wasm, len, &cerr), MOTE_COMPILE_OK);
  CHECK(access(bytes, F_OK) == 0 && access(so, F_OK) == 0);
  free(wasm);
}

/* The object cannot be installed (a directory is where it goes): the
 * compile fails as io, and neither the module's bytes nor a sum stay in the
 * cache without it; once the way is clear, it builds. */
TEST(a_lazy_build_whose_install_fails_leaves_nothing_behind) {
  size_t len;
  uint8_t *wasm = lazy_module(9, &len);
  if (!wasm) return;
  mote_compile_error cerr;
  char so[PATH_CAP], bytes[PATH_CAP], sum[PATH_CAP];
  entry_path(wasm, len, ".so", so);
  entry_path(wasm, len, ".wasm", bytes);
  entry_path(wasm, len, ".sum", sum);
  CHECK_EQ_INT(compile_squatted(wasm, len, ".so", &cerr), MOTE_COMPILE_IO);
  CHECK_STR_CONTAINS(cerr.message, "cannot install into the cache");
  CHECK(access(bytes, F_OK) != 0);
  CHECK(access(sum, F_OK) != 0);
  CHECK_EQ_INT(compile_quick(wasm, len, &cerr), MOTE_COMPILE_OK);
  CHECK(access(bytes, F_OK) == 0 && access(so, F_OK) == 0 && access(sum, F_OK) == 0);
  free(wasm);
}

TEST(a_lazy_object_without_its_module_bytes_is_not_loaded_until_they_are_put_back) {
  size_t len;
  uint8_t *wasm = test_wat("(module (func (export \"x\")) (func (export \"lazy_5\")))", NULL, &len);
  CHECK(wasm != NULL);
  if (!wasm) return;
  mote_compile_options o = {.cache_dir = test_cache_dir(), .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_error cerr;
  CHECK(mote_compile(wasm, len, &o, &r, &cerr) == MOTE_COMPILE_OK);
  char path[4200];
  snprintf(path, sizeof path, "%.*s.wasm", (int)(strlen(r.so_path) - 3), r.so_path);
  CHECK(unlink(path) == 0);
  mote_rt_module *m = NULL;
  mote_rt_error err;
  CHECK(mote_rt_module_load(r.so_path, &m, &err) == MOTE_RT_LOAD_FAILED);
  CHECK_STR_CONTAINS(err.message, "module bytes");
  /* compiling again (a cache hit) puts them back */
  CHECK(mote_compile(wasm, len, &o, &r, &cerr) == MOTE_COMPILE_OK);
  CHECK(r.cached);
  CHECK(mote_rt_module_load(r.so_path, &m, &err) == MOTE_RT_OK);
  mote_rt_module_free(m);
  /* and damaged bytes too, of the module's size (a disk error): until stop
   * 30 a file there was taken as is, and no load of the object ever worked
   * again; now the load that finds them removes them */
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (f) {
    for (size_t i = 0; i < len; i++) fputc('x', f);
    fclose(f);
  }
  CHECK(mote_rt_module_load(r.so_path, &m, &err) == MOTE_RT_LOAD_FAILED);
  CHECK(mote_compile(wasm, len, &o, &r, &cerr) == MOTE_COMPILE_OK);
  CHECK(r.cached);
  CHECK(mote_rt_module_load(r.so_path, &m, &err) == MOTE_RT_OK);
  mote_rt_module_free(m);
  free(wasm);
}

/* A lazy worker's directory is made by a process that has joined the
 * cache's tmp/ (holds its lock file there), so another process's clean
 * keeps it: a process whose lazy object was a cache hit had never joined,
 * and its workers' directory went as a dead process's (until stop 30). */
TEST(a_lazy_workers_directory_outlives_another_processs_clean) {
  char cache[160], so[200], dir[PATH_MAX], tmp[200];
  snprintf(cache, sizeof cache, "%s/workers-%d", test_cache_dir(), (int)getpid());
  snprintf(so, sizeof so, "%s/k.so", cache);
  snprintf(tmp, sizeof tmp, "%s/tmp", cache);
  CHECK(mote_lazy_worker_dir(so, dir, sizeof dir));
  pid_t child = fork();
  if (child == 0) {
    mote_tmp_clean(tmp); /* another process's first prepare */
    _exit(0);
  }
  int status = 0;
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
  struct stat sb;
  CHECK_MSG(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode), dir);
  mote_lazy_worker_dir_remove(dir);
}

static bool fail_batch(void *ctx) {
  (void)ctx;
  return false;
}

TEST(a_failed_lazy_compile_traps_the_call_and_the_next_call_tries_again) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(
      "(module (func (export \"f\") (result i32) (i32.const 9)) (func (export \"lazy_7\")))", &m);
  if (!in) return;
  mote_rt_error err;
  uint64_t before = batches();
  mote_lazy_test_hook(fail_batch, NULL);
  mote_val r = {0};
  CHECK_EQ_INT(mote_rt_call(in, (uint32_t)export_of(m, "f"), NULL, &r, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_RESOURCE);
  CHECK_EQ_INT(batches(), before);
  mote_lazy_test_hook(NULL, NULL);
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 9);
  CHECK_EQ_INT(batches(), before + 1);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* More functions than one batch takes (256): the first call's batch cannot
 * hold the last one, so only the background can have compiled it. */
/* A call's batch is filled with the functions that follow (parked: their
 * first call installs them, compiling nothing); once FILL_TRIAL (256) were
 * filled and few of them called, a call's batch is not filled any more. */
TEST(a_call_fills_its_batch_while_the_filling_is_called) {
  size_t cap = 1200 * 64 + 64, used = 0;
  char *wat = malloc(cap);
  if (!wat) return;
  used += (size_t)snprintf(wat + used, cap - used, "(module");
  for (int i = 0; i < 1200; i++)
    used += (size_t)snprintf(wat + used, cap - used,
                             " (func (export \"f%d\") (result i32) (i32.const %d))", i, i);
  snprintf(wat + used, cap - used, ")");
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(wat, &m);
  free(wat);
  if (!in) return;
  mote_rt_error err;
  uint64_t b0, f0, b, f;
  mote_val r = {0};
  mote_lazy_stats(&b0, &f0);
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f0"), NULL, &r, &err) == MOTE_RT_OK);
  mote_lazy_stats(&b, &f);
  CHECK_EQ_INT(b, b0 + 1);
  CHECK_EQ_INT(f, f0 + 256); /* f0 and 255 that follow (BATCH_MAX) */
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f1"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 1);
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f255"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 255);
  mote_lazy_stats(&b, &f);
  CHECK_EQ_INT(b, b0 + 1); /* parked, installed by the call */
  /* 255 more filled, of 510 two called: the next call's batch is not filled */
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f600"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f1000"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 1000);
  mote_lazy_stats(&b, &f);
  CHECK_EQ_INT(b, b0 + 3);
  CHECK_EQ_INT(f, f0 + 256 + 256 + 1);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

TEST(the_background_compiles_the_rest_after_a_call) {
  size_t cap = 400 * 64 + 256, used = 0;
  char *wat = malloc(cap);
  if (!wat) return;
  used += (size_t)snprintf(wat + used, cap - used,
                           "(module (func (export \"a\") (result i32) (i32.const 1))");
  for (int i = 1; i < 399; i++)
    used += (size_t)snprintf(wat + used, cap - used, " (func (result i32) (i32.const %d))", i);
  snprintf(wat + used, cap - used, " (func (export \"z\") (result i32) (i32.const 399)))");
  mote_rt_module *m = NULL;
  mote_rt_instance *in = lazy_instance(wat, &m);
  free(wat);
  if (!in) return;
  mote_rt_error err;
  mote_lazy_set_background(true);
  mote_val r = {0};
  uint64_t before = batches();
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "a"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 1);
  /* a state, not a time: the background has compiled everything */
  struct timespec tick = {0, 1000000};
  while (!mote_lazy_settled()) nanosleep(&tick, NULL);
  uint64_t after = batches();
  CHECK(after >= before + 2); /* the call's batch and the background's */
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "z"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 399);
  CHECK_EQ_INT(batches(), after); /* nothing left to compile for the call */
  mote_lazy_set_background(false);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* ---- detach and attach ------------------------------------------------------ */

typedef struct bg_gate {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  bool entered, open;
} bg_gate;

/* The background hook: holds the batch (its object busy) until opened. */
static void bg_hold(void *ctx) {
  bg_gate *g = ctx;
  pthread_mutex_lock(&g->lock);
  g->entered = true;
  pthread_cond_broadcast(&g->cond);
  while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
  pthread_mutex_unlock(&g->lock);
}

static void *free_module(void *m) {
  mote_rt_module_free(m);
  return NULL;
}

typedef struct reload {
  const char *so;
  mote_rt_module *m;
  bool done;
} reload;

static void *load_again(void *arg) {
  reload *r = arg;
  mote_rt_error err;
  if (mote_rt_module_load(r->so, &r->m, &err) != MOTE_RT_OK) r->m = NULL;
  __atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
  return NULL;
}

/* Polls (1 ms) until cond(): a state, not a time; 60 s bound only against a
 * hang. */
static bool poll_until(bool (*cond)(void *), void *ctx) {
  struct timespec tick = {0, 1000000};
  for (int i = 0; i < 60000; i++) {
    if (cond(ctx)) return true;
    nanosleep(&tick, NULL);
  }
  return false;
}

static bool gate_entered(void *ctx) {
  bg_gate *g = ctx;
  pthread_mutex_lock(&g->lock);
  bool e = g->entered;
  pthread_mutex_unlock(&g->lock);
  return e;
}

static bool no_state_attached(void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&lz_reg_lock);
  bool none = lz_states == NULL;
  pthread_mutex_unlock(&lz_reg_lock);
  return none;
}

static bool reload_waits_or_is_done(void *ctx) {
  reload *r = ctx;
  pthread_mutex_lock(&lz_reg_lock);
  bool waits = lz_attaches_waiting > 0;
  pthread_mutex_unlock(&lz_reg_lock);
  return waits || __atomic_load_n(&r->done, __ATOMIC_ACQUIRE);
}

/* The object's last module freed while a background batch of it compiles
 * (the detach waits for the batch), and the same object loaded again
 * meanwhile (a function removed and deployed again with the same bytes):
 * the new load attaches after the detach ends, and its calls compile. It
 * used to attach first; the detach then cleared the object's state, and
 * every call of the new load trapped ("lazy object not attached"). */
TEST(an_object_loaded_again_while_its_detach_waits_still_compiles) {
  size_t cap = 400 * 64 + 256, used = 0;
  char *wat = malloc(cap);
  if (!wat) return;
  used += (size_t)snprintf(wat + used, cap - used,
                           "(module (func (export \"a\") (result i32) (i32.const 7))");
  for (int i = 1; i < 399; i++)
    used += (size_t)snprintf(wat + used, cap - used, " (func (result i32) (i32.const %d))", i);
  snprintf(wat + used, cap - used, " (func (export \"z\") (result i32) (i32.const 399)))");
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  free(wat);
  if (!wasm) return;
  mote_compile_options o = {.cache_dir = test_cache_dir(), .tier = MOTE_TIER_QUICK};
  mote_compile_result cr;
  mote_compile_error cerr;
  CHECK_MSG(mote_compile(wasm, len, &o, &cr, &cerr) == MOTE_COMPILE_OK, cerr.message);
  mote_rt_module *m = test_load_wasm(wasm, len);
  free(wasm);
  mote_rt_instance *in = m ? test_instance(m, NULL) : NULL;
  if (!in) return;
  bg_gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false};
  mote_lazy_test_background_hook(bg_hold, &g);
  mote_lazy_set_background(true);
  mote_rt_error err;
  mote_val v = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "a"), NULL, &v, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(v.i32, 7);
  CHECK(poll_until(gate_entered, &g)); /* a background batch holds the object */
  mote_rt_instance_free(in);
  pthread_t freer, loader;
  reload r = {.so = cr.so_path};
  CHECK(pthread_create(&freer, NULL, free_module, m) == 0);
  CHECK(poll_until(no_state_attached, NULL)); /* the detach waits for the batch */
  CHECK(pthread_create(&loader, NULL, load_again, &r) == 0);
  CHECK(poll_until(reload_waits_or_is_done, &r));
  pthread_mutex_lock(&g.lock);
  g.open = true;
  pthread_cond_broadcast(&g.cond);
  pthread_mutex_unlock(&g.lock);
  pthread_join(freer, NULL);
  pthread_join(loader, NULL);
  mote_lazy_test_background_hook(NULL, NULL);
  mote_lazy_set_background(false);
  CHECK(r.m != NULL);
  in = r.m ? test_instance(r.m, NULL) : NULL;
  if (in) {
    mote_rt_status st = mote_rt_call(in, (uint32_t)export_of(r.m, "z"), NULL, &v, &err);
    CHECK_MSG(st == MOTE_RT_OK, err.message);
    CHECK_EQ_INT(v.i32, 399);
    mote_rt_instance_free(in);
  }
  if (r.m) mote_rt_module_free(r.m);
}

/* ---- workers -------------------------------------------------------------- */

/* f0 calls f1..f300 (f<i> returns i, base added to each) and returns their
 * sum: its batch takes f0 and 255 callees (BATCH_MAX), the rest go to the
 * workers' frontier. */
static mote_rt_module *load_wide(int base) {
  size_t cap = 300 * 80 + 200, used = 0;
  char *wat = malloc(cap);
  if (!wat) return NULL;
  used += (size_t)snprintf(wat + used, cap - used,
                           "(module (func (export \"f0\") (result i32) i32.const 0");
  for (int i = 1; i <= 300; i++)
    used += (size_t)snprintf(wat + used, cap - used, " call %d i32.add", i);
  used += (size_t)snprintf(wat + used, cap - used, ")");
  for (int i = 1; i <= 300; i++)
    used += (size_t)snprintf(wat + used, cap - used, " (func %s(result i32) (i32.const %d))",
                             i == 256 ? "(export \"f256\") " : i == 280 ? "(export \"f280\") " : "",
                             base + i);
  snprintf(wat + used, cap - used, ")");
  mote_rt_module *m = load_lazy(wat);
  free(wat);
  return m;
}

typedef struct gate {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned entered;
  bool open, fail;
} gate;

/* The worker hook: the first batch waits until the test opens the gate. */
static bool gate_hook(void *ctx, uint32_t func) {
  (void)func;
  gate *g = ctx;
  pthread_mutex_lock(&g->lock);
  g->entered++;
  pthread_cond_broadcast(&g->cond);
  while (!g->open) pthread_cond_wait(&g->cond, &g->lock);
  bool fail = g->fail;
  pthread_mutex_unlock(&g->lock);
  return !fail;
}

/* The compiler thread's hook: the second batch a call asks for (f256's,
 * after f0's) waits until the worker holds its first batch, so the worker
 * has f256 before the call can take it. */
typedef struct hold_second {
  gate *g;
  unsigned batches;
} hold_second;

static bool hold_second_hook(void *ctx) {
  hold_second *h = ctx;
  if (++h->batches == 2) {
    pthread_mutex_lock(&h->g->lock);
    while (!h->g->entered) pthread_cond_wait(&h->g->cond, &h->g->lock);
    pthread_mutex_unlock(&h->g->lock);
  }
  return true;
}

typedef struct call_arg {
  mote_rt_instance *in;
  uint32_t export;
  mote_val r;
  mote_rt_status st;
} call_arg;

static void *call_thread(void *p) {
  call_arg *c = p;
  mote_rt_error err;
  c->st = mote_rt_call(c->in, c->export, NULL, &c->r, &err);
  return NULL;
}

/* A call of f0 on its own thread with the workers on: the worker's first
 * batch waits at the gate (failing when opened if `fail`), and the call's
 * second batch waits until the worker holds its first. */
typedef struct worker_scene {
  gate g;
  hold_second h;
  call_arg c;
  pthread_t t;
} worker_scene;

static void scene_start(worker_scene *s, mote_rt_module *m, mote_rt_instance *in, bool fail) {
  s->g = (gate){PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, fail};
  s->h = (hold_second){&s->g, 0};
  mote_lazy_test_worker_hook(gate_hook, &s->g);
  mote_lazy_test_hook(hold_second_hook, &s->h);
  mote_lazy_set_workers(true);
  s->c = (call_arg){in, (uint32_t)export_of(m, "f0"), {0}, MOTE_RT_OK};
  CHECK(pthread_create(&s->t, NULL, call_thread, &s->c) == 0);
  /* states, not times: the worker holds its first batch (f256's, the
   * frontier's first) */
  pthread_mutex_lock(&s->g.lock);
  while (!s->g.entered) pthread_cond_wait(&s->g.cond, &s->g.lock);
  pthread_mutex_unlock(&s->g.lock);
}

static void scene_open(worker_scene *s) {
  pthread_mutex_lock(&s->g.lock);
  s->g.open = true;
  pthread_cond_broadcast(&s->g.cond);
  pthread_mutex_unlock(&s->g.lock);
}

/* The call's result, once everything it started is done; workers off. */
static void scene_finish(worker_scene *s) {
  pthread_join(s->t, NULL);
  CHECK_EQ_INT(s->c.st, MOTE_RT_OK);
  CHECK_EQ_INT(s->c.r.i32, 300 * 301 / 2);
  struct timespec tick = {0, 1000000};
  while (!mote_lazy_settled()) nanosleep(&tick, NULL);
  mote_lazy_set_workers(false);
  mote_lazy_test_worker_hook(NULL, NULL);
  mote_lazy_test_hook(NULL, NULL);
}

/* f256 is in a worker's batch (held by the hook) when f0 calls it: the
 * call waits for that batch instead of compiling f256 again; with `fail`
 * the worker's batch fails (as a dead compiler) and the call compiles it. */
static void worker_holds_a_called_function(bool fail) {
  mote_rt_module *m = load_wide(0);
  if (!m) return;
  mote_rt_instance *in = test_instance(m, NULL);
  if (!in) return;
  mote_rt_error err;
  uint64_t b0, f0, wb0, wf0, b, f, wb, wf;
  mote_lazy_stats(&b0, &f0);
  mote_lazy_worker_stats(&wb0, &wf0);
  worker_scene sc;
  scene_start(&sc, m, in, fail);
  /* and the call waits for a batch */
  struct timespec tick = {0, 1000000};
  while (mote_lazy_waiting() == 0) nanosleep(&tick, NULL);
  scene_open(&sc);
  scene_finish(&sc);
  mote_lazy_stats(&b, &f);
  mote_lazy_worker_stats(&wb, &wf);
  CHECK_EQ_INT(f - f0, 301); /* every function once, by a call or a worker */
  if (fail)
    CHECK(wf > wf0);
  else
    CHECK(wb > wb0);
  mote_val r = {0};
  CHECK(mote_rt_call(in, (uint32_t)export_of(m, "f256"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 256);
  CHECK(check_code_blocks_wx() >= 2); /* the call's batches and the worker's object */
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

TEST(a_call_waits_for_a_workers_batch_instead_of_compiling_it_twice) {
  worker_holds_a_called_function(false);
}

TEST(a_failed_workers_batch_is_compiled_by_the_call) { worker_holds_a_called_function(true); }

/* A compiler process that dies (SIGKILL) fails its batch; calls compile
 * the functions in process. */
TEST(a_killed_worker_leaves_its_batch_to_the_calls) {
  mote_rt_module *m = load_wide(0);
  if (!m) return;
  char script[128];
  if (!test_script("killed-cc.sh", "kill -KILL $$\n", script, sizeof script)) return;
  mote_rt_instance *in = test_instance(m, NULL);
  if (!in) return;
  setenv("MOTE_QUICK_CC", script, 1);
  uint64_t wb0, wf0, wb, wf;
  mote_lazy_worker_stats(&wb0, &wf0);
  worker_scene sc;
  scene_start(&sc, m, in, false);
  scene_open(&sc); /* its compiler process runs, and is killed */
  scene_finish(&sc);
  unsetenv("MOTE_QUICK_CC");
  mote_lazy_worker_stats(&wb, &wf);
  CHECK(wf > wf0);
  CHECK_EQ_INT(wb, wb0);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

/* Two objects with the same function indices: each worker's batch goes to
 * its own object. */
TEST(two_modules_workers_do_not_mix) {
  mote_rt_module *a = load_wide(0), *b = load_wide(1000);
  if (!a || !b) return;
  mote_rt_instance *ia = NULL, *ib = NULL;
  mote_rt_error err;
  CHECK(mote_rt_instantiate(a, NULL, NULL, &ia, &err) == MOTE_RT_OK);
  CHECK(mote_rt_instantiate(b, NULL, NULL, &ib, &err) == MOTE_RT_OK);
  if (!ia || !ib) return;
  uint64_t b0, f0, wb0, wf0, bs, fs, wb, wf;
  mote_lazy_stats(&b0, &f0);
  mote_lazy_worker_stats(&wb0, &wf0);
  mote_lazy_set_workers(true);
  mote_val r = {0};
  CHECK(mote_rt_call(ia, (uint32_t)export_of(a, "f0"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 300 * 301 / 2);
  CHECK(mote_rt_call(ib, (uint32_t)export_of(b, "f0"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 300 * 301 / 2 + 300 * 1000);
  struct timespec tick = {0, 1000000};
  while (!mote_lazy_settled()) nanosleep(&tick, NULL);
  mote_lazy_set_workers(false);
  CHECK(mote_rt_call(ia, (uint32_t)export_of(a, "f280"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 280);
  CHECK(mote_rt_call(ib, (uint32_t)export_of(b, "f280"), NULL, &r, &err) == MOTE_RT_OK);
  CHECK_EQ_INT(r.i32, 1280);
  mote_lazy_stats(&bs, &fs);
  mote_lazy_worker_stats(&wb, &wf);
  CHECK_EQ_INT(fs - f0, 602);
  CHECK_EQ_INT(wf, wf0);
  mote_rt_instance_free(ia);
  mote_rt_instance_free(ib);
  mote_rt_module_free(a);
  mote_rt_module_free(b);
}

/* Module bytes whose code section holds `bodies` bodies of `each` bytes (not
 * valid code: auto looks at the sizes only). */
static uint8_t *code_of(uint32_t bodies, uint32_t each, size_t *len) {
  size_t body_total = (size_t)bodies * (each + 4), sec = 5 + body_total;
  uint8_t *b = calloc(8 + 1 + 5 + sec, 1);
  if (!b) return NULL;
  memcpy(b, "\0asm\1\0\0\0", 8);
  size_t p = 8;
  b[p++] = 10;
  for (int k = 0; k < 5; k++) b[p++] = (uint8_t)(((sec >> (7 * k)) & 0x7f) | (k < 4 ? 0x80 : 0));
  for (int k = 0; k < 5; k++) b[p++] = (uint8_t)(((bodies >> (7 * k)) & 0x7f) | (k < 4 ? 0x80 : 0));
  for (uint32_t i = 0; i < bodies; i++) {
    for (int k = 0; k < 4; k++) b[p++] = (uint8_t)(((each >> (7 * k)) & 0x7f) | (k < 3 ? 0x80 : 0));
    p += each;
  }
  *len = p;
  return b;
}

/* The module bytes b with sections of `types` and `globals` bytes (zeros:
 * the choice reads only section headers) put before the rest. */
static uint8_t *with_declarations(const uint8_t *b, size_t len, uint32_t types, uint32_t globals,
                                  size_t *out_len) {
  uint8_t *o = malloc(len + 12 + (size_t)types + globals);
  if (!o) return NULL;
  memcpy(o, b, 8);
  size_t p = 8;
  const uint32_t sizes[2] = {types, globals};
  const uint8_t ids[2] = {1, 6};
  for (int s = 0; s < 2; s++) {
    if (!sizes[s]) continue;
    o[p++] = ids[s];
    for (int k = 0; k < 5; k++)
      o[p++] = (uint8_t)(((sizes[s] >> (7 * k)) & 0x7f) | (k < 4 ? 0x80 : 0));
    memset(o + p, 0, sizes[s]);
    p += sizes[s];
  }
  memcpy(o + p, b + 8, len - 8);
  *out_len = p + len - 8;
  return o;
}

TEST(auto_makes_big_modules_lazy_unless_a_function_or_the_declarations_are_huge) {
  setenv("MOTE_QUICK_LAZY", "auto", 1);
  size_t len;
  uint8_t *small = code_of(100, 1000, &len);
  CHECK(small && !mote_lazy_wanted(small, len));
  free(small);
  uint8_t *big = code_of(3000, 1000, &len); /* 3 MB of code */
  CHECK(big && mote_lazy_wanted(big, len));
  /* every batch declares every type and global: not lazy past 256 KiB of them */
  size_t dlen;
  uint8_t *d = big ? with_declarations(big, len, 200u << 10, 0, &dlen) : NULL;
  CHECK(d && mote_lazy_wanted(d, dlen));
  free(d);
  d = big ? with_declarations(big, len, 300u << 10, 0, &dlen) : NULL;
  CHECK(d && !mote_lazy_wanted(d, dlen));
  free(d);
  d = big ? with_declarations(big, len, 150u << 10, 150u << 10, &dlen) : NULL;
  CHECK(d && !mote_lazy_wanted(d, dlen));
  free(d);
  free(big);
  uint8_t *huge = code_of(2, (3u << 20) / 2, &len); /* two functions of 1.5 MiB */
  CHECK(huge && !mote_lazy_wanted(huge, len));
  setenv("MOTE_QUICK_LAZY", "always", 1);
  CHECK(huge && mote_lazy_wanted(huge, len));
  setenv("MOTE_QUICK_LAZY", "never", 1);
  CHECK(!mote_lazy_wanted((const uint8_t *)"\0asm\1\0\0\0", 8));
  free(huge);
  setenv("MOTE_QUICK_LAZY", "always", 1);
}

/* ---- the hot tier (lazy_hot.c) ---------------------------------------------- */

/* sum(p, n): the n bytes from p added up, a loop turn each (so that it is
 * hot after a call of a few thousand bytes, and traps out of bounds), then
 * twice that plus twice global g, through a direct call and a call_indirect
 * (what gcc's code reaches of the core: a function, a type id, a table, a
 * global, data). */
static const char hot_wat[] =
    "(module (memory 1) (type $t (func (param i32) (result i32)))"
    " (global $g (mut i32) (i32.const 7)) (table 1 funcref) (elem (i32.const 0) $twice)"
    " (func (export \"sum\") (param $p i32) (param $n i32) (result i32) (local $s i32)"
    "  (loop $l (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))"
    "   (local.set $p (i32.add (local.get $p) (i32.const 1)))"
    "   (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))"
    "  (i32.add (call $twice (local.get $s))"
    "   (call_indirect (type $t) (global.get $g) (i32.const 0))))"
    " (func $twice (type $t) (i32.mul (local.get 0) (i32.const 2)))"
    " (data (i32.const 0) \"\\01\\02\\03\"))";

static int32_t call_sum(mote_rt_instance *in, mote_rt_module *m, uint32_t p, uint32_t n,
                        mote_rt_status *status, mote_rt_error *err) {
  mote_val a[2] = {{.i32 = (int32_t)p}, {.i32 = (int32_t)n}}, r = {0};
  *status = mote_rt_call(in, (uint32_t)export_of(m, "sum"), a, &r, err);
  return r.i32;
}

/* The code in the slot of the first function of the nth object attached
 * from the last (0: the last). */
static void *nth_first_slot(unsigned nth) {
  pthread_mutex_lock(&lz_reg_lock);
  lazy_state *st = lz_states;
  for (unsigned i = 0; st && i < nth; i++) st = st->next;
  void *p = st ? __atomic_load_n(&st->lazy->slots[0], __ATOMIC_ACQUIRE) : NULL;
  pthread_mutex_unlock(&lz_reg_lock);
  return p;
}

static void *first_slot(void) { return nth_first_slot(0); }

typedef struct hot_seen {
  uint64_t functions, failed; /* mote_lazy_hot_stats' before */
} hot_seen;

static bool hot_batch_over(void *ctx) {
  const hot_seen *was = ctx;
  uint64_t f, b, x;
  mote_lazy_hot_stats(&f, &b, &x);
  return f > was->functions || x > was->failed;
}

static hot_seen hot_now(void) {
  hot_seen h;
  uint64_t b;
  mote_lazy_hot_stats(&h.functions, &b, &h.failed);
  return h;
}

/* hot_wat loaded with a threshold of 1000 (later loads get none), its hot
 * batches compiled by cc (NULL: the opt tier's compiler). */
static mote_rt_instance *hot_instance(const char *cc, mote_rt_module **m) {
  if (cc) setenv("MOTE_CC", cc, 1);
  mote_lazy_set_hot(1000);
  mote_rt_instance *in = lazy_instance(hot_wat, m);
  mote_lazy_set_hot(0);
  return in;
}

TEST(a_hot_function_is_switched_to_the_opt_tiers_code) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = hot_instance(NULL, &m);
  if (!in) return;
  hot_seen was = hot_now();
  mote_rt_status st;
  mote_rt_error err;
  CHECK_EQ_INT(call_sum(in, m, 0, 3, &st, &err), 26); /* 4 counts: not hot yet */
  CHECK_EQ_INT(st, MOTE_RT_OK);
  void *quick = first_slot();
  CHECK(quick != NULL);
  CHECK_EQ_INT(call_sum(in, m, 0, 60000, &st, &err), 26); /* 60000 turns: hot */
  CHECK(poll_until(hot_batch_over, &was));
  hot_seen after = hot_now();
  CHECK_EQ_INT(after.functions, was.functions + 1);
  CHECK_EQ_INT(after.failed, was.failed);
  CHECK(first_slot() != quick); /* gcc's code, which new calls run */
  CHECK(check_code_blocks_wx() >= 2); /* tcc's batch and gcc's object */
  CHECK_EQ_INT(call_sum(in, m, 1, 60000, &st, &err), 24);
  CHECK_EQ_INT(st, MOTE_RT_OK);
  /* out of bounds in gcc's code, linked in process: the same trap */
  call_sum(in, m, 65530, 100, &st, &err);
  CHECK_EQ_INT(st, MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_OOB);
  CHECK_EQ_INT(call_sum(in, m, 0, 3, &st, &err), 26);
  mote_rt_instance_free(in);
  mote_rt_module_free(m);
}

TEST(a_failed_hot_batch_leaves_the_function_on_the_quick_tiers_code) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = hot_instance("false", &m);
  if (in) {
    hot_seen was = hot_now();
    mote_rt_status st;
    mote_rt_error err;
    CHECK_EQ_INT(call_sum(in, m, 0, 3, &st, &err), 26);
    void *quick = first_slot();
    CHECK_EQ_INT(call_sum(in, m, 0, 60000, &st, &err), 26);
    CHECK(poll_until(hot_batch_over, &was));
    CHECK_EQ_INT(hot_now().failed, was.failed + 1);
    CHECK_EQ_INT(hot_now().functions, was.functions);
    CHECK(first_slot() == quick);
    CHECK_EQ_INT(call_sum(in, m, 1, 60000, &st, &err), 24);
    CHECK_EQ_INT(st, MOTE_RT_OK);
    mote_rt_instance_free(in);
    mote_rt_module_free(m);
  }
  unsetenv("MOTE_CC");
}

static bool hot_batch_under_way(void *ctx) {
  (void)ctx;
  pthread_mutex_lock(&lz_reg_lock);
  bool busy = lz_states && lz_states->busy && !lz_hot_pending(lz_states);
  pthread_mutex_unlock(&lz_reg_lock);
  return busy;
}

/* Freeing the last user of an object stops its hot batch's compiler (a
 * detach waits for the batch) instead of waiting up to its 20 s. */
TEST(freeing_a_module_stops_its_hot_batch) {
  char script[128];
  if (!test_script("sleeping-cc.sh", "exec sleep 60\n", script, sizeof script)) return;
  mote_rt_module *m = NULL;
  mote_rt_instance *in = hot_instance(script, &m);
  if (in) {
    hot_seen was = hot_now();
    mote_rt_status st;
    mote_rt_error err;
    CHECK_EQ_INT(call_sum(in, m, 0, 60000, &st, &err), 26);
    CHECK(poll_until(hot_batch_under_way, NULL));
    mote_rt_instance_free(in);
    uint64_t t0 = now_ns();
    mote_rt_module_free(m);
    /* the compiler is asked every 100 ms: freed well before its 20 s */
    CHECK((now_ns() - t0) / 1000000000u < 10);
    CHECK(poll_until(hot_batch_over, &was));
    CHECK_EQ_INT(hot_now().functions, was.functions);
  }
  unsetenv("MOTE_CC");
}

static bool two_hot_batches_over(void *ctx) {
  const hot_seen *was = ctx;
  uint64_t f, b, x;
  mote_lazy_hot_stats(&f, &b, &x);
  return f + x >= was->functions + was->failed + 2;
}

/* Two objects, each with a function made hot: both are switched (the hot
 * thread serves every object, not only the one it picks first). */
TEST(the_hot_functions_of_two_objects_are_both_switched) {
  mote_rt_module *a = NULL, *b = NULL;
  mote_rt_instance *ia = hot_instance(NULL, &a);
  mote_lazy_set_hot(1000);
  char other[sizeof hot_wat + 8];
  snprintf(other, sizeof other, "%s", hot_wat);
  char *seven = strstr(other, "(i32.const 7)");
  if (seven) seven[11] = '8'; /* global g = 8: another module, another object */
  mote_rt_instance *ib = lazy_instance(other, &b);
  mote_lazy_set_hot(0);
  if (ia && ib) {
    hot_seen was = hot_now();
    mote_rt_status st;
    mote_rt_error err;
    CHECK_EQ_INT(call_sum(ia, a, 0, 3, &st, &err), 26);
    CHECK_EQ_INT(call_sum(ib, b, 0, 3, &st, &err), 28);
    void *qa = nth_first_slot(1), *qb = nth_first_slot(0);
    CHECK_EQ_INT(call_sum(ia, a, 0, 60000, &st, &err), 26);
    CHECK_EQ_INT(call_sum(ib, b, 0, 60000, &st, &err), 28);
    CHECK(poll_until(two_hot_batches_over, &was));
    CHECK_EQ_INT(hot_now().functions, was.functions + 2);
    CHECK(nth_first_slot(1) != qa && nth_first_slot(0) != qb);
    CHECK_EQ_INT(call_sum(ia, a, 1, 3, &st, &err), 24);
    CHECK_EQ_INT(call_sum(ib, b, 1, 3, &st, &err), 26);
  }
  if (ia) mote_rt_instance_free(ia);
  if (ib) mote_rt_instance_free(ib);
  if (a) mote_rt_module_free(a);
  if (b) mote_rt_module_free(b);
}

/* The counts of the only attached object's functions as armed: how many
 * are counted at all. */
static uint32_t counted_functions(void) {
  uint32_t n = 0;
  pthread_mutex_lock(&lz_reg_lock);
  for (uint32_t d = 0; lz_states && d < lz_states->x.nbodies; d++) n += lz_states->hot[d] != 0;
  pthread_mutex_unlock(&lz_reg_lock);
  return n;
}

/* Whether the only attached object's batches count at all (their header's
 * XL_HOT). */
static bool batches_count(void) {
  pthread_mutex_lock(&lz_reg_lock);
  bool counts = lz_states && strstr(lz_states->header, "xl_hot_reached") != NULL;
  pthread_mutex_unlock(&lz_reg_lock);
  return counts;
}

/* tcc returns a struct of an i32 and an f64 (a multi-value result) in other
 * registers than gcc: a module with such a type is never counted (its hot
 * functions and their callers would read each other's results wrong). */
TEST(a_module_whose_types_tcc_and_gcc_pass_differently_is_not_counted) {
  mote_rt_module *m = NULL;
  mote_rt_instance *in = hot_instance(NULL, &m);
  CHECK_EQ_INT(counted_functions(), 2); /* the control: both counted */
  CHECK(batches_count());
  if (in) mote_rt_instance_free(in);
  if (m) mote_rt_module_free(m);
  mote_lazy_set_hot(1000);
  in = lazy_instance(
      "(module (func (export \"pair\") (param i32) (result i32 f64)"
      "  (local.get 0) (f64.convert_i32_u (local.get 0))) (func (export \"lazy_1\")))", &m);
  mote_lazy_set_hot(0);
  CHECK_EQ_INT(counted_functions(), 0);
  CHECK(!batches_count()); /* not a load and a branch per call and loop turn for nothing */
  if (in) mote_rt_instance_free(in);
  if (m) mote_rt_module_free(m);
}

/* Every module lazy; no background but in the test that wants it, so that
 * the batch counts are the calls' own. */
static void force_lazy(void) {
  setenv("MOTE_QUICK_LAZY", "always", 1);
  setenv("MOTE_LAZY_WORKERS", "1", 1); /* started, but on only where a test wants them */
  mote_lazy_set_background(false);
  mote_lazy_set_workers(false);
  mote_lazy_set_hot(0); /* on only where a test wants it */
}

RUN_TESTS(force_lazy, a_lazy_module_computes_what_an_eager_one_does,
          a_batch_writes_its_own_data_and_runs_from_read_only_code,
          an_object_loaded_again_while_its_detach_waits_still_compiles,
          a_batch_without_libc_headers_rounds_and_copies, a_batch_header_declares_everything_it_calls,
          scalar_and_simd_batches_compute,
          auto_makes_big_modules_lazy_unless_a_function_or_the_declarations_are_huge,
          a_module_with_an_invalid_body_is_refused_when_compiled,
          a_lazy_module_past_a_c_budget_is_refused_when_compiled,
          a_module_with_ifs_nested_too_deep_is_built_eager,
          a_big_br_table_branches_where_each_entry_points,
          a_br_table_in_unreachable_code_reads_no_row_never_written,
          a_stub_called_from_several_threads_compiles_once,
          a_deadline_during_a_lazy_compile_stops_the_call_after_the_compile,
          a_stub_passes_every_argument_through_whichever_way_it_takes,
          a_lazy_objects_text_is_not_relocated_at_load,
          funcrefs_are_the_same_before_and_after_their_function_is_compiled,
          a_lazy_object_without_its_module_bytes_is_not_loaded_until_they_are_put_back,
          a_lazy_build_whose_bytes_cannot_be_kept_fails_as_io,
          a_lazy_build_whose_install_fails_leaves_nothing_behind,
          a_lazy_objects_data_comes_from_its_module_bytes,
          a_lazy_workers_directory_outlives_another_processs_clean,
          a_failed_lazy_compile_traps_the_call_and_the_next_call_tries_again,
          a_call_fills_its_batch_while_the_filling_is_called,
          the_background_compiles_the_rest_after_a_call,
          a_call_waits_for_a_workers_batch_instead_of_compiling_it_twice,
          a_failed_workers_batch_is_compiled_by_the_call, a_killed_worker_leaves_its_batch_to_the_calls,
          two_modules_workers_do_not_mix, a_hot_function_is_switched_to_the_opt_tiers_code,
          a_failed_hot_batch_leaves_the_function_on_the_quick_tiers_code,
          freeing_a_module_stops_its_hot_batch, the_hot_functions_of_two_objects_are_both_switched,
          a_module_whose_types_tcc_and_gcc_pass_differently_is_not_counted)
