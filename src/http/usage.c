/* usage: GET /v1/usage[?function=NAME], the accounting of the caller's
 * namespace (a key is required: the route table checked it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

/* {namespace, function, invocations, errors, refused, exec_seconds,
 * gb_seconds, first, last} of a total. */
static json_t *usage_json(const mote_usage *u) {
  return json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:o, s:o}", "namespace", u->ns,
                   "function", u->function, "invocations", (json_int_t)u->invocations,
                   "errors", (json_int_t)u->errors, "refused", (json_int_t)u->refused,
                   "exec_seconds", (double)u->exec_us / 1e6, "gb_seconds",
                   (double)u->memory_mib_us / 1024.0 / 1e6, "first", json_utc_ms(u->first_ms),
                   "last", json_utc_ms(u->last_ms));
}

http_result v1_usage(void *ctx, http_req *r) {
  (void)ctx;
  const char *ns = http_req_ns(r);
  const char *function = http_req_param(r, "function");
  for (size_t i = 0; i < r->nparams; i++)
    if (strcmp(r->params[i].key, "function") != 0)
      return http_reply_error(r, 400, "bad_query",
                              "unknown query parameter \"%.40s\" (function=NAME)",
                              r->params[i].key);
  mote_core *c = r->h->core;
  core_usage_flush(c);
  mote_usage *u = NULL;
  size_t n = 0;
  mote_store_error err;
  if (mote_store_usage_list(core_store(c), ns, function, &u, &n, &err) != MOTE_STORE_OK)
    return http_reply_error(r, 500, "store", "%s", err.message);
  mote_usage total;
  memset(&total, 0, sizeof total);
  snprintf(total.ns, sizeof total.ns, "%s", ns);
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *one = usage_json(&u[i]);
    json_object_del(one, "namespace");
    json_array_append_new(list, one);
    core_usage_add(&total, &u[i]);
  }
  free(u);
  json_t *sum = usage_json(&total);
  json_object_del(sum, "function");
  json_object_del(sum, "namespace");
  if (!total.first_ms) {
    json_object_set_new(sum, "first", json_null());
    json_object_set_new(sum, "last", json_null());
  }
  return http_reply_json(r, 200, json_pack("{s:s, s:o, s:o}", "namespace", ns, "total", sum,
                                           "functions", list));
}
