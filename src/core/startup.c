/*
 * startup: the stored functions prepared at open, in parallel, while the
 * server already listens. Every stored version is listed at open; a small
 * pool (the core's workers, at most one per version) prepares them (read
 * the module, compile or take the cached object, load, initialise or take
 * the kept snapshot) and makes each current under the deploy lock, unless
 * a deploy, an apply or a delete came first. Until a version is prepared,
 * core_fn_preparing names it, so that a call of it answers "starting"
 * (503, Retry-After) rather than "no such function"; a version that cannot
 * be prepared is not served (a line on stderr says why), as before. A
 * function deleted meanwhile (startup_forget) is "no such function" at
 * once, and its versions not taken yet are never prepared.
 *
 * Opened without background_start, mote_core_open waits for the pool (the
 * load at open of a library user or a test); the server does not.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/core_internal.h"

struct core_startup {
  mote_core *c;
  pthread_mutex_t lock;
  pthread_cond_t all_done;
  mote_function_version *list; /* owned: the stored versions at open */
  bool *done;                  /* owned: per version, prepared (or given up) */
  bool *gone;                  /* owned: per version, its function deleted since open */
  size_t n, next;              /* next: the first version no thread took */
  size_t pending;              /* versions not done */
  bool stop;                   /* startup_free: take no more */
  pthread_t *threads;          /* owned */
  unsigned nthreads;
};

/* Prepares version v and makes it current unless its record is gone from
 * the store (deleted meanwhile) or a later version serves already. */
static void prepare_one(mote_core *c, mote_function_version *v) {
  uint8_t *wasm = NULL;
  size_t len = 0;
  core_fn *fn = NULL;
  bool need_opt = false;
  mote_core_error err;
  mote_store_error se;
  char files_dir[PATH_MAX];
  if (v->files_hash) mote_store_files_path(c->store, v->files_hash, files_dir, sizeof files_dir);
  /* Through the store: its hash check refuses a damaged blob. */
  mote_store_status rst = mote_store_blob_read(c->store, v->module_hash, &wasm, &len, &se);
  if (rst == MOTE_STORE_NOT_FOUND && c->cluster) {
    /* a record of a function placed on other nodes: not served here */
  } else if (rst != MOTE_STORE_OK) {
    fprintf(stderr, "mote serve: %s/%s v%llu: cannot read its module: %s; not served\n", v->ns,
            v->name, (unsigned long long)v->version, se.message);
  } else if (fn_load(c, v->ns, v->name, wasm, len, &v->settings,
                     v->files_hash ? files_dir : NULL, CORE_PREP_UNBOUNDED, &fn, &need_opt,
                     &err) != MOTE_CORE_OK) {
    fprintf(stderr, "mote serve: %s/%s v%llu: %s; not served\n", v->ns, v->name,
            (unsigned long long)v->version, err.message);
  } else {
    bool current = false;
    pthread_mutex_lock(&c->deploy_lock);
    /* The store's record as it is now: NOT_FOUND when deleted meanwhile. */
    if (mote_store_get_version(c->store, v->ns, v->name, v->version, &fn->rec, &se) ==
        MOTE_STORE_OK) {
      atomic_fetch_add(&fn->refs, 1); /* kept for the opt build below */
      current = apply_make_current(c, fn);
      if (!current) fn_release(fn); /* a later version serves */
    }
    pthread_mutex_unlock(&c->deploy_lock);
    if (current && need_opt) loader_queue_opt(c->loader, fn, wasm, len);
    fn_release(fn); /* ours: the registry holds its own when current */
  }
  free(wasm);
}

static void *startup_thread(void *arg) {
  core_startup *s = arg;
  pthread_mutex_lock(&s->lock);
  while (!s->stop && s->next < s->n) {
    size_t i = s->next++;
    bool gone = s->gone[i];
    pthread_mutex_unlock(&s->lock);
    if (!gone) prepare_one(s->c, &s->list[i]);
    pthread_mutex_lock(&s->lock);
    s->done[i] = true;
    if (--s->pending == 0) pthread_cond_broadcast(&s->all_done);
  }
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

core_startup *startup_new(mote_core *c, unsigned threads) {
  core_startup *s = mote_calloc(1, sizeof *s);
  if (!s) return NULL;
  s->c = c;
  pthread_mutex_init(&s->lock, NULL);
  pthread_cond_init(&s->all_done, NULL);
  mote_store_error se;
  if (mote_store_list(c->store, NULL, &s->list, &s->n, &se) != MOTE_STORE_OK) {
    fprintf(stderr, "mote serve: cannot list the stored functions: %s\n", se.message);
    s->list = NULL;
    s->n = 0;
  }
  s->pending = s->n;
  if (s->n == 0) return s;
  if (threads == 0) threads = 1;
  if (threads > s->n) threads = (unsigned)s->n;
  s->done = mote_calloc(s->n, sizeof *s->done);
  s->gone = mote_calloc(s->n, sizeof *s->gone);
  s->threads = mote_calloc(threads, sizeof *s->threads);
  if (!s->done || !s->gone || !s->threads) {
    startup_free(s);
    return NULL;
  }
  for (unsigned i = 0; i < threads; i++) {
    if (pthread_create(&s->threads[i], NULL, startup_thread, s) != 0) break;
    s->nthreads++;
  }
  if (s->nthreads == 0) startup_thread(s); /* no thread starts: here, one by one */
  return s;
}

void startup_wait(core_startup *s) {
  pthread_mutex_lock(&s->lock);
  while (s->pending > 0 && !s->stop) pthread_cond_wait(&s->all_done, &s->lock);
  pthread_mutex_unlock(&s->lock);
}

void startup_free(core_startup *s) {
  if (!s) return;
  pthread_mutex_lock(&s->lock);
  s->stop = true; /* the versions in preparation finish; no more start */
  pthread_cond_broadcast(&s->all_done);
  pthread_mutex_unlock(&s->lock);
  for (unsigned i = 0; i < s->nthreads; i++) pthread_join(s->threads[i], NULL);
  for (size_t i = 0; i < s->n; i++) mote_function_version_clear(&s->list[i]);
  free(s->list);
  mote_free(s->done);
  mote_free(s->gone);
  mote_free(s->threads);
  pthread_cond_destroy(&s->all_done);
  pthread_mutex_destroy(&s->lock);
  mote_free(s);
}

bool startup_preparing(core_startup *s, const char *ns, const char *name) {
  bool found = false;
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; s->pending > 0 && !found && i < s->n; i++)
    found = !s->done[i] && !s->gone[i] && !strcmp(s->list[i].ns, ns) &&
            !strcmp(s->list[i].name, name);
  pthread_mutex_unlock(&s->lock);
  return found;
}

void startup_forget(core_startup *s, const char *ns, const char *name) {
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; s->gone && i < s->n; i++)
    if (!strcmp(s->list[i].ns, ns) && !strcmp(s->list[i].name, name)) s->gone[i] = true;
  pthread_mutex_unlock(&s->lock);
}

void startup_counts(core_startup *s, unsigned *pending, unsigned *total) {
  pthread_mutex_lock(&s->lock);
  *pending = (unsigned)s->pending;
  *total = (unsigned)s->n;
  pthread_mutex_unlock(&s->lock);
}
