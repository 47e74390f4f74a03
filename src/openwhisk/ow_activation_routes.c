/*
 * ow_activation_routes: /api/v1/namespaces/{ns}/activations[/{id}[/result
 * |/logs]], read from the store by the caller's namespace (another
 * namespace's activation is 404, as on /v1).
 *
 * One set of records: an activation made through /api/v1 keeps its
 * OpenWhisk record in meta (ow_invoke.c); one made through /faas has none,
 * and is shown as OpenWhisk would show a run of the same status (its
 * result empty on success, else {"error": its outcome}; no logs: /faas
 * keeps only excerpts of stdout and stderr, see /v1/activations).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openwhisk/ow_internal.h"

json_t *ow_activation_of(const mote_activation *a) {
  if (a->meta) {
    json_t *rec = json_loads(a->meta, 0, NULL);
    if (json_is_object(rec)) return rec;
    json_decref(rec);
  }
  ow_outcome o = {.logs = json_array()};
  bool timeout = a->outcome && !strcmp(a->outcome, "timeout");
  if (a->http_status == 200) {
    o.status = OW_STATUS_SUCCESS;
    o.result = json_object();
  } else {
    o.status = a->http_status >= 500 && a->http_status != 502 && a->http_status != 504
                   ? OW_STATUS_INTERNAL_ERROR
                   : OW_STATUS_DEVELOPER_ERROR;
    o.result = json_pack("{s:s}", "error", a->outcome ? a->outcome : "");
  }
  o.timeout = timeout;
  ow_limits lim;
  ow_limits_default(&lim);
  char semver[32];
  snprintf(semver, sizeof semver, "0.0.%llu", (unsigned long long)a->version);
  ow_activation_info info = {
      .id = a->id, .ns = a->ns, .name = a->function, .subject = a->ns, .semver = semver,
      .kind = OW_KIND, .start_ms = a->start_ms,
      .end_ms = a->start_ms + (int64_t)((a->init_us + a->exec_us) / 1000),
      .wait_ms = a->wait_us / 1000, .init_ms = a->init_us / 1000, .limits = lim};
  json_t *rec = o.result && o.logs ? ow_activation_json(&info, &o) : NULL;
  ow_outcome_clear(&o);
  return rec;
}

/* A time bound: whole milliseconds since the epoch. */
static bool time_param(const http_req *r, const char *key, int64_t *out, char *msg,
                       size_t cap) {
  const char *v = http_req_param(r, key);
  *out = 0;
  if (!v) return true;
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || end == v || *end || n < 0) {
    snprintf(msg, cap, "The value '%.40s' is not an integer for %s.", v, key);
    return false;
  }
  *out = n;
  return true;
}

http_result ow_activations_list(void *ctx, http_req *r) {
  (void)ctx;
  char msg[200];
  uint32_t limit, skip;
  if (ow_list_bounds(r, "activations", &limit, &skip, msg, sizeof msg))
    return http_reply_error(r, 400, NULL, "%s", msg);
  mote_activation_filter f = {.ns = ow_ns(r), .limit = limit, .skip = skip};
  if (!time_param(r, "since", &f.since_ms, msg, sizeof msg) ||
      !time_param(r, "upto", &f.upto_ms, msg, sizeof msg))
    return http_reply_error(r, 400, NULL, "%s", msg);
  if (http_req_param(r, "upto") && f.upto_ms == 0) f.upto_ms = -1; /* upto=0: nothing */
  const char *name = http_req_param(r, "name");
  if (name && *name) {
    /* "pkg/name" or "ns/pkg/name": the last part names the function. */
    const char *slash = strrchr(name, '/');
    f.function = slash ? slash + 1 : name;
    if (!mote_store_valid_name(f.function))
      return http_reply_json(r, 200, http_req_param_true(r, "count")
                                         ? json_pack("{s:i}", "activations", 0)
                                         : json_array());
  }
  bool count = http_req_param_true(r, "count"), docs = http_req_param_true(r, "docs");
  mote_store_error e;
  if (count) { /* counted by the store: no record read (a namespace may keep millions) */
    f.limit = f.skip = 0;
    uint64_t total = 0;
    if (f.upto_ms >= 0 &&
        mote_store_activation_count(core_store(http_req_core(r)), &f, &total, &e) != MOTE_STORE_OK)
      return http_reply_error(r, 500, NULL, "%s", e.message);
    return http_reply_json(r, 200, json_pack("{s:I}", "activations", (json_int_t)total));
  }
  mote_activation *list = NULL;
  size_t n = 0;
  if (f.upto_ms < 0) {
    n = 0; /* before the epoch: none */
  } else if (mote_store_activation_query(core_store(http_req_core(r)), &f, &list, &n, &e) !=
             MOTE_STORE_OK) {
    return http_reply_error(r, 500, NULL, "%s", e.message);
  }
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    if (out) {
      json_t *rec = ow_activation_of(&list[i]);
      if (rec && !docs) {
        json_t *sum = ow_activation_summary(rec);
        json_decref(rec);
        rec = sum;
      }
      if (rec) json_array_append_new(out, rec);
    }
    mote_activation_clear(&list[i]);
  }
  free(list);
  if (!out) return http_reply_error(r, 500, NULL, "out of memory");
  return http_reply_json(r, 200, out);
}

static bool hex_id(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n != 32) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

typedef enum part { WHOLE, RESULT, LOGS } part;

static http_result activation(http_req *r, part what) {
  const char *id = http_req_capture(r, "id");
  if (!hex_id(id)) return http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND);
  mote_activation a;
  mote_store_error e;
  memset(&a, 0, sizeof a);
  /* Only the namespace's own: another's is not found, as a missing one. */
  mote_store_status st =
      mote_store_activation_get(core_store(http_req_core(r)), ow_ns(r), id, &a, &e);
  if (st == MOTE_STORE_NOT_FOUND || st == MOTE_STORE_INVALID)
    return http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND);
  if (st != MOTE_STORE_OK) return http_reply_error(r, 500, NULL, "%s", e.message);
  json_t *rec = ow_activation_of(&a);
  mote_activation_clear(&a);
  if (!rec) return http_reply_error(r, 500, NULL, "out of memory");
  json_t *out = rec;
  if (what == RESULT) {
    out = ow_activation_response(rec);
    json_decref(rec);
  } else if (what == LOGS) {
    json_t *logs = json_object_get(rec, "logs");
    out = json_pack("{s:o}", "logs", logs ? json_incref(logs) : json_array());
    json_decref(rec);
  }
  if (!out) return http_reply_error(r, 500, NULL, "out of memory");
  return http_reply_json(r, 200, out);
}

http_result ow_activation_get(void *ctx, http_req *r) {
  (void)ctx;
  return activation(r, WHOLE);
}

http_result ow_activation_result(void *ctx, http_req *r) {
  (void)ctx;
  return activation(r, RESULT);
}

http_result ow_activation_logs(void *ctx, http_req *r) {
  (void)ctx;
  return activation(r, LOGS);
}
