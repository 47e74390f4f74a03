/* A .wasm file compiled (or found in the cache) and loaded (bench_module.h). */
#include "bench_module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

mote_rt_module *bench_load_module(const char *prog, const char *path,
                                  const mote_compile_options *opts) {
  size_t len = 0;
  uint8_t *wasm = bench_read_file(path, &len);
  if (!wasm) {
    fprintf(stderr, "%s: cannot read %s: %s\n", prog, path, strerror(errno));
    return NULL;
  }
  mote_compile_result res;
  mote_compile_error cerr;
  memset(&cerr, 0, sizeof cerr);
  mote_compile_status cst = mote_compile(wasm, len, opts, &res, &cerr);
  free(wasm);
  if (cst != MOTE_COMPILE_OK) {
    fprintf(stderr, "%s: %s: %s: %s\n", prog, path, cerr.stage, cerr.message);
    return NULL;
  }
  mote_rt_init();
  mote_rt_module *m = NULL;
  mote_rt_error err;
  if (mote_rt_module_load(res.so_path, &m, &err) != MOTE_RT_OK) {
    fprintf(stderr, "%s: %s: %s\n", prog, path, err.message);
    return NULL;
  }
  return m;
}
