/*
 * A big module's build: the translator's C in parts (mod.h, core.c, one
 * c<k>.c per chunk of functions), each part compiled to an object by its own
 * compiler process, as many at once as there are cores, then linked.
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
  char *text;          /* its C, from open_memstream() */
  size_t len;
  char key[65];
  char obj[PATH_MAX];  /* the object to link: in the cache */
  bool cached;
} part;

typedef struct pool {
  const char *work;
  const char *obj_dir;
  mote_tier tier;
  part *parts;
  uint32_t nparts;
  mote_child_limits limits;
  pthread_mutex_t lock;
  uint32_t next;
  uint32_t built;
  long peak_rss_kb;
  bool failed;
  mote_child_result failure; /* the first failed child */
  bool io_failed;
} pool;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int write_text(const char *work, const char *name, const char *text, size_t len) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", work, name);
  FILE *f = fopen(path, "we");
  if (!f) return -1;
  bool ok = fwrite(text, 1, len, f) == len;
  return (fclose(f) == 0 && ok) ? 0 : -1;
}

/* Compiles one part (unless its object is cached) and installs the object. */
static void build_part(pool *p, part *pt) {
  if (mote_cache_lookup_ext(p->obj_dir, pt->key, ".o", pt->obj, sizeof pt->obj)) {
    pt->cached = true;
    return;
  }
  char obj_name[40], built[PATH_MAX];
  snprintf(obj_name, sizeof obj_name, "%.*s.o", (int)(strlen(pt->src) - 2), pt->src);
  const char *argv[32];
  mote_tool_obj_argv(p->tier, pt->src, obj_name, argv, 32);
  mote_child_result r;
  mote_child_run(argv, p->work, &p->limits, &r);
  pthread_mutex_lock(&p->lock);
  if (r.max_rss_kb > p->peak_rss_kb) p->peak_rss_kb = r.max_rss_kb;
  bool ok = r.outcome == MOTE_CHILD_EXITED && r.exit_code == 0;
  if (!ok && !p->failed) {
    p->failed = true;
    p->failure = r;
  }
  if (ok) p->built++;
  pthread_mutex_unlock(&p->lock);
  if (!ok) return;
  snprintf(built, sizeof built, "%s/%s", p->work, obj_name);
  if (mote_cache_install_ext(p->obj_dir, pt->key, ".o", built, pt->obj, sizeof pt->obj) != 0) {
    pthread_mutex_lock(&p->lock);
    p->io_failed = true;
    pthread_mutex_unlock(&p->lock);
  }
}

static void *worker(void *arg) {
  pool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    bool stop = p->failed || p->io_failed || p->next >= p->nparts;
    uint32_t i = p->next++;
    pthread_mutex_unlock(&p->lock);
    if (stop) return NULL;
    build_part(p, &p->parts[i]);
  }
}

/* Writes one part into a memory buffer with `write` (a translator call). */
typedef bool (*part_writer)(FILE *o, const xl_module *x, uint32_t a, uint32_t b, xl_error *err);

static bool write_core(FILE *o, const xl_module *x, uint32_t a, uint32_t b, xl_error *err) {
  (void)a;
  (void)b;
  return xl_write_core(o, x, true, err);
}

static bool write_chunk(FILE *o, const xl_module *x, uint32_t a, uint32_t b, xl_error *err) {
  return xl_write_chunk(o, x, a, b, true, err);
}

static bool render(part *pt, part_writer w, const xl_module *x, uint32_t a, uint32_t b,
                   xl_error *err) {
  FILE *o = open_memstream(&pt->text, &pt->len);
  if (!o) return false;
  bool ok = w(o, x, a, b, err);
  return fclose(o) == 0 && ok;
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
  char obj_dir[PATH_MAX];
  snprintf(obj_dir, sizeof obj_dir, "%s/obj", cb->cache_dir);
  p.obj_dir = obj_dir;
  if (!parts) goto done;

  /* the C of every part, in memory: it makes the keys */
  FILE *h = open_memstream(&header, &hlen);
  bool ok = h && xl_write_header(h, x, true, &xerr);
  if (h && fclose(h) != 0) ok = false;
  snprintf(parts[0].src, sizeof parts[0].src, "core.c");
  ok = ok && render(&parts[0], write_core, x, 0, 0, &xerr);
  for (uint32_t k = 0; ok && k < cb->nchunks; k++) {
    snprintf(parts[k + 1].src, sizeof parts[k + 1].src, "c%u.c", k);
    uint32_t first = k ? cb->ends[k - 1] : x->nimports_func;
    ok = render(&parts[k + 1], write_chunk, x, first, cb->ends[k], &xerr);
  }
  out->translate_ms += now_ms() - t0;
  if (xerr.failed) {
    snprintf(err->message, sizeof err->message, "%s", xerr.message);
    snprintf(err->stage, sizeof err->stage, "translate");
    err->status = st = MOTE_COMPILE_INVALID;
    goto done;
  }
  if (!ok || mote_cache_prepare(obj_dir) != 0 ||
      write_text(cb->work, "mod.h", header, hlen) != 0)
    goto io;
  p.parts = parts;
  p.nparts = cb->nchunks + 1;
  for (uint32_t i = 0; i < p.nparts; i++) {
    mote_cache_chunk_key(cb->tier, header, hlen, parts[i].text, parts[i].len, parts[i].key);
    if (write_text(cb->work, parts[i].src, parts[i].text, parts[i].len) != 0) goto io;
  }

  /* compile, as many at once as there are cores */
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
  out->chunks = p.nparts;
  out->chunks_built = p.built;
  out->peak_rss_kb = p.peak_rss_kb;
  if (p.failed) {
    *failure = p.failure;
    st = MOTE_COMPILE_TOOL_FAILED; /* the caller names the failure */
    goto done;
  }
  if (p.io_failed) goto io;

  /* link */
  const char **objs = calloc(p.nparts, sizeof *objs);
  const char **argv = calloc((size_t)p.nparts + 8, sizeof *argv);
  if (!objs || !argv) {
    free(objs);
    free(argv);
    goto io;
  }
  for (uint32_t i = 0; i < p.nparts; i++) objs[i] = parts[i].obj;
  mote_tool_link_argv(cb->tier, objs, (int)p.nparts, argv, (int)p.nparts + 8);
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
  for (uint32_t i = 0; parts && i <= cb->nchunks; i++) free(parts[i].text);
  free(parts);
  free(header);
  pthread_mutex_destroy(&p.lock);
  return st;
}
