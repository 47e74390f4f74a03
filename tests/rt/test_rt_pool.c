/*
 * rt: the pool of linear-memory reservations (src/rt/pool.c). A reused
 * reservation must look exactly like a fresh one: zero everywhere, faulting
 * past the memory's size, growing up to the cap and no further; pooled
 * reservations are not live regions for the signal handler; the pool keeps
 * at most MOTE_RT_POOL_MAX_FREE of them.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "rt/rt_internal.h"
#include "rt_fixture.h"

#define PAGE MOTE_RT_PAGE_SIZE

static mote_rt_module *basic(void) {
  static const char *so;
  if (!so) so = fx_build("basic", "basic", NULL, NULL);
  return fx_load(so);
}

static uint8_t *memory_of(mote_rt_instance *inst) {
  mote_rt_extern e = mote_rt_instance_export(inst, fx_export(mote_rt_instance_module(inst), "mem"));
  return e.binding.memory ? e.binding.memory->data : NULL;
}

static uint32_t call1(mote_rt_instance *inst, const char *name, uint32_t a0, uint32_t a1) {
  mote_val r;
  mote_rt_error err;
  mote_rt_status st = fx_call(inst, name, a0, a1, &r, &err);
  CHECK_MSG(st == MOTE_RT_OK, err.message);
  return r.i32;
}

static void expect_oob(mote_rt_instance *inst, uint32_t addr) {
  mote_rt_error err;
  CHECK_EQ_INT(fx_call(inst, "load", addr, 0, NULL, &err), MOTE_RT_TRAP);
  CHECK_EQ_INT(err.trap, MOTE_TRAP_OOB);
}

/* Kilobytes of address space mapped by this process. */
static long long vm_size_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "VmSize: %lld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

/* Reservations mapped now, counted from the address space: each one is
 * 8 GiB + a guard, everything else this test maps is small beside it. */
static long long reservations_in_maps(long long base_kb) {
  long long region_kb = (long long)((MOTE_RT_RESERVE_SIZE + MOTE_RT_GUARD_SIZE) >> 10);
  long long d = vm_size_kb() - base_kb;
  return (d + region_kb / 2) / region_kb;
}

TEST(reused_memory_reads_zero) {
  mote_rt_module *m = basic();
  if (!m) return;
  mote_rt_memory_pool_trim();
  mote_rt_memory_stats s0, s1;
  mote_rt_memory_stats_get(&s0);

  /* Small: pages zeroed in place. */
  mote_rt_instance *a = test_instance(m, NULL);
  uint8_t *slot = memory_of(a);
  call1(a, "store", 1000, 0xdeadbeef);
  call1(a, "store", PAGE - 4, 0x01020304);
  CHECK(mote_rt_memory_region_contains((uintptr_t)slot + 1000));
  mote_rt_instance_free(a);
  /* Pooled: not a live region any more. */
  CHECK(!mote_rt_memory_region_contains((uintptr_t)slot + 1000));
  mote_rt_instance *b = test_instance(m, NULL);
  CHECK(memory_of(b) == slot);
  CHECK(mote_rt_memory_region_contains((uintptr_t)slot + 1000));
  CHECK_EQ_INT(call1(b, "load", 1000, 0), 0);
  CHECK_EQ_INT(call1(b, "load", PAGE - 4, 0), 0);
  mote_rt_memory_stats_get(&s1);
  CHECK_EQ_INT(s1.reused - s0.reused, 1);
  CHECK_EQ_INT(s1.mapped - s0.mapped, 1);

  /* Larger: the reset scans and zeroes 1 MiB at a time (the module's
   * maximum is 100 pages). */
  uint32_t big = 99;
  CHECK_EQ_INT(call1(b, "grow", big - 1, 0), 1);
  uint32_t addrs[] = {0, 8, PAGE, (1u << 20) - 4, 1u << 20, (3u << 20) + 12, big * PAGE - 4};
  size_t n = sizeof addrs / sizeof addrs[0];
  for (size_t i = 0; i < n; i++) call1(b, "store", addrs[i], 0x5a5a0000u + (uint32_t)i);
  mote_rt_instance_free(b);
  b = test_instance(m, NULL);
  CHECK(memory_of(b) == slot);
  CHECK_EQ_INT(call1(b, "grow", big - 1, 0), 1);
  for (size_t i = 0; i < n; i++) CHECK_EQ_INT(call1(b, "load", addrs[i], 0), 0);
  /* Every byte of the kept range, through the host's view. */
  uint8_t *data = memory_of(b);
  size_t nonzero = 0;
  for (size_t i = 0; i < (size_t)big * PAGE; i++) nonzero += data[i] != 0;
  CHECK_EQ_INT(nonzero, 0);
  mote_rt_instance_free(b);
  mote_rt_module_free(m);
}

TEST(growth_and_caps_after_reuse) {
  mote_rt_module *m = basic();
  if (!m) return;
  mote_rt_memory_pool_trim();
  /* The first user grows to 10 pages, then leaves. */
  mote_rt_instance *a = test_instance(m, NULL);
  uint8_t *slot = memory_of(a);
  CHECK_EQ_INT(call1(a, "grow", 9, 0), 1);
  call1(a, "store", 9 * PAGE + 100, 0x12345678);
  call1(a, "store", 4 * PAGE, 0x12345678);
  mote_rt_instance_free(a);

  /* The next one, capped at 5 pages, gets the same reservation. */
  mote_rt_limits limits = {.max_memory_pages = 5};
  mote_rt_instance *b = test_instance(m, &limits);
  CHECK(memory_of(b) == slot);
  CHECK_EQ_INT(call1(b, "size", 0, 0), 1);
  CHECK_EQ_INT(call1(b, "grow", 4, 0), 1);
  CHECK_EQ_INT(call1(b, "load", 4 * PAGE, 0), 0);
  CHECK_EQ_INT((int32_t)call1(b, "grow", 1, 0), -1);
  CHECK_EQ_INT(call1(b, "size", 0, 0), 5);
  /* Past the cap the old pages are not reachable. */
  expect_oob(b, 5 * PAGE);
  expect_oob(b, 9 * PAGE + 100);
  call1(b, "store", 5 * PAGE - 4, 7);
  CHECK_EQ_INT(call1(b, "load", 5 * PAGE - 4, 0), 7);
  mote_rt_instance_free(b);

  /* And without a cap, growth to the module's own maximum. */
  b = test_instance(m, NULL);
  CHECK(memory_of(b) == slot);
  CHECK_EQ_INT(call1(b, "grow", 99, 0), 1);
  CHECK_EQ_INT((int32_t)call1(b, "grow", 1, 0), -1);
  CHECK_EQ_INT(call1(b, "load", 9 * PAGE + 100, 0), 0);
  CHECK_EQ_INT(call1(b, "load", 100 * PAGE - 4, 0), 0);
  expect_oob(b, 100 * PAGE);
  mote_rt_instance_free(b);
  mote_rt_module_free(m);
}

TEST(oob_in_reused_slot_traps) {
  mote_rt_module *m = basic();
  if (!m) return;
  mote_rt_memory_pool_trim();
  mote_rt_instance *a = test_instance(m, NULL);
  uint8_t *slot = memory_of(a);
  CHECK_EQ_INT(call1(a, "grow", 30, 0), 1);
  for (uint32_t p = 0; p < 31; p++) call1(a, "store", p * PAGE + 16, 0xabcdef01);
  mote_rt_instance_free(a);

  mote_rt_instance *b = test_instance(m, NULL);
  CHECK(memory_of(b) == slot);
  CHECK_EQ_INT(call1(b, "load", 16, 0), 0);
  /* Just past the size, in the middle, at the end of what `a` had. */
  expect_oob(b, PAGE);
  expect_oob(b, PAGE + 16);
  expect_oob(b, 9 * PAGE + 16);
  expect_oob(b, 30 * PAGE + 16);
  /* A grown page is zero, the page after it still faults. */
  CHECK_EQ_INT(call1(b, "grow", 1, 0), 1);
  CHECK_EQ_INT(call1(b, "load", PAGE + 16, 0), 0);
  expect_oob(b, 2 * PAGE + 16);
  mote_rt_instance_free(b);
  mote_rt_module_free(m);
}

/* Many threads: each instance sees only zeros, writes its own pattern,
 * grows, and reads back exactly what it wrote. */
typedef struct churn {
  mote_rt_module *m;
  uint32_t id;
  uint32_t ix_load, ix_store, ix_grow;
  atomic_int *bad;
  int iters;
} churn;

static int call_i32(mote_rt_instance *inst, uint32_t ix, uint32_t a0, uint32_t a1, uint32_t *r) {
  mote_val args[2] = {{.i32 = a0}, {.i32 = a1}}, res[2];
  mote_rt_error err;
  if (mote_rt_call(inst, ix, args, res, &err) != MOTE_RT_OK) return -1;
  if (r) *r = res[0].i32;
  return 0;
}

static void *churn_main(void *p) {
  churn *c = p;
  uint32_t seed = c->id * 2654435761u + 1;
  for (int it = 0; it < c->iters; it++) {
    mote_rt_instance *inst = NULL;
    mote_rt_error err;
    if (mote_rt_instantiate(c->m, NULL, NULL, &inst, &err) != MOTE_RT_OK) {
      atomic_fetch_add(c->bad, 1);
      continue;
    }
    seed = seed * 1103515245u + 12345u;
    uint32_t extra = (seed >> 16) % 4; /* grow 0..3 pages */
    uint32_t old = 0, v = 1;
    if (call_i32(inst, c->ix_grow, extra, 0, &old) != 0 || old != 1) atomic_fetch_add(c->bad, 1);
    uint32_t pages = 1 + extra;
    uint32_t tag = (c->id << 24) | (uint32_t)it;
    for (uint32_t pg = 0; pg < pages; pg++) {
      uint32_t addrs[] = {pg * PAGE, pg * PAGE + 4096 + 4 * (it % 64), pg * PAGE + PAGE - 4};
      for (size_t k = 0; k < 3; k++) {
        if (call_i32(inst, c->ix_load, addrs[k], 0, &v) != 0 || v != 0) atomic_fetch_add(c->bad, 1);
        if (call_i32(inst, c->ix_store, addrs[k], tag + (uint32_t)k, NULL) != 0)
          atomic_fetch_add(c->bad, 1);
      }
    }
    for (uint32_t pg = 0; pg < pages; pg++) {
      uint32_t addrs[] = {pg * PAGE, pg * PAGE + 4096 + 4 * (it % 64), pg * PAGE + PAGE - 4};
      for (size_t k = 0; k < 3; k++)
        if (call_i32(inst, c->ix_load, addrs[k], 0, &v) != 0 || v != tag + (uint32_t)k)
          atomic_fetch_add(c->bad, 1);
    }
    /* Past the size: a trap, never another instance's data. */
    if (call_i32(inst, c->ix_load, pages * PAGE, 0, &v) == 0) atomic_fetch_add(c->bad, 1);
    mote_rt_instance_free(inst);
  }
  return NULL;
}

TEST(threads_churn) {
  mote_rt_module *m = basic();
  if (!m) return;
  atomic_int bad = 0;
  enum { THREADS = 4 };
  churn c[THREADS];
  pthread_t th[THREADS];
  for (uint32_t i = 0; i < THREADS; i++) {
    c[i] = (churn){m, i + 1, fx_export(m, "load"), fx_export(m, "store"), fx_export(m, "grow"),
                   &bad, 300};
    CHECK(pthread_create(&th[i], NULL, churn_main, &c[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  CHECK_EQ_INT(atomic_load(&bad), 0);
  mote_rt_memory_stats s;
  mote_rt_memory_stats_get(&s);
  /* Four threads at a time need about four reservations, not 1200. */
  CHECK(s.reserved <= MOTE_RT_POOL_MAX_FREE);
  CHECK(s.reused > 1000);
  mote_rt_module_free(m);
}

TEST(pool_is_bounded) {
  mote_rt_memory_pool_trim();
  mote_rt_memory_stats s;
  mote_rt_memory_stats_get(&s);
  CHECK_EQ_INT(s.reserved, 0);
  CHECK_EQ_INT(s.pooled, 0);
  long long base_kb = vm_size_kb();
  CHECK(base_kb > 0);

  enum { N = MOTE_RT_POOL_MAX_FREE + 36 };
  wasm_rt_memory_t *mems[N];
  for (int i = 0; i < N; i++) {
    mems[i] = mote_rt_memory_new(1, 10, true);
    CHECK(mems[i] != NULL);
    if (mems[i]) mems[i]->data[i] = 1;
  }
  mote_rt_memory_stats_get(&s);
  CHECK_EQ_INT(s.reserved, N);
  CHECK_EQ_INT(s.pooled, 0);
  CHECK_EQ_INT(reservations_in_maps(base_kb), N);

  for (int i = 0; i < N; i++) mote_rt_memory_free(mems[i]);
  mote_rt_memory_stats_get(&s);
  CHECK_EQ_INT(s.pooled, MOTE_RT_POOL_MAX_FREE);
  CHECK_EQ_INT(s.reserved, MOTE_RT_POOL_MAX_FREE);
  CHECK_EQ_INT(reservations_in_maps(base_kb), MOTE_RT_POOL_MAX_FREE);

  /* Taking them again maps nothing new, and each reads as zero. */
  uint64_t mapped = s.mapped;
  for (int i = 0; i < (int)MOTE_RT_POOL_MAX_FREE; i++) {
    mems[i] = mote_rt_memory_new(1, 10, true);
    CHECK(mems[i] != NULL);
    if (!mems[i]) continue;
    size_t nonzero = 0;
    for (size_t k = 0; k < PAGE; k++) nonzero += mems[i]->data[k] != 0;
    CHECK_EQ_INT(nonzero, 0);
  }
  mote_rt_memory_stats_get(&s);
  CHECK_EQ_INT(s.mapped, mapped);
  CHECK_EQ_INT(s.pooled, 0);
  for (int i = 0; i < (int)MOTE_RT_POOL_MAX_FREE; i++) mote_rt_memory_free(mems[i]);

  mote_rt_memory_pool_trim();
  mote_rt_memory_stats_get(&s);
  CHECK_EQ_INT(s.reserved, 0);
  CHECK_EQ_INT(reservations_in_maps(base_kb), 0);
}

/* A host memory of another size reuses a slot too, with the right bounds. */
TEST(host_memory_sizes) {
  mote_rt_memory_pool_trim();
  wasm_rt_memory_t *a = mote_rt_memory_new(8, 8, true);
  CHECK(a != NULL);
  if (!a) return;
  uint8_t *slot = a->data;
  memset(a->data, 0xff, (size_t)8 * PAGE);
  mote_rt_memory_free(a);
  wasm_rt_memory_t *b = mote_rt_memory_new(3, 20, true);
  CHECK(b != NULL);
  if (!b) return;
  CHECK(b->data == slot);
  CHECK_EQ_INT(b->size, 3 * PAGE);
  size_t nonzero = 0;
  for (size_t k = 0; k < (size_t)3 * PAGE; k++) nonzero += b->data[k] != 0;
  CHECK_EQ_INT(nonzero, 0);
  CHECK_EQ_INT(wasm_rt_grow_memory(b, 5), 3);
  nonzero = 0;
  for (size_t k = 0; k < (size_t)8 * PAGE; k++) nonzero += b->data[k] != 0;
  CHECK_EQ_INT(nonzero, 0);
  mote_rt_memory_free(b);
  /* Zero pages: nothing accessible. */
  wasm_rt_memory_t *z = mote_rt_memory_new(0, 1, true);
  CHECK(z != NULL && z->size == 0);
  mote_rt_memory_free(z);
}

RUN_TESTS(reused_memory_reads_zero, growth_and_caps_after_reuse, oob_in_reused_slot_traps,
          threads_churn, pool_is_bounded, host_memory_sizes)
