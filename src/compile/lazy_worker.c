/*
 * The workers of lazy objects (lazy.h): threads that compile, while calls
 * wait for their own batches on the compiler thread (lazy.c), the functions
 * those batches called directly but left out (a frontier per object,
 * breadth first). A worker's batch is written to a file of the object's
 * worker directory and compiled to an object file by the quick tier's
 * compiler (tcc -c) in a child process under the limits of an eager compile
 * (mote_child_run), so a crash or a runaway of tcc on it is a failed batch,
 * not the process's end; libtcc links the object in process
 * (lz_tcc_build) and its functions are parked.
 */
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/tmpdir.h"
#include "compile/compile.h"
#include "compile/compile_internal.h"
#include "compile/cache.h"
#include "compile/lazy.h"
#include "compile/lazy_internal.h"
#include "compile/toolchain.h"

bool mote_lazy_worker_dir(const char *so_path, char *dir, size_t cap) {
  const char *slash = strrchr(so_path, '/');
  char prefix[MOTE_TMP_PREFIX_MAX], cache[PATH_MAX];
  mote_tmp_prefix(prefix);
  int n = snprintf(cache, sizeof cache, "%.*s", slash ? (int)(slash - so_path) : 1,
                   slash ? so_path : ".");
  /* joined (its lock held) before anything of ours is in tmp/: a process
   * whose lazy object was a cache hit never compiled, so had not joined, and
   * another's clean took the workers' directory for a dead process's */
  if (n < 0 || (size_t)n >= sizeof cache || mote_cache_prepare(cache) != 0) return false;
  n = snprintf(dir, cap, "%s/tmp/%slazy-XXXXXX", cache, prefix);
  if (n < 0 || (size_t)n >= cap) return false;
  return mkdtemp(dir) != NULL;
}

void mote_lazy_worker_dir_remove(const char *dir) {
  if (dir[0]) rmdir(dir); /* its files are removed after each batch */
}

bool mote_lazy_worker_compile(const char *dir, mote_tier tier, unsigned seconds,
                              bool (*stopped)(void *ctx), void *ctx, const char *header,
                              const char *body, size_t blen, char *obj, size_t objcap,
                              char *msg, size_t cap) {
  static unsigned long seq_last; /* the files of every worker and hot batch */
  unsigned long seq = __atomic_add_fetch(&seq_last, 1, __ATOMIC_RELAXED);
  char src[64], name[64], path[PATH_MAX];
  snprintf(src, sizeof src, "b%lu.c", seq);
  snprintf(name, sizeof name, "b%lu.o", seq);
  snprintf(path, sizeof path, "%s/%s", dir, src);
  FILE *f = fopen(path, "we");
  bool ok = f && fputs(header, f) >= 0 && fwrite(body, 1, blen, f) == blen;
  if (f && fclose(f) != 0) ok = false;
  if (!ok) {
    snprintf(msg, cap, "cannot write %s: %s", path, strerror(errno));
    unlink(path);
    return false;
  }
  const char *argv[32];
  /* tcc: no warnings; gcc (which has -w): no temporary files in /tmp, which
   * a gcc killed at its limit or by a detach would leave there */
  mote_tool_obj_argv(tier, src, name, tier == MOTE_TIER_QUICK ? "-w" : "-pipe", argv, 32);
  /* an eager compile's limits but for time: a detach waits for this batch
   * (and for a worker's, a call may be waiting, unable to stop for its
   * deadline), so a compiler that runs away is killed within seconds */
  const mote_compile_options bounded = {.cpu_seconds = seconds, .wall_seconds = seconds,
                                        .stopped = stopped, .stopped_ctx = ctx};
  mote_child_limits limits = mote_compile_limits(&bounded);
  mote_child_result r;
  mote_child_run(argv, dir, &limits, &r);
  unlink(path);
  snprintf(obj, objcap, "%s/%s", dir, name);
  if (r.outcome == MOTE_CHILD_EXITED && r.exit_code == 0) return true;
  mote_child_describe(&r, &limits, msg, cap);
  unlink(obj);
  return false;
}

/* ---- scheduling ------------------------------------------------------------ */

/* A worker's compiler process's CPU and wall-clock limit, in seconds (a
 * call may wait for its batch: a tcc that runs away is killed within
 * seconds, and the calls compile its functions themselves). */
#define WORKER_SECONDS 10u

/* The workers (threads, each running one compiler process at a time):
 * work when a batch left callees out, done when a worker's batch is over
 * (both with lz_reg_lock). */
static pthread_cond_t spec_work = PTHREAD_COND_INITIALIZER, spec_done = PTHREAD_COND_INITIALIZER;
static int workers_on = -1; /* -1: on when the process starts workers */
static uint64_t stat_spec_batches, stat_spec_failed;
static bool (*worker_hook)(void *, uint32_t);
static void *worker_hook_ctx;

/* How many workers a process starts: MOTE_LAZY_WORKERS=N (at most 16), or
 * "cores" for one per core but one (at least one); none by default, since
 * they did not pay where measured (docs/architecture.md, "The first
 * answer"). */
unsigned lz_worker_count(void) {
  const char *e = getenv("MOTE_LAZY_WORKERS");
  if (!e || !*e) return 0;
  if (!strcmp(e, "cores")) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus > 2 ? (unsigned)(cpus - 1 > 16 ? 16 : cpus - 1) : 1;
  }
  long n = strtol(e, NULL, 10);
  return n <= 0 ? 0 : n > 16 ? 16 : (unsigned)n;
}

bool lz_workers_enabled(void) {
  int w = __atomic_load_n(&workers_on, __ATOMIC_RELAXED);
  if (w < 0) {
    w = lz_worker_count() > 0;
    __atomic_store_n(&workers_on, w, __ATOMIC_RELAXED);
  }
  return w;
}

void mote_lazy_set_workers(bool on) {
  pthread_mutex_lock(&lz_reg_lock);
  __atomic_store_n(&workers_on, on ? 1 : 0, __ATOMIC_RELAXED);
  pthread_cond_broadcast(&spec_work);
  pthread_mutex_unlock(&lz_reg_lock);
}

void mote_lazy_test_worker_hook(bool (*hook)(void *ctx, uint32_t func), void *ctx) {
  pthread_mutex_lock(&lz_reg_lock);
  worker_hook = hook;
  worker_hook_ctx = ctx;
  pthread_mutex_unlock(&lz_reg_lock);
}

void mote_lazy_worker_stats(uint64_t *batches, uint64_t *failed) {
  *batches = __atomic_load_n(&stat_spec_batches, __ATOMIC_RELAXED);
  *failed = __atomic_load_n(&stat_spec_failed, __ATOMIC_RELAXED);
}

/* Puts the functions that refs says a batch called, left out and not
 * compiled, on st's frontier for the workers (each function once). */
void lz_front_push(lazy_state *st, const xl_refs *refs) {
  if (!st->dir[0] || !lz_workers_enabled()) return;
  uint32_t nb = st->lazy->func_count - st->lazy->import_func_count;
  bool any = false;
  pthread_mutex_lock(&lz_reg_lock);
  for (uint32_t k = 0; k < refs->ncalled; k++) {
    uint32_t g = refs->called[k];
    if (g < st->lazy->import_func_count) continue;
    uint32_t d = g - st->lazy->import_func_count;
    if (st->seen[d] || lz_compiled(st, g) || st->front_len == nb) continue;
    st->seen[d] = 1;
    st->front[(st->front_head + st->front_len++) % nb] = d;
    any = true;
  }
  if (any) pthread_cond_broadcast(&spec_work);
  pthread_mutex_unlock(&lz_reg_lock);
}

/* ---- the workers ---------------------------------------------------------- */

/* Under lz_reg_lock: the next function of a frontier that no batch has taken,
 * claimed for a worker's batch, of a state it marks busy; false if none. */
static bool worker_pick(lazy_state **out, uint32_t *root) {
  if (!lz_workers_enabled()) return false;
  for (lazy_state *st = lz_states; st; st = st->next) {
    uint32_t nb = st->lazy->func_count - st->lazy->import_func_count;
    while (st->dir[0] && st->front_len) {
      uint32_t d = st->front[st->front_head];
      st->front_head = (st->front_head + 1) % nb;
      st->front_len--;
      if (lz_claim(st, d + st->lazy->import_func_count)) {
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
  char msg[MSG_CAP] = "", obj[4200] = "";
  void *addr[BATCH_MAX];
  code_block *cb = NULL;
  lz_batch *b = malloc(sizeof *b);
  if (!b) {
    lz_unclaim(st, &root, 1);
    return;
  }
  bool ok = lz_translate(st, root, 0, b);
  pthread_mutex_lock(&lz_reg_lock);
  bool (*hook)(void *, uint32_t) = worker_hook;
  void *hook_ctx = worker_hook_ctx;
  pthread_mutex_unlock(&lz_reg_lock);
  if (ok && hook && !hook(hook_ctx, root)) ok = false;
  if (ok) {
    const char *header = lz_header_for(st, b);
    ok = mote_lazy_worker_compile(st->dir, MOTE_TIER_QUICK, WORKER_SECONDS, NULL, NULL,
                                  header, b->body, b->body_len, obj, sizeof obj, msg,
                                  sizeof msg);
  }
  if (ok) {
    cb = lz_tcc_build(msg, st, NULL, NULL, 0, obj, false, &b->refs, b->members, b->n, addr);
    unlink(obj);
  }
  if (cb) {
    for (uint32_t i = 0; i < b->n; i++) {
      uint32_t d = b->members[i] - lz->import_func_count;
      __atomic_or_fetch(&st->claimed[d], CLAIM_PARKED, __ATOMIC_RELEASE);
      __atomic_store_n(&st->parked[d], addr[i], __ATOMIC_RELEASE);
    }
    __atomic_add_fetch(&st->spec_filled, b->n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&stat_spec_batches, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&lz_stat_batches, 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&lz_stat_functions, b->n, __ATOMIC_RELAXED);
    lz_front_push(st, &b->refs);
  } else {
    __atomic_add_fetch(&stat_spec_failed, 1, __ATOMIC_RELAXED);
    if (getenv("MOTE_LAZY_STATS"))
      fprintf(stderr, "mote: a lazy worker's batch of function %u failed (calls compile it): %s\n",
              root, msg[0] ? msg : b->err.message[0] ? b->err.message : "the test hook");
  }
  lz_batch_done(st, b);
  free(b);
}

static void *worker(void *arg) {
  (void)arg;
  pthread_mutex_lock(&lz_reg_lock);
  for (;;) {
    lazy_state *st;
    uint32_t root;
    if (!worker_pick(&st, &root)) {
      pthread_cond_wait(&spec_work, &lz_reg_lock);
      continue;
    }
    pthread_mutex_unlock(&lz_reg_lock);
    worker_batch(st, root);
    pthread_mutex_lock(&lz_reg_lock);
    lz_batch_over(st);
    pthread_cond_broadcast(&spec_done);
  }
  return NULL;
}

void lz_workers_start(const pthread_attr_t *attr) {
  pthread_t t;
  for (unsigned k = 0, n = lz_worker_count(); k < n; k++)
    if (pthread_create(&t, attr, worker, NULL) != 0) break;
}

void lz_wait_for_workers(lazy_state *st, uint32_t f) {
  pthread_mutex_lock(&lz_reg_lock);
  while (lz_in_batch(st, f)) pthread_cond_wait(&spec_done, &lz_reg_lock);
  pthread_mutex_unlock(&lz_reg_lock);
}
