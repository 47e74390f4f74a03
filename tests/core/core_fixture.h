/* Helpers of the core's tests: a core on a fresh data directory, and
 * functions deployed from WebAssembly text. */
#ifndef MOTE_TEST_CORE_FIXTURE_H
#define MOTE_TEST_CORE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>

#include "../store/store_fixture.h"
#include "core/core_internal.h"
#include "test.h"

/* A core on a fresh directory (dir gets its path): NULL, with the test
 * failed, when it cannot open. */
static inline mote_core *fixture_core(char dir[64], unsigned workers, unsigned queue) {
  fixture_dir(dir);
  mote_core_config cfg = {.data_dir = dir, .workers = workers, .queue = queue};
  mote_core *c = NULL;
  mote_core_error err;
  CHECK_EQ_INT(mote_core_open(&cfg, &c, &err), MOTE_CORE_OK);
  return c;
}

/* A module whose _start exits with `code`. */
static inline uint8_t *exit_module(int code, size_t *len) {
  char wat[512];
  snprintf(wat, sizeof wat,
           "(module\n"
           "  (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
           "  (memory (export \"memory\") 1)\n"
           "  (func (export \"_start\") (call $exit (i32.const %d))))\n",
           code);
  return test_wat(wat, NULL, len);
}

/* Deploys a module exiting with `code` as ns/name; the version (a reference). */
static inline core_fn *deploy_exit(mote_core *c, const char *ns, const char *name, int code) {
  size_t len = 0;
  uint8_t *wasm = exit_module(code, &len);
  if (!wasm) return NULL;
  mote_function_settings st = {0};
  core_deploy_req req = {.ns = ns, .name = name, .wasm = wasm, .len = len, .settings = &st};
  core_fn *fn = NULL;
  mote_core_error err;
  if (core_deploy(c, &req, &fn, &err) != MOTE_CORE_OK)
    fprintf(stderr, "deploy %s: %s\n", name, err.message);
  free(wasm);
  return fn;
}

#endif
