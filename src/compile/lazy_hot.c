/*
 * The hot tier of lazy objects (lazy.h): the functions a long first call
 * spends its time in, compiled again by the opt tier's compiler while it
 * runs. A lazy batch's bodies count their calls and loop turns down (XL_HOT,
 * in the batch's header: a load, a subtract and a compare on tcc's code,
 * only a load once at 0); a function whose count gets to 0 is queued once
 * (one atomic write: the guest thread may be stopped anywhere), and a
 * thread of its own takes the queue a few functions at a time, translates
 * them as a batch, compiles it with gcc -O2 in a child process (the
 * workers' compile: mote_lazy_worker_compile, in the object's directory of
 * the cache's tmp/), links the object in process with libtcc (lz_tcc_build)
 * and switches the functions' slots to that code. Calls made after it run gcc's code; a call
 * under way finishes on the code it is in (no replacement inside a frame).
 * A batch that fails (gcc failed, was killed, or is missing) leaves its
 * functions on tcc's code, for good.
 *
 * The counts go down to 0 (armed at attach; a function armed at 0 is never
 * counted), by plain subtractions from every thread that runs the code: two
 * threads may lose a count or both see 0, which queues a function a little
 * later, or changes nothing (queued once: CLAIM_HOT). Not every module: gcc
 * and tcc pass some values differently (same_abi_both_ways).
 */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "compile/compile_internal.h"
#include "compile/lazy.h"
#include "compile/lazy_internal.h"
#include "compile/xl.h"
#include "module/module.h"

/* A function is queued once its calls and loop turns reach the threshold
 * times 1 + its size in KiB of wasm: gcc takes ~60 ms for a small function
 * and ~0.1-0.2 ms more per byte (15 s for one of 93 KB), so a big one must
 * have run for longer to be worth it. The default threshold, 1M counts,
 * is some 5-20 ms of tcc's code (measured on Yosys: docs/architecture.md,
 * "The hot tier"). */
#define HOT_AT_DEFAULT (1u << 20)
/* A hot batch: up to this much wasm code and this many functions (one
 * function of any size up to HOT_MAX_FUNCTION); larger functions are not
 * counted and stay on tcc's code (gcc would take more than HOT_SECONDS). */
#define HOT_BATCH_BYTES ((size_t)16 << 10)
#define HOT_BATCH_MAX 32u
#define HOT_MAX_FUNCTION ((size_t)64 << 10)
/* gcc's CPU and wall-clock limit for a hot batch, in seconds (a detach of
 * the object stops it sooner), and what all of an object's batches may
 * take: a module made to keep gcc busy gets one core for this long per
 * load, not for as long as it stays loaded. */
#define HOT_SECONDS 20u
#define HOT_OBJECT_SECONDS 120u /* checked before each batch: one may end past it */

static int hot_at = -1; /* -1: from MOTE_LAZY_HOT */
/* the queue's wake-up: posted by a guest thread (no lock taken in guest
 * code), one token per function queued; running: the thread started */
static sem_t hot_sem;
static bool hot_running;
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

/* Whether gcc's code may call and be called by tcc's in this module: the
 * two pass a struct of mixed integer and float fields (a multi-value
 * result: wasm_multi_*) differently (tcc gives all of it one class of
 * register, gcc one per eightbyte, as the ABI says), and a v128 is left
 * out with them, unproven. */
static bool same_abi_both_ways(const mote_module *m) {
  for (uint32_t t = 0; t < mote_module_type_count(m); t++) {
    const mote_functype *ft = mote_module_type(m, t);
    if (ft->result_count > 1) return false;
    for (uint32_t i = 0; i < ft->param_count; i++)
      if (ft->params[i] == MOTE_V128) return false;
    if (ft->result_count == 1 && ft->results[0] == MOTE_V128) return false;
  }
  return true;
}

bool lz_hot_wanted(const mote_module *m) { return lz_hot_at() && same_abi_both_ways(m); }

bool lz_hot_arm(lazy_state *st) {
  uint64_t at = st->dir[0] && lz_hot_wanted(st->m) ? lz_hot_at() : 0;
  for (uint32_t d = 0; d < st->x.nbodies; d++) {
    size_t size = st->x.body_end[d] - st->x.body_start[d];
    uint64_t n = size > HOT_MAX_FUNCTION ? 0 : at * (1 + size / 1024);
    st->hot[d] = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n; /* 0: never counted */
  }
  return at != 0;
}

/* On a guest thread, in its own code, where a deadline may stop the thread
 * between any two instructions: so the function is queued by one atomic
 * write (CLAIM_HOT, which the hot thread looks for), then the semaphore
 * posted. A thread stopped between the two leaves the function queued
 * without a wake-up: it is taken at the next one (any function's, in any
 * object). */
void lz_hot_reached(void *ctx, uint32_t d) {
  lazy_state *st = ctx;
  if (!__atomic_load_n(&hot_running, __ATOMIC_ACQUIRE) ||
      (__atomic_fetch_or(&st->claimed[d], CLAIM_HOT, __ATOMIC_ACQ_REL) & CLAIM_HOT))
    return;
  sem_post(&hot_sem);
}

/* Defined function d is queued and not taken by a batch yet. */
static bool queued(const lazy_state *st, uint32_t d) {
  return (__atomic_load_n(&st->claimed[d], __ATOMIC_ACQUIRE) & (CLAIM_HOT | CLAIM_HOT_TAKEN)) ==
         CLAIM_HOT;
}

bool lz_hot_pending(const lazy_state *st) {
  for (uint32_t d = 0; d < st->x.nbodies; d++)
    if (queued(st, d)) return true;
  return false;
}

/* Under lz_reg_lock: the functions queued of the object served least lately
 * that has any (every loaded object gets its turn; the scan of its claims
 * is ~35 KB for Yosys), taken (CLAIM_HOT_TAKEN) up to a batch, the object
 * marked busy (its detach waits); false if none. An object past its time
 * has its queue dropped. */
static bool hot_pick(lazy_state **out, uint32_t *members, uint32_t *n) {
  static uint64_t turns;
  lazy_state *pick = NULL;
  for (lazy_state *st = lz_states; st; st = st->next) {
    if (!lz_hot_pending(st)) continue;
    if (st->hot_us > (uint64_t)HOT_OBJECT_SECONDS * 1000000u) {
      for (uint32_t d = 0; d < st->x.nbodies; d++)
        __atomic_or_fetch(&st->claimed[d], CLAIM_HOT_TAKEN, __ATOMIC_RELEASE);
      continue;
    }
    if (!pick || st->hot_turn < pick->hot_turn) pick = st;
  }
  if (!pick) return false;
  const xl_module *x = &pick->x;
  size_t bytes = 0;
  *n = 0;
  for (uint32_t d = 0; d < x->nbodies && *n < HOT_BATCH_MAX; d++) {
    if (!queued(pick, d)) continue;
    size_t size = x->body_end[d] - x->body_start[d];
    if (*n && bytes + size > HOT_BATCH_BYTES) break;
    __atomic_or_fetch(&pick->claimed[d], CLAIM_HOT_TAKEN, __ATOMIC_RELEASE);
    members[(*n)++] = d + x->nimports_func;
    bytes += size;
  }
  pick->hot_turn = ++turns;
  pick->busy++;
  *out = pick;
  return true;
}

/* The compile's stop: the object's last user is freeing it (its detach
 * waits for this batch, which it no longer needs). */
static bool detaching(void *ctx) {
  const lazy_state *st = ctx;
  return __atomic_load_n(&st->detaching, __ATOMIC_ACQUIRE);
}

/* Translates, compiles (gcc) and links members[0..n) of st, and switches
 * their slots: false with msg set on failure. The header is the full one
 * (gcc parses the SIMD helpers it does not use in a few ms, and a wrong
 * guess of lz_header_for would cost a batch). */
static bool hot_batch(lazy_state *st, const uint32_t *members, uint32_t n, char *msg) {
  xl_module hot = st->x; /* gcc compiles this batch: the loops' copies too */
  hot.fast_loops = true;
  const xl_module *x = &hot;
  uint32_t nf = st->lazy->func_count;
  xl_refs refs = {calloc((size_t)nf + 1, 1), calloc((size_t)x->ndata + 1, 1), NULL, 0,
                  malloc(((size_t)nf + 1) * sizeof(uint32_t)), 0};
  xl_error err = {0};
  char *body = NULL, *header = NULL, obj[4200] = "";
  size_t blen = 0;
  void *addr[HOT_BATCH_MAX];
  FILE *o = refs.funcs && refs.data && refs.named ? open_memstream(&body, &blen) : NULL;
  bool ok = o && xl_write_functions(o, x, members, n, &refs, &err);
  if (o && fclose(o) != 0) ok = false;
  if (!ok)
    snprintf(msg, MSG_CAP, "translating: %s", err.message[0] ? err.message : "out of memory");
  if (ok && !(header = lz_hot_header(st->header))) {
    snprintf(msg, MSG_CAP, "out of memory");
    ok = false;
  }
  if (ok)
    ok = mote_lazy_worker_compile(st->dir, MOTE_TIER_OPT, HOT_SECONDS, detaching, st, header,
                                  body, blen, obj, sizeof obj, msg, MSG_CAP);
  if (ok) {
    ok = lz_tcc_build(msg, st, NULL, NULL, 0, obj, false, &refs, members, n, addr) != NULL;
    unlink(obj);
  }
  for (uint32_t i = 0; ok && i < n; i++)
    __atomic_store_n(&st->lazy->slots[members[i] - x->nimports_func], addr[i],
                     __ATOMIC_RELEASE);
  free(body);
  free(header);
  free(refs.funcs);
  free(refs.data);
  free(refs.named);
  return ok;
}

static void *hot_thread(void *arg) {
  (void)arg;
  const bool verbose = getenv("MOTE_LAZY_STATS") != NULL; /* read once: tests set others */
  uint32_t members[HOT_BATCH_MAX], n;
  lazy_state *st;
  for (;;) {
    /* a token per function queued, but a batch takes several: it sleeps
     * only when nothing is queued (the tokens left over wake it for
     * nothing, a scan each) */
    pthread_mutex_lock(&lz_reg_lock);
    bool any = hot_pick(&st, members, &n);
    pthread_mutex_unlock(&lz_reg_lock);
    if (!any) {
      while (sem_wait(&hot_sem) != 0) continue; /* EINTR */
      continue;
    }
    char msg[MSG_CAP] = "";
    uint64_t t0 = mote_now_us();
    bool ok = hot_batch(st, members, n, msg);
    uint64_t us = mote_now_us() - t0;
    __atomic_add_fetch(ok ? &stat_batches : &stat_failed, 1, __ATOMIC_RELAXED);
    if (ok) {
      __atomic_add_fetch(&stat_functions, n, __ATOMIC_RELAXED);
      __atomic_add_fetch(&st->hot_done, n, __ATOMIC_RELAXED);
    }
    if (verbose)
      fprintf(stderr, "mote: hot batch of %u functions (the first %u): %s in %.0f ms%s%s\n", n,
              members[0], ok ? "compiled" : "failed (they stay on the quick tier's code)",
              (double)us / 1e3, ok ? "" : ": ", ok ? "" : msg);
    pthread_mutex_lock(&lz_reg_lock);
    st->hot_us += us;
    lz_batch_over(st);
    pthread_mutex_unlock(&lz_reg_lock);
  }
  return NULL;
}

bool lz_hot_start(const pthread_attr_t *attr) {
  pthread_t t;
  if (sem_init(&hot_sem, 0, 0) != 0 || pthread_create(&t, attr, hot_thread, NULL) != 0)
    return false;
  __atomic_store_n(&hot_running, true, __ATOMIC_RELEASE);
  return true;
}
