/*
 * server: accounting per namespace and function (invocations, errors,
 * refusals, execution time, memory-time).
 *
 * Calls add to deltas in memory; a thread writes them to the store's usage
 * totals every ACCT_FLUSH_MS (one transaction for all, instead of a write
 * per call beside the activation record), and readers (GET /v1/usage,
 * /metrics) flush first, so they see every call answered before them. A
 * crash of the process loses at most the last interval's deltas; a failed
 * write keeps them for the next try.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/map.h"
#include "server/server_internal.h"

#define ACCT_FLUSH_MS 1000

typedef struct acct_entry {
  mote_usage delta; /* ns and function set once; counters since the last flush */
} acct_entry;

struct srv_accounting {
  mote_store *store;
  pthread_mutex_t lock;      /* guards the table and the deltas */
  pthread_mutex_t flush_lock; /* one flush at a time, so deltas reach the store in order */
  mote_map *entries;          /* "ns/function" -> acct_entry (names hold no '/') */
  pthread_t thread;
  bool started, stop;
  pthread_cond_t wake;
};

/* The key of (ns, function): names never hold a '/'. */
static void key_of(const char *ns, const char *fn, char out[2 * (MOTE_STORE_NS_MAX + 1)]) {
  snprintf(out, 2 * (MOTE_STORE_NS_MAX + 1), "%s/%s", ns, fn);
}

static bool delta_empty(const mote_usage *u) {
  return !u->invocations && !u->errors && !u->refused && !u->exec_us && !u->memory_mib_us;
}

/* Zeroes the counters of u, keeping its namespace and function. */
static void delta_clear(mote_usage *u) {
  u->invocations = u->errors = u->refused = u->exec_us = u->memory_mib_us = 0;
  u->first_ms = u->last_ms = 0;
}

static void delta_add(mote_usage *to, const mote_usage *d) {
  to->invocations += d->invocations;
  to->errors += d->errors;
  to->refused += d->refused;
  to->exec_us += d->exec_us;
  to->memory_mib_us += d->memory_mib_us;
  if (!to->first_ms || (d->first_ms && d->first_ms < to->first_ms)) to->first_ms = d->first_ms;
  if (d->last_ms > to->last_ms) to->last_ms = d->last_ms;
}

/* Adds d to its entry (made on first sight); false when out of memory. Under lock. */
static bool add_locked(srv_accounting *a, const mote_usage *d) {
  char key[2 * (MOTE_STORE_NS_MAX + 1)];
  key_of(d->ns, d->function, key);
  acct_entry *e = mote_map_get(a->entries, key);
  if (!e) {
    if (!(e = mote_calloc(1, sizeof *e))) return false;
    memcpy(e->delta.ns, d->ns, sizeof e->delta.ns);
    memcpy(e->delta.function, d->function, sizeof e->delta.function);
    if (mote_map_put(a->entries, key, e, NULL) != 0) {
      mote_free(e);
      return false;
    }
  }
  delta_add(&e->delta, d);
  return true;
}

bool accounting_flush(srv_accounting *a) {
  pthread_mutex_lock(&a->flush_lock);
  pthread_mutex_lock(&a->lock);
  size_t count = mote_map_count(a->entries);
  mote_usage *batch = count ? mote_malloc(count * sizeof *batch) : NULL;
  size_t n = 0;
  mote_map_iter it = {0};
  void *v;
  while (batch && mote_map_next(a->entries, &it, NULL, &v)) {
    acct_entry *e = v;
    if (delta_empty(&e->delta)) continue;
    batch[n++] = e->delta;
    delta_clear(&e->delta);
  }
  bool had = count > 0;
  pthread_mutex_unlock(&a->lock);
  bool ok = !had || batch;
  if (n) {
    mote_store_error err;
    if (mote_store_usage_add(a->store, batch, n, &err) != MOTE_STORE_OK) {
      fprintf(stderr, "mote serve: accounting not written (kept for the next try): %s\n",
              err.message);
      pthread_mutex_lock(&a->lock);
      for (size_t i = 0; i < n; i++) add_locked(a, &batch[i]); /* entries exist: no allocation */
      pthread_mutex_unlock(&a->lock);
      ok = false;
    }
  }
  mote_free(batch);
  pthread_mutex_unlock(&a->flush_lock);
  return ok;
}

static void *flush_thread(void *arg) {
  srv_accounting *a = arg;
  pthread_mutex_lock(&a->lock);
  while (!a->stop) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)ACCT_FLUSH_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_cond_timedwait(&a->wake, &a->lock, &until);
    if (a->stop) break;
    pthread_mutex_unlock(&a->lock);
    accounting_flush(a);
    pthread_mutex_lock(&a->lock);
  }
  pthread_mutex_unlock(&a->lock);
  return NULL;
}

srv_accounting *accounting_new(mote_store *store) {
  srv_accounting *a = mote_calloc(1, sizeof *a);
  if (!a) return NULL;
  if (!(a->entries = mote_map_new())) {
    mote_free(a);
    return NULL;
  }
  a->store = store;
  pthread_mutex_init(&a->lock, NULL);
  pthread_mutex_init(&a->flush_lock, NULL);
  pthread_cond_init(&a->wake, NULL);
  if (pthread_create(&a->thread, NULL, flush_thread, a) == 0) a->started = true;
  /* Without the thread, readers still flush: accounting stays exact. */
  return a;
}

void accounting_free(srv_accounting *a) {
  if (!a) return;
  if (a->started) {
    pthread_mutex_lock(&a->lock);
    a->stop = true;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
  }
  accounting_flush(a);
  mote_map_iter it = {0};
  void *e;
  while (mote_map_next(a->entries, &it, NULL, &e)) mote_free(e);
  mote_map_free(a->entries);
  pthread_cond_destroy(&a->wake);
  pthread_mutex_destroy(&a->flush_lock);
  pthread_mutex_destroy(&a->lock);
  mote_free(a);
}

void accounting_call(srv_accounting *a, const char *ns, const char *function,
                     srv_acct_kind kind, uint64_t exec_us, uint32_t memory_mib, int64_t now_ms) {
  mote_usage d;
  memset(&d, 0, sizeof d);
  snprintf(d.ns, sizeof d.ns, "%s", ns);
  snprintf(d.function, sizeof d.function, "%s", function);
  if (kind == SRV_ACCT_REFUSED) {
    d.refused = 1;
  } else {
    d.invocations = 1;
    d.errors = kind == SRV_ACCT_FAILED;
    d.exec_us = exec_us;
    d.memory_mib_us = (uint64_t)memory_mib * exec_us;
  }
  d.first_ms = d.last_ms = now_ms;
  pthread_mutex_lock(&a->lock);
  bool ok = add_locked(a, &d);
  pthread_mutex_unlock(&a->lock);
  if (!ok) fprintf(stderr, "mote serve: out of memory: a call of %s not accounted\n", function);
}

json_t *usage_json(const mote_usage *u) {
  return json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:f, s:o, s:o}", "namespace", u->ns,
                   "function", u->function, "invocations", (json_int_t)u->invocations,
                   "errors", (json_int_t)u->errors, "refused", (json_int_t)u->refused,
                   "exec_seconds", (double)u->exec_us / 1e6, "gb_seconds",
                   (double)u->memory_mib_us / 1024.0 / 1e6, "first", json_utc_ms(u->first_ms),
                   "last", json_utc_ms(u->last_ms));
}

enum MHD_Result api_usage(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  const char *ns = r->ns; /* checked in http.c (route_needs_key) */
  const char *function = query_get(r, "function");
  for (size_t i = 0; i < r->nparams; i++)
    if (strcmp(r->params[i].key, "function") != 0)
      return reply_error(c, 400, "bad_query", "unknown query parameter \"%.40s\" (function=NAME)",
                         r->params[i].key);
  accounting_flush(s->acct);
  mote_usage *u = NULL;
  size_t n = 0;
  mote_store_error err;
  if (mote_store_usage_list(s->store, ns, function, &u, &n, &err) != MOTE_STORE_OK)
    return reply_error(c, 500, "store", "%s", err.message);
  mote_usage total;
  memset(&total, 0, sizeof total);
  snprintf(total.ns, sizeof total.ns, "%s", ns);
  json_t *list = json_array();
  for (size_t i = 0; i < n; i++) {
    json_t *one = usage_json(&u[i]);
    json_object_del(one, "namespace");
    json_array_append_new(list, one);
    delta_add(&total, &u[i]);
  }
  free(u);
  json_t *sum = usage_json(&total);
  json_object_del(sum, "function");
  json_object_del(sum, "namespace");
  if (!total.first_ms) {
    json_object_set_new(sum, "first", json_null());
    json_object_set_new(sum, "last", json_null());
  }
  return reply_json(c, 200, json_pack("{s:s, s:o, s:o}", "namespace", ns, "total", sum,
                                      "functions", list));
}
