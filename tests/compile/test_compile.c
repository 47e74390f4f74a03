/* The compile pipeline end to end: read, translate, glue, cc, cache, load, call. */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/elf_stack.h"
#include "base/fs.h"
#include "compile/cache.h"
#include "compile/compile.h"
#include "compile/lazy.h"
#include "compile/xl.h"
#include "module/module.h"
#include "rt/rt.h"
#include "test.h"

static char cache_dir[64];

static void fresh_cache(void) {
  char cmd[128];
  if (cache_dir[0]) {
    snprintf(cmd, sizeof cmd, "rm -rf %s", cache_dir);
    CHECK_EQ_INT(system(cmd), 0);
  }
  snprintf(cache_dir, sizeof cache_dir, "/tmp/mote-test-cache-XXXXXX");
  CHECK(mkdtemp(cache_dir) != NULL);
}

static mote_compile_options options(mote_tier tier) {
  mote_compile_options o = {.cache_dir = cache_dir, .tier = tier};
  return o;
}

/* A module with a unique export name, so that its cache key is new. */
static uint8_t *unique_adder(size_t *len) {
  char wat[512];
  static int counter;
  snprintf(wat, sizeof wat,
           "(module (func (export \"add\") (param i32 i32) (result i32)"
           " local.get 0 local.get 1 i32.add)"
           " (func (export \"unique_%d_%ld\")))",
           ++counter, (long)time(NULL) ^ (long)getpid());
  return test_wat(wat, NULL, len);
}

/* Loads so_path, instantiates it and calls export `name` with i32 arguments;
 * its i32 result, or 0xdeadbeef when anything failed. `loaded` (may be NULL)
 * is called with so_path after the call, while the object is loaded. */
static uint32_t call_i32_and(const char *so_path, const char *name, const uint32_t *args, int n,
                             void (*loaded)(const char *so_path)) {
  mote_rt_module *m = NULL;
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  uint32_t result = 0xdeadbeef;
  if (mote_rt_module_load(so_path, &m, &err) != MOTE_RT_OK) {
    CHECK_MSG(0, err.message);
    return result;
  }
  if (mote_rt_instantiate(m, NULL, NULL, &inst, &err) == MOTE_RT_OK) {
    int32_t idx = mote_rt_module_find_export(m, name, (uint32_t)strlen(name));
    mote_val a[4] = {{0}}, res[1];
    for (int i = 0; i < n && i < 4; i++) a[i].i32 = args[i];
    CHECK(idx >= 0);
    if (idx >= 0 && mote_rt_call(inst, (uint32_t)idx, a, res, &err) == MOTE_RT_OK)
      result = res[0].i32;
    mote_rt_instance_free(inst);
  }
  if (loaded) loaded(so_path);
  mote_rt_module_free(m);
  return result;
}

static uint32_t call_i32(const char *so_path, const char *name, const uint32_t *args, int n) {
  return call_i32_and(so_path, name, args, n, NULL);
}

static uint32_t call_add(const char *so_path, uint32_t a, uint32_t b) {
  uint32_t args[2] = {a, b};
  return call_i32(so_path, "add", args, 2);
}

TEST(compiles_then_finds_it_in_the_cache) {
  fresh_cache();
  size_t len;
  uint8_t *wasm = unique_adder(&len);
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result r1, r2;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r1, &err), MOTE_COMPILE_OK);
  CHECK(!r1.cached);
  CHECK(r1.cc_ms > 0);
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r2, &err), MOTE_COMPILE_OK);
  CHECK(r2.cached);
  CHECK(strcmp(r1.so_path, r2.so_path) == 0);
  CHECK_EQ_INT(call_add(r2.so_path, 40, 2), 42);
  free(wasm);
}

/* A module of 1 MiB or more is hashed on a thread beside its read: the key
 * is the one mote_compile_key gives, and a module that does not read has
 * none, whatever its size. */
TEST(a_big_modules_key_is_hashed_beside_its_read) {
  fresh_cache();
  size_t n = (1u << 20) + 100, cap = n + 200;
  char *wat = malloc(cap);
  CHECK(wat != NULL);
  if (!wat) return;
  size_t k = (size_t)snprintf(wat, cap, "(module (memory 17) (data (i32.const 0) \"");
  memset(wat + k, 'm', n);
  snprintf(wat + k + n, cap - k - n, "\"))");
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  free(wat);
  CHECK(wasm != NULL);
  if (!wasm) return;
  CHECK(len >= (1u << 20));
  mote_compile_options o = options(MOTE_TIER_QUICK);
  mote_compile_result r;
  mote_compile_error err;
  char key[65];
  mote_compile_key(wasm, len, MOTE_TIER_QUICK, key);
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  CHECK_MSG(strcmp(r.key, key) == 0, r.key);
  CHECK(strstr(r.so_path, key) != NULL);
  CHECK(mote_compile(wasm, len - 1, &o, &r, &err) != MOTE_COMPILE_OK); /* cut short */
  CHECK_MSG(r.key[0] == 0, r.key);
  free(wasm);
}

TEST(tiers_have_their_own_entries_and_agree) {
  size_t len;
  uint8_t *wasm = unique_adder(&len);
  mote_compile_options quick = options(MOTE_TIER_QUICK), opt = options(MOTE_TIER_OPT);
  mote_compile_result rq, ro;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &quick, &rq, &err), MOTE_COMPILE_OK);
  CHECK_EQ_INT(mote_compile(wasm, len, &opt, &ro, &err), MOTE_COMPILE_OK);
  CHECK(strcmp(rq.key, ro.key) != 0);
  CHECK_EQ_INT(call_add(rq.so_path, 7, 8), 15);
  CHECK_EQ_INT(call_add(ro.so_path, 7, 8), 15);
  free(wasm);
}

/* The opt tier compiles for the host's instruction set (x86-64-v2 where it
 * has it) unless MOTE_ISA=baseline: each has its own cache entry, and the
 * instructions whose code differs between them (rounding, popcnt) agree. */
TEST(each_instruction_set_has_its_own_entries_and_they_agree) {
  char wat[512];
  snprintf(wat, sizeof wat,
           "(module (func (export \"f\") (param i32) (result i32)"
           " local.get 0 f32.convert_i32_s f32.const 0.5 f32.add f32.floor i32.trunc_f32_s"
           " local.get 0 i32.popcnt i32.add)"
           " (func (export \"isa_%ld\")))", (long)time(NULL) ^ (long)getpid());
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result host, base;
  mote_compile_error err;
  /* the host's level whatever the environment says; the environment back after */
  const char *env = getenv("MOTE_ISA");
  char *saved = env ? strdup(env) : NULL;
  unsetenv("MOTE_ISA");
  const char *isa = mote_tier_isa(MOTE_TIER_OPT);
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &host, &err), MOTE_COMPILE_OK);
  setenv("MOTE_ISA", "baseline", 1);
  CHECK(!strcmp(mote_tier_isa(MOTE_TIER_OPT), "baseline"));
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &base, &err), MOTE_COMPILE_OK);
  unsetenv("MOTE_ISA");
  CHECK(!strcmp(mote_tier_isa(MOTE_TIER_OPT), isa));
  CHECK(!strcmp(mote_tier_isa(MOTE_TIER_QUICK), "baseline"));
  if (saved) setenv("MOTE_ISA", saved, 1);
  free(saved);
  /* the same key only when the host has nothing above the baseline */
  CHECK_EQ_INT(strcmp(host.key, base.key) == 0, strcmp(isa, "baseline") == 0);
  uint32_t args[][1] = {{0xfffffffdu}, {7}, {0x7fff}};
  /* floor(x + 0.5) + popcount(x): -3 + 31 = 28, 7 + 3 = 10, 32767 + 15 */
  uint32_t want[] = {28, 10, 32782};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ_INT(call_i32(host.so_path, "f", args[i], 1), want[i]);
    CHECK_EQ_INT(call_i32(base.so_path, "f", args[i], 1), want[i]);
  }
  free(wasm);
}

/* call_indirect casts the table's pointer to the type's C function pointer:
 * its text grows with the parameters (a fixed buffer cut it at ~100 and
 * neither tier compiled the C). */
TEST(a_call_indirect_of_200_parameters_compiles_on_both_tiers) {
  enum { N = 200 };
  char *wat = malloc(32 * N + 1024); /* " (local.get 0)" and " i32" per parameter */
  if (!wat) return;
  size_t n = (size_t)sprintf(wat, "(module (type $t (func (param");
  for (int i = 0; i < N; i++) n += (size_t)sprintf(wat + n, " i32");
  n += (size_t)sprintf(wat + n, ") (result i32))) (table 1 funcref) (elem (i32.const 0) $g)"
                       " (func $g (type $t) (i32.sub (local.get %d) (local.get 0)))"
                       " (func (export \"f\") (param i32) (result i32) (call_indirect (type $t)", N - 1);
  for (int i = 0; i < N; i++) n += (size_t)sprintf(wat + n, i == N - 1 ? " (i32.const 50)" : " (local.get 0)");
  sprintf(wat + n, " (i32.const 0))) (func (export \"cai_%ld\")))", (long)time(NULL) ^ (long)getpid());
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  free(wat);
  CHECK(wasm != NULL);
  if (!wasm) return;
  mote_tier tiers[] = {MOTE_TIER_OPT, MOTE_TIER_QUICK};
  for (int t = 0; t < 2; t++) {
    mote_compile_options o = options(tiers[t]);
    mote_compile_result r;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
    uint32_t arg[] = {8};
    CHECK_EQ_INT(call_i32(r.so_path, "f", arg, 1), 42); /* 50 - 8 */
  }
  free(wasm);
}

static bool always_stopped(void *ctx) {
  (*(int *)ctx)++;
  return true;
}

/* Compiles wasm on opt with `stopped` asked (it counts in *asked): the
 * compile must fail as stopped by its caller. */
static void compile_stopped(const uint8_t *wasm, size_t len, bool (*stopped)(void *),
                            int *asked) {
  mote_compile_options o = options(MOTE_TIER_OPT);
  o.stopped = stopped;
  o.stopped_ctx = asked;
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_LIMIT);
  CHECK_STR_CONTAINS(err.message, "stopped by its caller");
}

/* The caller's stop (a deploy whose client went away) kills the compiler
 * process; nothing is cached, and the next compile builds it. */
TEST(a_stopped_compile_kills_its_compiler_and_caches_nothing) {
  size_t len;
  uint8_t *wasm = unique_adder(&len);
  int asked = 0;
  compile_stopped(wasm, len, always_stopped, &asked);
  CHECK(asked >= 1);
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  CHECK(!r.cached);
  CHECK_EQ_INT(call_add(r.so_path, 40, 2), 42);
  free(wasm);
}

/* Asked again while the compiler runs: a "compiler" that never ends (a
 * sleep as MOTE_CC) is killed once the caller gives up, on the third ask. */
static bool stopped_on_third_ask(void *ctx) { return ++*(int *)ctx >= 3; }

TEST(a_compile_stopped_while_its_compiler_runs_is_killed) {
  char cc[128];
  if (!test_script("slow-cc.sh", "exec sleep 600\n", cc, sizeof cc)) return;
  setenv("MOTE_CC", cc, 1);
  size_t len;
  uint8_t *wasm = unique_adder(&len);
  int asked = 0;
  compile_stopped(wasm, len, stopped_on_third_ask, &asked);
  CHECK_EQ_INT(asked, 3);
  unsetenv("MOTE_CC");
  free(wasm);
}

/* A quick-tier object of unique_adder's, compiled in a fresh cache into *r;
 * the module (caller frees; *len its size). */
static uint8_t *quick_adder(mote_compile_result *r, size_t *len) {
  fresh_cache();
  uint8_t *wasm = unique_adder(len);
  mote_compile_options o = options(MOTE_TIER_QUICK);
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, *len, &o, r, &err), MOTE_COMPILE_OK);
  return wasm;
}

TEST(a_corrupt_entry_is_rebuilt) {
  size_t len;
  mote_compile_result r;
  uint8_t *wasm = quick_adder(&r, &len);
  mote_compile_options o = options(MOTE_TIER_QUICK);
  mote_compile_error err;
  /* flip a byte in the middle of the object */
  FILE *f = fopen(r.so_path, "r+b");
  CHECK(f != NULL);
  if (f) {
    fseek(f, 200, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 200, SEEK_SET);
    fputc(c ^ 0xff, f);
    fclose(f);
  }
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  CHECK(!r.cached);
  CHECK_EQ_INT(call_add(r.so_path, 1, 2), 3);
  free(wasm);
}

typedef struct race {
  const uint8_t *wasm;
  size_t len;
  mote_compile_result result;
  mote_compile_status status;
} race;

static void *compile_thread(void *arg) {
  race *r = arg;
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_error err;
  r->status = mote_compile(r->wasm, r->len, &o, &r->result, &err);
  return NULL;
}

TEST(concurrent_compiles_of_one_module_do_the_work_once) {
  size_t len;
  uint8_t *wasm = unique_adder(&len);
  race races[4];
  pthread_t threads[4];
  for (int i = 0; i < 4; i++) {
    races[i] = (race){.wasm = wasm, .len = len};
    pthread_create(&threads[i], NULL, compile_thread, &races[i]);
  }
  int built = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
    CHECK_EQ_INT(races[i].status, MOTE_COMPILE_OK);
    built += !races[i].result.cached;
  }
  CHECK_EQ_INT(built, 1);
  free(wasm);
}

/* Compiles `wasm` on `tier` into a fresh cache, loads and instantiates it:
 * the instance (its module in *m), or NULL after a failed check (*m then
 * NULL or to be freed). */
static mote_rt_instance *compiled_instance(const uint8_t *wasm, size_t len, mote_tier tier,
                                           mote_rt_module **m) {
  fresh_cache();
  mote_compile_options o = options(tier);
  mote_compile_result r;
  mote_compile_error err;
  mote_rt_error rerr;
  *m = NULL;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  if (mote_rt_module_load(r.so_path, m, &rerr) != MOTE_RT_OK) {
    CHECK_MSG(0, rerr.message);
    return NULL;
  }
  return test_instance(*m, NULL);
}

/* Calls m's export `name` with `args`; the call's status. */
static mote_rt_status call_export_args(mote_rt_instance *inst, mote_rt_module *m,
                                       const char *name, const mote_val *args, mote_val *res,
                                       mote_rt_error *err) {
  int32_t f = mote_rt_module_find_export(m, name, strlen(name));
  CHECK_MSG(f >= 0, name);
  return f < 0 ? MOTE_RT_TRAP : mote_rt_call(inst, (uint32_t)f, args, res, err);
}

/* Calls m's export `name` without arguments; the call's status. */
static mote_rt_status call_export(mote_rt_instance *inst, mote_rt_module *m, const char *name,
                                  mote_val *res, mote_rt_error *err) {
  return call_export_args(inst, m, name, NULL, res, err);
}

/* SIMD on both tiers: a v128 crosses the export boundary as 16 bytes. */
TEST(simd_compiles_and_runs_on_both_tiers) {
  size_t len;
  uint8_t *wasm = test_wat("(module (func (export \"f\") (param v128) (result v128)"
                           " local.get 0 v128.const i32x4 1 2 3 0x80000000 i32x4.add))",
                           NULL, &len);
  CHECK(wasm != NULL);
  for (int tier = MOTE_TIER_OPT; wasm && tier <= MOTE_TIER_QUICK; tier++) {
    mote_rt_module *m;
    mote_rt_instance *inst = compiled_instance(wasm, len, (mote_tier)tier, &m);
    mote_rt_error rerr;
    if (inst) {
      mote_val args[1], res[1];
      uint32_t in[4] = {10, 20, 30, 0x80000000u}, out[4];
      memcpy(args[0].v128, in, 16);
      CHECK_EQ_INT(mote_rt_call(inst, 0, args, res, &rerr), MOTE_RT_OK);
      memcpy(out, res[0].v128, 16);
      CHECK_EQ_INT(out[0], 11);
      CHECK_EQ_INT(out[1], 22);
      CHECK_EQ_INT(out[2], 33);
      CHECK_EQ_INT(out[3], 0); /* lanes wrap */
      mote_rt_instance_free(inst);
    }
    mote_rt_module_free(m);
  }
  free(wasm);
}

/* tcc 0.9.27 loses a comparison's value when a statement expression that
 * branches comes after it in the same C expression (xl_prelude.h, at
 * xl_clz32): clz and ctz of 0 after a comparison gave 32 for 33 on the quick
 * tier, garbage when lazy (a review found it). On every tier; promote (a
 * `?:` in its macro, which tcc gets right), and the division for a
 * translator that would one day leave it pending. */
TEST(a_comparison_before_clz_ctz_or_a_division_keeps_its_value) {
  size_t len;
  uint8_t *wasm = test_wat(
      "(module"
      " (func $g (param i32 i32) (result i32)"
      "  (i32.add (i32.mul (local.get 0) (i32.const 100)) (local.get 1)))"
      " (func (export \"clz\") (param i32 i32 i32) (result i32)"
      "  (i32.add (i32.lt_u (local.get 0) (local.get 1)) (i32.clz (local.get 2))))"
      " (func (export \"ctz\") (param i32 i32 i32) (result i32)"
      "  (i32.xor (i32.eqz (local.get 0)) (i32.ctz (local.get 2))))"
      " (func (export \"arg\") (param i32 i32 i32) (result i32)"
      "  (call $g (i32.lt_u (local.get 0) (local.get 1)) (i32.clz (local.get 2))))"
      " (func (export \"clz64\") (param i32 i32 i32) (result i32)"
      "  (i32.wrap_i64 (i64.add (i64.extend_i32_u (i32.lt_u (local.get 0) (local.get 1)))"
      "   (i64.clz (i64.extend_i32_u (local.get 2))))))"
      " (func (export \"ctz64\") (param i32 i32 i32) (result i32)"
      "  (i32.wrap_i64 (i64.add (i64.extend_i32_u (i32.lt_u (local.get 0) (local.get 1)))"
      "   (i64.ctz (i64.extend_i32_u (local.get 2))))))"
      " (func (export \"promote\") (param i32 i32 i32) (result i32)"
      "  (i32.add (i32.lt_u (local.get 0) (local.get 1)) (i32.wrap_i64 (i64.reinterpret_f64"
      "   (f64.promote_f32 (f32.reinterpret_i32 (local.get 2)))))))"
      " (func (export \"div\") (param i32 i32 i32) (result i32)"
      "  (i32.add (i32.lt_u (local.get 0) (local.get 1)) (i32.div_u (local.get 2) (i32.const 7)))))",
      NULL, &len);
  CHECK(wasm != NULL);
  static const struct {
    const char *name;
    uint32_t x, want;
  } cases[] = {{"clz", 0, 33}, {"clz", 1, 32}, {"ctz", 0, 33}, {"arg", 0, 132}, {"clz64", 0, 65},
               {"clz64", 1, 64}, {"ctz64", 0, 65}, {"div", 7, 2},
               /* 1.0000001f: its last mantissa bit is bit 29 of the double's */
               {"promote", 0x3f800001u, 1 + 0x20000000u}};
  for (int pass = 0; wasm && pass < 3; pass++) { /* opt, quick, quick and lazy */
    if (pass == 2) setenv("MOTE_QUICK_LAZY", "always", 1);
    mote_rt_module *m;
    mote_rt_instance *inst =
        compiled_instance(wasm, len, pass ? MOTE_TIER_QUICK : MOTE_TIER_OPT, &m);
    uint64_t batches, functions;
    mote_lazy_stats(&batches, &functions);
    uint64_t before = batches;
    for (size_t i = 0; inst && i < sizeof cases / sizeof cases[0]; i++) {
      mote_val args[3] = {{.i32 = cases[i].name[0] == 'c' && cases[i].name[1] == 't' ? 0 : 1},
                          {.i32 = 2}, {.i32 = (int32_t)cases[i].x}};
      mote_val res[1] = {{.i32 = 0}};
      mote_rt_error rerr;
      CHECK_EQ_INT(call_export_args(inst, m, cases[i].name, args, res, &rerr), MOTE_RT_OK);
      CHECK_MSG((uint32_t)res[0].i32 == cases[i].want, cases[i].name);
    }
    mote_lazy_stats(&batches, &functions);
    CHECK(pass == 2 ? batches > before : batches == before); /* lazy in the third pass only */
    if (inst) mote_rt_instance_free(inst);
    mote_rt_module_free(m);
    unsetenv("MOTE_QUICK_LAZY");
  }
  free(wasm);
}

/* Conversions of constants: gcc folds its x86 conversion builtins on a
 * constant as C's cast (3e38 -> INT_MAX, NaN -> 0), so a dropped trapping
 * truncation of a constant lost its trap (the differential fuzzer found one)
 * and trunc_sat_f32x4_s's positive overflow came out INT_MIN. Both tiers. */
TEST(conversions_of_constants_trap_and_saturate_as_the_spec_says) {
  size_t len;
  uint8_t *wasm = test_wat(
      "(module"
      " (func (export \"t32\") (drop (i32.trunc_f32_s (f32.const 3e38))))"
      " (func (export \"tnan\") (drop (i32.trunc_f64_u (f64.const nan))))"
      " (func (export \"t64\") (drop (i64.trunc_f64_s (f64.const 1e300))))"
      " (func (export \"tneg\") (drop (i32.trunc_f32_u (f32.const -1))))"
      " (func (export \"tmin\") (result i32) (i32.trunc_f32_s (f32.const -2147483648)))"
      " (func (export \"tfrac\") (result i32) (i32.trunc_f64_u (f64.const -0.75)))"
      " (func (export \"sbig\") (result i32) (i32.trunc_sat_f32_s (f32.const 3e38)))"
      " (func (export \"snan\") (result i64) (i64.trunc_sat_f64_s (f64.const nan)))"
      " (func (export \"sneg\") (result i32) (i32.trunc_sat_f64_u (f64.const -5)))"
      " (func (export \"v\") (result v128)"
      "  (i32x4.trunc_sat_f32x4_s (v128.const f32x4 3e9 -3e9 nan 1.5))))",
      NULL, &len);
  CHECK(wasm != NULL);
  static const struct { const char *name; mote_trap_kind trap; } traps[] = {
      {"t32", MOTE_TRAP_INT_OVERFLOW}, {"tnan", MOTE_TRAP_INVALID_CONVERSION},
      {"t64", MOTE_TRAP_INT_OVERFLOW}, {"tneg", MOTE_TRAP_INT_OVERFLOW}};
  for (int tier = MOTE_TIER_OPT; wasm && tier <= MOTE_TIER_QUICK; tier++) {
    mote_rt_module *m;
    mote_rt_instance *inst = compiled_instance(wasm, len, (mote_tier)tier, &m);
    mote_rt_error rerr;
    mote_val res[1];
    if (inst) {
      for (size_t i = 0; i < sizeof traps / sizeof traps[0]; i++) {
        CHECK_EQ_INT(call_export(inst, m, traps[i].name, res, &rerr), MOTE_RT_TRAP);
        CHECK_EQ_INT(rerr.trap, traps[i].trap);
      }
      static const struct { const char *name; uint32_t want; } values[] = {
          {"tmin", 0x80000000u}, {"tfrac", 0}, {"sbig", 0x7fffffffu}, {"sneg", 0}};
      for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        CHECK_EQ_INT(call_export(inst, m, values[i].name, res, &rerr), MOTE_RT_OK);
        CHECK_MSG(res[0].i32 == values[i].want, values[i].name);
      }
      CHECK_EQ_INT(call_export(inst, m, "snan", res, &rerr), MOTE_RT_OK);
      CHECK(res[0].i64 == 0);
      CHECK_EQ_INT(call_export(inst, m, "v", res, &rerr), MOTE_RT_OK);
      uint32_t lanes[4];
      memcpy(lanes, res[0].v128, 16);
      CHECK_EQ_INT(lanes[0], 0x7fffffffu);
      CHECK_EQ_INT(lanes[1], 0x80000000u);
      CHECK_EQ_INT(lanes[2], 0);
      CHECK_EQ_INT(lanes[3], 1);
      mote_rt_instance_free(inst);
    }
    mote_rt_module_free(m);
  }
  free(wasm);
}

/* The C the translator writes for a module (caller frees), or NULL with the
 * translator's complaint in *why (why->failed false: the reader refused the
 * module, or memory ran out). */
static char *translated(const uint8_t *wasm, size_t len, xl_error *why) {
  memset(why, 0, sizeof *why);
  mote_module *m = NULL;
  mote_module_error merr;
  if (mote_module_read(wasm, len, &m, &merr) != MOTE_MODULE_OK) return NULL;
  xl_module x;
  char *c = NULL;
  size_t clen = 0;
  if (xl_module_scan(&x, m, wasm, len)) {
    FILE *o = open_memstream(&c, &clen);
    bool ok = o && xl_module_write(o, &x, why);
    if (o) fclose(o);
    if (!ok) {
      free(c);
      c = NULL;
    }
    xl_module_release(&x);
  }
  mote_module_free(m);
  return c;
}

/* Where function f's C starts in c (w<f>'s definition, not a prototype), or
 * NULL; *end: where the next function's starts (NULL: at the end of c). */
static const char *function_in(const char *c, uint32_t f, const char **end) {
  char head[48];
  snprintf(head, sizeof head, " w%u(inst *I", f);
  const char *p;
  for (p = c; (p = strstr(p, head)); p += strlen(head)) {
    const char *eol = strchr(p, '\n');
    if (eol && eol[-1] == '{') break;
  }
  *end = p ? strstr(p, "\nXL_FUNC ") : NULL;
  return p;
}

/* How often `what` occurs in the C of function f. */
static unsigned occurrences_in(const char *c, uint32_t f, const char *what) {
  const char *end, *p = function_in(c, f, &end);
  unsigned n = 0;
  for (const char *q = p; q && (q = strstr(q, what)) && (!end || q < end); q += strlen(what)) n++;
  return n;
}

/* Closes `o`, a memory stream of a module's text in *wat (freed then),
 * assembles it into *wasm (caller frees; NULL after a failed check) and
 * returns the C the translator writes for it (caller frees; NULL after a
 * failed check). */
/* A stream to write a module's text into (*wat, *len), or NULL after a
 * failed check. */
static FILE *wat_stream(char **wat, size_t *len) {
  FILE *o = open_memstream(wat, len);
  CHECK(o != NULL);
  return o;
}

static char *assembled_and_translated(FILE *o, char **wat, uint8_t **wasm, size_t *len) {
  fclose(o);
  *wasm = test_wat(*wat, NULL, len);
  free(*wat);
  CHECK(*wasm != NULL);
  xl_error why;
  char *c = *wasm ? translated(*wasm, *len, &why) : NULL;
  CHECK_MSG(c != NULL, why.message);
  return c;
}

/* clang's (int)x: `fabs(x) < 2^31 ? trunc(x) : INT32_MIN` in a block, which
 * the translator writes as one conversion (guarded_trunc in xl_func.c).
 * Exports a..e are the form after wasm-opt (from f32 and f64, to i32 and
 * i64; e through a local.tee, as clang writes it), f and g the form without
 * it (both paths set a local), and it recognises all seven; b30 (2^30), zero
 * (0 out of range) and other (the minimum set in another local) are near
 * misses, translated as written. Every value, NaNs and the range's edges
 * included, gives what the wasm says, on both tiers. */
TEST(clangs_guarded_truncation_is_one_conversion_with_the_same_results) {
#define GUARD(name, FT, bound, TO, min)                                                    \
  " (func (export \"" name "\") (param " FT ") (result " TO ") (local " FT ")"               \
  " block (result " TO ") local.get 0 " FT ".abs " FT ".const " bound " " FT ".lt"         \
  " if local.get 0 " TO ".trunc_" FT "_s br 1 end " TO ".const " min " end)"
  /* the minimum goes to local `to` (1: the truncation's) */
#define SET(name, FT, bound, TO, min, to)                                                  \
  " (func (export \"" name "\") (param " FT ") (result " TO ") (local " TO " " TO ")"        \
  " block block local.get 0 " FT ".abs " FT ".const " bound " " FT ".lt i32.eqz br_if 0"     \
  " local.get 0 " TO ".trunc_" FT "_s local.set 1 br 1 end " TO ".const " min               \
  " local.set " to " end local.get 1)"
  size_t len;
  uint8_t *wasm = test_wat(
      "(module"
      GUARD("a", "f32", "0x1p+31", "i32", "-2147483648")
      GUARD("b", "f64", "0x1p+31", "i32", "-2147483648")
      GUARD("c", "f32", "0x1p+63", "i64", "-9223372036854775808")
      GUARD("d", "f64", "0x1p+63", "i64", "-9223372036854775808")
      " (func (export \"e\") (param f64) (result i32) (local f64)"
      "  block (result i32) local.get 0 f64.const 0.5 f64.add local.tee 1 f64.abs"
      "  f64.const 0x1p+31 f64.lt if local.get 1 i32.trunc_f64_s br 1 end"
      "  i32.const -2147483648 end)"
      GUARD("b30", "f32", "0x1p+30", "i32", "-2147483648")
      GUARD("zero", "f32", "0x1p+31", "i32", "0")
      SET("f", "f32", "0x1p+31", "i32", "-2147483648", "1")
      SET("g", "f64", "0x1p+63", "i64", "-9223372036854775808", "1")
      SET("other", "f32", "0x1p+31", "i32", "-2147483648", "2")
      ")",
      NULL, &len);
#undef GUARD
#undef SET
  CHECK(wasm != NULL);
  /* Per export, in order: whether it is written as one conversion, its
   * operand's and result's types, the guard's bound, the value out of range
   * (other's: local 1 as it was), and whether the guard tests x + 0.5 (e). */
  static const struct {
    const char *name;
    bool converted, from32, to64;
    double bound;
    uint64_t min;
    bool plus_half;
  } fns[] = {
      {"a", true, true, false, 0x1p31, 0x80000000u, false},
      {"b", true, false, false, 0x1p31, 0x80000000u, false},
      {"c", true, true, true, 0x1p63, 0x8000000000000000ull, false},
      {"d", true, false, true, 0x1p63, 0x8000000000000000ull, false},
      {"e", true, false, false, 0x1p31, 0x80000000u, true},
      {"b30", false, true, false, 0x1p30, 0x80000000u, false},
      {"zero", false, true, false, 0x1p31, 0, false},
      {"f", true, true, false, 0x1p31, 0x80000000u, false},
      {"g", true, false, true, 0x1p63, 0x8000000000000000ull, false},
      {"other", false, true, false, 0x1p31, 0, false},
  };
  size_t nfns = sizeof fns / sizeof fns[0];
  xl_error why;
  char *c = wasm ? translated(wasm, len, &why) : NULL;
  CHECK_MSG(c != NULL, why.message);
  for (uint32_t f = 0; c && f < nfns; f++)
    CHECK_MSG(occurrences_in(c, f, "_s_or_min(") == (fns[f].converted ? 1u : 0u), fns[f].name);
  free(c);
  static const double xs[] = {0.0, -0.0, 1.9, -1.9, 1.5e9, -1.5e9, 2147483520.0, 2147483647.9,
                              2147483648.0, -2147483648.0, -2147483648.9, -2147483904.0,
                              -2147483649.0, 9.2233715e18, 9223372036854775808.0,
                              -9223372036854775808.0, -9.3e18, 3e38, 1e300, INFINITY,
                              -INFINITY, NAN, -NAN};
  for (int tier = MOTE_TIER_OPT; wasm && tier <= MOTE_TIER_QUICK; tier++) {
    mote_rt_module *m;
    mote_rt_instance *inst = compiled_instance(wasm, len, (mote_tier)tier, &m);
    mote_rt_error rerr;
    for (size_t i = 0; inst && i < sizeof xs / sizeof xs[0]; i++) {
      for (size_t k = 0; k < nfns; k++) {
        /* the operand as the export gets it (an f32 is exact as a double),
         * the value the guard tests, and what the wasm gives */
        double x = fns[k].from32 ? (double)(float)xs[i] : xs[i];
        double v = fns[k].plus_half ? x + 0.5 : x;
        uint64_t want = !(fabs(v) < fns[k].bound) ? fns[k].min
                        : fns[k].to64 ? (uint64_t)(int64_t)v : (uint32_t)(int32_t)v;
        mote_val args[1], res[1];
        if (fns[k].from32)
          args[0].f32 = (float)x;
        else
          args[0].f64 = x;
        CHECK_EQ_INT(call_export_args(inst, m, fns[k].name, args, res, &rerr), MOTE_RT_OK);
        uint64_t got = fns[k].to64 ? res[0].i64 : res[0].i32;
        char what[96];
        snprintf(what, sizeof what, "%s(%.17g) on tier %d: %#llx", fns[k].name, x, tier,
                 (unsigned long long)got);
        CHECK_MSG(got == want, what);
      }
    }
    if (inst) mote_rt_instance_free(inst);
    mote_rt_module_free(m);
  }
  free(wasm);
}

/* Near misses of the guarded truncation, each different from a form in one
 * place (a branch's depth, the local converted, the comparison, the bound,
 * the conversion, what follows, the outer frame a loop, the operand not a
 * local): none may be matched; each is then translated as written, which the
 * spec suites check. */
TEST(near_misses_of_the_guarded_truncation_are_translated_as_written) {
  static const char *const misses[] = {
      /* form B: br_if 1, another local, br 0, a tail, br 2, a loop outside */
      "(param f32) (result i32) (local i32) i32.const 7 local.set 1 block block local.get 0 f32.abs"
      " f32.const 0x1p+31 f32.lt i32.eqz br_if 1 local.get 0 i32.trunc_f32_s local.set 1 br 1 end"
      " i32.const -2147483648 local.set 1 end local.get 1",
      "(param f32 f32) (result i32) (local i32) block block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 1 i32.trunc_f32_s local.set 2 br 1 end"
      " i32.const -2147483648 local.set 2 end local.get 2",
      "(param f32) (result i32) (local i32) block block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 1 br 0 end"
      " i32.const -2147483648 local.set 1 end local.get 1",
      "(param f32) (result i32) (local i32) block block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 1 br 1 end"
      " i32.const -2147483648 local.set 1 i32.const 9 local.set 1 end local.get 1",
      "(param f32) (result i32) (local i32) i32.const 7 local.set 1 block block block local.get 0"
      " f32.abs f32.const 0x1p+31 f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 1"
      " br 2 end i32.const -2147483648 local.set 1 end local.get 1 i32.const 100 i32.add"
      " local.set 1 end local.get 1",
      "(param f32) (result i32) (local i32) loop block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 1 br 1 end"
      " i32.const -2147483648 local.set 1 end local.get 1",
      /* form A: another local, br 0, a tail, gt, le, trunc_u, i64 at 2^31 (with two minimums;
       * the second also in form B), at 2^62 */
      "(param f32 f32) (result i32) block (result i32) local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt if local.get 1 i32.trunc_f32_s br 1 end i32.const -2147483648 end",
      "(param f32) (result i32) block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.lt"
      " if local.get 0 i32.trunc_f32_s br 0 end i32.const -2147483648 end",
      "(param f32) (result i32) block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.lt"
      " if local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648 drop i32.const 5 end",
      "(param f32) (result i32) block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.gt"
      " if local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648 end",
      "(param f64) (result i32) block (result i32) local.get 0 f64.abs f64.const 0x1p+31 f64.le"
      " if local.get 0 i32.trunc_f64_s br 1 end i32.const -2147483648 end",
      "(param f32) (result i32) block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.lt"
      " if local.get 0 i32.trunc_f32_u br 1 end i32.const -2147483648 end",
      "(param f64) (result i64) block (result i64) local.get 0 f64.abs f64.const 0x1p+31 f64.lt"
      " if local.get 0 i64.trunc_f64_s br 1 end i64.const -2147483648 end",
      "(param f64) (result i64) block (result i64) local.get 0 f64.abs f64.const 0x1p+31 f64.lt"
      " if local.get 0 i64.trunc_f64_s br 1 end i64.const -9223372036854775808 end",
      "(param f32) (result i64) (local i64) block block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 0 i64.trunc_f32_s local.set 1 br 1 end"
      " i64.const -9223372036854775808 local.set 1 end local.get 1",
      "(param f64) (result i64) block (result i64) local.get 0 f64.abs f64.const 0x1p+62 f64.lt"
      " if local.get 0 i64.trunc_f64_s br 1 end i64.const -9223372036854775808 end",
      /* the operand not a local's value */
      "(param f32) (result i32) block (result i32) local.get 0 f32.neg f32.abs f32.const 0x1p+31"
      " f32.lt if local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648 end",
  };
  size_t n = sizeof misses / sizeof misses[0];
  char *wat = NULL;
  size_t wat_len = 0;
  FILE *o = wat_stream(&wat, &wat_len);
  if (!o) return;
  fputs("(module", o);
  for (size_t i = 0; i < n; i++) fprintf(o, " (func %s)", misses[i]);
  fputs(")", o);
  size_t len;
  uint8_t *wasm;
  char *c = assembled_and_translated(o, &wat, &wasm, &len);
  for (uint32_t f = 0; c && f < n; f++) {
    CHECK_MSG(occurrences_in(c, f, "trunc_f32") + occurrences_in(c, f, "trunc_f64") > 0,
              misses[f]); /* the function is there, with its conversion */
    CHECK_MSG(occurrences_in(c, f, "_s_or_min(") == 0, misses[f]);
  }
  free(c);
  free(wasm);
}

/* Invalid modules that are almost the guarded truncation are refused by the
 * translator: what it skips must be valid for it to skip it. */
TEST(invalid_near_matches_of_the_guarded_truncation_are_refused) {
  static const char *const bad[] = {
      /* the if has a result */
      "(param f32) (result i32) block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.lt"
      " if (result i32) local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648 end",
      /* the local set is an f32 */
      "(param f32) (result i32) (local f32) block block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 1 br 1 end"
      " i32.const -2147483648 local.set 1 end i32.const 0",
      /* no such local */
      "(param f32) (result i32) (local i32) block block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 9 br 1 end"
      " i32.const -2147483648 local.set 9 end i32.const 0",
      /* an i32 conversion in an i64 block */
      "(param f32) (result i64) block (result i64) local.get 0 f32.abs f32.const 0x1p+31 f32.lt"
      " if local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648 end",
      /* the inner block has a result, br_if 0 none */
      "(param f32) (result i32) block (result i32) block (result i32) local.get 0 f32.abs"
      " f32.const 0x1p+31 f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 0 br 1 end"
      " end",
      /* the outer block has a result, br 1 carries none */
      "(param f32) (result i32) (local i32) block (result i32) block local.get 0 f32.abs"
      " f32.const 0x1p+31 f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 1 br 1 end"
      " i32.const -2147483648 local.set 1 end local.get 1",
      /* nothing returned */
      "(param f32) (result i32) (local i32) block block local.get 0 f32.abs f32.const 0x1p+31"
      " f32.lt i32.eqz br_if 0 local.get 0 i32.trunc_f32_s local.set 1 br 1 end"
      " i32.const -2147483648 local.set 1 end",
      /* a value below the operand in a block of one result */
      "(param f32) (result i32) block (result i32) i32.const 1 local.get 0 f32.abs"
      " f32.const 0x1p+31 f32.lt if local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648"
      " end",
      /* abs of an i32 local */
      "(param i32) (result i32) block (result i32) local.get 0 f32.abs f32.const 0x1p+31 f32.lt"
      " if local.get 0 i32.trunc_f32_s br 1 end i32.const -2147483648 end",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char wat[1024];
    snprintf(wat, sizeof wat, "(module (func %s))", bad[i]);
    size_t len;
    uint8_t *wasm = test_wat(wat, "--no-check", &len);
    CHECK_MSG(wasm != NULL, bad[i]);
    xl_error why;
    char *c = wasm ? translated(wasm, len, &why) : NULL;
    CHECK_MSG(c == NULL && why.failed && !why.io, bad[i]);
    free(c);
    free(wasm);
  }
}

/* The interp export's dispatch loop as C: acc after n steps from seed x. */
static uint32_t interp_reference(uint32_t n, uint32_t x) {
  uint32_t acc = 0;
  for (uint32_t i = 1; i <= n; i++) {
    x = x * 1103515245u + 12345u;
    static const int8_t op[16] = {0, 1, 2, 3, 4, 5, 6, 7, 0, 3, -1, -1, -1, -1, -1, -1};
    switch (op[x >> 28]) {
      case 0: acc += 1; break;
      case 1: acc ^= x; break;
      case 2: acc *= 3; break;
      case 3: acc = acc << 5 | acc >> 27; break;
      case 4: acc -= i; break;
      case 5: acc >>= 1; break;
      case 6: acc += x >> 16; break;
      case 7: acc = ~acc; break;
      default: acc += 7; break;
    }
  }
  return acc;
}

/* One step of the threaded and selected exports' loops as C: acc after case
 * x >> 29 of x (the new random value). */
static uint32_t dispatch_step(uint32_t acc, uint32_t x) {
  switch (x >> 29) {
    case 0: return acc + 1;
    case 1: return acc ^ x;
    case 2: return acc * 3;
    case 3: return acc << 5 | acc >> 27;
    case 4: return acc - (x >> 8);
    case 5: return acc >> 1;
    case 6: return acc + (x >> 16);
    default: return ~acc;
  }
}

/* Appends to `o` the body of the threaded and selected exports (params n, x;
 * locals acc, i): a loop whose head steps i and x and dispatches on x >> 29
 * (then `index`'s code) by `table` to dispatch_step's eight cases; each case
 * but the last branches back, the last runs `last` (which may branch back). */
static void dispatch_loop(FILE *o, const char *index, const char *table, const char *last) {
  fprintf(o,
          "  block loop block block block block block block block block"
          "   local.get 3 i32.const 1 i32.add local.set 3"
          "   local.get 1 i32.const 1103515245 i32.mul i32.const 12345 i32.add local.tee 1"
          "   i32.const 29 i32.shr_u%s %s"
          "  end local.get 2 i32.const 1 i32.add local.set 2 br 7"
          "  end local.get 2 local.get 1 i32.xor local.set 2 br 6"
          "  end local.get 2 i32.const 3 i32.mul local.set 2 br 5"
          "  end local.get 2 i32.const 5 i32.rotl local.set 2 br 4"
          "  end local.get 2 local.get 1 i32.const 8 i32.shr_u i32.sub local.set 2 br 3"
          "  end local.get 2 i32.const 1 i32.shr_u local.set 2 br 2"
          "  end local.get 2 local.get 1 i32.const 16 i32.shr_u i32.add local.set 2 br 1"
          "  end local.get 2 i32.const -1 i32.xor local.set 2%s"
          "  end end local.get 2)",
          index, table, last);
}

/* The threaded export's loop as C: acc from seed x when the first step 7
 * at or after step n ends it. */
static uint32_t threaded_reference(uint32_t n, uint32_t x) {
  uint32_t acc = 0;
  for (uint32_t i = 1;; i++) {
    x = x * 1103515245u + 12345u;
    acc = dispatch_step(acc, x);
    if (x >> 29 == 7 && i >= n) return acc;
  }
}

/* The selected export's loop as C: acc after n steps from seed x. */
static uint32_t selected_reference(uint32_t n, uint32_t x) {
  uint32_t acc = 0;
  for (uint32_t i = 1; i <= n; i++) {
    x = x * 1103515245u + 12345u;
    acc = dispatch_step(acc, x);
  }
  return acc;
}

/* Appends to `o` `blocks` nested blocks and a br_table of `entries` entries
 * over them on local 0 (entry i to block i % blocks, the default to the
 * outermost); each block's end adds 1 to local 1, so the table adds
 * blocks - (its target). */
static void fallthrough_table(FILE *o, unsigned entries, unsigned blocks) {
  for (unsigned b = 0; b < blocks; b++) fputs(" block", o);
  fputs(" local.get 0 br_table", o);
  for (unsigned i = 0; i < entries - 1; i++) fprintf(o, " %u", i % blocks);
  fprintf(o, " %u", blocks - 1);
  for (unsigned b = 0; b < blocks; b++) fputs(" end local.get 1 i32.const 1 i32.add local.set 1", o);
}

/* What fallthrough_table adds for index k. */
static uint32_t fallthrough_adds(uint32_t k, unsigned entries, unsigned blocks) {
  return blocks - (k < entries - 1 ? k % blocks : blocks - 1);
}

/* The entries of the table written as a computed goto in function f's C:
 * the commas of the "xl_bt" table after "#if XL_CGOTO && 1", plus one. */
static unsigned cgoto_entries(const char *c, uint32_t f) {
  const char *next, *p = function_in(c, f, &next);
  const char *t = p ? strstr(p, "#if XL_CGOTO && 1\n{ static void *const xl_bt[] = {") : NULL;
  if (t && next && t > next) t = NULL; /* another function's */
  const char *end = t ? strstr(t, "};") : NULL;
  unsigned n = 1;
  for (const char *q = t; q && q < end; q++) n += *q == ',';
  return t ? n : 0;
}

/* The indirect jumps ("jmp *") in function w<f> of the object at so_path, as
 * objdump disassembles it; 0 if that fails (after a failed check). */
static unsigned indirect_jumps(const char *so_path, uint32_t f) {
  char cmd[PATH_MAX + 64], head[32], line[256];
  snprintf(cmd, sizeof cmd, "objdump -d --no-show-raw-insn '%s'", so_path);
  snprintf(head, sizeof head, "<w%u>:", f);
  FILE *p = popen(cmd, "r");
  CHECK(p != NULL);
  if (!p) return 0;
  unsigned n = 0;
  bool in = false;
  while (fgets(line, sizeof line, p)) {
    if (strchr(line, '>') && strstr(line, ">:")) in = strstr(line, head) != NULL;
    else if (in && strstr(line, "jmp") && strstr(line, " *")) n++; /* *%rax, *(%rdi,...) */
  }
  CHECK_EQ_INT(pclose(p), 0);
  return n;
}

/* A br_table in a loop, of 8 to 4096 entries and 4 to 256 targets, is also
 * written as a computed goto (the function's biggest one only: xl_func.c's
 * br_table()), which gcc (XL_CGOTO) compiles and tcc does not; both give
 * what the wasm says, for every index up to 2^32 - 1 (the default): an
 * interpreter's loop (targets without values), targets that take a value
 * (moved for some, in place for others) and the function's return, four
 * tables in one function, and the tables that stay a switch only (outside a
 * loop, 257 targets); and gcc copies a dispatch into the cases that branch
 * back to it, also where one path's index is a constant. */
TEST(a_br_table_is_a_computed_goto_on_gcc_with_the_same_results) {
  char *wat = NULL;
  size_t wat_len = 0;
  FILE *o = wat_stream(&wat, &wat_len);
  if (!o) return;
  fputs("(module"
        /* 0: ten entries (two repeated) and the default, in a loop */
        " (func (export \"interp\") (param i32 i32) (result i32) (local i32 i32)"
        "  loop block block block block block block block block block block"
        "   local.get 3 local.get 0 i32.eq br_if 9"
        "   local.get 3 i32.const 1 i32.add local.set 3"
        "   local.get 1 i32.const 1103515245 i32.mul i32.const 12345 i32.add local.set 1"
        "   local.get 1 i32.const 28 i32.shr_u br_table 0 1 2 3 4 5 6 7 0 3 8"
        "  end local.get 2 i32.const 1 i32.add local.set 2 br 9"
        "  end local.get 2 local.get 1 i32.xor local.set 2 br 8"
        "  end local.get 2 i32.const 3 i32.mul local.set 2 br 7"
        "  end local.get 2 i32.const 5 i32.rotl local.set 2 br 6"
        "  end local.get 2 local.get 3 i32.sub local.set 2 br 5"
        "  end local.get 2 i32.const 1 i32.shr_u local.set 2 br 4"
        "  end local.get 2 local.get 1 i32.const 16 i32.shr_u i32.add local.set 2 br 3"
        "  end local.get 2 i32.const -1 i32.xor local.set 2 br 2"
        "  end local.get 2 i32.const 7 i32.add local.set 2 br 1"
        "  end end local.get 2)"
        /* 1: a value to a (moved: a holds nothing below it), b and c (in
         * place: 9 is below them; b adds it) and the function (a return) */
        " (func (export \"pick\") (param i32 i32) (result i32)"
        "  loop (result i32) block (result i32) i32.const 9"
        "   block (result i32) block (result i32)"
        "    local.get 1 local.get 0 br_table 2 1 0 4 1 2 0 4 2 1"
        "   end i32.const 1000 i32.add br 1"
        "  end i32.add end i32.const 30000 i32.add end)"
        /* 2: tables of 8, 12, 16 (3 targets) and 7 entries, in a loop */
        " (func (export \"sizes\") (param i32) (result i32) (local i32) loop",
        o);
  fallthrough_table(o, 8, 4);
  fallthrough_table(o, 12, 5);
  fallthrough_table(o, 16, 3);
  fallthrough_table(o, 7, 4);
  fputs(" end local.get 1)"
        /* 3: the same table not in a loop; 4: in a loop with 257 targets */
        " (func (export \"outside\") (param i32) (result i32) (local i32)",
        o);
  fallthrough_table(o, 12, 5);
  fputs(" local.get 1) (func (export \"many\") (param i32) (result i32) (local i32) loop", o);
  fallthrough_table(o, 300, 257);
  fputs(" end local.get 1)"
        /* 5: a dispatch at the loop's head, which every case but the last
         * branches back to unconditionally (the last ends the loop from step
         * local 0 on) */
        " (func (export \"threaded\") (param i32 i32) (result i32) (local i32 i32)",
        o);
  dispatch_loop(o, "", "br_table 0 1 2 3 4 5 6 7 7", " local.get 3 local.get 0 i32.lt_u br_if 0");
  /* 6: the same cases, every one branching back, with the exit as the
   * table's default chosen by select: a constant index on one path, which
   * gcc must not take through the table at compile time (XL_OPAQUE): it would
   * test the exit in front of the dispatch */
  fputs(" (func (export \"selected\") (param i32 i32) (result i32) (local i32 i32)", o);
  dispatch_loop(o, " i32.const 8 local.get 3 local.get 0 i32.le_u select",
                "br_table 0 1 2 3 4 5 6 7 9", " br 0");
  fputs(")", o);
  size_t len;
  uint8_t *wasm;
  char *c = assembled_and_translated(o, &wat, &wasm, &len);
  /* one table of each function taken: interp's and pick's, the 12 of sizes
   * (not the 8 before it; the 16 has too few targets, the 7 too few
   * entries: switches only); none outside a loop or of 257 targets */
  CHECK_EQ_INT(c ? cgoto_entries(c, 0) : 0, 11);
  CHECK_EQ_INT(c ? cgoto_entries(c, 1) : 0, 10);
  CHECK_EQ_INT(c ? cgoto_entries(c, 2) : 0, 12);
  /* pick's targets that move a value or return are local labels (T...:;),
   * the others its blocks' own */
  CHECK_EQ_INT(c ? occurrences_in(c, 1, "\nT") : 0, 2);
  CHECK_EQ_INT(c ? occurrences_in(c, 2, "#if XL_CGOTO && 0\n") : 9, 1);
  CHECK_EQ_INT(c ? occurrences_in(c, 2, "switch (") : 0, 4);
  CHECK_EQ_INT(c ? occurrences_in(c, 3, "#if XL_CGOTO") : 9, 0);
  CHECK_EQ_INT(c ? occurrences_in(c, 4, "#if XL_CGOTO") : 9, 0);
  CHECK_EQ_INT(c ? occurrences_in(c, 4, "switch (") : 0, 1);
  free(c);
  /* on the opt tier gcc copies threaded's and selected's dispatch into their
   * 8 cases (toolchain.c's max-goto-duplication-insns; 1 indirect jump
   * without it, and selected 1 without XL_OPAQUE) */
  fresh_cache();
  mote_compile_options opt = options(MOTE_TIER_OPT);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(wasm ? mote_compile(wasm, len, &opt, &r, &err) : MOTE_COMPILE_OK, MOTE_COMPILE_OK);
  CHECK(wasm && indirect_jumps(r.so_path, 5) >= 8);
  CHECK(wasm && indirect_jumps(r.so_path, 6) >= 8);
  static const uint32_t ks[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 100,
                                0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff};
  for (int tier = MOTE_TIER_OPT; wasm && tier <= MOTE_TIER_QUICK; tier++) {
    mote_rt_module *m;
    mote_rt_instance *inst = compiled_instance(wasm, len, (mote_tier)tier, &m);
    mote_rt_error rerr;
    char what[96];
    for (uint32_t seed = 1; inst && seed <= 5; seed++) {
      mote_val args[2] = {{.i32 = 300 * seed}, {.i32 = seed * 7919u}}, res[1];
      CHECK_EQ_INT(call_export_args(inst, m, "interp", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "interp(%u) on tier %d: %u", 300 * seed, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == interp_reference(300 * seed, seed * 7919u), what);
      CHECK_EQ_INT(call_export_args(inst, m, "threaded", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "threaded(%u) on tier %d: %u", 300 * seed, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == threaded_reference(300 * seed, seed * 7919u), what);
      CHECK_EQ_INT(call_export_args(inst, m, "selected", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "selected(%u) on tier %d: %u", 300 * seed, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == selected_reference(300 * seed, seed * 7919u), what);
    }
    for (size_t i = 0; inst && i < sizeof ks / sizeof ks[0]; i++) {
      static const uint32_t pick_adds[10] = {30000, 30009, 31000, 0,     30009,
                                             30000, 31000, 0,     30000, 30009};
      uint32_t k = ks[i];
      mote_val args[2] = {{.i32 = k}, {.i32 = 5}}, res[1];
      CHECK_EQ_INT(call_export_args(inst, m, "pick", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "pick(%#x) on tier %d: %u", k, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == 5 + pick_adds[k < 9 ? k : 9], what);
      CHECK_EQ_INT(call_export_args(inst, m, "sizes", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "sizes(%#x) on tier %d: %u", k, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == fallthrough_adds(k, 8, 4) + fallthrough_adds(k, 12, 5) +
                                  fallthrough_adds(k, 16, 3) + fallthrough_adds(k, 7, 4),
                what);
      CHECK_EQ_INT(call_export_args(inst, m, "outside", args, res, &rerr), MOTE_RT_OK);
      CHECK_EQ_INT(res[0].i32, fallthrough_adds(k, 12, 5));
      CHECK_EQ_INT(call_export_args(inst, m, "many", args, res, &rerr), MOTE_RT_OK);
      CHECK_EQ_INT(res[0].i32, fallthrough_adds(k, 300, 257));
    }
    if (inst) mote_rt_instance_free(inst);
    mote_rt_module_free(m);
  }
  free(wasm);
}

/* Case k (not 2 or 7) of the machine exports' and the nested export's
 * tables on acc. */
static uint32_t machine_step(uint32_t acc, uint32_t k) {
  switch (k) {
    case 0: return acc + 1;
    case 1: return acc * 3;
    case 3: return acc << 7 | acc >> 25;
    case 4: return acc >> 1;
    case 5: return acc + 11;
    default: return acc ^ 13;
  }
}

/* The machine exports' loop as C: n steps of a machine of eight states
 * from state x (index state - 1; 0 and anything past 8 are the last case),
 * whose last case goes to state 5, or (varying) to x & 7. */
static uint32_t machine_reference(uint32_t n, uint32_t x, bool varying) {
  uint32_t s = x, acc = 0;
  for (; n; n--) {
    static const uint32_t next[7] = {5, 2, 7, 3, 8, 4, 1};
    uint32_t k = s - 1;
    if (k >= 7) {
      acc -= 5, s = varying ? x & 7 : 5;
      continue;
    }
    acc = k == 2 ? acc ^ x : machine_step(acc, k);
    s = next[k];
  }
  return acc;
}

/* The nested export's loops as C: n times an opcode (n ^ x) & 7 (n counting
 * down), whose case 7 dispatches again to case 2 (an inner loop). */
static uint32_t nested_reference(uint32_t n, uint32_t x) {
  uint32_t acc = 0;
  while (n) {
    n--;
    uint32_t op = (n ^ x) & 7;
    if (op == 7) acc -= 5, op = 2;
    acc = op == 2 ? acc ^ x : machine_step(acc, op);
  }
  return acc;
}

/* Appends to `o` a function `name` (params n, x; locals state, acc) whose
 * loop is machine_reference's, its last case setting the state by `last`. */
static void machine_func(FILE *o, const char *name, const char *last) {
  fprintf(o,
          " (func (export \"%s\") (param i32 i32) (result i32) (local i32 i32)"
          "  local.get 1 local.set 2"
          "  block loop local.get 0 i32.eqz br_if 1"
          "   local.get 0 i32.const 1 i32.sub local.set 0"
          "   block block block block block block block block"
          "    local.get 2 i32.const 1 i32.sub br_table 0 1 2 3 4 5 6 7 7"
          "   end local.get 3 i32.const 1 i32.add local.set 3 i32.const 5 local.set 2 br 7"
          "   end local.get 3 i32.const 3 i32.mul local.set 3 i32.const 2 local.set 2 br 6"
          "   end local.get 3 local.get 1 i32.xor local.set 3 i32.const 7 local.set 2 br 5"
          "   end local.get 3 i32.const 7 i32.rotl local.set 3 i32.const 3 local.set 2 br 4"
          "   end local.get 3 i32.const 1 i32.shr_u local.set 3 i32.const 8 local.set 2 br 3"
          "   end local.get 3 i32.const 11 i32.add local.set 3 i32.const 4 local.set 2 br 2"
          "   end local.get 3 i32.const 13 i32.xor local.set 3 i32.const 1 local.set 2 br 1"
          "   end local.get 3 i32.const 5 i32.sub local.set 3 %s local.set 2 br 0"
          "  end end local.get 3)",
          name, last);
}

/* A state machine's loop (a br_table on a local that each case sets to a
 * constant: the next state) keeps the switch on gcc, which threads each
 * transition into a direct jump (a computed goto's it does not); what the
 * local held before the loop does not count. One case setting the state
 * from something else makes it a dispatch again, and so does a loop around
 * that sets it otherwise (an interpreter's fetch). All give what the wasm
 * says on both tiers. */
TEST(a_state_machine_keeps_the_switch) {
  char *wat = NULL;
  size_t wat_len = 0;
  FILE *o = wat_stream(&wat, &wat_len);
  if (!o) return;
  fputs("(module", o);
  machine_func(o, "constant", "i32.const 5");
  machine_func(o, "varying", "local.get 1 i32.const 7 i32.and");
  /* 2: an interpreter whose outer loop sets the opcode and whose inner loop
   * dispatches on it, one case setting it to a constant and dispatching
   * again: not a state machine (the loop around sets it otherwise) */
  fputs(" (func (export \"nested\") (param i32 i32) (result i32) (local i32 i32)"
        "  block loop local.get 0 i32.eqz br_if 1"
        "   local.get 0 i32.const 1 i32.sub local.tee 0 local.get 1 i32.xor i32.const 7 i32.and"
        "   local.set 2"
        "   loop block block block block block block block block"
        "    local.get 2 br_table 0 1 2 3 4 5 6 7 7"
        "   end local.get 3 i32.const 1 i32.add local.set 3 br 8"
        "   end local.get 3 i32.const 3 i32.mul local.set 3 br 7"
        "   end local.get 3 local.get 1 i32.xor local.set 3 br 6"
        "   end local.get 3 i32.const 7 i32.rotl local.set 3 br 5"
        "   end local.get 3 i32.const 1 i32.shr_u local.set 3 br 4"
        "   end local.get 3 i32.const 11 i32.add local.set 3 br 3"
        "   end local.get 3 i32.const 13 i32.xor local.set 3 br 2"
        "   end local.get 3 i32.const 5 i32.sub local.set 3 i32.const 2 local.set 2 br 0"
        "  end end end local.get 3))",
        o);
  size_t len;
  uint8_t *wasm;
  char *c = assembled_and_translated(o, &wat, &wasm, &len);
  CHECK_EQ_INT(c ? cgoto_entries(c, 0) : 9, 0);
  CHECK_EQ_INT(c ? occurrences_in(c, 0, "#if XL_CGOTO && 0\n") : 0, 1);
  CHECK_EQ_INT(c ? cgoto_entries(c, 1) : 0, 9);
  CHECK_EQ_INT(c ? cgoto_entries(c, 2) : 0, 9);
  free(c);
  for (int tier = MOTE_TIER_OPT; wasm && tier <= MOTE_TIER_QUICK; tier++) {
    mote_rt_module *m;
    mote_rt_instance *inst = compiled_instance(wasm, len, (mote_tier)tier, &m);
    mote_rt_error rerr;
    char what[96];
    for (uint32_t x = 0; inst && x <= 10; x++) {
      mote_val args[2] = {{.i32 = 1000 + x}, {.i32 = x}}, res[1];
      CHECK_EQ_INT(call_export_args(inst, m, "constant", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "constant(%u) on tier %d: %u", x, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == machine_reference(1000 + x, x, false), what);
      CHECK_EQ_INT(call_export_args(inst, m, "varying", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "varying(%u) on tier %d: %u", x, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == machine_reference(1000 + x, x, true), what);
      CHECK_EQ_INT(call_export_args(inst, m, "nested", args, res, &rerr), MOTE_RT_OK);
      snprintf(what, sizeof what, "nested(%u) on tier %d: %u", x, tier, res[0].i32);
      CHECK_MSG(res[0].i32 == nested_reference(1000 + x, x), what);
    }
    if (inst) mote_rt_instance_free(inst);
    mote_rt_module_free(m);
  }
  free(wasm);
}

/* Calls export `index` with an i32 and an f32; the call's status. */
static mote_rt_status call_if(mote_rt_instance *inst, uint32_t index, uint32_t a, float b,
                              mote_rt_error *err) {
  mote_val args[2] = {{.i32 = a}, {.f32 = b}}, res[1];
  return mote_rt_call(inst, index, args, res, err);
}

/* x = load a; store a, x + y: the translator writes the load without its
 * barrier (the store traps where it would); out of bounds it still traps,
 * before anything after it, on both tiers. */
TEST(a_float_load_written_back_traps_where_it_is) {
  size_t len;
  uint8_t *wasm = test_wat(
      "(module (memory (export \"mem\") 1) (global $g (mut i32) (i32.const 0))"
      " (func (export \"acc\") (param i32 f32)"
      "  (f32.store (local.get 0) (f32.add (f32.load (local.get 0)) (local.get 1))))"
      " (func (export \"acc_then\") (param i32 f32)"
      "  (f32.store (local.get 0) (f32.mul (local.get 1) (f32.load (local.get 0))))"
      "  (global.set $g (i32.const 1))"
      "  (f32.store (local.get 0) (local.get 1)))"
      " (func (export \"mul1\") (param i32 f32)"
      "  (f32.store (local.get 0) (f32.mul (f32.load (local.get 0)) (f32.const 1))))"
      " (func (export \"add0\") (param i32 f32)"
      "  (f32.store (local.get 0) (f32.add (f32.load (local.get 0)) (f32.const -0))))"
      " (func (export \"g\") (param i32 f32) (result i32) (global.get $g)))",
      NULL, &len);
  CHECK(wasm != NULL);
  for (int tier = MOTE_TIER_OPT; wasm && tier <= MOTE_TIER_QUICK; tier++) {
    mote_rt_module *m;
    mote_rt_instance *inst = compiled_instance(wasm, len, (mote_tier)tier, &m);
    mote_rt_error rerr;
    if (inst) {
      uint32_t acc = (uint32_t)mote_rt_module_find_export(m, "acc", 3);
      uint32_t acc_then = (uint32_t)mote_rt_module_find_export(m, "acc_then", 8);
      uint32_t g = (uint32_t)mote_rt_module_find_export(m, "g", 1);
      /* x * 1 and x + -0 store what was loaded: gcc must not see that */
      uint32_t same[2] = {(uint32_t)mote_rt_module_find_export(m, "mul1", 4),
                          (uint32_t)mote_rt_module_find_export(m, "add0", 4)};
      uint8_t *mem =
          mote_rt_instance_export(inst, (uint32_t)mote_rt_module_find_export(m, "mem", 3))
              .binding.memory->data;
      CHECK_EQ_INT(call_if(inst, acc, 16, 2.5f, &rerr), MOTE_RT_OK);
      CHECK_EQ_INT(call_if(inst, acc, 16, 2.5f, &rerr), MOTE_RT_OK);
      float v;
      memcpy(&v, mem + 16, 4);
      CHECK(v == 5.0f);
      uint32_t oob[3] = {65536, 65534, 0xfffffffeu};
      for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(call_if(inst, acc, oob[i], 1.0f, &rerr), MOTE_RT_TRAP);
        CHECK_EQ_INT(rerr.trap, MOTE_TRAP_OOB);
        CHECK_EQ_INT(call_if(inst, acc_then, oob[i], 1.0f, &rerr), MOTE_RT_TRAP);
        CHECK_EQ_INT(rerr.trap, MOTE_TRAP_OOB);
        for (int k = 0; k < 2; k++) {
          CHECK_EQ_INT(call_if(inst, same[k], oob[i], 1.0f, &rerr), MOTE_RT_TRAP);
          CHECK_EQ_INT(rerr.trap, MOTE_TRAP_OOB);
        }
      }
      /* the trap came before the global was set */
      mote_val args[2] = {{.i32 = 0}, {.f32 = 0}}, res[1];
      CHECK_EQ_INT(mote_rt_call(inst, g, args, res, &rerr), MOTE_RT_OK);
      CHECK_EQ_INT(res[0].i32, 0);
      CHECK_EQ_INT(call_if(inst, acc_then, 32, 3.0f, &rerr), MOTE_RT_OK);
      memcpy(&v, mem + 32, 4);
      CHECK(v == 3.0f);
      CHECK_EQ_INT(mote_rt_call(inst, g, args, res, &rerr), MOTE_RT_OK);
      CHECK_EQ_INT(res[0].i32, 1);
      mote_rt_instance_free(inst);
    }
    mote_rt_module_free(m);
  }
  free(wasm);
}

TEST(tail_calls_are_refused_by_the_reader_before_any_tool_runs) {
  size_t len;
  uint8_t *wasm = test_wat("(module (func $f (export \"f\") (result i32) return_call $f))",
                           "--enable-tail-call", &len);
  CHECK(wasm != NULL);
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_UNSUPPORTED);
  CHECK_STR_CONTAINS(err.stage, "read");
  CHECK_STR_CONTAINS(err.message, "tail calls");
  free(wasm);
}

TEST(a_type_error_is_refused_by_the_translator) {
  size_t len;
  uint8_t *wasm =
      test_wat("(module (func (export \"f\") (result i32) i64.const 1))", "--no-check", &len);
  CHECK(wasm != NULL);
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_INVALID);
  CHECK_STR_CONTAINS(err.stage, "translate");
  CHECK_STR_CONTAINS(err.message, "type mismatch");
  free(wasm);
}

TEST(garbage_is_refused_as_malformed) {
  const uint8_t junk[] = "this is not wasm at all";
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(junk, sizeof junk, &o, &r, &err), MOTE_COMPILE_MALFORMED);
  CHECK_STR_CONTAINS(err.stage, "read");
}

TEST(a_compiler_over_its_memory_limit_fails_with_a_named_stage) {
  size_t len;
  uint8_t *wasm = unique_adder(&len);
  mote_compile_options o = options(MOTE_TIER_OPT);
  o.memory_bytes = (size_t)24 << 20;
  mote_compile_result r;
  mote_compile_error err;
  mote_compile_status st = mote_compile(wasm, len, &o, &r, &err);
  CHECK(st == MOTE_COMPILE_LIMIT);
  CHECK(strcmp(err.stage, "translate") == 0 || strcmp(err.stage, "cc") == 0);
  CHECK_STR_CONTAINS(err.message, "memory");
  free(wasm);
}

/* A module big enough to be cut into chunks: 400 functions of ~500 bytes,
 * with locals that vary (the chunk boundaries follow them). `changed` is the
 * constant in function 200, which its export "f200" adds to its argument. */
static uint8_t *big_module_and(uint32_t changed, const char *more, size_t *len) {
  size_t cap = 4 << 20, n = 0;
  char *wat = malloc(cap);
  if (!wat) return NULL;
  n += (size_t)snprintf(wat + n, cap - n, "(module\n%s\n", more);
  for (int f = 0; f < 400; f++) {
    n += (size_t)snprintf(wat + n, cap - n, "(func $f%d (export \"f%d\") (param i32) (result i32)", f, f);
    for (int k = 0; k < f % 7; k++) n += (size_t)snprintf(wat + n, cap - n, " (local i64)");
    n += (size_t)snprintf(wat + n, cap - n, "\n local.get 0 i32.const %u i32.add\n",
                          f == 200 ? changed : 0x10000000u + (unsigned)f);
    for (int k = 0; k < 30; k++)
      n += (size_t)snprintf(wat + n, cap - n, " i32.const %u i32.xor i32.const 0x7654321 i32.add\n",
                            0x12345678u + (unsigned)k);
    for (int k = 0; k < 30; k++)
      n += (size_t)snprintf(wat + n, cap - n, " i32.const 0x7654321 i32.sub i32.const %u i32.xor\n",
                            0x12345678u + (unsigned)(29 - k));
    n += (size_t)snprintf(wat + n, cap - n, ")\n");
  }
  snprintf(wat + n, cap - n, ")\n");
  uint8_t *wasm = test_wat(wat, NULL, len);
  free(wat);
  return wasm;
}

static uint8_t *big_module(uint32_t changed, size_t *len) {
  return big_module_and(changed, "", len);
}

/* big_module with data: an active segment of 4096 bytes `fill` at 16, read
 * by "active" (load8_u at its argument), and a passive one of 8 bytes fill
 * + 1, which "passive" copies to 8192 (memory.init) and reads at 8192 + its
 * argument. */
static uint8_t *big_module_with_data(char fill, size_t *len) {
  char more[4600], active[4097], passive[9];
  memset(active, fill, 4096);
  active[4096] = 0;
  memset(passive, fill + 1, 8);
  passive[8] = 0;
  snprintf(more, sizeof more,
           "(memory 1) (data (i32.const 16) \"%s\") (data \"%s\")\n"
           "(func (export \"active\") (param i32) (result i32) local.get 0 i32.load8_u)\n"
           "(func (export \"passive\") (param i32) (result i32)\n"
           " i32.const 8192 i32.const 0 i32.const 8 memory.init 1\n"
           " local.get 0 i32.const 8192 i32.add i32.load8_u)",
           active, passive);
  return big_module_and(0x10000003u, more, len);
}

/* One function, "active", and big_module_with_data's active segment: a
 * module below the chunks' size, translated as one unit. */
static uint8_t *small_module_with_data(char fill, size_t *len) {
  char wat[4400], active[4097];
  memset(active, fill, 4096);
  active[4096] = 0;
  snprintf(wat, sizeof wat,
           "(module (memory 1) (data (i32.const 16) \"%s\")\n"
           "(func (export \"active\") (param i32) (result i32) local.get 0 i32.load8_u))",
           active);
  return test_wat(wat, NULL, len);
}

static uint32_t call_f200(const char *so_path, uint32_t arg) {
  return call_i32(so_path, "f200", &arg, 1);
}

/* A redeploy with one function changed recompiles only that function's
 * chunk: the other chunks' objects come from the chunk cache. */
TEST(one_function_changed_rebuilds_only_its_chunk) {
  for (int tier = MOTE_TIER_OPT; tier <= MOTE_TIER_QUICK; tier++) {
    fresh_cache();
    size_t len1, len2;
    uint8_t *a = big_module(0x10000001u, &len1), *b = big_module(0x10000002u, &len2);
    CHECK(a && b && len1 == len2);
    mote_compile_options o = options((mote_tier)tier);
    o.chunk_bytes = 64 << 10; /* the quick tier's own chunks hold this whole module */
    mote_compile_result r1, r2;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(a, len1, &o, &r1, &err), MOTE_COMPILE_OK);
    CHECK(r1.chunks >= 3); /* the core and at least two chunks of functions */
    CHECK_EQ_INT(r1.chunks_built, r1.chunks);
    CHECK_EQ_INT(mote_compile(b, len2, &o, &r2, &err), MOTE_COMPILE_OK);
    CHECK(!r2.cached);
    CHECK_EQ_INT(r2.chunks, r1.chunks);
    CHECK_EQ_INT(r2.chunks_built, 1);
    CHECK(r2.peak_rss_kb > 0);
    /* each object has its own code */
    uint32_t x1 = call_f200(r1.so_path, 5), x2 = call_f200(r2.so_path, 5);
    CHECK(x1 != 0xdeadbeef && x2 != 0xdeadbeef && x1 != x2);
    free(a);
    free(b);
  }
}

/* An eager object's data segments are an object of their own, not C: a
 * redeploy that changes only data bytes rebuilds no chunk (the C names
 * places in the data, which did not move), and each object reads its own. */
TEST(data_changed_rebuilds_no_chunk_and_each_object_reads_its_own) {
  for (int tier = MOTE_TIER_OPT; tier <= MOTE_TIER_QUICK; tier++) {
    fresh_cache();
    size_t len1, len2;
    uint8_t *a = big_module_with_data('a', &len1), *b = big_module_with_data('b', &len2);
    CHECK(a && b && len1 == len2);
    mote_compile_options o = options((mote_tier)tier);
    o.chunk_bytes = 64 << 10;
    mote_compile_result r1, r2;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(a, len1, &o, &r1, &err), MOTE_COMPILE_OK);
    CHECK(r1.chunks >= 3);
    CHECK_EQ_INT(r1.chunks_built, r1.chunks);
    CHECK_EQ_INT(mote_compile(b, len2, &o, &r2, &err), MOTE_COMPILE_OK);
    CHECK(!r2.cached);
    CHECK_EQ_INT(r2.chunks_built, 0);
    uint32_t at[3] = {16, 16 + 4095, 4112}; /* the first and last bytes, and the one after */
    const uint32_t want[3] = {'a', 'a', 0};
    for (int i = 0; i < 3; i++) {
      CHECK_EQ_INT(call_i32(r1.so_path, "active", &at[i], 1), want[i]);
      CHECK_EQ_INT(call_i32(r2.so_path, "active", &at[i], 1), want[i] ? 'b' : 0);
    }
    uint32_t first = 0, last = 7;
    CHECK_EQ_INT(call_i32(r1.so_path, "passive", &first, 1), 'b');
    CHECK_EQ_INT(call_i32(r1.so_path, "passive", &last, 1), 'b');
    CHECK_EQ_INT(call_i32(r2.so_path, "passive", &last, 1), 'c');
    free(a);
    free(b);
  }
}

/* Whether the ELF object at path has a PT_GNU_STACK without execute. */
static bool stack_header_without_exec(const char *path) {
  FILE *f = fopen(path, "rb");
  Elf64_Ehdr eh;
  bool found = false;
  if (f && fread(&eh, sizeof eh, 1, f) == 1 && fseek(f, (long)eh.e_phoff, SEEK_SET) == 0) {
    Elf64_Phdr ph;
    for (unsigned i = 0; i < eh.e_phnum && fread(&ph, sizeof ph, 1, f) == 1; i++)
      if (ph.p_type == PT_GNU_STACK) found = !(ph.p_flags & PF_X);
  }
  if (f) fclose(f);
  return found;
}

/* Whether n bytes of `fill` lie in a segment the ELF object at path maps
 * executable. */
static bool fill_in_executable_segment(const char *path, char fill, size_t n) {
  size_t len;
  uint8_t *b = mote_read_file(path, &len);
  bool found = false;
  if (b && len >= sizeof(Elf64_Ehdr)) {
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)b;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
      Elf64_Phdr ph;
      if (eh->e_phoff + (i + 1) * sizeof ph > len) break;
      memcpy(&ph, b + eh->e_phoff + i * sizeof ph, sizeof ph);
      if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || ph.p_offset + ph.p_filesz > len)
        continue;
      for (size_t at = ph.p_offset, run = 0; at < ph.p_offset + ph.p_filesz && !found; at++)
        found = (run = b[at] == (uint8_t)fill ? run + 1 : 0) >= n;
    }
  }
  free(b);
  return found;
}

/* What the dynamic loader sees of a loaded object's program headers. */
typedef struct seen_headers {
  const char *name; /* the object's file name */
  int loads, stacks, found;
} seen_headers;

static int see_headers(struct dl_phdr_info *info, size_t size, void *ctx) {
  (void)size;
  seen_headers *s = ctx;
  const char *slash = strrchr(info->dlpi_name, '/');
  if (!slash || strcmp(slash + 1, s->name) != 0) return 0;
  s->found++;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    if (info->dlpi_phdr[i].p_type == PT_LOAD) s->loads++;
    if (info->dlpi_phdr[i].p_type == PT_GNU_STACK && !(info->dlpi_phdr[i].p_flags & PF_X))
      s->stacks++;
  }
  return 0;
}

/* What the loader sees of the loaded object at so_path's program headers:
 * at least one PT_LOAD and one PT_GNU_STACK without execute (a copied table
 * inside a loaded segment's .bss was zeroed by the loader, and filled by a
 * lazy object's slots). */
static void check_loaded_headers(const char *so_path) {
  seen_headers s = {strrchr(so_path, '/') + 1, 0, 0, 0};
  dl_iterate_phdr(see_headers, &s);
  CHECK_EQ_INT(s.found, 1);
  CHECK(s.loads >= 1);
  CHECK_EQ_INT(s.stacks, 1);
}

/* Whether this process's main stack is mapped executable. */
static bool stack_is_executable(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  char line[512];
  bool x = false;
  while (f && fgets(line, sizeof line, f))
    if (strstr(line, "[stack]")) x = strchr(line, ' ')[3] == 'x'; /* "lo-hi rwxp" */
  if (f) fclose(f);
  return x;
}

/* tcc links objects without a PT_GNU_STACK, and glibc's dlopen of one made
 * the process's stacks executable: every built object has one (where the
 * loader sees it), and its data segments are not in an executable segment.
 * Both tiers: one unit, chunked, and (quick) lazy. This test must be the
 * first in this file to load a quick object: one without the header taints
 * the process for good. */
TEST(a_built_object_leaves_the_stack_not_executable) {
  CHECK(!stack_is_executable());
  static const struct {
    mote_tier tier;
    bool chunked, lazy;
  } kinds[] = {{MOTE_TIER_QUICK, false, false}, {MOTE_TIER_QUICK, true, false},
               {MOTE_TIER_QUICK, false, true},  {MOTE_TIER_QUICK, true, true},
               {MOTE_TIER_OPT, false, false},   {MOTE_TIER_OPT, true, false}};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    fresh_cache();
    if (kinds[k].lazy) setenv("MOTE_QUICK_LAZY", "always", 1);
    size_t len;
    uint8_t *wasm = kinds[k].chunked ? big_module_with_data('s', &len)
                                     : small_module_with_data('s', &len);
    CHECK(wasm != NULL);
    mote_compile_options o = options(kinds[k].tier);
    o.chunk_bytes = 64 << 10;
    mote_compile_result r;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
    if (!kinds[k].lazy) CHECK_EQ_INT(r.chunks > 1, kinds[k].chunked);
    CHECK(stack_header_without_exec(r.so_path));
    /* nor are the guest's data bytes mapped as code */
    CHECK(!fill_in_executable_segment(r.so_path, 's', 4096));
    uint32_t at = 16;
    CHECK_EQ_INT(call_i32_and(r.so_path, "active", &at, 1, check_loaded_headers), 's');
    unsetenv("MOTE_QUICK_LAZY"); /* (its load checks the bytes against a lazy key) */
    CHECK(!stack_is_executable());
    free(wasm);
  }
}

/* The program headers of type `type` in the ELF object at path, each made
 * type `to` with `flags` added (to == type, flags 0: only counted). How many
 * there were. */
static int edit_phdrs(const char *path, uint32_t type, uint32_t to, uint32_t flags) {
  FILE *f = fopen(path, "r+b");
  Elf64_Ehdr eh;
  int n = 0;
  if (f && fread(&eh, sizeof eh, 1, f) == 1) {
    for (unsigned i = 0; i < eh.e_phnum; i++) {
      Elf64_Phdr ph;
      long at = (long)(eh.e_phoff + i * sizeof ph);
      if (fseek(f, at, SEEK_SET) != 0 || fread(&ph, sizeof ph, 1, f) != 1) break;
      if (ph.p_type != type) continue;
      ph.p_type = to;
      ph.p_flags |= flags;
      n += fseek(f, at, SEEK_SET) == 0 && fwrite(&ph, sizeof ph, 1, f) == 1;
    }
  }
  if (f) fclose(f);
  return n;
}


/* An object that would make the stacks executable is not loaded: its
 * PT_GNU_STACK taken away (made PT_NULL), the runtime refuses it. */
/* The entries of directory path whose names contain `part`, or -1 if it
 * cannot be read. */
static int entries_naming(const char *path, const char *part) {
  DIR *d = opendir(path);
  if (!d) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) n += strstr(e->d_name, part) != NULL;
  closedir(d);
  return n;
}

/* mote_compile of wasm on the quick tier in a child process whose files may
 * not grow past `limit` bytes (RLIMIT_FSIZE, SIGXFSZ ignored: the write
 * fails with EFBIG instead): its status, and its message in msg. */
static mote_compile_status compile_with_file_limit(const uint8_t *wasm, size_t len, rlim_t limit,
                                                   char *msg, size_t cap) {
  int fds[2];
  msg[0] = 0;
  if (pipe(fds) != 0) return MOTE_COMPILE_OK;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {limit, limit};
    mote_compile_options o = options(MOTE_TIER_QUICK);
    mote_compile_result r;
    mote_compile_error err = {0};
    mote_compile_status st =
        setrlimit(RLIMIT_FSIZE, &rl) == 0 ? mote_compile(wasm, len, &o, &r, &err) : MOTE_COMPILE_OK;
    bool sent = write(fds[1], &st, sizeof st) == sizeof st &&
                write(fds[1], err.message, sizeof err.message) == sizeof err.message;
    _exit(sent ? 0 : 1);
  }
  close(fds[1]);
  mote_compile_status st = MOTE_COMPILE_OK;
  mote_compile_error got = {0};
  bool read_all = pid > 0 && read(fds[0], &st, sizeof st) == sizeof st &&
                  read(fds[0], got.message, sizeof got.message) == sizeof got.message;
  close(fds[0]);
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0);
  CHECK(read_all);
  snprintf(msg, cap, "%.*s", (int)sizeof got.message - 1, got.message);
  return st;
}

/* The data segments' object cannot be written (it would pass the file size
 * limit; the C, which names the bytes without holding them, is well under
 * it): the compile fails as io with the reason, and leaves nothing in the
 * cache, neither an object nor its work directory. */
TEST(a_data_object_that_cannot_be_written_fails_as_io_and_leaves_nothing) {
  fresh_cache();
  enum { DATA = 256 << 10 };
  char *wat = malloc(DATA + 256);
  CHECK(wat != NULL);
  if (!wat) return;
  int n = snprintf(wat, 256, "(module (memory 8) (func (export \"f%ld\")) (data (i32.const 0) \"",
                   (long)getpid());
  memset(wat + n, 'd', DATA);
  strcpy(wat + n + DATA, "\"))");
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  free(wat);
  CHECK(wasm != NULL);
  if (!wasm) return;
  char msg[512];
  CHECK_EQ_INT(compile_with_file_limit(wasm, len, 160 << 10, msg, sizeof msg), MOTE_COMPILE_IO);
  CHECK_STR_CONTAINS(msg, "cannot write to the cache");
  CHECK_STR_CONTAINS(msg, strerror(EFBIG));
  char key[65], so[256], tmp[256];
  mote_cache_key(wasm, len, MOTE_TIER_QUICK, key);
  snprintf(so, sizeof so, "%s/%s.so", cache_dir, key);
  CHECK(access(so, F_OK) != 0);
  snprintf(tmp, sizeof tmp, "%s/tmp", cache_dir);
  char key16[17];
  snprintf(key16, sizeof key16, "%.16s", key);
  CHECK_EQ_INT(entries_naming(tmp, key16), 0); /* the work directory's name holds it */
  /* and without the limit it builds */
  mote_compile_options o = options(MOTE_TIER_QUICK);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  free(wasm);
}

TEST(an_object_without_a_stack_header_is_not_loaded) {
  mote_compile_result r;
  size_t len;
  uint8_t *wasm = quick_adder(&r, &len);
  CHECK_EQ_INT(edit_phdrs(r.so_path, PT_GNU_STACK, PT_NULL, 0), 1);
  CHECK(!mote_elf_stack_safe(r.so_path));
  mote_rt_module *m = NULL;
  mote_rt_error rerr;
  CHECK_EQ_INT(mote_rt_module_load(r.so_path, &m, &rerr), MOTE_RT_LOAD_FAILED);
  CHECK_STR_CONTAINS(rerr.message, "executable stack");
  CHECK(!stack_is_executable());
  free(wasm);
}

/* The mark cannot write the copied table (in a child whose files may not
 * grow past 64 KiB, SIGXFSZ ignored; the object is past that already): -1
 * with EFBIG, and the object is as it was, still refused by the loader's
 * check; without the limit it is marked. */
TEST(a_mark_that_cannot_write_fails_and_leaves_the_object_as_it_was) {
  mote_compile_result r;
  size_t len, before_len = 0, after_len = 0;
  uint8_t *wasm = quick_adder(&r, &len);
  CHECK_EQ_INT(edit_phdrs(r.so_path, PT_GNU_STACK, PT_NULL, 0), 1);
  uint8_t *before = mote_read_file(r.so_path, &before_len);
  CHECK(before_len > (64u << 10));
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {64 << 10, 64 << 10};
    int rc = setrlimit(RLIMIT_FSIZE, &rl) == 0 ? mote_elf_mark_stack(r.so_path) : 0;
    _exit(rc == -1 && errno == EFBIG ? 0 : 1);
  }
  int status = 0;
  CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
        WEXITSTATUS(status) == 0);
  uint8_t *after = mote_read_file(r.so_path, &after_len);
  CHECK(before && after && before_len == after_len && !memcmp(before, after, before_len));
  CHECK(!mote_elf_stack_safe(r.so_path));
  CHECK_EQ_INT(mote_elf_mark_stack(r.so_path), 0);
  CHECK(mote_elf_stack_safe(r.so_path));
  free(before);
  free(after);
  free(wasm);
}

/* The mark's other paths: a PT_GNU_STACK with execute loses it; an object
 * with a PT_PHDR and no stack header gets the copied table, without the
 * PT_PHDR (glibc would read the old table with the new count), and the
 * loader sees the copy whole. */
TEST(the_mark_clears_an_executable_stack_and_drops_a_phdr_entry) {
  mote_compile_result r;
  size_t len;
  uint8_t *wasm = quick_adder(&r, &len);
  CHECK_EQ_INT(edit_phdrs(r.so_path, PT_GNU_STACK, PT_GNU_STACK, PF_X), 1);
  CHECK(!mote_elf_stack_safe(r.so_path));
  CHECK_EQ_INT(mote_elf_mark_stack(r.so_path), 0);
  CHECK(mote_elf_stack_safe(r.so_path));
  CHECK(stack_header_without_exec(r.so_path));
  CHECK_EQ_INT(edit_phdrs(r.so_path, PT_GNU_STACK, PT_PHDR, 0), 1);
  CHECK(!mote_elf_stack_safe(r.so_path));
  CHECK_EQ_INT(mote_elf_mark_stack(r.so_path), 0);
  CHECK(mote_elf_stack_safe(r.so_path));
  CHECK_EQ_INT(edit_phdrs(r.so_path, PT_PHDR, PT_PHDR, 0), 0);
  uint32_t args[2] = {2, 3};
  CHECK_EQ_INT(call_i32_and(r.so_path, "add", args, 2, check_loaded_headers), 5);
  CHECK(!stack_is_executable());
  /* a file that is no shared object is left alone */
  char junk[128];
  snprintf(junk, sizeof junk, "%s/junk.so", cache_dir);
  FILE *f = fopen(junk, "w");
  CHECK(f && fputs("not an object", f) >= 0 && fclose(f) == 0);
  CHECK_EQ_INT(mote_elf_mark_stack(junk), 0);
  size_t jlen;
  uint8_t *j = mote_read_file(junk, &jlen);
  CHECK(j && jlen == strlen("not an object") && !memcmp(j, "not an object", jlen));
  free(j);
  free(wasm);
}

/* ...and the translated C does not carry the bytes. */
TEST(the_translated_c_names_the_data_without_its_bytes) {
  size_t len;
  uint8_t *wasm = big_module_with_data('a', &len);
  CHECK(wasm != NULL);
  xl_error why;
  char *c = translated(wasm, len, &why);
  CHECK(c != NULL);
  if (c) {
    CHECK(strstr(c, "\\141\\141\\141") == NULL); /* 'a' as the escapes once wrote it */
    CHECK(strstr(c, "#define xl_d0 (xl_data + 0)") != NULL);
    CHECK(strstr(c, "#define xl_d1 (xl_data + 4096)") != NULL);
  }
  free(c);
  free(wasm);
}

/* The quick tier cuts a big module into fewer, larger chunks than the opt
 * tier (each tcc process costs a start and a parse of mod.h), and the code
 * is the same: here ~200 KiB of code is 2+ chunks on opt and one on quick. */
TEST(the_quick_tier_cuts_larger_chunks) {
  fresh_cache();
  size_t len;
  uint8_t *wasm = big_module(0x1000000bu, &len);
  CHECK(wasm != NULL);
  mote_compile_options opt = options(MOTE_TIER_OPT), quick = options(MOTE_TIER_QUICK);
  mote_compile_result ro, rq;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &opt, &ro, &err), MOTE_COMPILE_OK);
  CHECK_EQ_INT(mote_compile(wasm, len, &quick, &rq, &err), MOTE_COMPILE_OK);
  CHECK(ro.chunks >= 3);
  CHECK_EQ_INT(rq.chunks, 2); /* the core and one chunk of functions */
  CHECK_EQ_INT(rq.chunks_built, 2);
  CHECK_EQ_INT(call_f200(rq.so_path, 7), call_f200(ro.so_path, 7));
  CHECK_EQ_INT(call_f200(rq.so_path, 7), 7u + 0x1000000bu);
  free(wasm);
}

/* A shell script as the opt tier's compiler (MOTE_CC), in the cache
 * directory; the caller unsets MOTE_CC. False (the test failed) if it
 * cannot be written. */
static bool fake_cc(const char *text) {
  char script[160];
  snprintf(script, sizeof script, "%s/fake-gcc", cache_dir);
  FILE *f = fopen(script, "w");
  CHECK(f != NULL);
  if (!f) return false;
  fputs(text, f);
  fclose(f);
  chmod(script, 0755);
  setenv("MOTE_CC", script, 1);
  return true;
}

/* A chunk that gcc -O2 cannot compile within the memory limit is compiled at
 * -O1, and the opt tier still builds. The compiler is a script that plays
 * gcc running out of memory on any chunk compiled without -O1. */
TEST(a_chunk_over_the_memory_limit_is_compiled_at_O1) {
  fresh_cache();
  if (!fake_cc("#!/bin/sh\n"
               "case \" $* \" in *' -c '*) case \" $* \" in *' -O1 '*) ;; *)\n"
               "  echo 'cc1: out of memory allocating 65536 bytes after a total of 1000000000 bytes' >&2\n"
               "  exit 1 ;; esac ;; esac\n"
               "exec gcc \"$@\"\n"))
    return;
  size_t len;
  uint8_t *wasm = big_module(0x10000007u, &len);
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  CHECK(r.chunks >= 3);
  CHECK_EQ_INT(r.chunks_reduced, r.chunks);
  CHECK_EQ_INT(call_f200(r.so_path, 1), call_f200(r.so_path, 1)); /* it runs */
  CHECK(call_f200(r.so_path, 1) != 0xdeadbeef);
  unsetenv("MOTE_CC");
  free(wasm);
}

/* A chunk's compiler over its CPU time is said to be so, and is not taken
 * for one out of memory: no second compile at -O1 (which doubled the time a
 * runaway chunk took). The compiler is a script that plays gcc: its cc1 (a
 * subshell) spins on every chunk until the CPU limit kills it, and the
 * driver says so as gcc does; it notes how it was called. */
TEST(a_chunk_over_the_cpu_limit_fails_as_such_and_is_not_compiled_again) {
  fresh_cache();
  char calls[200], text[512];
  snprintf(calls, sizeof calls, "%s/calls", cache_dir);
  snprintf(text, sizeof text,
           "#!/bin/sh\n"
           "case \" $* \" in *' -c '*) echo \"$*\" >> %s; (while :; do :; done)\n"
           "  echo 'gcc: fatal error: CPU time limit exceeded signal terminated program cc1' >&2\n"
           "  exit 1 ;; esac\n"
           "exec gcc \"$@\"\n", calls);
  if (!fake_cc(text)) return;
  size_t len;
  uint8_t *wasm = big_module(0x10000009u, &len);
  mote_compile_options o = options(MOTE_TIER_OPT);
  o.cpu_seconds = 1;
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_LIMIT);
  CHECK_STR_CONTAINS(err.message, "CPU time limit exceeded signal terminated program cc1");
  size_t n = 0;
  char *log = (char *)mote_read_file(calls, &n);
  CHECK(log != NULL && n > 0);
  CHECK(log && !memmem(log, n, " -O1 ", 5)); /* (the file's bytes are not a C string) */
  free(log);
  unsetenv("MOTE_CC");
  free(wasm);
}

/* A module's C is bounded by its size (xl.h, XL_C_*): a few bytes of wasm
 * that ask for kilobytes of C are refused as over a limit, on both tiers,
 * before the server's memory and time go into them. Each of these took
 * hundreds of MB to GBs of C before (a review's findings). */
static void check_refused_as_too_much_c(const char *wat, const char *what, bool quick_too) {
  size_t len = 0;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  CHECK(wasm != NULL);
  if (!wasm) return;
  for (int tier = MOTE_TIER_OPT; tier <= (quick_too ? MOTE_TIER_QUICK : MOTE_TIER_OPT); tier++) {
    fresh_cache();
    mote_compile_options o = options((mote_tier)tier);
    mote_compile_result r;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_LIMIT);
    CHECK_STR_CONTAINS(err.message, what);
    CHECK_STR_CONTAINS(err.stage, "translate");
  }
  free(wasm);
}

/* WebAssembly text built piece by piece (1 MiB at most). */
typedef struct wat_text {
  char *p;
  size_t n, cap;
} wat_text;

__attribute__((format(printf, 2, 3))) static void wat_add(wat_text *w, const char *fmt, ...) {
  if (!w->p && !(w->p = malloc(w->cap = 1 << 20))) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(w->p + w->n, w->cap - w->n, fmt, ap);
  va_end(ap);
  if (k > 0) w->n += (size_t)k < w->cap - w->n ? (size_t)k : w->cap - w->n - 1;
}

/* 2000 br_if to a block of 200 results, entered with a value below them, so
 * that each copies all 200 into the block's slots (8 KB of wasm, 5.6 MB of
 * C; 50,000 of 1000 results were 740 MB) */
TEST(a_branch_that_copies_hundreds_of_values_thousands_of_times_is_refused) {
  wat_text w = {0};
  wat_add(&w, "(module (type $t (func (result");
  for (int i = 0; i < 200; i++) wat_add(&w, " i64");
  wat_add(&w, ")))\n(func (export \"f\")\nblock (type $t)\ni32.const 7\n");
  for (int i = 0; i < 200; i++) wat_add(&w, "i64.const %d\n", i);
  for (int i = 0; i < 2000; i++) wat_add(&w, "i32.const 0 br_if 0\n");
  wat_add(&w, "br 0\nend\n");
  for (int i = 0; i < 200; i++) wat_add(&w, "drop\n");
  wat_add(&w, "))\n");
  CHECK(w.p != NULL);
  if (w.p) check_refused_as_too_much_c(w.p, "its C would take more than", true);
  free(w.p);
}

/* Two functions declaring 50000 locals each in one group of 6 bytes (the
 * text format has no groups of many, so the module is written by hand):
 * 1.4 MB of C from 36 bytes; 200 such functions were 157 MB. */
TEST(functions_declaring_tens_of_thousands_of_locals_in_a_few_bytes_are_refused) {
  uint8_t m[64];
  size_t k = 0;
  static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0,
                                 1, 4, 1, 0x60, 0, 0, /* type 0: [] -> [] */
                                 3, 3, 2, 0, 0};      /* two functions of type 0 */
  memcpy(m, head, sizeof head);
  k = sizeof head;
  /* code: 2 bodies, each: size 6, 1 group of 50000 (0xd0 0x86 0x03) i32, end */
  static const uint8_t code[] = {10, 15, 2, 6, 1, 0xd0, 0x86, 0x03, 0x7f, 0x0b,
                                 6, 1, 0xd0, 0x86, 0x03, 0x7f, 0x0b};
  memcpy(m + k, code, sizeof code);
  k += sizeof code;
  for (int tier = MOTE_TIER_OPT; tier <= MOTE_TIER_QUICK; tier++) {
    fresh_cache();
    mote_compile_options o = options((mote_tier)tier);
    mote_compile_result r;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(m, k, &o, &r, &err), MOTE_COMPILE_LIMIT);
    CHECK_STR_CONTAINS(err.message, "its C would take more than");
  }
}

/* 3000 imports of a type of 1000 parameters (27 KB of wasm, 80 MB of
 * prototypes and trampolines) */
TEST(thousands_of_imports_of_a_type_of_a_thousand_parameters_are_refused) {
  wat_text w = {0};
  wat_add(&w, "(module (type $w (func (param");
  for (int i = 0; i < 1000; i++) wat_add(&w, " i64");
  wat_add(&w, ")))\n");
  for (int i = 0; i < 3000; i++) wat_add(&w, "(import \"m\" \"f%d\" (func (type $w)))\n", i);
  wat_add(&w, ")\n");
  CHECK(w.p != NULL);
  /* (the quick tier refuses a type of more than 250 before translating) */
  if (w.p) check_refused_as_too_much_c(w.p, "parameters and results", false);
  free(w.p);
}

/* A function of a type the module does not have is refused, on every tier,
 * before anything reads its type (the budget's first count of parameters
 * read it, and a deploy of such a module crashed the server: the spec
 * suite's func, func_ptrs and imports found it). */
TEST(a_function_of_an_unknown_type_is_refused_not_read) {
  static const uint8_t m[] = {0, 'a', 's', 'm', 1, 0, 0, 0,
                              1, 4, 1, 0x60, 0, 0, /* type 0 */
                              3, 2, 1, 5,          /* function 0 of type 5 */
                              10, 4, 1, 2, 0, 0x0b};
  for (int tier = MOTE_TIER_OPT; tier <= MOTE_TIER_QUICK; tier++) {
    fresh_cache();
    mote_compile_options o = options((mote_tier)tier);
    mote_compile_result r;
    mote_compile_error err;
    CHECK(mote_compile(m, sizeof m, &o, &r, &err) != MOTE_COMPILE_OK);
    CHECK_STR_CONTAINS(err.message, "type");
  }
}

/* The module's budget is not spent on what a function does not write: 400,000
 * functions of `end` (1.6 MB) compile, as before the budget. Its first
 * counts charged each function for all eight kinds of stack slot, used or
 * not, and refused this (a review). The compiler is a stub: the test is the
 * translation's. */
TEST(hundreds_of_thousands_of_tiny_functions_fit_the_budget) {
  uint32_t n = 400000;
  size_t cap = 64 + 4 * (size_t)n;
  uint8_t *m = malloc(cap);
  CHECK(m != NULL);
  if (!m) return;
  size_t k = 0;
  static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0};
  memcpy(m, head, sizeof head);
  k = sizeof head;
  /* function section: id, size (LEB of 3 + n), count (LEB of 3), n zeros */
  size_t size = 3 + n;
  m[k++] = 3;
  for (int i = 0; i < 3; i++) m[k++] = (uint8_t)(((size >> (7 * i)) & 0x7f) | (i < 2 ? 0x80 : 0));
  for (int i = 0; i < 3; i++) m[k++] = (uint8_t)(((n >> (7 * i)) & 0x7f) | (i < 2 ? 0x80 : 0));
  memset(m + k, 0, n);
  k += n;
  /* code section: count, then n bodies of {size 2, no locals, end} */
  size = 3 + 3 * (size_t)n;
  m[k++] = 10;
  for (int i = 0; i < 4; i++) m[k++] = (uint8_t)(((size >> (7 * i)) & 0x7f) | (i < 3 ? 0x80 : 0));
  for (int i = 0; i < 3; i++) m[k++] = (uint8_t)(((n >> (7 * i)) & 0x7f) | (i < 2 ? 0x80 : 0));
  for (uint32_t f = 0; f < n; f++) m[k++] = 2, m[k++] = 0, m[k++] = 0x0b;
  fresh_cache();
  if (fake_cc("#!/bin/sh\n"
              "while [ $# -gt 0 ]; do if [ \"$1\" = -o ]; then : > \"$2\"; fi; shift; done\n")) {
    mote_compile_options o = options(MOTE_TIER_OPT);
    mote_compile_result r;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(m, k, &o, &r, &err), MOTE_COMPILE_OK);
    unsetenv("MOTE_CC");
  }
  free(m);
}

/* Duplicate export names are found by sorting now: the first export that
 * repeats an earlier name is the one named, as when each was compared with
 * all before it. */
TEST(the_first_export_repeating_a_name_is_named) {
  size_t len = 0;
  uint8_t *wasm = test_wat("(module (func $a) (func $b)"
                           " (export \"y\" (func $a)) (export \"x\" (func $a))"
                           " (export \"z\" (func $a)) (export \"x\" (func $b))"
                           " (export \"y\" (func $b)))",
                           "--no-check", &len);
  CHECK(wasm != NULL);
  if (!wasm) return;
  fresh_cache();
  mote_compile_options o = options(MOTE_TIER_QUICK);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_INVALID);
  CHECK_STR_CONTAINS(err.message, "duplicate export name (export 3)");
  free(wasm);
  /* and an export's bad index after a repeated name: the name's error, the
   * first met in export order */
  wasm = test_wat("(module (func $a) (export \"a\" (func $a)) (export \"a\" (func $a))"
                  " (export \"b\" (func 5)))", "--no-check", &len);
  CHECK(wasm != NULL);
  if (!wasm) return;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_INVALID);
  CHECK_STR_CONTAINS(err.message, "duplicate export name (export 1)");
  free(wasm);
}

/* The budget is not spent on what the function's declarations hold
 * elsewhere: 450 parameters (in its prototype) and a call of a function of
 * 300 results (a line of 300 slots) with bodies of a few bytes compile, as
 * before the budget (its first version refused both). */
TEST(tiny_bodies_of_wide_functions_compile) {
  wat_text w = {0};
  wat_add(&w, "(module (func $p (export \"p\") (param");
  for (int i = 0; i < 450; i++) wat_add(&w, " i32");
  wat_add(&w, ") local.get 0 drop)\n(func $r (result");
  for (int i = 0; i < 300; i++) wat_add(&w, " i32");
  wat_add(&w, ")");
  for (int i = 0; i < 300; i++) wat_add(&w, " i32.const %d", i);
  wat_add(&w, ")\n(func (export \"fwd\") (result");
  for (int i = 0; i < 300; i++) wat_add(&w, " i32");
  wat_add(&w, ") call $r))\n");
  size_t len = 0;
  uint8_t *wasm = w.p ? test_wat(w.p, NULL, &len) : NULL;
  free(w.p);
  CHECK(wasm != NULL);
  if (!wasm) return;
  fresh_cache();
  mote_compile_options o = options(MOTE_TIER_OPT);
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  free(wasm);
}

/* A cache directory named relative to the working directory (mote serve
 * --data build/run-data): the chunks' objects must reach the linker, which
 * runs elsewhere (a relative path made `make run`'s resize fail to link). */
TEST(a_relative_cache_directory_links_its_chunks) {
  for (int tier = MOTE_TIER_OPT; tier <= MOTE_TIER_QUICK; tier++) {
    fresh_cache();
    char here[PATH_MAX];
    CHECK(getcwd(here, sizeof here) != NULL);
    CHECK_EQ_INT(chdir(cache_dir), 0);
    size_t len;
    uint8_t *wasm = big_module(0x10000009u + (uint32_t)tier, &len);
    mote_compile_options o = {.cache_dir = "rel", .tier = (mote_tier)tier, .chunk_bytes = 64 << 10};
    mote_compile_result r;
    mote_compile_error err;
    CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
    CHECK(r.chunks >= 3);
    char so[PATH_MAX];
    snprintf(so, sizeof so, "%s/%s", cache_dir, r.so_path);
    CHECK_EQ_INT(chdir(here), 0);
    CHECK(call_f200(r.so_path[0] == '/' ? r.so_path : so, 3) != 0xdeadbeef);
    free(wasm);
  }
}

TEST(a_missing_cache_directory_is_created) {
  char dir[128];
  snprintf(dir, sizeof dir, "%s/deeper", cache_dir);
  size_t len;
  uint8_t *wasm = unique_adder(&len);
  mote_compile_options o = {.cache_dir = dir, .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_error err;
  CHECK_EQ_INT(mote_compile(wasm, len, &o, &r, &err), MOTE_COMPILE_OK);
  struct stat st;
  CHECK_EQ_INT(stat(r.so_path, &st), 0);
  free(wasm);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", cache_dir);
  CHECK_EQ_INT(system(cmd), 0);
}

RUN_TESTS(a_built_object_leaves_the_stack_not_executable,
          an_object_without_a_stack_header_is_not_loaded,
          a_data_object_that_cannot_be_written_fails_as_io_and_leaves_nothing,
          a_mark_that_cannot_write_fails_and_leaves_the_object_as_it_was,
          the_mark_clears_an_executable_stack_and_drops_a_phdr_entry,
          compiles_then_finds_it_in_the_cache,
          a_big_modules_key_is_hashed_beside_its_read,
          tiers_have_their_own_entries_and_agree,
          a_comparison_before_clz_ctz_or_a_division_keeps_its_value,
          each_instruction_set_has_its_own_entries_and_they_agree,
          a_call_indirect_of_200_parameters_compiles_on_both_tiers,
          a_stopped_compile_kills_its_compiler_and_caches_nothing,
          a_compile_stopped_while_its_compiler_runs_is_killed,
          a_corrupt_entry_is_rebuilt, concurrent_compiles_of_one_module_do_the_work_once,
          simd_compiles_and_runs_on_both_tiers, conversions_of_constants_trap_and_saturate_as_the_spec_says,
          clangs_guarded_truncation_is_one_conversion_with_the_same_results,
          near_misses_of_the_guarded_truncation_are_translated_as_written,
          invalid_near_matches_of_the_guarded_truncation_are_refused,
          a_br_table_is_a_computed_goto_on_gcc_with_the_same_results,
          a_state_machine_keeps_the_switch,
          a_float_load_written_back_traps_where_it_is,
          tail_calls_are_refused_by_the_reader_before_any_tool_runs,
          a_type_error_is_refused_by_the_translator, garbage_is_refused_as_malformed,
          a_compiler_over_its_memory_limit_fails_with_a_named_stage,
          one_function_changed_rebuilds_only_its_chunk,
          data_changed_rebuilds_no_chunk_and_each_object_reads_its_own,
          the_translated_c_names_the_data_without_its_bytes, the_quick_tier_cuts_larger_chunks,
          a_chunk_over_the_memory_limit_is_compiled_at_O1,
          a_chunk_over_the_cpu_limit_fails_as_such_and_is_not_compiled_again,
          a_branch_that_copies_hundreds_of_values_thousands_of_times_is_refused,
          functions_declaring_tens_of_thousands_of_locals_in_a_few_bytes_are_refused,
          thousands_of_imports_of_a_type_of_a_thousand_parameters_are_refused,
          the_first_export_repeating_a_name_is_named, tiny_bodies_of_wide_functions_compile,
          a_function_of_an_unknown_type_is_refused_not_read,
          hundreds_of_thousands_of_tiny_functions_fit_the_budget,
          a_relative_cache_directory_links_its_chunks, a_missing_cache_directory_is_created)
