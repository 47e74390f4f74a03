/*
 * etcd: the v3 HTTP/JSON gateway over libcurl (see etcd.h).
 *
 * Every request is a POST of a JSON object to /v3/<service>/<method>; the
 * reply is a JSON object (200), or {"error","code","message"} with a 4xx or
 * 5xx status. A watch is one long POST whose reply is a stream of JSON
 * objects, one per line ({"result": {...}}), read as curl delivers them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "base/clock.h"
#include "cluster/etcd.h"

#define POOL 8 /* idle curl handles kept (their connections with them) */

struct etcd {
  char *endpoints[ETCD_MAX_ENDPOINTS];
  size_t n;
  atomic_size_t current; /* the endpoint that answered last */
  pthread_mutex_t lock;
  CURL *idle[POOL];
  size_t nidle;
};

static _Thread_local char last_error[512];

const char *etcd_error(void) { return last_error; }

static etcd_status fail(etcd_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static etcd_status fail(etcd_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return st;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

etcd *etcd_new(const char *endpoints, char *msg, size_t cap) {
  pthread_once(&curl_once, curl_init_once);
  if (sodium_init() < 0) {
    snprintf(msg, cap, "libsodium cannot start");
    return NULL;
  }
  etcd *e = calloc(1, sizeof *e);
  char *copy = endpoints ? strdup(endpoints) : NULL;
  if (!e || !copy) {
    free(e);
    free(copy);
    snprintf(msg, cap, endpoints ? "out of memory" : "no etcd endpoint given");
    return NULL;
  }
  char *save = NULL;
  for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    size_t len = strlen(t);
    while (len && t[len - 1] == '/') t[--len] = '\0';
    if (strncmp(t, "http://", 7) != 0 || len <= 7 || strpbrk(t + 7, "/?# ")) {
      snprintf(msg, cap, "\"%s\" is not an etcd endpoint: give http://HOST:PORT[,http://...]", t);
      goto bad;
    }
    if (e->n == ETCD_MAX_ENDPOINTS) {
      snprintf(msg, cap, "more than %d etcd endpoints", ETCD_MAX_ENDPOINTS);
      goto bad;
    }
    if (!(e->endpoints[e->n++] = strdup(t))) {
      snprintf(msg, cap, "out of memory");
      goto bad;
    }
  }
  free(copy);
  copy = NULL;
  if (e->n == 0) {
    snprintf(msg, cap, "no etcd endpoint given: --cluster http://HOST:PORT[,http://...]");
    goto bad;
  }
  pthread_mutex_init(&e->lock, NULL);
  return e;
bad:
  free(copy);
  for (size_t i = 0; i < e->n; i++) free(e->endpoints[i]);
  free(e);
  return NULL;
}

void etcd_free(etcd *e) {
  if (!e) return;
  for (size_t i = 0; i < e->nidle; i++) curl_easy_cleanup(e->idle[i]);
  for (size_t i = 0; i < e->n; i++) free(e->endpoints[i]);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

const char *etcd_endpoint(etcd *e) { return e->endpoints[atomic_load(&e->current) % e->n]; }

void etcd_kv_clear(etcd_kv *kv) {
  if (!kv) return;
  free(kv->key);
  free(kv->value);
  memset(kv, 0, sizeof *kv);
}

void etcd_kvs_free(etcd_kv *kvs, size_t n) {
  for (size_t i = 0; i < n; i++) etcd_kv_clear(&kvs[i]);
  free(kvs);
}

/* ---- curl handles ---------------------------------------------------------------- */

static CURL *take(etcd *e) {
  CURL *c = NULL;
  pthread_mutex_lock(&e->lock);
  if (e->nidle) c = e->idle[--e->nidle];
  pthread_mutex_unlock(&e->lock);
  if (c) {
    curl_easy_reset(c);
    return c;
  }
  return curl_easy_init();
}

static void give(etcd *e, CURL *c) {
  pthread_mutex_lock(&e->lock);
  if (e->nidle < POOL) {
    e->idle[e->nidle++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&e->lock);
  if (c) curl_easy_cleanup(c);
}

typedef struct buf {
  char *p;
  size_t len, cap;
  bool too_big;
} buf;

static size_t collect(char *data, size_t size, size_t n, void *arg) {
  buf *b = arg;
  size_t add = size * n;
  if (b->len + add + 1 > ETCD_MAX_REPLY) {
    b->too_big = true;
    return 0;
  }
  if (b->len + add + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 4096;
    while (ncap < b->len + add + 1) ncap *= 2;
    char *g = realloc(b->p, ncap);
    if (!g) return 0;
    b->p = g;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, data, add);
  b->len += add;
  b->p[b->len] = '\0';
  return add;
}

/* ---- base64 and numbers ----------------------------------------------------------- */

static json_t *b64(const void *data, size_t len) {
  size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
  char *s = malloc(cap);
  if (!s) return NULL;
  sodium_bin2base64(s, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
  json_t *j = json_string(s);
  free(s);
  return j;
}

/* Decodes a base64 JSON string into malloc'd bytes with a NUL after them. */
static bool unb64(json_t *j, uint8_t **out, size_t *len) {
  const char *s = json_string_value(j);
  size_t slen = s ? strlen(s) : 0;
  uint8_t *p = malloc(slen * 3 / 4 + 2);
  if (!p) return false;
  size_t n = 0;
  if (slen && sodium_base642bin(p, slen * 3 / 4 + 1, s, slen, NULL, &n, NULL,
                                sodium_base64_VARIANT_ORIGINAL) != 0) {
    free(p);
    return false;
  }
  p[n] = '\0';
  *out = p;
  *len = n;
  return true;
}

/* A 64-bit number the gateway sends as a string (or, rarely, a number). */
static int64_t num(json_t *j) {
  if (json_is_integer(j)) return (int64_t)json_integer_value(j);
  const char *s = json_string_value(j);
  return s ? strtoll(s, NULL, 10) : 0;
}

/* A revision: etcd's are positive and far from the end of int64, but the
 * bytes come from outside and revisions are followed (rev + 1, where a watch
 * resumes): kept within 0 .. INT64_MAX - 1 (fuzz_cluster found the overflow). */
static int64_t revision(json_t *j) {
  int64_t v = num(j);
  return v < 0 ? 0 : v == INT64_MAX ? INT64_MAX - 1 : v;
}

static json_t *num_json(int64_t v) {
  char s[24];
  snprintf(s, sizeof s, "%lld", (long long)v);
  return json_string(s);
}

/* The byte after the prefix's last byte that is not 0xff: the end of its range. */
static bool range_end(const char *prefix, char *out, size_t cap) {
  size_t n = strlen(prefix);
  if (n + 1 > cap) return false;
  memcpy(out, prefix, n + 1);
  while (n > 0) {
    unsigned char c = (unsigned char)out[n - 1];
    if (c < 0xff) {
      out[n - 1] = (char)(c + 1);
      out[n] = '\0';
      return true;
    }
    out[--n] = '\0';
  }
  out[0] = '\0'; /* "\0": every key */
  return true;
}

static bool kv_from_json(json_t *o, etcd_kv *kv) {
  memset(kv, 0, sizeof *kv);
  uint8_t *k = NULL;
  size_t klen = 0;
  if (!unb64(json_object_get(o, "key"), &k, &klen)) return false;
  kv->key = (char *)k;
  kv->key_len = klen;
  json_t *v = json_object_get(o, "value");
  if (v) {
    if (!unb64(v, &kv->value, &kv->len)) {
      etcd_kv_clear(kv);
      return false;
    }
  } else if (!(kv->value = calloc(1, 1))) {
    etcd_kv_clear(kv);
    return false;
  }
  kv->create_rev = revision(json_object_get(o, "create_revision"));
  kv->mod_rev = revision(json_object_get(o, "mod_revision"));
  kv->version = num(json_object_get(o, "version"));
  kv->lease = num(json_object_get(o, "lease"));
  return true;
}

/* ---- one request -------------------------------------------------------------------- */

/* POSTs body to path on each endpoint in turn (from the current one) until
 * one answers other than 5xx: *reply its JSON. A pass in which some member
 * took the connection but none answered (a leader's loss: the survivors
 * hold a request until their election ends, 1.6-3.8 s measured here, and
 * drop it if it was forwarded to the dead leader) is followed by another,
 * until ETCD_ELECTION_MS have passed; a pass in which nothing could be
 * reached at all is the end (etcd is down: say so at once). */
static etcd_status call(etcd *e, const char *path, json_t *body, json_t **reply) {
  *reply = NULL;
  char *text = json_dumps(body, JSON_COMPACT);
  json_decref(body);
  if (!text) return fail(ETCD_NO_MEMORY, "out of memory");
  CURL *c = take(e);
  if (!c) {
    free(text);
    return fail(ETCD_NO_MEMORY, "out of memory");
  }
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
  etcd_status st = fail(ETCD_UNAVAILABLE, "no etcd endpoint answered");
  char url[1024];
  uint64_t start_us = mote_now_us();
  for (unsigned pass = 0, reached = 1; reached && st == ETCD_UNAVAILABLE; pass++) {
    if (pass) usleep(ETCD_RETRY_PAUSE_MS * 1000);
    uint64_t spent_ms = (mote_now_us() - start_us) / 1000;
    if (spent_ms >= ETCD_ELECTION_MS) break;
    long timeout_ms = (long)(ETCD_ELECTION_MS - spent_ms);
    if (timeout_ms > ETCD_REQUEST_MS) timeout_ms = ETCD_REQUEST_MS;
    if (timeout_ms < ETCD_CONNECT_MS) timeout_ms = ETCD_CONNECT_MS;
    reached = 0;
    size_t first = atomic_load(&e->current);
    for (size_t k = 0; k < e->n; k++) {
      size_t i = (first + k) % e->n;
      snprintf(url, sizeof url, "%s%s", e->endpoints[i], path);
      buf b = {0};
      curl_easy_setopt(c, CURLOPT_URL, url);
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
      curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ETCD_CONNECT_MS);
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_PROXY, "");
      CURLcode rc = curl_easy_perform(c);
      long status = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      curl_off_t connected_us = 0;
      curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected_us);
      if (rc == CURLE_OPERATION_TIMEDOUT && connected_us > 0) reached = 1; /* it held the request */
      if (rc != CURLE_OK) {
        st = fail(b.too_big ? ETCD_FAILED : ETCD_UNAVAILABLE, "etcd at %s: %s", e->endpoints[i],
                  b.too_big ? "reply too large" : curl_easy_strerror(rc));
        free(b.p);
        if (b.too_big) break;
        continue;
      }
      json_error_t jerr;
      json_t *j = b.p ? json_loads(b.p, 0, &jerr) : NULL;
      if (status >= 500 || !json_is_object(j)) {
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m) m = json_string_value(json_object_get(j, "error"));
        st = fail(ETCD_UNAVAILABLE, "etcd at %s answered %ld: %s", e->endpoints[i], status,
                  m ? m : b.p ? b.p : "(nothing)");
        reached = 1;
        json_decref(j);
        free(b.p);
        continue;
      }
      free(b.p);
      atomic_store(&e->current, i);
      if (status != 200) {
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m) m = json_string_value(json_object_get(j, "error"));
        st = fail(ETCD_FAILED, "etcd at %s refused %s (%ld): %s", e->endpoints[i], path, status,
                  m ? m : "no message");
        json_decref(j);
        break;
      }
      *reply = j;
      st = ETCD_OK;
      break;
    }
  }
  curl_slist_free_all(hdr);
  give(e, c);
  free(text);
  return st;
}

static int64_t header_rev(json_t *reply) {
  return revision(json_object_get(json_object_get(reply, "header"), "revision"));
}

etcd_status etcd_put(etcd *e, const char *key, const void *val, size_t len, int64_t lease,
                     int64_t *rev) {
  json_t *body = json_pack("{s:o, s:o}", "key", b64(key, strlen(key)), "value", b64(val, len));
  if (!body) return fail(ETCD_NO_MEMORY, "out of memory");
  if (lease) json_object_set_new(body, "lease", num_json(lease));
  json_t *reply;
  etcd_status st = call(e, "/v3/kv/put", body, &reply);
  if (st == ETCD_OK && rev) *rev = header_rev(reply);
  json_decref(reply);
  return st;
}

/* A range reply's kvs into *out. */
static etcd_status kvs_of(json_t *reply, etcd_kv **out, size_t *n) {
  json_t *arr = json_object_get(reply, "kvs");
  size_t count = json_is_array(arr) ? json_array_size(arr) : 0;
  *out = NULL;
  *n = 0;
  if (!count) return ETCD_OK;
  etcd_kv *kvs = calloc(count, sizeof *kvs);
  if (!kvs) return fail(ETCD_NO_MEMORY, "out of memory");
  for (size_t i = 0; i < count; i++)
    if (!kv_from_json(json_array_get(arr, i), &kvs[i])) {
      etcd_kvs_free(kvs, i);
      return fail(ETCD_FAILED, "etcd sent a key or value that is not base64");
    }
  *out = kvs;
  *n = count;
  return ETCD_OK;
}

/* One page of a range: at most `limit` keys (0: all) from key (klen bytes)
 * to end, as of revision `at` (0: now); *more when keys remain after it. */
static etcd_status range_page(etcd *e, const char *key, size_t klen, const char *end,
                              int64_t limit, int64_t at, etcd_kv **out, size_t *n, int64_t *rev,
                              bool *more) {
  json_t *body = json_pack("{s:o}", "key", b64(key, klen));
  if (!body) return fail(ETCD_NO_MEMORY, "out of memory");
  if (end) json_object_set_new(body, "range_end", b64(end, strlen(end) ? strlen(end) : 1));
  if (limit) json_object_set_new(body, "limit", num_json(limit));
  if (at) json_object_set_new(body, "revision", num_json(at));
  json_t *reply;
  etcd_status st = call(e, "/v3/kv/range", body, &reply);
  if (st == ETCD_OK) {
    if (rev) *rev = header_rev(reply);
    if (more) *more = json_is_true(json_object_get(reply, "more"));
    st = kvs_of(reply, out, n);
  }
  json_decref(reply);
  return st;
}

static etcd_status range(etcd *e, const char *key, const char *end, etcd_kv **out, size_t *n,
                         int64_t *rev) {
  return range_page(e, key, strlen(key), end, 0, 0, out, n, rev, NULL);
}

etcd_status etcd_get(etcd *e, const char *key, etcd_kv *out, bool *found, int64_t *rev) {
  etcd_kv *kvs = NULL;
  size_t n = 0;
  *found = false;
  etcd_status st = range(e, key, NULL, &kvs, &n, rev);
  if (st != ETCD_OK) return st;
  if (n > 0) {
    *out = kvs[0];
    memset(&kvs[0], 0, sizeof kvs[0]);
    *found = true;
  }
  etcd_kvs_free(kvs, n);
  return ETCD_OK;
}

/* Keys in etcd's order: their bytes, then their lengths. */
static int key_cmp(const etcd_kv *a, const etcd_kv *b) {
  size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
  int c = memcmp(a->key, b->key, n);
  return c ? c : a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

/* In pages of ETCD_RANGE_PAGE keys, all read at the first page's revision
 * (one consistent picture however many pages: a compaction past it
 * meanwhile fails the read): a range of every record in one reply would
 * stop at ETCD_MAX_REPLY. Each next page starts right after the last key
 * (its bytes and a NUL). */
etcd_status etcd_range_prefix(etcd *e, const char *prefix, etcd_kv **out, size_t *n,
                              int64_t *rev) {
  char end[1024];
  if (!range_end(prefix, end, sizeof end)) return fail(ETCD_FAILED, "prefix too long");
  etcd_kv *all = NULL;
  size_t count = 0;
  int64_t at = 0;
  char *from = strdup(prefix);
  size_t from_len = strlen(prefix);
  etcd_status st = from ? ETCD_OK : fail(ETCD_NO_MEMORY, "out of memory");
  for (bool more = true; st == ETCD_OK && more;) {
    etcd_kv *page = NULL;
    size_t got = 0;
    int64_t page_rev = 0;
    st = range_page(e, from, from_len, end, ETCD_RANGE_PAGE, at, &page, &got, &page_rev, &more);
    if (st != ETCD_OK) break;
    if (!at) at = page_rev;
    if (!got) {
      if (more) st = fail(ETCD_FAILED, "etcd sent an empty page of a range that goes on");
      break;
    }
    if (count && key_cmp(&page[0], &all[count - 1]) <= 0) { /* a broken server: no loop */
      etcd_kvs_free(page, got);
      st = fail(ETCD_FAILED, "etcd sent a page of a range out of order");
      break;
    }
    etcd_kv *grown = realloc(all, (count + got) * sizeof *all);
    size_t last_len = page[got - 1].key_len; /* the bytes: a key may hold a NUL */
    char *next = malloc(last_len + 1);
    if (!grown || !next) {
      if (grown) all = grown;
      free(next);
      etcd_kvs_free(page, got);
      st = fail(ETCD_NO_MEMORY, "out of memory");
      break;
    }
    all = grown;
    memcpy(all + count, page, got * sizeof *page);
    count += got;
    free(page); /* its entries moved into all */
    memcpy(next, all[count - 1].key, last_len);
    next[last_len] = '\0'; /* the key and a NUL: the next one up */
    free(from);
    from = next;
    from_len = last_len + 1;
  }
  free(from);
  if (st != ETCD_OK) {
    etcd_kvs_free(all, count);
    return st;
  }
  *out = all;
  *n = count;
  if (rev) *rev = at;
  return ETCD_OK;
}

etcd_status etcd_delete(etcd *e, const char *key, bool prefix, int64_t *deleted) {
  json_t *body = json_pack("{s:o}", "key", b64(key, strlen(key)));
  if (!body) return fail(ETCD_NO_MEMORY, "out of memory");
  if (prefix) {
    char end[1024];
    if (!range_end(key, end, sizeof end)) {
      json_decref(body);
      return fail(ETCD_FAILED, "prefix too long");
    }
    json_object_set_new(body, "range_end", b64(end, strlen(end) ? strlen(end) : 1));
  }
  json_t *reply;
  etcd_status st = call(e, "/v3/kv/deleterange", body, &reply);
  if (st == ETCD_OK && deleted) *deleted = num(json_object_get(reply, "deleted"));
  json_decref(reply);
  return st;
}

/* ---- transactions ------------------------------------------------------------------- */

static const char *target_name[] = {"CREATE", "MOD", "VERSION", "VALUE"};
static const char *target_field[] = {"create_revision", "mod_revision", "version", "value"};
static const char *op_name[] = {"EQUAL", "NOT_EQUAL", "LESS", "GREATER"};

static json_t *ops_json(const etcd_op *ops, size_t n) {
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < n; i++) {
    const etcd_op *op = &ops[i];
    json_t *inner = json_pack("{s:o}", "key", b64(op->key, strlen(op->key)));
    if (!inner) {
      json_decref(arr);
      return NULL;
    }
    if (op->kind == ETCD_OP_PUT) {
      json_object_set_new(inner, "value", b64(op->value, op->len));
      if (op->lease) json_object_set_new(inner, "lease", num_json(op->lease));
    }
    json_array_append_new(arr, json_pack("{s:o}", op->kind == ETCD_OP_PUT ? "requestPut"
                                                                          : "requestDeleteRange",
                                         inner));
  }
  return arr;
}

etcd_status etcd_txn(etcd *e, const etcd_cmp *cmp, size_t ncmp, const etcd_op *then, size_t nthen,
                     const etcd_op *otherwise, size_t notherwise, bool *succeeded, int64_t *rev) {
  *succeeded = false;
  json_t *cmps = json_array();
  for (size_t i = 0; cmps && i < ncmp; i++) {
    const etcd_cmp *c = &cmp[i];
    json_t *o = json_pack("{s:o, s:s, s:s}", "key", b64(c->key, strlen(c->key)), "target",
                          target_name[c->target], "result", op_name[c->op]);
    if (!o) {
      json_decref(cmps);
      cmps = NULL;
      break;
    }
    json_object_set_new(o, target_field[c->target],
                        c->target == ETCD_VALUE ? b64(c->value, c->len) : num_json(c->number));
    json_array_append_new(cmps, o);
  }
  json_t *body = json_pack("{s:o, s:o, s:o}", "compare", cmps, "success", ops_json(then, nthen),
                           "failure", ops_json(otherwise, notherwise));
  if (!body) return fail(ETCD_NO_MEMORY, "out of memory");
  json_t *reply;
  etcd_status st = call(e, "/v3/kv/txn", body, &reply);
  if (st == ETCD_OK) {
    *succeeded = json_is_true(json_object_get(reply, "succeeded"));
    if (rev) *rev = header_rev(reply);
  }
  json_decref(reply);
  return st;
}

/* ---- leases ------------------------------------------------------------------------- */

etcd_status etcd_lease_grant(etcd *e, int64_t ttl_s, int64_t *id) {
  json_t *body = json_pack("{s:o}", "TTL", num_json(ttl_s));
  if (!body) return fail(ETCD_NO_MEMORY, "out of memory");
  json_t *reply;
  etcd_status st = call(e, "/v3/lease/grant", body, &reply);
  if (st == ETCD_OK) {
    *id = num(json_object_get(reply, "ID"));
    const char *m = json_string_value(json_object_get(reply, "error"));
    if (*id == 0) st = fail(ETCD_FAILED, "etcd granted no lease: %s", m ? m : "no reason");
  }
  json_decref(reply);
  return st;
}

etcd_status etcd_lease_keepalive(etcd *e, int64_t id, int64_t *ttl_left) {
  json_t *body = json_pack("{s:o}", "ID", num_json(id));
  if (!body) return fail(ETCD_NO_MEMORY, "out of memory");
  json_t *reply;
  /* The gateway answers a keepalive as one message of a stream: {"result": {...}}. */
  etcd_status st = call(e, "/v3/lease/keepalive", body, &reply);
  if (st == ETCD_OK) {
    json_t *r = json_object_get(reply, "result");
    *ttl_left = num(json_object_get(r ? r : reply, "TTL"));
    if (json_object_get(reply, "error")) *ttl_left = 0;
  }
  json_decref(reply);
  return st;
}

etcd_status etcd_lease_revoke(etcd *e, int64_t id) {
  json_t *body = json_pack("{s:o}", "ID", num_json(id));
  if (!body) return fail(ETCD_NO_MEMORY, "out of memory");
  json_t *reply;
  etcd_status st = call(e, "/v3/lease/revoke", body, &reply);
  json_decref(reply);
  return st;
}

/* ---- watches ------------------------------------------------------------------------- */

typedef struct watch_ctx {
  buf line;              /* bytes of the message being received */
  etcd_watch_fn fn;
  void *arg;
  const volatile bool *stop;
  int64_t last_rev;
  etcd_status end;       /* why the stream ended, when we ended it */
  bool ended;
} watch_ctx;

/* One message of the stream: false to end the watch (w->end says why). */
static bool watch_message(watch_ctx *w, const char *text) {
  json_t *j = json_loads(text, 0, NULL);
  json_t *r = json_object_get(j, "result");
  if (!json_is_object(r)) {
    const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
    w->end = fail(ETCD_UNAVAILABLE, "the watch ended: %s", m ? m : text);
    json_decref(j);
    return false;
  }
  if (json_is_true(json_object_get(r, "canceled"))) {
    int64_t compact = revision(json_object_get(r, "compact_revision"));
    const char *m = json_string_value(json_object_get(r, "cancel_reason"));
    w->end = compact ? fail(ETCD_COMPACTED, "revision %lld was compacted (oldest kept %lld)",
                            (long long)(w->last_rev + 1), (long long)compact)
                     : fail(ETCD_UNAVAILABLE, "the watch was canceled: %s", m ? m : "no reason");
    json_decref(j);
    return false;
  }
  /* Resumed from the last event's revision, not the header's: the header
   * may run ahead of what this response holds. */
  int64_t rev = 0;
  json_t *evs = json_object_get(r, "events");
  size_t n = json_is_array(evs) ? json_array_size(evs) : 0;
  etcd_event *ev = n ? calloc(n, sizeof *ev) : NULL;
  bool ok = !n || ev;
  for (size_t i = 0; ok && i < n; i++) {
    json_t *e = json_array_get(evs, i);
    ev[i].deleted = !strcmp(json_string_value(json_object_get(e, "type")) ?: "", "DELETE");
    ok = kv_from_json(json_object_get(e, "kv"), &ev[i].kv);
    if (ok && ev[i].kv.mod_rev > rev) rev = ev[i].kv.mod_rev;
  }
  if (!ok) {
    w->end = fail(ETCD_FAILED, "a watch message could not be read");
  } else {
    if (n) w->last_rev = rev;
    if (!w->fn(w->arg, ev, n, rev)) {
      w->end = fail(ETCD_STOPPED, "stopped");
      ok = false;
    }
  }
  for (size_t i = 0; ev && i < n; i++) etcd_kv_clear(&ev[i].kv);
  free(ev);
  json_decref(j);
  return ok;
}

static size_t watch_data(char *data, size_t size, size_t n, void *arg) {
  watch_ctx *w = arg;
  size_t add = size * n;
  if (collect(data, 1, add, &w->line) != add) {
    w->end = fail(ETCD_FAILED, "a watch message is too large");
    w->ended = true;
    return 0;
  }
  char *start = w->line.p, *nl;
  while ((nl = memchr(start, '\n', w->line.len - (size_t)(start - w->line.p)))) {
    *nl = '\0';
    if (nl > start && !watch_message(w, start)) {
      w->ended = true;
      return 0;
    }
    start = nl + 1;
  }
  size_t rest = w->line.len - (size_t)(start - w->line.p);
  memmove(w->line.p, start, rest);
  w->line.len = rest;
  w->line.p[rest] = '\0';
  return add;
}

static int watch_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d) {
  (void)a, (void)b, (void)c, (void)d;
  watch_ctx *w = arg;
  if (*w->stop) {
    w->end = fail(ETCD_STOPPED, "stopped");
    w->ended = true;
    return 1;
  }
  return 0;
}

etcd_status etcd_watch(etcd *e, const char *prefix, int64_t start_rev, etcd_watch_fn on_events,
                       void *ctx, const volatile bool *stop, int64_t *last_rev) {
  *last_rev = start_rev > 0 ? start_rev - 1 : 0;
  char end[1024];
  if (!range_end(prefix, end, sizeof end)) return fail(ETCD_FAILED, "prefix too long");
  json_t *create = json_pack("{s:o, s:o}", "key", b64(prefix, strlen(prefix)), "range_end",
                             b64(end, strlen(end) ? strlen(end) : 1));
  if (!create) return fail(ETCD_NO_MEMORY, "out of memory");
  if (start_rev > 0) json_object_set_new(create, "start_revision", num_json(start_rev));
  json_t *body = json_pack("{s:o}", "create_request", create);
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  CURL *c = text ? curl_easy_init() : NULL;
  if (!c) {
    free(text);
    return fail(ETCD_NO_MEMORY, "out of memory");
  }
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
  watch_ctx w = {.fn = on_events, .arg = ctx, .stop = stop, .last_rev = *last_rev,
                 .end = ETCD_UNAVAILABLE};
  size_t first = atomic_load(&e->current);
  etcd_status st = fail(ETCD_UNAVAILABLE, "no etcd endpoint answered");
  for (size_t k = 0; k < e->n && !*stop; k++) {
    size_t i = (first + k) % e->n;
    char url[1024];
    snprintf(url, sizeof url, "%s/v3/watch", e->endpoints[i]);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)ETCD_CONNECT_MS);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROXY, "");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 1L);
    w.line.len = 0;
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (w.ended) { /* we ended it: a cancel, a stop, a callback's no */
      st = w.end;
      break;
    }
    if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT || status >= 500) {
      st = fail(ETCD_UNAVAILABLE, "etcd at %s: %s", e->endpoints[i],
                rc != CURLE_OK ? curl_easy_strerror(rc) : "answered 5xx");
      continue; /* the next endpoint */
    }
    atomic_store(&e->current, i);
    st = fail(ETCD_UNAVAILABLE, "the watch on %s ended: %s", e->endpoints[i],
              rc != CURLE_OK ? curl_easy_strerror(rc) : "the stream closed");
    break; /* it was established: the caller resumes from *last_rev */
  }
  *last_rev = w.last_rev;
  free(w.line.p);
  curl_slist_free_all(hdr);
  curl_easy_cleanup(c);
  free(text);
  return st;
}
