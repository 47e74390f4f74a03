/*
 * registry: name -> the loaded current version of each function, and the
 * background worker that builds the optimised tier.
 *
 * A call takes a reference on the version it finds and runs on it to the
 * end; a deploy or a delete only swaps the registry's pointer and drops the
 * registry's reference. The last reference frees the version: so calls in
 * flight finish on the version they started with, and nothing is freed
 * under them.
 *
 * Tiers: a version is loaded with the quick tier (tcc, milliseconds) unless
 * the opt object is already cached; the opt tier is compiled by one
 * background thread and published with one atomic store. New calls pick it
 * up; calls in flight keep the module they started with (both stay loaded
 * until the version is freed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invoke/invoke.h"
#include "server/server_internal.h"

#define NBUCKETS 256

typedef struct entry {
  struct entry *next;
  srv_fn *fn; /* the registry's reference */
} entry;

struct srv_registry {
  pthread_mutex_t lock;
  entry *buckets[NBUCKETS];
  unsigned count;
};

static unsigned hash(const char *s) {
  unsigned h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h % NBUCKETS;
}

srv_registry *registry_new(void) {
  srv_registry *r = calloc(1, sizeof *r);
  if (r) pthread_mutex_init(&r->lock, NULL);
  return r;
}

void registry_free(srv_registry *r) {
  if (!r) return;
  for (int b = 0; b < NBUCKETS; b++) {
    for (entry *e = r->buckets[b], *next; e; e = next) {
      next = e->next;
      fn_release(e->fn);
      free(e);
    }
  }
  pthread_mutex_destroy(&r->lock);
  free(r);
}

srv_fn *registry_acquire(srv_registry *r, const char *name) {
  srv_fn *fn = NULL;
  pthread_mutex_lock(&r->lock);
  for (entry *e = r->buckets[hash(name)]; e; e = e->next) {
    if (!strcmp(e->fn->rec.name, name)) {
      fn = e->fn;
      atomic_fetch_add(&fn->refs, 1);
      break;
    }
  }
  pthread_mutex_unlock(&r->lock);
  return fn;
}

void registry_put(srv_registry *r, srv_fn *fn) {
  srv_fn *old = NULL;
  unsigned b = hash(fn->rec.name);
  pthread_mutex_lock(&r->lock);
  entry *e = r->buckets[b];
  while (e && strcmp(e->fn->rec.name, fn->rec.name)) e = e->next;
  if (e) {
    old = e->fn;
    e->fn = fn;
  } else {
    e = malloc(sizeof *e);
    if (e) {
      e->fn = fn;
      e->next = r->buckets[b];
      r->buckets[b] = e;
      r->count++;
    } else {
      old = fn; /* out of memory: the version is not served */
    }
  }
  pthread_mutex_unlock(&r->lock);
  if (old) fn_release(old);
}

bool registry_remove(srv_registry *r, const char *name) {
  srv_fn *old = NULL;
  pthread_mutex_lock(&r->lock);
  for (entry **pe = &r->buckets[hash(name)]; *pe; pe = &(*pe)->next) {
    if (!strcmp((*pe)->fn->rec.name, name)) {
      entry *e = *pe;
      *pe = e->next;
      old = e->fn;
      free(e);
      r->count--;
      break;
    }
  }
  pthread_mutex_unlock(&r->lock);
  if (old) fn_release(old);
  return old != NULL;
}

unsigned registry_count(srv_registry *r) {
  pthread_mutex_lock(&r->lock);
  unsigned n = r->count;
  pthread_mutex_unlock(&r->lock);
  return n;
}

static void image_clear(srv_image *img) {
  mote_rt_snapshot_free(img->snap); /* before its module */
  if (img->module) mote_rt_module_free(img->module);
  memset(img, 0, sizeof *img);
}

void fn_release(srv_fn *fn) {
  if (!fn || atomic_fetch_sub(&fn->refs, 1) != 1) return;
  srv_image *opt = atomic_load(&fn->opt);
  if (opt) {
    image_clear(opt);
    free(opt);
  }
  image_clear(&fn->base);
  mote_function_version_clear(&fn->rec);
  free(fn->files_dir);
  free(fn);
}

const char *fn_opt_state(srv_fn *fn, const char **error) {
  *error = NULL;
  switch (atomic_load_explicit(&fn->opt_state, memory_order_acquire)) {
    case SRV_OPT_BUILDING: return "building";
    case SRV_OPT_FAILED: *error = fn->opt_error; return "failed";
    default: return "ready";
  }
}

const srv_image *fn_image(srv_fn *fn) {
  const srv_image *opt = atomic_load(&fn->opt);
  return opt ? opt : &fn->base;
}

void fn_invoke_config(const srv_fn *fn, const srv_image *img, const mote_function_settings *st,
                      mote_invoke_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->module = img->module;
  cfg->snapshot = img->snap;
  cfg->memory_pages = (st->memory_mib ? st->memory_mib : SRV_DEFAULT_MEMORY_MIB) * 16u;
  cfg->timeout_ms = st->timeout_ms ? st->timeout_ms : SRV_DEFAULT_TIMEOUT_MS;
  cfg->wasi.env = (const char *const *)st->env;
  cfg->wasi.envc = st->env_count;
  if (fn->files_dir) {
    cfg->wasi.preopens = &fn->files_root;
    cfg->wasi.npreopens = 1;
  }
}

/* Runs the image's initialisation once (start function, mote_init) and
 * keeps its snapshot in img->snap. 0, or the HTTP status of a failed
 * initialisation with code/msg (the tail of what it printed on stderr
 * included). */
int fn_prepare(const srv_fn *fn, srv_image *img, const char *name,
               const mote_function_settings *st, const char **code, char *msg, size_t cap) {
  mote_invoke_config cfg;
  fn_invoke_config(fn, img, st, &cfg);
  cfg.snapshot = NULL;
  cfg.timeout_ms = SRV_INIT_TIMEOUT_MS;
  const char *argv[] = {name};
  cfg.wasi.argv = argv;
  cfg.wasi.argc = 1;
  cfg.wasi.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stdout_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stderr_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stdout_cap = SRV_STDOUT_CAP;
  cfg.wasi.stderr_cap = SRV_STDERR_CAP;
  mote_invoke_result r;
  mote_invoke_prepare(&cfg, &img->snap, &r);
  int status = 0;
  if (r.outcome != MOTE_INVOKE_EXITED) {
    size_t tail = r.stderr_len > 300 ? 300 : r.stderr_len;
    *code = "init_failed";
    snprintf(msg, cap, "the function's initialisation failed: %s%s%.*s",
             r.message[0] ? r.message : mote_invoke_outcome_name(r.outcome),
             tail ? "; stderr: " : "", (int)tail, (const char *)r.stderr_data + (r.stderr_len - tail));
    status = r.outcome == MOTE_INVOKE_HOST ? 500 : 400;
  }
  mote_invoke_result_clear(&r);
  return status;
}

/* ---- loading --------------------------------------------------------------- */

static int compile_status_http(mote_compile_status st, const char **code) {
  switch (st) {
    case MOTE_COMPILE_MALFORMED: *code = "malformed_module"; return 400;
    case MOTE_COMPILE_UNSUPPORTED: *code = "unsupported_module"; return 400;
    case MOTE_COMPILE_INVALID: *code = "invalid_module"; return 400;
    case MOTE_COMPILE_LIMIT: *code = "compile_limit"; return 400;
    default: *code = "compile_failed"; return 500;
  }
}

int fn_load(mote_server *s, const char *name, const uint8_t *wasm, size_t len,
            const mote_function_settings *st, const char *files_dir, srv_fn **out,
            bool *need_opt, const char **code, char *msg, size_t cap) {
  *out = NULL;
  *need_opt = false;
  mote_compile_options opts = {.cache_dir = s->cache_dir, .tier = MOTE_TIER_OPT};
  mote_compile_result res;
  mote_compile_error cerr;
  if (!mote_compile_lookup(wasm, len, &opts, &res)) {
    opts.tier = MOTE_TIER_QUICK;
    mote_compile_status cst = mote_compile(wasm, len, &opts, &res, &cerr);
    if (cst != MOTE_COMPILE_OK) {
      snprintf(msg, cap, "%s", cerr.message);
      return compile_status_http(cst, code);
    }
    *need_opt = true;
  }
  srv_fn *fn = calloc(1, sizeof *fn);
  if (!fn) {
    *code = "internal";
    snprintf(msg, cap, "out of memory");
    return 500;
  }
  atomic_init(&fn->refs, 1);
  atomic_init(&fn->opt, NULL);
  atomic_init(&fn->opt_state, *need_opt ? SRV_OPT_BUILDING : SRV_OPT_AT_DEPLOY);
  fn->base.tier = opts.tier;
  if (files_dir && !(fn->files_dir = strdup(files_dir))) {
    free(fn);
    *code = "internal";
    snprintf(msg, cap, "out of memory");
    return 500;
  }
  fn->files_root = (mote_wasi_preopen){.host_path = fn->files_dir, .guest_path = "/"};
  mote_rt_error rerr;
  int status = 0;
  if (mote_rt_module_load(res.so_path, &fn->base.module, &rerr) != MOTE_RT_OK) {
    *code = "load_failed";
    snprintf(msg, cap, "%s", rerr.message);
    status = 500;
  } else if (!mote_invoke_check_imports(fn->base.module, msg, cap)) {
    *code = "unsupported_import";
    status = 400;
  } else {
    status = snapstore_prepare(s, fn, &fn->base, res.so_path, res.key, name, st, false, code,
                               msg, cap);
  }
  if (status) {
    image_clear(&fn->base);
    free(fn->files_dir);
    free(fn);
    return status;
  }
  *out = fn;
  return 0;
}

/* ---- background opt compiles ------------------------------------------------ */

typedef struct srv_job {
  struct srv_job *next;
  srv_fn *fn; /* a reference */
  uint8_t *wasm;
  size_t len;
} srv_job;

static void job_free(srv_job *j) {
  fn_release(j->fn);
  free(j->wasm);
  free(j);
}

/* The end of a version's opt build: its state, /metrics and a line on
 * stderr when it failed (msg), so that a failure is never silent. */
static void opt_done(mote_server *s, srv_fn *fn, const char *msg) {
  if (msg) {
    snprintf(fn->opt_error, sizeof fn->opt_error, "%s", msg);
    fprintf(stderr, "mote serve: %s v%llu: the opt tier failed (%s); the quick tier serves\n",
            fn->rec.name, (unsigned long long)fn->rec.version, msg);
  }
  atomic_store_explicit(&fn->opt_state, msg ? SRV_OPT_FAILED : SRV_OPT_READY,
                        memory_order_release);
  metrics_opt_build(s->metrics, msg == NULL);
}

static void run_job(mote_server *s, srv_job *j) {
  mote_compile_options opts = {.cache_dir = s->cache_dir, .tier = MOTE_TIER_OPT};
  mote_compile_result res;
  mote_compile_error cerr;
  char msg[1200];
  if (mote_compile(j->wasm, j->len, &opts, &res, &cerr) != MOTE_COMPILE_OK) {
    snprintf(msg, sizeof msg, "%s", cerr.message);
    opt_done(s, j->fn, msg);
    return;
  }
  srv_image *img = calloc(1, sizeof *img);
  mote_rt_error rerr;
  const char *code;
  if (!img) {
    opt_done(s, j->fn, "out of memory");
    return;
  }
  img->tier = MOTE_TIER_OPT;
  if (mote_rt_module_load(res.so_path, &img->module, &rerr) != MOTE_RT_OK) {
    snprintf(msg, sizeof msg, "cannot load the opt tier: %s", rerr.message);
  } else if (snapstore_prepare(s, j->fn, img, res.so_path, res.key, j->fn->rec.name,
                               &j->fn->rec.settings, true, &code, msg, sizeof msg) == 0) {
    srv_image *expected = NULL;
    if (atomic_compare_exchange_strong(&j->fn->opt, &expected, img)) {
      opt_done(s, j->fn, NULL);
      return;
    }
    snprintf(msg, sizeof msg, "the opt tier was published twice");
  }
  opt_done(s, j->fn, msg);
  image_clear(img);
  free(img);
}

static void *bg_main(void *arg) {
  mote_server *s = arg;
  pthread_mutex_lock(&s->bg_lock);
  for (;;) {
    while (!s->bg_head && !s->bg_stop) pthread_cond_wait(&s->bg_cond, &s->bg_lock);
    if (s->bg_stop) break;
    srv_job *j = s->bg_head;
    s->bg_head = j->next;
    if (!s->bg_head) s->bg_tail = NULL;
    pthread_mutex_unlock(&s->bg_lock);
    /* A version replaced or deleted before its turn needs no opt tier. */
    if (atomic_load(&j->fn->refs) > 1) run_job(s, j);
    job_free(j);
    pthread_mutex_lock(&s->bg_lock);
  }
  pthread_mutex_unlock(&s->bg_lock);
  return NULL;
}

void bg_queue_opt(mote_server *s, srv_fn *fn, const uint8_t *wasm, size_t len) {
  srv_job *j = calloc(1, sizeof *j);
  uint8_t *copy = malloc(len ? len : 1);
  if (!j || !copy) {
    free(j);
    free(copy);
    return; /* the quick tier keeps serving */
  }
  memcpy(copy, wasm, len);
  atomic_fetch_add(&fn->refs, 1);
  j->fn = fn;
  j->wasm = copy;
  j->len = len;
  pthread_mutex_lock(&s->bg_lock);
  if (s->bg_stop) {
    pthread_mutex_unlock(&s->bg_lock);
    job_free(j);
    return;
  }
  if (s->bg_tail) s->bg_tail->next = j;
  else s->bg_head = j;
  s->bg_tail = j;
  pthread_cond_signal(&s->bg_cond);
  pthread_mutex_unlock(&s->bg_lock);
}

void bg_start(mote_server *s) {
  pthread_mutex_init(&s->bg_lock, NULL);
  pthread_cond_init(&s->bg_cond, NULL);
  s->bg_started = pthread_create(&s->bg_thread, NULL, bg_main, s) == 0;
}

/* Drops the queue; the compile in progress finishes (it is bounded by the
 * compile limits), so no compiler is left running behind the server. */
void bg_stop(mote_server *s) {
  pthread_mutex_lock(&s->bg_lock);
  s->bg_stop = true;
  pthread_cond_signal(&s->bg_cond);
  pthread_mutex_unlock(&s->bg_lock);
  if (s->bg_started) pthread_join(s->bg_thread, NULL);
  for (srv_job *j = s->bg_head, *next; j; j = next) {
    next = j->next;
    job_free(j);
  }
  s->bg_head = s->bg_tail = NULL;
  pthread_mutex_destroy(&s->bg_lock);
  pthread_cond_destroy(&s->bg_cond);
}
