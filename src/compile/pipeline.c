/*
 * mote_compile(): read, translate (xl_*.c), compile, cache.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/elf_stack.h"
#include "base/hash.h"
#include "base/tmpdir.h"
#include "cache.h"
#include "compile.h"
#include "compile_internal.h"
#include "chunks.h"
#include "lazy.h"
#include "toolchain.h"
#include "xl.h"

static void set_error(mote_compile_error *err, mote_compile_status status, const char *stage,
                      const char *fmt, const char *detail) {
  if (!err) return;
  err->status = status;
  snprintf(err->stage, sizeof err->stage, "%s", stage);
  snprintf(err->message, sizeof err->message, fmt, detail);
}

mote_child_limits mote_compile_limits(const mote_compile_options *o) {
  mote_child_limits l = {
      .cpu_seconds = o->cpu_seconds ? o->cpu_seconds : 300,
      .wall_seconds = o->wall_seconds ? o->wall_seconds : 600,
      .memory_bytes = o->memory_bytes ? o->memory_bytes : (size_t)1 << 30,
      .output_bytes = o->output_bytes ? o->output_bytes : (size_t)1 << 30,
      .stopped = o->stopped,
      .stopped_ctx = o->stopped_ctx,
  };
  return l;
}

int mote_write_file(const char *dir, const char *name, const void *data, size_t len) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "we");
  if (!f) return -1;
  bool ok = fwrite(data, 1, len, f) == len;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

static mote_compile_status module_status(mote_module_status s) {
  switch (s) {
    case MOTE_MODULE_UNSUPPORTED: return MOTE_COMPILE_UNSUPPORTED;
    case MOTE_MODULE_NOMEM: return MOTE_COMPILE_IO;
    case MOTE_MODULE_INVALID: return MOTE_COMPILE_INVALID;
    default: return MOTE_COMPILE_MALFORMED;
  }
}

/* What gcc (cc1) and tcc print when an allocation fails. */
bool mote_ran_out_of_memory(const char *stderr_tail) {
  return strstr(stderr_tail, "memory exhausted") || strstr(stderr_tail, "out of memory") ||
         strstr(stderr_tail, "Cannot allocate memory") || strstr(stderr_tail, "bad_alloc");
}

mote_compile_status mote_xl_status(const xl_error *e) {
  return e->io ? MOTE_COMPILE_IO : e->limit ? MOTE_COMPILE_LIMIT : MOTE_COMPILE_INVALID;
}

/* Turns a failed child into an error naming the stage. */
static mote_compile_status child_failure(const mote_child_result *r, const mote_child_limits *l,
                                         const char *stage, mote_compile_status exit_status,
                                         mote_compile_error *err) {
  char why[160], msg[1024];
  mote_child_describe(r, l, why, sizeof why);
  mote_compile_status st = exit_status;
  if (r->outcome == MOTE_CHILD_SPAWN_FAILED) {
    st = MOTE_COMPILE_TOOL_FAILED;
  } else if (r->outcome != MOTE_CHILD_EXITED) {
    st = MOTE_COMPILE_LIMIT;
  } else if (mote_ran_out_of_memory(r->stderr_tail)) {
    /* The tool noticed the address-space limit itself and exited. */
    st = MOTE_COMPILE_LIMIT;
    snprintf(why, sizeof why, "out of memory (limit %zu MiB)", l->memory_bytes >> 20);
  } else if (strstr(r->stderr_tail, "signal terminated program")) {
    /* gcc's driver survived but its cc1/as child was killed: under our
     * limits that is memory (a failed stack or heap mapping) or CPU time. */
    st = MOTE_COMPILE_LIMIT;
    snprintf(why, sizeof why, "a compiler process was killed (memory limit %zu MiB, CPU limit %u s)",
             l->memory_bytes >> 20, l->cpu_seconds);
  }
  snprintf(msg, sizeof msg, "%s: %s%s%s", stage, why, r->stderr_tail[0] ? ": " : "",
           r->stderr_tail);
  set_error(err, st, stage, "%s", msg);
  return st;
}

static double ms_since(const struct timespec *t0) {
  struct timespec t1;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* A module of up to this much wasm code is one unit; above it is cut into
 * chunks of CHUNK_MIN..CHUNK_MAX bytes of code (xl_plan_chunks): gcc -O2's
 * memory is what bounds a chunk of the opt tier. */
#define CHUNK_MIN ((size_t)64 << 10)
#define CHUNK_MAX ((size_t)256 << 10)
/* The quick tier's chunks are larger: tcc needs little memory, and each part
 * costs a process and a parse of mod.h, ~10 ms of CPU at CRuby's size, which
 * was 148 times 1.4 s of its 4.2 s (docs/architecture.md, "The first
 * answer"). The same module is cut into chunks on both tiers or on neither. */
#define QUICK_CHUNK_MIN ((size_t)512 << 10)

/* One unit: the translator writes unit.c, one compiler makes module.so. */
static mote_compile_status build_unit(const char *work, const xl_module *x,
                                      const mote_compile_options *opts,
                                      const mote_child_limits *limits, mote_compile_result *out,
                                      mote_compile_error *err) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char path[PATH_MAX];
  xl_error xerr = {0};
  snprintf(path, sizeof path, "%s/unit.c", work);
  FILE *unit = fopen(path, "we");
  bool ok = unit && xl_module_write(unit, x, &xerr);
  bool closed = unit && fclose(unit) == 0;
  out->translate_ms += ms_since(&t0);
  if (xerr.failed) {
    set_error(err, mote_xl_status(&xerr), "translate", "%s", xerr.message);
    return mote_xl_status(&xerr);
  }
  if (!ok || !closed || mote_data_object_write(work, MOTE_DATA_OBJECT, x) != 0) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot write to the cache: %s", strerror(errno));
    return MOTE_COMPILE_IO;
  }
  const char *cc[32];
  mote_child_result r;
  mote_tool_cc_argv(opts->tier, MOTE_DATA_OBJECT, cc, 32);
  mote_child_run(cc, work, limits, &r);
  out->cc_ms = r.wall_ms;
  out->chunks = 1;
  out->chunks_built = 1;
  out->peak_rss_kb = r.max_rss_kb;
  if (r.outcome != MOTE_CHILD_EXITED || r.exit_code != 0)
    return child_failure(&r, limits, "cc", MOTE_COMPILE_TOOL_FAILED, err);
  return MOTE_COMPILE_OK;
}

/* Validation of a lazy object's functions [first, end), one thread each. */
typedef struct validation {
  const xl_module *x;
  uint32_t first, end;
  xl_error err;
  uint32_t deepest_if;
  bool ok;
} validation;

static void *validate_range(void *arg) {
  validation *v = arg;
  v->ok = xl_validate_functions(v->x, v->first, v->end, &v->deepest_if, &v->err);
  return NULL;
}

#define VALIDATION_THREADS 8

/* All of x's functions validated in up to VALIDATION_THREADS threads, one a
 * core, over ranges of about equal code (Yosys's 34,004 functions: 0.2 s on
 * one thread by xl_check.c, 1.2 s when they were translated): *n ranges in
 * v[], *started of them in threads t[] (the rest were validated here).
 * validate_finish makes the result the sequential one in v[0]: the error of
 * the first invalid function, the deepest if. */
static void validate_start(const xl_module *x, validation *v, pthread_t *t, unsigned *n,
                           unsigned *started) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  *n = cpus < 1 ? 1 : cpus > VALIDATION_THREADS ? VALIDATION_THREADS : (unsigned)cpus;
  size_t total = x->nbodies ? x->body_end[x->nbodies - 1] - x->body_start[0] : 0, sum = 0;
  uint32_t first = x->nimports_func, end_all = x->nimports_func + x->nbodies;
  for (unsigned k = 0; k < *n; k++) {
    uint32_t end = first;
    size_t goal = total / *n * (k + 1);
    for (; end < end_all && (k + 1 == *n || sum < goal); end++)
      sum += x->body_end[end - x->nimports_func] - x->body_start[end - x->nimports_func];
    v[k] = (validation){.x = x, .first = first, .end = end};
    first = end;
  }
  /* threads even for one range: the core compiles meanwhile */
  for (*started = 0; *started < *n; ++*started)
    if (pthread_create(&t[*started], NULL, validate_range, &v[*started]) != 0) break;
  for (unsigned k = *started; k < *n; k++) validate_range(&v[k]);
}

static void validate_finish(validation *v, pthread_t *t, unsigned n, unsigned started) {
  for (unsigned k = 0; k < started; k++) pthread_join(t[k], NULL);
  for (unsigned k = 1; k < n; k++) {
    if (v[0].ok && !v[k].ok) {
      v[0].ok = false;
      v[0].err = v[k].err;
    }
    if (v[k].deepest_if > v[0].deepest_if) v[0].deepest_if = v[k].deepest_if;
  }
}

/* bytes written to a new file of the cache's tmp/ (named for key and what),
 * its path in tmp (PATH_MAX); false (nothing left) when that failed. */
static bool write_tmp(const char *cache_dir, const char *key, const char *what,
                      const uint8_t *bytes, size_t len, char *tmp) {
  static unsigned long seq;
  char prefix[MOTE_TMP_PREFIX_MAX], name[160];
  mote_tmp_prefix(prefix);
  snprintf(name, sizeof name, "tmp/%s%s.%s.%lu", prefix, key, what,
           __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED));
  snprintf(tmp, PATH_MAX, "%s/%s", cache_dir, name);
  if (mote_write_file(cache_dir, name, bytes, len) == 0) return true;
  unlink(tmp);
  return false;
}

/* A lazy object's module bytes, beside it in the cache (<key>.wasm; the
 * loader checks them against the key, and removes them when they are not
 * the module: lazy.c). Written when missing or of another size, also for an
 * object found in the cache (one a cluster peer sent): a damaged file is
 * then written again by the next compile (until stop 30 no load of its
 * object worked again). Not read here: a compile at every start would read
 * every big module again. 1: written now, 0: it was there, -1: failed. */
static int keep_module_bytes(const char *cache_dir, const char *key, const uint8_t *wasm,
                             size_t len) {
  char path[PATH_MAX], tmp[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s.wasm", cache_dir, key);
  struct stat st;
  if (stat(path, &st) == 0 && (uint64_t)st.st_size == len) return 0;
  if (mote_cache_prepare(cache_dir) != 0 || !write_tmp(cache_dir, key, "wasm", wasm, len, tmp))
    return -1;
  if (rename(tmp, path) != 0) {
    unlink(tmp);
    return -1;
  }
  return 1;
}

/* A lazy object (lazy.h): mod.h and the lazy core (stubs) make one unit;
 * the functions are compiled when first called, but all are validated now,
 * in threads of their own while the compiler makes the core. A module with
 * ifs nested deeper than MOTE_LAZY_MAX_IF_NESTING is not made lazy
 * (*eager_instead, the work directory emptied): tcc descends nested blocks
 * recursively, and in process a stack it overflows is the server's end. */
static mote_compile_status build_lazy(const char *work, const xl_module *x,
                                      const mote_compile_options *opts,
                                      const mote_child_limits *limits, mote_compile_result *out,
                                      bool *eager_instead, mote_compile_error *err) {
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  char path[PATH_MAX];
  xl_error xerr = {0};
  snprintf(path, sizeof path, "%s/mod.h", work);
  FILE *h = fopen(path, "we");
  bool ok = h && xl_write_header(h, x, true, &xerr);
  ok = (h && fclose(h) == 0) && ok;
  snprintf(path, sizeof path, "%s/unit.c", work);
  FILE *unit = ok ? fopen(path, "we") : NULL;
  ok = unit && xl_write_lazy_core(unit, x, &xerr);
  bool closed = unit && fclose(unit) == 0;
  out->translate_ms += ms_since(&t0);
  if (xerr.failed) {
    set_error(err, mote_xl_status(&xerr), "translate", "%s", xerr.message);
    return mote_xl_status(&xerr);
  }
  if (!ok || !closed) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot write to the cache: %s", strerror(errno));
    return MOTE_COMPILE_IO;
  }
  validation vs[VALIDATION_THREADS];
  pthread_t vt[VALIDATION_THREADS];
  unsigned ranges, threads;
  validate_start(x, vs, vt, &ranges, &threads);
  const char *cc[32];
  mote_child_result r;
  mote_tool_cc_argv(opts->tier, NULL, cc, 32);
  mote_child_run(cc, work, limits, &r);
  /* the bytes the object will load, written while the validators run (after
   * them, Yosys's 29 MB took 0.12 s of its first answer); removed again if
   * the build fails or turns eager */
  int kept = keep_module_bytes(opts->cache_dir, out->key, x->bytes, x->len);
  int kept_errno = errno;
  validate_finish(vs, vt, ranges, threads);
  const validation v = vs[0];
  out->cc_ms = r.wall_ms;
  out->chunks = 1;
  out->chunks_built = 1;
  out->peak_rss_kb = r.max_rss_kb;
  mote_compile_status st = MOTE_COMPILE_OK;
  if (!v.ok) {
    set_error(err, mote_xl_status(&v.err), "translate", "%s", v.err.message);
    st = mote_xl_status(&v.err);
  } else if (v.deepest_if > MOTE_LAZY_MAX_IF_NESTING) {
    static const char *const lazy_files[] = {"mod.h", "unit.c", "module.so"};
    for (size_t i = 0; i < sizeof lazy_files / sizeof lazy_files[0]; i++) {
      snprintf(path, sizeof path, "%s/%s", work, lazy_files[i]);
      unlink(path);
    }
    *eager_instead = true;
  } else if (r.outcome != MOTE_CHILD_EXITED || r.exit_code != 0) {
    st = child_failure(&r, limits, "cc", MOTE_COMPILE_TOOL_FAILED, err);
  } else if (kept < 0) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot write to the cache: %s",
              strerror(kept_errno));
    st = MOTE_COMPILE_IO;
  }
  if ((st != MOTE_COMPILE_OK || *eager_instead) && kept == 1) {
    snprintf(path, sizeof path, "%s/%s.wasm", opts->cache_dir, out->key);
    unlink(path);
  }
  return st;
}

/* Translates and compiles in `work`; leaves module.so there (and, for a
 * lazy object, its module's bytes in the cache). lazy: the quick tier's
 * object is to be a lazy one (mote_lazy_wanted). */
static mote_compile_status build(const char *work, const mote_module *m, const uint8_t *wasm,
                                 size_t len, bool lazy, const mote_compile_options *opts,
                                 mote_compile_result *out, mote_compile_error *err) {
  mote_child_limits limits = mote_compile_limits(opts);
  if (mote_write_file(work, "abi.h", mote_abi_header_text, strlen(mote_abi_header_text)) != 0) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot write to the cache: %s", strerror(errno));
    return MOTE_COMPILE_IO;
  }
  struct timespec t0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  xl_module x;
  uint32_t *ends = NULL;
  mote_compile_status st;
  if (!xl_module_scan(&x, m, wasm, len) ||
      !(ends = malloc(((size_t)x.nbodies + 1) * sizeof *ends))) {
    xl_module_release(&x);
    set_error(err, MOTE_COMPILE_IO, "translate", "%s", "out of memory reading the module");
    return MOTE_COMPILE_IO;
  }
  size_t c_written = 0;
  x.c_written = &c_written; /* the module's C, against XL_C_MODULE_BASE */
  x.fast_loops = opts->tier == MOTE_TIER_OPT;
  xl_error fits = {0};
  if (!xl_module_fits(&x, &fits)) {
    free(ends);
    xl_module_release(&x);
    set_error(err, mote_xl_status(&fits), "translate", "%s", fits.message);
    return mote_xl_status(&fits);
  }
  bool split = xl_plan_chunks(&x, CHUNK_MIN, CHUNK_MAX, ends) > 1;
  size_t min = opts->chunk_bytes ? opts->chunk_bytes
               : opts->tier == MOTE_TIER_QUICK ? QUICK_CHUNK_MIN : CHUNK_MIN;
  uint32_t nchunks = split ? xl_plan_chunks(&x, min, 4 * min, ends) : 1;
  out->translate_ms = ms_since(&t0);
  bool eager_instead = false;
  if (lazy) st = build_lazy(work, &x, opts, &limits, out, &eager_instead, err);
  if (lazy && !eager_instead) {
    /* built, or failed */
  } else if (!split) {
    c_written = 0; /* what a lazy build's header and core counted, if it ended eager */
    st = build_unit(work, &x, opts, &limits, out, err);
  } else {
    c_written = 0;
    chunk_build cb = {.x = &x, .ends = ends, .nchunks = nchunks, .work = work,
                      .cache_dir = opts->cache_dir, .tier = opts->tier, .limits = limits};
    mote_child_result failure;
    st = mote_build_chunks(&cb, out, &failure, err);
    if (st == MOTE_COMPILE_TOOL_FAILED)
      st = child_failure(&failure, &limits, "cc", MOTE_COMPILE_TOOL_FAILED, err);
  }
  free(ends);
  xl_module_release(&x);
  return st;
}

bool mote_compile_lookup(const uint8_t *wasm, size_t len, const mote_compile_options *opts,
                         mote_compile_result *out) {
  memset(out, 0, sizeof *out);
  mote_cache_key(wasm, len, opts->tier, out->key);
  out->cached = mote_cache_lookup(opts->cache_dir, out->key, out->so_path, sizeof out->so_path);
  return out->cached;
}

void mote_compile_key(const uint8_t *wasm, size_t len, mote_tier tier, char key[65]) {
  mote_cache_key(wasm, len, tier, key);
}

bool mote_compile_lookup_key(const char *cache_dir, const char *key, char *so_path, size_t cap) {
  if (!mote_is_hash_hex(key)) return false;
  return mote_cache_lookup(cache_dir, key, so_path, cap);
}

bool mote_compile_install(const char *cache_dir, const char *key, const uint8_t *object,
                          size_t len) {
  if (!mote_is_hash_hex(key)) return false;
  if (mote_cache_prepare(cache_dir) != 0) return false;
  char tmp[PATH_MAX], path[PATH_MAX];
  if (!write_tmp(cache_dir, key, "peer", object, len, tmp)) return false;
  if (mote_cache_install(cache_dir, key, tmp, path, sizeof path) != 0) {
    unlink(tmp);
    return false;
  }
  return true;
}

/* tcc holds a call's function and arguments on a value stack of 256 entries,
 * and the glue registers every type with a call that passes its parameters
 * and results: a type of more than 252 of them together fails ("memory full
 * (vstack)"; measured with direct and indirect calls of 1 and 5 results: 252
 * compile, 253 do not). The quick tier refuses such a module up front, with
 * a margin of 2 (the opt tier compiles it; deploys and `mote run` fall back
 * to it). */
#define QUICK_MAX_ARITY 250

static bool quick_can_compile(const mote_module *m, mote_compile_error *err) {
  for (uint32_t i = 0; i < mote_module_type_count(m); i++) {
    const mote_functype *ft = mote_module_type(m, i);
    if ((uint64_t)ft->param_count + ft->result_count > QUICK_MAX_ARITY) {
      char why[160];
      snprintf(why, sizeof why, "type %u has %u parameters and %u results (at most %d together)",
               i, ft->param_count, ft->result_count, QUICK_MAX_ARITY);
      set_error(err, MOTE_COMPILE_TOOL_FAILED, "cc",
                "the quick tier (tcc) cannot compile this module: %s; the opt tier can", why);
      return false;
    }
  }
  return true;
}

/* The cache key of a module, computed beside its read (hashing Yosys's 29
 * MB took 0.1 s, and the read as long again). */
typedef struct key_job {
  const uint8_t *wasm;
  size_t len;
  mote_tier tier;
  char *key; /* 65 bytes */
} key_job;

static void *key_thread(void *arg) {
  const key_job *j = arg;
  mote_cache_key(j->wasm, j->len, j->tier, j->key);
  return NULL;
}

/* Modules under this size are hashed after their read, on the caller's
 * thread: a thread's start costs more than their hash. */
#define KEY_THREAD_MIN_BYTES (1u << 20)

mote_compile_status mote_compile(const uint8_t *wasm, size_t len, const mote_compile_options *opts,
                                 mote_compile_result *out, mote_compile_error *err) {
  mote_compile_status st = MOTE_COMPILE_OK;
  mote_module *m = NULL;
  bool lazy = false;
  mote_module_error merr;
  int lock = -1;
  char work[PATH_MAX] = "";

  memset(out, 0, sizeof *out);
  key_job kj = {wasm, len, opts->tier, out->key};
  pthread_t kt;
  bool keyed = len >= KEY_THREAD_MIN_BYTES && pthread_create(&kt, NULL, key_thread, &kj) == 0;
  mote_module_status ms = mote_module_read(wasm, len, &m, &merr);
  if (keyed) pthread_join(kt, NULL);
  if (ms != MOTE_MODULE_OK) {
    out->key[0] = 0; /* as for a module hashed after its read: none */
    set_error(err, module_status(ms), "read", "%s", merr.message);
    return module_status(ms);
  }
  if (!keyed) mote_cache_key(wasm, len, opts->tier, out->key);
  if (opts->tier == MOTE_TIER_QUICK && !quick_can_compile(m, err)) {
    st = MOTE_COMPILE_TOOL_FAILED;
    goto done;
  }
  lazy = opts->tier == MOTE_TIER_QUICK && mote_lazy_wanted(wasm, len);
  if (mote_cache_lookup(opts->cache_dir, out->key, out->so_path, sizeof out->so_path)) {
    out->cached = true;
    goto done;
  }
  if (mote_cache_prepare(opts->cache_dir) != 0) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot create the cache directory: %s",
              strerror(errno));
    st = MOTE_COMPILE_IO;
    goto done;
  }
  lock = mote_cache_lock(opts->cache_dir, out->key);
  if (lock < 0) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot lock a cache entry: %s", strerror(errno));
    st = MOTE_COMPILE_IO;
    goto done;
  }
  /* Someone else may have built it while we waited for the lock. */
  if (mote_cache_lookup(opts->cache_dir, out->key, out->so_path, sizeof out->so_path)) {
    out->cached = true;
    goto done;
  }

  char prefix[MOTE_TMP_PREFIX_MAX];
  mote_tmp_prefix(prefix);
  snprintf(work, sizeof work, "%s/tmp/%s%.16s-XXXXXX", opts->cache_dir, prefix, out->key);
  if (!mkdtemp(work)) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot create a work directory: %s",
              strerror(errno));
    st = MOTE_COMPILE_IO;
    work[0] = 0;
    goto done;
  }
  st = build(work, m, wasm, len, lazy, opts, out, err);
  if (st != MOTE_COMPILE_OK) goto done;

  char built[PATH_MAX + 16];
  snprintf(built, sizeof built, "%s/module.so", work);
  if (mote_elf_mark_stack(built) != 0) {
    set_error(err, MOTE_COMPILE_IO, "cache",
              "cannot mark the object's stack as not executable: %s", strerror(errno));
    st = MOTE_COMPILE_IO;
  } else if (mote_cache_install(opts->cache_dir, out->key, built, out->so_path,
                                sizeof out->so_path) != 0) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot install into the cache: %s", strerror(errno));
    st = MOTE_COMPILE_IO;
  }
  if (st != MOTE_COMPILE_OK && lazy) {
    /* no object for them (the lookup found none, and we hold the key's
     * lock): the module's bytes the build kept would stay for nothing */
    char bytes[PATH_MAX];
    snprintf(bytes, sizeof bytes, "%s/%s.wasm", opts->cache_dir, out->key);
    unlink(bytes);
  }

done:
  if (st == MOTE_COMPILE_OK && out->cached && lazy &&
      keep_module_bytes(opts->cache_dir, out->key, wasm, len) < 0) {
    set_error(err, MOTE_COMPILE_IO, "cache", "cannot write to the cache: %s", strerror(errno));
    st = MOTE_COMPILE_IO;
  }
  if (work[0] && !getenv("MOTE_KEEP_WORK")) remove_tree(work);
  mote_cache_unlock(lock);
  mote_module_free(m);
  return st;
}
