/*
 * bench-lazy-ready WASM CACHE_DIR [FUNCS]: the time from a module's bytes to
 * a loaded module ready for its first call on the quick tier (mote_compile,
 * then mote_rt_module_load: for a lazy object the load also reads and checks
 * its module bytes). For modules that cannot run under mote (CRuby: JS-ABI
 * imports), this is what a first answer waits for before the guest starts.
 * FUNCS (lazy objects only): a file of defined-function indices (0 = the
 * first body; one a line: bench/coverage.sh's list of what a run executes),
 * each then compiled as its stub's first call would (mote_lazy_prepare), in
 * file order, the background off. Prints "compile_ms load_ms lazy(0|1)
 * [funcs_ms batches functions] cpu=MS" (user + sys of the process and its
 * compilers, all of it); MOTE_QUICK_LAZY decides lazy or eager.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "compile/compile.h"
#include "compile/lazy.h"
#include "rt/rt.h"

static double now_ms(void) {
  return bench_now_us() / 1e3;
}

/* Compiles the listed functions' batches; prints the time and counts. */
static int prepare_all(const char *so_path, const char *funcs_path) {
  void *dl = dlopen(so_path, RTLD_NOW | RTLD_NOLOAD);
  const mote_abi_lazy *lz = dl ? dlsym(dl, MOTE_ABI_LAZY_SYMBOL) : NULL;
  FILE *f = fopen(funcs_path, "r");
  if (!lz || !f) {
    fprintf(stderr, "bench-lazy-ready: %s\n", !lz ? "not a lazy object" : funcs_path);
    if (f) fclose(f);
    if (dl) dlclose(dl);
    return 1;
  }
  mote_lazy_set_background(false);
  uint64_t b0, f0, b1, f1;
  mote_lazy_stats(&b0, &f0);
  double t0 = now_ms();
  unsigned idx;
  char msg[512];
  int rc = 0;
  while (rc == 0 && fscanf(f, "%u", &idx) == 1)
    if (!mote_lazy_prepare(lz, lz->import_func_count + idx, msg, sizeof msg)) {
      fprintf(stderr, "bench-lazy-ready: function %u: %s\n", idx, msg);
      rc = 1;
    }
  double t1 = now_ms();
  mote_lazy_stats(&b1, &f1);
  printf(" %.0f %llu %llu", t1 - t0, (unsigned long long)(b1 - b0), (unsigned long long)(f1 - f0));
  fclose(f);
  dlclose(dl);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 3 && argc != 4) {
    fprintf(stderr, "usage: bench-lazy-ready WASM CACHE_DIR [FUNCS]\n");
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
  bool lazy = mote_lazy_wanted(wasm, len);
  printf("%.0f %.0f %d", t1 - t0, t2 - t1, lazy ? 1 : 0);
  int rc = argc == 4 && lazy ? prepare_all(r.so_path, argv[3]) : 0;
  double cpu = 0;
  struct rusage ru;
  for (int who = 0; who < 2; who++)
    if (getrusage(who ? RUSAGE_CHILDREN : RUSAGE_SELF, &ru) == 0)
      cpu += (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
             (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  printf(" cpu=%.0f\n", cpu);
  mote_rt_module_free(m);
  free(wasm);
  return rc;
}
