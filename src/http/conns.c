/*
 * conns: the open connections, and what no one client may do with them.
 *
 * Every connection has an entry from MHD's STARTED notice to its CLOSED one
 * (MHD sends CLOSED before it closes the socket, and both take the table's
 * lock, so a socket the table holds is open: shutting it down from here
 * never hits a descriptor reused by another connection).
 *
 *   the head deadline  A request's head (its line and headers) must be read
 *                      within head_timeout_ms of its first byte. MHD's own
 *                      timeout is of idleness, which every byte resets, so
 *                      a client trickling a head kept a connection for ever.
 *                      The sweeper thread reads, for each idle connection,
 *                      how long ago its socket last received data (TCP_INFO,
 *                      in ms): data received after its last request ended
 *                      (or it opened) are a head begun; once its deadline
 *                      passes before the head is read, the connection is
 *                      shut down. A connection that sends nothing is idle,
 *                      not late: MHD's idle timeout ends it. Only the
 *                      sweeper asks the kernel: a request's start and end
 *                      are two atomic stores on the connection's own entry
 *                      (no lock, no system call on the call path).
 *   the body rate     A request's body must then come at 1 KiB/s on
 *                      average after a grace of head_timeout_ms (as
 *                      Apache's mod_reqtimeout MinRate): a connection
 *                      reading a body counts as handling a request, which
 *                      the head deadline and eviction skip, so a body
 *                      trickled a byte a minute held it for ever (MHD's
 *                      idle timeout is reset by every byte). The
 *                      connection's thread counts the body's bytes (an
 *                      atomic add per chunk MHD hands over) and says when
 *                      it is all read; the sweeper closes one too slow.
 *   room for newcomers MHD accepts up to max_connections plus a reserve;
 *                      a newcomer past max_connections closes the oldest
 *                      connection that is not handling a request (idle, or
 *                      mid-head), so a full server still answers /healthz
 *                      and new clients; only when every connection is
 *                      handling a request does MHD refuse.
 *   clients gone       While a request is handled, a watcher (the call it
 *                      runs) may be set; the sweeper peeks at the socket
 *                      (recv MSG_PEEK, as nginx does), and a client that
 *                      has closed it (EOF, reset) calls the watcher once,
 *                      so a call nobody waits for stops (faas.c ->
 *                      core_call_stop). MHD cannot tell us: a call runs on
 *                      its connection's thread inside the access handler,
 *                      and MHD reads that socket again (and sends
 *                      NOTIFY_CONNECTION's CLOSED, or the completed
 *                      callback) only once the handler has returned. Bytes
 *                      waiting (a pipelined request) mean the client is
 *                      there; a client that shuts down only its sending side
 *                      (half-close) after its request looks gone too.
 *
 * The per-client cap is MHD's (MHD_OPTION_PER_IP_CONNECTION_LIMIT, daemon.c).
 * The sweeper works in batches under the lock, so MHD's thread never waits
 * for a whole pass.
 */
#include <errno.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "base/clock.h"
#include "http/http_internal.h"

#define SWEEP_BATCH 64
/* Data received more than this after a connection became idle are a new
 * head. The kernel's age of the last data is in jiffies (1-10 ms), so data
 * of the request just ended never look newer than that. */
#define HEAD_SLACK_MS 50
/* The least average rate of a request's body, after the head's grace. */
#define BODY_MIN_BYTES_PER_S 1024u

/* req and idle_since_us are written by the connection's thread without the
 * table's lock (a request's start and end); the rest under the lock
 * (watched says, without it, whether gone may be set). */
struct http_conn {
  int fd;
  unsigned slot;                 /* its index in the table */
  _Atomic(http_req *) req;       /* the request handled (head read), else NULL */
  _Atomic uint64_t idle_since_us; /* when it last became idle (or opened) */
  _Atomic uint64_t req_since_us; /* when the request's head was read */
  _Atomic uint64_t body_bytes;   /* of its body, read so far */
  atomic_bool body_read;         /* all of it (or the request has none) */
  uint64_t head_since_us;        /* the sweeper's: first seen mid-head; 0: not */
  uint64_t head_idle_us;         /* the idle_since_us that head_since_us belongs to */
  bool killed;                   /* shut down by the table */
  void (*gone)(void *arg);       /* the watcher of the request handled */
  void *gone_arg;
  atomic_bool watched;           /* gone was set for the request handled */
};

struct http_conns {
  pthread_mutex_t lock;
  pthread_cond_t tick;
  http_conn **slots;             /* capacity entries; NULL: free */
  unsigned capacity, open, max, free_hint;
  unsigned head_timeout_ms;
  uint64_t head_timeouts, body_timeouts, evicted;
  bool stopping;
  pthread_t sweeper;
  bool sweeper_started;
};

/* Milliseconds since fd's socket last received data; UINT32_MAX: unknown. */
static uint32_t last_data_ms(int fd) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  memset(&ti, 0, sizeof ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return UINT32_MAX;
  return ti.tcpi_last_data_recv;
}

static bool busy(http_conn *k) {
  return atomic_load_explicit(&k->req, memory_order_acquire) != NULL;
}

/* Under the lock: ends k's connection (MHD sees it closed and cleans up). */
static void kill_conn(http_conn *k) {
  k->killed = true;
  shutdown(k->fd, SHUT_RDWR);
}

/* Whether the client of a connection handling a request has closed it. */
static bool client_gone(int fd) {
  char b;
  ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;
  if (n == 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

static void sweep_one(http_conns *t, http_conn *k, uint64_t now) {
  if (k->killed) return;
  if (busy(k)) {
    k->head_since_us = 0;
    if (!atomic_load_explicit(&k->body_read, memory_order_acquire)) {
      uint64_t since = atomic_load_explicit(&k->req_since_us, memory_order_acquire);
      uint64_t bytes = atomic_load_explicit(&k->body_bytes, memory_order_relaxed);
      uint64_t allowed = (uint64_t)t->head_timeout_ms * 1000 +
                         bytes * 1000000 / BODY_MIN_BYTES_PER_S;
      if (now > since && now - since > allowed) {
        t->body_timeouts++;
        kill_conn(k);
        return;
      }
    }
    if (k->gone && client_gone(k->fd)) {
      void (*gone)(void *) = k->gone;
      k->gone = NULL;
      gone(k->gone_arg);
    }
    return;
  }
  uint64_t idle = atomic_load_explicit(&k->idle_since_us, memory_order_acquire);
  if (k->head_since_us && k->head_idle_us != idle) k->head_since_us = 0; /* a request since */
  if (!k->head_since_us && now > idle) {
    uint32_t age = last_data_ms(k->fd);
    if (age != UINT32_MAX && (now - idle) / 1000 > (uint64_t)age + HEAD_SLACK_MS) {
      k->head_since_us = now;
      k->head_idle_us = idle;
    }
  }
  if (k->head_since_us && now - k->head_since_us >= (uint64_t)t->head_timeout_ms * 1000) {
    t->head_timeouts++;
    kill_conn(k);
  }
}

static void *sweeper(void *arg) {
  http_conns *t = arg;
  unsigned tick_ms = t->head_timeout_ms / 4;
  if (tick_ms > 1000) tick_ms = 1000;
  if (tick_ms < 10) tick_ms = 10;
  pthread_mutex_lock(&t->lock);
  while (!t->stopping) {
    for (unsigned i = 0; i < t->capacity && !t->stopping; i++) {
      if (i % SWEEP_BATCH == 0 && i) { /* let MHD's thread in */
        pthread_mutex_unlock(&t->lock);
        pthread_mutex_lock(&t->lock);
      }
      if (t->slots[i]) sweep_one(t, t->slots[i], mote_now_us());
    }
    struct timespec until = mote_time_in(CLOCK_MONOTONIC, tick_ms);
    if (!t->stopping) pthread_cond_timedwait(&t->tick, &t->lock, &until);
  }
  pthread_mutex_unlock(&t->lock);
  return NULL;
}

http_conns *conns_new(unsigned max_connections, unsigned head_timeout_ms) {
  http_conns *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->max = max_connections;
  t->capacity = max_connections + HTTP_EVICT_RESERVE;
  t->head_timeout_ms = head_timeout_ms;
  if (!(t->slots = calloc(t->capacity, sizeof *t->slots))) {
    free(t);
    return NULL;
  }
  pthread_mutex_init(&t->lock, NULL);
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&t->tick, &attr);
  pthread_condattr_destroy(&attr);
  if (pthread_create(&t->sweeper, NULL, sweeper, t) != 0) {
    conns_free(t);
    return NULL;
  }
  t->sweeper_started = true;
  return t;
}

void conns_free(http_conns *t) {
  if (!t) return;
  pthread_mutex_lock(&t->lock);
  t->stopping = true;
  pthread_cond_broadcast(&t->tick);
  pthread_mutex_unlock(&t->lock);
  if (t->sweeper_started) pthread_join(t->sweeper, NULL);
  for (unsigned i = 0; i < t->capacity; i++) free(t->slots[i]);
  pthread_cond_destroy(&t->tick);
  pthread_mutex_destroy(&t->lock);
  free(t->slots);
  free(t);
}

/* Under the lock: closes the connection idle the longest (mid-head ones
 * count as idle: they hold nothing the server works on). */
static void evict_one(http_conns *t) {
  http_conn *oldest = NULL;
  for (unsigned i = 0; i < t->capacity; i++) {
    http_conn *k = t->slots[i];
    if (!k || k->killed || busy(k)) continue;
    if (!oldest || atomic_load(&k->idle_since_us) < atomic_load(&oldest->idle_since_us))
      oldest = k;
  }
  if (!oldest) return;
  t->evicted++;
  kill_conn(oldest);
}

http_conn *conns_open(http_conns *t, int fd) {
  http_conn *k = calloc(1, sizeof *k);
  if (!k) return NULL;
  k->fd = fd;
  atomic_init(&k->req, NULL);
  atomic_init(&k->watched, false);
  atomic_init(&k->idle_since_us, mote_now_us());
  atomic_init(&k->req_since_us, 0);
  atomic_init(&k->body_bytes, 0);
  atomic_init(&k->body_read, false);
  pthread_mutex_lock(&t->lock);
  unsigned i = t->free_hint, n = 0;
  while (n < t->capacity && t->slots[i]) {
    i = (i + 1) % t->capacity;
    n++;
  }
  if (n == t->capacity) { /* MHD's limit is the capacity: cannot happen */
    pthread_mutex_unlock(&t->lock);
    free(k);
    return NULL;
  }
  k->slot = i;
  t->slots[i] = k;
  t->free_hint = (i + 1) % t->capacity;
  t->open++;
  unsigned live = 0;
  if (t->open > t->max) {
    /* the ones shut down already are on their way out */
    for (unsigned j = 0; j < t->capacity; j++)
      if (t->slots[j] && !t->slots[j]->killed) live++;
    while (live-- > t->max) evict_one(t);
  }
  pthread_mutex_unlock(&t->lock);
  return k;
}

void conns_close(http_conns *t, http_conn *k) {
  if (!k) return;
  pthread_mutex_lock(&t->lock);
  t->slots[k->slot] = NULL;
  t->open--;
  pthread_mutex_unlock(&t->lock);
  free(k);
}

void conns_request(http_conns *t, http_conn *k, http_req *r) {
  (void)t;
  if (!k) return;
  atomic_store_explicit(&k->req_since_us, mote_now_us(), memory_order_relaxed);
  atomic_store_explicit(&k->body_bytes, 0, memory_order_relaxed);
  atomic_store_explicit(&k->body_read, false, memory_order_relaxed);
  atomic_store_explicit(&k->req, r, memory_order_release);
}

void conns_body(http_conn *k, size_t n) {
  if (k) atomic_fetch_add_explicit(&k->body_bytes, n, memory_order_relaxed);
}

void conns_body_read(http_conn *k) {
  if (k) atomic_store_explicit(&k->body_read, true, memory_order_release);
}

void conns_idle(http_conns *t, http_conn *k) {
  if (!k) return;
  atomic_store_explicit(&k->idle_since_us, mote_now_us(), memory_order_release);
  if (atomic_load(&k->watched)) { /* its watcher must not be called any more */
    pthread_mutex_lock(&t->lock);
    k->gone = NULL;
    atomic_store(&k->watched, false);
    pthread_mutex_unlock(&t->lock);
  }
  atomic_store_explicit(&k->req, NULL, memory_order_release);
}

void http_req_watch(http_req *r, void (*gone)(void *arg), void *arg) {
  http_conn *k = r->hc;
  if (!k) return;
  http_conns *t = r->h->conns;
  pthread_mutex_lock(&t->lock);
  if (atomic_load(&k->req) == r) {
    k->gone = gone;
    k->gone_arg = arg;
    if (gone) atomic_store(&k->watched, true);
  }
  pthread_mutex_unlock(&t->lock);
}

static void stop_for_client(void *stop) {
  core_stop_request(stop, "client gone");
}

void http_req_watch_stop(http_req *r, core_stop *stop) {
  if (stop) http_req_watch(r, stop_for_client, stop);
  else http_req_watch(r, NULL, NULL);
}

void http_req_watch_call(http_req *r, core_call *call) {
  http_req_watch_stop(r, call ? &call->stop : NULL);
}

mote_core_status http_core_deploy(http_req *r, core_deploy_req *req, core_fn **out,
                                  mote_core_error *err) {
  core_stop stop;
  core_stop_init(http_req_core(r), &stop);
  req->stop = &stop;
  http_req_watch_stop(r, &stop);
  mote_core_status st = core_deploy(http_req_core(r), req, out, err);
  http_req_watch_stop(r, NULL);
  req->stop = NULL;
  core_stop_destroy(&stop);
  return st;
}

void conns_figures(http_conns *t, http_conn_figures *out) {
  pthread_mutex_lock(&t->lock);
  out->open = t->open;
  out->head_timeouts = t->head_timeouts;
  out->body_timeouts = t->body_timeouts;
  out->evicted = t->evicted;
  pthread_mutex_unlock(&t->lock);
}
