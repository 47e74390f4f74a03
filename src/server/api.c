/*
 * api: the management routes: /v1/functions and /v1/activations.
 *
 * Every request here carries a key checked in http.c: r->ns is its
 * namespace. A namespace sees its own functions and activations only.
 * Function names are global (one /faas/NAME for all), so a name another
 * namespace owns is refused with 403 "forbidden" (get, update, delete):
 * hiding it would not free the name. An activation of another namespace is
 * 404, as if it did not exist: its id says nothing that needs a 403.
 */
#include <errno.h>
#include <fts.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server_internal.h"

/* ---- JSON of records -------------------------------------------------------- */

static int cmp_fts(const FTSENT **x, const FTSENT **y) {
  return strcmp((*x)->fts_name, (*y)->fts_name);
}

/* The files of a version, counted on disk (the record keeps only their hash). */
static json_t *files_json(mote_store *store, const char *files_hash) {
  if (!files_hash) return json_pack("{s:i, s:i, s:[]}", "count", 0, "bytes", 0, "paths");
  char root[PATH_MAX];
  mote_store_files_path(store, files_hash, root, sizeof root);
  char *roots[] = {root, NULL};
  FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, cmp_fts);
  if (!fts) return json_pack("{s:s}", "error", strerror(errno));
  json_t *paths = json_array();
  size_t count = 0, rootlen = strlen(root);
  uint64_t bytes = 0;
  FTSENT *f;
  bool missing = false;
  while ((f = fts_read(fts))) {
    if (f->fts_level == 0 && (f->fts_info == FTS_NS || f->fts_info == FTS_ERR ||
                              f->fts_info == FTS_DNR))
      missing = true;
    if (f->fts_info != FTS_F) continue;
    count++;
    bytes += (uint64_t)f->fts_statp->st_size;
    if (count <= SRV_FILES_LISTED && f->fts_pathlen > rootlen)
      json_array_append_new(paths, json_bytes((const uint8_t *)f->fts_path + rootlen + 1,
                                              f->fts_pathlen - rootlen - 1));
  }
  fts_close(fts);
  json_t *o = json_pack("{s:I, s:I}", "count", (json_int_t)count, "bytes", (json_int_t)bytes);
  /* The whole list when it is short; else only its first names would be a
   * misleading sample, so none. */
  if (o && count <= SRV_FILES_LISTED) json_object_set_new(o, "paths", paths);
  else json_decref(paths);
  if (o && missing) json_object_set_new(o, "error", json_string("the stored files are missing"));
  return o;
}

json_t *version_json(mote_store *store, const mote_function_version *v,
                     unsigned max_queue_default) {
  const mote_function_settings *st = &v->settings;
  json_t *env = json_array();
  for (uint32_t i = 0; i < st->env_count; i++)
    json_array_append_new(env, json_bytes((const uint8_t *)st->env[i], strlen(st->env[i])));
  json_t *settings = json_pack(
      "{s:I, s:I, s:I, s:I, s:b, s:b, s:o}", "memory_mib",
      (json_int_t)(st->memory_mib ? st->memory_mib : SRV_DEFAULT_MEMORY_MIB), "timeout_ms",
      (json_int_t)(st->timeout_ms ? st->timeout_ms : SRV_DEFAULT_TIMEOUT_MS), "concurrency",
      (json_int_t)st->max_concurrency, "max_queue",
      (json_int_t)(st->max_queue ? st->max_queue : max_queue_default), "public", st->is_public,
      "cgi", st->cgi, "env", env);
  json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:I}", "name", v->name, "namespace",
                        v->ns ? v->ns : "", "version",
                        (json_int_t)v->version, "module_hash", v->module_hash ? v->module_hash : "",
                        "settings", settings, "created", json_utc_ms(v->created_ms), "created_ms",
                        (json_int_t)v->created_ms);
  if (o && v->files_hash) json_object_set_new(o, "files_hash", json_string(v->files_hash));
  if (o) json_object_set_new(o, "files", files_json(store, v->files_hash));
  return o;
}

static json_t *activation_json(const mote_activation *a) {
  json_t *o = json_pack(
      "{s:s, s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:i, s:i, s:s}", "id", a->id, "function",
      a->function ? a->function : "", "namespace", a->ns ? a->ns : "", "version",
      (json_int_t)a->version, "start",
      json_utc_ms(a->start_ms), "start_ms", (json_int_t)a->start_ms, "wait_us",
      (json_int_t)a->wait_us, "init_us", (json_int_t)a->init_us, "exec_us",
      (json_int_t)a->exec_us, "http_status", a->http_status, "exit_code", a->exit_code,
      "outcome", a->outcome ? a->outcome : "");
  if (!o) return NULL;
  json_object_set_new(o, "stdout",
                      a->stdout_excerpt ? json_string(a->stdout_excerpt) : json_null());
  json_object_set_new(o, "stderr",
                      a->stderr_excerpt ? json_string(a->stderr_excerpt) : json_null());
  return o;
}

static enum MHD_Result store_error(struct MHD_Connection *c, const mote_store_error *e) {
  switch (e->status) {
    case MOTE_STORE_NOT_FOUND: return reply_error(c, 404, "not_found", "%s", e->message);
    case MOTE_STORE_INVALID: return reply_error(c, 400, "invalid", "%s", e->message);
    case MOTE_STORE_FORBIDDEN: return reply_error(c, 403, "forbidden", "%s", e->message);
    default: return reply_error(c, 500, "store", "%s", e->message);
  }
}

/* ---- /v1/functions ---------------------------------------------------------- */

/* 403 for a function of another namespace. */
static enum MHD_Result forbidden(struct MHD_Connection *c, const char *name) {
  return reply_error(c, 403, "forbidden",
                     "function \"%s\" belongs to another namespace: use a key of its namespace, "
                     "or another name", name);
}

enum MHD_Result api_functions_list(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  mote_function_version *list = NULL;
  size_t n = 0;
  mote_store_error e;
  if (mote_store_list(s->store, r->ns, &list, &n, &e) != MOTE_STORE_OK) return store_error(c, &e);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(arr, version_json(s->store, &list[i], admit_fn_queue_default(s->admit)));
    mote_function_version_clear(&list[i]);
  }
  free(list);
  return reply_json(c, 200, json_pack("{s:o}", "functions", arr));
}

static json_t *with_tier(mote_server *s, const char *name, json_t *o) {
  srv_fn *fn = registry_acquire(s->reg, name);
  const srv_image *img = fn ? fn_image(fn) : NULL;
  json_object_set_new(o, "tier", json_string(img ? mote_tier_name(img->tier) : "not loaded"));
  /* The optimised tier: ready, building, or failed with its reason. */
  if (fn) {
    const char *error;
    json_object_set_new(o, "opt_tier", json_string(fn_opt_state(fn, &error)));
    if (error) json_object_set_new(o, "opt_error", json_string(error));
  }
  /* Whether calls start from a snapshot taken after the initialisation. */
  if (img) json_object_set_new(o, "snapshot", json_boolean(img->snap != NULL));
  /* The image's non-zero bytes, and how calls get it: copied in, or mapped. */
  if (img && img->snap) {
    json_object_set_new(o, "snapshot_bytes",
                        json_integer((json_int_t)mote_rt_snapshot_image_bytes(img->snap)));
    json_object_set_new(o, "snapshot_image",
                        json_string(mote_rt_image_mode_name(mote_rt_snapshot_mode(img->snap))));
    /* "store": kept from an earlier start, no initialisation ran; "init". */
    json_object_set_new(o, "snapshot_from", json_string(img->snap_kept ? "store" : "init"));
  }
  if (fn) fn_release(fn);
  return o;
}

enum MHD_Result api_function_get(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  mote_function_version v;
  mote_store_error e;
  memset(&v, 0, sizeof v);
  if (!mote_store_valid_name(r->name))
    return reply_error(c, 404, "not_found", "no function named \"%s\"", r->name);
  if (mote_store_get(s->store, r->name, &v, &e) != MOTE_STORE_OK) {
    if (e.status == MOTE_STORE_NOT_FOUND)
      return reply_error(c, 404, "not_found", "no function named \"%s\"", r->name);
    return store_error(c, &e);
  }
  if (strcmp(v.ns, r->ns) != 0) {
    mote_function_version_clear(&v);
    return forbidden(c, r->name);
  }
  json_t *o = with_tier(s, r->name, version_json(s->store, &v, admit_fn_queue_default(s->admit)));
  mote_function_version_clear(&v);
  return reply_json(c, 200, o);
}

enum MHD_Result api_function_delete(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  mote_store_error e;
  if (!mote_store_valid_name(r->name))
    return reply_error(c, 404, "not_found", "no function named \"%s\"", r->name);
  pthread_mutex_lock(&s->deploy_lock);
  mote_store_status st = mote_store_delete(s->store, r->ns, r->name, &e);
  if (st == MOTE_STORE_OK) registry_remove(s->reg, r->name);
  pthread_mutex_unlock(&s->deploy_lock);
  if (st == MOTE_STORE_NOT_FOUND)
    return reply_error(c, 404, "not_found", "no function named \"%s\"", r->name);
  if (st == MOTE_STORE_FORBIDDEN) return forbidden(c, r->name);
  if (st != MOTE_STORE_OK) return store_error(c, &e);
  return reply_json(c, 200, json_pack("{s:s, s:b}", "name", r->name, "deleted", 1));
}

/* Settings from the query string: memory, timeout, env (repeatable),
 * concurrency, max_queue, public, cgi. env strings point into r's
 * parameters. */
static bool parse_u32(const char *v, uint32_t min, uint32_t max, uint32_t *out) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (errno || end == v || *end || v[0] == '-' || n < min || n > max) return false;
  *out = (uint32_t)n;
  return true;
}

static bool parse_settings(srv_req *r, mote_function_settings *st, char *msg, size_t cap) {
  memset(st, 0, sizeof *st);
  size_t nenv = 0;
  for (size_t i = 0; i < r->nparams; i++) nenv += !strcmp(r->params[i].key, "env");
  if (nenv > SRV_MAX_ENV) {
    snprintf(msg, cap, "too many env settings (at most %d)", SRV_MAX_ENV);
    return false;
  }
  st->env = nenv ? calloc(nenv, sizeof *st->env) : NULL;
  if (nenv && !st->env) {
    snprintf(msg, cap, "out of memory");
    return false;
  }
  for (size_t i = 0; i < r->nparams; i++) {
    const char *k = r->params[i].key, *v = r->params[i].value;
    if (!strcmp(k, "memory")) {
      if (!parse_u32(v, 1, 4096, &st->memory_mib)) {
        snprintf(msg, cap, "memory takes MiB between 1 and 4096, not \"%.40s\"", v);
        return false;
      }
    } else if (!strcmp(k, "timeout")) {
      if (!parse_u32(v, 1, 3600000, &st->timeout_ms)) {
        snprintf(msg, cap, "timeout takes milliseconds between 1 and 3600000, not \"%.40s\"", v);
        return false;
      }
    } else if (!strcmp(k, "concurrency")) {
      if (!parse_u32(v, 0, 100000, &st->max_concurrency)) {
        snprintf(msg, cap, "concurrency takes a count between 0 (no limit) and 100000, "
                 "not \"%.40s\"", v);
        return false;
      }
    } else if (!strcmp(k, "max_queue")) {
      if (!parse_u32(v, 0, 100000, &st->max_queue)) {
        snprintf(msg, cap, "max_queue takes a count of waiting calls between 1 and 100000, or 0 "
                 "for the server's default, not \"%.40s\"", v);
        return false;
      }
    } else if (!strcmp(k, "public")) {
      if (!strcmp(v, "true") || !strcmp(v, "1")) st->is_public = true;
      else if (!strcmp(v, "false") || !strcmp(v, "0")) st->is_public = false;
      else {
        snprintf(msg, cap, "public takes true or false, not \"%.40s\"", v);
        return false;
      }
    } else if (!strcmp(k, "cgi")) {
      if (!strcmp(v, "true") || !strcmp(v, "1")) st->cgi = true;
      else if (!strcmp(v, "false") || !strcmp(v, "0")) st->cgi = false;
      else {
        snprintf(msg, cap, "cgi takes true or false, not \"%.40s\"", v);
        return false;
      }
    } else if (!strcmp(k, "env")) {
      const char *eq = strchr(v, '=');
      if (!eq || eq == v) {
        snprintf(msg, cap, "env takes KEY=VALUE, not \"%.40s\"", v);
        return false;
      }
      st->env[st->env_count++] = (char *)v;
    } else {
      snprintf(msg, cap, "unknown setting \"%.40s\" (memory, timeout, env, concurrency, "
               "max_queue, public, cgi)", k);
      return false;
    }
  }
  return true;
}

size_t deploy_body_limit(struct MHD_Connection *c) {
  const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  return bundle_kind_of_type(ct) == SRV_BODY_WASM ? SRV_MAX_MODULE : SRV_MAX_BUNDLE;
}

int api_function_put_precheck(mote_server *s, struct MHD_Connection *c, srv_req *r,
                              enum MHD_Result *res) {
  char msg[256];
  if (!mote_store_valid_name(r->name)) {
    *res = reply_error(c, 400, "invalid_name",
                       "\"%s\" is not a valid function name: 1 to 64 of A-Z a-z 0-9 _ . -, "
                       "not starting with '.' or '-'", r->name);
    metrics_deploy(s->metrics, false);
    return 400;
  }
  /* Another namespace's name is refused before its body is read; the store
   * checks again in the deploy's transaction (a race with a delete and a
   * deploy of the name by someone else). */
  mote_function_version v;
  mote_store_error e;
  mote_store_status gst = mote_store_get(s->store, r->name, &v, &e);
  bool theirs = gst == MOTE_STORE_OK && strcmp(v.ns, r->ns) != 0;
  mote_function_version_clear(&v);
  if (theirs || (gst != MOTE_STORE_OK && gst != MOTE_STORE_NOT_FOUND)) {
    *res = theirs ? forbidden(c, r->name) : store_error(c, &e);
    metrics_deploy(s->metrics, false);
    return theirs ? 403 : 500;
  }
  const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (bundle_kind_of_type(ct) == SRV_BODY_UNSUPPORTED) {
    *res = reply_error(c, 415, "unsupported_media_type",
                       "deploy a WebAssembly module with Content-Type: application/wasm, or a "
                       "bundle holding main.wasm as application/gzip (.tar.gz), "
                       "application/x-tar or application/zip (got %s)",
                       ct ? ct : "none");
    metrics_deploy(s->metrics, false);
    return 415;
  }
  mote_function_settings st;
  bool ok = parse_settings(r, &st, msg, sizeof msg);
  free(st.env);
  if (!ok) {
    *res = reply_error(c, 400, "bad_setting", "%s", msg);
    metrics_deploy(s->metrics, false);
    return 400;
  }
  return 0;
}

/* The module (and files) of a PUT body: the body itself for a module, else
 * the extracted bundle. 0, or the status of a refusal with code/msg. */
static int deploy_contents(struct MHD_Connection *c, srv_req *r, srv_bundle *b,
                           const uint8_t **wasm, size_t *len, const char **code, char *msg,
                           size_t cap) {
  const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  srv_body_kind kind = bundle_kind_of_type(ct);
  memset(b, 0, sizeof *b);
  if (r->len == 0) {
    *code = "empty_module";
    snprintf(msg, cap, "the request body is empty: send the .wasm module or a bundle");
    return 400;
  }
  if (kind == SRV_BODY_SNIFF) {
    kind = bundle_sniff(r->body, r->len);
    if (kind == SRV_BODY_UNSUPPORTED) {
      *code = "unsupported_media_type";
      snprintf(msg, cap, "the application/octet-stream body is neither a WebAssembly module "
               "nor a .tar.gz, .tar or .zip bundle (by its first bytes)");
      return 415;
    }
  }
  if (kind == SRV_BODY_WASM) {
    if (r->len > SRV_MAX_MODULE) {
      *code = "body_too_large";
      snprintf(msg, cap, "the module of %zu bytes is larger than the limit of %u bytes", r->len,
               SRV_MAX_MODULE);
      return 413;
    }
    *wasm = r->body;
    *len = r->len;
    return 0;
  }
  if (!bundle_extract(r->body, r->len, kind, b, msg, cap)) {
    *code = "bad_bundle";
    return 400;
  }
  *wasm = b->module;
  *len = b->module_len;
  return 0;
}

/* The status and code of a store refusal (as store_error answers it). */
static int store_status(const mote_store_error *e, const char **code) {
  switch (e->status) {
    case MOTE_STORE_NOT_FOUND: return *code = "not_found", 404;
    case MOTE_STORE_INVALID: return *code = "invalid", 400;
    case MOTE_STORE_FORBIDDEN: return *code = "forbidden", 403;
    default: return *code = "store", 500;
  }
}

int deploy_version(mote_server *s, const char *ns, const char *name, const uint8_t *wasm,
                   size_t len, const mote_store_file *files, size_t nfiles,
                   const mote_function_settings *st, const char *meta, srv_fn **out,
                   const char **code, char *msg, size_t cap) {
  *out = NULL;
  srv_fn *fn = NULL;
  bool need_opt = false;
  /* The files go to their content-addressed directory first (nothing
   * refers to it until the version's row does): the initialisation that
   * fn_load runs reads them. */
  char files_dir[PATH_MAX];
  files_dir[0] = '\0';
  if (nfiles) {
    mote_store_error fe;
    char files_hash[MOTE_STORE_HASH_HEX];
    if (mote_store_put_files(s->store, files, nfiles, files_hash, &fe) != MOTE_STORE_OK) {
      *code = "store_failed";
      snprintf(msg, cap, "%s", fe.message);
      return 500;
    }
    mote_store_files_path(s->store, files_hash, files_dir, sizeof files_dir);
  }
  int status = fn_load(s, name, wasm, len, st, files_dir[0] ? files_dir : NULL, &fn, &need_opt,
                       code, msg, cap);
  if (status) return status;
  mote_store_error e;
  pthread_mutex_lock(&s->deploy_lock);
  mote_store_status sst = mote_store_deploy(s->store, ns, name, wasm, len, files, nfiles, st,
                                            meta, &fn->rec, &e);
  if (sst == MOTE_STORE_OK) {
    atomic_fetch_add(&fn->refs, 1); /* the caller's */
    registry_put(s->reg, fn);       /* takes the first reference */
  }
  pthread_mutex_unlock(&s->deploy_lock);
  if (sst == MOTE_STORE_OK) snapstore_keep(s, fn); /* a stored version's: now it may */
  if (sst != MOTE_STORE_OK) {
    fn_release(fn);
    snprintf(msg, cap, "%s", e.message);
    return store_status(&e, code);
  }
  if (need_opt) bg_queue_opt(s, fn, wasm, len); /* copies the bytes */
  *out = fn;
  return 0;
}

enum MHD_Result api_function_put(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  char msg[1200];
  mote_function_settings st;
  if (!parse_settings(r, &st, msg, sizeof msg)) {
    free(st.env);
    metrics_deploy(s->metrics, false);
    return reply_error(c, 400, "bad_setting", "%s", msg);
  }
  /* The whole bundle is extracted and checked in memory, and the module
   * compiled and checked, before anything is stored: what cannot run never
   * becomes a version, and the old one keeps serving. */
  srv_bundle bundle;
  const uint8_t *wasm = NULL;
  size_t len = 0;
  const char *code = "internal";
  int status = deploy_contents(c, r, &bundle, &wasm, &len, &code, msg, sizeof msg);
  srv_fn *fn = NULL;
  if (!status)
    status = deploy_version(s, r->ns, r->name, wasm, len, bundle.files, bundle.nfiles, &st,
                            NULL, &fn, &code, msg, sizeof msg);
  bundle_free(&bundle);
  free(st.env);
  if (status) {
    metrics_deploy(s->metrics, false);
    return reply_error(c, (unsigned)status, code, "%s", msg);
  }
  json_t *o = version_json(s->store, &fn->rec, admit_fn_queue_default(s->admit));
  json_object_set_new(o, "tier", json_string(mote_tier_name(fn->base.tier)));
  const char *opt_error;
  json_object_set_new(o, "opt_tier", json_string(fn_opt_state(fn, &opt_error)));
  json_object_set_new(o, "snapshot", json_boolean(fn->base.snap != NULL));
  fn_release(fn);
  metrics_deploy(s->metrics, true);
  return reply_json(c, 201, o);
}

/* ---- /v1/activations ---------------------------------------------------------- */

enum MHD_Result api_activations_list(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  const char *fn = query_get(r, "function"), *lim = query_get(r, "limit"),
             *since = query_get(r, "since");
  uint32_t limit = 50;
  int64_t since_ms = 0;
  if (lim && !parse_u32(lim, 1, 1000, &limit))
    return reply_error(c, 400, "bad_query", "limit takes a count between 1 and 1000");
  if (since) {
    char *end;
    errno = 0;
    long long v = strtoll(since, &end, 10);
    if (errno || end == since || *end || v < 0)
      return reply_error(c, 400, "bad_query", "since takes Unix time in milliseconds");
    since_ms = v;
  }
  if (fn && !*fn) fn = NULL;
  mote_activation *list = NULL;
  size_t n = 0;
  mote_store_error e;
  if (mote_store_activation_list(s->store, r->ns, fn, since_ms, limit, &list, &n, &e) != MOTE_STORE_OK)
    return store_error(c, &e);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(arr, activation_json(&list[i]));
    mote_activation_clear(&list[i]);
  }
  free(list);
  return reply_json(c, 200, json_pack("{s:o}", "activations", arr));
}

enum MHD_Result api_activation_get(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  mote_activation a;
  mote_store_error e;
  memset(&a, 0, sizeof a);
  if (mote_store_activation_get(s->store, r->name, &a, &e) != MOTE_STORE_OK) {
    if (e.status == MOTE_STORE_NOT_FOUND || e.status == MOTE_STORE_INVALID)
      return reply_error(c, 404, "not_found", "no activation %s", r->name);
    return store_error(c, &e);
  }
  if (strcmp(a.ns, r->ns) != 0) { /* the same reply as for an id that does not exist */
    mote_activation_clear(&a);
    return reply_error(c, 404, "not_found", "no activation %s", r->name);
  }
  json_t *o = activation_json(&a);
  mote_activation_clear(&a);
  return reply_json(c, 200, o);
}
