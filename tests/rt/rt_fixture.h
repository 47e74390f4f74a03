/*
 * Test support for tests/rt: builds the test modules in tests/rt/modules
 * (.wat -> wat2wasm -> wasm2c -> gcc with a hand-written glue file, the
 * shape src/compile generates) into a temporary directory, once per test
 * binary, and small helpers to call exports.
 */
#ifndef MOTE_TESTS_RT_FIXTURE_H
#define MOTE_TESTS_RT_FIXTURE_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt/rt.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__)
/* Our SIGSEGV handler must be the one that runs: ASan must not install its
 * own, and must let us install ours. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1";
}
#endif

static char fx_tmp[PATH_MAX];

static void fx_cleanup(void) {
  if (fx_tmp[0]) {
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx_tmp);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", fx_tmp);
  }
}

/* Builds modules/<name>.wat with its glue into <tmp>/<out>.so; wasm_flags
 * go to wat2wasm and wasm2c (e.g. --enable-exceptions), extra_cflags to the
 * final gcc. Returns the .so path (static storage per out) or NULL. */
static const char *fx_build(const char *name, const char *out, const char *wasm_flags,
                            const char *extra_cflags) {
  static char paths[8][PATH_MAX];
  static int npaths;
  char here[PATH_MAX], srcdir[PATH_MAX], moddir[PATH_MAX], cmd[4 * PATH_MAX];
  if (!fx_tmp[0]) {
    snprintf(fx_tmp, sizeof fx_tmp, "/tmp/mote-rt-test-XXXXXX");
    if (!mkdtemp(fx_tmp)) {
      fx_tmp[0] = '\0';
      return NULL;
    }
    atexit(fx_cleanup);
  }
  /* This header is tests/rt/rt_fixture.h: the modules are next to it and
   * src/ two levels up. */
  snprintf(here, sizeof here, "%s", __FILE__);
  char *slash = strrchr(here, '/');
  if (slash) *slash = '\0'; else snprintf(here, sizeof here, ".");
  if (!realpath(here, moddir)) return NULL;
  snprintf(srcdir, sizeof srcdir, "%s/../../src", moddir);
  strncat(moddir, "/modules", sizeof moddir - strlen(moddir) - 1);
  if (npaths == 8) return NULL;
  char *so = paths[npaths++];
  snprintf(so, PATH_MAX, "%s/%s.so", fx_tmp, out);
  snprintf(cmd, sizeof cmd,
           "cd '%s' && wat2wasm %s '%s/%s.wat' -o %s.wasm && wasm2c %s %s.wasm -o %s.c -n %s && "
           "gcc -shared -fPIC -O2 -fvisibility=hidden -fno-optimize-sibling-calls -I. -I'%s' %s "
           "%s.c '%s/%s_glue.c' -o '%s' -lm",
           fx_tmp, wasm_flags ? wasm_flags : "", moddir, name, name, wasm_flags ? wasm_flags : "",
           name, name, name, srcdir, extra_cflags ? extra_cflags : "",
           name, moddir, name, so);
  if (system(cmd) != 0) {
    fprintf(stderr, "build failed: %s\n", cmd);
    return NULL;
  }
  return so;
}

/* Loads a built module, or NULL (after a failed CHECK). */
static mote_rt_module *fx_load(const char *so) {
  mote_rt_module *m = NULL;
  mote_rt_error err;
  CHECK(so != NULL);
  if (!so) return NULL;
  mote_rt_status st = mote_rt_module_load(so, &m, &err);
  CHECK_MSG(st == MOTE_RT_OK, err.message);
  return st == MOTE_RT_OK ? m : NULL;
}

static uint32_t fx_export(mote_rt_module *m, const char *name) {
  int32_t i = mote_rt_module_find_export(m, name, strlen(name));
  CHECK_MSG(i >= 0, name);
  return i < 0 ? UINT32_MAX : (uint32_t)i;
}

/* Calls an export by name with up to two i32 arguments; returns the status,
 * first result in *r0 (if r0) and the error in *err. */
static mote_rt_status fx_call(mote_rt_instance *inst, const char *name, uint32_t a0, uint32_t a1,
                              mote_val *r0, mote_rt_error *err) {
  mote_val args[2], res[2];
  memset(args, 0, sizeof args);
  memset(res, 0, sizeof res);
  args[0].i32 = a0;
  args[1].i32 = a1;
  mote_rt_status st = mote_rt_call(inst, fx_export(mote_rt_instance_module(inst), name), args, res,
                                   err);
  if (r0) *r0 = res[0];
  return st;
}

#endif
