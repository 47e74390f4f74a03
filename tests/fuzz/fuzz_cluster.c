/*
 * libFuzzer target for the bytes a cluster node reads from etcd
 * (src/cluster/etcd.c, records.c, view.c): the v3 gateway's watch stream
 * and range replies, and the records in them. etcd is shared by the nodes
 * and the CLI of one cluster, so a record may be anything one of them (or a
 * bug in one) wrote; a node must ignore a bad one, never crash on it.
 *
 * The input's first byte chooses the entry point; the rest is its bytes:
 *   0  a watch stream: lines of JSON as the gateway sends them, each event
 *      applied to a view as sync.c does (keys and namespaces parsed as
 *      sync.c's mirrors parse them), then the view read back;
 *   1  a range reply (JSON), its key-values applied to a view the same way;
 *   2  one record value under each kind of key.
 *
 * etcd.c is included, not linked, to reach its stream and reply parsers
 * (static there). A crash, a sanitizer report or a leak is a bug; so is a
 * view that gives back a function or node that breaks the record rules
 * (names valid, hashes 64 hex digits, URLs http://HOST:PORT).
 */
#include "cluster/etcd.c"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hash(const char *h) {
  if (!h || strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64) abort();
}

/* Every function and node the view holds keeps the rules rec_*_parse promise. */
static void check_view(cl_view *v) {
  char **keys = NULL;
  size_t n = view_fn_keys(v, &keys);
  for (size_t i = 0; i < n; i++) {
    cl_fn f;
    if (view_fn(v, keys[i], &f)) {
      if (!mote_store_valid_name(f.rec.ns) || !mote_store_valid_name(f.rec.name)) abort();
      if (f.rec.version == 0) abort();
      check_hash(f.rec.module_hash);
      if (f.rec.files_hash) check_hash(f.rec.files_hash);
      if (f.nholders > CL_HOLDERS) abort();
      for (uint32_t k = 0; k < f.rec.nfile_paths; k++)
        if (!f.rec.file_paths[k]) abort();
      cl_fn_clear(&f);
    }
    free(keys[i]);
  }
  free(keys);
  cl_node *nodes = NULL;
  size_t nn = view_nodes(v, &nodes);
  for (size_t i = 0; i < nn; i++)
    if (!cl_valid_url(nodes[i].url) || strlen(nodes[i].tag) != 8) abort();
  free(nodes);
}

/* What sync.c's mirrors do with a key or namespace record, short of the store. */
static void parse_mirrored(const etcd_kv *kv) {
  char buf[CL_KEY_MAX];
  const char *kind, *rest;
  if (!rec_split(kv->key, buf, sizeof buf, &kind, &rest)) return;
  if (!strcmp(kind, "keys")) {
    mote_key_record rec;
    if (rec_key_parse(rest, kv->value, kv->len, &rec) && !mote_store_valid_name(rec.ns)) abort();
  } else if (!strcmp(kind, "ns")) {
    int64_t created;
    mote_namespace_limits lim;
    (void)rec_ns_parse(kv->value, kv->len, &created, &lim);
  }
}

static void apply(cl_view *v, const etcd_kv *kv, bool deleted) {
  char subject[CL_KEY_MAX];
  if (deleted) {
    view_delete(v, kv->key, subject, sizeof subject);
  } else {
    view_put(v, kv, subject, sizeof subject);
    parse_mirrored(kv);
  }
}

static bool on_events(void *ctx, const etcd_event *ev, size_t n, int64_t rev) {
  (void)rev;
  for (size_t i = 0; i < n; i++) apply(ctx, &ev[i].kv, ev[i].deleted);
  return true;
}

static void watch_stream(cl_view *v, const uint8_t *data, size_t size) {
  static const volatile bool no_stop = false;
  watch_ctx w = {.fn = on_events, .arg = v, .stop = &no_stop};
  /* In two pieces, as curl may hand them over: a message split across calls. */
  size_t half = size / 2;
  if (watch_data((char *)data, 1, half, &w) == half && !w.ended)
    watch_data((char *)data + half, 1, size - half, &w);
  free(w.line.p);
}

static void range_reply(cl_view *v, const uint8_t *data, size_t size) {
  json_t *reply = json_loadb((const char *)data, size, 0, NULL);
  etcd_kv *kvs = NULL;
  size_t n = 0;
  if (kvs_of(reply, &kvs, &n) == ETCD_OK)
    for (size_t i = 0; i < n; i++) apply(v, &kvs[i], false);
  (void)header_rev(reply);
  etcd_kvs_free(kvs, n);
  json_decref(reply);
}

static void one_record(cl_view *v, const uint8_t *data, size_t size) {
  static const char *const keys[] = {
      CL_PREFIX "fn/ns/f", CL_PREFIX "nodes/a", CL_PREFIX "obj/k",  CL_PREFIX "build/k",
      CL_PREFIX "drain/a", CL_PREFIX "secret",  CL_PREFIX "keys/23bc46b1-71f6-4ed5-8c54-816aa4f8c502",
      CL_PREFIX "ns/ns"};
  uint8_t *value = malloc(size + 1); /* etcd.c's values end in a NUL past len */
  if (!value) return;
  memcpy(value, data, size);
  value[size] = '\0';
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    etcd_kv kv = {.key = (char *)keys[i], .value = value, .len = size};
    apply(v, &kv, false);
  }
  free(value);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  cl_view *v = view_new();
  if (!v) return 0;
  switch (data[0] % 3) {
    case 0: watch_stream(v, data + 1, size - 1); break;
    case 1: range_reply(v, data + 1, size - 1); break;
    default: one_record(v, data + 1, size - 1); break;
  }
  check_view(v);
  view_free(v);
  return 0;
}
