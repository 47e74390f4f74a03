/*
 * wasi: the preview1 host functions driven by real modules. tool.c (next to
 * this file) is compiled with clang-19 --target=wasm32-wasi at test time,
 * then by mote_compile (quick tier, a temporary cache), and run in-process
 * with a mote_wasi whose stdout and stderr are captured. Hand-written .wat
 * modules cover what C cannot express (bad pointers).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "compile/compile.h"
#include "rt/rt.h"
#include "test.h"
#include "wasi/wasi.h"

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

static const char *tmpdir(void) {
  if (!tmp[0]) {
    snprintf(tmp, sizeof tmp, "/tmp/mote-wasi-test-XXXXXX");
    if (!mkdtemp(tmp)) abort();
    atexit(cleanup);
  }
  return tmp;
}

static void sh(const char *fmt, const char *arg) {
  char cmd[4 * PATH_MAX];
  snprintf(cmd, sizeof cmd, fmt, arg, arg, arg, arg);
  if (system(cmd) != 0) fprintf(stderr, "failed: %s\n", cmd);
}

/* Compiles wasm bytes into a loaded module (quick tier). */
static mote_rt_module *load_bytes(const uint8_t *wasm, size_t len) {
  char cache[PATH_MAX];
  snprintf(cache, sizeof cache, "%s/cache", tmpdir());
  mote_compile_options o = {.cache_dir = cache, .tier = MOTE_TIER_QUICK};
  mote_compile_result res;
  mote_compile_error cerr;
  if (mote_compile(wasm, len, &o, &res, &cerr) != MOTE_COMPILE_OK) {
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

static mote_rt_module *tool(void) {
  static mote_rt_module *m;
  static bool tried;
  if (tried) return m;
  tried = true;
  char src[PATH_MAX], wasm[PATH_MAX], cmd[3 * PATH_MAX];
  snprintf(src, sizeof src, "%s", __FILE__);
  char *slash = strrchr(src, '/');
  snprintf(slash ? slash + 1 : src, sizeof src - (size_t)(slash ? slash + 1 - src : 0), "tool.c");
  snprintf(wasm, sizeof wasm, "%s/tool.wasm", tmpdir());
  snprintf(cmd, sizeof cmd, "clang-19 --target=wasm32-wasi -O2 '%s' -o '%s'", src, wasm);
  if (system(cmd) != 0) return NULL;
  FILE *f = fopen(wasm, "rb");
  if (!f) return NULL;
  static uint8_t bytes[1 << 20];
  size_t len = fread(bytes, 1, sizeof bytes, f);
  fclose(f);
  return m = load_bytes(bytes, len);
}

typedef struct run_opts {
  const char *const *args; /* after argv[0] = "tool.wasm" */
  const char *const *env;
  const char *dir;         /* host dir preopened as /sb */
  bool writable;
  uint64_t stdout_cap;
  uint32_t max_open;
  const char *stdin_text;
  uint64_t timeout_ms;     /* mote_rt_deadline_set */
} run_opts;

typedef struct run_result {
  mote_rt_status st;
  mote_trap_kind trap;
  uint32_t detail;
  mote_wasi_stop stop;
  char stop_msg[160];
  char *out;               /* captured stdout, NUL-terminated (malloc) */
  size_t out_len;
} run_result;

static run_result run_module(mote_rt_module *m, const run_opts *o) {
  run_result r;
  memset(&r, 0, sizeof r);
  r.st = MOTE_RT_LOAD_FAILED;
  if (!m) return r;
  const char *argv[32] = {"tool.wasm"};
  size_t argc = 1, envc = 0;
  for (; o->args && o->args[argc - 1]; argc++) argv[argc] = o->args[argc - 1];
  while (o->env && o->env[envc]) envc++;
  mote_wasi_preopen pre = {.host_path = o->dir, .guest_path = "/sb", .writable = o->writable};
  mote_wasi_config cfg = {
      .argv = argv, .argc = argc, .env = o->env, .envc = envc,
      .preopens = &pre, .npreopens = o->dir ? 1 : 0,
      .stdin_ = {.kind = o->stdin_text ? MOTE_WASI_STDIO_BUFFER : MOTE_WASI_STDIO_NULL,
                 .data = (const uint8_t *)o->stdin_text,
                 .len = o->stdin_text ? strlen(o->stdin_text) : 0},
      .stdout_ = {.kind = MOTE_WASI_STDIO_BUFFER},
      .stderr_ = {.kind = MOTE_WASI_STDIO_BUFFER},
      .stdout_cap = o->stdout_cap,
      .max_open_files = o->max_open,
  };
  const char *why;
  mote_wasi *w = mote_wasi_new(&cfg, &why);
  CHECK_MSG(w != NULL, why);
  if (!w) return r;
  const mote_abi_module *abi = mote_rt_module_abi(m);
  mote_rt_extern ext[64];
  CHECK(abi->import_count <= 64);
  for (uint32_t i = 0; i < abi->import_count && i < 64; i++) {
    const mote_abi_import *imp = &abi->imports[i];
    bool ok = mote_wasi_resolve(w, imp->module, imp->module_len, imp->name, imp->name_len, &ext[i]);
    CHECK_MSG(ok, imp->name);
  }
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  mote_rt_limits limits = {0};
  if (o->timeout_ms) mote_rt_deadline_set(o->timeout_ms * 1000000u, &err);
  r.st = mote_rt_instantiate(m, ext, &limits, &inst, &err);
  if (r.st == MOTE_RT_OK) {
    mote_wasi_bind_memory(w, inst);
    int32_t start = mote_rt_module_find_export(m, "_start", 6);
    CHECK(start >= 0);
    r.st = mote_rt_call(inst, (uint32_t)start, NULL, NULL, &err);
  }
  if (o->timeout_ms) mote_rt_deadline_clear();
  r.trap = r.st == MOTE_RT_TRAP ? err.trap : MOTE_TRAP_NONE;
  r.detail = err.detail;
  r.stop = mote_wasi_stop_reason(w);
  snprintf(r.stop_msg, sizeof r.stop_msg, "%s", mote_wasi_stop_message(w));
  const uint8_t *data = mote_wasi_stdout(w, &r.out_len);
  r.out = malloc(r.out_len + 1);
  if (r.out_len) memcpy(r.out, data, r.out_len);
  r.out[r.out_len] = '\0';
  if (inst) mote_rt_instance_free(inst);
  mote_wasi_free(w);
  return r;
}

/* The exit code of a run: _start returning is 0, proc_exit(n) is n. */
static long exit_code(const run_result *r) {
  if (r->st == MOTE_RT_OK) return 0;
  if (r->st == MOTE_RT_TRAP && r->trap == MOTE_TRAP_EXIT) return r->detail;
  return -1;
}

static run_result run_tool(const run_opts *o) { return run_module(tool(), o); }

/* A fresh sandbox directory under the temp dir. */
static const char *sandbox(const char *name) {
  static char paths[16][PATH_MAX];
  static int n;
  char *p = paths[n++ % 16];
  snprintf(p, PATH_MAX, "%s/%s", tmpdir(), name);
  sh("rm -rf '%s' && mkdir -p '%s'", p);
  return p;
}

#define LINE(out, text) CHECK_STR_CONTAINS(out, text "\n")

TEST(args_and_env_are_exact) {
  const char *args[] = {"args", "with space", "", "ünï", NULL};
  const char *env[] = {"A=1", "EMPTY=", "B=x=y", NULL};
  setenv("MOTE_HOST_SECRET", "leak", 1);
  run_result r = run_tool(&(run_opts){.args = args, .env = env});
  CHECK_EQ_INT(exit_code(&r), 0);
  CHECK(r.out && !strcmp(r.out, "argv[0]=tool.wasm\nargv[1]=args\nargv[2]=with space\n"
                                "argv[3]=\nargv[4]=ünï\nenv A=1\nenv EMPTY=\nenv B=x=y\n"));
  free(r.out);
  /* No environment configured: none at all. */
  const char *args2[] = {"args", NULL};
  r = run_tool(&(run_opts){.args = args2});
  CHECK(r.out && !strcmp(r.out, "argv[0]=tool.wasm\nargv[1]=args\n"));
  free(r.out);
}

TEST(files_in_a_writable_preopen) {
  const char *dir = sandbox("files");
  const char *args[] = {"files", NULL};
  run_result r = run_tool(&(run_opts){.args = args, .dir = dir, .writable = true});
  CHECK_EQ_INT(exit_code(&r), 0);
  const char *want[] = {
      "create: OK", "open rw: OK", "seek end: 11", "seek 6: 6", "read: world", "tell: 11",
      "pwrite: OK", "pread: HELLO", "fstat: OK", "size: 11 regular: 1", "ftruncate: OK",
      "size after truncate: 3", "mkdir d: OK", "mkdir d again: EEXIST",
      "rename a.txt d/b.txt: OK", "stat a.txt: ENOENT", "symlink d/link -> b.txt: OK",
      "readlink: b.txt", "link is symlink: 1", "target size: 3", "link d/hard: OK",
      "readdir d: 3 entries", "rmdir d (not empty): ENOTEMPTY", "unlink d/link: OK",
      "unlink d/hard: OK", "unlink d/b.txt: OK", "unlink d (a dir): EISDIR", "rmdir d: OK",
      "rmdir d again: ENOENT"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char line[96];
    snprintf(line, sizeof line, "%s\n", want[i]);
    CHECK_STR_CONTAINS(r.out, line);
  }
  free(r.out);
}

TEST(read_only_preopen_refuses_changes) {
  const char *dir = sandbox("ro");
  sh("echo -n content > '%s/existing.txt' && mkdir '%s/subdir'", dir);
  const char *args[] = {"readonly", NULL};
  run_result r = run_tool(&(run_opts){.args = args, .dir = dir, .writable = false});
  CHECK_EQ_INT(exit_code(&r), 0);
  LINE(r.out, "open ro: OK");
  LINE(r.out, "read: content");
  LINE(r.out, "write to ro fd: EBADF"); /* no fd_write right: wasi-libc says EBADF */
  LINE(r.out, "open for write: EROFS");
  LINE(r.out, "create: EROFS");
  LINE(r.out, "truncate: EROFS");
  LINE(r.out, "unlink: EROFS");
  LINE(r.out, "mkdir: EROFS");
  LINE(r.out, "rmdir: EROFS");
  LINE(r.out, "rename: EROFS");
  LINE(r.out, "symlink: EROFS");
  LINE(r.out, "link: EROFS");
  LINE(r.out, "write-open subdir: EISDIR");
  LINE(r.out, "write-open missing: ENOENT");
  LINE(r.out, "write-open ../x: ENOTCAPABLE");
  LINE(r.out, "create-open subdir/new: EROFS");
  LINE(r.out, "symlink to subdir/: EROFS");
  LINE(r.out, "link to subdir/: EROFS");
  LINE(r.out, "stat still there: OK");
  free(r.out);
  struct stat st;
  CHECK(stat(dir, &st) == 0);
  char p[PATH_MAX];
  snprintf(p, sizeof p, "%s/existing.txt", dir);
  CHECK(stat(p, &st) == 0 && st.st_size == 7);
  snprintf(p, sizeof p, "%s/subdir", dir);
  CHECK(stat(p, &st) == 0);
}

/* A fresh sandbox `name` whose subfolder sb (in *dir) is what the guest
 * gets, so that the guest can try to reach the files beside it. */
static const char *sandbox_with_outside(const char *name, char dir[PATH_MAX]) {
  const char *top = sandbox(name);
  snprintf(dir, PATH_MAX, "%s/sb", top);
  sh("mkdir -p '%s/sb'", top);
  return top;
}

/* Whether top/rel exists (not following a last symlink). */
static bool exists_in(const char *top, const char *rel) {
  char p[PATH_MAX];
  struct stat st;
  snprintf(p, sizeof p, "%s/%s", top, rel);
  return lstat(p, &st) == 0;
}

TEST(paths_cannot_escape) {
  char dir[PATH_MAX];
  const char *top = sandbox_with_outside("esc", dir);
  sh("mkdir -p '%s/sb/sub' && echo in > '%s/sb/inside.txt' && echo out > '%s/outside.txt'", top);
  sh("ln -s /etc '%s/sb/abs' && ln -s .. '%s/sb/up' && ln -s /proc/self '%s/sb/proc' && "
     "ln -s /proc/self/fd/0 '%s/sb/fdlink'", top);
  const char *args[] = {"escape", NULL};
  run_result r = run_tool(&(run_opts){.args = args, .dir = dir, .writable = true});
  CHECK_EQ_INT(exit_code(&r), 0);
  LINE(r.out, "open inside.txt: OK");
  LINE(r.out, "open sub/../inside.txt: OK");
  const char *refused[] = {
      "open ../outside.txt", "open sub/../../outside.txt", "open /etc/passwd",
      "open /proc/self/environ", "open abs/passwd", "open up/outside.txt", "open proc/environ",
      "open fdlink", "stat ../outside.txt", "stat up", "stat abs/passwd", "mkdir ../made",
      "mkdir up/made", "unlink up/outside.txt", "rename to ../stolen.txt",
      "rename from up/outside.txt", "link up/outside.txt", "rmdir ..", "open ../inside.txt",
      "open ../../outside.txt"};
  for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
    char line[96];
    snprintf(line, sizeof line, "%s: ENOTCAPABLE\n", refused[i]);
    CHECK_STR_CONTAINS(r.out, line);
  }
  LINE(r.out, "symlink mine -> /etc/passwd: EPERM");
  LINE(r.out, "open sub: OK");
  LINE(r.out, "open on fd 99: EBADF");
  free(r.out);
  CHECK(exists_in(top, "outside.txt")); /* still there */
  CHECK(!exists_in(top, "made"));
  CHECK(!exists_in(top, "stolen.txt"));
}

/* What the WASI test suite checks beyond what Node does alike (issue 16):
 * sockets, fd_prestat_dir_name's short buffer, "." and ".." in fd_readdir,
 * trailing slashes of path_symlink and path_link; none lets a path out. */
TEST(test_suite_edges) {
  char dir[PATH_MAX];
  const char *top = sandbox_with_outside("edges", dir);
  const char *args[] = {"edges", NULL};
  run_result r = run_tool(&(run_opts){.args = args, .dir = dir, .writable = true});
  CHECK_EQ_INT(exit_code(&r), 0);
  LINE(r.out, "sock_shutdown bad fd: EBADF");
  LINE(r.out, "sock_shutdown file: ENOTSOCK");
  LINE(r.out, "sock_recv file: ENOTSOCK");
  LINE(r.out, "sock_accept dir: ENOTSOCK");
  LINE(r.out, "prestat_dir_name 0 bytes: ENAMETOOLONG");
  LINE(r.out, "prestat_dir_name 2 bytes: ENAMETOOLONG");
  LINE(r.out, "prestat_dir_name 4 bytes: OK /sb");
  LINE(r.out, "open empty: OK");
  /* In the kernel's order; "." has the directory's own inode, ".." its
   * parent's, never 0 (3: directory, 4: regular file). */
  const char *empty = r.out ? strstr(r.out, "readdir empty: 2 entries:") : NULL;
  const char *end = empty ? strchr(empty, '\n') : NULL;
  CHECK(end && memmem(empty, (size_t)(end - empty), " .:3:self", 9));
  CHECK(end && memmem(empty, (size_t)(end - empty), " ..:3:parent", 12));
  const char *five[] = {" .:3:self", " ..:3:parent", " entry-0:4:other", " entry-1:4:other",
                        " entry-2:4:other", " entry-3:4:other", " entry-4:4:other"};
  for (size_t i = 0; i < sizeof five / sizeof five[0]; i++) CHECK_STR_CONTAINS(r.out, five[i]);
  CHECK_STR_CONTAINS(r.out, "readdir five: 7 entries:");
  LINE(r.out, "symlink to t/ (absent): ENOENT");
  LINE(r.out, "nothing made: lstat t: ENOENT");
  LINE(r.out, "symlink to t/ (a dir): EEXIST");
  LINE(r.out, "link file to t/ (a dir): EEXIST");
  LINE(r.out, "link t/ (a dir) to u: EPERM");
  LINE(r.out, "symlink to t/ (a file): ENOTDIR");
  LINE(r.out, "link file to t/ (a file): ENOTDIR");
  LINE(r.out, "link file to u/ (absent): ENOENT");
  LINE(r.out, "link file/ to u: ENOTDIR");
  LINE(r.out, "link file/ to u, following: ENOTDIR");
  LINE(r.out, "symlink up -> ..: OK");
  LINE(r.out, "symlink to up/ (leads out): ENOTCAPABLE");
  LINE(r.out, "link file to up/ (leads out): ENOTCAPABLE");
  LINE(r.out, "nothing made: lstat u: ENOENT");
  free(r.out);
  CHECK(!exists_in(top, "t") && !exists_in(top, "u")); /* nothing beside sb either */
}

/* fd_write (and friends) with pointers outside memory: EFAULT, no crash. The
 * module exits with a bitmask of the calls that returned 21. */
TEST(bad_pointers_are_efault) {
  const char *wat =
      "(module\n"
      "  (import \"wasi_snapshot_preview1\" \"fd_write\" (func $w (param i32 i32 i32 i32) (result i32)))\n"
      "  (import \"wasi_snapshot_preview1\" \"fd_read\" (func $r (param i32 i32 i32 i32) (result i32)))\n"
      "  (import \"wasi_snapshot_preview1\" \"args_sizes_get\" (func $as (param i32 i32) (result i32)))\n"
      "  (import \"wasi_snapshot_preview1\" \"random_get\" (func $rg (param i32 i32) (result i32)))\n"
      "  (import \"wasi_snapshot_preview1\" \"path_open\" (func $po (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))\n"
      "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
      "  (memory (export \"memory\") 1)\n"
      "  (global $bits (mut i32) (i32.const 0))\n"
      "  (func $bit (param $n i32) (param $r i32)\n"
      "    (if (i32.eq (local.get $r) (i32.const 21))\n"
      "      (then (global.set $bits (i32.or (global.get $bits) (i32.shl (i32.const 1) (local.get $n)))))))\n"
      "  (func (export \"_start\")\n"
      "    ;; 0: the iovec array itself straddles the end of memory\n"
      "    (call $bit (i32.const 0) (call $w (i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 16)))\n"
      "    ;; 1: an iovec whose buffer runs past the end\n"
      "    (i32.store (i32.const 0) (i32.const 65000)) (i32.store (i32.const 4) (i32.const 10000))\n"
      "    (call $bit (i32.const 1) (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
      "    ;; 2: a buffer whose end wraps around 2^32\n"
      "    (i32.store (i32.const 0) (i32.const 0xfffffff0)) (i32.store (i32.const 4) (i32.const 0x20))\n"
      "    (call $bit (i32.const 2) (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
      "    ;; 3: nwritten out of bounds\n"
      "    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 0))\n"
      "    (call $bit (i32.const 3) (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 0xffffffff)))\n"
      "    ;; 4: a huge iovec count\n"
      "    (call $bit (i32.const 4) (call $w (i32.const 1) (i32.const 0) (i32.const 0x20000000) (i32.const 16)))\n"
      "    ;; 5: fd_read into a buffer past the end\n"
      "    (i32.store (i32.const 0) (i32.const 65535)) (i32.store (i32.const 4) (i32.const 2))\n"
      "    (call $bit (i32.const 5) (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
      "    ;; 6: args_sizes_get with its second pointer past the end\n"
      "    (call $bit (i32.const 6) (call $as (i32.const 0) (i32.const 65533)))\n"
      "    ;; 7: random_get of a range past the end\n"
      "    (call $bit (i32.const 7) (call $rg (i32.const 65000) (i32.const 1000)))\n"
      "    ;; 8: path_open with a path past the end\n"
      "    (call $bit (i32.const 8) (call $po (i32.const 3) (i32.const 0) (i32.const 65530) (i32.const 100)\n"
      "       (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 16)))\n"
      "    ;; 9: a valid write still works afterwards (returns 0, not 21)\n"
      "    (i32.store (i32.const 0) (i32.const 100)) (i32.store (i32.const 4) (i32.const 3))\n"
      "    (i32.store8 (i32.const 100) (i32.const 111)) (i32.store8 (i32.const 101) (i32.const 107))\n"
      "    (i32.store8 (i32.const 102) (i32.const 10))\n"
      "    (if (i32.eqz (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))\n"
      "      (then (global.set $bits (i32.or (global.get $bits) (i32.const 0x200)))))\n"
      "    (call $exit (global.get $bits))))\n";
  size_t len;
  uint8_t *bytes = test_wat(wat, NULL, &len);
  CHECK(bytes != NULL);
  mote_rt_module *m = bytes ? load_bytes(bytes, len) : NULL;
  free(bytes);
  const char *dir = sandbox("efault");
  run_result r = run_module(m, &(run_opts){.dir = dir, .writable = true});
  CHECK_EQ_INT(exit_code(&r), 0x3ff);
  CHECK(r.out && !strcmp(r.out, "ok\n"));
  free(r.out);
  if (m) mote_rt_module_free(m);
}

TEST(stdout_cap_stops_the_run) {
  const char *args[] = {"spam", "100000", NULL};
  run_result r = run_tool(&(run_opts){.args = args, .stdout_cap = 10000});
  CHECK_EQ_INT(r.st, MOTE_RT_TRAP);
  CHECK_EQ_INT(r.trap, MOTE_TRAP_HOST);
  CHECK_EQ_INT(r.stop, MOTE_WASI_STDOUT_LIMIT);
  CHECK_EQ_INT(r.out_len, 10000); /* what fit was written */
  CHECK(!strcmp(r.stop_msg, "stdout exceeded its limit of 10000 bytes"));
  free(r.out);
  /* Under the cap, all of it. */
  const char *args2[] = {"spam", "5000", NULL};
  r = run_tool(&(run_opts){.args = args2, .stdout_cap = 10000});
  CHECK_EQ_INT(exit_code(&r), 0);
  CHECK_EQ_INT(r.out_len, 5000 + strlen("spam done\n"));
  free(r.out);
}

TEST(open_files_are_capped) {
  const char *dir = sandbox("many");
  sh("touch '%s/f'", dir);
  const char *args[] = {"openmany", "100000", NULL};
  run_result r = run_tool(&(run_opts){.args = args, .dir = dir, .max_open = 64});
  CHECK_EQ_INT(exit_code(&r), 0);
  LINE(r.out, "opened 64 failed 99936 first EMFILE");
  LINE(r.out, "open after a close: OK");
  free(r.out);
  /* The node is unaffected: this process can still open files. */
  int fd = open(dir, O_RDONLY);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
}

TEST(proc_exit_codes) {
  const char *codes[] = {"0", "1", "42", "255", "1000"};
  for (size_t i = 0; i < 5; i++) {
    const char *args[] = {"exit", codes[i], NULL};
    run_result r = run_tool(&(run_opts){.args = args});
    CHECK_EQ_INT(exit_code(&r), atol(codes[i]));
    free(r.out);
  }
  const char *bad[] = {"nosuchcommand", NULL};
  run_result r = run_tool(&(run_opts){.args = bad});
  CHECK_EQ_INT(exit_code(&r), 101); /* main's return value */
  free(r.out);
}

TEST(clocks_and_random) {
  const char *args[] = {"clock", NULL};
  run_result r = run_tool(&(run_opts){.args = args});
  CHECK_EQ_INT(exit_code(&r), 0);
  LINE(r.out, "monotonic: increasing");
  LINE(r.out, "slept >= 20ms: 1");
  LINE(r.out, "realtime after 2020: 1");
  LINE(r.out, "res monotonic: OK 1");
  LINE(r.out, "cputime: OK");
  LINE(r.out, "bad clock: EINVAL");
  free(r.out);
  const char *args2[] = {"random", NULL};
  r = run_tool(&(run_opts){.args = args2});
  LINE(r.out, "random: OK OK filled: 1 differ: 1");
  free(r.out);
}

TEST(stdin_from_memory) {
  const char *args[] = {"cat", NULL};
  const char *text = "line one\nline two, longer than the guest's buffer\n";
  run_result r = run_tool(&(run_opts){.args = args, .stdin_text = text});
  CHECK_EQ_INT(exit_code(&r), 0);
  CHECK(r.out && !strcmp(r.out, text));
  free(r.out);
}

TEST(sleep_ends_at_the_deadline) {
  /* A sleep of 60 s under a deadline of 200 ms: a timeout, and a return
   * before the sleep's end (which no load comes near), proves the deadline
   * cut the sleep rather than being noticed after it. */
  const char *args[] = {"sleep", "60000", NULL};
  tool(); /* compiled before the clock starts */
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  run_result r = run_tool(&(run_opts){.args = args, .timeout_ms = 200});
  clock_gettime(CLOCK_MONOTONIC, &b);
  double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  CHECK_EQ_INT(r.st, MOTE_RT_TRAP);
  CHECK_EQ_INT(r.trap, MOTE_TRAP_TIMEOUT);
  CHECK(s < 60.0);
  CHECK(r.out && !strstr(r.out, "woke"));
  free(r.out);
  /* A short sleep under a deadline it cannot reach finishes. */
  const char *args2[] = {"sleep", "10", NULL};
  r = run_tool(&(run_opts){.args = args2, .timeout_ms = 60000});
  CHECK_EQ_INT(exit_code(&r), 0);
  LINE(r.out, "woke");
  free(r.out);
}

TEST(resolve_knows_every_preview1_function) {
  static const char *names[] = {
      "args_get", "args_sizes_get", "environ_get", "environ_sizes_get", "clock_res_get",
      "clock_time_get", "fd_advise", "fd_allocate", "fd_close", "fd_datasync", "fd_fdstat_get",
      "fd_fdstat_set_flags", "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size",
      "fd_filestat_set_times", "fd_pread", "fd_prestat_get", "fd_prestat_dir_name", "fd_pwrite",
      "fd_read", "fd_readdir", "fd_renumber", "fd_seek", "fd_sync", "fd_tell", "fd_write",
      "path_create_directory", "path_filestat_get", "path_filestat_set_times", "path_link",
      "path_open", "path_readlink", "path_remove_directory", "path_rename", "path_symlink",
      "path_unlink_file", "poll_oneoff", "proc_exit", "proc_raise", "sched_yield", "random_get",
      "sock_accept", "sock_recv", "sock_send", "sock_shutdown"};
  const char *why;
  mote_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  mote_wasi *w = mote_wasi_new(&cfg, &why);
  CHECK(w != NULL);
  mote_rt_extern e;
  for (size_t i = 0; w && i < sizeof names / sizeof names[0]; i++)
    CHECK_MSG(mote_wasi_resolve(w, MOTE_WASI_MODULE, strlen(MOTE_WASI_MODULE), names[i],
                                strlen(names[i]), &e) && e.binding.func.ctx == w,
              names[i]);
  CHECK(!mote_wasi_resolve(w, MOTE_WASI_MODULE, strlen(MOTE_WASI_MODULE), "fd_nope", 7, &e));
  CHECK(!mote_wasi_resolve(w, "env", 3, "fd_write", 8, &e));
  CHECK(mote_wasi_resolve(w, MOTE_WASI_MODULE, strlen(MOTE_WASI_MODULE), "fd_write", 8, &e) &&
        !strcmp(e.type.signature, "iiii:i"));
  CHECK_EQ_INT(mote_wasi_errno(ENOENT), 44);
  CHECK_EQ_INT(mote_wasi_errno(EXDEV), 75);
  CHECK_EQ_INT(mote_wasi_errno(ENOTSUP), 58);
  CHECK_EQ_INT(mote_wasi_errno(12345), 29); /* unknown: EIO */
  mote_wasi_free(w);
  /* A preopen that does not exist fails creation. */
  mote_wasi_preopen p = {.host_path = "/nonexistent/mote", .guest_path = "/x"};
  cfg.preopens = &p;
  cfg.npreopens = 1;
  CHECK(mote_wasi_new(&cfg, &why) == NULL);
}

RUN_TESTS(args_and_env_are_exact, files_in_a_writable_preopen, read_only_preopen_refuses_changes,
          paths_cannot_escape, test_suite_edges, bad_pointers_are_efault, stdout_cap_stops_the_run,
          open_files_are_capped, proc_exit_codes, clocks_and_random, stdin_from_memory,
          sleep_ends_at_the_deadline, resolve_knows_every_preview1_function)
