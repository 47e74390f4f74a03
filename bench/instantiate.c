/*
 * Instantiation cost: what a fresh instance per call costs, phase by phase.
 *
 * For each .wasm on the command line: compile it (or find it in the cache),
 * load it, then N times (after a warm-up) measure with CLOCK_MONOTONIC
 *   wasi_new     mote_wasi_new with a minimal config + mote_wasi_resolve of
 *                every import
 *   instantiate  mote_rt_instantiate (memories, tables, segments, start)
 *   run          mote_rt_call of _start (only with --run)
 *   free         mote_rt_instance_free
 *   snapshot     mote_rt_snapshot_instantiate from a snapshot taken once after
 *                instantiation (what the server does per call: no segments,
 *                no start function; the image's non-zero runs copied in)
 *   snap_free    mote_rt_instance_free of that instance
 *   wasi_free    mote_wasi_free
 *   total        all of the above but the snapshot's two
 * and, apart from the instance, the memory layer alone:
 *   mem_new      mote_rt_memory_new with the module's initial page count
 *   mem_free     mote_rt_memory_free of it
 * Prints median/p90/p99 in microseconds per phase and module.
 *
 * With --threads T, T threads run the loop at once (each N iterations) and
 * the samples of all of them are merged: contention on shared runtime state
 * shows in the tail.
 *
 * usage: bench-instantiate [--cache DIR] [--iters N] [--tier opt|quick]
 *                          [--threads T] [--run] FILE.wasm...
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
#include "wasi/wasi.h"

#if defined(__SANITIZE_ADDRESS__)
const char *__asan_default_options(void);
const char *__asan_default_options(void) {
  return "handle_segv=0:handle_sigbus=0:allow_user_segv_handler=1";
}
#endif

enum {
  P_WASI_NEW, P_INST, P_RUN, P_FREE, P_SNAP, P_SNAP_FREE, P_WASI_FREE, P_TOTAL, P_MEM_NEW,
  P_MEM_FREE, P_COUNT
};
static const char *const phase_names[P_COUNT] = {
    "wasi_new", "instantiate", "run",   "free",    "snapshot",
    "snap_free", "wasi_free",  "total", "mem_new", "mem_free"};

typedef struct bench_cfg {
  unsigned iters;
  unsigned warmup;
  bool run;
} bench_cfg;

typedef struct worker {
  const bench_cfg *cfg;
  mote_rt_module *mod;
  const char *name;
  uint32_t mem_pages; /* the module's exported memory's initial size, or 0 */
  const mote_rt_snapshot *snap; /* taken once after instantiation; NULL if it cannot be */
  bool has_mem;
  double *samples[P_COUNT]; /* iters each, from malloc() */
  int failed;
} worker;




/* One full instance life; samples stored at index i when i >= 0. */
static int one_round(worker *w, long i) {
  const mote_abi_module *abi = mote_rt_module_abi(w->mod);
  mote_rt_extern imports[abi->import_count ? abi->import_count : 1];
  mote_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  const char *argv[] = {w->name};
  cfg.argv = argv;
  cfg.argc = 1;
  mote_rt_error err;
  const char *why = NULL;

  double t0 = bench_now_us();
  mote_wasi *ws = mote_wasi_new(&cfg, &why);
  if (!ws) {
    fprintf(stderr, "bench-instantiate: mote_wasi_new: %s\n", why);
    return -1;
  }
  for (uint32_t k = 0; k < abi->import_count; k++) {
    const mote_abi_import *imp = &abi->imports[k];
    if (!mote_wasi_resolve(ws, imp->module, imp->module_len, imp->name, imp->name_len,
                           &imports[k])) {
      fprintf(stderr, "bench-instantiate: %s: cannot resolve import %.*s.%.*s\n", w->name,
              (int)imp->module_len, imp->module, (int)imp->name_len, imp->name);
      mote_wasi_free(ws);
      return -1;
    }
  }
  double t1 = bench_now_us();
  mote_rt_instance *inst = NULL;
  if (mote_rt_instantiate(w->mod, imports, NULL, &inst, &err) != MOTE_RT_OK) {
    fprintf(stderr, "bench-instantiate: %s: %s\n", w->name, err.message);
    mote_wasi_free(ws);
    return -1;
  }
  double t2 = bench_now_us();
  if (w->cfg->run) {
    mote_wasi_bind_memory(ws, inst);
    int32_t start = mote_rt_module_find_export(w->mod, "_start", 6);
    if (start >= 0) {
      mote_rt_status st = mote_rt_call(inst, (uint32_t)start, NULL, NULL, &err);
      if (st != MOTE_RT_OK && !(st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_EXIT)) {
        fprintf(stderr, "bench-instantiate: %s: _start: %s\n", w->name, err.message);
        mote_rt_instance_free(inst);
        mote_wasi_free(ws);
        return -1;
      }
    }
  }
  double t3 = bench_now_us();
  mote_rt_instance_free(inst);
  double t4 = bench_now_us(), ts1 = t4, ts2 = t4;
  if (w->snap) {
    mote_rt_instance *from = NULL;
    if (mote_rt_snapshot_instantiate(w->snap, imports, NULL, &from, &err) != MOTE_RT_OK) {
      fprintf(stderr, "bench-instantiate: %s: from the snapshot: %s\n", w->name, err.message);
      mote_wasi_free(ws);
      return -1;
    }
    ts1 = bench_now_us();
    mote_rt_instance_free(from);
    ts2 = bench_now_us();
  }
  double t4b = bench_now_us();
  mote_wasi_free(ws);
  double t5 = bench_now_us();

  /* The memory layer alone, with the module's initial size. */
  double t6 = bench_now_us(), t7 = t6, t8 = t6;
  if (w->has_mem) {
    wasm_rt_memory_t *mem = mote_rt_memory_new(w->mem_pages, 65535, true);
    t7 = bench_now_us();
    if (!mem) {
      fprintf(stderr, "bench-instantiate: mote_rt_memory_new(%u) failed\n", w->mem_pages);
      return -1;
    }
    mote_rt_memory_free(mem);
    t8 = bench_now_us();
  }

  if (i >= 0) {
    w->samples[P_WASI_NEW][i] = t1 - t0;
    w->samples[P_INST][i] = t2 - t1;
    w->samples[P_RUN][i] = t3 - t2;
    w->samples[P_FREE][i] = t4 - t3;
    w->samples[P_SNAP][i] = ts1 - t4;
    w->samples[P_SNAP_FREE][i] = ts2 - ts1;
    w->samples[P_WASI_FREE][i] = t5 - t4b;
    w->samples[P_TOTAL][i] = (t5 - t0) - (ts2 - t4);
    w->samples[P_MEM_NEW][i] = t7 - t6;
    w->samples[P_MEM_FREE][i] = t8 - t7;
  }
  return 0;
}

static void *worker_main(void *p) {
  worker *w = p;
  for (long i = -(long)w->cfg->warmup; i < (long)w->cfg->iters; i++) {
    if (one_round(w, i) != 0) {
      w->failed = 1;
      break;
    }
  }
  return NULL;
}

/* The exported memory's size after one instantiation (the module's initial
 * size plus what its start function grew), and a snapshot of that instance
 * (*snap, freed by the caller; NULL when the module cannot be snapshotted). */
static void find_memory(worker *w, mote_rt_snapshot **snap) {
  *snap = NULL;
  const mote_abi_module *abi = mote_rt_module_abi(w->mod);
  mote_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  const char *why;
  mote_wasi *ws = mote_wasi_new(&cfg, &why);
  if (!ws) return;
  mote_rt_extern imports[abi->import_count ? abi->import_count : 1];
  for (uint32_t k = 0; k < abi->import_count; k++) {
    const mote_abi_import *imp = &abi->imports[k];
    if (!mote_wasi_resolve(ws, imp->module, imp->module_len, imp->name, imp->name_len,
                           &imports[k]))
      goto out;
  }
  mote_rt_instance *inst;
  mote_rt_error err;
  if (mote_rt_instantiate(w->mod, imports, NULL, &inst, &err) != MOTE_RT_OK) goto out;
  for (uint32_t k = 0; k < abi->export_count; k++) {
    if (abi->exports[k].type.kind == MOTE_ABI_MEMORY) {
      mote_rt_extern e = mote_rt_instance_export(inst, k);
      w->mem_pages = (uint32_t)e.type.min;
      w->has_mem = true;
      break;
    }
  }
  if (mote_rt_snapshot_take(inst, snap, &err) != MOTE_RT_OK) *snap = NULL;
  mote_rt_instance_free(inst);
out:
  mote_wasi_free(ws);
}

static int bench_module(const char *path, const mote_compile_options *copts, const bench_cfg *cfg,
                        unsigned threads) {
  mote_rt_module *mod = bench_load_module("bench-instantiate", path, copts);
  if (!mod) return 1;
  const char *name = strrchr(path, '/');
  name = name ? name + 1 : path;

  worker ws[threads];
  pthread_t tids[threads];
  memset(ws, 0, sizeof ws);
  int rc = 0;
  for (unsigned t = 0; t < threads; t++) {
    ws[t].cfg = cfg;
    ws[t].mod = mod;
    ws[t].name = name;
    for (int p = 0; p < P_COUNT; p++) {
      ws[t].samples[p] = calloc(cfg->iters, sizeof(double));
      if (!ws[t].samples[p]) {
        fprintf(stderr, "bench-instantiate: out of memory\n");
        exit(1);
      }
    }
  }
  mote_rt_snapshot *snap = NULL;
  find_memory(&ws[0], &snap);
  for (unsigned t = 0; t < threads; t++) {
    ws[t].mem_pages = ws[0].mem_pages;
    ws[t].has_mem = ws[0].has_mem;
    ws[t].snap = snap;
  }
  for (unsigned t = 0; t < threads; t++) {
    if (pthread_create(&tids[t], NULL, worker_main, &ws[t]) != 0) {
      fprintf(stderr, "bench-instantiate: cannot start a thread\n");
      exit(1);
    }
  }
  for (unsigned t = 0; t < threads; t++) {
    pthread_join(tids[t], NULL);
    if (ws[t].failed) rc = 1;
  }

  if (!rc) {
    size_t n = (size_t)cfg->iters * threads;
    double *all = malloc(n * sizeof *all);
    if (!all) exit(1);
    printf("%s (%u pages of memory, snapshot image %llu bytes, %u iterations x %u thread%s)\n",
           name, ws[0].mem_pages, snap ? (unsigned long long)mote_rt_snapshot_image_bytes(snap) : 0,
           cfg->iters, threads, threads == 1 ? "" : "s");
    printf("  %-12s %10s %10s %10s\n", "phase_us", "median", "p90", "p99");
    for (int p = 0; p < P_COUNT; p++) {
      if (p == P_RUN && !cfg->run) continue;
      if ((p == P_SNAP || p == P_SNAP_FREE) && !snap) continue;
      if ((p == P_MEM_NEW || p == P_MEM_FREE) && !ws[0].has_mem) continue;
      for (unsigned t = 0; t < threads; t++)
        memcpy(all + (size_t)t * cfg->iters, ws[t].samples[p], cfg->iters * sizeof *all);
      qsort(all, n, sizeof *all, bench_cmp_double);
      printf("  %-12s %10.1f %10.1f %10.1f\n", phase_names[p], all[(n - 1) / 2],
             all[(size_t)((double)(n - 1) * 0.90)], all[(size_t)((double)(n - 1) * 0.99)]);
    }
    free(all);
  }
  for (unsigned t = 0; t < threads; t++)
    for (int p = 0; p < P_COUNT; p++) free(ws[t].samples[p]);
  mote_rt_snapshot_free(snap);
  mote_rt_module_free(mod);
  return rc;
}

int main(int argc, char **argv) {
  mote_compile_options copts;
  memset(&copts, 0, sizeof copts);
  copts.cache_dir = "build/cache";
  copts.tier = MOTE_TIER_OPT;
  bench_cfg cfg = {.iters = 2000, .warmup = 100, .run = false};
  unsigned threads = 1;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--cache") && i + 1 < argc) {
      copts.cache_dir = argv[++i];
    } else if (!strcmp(a, "--iters") && i + 1 < argc) {
      cfg.iters = (unsigned)strtoul(argv[++i], NULL, 10);
    } else if (!strcmp(a, "--threads") && i + 1 < argc) {
      threads = (unsigned)strtoul(argv[++i], NULL, 10);
    } else if (!strcmp(a, "--tier") && i + 1 < argc) {
      const char *t = argv[++i];
      copts.tier = !strcmp(t, "quick") ? MOTE_TIER_QUICK : MOTE_TIER_OPT;
    } else if (!strcmp(a, "--run")) {
      cfg.run = true;
    } else {
      break;
    }
  }
  if (i >= argc || cfg.iters == 0 || threads == 0 || threads > 64) {
    fprintf(stderr,
            "usage: bench-instantiate [--cache DIR] [--iters N] [--tier opt|quick] "
            "[--threads T] [--run] FILE.wasm...\n");
    return 2;
  }
  mote_rt_init();
  int rc = 0;
  for (; i < argc; i++) rc |= bench_module(argv[i], &copts, &cfg, threads);
  return rc;
}
