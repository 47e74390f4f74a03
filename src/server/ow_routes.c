/*
 * ow_routes: OpenWhisk's REST API (/api/v1) over HTTP: which route a path
 * is, the checks made before the body is read, the dispatch once it is,
 * and the small routes (info, namespaces).
 *
 * Keys: GET /api/v1 (the info) and web actions are open; every other route
 * takes OpenWhisk's basic auth (401 with its realm, before the body is
 * read). A path's {ns} is the caller's namespace, or "_" for it; any other
 * is 403. Names are global in mote (one registry for /faas, /v1 and
 * /api/v1): an action whose name another namespace owns is 403 too.
 *
 * Errors: {"error": message, "code": transaction id} on every non-2xx but
 * 502 (whose body is the activation), Content-Type application/json: the
 * wsk CLI needs both fields, the npm client the type.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/openwhisk.h"

#define PREFIX "/api/v1"

/* ---- paths ------------------------------------------------------------------- */

/* Copies segment [p, p+n) into out; false when it does not fit. */
static bool seg_copy(const char *p, size_t n, char *out, size_t cap) {
  if (n + 1 > cap) return false;
  memcpy(out, p, n);
  out[n] = '\0';
  return true;
}

static bool hex_id(const char *s) {
  size_t n = strlen(s);
  if (n != 32) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
  return true;
}

bool ow_path_parse(const char *url, ow_path *p) {
  memset(p, 0, sizeof *p);
  p->rest = "";
  size_t plen = strlen(PREFIX);
  if (strncmp(url, PREFIX, plen) != 0 || (url[plen] && url[plen] != '/')) return false;
  const char *rest = url + plen;
  /* Up to 6 segments are read; a web action's rest is kept as it is. */
  const char *seg[8];
  size_t len[8], n = 0;
  const char *q = rest;
  while (*q == '/') q++;
  if (!*q) return (p->route = OW_R_INFO), true;
  while (*q && n < 8) {
    const char *e = strchr(q, '/');
    size_t l = e ? (size_t)(e - q) : strlen(q);
    seg[n] = q;
    len[n++] = l;
    q += l;
    if (*q == '/') q++;
    if (n == 1 && l == 3 && !strncmp(seg[0], "web", 3)) break; /* the rest is the web path */
  }
  if (len[0] == 3 && !strncmp(seg[0], "web", 3)) {
    /* web/{ns}/{pkg}/{action}[.ext][/rest] */
    const char *w = q;
    const char *part[3];
    size_t plens[3];
    for (int i = 0; i < 3; i++) {
      const char *e = strchr(w, '/');
      size_t l = e ? (size_t)(e - w) : strlen(w);
      if (!l) return false;
      part[i] = w;
      plens[i] = l;
      w += l;
      if (i < 2) {
        if (*w != '/') return false;
        w++;
      }
    }
    p->route = OW_R_WEB;
    p->rest = w; /* "" or "/..." */
    if (!seg_copy(part[0], plens[0], p->ns, sizeof p->ns)) return false;
    p->package = !(plens[1] == 7 && !strncmp(part[1], "default", 7));
    char seg_name[SRV_NAME_MAX + 16];
    if (!seg_copy(part[2], plens[2], seg_name, sizeof seg_name)) return false;
    if (!ow_web_split(seg_name, p->name, sizeof p->name, &p->ext)) return false;
    p->name_ok = mote_store_valid_name(p->name);
    return true;
  }
  if (*q) return false; /* more segments than any route has */
  if (!(len[0] == 10 && !strncmp(seg[0], "namespaces", 10))) return false;
  if (n == 1) return (p->route = OW_R_NAMESPACES), true;
  if (!seg_copy(seg[1], len[1], p->ns, sizeof p->ns) || n < 3) return false;
  bool actions = len[2] == 7 && !strncmp(seg[2], "actions", 7);
  bool activations = len[2] == 11 && !strncmp(seg[2], "activations", 11);
  if (actions) {
    if (n == 3) return (p->route = OW_R_ACTIONS), true;
    p->route = OW_R_ACTION;
    if (n == 5) { /* {pkg}/{name} */
      p->package = true;
      p->name_ok = false;
      return true;
    }
    if (n != 4) return false;
    p->name_ok = seg_copy(seg[3], len[3], p->name, sizeof p->name) &&
                 mote_store_valid_name(p->name);
    return true;
  }
  if (activations) {
    if (n == 3) return (p->route = OW_R_ACTIVATIONS), true;
    p->name_ok = seg_copy(seg[3], len[3], p->name, sizeof p->name) && hex_id(p->name);
    if (n == 4) return (p->route = OW_R_ACTIVATION), true;
    if (n == 5 && len[4] == 6 && !strncmp(seg[4], "result", 6))
      return (p->route = OW_R_ACTIVATION_RESULT), true;
    if (n == 5 && len[4] == 4 && !strncmp(seg[4], "logs", 4))
      return (p->route = OW_R_ACTIVATION_LOGS), true;
  }
  return false;
}

/* ---- replies ----------------------------------------------------------------- */

enum MHD_Result ow_reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...) {
  char msg[1200], tid[33];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  mote_store_activation_new_id(tid);
  json_t *o = json_object();
  json_object_set_new(o, "error", json_bytes((const uint8_t *)msg, strlen(msg)));
  json_object_set_new(o, "code", json_string(tid));
  return reply_json(c, status, o);
}

const char *ow_path_ns(const ow_path *p, const srv_req *r) {
  return strcmp(p->ns, "_") == 0 ? r->ns : p->ns;
}

bool ow_query_true(const srv_req *r, const char *key) {
  const char *v = query_get(r, key);
  return v && !strcmp(v, "true");
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

int ow_list_bounds(const srv_req *r, const char *collection, uint32_t *limit, uint32_t *skip,
                   char *msg, size_t cap) {
  const char *l = query_get(r, "limit"), *k = query_get(r, "skip");
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

/* ---- before the body ------------------------------------------------------------ */

static bool is(const char *method, const char *m) { return strcmp(method, m) == 0; }

/* The methods of a route; NULL: any. */
static const char *allowed(ow_route route) {
  switch (route) {
    case OW_R_ACTION: return "GET, PUT, DELETE, POST";
    case OW_R_WEB: return NULL;
    default: return "GET";
  }
}

static bool method_ok(ow_route route, const char *method) {
  switch (route) {
    case OW_R_ACTION:
      return is(method, "GET") || is(method, "PUT") || is(method, "DELETE") ||
             is(method, "POST");
    case OW_R_WEB: return true;
    default: return is(method, "GET") || is(method, "HEAD");
  }
}

/* The body limit of a route. */
static size_t body_limit(ow_route route, const char *method) {
  if (route == OW_R_ACTION && is(method, "PUT")) return OW_CODE_MAX + 2 * OW_PARAMETERS_MAX + 65536;
  if (route == OW_R_ACTION && is(method, "POST")) return OW_PAYLOAD_MAX;
  if (route == OW_R_WEB) return OW_PAYLOAD_MAX;
  return SRV_MAX_OTHER_BODY;
}

bool ow_first_call(mote_server *s, struct MHD_Connection *c, const char *url, const char *method,
                   srv_req *r, enum MHD_Result *res) {
  ow_path p;
  if (!ow_path_parse(url, &p)) {
    *res = ow_reply_error(c, 404, OW_MSG_NOT_FOUND);
    return true;
  }
  if (!method_ok(p.route, method)) {
    *res = ow_reply_error(c, 405, "HTTP method not allowed, supported methods: %s",
                          allowed(p.route));
    return true;
  }
  if (p.route != OW_R_INFO && p.route != OW_R_WEB) {
    srv_auth_result why;
    int st = auth_identify(s, c, r->ns, &why);
    if (st == 401) return (*res = auth_reply_401(c, why)), true;
    if (st != 0) {
      *res = ow_reply_error(c, 500, "The server could not check the credentials.");
      return true;
    }
    r->authed = true;
    if (p.route != OW_R_NAMESPACES && strcmp(ow_path_ns(&p, r), r->ns) != 0) {
      *res = ow_reply_error(c, 403, OW_MSG_FORBIDDEN);
      return true;
    }
  }
  if (!query_parse(r->query, &r->params, &r->nparams, r->query_err, sizeof r->query_err)) {
    *res = ow_reply_error(c, 400, "The request has a malformed query: %s", r->query_err);
    return true;
  }
  r->limit = body_limit(p.route, method);
  unsigned long long n;
  if (request_declared_length(c, &n) && n > r->limit) {
    *res = ow_reply_error(c, 413, "The request content was malformed:\nrequest entity of "
                          "%llu bytes exceeds the allowed %zu bytes.", n, r->limit);
    return true;
  }
  return false;
}

/* ---- the small routes ----------------------------------------------------------- */

static enum MHD_Result info(struct MHD_Connection *c) {
  return reply_json(c, 200, json_pack("{s:s, s:s, s:s, s:s, s:s}", "description",
                                      "OpenWhisk API", "api_version", "1.0.0",
                                      "api_version_path", "v1", "build", "mote", "buildno",
                                      "mote"));
}

enum MHD_Result ow_handle(mote_server *s, struct MHD_Connection *c, const char *url,
                          srv_req *r) {
  ow_path p;
  if (!ow_path_parse(url, &p)) return ow_reply_error(c, 404, OW_MSG_NOT_FOUND);
  const char *m = r->method;
  switch (p.route) {
    case OW_R_INFO: return info(c);
    case OW_R_NAMESPACES: return reply_json(c, 200, json_pack("[s]", r->ns));
    case OW_R_ACTIONS: return ow_actions_list(s, c, r, &p);
    case OW_R_ACTION:
      if (is(m, "PUT")) return ow_action_put_route(s, c, r, &p);
      if (is(m, "DELETE")) return ow_action_delete(s, c, r, &p);
      if (is(m, "POST")) return ow_action_invoke(s, c, r, &p);
      return ow_action_get(s, c, r, &p);
    case OW_R_ACTIVATIONS: return ow_activations_list(s, c, r, &p);
    case OW_R_ACTIVATION:
    case OW_R_ACTIVATION_RESULT:
    case OW_R_ACTIVATION_LOGS: return ow_activation_get(s, c, r, &p);
    case OW_R_WEB: return ow_web(s, c, r, &p);
    default: return ow_reply_error(c, 404, OW_MSG_NOT_FOUND);
  }
}
