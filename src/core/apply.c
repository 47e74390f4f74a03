/*
 * apply: what a cluster room (src/cluster) drives, without HTTP and without
 * etcd: versions decided elsewhere made current here (core_apply), records
 * kept of functions this node does not serve, functions forgotten, this
 * node's share of the namespaces' limits, and the cluster's state for
 * /healthz and /metrics. Its commits of deploys and deletes are hooks the
 * room attaches (core_cluster_attach), which deploy.c calls.
 *
 * A version applied here goes through the same loader as a deploy (compile
 * or a peer's object, load, imports, initialisation and snapshot), then,
 * under the deploy lock, the store keeps its record under the cluster's
 * number and it becomes current unless a later version of the name is: a
 * slow load of version 3 cannot replace version 4 made current meanwhile.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "core/core_internal.h"

void core_cluster_attach(mote_core *c, const core_cluster_ops *ops) {
  pthread_mutex_lock(&c->ops_lock); /* a sweep calling a hook ends first */
  c->ops = *ops;
  pthread_mutex_unlock(&c->ops_lock);
}

bool apply_make_current(mote_core *c, core_fn *fn) {
  core_fn *cur = registry_acquire(c->reg, fn->rec.ns, fn->rec.name);
  bool later = cur && cur->rec.version > fn->rec.version;
  fn_release(cur);
  if (later) return false;
  snapstore_keep(c, fn);
  registry_put(c->reg, fn); /* out of memory: fn released, the next apply serves it */
  return true;
}

/* The record the store kept for (ns, name, version), into fn->rec. */
static mote_core_status reread(mote_core *c, core_fn *fn, const char *ns, const char *name,
                               uint64_t version, mote_core_error *err) {
  mote_store_error se;
  if (mote_store_get_version(c->store, ns, name, version, &fn->rec, &se) != MOTE_STORE_OK)
    return core_store_fail(err, &se);
  return MOTE_CORE_OK;
}

mote_core_status core_apply(mote_core *c, const mote_function_version *rec, const uint8_t *wasm,
                            size_t len, mote_core_error *err) {
  char files_dir[PATH_MAX];
  if (rec->files_hash) mote_store_files_path(c->store, rec->files_hash, files_dir, sizeof files_dir);
  core_fn *fn = NULL;
  bool need_opt = false;
  mote_core_status st = fn_load(c, rec->ns, rec->name, wasm, len, &rec->settings,
                                rec->files_hash ? files_dir : NULL, CORE_PREP_UNBOUNDED, &fn,
                                &need_opt, err);
  if (st != MOTE_CORE_OK) return st;
  mote_store_error se;
  bool current = false;
  pthread_mutex_lock(&c->deploy_lock);
  if (mote_store_put_version(c->store, rec, &se) != MOTE_STORE_OK)
    st = core_store_fail(err, &se);
  else if ((st = reread(c, fn, rec->ns, rec->name, rec->version, err)) == MOTE_CORE_OK) {
    atomic_fetch_add(&fn->refs, 1); /* kept for the opt build below */
    current = apply_make_current(c, fn);
    if (!current) fn_release(fn); /* the extra reference: a later version serves */
  } else if (st == MOTE_CORE_NOT_FOUND) {
    st = MOTE_CORE_OK; /* the store keeps a later version of the name, not this one */
  }
  pthread_mutex_unlock(&c->deploy_lock);
  if (st != MOTE_CORE_OK || !current) {
    fn_release(fn); /* not current: dropped (a later version serves) */
    return st;
  }
  if (need_opt) loader_queue_opt(c->loader, fn, wasm, len);
  fn_release(fn);
  return MOTE_CORE_OK;
}

mote_core_status core_keep_record(mote_core *c, const mote_function_version *rec,
                                  mote_core_error *err) {
  mote_store_error se;
  mote_core_status st = MOTE_CORE_OK;
  pthread_mutex_lock(&c->deploy_lock);
  if (mote_store_put_version(c->store, rec, &se) != MOTE_STORE_OK) st = core_store_fail(err, &se);
  else registry_remove(c->reg, rec->ns, rec->name);
  pthread_mutex_unlock(&c->deploy_lock);
  return st;
}

void core_forget(mote_core *c, const char *ns, const char *name) {
  mote_store_error se;
  pthread_mutex_lock(&c->deploy_lock);
  mote_store_status st = mote_store_delete(c->store, ns, name, &se);
  registry_remove(c->reg, ns, name);
  pthread_mutex_unlock(&c->deploy_lock);
  if (c->startup) startup_forget(c->startup, ns, name);
  if (st != MOTE_STORE_OK && st != MOTE_STORE_NOT_FOUND)
    fprintf(stderr, "mote serve: %s/%s: the record of a deleted function stays: %s\n", ns, name,
            se.message);
}

uint64_t core_served_version(mote_core *c, const char *ns, const char *name) {
  core_fn *fn = registry_acquire(c->reg, ns, name);
  uint64_t v = fn ? fn->rec.version : 0;
  fn_release(fn);
  return v;
}

void core_quota_share(mote_core *c, unsigned index, unsigned count) {
  quota_share(c->quota, index, count);
}

void core_limits_changed(mote_core *c, const char *ns) { quota_stale(c->quota, ns); }

void core_cluster_state_set(mote_core *c, const core_cluster_state *st) {
  pthread_mutex_lock(&c->state_lock);
  c->state = *st;
  pthread_mutex_unlock(&c->state_lock);
}

void core_cluster_state_get(mote_core *c, core_cluster_state *out) {
  pthread_mutex_lock(&c->state_lock);
  *out = c->state;
  pthread_mutex_unlock(&c->state_lock);
}
