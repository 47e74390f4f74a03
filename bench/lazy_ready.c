/*
 * bench-lazy-ready WASM CACHE_DIR: the time from a module's bytes to a
 * loaded module ready for its first call on the quick tier (mote_compile,
 * then mote_rt_module_load: for a lazy object the load also reads and
 * checks its module bytes). For modules that cannot run under mote (CRuby:
 * JS-ABI imports), this is what a first answer waits for before the guest
 * starts. Prints "compile_ms load_ms lazy(0|1)"; MOTE_QUICK_LAZY decides.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "compile/compile.h"
#include "compile/lazy.h"
#include "rt/rt.h"

static double now_ms(void) {
  return bench_now_us() / 1e3;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: bench-lazy-ready WASM CACHE_DIR\n");
    return 2;
  }
  size_t len;
  uint8_t *wasm = bench_read_file(argv[1], &len);
  if (!wasm) return perror(argv[1]), 1;
  mote_compile_options o = {.cache_dir = argv[2], .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_error err;
  double t0 = now_ms();
  if (mote_compile(wasm, len, &o, &r, &err) != MOTE_COMPILE_OK)
    return fprintf(stderr, "compile: %s\n", err.message), 1;
  double t1 = now_ms();
  mote_rt_module *m = NULL;
  mote_rt_error rerr;
  if (mote_rt_module_load(r.so_path, &m, &rerr) != MOTE_RT_OK)
    return fprintf(stderr, "load: %s\n", rerr.message), 1;
  double t2 = now_ms();
  printf("%.0f %.0f %d\n", t1 - t0, t2 - t1, mote_lazy_wanted(wasm, len) ? 1 : 0);
  mote_rt_module_free(m);
  free(wasm);
  return 0;
}
