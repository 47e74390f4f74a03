/* api: the management routes: /v1/functions and /v1/activations. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/server_internal.h"

/* ---- JSON of records -------------------------------------------------------- */

static json_t *time_json(int64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[40];
  gmtime_r(&t, &tm);
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
  return json_string(buf);
}

json_t *version_json(const mote_function_version *v, unsigned max_queue_default) {
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
  json_t *o = json_pack("{s:s, s:I, s:s, s:o, s:o, s:I}", "name", v->name, "version",
                        (json_int_t)v->version, "module_hash", v->module_hash ? v->module_hash : "",
                        "settings", settings, "created", time_json(v->created_ms), "created_ms",
                        (json_int_t)v->created_ms);
  if (o && v->files_hash) json_object_set_new(o, "files_hash", json_string(v->files_hash));
  return o;
}

static json_t *activation_json(const mote_activation *a) {
  json_t *o = json_pack(
      "{s:s, s:s, s:I, s:o, s:I, s:I, s:I, s:I, s:i, s:i, s:s}", "id", a->id, "function",
      a->function ? a->function : "", "version", (json_int_t)a->version, "start",
      time_json(a->start_ms), "start_ms", (json_int_t)a->start_ms, "wait_us",
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
    default: return reply_error(c, 500, "store", "%s", e->message);
  }
}

/* ---- /v1/functions ---------------------------------------------------------- */

enum MHD_Result api_functions_list(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  (void)r;
  mote_function_version *list = NULL;
  size_t n = 0;
  mote_store_error e;
  if (mote_store_list(s->store, &list, &n, &e) != MOTE_STORE_OK) return store_error(c, &e);
  json_t *arr = json_array();
  for (size_t i = 0; i < n; i++) {
    json_array_append_new(arr, version_json(&list[i], admit_fn_queue_default(s->admit)));
    mote_function_version_clear(&list[i]);
  }
  free(list);
  return reply_json(c, 200, json_pack("{s:o}", "functions", arr));
}

static json_t *with_tier(mote_server *s, const char *name, json_t *o) {
  srv_fn *fn = registry_acquire(s->reg, name);
  const srv_image *img = fn ? fn_image(fn) : NULL;
  json_object_set_new(o, "tier", json_string(img ? mote_tier_name(img->tier) : "not loaded"));
  /* Whether calls start from a snapshot taken after the initialisation. */
  if (img) json_object_set_new(o, "snapshot", json_boolean(img->snap != NULL));
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
  json_t *o = with_tier(s, r->name, version_json(&v, admit_fn_queue_default(s->admit)));
  mote_function_version_clear(&v);
  return reply_json(c, 200, o);
}

enum MHD_Result api_function_delete(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  mote_store_error e;
  if (!mote_store_valid_name(r->name))
    return reply_error(c, 404, "not_found", "no function named \"%s\"", r->name);
  pthread_mutex_lock(&s->deploy_lock);
  mote_store_status st = mote_store_delete(s->store, r->name, &e);
  if (st == MOTE_STORE_OK) registry_remove(s->reg, r->name);
  pthread_mutex_unlock(&s->deploy_lock);
  if (st == MOTE_STORE_NOT_FOUND)
    return reply_error(c, 404, "not_found", "no function named \"%s\"", r->name);
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
  const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
  size_t ctlen = ct ? strcspn(ct, "; \t") : 0;
  if (!ct || ctlen != strlen("application/wasm") || strncasecmp(ct, "application/wasm", ctlen)) {
    *res = reply_error(c, 415, "unsupported_media_type",
                       "deploy a WebAssembly module with Content-Type: application/wasm "
                       "(got %s; bundles as .tar.gz or .zip are not supported yet)",
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

enum MHD_Result api_function_put(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  char msg[1200];
  mote_function_settings st;
  if (!parse_settings(r, &st, msg, sizeof msg)) {
    free(st.env);
    metrics_deploy(s->metrics, false);
    return reply_error(c, 400, "bad_setting", "%s", msg);
  }
  if (r->len == 0) {
    free(st.env);
    metrics_deploy(s->metrics, false);
    return reply_error(c, 400, "empty_module", "the request body is empty: send the .wasm module");
  }
  /* Compile and check the module before anything is stored: a module that
   * cannot run never becomes a version, and the old one keeps serving. */
  srv_fn *fn = NULL;
  bool need_opt = false;
  const char *code = "internal";
  int status = fn_load(s, r->name, r->body, r->len, &st, &fn, &need_opt, &code, msg, sizeof msg);
  if (status) {
    free(st.env);
    metrics_deploy(s->metrics, false);
    return reply_error(c, (unsigned)status, code, "%s", msg);
  }
  mote_store_error e;
  pthread_mutex_lock(&s->deploy_lock);
  mote_store_status sst =
      mote_store_deploy(s->store, r->name, r->body, r->len, NULL, 0, &st, &fn->rec, &e);
  if (sst == MOTE_STORE_OK) {
    atomic_fetch_add(&fn->refs, 1); /* ours, for the reply and the queue */
    registry_put(s->reg, fn);       /* takes the first reference */
  }
  pthread_mutex_unlock(&s->deploy_lock);
  free(st.env);
  if (sst != MOTE_STORE_OK) {
    fn_release(fn);
    metrics_deploy(s->metrics, false);
    return store_error(c, &e);
  }
  if (need_opt) bg_queue_opt(s, fn, r->body, r->len);
  json_t *o = version_json(&fn->rec, admit_fn_queue_default(s->admit));
  json_object_set_new(o, "tier", json_string(mote_tier_name(fn->base.tier)));
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
  if (mote_store_activation_list(s->store, fn, since_ms, limit, &list, &n, &e) != MOTE_STORE_OK)
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
  json_t *o = activation_json(&a);
  mote_activation_clear(&a);
  return reply_json(c, 200, o);
}
