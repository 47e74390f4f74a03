/*
 * registry: (namespace, name) -> its entry -> the loaded current version.
 * Names are per namespace: the map's key is "ns/name" (core_fn_key).
 *
 * An entry is made by a function's first deploy and kept until the core closes:
 * it holds the handles of the name's admission state and counters (made on
 * its first call), so a call finds everything it needs with one lookup, and
 * a deleted function's counters stay. The version is reference-counted: a
 * call takes a reference on the version it finds and runs on it to the end;
 * a deploy or a delete only swaps the entry's pointer and drops the
 * registry's reference. The last reference frees the version: calls in
 * flight finish on the version they started with, and nothing is freed
 * under them.
 *
 * Tiers: a version is loaded with the quick tier (tcc, milliseconds) unless
 * the opt object is already cached; the opt tier is built by the loader's
 * worker (loader.c) and published with one atomic store. New calls pick it
 * up; calls in flight keep the module they started with (both stay loaded
 * until the version is freed).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/map.h"
#include "core/core_internal.h"

bool core_fn_key(const char *ns, const char *name, char out[CORE_FN_KEY_MAX]) {
  if (!mote_store_valid_name(ns) || !mote_store_valid_name(name)) return false;
  size_t n = strlen(ns), m = strlen(name);
  memcpy(out, ns, n);
  out[n] = '/';
  memcpy(out + n + 1, name, m + 1);
  return true;
}

void core_fn_key_split(const char *key, char ns[MOTE_STORE_NS_MAX + 1],
                       char name[CORE_NAME_MAX + 1]) {
  const char *slash = strchr(key, '/');
  size_t n = slash ? (size_t)(slash - key) : 0;
  snprintf(ns, MOTE_STORE_NS_MAX + 1, "%.*s", (int)n, key);
  snprintf(name, CORE_NAME_MAX + 1, "%s", slash ? slash + 1 : key);
}

struct core_registry {
  pthread_mutex_t lock;
  mote_map *entries; /* "ns/name" -> core_entry */
  unsigned served;   /* entries with a current version */
};

core_registry *registry_new(void) {
  core_registry *r = mote_calloc(1, sizeof *r);
  if (!r) return NULL;
  if (!(r->entries = mote_map_new())) {
    mote_free(r);
    return NULL;
  }
  pthread_mutex_init(&r->lock, NULL);
  return r;
}

void registry_free(core_registry *r) {
  if (!r) return;
  mote_map_iter it = {0};
  void *v;
  while (mote_map_next(r->entries, &it, NULL, &v)) {
    core_entry *e = v;
    fn_release(e->current);
    mote_free(e);
  }
  mote_map_free(r->entries);
  pthread_mutex_destroy(&r->lock);
  mote_free(r);
}

core_fn *registry_acquire(core_registry *r, const char *ns, const char *name) {
  char key[CORE_FN_KEY_MAX];
  if (!core_fn_key(ns, name, key)) return NULL;
  pthread_mutex_lock(&r->lock);
  core_entry *e = mote_map_get(r->entries, key);
  core_fn *fn = e ? e->current : NULL;
  if (fn) atomic_fetch_add(&fn->refs, 1);
  pthread_mutex_unlock(&r->lock);
  return fn;
}

mote_core_status registry_put(core_registry *r, core_fn *fn) {
  core_fn *old = NULL;
  char key[CORE_FN_KEY_MAX];
  if (!core_fn_key(fn->rec.ns, fn->rec.name, key)) {
    fn_release(fn);
    return MOTE_CORE_INVALID;
  }
  pthread_mutex_lock(&r->lock);
  core_entry *e = mote_map_get(r->entries, key);
  if (!e && (e = mote_calloc(1, sizeof *e))) {
    memcpy(e->key, key, sizeof key);
    snprintf(e->ns, sizeof e->ns, "%s", fn->rec.ns);
    snprintf(e->name, sizeof e->name, "%s", fn->rec.name);
    if (mote_map_put(r->entries, e->key, e, NULL) != 0) {
      mote_free(e);
      e = NULL;
    }
  }
  if (e) {
    old = e->current;
    e->current = fn;
    fn->entry = e;
    if (!old) r->served++;
  }
  pthread_mutex_unlock(&r->lock);
  if (!e) {
    fn_release(fn);
    return MOTE_CORE_NO_MEMORY;
  }
  fn_release(old);
  return MOTE_CORE_OK;
}

bool registry_remove(core_registry *r, const char *ns, const char *name) {
  char key[CORE_FN_KEY_MAX];
  if (!core_fn_key(ns, name, key)) return false;
  pthread_mutex_lock(&r->lock);
  core_entry *e = mote_map_get(r->entries, key);
  core_fn *old = e ? e->current : NULL;
  if (old) {
    e->current = NULL;
    r->served--;
  }
  pthread_mutex_unlock(&r->lock);
  fn_release(old);
  return old != NULL;
}

unsigned registry_count(core_registry *r) {
  pthread_mutex_lock(&r->lock);
  unsigned n = r->served;
  pthread_mutex_unlock(&r->lock);
  return n;
}

/* ---- versions ----------------------------------------------------------------- */

void image_clear(core_image *img) {
  image_uncharge(img);
  mote_rt_snapshot_free(img->snap); /* before its module */
  if (img->module) mote_rt_module_free(img->module);
  memset(img, 0, sizeof *img);
}

void fn_release(core_fn *fn) {
  if (!fn || atomic_fetch_sub(&fn->refs, 1) != 1) return;
  core_image *opt = atomic_load(&fn->opt);
  if (opt) {
    image_clear(opt);
    mote_free(opt);
  }
  core_ext *ext = atomic_load(&fn->ext);
  if (ext) {
    ext->drop(ext->value);
    mote_free(ext);
  }
  image_clear(&fn->base);
  mote_function_version_clear(&fn->rec);
  mote_free(fn->files_dir);
  mote_free(fn);
}

const core_image *fn_image(core_fn *fn) {
  const core_image *opt = atomic_load(&fn->opt);
  return opt ? opt : &fn->base;
}

/* Once: the base's snapshot (its memory image) goes; its module stays. */
static void base_free_snap(core_fn *fn) {
  if (atomic_exchange(&fn->base.snap_freed, true)) return;
  image_uncharge(&fn->base);
  mote_rt_snapshot_free(fn->base.snap);
  fn->base.snap = NULL;
}

/* Seq-cst both ways: a taker increments `users` then reads `retired`, the
 * retirer stores `retired` then reads `users`, so at least one sees the
 * other: either the taker backs off to opt, or the retirer leaves the free
 * to the last user. */
const core_image *fn_image_take(core_fn *fn) {
  for (;;) {
    core_image *opt = atomic_load(&fn->opt);
    if (opt) return opt; /* lives as long as fn */
    atomic_fetch_add(&fn->base.users, 1);
    if (!atomic_load(&fn->base.retired)) return &fn->base;
    fn_image_give(fn, &fn->base); /* retired: opt is published, take it */
  }
}

void fn_image_give(core_fn *fn, const core_image *img) {
  if (img != &fn->base) return;
  if (atomic_fetch_sub(&fn->base.users, 1) == 1 && atomic_load(&fn->base.retired))
    base_free_snap(fn);
}

void fn_retire_base(core_fn *fn) {
  atomic_store(&fn->base.retired, true);
  if (atomic_load(&fn->base.users) == 0) base_free_snap(fn);
}

void fn_invoke_config(const core_fn *fn, const core_image *img, mote_invoke_config *cfg) {
  const mote_function_settings *st = &fn->rec.settings;
  memset(cfg, 0, sizeof *cfg);
  cfg->module = img->module;
  cfg->snapshot = img->snap;
  cfg->memory_pages = (st->memory_mib ? st->memory_mib : CORE_DEFAULT_MEMORY_MIB) * 16u;
  cfg->timeout_ms = st->timeout_ms ? st->timeout_ms : CORE_DEFAULT_TIMEOUT_MS;
  cfg->wasi.env = (const char *const *)st->env;
  cfg->wasi.envc = st->env_count;
  if (fn->files_dir) {
    cfg->wasi.preopens = &fn->files_root;
    cfg->wasi.npreopens = 1;
  }
}

/* ---- the public face ------------------------------------------------------------- */

core_fn *core_fn_acquire(mote_core *c, const char *ns, const char *name) {
  return registry_acquire(c->reg, ns, name);
}

void core_fn_release(core_fn *fn) { fn_release(fn); }

const mote_function_version *core_fn_record(const core_fn *fn) { return &fn->rec; }

unsigned core_fn_count(mote_core *c) { return registry_count(c->reg); }

void core_fn_tier(core_fn *fn, core_tier_info *out) {
  const core_image *img = fn_image_take(fn);
  memset(out, 0, sizeof *out);
  out->tier = mote_tier_name(img->tier);
  switch (atomic_load_explicit(&fn->opt_state, memory_order_acquire)) {
    case CORE_OPT_BUILDING: out->opt_state = "building"; break;
    case CORE_OPT_FAILED:
      out->opt_state = "failed";
      out->opt_error = fn->opt_error;
      break;
    default: out->opt_state = "ready"; break;
  }
  out->snapshot = img->snap != NULL;
  if (img->snap) {
    out->snapshot_bytes = mote_rt_snapshot_image_bytes(img->snap);
    out->snapshot_image = mote_rt_image_mode_name(mote_rt_snapshot_mode(img->snap));
    out->snapshot_from = img->snap_kept ? "store" : "init";
  }
  fn_image_give(fn, img);
}

void *core_fn_extension(core_fn *fn, void *(*make)(const mote_function_version *rec),
                        void (*drop)(void *ext)) {
  core_ext *ext = atomic_load_explicit(&fn->ext, memory_order_acquire);
  if (ext) return ext->value;
  core_ext *made = mote_malloc(sizeof *made);
  if (!made) return NULL;
  if (!(made->value = make(&fn->rec))) {
    mote_free(made);
    return NULL;
  }
  made->drop = drop;
  core_ext *expected = NULL;
  if (atomic_compare_exchange_strong_explicit(&fn->ext, &expected, made, memory_order_acq_rel,
                                              memory_order_acquire))
    return made->value;
  drop(made->value); /* another caller published first */
  mote_free(made);
  return expected->value;
}
