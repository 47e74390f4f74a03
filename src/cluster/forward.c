/*
 * forward: any node answers any call. The rows of http's table flagged
 * HTTP_ROUTE_CLUSTER ask this file (http_forwarder) whether a request is
 * served here or elsewhere:
 *
 *   /faas/NAME          a function this node does not serve now (placed
 *                       elsewhere, or still being pulled here) goes to the
 *                       nodes placed to serve it, then the other live ones,
 *                       until one serves it: the caller gets its status,
 *                       headers and body, plus X-Mote-Node (who ran it)
 *   /v1/activations/ID  an id names its node (digits 12-19: the node's tag,
 *                       core/call.c): asked of that node
 *   /v1/activations     asked of every live node, the lists merged (newest
 *   /v1/usage           first, cut to the limit) or the totals summed
 *
 * A request a node passed on carries CLUSTER_FORWARDED_HEADER and is never
 * passed on again: a node that does not serve the function either (placed
 * there but not loaded yet, say) answers 503 with X-Mote-Not-Here, and the
 * node that passed it on tries the next. A node that took the call and then
 * failed (killed, frozen, gone from the live nodes, past the call's time)
 * costs the caller a 502: the call may have run, and is not run again. The
 * client's own headers
 * (Authorization included: every node has every key) go with it, so the
 * node that runs it checks the key as if it had been called directly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster/cluster_internal.h"

#define NOT_HERE_HEADER "X-Mote-Not-Here"
#define MAX_REPLY ((size_t)CORE_STDOUT_CAP + (1u << 20))
#define MAX_HEADERS 128

/* Headers that belong to one connection, never passed on. */
static bool hop_by_hop(const char *name) {
  static const char *const skip[] = {"Host", "Content-Length", "Transfer-Encoding", "Connection",
                                     "Keep-Alive", "Expect", "TE", "Trailer", "Upgrade",
                                     "Proxy-Connection", "Proxy-Authorization", "Date",
                                     CLUSTER_FORWARDED_HEADER, CLUSTER_SECRET_HEADER};
  for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
    if (!strcasecmp(name, skip[i])) return true;
  return false;
}

typedef struct reply {
  long status;
  peer_buf body;
  char *names[MAX_HEADERS], *values[MAX_HEADERS];
  size_t n;
  bool not_here;
} reply;

static void reply_clear(reply *p) {
  free(p->body.p);
  for (size_t i = 0; i < p->n; i++) {
    free(p->names[i]);
    free(p->values[i]);
  }
  memset(p, 0, sizeof *p);
}

static size_t on_header(char *data, size_t size, size_t n, void *arg) {
  reply *p = arg;
  size_t len = size * n;
  if (len >= 5 && !strncmp(data, "HTTP/", 5)) { /* a status line: a new reply (after a 100) */
    for (size_t i = 0; i < p->n; i++) {
      free(p->names[i]);
      free(p->values[i]);
    }
    p->n = 0;
    p->not_here = false;
    return len;
  }
  const char *colon = memchr(data, ':', len);
  if (!colon || p->n == MAX_HEADERS) return len;
  size_t nlen = (size_t)(colon - data);
  const char *v = colon + 1, *end = data + len;
  while (v < end && (*v == ' ' || *v == '\t')) v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
  char *name = strndup(data, nlen), *value = strndup(v, (size_t)(end - v));
  if (!name || !value) {
    free(name);
    free(value);
    return len;
  }
  if (!strcasecmp(name, NOT_HERE_HEADER)) p->not_here = true;
  p->names[p->n] = name;
  p->values[p->n++] = value;
  return len;
}

typedef struct header_list {
  struct curl_slist *list;
  bool failed;
} header_list;

static void add_header(void *ctx, const char *name, const char *value) {
  header_list *h = ctx;
  if (hop_by_hop(name)) return;
  size_t len = strlen(name) + strlen(value) + 3;
  char *line = malloc(len);
  if (!line) {
    h->failed = true;
    return;
  }
  snprintf(line, len, "%s: %s", name, value);
  struct curl_slist *next = curl_slist_append(h->list, line);
  free(line);
  if (next) h->list = next;
  else h->failed = true;
}

/* What became of a request passed on to a peer. */
typedef enum sent {
  SENT_REPLY,       /* its reply is in *out */
  SENT_NOT_REACHED, /* the peer was not reached: nothing of it ran there */
  SENT_LOST,        /* reached, but no whole reply: it may have run there */
} sent;

/* Sends r (its method, target, headers and body) to node `to`, waiting at
 * most timeout_ms for the whole reply, and no longer than `to` stays live
 * (peer_watch_set).
 * A call (`call`) goes on a connection of its own: on a kept-alive one that
 * died under it (its node killed), libcurl would send it again by itself. */
static sent send_to(mote_cluster *cl, http_req *r, const cl_node *to, const char *target,
                    uint64_t timeout_ms, bool call, reply *out) {
  memset(out, 0, sizeof *out);
  out->body.max = MAX_REPLY;
  char full[2048], mark[CLUSTER_NODE_MAX + 64];
  if (snprintf(full, sizeof full, "%s%s", to->url, target) >= (int)sizeof full)
    return SENT_NOT_REACHED;
  snprintf(mark, sizeof mark, CLUSTER_FORWARDED_HEADER ": %s", cl->node);
  header_list h = {0};
  http_req_headers(r, add_header, &h);
  struct curl_slist *l = h.list;
  if (!h.failed) l = curl_slist_append(l, mark);
  if (l) l = curl_slist_append(l, "Expect:");
  CURL *c = h.failed || !l ? NULL : peer_curl_take();
  if (!c) {
    curl_slist_free_all(l ? l : h.list);
    return SENT_NOT_REACHED;
  }
  const char *method = http_req_method(r);
  size_t len = 0;
  const uint8_t *body = http_req_body(r, &len);
  curl_easy_setopt(c, CURLOPT_URL, full);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, l);
  if (!strcmp(method, "HEAD")) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (len || !strcmp(method, "POST") || !strcmp(method, "PUT")) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, len ? (const char *)body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, peer_collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CL_PEER_CONNECT_MS);
  peer_watch w;
  peer_watch_set(c, &w, cl, to->url, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  if (call) curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
  atomic_fetch_add(&cl->forwarded, 1);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
  long sent_bytes = 0;
  curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent_bytes);
  peer_curl_give(c);
  curl_slist_free_all(l);
  if (rc == CURLE_OK && out->status != 0) return SENT_REPLY;
  reply_clear(out);
  /* Only what sent nothing: a refused connect after a first try that sent
   * the request (curl's own retry) still may have run there. */
  return sent_bytes == 0 ? SENT_NOT_REACHED : SENT_LOST;
}

/* Answers with a peer's reply, plus X-Mote-Node. */
static http_result relay(http_req *r, reply *p, const char *node) {
  http_response *resp = http_response_new(p->body.p, p->body.len, true);
  p->body.p = NULL;
  if (!resp) return http_reply_error(r, 500, "internal", "out of memory");
  for (size_t i = 0; i < p->n; i++)
    if (!hop_by_hop(p->names[i])) http_response_header(resp, p->names[i], p->values[i]);
  http_response_header(resp, CLUSTER_NODE_HEADER, node);
  return http_reply(r, (unsigned)p->status, resp);
}

static bool is(const char *pattern, const char *want) { return pattern && !strcmp(pattern, want); }
#define FAAS "/faas/{name}/{path...}"

/* The record of a function named `name` (any namespace: names are global). */
/* The function a /faas path names, as http/faas.c resolves it (names are
 * per namespace), read from the cluster's records: /faas/NAME is NAME of
 * the caller's namespace (guest's without a key), /faas/A/B... is A of that
 * namespace only when A takes paths (cgi) and the caller may call it, else
 * B of namespace A. True with its record when it exists in the cluster and
 * this caller may call it (public, or a key of its namespace); false
 * otherwise: then the route's own check answers here (404 alike for a
 * missing and a forbidden function, 401 for a wrong key). */
static bool callable(const cl_fn *f, const char *caller) {
  return f->rec.settings.is_public || (caller && !strcmp(caller, f->rec.ns));
}

static bool faas_target(mote_cluster *cl, http_req *r, cl_fn *out) {
  const char *caller = NULL;
  if (http_req_header(r, "Authorization")) {
    if (!http_identify_quiet(r)) return false; /* the check answers 401 */
    caller = http_req_ns(r);
  }
  const char *first = http_req_capture(r, "name"), *rest = http_req_capture(r, "path");
  char key[CL_KEY_MAX];
  snprintf(key, sizeof key, "%s/%s", caller ? caller : MOTE_STORE_DEFAULT_NS, first);
  bool found = view_fn(cl->view, key, out);
  const char *path_info = rest;
  if (rest[0] && !(found && callable(out, caller) && out->rec.settings.cgi)) {
    if (found) cl_fn_clear(out);
    const char *name = rest + 1, *end = strchr(name, '/');
    size_t n = end ? (size_t)(end - name) : strlen(name);
    if (n == 0 || n >= sizeof key) return false;
    snprintf(key, sizeof key, "%s/%.*s", first, (int)n, name);
    found = view_fn(cl->view, key, out);
    path_info = name + n;
  }
  if (found && (!callable(out, caller) || (path_info[0] && !out->rec.settings.cgi))) {
    cl_fn_clear(out);
    found = false;
  }
  return found;
}

/* The live node whose tag an activation id carries (false: this one, or none). */
static bool node_of_activation(mote_cluster *cl, const char *id, cl_node *out) {
  if (strlen(id) != 32) return false;
  char tag[9];
  memcpy(tag, id + 12, 8);
  tag[8] = '\0';
  if (!strcmp(tag, cl->tag)) return false;
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  bool found = false;
  for (size_t i = 0; i < n && !found; i++)
    if (!strcmp(nodes[i].tag, tag)) {
      *out = nodes[i];
      found = true;
    }
  free(nodes);
  return found;
}

static bool elsewhere(void *ctx, http_req *r) {
  mote_cluster *cl = ctx;
  const char *pattern = http_req_pattern(r);
  bool passed_on = http_req_header(r, CLUSTER_FORWARDED_HEADER) != NULL;
  if (is(pattern, FAAS)) {
    cl_fn f;
    if (!faas_target(cl, r, &f)) return false; /* the route's own answer */
    bool here = core_served_version(cl->core, f.rec.ns, f.rec.name) != 0;
    cl_fn_clear(&f);
    return !here; /* passed on, or (passed on to us) "not here" */
  }
  if (passed_on) return false;
  if (is(pattern, "/v1/activations/{id}")) {
    cl_node n;
    return node_of_activation(cl, http_req_capture(r, "id"), &n);
  }
  if (is(pattern, "/v1/activations") || is(pattern, "/v1/usage")) {
    cl_node *nodes = NULL;
    size_t n = view_nodes(cl->view, &nodes);
    free(nodes);
    return n > 1; /* one node: its own list is the cluster's */
  }
  return false;
}

static http_result unavailable(http_req *r, const char *fmt, const char *what) {
  http_response *resp = NULL;
  char msg[400];
  snprintf(msg, sizeof msg, fmt, what);
  json_t *o = json_pack("{s:s, s:s}", "error", msg, "code", "unavailable");
  if (!(resp = http_response_json(o))) return HTTP_CLOSE;
  http_response_header(resp, "Retry-After", "1");
  return http_reply(r, 503, resp);
}

static http_result forward_call(mote_cluster *cl, http_req *r) {
  const char *name = http_req_capture(r, "name");
  if (http_req_header(r, CLUSTER_FORWARDED_HEADER)) { /* passed on to us, and not here */
    http_response *resp = http_response_json(json_pack(
        "{s:s, s:s}", "error", "this node does not serve the function now", "code", "not_here"));
    if (!resp) return HTTP_CLOSE;
    http_response_header(resp, NOT_HERE_HEADER, cl->node);
    return http_reply(r, 503, resp);
  }
  cl_fn f;
  if (!faas_target(cl, r, &f)) /* deleted since: the one 404 of /faas */
    return http_reply_error(r, 404, "not_found", "no function here that this request may call");
  char fnkey[CL_KEY_MAX];
  snprintf(fnkey, sizeof fnkey, "%s/%s", f.rec.ns, f.rec.name);
  uint32_t replicas = f.rec.settings.replicas;
  /* the longest a call can take there: its queue wait and its run */
  uint64_t wait_ms = (uint64_t)core_queue_timeout_ms(cl->core) + CL_PEER_REPLY_MS +
                     (f.rec.settings.timeout_ms ? f.rec.settings.timeout_ms : CORE_DEFAULT_TIMEOUT_MS);
  cl_fn_clear(&f);
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  size_t *order = malloc((n ? n : 1) * sizeof *order);
  http_result res = HTTP_CLOSE;
  bool answered = false;
  if (order) placement(nodes, n, fnkey, replicas, order);
  for (size_t i = 0; order && i < n && !answered; i++) {
    const cl_node *to = &nodes[order[i]];
    if (!strcmp(to->name, cl->node)) continue;
    reply p;
    sent s = send_to(cl, r, to, http_req_target(r), wait_ms, true, &p);
    if (s == SENT_NOT_REACHED) continue;
    if (s == SENT_LOST) { /* at most once: not passed on again, as HAProxy does */
      res = http_reply_error(r, 502, "node_failed",
                             "node %s took the call and then failed, left or did not answer in "
                             "time; the call may have run",
                             to->name);
      answered = true;
      break;
    }
    if (p.status == 503 && p.not_here) {
      reply_clear(&p);
      continue;
    }
    res = relay(r, &p, to->name);
    reply_clear(&p);
    answered = true;
  }
  free(order);
  free(nodes);
  if (answered) return res;
  return unavailable(r, "function \"%s\" is not served by any live node now: try again",
                     name);
}

static http_result forward_activation(mote_cluster *cl, http_req *r) {
  cl_node to;
  const char *id = http_req_capture(r, "id");
  if (!node_of_activation(cl, id, &to))
    return http_reply_error(r, 404, "not_found", "no activation %s", id);
  reply p;
  if (send_to(cl, r, &to, http_req_target(r), CL_PEER_REPLY_MS, false, &p) != SENT_REPLY)
    return unavailable(r, "the node that keeps activation %s does not answer now", id);
  http_result res = relay(r, &p, to.name);
  reply_clear(&p);
  return res;
}

/* ---- lists and totals of every node -------------------------------------------------- */

static int newest_first(const void *a, const void *b) {
  json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
  json_int_t sx = json_integer_value(json_object_get(x, "start_ms"));
  json_int_t sy = json_integer_value(json_object_get(y, "start_ms"));
  if (sx != sy) return sx > sy ? -1 : 1;
  const char *ix = json_string_value(json_object_get(x, "id")) ?: "";
  const char *iy = json_string_value(json_object_get(y, "id")) ?: "";
  return -strcmp(ix, iy);
}

/* Sums b's figures into a (a usage total or a function's). */
static void add_usage(json_t *a, json_t *b) {
  static const char *const counts[] = {"invocations", "errors", "refused"};
  static const char *const reals[] = {"exec_seconds", "gb_seconds"};
  for (size_t i = 0; i < 3; i++)
    json_object_set_new(a, counts[i],
                        json_integer(json_integer_value(json_object_get(a, counts[i])) +
                                     json_integer_value(json_object_get(b, counts[i]))));
  for (size_t i = 0; i < 2; i++)
    json_object_set_new(a, reals[i], json_real(json_number_value(json_object_get(a, reals[i])) +
                                               json_number_value(json_object_get(b, reals[i]))));
  /* ISO 8601 times of one format compare as text */
  const char *af = json_string_value(json_object_get(a, "first"));
  const char *bf = json_string_value(json_object_get(b, "first"));
  if (bf && (!af || strcmp(bf, af) < 0)) json_object_set(a, "first", json_object_get(b, "first"));
  const char *al = json_string_value(json_object_get(a, "last"));
  const char *bl = json_string_value(json_object_get(b, "last"));
  if (bl && (!al || strcmp(bl, al) > 0)) json_object_set(a, "last", json_object_get(b, "last"));
}

static void merge_usage(json_t *into, json_t *from) {
  add_usage(json_object_get(into, "total"), json_object_get(from, "total"));
  json_t *fns = json_object_get(into, "functions");
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(from, "functions"), i, f) {
    const char *name = json_string_value(json_object_get(f, "function"));
    json_t *same = NULL, *g;
    size_t k;
    json_array_foreach(fns, k, g)
      if (name && !strcmp(name, json_string_value(json_object_get(g, "function")) ?: ""))
        same = g;
    if (same) add_usage(same, f);
    else json_array_append(fns, f);
  }
}

static http_result gather(mote_cluster *cl, http_req *r, bool usage) {
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  json_t *merged = NULL, *missing = json_array();
  for (size_t i = 0; i < n; i++) {
    reply p;
    if (send_to(cl, r, &nodes[i], http_req_target(r), CL_PEER_REPLY_MS, false, &p) != SENT_REPLY) {
      json_array_append_new(missing, json_string(nodes[i].name));
      continue;
    }
    if (p.status != 200) { /* a refusal (a bad query, a key): every node would say it */
      free(nodes);
      json_decref(merged);
      json_decref(missing);
      http_result res = relay(r, &p, nodes[i].name);
      reply_clear(&p);
      return res;
    }
    json_t *o = json_loadb((const char *)p.body.p, p.body.len, 0, NULL);
    reply_clear(&p);
    if (!json_is_object(o)) {
      json_decref(o);
      json_array_append_new(missing, json_string(nodes[i].name));
      continue;
    }
    if (!merged) {
      merged = o;
      continue;
    }
    if (usage) {
      merge_usage(merged, o);
    } else {
      json_t *all = json_object_get(merged, "activations"), *a;
      size_t k;
      json_array_foreach(json_object_get(o, "activations"), k, a) json_array_append(all, a);
    }
    json_decref(o);
  }
  free(nodes);
  if (!merged) {
    json_decref(missing);
    return unavailable(r, "%s", "no node answered");
  }
  if (!usage) { /* newest first, cut to the limit asked (50 by default) */
    json_t *all = json_object_get(merged, "activations");
    size_t count = json_array_size(all);
    json_t **items = malloc((count ? count : 1) * sizeof *items);
    const char *lim = http_req_param(r, "limit");
    size_t limit = lim ? strtoul(lim, NULL, 10) : 50;
    if (items) {
      for (size_t i = 0; i < count; i++) items[i] = json_incref(json_array_get(all, i));
      qsort(items, count, sizeof *items, newest_first);
      json_t *sorted = json_array();
      for (size_t i = 0; i < count; i++) {
        if (i < limit) json_array_append(sorted, items[i]);
        json_decref(items[i]);
      }
      json_object_set_new(merged, "activations", sorted);
      free(items);
    }
  }
  if (json_array_size(missing)) json_object_set(merged, "nodes_missing", missing);
  json_decref(missing);
  return http_reply_json(r, 200, merged);
}

static http_result forward(void *ctx, http_req *r) {
  mote_cluster *cl = ctx;
  const char *pattern = http_req_pattern(r);
  if (is(pattern, FAAS)) return forward_call(cl, r);
  if (is(pattern, "/v1/activations/{id}")) return forward_activation(cl, r);
  return gather(cl, r, is(pattern, "/v1/usage"));
}

void forward_attach(mote_cluster *cl) {
  http_forwarder f = {.elsewhere = elsewhere, .forward = forward, .ctx = cl};
  http_set_forwarder(cl->http, &f);
}
