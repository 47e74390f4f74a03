/*
 * view: this node's copy of the cluster's records that it consults on its
 * own (functions, live nodes, drains, objects and builds, the secret), kept
 * current by the watch (sync.c) and read by every other part. Keys and
 * namespaces are not kept here: each node's store holds them (sync.c
 * mirrors them).
 *
 * One mutex over it all; readers get copies. A condition variable wakes
 * those waiting for an object a peer is building (objects.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "cluster/cluster_internal.h"

#define VIEW_NODES 256

struct cl_view {
  pthread_mutex_t lock;
  pthread_cond_t objects_changed;
  mote_map *fns;     /* "NS/NAME" -> cl_fn */
  mote_map *objs;    /* key -> cl_obj */
  mote_map *builds;  /* key -> node name (malloc) */
  mote_map *drains;  /* node name -> (void *)1 */
  cl_node nodes[VIEW_NODES];
  size_t nnodes;
  char secret[CL_SECRET_HEX];
};

cl_view *view_new(void) {
  cl_view *v = calloc(1, sizeof *v);
  if (!v) return NULL;
  v->fns = mote_map_new();
  v->objs = mote_map_new();
  v->builds = mote_map_new();
  v->drains = mote_map_new();
  if (!v->fns || !v->objs || !v->builds || !v->drains) {
    view_free(v);
    return NULL;
  }
  pthread_mutex_init(&v->lock, NULL);
  pthread_cond_init(&v->objects_changed, NULL);
  return v;
}

/* Frees every value of m (fns: cl_fn) and empties it. */
static void empty(mote_map *m, bool fns) {
  mote_map_iter it = {0};
  const char *k;
  void *val;
  while (m && mote_map_next(m, &it, &k, &val)) {
    mote_map_remove(m, k);
    if (fns) cl_fn_clear(val);
    if (val != (void *)1) free(val);
  }
}

static void view_clear(cl_view *v) {
  pthread_mutex_lock(&v->lock);
  empty(v->fns, true);
  empty(v->objs, false);
  empty(v->builds, false);
  empty(v->drains, false);
  v->nnodes = 0;
  pthread_cond_broadcast(&v->objects_changed);
  pthread_mutex_unlock(&v->lock);
}

void view_free(cl_view *v) {
  if (!v) return;
  if (v->fns) view_clear(v);
  mote_map_free(v->fns);
  mote_map_free(v->objs);
  mote_map_free(v->builds);
  mote_map_free(v->drains);
  pthread_mutex_destroy(&v->lock);
  pthread_cond_destroy(&v->objects_changed);
  free(v);
}

/* Replaces (value non-NULL) or removes key's value in m, freeing the old. */
static void set(mote_map *m, const char *key, void *value, bool fns) {
  void *old = NULL;
  if (value) {
    if (mote_map_put(m, key, value, &old) != 0) { /* out of memory: the record is lost here */
      fprintf(stderr, "mote serve: cluster: out of memory keeping the record of %s\n", key);
      if (fns) cl_fn_clear(value);
      if (value != (void *)1) free(value);
      return;
    }
  } else {
    old = mote_map_remove(m, key);
  }
  if (old && fns) cl_fn_clear(old);
  if (old && old != (void *)1) free(old);
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const cl_node *)a)->name, ((const cl_node *)b)->name);
}

static void node_set(cl_view *v, const cl_node *n) {
  for (size_t i = 0; i < v->nnodes; i++)
    if (!strcmp(v->nodes[i].name, n->name)) {
      v->nodes[i] = *n;
      return;
    }
  if (v->nnodes == VIEW_NODES) {
    fprintf(stderr, "mote serve: cluster: more than %d nodes; %s is left out\n", VIEW_NODES,
            n->name);
    return;
  }
  v->nodes[v->nnodes++] = *n;
  qsort(v->nodes, v->nnodes, sizeof *v->nodes, by_name);
}

static void node_remove(cl_view *v, const char *name) {
  for (size_t i = 0; i < v->nnodes; i++)
    if (!strcmp(v->nodes[i].name, name)) {
      memmove(&v->nodes[i], &v->nodes[i + 1], (v->nnodes - i - 1) * sizeof *v->nodes);
      v->nnodes--;
      return;
    }
}

/* A record this node cannot read (damaged, or written by a newer mote, or
 * no memory for it): said, and the view keeps what it had for the key. */
static void bad_record(const char *key) {
  fprintf(stderr, "mote serve: cluster: the record %s is not valid; ignored\n", key);
}

/* One event on the view: kv NULL is a delete of key. */
static cl_change change(cl_view *v, const char *key, const etcd_kv *kv, char *subject,
                        size_t cap) {
  char buf[CL_KEY_MAX];
  const char *kind, *rest;
  subject[0] = '\0';
  if (!rec_split(key, buf, sizeof buf, &kind, &rest)) return CL_CHANGE_NONE;
  cl_change what = CL_CHANGE_NONE;
  pthread_mutex_lock(&v->lock);
  if (!strcmp(kind, "fn")) {
    const char *slash = strchr(rest, '/');
    if (slash) {
      what = CL_CHANGE_FN;
      snprintf(subject, cap, "%s", rest);
      cl_fn *f = NULL;
      if (kv) {
        char ns[MOTE_STORE_NS_MAX + 1];
        snprintf(ns, sizeof ns, "%.*s", (int)(slash - rest), rest);
        if (!(f = calloc(1, sizeof *f)) || !rec_fn_parse(ns, slash + 1, kv->value, kv->len, f)) {
          free(f);
          f = NULL;
          bad_record(key);
          what = CL_CHANGE_NONE; /* the version kept is served on, never dropped for it */
        }
      }
      if (what == CL_CHANGE_FN) set(v->fns, rest, f, true);
    }
  } else if (!strcmp(kind, "nodes")) {
    what = CL_CHANGE_NODES;
    cl_node n;
    if (!kv) {
      node_remove(v, rest);
    } else if (rec_node_parse(rest, kv->value, kv->len, &n)) {
      n.draining = mote_map_get(v->drains, rest) != NULL;
      node_set(v, &n);
    } else {
      bad_record(key);
    }
  } else if (!strcmp(kind, "drain")) {
    what = CL_CHANGE_NODES;
    set(v->drains, rest, kv ? (void *)1 : NULL, false);
    for (size_t i = 0; i < v->nnodes; i++)
      if (!strcmp(v->nodes[i].name, rest)) v->nodes[i].draining = kv != NULL;
  } else if (!strcmp(kind, "obj") || !strcmp(kind, "build")) {
    what = CL_CHANGE_OBJ;
    void *val = NULL;
    if (kv && kind[0] == 'o') {
      cl_obj *o = malloc(sizeof *o);
      if (o && rec_obj_parse(kv->value, kv->len, o)) val = o;
      else {
        free(o);
        bad_record(key);
        what = CL_CHANGE_NONE;
      }
    } else if (kv) {
      val = strndup((const char *)kv->value, CLUSTER_NODE_MAX);
    }
    if (what == CL_CHANGE_OBJ) {
      set(kind[0] == 'o' ? v->objs : v->builds, rest, val, false);
      pthread_cond_broadcast(&v->objects_changed);
    }
  } else if (!strcmp(kind, "keys")) {
    what = CL_CHANGE_KEY;
    snprintf(subject, cap, "%s", rest);
  } else if (!strcmp(kind, "ns")) {
    what = CL_CHANGE_NS;
    snprintf(subject, cap, "%s", rest);
  } else if (!strcmp(kind, "secret")) {
    what = CL_CHANGE_SECRET;
    v->secret[0] = '\0';
    if (kv && kv->len == CL_SECRET_HEX - 1) memcpy(v->secret, kv->value, CL_SECRET_HEX);
  }
  pthread_mutex_unlock(&v->lock);
  return what;
}

/* Entries of m whose record (CL_PREFIX "kind/" + its key) is not in
 * `present` go. */
static void keep_present(mote_map *m, const char *kind, const mote_map *present, bool fns) {
  mote_map_iter it = {0};
  const char *k;
  void *val;
  char full[CL_KEY_MAX + 16];
  while (mote_map_next(m, &it, &k, &val)) {
    snprintf(full, sizeof full, CL_PREFIX "%s/%s", kind, k);
    if (mote_map_get(present, full)) continue;
    mote_map_remove(m, k);
    if (fns) cl_fn_clear(val);
    if (val != (void *)1) free(val);
  }
}

bool view_keep_only(cl_view *v, const etcd_kv *kvs, size_t n) {
  mote_map *present = mote_map_new();
  for (size_t i = 0; present && i < n; i++)
    if (mote_map_put(present, kvs[i].key, (void *)1, NULL) != 0) {
      mote_map_free(present);
      present = NULL;
    }
  if (!present) return false;
  pthread_mutex_lock(&v->lock);
  keep_present(v->fns, "fn", present, true);
  keep_present(v->objs, "obj", present, false);
  keep_present(v->builds, "build", present, false);
  keep_present(v->drains, "drain", present, false);
  char full[CL_KEY_MAX + 16];
  for (size_t i = 0; i < v->nnodes;) {
    snprintf(full, sizeof full, CL_PREFIX "nodes/%s", v->nodes[i].name);
    if (mote_map_get(present, full)) i++;
    else node_remove(v, v->nodes[i].name);
  }
  for (size_t i = 0; i < v->nnodes; i++) {
    snprintf(full, sizeof full, CL_PREFIX "drain/%s", v->nodes[i].name);
    v->nodes[i].draining = mote_map_get(present, full) != NULL;
  }
  pthread_cond_broadcast(&v->objects_changed);
  pthread_mutex_unlock(&v->lock);
  mote_map_free(present);
  return true;
}

cl_change view_put(cl_view *v, const etcd_kv *kv, char *subject, size_t cap) {
  return change(v, kv->key, kv, subject, cap);
}

cl_change view_delete(cl_view *v, const char *key, char *subject, size_t cap) {
  return change(v, key, NULL, subject, cap);
}

/* A deep copy of a record; false when out of memory. */
static bool copy_fn(const cl_fn *src, cl_fn *dst) {
  memset(dst, 0, sizeof *dst);
  *dst = *src;
  mote_function_version *d = &dst->rec;
  const mote_function_version *s = &src->rec;
  memset(d, 0, sizeof *d);
  d->version = s->version;
  d->created_ms = s->created_ms;
  d->files_indexed = s->files_indexed;
  d->files_count = s->files_count;
  d->files_bytes = s->files_bytes;
  d->name = strdup(s->name);
  d->ns = strdup(s->ns);
  d->module_hash = strdup(s->module_hash);
  d->files_hash = s->files_hash ? strdup(s->files_hash) : NULL;
  d->meta = s->meta ? strdup(s->meta) : NULL;
  char *st = mote_store_settings_json(&s->settings);
  bool ok = d->name && d->ns && d->module_hash && (!s->files_hash || d->files_hash) &&
            (!s->meta || d->meta) && st && mote_store_settings_parse(st, &d->settings);
  free(st);
  if (ok && s->file_paths) {
    size_t total = 0;
    for (uint32_t i = 0; i < s->nfile_paths; i++) total += strlen(s->file_paths[i]) + 1;
    char **arr = malloc(s->nfile_paths * sizeof *arr + total);
    if ((ok = arr != NULL)) {
      char *p = (char *)(arr + s->nfile_paths);
      for (uint32_t i = 0; i < s->nfile_paths; i++) {
        arr[i] = p;
        p = stpcpy(p, s->file_paths[i]) + 1;
      }
      d->file_paths = arr;
      d->nfile_paths = s->nfile_paths;
    }
  }
  if (!ok) cl_fn_clear(dst);
  return ok;
}

bool view_fn(cl_view *v, const char *fnkey, cl_fn *out) {
  pthread_mutex_lock(&v->lock);
  const cl_fn *f = mote_map_get(v->fns, fnkey);
  bool ok = f && copy_fn(f, out);
  pthread_mutex_unlock(&v->lock);
  return ok;
}

size_t view_fn_keys(cl_view *v, char ***keys) {
  pthread_mutex_lock(&v->lock);
  size_t n = mote_map_count(v->fns), i = 0;
  char **arr = calloc(n ? n : 1, sizeof *arr);
  mote_map_iter it = {0};
  const char *k;
  while (arr && mote_map_next(v->fns, &it, &k, NULL))
    if ((arr[i] = strdup(k))) i++;
  pthread_mutex_unlock(&v->lock);
  *keys = arr;
  return i;
}

bool view_fn_names(cl_view *v, char ***out, size_t *n) {
  pthread_mutex_lock(&v->lock);
  size_t cap = 3 * mote_map_count(v->fns), k = 0;
  char **arr = calloc(cap ? cap : 1, sizeof *arr);
  bool ok = arr != NULL;
  mote_map_iter it = {0};
  void *val;
  while (ok && mote_map_next(v->fns, &it, NULL, &val)) {
    const cl_fn *f = val;
    const char *h[3] = {f->rec.module_hash, f->rec.files_hash, f->rec.meta};
    for (size_t i = 0; i < 3 && ok; i++)
      if (h[i]) ok = (arr[k++] = strdup(h[i])) != NULL;
  }
  pthread_mutex_unlock(&v->lock);
  if (!ok) {
    for (size_t i = 0; arr && i < k; i++) free(arr[i]);
    free(arr);
    return false;
  }
  *out = arr;
  *n = k;
  return true;
}

size_t view_nodes(cl_view *v, cl_node **out) {
  pthread_mutex_lock(&v->lock);
  size_t n = v->nnodes;
  *out = malloc((n ? n : 1) * sizeof **out);
  if (*out) memcpy(*out, v->nodes, n * sizeof **out);
  else n = 0;
  pthread_mutex_unlock(&v->lock);
  return n;
}

bool view_node(cl_view *v, const char *name, cl_node *out) {
  bool found = false;
  pthread_mutex_lock(&v->lock);
  for (size_t i = 0; i < v->nnodes && !found; i++)
    if (!strcmp(v->nodes[i].name, name)) {
      *out = v->nodes[i];
      found = true;
    }
  pthread_mutex_unlock(&v->lock);
  return found;
}

bool view_url_live(cl_view *v, const char *url) {
  bool found = false;
  pthread_mutex_lock(&v->lock);
  for (size_t i = 0; i < v->nnodes && !found; i++) found = !strcmp(v->nodes[i].url, url);
  pthread_mutex_unlock(&v->lock);
  return found;
}

bool view_secret(cl_view *v, char out[CL_SECRET_HEX]) {
  pthread_mutex_lock(&v->lock);
  memcpy(out, v->secret, CL_SECRET_HEX);
  pthread_mutex_unlock(&v->lock);
  return out[0] != '\0';
}

bool view_obj(cl_view *v, const char *key, cl_obj *out) {
  pthread_mutex_lock(&v->lock);
  const cl_obj *o = mote_map_get(v->objs, key);
  if (o) *out = *o;
  pthread_mutex_unlock(&v->lock);
  return o != NULL;
}

bool view_building(cl_view *v, const char *key, char node[CLUSTER_NODE_MAX + 1]) {
  pthread_mutex_lock(&v->lock);
  const char *n = mote_map_get(v->builds, key);
  if (n) snprintf(node, CLUSTER_NODE_MAX + 1, "%s", n);
  pthread_mutex_unlock(&v->lock);
  return n != NULL;
}

void view_wait_objects(cl_view *v, unsigned ms) {
  struct timespec until = mote_time_in(CLOCK_REALTIME, ms);
  pthread_mutex_lock(&v->lock);
  pthread_cond_timedwait(&v->objects_changed, &v->lock, &until);
  pthread_mutex_unlock(&v->lock);
}

void view_wake(cl_view *v) {
  pthread_mutex_lock(&v->lock);
  pthread_cond_broadcast(&v->objects_changed);
  pthread_mutex_unlock(&v->lock);
}
