/*
 * ow_routes: OpenWhisk's REST API (/api/v1) in http's route table, and the
 * small routes (info, namespaces).
 *
 * Keys: GET /api/v1 (the info) and web actions are open; every other route
 * takes OpenWhisk's basic auth, checked by the table before the body is
 * read (401 with its realm). A path's {ns} is the caller's namespace, or "_"
 * for it; any other is 403 (the table's namespace policy: it says nothing of
 * what that namespace holds). Names are per namespace, as OpenWhisk's: an
 * action is the path's (namespace, name), the same function /faas and /v1
 * reach.
 *
 * Errors: the table answers in OpenWhisk's dialect, {"error": message,
 * "code": transaction id} on every non-2xx but 502 (whose body is the
 * activation), Content-Type application/json: the wsk CLI needs both
 * fields, the npm client the type. Trailing slashes name the same resource,
 * and a URL ending in a bare '?' (the npm client sends them) is the URL
 * without it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "openwhisk/ow_internal.h"

const char *ow_ns(const http_req *r) {
  const char *ns = http_req_capture(r, "ns");
  return ns && strcmp(ns, "_") == 0 ? http_req_ns(r) : ns;
}

const char *ow_name(const http_req *r) {
  const char *name = http_req_capture(r, "name");
  return name && mote_store_valid_name(name) ? name : NULL;
}

/* A whole number as OpenWhisk's list parameters take it. */
static bool integer(const char *v, long long *out) {
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno || end == v || *end) return false;
  *out = n;
  return true;
}

int ow_list_bounds(const http_req *r, const char *collection, uint32_t *limit, uint32_t *skip,
                   char *msg, size_t cap) {
  const char *l = http_req_param(r, "limit"), *k = http_req_param(r, "skip");
  long long n;
  *limit = OW_LIST_DEFAULT;
  *skip = 0;
  if (l) {
    if (!integer(l, &n)) {
      snprintf(msg, cap, "The value '%.40s' is not an integer for %s.", l, collection);
      return 400;
    }
    if (n < 0 || n > OW_LIST_MAX) {
      snprintf(msg, cap, "The value '%lld' is not in the range of 0 to %u for %s.", n,
               OW_LIST_MAX, collection);
      return 400;
    }
    *limit = n == 0 ? OW_LIST_MAX : (uint32_t)n;
  }
  if (k) {
    if (!integer(k, &n)) {
      snprintf(msg, cap, "The value '%.40s' is not an integer for %s.", k, collection);
      return 400;
    }
    if (n < 0) {
      snprintf(msg, cap, "The value '%lld' is not greater than or equal to 0 for %s.", n,
               collection);
      return 400;
    }
    *skip = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
  }
  return 0;
}

/* ---- the action of a version, decoded once ---------------------------------------- */

static void *make_action(const mote_function_version *rec) {
  ow_action *a = malloc(sizeof *a);
  if (a && !ow_action_from_meta(rec->meta, &rec->settings, a)) {
    free(a);
    return NULL;
  }
  return a;
}

static void drop_action(void *p) {
  ow_action_clear(p);
  free(p);
}

const ow_action *ow_action_of(core_fn *fn) {
  return core_fn_extension(fn, make_action, drop_action);
}

/* ---- the small routes -------------------------------------------------------------- */

static http_result info(void *ctx, http_req *r) {
  (void)ctx;
  return http_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:s, s:s}", "description",
                                           "OpenWhisk API", "api_version", "1.0.0",
                                           "api_version_path", "v1", "build", "mote", "buildno",
                                           "mote"));
}

static http_result namespaces(void *ctx, http_req *r) {
  (void)ctx;
  return http_reply_json(r, 200, json_pack("[s]", http_req_ns(r)));
}

static http_result not_found(void *ctx, http_req *r) {
  (void)ctx;
  return http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND);
}

/* ---- the table ----------------------------------------------------------------------- */

/* The limit of a PUT body: the code (base64) and parameters, annotations. */
#define OW_PUT_MAX (OW_CODE_MAX + 2 * OW_PARAMETERS_MAX + 65536)

bool ow_add_routes(http_server *h) {
  enum {
    G = HTTP_GET | HTTP_HEAD,
    S = HTTP_ROUTE_SLASH_OK,
    D = HTTP_ROUTE_SLASH_OK | HTTP_ROUTE_DEPLOY,
  };
  const http_key_policy open = HTTP_KEY_OPEN, key = HTTP_KEY_REQUIRED, ns = HTTP_KEY_NAMESPACE;
  const http_dialect ow = HTTP_DIALECT_OPENWHISK;
  const char *const A = "/api/v1/namespaces/{ns}/actions/{name}";
  const char *const V = "/api/v1/namespaces/{ns}/activations/{id}";
  const http_route routes[] = {
      {"/api/v1", G, open, ow, 0, NULL, S, NULL, info, NULL},
      {"/api/v1/namespaces", G, key, ow, 0, NULL, S, NULL, namespaces, NULL},
      {"/api/v1/namespaces/{ns}/actions", G, ns, ow, 0, NULL, S, NULL, ow_actions_list, NULL},
      {A, G, ns, ow, 0, NULL, S, NULL, ow_action_get, NULL},
      {A, HTTP_PUT, ns, ow, OW_PUT_MAX, NULL, D, NULL, ow_action_put_route, NULL},
      {A, HTTP_DELETE, ns, ow, 0, NULL, S, NULL, ow_action_delete, NULL},
      {A, HTTP_POST, ns, ow, OW_PAYLOAD_MAX, NULL, S, NULL, ow_action_invoke, NULL},
      /* {package}/{name}: packages are not supported */
      {"/api/v1/namespaces/{ns}/actions/{package}/{name}", G | HTTP_DELETE | HTTP_POST, ns, ow, 0,
       NULL, S, NULL, ow_action_in_package, NULL},
      {"/api/v1/namespaces/{ns}/actions/{package}/{name}", HTTP_PUT, ns, ow, OW_PUT_MAX, NULL, D,
       NULL, ow_action_in_package, NULL},
      {"/api/v1/namespaces/{ns}/activations", G, ns, ow, 0, NULL, S, NULL, ow_activations_list,
       NULL},
      {V, G, ns, ow, 0, NULL, S, NULL, ow_activation_get, NULL},
      {"/api/v1/namespaces/{ns}/activations/{id}/result", G, ns, ow, 0, NULL, S, NULL,
       ow_activation_result, NULL},
      {"/api/v1/namespaces/{ns}/activations/{id}/logs", G, ns, ow, 0, NULL, S, NULL,
       ow_activation_logs, NULL},
      /* Web actions: any method; a key only when the action asks for one. */
      {"/api/v1/web/{ns}/{package}/{action}/{rest...}", HTTP_ANY, open, ow, OW_PAYLOAD_MAX, NULL,
       0, NULL, ow_web, NULL},
      {"/api/v1/{rest...}", HTTP_ANY, open, ow, 0, NULL, HTTP_ROUTE_FALLBACK, NULL, not_found,
       NULL},
  };
  return http_add_routes(h, routes, sizeof routes / sizeof *routes);
}
