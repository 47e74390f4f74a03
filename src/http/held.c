/*
 * budget: the response bytes held at once, for every connection together,
 * and each client address's share of them.
 *
 * A response is held from the moment it is queued (http_queue) to its
 * request's end (daemon.c's completed callback): MHD keeps its body until
 * the client has taken the last byte. A client that reads slowly, or not at
 * all, holds its response that long (at most MHD's idle timeout,
 * HTTP_IDLE_TIMEOUT_S, without any progress: then the connection is closed
 * and the rest of that reply is lost to a client that did not read for a
 * minute). Past the budget, a call waits before it runs for the bytes held
 * to drop (back-pressure, up to HTTP_BUDGET_WAIT_MS), then is refused with
 * 503 and Retry-After: a call that has run is never dropped, and a
 * response queued is delivered whole to a client that reads.
 *
 * A call's response size is known only at its end, so the calls let in and
 * not answered yet (pending) count as the largest response seen lately
 * each (`guess`, decaying by a sixteenth at each smaller one): a burst of
 * calls cannot all pass the check before any of their responses is held.
 * Calls let in while the guess was small may each add one larger response
 * past the budget (bounded by the instances alive, --instances).
 *
 * One client address may hold at most a share of the budget
 * (1/HTTP_BUDGET_CLIENT_SHARE) in large responses (HTTP_BUDGET_LARGE bytes
 * or more; its pending calls count while the guess is large): past it, its
 * own calls wait and are refused, and the others' go on, so a single client
 * that does not read cannot spend the whole budget and shut everyone out.
 *
 * The call path pays a few atomic additions per request; the lock (and the
 * map of clients) is taken for large responses and for waiters only. A
 * release wakes waiters only when someone waits: seq_cst on both counters,
 * so either the release sees the waiter or the waiter sees the bytes
 * released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/map.h"
#include "http/http_internal.h"

typedef struct held_client {
  uint64_t held;                 /* in large responses */
  unsigned pending;              /* calls let in, counted while the guess was large */
} held_client;

bool held_init(http_budget *b, uint64_t limit) {
  memset(b, 0, sizeof *b);
  atomic_init(&b->held, 0);
  atomic_init(&b->large, 0);
  atomic_init(&b->pending, 0);
  atomic_init(&b->guess, 0);
  atomic_init(&b->waiters, 0);
  atomic_init(&b->refused, 0);
  b->limit = limit;
  b->share = limit / HTTP_BUDGET_CLIENT_SHARE;
  if (!(b->clients = mote_map_new())) return false;
  pthread_mutex_init(&b->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&b->drop, &attr);
  pthread_condattr_destroy(&attr);
  return true;
}

void held_destroy(http_budget *b) {
  if (!b->clients) return;
  mote_map_iter it = {0};
  void *v;
  while (mote_map_next(b->clients, &it, NULL, &v)) free(v);
  mote_map_free(b->clients);
  b->clients = NULL;
  pthread_cond_destroy(&b->drop);
  pthread_mutex_destroy(&b->lock);
}

/* Under the lock: client's entry, made if need be (NULL: out of memory). */
static held_client *client_of(http_budget *b, const char *client) {
  held_client *c = mote_map_get(b->clients, client);
  if (!c && (c = calloc(1, sizeof *c)) && mote_map_put(b->clients, client, c, NULL) != 0) {
    free(c);
    c = NULL;
  }
  return c;
}

/* Under the lock: forgets an entry that holds nothing. */
static void client_tidy(http_budget *b, const char *client, held_client *c) {
  if (c && !c->held && !c->pending) free(mote_map_remove(b->clients, client));
}

static void wake(http_budget *b) {
  if (!atomic_load(&b->waiters)) return;
  pthread_mutex_lock(&b->lock);
  pthread_cond_broadcast(&b->drop);
  pthread_mutex_unlock(&b->lock);
}

/* What stops a call of client now (the lock held when client is set). */
static held_verdict verdict(http_budget *b, const char *client) {
  uint64_t held = atomic_load(&b->held), pending = atomic_load(&b->pending);
  uint64_t guess = atomic_load(&b->guess);
  if ((held || pending) && held + (pending + 1) * guess > b->limit) return HELD_FULL;
  if (!client) return HELD_OK;
  const held_client *c = mote_map_get(b->clients, client);
  if (c && (c->held || c->pending) &&
      c->held + (uint64_t)(c->pending + (guess >= HTTP_BUDGET_LARGE)) * guess > b->share)
    return HELD_CLIENT_FULL;
  return HELD_OK;
}

/* Under the lock when client is set: lets the call in. */
static void enter(http_budget *b, http_budget_ticket *t, const char *client) {
  atomic_fetch_add(&b->pending, 1);
  t->pending = true;
  t->client_pending = false;
  if (client && atomic_load(&b->guess) >= HTTP_BUDGET_LARGE) {
    held_client *c = client_of(b, client);
    if (c) {
      c->pending++;
      t->client_pending = true;
      snprintf(t->client, sizeof t->client, "%s", client);
    }
  }
}

bool held_open(http_budget *b) {
  /* No client can be past its share while all large responses together are
   * not and no pending call counts per client (the guess is small). */
  return verdict(b, NULL) == HELD_OK && atomic_load(&b->large) <= b->share &&
         atomic_load(&b->guess) < HTTP_BUDGET_LARGE;
}

void held_enter_open(http_budget *b, http_budget_ticket *t) { enter(b, t, NULL); }

held_verdict held_enter(http_budget *b, http_budget_ticket *t, const char *client,
                            unsigned ms) {
  struct timespec until = mote_time_in(CLOCK_MONOTONIC, ms);
  pthread_mutex_lock(&b->lock);
  atomic_fetch_add(&b->waiters, 1);
  int rc = 0;
  held_verdict v;
  while ((v = verdict(b, client)) != HELD_OK && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&b->drop, &b->lock, &until);
  atomic_fetch_sub(&b->waiters, 1);
  if (v == HELD_OK) enter(b, t, client);
  pthread_mutex_unlock(&b->lock);
  if (v != HELD_OK) atomic_fetch_add(&b->refused, 1);
  return v;
}

/* The call let in is answered (or ends): it no longer counts as pending. */
static void leave(http_budget *b, http_budget_ticket *t) {
  if (!t->pending) return;
  t->pending = false;
  atomic_fetch_sub(&b->pending, 1);
  if (t->client_pending) {
    t->client_pending = false;
    pthread_mutex_lock(&b->lock);
    held_client *c = mote_map_get(b->clients, t->client);
    if (c) {
      c->pending--;
      client_tidy(b, t->client, c);
    }
    pthread_mutex_unlock(&b->lock);
  }
}

void held_take(http_budget *b, http_budget_ticket *t, uint64_t n, const char *client) {
  if (t->held) return; /* one response per request */
  if (t->pending) { /* a call's response: the guess learns its size */
    uint64_t g = atomic_load(&b->guess);
    atomic_store(&b->guess, n >= g ? n : g - g / 16);
    leave(b, t);
  }
  if (!n) {
    wake(b);
    return;
  }
  t->held = n;
  atomic_fetch_add(&b->held, n);
  t->client_held = false;
  if (n >= HTTP_BUDGET_LARGE && client && *client) {
    pthread_mutex_lock(&b->lock);
    held_client *c = client_of(b, client);
    if (c) { /* out of memory: counted in the whole only */
      c->held += n;
      atomic_fetch_add(&b->large, n);
      t->client_held = true;
      snprintf(t->client, sizeof t->client, "%s", client);
    }
    pthread_mutex_unlock(&b->lock);
  }
  wake(b); /* a pending call became held: the guess may have changed */
}

void held_end(http_budget *b, http_budget_ticket *t) {
  leave(b, t);
  if (!t->held) {
    wake(b);
    return;
  }
  atomic_fetch_sub(&b->held, t->held);
  if (t->client_held) {
    pthread_mutex_lock(&b->lock);
    held_client *c = mote_map_get(b->clients, t->client);
    if (c) {
      c->held -= t->held;
      client_tidy(b, t->client, c);
    }
    atomic_fetch_sub(&b->large, t->held);
    pthread_mutex_unlock(&b->lock);
  }
  t->held = 0;
  t->client_held = false;
  wake(b);
}

void held_figures(http_budget *b, http_budget_figures *out) {
  out->held = atomic_load(&b->held);
  out->limit = b->limit;
  out->share = b->share;
  out->refused = atomic_load(&b->refused);
  out->pending = atomic_load(&b->pending);
}
