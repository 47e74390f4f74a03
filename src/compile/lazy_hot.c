/*
 * The hot tier of lazy objects (lazy.h): the functions a long first call
 * spends its time in, compiled again by the opt tier's compiler while it
 * runs. A lazy batch's bodies count their calls and loop turns (XL_HOT, in
 * the batch's header: one add and compare on tcc's code); a function whose
 * count reaches the threshold is queued once, and a thread of its own takes
 * the queue a few functions at a time, translates them as a batch, compiles
 * it with gcc -O2 in a child process (the workers' compile:
 * mote_lazy_worker_compile, in the object's directory of the cache's tmp/),
 * links the object in process with libtcc (lz_tcc_build) and switches the
 * functions' slots to that code. Calls made after it run gcc's code; a call
 * under way finishes on the code it is in (no replacement inside a frame).
 * A batch that fails (gcc failed, was killed, or is missing) leaves its
 * functions on tcc's code, for good.
 *
 * The counts go down to 0 (armed at attach), by plain subtractions from
 * every thread that runs the code: two threads may lose a count or both see
 * 0, which queues a function a little later, or changes nothing (queued
 * once: CLAIM_HOT).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "compile/compile_internal.h"
#include "compile/lazy.h"
#include "compile/lazy_internal.h"
#include "compile/xl.h"
#include "rt/guest.h"

/* A function is queued once its calls and loop turns reach the threshold
 * times 1 + its size in KiB of wasm: gcc takes ~60 ms for a small function
 * and ~0.1-0.2 ms more per byte (15 s for one of 93 KB), so a big one must
 * have run for longer to be worth it. The default threshold, 1M counts,
 * is some 5-20 ms of tcc's code (measured on Yosys: docs/architecture.md,
 * "The hot tier"). */
#define HOT_AT_DEFAULT (1u << 20)
/* A hot batch: up to this much wasm code and this many functions (one
 * function of any size up to HOT_MAX_FUNCTION); larger functions stay on
 * tcc's code (gcc would take more than HOT_SECONDS on them). */
#define HOT_BATCH_BYTES ((size_t)16 << 10)
#define HOT_BATCH_MAX 32u
#define HOT_MAX_FUNCTION ((size_t)64 << 10)
/* gcc's CPU and wall-clock limit for a hot batch, in seconds: a detach of
 * the object waits for it. */
#define HOT_SECONDS 20u

static int hot_at = -1; /* -1: from MOTE_LAZY_HOT */
static pthread_cond_t hot_work = PTHREAD_COND_INITIALIZER;
static uint64_t stat_functions, stat_batches, stat_failed;

unsigned lz_hot_at(void) {
  int at = __atomic_load_n(&hot_at, __ATOMIC_RELAXED);
  if (at < 0) {
    const char *e = getenv("MOTE_LAZY_HOT");
    long v = e && *e ? strtol(e, NULL, 10) : (long)HOT_AT_DEFAULT;
    at = v < 0 ? 0 : v > (1l << 30) ? 1 << 30 : (int)v;
    __atomic_store_n(&hot_at, at, __ATOMIC_RELAXED);
  }
  return (unsigned)at;
}

void mote_lazy_set_hot(unsigned threshold) {
  __atomic_store_n(&hot_at, threshold > (1u << 30) ? 1 << 30 : (int)threshold,
                   __ATOMIC_RELAXED);
}

void mote_lazy_hot_stats(uint64_t *functions, uint64_t *batches, uint64_t *failed) {
  *functions = __atomic_load_n(&stat_functions, __ATOMIC_RELAXED);
  *batches = __atomic_load_n(&stat_batches, __ATOMIC_RELAXED);
  *failed = __atomic_load_n(&stat_failed, __ATOMIC_RELAXED);
}

void lz_hot_arm(lazy_state *st) {
  uint64_t at = lz_hot_at();
  for (uint32_t d = 0; d < st->x.nbodies; d++) {
    uint64_t n = at * (1 + (st->x.body_end[d] - st->x.body_start[d]) / 1024);
    st->hot[d] = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
  }
}

void lz_hot_reached(void *ctx, uint32_t d) {
  lazy_state *st = ctx;
  if (__atomic_fetch_or(&st->claimed[d], CLAIM_HOT, __ATOMIC_ACQ_REL) & CLAIM_HOT) return;
  /* a guest thread, in its own code: a deadline must not stop it while it
   * holds the lock (rt/guest.h) */
  mote_rt_host_enter();
  pthread_mutex_lock(&lz_reg_lock);
  st->hot_q[st->hot_len++] = d; /* each function once: room for all */
  pthread_cond_signal(&hot_work);
  pthread_mutex_unlock(&lz_reg_lock);
  mote_rt_host_leave();
}

bool lz_hot_pending(const lazy_state *st) { return st->hot_next < st->hot_len; }

/* Under lz_reg_lock: the next functions queued of an object, which it marks
 * busy (its detach waits); false if none. */
static bool hot_pick(lazy_state **out, uint32_t *members, uint32_t *n) {
  for (lazy_state *st = lz_states; st; st = st->next) {
    const xl_module *x = &st->x;
    if (!st->dir[0]) st->hot_next = st->hot_len; /* no directory: nowhere to compile */
    size_t bytes = 0;
    *n = 0;
    while (lz_hot_pending(st) && *n < HOT_BATCH_MAX && bytes < HOT_BATCH_BYTES) {
      uint32_t d = st->hot_q[st->hot_next];
      size_t size = x->body_end[d] - x->body_start[d];
      if (size > HOT_MAX_FUNCTION) { /* left on tcc's code */
        st->hot_next++;
        continue;
      }
      if (*n && bytes + size > HOT_BATCH_BYTES) break;
      st->hot_next++;
      members[(*n)++] = d + x->nimports_func;
      bytes += size;
    }
    if (*n) {
      st->busy++;
      *out = st;
      return true;
    }
  }
  return false;
}

/* The compile's stop: the object's last user is freeing it (its detach
 * waits for this batch, which it no longer needs). */
static bool detaching(void *ctx) {
  const lazy_state *st = ctx;
  return __atomic_load_n(&st->detaching, __ATOMIC_ACQUIRE);
}

/* Translates, compiles (gcc) and links members[0..n) of st, and switches
 * their slots: false with msg set on failure. */
static bool hot_batch(lazy_state *st, const uint32_t *members, uint32_t n, char *msg) {
  const xl_module *x = &st->x;
  uint32_t nf = st->lazy->func_count;
  lz_batch *b = calloc(1, sizeof *b);
  char obj[4200] = "";
  void *addr[HOT_BATCH_MAX];
  char *header = NULL;
  bool ok = b != NULL;
  if (ok) {
    b->refs = (xl_refs){calloc((size_t)nf + 1, 1), calloc((size_t)x->ndata + 1, 1), NULL, 0};
    FILE *o = b->refs.funcs && b->refs.data ? open_memstream(&b->body, &b->body_len) : NULL;
    ok = o && xl_write_functions(o, x, members, n, &b->refs, &b->err);
    if (o && fclose(o) != 0) ok = false;
    if (!ok)
      snprintf(msg, MSG_CAP, "translating: %s",
               b->err.message[0] ? b->err.message : "out of memory");
  } else {
    snprintf(msg, MSG_CAP, "out of memory");
  }
  if (ok && !(header = lz_hot_header(lz_header_for(st, b)))) {
    snprintf(msg, MSG_CAP, "out of memory");
    ok = false;
  }
  if (ok)
    ok = mote_lazy_worker_compile(st->dir, MOTE_TIER_OPT, HOT_SECONDS, detaching, st, header,
                                  b->body, b->body_len, obj, sizeof obj, msg, MSG_CAP);
  if (ok) {
    ok = lz_tcc_build(msg, st, NULL, NULL, 0, obj, &b->refs, members, n, addr) != NULL;
    unlink(obj);
  }
  for (uint32_t i = 0; ok && i < n; i++)
    __atomic_store_n(&st->lazy->slots[members[i] - x->nimports_func], addr[i],
                     __ATOMIC_RELEASE);
  if (b) {
    free(b->body);
    free(b->refs.funcs);
    free(b->refs.data);
  }
  free(b);
  free(header);
  return ok;
}

static void *hot_thread(void *arg) {
  (void)arg;
  uint32_t members[HOT_BATCH_MAX], n;
  lazy_state *st;
  pthread_mutex_lock(&lz_reg_lock);
  for (;;) {
    if (!hot_pick(&st, members, &n)) {
      pthread_cond_wait(&hot_work, &lz_reg_lock);
      continue;
    }
    pthread_mutex_unlock(&lz_reg_lock);
    char msg[MSG_CAP] = "";
    uint64_t t0 = mote_now_us();
    bool ok = hot_batch(st, members, n, msg);
    if (getenv("MOTE_LAZY_STATS"))
      fprintf(stderr, "mote: hot batch of %u functions (first %u): %s in %.0f ms\n", n,
              members[0], ok ? "compiled" : "failed", (double)(mote_now_us() - t0) / 1e3);
    __atomic_add_fetch(ok ? &stat_batches : &stat_failed, 1, __ATOMIC_RELAXED);
    if (ok) {
      __atomic_add_fetch(&stat_functions, n, __ATOMIC_RELAXED);
      __atomic_add_fetch(&st->hot_done, n, __ATOMIC_RELAXED);
    } else if (getenv("MOTE_LAZY_STATS")) {
      fprintf(stderr, "mote: a hot batch of %u functions (the first %u) failed (they stay on "
              "the quick tier's code): %s\n", n, members[0], msg);
    }
    pthread_mutex_lock(&lz_reg_lock);
    st->busy--;
    pthread_cond_broadcast(&lz_bg_idle);
  }
  return NULL;
}

bool lz_hot_start(const pthread_attr_t *attr) {
  pthread_t t;
  return pthread_create(&t, attr, hot_thread, NULL) == 0;
}
