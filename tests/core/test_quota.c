/* core: per-namespace limits (quota.c) and accounting (accounting.c),
 * against a real store. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../store/store_fixture.h"
#include "core/core_internal.h"
#include "test.h"

#define T0 1700000000000LL /* a Unix time in ms, on a second boundary */

TEST(rate_window_slides) {
  core_quota *q = quota_new(NULL, 3, 0);
  core_quota_verdict v;
  for (int i = 0; i < 3; i++) {
    quota_enter(q, "a", T0 + i * 1000, &v);
    CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
    quota_leave(q, "a");
  }
  quota_enter(q, "a", T0 + 10000, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_RATE);
  CHECK_EQ_INT(v.count, 3);
  CHECK_EQ_INT(v.allowed, 3);
  CHECK_EQ_INT(v.retry_after_s, 50); /* the call at T0 leaves the window at T0 + 60 s */
  char msg[200];
  quota_message(&v, msg, sizeof msg);
  CHECK(strcmp(msg, "Too many requests in the last minute (count: 3, allowed: 3).") == 0);
  /* Another namespace has its own window. */
  quota_enter(q, "b", T0 + 10000, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_leave(q, "b");
  /* A refused call is not counted: once the first call leaves, one more fits. */
  quota_enter(q, "a", T0 + 60000, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_leave(q, "a");
  quota_enter(q, "a", T0 + 60500, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_RATE);
  /* Long after, the window is empty again. */
  quota_enter(q, "a", T0 + 3600000, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_leave(q, "a");
  quota_free(q);
}

TEST(concurrency_counts_calls_in_flight) {
  core_quota *q = quota_new(NULL, 0, 2);
  core_quota_verdict v;
  quota_enter(q, "a", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_enter(q, "a", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_enter(q, "a", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_CONCURRENT);
  CHECK_EQ_INT(v.count, 2);
  char msg[200];
  quota_message(&v, msg, sizeof msg);
  CHECK(strcmp(msg, "Too many concurrent requests in flight (count: 2, allowed: 2).") == 0);
  quota_leave(q, "a");
  quota_enter(q, "a", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_leave(q, "a");
  quota_leave(q, "a");
  quota_free(q);
}

TEST(no_limits_by_default) {
  core_quota *q = quota_new(NULL, 0, 0);
  core_quota_verdict v;
  for (int i = 0; i < 10000; i++) {
    quota_enter(q, "a", T0, &v);
    CHECK(v.status == CORE_QUOTA_OK);
  }
  quota_free(q);
}

TEST(store_limits_override_defaults) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_namespace_limits lim = {.invocations_per_minute = 1, .concurrent = 0};
  /* No such namespace yet. */
  CHECK_EQ_INT(mote_store_namespace_limits_set(s, "ns1", &lim, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_namespace_create(s, "ns1", NULL, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_namespace_limits_set(s, "ns1", &lim, &err), MOTE_STORE_OK);
  mote_namespace_limits got;
  CHECK_EQ_INT(mote_store_namespace_limits_get(s, "ns1", &got, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(got.invocations_per_minute, 1);
  CHECK_EQ_INT(got.concurrent, 0);

  core_quota *q = quota_new(s, 100, 1);
  core_quota_verdict v;
  quota_enter(q, "ns1", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_leave(q, "ns1");
  quota_enter(q, "ns1", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_RATE); /* the namespace's 1 per minute */
  CHECK_EQ_INT(v.allowed, 1);
  /* Its concurrency is unset: the default 1 applies. */
  quota_enter(q, "other", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_enter(q, "other", T0, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_CONCURRENT);
  quota_leave(q, "other");
  /* A change is read once the limits in force are CORE_QUOTA_REFRESH_MS old. */
  lim.invocations_per_minute = 5;
  CHECK_EQ_INT(mote_store_namespace_limits_set(s, "ns1", &lim, &err), MOTE_STORE_OK);
  quota_enter(q, "ns1", T0 + 1000, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_RATE);
  quota_enter(q, "ns1", T0 + CORE_QUOTA_REFRESH_MS, &v);
  CHECK_EQ_INT(v.status, CORE_QUOTA_OK);
  quota_leave(q, "ns1");
  /* Deleting the namespace deletes its limits. */
  CHECK_EQ_INT(mote_store_namespace_delete(s, "ns1", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_namespace_limits_get(s, "ns1", &got, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(got.invocations_per_minute, 0);
  quota_free(q);
  mote_store_close(s);
  fixture_rm(dir);
}

/* A burst of calls of a namespace never seen: all wait for its limits to be
 * read, none passes under the defaults meanwhile. */
typedef struct burst {
  core_quota *q;
  pthread_barrier_t *go;
  int admitted;
} burst;

static void *burst_call(void *arg) {
  burst *b = arg;
  core_quota_verdict v;
  pthread_barrier_wait(b->go);
  quota_enter(b->q, "burst", T0, &v);
  b->admitted = v.status == CORE_QUOTA_OK;
  return NULL;
}

TEST(first_read_holds_a_burst) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  CHECK_EQ_INT(mote_store_namespace_create(s, "burst", NULL, &err), MOTE_STORE_OK);
  mote_namespace_limits lim = {.invocations_per_minute = 0, .concurrent = 2};
  CHECK_EQ_INT(mote_store_namespace_limits_set(s, "burst", &lim, &err), MOTE_STORE_OK);
  for (int round = 0; round < 20; round++) {
    core_quota *q = quota_new(s, 0, 0); /* server defaults: no limit */
    enum { N = 16 };
    pthread_t t[N];
    burst b[N];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, N);
    for (int i = 0; i < N; i++) {
      b[i] = (burst){q, &go, 0};
      pthread_create(&t[i], NULL, burst_call, &b[i]);
    }
    int admitted = 0;
    for (int i = 0; i < N; i++) {
      pthread_join(t[i], NULL);
      admitted += b[i].admitted;
    }
    pthread_barrier_destroy(&go);
    CHECK_EQ_INT(admitted, 2);
    quota_free(q);
  }
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(accounting_totals) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  core_accounting *a = accounting_new(s);
  CHECK(a != NULL);
  accounting_call(a, "ns1", "f", CORE_ACCT_OK, 1000, 256, T0);
  accounting_call(a, "ns1", "f", CORE_ACCT_FAILED, 3000, 256, T0 + 5);
  accounting_call(a, "ns1", "f", CORE_ACCT_REFUSED, 0, 256, T0 + 7);
  accounting_call(a, "ns2", "f", CORE_ACCT_OK, 500, 128, T0 + 9);
  CHECK(accounting_flush(a));
  accounting_call(a, "ns1", "f", CORE_ACCT_OK, 1000, 512, T0 + 20);
  accounting_free(a); /* flushes the last one */

  mote_usage *u = NULL;
  size_t n = 0;
  mote_store_error err;
  CHECK_EQ_INT(mote_store_usage_list(s, NULL, NULL, &u, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 2);
  if (n == 2) {
    CHECK(strcmp(u[0].ns, "ns1") == 0 && strcmp(u[0].function, "f") == 0);
    CHECK_EQ_INT(u[0].invocations, 3);
    CHECK_EQ_INT(u[0].errors, 1);
    CHECK_EQ_INT(u[0].refused, 1);
    CHECK_EQ_INT(u[0].exec_us, 5000);
    CHECK_EQ_INT(u[0].memory_mib_us, 256 * 1000 + 256 * 3000 + 512 * 1000);
    CHECK_EQ_INT(u[0].first_ms, T0);
    CHECK_EQ_INT(u[0].last_ms, T0 + 20);
    CHECK_EQ_INT(u[1].invocations, 1);
    CHECK_EQ_INT(u[1].memory_mib_us, 128 * 500);
    /* A namespace's total (GET /v1/usage sums its functions). */
    mote_usage total;
    memset(&total, 0, sizeof total);
    core_usage_add(&total, &u[0]);
    core_usage_add(&total, &u[1]);
    CHECK_EQ_INT(total.invocations, 4);
    CHECK_EQ_INT(total.exec_us, 5500);
    CHECK_EQ_INT(total.first_ms, T0);
    CHECK_EQ_INT(total.last_ms, T0 + 20);
  }
  free(u);
  CHECK_EQ_INT(mote_store_usage_list(s, "ns2", "f", &u, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 1);
  free(u);
  CHECK_EQ_INT(mote_store_usage_list(s, "ns2", "g", &u, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(u);
  mote_store_close(s);

  /* Totals survive a reopen. */
  s = fixture_open(dir);
  CHECK_EQ_INT(mote_store_usage_list(s, "ns1", NULL, &u, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 1);
  if (n == 1) CHECK_EQ_INT(u[0].invocations, 3);
  free(u);
  mote_store_close(s);
  fixture_rm(dir);
}

RUN_TESTS(rate_window_slides, concurrency_counts_calls_in_flight, no_limits_by_default,
          store_limits_override_defaults, first_read_holds_a_burst, accounting_totals)
