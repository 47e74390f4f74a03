/*
 * deploy: versions made current and functions removed, by any API. The
 * holder of the deploy lock (with apply.c and startup.c), which orders the store's writes with the registry's swaps (the
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

/* A deploy in a cluster: the module's blob stored here, the version
 * committed for the cluster (which numbers it), then kept and made current
 * here as any version applied (apply.c), unless a later one already is. */
static mote_core_status deploy_committed(mote_core *c, const core_deploy_req *req, core_fn *fn,
                                         const char *files_hash, mote_core_error *err) {
  char module_hash[MOTE_STORE_HASH_HEX];
  mote_store_error se;
  if (mote_store_put_blob(c->store, req->wasm, req->len, module_hash, &se) != MOTE_STORE_OK)
    return core_fail(err, MOTE_CORE_STORE, "%s", se.message);
  const char *paths[MOTE_STORE_FILES_LISTED];
  uint64_t files_bytes = 0;
  for (size_t i = 0; i < req->nfiles; i++) {
    files_bytes += req->files[i].len;
    if (i < MOTE_STORE_FILES_LISTED) paths[i] = req->files[i].path;
  }
  bool listed = req->nfiles <= MOTE_STORE_FILES_LISTED;
  core_commit what = {.ns = req->ns, .name = req->name, .module_hash = module_hash,
                      .module_len = req->len, .files_hash = req->nfiles ? files_hash : NULL,
                      .files_count = req->nfiles, .files_bytes = files_bytes,
                      .file_paths = listed ? paths : NULL,
                      .nfile_paths = listed ? (uint32_t)req->nfiles : 0,
                      .settings = req->settings, .meta = req->meta};
  uint64_t version = 0;
  bool serve_here = true;
  mote_core_status st = c->ops.commit_deploy(c->ops.ctx, &what, &version, &serve_here, err);
  if (st != MOTE_CORE_OK) return st;
  mote_function_version rec = {
      .name = (char *)req->name, .ns = (char *)req->ns, .version = version,
      .module_hash = module_hash, .files_hash = req->nfiles ? (char *)files_hash : NULL,
      .settings = *req->settings, .created_ms = mote_wall_ms(), .meta = (char *)req->meta,
      .files_indexed = req->nfiles > 0, .files_count = req->nfiles, .files_bytes = files_bytes,
      .file_paths = listed ? (char **)paths : NULL, .nfile_paths = what.nfile_paths};
  pthread_mutex_lock(&c->deploy_lock);
  if (mote_store_put_version(c->store, &rec, &se) != MOTE_STORE_OK) {
    st = core_fail(err, MOTE_CORE_STORE, "the cluster committed version %llu, but this node "
                   "could not keep it (it will from the cluster's record): %s",
                   (unsigned long long)version, se.message);
  } else if (mote_store_get_version(c->store, req->ns, req->name, version, &fn->rec, &se) !=
             MOTE_STORE_OK) {
    st = core_store_fail(err, &se);
  } else {
    atomic_fetch_add(&fn->refs, 1); /* the caller's */
    /* placed elsewhere, or a later version serves already: not current */
    if (!serve_here || !apply_make_current(c, fn)) fn_release(fn);
  }
  pthread_mutex_unlock(&c->deploy_lock);
  if (st == MOTE_CORE_OK && c->ops.deployed) c->ops.deployed(c->ops.ctx, req->ns, req->name);
  return st;
}

mote_core_status core_deploy(mote_core *c, const core_deploy_req *req, core_fn **out,
                             mote_core_error *err) {
  *out = NULL;
  char files_dir[PATH_MAX], files_hash[MOTE_STORE_HASH_HEX];
  files_dir[0] = '\0';
  mote_store_error se;
  if (req->nfiles) {
    if (mote_store_put_files(c->store, req->files, req->nfiles, files_hash, &se) != MOTE_STORE_OK)
      return core_fail(err, se.status == MOTE_STORE_FULL ? MOTE_CORE_DISK_FULL : MOTE_CORE_FILES,
                       "%s", se.message);
    mote_store_files_path(c->store, files_hash, files_dir, sizeof files_dir);
  }
  core_fn *fn = NULL;
  bool need_opt = false;
  core_prep prep = {.check_budget = true, .take_slot = true, .stop = req->stop};
  mote_core_status st = fn_load(c, req->ns, req->name, req->wasm, req->len, req->settings,
                                files_dir[0] ? files_dir : NULL, &prep, &fn, &need_opt, err);
  if (st != MOTE_CORE_OK) return st;
  if (c->ops.commit_deploy) {
    st = deploy_committed(c, req, fn, files_hash, err);
    if (st != MOTE_CORE_OK) {
      fn_release(fn);
      return st;
    }
    if (need_opt) loader_queue_opt(c->loader, fn, req->wasm, req->len);
    *out = fn;
    return MOTE_CORE_OK;
  }
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
  if (c->ops.commit_delete) { /* the cluster's record first: then every node's */
    mote_core_status cst = c->ops.commit_delete(c->ops.ctx, ns, name, err);
    if (cst != MOTE_CORE_OK) return cst;
    core_forget(c, ns, name);
    return MOTE_CORE_OK;
  }
  mote_store_error se;
  pthread_mutex_lock(&c->deploy_lock);
  mote_store_status st = mote_store_delete(c->store, ns, name, &se);
  if (st == MOTE_STORE_OK) registry_remove(c->reg, ns, name);
  pthread_mutex_unlock(&c->deploy_lock);
  if (st == MOTE_STORE_OK && c->startup) startup_forget(c->startup, ns, name);
  if (st == MOTE_STORE_NOT_FOUND)
    return core_fail(err, MOTE_CORE_NOT_FOUND, "no function named \"%s\"", name);
  if (st != MOTE_STORE_OK) return core_store_fail(err, &se);
  return MOTE_CORE_OK;
}

void core_count_deploy(mote_core *c, bool ok) { metrics_deploy(c->metrics, ok); }
