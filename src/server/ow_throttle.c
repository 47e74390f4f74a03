/*
 * ow_throttle: OpenWhisk's per-namespace invocation limits, with its
 * messages: so many invocations per wall-clock minute (the count starts
 * again at each minute, as OpenWhisk's RateThrottler counts), and so many
 * in flight at once (invoked, not yet finished, blocking or not).
 *
 * One mutex over a short array of namespaces: a namespace is added the
 * first time it invokes (only authenticated callers get here, so the array
 * is bounded by the namespaces the store holds) and never removed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/openwhisk.h"

typedef struct ns_state {
  char ns[MOTE_STORE_NS_MAX + 1];
  int64_t minute;        /* the wall-clock minute counted (Unix ms / 60000) */
  unsigned minute_count; /* invocations in it, refused ones included */
  unsigned in_flight;
} ns_state;

struct ow_throttle {
  pthread_mutex_t lock;
  unsigned per_minute, concurrent;
  ns_state *v;
  size_t n, cap;
};

ow_throttle *ow_throttle_new(unsigned per_minute, unsigned concurrent) {
  ow_throttle *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  pthread_mutex_init(&t->lock, NULL);
  t->per_minute = per_minute;
  t->concurrent = concurrent;
  return t;
}

void ow_throttle_free(ow_throttle *t) {
  if (!t) return;
  pthread_mutex_destroy(&t->lock);
  free(t->v);
  free(t);
}

/* The state of ns, added when missing; NULL when out of memory. Locked. */
static ns_state *find(ow_throttle *t, const char *ns, bool add) {
  for (size_t i = 0; i < t->n; i++)
    if (!strcmp(t->v[i].ns, ns)) return &t->v[i];
  if (!add) return NULL;
  if (t->n == t->cap) {
    size_t want = t->cap ? t->cap * 2 : 8;
    ns_state *grown = realloc(t->v, want * sizeof *grown);
    if (!grown) return NULL;
    t->v = grown;
    t->cap = want;
  }
  ns_state *s = &t->v[t->n++];
  memset(s, 0, sizeof *s);
  snprintf(s->ns, sizeof s->ns, "%s", ns);
  return s;
}

int ow_throttle_enter(ow_throttle *t, const char *ns, int64_t now_ms, char *msg, size_t cap) {
  int rc = 0;
  pthread_mutex_lock(&t->lock);
  ns_state *s = find(t, ns, true);
  if (!s) {
    snprintf(msg, cap, "out of memory");
    rc = 500;
    goto done;
  }
  int64_t minute = now_ms / 60000;
  if (minute != s->minute) {
    s->minute = minute;
    s->minute_count = 0;
  }
  s->minute_count++;
  if (s->minute_count > t->per_minute) {
    snprintf(msg, cap, "Too many requests in the last minute (count: %u, allowed: %u).",
             s->minute_count, t->per_minute);
    rc = 429;
  } else if (s->in_flight >= t->concurrent) {
    snprintf(msg, cap, "Too many concurrent requests in flight (count: %u, allowed: %u).",
             s->in_flight, t->concurrent);
    rc = 429;
  } else {
    s->in_flight++;
  }
done:
  pthread_mutex_unlock(&t->lock);
  return rc;
}

void ow_throttle_leave(ow_throttle *t, const char *ns) {
  pthread_mutex_lock(&t->lock);
  ns_state *s = find(t, ns, false);
  if (s && s->in_flight) s->in_flight--;
  pthread_mutex_unlock(&t->lock);
}
