/*
 * route: THE route table, and the checks every request passes before its
 * body is read, in one order (as nginx's phase handlers run), whatever API
 * the route belongs to:
 *
 *   route      the first route whose pattern and method match; a pattern
 *              that matches with another method is 405 (Allow: the methods
 *              of every route of that pattern); none is 404
 *   key        HTTP_KEY_REQUIRED / _NAMESPACE: http_identify (401, 500),
 *              and a {ns} that is neither "_" nor the key's namespace: 403
 *   query      the strict parser (400)
 *   limit      the route's body limit against Content-Length (413)
 *   check      the route's own checks that need no body
 *
 * The key comes before anything that reads more: a deploy without a valid
 * key is refused before its body (up to 256 MiB) is read, and curl's
 * `Expect: 100-continue` gets the 401 instead of the go-ahead. Every error
 * of this file is written in the route's dialect (status.c).
 *
 * http_identify is the one place credentials are checked, at most once a
 * request: by the table (the policies above) or by a handler whose target
 * decides (/faas of a function that is not public, a web action annotated
 * require-whisk-auth).
 */
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

bool http_add_routes(http_server *h, const http_route *routes, size_t n) {
  http_route *grown = realloc(h->routes, (h->nroutes + n) * sizeof *grown);
  if (!grown) return false;
  memcpy(grown + h->nroutes, routes, n * sizeof *routes);
  h->routes = grown;
  h->nroutes += n;
  return true;
}

static unsigned method_bit(const char *m) {
  if (!strcmp(m, "GET")) return HTTP_GET;
  if (!strcmp(m, "HEAD")) return HTTP_HEAD;
  if (!strcmp(m, "POST")) return HTTP_POST;
  if (!strcmp(m, "PUT")) return HTTP_PUT;
  if (!strcmp(m, "DELETE")) return HTTP_DELETE;
  return HTTP_OTHER;
}

/* Matches url (ulen bytes) against a pattern; on success the captures are in r. */
static bool match(const char *pattern, unsigned flags, const char *url, size_t ulen,
                  http_req *r) {
  size_t ncaps = 0, used = 0;
  const char *p = pattern, *u = url;
  /* "/x/" is "/x" for routes that say so (not for "/" itself). */
  if ((flags & HTTP_ROUTE_SLASH_OK) && ulen > 1 && url[ulen - 1] == '/') ulen--;
  const char *uend = url + ulen;
  while (*p) {
    if (*p != '/') return false;
    p++;
    const char *pe = strchr(p, '/');
    size_t plen = pe ? (size_t)(pe - p) : strlen(p);
    bool cap = plen >= 2 && p[0] == '{' && p[plen - 1] == '}';
    bool rest = cap && plen > 5 && !strncmp(p + plen - 4, "...}", 4);
    if (cap && ncaps == HTTP_MAX_CAPTURES) return false;
    if (rest) {
      /* The rest of the path from the '/' before it: "" or "/...". */
      size_t n = (size_t)(uend - u);
      if (used + n + 1 > sizeof r->capbuf) return false;
      memcpy(r->capbuf + used, u, n);
      r->capbuf[used + n] = '\0';
      r->caps[ncaps].name = p + 1;
      r->caps[ncaps].nlen = plen - 5;
      r->caps[ncaps++].value = r->capbuf + used;
      r->ncaps = ncaps;
      return true;
    }
    if (u >= uend || *u != '/') return false;
    u++;
    if (cap) {
      const char *ue = memchr(u, '/', (size_t)(uend - u));
      size_t n = ue ? (size_t)(ue - u) : (size_t)(uend - u);
      if (n == 0 || n > 255 || used + n + 1 > sizeof r->capbuf) return false;
      memcpy(r->capbuf + used, u, n);
      r->capbuf[used + n] = '\0';
      r->caps[ncaps].name = p + 1;
      r->caps[ncaps].nlen = plen - 2;
      r->caps[ncaps++].value = r->capbuf + used;
      used += n + 1;
      u += n;
    } else {
      if ((size_t)(uend - u) < plen || strncmp(u, p, plen) != 0) return false;
      u += plen;
      if (u < uend && *u != '/') return false;
    }
    p += plen;
  }
  if (u != uend) return false;
  r->ncaps = ncaps;
  return true;
}

const char *http_req_capture(const http_req *r, const char *name) {
  size_t n = strlen(name);
  for (size_t i = 0; i < r->ncaps; i++)
    if (r->caps[i].nlen == n && !strncmp(r->caps[i].name, name, n)) return r->caps[i].value;
  return NULL;
}

void route_find(http_server *h, http_req *r, const char *url, unsigned *methods) {
  unsigned bit = method_bit(r->method), allowed = 0;
  size_t ulen = strlen(url);
  const http_route *first_pattern = NULL;
  r->route = NULL;
  for (int fallback = 0; fallback < 2 && !r->route && !allowed; fallback++)
    for (size_t i = 0; i < h->nroutes; i++) {
      const http_route *rt = &h->routes[i];
      if (!(rt->flags & HTTP_ROUTE_FALLBACK) != !fallback) continue;
      if (!match(rt->pattern, rt->flags, url, ulen, r)) continue;
      if (rt->methods & bit) {
        r->route = rt;
        return;
      }
      if (!first_pattern) first_pattern = rt;
      allowed |= rt->methods;
    }
  r->ncaps = 0;
  r->route = first_pattern; /* for the dialect of the 405 */
  *methods = allowed;
}

/* The request's credentials checked (r->ns and r->auth = 1 when good). */
static mote_core_status identify(http_req *r) {
  if (r->auth > 0) return MOTE_CORE_OK;
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  const char *header = http_req_header(r, "Authorization");
  mote_core_status st = MOTE_CORE_AUTH_MISSING;
  if (header)
    st = basic_auth_parse(header, uuid, key) ? core_identify(r->h->core, uuid, key, r->ns)
                                             : MOTE_CORE_AUTH_MALFORMED;
  memset(key, 0, sizeof key);
  if (st == MOTE_CORE_OK) r->auth = 1;
  return st;
}

bool http_identify_quiet(http_req *r) { return identify(r) == MOTE_CORE_OK; }

bool http_identify(http_req *r, http_result *res) {
  mote_core_status st = identify(r);
  if (st == MOTE_CORE_OK) return true;
  r->auth = -1;
  r->ns[0] = '\0';
  *res = st == MOTE_CORE_AUTH_ERROR ? status_auth_failed(r)
                                    : http_reply_401(r, st == MOTE_CORE_AUTH_MISSING);
  return false;
}

const char *http_req_ns(const http_req *r) { return r->auth > 0 ? r->ns : NULL; }

bool route_first(http_server *h, http_req *r, http_result *res) {
  unsigned methods = 0;
  const char *url = r->path;
  route_find(h, r, url, &methods);
  const http_route *rt = r->route;
  if (!rt || methods) {
    *res = methods ? status_method_not_allowed(r, methods) : status_no_route(r, url);
    r->route = NULL; /* answered by the table: no handler, no deploy counted */
    return true;
  }
  if (rt->key != HTTP_KEY_OPEN) {
    if (!http_identify(r, res)) return true;
    const char *ns = rt->key == HTTP_KEY_NAMESPACE ? http_req_capture(r, "ns") : NULL;
    if (ns && strcmp(ns, "_") != 0 && strcmp(ns, r->ns) != 0) {
      *res = status_forbidden_ns(r);
      return true;
    }
  }
  if (!http_query_parse(r->query, &r->params, &r->nparams, r->query_err, sizeof r->query_err)) {
    *res = status_bad_query(r);
    return true;
  }
  r->limit = rt->body_limit_of ? rt->body_limit_of(r)
             : rt->body_limit   ? rt->body_limit
                                : HTTP_MAX_OTHER_BODY;
  unsigned long long n;
  if (request_declared_length(r, &n) && n > r->limit) {
    *res = status_too_large(r, n);
    return true;
  }
  if ((rt->flags & HTTP_ROUTE_CLUSTER) && h->fwd.elsewhere && h->fwd.elsewhere(h->fwd.ctx, r)) {
    r->forwarded = true; /* the body, then the forwarder */
    return false;
  }
  return rt->check && rt->check(rt->ctx, r, res);
}

http_result route_handle(http_req *r) {
  if (r->too_large) return status_too_large(r, 0);
  if (r->forwarded) return r->h->fwd.forward(r->h->fwd.ctx, r);
  return r->route->handle(r->route->ctx, r);
}

void http_set_forwarder(http_server *h, const http_forwarder *f) { h->fwd = *f; }

const char *http_req_pattern(const http_req *r) { return r->route ? r->route->pattern : NULL; }
