/*
 * v1: mote's own routes, in the route table (http_add_mote_routes), and the
 * management ones: /v1/functions and /v1/activations (/v1/usage: usage.c).
 *
 * Every /v1 request carries a key the route table checked: http_req_ns is
 * its namespace, and every route works in it alone: /v1/functions/NAME is
 * function NAME of the key's namespace (names are per namespace: another
 * namespace's NAME is another function, which no /v1 route reaches), the
 * lists hold the namespace's own, and an activation of another namespace is
 * looked up as the key's namespace's (store: by id and namespace), so it is
 * a 404 exactly as an id that does not exist.
 */
#include <errno.h>
#include <limits.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/http_internal.h"

/* ---- JSON of records -------------------------------------------------------- */

/* The files of a version, as the store indexed them at deploy (no walk). */
static json_t *files_json(const mote_function_version *v) {
  if (!v->files_hash) return json_pack("{s:i, s:i, s:[]}", "count", 0, "bytes", 0, "paths");
  json_t *o = json_pack("{s:I, s:I}", "count", (json_int_t)v->files_count, "bytes",
                        (json_int_t)v->files_bytes);
  if (!o) return NULL;
  /* The whole list when it is short; else only its first names would be a
   * misleading sample, so none. */
  if (v->file_paths) {
    json_t *paths = json_array();
    for (uint32_t i = 0; i < v->nfile_paths; i++)
      json_array_append_new(paths, json_bytes((const uint8_t *)v->file_paths[i],
                                              strlen(v->file_paths[i])));
    json_object_set_new(o, "paths", paths);
  }
  if (!v->files_indexed)
    json_object_set_new(o, "error", json_string("the stored files are missing"));
  return o;
}

json_t *http_version_json(mote_core *c, const mote_function_version *v) {
  unsigned max_queue_default = core_queue_default(c);
  const mote_function_settings *st = &v->settings;
  json_t *env = json_array();
  for (uint32_t i = 0; i < st->env_count; i++)
    json_array_append_new(env, json_bytes((const uint8_t *)st->env[i], strlen(st->env[i])));
  json_t *settings = json_pack(
      "{s:I, s:I, s:I, s:I, s:b, s:b, s:o}", "memory_mib",
      (json_int_t)(st->memory_mib ? st->memory_mib : CORE_DEFAULT_MEMORY_MIB), "timeout_ms",
      (json_int_t)(st->timeout_ms ? st->timeout_ms : CORE_DEFAULT_TIMEOUT_MS), "concurrency",
      (json_int_t)st->max_concurrency, "max_queue",
      (json_int_t)(st->max_queue ? st->max_queue : max_queue_default), "public", st->is_public,
      "cgi", st->cgi, "env", env);
  if (settings && st->replicas)
    json_object_set_new(settings, "replicas", json_integer((json_int_t)st->replicas));
  json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:o, s:o, s:I}", "name", v->name, "namespace",
                        v->ns ? v->ns : "", "version",
                        (json_int_t)v->version, "module_hash", v->module_hash ? v->module_hash : "",
                        "settings", settings, "created", json_utc_ms(v->created_ms), "created_ms",
                        (json_int_t)v->created_ms);
  if (o && v->files_hash) json_object_set_new(o, "files_hash", json_string(v->files_hash));
  if (o) json_object_set_new(o, "files", files_json(v));
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


/* A store failure in mote's words. */
static http_result store_error(http_req *r, const mote_store_error *e) {
  switch (e->status) {
    case MOTE_STORE_NOT_FOUND: return http_reply_error(r, 404, "not_found", "%s", e->message);
    case MOTE_STORE_INVALID: return http_reply_error(r, 400, "invalid", "%s", e->message);
    case MOTE_STORE_FULL: return http_reply_error(r, 507, "disk_full", "%s", e->message);
    default: return http_reply_error(r, 500, "store", "%s", e->message);
  }
}

/* ---- /healthz, /metrics ----------------------------------------------------------- */

/* 200 {"status": "ok"}. The public one says nothing of what the namespaces
 * hold (a count of every namespace's functions would show others
 * deploying); the operator's adds that count. A node of a cluster says its
 * name and whether its etcd answers ("cluster": "ok" or "unreachable": it
 * serves on either way); a drained node is 503 {"status": "draining"}, so
 * that a balancer's health check takes it out. The operator's also says the
 * live nodes and the revision of the cluster's records applied here (which
 * moves with every namespace's deploys: not for the public). */
static http_result health(http_req *r, bool operator) {
  core_cluster_state cs;
  core_cluster_state_get(r->h->core, &cs);
  json_t *o = json_pack("{s:s}", "status", cs.draining ? "draining" : "ok");
  unsigned pending, total;
  core_start_counts(r->h->core, &pending, &total);
  /* "starting" while the functions stored before the start are being
   * prepared (calls of those answer 503 "starting"), then "ready". */
  if (o) json_object_set_new(o, "start", json_string(pending ? "starting" : "ready"));
  if (o && operator) {
    json_object_set_new(o, "functions", json_integer((json_int_t)core_fn_count(r->h->core)));
    json_object_set_new(o, "preparing", json_integer((json_int_t)pending));
  }
  if (o && cs.member) {
    json_object_set_new(o, "node", json_string(cs.node));
    json_object_set_new(o, "cluster", json_string(cs.reachable ? "ok" : "unreachable"));
    if (operator) {
      json_object_set_new(o, "nodes", json_integer(cs.nodes));
      json_object_set_new(o, "revision", json_integer(cs.revision));
    }
  }
  return http_reply_json(r, cs.draining ? 503 : 200, o);
}

http_result v1_health(void *ctx, http_req *r) {
  (void)ctx;
  return health(r, false);
}

static http_result v1_health_operator(void *ctx, http_req *r) {
  (void)ctx;
  return health(r, true);
}

static http_result metrics_reply(http_req *r, http_server *public_server, const char *ns) {
  size_t len = 0;
  char *text = metrics_text(r->h->core, public_server, ns, &len);
  http_response *resp = text ? http_response_new(text, len, true) : NULL;
  if (!resp) return http_reply_error(r, 500, "internal", "out of memory");
  http_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; version=0.0.4");
  return http_reply(r, 200, resp);
}

/* The operator's, every namespace's. ctx: the public server, whose
 * transport's figures (its access log) are part of the text; the request
 * comes in on the operator's. */
http_result v1_metrics(void *ctx, http_req *r) { return metrics_reply(r, ctx, NULL); }

/* A tenant's: its namespace's functions only (the key's). */
http_result v1_metrics_namespace(void *ctx, http_req *r) {
  (void)ctx;
  return metrics_reply(r, r->h, http_req_ns(r));
}

/* ---- /v1/functions ---------------------------------------------------------------- */

http_result v1_functions_list(void *ctx, http_req *r) {
  (void)ctx;
  mote_core *c = r->h->core;
  mote_function_version *list = NULL;
  size_t n = 0;
  mote_store_error e;
  if (mote_store_list(core_store(c), http_req_ns(r), &list, &n, &e) != MOTE_STORE_OK)
    return store_error(r, &e);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(arr, http_version_json(c, &list[i]));
    mote_function_version_clear(&list[i]);
  }
  free(list);
  return http_reply_json(r, 200, json_pack("{s:o}", "functions", arr));
}

/* What serves the loaded version fn into o: tier, opt tier, snapshot. */
static json_t *tier_json(core_fn *fn, json_t *o) {
  core_tier_info t;
  core_fn_tier(fn, &t);
  json_object_set_new(o, "tier", json_string(t.tier));
  /* The optimised tier: ready, building, or failed with its reason. */
  json_object_set_new(o, "opt_tier", json_string(t.opt_state));
  if (t.opt_error) json_object_set_new(o, "opt_error", json_string(t.opt_error));
  /* Whether calls start from a snapshot taken after the initialisation. */
  json_object_set_new(o, "snapshot", json_boolean(t.snapshot));
  if (t.snapshot) {
    /* The image's non-zero bytes, and how calls get it: copied in, or mapped. */
    json_object_set_new(o, "snapshot_bytes", json_integer((json_int_t)t.snapshot_bytes));
    json_object_set_new(o, "snapshot_image", json_string(t.snapshot_image));
    /* "store": kept from an earlier start, no initialisation ran; "init". */
    json_object_set_new(o, "snapshot_from", json_string(t.snapshot_from));
  }
  return o;
}

/* The same for the current version of function (ns, name), if it is loaded. */
static json_t *with_tier(mote_core *c, const char *ns, const char *name, json_t *o) {
  core_fn *fn = core_fn_acquire(c, ns, name);
  if (!fn) {
    json_object_set_new(o, "tier", json_string(core_fn_preparing(c, ns, name) ? "preparing"
                                                                                 : "not loaded"));
    return o;
  }
  tier_json(fn, o);
  core_fn_release(fn);
  return o;
}

http_result v1_function_get(void *ctx, http_req *r) {
  (void)ctx;
  mote_core *c = r->h->core;
  const char *name = http_req_capture(r, "name");
  mote_function_version v;
  mote_store_error e;
  memset(&v, 0, sizeof v);
  const char *ns = http_req_ns(r);
  if (!mote_store_valid_name(name))
    return http_reply_error(r, 404, "not_found", "no function named \"%s\"", name);
  if (mote_store_get(core_store(c), ns, name, &v, &e) != MOTE_STORE_OK) {
    if (e.status == MOTE_STORE_NOT_FOUND)
      return http_reply_error(r, 404, "not_found", "no function named \"%s\"", name);
    return store_error(r, &e);
  }
  json_t *o = with_tier(c, ns, name, http_version_json(c, &v));
  mote_function_version_clear(&v);
  return http_reply_json(r, 200, o);
}

http_result v1_function_delete(void *ctx, http_req *r) {
  (void)ctx;
  const char *name = http_req_capture(r, "name");
  mote_core_error err;
  if (core_delete(r->h->core, http_req_ns(r), name, &err) != MOTE_CORE_OK)
    return http_reply_core(r, &err);
  return http_reply_json(r, 200, json_pack("{s:s, s:b}", "name", name, "deleted", 1));
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
static bool parse_settings(http_req *r, mote_function_settings *st, char *msg, size_t cap) {
  memset(st, 0, sizeof *st);
  size_t nenv = 0;
  for (size_t i = 0; i < r->nparams; i++) nenv += !strcmp(r->params[i].key, "env");
  if (nenv > CORE_MAX_ENV) {
    snprintf(msg, cap, "too many env settings (at most %d)", CORE_MAX_ENV);
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
    } else if (!strcmp(k, "replicas")) {
      if (!parse_u32(v, 0, 1000, &st->replicas)) {
        snprintf(msg, cap, "replicas takes a count of nodes between 1 and 1000, or 0 for every "
                 "node of the cluster, not \"%.40s\"", v);
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
               "max_queue, replicas, public, cgi)", k);
      return false;
    }
  }
  return true;
}

size_t v1_function_put_limit(http_req *r) {
  const char *ct = http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  return core_bundle_kind_of_type(ct) == CORE_BODY_WASM ? CORE_MAX_MODULE : HTTP_MAX_BUNDLE;
}

bool v1_function_put_check(void *ctx, http_req *r, http_result *res) {
  (void)ctx;
  const char *name = http_req_capture(r, "name");
  char msg[256];
  if (!mote_store_valid_name(name)) {
    *res = http_reply_error(r, 400, "invalid_name",
                            "\"%s\" is not a valid function name: 1 to 64 of A-Z a-z 0-9 _ . -, "
                            "not starting with '.' or '-'", name);
    return true;
  }
  const char *ct = http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (core_bundle_kind_of_type(ct) == CORE_BODY_UNSUPPORTED) {
    *res = http_reply_error(r, 415, "unsupported_media_type",
                            "deploy a WebAssembly module with Content-Type: application/wasm, "
                            "or a bundle holding main.wasm as application/gzip (.tar.gz), "
                            "application/x-tar or application/zip (got %s)", ct ? ct : "none");
    return true;
  }
  mote_function_settings st;
  bool ok = parse_settings(r, &st, msg, sizeof msg);
  free(st.env);
  if (!ok) {
    *res = http_reply_error(r, 400, "bad_setting", "%s", msg);
    return true;
  }
  return false;
}

/* The module (and files) of a PUT body: the body itself for a module, else
 * the extracted bundle. True, or false with a reply queued. */
static bool deploy_contents(http_req *r, core_bundle *b, const uint8_t **wasm, size_t *len,
                            http_result *res) {
  const char *ct = http_req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  core_body_kind kind = core_bundle_kind_of_type(ct);
  memset(b, 0, sizeof *b);
  if (r->len == 0) {
    *res = http_reply_error(r, 400, "empty_module",
                            "the request body is empty: send the .wasm module or a bundle");
    return false;
  }
  if (kind == CORE_BODY_SNIFF) {
    kind = core_bundle_sniff(r->body, r->len);
    if (kind == CORE_BODY_UNSUPPORTED) {
      *res = http_reply_error(r, 415, "unsupported_media_type",
                              "the application/octet-stream body is neither a WebAssembly "
                              "module nor a .tar.gz, .tar or .zip bundle (by its first bytes)");
      return false;
    }
  }
  if (kind == CORE_BODY_WASM) {
    if (r->len > CORE_MAX_MODULE) {
      *res = http_reply_error(r, 413, "body_too_large", "the module of %zu bytes is larger than "
                              "the limit of %u bytes", r->len, CORE_MAX_MODULE);
      return false;
    }
    *wasm = r->body;
    *len = r->len;
    return true;
  }
  char msg[1200];
  if (!core_bundle_extract(r->body, r->len, kind, b, msg, sizeof msg)) {
    *res = http_reply_error(r, 400, "bad_bundle", "%s", msg);
    return false;
  }
  *wasm = b->module;
  *len = b->module_len;
  return true;
}

http_result v1_function_put(void *ctx, http_req *r) {
  (void)ctx;
  mote_core *c = r->h->core;
  char msg[1200];
  mote_function_settings st;
  if (!parse_settings(r, &st, msg, sizeof msg)) {
    free(st.env);
    return http_reply_error(r, 400, "bad_setting", "%s", msg);
  }
  /* The whole bundle is extracted and checked in memory, and the module
   * compiled and checked, before anything is stored: what cannot run never
   * becomes a version, and the old one keeps serving. */
  core_bundle bundle;
  const uint8_t *wasm = NULL;
  size_t len = 0;
  http_result res;
  if (!deploy_contents(r, &bundle, &wasm, &len, &res)) {
    core_bundle_free(&bundle);
    free(st.env);
    return res;
  }
  core_deploy_req req = {.ns = http_req_ns(r), .name = http_req_capture(r, "name"), .wasm = wasm,
                         .len = len, .files = bundle.files, .nfiles = bundle.nfiles,
                         .settings = &st};
  core_fn *fn = NULL;
  mote_core_error err;
  mote_core_status cst = http_core_deploy(r, &req, &fn, &err); /* a client gone abandons it */
  core_bundle_free(&bundle);
  free(st.env);
  if (cst != MOTE_CORE_OK) return http_reply_core(r, &err);
  json_t *o = tier_json(fn, http_version_json(c, core_fn_record(fn)));
  core_fn_release(fn);
  return http_reply_json(r, 201, o);
}

/* ---- /v1/activations ---------------------------------------------------------------- */

http_result v1_activations_list(void *ctx, http_req *r) {
  (void)ctx;
  const char *fn = http_req_param(r, "function"), *lim = http_req_param(r, "limit"),
             *since = http_req_param(r, "since");
  uint32_t limit = 50;
  int64_t since_ms = 0;
  if (lim && !parse_u32(lim, 1, 1000, &limit))
    return http_reply_error(r, 400, "bad_query", "limit takes a count between 1 and 1000");
  if (since) {
    char *end;
    errno = 0;
    long long v = strtoll(since, &end, 10);
    if (errno || end == since || *end || v < 0)
      return http_reply_error(r, 400, "bad_query", "since takes Unix time in milliseconds");
    since_ms = v;
  }
  if (fn && !*fn) fn = NULL;
  mote_activation *list = NULL;
  size_t n = 0;
  mote_store_error e;
  if (mote_store_activation_list(core_store(r->h->core), http_req_ns(r), fn, since_ms, limit,
                                 &list, &n, &e) != MOTE_STORE_OK)
    return store_error(r, &e);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(arr, activation_json(&list[i]));
    mote_activation_clear(&list[i]);
  }
  free(list);
  return http_reply_json(r, 200, json_pack("{s:o}", "activations", arr));
}

http_result v1_activation_get(void *ctx, http_req *r) {
  (void)ctx;
  const char *id = http_req_capture(r, "id");
  mote_activation a;
  mote_store_error e;
  memset(&a, 0, sizeof a);
  /* The key's namespace's only: another's is not found, as a missing one. */
  if (mote_store_activation_get(core_store(r->h->core), http_req_ns(r), id, &a, &e) !=
      MOTE_STORE_OK) {
    if (e.status == MOTE_STORE_NOT_FOUND || e.status == MOTE_STORE_INVALID)
      return http_reply_error(r, 404, "not_found", "no activation %s", id);
    return store_error(r, &e);
  }
  json_t *o = activation_json(&a);
  mote_activation_clear(&a);
  return http_reply_json(r, 200, o);
}

/* ---- the table ---------------------------------------------------------------------- */

bool http_add_mote_routes(http_server *h) {
  enum { G = HTTP_GET | HTTP_HEAD, SLASH = HTTP_ROUTE_SLASH_OK, CLUSTER = HTTP_ROUTE_CLUSTER };
  const http_key_policy open = HTTP_KEY_OPEN, key = HTTP_KEY_REQUIRED;
  const http_dialect m = HTTP_DIALECT_MOTE;
  const http_route routes[] = {
      /* pattern                     methods      key   dialect limit  limit_of flags  check handle */
      {"/healthz", G, open, m, 0, NULL, 0, NULL, v1_health, h},
      {"/v1/usage", G, key, m, 0, NULL, SLASH | CLUSTER, NULL, v1_usage, h},
      {"/v1/metrics", G, key, m, 0, NULL, SLASH, NULL, v1_metrics_namespace, h},
      {"/v1/functions", G, key, m, 0, NULL, SLASH, NULL, v1_functions_list, h},
      {"/v1/functions/{name}", G, key, m, 0, NULL, 0, NULL, v1_function_get, h},
      {"/v1/functions/{name}", HTTP_PUT, key, m, 0, v1_function_put_limit, HTTP_ROUTE_DEPLOY,
       v1_function_put_check, v1_function_put, h},
      {"/v1/functions/{name}", HTTP_DELETE, key, m, 0, NULL, 0, NULL, v1_function_delete, h},
      {"/v1/activations", G, key, m, 0, NULL, SLASH | CLUSTER, NULL, v1_activations_list, h},
      {"/v1/activations/{id}", G, key, m, 0, NULL, CLUSTER, NULL, v1_activation_get, h},
      /* The key: only for a function that is not public (faas_check). */
      {"/faas/{name}/{path...}", HTTP_GET | HTTP_POST, open, m, HTTP_MAX_CALL_BODY, NULL, CLUSTER,
       faas_check, faas_call, h},
  };
  return http_add_routes(h, routes, sizeof routes / sizeof *routes);
}

bool http_add_operator_routes(http_server *h, http_server *public_server) {
  enum { G = HTTP_GET | HTTP_HEAD };
  const http_route routes[] = {
      {"/metrics", G, HTTP_KEY_OPEN, HTTP_DIALECT_MOTE, 0, NULL, 0, NULL, v1_metrics,
       public_server},
      {"/healthz", G, HTTP_KEY_OPEN, HTTP_DIALECT_MOTE, 0, NULL, 0, NULL, v1_health_operator,
       h},
  };
  return http_add_routes(h, routes, sizeof routes / sizeof *routes);
}
