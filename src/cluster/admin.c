/*
 * admin: what `mote keys|namespaces --cluster URL` and `mote cluster ...` do
 * to the cluster's records, straight in etcd (no node needed): every node's
 * watch applies the change at once (keys and namespaces mirrored into each
 * node's store, drains moving functions).
 *
 * A key's secret is made here (mote_store_key_seal) and shown once; only
 * its salt and hash go into etcd, as into a store.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cluster/cluster_internal.h"

struct mote_cluster_admin {
  etcd *e;
};

static mote_cluster_status fail(mote_cluster_error *err, mote_cluster_status st, const char *fmt,
                                ...) __attribute__((format(printf, 3, 4)));
static mote_cluster_status fail(mote_cluster_error *err, mote_cluster_status st, const char *fmt,
                                ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  err->status = st;
  return st;
}

/* An etcd failure in the CLI's words. */
static mote_cluster_status etcd_fail(mote_cluster_admin *a, mote_cluster_error *err,
                                     etcd_status st) {
  if (st == ETCD_UNAVAILABLE)
    return fail(err, MOTE_CLUSTER_UNAVAILABLE,
                "the cluster's etcd (%s) does not answer: %s; nothing was changed",
                etcd_endpoint(a->e), etcd_error());
  return fail(err, MOTE_CLUSTER_FAILED, "%s", etcd_error());
}

mote_cluster_admin *mote_cluster_admin_new(const char *endpoints, mote_cluster_error *err) {
  mote_cluster_admin *a = calloc(1, sizeof *a);
  if (!a) {
    fail(err, MOTE_CLUSTER_FAILED, "out of memory");
    return NULL;
  }
  if (!(a->e = etcd_new(endpoints, err->message, sizeof err->message))) {
    err->status = MOTE_CLUSTER_INVALID;
    free(a);
    return NULL;
  }
  return a;
}

void mote_cluster_admin_free(mote_cluster_admin *a) {
  if (!a) return;
  etcd_free(a->e);
  free(a);
}

static bool valid_uuid(const char *u) {
  if (!u || strlen(u) != MOTE_STORE_UUID_LEN) return false;
  for (size_t i = 0; i < MOTE_STORE_UUID_LEN; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? u[i] != '-' : !strchr("0123456789abcdef", u[i]) || !u[i]) return false;
  }
  return true;
}

/* Makes namespace ns unless it exists. */
static etcd_status ns_ensure(mote_cluster_admin *a, const char *ns, int64_t created_ms) {
  char key[CL_KEY_MAX];
  snprintf(key, sizeof key, CL_PREFIX "ns/%s", ns);
  mote_namespace_limits none = {0};
  char *json = rec_ns_json(created_ms, &none);
  if (!json) return ETCD_NO_MEMORY;
  etcd_cmp absent = {.key = key, .target = ETCD_CREATE, .op = ETCD_EQUAL, .number = 0};
  etcd_op put = {.kind = ETCD_OP_PUT, .key = key, .value = json, .len = strlen(json)};
  bool done;
  etcd_status st = etcd_txn(a->e, &absent, 1, &put, 1, NULL, 0, &done, NULL);
  free(json);
  return st;
}

mote_cluster_status mote_cluster_key_create(mote_cluster_admin *a, const char *ns,
                                            char uuid_out[MOTE_STORE_UUID_LEN + 1],
                                            char key_out[MOTE_STORE_KEY_LEN + 1],
                                            mote_cluster_error *err) {
  mote_key_record rec;
  mote_store_error se;
  uuid_out[0] = key_out[0] = '\0';
  if (mote_store_key_seal(ns, NULL, NULL, &rec, key_out, &se) != MOTE_STORE_OK)
    return fail(err, MOTE_CLUSTER_INVALID, "%s", se.message);
  etcd_status st = ns_ensure(a, ns, rec.created_ms);
  if (st != ETCD_OK) return etcd_fail(a, err, st);
  char key[CL_KEY_MAX], *json = rec_key_json(&rec);
  if (!json) return fail(err, MOTE_CLUSTER_FAILED, "out of memory");
  snprintf(key, sizeof key, CL_PREFIX "keys/%s", rec.uuid);
  etcd_cmp absent = {.key = key, .target = ETCD_CREATE, .op = ETCD_EQUAL, .number = 0};
  etcd_op put = {.kind = ETCD_OP_PUT, .key = key, .value = json, .len = strlen(json)};
  bool done = false;
  st = etcd_txn(a->e, &absent, 1, &put, 1, NULL, 0, &done, NULL);
  free(json);
  if (st != ETCD_OK) return etcd_fail(a, err, st);
  if (!done) return fail(err, MOTE_CLUSTER_FAILED, "a key with uuid %s exists already", rec.uuid);
  memcpy(uuid_out, rec.uuid, sizeof rec.uuid);
  return MOTE_CLUSTER_OK;
}

static int by_ns_created(const void *x, const void *y) {
  const mote_key_info *a = x, *b = y;
  int c = strcmp(a->ns, b->ns);
  if (c) return c;
  if (a->created_ms != b->created_ms) return a->created_ms < b->created_ms ? -1 : 1;
  return strcmp(a->uuid, b->uuid);
}

/* Every key record under keys/, parsed; damaged ones left out. */
static mote_cluster_status all_keys(mote_cluster_admin *a, mote_key_info **out, size_t *n,
                                    mote_cluster_error *err) {
  etcd_kv *kvs = NULL;
  size_t nk = 0;
  etcd_status st = etcd_range_prefix(a->e, CL_PREFIX "keys/", &kvs, &nk, NULL);
  if (st != ETCD_OK) return etcd_fail(a, err, st);
  mote_key_info *list = calloc(nk ? nk : 1, sizeof *list);
  size_t k = 0;
  for (size_t i = 0; list && i < nk; i++) {
    mote_key_record rec;
    const char *uuid = kvs[i].key + strlen(CL_PREFIX "keys/");
    if (!rec_key_parse(uuid, kvs[i].value, kvs[i].len, &rec)) continue;
    snprintf(list[k].uuid, sizeof list[k].uuid, "%s", rec.uuid);
    snprintf(list[k].ns, sizeof list[k].ns, "%s", rec.ns);
    list[k++].created_ms = rec.created_ms;
  }
  etcd_kvs_free(kvs, nk);
  if (!list) return fail(err, MOTE_CLUSTER_FAILED, "out of memory");
  qsort(list, k, sizeof *list, by_ns_created);
  *out = list;
  *n = k;
  return MOTE_CLUSTER_OK;
}

mote_cluster_status mote_cluster_key_list(mote_cluster_admin *a, const char *ns,
                                          mote_key_info **out, size_t *n,
                                          mote_cluster_error *err) {
  *out = NULL;
  *n = 0;
  if (ns && !mote_store_valid_name(ns))
    return fail(err, MOTE_CLUSTER_INVALID, "invalid namespace \"%s\"", ns);
  mote_key_info *all = NULL;
  size_t na = 0, k = 0;
  mote_cluster_status st = all_keys(a, &all, &na, err);
  if (st != MOTE_CLUSTER_OK) return st;
  for (size_t i = 0; i < na; i++)
    if (!ns || !strcmp(all[i].ns, ns)) all[k++] = all[i];
  *out = all;
  *n = k;
  return MOTE_CLUSTER_OK;
}

mote_cluster_status mote_cluster_key_delete(mote_cluster_admin *a, const char *uuid,
                                            mote_cluster_error *err) {
  if (!valid_uuid(uuid))
    return fail(err, MOTE_CLUSTER_NOT_FOUND, "no key with uuid \"%.40s\"", uuid);
  char key[CL_KEY_MAX];
  snprintf(key, sizeof key, CL_PREFIX "keys/%s", uuid);
  int64_t deleted = 0;
  etcd_status st = etcd_delete(a->e, key, false, &deleted);
  if (st != ETCD_OK) return etcd_fail(a, err, st);
  if (!deleted) return fail(err, MOTE_CLUSTER_NOT_FOUND, "no key with uuid \"%s\"", uuid);
  return MOTE_CLUSTER_OK;
}

mote_cluster_status mote_cluster_namespace_list(mote_cluster_admin *a, mote_cluster_ns **out,
                                                size_t *n, mote_cluster_error *err) {
  *out = NULL;
  *n = 0;
  etcd_kv *kvs = NULL;
  size_t nk = 0;
  etcd_status est = etcd_range_prefix(a->e, CL_PREFIX "ns/", &kvs, &nk, NULL);
  if (est != ETCD_OK) return etcd_fail(a, err, est);
  mote_key_info *keys = NULL;
  size_t nkeys = 0;
  mote_cluster_status st = all_keys(a, &keys, &nkeys, err);
  mote_cluster_ns *list = st == MOTE_CLUSTER_OK ? calloc(nk ? nk : 1, sizeof *list) : NULL;
  size_t k = 0;
  for (size_t i = 0; list && i < nk; i++) {
    const char *name = kvs[i].key + strlen(CL_PREFIX "ns/");
    if (!mote_store_valid_name(name) ||
        !rec_ns_parse(kvs[i].value, kvs[i].len, &list[k].ns.created_ms, &list[k].limits))
      continue;
    snprintf(list[k].ns.name, sizeof list[k].ns.name, "%s", name);
    for (size_t j = 0; j < nkeys; j++) list[k].keys += !strcmp(keys[j].ns, name);
    k++;
  }
  etcd_kvs_free(kvs, nk);
  free(keys);
  if (st != MOTE_CLUSTER_OK) return st;
  if (!list) return fail(err, MOTE_CLUSTER_FAILED, "out of memory");
  *out = list;
  *n = k;
  return MOTE_CLUSTER_OK;
}

mote_cluster_status mote_cluster_limits_get(mote_cluster_admin *a, const char *ns,
                                            mote_namespace_limits *out, mote_cluster_error *err) {
  memset(out, 0, sizeof *out);
  if (!mote_store_valid_name(ns))
    return fail(err, MOTE_CLUSTER_INVALID, "invalid namespace \"%s\"", ns);
  char key[CL_KEY_MAX];
  snprintf(key, sizeof key, CL_PREFIX "ns/%s", ns);
  etcd_kv kv;
  bool found = false;
  etcd_status st = etcd_get(a->e, key, &kv, &found, NULL);
  if (st != ETCD_OK) return etcd_fail(a, err, st);
  if (!found)
    return fail(err, MOTE_CLUSTER_NOT_FOUND, "no namespace \"%s\" in the cluster (mote keys "
                "create %s --cluster URL makes it)", ns, ns);
  int64_t created;
  bool ok = rec_ns_parse(kv.value, kv.len, &created, out);
  etcd_kv_clear(&kv);
  return ok ? MOTE_CLUSTER_OK
            : fail(err, MOTE_CLUSTER_FAILED, "the record of namespace %s is damaged", ns);
}

mote_cluster_status mote_cluster_limits_set(mote_cluster_admin *a, const char *ns,
                                            const mote_namespace_limits *lim,
                                            mote_cluster_error *err) {
  if (!mote_store_valid_name(ns))
    return fail(err, MOTE_CLUSTER_INVALID, "invalid namespace \"%s\"", ns);
  char key[CL_KEY_MAX];
  snprintf(key, sizeof key, CL_PREFIX "ns/%s", ns);
  for (int tries = 0; tries < CL_COMMIT_TRIES; tries++) {
    etcd_kv kv;
    bool found = false;
    etcd_status st = etcd_get(a->e, key, &kv, &found, NULL);
    if (st != ETCD_OK) return etcd_fail(a, err, st);
    if (!found) return fail(err, MOTE_CLUSTER_NOT_FOUND, "no namespace \"%s\" in the cluster", ns);
    int64_t created = 0;
    mote_namespace_limits old;
    rec_ns_parse(kv.value, kv.len, &created, &old);
    int64_t mod = kv.mod_rev;
    etcd_kv_clear(&kv);
    char *json = rec_ns_json(created, lim);
    if (!json) return fail(err, MOTE_CLUSTER_FAILED, "out of memory");
    etcd_cmp same = {.key = key, .target = ETCD_MOD, .op = ETCD_EQUAL, .number = mod};
    etcd_op put = {.kind = ETCD_OP_PUT, .key = key, .value = json, .len = strlen(json)};
    bool done = false;
    st = etcd_txn(a->e, &same, 1, &put, 1, NULL, 0, &done, NULL);
    free(json);
    if (st != ETCD_OK) return etcd_fail(a, err, st);
    if (done) return MOTE_CLUSTER_OK;
  }
  return fail(err, MOTE_CLUSTER_FAILED, "namespace %s is being changed elsewhere: try again", ns);
}

mote_cluster_status mote_cluster_drain(mote_cluster_admin *a, const char *node, bool drain,
                                       mote_cluster_error *err) {
  if (!mote_store_valid_name(node) || strlen(node) > CLUSTER_NODE_MAX)
    return fail(err, MOTE_CLUSTER_INVALID, "invalid node name \"%s\"", node);
  char key[CL_KEY_MAX];
  snprintf(key, sizeof key, CL_PREFIX "drain/%s", node);
  etcd_status st = drain ? etcd_put(a->e, key, "1", 1, 0, NULL)
                         : etcd_delete(a->e, key, false, NULL);
  return st == ETCD_OK ? MOTE_CLUSTER_OK : etcd_fail(a, err, st);
}

/* ---- status -------------------------------------------------------------------------- */

mote_cluster_status mote_cluster_status_json(mote_cluster_admin *a, char **json,
                                             mote_cluster_error *err) {
  *json = NULL;
  etcd_kv *kvs = NULL;
  size_t n = 0;
  int64_t rev = 0;
  etcd_status st = etcd_range_prefix(a->e, CL_PREFIX, &kvs, &n, &rev);
  if (st != ETCD_OK) return etcd_fail(a, err, st);
  cl_view *v = view_new();
  if (!v) {
    etcd_kvs_free(kvs, n);
    return fail(err, MOTE_CLUSTER_FAILED, "out of memory");
  }
  char subject[CL_KEY_MAX];
  json_t *drained = json_array();
  for (size_t i = 0; i < n; i++) {
    view_put(v, &kvs[i], subject, sizeof subject);
    if (!strncmp(kvs[i].key, CL_PREFIX "drain/", strlen(CL_PREFIX "drain/")))
      json_array_append_new(drained, json_string(kvs[i].key + strlen(CL_PREFIX "drain/")));
  }
  etcd_kvs_free(kvs, n);
  cl_node *nodes = NULL;
  size_t nn = view_nodes(v, &nodes);
  json_t *jn = json_array(), *jf = json_array();
  for (size_t i = 0; i < nn; i++)
    json_array_append_new(jn, json_pack("{s:s, s:s, s:s, s:b}", "name", nodes[i].name, "url",
                                        nodes[i].url, "tag", nodes[i].tag, "draining",
                                        nodes[i].draining));
  char **keys = NULL;
  size_t nf = view_fn_keys(v, &keys);
  size_t *order = malloc((nn ? nn : 1) * sizeof *order);
  for (size_t i = 0; i < nf; i++) {
    cl_fn f;
    if (order && view_fn(v, keys[i], &f)) {
      size_t placed = placement(nodes, nn, keys[i], f.rec.settings.replicas, order);
      json_t *on = json_array();
      for (size_t k = 0; k < placed; k++) json_array_append_new(on, json_string(nodes[order[k]].name));
      json_array_append_new(jf, json_pack("{s:s, s:s, s:I, s:I, s:o}", "namespace", f.rec.ns,
                                          "name", f.rec.name, "version",
                                          (json_int_t)f.rec.version, "replicas",
                                          (json_int_t)f.rec.settings.replicas, "placed", on));
      cl_fn_clear(&f);
    }
    free(keys[i]);
  }
  free(keys);
  free(order);
  free(nodes);
  view_free(v);
  json_t *o = json_pack("{s:I, s:o, s:o, s:o}", "revision", (json_int_t)rev, "nodes", jn,
                        "drained", drained, "functions", jf);
  *json = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  return *json ? MOTE_CLUSTER_OK : fail(err, MOTE_CLUSTER_FAILED, "out of memory");
}

size_t admin_nodes(mote_cluster_admin *a, cl_node **out, int64_t *rev, mote_cluster_error *err) {
  *out = NULL;
  etcd_kv *kvs = NULL;
  size_t n = 0;
  etcd_status st = etcd_range_prefix(a->e, CL_PREFIX, &kvs, &n, rev);
  if (st != ETCD_OK) {
    etcd_fail(a, err, st);
    return (size_t)-1;
  }
  cl_view *v = view_new();
  size_t nn = 0;
  if (v) {
    char subject[CL_KEY_MAX];
    for (size_t i = 0; i < n; i++)
      if (strncmp(kvs[i].key, CL_PREFIX "fn/", strlen(CL_PREFIX "fn/")) != 0)
        view_put(v, &kvs[i], subject, sizeof subject);
    nn = view_nodes(v, out);
    view_free(v);
  }
  etcd_kvs_free(kvs, n);
  return nn;
}

etcd *admin_etcd(mote_cluster_admin *a) { return a->e; }
