/*
 * A big module's build: the translator's C in parts (mod.h, core.c, one
 * c<k>.c per chunk of functions), each part compiled to an object by its own
 * compiler process, as many at once as there are cores, then linked with the
 * data segments' object (data.o, written here: data_object.c).
 *
 * Objects are cached by content (cache.h: dir/obj/<key>.o, the key hashing
 * the toolchain, mod.h and the part), so a module that differs from one
 * built before in a few functions recompiles only their chunks: the
 * translator names everything by index and cuts chunks where the bodies say
 * (xl_plan_chunks), so the other parts come out byte for byte the same.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "chunks.h"
#include "toolchain.h"

typedef struct part {
  char src[32];        /* "core.c", "c0.c", ... in the work directory */
  uint32_t first, end; /* chunk: its functions; core: 0, 0 */
  char key[65];
  char obj[PATH_MAX];  /* the object to link: in the cache */
  xl_error err;        /* the translator's refusal */
} part;

typedef struct pool {
  const xl_module *x;
  const char *header; /* mod.h's text */
  size_t hlen;
  const char *work;
  const char *obj_dir;
  mote_tier tier;
  part *parts;
  uint32_t nparts;
  mote_child_limits limits;
  pthread_mutex_t lock;
  uint32_t next;
  uint32_t built;
  uint32_t reduced; /* chunks built at -O1 after -O2 ran out of memory */
  long peak_rss_kb;
  double translate_ms; /* summed over the threads */
  bool invalid;        /* the translator refused a part */
  bool failed;
  mote_child_result failure; /* the first failed child */
  bool io_failed;
} pool;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A compiler killed or stopped by the memory limit (how child_failure in
 * pipeline.c tells it): not by the CPU or output limit, in the driver or in
 * the program it ran (gcc says "CPU time limit exceeded signal terminated
 * program cc1"). */
static bool out_of_memory(const mote_child_result *r) {
  if (r->outcome == MOTE_CHILD_SIGNALED) return r->signal != SIGXCPU && r->signal != SIGXFSZ;
  if (r->outcome != MOTE_CHILD_EXITED) return false;
  if (strstr(r->stderr_tail, strsignal(SIGXCPU)) || strstr(r->stderr_tail, strsignal(SIGXFSZ)))
    return false;
  return mote_ran_out_of_memory(r->stderr_tail) ||
         strstr(r->stderr_tail, "signal terminated program") != NULL;
}

static void note_io_failure(pool *p) {
  pthread_mutex_lock(&p->lock);
  p->io_failed = true;
  pthread_mutex_unlock(&p->lock);
}

/* A stream that only hashes what is written to it (the core's key). */
static ssize_t hash_only(void *h, const char *buf, size_t n) {
  mote_cache_chunk_key_add(h, buf, n);
  return (ssize_t)n;
}

/* The core's C (every prototype and element: CRuby's is megabytes) is never
 * held: it is hashed as written, and written again into its file only when
 * its object is not cached. A chunk's (at most CHUNK_MAX of wasm) is held,
 * hashed, and written from memory. */
static bool translate_part(pool *p, part *pt, bool *cached) {
  *cached = false;
  if (pt->end) {
    char *text = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&text, &len);
    bool ok = o && xl_write_chunk(o, p->x, pt->first, pt->end, true, &pt->err);
    if (o && fclose(o) != 0) ok = false;
    if (ok) mote_cache_chunk_key(p->tier, p->header, p->hlen, text, len, pt->key);
    *cached = ok && mote_cache_lookup_ext(p->obj_dir, pt->key, ".o", pt->obj, sizeof pt->obj);
    if (ok && !*cached && mote_write_file(p->work, pt->src, text, len) != 0) ok = false;
    free(text);
    return ok;
  }
  mote_chunk_hasher *h = mote_cache_chunk_key_begin(p->tier, p->header, p->hlen);
  FILE *o = h ? fopencookie(h, "w", (cookie_io_functions_t){.write = hash_only}) : NULL;
  bool ok = o && xl_write_core(o, p->x, true, false, &pt->err);
  if (o && fclose(o) != 0) ok = false;
  if (h) mote_cache_chunk_key_end(h, pt->key); /* frees it */
  if (!ok) return false;
  *cached = mote_cache_lookup_ext(p->obj_dir, pt->key, ".o", pt->obj, sizeof pt->obj);
  if (*cached) return true;
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", p->work, pt->src);
  FILE *f = fopen(path, "we");
  ok = f && xl_write_core(f, p->x, true, false, &pt->err);
  if (f && fclose(f) != 0) ok = false;
  return ok;
}

/* Translates one part, and compiles it unless its object is cached (then
 * installs the object in the cache). */
static void build_part(pool *p, part *pt) {
  double t0 = now_ms();
  bool cached;
  bool ok = translate_part(p, pt, &cached);
  double took = now_ms() - t0;
  pthread_mutex_lock(&p->lock);
  p->translate_ms += took;
  if (pt->err.failed && !pt->err.io) p->invalid = true;
  pthread_mutex_unlock(&p->lock);
  if (!ok) {
    if (!pt->err.failed || pt->err.io) note_io_failure(p);
    return;
  }
  if (cached) return;
  char obj_name[40], built[PATH_MAX];
  snprintf(obj_name, sizeof obj_name, "%.*s.o", (int)(strlen(pt->src) - 2), pt->src);
  const char *argv[32];
  mote_tool_obj_argv(p->tier, pt->src, obj_name, NULL, argv, 32);
  mote_child_result r;
  mote_child_run(argv, p->work, &p->limits, &r);
  ok = r.outcome == MOTE_CHILD_EXITED && r.exit_code == 0;
  if (!ok && p->tier == MOTE_TIER_OPT && out_of_memory(&r)) {
    /* gcc -O2 needs more than the limit for this chunk (one huge function,
     * usually): -O1 needs far less, and the rest of the module keeps -O2 */
    long rss = r.max_rss_kb;
    mote_tool_obj_argv(p->tier, pt->src, obj_name, "-O1", argv, 32);
    mote_child_run(argv, p->work, &p->limits, &r);
    if (rss > r.max_rss_kb) r.max_rss_kb = rss;
    ok = r.outcome == MOTE_CHILD_EXITED && r.exit_code == 0;
    if (ok) {
      pthread_mutex_lock(&p->lock);
      p->reduced++;
      pthread_mutex_unlock(&p->lock);
    }
  }
  pthread_mutex_lock(&p->lock);
  if (r.max_rss_kb > p->peak_rss_kb) p->peak_rss_kb = r.max_rss_kb;
  if (!ok && !p->failed) {
    p->failed = true;
    p->failure = r;
  }
  if (ok) p->built++;
  pthread_mutex_unlock(&p->lock);
  if (!ok) return;
  snprintf(built, sizeof built, "%s/%s", p->work, obj_name);
  if (mote_cache_install_ext(p->obj_dir, pt->key, ".o", built, pt->obj, sizeof pt->obj) != 0)
    note_io_failure(p);
}

static void *worker(void *arg) {
  pool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    bool stop = p->failed || p->io_failed || p->invalid || p->next >= p->nparts;
    uint32_t i = p->next++;
    pthread_mutex_unlock(&p->lock);
    if (stop) return NULL;
    build_part(p, &p->parts[i]);
  }
}

mote_compile_status mote_build_chunks(const chunk_build *cb, mote_compile_result *out,
                                      mote_child_result *failure, mote_compile_error *err) {
  const xl_module *x = cb->x;
  mote_compile_status st = MOTE_COMPILE_IO;
  char *header = NULL;
  size_t hlen = 0;
  part *parts = calloc((size_t)cb->nchunks + 1, sizeof *parts);
  xl_error xerr = {0};
  double t0 = now_ms();
  pool p = {.work = cb->work, .tier = cb->tier, .limits = cb->limits};
  pthread_mutex_init(&p.lock, NULL);
  /* The objects' paths go to the linker, which runs in the work directory:
   * obj_dir is made absolute once it exists (a relative cache directory,
   * such as `mote serve --data build/run-data`'s, named files the linker
   * could not find). */
  char obj_rel[PATH_MAX], obj_dir[PATH_MAX] = "";
  snprintf(obj_rel, sizeof obj_rel, "%s/obj", cb->cache_dir);
  p.obj_dir = obj_dir;
  if (!parts) goto io;

  /* mod.h first: every part's key includes it */
  FILE *h = open_memstream(&header, &hlen);
  bool ok = h && xl_write_header(h, x, true, &xerr);
  if (h && fclose(h) != 0) ok = false;
  out->translate_ms += now_ms() - t0;
  if (xerr.failed) {
    snprintf(err->message, sizeof err->message, "%s", xerr.message);
    snprintf(err->stage, sizeof err->stage, "translate");
    err->status = st = mote_xl_status(&xerr);
    goto done;
  }
  if (!ok || mote_cache_prepare(obj_rel) != 0 || !realpath(obj_rel, obj_dir) ||
      mote_write_file(cb->work, "mod.h", header, hlen) != 0 ||
      mote_data_object_write(cb->work, MOTE_DATA_OBJECT, x) != 0)
    goto io;
  snprintf(parts[0].src, sizeof parts[0].src, "core.c");
  for (uint32_t k = 0; k < cb->nchunks; k++) {
    snprintf(parts[k + 1].src, sizeof parts[k + 1].src, "c%u.c", k);
    parts[k + 1].first = k ? cb->ends[k - 1] : x->nimports_func;
    parts[k + 1].end = cb->ends[k];
  }
  p.x = x;
  p.header = header;
  p.hlen = hlen;
  p.parts = parts;
  p.nparts = cb->nchunks + 1;

  /* translate and compile, as many parts at once as there are cores; the
   * core (every prototype and element: often the largest part) first */
  double t1 = now_ms();
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  uint32_t nthreads = cores < 1 ? 1 : cores > 64 ? 64 : (uint32_t)cores;
  if (nthreads > p.nparts) nthreads = p.nparts;
  pthread_t threads[64];
  uint32_t started = 0;
  for (; started < nthreads; started++)
    if (pthread_create(&threads[started], NULL, worker, &p) != 0) break;
  if (started == 0) worker(&p);
  for (uint32_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
  out->cc_ms = now_ms() - t1;
  out->translate_ms += p.translate_ms;
  out->chunks = p.nparts;
  out->chunks_built = p.built;
  out->chunks_reduced = p.reduced;
  out->peak_rss_kb = p.peak_rss_kb;
  if (p.invalid) {
    st = MOTE_COMPILE_INVALID;
    for (uint32_t i = 0; i < p.nparts; i++) /* the first refusal in module order */
      if (parts[i].err.failed && !parts[i].err.io) {
        snprintf(err->message, sizeof err->message, "%s", parts[i].err.message);
        st = mote_xl_status(&parts[i].err);
        break;
      }
    snprintf(err->stage, sizeof err->stage, "translate");
    err->status = st;
    goto done;
  }
  if (p.failed) {
    *failure = p.failure;
    st = MOTE_COMPILE_TOOL_FAILED; /* the caller names the failure */
    goto done;
  }
  if (p.io_failed) {
    for (uint32_t i = 0; i < p.nparts; i++) /* a translation that ran out of memory says so */
      if (parts[i].err.io) {
        snprintf(err->stage, sizeof err->stage, "translate");
        snprintf(err->message, sizeof err->message, "%s", parts[i].err.message);
        err->status = st = MOTE_COMPILE_IO;
        goto done;
      }
    goto io;
  }

  /* link */
  const char **objs = calloc((size_t)p.nparts + 1, sizeof *objs);
  const char **argv = calloc((size_t)p.nparts + 9, sizeof *argv);
  if (!objs || !argv) {
    free(objs);
    free(argv);
    goto io;
  }
  for (uint32_t i = 0; i < p.nparts; i++) objs[i] = parts[i].obj;
  objs[p.nparts] = MOTE_DATA_OBJECT; /* (in the work directory, where the linker runs) */
  mote_tool_link_argv(cb->tier, objs, (int)p.nparts + 1, argv, (int)p.nparts + 9);
  mote_child_result r;
  mote_child_run(argv, cb->work, &cb->limits, &r);
  free(objs);
  free(argv);
  out->link_ms = r.wall_ms;
  if (r.max_rss_kb > out->peak_rss_kb) out->peak_rss_kb = r.max_rss_kb;
  if (r.outcome != MOTE_CHILD_EXITED || r.exit_code != 0) {
    *failure = r;
    st = MOTE_COMPILE_TOOL_FAILED;
    goto done;
  }
  st = MOTE_COMPILE_OK;
  goto done;

io:
  snprintf(err->stage, sizeof err->stage, "cache");
  snprintf(err->message, sizeof err->message, "cannot write to the cache: %s", strerror(errno));
  err->status = st = MOTE_COMPILE_IO;
done:
  free(parts);
  free(header);
  pthread_mutex_destroy(&p.lock);
  return st;
}
