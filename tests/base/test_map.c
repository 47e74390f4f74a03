/* base: the hash map (map.c) and the allocation hook (alloc.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/map.h"
#include "test.h"

TEST(put_get_replace_remove) {
  mote_map *m = mote_map_new();
  CHECK(m != NULL);
  int a = 1, b = 2;
  void *old = &a;
  CHECK_EQ_INT(mote_map_put(m, "x", &a, &old), 0);
  CHECK(old == NULL);
  CHECK(mote_map_get(m, "x") == &a);
  CHECK(mote_map_get(m, "y") == NULL);
  CHECK_EQ_INT(mote_map_put(m, "x", &b, &old), 0);
  CHECK(old == &a);
  CHECK(mote_map_get(m, "x") == &b);
  CHECK_EQ_INT(mote_map_count(m), 1);
  CHECK(mote_map_remove(m, "x") == &b);
  CHECK(mote_map_remove(m, "x") == NULL);
  CHECK_EQ_INT(mote_map_count(m), 0);
  mote_map_free(m);
}

/* Thousands of keys: the table grows, every key stays reachable, and an
 * iteration sees each once (removing as it goes). */
TEST(grows_and_iterates) {
  enum { N = 5000 };
  mote_map *m = mote_map_new();
  static int vals[N];
  char key[32];
  for (int i = 0; i < N; i++) {
    vals[i] = i;
    snprintf(key, sizeof key, "fn-%d", i);
    CHECK_EQ_INT(mote_map_put(m, key, &vals[i], NULL), 0);
  }
  CHECK_EQ_INT(mote_map_count(m), N);
  int found = 0;
  for (int i = 0; i < N; i++) {
    snprintf(key, sizeof key, "fn-%d", i);
    int *v = mote_map_get(m, key);
    found += v && *v == i;
  }
  CHECK_EQ_INT(found, N);
  static unsigned char seen[N];
  mote_map_iter it = {0};
  const char *k;
  void *v;
  int n = 0;
  while (mote_map_next(m, &it, &k, &v)) {
    int i = *(int *)v;
    char want[32];
    snprintf(want, sizeof want, "fn-%d", i);
    CHECK(strcmp(k, want) == 0);
    CHECK(!seen[i]);
    seen[i] = 1;
    CHECK(mote_map_remove(m, k) == v); /* the entry just returned may go */
    n++;
  }
  CHECK_EQ_INT(n, N);
  CHECK_EQ_INT(mote_map_count(m), 0);
  mote_map_free(m);
}

/* Every allocation of new, put (and its growth) fails once in turn: the
 * map is either not made, or unchanged by the failed put, or (a failed
 * growth) still complete; nothing leaks (ASan, make unit-san). */
TEST(out_of_memory_each_allocation) {
  for (long n = 1;; n++) {
    test_alloc_fail(n);
    mote_map *m = mote_map_new();
    int ok = 0, v = 7;
    char key[16];
    if (m) {
      for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (mote_map_put(m, key, &v, NULL) == 0) ok++;
        else CHECK(mote_map_get(m, key) == NULL);
      }
      CHECK_EQ_INT(mote_map_count(m), ok);
      for (int i = 0; i < 40; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (mote_map_get(m, key)) mote_map_remove(m, key);
      }
      CHECK_EQ_INT(mote_map_count(m), 0);
    }
    mote_map_free(m);
    long calls = test_alloc_calls();
    test_alloc_fail(0);
    if (calls < n) break; /* the Nth allocation never came: every branch was walked */
  }
  char *s = mote_strdup("back to the C library");
  CHECK(s && !strcmp(s, "back to the C library"));
  mote_free(s);
  CHECK(mote_calloc((size_t)-1, 16) == NULL); /* overflow */
}

RUN_TESTS(put_get_replace_remove, grows_and_iterates, out_of_memory_each_allocation)
