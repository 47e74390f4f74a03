/*
 * Lazy objects at run time (lazy.h): attaching a loaded object to its
 * module's bytes, and compiling batches of functions in process with libtcc
 * when their stubs are first called.
 *
 * libtcc 0.9.27 keeps compiler state in globals, so every compile of the
 * process runs on one compiler thread, one batch at a time. A guest thread
 * whose stub finds its slot empty hands the request to that thread and
 * waits, marked as host code (rt/guest.h): a deadline or a cancel that comes
 * meanwhile only marks the thread, and stops the guest when the wait is
 * over; the compile itself runs on the compiler thread's own stack, never on
 * a guest's (which may be nearly exhausted) and never unwound.
 */
#include <errno.h>
#include <fcntl.h>
#include <libtcc.h>
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
#include "compile/xl.h"
#include "module/module.h"
#include "rt/guest.h"
#include "rt/rt.h"

/* A batch: the function a call asked for and its direct callees, breadth
 * first, up to this much wasm code (a function's own is never cut) and this
 * many functions; the background's batches are filled up to BATCH_BYTES
 * with the functions that follow in the index space. */
#define BATCH_BYTES ((size_t)128 << 10)
#define BATCH_MAX 256
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

/* lazy_state.claimed[]: in a batch being compiled now (a call's, the
 * background's or a worker's: a function is compiled once); parked by a
 * worker (its hits count as the workers') */
#define CLAIM_BUSY 1u
#define CLAIM_PARKED 2u

typedef struct code_block {
  void *mem;
  size_t len;
  struct code_block *next;
} code_block;

typedef struct lazy_state {
  const mote_abi_lazy *lazy;
  unsigned refs;
  uint8_t *wasm;
  size_t len;
  mote_module *m;
  xl_module x;
  char *header; /* mod.h's text with abi.h in it */
  char *header_scalar; /* the same without the prelude's SIMD helpers (NULL: none) */
  code_block *code;
  /* per defined function: compiled as filling of a call's batch, not yet
   * called (its slot is empty until then; exchanged atomically) */
  void **parked;
  uint64_t filled, fill_hits; /* atomic */
  /* the background (under reg_lock): it may start once a call compiled a
   * batch; next_bg is the next function it looks at; busy while it works
   * on this state (a detach waits for it) */
  bool called, bg_done;
  uint32_t next_bg;
  unsigned busy;
  /* the workers (under reg_lock but claimed): the functions that batches
   * called directly but left out, breadth first (front: a ring of
   * nbodies; seen: entered it once); claimed: per defined function, in a
   * worker's batch now (atomic); dir: the workers' directory ("" until made) */
  uint32_t *front, front_head, front_len;
  uint8_t *seen, *claimed;
  char dir[4096];
  uint64_t spec_filled, spec_hits; /* atomic */
  struct lazy_state *next;
} lazy_state;

typedef struct request {
  lazy_state *st;
  uint32_t func;
  void *result;
  char msg[512]; /* MSG_CAP */
  bool done;
  struct request *next;
} request;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bg_idle = PTHREAD_COND_INITIALIZER;
static lazy_state *states;

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
static uint64_t stat_batches, stat_functions;
static unsigned waiting;
static bool (*test_hook)(void *);
static void *test_hook_ctx;

/* libtcc keeps its state in globals: every compile and link holds this */
static pthread_mutex_t tcc_lock = PTHREAD_MUTEX_INITIALIZER;
/* The workers (threads, each running one compiler process at a time):
 * work when a batch left callees out, done when a worker's batch is over
 * (both with reg_lock). */
static pthread_cond_t spec_work = PTHREAD_COND_INITIALIZER, spec_done = PTHREAD_COND_INITIALIZER;
static int workers_on = -1; /* -1: from MOTE_LAZY_WORKERS (default on) */
static unsigned long spec_seq;
static uint64_t stat_spec_batches, stat_spec_failed;
static bool (*worker_hook)(void *, uint32_t);
static void *worker_hook_ctx;

mote_lazy_mode mote_lazy_mode_from_env(void) {
  const char *e = getenv("MOTE_QUICK_LAZY");
  if (e && !strcmp(e, "always")) return MOTE_LAZY_ALWAYS;
  if (e && !strcmp(e, "never")) return MOTE_LAZY_NEVER;
  return MOTE_LAZY_AUTO;
}

bool mote_lazy_wanted(const uint8_t *wasm, size_t len) {
  switch (mote_lazy_mode_from_env()) {
    case MOTE_LAZY_ALWAYS: return true;
    case MOTE_LAZY_NEVER: return false;
    default: {
      size_t largest, code = xl_code_section_size(wasm, len, &largest);
      return code >= MOTE_LAZY_MIN_CODE && largest <= MOTE_LAZY_MAX_FUNCTION;
    }
  }
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

/* How many workers a process starts: MOTE_LAZY_WORKERS=N (at most 16), or
 * "cores" for one per core but one (at least one); none by default, since
 * they did not pay where measured (docs/architecture.md, "The first
 * answer"). */
static unsigned worker_count(void) {
  const char *e = getenv("MOTE_LAZY_WORKERS");
  if (!e || !*e) return 0;
  if (!strcmp(e, "cores")) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 2 ? (unsigned)(cpus - 1 > 16 ? 16 : cpus - 1) : 1;
  }
  long n = strtol(e, NULL, 10);
  return n <= 0 ? 0 : n > 16 ? 16 : (unsigned)n;
}

static bool workers_enabled(void) {
  int w = __atomic_load_n(&workers_on, __ATOMIC_RELAXED);
  if (w < 0) {
    w = worker_count() > 0;
    __atomic_store_n(&workers_on, w, __ATOMIC_RELAXED);
  }
  return w;
}

void mote_lazy_set_workers(bool on) {
  pthread_mutex_lock(&reg_lock);
  __atomic_store_n(&workers_on, on ? 1 : 0, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&spec_work);
  pthread_mutex_unlock(&reg_lock);
}

void mote_lazy_test_worker_hook(bool (*hook)(void *ctx, uint32_t func), void *ctx) {
  pthread_mutex_lock(&reg_lock);
  worker_hook = hook;
  worker_hook_ctx = ctx;
  pthread_mutex_unlock(&reg_lock);
}

void mote_lazy_worker_stats(uint64_t *batches, uint64_t *failed) {
  *batches = __atomic_load_n(&stat_spec_batches, __ATOMIC_RELAXED);
  *failed = __atomic_load_n(&stat_spec_failed, __ATOMIC_RELAXED);
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
  pthread_mutex_lock(&reg_lock);
  for (lazy_state *st = states; st; st = st->next)
    if (st->busy || (st->called && !st->bg_done && background_on()) ||
        (st->front_len && workers_enabled() && st->dir[0]))
      settled = false;
  pthread_mutex_unlock(&reg_lock);
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

void mote_lazy_stats(uint64_t *batches, uint64_t *functions) {
  *batches = __atomic_load_n(&stat_batches, __ATOMIC_RELAXED);
  *functions = __atomic_load_n(&stat_functions, __ATOMIC_RELAXED);
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
  mote_lazy_worker_dir_remove(st->dir);
  free(st->header);
  free(st->header_scalar);
  free(st->wasm);
  free(st);
}

/* Replaces the first `what` in *text (of *len bytes) with `with`; false
 * when it is missing or memory ran out (*text is then unchanged). */
static bool replace_first(char **text, size_t *len, const char *what, const char *with) {
  char *at = strstr(*text, what);
  if (!at) return false;
  size_t pre = (size_t)(at - *text), wl = strlen(what), nl = strlen(with);
  char *out = malloc(*len - wl + nl + 1);
  if (!out) return false;
  memcpy(out, *text, pre);
  memcpy(out + pre, with, nl);
  memcpy(out + pre + nl, at + wl, *len - pre - wl + 1);
  free(*text);
  *text = out;
  *len = *len - wl + nl;
  return true;
}

/* wasm-rt.h's text without its #include lines (xl_lazy_libc.h declares
 * what it uses), or NULL (no memory). */
static char *wasm_rt_text(void) {
  const char *in = mote_wasm_rt_header_text;
  char *out = malloc(strlen(in) + 1), *o = out;
  if (!out) return NULL;
  while (*in) {
    const char *eol = strchr(in, '\n');
    size_t n = eol ? (size_t)(eol - in) + 1 : strlen(in);
    if (strncmp(in, "#include <", 10) != 0) {
      memcpy(o, in, n);
      o += n;
    }
    in += n;
  }
  *o = 0;
  return out;
}

/* mod.h as the translator writes it (libtcc compiles from memory), with
 * abi.h's and wasm-rt.h's text where they are included, and xl_lazy_libc.h's
 * few declarations instead of the C library's headers: no file is read. */
static char *header_text(const xl_module *x) {
  char *h = NULL, *rt = wasm_rt_text();
  size_t hl = 0;
  xl_error xerr = {0};
  FILE *f = rt ? open_memstream(&h, &hl) : NULL;
  if (!f) {
    free(rt);
    return NULL;
  }
  bool ok = xl_write_header(f, x, true, &xerr);
  if (fclose(f) != 0 || !ok ||
      !replace_first(&h, &hl, "#include \"abi.h\"\n", mote_abi_header_text) ||
      !replace_first(&h, &hl, "#include <math.h>\n", mote_xl_lazy_libc_text) ||
      !replace_first(&h, &hl, "#include <string.h>\n", "") ||
      !replace_first(&h, &hl, "#include <stdint.h>\n", "") || /* the prelude's */
      !replace_first(&h, &hl, "#include <stdint.h>\n", "") || /* abi.h's */
      !replace_first(&h, &hl, "#include <wasm-rt.h>\n", rt)) {
    free(h);
    free(rt);
    return NULL;
  }
  free(rt);
  return h;
}

/* The header without the prelude's SIMD helpers, which are most of its
 * text (all but the v128 type, which signatures name): what a batch that
 * names nothing of SIMD includes. NULL if they are not found as expected
 * (batches then include the full header) or memory ran out. */
static char *scalar_header(const char *header) {
  static const char mark[] = "} v128;\n";
  const char *helpers = strstr(mote_xl_prelude_text, mark);
  const char *at = strstr(header, mark);
  if (!helpers || !at) return NULL;
  helpers += sizeof mark - 1;
  at += sizeof mark - 1;
  size_t hl = strlen(helpers);
  if (strncmp(at, helpers, hl) != 0) return NULL;
  size_t pre = (size_t)(at - header), rest = strlen(at + hl);
  char *out = malloc(pre + rest + 1);
  if (!out) return NULL;
  memcpy(out, header, pre);
  memcpy(out + pre, at + hl, rest + 1);
  return out;
}

bool mote_lazy_attach(const mote_abi_lazy *lazy, const char *so_path, char *msg, size_t cap) {
  if (lazy->version != MOTE_ABI_LAZY_VERSION) {
    snprintf(msg, cap, "lazy object of version %u, this runtime needs %u", lazy->version,
             MOTE_ABI_LAZY_VERSION);
    return false;
  }
  pthread_mutex_lock(&reg_lock);
  for (lazy_state *s = states; s; s = s->next)
    if (s->lazy == lazy) {
      s->refs++;
      pthread_mutex_unlock(&reg_lock);
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
      snprintf(msg, cap, "%s does not hold the module of %s", path, so_path);
      ok = false;
    }
  }
  mote_module_error merr;
  if (ok && mote_module_read(st->wasm, st->len, &st->m, &merr) != MOTE_MODULE_OK) {
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
             !(st->claimed = calloc(nb, 1)))) {
    snprintf(msg, cap, "out of memory");
    ok = false;
  }
  if (ok) {
    st->x.lazy_bodies = true;
    if (!(st->header = header_text(&st->x))) {
      snprintf(msg, cap, "out of memory translating %s", path);
      ok = false;
    } else {
      st->header_scalar = scalar_header(st->header);
    }
  }
  if (!ok) {
    state_free(st);
    pthread_mutex_unlock(&reg_lock);
    return false;
  }
  if (worker_count() == 0 || !mote_lazy_worker_dir(so_path, st->dir, sizeof st->dir))
    st->dir[0] = 0; /* no workers for it: calls compile everything in process */
  st->lazy = lazy;
  st->refs = 1;
  st->next = states;
  states = st;
  __atomic_store_n(lazy->state, st, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&reg_lock);
  return true;
}

void mote_lazy_detach(const mote_abi_lazy *lazy) {
  pthread_mutex_lock(&reg_lock);
  for (lazy_state **p = &states; *p; p = &(*p)->next) {
    lazy_state *st = *p;
    if (st->lazy != lazy) continue;
    if (--st->refs == 0) {
      *p = st->next;
      while (st->busy) pthread_cond_wait(&bg_idle, &reg_lock);
      if (getenv("MOTE_LAZY_STATS"))
        fprintf(stderr, "mote: lazy object of %u functions: %llu batches, %llu functions compiled "
                "in this process so far (%llu by workers, %llu of their batches failed); this "
                "object filled %llu, of which %llu were called; workers compiled %llu of its "
                "functions, of which %llu were called\n",
                lazy->func_count,
                (unsigned long long)__atomic_load_n(&stat_batches, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&stat_functions, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&stat_spec_batches, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&stat_spec_failed, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->filled, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->fill_hits, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->spec_filled, __ATOMIC_RELAXED),
                (unsigned long long)__atomic_load_n(&st->spec_hits, __ATOMIC_RELAXED));
      /* the object may stay loaded (dlopen counts too): no slot may point
       * at code that is gone */
      for (uint32_t i = 0; i + lazy->import_func_count < lazy->func_count; i++)
        __atomic_store_n(&lazy->slots[i], NULL, __ATOMIC_RELEASE);
      __atomic_store_n(lazy->state, NULL, __ATOMIC_RELEASE);
      state_free(st);
    }
    break;
  }
  pthread_mutex_unlock(&reg_lock);
}

/* ---- compiling a batch (on the compiler thread) --------------------------- */

/* The code of defined function f if it was compiled (installing it if it
 * was parked: its first call), else NULL. */
static void *ready_code(lazy_state *st, uint32_t f) {
  uint32_t d = f - st->lazy->import_func_count;
  void *p = __atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE);
  if (p) return p;
  if ((p = __atomic_exchange_n(&st->parked[d], NULL, __ATOMIC_ACQ_REL))) {
    __atomic_store_n(&st->lazy->slots[d], p, __ATOMIC_RELEASE);
    bool by_worker = __atomic_load_n(&st->claimed[d], __ATOMIC_ACQUIRE) & CLAIM_PARKED;
    __atomic_add_fetch(by_worker ? &st->spec_hits : &st->fill_hits, 1, __ATOMIC_RELAXED);
    return p;
  }
  /* another thread may have installed it between the two loads */
  return __atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE);
}

static bool in_batch(const lazy_state *st, uint32_t f) {
  return __atomic_load_n(&st->claimed[f - st->lazy->import_func_count], __ATOMIC_ACQUIRE) &
         CLAIM_BUSY;
}

/* Compiled, installed or parked, or in a batch being compiled. */
static bool compiled(void *ctx, uint32_t f) {
  const lazy_state *st = ctx;
  uint32_t d = f - st->lazy->import_func_count;
  return __atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE) != NULL ||
         __atomic_load_n(&st->parked[d], __ATOMIC_ACQUIRE) != NULL || in_batch(st, f);
}

/* A batch takes f (claims it) unless it is compiled or taken. */
static bool claim(lazy_state *st, uint32_t f) {
  uint32_t d = f - st->lazy->import_func_count;
  if (__atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE) ||
      __atomic_load_n(&st->parked[d], __ATOMIC_ACQUIRE))
    return false;
  uint8_t old = __atomic_load_n(&st->claimed[d], __ATOMIC_ACQUIRE);
  while (!(old & CLAIM_BUSY))
    if (__atomic_compare_exchange_n(&st->claimed[d], &old, (uint8_t)(old | CLAIM_BUSY), false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return true;
  return false;
}

static bool not_claimable(void *ctx, uint32_t f) { return !claim(ctx, f); }

/* Lets go of the functions a batch took (parked ones stay compiled()). */
static void unclaim(lazy_state *st, const uint32_t *members, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    __atomic_and_fetch(&st->claimed[members[i] - st->lazy->import_func_count],
                       (uint8_t)~CLAIM_BUSY, __ATOMIC_RELEASE);
}

/* How much a call's batch is filled: FILL_BYTES while filling pays. */
static size_t fill_bytes(lazy_state *st) {
  uint64_t filled = __atomic_load_n(&st->filled, __ATOMIC_RELAXED);
  uint64_t hits = __atomic_load_n(&st->fill_hits, __ATOMIC_RELAXED);
  return filled < FILL_TRIAL || hits * FILL_HIT_RATE >= filled ? FILL_BYTES : 0;
}

#define MSG_CAP 512 /* request.msg */

static void on_tcc_error(void *opaque, const char *text) {
  char *msg = opaque;
  if (!msg[0]) snprintf(msg, MSG_CAP, "tcc: %s", text);
}

static void add_sym(TCCState *s, const char *fmt, uint32_t i, const void *addr) {
  char name[32];
  snprintf(name, sizeof name, fmt, i);
  tcc_add_symbol(s, name, addr);
}

/* Compiles `header` and `body` (blen bytes) with libtcc, or links the
 * object file `obj` (then header and body are unused), into fresh memory
 * linked against the object's core, under tcc_lock: the code block (put on
 * st's list), and addr[] the members' code; NULL with msg (MSG_CAP) set. */
static code_block *tcc_build(char *msg, lazy_state *st, const char *header, const char *body,
                             size_t blen, const char *obj, const xl_refs *refs,
                             const uint32_t *members, uint32_t n, void **addr) {
  const mote_abi_lazy *lz = st->lazy;
  size_t hl = obj ? 0 : strlen(header);
  char *text = obj ? NULL : malloc(hl + blen + 1);
  void *mem = MAP_FAILED;
  size_t size = 0;
  code_block *cb = NULL;
  if (!obj && !text) {
    snprintf(msg, MSG_CAP, "out of memory");
    return NULL;
  }
  if (text) {
    memcpy(text, header, hl);
    memcpy(text + hl, body, blen);
    text[hl + blen] = 0;
  }
  pthread_mutex_lock(&tcc_lock);
  TCCState *s = tcc_new();
  if (!s) {
    snprintf(msg, MSG_CAP, "cannot start libtcc");
    goto out;
  }
  tcc_set_error_func(s, msg, on_tcc_error);
  tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
  if ((obj ? tcc_add_file(s, obj) : tcc_compile_string(s, text)) != 0) goto failed;
  for (uint32_t f = 0; f < lz->func_count; f++)
    if (refs->funcs[f]) add_sym(s, "w%u", f, (const void *)lz->funcs[f]);
  for (uint32_t i = 0; i < st->x.ndata; i++)
    if (refs->data[i]) add_sym(s, "xl_d%u", i, lz->data[i]);
  for (uint32_t t = 0; t < lz->type_count; t++) add_sym(s, "xl_ft%u", t, lz->types[t]);
  tcc_add_symbol(s, "xl_table_init", lz->table_init);
  int need = tcc_relocate(s, NULL);
  if (need <= 0) goto failed;
  size = (size_t)need;
  mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    snprintf(msg, MSG_CAP, "no memory for compiled code: %s", strerror(errno));
    goto out;
  }
  if (tcc_relocate(s, mem) < 0) goto failed;
  for (uint32_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "b%u", members[i]);
    if (!(addr[i] = tcc_get_symbol(s, name))) {
      snprintf(msg, MSG_CAP, "libtcc lost function %u", members[i]);
      goto out;
    }
  }
  if (!(cb = malloc(sizeof *cb))) {
    snprintf(msg, MSG_CAP, "out of memory");
    goto out;
  }
  *cb = (code_block){mem, size, st->code};
  st->code = cb;
  mem = MAP_FAILED;
  goto out;
failed:
  if (!msg[0]) snprintf(msg, MSG_CAP, "libtcc failed");
out:
  if (mem != MAP_FAILED) munmap(mem, size);
  if (s) tcc_delete(s);
  pthread_mutex_unlock(&tcc_lock);
  free(text);
  return cb;
}

/* Puts the functions that refs says a batch called, left out and not
 * compiled, on st's frontier for the workers (each function once). */
static void front_push(lazy_state *st, const xl_refs *refs) {
  if (!st->dir[0] || !workers_enabled()) return;
  uint32_t nb = st->lazy->func_count - st->lazy->import_func_count;
  bool any = false;
  pthread_mutex_lock(&reg_lock);
  for (uint32_t k = 0; k < refs->ncalled; k++) {
    uint32_t g = refs->called[k];
    if (g < st->lazy->import_func_count) continue;
    uint32_t d = g - st->lazy->import_func_count;
    if (st->seen[d] || compiled(st, g) || st->front_len == nb) continue;
    st->seen[d] = 1;
    st->front[(st->front_head + st->front_len++) % nb] = d;
    any = true;
  }
  if (any) pthread_cond_broadcast(&spec_work);
  pthread_mutex_unlock(&reg_lock);
}

/* Whether a batch's C names nothing of SIMD (v128 values, xl_v helpers):
 * then it is compiled after the header without the SIMD helpers. */
static bool scalar_only(const char *body, size_t len) {
  return !memmem(body, len, "v128", 4) && !memmem(body, len, "xl_v", 4);
}

/* Compiles r's batch (r->func claimed by the caller, let go here): a
 * call's (its members installed, the filling parked) or the background's
 * (all installed). */
static void compile_batch(request *r, bool for_background) {
  lazy_state *st = r->st;
  const mote_abi_lazy *lz = st->lazy;
  const xl_module *x = &st->x;
  uint32_t nf = lz->func_count, members[BATCH_MAX], n = 0, ncalled = 0;
  xl_refs refs = {calloc((size_t)nf + 1, 1), calloc((size_t)x->ndata + 1, 1),
                  calloc((size_t)nf + 1, sizeof(uint32_t)), 0};
  xl_error xerr = {0};
  char *body = NULL;
  size_t len = 0;
  void *addr[BATCH_MAX];
  code_block *cb = NULL;
  FILE *o = refs.funcs && refs.data && refs.called ? open_memstream(&body, &len) : NULL;
  bool ok = o != NULL;
  if (ok)
    ok = xl_write_batch(o, x, r->func, BATCH_BYTES, for_background ? BATCH_BYTES : fill_bytes(st),
                        BATCH_MAX, not_claimable, st, members, &n, &ncalled, &refs, &xerr);
  if (o && fclose(o) != 0) ok = false;
  if (n == 0) members[n++] = r->func;
  if (!ok) {
    snprintf(r->msg, sizeof r->msg, "translating function %u: %s", r->func,
             xerr.failed ? xerr.message : "out of memory");
    goto out;
  }
  /* the header without SIMD helpers is a guess from names: should it fail,
   * the full one decides */
  if (st->header_scalar && scalar_only(body, len))
    cb = tcc_build(r->msg, st, st->header_scalar, body, len, NULL, &refs, members, n, addr);
  if (!cb) {
    r->msg[0] = 0;
    cb = tcc_build(r->msg, st, st->header, body, len, NULL, &refs, members, n, addr);
  }
  if (!cb) goto out;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t d = members[i] - lz->import_func_count;
    if (i < ncalled || for_background)
      __atomic_store_n(&lz->slots[d], addr[i], __ATOMIC_RELEASE);
    else
      __atomic_store_n(&st->parked[d], addr[i], __ATOMIC_RELEASE);
  }
  if (!for_background) __atomic_add_fetch(&st->filled, n - ncalled, __ATOMIC_RELAXED);
  r->result = addr[0];
  __atomic_add_fetch(&stat_batches, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&stat_functions, n, __ATOMIC_RELAXED);
  if (!for_background) front_push(st, &refs);
out:
  unclaim(st, members, n);
  free(body);
  free(refs.funcs);
  free(refs.data);
  free(refs.called);
}

/* ---- the workers ---------------------------------------------------------- */

/* Under reg_lock: the next function of a frontier that no batch has taken,
 * claimed for a worker's batch, of a state it marks busy; false if none. */
static bool worker_pick(lazy_state **out, uint32_t *root) {
  if (!workers_enabled()) return false;
  for (lazy_state *st = states; st; st = st->next) {
    uint32_t nb = st->lazy->func_count - st->lazy->import_func_count;
    while (st->dir[0] && st->front_len) {
      uint32_t d = st->front[st->front_head];
      st->front_head = (st->front_head + 1) % nb;
      st->front_len--;
      if (claim(st, d + st->lazy->import_func_count)) {
        st->busy++;
        *out = st;
        *root = d + st->lazy->import_func_count;
        return true;
      }
    }
  }
  return false;
}

/* A worker's batch: root (claimed) and its direct callees that no batch
 * has, compiled by a compiler process (lazy_worker.c) and linked here;
 * parked, so a call installs them as it does filled ones. A failure
 * (the compiler failed, was killed, or a hook said so) leaves them to the
 * calls, which compile them in process. */
static void worker_batch(lazy_state *st, uint32_t root) {
  const mote_abi_lazy *lz = st->lazy;
  const xl_module *x = &st->x;
  uint32_t nf = lz->func_count, members[BATCH_MAX], n = 0, ncalled = 0;
  xl_refs refs = {calloc((size_t)nf + 1, 1), calloc((size_t)x->ndata + 1, 1),
                  calloc((size_t)nf + 1, sizeof(uint32_t)), 0};
  xl_error xerr = {0};
  char *body = NULL, msg[MSG_CAP] = "", obj[4200] = "";
  size_t len = 0;
  void *addr[BATCH_MAX];
  code_block *cb = NULL;
  FILE *o = refs.funcs && refs.data && refs.called ? open_memstream(&body, &len) : NULL;
  bool ok = o != NULL;
  if (ok)
    ok = xl_write_batch(o, x, root, BATCH_BYTES, 0, BATCH_MAX, not_claimable, st, members, &n,
                        &ncalled, &refs, &xerr);
  if (o && fclose(o) != 0) ok = false;
  /* on failure n is what it had taken (claimed), let go below */
  pthread_mutex_lock(&reg_lock);
  bool (*hook)(void *, uint32_t) = worker_hook;
  void *hook_ctx = worker_hook_ctx;
  pthread_mutex_unlock(&reg_lock);
  if (ok && hook && !hook(hook_ctx, root)) ok = false;
  if (ok) {
    const char *header =
        st->header_scalar && scalar_only(body, len) ? st->header_scalar : st->header;
    unsigned long seq = __atomic_add_fetch(&spec_seq, 1, __ATOMIC_RELAXED);
    ok = mote_lazy_worker_compile(st->dir, seq, header, body, len, obj, sizeof obj, msg,
                                  sizeof msg);
  }
  if (ok) {
    cb = tcc_build(msg, st, NULL, NULL, 0, obj, &refs, members, n, addr);
    unlink(obj);
  }
  if (cb) {
    for (uint32_t i = 0; i < n; i++) {
      uint32_t d = members[i] - lz->import_func_count;
      __atomic_or_fetch(&st->claimed[d], CLAIM_PARKED, __ATOMIC_RELEASE);
      __atomic_store_n(&st->parked[d], addr[i], __ATOMIC_RELEASE);
    }
    __atomic_add_fetch(&st->spec_filled, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&stat_spec_batches, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&stat_batches, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&stat_functions, n, __ATOMIC_RELAXED);
    front_push(st, &refs);
  } else {
    __atomic_add_fetch(&stat_spec_failed, 1, __ATOMIC_RELAXED);
    if (getenv("MOTE_LAZY_STATS"))
      fprintf(stderr, "mote: a lazy worker's batch of function %u failed (calls compile it): %s\n",
              root, msg[0] ? msg : xerr.failed ? xerr.message : "out of memory");
  }
  if (n == 0) members[n++] = root;
  unclaim(st, members, n);
  free(body);
  free(refs.funcs);
  free(refs.data);
  free(refs.called);
}

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&reg_lock);
  for (;;) {
    lazy_state *st;
    uint32_t root;
    if (!worker_pick(&st, &root)) {
      pthread_cond_wait(&spec_work, &reg_lock);
      continue;
    }
    pthread_mutex_unlock(&reg_lock);
    worker_batch(st, root);
    pthread_mutex_lock(&reg_lock);
    st->busy--;
    pthread_cond_broadcast(&bg_idle);
    pthread_cond_broadcast(&spec_done);
  }
  return NULL;
}

/* The next function the background should compile (its slot empty), of a
 * state it marks busy; false when there is none. */
static bool background_pick(request *r) {
  bool found = false;
  pthread_mutex_lock(&reg_lock);
  for (lazy_state *st = states; st && !found; st = st->next) {
    if (!st->called || st->bg_done) continue;
    const mote_abi_lazy *lz = st->lazy;
    while (st->next_bg < lz->func_count - lz->import_func_count &&
           !claim(st, st->next_bg + lz->import_func_count))
      st->next_bg++; /* compiled, or in a batch (which compiles it) */
    if (st->next_bg + lz->import_func_count >= lz->func_count) {
      st->bg_done = true;
      continue;
    }
    *r = (request){.st = st, .func = st->next_bg + lz->import_func_count};
    st->busy++;
    found = true;
  }
  pthread_mutex_unlock(&reg_lock);
  return found;
}

static void background_done(lazy_state *st, bool failed) {
  pthread_mutex_lock(&reg_lock);
  if (failed) st->bg_done = true; /* calls still compile what they need, and report */
  st->busy--;
  pthread_cond_broadcast(&bg_idle);
  pthread_mutex_unlock(&reg_lock);
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
      pthread_mutex_lock(&reg_lock);
      while (in_batch(r->st, r->func)) pthread_cond_wait(&spec_done, &reg_lock);
      pthread_mutex_unlock(&reg_lock);
      /* a request queued behind another batch may have been compiled by it */
      if ((r->result = ready_code(r->st, r->func))) break;
      if (!claim(r->st, r->func)) continue; /* a worker took it meanwhile */
      pthread_mutex_lock(&q_lock);
      bool (*hook)(void *) = test_hook;
      void *hook_ctx = test_hook_ctx;
      pthread_mutex_unlock(&q_lock);
      if (hook && !hook(hook_ctx)) {
        snprintf(r->msg, sizeof r->msg, "the test hook failed this batch");
        unclaim(r->st, &r->func, 1);
      } else {
        compile_batch(r, false);
      }
      break;
    }
    pthread_mutex_lock(&reg_lock);
    r->st->called = true;
    pthread_mutex_unlock(&reg_lock);
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
  /* the workers; without them calls compile everything here */
  for (unsigned k = 0, n = worker_count(); compiler_started && k < n; k++)
    if (pthread_create(&t, &attr, worker, NULL) != 0) break;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return compiler_started;
}

/* Queues func's batch and waits for it: its code, or NULL with msg set. */
static void *request_batch(const mote_abi_lazy *lazy, uint32_t func, char *msg, size_t cap) {
  request r = {.st = __atomic_load_n(lazy->state, __ATOMIC_ACQUIRE), .func = func};
  if (!r.st || func < lazy->import_func_count || func >= lazy->func_count) {
    snprintf(r.msg, sizeof r.msg, "lazy object not attached");
  } else if ((r.result = ready_code(r.st, func))) {
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
  return code;
}

bool mote_lazy_prepare(const mote_abi_lazy *lazy, uint32_t func, char *msg, size_t cap) {
  if (func < lazy->import_func_count || func >= lazy->func_count) {
    snprintf(msg, cap, "function %u is not a defined function", func);
    return false;
  }
  return request_batch(lazy, func, msg, cap) != NULL;
}
