/*
 * Instantiation from a snapshot by image size and pages touched, old path
 * against new, alternating in one run.
 *
 * For each .wasm on the command line (bench/instantiate.sh writes them: a
 * memory of N pages that `mote_init` fills with non-zero bytes, and an
 * export `touch(k, v)` that writes v to one word in each of k 4 KiB pages
 * spread over the memory), a snapshot is taken once per path:
 *   old  MOTE_RT_IMAGE_COPY: the image's non-zero runs copied into a zeroed
 *        pooled slot (the only path before issue 15)
 *   new  MOTE_RT_IMAGE_AUTO: what the runtime chooses (its name is printed)
 *   drop (with --drop) MOTE_RT_IMAGE_MAP_DROP: mapped, reset by madvise, as
 *        on kernels without PAGEMAP_SCAN (Debian 12's 6.1)
 * and then, for each count of pages touched, rounds alternate between the
 * two; each iteration measures
 *   make   mote_rt_snapshot_instantiate (what X-Mote-Init-Us counts of it)
 *   touch  the call: touch(k)
 *   free   mote_rt_instance_free (the slot's reset)
 *   total  the three
 * and prints medians (and p90 of the total) in microseconds. With
 * --threads T, T threads do the same at once, samples merged.
 *
 * usage: bench-images [--cache DIR] [--iters N] [--rounds R] [--threads T]
 *                     [--touch K,K,...] [--drop] FILE.wasm...
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_module.h"
#include "bench_util.h"
#include "compile/compile.h"
#include "rt/rt.h"

enum { S_MAKE, S_TOUCH, S_FREE, S_TOTAL, S_COUNT };

typedef struct sampler {
  const mote_rt_snapshot *snap;
  uint32_t touch_ix;
  uint32_t k;
  unsigned iters;
  double *s[S_COUNT]; /* iters each, this round's */
  int failed;
} sampler;



static void *sample_main(void *p) {
  sampler *w = p;
  for (unsigned i = 0; i < w->iters; i++) {
    mote_rt_instance *inst = NULL;
    mote_rt_error err;
    double t0 = bench_now_us();
    if (mote_rt_snapshot_instantiate(w->snap, NULL, NULL, &inst, &err) != MOTE_RT_OK) {
      fprintf(stderr, "bench-images: %s\n", err.message);
      w->failed = 1;
      return NULL;
    }
    double t1 = bench_now_us();
    mote_val args[2] = {{.i32 = w->k}, {.i32 = i | 1}};
    if (mote_rt_call(inst, w->touch_ix, args, NULL, &err) != MOTE_RT_OK) {
      fprintf(stderr, "bench-images: touch: %s\n", err.message);
      w->failed = 1;
    }
    double t2 = bench_now_us();
    mote_rt_instance_free(inst);
    double t3 = bench_now_us();
    w->s[S_MAKE][i] = t1 - t0;
    w->s[S_TOUCH][i] = t2 - t1;
    w->s[S_FREE][i] = t3 - t2;
    w->s[S_TOTAL][i] = t3 - t0;
    if (w->failed) return NULL;
  }
  return NULL;
}

/* All samples of one path for one k: rounds x threads x iters. */
typedef struct series {
  double *s[S_COUNT];
  size_t n;
} series;

static int run_round(const mote_rt_snapshot *snap, uint32_t touch_ix, uint32_t k, unsigned iters,
                     unsigned threads, series *out) {
  sampler ws[threads];
  pthread_t th[threads];
  memset(ws, 0, sizeof ws);
  for (unsigned t = 0; t < threads; t++) {
    ws[t] = (sampler){.snap = snap, .touch_ix = touch_ix, .k = k, .iters = iters};
    for (int p = 0; p < S_COUNT; p++) ws[t].s[p] = out->s[p] + out->n + (size_t)t * iters;
  }
  for (unsigned t = 0; t < threads; t++)
    if (pthread_create(&th[t], NULL, sample_main, &ws[t]) != 0) return -1;
  int rc = 0;
  for (unsigned t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    rc |= ws[t].failed;
  }
  out->n += (size_t)threads * iters;
  return rc ? -1 : 0;
}

static double pct(double *v, size_t n, double q) {
  qsort(v, n, sizeof *v, bench_cmp_double);
  return v[(size_t)((double)(n - 1) * q)];
}

static mote_rt_snapshot *take(mote_rt_module *m, mote_rt_image_mode mode) {
  mote_rt_instance *inst = NULL;
  mote_rt_error err;
  mote_rt_snapshot *snap = NULL;
  if (mote_rt_instantiate(m, NULL, NULL, &inst, &err) != MOTE_RT_OK) {
    fprintf(stderr, "bench-images: %s\n", err.message);
    return NULL;
  }
  int32_t init = mote_rt_module_find_export(m, "mote_init", 9);
  if (init < 0 || mote_rt_call(inst, (uint32_t)init, NULL, NULL, &err) != MOTE_RT_OK) {
    fprintf(stderr, "bench-images: mote_init failed\n");
  } else {
    mote_rt_snapshot_policy_set(mode);
    if (mote_rt_snapshot_take(inst, &snap, &err) != MOTE_RT_OK)
      fprintf(stderr, "bench-images: %s\n", err.message);
    mote_rt_snapshot_policy_set(MOTE_RT_IMAGE_AUTO);
  }
  mote_rt_instance_free(inst);
  return snap;
}


static const char *const path_names[3] = {"old", "new", "drop"};

static int bench_file(const char *path, const mote_compile_options *copts, unsigned iters,
                      unsigned rounds, unsigned threads, const uint32_t *ks, unsigned nk,
                      int npaths) {
  mote_rt_module *m = bench_load_module("bench-images", path, copts);
  if (!m) return 1;
  int32_t touch = mote_rt_module_find_export(m, "touch", 5);
  mote_rt_snapshot *snaps[3] = {take(m, MOTE_RT_IMAGE_COPY), take(m, MOTE_RT_IMAGE_AUTO),
                                npaths > 2 ? take(m, MOTE_RT_IMAGE_MAP_DROP) : NULL};
  if (touch < 0 || !snaps[0] || !snaps[1] || (npaths > 2 && !snaps[2])) {
    fprintf(stderr, "bench-images: %s: no touch export or no snapshot\n", path);
    return 1;
  }
  uint64_t image = mote_rt_snapshot_image_bytes(snaps[0]);
  const char *name = strrchr(path, '/');
  name = name ? name + 1 : path;
  int rc = 0;
  for (unsigned ki = 0; ki < nk && !rc; ki++) {
    series ser[3];
    memset(ser, 0, sizeof ser);
    size_t cap = (size_t)rounds * threads * iters;
    for (int p = 0; p < npaths; p++)
      for (int q = 0; q < S_COUNT; q++)
        if (!(ser[p].s[q] = malloc(cap * sizeof(double)))) return 1;
    /* A warm-up round each (slots mapped, pages faulted in), then rounds
     * alternating old and new. */
    series warm;
    memset(&warm, 0, sizeof warm);
    for (int q = 0; q < S_COUNT; q++) warm.s[q] = malloc((size_t)threads * iters * sizeof(double));
    for (int p = 0; p < npaths && !rc; p++) {
      warm.n = 0;
      rc = run_round(snaps[p], (uint32_t)touch, ks[ki], iters, threads, &warm);
    }
    for (int q = 0; q < S_COUNT; q++) free(warm.s[q]);
    for (unsigned r = 0; r < rounds && !rc; r++)
      for (int p = 0; p < npaths && !rc; p++)
        rc = run_round(snaps[p], (uint32_t)touch, ks[ki], iters, threads, &ser[p]);
    for (int p = 0; p < npaths && !rc; p++) {
      series *x = &ser[p];
      double total_p90 = pct(x->s[S_TOTAL], x->n, 0.9);
      printf("  %-10s %8.0f KiB %5u %-5s %-9s %8.1f %8.1f %8.1f %8.1f %8.1f\n", name,
             (double)image / 1024, ks[ki], path_names[p],
             mote_rt_image_mode_name(mote_rt_snapshot_mode(snaps[p])), pct(x->s[S_MAKE], x->n, 0.5),
             pct(x->s[S_TOUCH], x->n, 0.5), pct(x->s[S_FREE], x->n, 0.5),
             pct(x->s[S_TOTAL], x->n, 0.5), total_p90);
    }
    for (int p = 0; p < npaths; p++)
      for (int q = 0; q < S_COUNT; q++) free(ser[p].s[q]);
    fflush(stdout);
  }
  mote_rt_snapshot_free(snaps[0]);
  mote_rt_snapshot_free(snaps[1]);
  mote_rt_snapshot_free(snaps[2]);
  mote_rt_memory_pool_trim();
  mote_rt_module_free(m);
  return rc;
}

int main(int argc, char **argv) {
  mote_compile_options copts;
  memset(&copts, 0, sizeof copts);
  copts.cache_dir = "build/cache";
  copts.tier = MOTE_TIER_OPT;
  unsigned iters = 200, rounds = 10, threads = 1, nk = 0;
  int npaths = 2;
  uint32_t ks[16];
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--cache") && i + 1 < argc) {
      copts.cache_dir = argv[++i];
    } else if (!strcmp(a, "--iters") && i + 1 < argc) {
      iters = (unsigned)strtoul(argv[++i], NULL, 10);
    } else if (!strcmp(a, "--rounds") && i + 1 < argc) {
      rounds = (unsigned)strtoul(argv[++i], NULL, 10);
    } else if (!strcmp(a, "--threads") && i + 1 < argc) {
      threads = (unsigned)strtoul(argv[++i], NULL, 10);
    } else if (!strcmp(a, "--drop")) {
      npaths = 3;
    } else if (!strcmp(a, "--touch") && i + 1 < argc) {
      for (char *t = argv[++i], *end; *t && nk < 16; t = *end ? end + 1 : end) {
        ks[nk++] = (uint32_t)strtoul(t, &end, 10);
        if (end == t) break;
      }
    } else {
      break;
    }
  }
  if (!nk) ks[nk++] = 10;
  if (i >= argc || !iters || !rounds || !threads || threads > 64) {
    fprintf(stderr, "usage: bench-images [--cache DIR] [--iters N] [--rounds R] [--threads T] "
                    "[--touch K,K,...] [--drop] FILE.wasm...\n");
    return 2;
  }
  mote_rt_init();
  printf("  %-10s %12s %5s %-5s %-9s %8s %8s %8s %8s %8s\n", "module", "image", "pages", "path",
         "mode", "make", "touch", "free", "total", "total_p90");
  int rc = 0;
  for (; i < argc; i++) rc |= bench_file(argv[i], &copts, iters, rounds, threads, ks, nk, npaths);
  return rc;
}
