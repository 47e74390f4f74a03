/*
 * Lazy objects at run time (lazy.h): attaching a loaded object to its
 * module's bytes, and compiling batches of functions in process with libtcc
 * (lazy_batch.c) when their stubs are first called; the background; the
 * workers are lazy_worker.c's, the hot tier lazy_hot.c's.
 *
 * libtcc 0.9.27 keeps compiler state in globals, so every compile for a
 * call runs on one compiler thread, one batch at a time (a worker's link
 * takes the same lock). A guest thread
 * whose stub finds its slot empty hands the request to that thread and
 * waits, marked as host code (rt/guest.h): a deadline or a cancel that comes
 * meanwhile only marks the thread, and stops the guest when the wait is
 * over; the compile itself runs on the compiler thread's own stack, never on
 * a guest's (which may be nearly exhausted) and never unwound.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "compile/cache.h"
#include "compile/compile.h"
#include "compile/compile_internal.h"
#include "compile/lazy.h"
#include "compile/lazy_internal.h"
#include "compile/xl.h"
#include "module/module.h"
#include "rt/guest.h"
#include "rt/rt.h"

/* A call's batch is filled up to FILL_BYTES with the functions that follow
 * (without their callees) while that pays: filled functions are parked, not
 * installed, and the first call of one installs it and counts a hit. After
 * FILL_TRIAL filled functions, a module fills only while at least one in
 * FILL_HIT_RATE was called. Measured (docs/architecture.md, "The first
 * answer"): CRuby's start-up runs many neighbours (through tables), Yosys's
 * -V ran 1264 of the 17453 functions the old policy compiled. */
#define FILL_BYTES ((size_t)16 << 10)
#define FILL_TRIAL 256u
#define FILL_HIT_RATE 10u

typedef struct request {
  lazy_state *st;
  uint32_t func;
  void *result;
  char msg[MSG_CAP];
  bool done;
  struct request *next;
} request;

pthread_mutex_t lz_reg_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t lz_bg_idle = PTHREAD_COND_INITIALIZER;
lazy_state *lz_states;

/* The background compiles the rest of a module's functions once no call
 * has asked for a batch for this long (the start-up of a first answer asks
 * for one batch after another: the background must not sit in between). */
#define BACKGROUND_AFTER_NS (100ull * 1000000ull)
static int background = -1; /* -1: from MOTE_QUICK_LAZY_BACKGROUND (default on) */
/* under q_lock: when the last call's batch was done (CLOCK_REALTIME, as the
 * condition variable's waits), and whether the background may have work */
static uint64_t last_call_ns;
static bool bg_maybe;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_work = PTHREAD_COND_INITIALIZER, q_done = PTHREAD_COND_INITIALIZER;
static request *queue_head, *queue_tail;
static bool compiler_started;
uint64_t lz_stat_batches, lz_stat_functions;
static unsigned waiting;
static bool (*test_hook)(void *);
static void *test_hook_ctx;
static void (*test_bg_hook)(void *);
static void *test_bg_hook_ctx;
static void (*test_ready_hook)(void);
/* Under lz_reg_lock: states being detached, out of lz_states, while their
 * detach waits for their background batch (see mote_lazy_attach). */
static lazy_state *lz_leaving;
unsigned lz_attaches_waiting;

mote_lazy_mode mote_lazy_mode_from_env(void) {
  const char *e = getenv("MOTE_QUICK_LAZY");
  if (e && !strcmp(e, "always")) return MOTE_LAZY_ALWAYS;
  if (e && !strcmp(e, "never")) return MOTE_LAZY_NEVER;
  return MOTE_LAZY_AUTO;
}

bool mote_lazy_wanted(const uint8_t *wasm, size_t len) {
#if defined(__x86_64__)
  switch (mote_lazy_mode_from_env()) {
    case MOTE_LAZY_ALWAYS: return true;
    case MOTE_LAZY_NEVER: return false;
    default: {
      size_t largest, declared, code = xl_code_section_size(wasm, len, &largest, &declared);
      return code >= MOTE_LAZY_MIN_CODE && largest <= MOTE_LAZY_MAX_FUNCTION &&
             declared <= MOTE_LAZY_MAX_DECLARED;
    }
  }
#else
  /* the stubs are x86-64 assembly (xl_lazy.c) */
  (void)wasm;
  (void)len;
  return false;
#endif
}

static bool background_on(void) {
  int b = __atomic_load_n(&background, __ATOMIC_RELAXED);
  if (b < 0) {
    const char *e = getenv("MOTE_QUICK_LAZY_BACKGROUND");
    b = !(e && !strcmp(e, "0"));
    __atomic_store_n(&background, b, __ATOMIC_RELAXED);
  }
  return b;
}

void mote_lazy_set_background(bool on) {
  __atomic_store_n(&background, on ? 1 : 0, __ATOMIC_RELAXED);
  pthread_mutex_lock(&q_lock);
  bg_maybe = true;
  pthread_cond_signal(&q_work);
  pthread_mutex_unlock(&q_lock);
}

bool mote_lazy_settled(void) {
  bool settled = true;
  pthread_mutex_lock(&q_lock);
  if (queue_head) settled = false;
  pthread_mutex_unlock(&q_lock);
  pthread_mutex_lock(&lz_reg_lock);
  for (lazy_state *st = lz_states; st; st = st->next)
    if (st->busy || lz_hot_pending(st) || (st->called && !st->bg_done && background_on()) ||
        (st->front_len && lz_workers_enabled() && st->dir[0]))
      settled = false;
  pthread_mutex_unlock(&lz_reg_lock);
  return settled;
}

unsigned mote_lazy_waiting(void) {
  pthread_mutex_lock(&q_lock);
  unsigned n = waiting;
  pthread_mutex_unlock(&q_lock);
  return n;
}

void mote_lazy_test_hook(bool (*hook)(void *ctx), void *ctx) {
  pthread_mutex_lock(&q_lock);
  test_hook = hook;
  test_hook_ctx = ctx;
  pthread_mutex_unlock(&q_lock);
}

void mote_lazy_test_ready_hook(void (*hook)(void)) {
  __atomic_store_n(&test_ready_hook, hook, __ATOMIC_RELEASE);
}

void mote_lazy_test_background_hook(void (*hook)(void *ctx), void *ctx) {
  pthread_mutex_lock(&q_lock);
  test_bg_hook = hook;
  test_bg_hook_ctx = ctx;
  pthread_mutex_unlock(&q_lock);
}

/* Under lz_reg_lock: whether a state of `lazy` is being detached. */
static bool leaving(const mote_abi_lazy *lazy) {
  for (lazy_state *s = lz_leaving; s; s = s->next)
    if (s->lazy == lazy) return true;
  return false;
}

void mote_lazy_stats(uint64_t *batches, uint64_t *functions) {
  *batches = __atomic_load_n(&lz_stat_batches, __ATOMIC_RELAXED);
  *functions = __atomic_load_n(&lz_stat_functions, __ATOMIC_RELAXED);
}

/* ---- attaching ------------------------------------------------------------ */

static void state_free(lazy_state *st) {
  if (!st) return;
  for (code_block *c = st->code, *n; c; c = n) {
    n = c->next;
    munmap(c->mem, c->len);
    free(c);
  }
  xl_module_release(&st->x);
  mote_module_free(st->m);
  free(st->parked);
  free(st->front);
  free(st->seen);
  free(st->claimed);
  free(st->hot);
  mote_lazy_worker_dir_remove(st->dir);
  lz_helpers_free(st->helpers);
  lz_helpers_free(st->helpers_scalar);
  free(st->header);
  free(st->header_scalar);
  free(st->wasm);
  free(st);
}

bool mote_lazy_attach(const mote_abi_lazy *lazy, const char *so_path, char *msg, size_t cap) {
  if (lazy->version != MOTE_ABI_LAZY_VERSION) {
    snprintf(msg, cap, "lazy object of version %u, this runtime needs %u", lazy->version,
             MOTE_ABI_LAZY_VERSION);
    return false;
  }
  pthread_mutex_lock(&lz_reg_lock);
  /* The object loaded again (dlopen's handle and descriptor are the same)
   * while its last detach waits for a background batch: that detach ends
   * by clearing the descriptor's state and slots, which would undo this
   * attach's (every later call: "lazy object not attached"). It goes
   * first. */
  while (leaving(lazy)) {
    lz_attaches_waiting++;
    pthread_cond_wait(&lz_bg_idle, &lz_reg_lock);
    lz_attaches_waiting--;
  }
  for (lazy_state *s = lz_states; s; s = s->next)
    if (s->lazy == lazy) {
      s->refs++;
      pthread_mutex_unlock(&lz_reg_lock);
      return true;
    }
  lazy_state *st = calloc(1, sizeof *st);
  char path[4096], key[65];
  size_t pl = strlen(so_path);
  const char *base = strrchr(so_path, '/');
  base = base ? base + 1 : so_path;
  bool ok = st != NULL;
  if (!ok) snprintf(msg, cap, "out of memory");
  if (ok && (pl < 3 || strcmp(so_path + pl - 3, ".so") != 0 || strlen(base) != 67)) {
    snprintf(msg, cap, "%s: a lazy object must be loaded from the compile cache", so_path);
    ok = false;
  }
  if (ok) {
    snprintf(path, sizeof path, "%.*s.wasm", (int)(pl - 3), so_path);
    if (!(st->wasm = mote_read_file(path, &st->len))) {
      snprintf(msg, cap, "the module bytes of lazy object %s are missing (%s): %s", so_path,
               path, strerror(errno));
      ok = false;
    }
  }
  if (ok) {
    /* the bytes must be the ones the object was built from */
    mote_cache_key(st->wasm, st->len, MOTE_TIER_QUICK, key);
    if (strncmp(base, key, 64) != 0) {
      /* damaged: removed, so that the next compile of the module (a cache
       * hit) writes it again (pipeline.c keep_module_bytes) */
      unlink(path);
      snprintf(msg, cap, "%s does not hold the module of %s (removed: compile it again)", path,
               so_path);
      ok = false;
    }
  }
  mote_module_error merr;
  /* read as the compile read them (the key says these are the bytes), but
   * for the bodies, which it decoded */
  if (ok && mote_module_read_known(st->wasm, st->len, &st->m, &merr) != MOTE_MODULE_OK) {
    snprintf(msg, cap, "reading %s: %s", path, merr.message);
    ok = false;
  }
  if (ok && !xl_module_scan(&st->x, st->m, st->wasm, st->len)) {
    snprintf(msg, cap, "out of memory reading %s", path);
    ok = false;
  }
  if (ok && (mote_module_func_count(st->m) != lazy->func_count ||
             st->x.nimports_func != lazy->import_func_count || st->x.ndata != lazy->data_count ||
             mote_module_type_count(st->m) != lazy->type_count)) {
    snprintf(msg, cap, "%s does not match its lazy object", path);
    ok = false;
  }
  size_t nb = (size_t)lazy->func_count - lazy->import_func_count + 1;
  if (ok && (!(st->parked = calloc(nb, sizeof *st->parked)) ||
             !(st->front = calloc(nb, sizeof *st->front)) || !(st->seen = calloc(nb, 1)) ||
             !(st->claimed = calloc(nb, 1)) || !(st->hot = calloc(nb, sizeof *st->hot)))) {
    snprintf(msg, cap, "out of memory");
    ok = false;
  }
  if (ok) {
    /* the workers' and the hot tier's files; the batches count for the hot
     * tier only where it can compile (a module it takes, a directory) */
    if ((lz_worker_count() > 0 || lz_hot_wanted(st->m)) &&
        !mote_lazy_worker_dir(so_path, st->dir, sizeof st->dir))
      st->dir[0] = 0; /* calls compile everything in process, and no hot tier */
    st->x.lazy_bodies = true;
    bool counting = lz_hot_arm(st);
    if (!(st->header = lz_header_text(&st->x, counting))) {
      snprintf(msg, cap, "out of memory translating %s", path);
      ok = false;
    } else {
      st->header_scalar = lz_scalar_header(st->header);
      st->helpers = lz_helpers_parse(st->header);
      if (st->header_scalar) st->helpers_scalar = lz_helpers_parse(st->header_scalar);
    }
  }
  if (!ok) {
    state_free(st);
    pthread_mutex_unlock(&lz_reg_lock);
    return false;
  }
  /* the object's data segments are the module's own bytes (st->wasm) */
  for (uint32_t i = 0; i < lazy->data_count; i++) lazy->data[i] = st->x.data[i].bytes;
  st->lazy = lazy;
  st->refs = 1;
  st->next = lz_states;
  lz_states = st;
  __atomic_store_n(lazy->state, st, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&lz_reg_lock);
  return true;
}

void mote_lazy_detach(const mote_abi_lazy *lazy) {
  pthread_mutex_lock(&lz_reg_lock);
  for (lazy_state **p = &lz_states; *p; p = &(*p)->next) {
    lazy_state *st = *p;
    if (st->lazy != lazy) continue;
    if (--st->refs == 0) {
      *p = st->next;
      st->next = lz_leaving;
      lz_leaving = st;
      __atomic_store_n(&st->detaching, true, __ATOMIC_RELEASE);
      while (st->busy) pthread_cond_wait(&lz_bg_idle, &lz_reg_lock);
      if (getenv("MOTE_LAZY_STATS")) {
        uint64_t wb, wf;
        mote_lazy_worker_stats(&wb, &wf);
        fprintf(stderr, "mote: lazy object of %u functions: %llu batches, %llu functions compiled "
                "in this process so far (%llu by workers, %llu of their batches failed); this "
                "object filled %llu, of which %llu were called; workers compiled %llu of its "
                "functions, of which %llu were called; %llu run the hot tier's code; in this "
                "process, %llu batches compiled only the whole way (not lean)\n",
                lazy->func_count,
                (unsigned long long)__atomic_load_n(&lz_stat_batches, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&lz_stat_functions, __ATOMIC_RELAXED),
                (unsigned long long)wb, (unsigned long long)wf,
                (unsigned long long)__atomic_load_n(&st->filled, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->fill_hits, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->spec_filled, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->spec_hits, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->hot_done, __ATOMIC_RELAXED),
                (unsigned long long)mote_lazy_cut_misses());
      }
      /* the object may stay loaded (dlopen counts too): no slot may point
       * at code that is gone */
      for (uint32_t i = 0; i + lazy->import_func_count < lazy->func_count; i++)
        __atomic_store_n(&lazy->slots[i], NULL, __ATOMIC_RELEASE);
      for (uint32_t i = 0; i < lazy->data_count; i++) lazy->data[i] = NULL; /* st->wasm's */
      __atomic_store_n(lazy->state, NULL, __ATOMIC_RELEASE);
      for (lazy_state **q = &lz_leaving; *q; q = &(*q)->next)
        if (*q == st) {
          *q = st->next;
          break;
        }
      pthread_cond_broadcast(&lz_bg_idle); /* attaches waiting for it */
      state_free(st);
    }
    break;
  }
  pthread_mutex_unlock(&lz_reg_lock);
}

void lz_batch_over(lazy_state *st) {
  st->busy--;
  pthread_cond_broadcast(&lz_bg_idle); /* a detach waiting for it */
}

/* How much a call's batch is filled: FILL_BYTES while filling pays. */
static size_t fill_bytes(lazy_state *st) {
  uint64_t filled = __atomic_load_n(&st->filled, __ATOMIC_RELAXED);
  uint64_t hits = __atomic_load_n(&st->fill_hits, __ATOMIC_RELAXED);
  return filled < FILL_TRIAL || hits * FILL_HIT_RATE >= filled ? FILL_BYTES : 0;
}

/* Compiles r's batch (r->func claimed by the caller, let go here): a
 * call's (its members installed, the filling parked) or the background's
 * (all installed). */
static void compile_batch(request *r, bool for_background) {
  lazy_state *st = r->st;
  const mote_abi_lazy *lz = st->lazy;
  void *addr[BATCH_MAX];
  code_block *cb = NULL;
  lz_batch *b = malloc(sizeof *b);
  if (!b) {
    snprintf(r->msg, sizeof r->msg, "out of memory");
    lz_unclaim(st, &r->func, 1);
    return;
  }
  if (!lz_translate(st, r->func, for_background ? BATCH_BYTES : fill_bytes(st), b)) {
    snprintf(r->msg, sizeof r->msg, "translating function %u: %s", r->func, b->err.message);
    goto out;
  }
  if (!(cb = lz_compile_batch(r->msg, st, b, addr))) goto out;
  for (uint32_t i = 0; i < b->n; i++) {
    uint32_t d = b->members[i] - lz->import_func_count;
    if (i < b->ncalled || for_background)
      __atomic_store_n(&lz->slots[d], addr[i], __ATOMIC_RELEASE);
    else
      __atomic_store_n(&st->parked[d], addr[i], __ATOMIC_RELEASE);
  }
  if (!for_background) __atomic_add_fetch(&st->filled, b->n - b->ncalled, __ATOMIC_RELAXED);
  r->result = addr[0];
  __atomic_add_fetch(&lz_stat_batches, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&lz_stat_functions, b->n, __ATOMIC_RELAXED);
  if (!for_background) lz_front_push(st, &b->refs);
out:
  lz_batch_done(st, b);
  free(b);
}

/* The next function the background should compile (its slot empty), of a
 * state it marks busy; false when there is none. */
static bool background_pick(request *r) {
  bool found = false;
  pthread_mutex_lock(&lz_reg_lock);
  for (lazy_state *st = lz_states; st && !found; st = st->next) {
    if (!st->called || st->bg_done) continue;
    const mote_abi_lazy *lz = st->lazy;
    while (st->next_bg < lz->func_count - lz->import_func_count &&
           !lz_claim(st, st->next_bg + lz->import_func_count))
      st->next_bg++; /* compiled, or in a batch (which compiles it) */
    if (st->next_bg + lz->import_func_count >= lz->func_count) {
      st->bg_done = true;
      continue;
    }
    *r = (request){.st = st, .func = st->next_bg + lz->import_func_count};
    st->busy++;
    found = true;
  }
  pthread_mutex_unlock(&lz_reg_lock);
  return found;
}

static void background_done(lazy_state *st, bool failed) {
  pthread_mutex_lock(&lz_reg_lock);
  if (failed) st->bg_done = true; /* calls still compile what they need, and report */
  lz_batch_over(st);
  pthread_mutex_unlock(&lz_reg_lock);
}

static void *compiler(void *arg) {
  (void)arg;
  pthread_mutex_lock(&q_lock);
  for (;;) {
    if (!queue_head) {
      /* idle: the background, once no call asked for a while */
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
      if (bg_maybe && background_on() && now_ns < last_call_ns + BACKGROUND_AFTER_NS) {
        uint64_t at = last_call_ns + BACKGROUND_AFTER_NS;
        struct timespec until = {(time_t)(at / 1000000000ull), (long)(at % 1000000000ull)};
        pthread_cond_timedwait(&q_work, &q_lock, &until);
        continue;
      }
      if (!bg_maybe || !background_on()) {
        pthread_cond_wait(&q_work, &q_lock);
        continue;
      }
      pthread_mutex_unlock(&q_lock);
      request bg;
      bool any = background_pick(&bg);
      if (any) {
        pthread_mutex_lock(&q_lock);
        void (*hook)(void *) = test_bg_hook;
        void *hook_ctx = test_bg_hook_ctx;
        pthread_mutex_unlock(&q_lock);
        if (hook) hook(hook_ctx);
        compile_batch(&bg, true);
        background_done(bg.st, bg.result == NULL);
      }
      pthread_mutex_lock(&q_lock);
      if (!any) bg_maybe = false;
      continue;
    }
    request *r = queue_head;
    queue_head = r->next;
    if (!queue_head) queue_tail = NULL;
    pthread_mutex_unlock(&q_lock);
    for (;;) {
      /* a worker's batch has it: wait for that instead of compiling it
       * twice (if the worker fails, it is compiled here) */
      lz_wait_for_workers(r->st, r->func);
      /* a request queued behind another batch may have been compiled by it */
      if ((r->result = lz_ready_code(r->st, r->func))) break;
      pthread_mutex_lock(&q_lock);
      bool (*hook)(void *) = test_hook;
      void *hook_ctx = test_hook_ctx;
      pthread_mutex_unlock(&q_lock);
      if (hook && !hook(hook_ctx)) {
        snprintf(r->msg, sizeof r->msg, "the test hook failed this batch");
        break;
      }
      if (!lz_claim(r->st, r->func)) continue; /* a worker took it meanwhile */
      compile_batch(r, false);
      break;
    }
    pthread_mutex_lock(&lz_reg_lock);
    r->st->called = true;
    pthread_mutex_unlock(&lz_reg_lock);
    struct timespec done_at;
    clock_gettime(CLOCK_REALTIME, &done_at);
    pthread_mutex_lock(&q_lock);
    last_call_ns = (uint64_t)done_at.tv_sec * 1000000000ull + (uint64_t)done_at.tv_nsec;
    bg_maybe = true;
    r->done = true;
    pthread_cond_broadcast(&q_done);
  }
  return NULL;
}

/* Starts the compiler thread once; it blocks every signal (deadlines and
 * cancels are the guest threads' own). */
static bool start_compiler(void) {
  if (compiler_started) return true;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, (size_t)16 << 20);
  compiler_started = pthread_create(&t, &attr, compiler, NULL) == 0;
  /* the hot tier's thread (without it, hot functions stay on tcc's code)
   * and the workers (without them, calls compile everything here) */
  if (compiler_started) {
    lz_hot_start(&attr);
    lz_workers_start(&attr);
  }
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return compiler_started;
}

/* Queues func's batch and waits for it: its code, or NULL with msg set. */
static void *request_batch(const mote_abi_lazy *lazy, uint32_t func, char *msg, size_t cap) {
  request r = {.st = __atomic_load_n(lazy->state, __ATOMIC_ACQUIRE), .func = func};
  if (!r.st || func < lazy->import_func_count || func >= lazy->func_count) {
    snprintf(r.msg, sizeof r.msg, "lazy object not attached");
  } else if ((r.result = lz_ready_code(r.st, func))) {
    /* parked by an earlier batch: installed now */
  } else {
    pthread_mutex_lock(&q_lock);
    if (start_compiler()) {
      if (queue_tail) queue_tail->next = &r;
      else queue_head = &r;
      queue_tail = &r;
      pthread_cond_signal(&q_work);
      waiting++;
      while (!r.done) pthread_cond_wait(&q_done, &q_lock);
      waiting--;
    } else {
      snprintf(r.msg, sizeof r.msg, "cannot start the compiler thread");
    }
    pthread_mutex_unlock(&q_lock);
  }
  if (!r.result) snprintf(msg, cap, "%s", r.msg);
  return r.result;
}

void *mote_lazy_ready(const mote_abi_lazy *lazy, uint32_t func) {
  mote_rt_host_enter();
  char msg[512];
  void *code = request_batch(lazy, func, msg, sizeof msg);
  if (!code) {
    fprintf(stderr, "mote: compiling function %u lazily failed: %s\n", func, msg);
    mote_rt_raise(MOTE_TRAP_RESOURCE, 0);
  }
  mote_rt_host_leave();
  void (*hook)(void) = __atomic_load_n(&test_ready_hook, __ATOMIC_ACQUIRE);
  if (hook) hook();
  return code;
}

bool mote_lazy_prepare(const mote_abi_lazy *lazy, uint32_t func, char *msg, size_t cap) {
  if (func < lazy->import_func_count || func >= lazy->func_count) {
    snprintf(msg, cap, "function %u is not a defined function", func);
    return false;
  }
  return request_batch(lazy, func, msg, cap) != NULL;
}
