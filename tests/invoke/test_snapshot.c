/*
 * invoke: runs from a snapshot (mote_invoke_prepare) against the same runs
 * made the slow way (instantiate, mote_init, _start every time). Modules are
 * .wat, compiled by mote_compile (quick tier, a temporary cache); each
 * reports what it saw through its exit code.
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile/compile.h"
#include "invoke/invoke.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
/* The runtime's SIGSEGV handler must be the one that runs. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1";
}
#endif

static char tmp[PATH_MAX];

static void cleanup(void) {
  char cmd[PATH_MAX + 16];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
  if (tmp[0] && system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", tmp);
}

static mote_rt_module *load_wat(const char *wat) {
  if (!tmp[0]) {
    snprintf(tmp, sizeof tmp, "/tmp/mote-snapshot-test-XXXXXX");
    if (!mkdtemp(tmp)) return NULL;
    atexit(cleanup);
  }
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  if (!wasm) return NULL;
  char cache[PATH_MAX];
  snprintf(cache, sizeof cache, "%s/cache", tmp);
  mote_compile_options o = {.cache_dir = cache, .tier = MOTE_TIER_QUICK};
  mote_compile_result res;
  mote_compile_error cerr;
  mote_compile_status cst = mote_compile(wasm, len, &o, &res, &cerr);
  free(wasm);
  if (cst != MOTE_COMPILE_OK) {
    fprintf(stderr, "compile: %s: %s\n", cerr.stage, cerr.message);
    return NULL;
  }
  mote_rt_module *m = NULL;
  mote_rt_error err;
  mote_rt_init();
  if (mote_rt_module_load(res.so_path, &m, &err) != MOTE_RT_OK) {
    fprintf(stderr, "load: %s\n", err.message);
    return NULL;
  }
  return m;
}

static mote_invoke_config config(mote_rt_module *m, const mote_rt_snapshot *snap) {
  static const char *argv[] = {"f"};
  mote_invoke_config c;
  memset(&c, 0, sizeof c);
  c.module = m;
  c.snapshot = snap;
  c.timeout_ms = 5000;
  c.wasi.argv = argv;
  c.wasi.argc = 1;
  c.wasi.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  c.wasi.stdout_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  c.wasi.stderr_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  return c;
}

/* Runs once; the exit code, or -100 - outcome when it did not exit. */
static int run_code(mote_rt_module *m, const mote_rt_snapshot *snap, uint32_t memory_pages) {
  mote_invoke_config c = config(m, snap);
  c.memory_pages = memory_pages;
  mote_invoke_result r;
  mote_invoke_run(&c, &r);
  int code = r.outcome == MOTE_INVOKE_EXITED ? r.exit_code : -100 - (int)r.outcome;
  if (r.outcome != MOTE_INVOKE_EXITED) fprintf(stderr, "  run: %s\n", r.message);
  mote_invoke_result_clear(&r);
  return code;
}

/* mote_init stores 41 at address 100 (a data segment put 1 at 104), sets a
 * global to 5 and fills table slot 2; _start adds one to each, calls
 * through the table slots (its own function reading the global, and the
 * imported proc_exit) and exits with 41+1 + 5+1 + 1 + slot 2's result.
 * Fresh state every run: 49 every time. */
static const char *counter_wat =
    "(module\n"
    "  (type $exit_t (func (param i32)))\n"
    "  (type $get_t (func (result i32)))\n"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (type $exit_t)))\n"
    "  (memory (export \"memory\") 1)\n"
    "  (data (i32.const 104) \"\\01\")\n"
    "  (global $g (mut i32) (i32.const 0))\n"
    "  (table $t 3 funcref)\n"
    "  (elem (i32.const 0) $exit $get)\n"
    "  (elem declare func $seven)\n"
    "  (func $get (type $get_t) (global.get $g))\n"
    "  (func $seven (type $get_t) (i32.const 7))\n"
    "  (func (export \"mote_init\")\n"
    "    (i32.store (i32.const 100) (i32.const 41))\n"
    "    (global.set $g (i32.const 5))\n"
    "    (table.set $t (i32.const 2) (ref.func $seven)))\n"
    "  (func (export \"_start\")\n"
    "    (i32.store (i32.const 100) (i32.add (i32.load (i32.const 100)) (i32.const 1)))\n"
    "    (global.set $g (i32.add (global.get $g) (i32.const 1)))\n"
    "    (i32.add (i32.add (i32.load (i32.const 100)) (call_indirect (type $get_t) (i32.const 1)))\n"
    "             (i32.add (i32.load (i32.const 104)) (call_indirect (type $get_t) (i32.const 2))))\n"
    "    (call_indirect (type $exit_t) (i32.const 0))))\n";

TEST(snapshot_runs_start_from_the_initialised_state) {
  mote_rt_module *m = load_wat(counter_wat);
  CHECK(m != NULL);
  if (!m) return;
  mote_invoke_config c = config(m, NULL);
  mote_rt_snapshot *snap = NULL;
  mote_invoke_result r;
  CHECK(mote_invoke_prepare(&c, &snap, &r) == MOTE_INVOKE_EXITED);
  CHECK(snap != NULL);
  mote_invoke_result_clear(&r);
  /* 42 + 6 + 1 + 7: the same on every run, from the snapshot or not. */
  for (int i = 0; i < 3; i++) CHECK_EQ_INT(run_code(m, snap, 0), 56);
  CHECK_EQ_INT(run_code(m, NULL, 0), 56);
  CHECK_EQ_INT(run_code(m, NULL, 0), 56);
  /* The image holds only the non-zero bytes: far less than the 64 KiB page. */
  CHECK(mote_rt_snapshot_image_bytes(snap) < 1024);
  mote_rt_snapshot_free(snap);
  mote_rt_module_free(m);
}

TEST(snapshot_memory_over_the_limit_is_a_limit) {
  /* mote_init grows memory to 4 pages; a run capped at 2 cannot hold it. */
  mote_rt_module *m = load_wat(
      "(module\n"
      "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
      "  (memory (export \"memory\") 1)\n"
      "  (func (export \"mote_init\") (drop (memory.grow (i32.const 3))))\n"
      "  (func (export \"_start\") (call $exit (memory.size))))\n");
  CHECK(m != NULL);
  if (!m) return;
  mote_invoke_config c = config(m, NULL);
  mote_rt_snapshot *snap = NULL;
  mote_invoke_result r;
  CHECK(mote_invoke_prepare(&c, &snap, &r) == MOTE_INVOKE_EXITED);
  mote_invoke_result_clear(&r);
  CHECK(snap != NULL);
  CHECK_EQ_INT(run_code(m, snap, 0), 4);
  CHECK_EQ_INT(run_code(m, snap, 8), 4);
  CHECK_EQ_INT(run_code(m, snap, 2), -100 - (int)MOTE_INVOKE_LIMIT);
  mote_rt_snapshot_free(snap);
  mote_rt_module_free(m);
}

/* Initialisations that cannot be snapshotted fail prepare clearly. */
TEST(failed_initialisations_are_reported) {
  static const struct {
    const char *init_body;
    mote_invoke_outcome want;
  } cases[] = {
      {"(unreachable)", MOTE_INVOKE_TRAP},
      {"(call $exit (i32.const 0))", MOTE_INVOKE_INIT},
      {"(call $exit (i32.const 3))", MOTE_INVOKE_INIT},
      /* Closing stdout: a call would start with fd 1 closed in the guest's
       * libc but open in its new context. */
      {"(drop (call $close (i32.const 1)))", MOTE_INVOKE_INIT},
      {"(loop $l (br $l))", MOTE_INVOKE_TIMEOUT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char wat[1024];
    snprintf(wat, sizeof wat,
             "(module\n"
             "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
             "  (import \"wasi_snapshot_preview1\" \"fd_close\" (func $close (param i32) (result i32)))\n"
             "  (memory (export \"memory\") 1)\n"
             "  (func (export \"mote_init\") %s)\n"
             "  (func (export \"_start\")))\n",
             cases[i].init_body);
    mote_rt_module *m = load_wat(wat);
    CHECK(m != NULL);
    if (!m) continue;
    mote_invoke_config c = config(m, NULL);
    /* The loop must time out; the others must fail for their own reason,
     * not because a loaded machine held the thread past a short deadline. */
    c.timeout_ms = cases[i].want == MOTE_INVOKE_TIMEOUT ? 200 : 60000;
    mote_rt_snapshot *snap = NULL;
    mote_invoke_result r;
    mote_invoke_outcome o = mote_invoke_prepare(&c, &snap, &r);
    if (o != cases[i].want) fprintf(stderr, "  case %zu: %s: %s\n", i, mote_invoke_outcome_name(o), r.message);
    CHECK_EQ_INT((int)o, (int)cases[i].want);
    CHECK(snap == NULL);
    CHECK(r.message[0] != '\0');
    /* and the thread's deadline is gone, whatever the failure: one left
     * armed would stop this thread's next untimed work */
    CHECK(mote_rt_deadline_at() == UINT64_MAX);
    mote_invoke_result_clear(&r);
    mote_rt_module_free(m);
  }
}

/* Two preopens swapped by the initialisation (through fd_renumber, with a
 * spare fd) keep their fds and names, but not their directories: a snapshot
 * of that would start every call with "/a" on "/b"'s fd. Refused as other
 * changed fds are (until stop 30 only names were compared, and it passed). */
TEST(swapped_preopens_are_not_snapshotted) {
  char a[PATH_MAX], b[PATH_MAX];
  snprintf(a, sizeof a, "%s/a", tmp);
  snprintf(b, sizeof b, "%s/b", tmp);
  CHECK(mkdir(a, 0755) == 0 && mkdir(b, 0755) == 0);
  mote_rt_module *m = load_wat(
      "(module\n"
      "  (import \"wasi_snapshot_preview1\" \"path_open\"\n"
      "    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))\n"
      "  (import \"wasi_snapshot_preview1\" \"fd_renumber\" (func $renum (param i32 i32) (result i32)))\n"
      "  (memory (export \"memory\") 1)\n"
      "  (data (i32.const 0) \".\")\n"
      "  (func $dir (param $at i32) (result i32)\n"
      "    (drop (call $open (local.get $at) (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 2)\n"
      "                      (i64.const 0) (i64.const 0) (i32.const 0) (i32.const 16)))\n"
      "    (i32.load (i32.const 16)))\n"
      "  (func (export \"mote_init\") (local $x i32)\n"
      "    (local.set $x (call $dir (i32.const 3)))\n"           /* 5 */
      "    (drop (call $renum (i32.const 4) (local.get $x)))\n"  /* 5: /b; 4 free */
      "    (local.set $x (call $dir (i32.const 3)))\n"           /* 4 */
      "    (drop (call $renum (i32.const 3) (local.get $x)))\n"  /* 4: /a; 3 free */
      "    (local.set $x (call $dir (i32.const 4)))\n"           /* 3 */
      "    (drop (call $renum (i32.const 5) (local.get $x))))\n" /* 3: /b; 5 free */
      "  (func (export \"_start\")))\n");
  CHECK(m != NULL);
  if (!m) return;
  mote_invoke_config c = config(m, NULL);
  mote_wasi_preopen dirs[2] = {{.host_path = a, .guest_path = "/a"},
                               {.host_path = b, .guest_path = "/b"}};
  c.wasi.preopens = dirs;
  c.wasi.npreopens = 2;
  mote_rt_snapshot *snap = NULL;
  mote_invoke_result r;
  mote_invoke_outcome o = mote_invoke_prepare(&c, &snap, &r);
  CHECK_EQ_INT((int)o, (int)MOTE_INVOKE_INIT);
  CHECK_STR_CONTAINS(r.message, "changed the open directories");
  CHECK(snap == NULL);
  mote_invoke_result_clear(&r);
  mote_rt_module_free(m);
}

TEST(modules_that_cannot_be_snapshotted_initialise_every_run) {
  /* A funcref global would point into the donor instance. */
  mote_rt_module *m = load_wat(
      "(module\n"
      "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
      "  (memory (export \"memory\") 1)\n"
      "  (func $f)\n"
      "  (global $r (mut funcref) (ref.func $f))\n"
      "  (func (export \"mote_init\") (i32.store (i32.const 0) (i32.add (i32.load (i32.const 0)) (i32.const 1))))\n"
      "  (func (export \"_start\") (call $exit (i32.load (i32.const 0)))))\n");
  CHECK(m != NULL);
  if (!m) return;
  mote_invoke_config c = config(m, NULL);
  mote_rt_snapshot *snap = NULL;
  mote_invoke_result r;
  CHECK(mote_invoke_prepare(&c, &snap, &r) == MOTE_INVOKE_EXITED);
  CHECK(snap == NULL);
  CHECK(strstr(r.message, "cannot be snapshotted") != NULL);
  mote_invoke_result_clear(&r);
  CHECK_EQ_INT(run_code(m, NULL, 0), 1);
  CHECK_EQ_INT(run_code(m, NULL, 0), 1);
  mote_rt_module_free(m);
}


/* Isolation on every way a memory comes back (snapshot.c, image.c): the
 * image is 4 pages, pages 0 and 2 filled by mote_init with a pattern, 1 and
 * 3 zero (a hole in a mapped image, and its zero tail). Every run checks
 * that each byte is the image's (exit 1) and that 2 grown pages are zero
 * (exit 3), then writes every byte of all 6 pages: the next run must see
 * the image again. */
static const char *isolation_wat =
    "(module\n"
    "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
    "  (memory (export \"memory\") 4)\n"
    "  (func $want (param $i i32) (result i32)\n"
    "    (if (result i32) (i32.and (i32.shr_u (local.get $i) (i32.const 16)) (i32.const 1))\n"
    "      (then (i32.const 0))\n"
    "      (else (i32.or (i32.and (i32.add (i32.mul (local.get $i) (i32.const 31))\n"
    "                                      (i32.shr_u (local.get $i) (i32.const 12)))\n"
    "                             (i32.const 0xff)) (i32.const 1)))))\n"
    "  (func (export \"peek\") (param i32) (result i32) (i32.load8_u (local.get 0)))\n"
    "  (func (export \"mote_init\") (local $i i32)\n"
    "    (loop $l\n"
    "      (i32.store8 (local.get $i) (call $want (local.get $i)))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br_if $l (i32.lt_u (local.get $i) (i32.const 0x40000)))))\n"
    "  (func (export \"_start\") (local $i i32)\n"
    "    (loop $l\n"
    "      (if (i32.ne (i32.load8_u (local.get $i)) (call $want (local.get $i)))\n"
    "        (then (call $exit (i32.const 1))))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br_if $l (i32.lt_u (local.get $i) (i32.const 0x40000))))\n"
    "    (if (i32.ne (memory.grow (i32.const 2)) (i32.const 4)) (then (call $exit (i32.const 2))))\n"
    "    (loop $z\n"
    "      (if (i32.load8_u (local.get $i)) (then (call $exit (i32.const 3))))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br_if $z (i32.lt_u (local.get $i) (i32.const 0x60000))))\n"
    "    (local.set $i (i32.const 0))\n"
    "    (loop $w\n"
    "      (i32.store8 (local.get $i) (i32.xor (call $want (local.get $i)) (i32.const 0x5a)))\n"
    "      (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
    "      (br_if $w (i32.lt_u (local.get $i) (i32.const 0x60000))))\n"
    "    (call $exit (i32.const 0))))\n";

typedef struct iso_run {
  mote_rt_module *m;
  const mote_rt_snapshot *snap;
  int runs, bad;
} iso_run;

static void *iso_main(void *p) {
  iso_run *r = p;
  for (int i = 0; i < r->runs; i++)
    if (run_code(r->m, r->snap, 0) != 0) r->bad++;
  return NULL;
}

/* The snapshot mote_invoke_prepare takes of m, with the runtime's policy
 * set to `mode` meanwhile; NULL (and a failed check) if there is none. */
static mote_rt_snapshot *prepared(mote_rt_module *m, mote_rt_image_mode mode) {
  mote_rt_snapshot_policy_set(mode);
  mote_invoke_config c = config(m, NULL);
  mote_rt_snapshot *snap = NULL;
  mote_invoke_result r;
  CHECK(mote_invoke_prepare(&c, &snap, &r) == MOTE_INVOKE_EXITED);
  mote_invoke_result_clear(&r);
  mote_rt_snapshot_policy_set(MOTE_RT_IMAGE_AUTO);
  CHECK(snap != NULL);
  return snap;
}

/* An instance straight from the snapshot (proc_exit bound to abort: what
 * runs here never calls it). */
static mote_rt_instance *instance_of(const mote_rt_snapshot *snap) {
  const mote_abi_module *abi = mote_rt_module_abi(mote_rt_snapshot_module(snap));
  mote_rt_extern imp = {.type = abi->imports[0].type};
  imp.binding.func.fn = (wasm_rt_function_ptr_t)abort;
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  CHECK(mote_rt_snapshot_instantiate(snap, &imp, NULL, &inst, &err) == MOTE_RT_OK);
  return inst;
}

static void isolation_in_mode(mote_rt_module *m, mote_rt_image_mode mode) {
  mote_rt_snapshot *snap = prepared(m, mode);
  if (!snap) return;
  mote_rt_image_mode got = mote_rt_snapshot_mode(snap);
  if (mode == MOTE_RT_IMAGE_MAP && got == MOTE_RT_IMAGE_MAP_DROP)
    fprintf(stderr, "  note: this kernel has no PAGEMAP_SCAN: map runs as map-drop\n");
  else
    CHECK_EQ_INT((int)got, (int)mode);
  /* One thread: the same slot again and again. */
  for (int i = 0; i < 20; i++) CHECK_EQ_INT(run_code(m, snap, 0), 0);
  /* Two threads at once: slots change hands. */
  iso_run runs[2] = {{m, snap, 30, 0}, {m, snap, 30, 0}};
  pthread_t th[2];
  for (int t = 0; t < 2; t++) CHECK(pthread_create(&th[t], NULL, iso_main, &runs[t]) == 0);
  for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
  CHECK_EQ_INT(runs[0].bad + runs[1].bad, 0);
  /* The slots those runs grew are back to the image's size: the byte past
   * it traps, the last one inside reads the image (0: page 3 is zero). */
  mote_rt_instance *inst = instance_of(snap);
  if (inst) {
    mote_val arg = {.i32 = 0x40000}, res;
    mote_rt_error err;
    uint32_t peek = (uint32_t)mote_rt_module_find_export(m, "peek", 4);
    CHECK_EQ_INT(mote_rt_call(inst, peek, &arg, &res, &err), MOTE_RT_TRAP);
    CHECK_EQ_INT(err.trap, MOTE_TRAP_OOB);
    arg.i32 = 0x3ffff;
    CHECK_EQ_INT(mote_rt_call(inst, peek, &arg, &res, &err), MOTE_RT_OK);
    CHECK_EQ_INT(res.i32, 0);
    arg.i32 = 0x20001;
    CHECK_EQ_INT(mote_rt_call(inst, peek, &arg, &res, &err), MOTE_RT_OK);
    CHECK_EQ_INT(res.i32, ((0x20001 * 31 + (0x20001 >> 12)) & 0xff) | 1);
    mote_rt_instance_free(inst);
  }
  /* Slots waiting in the image are dropped by a trim, and come back. */
  mote_rt_memory_pool_trim();
  CHECK_EQ_INT(run_code(m, snap, 0), 0);
  /* A run capped below the image cannot have it. */
  CHECK_EQ_INT(run_code(m, snap, 3), -100 - (int)MOTE_INVOKE_LIMIT);
  mote_rt_snapshot_free(snap);
}

TEST(every_reset_path_isolates_calls) {
  mote_rt_module *m = load_wat(isolation_wat);
  CHECK(m != NULL);
  if (!m) return;
  isolation_in_mode(m, MOTE_RT_IMAGE_COPY);
  isolation_in_mode(m, MOTE_RT_IMAGE_MAP);
  isolation_in_mode(m, MOTE_RT_IMAGE_MAP_DROP);
  /* Without a snapshot, the slow way: the same answers. */
  CHECK_EQ_INT(run_code(m, NULL, 0), 0);
  mote_rt_module_free(m);
}

/* The image outlives its snapshot while an instance uses it: a snapshot
 * freed under a running call does not pull the memory away. */
TEST(image_outlives_its_snapshot) {
  mote_rt_module *m = load_wat(isolation_wat);
  CHECK(m != NULL);
  if (!m) return;
  mote_rt_snapshot *snap = prepared(m, MOTE_RT_IMAGE_MAP);
  if (!snap) return;
  mote_rt_instance *inst = instance_of(snap);
  mote_rt_snapshot_free(snap);
  if (!inst) return;
  int32_t ix = mote_rt_module_find_export(m, "memory", 6);
  CHECK(ix >= 0);
  mote_rt_extern mem = mote_rt_instance_export(inst, (uint32_t)ix);
  CHECK(mem.binding.memory != NULL);
  if (mem.binding.memory) {
    CHECK(mem.binding.memory->data[0] == 1);
    mem.binding.memory->data[0] = 0;
  }
  mote_rt_instance_free(inst);
  mote_rt_memory_pool_trim();
  mote_rt_module_free(m);
}

/* A snapshot saved as bytes and loaded again (as after a restart) runs
 * exactly as the one taken: memory, globals, and table slots holding the
 * module's own function and an imported one. */
TEST(saved_snapshot_loads_and_runs) {
  mote_rt_module *m = load_wat(counter_wat);
  CHECK(m != NULL);
  if (!m) return;
  mote_rt_snapshot *snap = prepared(m, MOTE_RT_IMAGE_AUTO);
  if (!snap) return;
  uint8_t *bytes = NULL;
  size_t len = 0;
  mote_rt_error err;
  CHECK(mote_rt_snapshot_save(snap, &bytes, &len, &err) == MOTE_RT_OK);
  mote_rt_snapshot_free(snap);
  if (!bytes) return;
  static const mote_rt_image_mode modes[] = {MOTE_RT_IMAGE_COPY, MOTE_RT_IMAGE_MAP,
                                             MOTE_RT_IMAGE_AUTO};
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    mote_rt_snapshot_policy_set(modes[i]);
    mote_rt_snapshot *loaded = NULL;
    CHECK_MSG(mote_rt_snapshot_load(m, bytes, len, &loaded, &err) == MOTE_RT_OK, err.message);
    mote_rt_snapshot_policy_set(MOTE_RT_IMAGE_AUTO);
    if (!loaded) continue;
    for (int k = 0; k < 3; k++) CHECK_EQ_INT(run_code(m, loaded, 0), 56);
    /* Saved again, the same bytes. */
    uint8_t *again = NULL;
    size_t again_len = 0;
    CHECK(mote_rt_snapshot_save(loaded, &again, &again_len, &err) == MOTE_RT_OK);
    CHECK(again_len == len && again && !memcmp(again, bytes, len));
    free(again);
    mote_rt_snapshot_free(loaded);
  }

  /* Bytes of another module are refused, and so is every truncation and
   * any damaged header byte: never a crash, never a snapshot. */
  mote_rt_module *other = load_wat(isolation_wat);
  CHECK(other != NULL);
  mote_rt_snapshot *bad = NULL;
  if (other) {
    CHECK_EQ_INT(mote_rt_snapshot_load(other, bytes, len, &bad, &err), MOTE_RT_UNSUPPORTED);
    CHECK(bad == NULL && strstr(err.message, "cannot load the snapshot") != NULL);
    mote_rt_module_free(other);
  }
  size_t refused = 0;
  for (size_t cut = 0; cut < len; cut++) {
    if (mote_rt_snapshot_load(m, bytes, cut, &bad, &err) == MOTE_RT_UNSUPPORTED) refused++;
    mote_rt_snapshot_free(bad);
  }
  CHECK_EQ_INT(refused, len);
  for (size_t at = 0; at < 52 && at < len; at++) {
    bytes[at] ^= 0x40;
    CHECK_EQ_INT(mote_rt_snapshot_load(m, bytes, len, &bad, &err), MOTE_RT_UNSUPPORTED);
    mote_rt_snapshot_free(bad);
    bytes[at] ^= 0x40;
  }
  /* Every other byte flipped: refused, or loaded (a flip inside the
   * memory's bytes is not for the runtime to see: the store's hash is); the
   * sanitizers watch that nothing is read out of bounds either way. */
  for (size_t at = 52; at < len; at++) {
    bytes[at] ^= 0xff;
    if (mote_rt_snapshot_load(m, bytes, len, &bad, &err) == MOTE_RT_OK) mote_rt_snapshot_free(bad);
    bytes[at] ^= 0xff;
  }
  free(bytes);
  mote_rt_module_free(m);
}

RUN_TESTS(snapshot_runs_start_from_the_initialised_state, snapshot_memory_over_the_limit_is_a_limit,
          failed_initialisations_are_reported, swapped_preopens_are_not_snapshotted,
          modules_that_cannot_be_snapshotted_initialise_every_run,
          every_reset_path_isolates_calls, image_outlives_its_snapshot,
          saved_snapshot_loads_and_runs)
