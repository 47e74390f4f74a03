/*
 * loader: a version made ready to serve. Compiled (the optimised tier when
 * its object is cached, else the quick one), loaded, its imports checked
 * against WASI, its initialisation (start function, mote_init) run once and
 * snapshotted (or its snapshot kept in the store by an earlier start loaded
 * instead: snapstore.c), so a call pays neither segments nor
 * initialisation. Nothing
 * here knows where the bytes came from: a deploy (deploy.c), the load at
 * start, or, later, a peer of a cluster.
 *
 * The opt tier of a version loaded on the quick one is built by one worker
 * thread (a FIFO of versions), prepared the same way (its own snapshot: the
 * snapshot holds the tier's function pointers) and published with one
 * atomic store; a failure is never silent (the version's opt_state and
 * opt_error, /metrics, a line on stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/core_internal.h"

/* prep's bounds before an initialisation runs: the budget reserved
 * (*reserved), a slot taken (*adm). Not OK: refused, nothing held. */
static mote_core_status prep_enter(mote_core *c, const char *ns, const char *name,
                                   const core_prep *prep, uint64_t want, uint64_t *reserved,
                                   core_admission *adm, mote_core_error *err) {
  *reserved = 0;
  memset(adm, 0, sizeof *adm);
  if (!prep) return MOTE_CORE_OK;
  core_budget_figures b;
  if (prep->check_budget) {
    if (!budget_reserve(c->budget, want, &b))
      return core_fail(err, MOTE_CORE_INIT_MEMORY,
                       "the node's memory for initialised functions is full: %llu of %llu MiB "
                       "are taken (--init-memory), and this function's initialisation may keep "
                       "up to its memory limit, %llu MiB; delete functions, deploy with a lower "
                       "memory=, or raise --init-memory",
                       (unsigned long long)((b.used + b.reserved) >> 20),
                       (unsigned long long)(b.cap >> 20), (unsigned long long)(want >> 20));
    *reserved = want;
  }
  if (!prep->take_slot) return MOTE_CORE_OK;
  admit_enter_stoppable(c->admit, admit_fn(c->admit, ns, name), 0, 0, CORE_INIT_TIMEOUT_MS,
                        prep->stop ? &prep->stop->admit : NULL, adm);
  if (adm->status == CORE_ADMITTED) return MOTE_CORE_OK;
  budget_settle(c->budget, *reserved, 0);
  *reserved = 0;
  switch (adm->status) {
    case CORE_ADMIT_CANCELLED:
      return core_fail(err, MOTE_CORE_CANCELLED, "the deploy was abandoned (%s) while its "
                       "initialisation waited for a slot", core_stop_why(prep->stop));
    case CORE_REFUSED_QUEUE_FULL:
    case CORE_REFUSED_FUNCTION_QUEUE_FULL:
      return core_fail(err, MOTE_CORE_QUEUE_FULL, "the server is busy: no slot for the "
                       "function's initialisation (the queue is full); retry after %u s",
                       adm->retry_after_s);
    case CORE_REFUSED_TIMEOUT:
      return core_fail(err, MOTE_CORE_QUEUE_TIMEOUT, "no slot for the function's "
                       "initialisation within %u ms; retry after %u s", adm->limit,
                       adm->retry_after_s);
    default:
      return core_fail(err, MOTE_CORE_NO_MEMORY, "out of memory");
  }
}

mote_core_status fn_prepare(mote_core *c, const core_fn *fn, core_image *img, const char *ns,
                            const char *name, const core_prep *prep, mote_core_error *err) {
  mote_invoke_config cfg;
  fn_invoke_config(fn, img, &cfg);
  uint64_t reserved;
  core_admission adm;
  mote_core_status pst =
      prep_enter(c, ns, name, prep, (uint64_t)cfg.memory_pages << 16, &reserved, &adm, err);
  if (pst != MOTE_CORE_OK) return pst;
  uint64_t t0 = mote_now_us();
  cfg.snapshot = NULL;
  cfg.timeout_ms = CORE_INIT_TIMEOUT_MS;
  const char *argv[] = {name};
  cfg.wasi.argv = argv;
  cfg.wasi.argc = 1;
  cfg.wasi.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stdout_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stderr_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stdout_cap = CORE_STDOUT_CAP;
  cfg.wasi.stderr_cap = CORE_STDERR_CAP;
  cfg.cancel = prep && prep->stop ? &prep->stop->cancel : NULL;
  mote_invoke_result r;
  mote_invoke_prepare(&cfg, &img->snap, &r);
  if (adm.run) admit_leave(c->admit, &adm, mote_now_us() - t0);
  budget_settle(c->budget, reserved, 0);
  image_charge(img, c->budget); /* what its snapshot really holds (none: 0) */
  mote_core_status st = MOTE_CORE_OK;
  if (r.outcome == MOTE_INVOKE_CANCELLED) {
    st = core_fail(err, MOTE_CORE_CANCELLED, "the deploy was abandoned (%s): its "
                   "initialisation was stopped", core_stop_why(prep->stop));
  } else if (r.outcome != MOTE_INVOKE_EXITED) {
    size_t tail = r.stderr_len > 300 ? 300 : r.stderr_len;
    st = core_fail(err, r.outcome == MOTE_INVOKE_HOST ? MOTE_CORE_INIT_HOST : MOTE_CORE_INIT_FAILED,
                   "the function's initialisation failed: %s%s%.*s",
                   r.message[0] ? r.message : mote_invoke_outcome_name(r.outcome),
                   tail ? "; stderr: " : "", (int)tail,
                   (const char *)r.stderr_data + (r.stderr_len - tail));
  }
  mote_invoke_result_clear(&r);
  return st;
}

static mote_core_status compile_status(mote_compile_status st) {
  switch (st) {
    case MOTE_COMPILE_MALFORMED: return MOTE_CORE_MALFORMED_MODULE;
    case MOTE_COMPILE_UNSUPPORTED: return MOTE_CORE_UNSUPPORTED_MODULE;
    case MOTE_COMPILE_INVALID: return MOTE_CORE_INVALID_MODULE;
    case MOTE_COMPILE_LIMIT: return MOTE_CORE_COMPILE_LIMIT;
    default: return MOTE_CORE_COMPILE_FAILED;
  }
}

/* Whether a compile's message says a write found no space. The C compiler
 * and the linker are child processes: their words are all there is to read
 * (the store's own writes have MOTE_STORE_FULL instead). */
static bool tool_says_disk_full(const char *message) {
  return strstr(message, strerror(ENOSPC)) != NULL || strstr(message, strerror(EDQUOT)) != NULL;
}

/* A failed compile; one that failed to write (the tools' messages, or a
 * disk nearly full after it) is a full disk, not a toolchain's failure. */
static mote_core_status compile_fail(const mote_core *c, mote_compile_status cst,
                                     const mote_compile_error *cerr, mote_core_error *err) {
  uint64_t avail = 0;
  bool low = core_disk_low(c, &avail);
  if ((cst == MOTE_COMPILE_TOOL_FAILED || cst == MOTE_COMPILE_IO) &&
      (tool_says_disk_full(cerr->message) || low))
    return core_fail(err, MOTE_CORE_DISK_FULL,
                     "the disk of %s is full (%llu KiB free): compiling failed: %s", c->data_dir,
                     (unsigned long long)(avail >> 10), cerr->message);
  return core_fail(err, compile_status(cst), "%s", cerr->message);
}

/* A module the quick tier refuses (mote_compile says why: a type tcc's value
 * stack cannot hold) is compiled at once on the opt tier, on the caller's
 * thread (a deploy's, the cluster applier's, startup's), since nothing can
 * run until then. Those compiles take turns, one in the process at a time,
 * so deploys of such modules cannot start gcc once per connection, and get
 * tighter limits than the background build (a deploy waits for it); a
 * deploy whose client has gone stops its compile. */
static pthread_mutex_t fallback_lock = PTHREAD_MUTEX_INITIALIZER;
#define FALLBACK_CPU_SECONDS 120
#define FALLBACK_WALL_SECONDS 240

/* The compile's question whether its deploy still wants it (its client may
 * have gone: core_stop_request). */
static bool deploy_stopped(void *ctx) { return core_stop_requested(ctx); }

static mote_compile_status compile_opt_instead(const uint8_t *wasm, size_t len,
                                               const core_prep *prep,
                                               mote_compile_options *opts,
                                               mote_compile_result *res,
                                               mote_compile_error *cerr) {
  char quick_why[sizeof cerr->message];
  snprintf(quick_why, sizeof quick_why, "%s", cerr->message);
  opts->tier = MOTE_TIER_OPT;
  opts->cpu_seconds = FALLBACK_CPU_SECONDS;
  opts->wall_seconds = FALLBACK_WALL_SECONDS;
  if (prep && prep->stop) {
    opts->stopped = deploy_stopped;
    opts->stopped_ctx = prep->stop;
  }
  pthread_mutex_lock(&fallback_lock);
  mote_compile_status cst = mote_compile(wasm, len, opts, res, cerr);
  pthread_mutex_unlock(&fallback_lock);
  if (cst != MOTE_COMPILE_OK) {
    char opt_why[sizeof cerr->message];
    snprintf(opt_why, sizeof opt_why, "%s", cerr->message);
    snprintf(cerr->message, sizeof cerr->message, "%s; then the opt tier: %s", quick_why,
             opt_why);
  }
  return cst;
}

mote_core_status fn_load(mote_core *c, const char *ns, const char *name, const uint8_t *wasm,
                         size_t len, const mote_function_settings *st, const char *files_dir,
                         const core_prep *prep, core_fn **out, bool *need_opt,
                         mote_core_error *err) {
  *out = NULL;
  *need_opt = false;
  mote_compile_options opts = {.cache_dir = c->cache_dir, .tier = MOTE_TIER_OPT};
  mote_compile_result res;
  mote_compile_error cerr;
  /* In a cluster, a peer's object of the same toolchain (the key says so)
   * saves the compile: the opt tier's if one is made, else the quick one's. */
  if (!mote_compile_lookup(wasm, len, &opts, &res) &&
      !(c->ops.fetch_object && c->ops.fetch_object(c->ops.ctx, MOTE_TIER_OPT, res.key, false) &&
        mote_compile_lookup(wasm, len, &opts, &res))) {
    opts.tier = MOTE_TIER_QUICK;
    if (c->ops.fetch_object && !mote_compile_lookup(wasm, len, &opts, &res))
      c->ops.fetch_object(c->ops.ctx, MOTE_TIER_QUICK, res.key, false);
    mote_compile_status cst = mote_compile(wasm, len, &opts, &res, &cerr);
    /* tcc cannot compile everything gcc can (a call of 300 values, see
     * mote_compile): the opt tier instead, at once. Not when tcc ran out of
     * time or memory: gcc would only take longer. */
    if (cst == MOTE_COMPILE_TOOL_FAILED && !tool_says_disk_full(cerr.message)) {
      fprintf(stderr, "mote serve: %s/%s: %s: compiling the opt tier now\n", ns, name,
              cerr.message);
      cst = compile_opt_instead(wasm, len, prep, &opts, &res, &cerr);
    }
    if (cst != MOTE_COMPILE_OK) return compile_fail(c, cst, &cerr, err);
    if (!res.cached && c->ops.object_built)
      c->ops.object_built(c->ops.ctx, opts.tier, res.key, res.so_path);
    *need_opt = opts.tier == MOTE_TIER_QUICK;
  }
  core_fn *fn = mote_calloc(1, sizeof *fn);
  if (!fn || (files_dir && !(fn->files_dir = mote_strdup(files_dir)))) {
    mote_free(fn);
    return core_fail(err, MOTE_CORE_NO_MEMORY, "out of memory");
  }
  atomic_init(&fn->refs, 1);
  atomic_init(&fn->opt, NULL);
  atomic_init(&fn->ext, NULL);
  atomic_init(&fn->opt_state, *need_opt ? CORE_OPT_BUILDING : CORE_OPT_AT_DEPLOY);
  fn->base.tier = opts.tier;
  fn->files_root = (mote_wasi_preopen){.host_path = fn->files_dir, .guest_path = "/"};
  /* fn_invoke_config reads the settings from the record: borrow them until
   * the caller gives the record (the settings are copied by then). */
  fn->rec.settings = *st;
  mote_rt_error rerr;
  char msg[1024];
  mote_core_status status = MOTE_CORE_OK;
  if (mote_rt_module_load(res.so_path, &fn->base.module, &rerr) != MOTE_RT_OK)
    status = core_fail(err, MOTE_CORE_LOAD_FAILED, "%s", rerr.message);
  else if (!mote_invoke_check_imports(fn->base.module, msg, sizeof msg))
    status = core_fail(err, MOTE_CORE_UNSUPPORTED_IMPORT, "%s", msg);
  else /* kept once the store accepts the version (snapstore_keep) */
    status = snapstore_prepare(c, fn, &fn->base, res.so_path, res.key, ns, name, false, prep,
                               err);
  memset(&fn->rec.settings, 0, sizeof fn->rec.settings); /* borrowed, not owned */
  if (status != MOTE_CORE_OK) {
    image_clear(&fn->base);
    mote_free(fn->files_dir);
    mote_free(fn);
    return status;
  }
  *out = fn;
  return MOTE_CORE_OK;
}

/* ---- the opt-tier worker ------------------------------------------------------ */

typedef struct opt_job {
  struct opt_job *next;
  core_fn *fn; /* a reference */
  uint8_t *wasm;
  size_t len;
} opt_job;

struct core_loader {
  mote_core *core;
  pthread_t thread;
  bool started, stop;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  opt_job *head, *tail;
};

static void job_free(opt_job *j) {
  fn_release(j->fn);
  mote_free(j->wasm);
  mote_free(j);
}

/* The end of a version's opt build: its state, /metrics and a line on
 * stderr when it failed (msg), so that a failure is never silent. */
static void opt_done(mote_core *c, core_fn *fn, const char *msg) {
  if (msg) {
    snprintf(fn->opt_error, sizeof fn->opt_error, "%s", msg);
    fprintf(stderr, "mote serve: %s/%s v%llu: the opt tier failed (%s); the quick tier "
            "serves\n", fn->rec.ns, fn->rec.name, (unsigned long long)fn->rec.version, msg);
  }
  atomic_store_explicit(&fn->opt_state, msg ? CORE_OPT_FAILED : CORE_OPT_READY,
                        memory_order_release);
  metrics_opt_build(c->metrics, msg == NULL);
}

static void run_job(mote_core *c, opt_job *j) {
  mote_compile_options opts = {.cache_dir = c->cache_dir, .tier = MOTE_TIER_OPT};
  mote_compile_result res;
  mote_compile_error cerr;
  /* In a cluster the opt tier is compiled once: a peer's object, or the
   * one a peer is building (waited for), else ours, which peers then take. */
  if (c->ops.fetch_object && !mote_compile_lookup(j->wasm, j->len, &opts, &res))
    c->ops.fetch_object(c->ops.ctx, MOTE_TIER_OPT, res.key, true);
  if (mote_compile(j->wasm, j->len, &opts, &res, &cerr) != MOTE_COMPILE_OK) {
    if (c->ops.object_built) c->ops.object_built(c->ops.ctx, MOTE_TIER_OPT, res.key, NULL);
    opt_done(c, j->fn, cerr.message);
    return;
  }
  /* Also when the object was found in the cache: a build the room took for
   * this key (fetch_object) may have ended so (another version of the same
   * module compiled it meanwhile), and the room releases it only here. */
  if (c->ops.object_built) c->ops.object_built(c->ops.ctx, MOTE_TIER_OPT, res.key, res.so_path);
  core_image *img = mote_calloc(1, sizeof *img);
  if (!img) {
    opt_done(c, j->fn, "out of memory");
    return;
  }
  img->tier = MOTE_TIER_OPT;
  mote_rt_error rerr;
  mote_core_error err;
  char msg[1300];
  if (mote_rt_module_load(res.so_path, &img->module, &rerr) != MOTE_RT_OK) {
    snprintf(msg, sizeof msg, "cannot load the opt tier: %s", rerr.message);
  } else if (snapstore_prepare(c, j->fn, img, res.so_path, res.key, j->fn->rec.ns,
                               j->fn->rec.name, true, &(core_prep){.check_budget = true},
                               &err) == MOTE_CORE_OK) { /* kept at once */
    core_image *expected = NULL;
    if (atomic_compare_exchange_strong(&j->fn->opt, &expected, img)) {
      opt_done(c, j->fn, NULL);
      fn_retire_base(j->fn); /* one snapshot per version: the quick one goes */
      return;
    }
    snprintf(msg, sizeof msg, "the opt tier was published twice");
  } else {
    snprintf(msg, sizeof msg, "%s", err.message);
  }
  opt_done(c, j->fn, msg);
  image_clear(img);
  mote_free(img);
}

static void *worker(void *arg) {
  core_loader *l = arg;
  pthread_mutex_lock(&l->lock);
  for (;;) {
    while (!l->head && !l->stop) pthread_cond_wait(&l->cond, &l->lock);
    if (l->stop) break;
    opt_job *j = l->head;
    l->head = j->next;
    if (!l->head) l->tail = NULL;
    pthread_mutex_unlock(&l->lock);
    /* A version replaced or deleted before its turn needs no opt tier. */
    if (atomic_load(&j->fn->refs) > 1) run_job(l->core, j);
    job_free(j);
    pthread_mutex_lock(&l->lock);
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
}

core_loader *loader_new(mote_core *c) {
  core_loader *l = mote_calloc(1, sizeof *l);
  if (!l) return NULL;
  l->core = c;
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->cond, NULL);
  l->started = pthread_create(&l->thread, NULL, worker, l) == 0;
  return l;
}

void loader_queue_opt(core_loader *l, core_fn *fn, const uint8_t *wasm, size_t len) {
  opt_job *j = mote_calloc(1, sizeof *j);
  uint8_t *copy = mote_malloc(len ? len : 1);
  if (!j || !copy) {
    mote_free(j);
    mote_free(copy);
    return; /* the quick tier keeps serving */
  }
  memcpy(copy, wasm, len);
  atomic_fetch_add(&fn->refs, 1);
  j->fn = fn;
  j->wasm = copy;
  j->len = len;
  pthread_mutex_lock(&l->lock);
  if (l->stop) {
    pthread_mutex_unlock(&l->lock);
    job_free(j);
    return;
  }
  if (l->tail) l->tail->next = j;
  else l->head = j;
  l->tail = j;
  pthread_cond_signal(&l->cond);
  pthread_mutex_unlock(&l->lock);
}

void loader_free(core_loader *l) {
  if (!l) return;
  pthread_mutex_lock(&l->lock);
  l->stop = true;
  pthread_cond_signal(&l->cond);
  pthread_mutex_unlock(&l->lock);
  if (l->started) pthread_join(l->thread, NULL);
  for (opt_job *j = l->head, *next; j; j = next) {
    next = j->next;
    job_free(j);
  }
  pthread_cond_destroy(&l->cond);
  pthread_mutex_destroy(&l->lock);
  mote_free(l);
}
