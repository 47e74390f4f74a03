/*
 * deploy: versions made current and functions removed, by any API, and the
 * load of every stored function at start. The one holder of the deploy
 * lock, which orders the store's writes with the registry's swaps (the
 * compile and the initialisation run outside it).
 *
 * A deploy compiles, loads and initialises the version *before* the store
 * keeps it (a bundle's files are written to their content-addressed
 * directory first, for the initialiser to read; nothing refers to them
 * until the version's row does): a module that cannot run, or whose
 * mote_init fails, is refused and the old version keeps serving. Its
 * snapshot is kept in the store (snapstore.c) only once the store has
 * accepted the version: a deploy the store refuses cannot replace the kept
 * snapshot of its function.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/core_internal.h"

mote_core_status core_deploy(mote_core *c, const core_deploy_req *req, core_fn **out,
                             mote_core_error *err) {
  *out = NULL;
  char files_dir[PATH_MAX];
  files_dir[0] = '\0';
  mote_store_error se;
  if (req->nfiles) {
    char files_hash[MOTE_STORE_HASH_HEX];
    if (mote_store_put_files(c->store, req->files, req->nfiles, files_hash, &se) != MOTE_STORE_OK)
      return core_fail(err, MOTE_CORE_FILES, "%s", se.message);
    mote_store_files_path(c->store, files_hash, files_dir, sizeof files_dir);
  }
  core_fn *fn = NULL;
  bool need_opt = false;
  mote_core_status st = fn_load(c, req->ns, req->name, req->wasm, req->len, req->settings,
                                files_dir[0] ? files_dir : NULL, &fn, &need_opt, err);
  if (st != MOTE_CORE_OK) return st;
  pthread_mutex_lock(&c->deploy_lock);
  mote_store_status sst =
      mote_store_deploy(c->store, req->ns, req->name, req->wasm, req->len, req->files,
                        req->nfiles, req->settings, req->meta, &fn->rec, &se);
  if (sst == MOTE_STORE_OK) {
    /* Its snapshot may now replace the kept one; under the lock, so that a
     * delete (which forgets the name's snapshots) or a later deploy of the
     * name cannot come between the store's accepting and the keeping. */
    snapstore_keep(c, fn);
    atomic_fetch_add(&fn->refs, 1); /* the caller's */
    st = registry_put(c->reg, fn);  /* takes the first reference */
  }
  pthread_mutex_unlock(&c->deploy_lock);
  if (sst != MOTE_STORE_OK) {
    fn_release(fn); /* its snapshot is not kept: the name's kept one stays */
    return core_store_fail(err, &se);
  }
  if (st != MOTE_CORE_OK) {
    /* Stored, but not served: the next start serves it. */
    fn_release(fn);
    return core_fail(err, st, "out of memory: the version was stored but is not served");
  }
  if (need_opt) loader_queue_opt(c->loader, fn, req->wasm, req->len); /* copies the bytes */
  *out = fn;
  return MOTE_CORE_OK;
}

mote_core_status core_delete(mote_core *c, const char *ns, const char *name,
                             mote_core_error *err) {
  if (!mote_store_valid_name(ns) || !mote_store_valid_name(name))
    return core_fail(err, MOTE_CORE_NOT_FOUND, "no function named \"%s\"", name);
  mote_store_error se;
  pthread_mutex_lock(&c->deploy_lock);
  mote_store_status st = mote_store_delete(c->store, ns, name, &se);
  if (st == MOTE_STORE_OK) registry_remove(c->reg, ns, name);
  pthread_mutex_unlock(&c->deploy_lock);
  if (st == MOTE_STORE_NOT_FOUND)
    return core_fail(err, MOTE_CORE_NOT_FOUND, "no function named \"%s\"", name);
  if (st != MOTE_STORE_OK) return core_store_fail(err, &se);
  return MOTE_CORE_OK;
}

void core_count_deploy(mote_core *c, bool ok) { metrics_deploy(c->metrics, ok); }

void deploy_load_all(mote_core *c) {
  mote_function_version *list = NULL;
  size_t n = 0;
  mote_store_error se;
  if (mote_store_list(c->store, NULL, &list, &n, &se) != MOTE_STORE_OK) {
    fprintf(stderr, "mote serve: cannot list the stored functions: %s\n", se.message);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    mote_function_version *v = &list[i];
    uint8_t *wasm = NULL;
    size_t len = 0;
    core_fn *fn = NULL;
    bool need_opt = false;
    mote_core_error err;
    char files_dir[PATH_MAX];
    if (v->files_hash) mote_store_files_path(c->store, v->files_hash, files_dir, sizeof files_dir);
    /* Through the store: its hash check refuses a damaged blob. */
    if (mote_store_blob_read(c->store, v->module_hash, &wasm, &len, &se) != MOTE_STORE_OK) {
      fprintf(stderr, "mote serve: %s/%s v%llu: cannot read its module: %s; not served\n",
              v->ns, v->name, (unsigned long long)v->version, se.message);
    } else if (fn_load(c, v->ns, v->name, wasm, len, &v->settings,
                       v->files_hash ? files_dir : NULL, &fn, &need_opt, &err) != MOTE_CORE_OK) {
      fprintf(stderr, "mote serve: %s/%s v%llu: %s; not served\n", v->ns, v->name,
              (unsigned long long)v->version, err.message);
    } else {
      char name[CORE_FN_KEY_MAX];
      snprintf(name, sizeof name, "%s/%s", v->ns, v->name);
      fn->rec = *v; /* takes over the record's strings */
      memset(v, 0, sizeof *v);
      snapstore_keep(c, fn); /* when it was not loaded from the store */
      /* The registry's reference is the only one: nothing else runs yet. */
      if (registry_put(c->reg, fn) != MOTE_CORE_OK)
        fprintf(stderr, "mote serve: %s: out of memory; not served\n", name);
      else if (need_opt)
        loader_queue_opt(c->loader, fn, wasm, len);
    }
    free(wasm);
    mote_function_version_clear(&list[i]);
  }
  free(list);
}
