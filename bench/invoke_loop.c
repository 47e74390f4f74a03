/*
 * The engine's share of an example function's call, without a server: the function run through
 * mote_invoke_run (invoke.h, what the server's workers call) RUNS times in this one process,
 * back to back, as bench/paper/native_loop.c runs the native build. Each run is a fresh
 * instance from the snapshot taken once after mote_init, with the bundle's files at "/", the
 * input as stdin, stdout captured and the server's default limits, as the server runs a call.
 *
 *   MOTE_CACHE=DIR invoke-loop [--answer FILE] RUNS DIR INPUT FILE.wasm [ARGS...]
 *
 * DIR: the function's files (a bundle's, preopened read-only at "/"; - for none); INPUT: its
 * stdin; ARGS: argv[1...]. The module's opt tier comes from the compile cache MOTE_CACHE (it is
 * compiled there if missing). One run goes first, untimed; --answer writes its stdout to FILE.
 * Prints one line per timed run: its exec time in us (the X-Mote-Exec-Us of a served call).
 * Exits 1 if a run does not exit 0.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_module.h"
#include "bench_util.h"
#include "compile/compile.h"
#include "invoke/invoke.h"

#define PROG "invoke-loop"

static bool run_once(const mote_invoke_config *cfg, mote_invoke_result *r) {
  mote_invoke_run(cfg, r);
  if (r->outcome == MOTE_INVOKE_EXITED && r->exit_code == 0) return true;
  fprintf(stderr, PROG ": the run ended with %s (%d): %s %.*s\n",
          mote_invoke_outcome_name(r->outcome), r->exit_code, r->message,
          (int)(r->stderr_len > 300 ? 300 : r->stderr_len), (const char *)r->stderr_data);
  return false;
}

int main(int argc, char **argv) {
  const char *answer = NULL;
  if (argc > 2 && !strcmp(argv[1], "--answer")) {
    answer = argv[2];
    argc -= 2;
    argv += 2;
  }
  const char *cache = getenv("MOTE_CACHE");
  int runs = argc >= 5 ? atoi(argv[1]) : 0;
  if (runs < 1 || !cache) {
    fprintf(stderr, "usage: MOTE_CACHE=DIR " PROG " [--answer FILE] RUNS DIR INPUT FILE.wasm "
                    "[ARGS...]\n");
    return 64;
  }
  const char *dir = argv[2];
  size_t in_len = 0;
  uint8_t *in = bench_read_file(argv[3], &in_len); /* a file or /dev/null */
  if (!in) fprintf(stderr, PROG ": cannot read %s\n", argv[3]);
  mote_compile_options opts = {.cache_dir = cache, .tier = MOTE_TIER_OPT};
  mote_rt_module *m = in ? bench_load_module(PROG, argv[4], &opts) : NULL;
  if (!m) {
    free(in);
    return 1;
  }

  mote_wasi_preopen files = {.host_path = dir, .guest_path = "/", .writable = false};
  argv[4] = "main"; /* argv of the guest: a name, then ARGS */
  /* The server's defaults for a function without settings (core.h): 256 MiB, 30 s. */
  mote_invoke_config cfg = {.module = m, .memory_pages = 256 * 16, .timeout_ms = 30000};
  cfg.wasi.argv = (const char *const *)argv + 4;
  cfg.wasi.argc = (size_t)argc - 4;
  if (strcmp(dir, "-") != 0) {
    cfg.wasi.preopens = &files;
    cfg.wasi.npreopens = 1;
  }
  cfg.wasi.stdout_.kind = MOTE_WASI_STDIO_BUFFER;
  cfg.wasi.stderr_.kind = MOTE_WASI_STDIO_BUFFER;
  mote_rt_snapshot *snap = NULL;
  mote_invoke_result r;
  if (mote_invoke_prepare(&cfg, &snap, &r) != MOTE_INVOKE_EXITED) {
    fprintf(stderr, PROG ": mote_init failed: %s\n", r.message);
    mote_invoke_result_clear(&r);
    mote_rt_module_free(m);
    free(in);
    return 1;
  }
  mote_invoke_result_clear(&r);
  cfg.snapshot = snap; /* NULL when it cannot be snapshotted: runs instantiate, as served */
  cfg.wasi.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER, .data = in, .len = in_len};

  int rc = 0;
  for (int i = 0; i <= runs && rc == 0; i++) {
    if (!run_once(&cfg, &r)) {
      rc = 1;
    } else if (i == 0 && answer) {
      FILE *f = fopen(answer, "wb");
      bool wrote = f && fwrite(r.stdout_data, 1, r.stdout_len, f) == r.stdout_len;
      if (f && fclose(f) != 0) wrote = false;
      if (!wrote) {
        fprintf(stderr, PROG ": cannot write %s\n", answer);
        rc = 1;
      }
    } else if (i > 0) {
      printf("%llu\n", (unsigned long long)r.exec_us);
    }
    mote_invoke_result_clear(&r);
  }
  if (snap) mote_rt_snapshot_free(snap);
  mote_rt_module_free(m);
  free(in);
  return rc;
}
