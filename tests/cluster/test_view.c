/* The view (src/cluster/view.c): this node's copy of the cluster's records,
 * fed by hand here (no etcd): a record it cannot read, and a full read. */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"
#include "test.h"

#define HASH_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HASH_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A kv of key and value (both copied). */
static etcd_kv kv_of(const char *key, const char *value) {
  etcd_kv kv = {.key = strdup(key), .key_len = strlen(key), .value = (uint8_t *)strdup(value),
                .len = strlen(value)};
  CHECK(kv.key && kv.value);
  return kv;
}

/* The JSON of version v of a function. */
static char *fn_json(uint64_t v) {
  mote_function_settings st = {0};
  core_commit w = {.ns = "guest", .name = "f", .module_hash = HASH_A, .module_len = 10,
                   .settings = &st};
  char *j = rec_fn_json(&w, v, 1000, NULL, 0);
  CHECK(j != NULL);
  return j;
}

static cl_change put(cl_view *v, const char *key, const char *value) {
  etcd_kv kv = kv_of(key, value);
  char subject[CL_KEY_MAX];
  cl_change c = view_put(v, &kv, subject, sizeof subject);
  etcd_kv_clear(&kv);
  return c;
}

static uint64_t version_of(cl_view *v, const char *fnkey) {
  cl_fn f;
  if (!view_fn(v, fnkey, &f)) return 0;
  uint64_t version = f.rec.version;
  cl_fn_clear(&f);
  return version;
}

/* A record this node cannot read (damaged, or of a newer mote's format)
 * leaves the function it had: it goes on serving it, rather than dropping
 * it as if deleted. */
TEST(a_record_that_cannot_be_read_keeps_what_the_view_had) {
  cl_view *v = view_new();
  char *j1 = fn_json(1);
  CHECK_EQ_INT(put(v, CL_PREFIX "fn/guest/f", j1), CL_CHANGE_FN);
  CHECK_EQ_INT(version_of(v, "guest/f"), 1);
  CHECK_EQ_INT(put(v, CL_PREFIX "fn/guest/f", "{\"version\": \"two\""), CL_CHANGE_NONE);
  CHECK_EQ_INT(version_of(v, "guest/f"), 1);
  CHECK_EQ_INT(put(v, CL_PREFIX "fn/guest/f", "{\"version\": 2}"), CL_CHANGE_NONE);
  CHECK_EQ_INT(version_of(v, "guest/f"), 1);
  /* nor one never seen before: nothing to keep, nothing made up */
  CHECK_EQ_INT(put(v, CL_PREFIX "fn/guest/g", "[]"), CL_CHANGE_NONE);
  CHECK(!view_fn(v, "guest/g", &(cl_fn){0}));
  /* an object's record alike */
  CHECK_EQ_INT(put(v, CL_PREFIX "obj/k1", "{\"hash\":\"" HASH_A "\",\"bytes\":5,\"node\":\"a\"}"),
               CL_CHANGE_OBJ);
  CHECK_EQ_INT(put(v, CL_PREFIX "obj/k1", "{}"), CL_CHANGE_NONE);
  cl_obj o;
  CHECK(view_obj(v, "k1", &o) && o.bytes == 5);
  /* a delete is a delete */
  char subject[CL_KEY_MAX];
  CHECK_EQ_INT(view_delete(v, CL_PREFIX "fn/guest/f", subject, sizeof subject), CL_CHANGE_FN);
  CHECK_EQ_INT(version_of(v, "guest/f"), 0);
  free(j1);
  view_free(v);
}

/* A full read (sync.c) puts every record it read, then drops what it did
 * not read: functions, nodes, drains, objects and builds. What it read
 * stays throughout (the view is never empty meanwhile). */
TEST(a_full_read_keeps_what_it_read_and_drops_the_rest) {
  cl_view *v = view_new();
  char *j1 = fn_json(1), *j2 = fn_json(2);
  char *na = rec_node_json("http://127.0.0.1:1", "0000000a");
  char *nb = rec_node_json("http://127.0.0.1:2", "0000000b");
  put(v, CL_PREFIX "fn/guest/f", j1);
  put(v, CL_PREFIX "fn/guest/gone", j1);
  put(v, CL_PREFIX "nodes/a", na);
  put(v, CL_PREFIX "nodes/b", nb);
  put(v, CL_PREFIX "drain/a", "1");
  put(v, CL_PREFIX "build/k2", "b");
  cl_node *nodes = NULL;
  CHECK_EQ_INT(view_nodes(v, &nodes), 2);
  CHECK(nodes[0].draining && !nodes[1].draining);
  free(nodes);

  /* the read: f at version 2, node a (no longer drained), nothing else */
  etcd_kv read[2] = {kv_of(CL_PREFIX "fn/guest/f", j2), kv_of(CL_PREFIX "nodes/a", na)};
  for (size_t i = 0; i < 2; i++) {
    char subject[CL_KEY_MAX];
    view_put(v, &read[i], subject, sizeof subject);
    CHECK_EQ_INT(version_of(v, "guest/gone"), 1); /* not yet dropped */
  }
  CHECK(view_keep_only(v, read, 2));
  CHECK_EQ_INT(version_of(v, "guest/f"), 2);
  CHECK_EQ_INT(version_of(v, "guest/gone"), 0);
  CHECK_EQ_INT(view_nodes(v, &nodes), 1);
  CHECK(!strcmp(nodes[0].name, "a") && !nodes[0].draining);
  free(nodes);
  char node[CLUSTER_NODE_MAX + 1];
  CHECK(!view_building(v, "k2", node));
  char **keys = NULL;
  size_t n = view_fn_keys(v, &keys);
  CHECK_EQ_INT(n, 1);
  for (size_t i = 0; i < n; i++) free(keys[i]);
  free(keys);
  /* an empty read drops everything */
  CHECK(view_keep_only(v, NULL, 0));
  CHECK_EQ_INT(version_of(v, "guest/f"), 0);
  CHECK_EQ_INT(view_nodes(v, &nodes), 0);
  free(nodes);
  for (size_t i = 0; i < 2; i++) etcd_kv_clear(&read[i]);
  free(j1);
  free(j2);
  free(na);
  free(nb);
  view_free(v);
}

/* What the store's sweep must keep: every record's module, files and meta. */
TEST(the_hashes_the_records_name) {
  cl_view *v = view_new();
  char **h = NULL;
  size_t n = 9;
  CHECK(view_fn_names(v, &h, &n) && n == 0);
  free(h);
  mote_function_settings st = {0};
  core_commit w = {.ns = "guest", .name = "f", .module_hash = HASH_A, .module_len = 10,
                   .files_hash = HASH_B, .files_count = 1, .files_bytes = 1, .settings = &st,
                   .meta = "{\"zip\":\"" HASH_B "\"}"};
  char *j = rec_fn_json(&w, 3, 1000, NULL, 0);
  put(v, CL_PREFIX "fn/guest/f", j);
  free(j);
  char *j1 = fn_json(1);
  put(v, CL_PREFIX "fn/other/g", j1);
  free(j1);
  CHECK(view_fn_names(v, &h, &n));
  CHECK_EQ_INT(n, 4);
  int a = 0, b = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    a += !strcmp(h[i], HASH_A);
    b += !strcmp(h[i], HASH_B);
    m += strstr(h[i], "\"zip\":\"" HASH_B) != NULL;
    free(h[i]);
  }
  free(h);
  CHECK(a == 2 && b == 1 && m == 1);
  view_free(v);
}

RUN_TESTS(the_hashes_the_records_name, a_record_that_cannot_be_read_keeps_what_the_view_had,
          a_full_read_keeps_what_it_read_and_drops_the_rest)
