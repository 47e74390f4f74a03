/*
 * store: the function registry (deploy, get, list, delete).
 *
 * A deploy writes its bytes first (blob, file tree: durable on return, see
 * disk.c), then in ONE transaction takes the next version number, adds the
 * version row and points the function at it, committed with
 * synchronous=FULL. A crash before the commit leaves at most unreferenced
 * bytes (for a later sweep), never a row without its bytes.
 *
 * Settings are kept as JSON text in versions.settings:
 *   {"memory_mib":0,"timeout_ms":0,"max_concurrency":0,"max_queue":0,
 *    "public":false,"cgi":false,"env":["K=V",...],"replicas":0}
 * A key added later (max_queue) is simply missing from older rows and reads
 * as 0, the default: the JSON column needs no schema migration.
 *
 * Names are per namespace: every row is keyed by (namespace, name), so a
 * deploy, get or delete names its namespace and never meets another's
 * function of the same name.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "store_internal.h"

#define ENV_MAX_COUNT 4096
#define ENV_MAX_LEN 32768

static char *dup_or_null(const char *s) {
  return s ? strdup(s) : NULL;
}

static mote_store_status bad_name(mote_store_error *err, const char *name) {
  return store_fail(err, MOTE_STORE_INVALID,
                    "invalid name \"%.80s\": use 1 to 64 characters of A-Z a-z 0-9 _ . -, "
                    "not starting with '.' or '-'",
                    name ? name : "(null)");
}

static mote_store_status not_found(mote_store_error *err, const char *name) {
  return store_fail(err, MOTE_STORE_NOT_FOUND, "function \"%s\" not found", name);
}

static mote_store_status bad_ns(mote_store_error *err, const char *ns) {
  return store_fail(err, MOTE_STORE_INVALID,
                    "invalid namespace \"%.80s\": use 1 to 64 characters of A-Z a-z 0-9 _ . -, "
                    "not starting with '.' or '-'",
                    ns ? ns : "(null)");
}

void mote_function_version_clear(mote_function_version *v) {
  if (!v) return;
  free(v->name);
  free(v->ns);
  free(v->meta);
  free(v->module_hash);
  free(v->files_hash);
  free(v->file_paths);
  mote_function_settings_clear(&v->settings);
  memset(v, 0, sizeof *v);
}

void mote_function_settings_clear(mote_function_settings *st) {
  for (uint32_t i = 0; i < st->env_count; i++)
    if (st->env) free(st->env[i]);
  free(st->env);
  memset(st, 0, sizeof *st);
}

static mote_store_status check_settings(const mote_function_settings *set, mote_store_error *err) {
  if (!set) return MOTE_STORE_OK;
  if (set->env_count > 0 && !set->env)
    return store_fail(err, MOTE_STORE_INVALID, "settings: env_count is %u but env is NULL",
                      set->env_count);
  if (set->env_count > ENV_MAX_COUNT)
    return store_fail(err, MOTE_STORE_INVALID,
                      "settings: %u environment variables, at most %d are allowed",
                      set->env_count, ENV_MAX_COUNT);
  for (uint32_t i = 0; i < set->env_count; i++) {
    const char *e = set->env[i];
    if (!e)
      return store_fail(err, MOTE_STORE_INVALID, "settings: environment entry %u is NULL", i);
    const char *eq = strchr(e, '=');
    if (!eq || eq == e)
      return store_fail(err, MOTE_STORE_INVALID,
                        "settings: environment entry \"%.60s\" is not of the form NAME=VALUE", e);
    if (strlen(e) > ENV_MAX_LEN)
      return store_fail(err, MOTE_STORE_INVALID,
                        "settings: environment entry \"%.40s...\" is longer than %d bytes", e,
                        ENV_MAX_LEN);
  }
  return MOTE_STORE_OK;
}

/* Deep copy; false on out of memory (dst then cleared). */
static bool copy_settings(mote_function_settings *dst, const mote_function_settings *src) {
  memset(dst, 0, sizeof *dst);
  if (!src) return true;
  *dst = *src;
  dst->env = NULL;
  dst->env_count = 0;
  if (src->env_count == 0) return true;
  dst->env = calloc(src->env_count, sizeof *dst->env);
  if (!dst->env) return false;
  for (uint32_t i = 0; i < src->env_count; i++) {
    dst->env[i] = strdup(src->env[i]);
    dst->env_count = i + 1; /* so that a clear frees what was copied */
    if (!dst->env[i]) return false;
  }
  return true;
}

/* JSON text from malloc(), or NULL on out of memory. */
char *mote_store_settings_json(const mote_function_settings *set) {
  mote_function_settings zero = {0};
  if (!set) set = &zero;
  json_t *env = json_array();
  for (uint32_t i = 0; env && i < set->env_count; i++)
    if (json_array_append_new(env, json_string_nocheck(set->env[i])) != 0) {
      json_decref(env);
      env = NULL;
    }
  if (!env) return NULL;
  json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:b, s:b, s:o}", "memory_mib",
                        (json_int_t)set->memory_mib, "timeout_ms", (json_int_t)set->timeout_ms,
                        "max_concurrency", (json_int_t)set->max_concurrency, "max_queue",
                        (json_int_t)set->max_queue, "public", (int)set->is_public, "cgi",
                        (int)set->cgi, "env", env);
  if (o && set->replicas) json_object_set_new(o, "replicas", json_integer(set->replicas));
  if (!o) return NULL;
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return text;
}

static uint32_t json_u32(json_t *o, const char *key) {
  json_int_t v = json_integer_value(json_object_get(o, key));
  return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

bool mote_store_settings_parse(const char *text, mote_function_settings *out) {
  memset(out, 0, sizeof *out);
  json_t *o = text ? json_loads(text, JSON_ALLOW_NUL, NULL) : NULL;
  if (!json_is_object(o)) {
    json_decref(o);
    return false;
  }
  out->memory_mib = json_u32(o, "memory_mib");
  out->timeout_ms = json_u32(o, "timeout_ms");
  out->max_concurrency = json_u32(o, "max_concurrency");
  out->max_queue = json_u32(o, "max_queue");
  out->replicas = json_u32(o, "replicas");
  out->is_public = json_is_true(json_object_get(o, "public"));
  out->cgi = json_is_true(json_object_get(o, "cgi"));
  json_t *env = json_object_get(o, "env");
  bool ok = true;
  size_t n = json_is_array(env) ? json_array_size(env) : 0;
  if (n > 0) {
    out->env = calloc(n, sizeof *out->env);
    ok = out->env != NULL;
    for (size_t i = 0; ok && i < n; i++) {
      const char *e = json_string_value(json_array_get(env, i));
      out->env[i] = strdup(e ? e : "");
      out->env_count = (uint32_t)(i + 1);
      ok = out->env[i] != NULL;
    }
  }
  json_decref(o);
  return ok;
}

/* The paths of a file set ('\n' between) as one allocation: the array,
 * then the strings. False when out of memory. */
static bool split_paths(const char *text, mote_function_version *out) {
  if (!text) return true;
  size_t len = strlen(text), n = 1;
  for (const char *p = text; *p; p++) n += *p == '\n';
  char **arr = malloc(n * sizeof *arr + len + 1);
  if (!arr) return false;
  char *copy = (char *)(arr + n);
  memcpy(copy, text, len + 1);
  for (size_t i = 0; i < n; i++) {
    arr[i] = copy;
    char *nl = strchr(copy, '\n');
    if (nl) {
      *nl = '\0';
      copy = nl + 1;
    }
  }
  out->file_paths = arr;
  out->nfile_paths = (uint32_t)n;
  return true;
}

/* Fills *out from a row of VERSION_COLUMNS (store.c): name, version,
 * module_hash, files_hash, settings, created_ms, namespace, meta, and the
 * file set's count, bytes, paths. */
static mote_store_status row_to_version(sqlite3_stmt *q, mote_function_version *out,
                                        mote_store_error *err) {
  memset(out, 0, sizeof *out);
  out->name = dup_or_null((const char *)sqlite3_column_text(q, 0));
  out->version = (uint64_t)sqlite3_column_int64(q, 1);
  out->module_hash = dup_or_null((const char *)sqlite3_column_text(q, 2));
  out->files_hash = dup_or_null((const char *)sqlite3_column_text(q, 3));
  out->created_ms = sqlite3_column_int64(q, 5);
  const char *ns = (const char *)sqlite3_column_text(q, 6);
  out->ns = strdup(ns ? ns : MOTE_STORE_DEFAULT_NS);
  out->meta = dup_or_null((const char *)sqlite3_column_text(q, 7));
  out->files_indexed = sqlite3_column_type(q, 8) != SQLITE_NULL;
  out->files_count = (uint64_t)sqlite3_column_int64(q, 8);
  out->files_bytes = (uint64_t)sqlite3_column_int64(q, 9);
  bool paths_ok = split_paths((const char *)sqlite3_column_text(q, 10), out);
  bool settings_ok = mote_store_settings_parse((const char *)sqlite3_column_text(q, 4), &out->settings);
  if (!out->name || !out->module_hash || !out->ns || !paths_ok ||
      (sqlite3_column_type(q, 3) != SQLITE_NULL && !out->files_hash) ||
      (sqlite3_column_type(q, 7) != SQLITE_NULL && !out->meta)) {
    mote_function_version_clear(out);
    return store_fail(err, MOTE_STORE_IO, "out of memory");
  }
  if (!settings_ok) {
    char name[80];
    snprintf(name, sizeof name, "%s", out->name);
    uint64_t version = out->version;
    mote_function_version_clear(out);
    return store_fail(err, MOTE_STORE_IO, "the settings of \"%s\" version %llu are damaged", name,
                      (unsigned long long)version);
  }
  return MOTE_STORE_OK;
}

static void bind_text(sqlite3_stmt *q, int i, const char *text) {
  if (text)
    sqlite3_bind_text(q, i, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, i);
}

typedef struct deploy_ctx {
  const char *ns;
  const char *name;
  const char *module_hash;
  const char *files_hash;
  uint64_t files_count, files_bytes;
  const char *files_paths;
  const char *settings_json;
  const char *meta;
  int64_t now;
  uint64_t version; /* OUT */
} deploy_ctx;

static mote_store_status deploy_body(store_conn *w, void *vctx, mote_store_error *err) {
  deploy_ctx *c = vctx;
  sqlite3_stmt *q = store_stmt(w, ST_SEQ_NEXT);
  if (!q) return store_db_fail(err, w->db, "preparing a deploy");
  bind_text(q, 1, c->ns);
  bind_text(q, 2, c->name);
  if (sqlite3_step(q) != SQLITE_ROW) {
    store_db_fail(err, w->db, "numbering the version");
    sqlite3_reset(q);
    return MOTE_STORE_IO;
  }
  c->version = (uint64_t)sqlite3_column_int64(q, 0);
  /* RETURNING: the statement must run to its end before the next one. */
  while (sqlite3_step(q) == SQLITE_ROW) {
  }
  if (sqlite3_reset(q) != SQLITE_OK) return store_db_fail(err, w->db, "numbering the version");

  q = store_stmt(w, ST_VER_INSERT);
  if (!q) return store_db_fail(err, w->db, "preparing a deploy");
  bind_text(q, 1, c->ns);
  bind_text(q, 2, c->name);
  sqlite3_bind_int64(q, 3, (int64_t)c->version);
  bind_text(q, 4, c->module_hash);
  bind_text(q, 5, c->files_hash);
  bind_text(q, 6, c->settings_json);
  sqlite3_bind_int64(q, 7, c->now);
  bind_text(q, 8, c->meta);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "adding the version");

  q = store_stmt(w, ST_FN_UPSERT);
  if (!q) return store_db_fail(err, w->db, "preparing a deploy");
  bind_text(q, 1, c->ns);
  bind_text(q, 2, c->name);
  sqlite3_bind_int64(q, 3, (int64_t)c->version);
  sqlite3_bind_int64(q, 4, c->now);
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "updating the function");
  if (c->files_hash)
    return store_file_set_put(w, c->files_hash, c->files_count, c->files_bytes, c->files_paths,
                              err);
  return MOTE_STORE_OK;
}

mote_store_status mote_store_deploy(mote_store *s, const char *ns, const char *name,
                                    const uint8_t *wasm, size_t len,
                                    const mote_store_file *files, size_t nfiles,
                                    const mote_function_settings *settings, const char *meta,
                                    mote_function_version *out, mote_store_error *err) {
  mote_store_status st;
  char module_hash[STORE_HASH_HEX], files_hash[STORE_HASH_HEX];
  char *json = NULL, *listed = NULL;
  uint64_t files_bytes = 0;
  mote_function_version result = {0};
  store_ok(err);
  if (out) memset(out, 0, sizeof *out);
  if (!mote_store_valid_name(name)) return bad_name(err, name);
  if (!mote_store_valid_name(ns)) return bad_ns(err, ns);
  if (meta && strlen(meta) > MOTE_STORE_META_MAX)
    return store_fail(err, MOTE_STORE_INVALID,
                      "deploy of \"%s\": its meta text is longer than %u bytes", name,
                      MOTE_STORE_META_MAX);
  if (!wasm || len == 0)
    return store_fail(err, MOTE_STORE_INVALID, "deploy of \"%s\": the module is empty", name);
  if (nfiles > 0 && !files)
    return store_fail(err, MOTE_STORE_INVALID, "deploy of \"%s\": %zu files but no list", name,
                      nfiles);
  if ((st = check_settings(settings, err)) != MOTE_STORE_OK) return st;
  json = mote_store_settings_json(settings);
  if (!json) return store_fail(err, MOTE_STORE_IO, "out of memory");

  if ((st = store_put_blob(s, wasm, len, module_hash, err)) != MOTE_STORE_OK) goto out;
  if (nfiles > 0 && (st = store_put_files(s, files, nfiles, files_hash, err)) != MOTE_STORE_OK)
    goto out;
  if (nfiles > 0 && nfiles <= MOTE_STORE_FILES_LISTED) {
    const char *paths[MOTE_STORE_FILES_LISTED];
    for (size_t i = 0; i < nfiles; i++) paths[i] = files[i].path;
    if (!(listed = store_file_list(paths, nfiles))) {
      st = store_fail(err, MOTE_STORE_IO, "out of memory");
      goto out;
    }
  }
  for (size_t i = 0; i < nfiles; i++) files_bytes += files[i].len;

  /* Everything *out needs is copied before the commit: once committed, the
   * deploy is acknowledged and must not fail on memory. */
  if (out) {
    result.name = strdup(name);
    result.ns = strdup(ns);
    result.meta = meta ? strdup(meta) : NULL;
    result.module_hash = strdup(module_hash);
    result.files_hash = nfiles > 0 ? strdup(files_hash) : NULL;
    result.files_indexed = nfiles > 0;
    result.files_count = nfiles;
    result.files_bytes = files_bytes;
    if (!result.name || !result.ns || (meta && !result.meta) || !result.module_hash ||
        (nfiles > 0 && !result.files_hash) || !split_paths(listed, &result) ||
        !copy_settings(&result.settings, settings)) {
      st = store_fail(err, MOTE_STORE_IO, "out of memory");
      goto out;
    }
  }
  deploy_ctx ctx = {.ns = ns,
                    .name = name,
                    .module_hash = module_hash,
                    .files_hash = nfiles > 0 ? files_hash : NULL,
                    .files_count = nfiles,
                    .files_bytes = files_bytes,
                    .files_paths = listed,
                    .settings_json = json,
                    .meta = meta,
                    .now = store_now_ms()};
  if ((st = store_write_durably(s, deploy_body, &ctx, err)) != MOTE_STORE_OK) goto out;
  if (out) {
    result.version = ctx.version;
    result.created_ms = ctx.now;
    *out = result;
    memset(&result, 0, sizeof result);
  }
out:
  mote_function_version_clear(&result);
  free(json);
  free(listed);
  return st;
}

/* Runs a one-row version query on a reader. */
static mote_store_status get_one(mote_store *s, stmt_id id, const char *ns, const char *name,
                                 uint64_t version, mote_function_version *out,
                                 mote_store_error *err) {
  store_ok(err);
  memset(out, 0, sizeof *out);
  if (!mote_store_valid_name(ns)) return bad_ns(err, ns);
  if (!mote_store_valid_name(name)) return bad_name(err, name);
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st;
  sqlite3_stmt *q = store_stmt(c, id);
  if (!q) {
    st = store_db_fail(err, c->db, "looking up a function");
    goto out;
  }
  bind_text(q, 1, ns);
  bind_text(q, 2, name);
  if (id == ST_GET_VERSION) sqlite3_bind_int64(q, 3, (int64_t)version);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_ROW)
    st = row_to_version(q, out, err);
  else if (rc == SQLITE_DONE && id == ST_GET_VERSION)
    st = store_fail(err, MOTE_STORE_NOT_FOUND, "function \"%s\" has no version %llu", name,
                    (unsigned long long)version);
  else if (rc == SQLITE_DONE)
    st = not_found(err, name);
  else
    st = store_db_fail(err, c->db, "looking up a function");
  sqlite3_reset(q);
out:
  store_reader_give(s, c);
  return st;
}

mote_store_status mote_store_get(mote_store *s, const char *ns, const char *name,
                                 mote_function_version *out, mote_store_error *err) {
  return get_one(s, ST_GET_LATEST, ns, name, 0, out, err);
}

mote_store_status mote_store_get_version(mote_store *s, const char *ns, const char *name,
                                         uint64_t version, mote_function_version *out,
                                         mote_store_error *err) {
  return get_one(s, ST_GET_VERSION, ns, name, version, out, err);
}

mote_store_status mote_store_list(mote_store *s, const char *ns, mote_function_version **out,
                                  size_t *count, mote_store_error *err) {
  store_ok(err);
  *out = NULL;
  *count = 0;
  if (ns && !mote_store_valid_name(ns)) return bad_ns(err, ns);
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st = MOTE_STORE_OK;
  mote_function_version *list = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *q = store_stmt(c, ns ? ST_LIST_NS : ST_LIST);
  if (!q) {
    st = store_db_fail(err, c->db, "listing functions");
    goto out;
  }
  if (ns) bind_text(q, 1, ns);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      mote_function_version *grown = realloc(list, ncap * sizeof *grown);
      if (!grown) {
        st = store_fail(err, MOTE_STORE_IO, "out of memory");
        break;
      }
      list = grown;
      cap = ncap;
    }
    if ((st = row_to_version(q, &list[n], err)) != MOTE_STORE_OK) break;
    n++;
  }
  if (st == MOTE_STORE_OK && rc != SQLITE_DONE) st = store_db_fail(err, c->db, "listing functions");
  sqlite3_reset(q);
out:
  store_reader_give(s, c);
  if (st != MOTE_STORE_OK) {
    for (size_t i = 0; i < n; i++) mote_function_version_clear(&list[i]);
    free(list);
    return st;
  }
  *out = list;
  *count = n;
  return MOTE_STORE_OK;
}

typedef struct delete_ctx {
  mote_store *s;
  const char *ns;
  const char *name;
} delete_ctx;

/* Renews (store_claim) the file sets that versions of (ns, name) name
 * (`version` 0: every version; `except`: one not to renew), inside a
 * transaction that is about to stop naming them: calls in flight on those
 * versions still read their files, and a sweep leaves them for its grace
 * (longer than any call). */
static mote_store_status renew_files(store_conn *w, mote_store *s, const char *ns,
                                     const char *name, uint64_t version, const char *except,
                                     mote_store_error *err) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(w->db,
                         "SELECT DISTINCT files_hash FROM versions WHERE namespace = ?1 AND "
                         "name = ?2 AND (?3 = 0 OR version = ?3) AND files_hash IS NOT NULL",
                         -1, &q, NULL) != SQLITE_OK)
    return store_db_fail(err, w->db, "reading a function's files");
  bind_text(q, 1, ns);
  bind_text(q, 2, name);
  sqlite3_bind_int64(q, 3, (int64_t)version);
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *h = (const char *)sqlite3_column_text(q, 0);
    if (!h || (except && !strcmp(h, except))) continue;
    char path[4096];
    mote_store_files_path(s, h, path, sizeof path);
    store_claim(s, path);
  }
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? MOTE_STORE_OK : store_db_fail(err, w->db, "reading a function's files");
}

static mote_store_status delete_body(store_conn *w, void *vctx, mote_store_error *err) {
  delete_ctx *c = vctx;
  const char *name = c->name;
  mote_store_status fst = renew_files(w, c->s, c->ns, name, 0, NULL, err);
  if (fst != MOTE_STORE_OK) return fst;
  sqlite3_stmt *q = store_stmt(w, ST_FN_DELETE);
  if (!q) return store_db_fail(err, w->db, "preparing a delete");
  bind_text(q, 1, c->ns);
  bind_text(q, 2, name);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "deleting a function");
  if (sqlite3_changes(w->db) == 0) return not_found(err, name);
  q = store_stmt(w, ST_VER_DELETE);
  if (!q) return store_db_fail(err, w->db, "preparing a delete");
  bind_text(q, 1, c->ns);
  bind_text(q, 2, name);
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "deleting versions");
  return store_snapshots_forget(w, c->ns, name, err);
}

mote_store_status mote_store_delete(mote_store *s, const char *ns, const char *name,
                                    mote_store_error *err) {
  store_ok(err);
  if (!mote_store_valid_name(name)) return bad_name(err, name);
  if (!mote_store_valid_name(ns)) return bad_ns(err, ns);
  delete_ctx ctx = {.s = s, .ns = ns, .name = name};
  return store_write_durably(s, delete_body, &ctx, err);
}

mote_store_status mote_store_blob_read(mote_store *s, const char *hash, uint8_t **out,
                                       size_t *len, mote_store_error *err) {
  char path[4096], have[STORE_HASH_HEX];
  store_ok(err);
  *out = NULL;
  *len = 0;
  if (!mote_is_hash_hex(hash))
    return store_fail(err, MOTE_STORE_INVALID, "invalid blob hash \"%.70s\"",
                      hash ? hash : "(null)");
  mote_store_blob_path(s, hash, path, sizeof path);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return store_fail(err, errno == ENOENT ? MOTE_STORE_NOT_FOUND : MOTE_STORE_IO,
                      "cannot open %s: %s", path, strerror(errno));
  struct stat sb;
  mote_store_status st = MOTE_STORE_OK;
  uint8_t *buf = NULL;
  size_t got = 0;
  if (fstat(fd, &sb) != 0) {
    st = store_fail(err, store_io_status(errno), "cannot stat %s: %s", path, strerror(errno));
    goto out;
  }
  buf = malloc(sb.st_size > 0 ? (size_t)sb.st_size : 1);
  if (!buf) {
    st = store_fail(err, MOTE_STORE_IO, "out of memory reading %s", path);
    goto out;
  }
  while (got < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  if (got != (size_t)sb.st_size) {
    st = store_fail(err, MOTE_STORE_IO, "short read of %s", path);
    goto out;
  }
  store_hash_hex(buf, got, have);
  if (strcmp(have, hash) != 0) {
    st = store_fail(err, MOTE_STORE_IO, "blob %s is damaged: its bytes hash to %s", path, have);
    goto out;
  }
  *out = buf;
  *len = got;
  buf = NULL;
out:
  free(buf);
  close(fd);
  return st;
}

typedef struct put_version_ctx {
  mote_store *s;
  const mote_function_version *rec;
  const char *settings_json;
  const char *files_paths;
  int64_t now;
} put_version_ctx;

static mote_store_status put_version_body(store_conn *w, void *vctx, mote_store_error *err) {
  put_version_ctx *c = vctx;
  const mote_function_version *v = c->rec;
  sqlite3_stmt *q = store_stmt(w, ST_FN_LATEST);
  if (!q) return store_db_fail(err, w->db, "looking up a function");
  bind_text(q, 1, v->ns);
  bind_text(q, 2, v->name);
  int rc = sqlite3_step(q);
  bool newer = rc == SQLITE_ROW && (uint64_t)sqlite3_column_int64(q, 0) > v->version;
  sqlite3_reset(q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return store_db_fail(err, w->db, "looking up a function");
  if (newer) return MOTE_STORE_OK; /* a later version is kept already */
  /* a row of this number replaced (a cluster's record over a node's own):
   * its files, if others, may still be read by calls in flight */
  mote_store_status fst = renew_files(w, c->s, v->ns, v->name, v->version, v->files_hash, err);
  if (fst != MOTE_STORE_OK) return fst;
  q = store_stmt(w, ST_VER_PUT);
  if (!q) return store_db_fail(err, w->db, "preparing a version");
  bind_text(q, 1, v->ns);
  bind_text(q, 2, v->name);
  sqlite3_bind_int64(q, 3, (int64_t)v->version);
  bind_text(q, 4, v->module_hash);
  bind_text(q, 5, v->files_hash);
  bind_text(q, 6, c->settings_json);
  sqlite3_bind_int64(q, 7, v->created_ms ? v->created_ms : c->now);
  bind_text(q, 8, v->meta);
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "adding the version");
  q = store_stmt(w, ST_FN_PUT);
  if (!q) return store_db_fail(err, w->db, "preparing a version");
  bind_text(q, 1, v->ns);
  bind_text(q, 2, v->name);
  sqlite3_bind_int64(q, 3, (int64_t)v->version);
  sqlite3_bind_int64(q, 4, c->now);
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "updating the function");
  q = store_stmt(w, ST_SEQ_RAISE);
  if (!q) return store_db_fail(err, w->db, "preparing a version");
  bind_text(q, 1, v->ns);
  bind_text(q, 2, v->name);
  sqlite3_bind_int64(q, 3, (int64_t)v->version);
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "numbering the version");
  if (v->files_hash)
    return store_file_set_put(w, v->files_hash, v->files_count, v->files_bytes, c->files_paths,
                              err);
  return MOTE_STORE_OK;
}

mote_store_status mote_store_put_version(mote_store *s, const mote_function_version *rec,
                                         mote_store_error *err) {
  store_ok(err);
  if (!mote_store_valid_name(rec->name)) return bad_name(err, rec->name);
  if (!mote_store_valid_name(rec->ns)) return bad_ns(err, rec->ns);
  if (rec->version == 0 || rec->version > INT64_MAX)
    return store_fail(err, MOTE_STORE_INVALID, "\"%s\": version %llu is out of range", rec->name,
                      (unsigned long long)rec->version);
  if (!mote_is_hash_hex(rec->module_hash) || (rec->files_hash && !mote_is_hash_hex(rec->files_hash)))
    return store_fail(err, MOTE_STORE_INVALID, "\"%s\": a module or files hash is not a hash",
                      rec->name);
  if (rec->meta && strlen(rec->meta) > MOTE_STORE_META_MAX)
    return store_fail(err, MOTE_STORE_INVALID, "\"%s\": its meta text is longer than %u bytes",
                      rec->name, MOTE_STORE_META_MAX);
  if (rec->nfile_paths > MOTE_STORE_FILES_LISTED)
    return store_fail(err, MOTE_STORE_INVALID, "\"%s\": more than %d file paths listed",
                      rec->name, MOTE_STORE_FILES_LISTED);
  mote_store_status st = check_settings(&rec->settings, err);
  if (st != MOTE_STORE_OK) return st;
  char *json = mote_store_settings_json(&rec->settings);
  char *listed = NULL;
  if (rec->files_hash && rec->nfile_paths)
    listed = store_file_list((const char *const *)rec->file_paths, rec->nfile_paths);
  if (!json || (rec->files_hash && rec->nfile_paths && !listed)) {
    free(json);
    free(listed);
    return store_fail(err, MOTE_STORE_IO, "out of memory");
  }
  put_version_ctx ctx = {.s = s, .rec = rec, .settings_json = json, .files_paths = listed,
                         .now = store_now_ms()};
  st = store_write_durably(s, put_version_body, &ctx, err);
  free(json);
  free(listed);
  return st;
}

