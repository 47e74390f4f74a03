/* core: what a cluster room drives, without etcd or HTTP (apply.c and the
 * commit hooks of deploy.c), through hooks of the test's own: a deploy is
 * made current here only when its commit says this node is placed, keeps
 * the cluster's number, and a refused commit leaves nothing behind; a
 * delete follows its commit; versions applied under their number, a late
 * apply of an older one does not replace a newer; records kept without
 * serving; functions forgotten. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core_fixture.h"

typedef struct hooks {
  uint64_t next_version;
  bool serve_here;
  mote_core_status refuse;        /* OK: commit */
  mote_core_status delete_answer; /* commit_delete's */
  int commits, deployed, deletes;
} hooks;

static mote_core_status commit(void *ctx, const core_commit *what, uint64_t *version,
                               bool *serve_here, mote_core_error *err) {
  hooks *h = ctx;
  h->commits++;
  if (h->refuse != MOTE_CORE_OK) {
    err->status = h->refuse;
    snprintf(err->message, sizeof err->message, "refused by the test");
    return h->refuse;
  }
  CHECK(what->module_hash && what->module_len > 0 && !strcmp(what->ns, "guest"));
  *version = h->next_version++;
  *serve_here = h->serve_here;
  return MOTE_CORE_OK;
}

static void deployed(void *ctx, const char *ns, const char *name) {
  (void)ns;
  (void)name;
  ((hooks *)ctx)->deployed++;
}

static mote_core_status commit_delete(void *ctx, const char *ns, const char *name,
                                      mote_core_error *err) {
  (void)ns;
  (void)name;
  hooks *h = ctx;
  h->deletes++;
  if (h->delete_answer != MOTE_CORE_OK) {
    err->status = h->delete_answer;
    snprintf(err->message, sizeof err->message, "refused by the test");
  }
  return h->delete_answer;
}

static bool stored(mote_core *c, const char *name, uint64_t version) {
  mote_function_version v;
  mote_store_error se;
  if (mote_store_get_version(core_store(c), "guest", name, version, &v, &se) != MOTE_STORE_OK)
    return false;
  mote_function_version_clear(&v);
  return true;
}

TEST(deploys_commit_through_the_hooks) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 2);
  if (!c) return;
  hooks h = {.next_version = 7, .serve_here = true};
  core_cluster_ops ops = {.ctx = &h, .commit_deploy = commit, .deployed = deployed,
                          .commit_delete = commit_delete};
  core_cluster_attach(c, &ops);

  /* Placed here: current under the cluster's number. */
  core_fn *f = deploy_exit(c, "guest", "f", 0);
  CHECK(f && core_fn_record(f)->version == 7);
  core_fn_release(f);
  CHECK_EQ_INT((int)core_served_version(c, "guest", "f"), 7);
  CHECK(h.commits == 1 && h.deployed == 1 && stored(c, "f", 7));

  /* Placed elsewhere: kept, not served here. */
  h.serve_here = false;
  core_fn *g = deploy_exit(c, "guest", "g", 0);
  CHECK(g && core_fn_record(g)->version == 8);
  core_fn_release(g);
  CHECK_EQ_INT((int)core_served_version(c, "guest", "g"), 0);
  CHECK(stored(c, "g", 8) && h.deployed == 2);

  /* Refused (etcd away): nothing kept, nothing served, no deployed call. */
  h.refuse = MOTE_CORE_UNAVAILABLE;
  size_t len = 0;
  uint8_t *wasm = exit_module(0, &len);
  mote_function_settings st = {0};
  core_deploy_req req = {.ns = "guest", .name = "h", .wasm = wasm, .len = len, .settings = &st};
  core_fn *hf = NULL;
  mote_core_error err;
  CHECK_EQ_INT(core_deploy(c, &req, &hf, &err), MOTE_CORE_UNAVAILABLE);
  CHECK(!hf && strstr(err.message, "refused by the test"));
  CHECK(!stored(c, "h", 9) && core_served_version(c, "guest", "h") == 0 && h.deployed == 2);
  free(wasm);

  /* A delete the cluster refuses changes nothing; one it commits forgets. */
  h.delete_answer = MOTE_CORE_UNAVAILABLE;
  CHECK_EQ_INT(core_delete(c, "guest", "f", &err), MOTE_CORE_UNAVAILABLE);
  CHECK_EQ_INT((int)core_served_version(c, "guest", "f"), 7);
  h.delete_answer = MOTE_CORE_OK;
  CHECK_EQ_INT(core_delete(c, "guest", "f", &err), MOTE_CORE_OK);
  CHECK(core_served_version(c, "guest", "f") == 0 && !stored(c, "f", 7) && h.deletes == 2);
  mote_core_close(c);
  fixture_rm(dir);
}

/* A version decided elsewhere: its bytes in the store, then applied. */
static mote_core_status apply(mote_core *c, const char *name, uint64_t version, int code) {
  size_t len = 0;
  uint8_t *wasm = exit_module(code, &len);
  char hash[MOTE_STORE_HASH_HEX];
  mote_store_error se;
  mote_core_error err;
  mote_core_status s = MOTE_CORE_STORE;
  if (wasm && mote_store_put_blob(core_store(c), wasm, len, hash, &se) == MOTE_STORE_OK) {
    mote_function_version rec = {.name = (char *)name, .ns = "guest", .version = version,
                                 .module_hash = hash, .created_ms = 1};
    s = core_apply(c, &rec, wasm, len, &err);
  }
  free(wasm);
  return s;
}

TEST(versions_applied_kept_and_forgotten) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 2);
  if (!c) return;
  CHECK_EQ_INT(apply(c, "a", 5, 0), MOTE_CORE_OK);
  CHECK_EQ_INT((int)core_served_version(c, "guest", "a"), 5);
  CHECK(stored(c, "a", 5) && core_served_version(c, "other", "a") == 0);
  /* A slow apply of an older version comes late: kept, but 5 serves. */
  CHECK_EQ_INT(apply(c, "a", 4, 1), MOTE_CORE_OK);
  CHECK_EQ_INT((int)core_served_version(c, "guest", "a"), 5);
  CHECK_EQ_INT(apply(c, "a", 6, 2), MOTE_CORE_OK);
  CHECK_EQ_INT((int)core_served_version(c, "guest", "a"), 6);

  /* Placed elsewhere now: the record kept, the name not served. */
  mote_function_version rec;
  mote_store_error se;
  CHECK_EQ_INT(mote_store_get_version(core_store(c), "guest", "a", 6, &rec, &se), MOTE_STORE_OK);
  rec.version = 7;
  mote_core_error err;
  CHECK_EQ_INT(core_keep_record(c, &rec, &err), MOTE_CORE_OK);
  mote_function_version_clear(&rec);
  CHECK(core_served_version(c, "guest", "a") == 0 && stored(c, "a", 7));

  /* Deleted in the cluster. */
  core_forget(c, "guest", "a");
  mote_function_version cur;
  CHECK_EQ_INT(mote_store_get(core_store(c), "guest", "a", &cur, &se), MOTE_STORE_NOT_FOUND);
  mote_core_close(c);
  fixture_rm(dir);
}

/* Compile once per cluster: the opt build asks fetch_object first (which,
 * in the cluster, takes the build record when no peer has the object), and
 * object_built must follow every such ask, or the record stays held and
 * peers wait for a build that never ends (CL_BUILD_WAIT_S). Here the object
 * lands in the cache while the build record is held, as when another
 * version of the same module was compiled meanwhile. */
typedef struct objects {
  mote_core *core;
  const uint8_t *wasm;
  size_t len;
  int taken, released;
  char key[128];
} objects;

static bool fetch_object(void *ctx, mote_tier tier, const char *key, bool wait) {
  objects *o = ctx;
  if (tier != MOTE_TIER_OPT || !wait) return false;
  o->taken++;
  snprintf(o->key, sizeof o->key, "%s", key);
  mote_compile_options opts = {.cache_dir = o->core->cache_dir, .tier = MOTE_TIER_OPT};
  mote_compile_result res;
  mote_compile_error cerr;
  CHECK_EQ_INT(mote_compile(o->wasm, o->len, &opts, &res, &cerr), MOTE_COMPILE_OK);
  return false; /* the build is "ours" */
}

static void object_built(void *ctx, mote_tier tier, const char *key, const char *so_path) {
  objects *o = ctx;
  if (tier == MOTE_TIER_OPT && so_path && !strcmp(key, o->key)) o->released++;
}

TEST(a_build_taken_is_released_when_its_object_was_cached_meanwhile) {
  char dir[64];
  mote_core *c = fixture_core(dir, 1, 2);
  if (!c) return;
  size_t len = 0;
  uint8_t *wasm = exit_module(5, &len);
  objects o = {.core = c, .wasm = wasm, .len = len};
  core_cluster_ops ops = {.ctx = &o, .fetch_object = fetch_object, .object_built = object_built};
  core_cluster_attach(c, &ops);
  CHECK_EQ_INT(apply(c, "a", 1, 5), MOTE_CORE_OK);
  core_tier_info info = {0};
  for (int i = 0; i < 6000; i++) { /* the opt build: up to a minute */
    core_fn *f = core_fn_acquire(c, "guest", "a");
    if (f) core_fn_tier(f, &info);
    core_fn_release(f);
    if (info.opt_state && strcmp(info.opt_state, "building") != 0) break;
    struct timespec ms10 = {0, 10000000};
    nanosleep(&ms10, NULL);
  }
  CHECK(info.opt_state && !strcmp(info.opt_state, "ready"));
  CHECK_EQ_INT(o.taken, 1);
  CHECK_EQ_INT(o.released, 1);
  mote_core_close(c);
  free(wasm);
  fixture_rm(dir);
}

static bool blob_there(mote_core *c, const char *hash) {
  char path[PATH_MAX];
  struct stat sb;
  mote_store_blob_path(core_store(c), hash, path, sizeof path);
  return stat(path, &sb) == 0;
}

/* The sweeper's thread removes a deleted function's module once nothing
 * names it and the grace (1 s here) has passed; a served one stays. */
TEST(a_deleted_functions_bytes_are_swept) {
  char dir[64];
  fixture_dir(dir);
  mote_core_config cfg = {.data_dir = dir, .workers = 1, .queue = 2, .sweep_every_s = 1,
                          .sweep_grace_s = 1};
  mote_core *c = NULL;
  mote_core_error err;
  CHECK_EQ_INT(mote_core_open(&cfg, &c, &err), MOTE_CORE_OK);
  if (!c) return;
  core_fn *f = deploy_exit(c, "guest", "f", 1), *g = deploy_exit(c, "guest", "g", 2);
  CHECK(f && g);
  if (!f || !g) return;
  char fh[MOTE_STORE_HASH_HEX], gh[MOTE_STORE_HASH_HEX];
  snprintf(fh, sizeof fh, "%s", core_fn_record(f)->module_hash);
  snprintf(gh, sizeof gh, "%s", core_fn_record(g)->module_hash);
  core_fn_release(f);
  core_fn_release(g);
  CHECK(blob_there(c, fh)); /* before the delete: after it, the sweeper may be quicker */
  CHECK_EQ_INT(core_delete(c, "guest", "f", &err), MOTE_CORE_OK);
  /* the state waited for: the blob gone and the sweep that took it counted
   * (its figures come once its sweep has ended); up to 30 s */
  core_figures fg = {0};
  for (int i = 0; i < 3000; i++) {
    core_figures_clear(&fg);
    CHECK(core_figures_get(c, &fg));
    if (!blob_there(c, fh) && fg.swept_blobs >= 1 && fg.swept_bytes > 0) break;
    struct timespec ms10 = {0, 10000000};
    nanosleep(&ms10, NULL);
  }
  CHECK(!blob_there(c, fh) && blob_there(c, gh));
  CHECK_EQ_INT((int)core_served_version(c, "guest", "g"), 1);
  CHECK(fg.swept_blobs >= 1 && fg.swept_bytes > 0 && fg.swept_file_sets == 0);
  core_figures_clear(&fg);
  mote_core_close(c);
  fixture_rm(dir);
}

/* In a cluster a sweep waits for the room's list of what the records name,
 * and keeps it. */
static bool keep_none_yet(void *ctx, char ***hashes, size_t *n) {
  (void)ctx, (void)hashes, (void)n;
  return false;
}
static bool keep_one(void *ctx, char ***hashes, size_t *n) {
  *hashes = malloc(sizeof **hashes);
  (*hashes)[0] = strdup(ctx);
  *n = 1;
  return true;
}

TEST(a_cluster_sweep_keeps_what_the_records_name) {
  char dir[64];
  fixture_dir(dir);
  mote_core_config cfg = {.data_dir = dir, .workers = 1, .queue = 2, .cluster = true,
                          .sweep_every_s = 100000, .sweep_grace_s = 1};
  mote_core *c = NULL;
  mote_core_error err;
  CHECK_EQ_INT(mote_core_open(&cfg, &c, &err), MOTE_CORE_OK);
  if (!c) return;
  char hash[MOTE_STORE_HASH_HEX], other[MOTE_STORE_HASH_HEX];
  mote_store_error se;
  CHECK_EQ_INT(mote_store_put_blob(core_store(c), (const uint8_t *)"held for a peer", 15, hash, &se),
               MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_put_blob(core_store(c), (const uint8_t *)"nobody's", 8, other, &se),
               MOTE_STORE_OK);
  mote_store_sweep_report r;
  CHECK_EQ_INT(core_sweep(c, &r, &err), MOTE_CORE_UNAVAILABLE); /* no room attached */
  core_cluster_ops ops = {.ctx = hash, .sweep_keep = keep_none_yet};
  core_cluster_attach(c, &ops);
  CHECK_EQ_INT(core_sweep(c, &r, &err), MOTE_CORE_UNAVAILABLE);
  /* both two hours old: past the grace */
  struct timespec old[2] = {{.tv_sec = time(NULL) - 7200}, {.tv_sec = time(NULL) - 7200}};
  const char *both[] = {hash, other};
  for (int i = 0; i < 2; i++) {
    char path[PATH_MAX];
    mote_store_blob_path(core_store(c), both[i], path, sizeof path);
    CHECK(utimensat(AT_FDCWD, path, old, 0) == 0);
  }
  ops.sweep_keep = keep_one;
  core_cluster_attach(c, &ops);
  /* the wall clock jumped (two hours ahead of the monotonic one): no sweep, once */
  c->sweep_wall_ms -= 7200 * 1000;
  CHECK_EQ_INT(core_sweep(c, &r, &err), MOTE_CORE_UNAVAILABLE);
  CHECK(strstr(err.message, "wall clock") && blob_there(c, other));
  CHECK_EQ_INT(core_sweep(c, &r, &err), MOTE_CORE_OK);
  CHECK(blob_there(c, hash) && !blob_there(c, other) && r.blobs == 1);
  mote_core_close(c);
  fixture_rm(dir);
}

RUN_TESTS(deploys_commit_through_the_hooks, versions_applied_kept_and_forgotten,
          a_build_taken_is_released_when_its_object_was_cached_meanwhile,
          a_deleted_functions_bytes_are_swept, a_cluster_sweep_keeps_what_the_records_name)
