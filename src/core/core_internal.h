/* Internal to src/core: shared between its files and its tests, not an API. */
#ifndef MOTE_CORE_INTERNAL_H
#define MOTE_CORE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/core.h"
#include "base/clock.h"
#include "base/hash.h"
#include "compile/compile.h"
#include "rt/rt.h"

typedef struct core_registry core_registry;
typedef struct core_admit core_admit;
typedef struct core_startup core_startup;
typedef struct core_admit_fn core_admit_fn; /* one function's admission state, owned by core_admit */
typedef struct core_quota core_quota;
typedef struct core_accounting core_accounting;
typedef struct core_metrics core_metrics;
typedef struct core_fn_metrics core_fn_metrics; /* one function's counters, owned by core_metrics */
typedef struct core_identity core_identity;
typedef struct core_loader core_loader;
typedef struct core_exec core_exec;

/* ---- versions (registry.c) -------------------------------------------------- */

/* A compiled tier of a version, loaded, with the snapshot its calls start
 * from (NULL when the module cannot be snapshotted: calls then instantiate
 * and run mote_init themselves). */
typedef struct core_image {
  mote_rt_module *module;
  mote_rt_snapshot *snap;
  mote_tier tier;
  bool snap_kept;               /* snap came from the store (snapstore.c): no initialisation ran */
  char keep_key[MOTE_HASH_HEX]; /* snap to be kept under this key once the version is stored
                                 * (snapstore_keep); "" when nothing waits */
  /* A base image whose version's opt tier serves drops its snapshot (one
   * snapshot per version: issue 14): `users` calls hold it (fn_image_take),
   * `retired` once opt is published; the last of them frees snap. */
  atomic_uint users;
  atomic_bool retired, snap_freed;
  /* What snap is charged to the node's init memory (budget.c); freed with it. */
  struct core_budget *budget;
  uint64_t budget_bytes;
} core_image;

/* ---- the node's memory for initialised versions (budget.c) ---------------------- */

typedef struct core_budget core_budget;
typedef struct core_budget_figures {
  uint64_t cap, used, reserved; /* bytes */
} core_budget_figures;
uint64_t budget_default_bytes(void); /* half the machine's memory */
core_budget *budget_new(uint64_t cap);  /* cap 0: budget_default_bytes; NULL: out of memory */
void budget_free(core_budget *b);
/* Reserves `bytes` for an initialisation about to run: false (nothing
 * reserved) when it does not fit; *now gets the figures either way. */
bool budget_reserve(core_budget *b, uint64_t bytes, core_budget_figures *now);
/* A reservation ended: `reserved` returned, `used` charged (either 0). */
void budget_settle(core_budget *b, uint64_t reserved, uint64_t used);
void budget_release(core_budget *b, uint64_t used); /* b NULL or used 0: nothing */
void budget_figures(core_budget *b, core_budget_figures *out);
/* img->snap's image charged to b (recorded in img), and given back. */
void image_charge(core_image *img, core_budget *b);
void image_uncharge(core_image *img);

/* A function's key in the core's maps: "namespace/name" ('/' is in
 * neither name). */
#define CORE_FN_KEY_MAX (MOTE_STORE_NS_MAX + 1 + CORE_NAME_MAX + 1)
/* Writes the key of (ns, name); false when either is not a valid name (no
 * map holds such a key). */
bool core_fn_key(const char *ns, const char *name, char out[CORE_FN_KEY_MAX]);
/* The namespace and name of a key (for figures). */
void core_fn_key_split(const char *key, char ns[MOTE_STORE_NS_MAX + 1],
                       char name[CORE_NAME_MAX + 1]);

/* One function (namespace, name), made by its first deploy and kept until
 * the core closes (so the handles below never dangle, and counters of a
 * deleted function stay monotone). */
typedef struct core_entry {
  char key[CORE_FN_KEY_MAX];            /* "ns/name": the registry's key */
  char ns[MOTE_STORE_NS_MAX + 1];
  char name[CORE_NAME_MAX + 1];
  core_fn *current;                     /* the registry's reference; NULL once deleted */
  _Atomic(core_admit_fn *) admit;       /* made on the first call */
  _Atomic(core_fn_metrics *) metrics;   /* made on the first call counted */
} core_entry;

/* The opt tier of a version: loaded at deploy (its object was cached), being
 * built in the background, ready, or failed (the quick tier serves on). */
enum { CORE_OPT_AT_DEPLOY = 0, CORE_OPT_BUILDING, CORE_OPT_READY, CORE_OPT_FAILED };

/* One loaded version. Reference-counted: the registry holds one while it is
 * current, every call in flight one, the opt-tier worker one. The last
 * release frees it (and its modules). */
struct core_fn {
  atomic_uint refs;
  mote_function_version rec;       /* owned: cleared at free */
  core_entry *entry;               /* its name's entry (set when it is made current) */
  core_image base;                 /* loaded at deploy (quick tier, or opt if cached) */
  _Atomic(core_image *) opt;       /* set once when the opt tier is ready (from malloc) */
  /* written by the opt worker: opt_error first, then the state (release) */
  atomic_int opt_state;
  char opt_error[400];             /* why the build failed (CORE_OPT_FAILED) */
  /* The version's files (a bundle's), read-only at the guest's "/": wasi-libc's
   * cwd is "/", so "/weights.bin" and "weights.bin" both name one. */
  char *files_dir;                 /* DIR/files/<hash>; NULL: none */
  mote_wasi_preopen files_root;    /* points at files_dir */
  _Atomic(struct core_ext *) ext;  /* an API's decoded record (core_fn_extension) */
};

typedef struct core_ext {
  void *value;
  void (*drop)(void *value);
} core_ext;

core_registry *registry_new(void);
void registry_free(core_registry *r); /* drops the registry's references */
/* The current version of function (ns, name) with a reference taken, or
 * NULL. */
core_fn *registry_acquire(core_registry *r, const char *ns, const char *name);
/* Makes fn current for its (namespace, name) (its entry made on first
 * sight) and sets fn->entry: takes over the caller's reference, drops the
 * one of the version it replaces. MOTE_CORE_NO_MEMORY (fn released) when no
 * entry can be made, MOTE_CORE_INVALID when its record's names are not. */
mote_core_status registry_put(core_registry *r, core_fn *fn);
/* Removes function (ns, name); false when it was not served. */
bool registry_remove(core_registry *r, const char *ns, const char *name);
unsigned registry_count(core_registry *r);

void fn_release(core_fn *fn);
/* What a new call should run: opt when ready, else base. Only for a look
 * that reads no snapshot; a call (or anything reading img->snap) takes the
 * image and gives it back. */
const core_image *fn_image(core_fn *fn);
const core_image *fn_image_take(core_fn *fn);
void fn_image_give(core_fn *fn, const core_image *img);
/* After fn's opt image is published: its base snapshot is freed once no
 * call holds it (new calls run opt). */
void fn_retire_base(core_fn *fn);
void image_clear(core_image *img);
/* The invocation settings every run of a version shares: module or
 * snapshot, memory, timeout, env, its files. The caller adds argv, stdio,
 * caps. */
void fn_invoke_config(const core_fn *fn, const core_image *img, mote_invoke_config *cfg);

/* ---- loading (loader.c) ------------------------------------------------------- */

/* Loads a version of function (ns, name) with settings st (fn->rec takes
 * the record over later): compiles (opt if cached, else quick), loads,
 * checks the imports, then, with its files at files_dir (NULL: none), runs
 * its initialisation once and snapshots it. OK with *out (one reference)
 * and *need_opt when the opt tier is still to be built. */
/* How an initialisation runs, by who asked for it (issue 14). A deploy's
 * is bounded: the node's init memory must hold it (budget.c: else
 * INIT_MEMORY before it runs), it takes an execution slot like a call of the
 * function (waiting in admission's queue: QUEUE_FULL, QUEUE_TIMEOUT), and
 * `stop` (may be NULL) stops it when its deploy is abandoned (CANCELLED).
 * The load at open and a cluster's apply (CORE_PREP_UNBOUNDED) are charged
 * to the budget but never refused, and take no slot; an opt build checks
 * the budget only. */
typedef struct core_prep {
  bool check_budget;
  bool take_slot;
  core_stop *stop;
} core_prep;
#define CORE_PREP_UNBOUNDED ((const core_prep *)NULL)

mote_core_status fn_load(mote_core *c, const char *ns, const char *name, const uint8_t *wasm,
                         size_t len, const mote_function_settings *st, const char *files_dir,
                         const core_prep *prep, core_fn **out, bool *need_opt,
                         mote_core_error *err);

/* Runs the image's initialisation once (start function, mote_init) and
 * keeps its snapshot in img->snap, charged to the node's init memory. OK,
 * or INIT_FAILED / INIT_HOST with the tail of what it printed on stderr, or
 * a refusal of prep's bounds (above). fn's settings are read from fn->rec;
 * (ns, name) is the function's, for admission. */
mote_core_status fn_prepare(mote_core *c, const core_fn *fn, core_image *img, const char *ns,
                            const char *name, const core_prep *prep, mote_core_error *err);

/* ---- kept snapshots (snapstore.c) --------------------------------------------- */

/* fn_prepare through the store: the snapshot kept for function (ns, name)
 * for exactly this compiled object (so_path, compile_key) and these inputs
 * of the initialisation (name, fn's settings and files) when there is a
 * good one (then
 * img->snap_kept, and no initialisation runs), else fn_prepare and its
 * snapshot to be kept for the next start: at once when `keep_now` (the
 * version is stored: an opt build), else when snapstore_keep is called
 * (fn_load: only a version the store accepted may replace the kept snapshot
 * of its name). A kept snapshot that is damaged or made for anything else is
 * never used: the initialisation runs again and its snapshot replaces it (a
 * line on stderr says why). Nothing is loaded or kept when the core was
 * opened with no_kept_snapshots. Returns as fn_prepare. */
mote_core_status snapstore_prepare(mote_core *c, const core_fn *fn, core_image *img,
                                   const char *so_path, const char *compile_key,
                                   const char *ns, const char *name, bool keep_now,
                                   const core_prep *prep, mote_core_error *err);
/* Keeps fn's base snapshot if it waits for it; fn->rec is the record of the
 * version the store accepted (a deploy's, or one loaded at start). */
void snapstore_keep(mote_core *c, core_fn *fn);

/* The sweeper (sweeper.c): a thread calling core_sweep every `every_s`
 * seconds until sweeper_free. NULL when it cannot start (no sweeps then). */
typedef struct core_sweeper core_sweeper;
core_sweeper *sweeper_new(mote_core *c, unsigned every_s);
void sweeper_free(core_sweeper *w);

/* The opt-tier worker: one thread, a FIFO of versions to build. */
core_loader *loader_new(mote_core *c); /* NULL when out of memory */
/* Queues the opt-tier build of fn (takes a reference and a copy of the
 * bytes; out of memory: the quick tier serves on). */
void loader_queue_opt(core_loader *l, core_fn *fn, const uint8_t *wasm, size_t len);
/* Drops the queue; the build in progress finishes (bounded by the compile
 * limits), so no compiler outlives the core. */
void loader_free(core_loader *l);

/* ---- admission (admit.c): execution slots, bounded fair queues ------------- */

typedef enum core_admit_status {
  CORE_ADMITTED = 0,
  CORE_ADMIT_QUEUED,               /* admit_submit: waiting; its grant callback will run */
  CORE_REFUSED_CONCURRENCY,        /* the function's concurrency limit is reached */
  CORE_REFUSED_QUEUE_FULL,         /* the queue is full */
  CORE_REFUSED_FUNCTION_QUEUE_FULL, /* the function's share of it is full */
  CORE_REFUSED_TIMEOUT,            /* no slot within the queue timeout */
  CORE_ADMIT_NO_MEMORY,            /* not a refusal: the caller answers 500 */
  CORE_ADMIT_CANCELLED,            /* admit_enter: stopped while it waited (admit_stop) */
} core_admit_status;

/* The answer of admit_enter and admit_submit. */
typedef struct core_admission {
  core_admit_status status;
  core_admit_fn *fn;      /* ADMITTED (or granted later): the call's function */
  void *run;              /* ADMITTED: the call alive; give it back with admit_leave */
  uint64_t wait_us;       /* admit_enter: the time it waited */
  unsigned retry_after_s; /* refused: seconds until a retry is likely to succeed, >= 1 */
  unsigned limit;         /* refused: the limit reached (a count, or ms for a timeout) */
} core_admission;

/* `workers` CPU slots, `max_alive` calls alive at once (at least
 * `workers`), at most `queue_max` waiting calls, each waiting at most
 * `timeout_ms` (calls that wait with a thread). NULL when out of memory. */
core_admit *admit_new(unsigned workers, unsigned max_alive, unsigned queue_max,
                      unsigned timeout_ms);
void admit_free(core_admit *a); /* no call may be inside */
/* How long a call holds its CPU slot while others wait (CORE_CPU_QUANTUM_US
 * by default); UINT64_MAX: to its end, and sleeping calls keep it too. */
void admit_set_quantum(core_admit *a, uint64_t quantum_us);
/* The waiting calls a function may have when its max_queue is 0. */
unsigned admit_fn_queue_default(const core_admit *a);
/* The state of function (ns, name), made on first sight and kept until
 * admit_free; NULL when out of memory or a name is not valid. */
core_admit_fn *admit_fn(core_admit *a, const char *ns, const char *name);
/* Takes a slot for a call of f, waiting for one if need be, or refuses it.
 * max_concurrency 0: no limit; max_queue 0: admit_fn_queue_default;
 * timeout_ms: the call's own time limit (0: unknown), for Retry-After. */
void admit_enter(core_admit *a, core_admit_fn *f, uint32_t max_concurrency, uint32_t max_queue,
                 uint32_t timeout_ms, core_admission *out);
/* The same, stoppable: once admit_stop(stop) is called, a call waiting (or
 * about to) leaves the queue at once with CORE_ADMIT_CANCELLED; one granted
 * already keeps its slot. stop may be NULL. */
void admit_enter_stoppable(core_admit *a, core_admit_fn *f, uint32_t max_concurrency,
                           uint32_t max_queue, uint32_t timeout_ms, core_admit_stop *stop,
                           core_admission *out);
/* Any thread: stops a wait of admit_enter_stoppable (now or later). */
void admit_stop(core_admit *a, core_admit_stop *stop);
/* The same without waiting: ADMITTED (t->run set), QUEUED (t->grant runs,
 * under the admission lock, when a slot is handed over, with t->run set; a
 * queued ticket does not time out), or a refusal. t->timeout_ms as above. */
void admit_submit(core_admit *a, core_admit_fn *f, uint32_t max_concurrency, uint32_t max_queue,
                  core_admit_ticket *t, core_admission *out);
/* Takes a queued ticket out of the queue, counting it as refused for the
 * queue timeout: true when it was still waiting (its grant will not run),
 * false when it has been granted meanwhile. out gets the refusal. */
bool admit_cancel(core_admit *a, core_admit_fn *f, core_admit_ticket *t, core_admission *out);
/* A call alive that stops computing for a while (a sleep in the host)
 * gives its CPU slot back, keeping its instance; it runs on without one. */
void admit_yield(core_admit *a, void *run);
/* The call is over: its instance (and CPU slot, if it holds one) to the
 * calls waiting; run_us, its whole run, feeds the Retry-After estimates. */
void admit_leave(core_admit *a, core_admission *adm, uint64_t run_us);
/* A snapshot: totals and, per function, running and waiting (*fns from
 * malloc, NULL when none or out of memory). */
void admit_stats(core_admit *a, core_figures *out);

/* ---- per-namespace limits (quota.c) -------------------------------------------- */

typedef enum core_quota_status {
  CORE_QUOTA_OK = 0,
  CORE_QUOTA_RATE,       /* the namespace's invocations per minute are used up */
  CORE_QUOTA_CONCURRENT, /* the namespace has its limit of calls in flight */
  CORE_QUOTA_NO_MEMORY,  /* not a refusal */
} core_quota_status;

typedef struct core_quota_verdict {
  core_quota_status status;
  unsigned count, allowed; /* refused: the count reached and the limit */
  unsigned retry_after_s;  /* refused: when a retry may succeed, >= 1 */
} core_quota_verdict;

/* Limits of 0: none. store (may be NULL) holds the per-namespace ones. */
core_quota *quota_new(mote_store *store, uint32_t default_per_minute, uint32_t default_concurrent);
void quota_free(core_quota *q);
/* This process's share of every limit: part `index` of `count` (a cluster's
 * nodes; count 0 or 1: all of it). */
void quota_share(core_quota *q, unsigned index, unsigned count);
/* The limits of ns are read again at its next call. */
void quota_stale(core_quota *q, const char *ns);
/* Admits a call of namespace `ns` (counting it in both limits) or refuses
 * it; an admitted call must be followed by quota_leave when it is over. */
void quota_enter(core_quota *q, const char *ns, int64_t now_ms, core_quota_verdict *v);
void quota_leave(core_quota *q, const char *ns);
/* OpenWhisk's message for a refusal. */
void quota_message(const core_quota_verdict *v, char *msg, size_t cap);

/* ---- accounting (accounting.c) ---------------------------------------------------- */

typedef enum core_acct_kind {
  CORE_ACCT_OK,      /* ran and succeeded */
  CORE_ACCT_FAILED,  /* ran and failed */
  CORE_ACCT_REFUSED, /* refused before running (429) */
} core_acct_kind;

/* Starts the flushing thread. NULL when out of memory. */
core_accounting *accounting_new(mote_store *store);
void accounting_free(core_accounting *a); /* flushes what is pending */
/* Counts one call; memory_mib is the function's memory limit. */
void accounting_call(core_accounting *a, const char *ns, const char *function,
                     core_acct_kind kind, uint64_t exec_us, uint32_t memory_mib, int64_t now_ms);
bool accounting_flush(core_accounting *a);

/* ---- metrics (metrics.c) ------------------------------------------------------------- */

core_metrics *metrics_new(void);
void metrics_free(core_metrics *m);
/* The counters of function (ns, name), made on first sight, kept until
 * metrics_free; NULL when out of memory or a name is not valid. */
core_fn_metrics *metrics_fn(core_metrics *m, const char *ns, const char *name);
/* Records one call of f. `t` is NULL for a call that never ran (429, out
 * of memory): it counts, but in no histogram. f NULL: nothing. */
typedef struct core_call_times {
  uint64_t wait_us, init_us, exec_us;
} core_call_times;
void metrics_call(core_metrics *m, core_fn_metrics *f, unsigned status, core_class cls,
                  const core_call_times *t);
void metrics_in_flight(core_metrics *m, int delta); /* +1 / -1 around a run */
void metrics_deploy(core_metrics *m, bool ok);
/* A call stopped by core_call_stop: while it waited, or while it ran. */
void metrics_cancelled(core_metrics *m, bool running);
void metrics_opt_build(core_metrics *m, bool ok);
void metrics_swept(core_metrics *m, uint64_t blobs, uint64_t file_sets, uint64_t bytes);
/* A call refused by admission (st a CORE_REFUSED_*); count it with metrics_call too. */
void metrics_refused(core_metrics *m, core_fn_metrics *f, core_admit_status st);
/* The counters into out (fns, in_flight, deploys, opt builds). */
bool metrics_figures(core_metrics *m, core_figures *out);

/* ---- credentials (identity.c) ----------------------------------------------------------- */

core_identity *identity_new(void); /* NULL when out of memory */
void identity_free(core_identity *id);
/* uuid:key through the cache, then the store; now_ms for the expiry. */
mote_core_status identity_check(core_identity *id, mote_store *store, const char *uuid,
                                const char *key, int64_t now_ms,
                                char ns_out[MOTE_STORE_NS_MAX + 1]);
void identity_forget(core_identity *id, const char *uuid);

/* ---- background calls (exec.c) ------------------------------------------------------------ */

/* `threads` executors (at least 1). NULL when out of memory or none starts. */
core_exec *exec_new(unsigned threads);
/* Hands an admitted call to an executor (never blocks, never fails: the
 * call holds a slot, so at most `workers` are ready at once). */
void exec_ready(core_exec *e, core_call *call);
/* Waits until `pending` (a count the caller's queue keeps: calls accepted
 * not finished) is 0, then stops the executors. */
void exec_free(core_exec *e);
/* Accepted calls not finished yet: +1 at submit, -1 when the job returns. */
void exec_pending(core_exec *e, int delta);

/* ---- the core --------------------------------------------------------------------------- */

struct mote_core {
  char data_dir[PATH_MAX];
  int data_lock; /* DATA/serve.lock, flocked for the core's life: one server per directory */
  char cache_dir[PATH_MAX];
  unsigned workers;
  unsigned max_alive;           /* calls alive at once (admission) */
  bool keep_snapshots; /* load and keep functions' snapshots in the store (snapstore.c) */
  mote_store *store;
  core_identity *identity;
  core_registry *reg;
  core_metrics *metrics;
  core_admit *admit;
  core_quota *quota;
  core_accounting *acct;
  core_loader *loader;
  core_exec *exec;
  core_startup *startup;        /* the load at open; NULL when out of memory */
  core_budget *budget;          /* the node's memory for initialised versions */
  core_sweeper *sweeper;        /* NULL: no periodic sweeps */
  unsigned sweep_grace_s;
  /* The clocks at the open or the last sweep: a sweep after the wall clock
   * jumped (mtimes compare with it) is skipped. Under ops_lock. */
  int64_t sweep_wall_ms;
  uint64_t sweep_mono_us;
  /* Held while ops are set (core_cluster_attach) and while the sweep calls
   * a hook of theirs: a room detaching waits for it. */
  pthread_mutex_t ops_lock;
  unsigned queue_timeout_ms;
  pthread_mutex_t deploy_lock; /* orders store writes with registry swaps */
  /* A node of a cluster (apply.c): */
  bool cluster;                /* opened as one (mote_core_config.cluster) */
  char id_tag[9];              /* activation ids carry it; "" when none */
  core_cluster_ops ops;        /* set once by core_cluster_attach; zero: none */
  pthread_mutex_t state_lock;
  core_cluster_state state;
};

/* apply.c: makes fn (loaded, with a record of its own) current under the
 * deploy lock, which the caller holds, unless a later version of its name
 * (same owner) is: false then (fn is the caller's still). Takes the
 * caller's reference when true. */
bool apply_make_current(mote_core *c, core_fn *fn);


/* ---- the load at open (startup.c) ------------------------------------------------ */

/* Lists every stored version and starts `threads` threads (at least 1, at
 * most one per version) preparing them and making each current (as a
 * deploy would, unless deleted or superseded meanwhile). NULL when out of
 * memory (nothing is then served until a deploy). */
core_startup *startup_new(mote_core *c, unsigned threads);
/* Waits until every version is prepared (or given up). */
void startup_wait(core_startup *s);
/* Stops taking versions, joins the threads (the versions in preparation
 * finish, bounded by the compile and init limits), frees. NULL: nothing. */
void startup_free(core_startup *s);
/* Whether a version of (ns, name) listed at open is not prepared yet (and
 * the function was not deleted since). */
bool startup_preparing(core_startup *s, const char *ns, const char *name);
/* (ns, name) was deleted: not "preparing" any more, and its versions not
 * taken yet are skipped (one in preparation finds its record gone). */
void startup_forget(core_startup *s, const char *ns, const char *name);
/* Versions not prepared yet, and listed at open. */
void startup_counts(core_startup *s, unsigned *pending, unsigned *total);

mote_core_status core_fail(mote_core_error *err, mote_core_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A store refusal in the core's words. */
mote_core_status core_store_fail(mote_core_error *err, const mote_store_error *se);
/* Whether the data directory's disk has less than CORE_DISK_LOW_BYTES free
 * (*avail: the bytes free; false when it cannot be read). */
bool core_disk_low(const mote_core *c, uint64_t *avail);

#endif /* MOTE_CORE_INTERNAL_H */
