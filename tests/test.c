#include "base/alloc.h"
#include "compile/compile.h"
#include "rt/rt.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int test_failed_checks;

void test_fail(const char *file, int line, const char *expr, const char *detail) {
  test_failed_checks++;
  fprintf(stderr, "  FAIL %s:%d: %s%s%s\n", file, line, expr, detail ? " -- " : "",
          detail ? detail : "");
}

int test_run(const char *suite, const char *names[], void (*fns[])(void), int n) {
  int passed = 0, failed = 0;
  for (int i = 0; i < n; i++) {
    int before = test_failed_checks;
    fns[i]();
    if (test_failed_checks == before) {
      passed++;
    } else {
      failed++;
      fprintf(stderr, "  failed: %s\n", names[i]);
    }
  }
  printf("%s: %d passed, %d failed\n", suite, passed, failed);
  return failed ? 1 : 0;
}

uint8_t *test_wat(const char *wat, const char *flags, size_t *len) {
  char dir[] = "/tmp/mote-wat-XXXXXX";
  char path[64], out[64], cmd[512];
  uint8_t *bytes = NULL;
  if (!mkdtemp(dir)) return NULL;
  snprintf(path, sizeof path, "%s/m.wat", dir);
  snprintf(out, sizeof out, "%s/m.wasm", dir);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(wat, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "wat2wasm %s %s -o %s", flags ? flags : "", path, out);
    if (system(cmd) == 0 && (f = fopen(out, "rb"))) {
      fseek(f, 0, SEEK_END);
      long n = ftell(f);
      fseek(f, 0, SEEK_SET);
      bytes = malloc((size_t)n + 1);
      if (bytes && fread(bytes, 1, (size_t)n, f) != (size_t)n) {
        free(bytes);
        bytes = NULL;
      }
      *len = (size_t)n;
      fclose(f);
    }
  }
  unlink(path);
  unlink(out);
  rmdir(dir);
  return bytes;
}

static long alloc_fail_at, alloc_calls;

static void *failing_alloc(void *ud, void *ptr, size_t n) {
  (void)ud;
  if (n == 0) {
    free(ptr);
    return NULL;
  }
  return ++alloc_calls == alloc_fail_at ? NULL : realloc(ptr, n);
}

void test_alloc_fail(long n) {
  alloc_fail_at = n;
  alloc_calls = 0;
  mote_alloc_set(n ? failing_alloc : NULL, NULL);
}

long test_alloc_calls(void) { return alloc_calls; }

static char load_cache[64];

static void remove_load_cache(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", load_cache);
  if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", load_cache);
}

const char *test_cache_dir(void) {
  if (!load_cache[0]) {
    snprintf(load_cache, sizeof load_cache, "/tmp/mote-test-cache-XXXXXX");
    if (!mkdtemp(load_cache)) {
      CHECK_MSG(false, "mkdtemp of the test's cache directory failed");
      load_cache[0] = '\0';
      return load_cache;
    }
    atexit(remove_load_cache);
  }
  return load_cache;
}

bool test_script(const char *name, const char *body, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", test_cache_dir(), name);
  FILE *f = fopen(path, "w");
  bool ok = f && fprintf(f, "#!/bin/sh\n%s", body) > 0;
  if (f && fclose(f) != 0) ok = false;
  ok = ok && chmod(path, 0755) == 0;
  CHECK_MSG(ok, "cannot write the script");
  return ok;
}

mote_rt_module *test_load_wasm(const uint8_t *wasm, size_t len) {
  const char *cache = test_cache_dir();
  if (!cache[0]) return NULL;
  mote_compile_options o = {.cache_dir = cache, .tier = MOTE_TIER_QUICK};
  mote_compile_result r;
  mote_compile_error cerr;
  mote_compile_status st = mote_compile(wasm, len, &o, &r, &cerr);
  CHECK_MSG(st == MOTE_COMPILE_OK, cerr.message);
  if (st != MOTE_COMPILE_OK) return NULL;
  mote_rt_module *m = NULL;
  mote_rt_error err;
  mote_rt_init();
  CHECK_MSG(mote_rt_module_load(r.so_path, &m, &err) == MOTE_RT_OK, err.message);
  return m;
}

mote_rt_instance *test_instance(mote_rt_module *m, const mote_rt_limits *limits) {
  mote_rt_instance *in = NULL;
  mote_rt_error err;
  mote_rt_status st = mote_rt_instantiate(m, NULL, limits, &in, &err);
  CHECK_MSG(st == MOTE_RT_OK, err.message);
  return st == MOTE_RT_OK ? in : NULL;
}

mote_rt_module *test_load_wat(const char *wat) {
  size_t len;
  uint8_t *wasm = test_wat(wat, NULL, &len);
  CHECK(wasm != NULL);
  if (!wasm) return NULL;
  mote_rt_module *m = test_load_wasm(wasm, len);
  free(wasm);
  return m;
}
