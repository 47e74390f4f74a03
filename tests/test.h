/*
 * The unit-test harness: a test file defines TEST(name) functions and lists
 * them in a `main` built with RUN_TESTS. Each CHECK that fails prints its
 * location and marks the current test failed; the binary prints
 * "<file>: N passed, N failed" and exits non-zero on any failure.
 */
#ifndef MOTE_TEST_H
#define MOTE_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

extern int test_failed_checks;

void test_fail(const char *file, int line, const char *expr, const char *detail);
int test_run(const char *suite, const char *names[], void (*fns[])(void), int n);

#define TEST(name) static void name(void)

#define CHECK(cond)                                                 \
  do {                                                              \
    if (!(cond)) test_fail(__FILE__, __LINE__, #cond, NULL);        \
  } while (0)

#define CHECK_MSG(cond, msg)                                        \
  do {                                                              \
    if (!(cond)) test_fail(__FILE__, __LINE__, #cond, (msg));       \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                          \
  do {                                                                              \
    long long a_ = (long long)(a), b_ = (long long)(b);                             \
    if (a_ != b_) {                                                                 \
      char d_[96];                                                                  \
      snprintf(d_, sizeof d_, "%lld != %lld", a_, b_);                              \
      test_fail(__FILE__, __LINE__, #a " == " #b, d_);                              \
    }                                                                               \
  } while (0)

#define CHECK_STR_CONTAINS(haystack, needle)                                        \
  do {                                                                              \
    const char *h_ = (haystack);                                                    \
    if (!h_ || !strstr(h_, (needle)))                                               \
      test_fail(__FILE__, __LINE__, #haystack " contains " #needle, h_ ? h_ : "(null)"); \
  } while (0)

#define RUN_TESTS(...)                                                              \
  int main(void) {                                                                  \
    void (*fns_[])(void) = {__VA_ARGS__};                                           \
    const char *names_ = #__VA_ARGS__;                                              \
    static const char *list_[256];                                                  \
    static char buf_[8192];                                                         \
    int n_ = 0;                                                                     \
    snprintf(buf_, sizeof buf_, "%s", names_);                                      \
    for (char *s_ = strtok(buf_, ", "); s_ && n_ < 256; s_ = strtok(NULL, ", "))    \
      list_[n_++] = s_;                                                             \
    return test_run(__FILE__, list_, fns_, n_);                                     \
  }



/* Out of memory on purpose, through the core's allocation hook
 * (base/alloc.h): after test_alloc_fail(n) the nth allocation fails (n
 * counts from 1); test_alloc_calls() says how many were made;
 * test_alloc_fail(0) puts the C library back. A test walks n = 1, 2, ...
 * until a run makes fewer than n allocations: every failure branch once. */
void test_alloc_fail(long n);
long test_alloc_calls(void);

/* Test fixtures written as text: the WebAssembly text `wat` assembled by
 * wabt's wat2wasm (extra flags e.g. "--no-check"); malloc'd bytes or NULL. */
uint8_t *test_wat(const char *wat, const char *flags, size_t *len);

/* A cache directory of this test binary (made at the first call, removed
 * at exit); "" after a failed check if it cannot be made. */
const char *test_cache_dir(void);
/* An executable shell script `name` in that directory (a stand-in for a
 * compiler: "#!/bin/sh\n" + body): its path in path (cap bytes), true; or
 * false after a failed check. */
bool test_script(const char *name, const char *body, char *path, size_t cap);
/* Module bytes (or text) compiled on the quick tier into that cache and
 * loaded: the module, or NULL after a failed check saying why. */
struct mote_rt_module;
struct mote_rt_module *test_load_wasm(const uint8_t *wasm, size_t len);
struct mote_rt_module *test_load_wat(const char *wat);
/* m instantiated without imports, under limits (NULL: none): the instance,
 * or NULL after a failed check saying why. */
struct mote_rt_instance;
struct mote_rt_limits;
struct mote_rt_instance *test_instance(struct mote_rt_module *m,
                                       const struct mote_rt_limits *limits);
#endif
