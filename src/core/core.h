/*
 * core: the platform without a transport. Functions loaded and served
 * (registry, loader, deploy and delete), the path of one call (namespace
 * limits, admission, the run, its record, metrics, accounting), the key
 * cache, bundles. The one header the rooms above it see: http/ (the HTTP
 * facades) and openwhisk/ now, a cluster room later, which reuses the
 * loader without HTTP. Nothing here speaks HTTP: errors are a
 * mote_core_status plus a message (http/status.c maps them to statuses and
 * bodies), and no core file includes libmicrohttpd's header or jansson's.
 *
 *   core.c        open (store, parts, every stored function loaded) and close
 *   registry.c    name -> entry (admission and metrics handles, kept to the
 *                 end) -> the current version, reference-counted
 *   loader.c      a version compiled, loaded, initialised and snapshotted;
 *                 the opt-tier worker
 *   snapstore.c   snapshots kept in the store, so a restart runs no
 *                 initialisation again
 *   budget.c      the node's memory for initialised versions (--init-memory):
 *                 a deploy whose mote_init may not fit is refused
 *   deploy.c      deploy, delete and the load at start: the one holder of the
 *                 deploy lock
 *   call.c        one call: limits, admission, run, record, counts; the
 *                 outcome -> class map; calls run in the background (exec.c)
 *   exec.c        the threads that run background calls once admitted
 *   apply.c       what a cluster room drives: versions decided elsewhere made
 *                 current here, its commits of deploys and deletes, its state
 *   admit.c quota.c accounting.c metrics.c identity.c bundle.c
 *
 * Ownership: a core_fn is reference-counted (core_fn_acquire, the deploy's
 * *out: each reference is the caller's to release). Strings a call of the
 * core returns point into objects the caller holds, unless said otherwise.
 * Threads: every function may be called from any thread.
 */
#ifndef MOTE_CORE_H
#define MOTE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/compile.h"
#include "invoke/invoke.h"
#include "store/store.h"

/* ---- limits and defaults of the platform (the transport has its own) ---- */

#define CORE_NAME_MAX 64                 /* bytes of a function name (mote_store_valid_name) */
#define CORE_MAX_MODULE (64u << 20)      /* bytes of a module */
#define CORE_BUNDLE_MAX_FILE (64u << 20) /* bytes of one file of a bundle, extracted */
#define CORE_BUNDLE_MAX_TOTAL (256u << 20) /* bytes of all files of a bundle, extracted */
#define CORE_BUNDLE_MAX_ENTRIES 10000    /* entries of a bundle: files and directories */
#define CORE_BUNDLE_MAX_PATH 1024        /* bytes of a bundle entry's path (the store's bound) */
#define CORE_BUNDLE_MODULE "main.wasm"   /* the module's name at a bundle's root */
#define CORE_MAX_ENV 1024                /* env settings of a function */
#define CORE_DEFAULT_MEMORY_MIB 256
#define CORE_DEFAULT_TIMEOUT_MS 30000
#define CORE_INIT_TIMEOUT_MS 60000       /* a version's initialisation (mote_init), once */
#define CORE_STDOUT_CAP (16u << 20)      /* a call's stdout */
#define CORE_STDERR_CAP (1u << 20)
#define CORE_EXCERPT 1024                /* bytes of stdout/stderr in an activation */
#define CORE_ACTIVATION_RETAIN 1000      /* activations kept per function */
#define CORE_DEFAULT_QUEUE_PER_WORKER 8  /* the queue's default: 8 waiting calls per worker */
#define CORE_DEFAULT_QUEUE_TIMEOUT_MS 5000
#define CORE_SWEEP_EVERY_S 3600 /* the store swept of unnamed bytes once an hour */
/* Bytes put or held (or a deleted version's files: calls in flight read
 * them) within the last two hours stay: longer than any call (timeout at
 * most an hour) and any deploy's compile and initialisation. */
#define CORE_SWEEP_GRACE_S 7200
#define CORE_DEFAULT_ALIVE_PER_WORKER 16 /* calls alive at once: 16 per worker, at least 32 */
/* A call holds its CPU slot at most this long while others wait; then it
 * runs on without one (core/admit.c). */
#define CORE_CPU_QUANTUM_US 20000
#define CORE_QUANTUM_OFF 0xffffffffu
/* Below this much free space on the data directory's disk, a failed write
 * (a compile's above all: the tools' messages vary) is a full disk. */
#define CORE_DISK_LOW_BYTES (4u << 20)
/* A namespace's limits are re-read from the store this long after the last
 * read, so a change made beside a running server applies within it. */
#define CORE_QUOTA_REFRESH_MS 5000

/* ---- errors ---------------------------------------------------------------- */

/* What went wrong, in the core's words; http/status.c has the one table that
 * turns each into an HTTP status and an error code. */
typedef enum mote_core_status {
  MOTE_CORE_OK = 0,
  MOTE_CORE_NO_MEMORY,
  MOTE_CORE_NOT_FOUND,          /* no such function */
  MOTE_CORE_INVALID,            /* a name or setting the store refused */
  MOTE_CORE_STORE,              /* the store failed */
  MOTE_CORE_FILES,              /* a bundle's files could not be stored */
  MOTE_CORE_BAD_BUNDLE,         /* an archive refused: the entry is named */
  MOTE_CORE_MALFORMED_MODULE,   /* compile: not a valid binary */
  MOTE_CORE_UNSUPPORTED_MODULE, /* compile: a feature mote does not run */
  MOTE_CORE_INVALID_MODULE,     /* compile: fails validation */
  MOTE_CORE_COMPILE_LIMIT,      /* compile: over a limit of the toolchain */
  MOTE_CORE_COMPILE_FAILED,     /* compile: the host's toolchain failed */
  MOTE_CORE_LOAD_FAILED,        /* the compiled object cannot be loaded */
  MOTE_CORE_UNSUPPORTED_IMPORT, /* an import WASI does not provide */
  MOTE_CORE_INIT_FAILED,        /* the function's initialisation failed (its fault) */
  MOTE_CORE_INIT_HOST,          /* its initialisation could not be set up (the host's fault) */
  MOTE_CORE_UNAVAILABLE,        /* the cluster cannot commit a change now (its etcd unreachable) */
  MOTE_CORE_TOO_LARGE,          /* a record too large for the cluster's records */
  /* a call refused (counted already where it was refused) */
  MOTE_CORE_NS_RATE,            /* the namespace's invocations per minute */
  MOTE_CORE_NS_CONCURRENCY,     /* the namespace's calls in flight */
  MOTE_CORE_CONCURRENCY_LIMIT,  /* the function's concurrency setting */
  MOTE_CORE_QUEUE_FULL,         /* every worker busy and the queue full */
  MOTE_CORE_FUNCTION_QUEUE_FULL, /* the function's share of the queue full */
  MOTE_CORE_QUEUE_TIMEOUT,      /* no worker within the queue timeout */
  /* credentials (core_identify) */
  MOTE_CORE_AUTH_MISSING,       /* none given */
  MOTE_CORE_AUTH_MALFORMED,     /* not uuid:key */
  MOTE_CORE_AUTH_UNKNOWN,       /* no key with that uuid */
  MOTE_CORE_AUTH_REJECTED,      /* the key exists, the secret is wrong */
  MOTE_CORE_AUTH_ERROR,         /* the key store failed */
  /* a write (the store, a bundle's files, the compile cache) failed for want
   * of disk space: the message says which disk and what failed */
  MOTE_CORE_DISK_FULL,
  /* a call stopped by its caller (core_call_stop) while it waited for a
   * slot: it never ran */
  MOTE_CORE_CANCELLED,
  /* a deploy whose initialisation the node's init memory cannot hold
   * (--init-memory): the message has the figures */
  MOTE_CORE_INIT_MEMORY,
  MOTE_CORE_STATUS_COUNT
} mote_core_status;

typedef struct mote_core_error {
  mote_core_status status;
  char message[1200]; /* for a user: what was wrong and what to do */
} mote_core_error;

/* ---- the core ------------------------------------------------------------- */

typedef struct mote_core mote_core;

typedef struct mote_core_config {
  const char *data_dir;      /* the store's directory (created if missing) */
  unsigned workers;          /* calls computing at once (CPU slots); 0: the number of CPUs */
  /* Calls alive at once (instances: running, sleeping, or past their first
   * quantum); 0: CORE_DEFAULT_ALIVE_PER_WORKER per worker, at least 32. */
  unsigned max_alive;
  /* How long a call keeps its CPU slot while others wait, in ms; 0:
   * CORE_CPU_QUANTUM_US; CORE_QUANTUM_OFF: to its end, and a sleeping call
   * keeps it too (slots as before issue 14; tests that hold one with a gate). */
  unsigned cpu_quantum_ms;
  unsigned queue;            /* calls waiting for a worker at most; 0: 8 per worker */
  unsigned queue_timeout_ms; /* the longest wait of a call; 0: 5000 */
  unsigned ns_invocations_per_minute, ns_concurrent; /* a namespace's default limits; 0: none */
  /* How a call's memory is made from its version's snapshot (AUTO: by the
   * image's size and the kernel; the others for benchmarks). The runtime's
   * policy is process-wide: mote_core_open sets it. */
  mote_rt_image_mode images;
  /* Neither load nor keep functions' snapshots in the store: every open runs
   * every initialisation (as before issue 15; for benchmarks). */
  bool no_kept_snapshots;
  /* A node of a cluster (src/cluster): activation ids carry id_tag (8 hex
   * digits naming the node) at digits 12-19; the load at open serves the
   * stored functions whose module is here and passes over the others
   * quietly (records of functions placed on other nodes). */
  bool cluster;
  const char *id_tag;
  /* Return from mote_core_open while the stored functions are still being
   * prepared (in parallel, by startup.c): core_fn_preparing names those not
   * ready yet. false: mote_core_open returns once all are. */
  bool background_start;
  /* The node's memory for initialised versions (their snapshots' images),
   * in MiB; 0: half the machine's memory. A deploy whose initialisation
   * might not fit is refused (MOTE_CORE_INIT_MEMORY). */
  uint64_t init_memory_mib;
  /* The store's sweep of bytes nothing names (core_sweep): every
   * sweep_every_s seconds (0: CORE_SWEEP_EVERY_S; the first one period
   * after the open), leaving what was put or held within sweep_grace_s
   * (0: CORE_SWEEP_GRACE_S; it must outlast a deploy's compile and
   * initialisation, which run between its put and its version, and the
   * longest call, which reads a deleted version's files: tests only may
   * set less). */
  unsigned sweep_every_s, sweep_grace_s;
} mote_core_config;

/* Opens the store, starts the parts and the workers, and loads every stored
 * function, in parallel (messages about single functions go to stderr); see
 * background_start. */
mote_core_status mote_core_open(const mote_core_config *cfg, mote_core **out,
                                mote_core_error *err);
/* Runs every background call accepted (queued or running) to its record.
 * Call it once nothing submits calls any more (the transport stopped). */
void mote_core_drain(mote_core *c);
/* Stops the opt-tier worker, writes the last accounting, closes the store,
 * frees all. After mote_core_drain. */
void mote_core_close(mote_core *c);

/* One sweep of the store now (mote_store_sweep with the config's grace and,
 * in a cluster, what its records name: UNAVAILABLE, nothing removed, until
 * the room knows them, and after the wall clock jumped). *out: what went (a line on stderr when
 * anything did). The sweeper's thread calls it every sweep_every_s. */
mote_core_status core_sweep(mote_core *c, mote_store_sweep_report *out, mote_core_error *err);

mote_store *core_store(mote_core *c);       /* the core's store, for reads */
const char *core_data_dir(const mote_core *c);
unsigned core_workers(const mote_core *c);
unsigned core_queue_default(const mote_core *c); /* a function's max_queue when it has 0 */
unsigned core_queue_timeout_ms(const mote_core *c); /* the longest wait of a call */

/* ---- functions --------------------------------------------------------------- */

/* One loaded version of a function (reference-counted). */
typedef struct core_fn core_fn;

/* The current version of function `name` of namespace `ns` with a
 * reference taken, or NULL (also for names that are not valid). Names are
 * per namespace: (ns, name) is the function, whoever asks; whether the
 * asker may use it is the caller's to decide. */
core_fn *core_fn_acquire(mote_core *c, const char *ns, const char *name);
void core_fn_release(core_fn *fn); /* NULL: nothing */
/* Its record (name, namespace, version, settings, meta, files): read-only,
 * valid while the reference is held. */
const mote_function_version *core_fn_record(const core_fn *fn);
unsigned core_fn_count(mote_core *c); /* functions served */
/* Whether function (ns, name) is stored but the version the open found is
 * still being prepared (background_start): a call of it is answered
 * "starting" (503, Retry-After) rather than "no such function". */
bool core_fn_preparing(mote_core *c, const char *ns, const char *name);
/* The versions the open found still to prepare (0: ready), and their number. */
void core_start_counts(mote_core *c, unsigned *pending, unsigned *total);

/* What serves a version's calls. */
typedef struct core_tier_info {
  const char *tier;      /* "opt" or "quick": what a new call runs */
  const char *opt_state; /* the opt tier: "ready", "building", "failed" */
  const char *opt_error; /* why it failed, else NULL (valid with the reference) */
  bool snapshot;         /* calls start from a snapshot taken after mote_init */
  uint64_t snapshot_bytes; /* the image's non-zero bytes (what a copied one copies) */
  const char *snapshot_image; /* how calls get the image: "copy", "map", "map-drop" */
  const char *snapshot_from;  /* "store": kept from an earlier start, no mote_init ran;
                               * "init" */
} core_tier_info;
void core_fn_tier(core_fn *fn, core_tier_info *out);

/* A decoded form of a version's record that an API facade keeps with the
 * version (the OpenWhisk action of its meta), made once and shared by the
 * calls: *make is called at most once per version that publishes its
 * result (two racing callers may both make one; the loser's is dropped with
 * `drop`). NULL when make returned NULL. Valid while the reference is held. */
void *core_fn_extension(core_fn *fn, void *(*make)(const mote_function_version *rec),
                        void (*drop)(void *ext));

/* ---- deploy and delete --------------------------------------------------------- */

typedef struct core_stop core_stop; /* below, with one call */

typedef struct core_deploy_req {
  const char *ns, *name;            /* the deployer's namespace; the function */
  const uint8_t *wasm;              /* the module */
  size_t len;
  const mote_store_file *files;     /* a bundle's files (nfiles 0: none) */
  size_t nfiles;
  const mote_function_settings *settings;
  const char *meta;                 /* kept with the version (NULL: none) */
  /* NULL, or the caller's (core_stop_init'ed): core_stop_request from any
   * thread abandons the deploy (its client went away): its initialisation
   * leaves the queue for a slot or is stopped, and the deploy is refused
   * (CANCELLED); a deploy past its initialisation completes. */
  core_stop *stop;
} core_deploy_req;

/* Stores the files (the initialisation reads them), compiles (opt when it
 * is cached, else quick), loads, checks the imports, initialises and
 * snapshots the module; then under the deploy lock stores the version and
 * makes it current. The opt tier is built in the background. OK with *out
 * (a reference); else nothing changed and err says why. Counts the deploy
 * in the metrics only through core_count_deploy (the transport decides
 * what a refused deploy is). */
mote_core_status core_deploy(mote_core *c, const core_deploy_req *req, core_fn **out,
                             mote_core_error *err);
/* Deletes function `name` of namespace `ns`: NOT_FOUND, or OK (the calls in
 * flight finish on their version). */
mote_core_status core_delete(mote_core *c, const char *ns, const char *name,
                             mote_core_error *err);
/* A deploy answered (ok: accepted), for mote_deploys_total. */
void core_count_deploy(mote_core *c, bool ok);

/* ---- a cluster (apply.c): a room above drives it; the core knows no etcd ---------- */

/* A deploy to commit cluster-wide: its bytes are in the local store. */
typedef struct core_commit {
  const char *ns, *name;
  const char *module_hash;          /* a blob of the store */
  size_t module_len;
  const char *files_hash;           /* NULL: none; a files directory of the store */
  uint64_t files_count, files_bytes;
  const char *const *file_paths;    /* every path when nfile_paths <= MOTE_STORE_FILES_LISTED */
  uint32_t nfile_paths;
  const mote_function_settings *settings;
  const char *meta;
} core_commit;

typedef struct core_cluster_ops {
  void *ctx;
  /* core_deploy, once the version is loaded and initialised and its bytes
   * are in the store: commits it for the cluster. OK with *version (the
   * cluster's number of the new version) and *serve_here (whether the
   * placement puts it on this node: if not, it is kept but not made current
   * here); else a refusal (UNAVAILABLE, FORBIDDEN, TOO_LARGE, ...) with err,
   * and nothing is made current. */
  mote_core_status (*commit_deploy)(void *ctx, const core_commit *what, uint64_t *version,
                                    bool *serve_here, mote_core_error *err);
  /* After a committed deploy was kept (and made current or not) here: the
   * room checks the function again, as the placement may have changed while
   * the deploy finished. NULL: none. */
  void (*deployed)(void *ctx, const char *ns, const char *name);
  /* core_delete, before the local delete: NOT_FOUND, FORBIDDEN, UNAVAILABLE... */
  mote_core_status (*commit_delete)(void *ctx, const char *ns, const char *name,
                                    mote_core_error *err);
  /* Before a compile of `tier` for a module whose cache key is `key`: may put
   * a peer's object in the cache (true: it is there now). `wait`: rather wait
   * for a build under way on a peer than compile (the opt tier). NULL: none. */
  bool (*fetch_object)(void *ctx, mote_tier tier, const char *key, bool wait);
  /* After each opt compile here, also one that found its object in the
   * cache: the object of `key` is in the cache at so_path (NULL: the build
   * failed, and no object will come from here). Whatever fetch_object took
   * for the key (a build record) is released here. */
  void (*object_built)(void *ctx, mote_tier tier, const char *key, const char *so_path);
  /* Before a sweep of the store: texts naming the bytes the cluster's
   * records name (their hashes and meta; *texts from malloc, each too; *n
   * of them), which this node may hold for others or not have applied yet.
   * False: the records are not known yet (no sweep now). NULL: none. */
  bool (*sweep_keep)(void *ctx, char ***texts, size_t *n);
} core_cluster_ops;
/* Attaches a cluster (ops copied): deploys and deletes commit through it
 * from now on. Once, before the transport starts. */
void core_cluster_attach(mote_core *c, const core_cluster_ops *ops);

/* A version decided elsewhere (rec: a cluster's record, with its number)
 * made current here: compiled (or a peer's object), loaded, initialised and
 * snapshotted, its record kept under its number, made current unless a
 * later version of the name is. Its module's bytes are given; its files
 * (rec->files_hash) must be in the store. OK, or the load's refusal. */
mote_core_status core_apply(mote_core *c, const mote_function_version *rec, const uint8_t *wasm,
                            size_t len, mote_core_error *err);
/* Keeps a version's record without serving it here (a function placed on
 * other nodes): the store keeps the record, this node stops serving the name
 * (calls in flight finish). */
mote_core_status core_keep_record(mote_core *c, const mote_function_version *rec,
                                  mote_core_error *err);
/* Forgets a function deleted in the cluster: its records and the version
 * served (calls in flight finish). */
void core_forget(mote_core *c, const char *ns, const char *name);
/* The version of ns/name served here (0: none). */
uint64_t core_served_version(mote_core *c, const char *ns, const char *name);
/* This node's share of every namespace's limits: node `index` of `count`
 * (0 or 1: the whole limit). A limit L is split so that the shares add up to
 * L: L / count each, and one more for the first L % count nodes. */
void core_quota_share(mote_core *c, unsigned index, unsigned count);
/* A namespace's limits changed in the store: read them again now. */
void core_limits_changed(mote_core *c, const char *ns);

/* What /healthz and /metrics say of the cluster. */
typedef struct core_cluster_state {
  bool member;          /* a node of a cluster */
  bool reachable;       /* its etcd answers */
  bool draining;        /* drained: serves nothing new (/healthz 503) */
  unsigned nodes;       /* live nodes, this one included */
  int64_t revision;     /* the cluster's records applied here up to this revision */
  char node[65];        /* this node's name */
  uint64_t objects_fetched; /* compiled objects taken from peers instead of compiling */
  uint64_t objects_built;   /* compiled here and published for the peers */
  uint64_t forwarded;       /* calls and requests passed on to other nodes */
} core_cluster_state;
void core_cluster_state_set(mote_core *c, const core_cluster_state *st);
void core_cluster_state_get(mote_core *c, core_cluster_state *out);

/* ---- one call -------------------------------------------------------------------- */

/* The outcome class of a call (the label `class` of mote_call_errors_total). */
typedef enum core_class {
  CORE_CLASS_OK,       /* exited 0 (an API may judge otherwise: see core_call_finish) */
  CORE_CLASS_EXIT,     /* a non-zero exit, or an API's application error */
  CORE_CLASS_TRAP,
  CORE_CLASS_TIMEOUT,
  CORE_CLASS_LIMIT,    /* an output cap or another limit */
  CORE_CLASS_LINK,     /* the instance could not be linked */
  CORE_CLASS_CGI,      /* a CGI function's output was not valid CGI */
  CORE_CLASS_INTERNAL, /* out of memory, an unknown outcome */
  CORE_CLASS_OVERLOAD, /* refused by a limit (429) */
  CORE_CLASS_CANCELLED, /* stopped by its caller (core_call_stop): its client went away */
  CORE_CLASS_COUNT
} core_class;

/* The one map of a run's outcome to its class. */
core_class core_outcome_class(const mote_invoke_result *res);
/* The activation's outcome text: "ok", "exit", "timeout", "trap: ...". */
void core_outcome_text(const mote_invoke_result *res, char *out, size_t cap);
const char *core_class_name(core_class cls);

typedef struct core_call core_call;

/* A call waiting for a slot without a thread (the core's, in core_call). */
typedef struct core_admit_ticket {
  struct core_admit_ticket *next;
  void (*grant)(struct core_admit_ticket *t); /* under the admission lock: the slot is given */
  uint32_t timeout_ms;  /* the call's time limit (0: unknown), for Retry-After */
  void *run;            /* admission's: the call alive, once granted */
} core_admit_ticket;

/* A call waiting for a slot with its thread, to be woken by core_call_stop
 * (admission's, under its lock). */
typedef struct core_admit_stop {
  bool requested;
  void *waiter;         /* the call's wait while it waits */
} core_admit_stop;

/* What stops a call or a deploy's initialisation from another thread
 * (core_stop_request): its wait for a slot, and its run. The core's. */
struct core_stop {
  mote_core *core;
  mote_rt_cancel cancel;        /* bound to the thread of the run */
  core_admit_stop admit;        /* wakes a wait for a slot */
  char why[64];                 /* "" while not stopped */
};

/* Runs on an executor thread with the call admitted (core_call_submit):
 * the callback calls core_call_exec, then core_call_finish. */
typedef void (*core_call_job)(core_call *call, void *arg);

/* One call of a function. The caller fills the inputs, then either
 *
 *   core_call_init -> [core_call_begin] -> core_call_run -> (reads res,
 *   decides status, class, outcome text, meta) -> core_call_finish -> core_call_clear
 *
 * on its own thread, or hands the run to the core's executor:
 *
 *   core_call_init -> core_call_begin -> core_call_submit(job) ... job on an
 *   executor thread: core_call_exec -> core_call_finish
 *
 * core_call_begin takes the namespace's limits, for a caller that must
 * answer a refusal before the run goes elsewhere; core_call_run takes them
 * when core_call_begin was not called. Every refusal is counted (metrics,
 * accounting) where it happens, and err says why; the caller only answers.
 * A call that ran must be finished (its record and counts). */
struct core_call {
  /* inputs, the caller's; they must live until the run is over */
  core_fn *fn;                  /* a reference the caller holds until core_call_clear */
  const char *const *argv;      /* argv[0] included */
  size_t argc;
  const char *const *env;       /* NULL: the function's own env */
  size_t envc;
  const uint8_t *in;            /* stdin, read in place by the run (not copied) */
  size_t in_len;
  /* results */
  char id[33];                  /* the activation id, chosen at init */
  mote_core_error err;          /* a refusal: its status and message */
  unsigned retry_after_s;       /* a refusal: when a retry may succeed, >= 1 */
  unsigned limit;               /* an admission refusal: the limit reached */
  uint64_t wait_us;             /* time spent waiting for a worker */
  const char *tier;             /* what ran: "opt" or "quick" */
  bool snapshot;                /* the run started from a snapshot (else it ran mote_init) */
  int64_t start_ms, end_ms;     /* Unix time around the run */
  mote_invoke_result res;       /* the run: outcome, stdout, stderr, times */
  /* the core's */
  mote_core *core;
  bool entered;                 /* holds the namespace's limits */
  void *admitted;               /* admission's run: the call alive (queued: set once granted) */
  void *admit_fn;
  const void *img;
  uint64_t t_admitted_us, t_submitted_us;
  core_admit_ticket ticket;     /* submitted: its place in the queue */
  core_call_job job;
  void *job_arg;
  struct core_call *next_ready; /* in the executor's queue */
  core_stop stop;               /* core_call_stop's */
};

void core_call_init(core_call *call, mote_core *c, core_fn *fn);
/* The namespace's limits: MOTE_CORE_OK, or a refusal (NS_RATE,
 * NS_CONCURRENCY, NO_MEMORY) with err set. */
mote_core_status core_call_begin(core_call *call);
/* Leaves the limits core_call_begin took, for a call that will not run. */
void core_call_abandon(core_call *call);
/* The limits (if not taken yet), a slot (waiting for one if need be), the
 * run, the slot and the limits given back: MOTE_CORE_OK (res holds the run)
 * or a refusal with err set. */
mote_core_status core_call_run(core_call *call);
/* After core_call_begin: queues the call for a slot without waiting, or
 * refuses it at once (QUEUE_FULL, FUNCTION_QUEUE_FULL, CONCURRENCY_LIMIT,
 * NO_MEMORY; the limits are then left). On OK the job runs once the call has
 * a slot, on an executor thread; a queued call waits as long as it takes (a
 * call accepted is never refused later), within the queue's bounds. */
mote_core_status core_call_submit(core_call *call, core_call_job job, void *arg);
/* For a submitted call's caller that stops waiting for it (an OpenWhisk
 * blocking invoke at the queue timeout): true when the call was still
 * queued and is now refused (QUEUE_TIMEOUT, counted, err set; the job will
 * not run), false when it has a slot already (the job runs). */
bool core_call_cancel(core_call *call);
/* In the job: the run with the slot it was given; the slot and the limits
 * are given back after it. */
void core_call_exec(core_call *call);
/* Records a call that ran: the activation (status: what the caller got;
 * outcome text; meta, may be NULL), metrics and accounting. */
void core_call_finish(core_call *call, unsigned status, core_class cls, const char *outcome,
                      const char *meta);
/* From any thread, while the call is between core_call_init and
 * core_call_clear, not blocking (a short lock): the caller no longer wants
 * it (its client went away; `why` says so, e.g. "client gone"). A call
 * waiting for a slot in core_call_run is woken and refused
 * (MOTE_CORE_CANCELLED, counted, err set); a call running is stopped where
 * its deadline would stop it (a loop at once, a sleep within its wait
 * slice) and its run's outcome is MOTE_INVOKE_CANCELLED (class CANCELLED;
 * core_outcome_text says "cancelled: <why>"). A call over already: nothing.
 * Once per call; later calls do nothing. */
void core_call_stop(core_call *call, const char *why);
/* The same for a core_stop of one's own (a deploy's, core_deploy_req.stop):
 * init before the work, destroy after it; request from any thread. */
void core_stop_init(mote_core *c, core_stop *s);
void core_stop_destroy(core_stop *s);
void core_stop_request(core_stop *s, const char *why);
const char *core_stop_why(const core_stop *s); /* the reason given, or a generic one */
bool core_stop_requested(const core_stop *s);  /* from any thread */
/* Counts a call that failed before it could run (out of memory). */
void core_call_failed(core_call *call);
void core_call_clear(core_call *call); /* the run's output and limits; not the fn reference */

/* ---- credentials (identity.c) ------------------------------------------------- */

/* Checks uuid:key through a cache of verified keys, then the store:
 * MOTE_CORE_OK with ns_out set, or AUTH_UNKNOWN, AUTH_REJECTED, AUTH_ERROR. */
mote_core_status core_identify(mote_core *c, const char *uuid, const char *key,
                               char ns_out[MOTE_STORE_NS_MAX + 1]);
/* Drops a key from the cache (uuid NULL: every key); for a key deleted
 * through this process. */
void core_identity_forget(mote_core *c, const char *uuid);
/* `mote serve --dev`: makes sure namespace MOTE_DEV_NAMESPACE (server.h) has
 * the well-known key; *created tells whether this call made it. */
mote_core_status core_dev_key(mote_core *c, const char *ns, const char *uuid, const char *key,
                              bool *created, mote_core_error *err);

/* ---- bundles (bundle.c) --------------------------------------------------------- */

/* What a deploy's body is. */
typedef enum core_body_kind {
  CORE_BODY_UNSUPPORTED = 0,
  CORE_BODY_WASM,   /* the module itself */
  CORE_BODY_TAR,    /* a tar, gzip-compressed or not */
  CORE_BODY_TAR_GZ, /* a gzip-compressed tar */
  CORE_BODY_ZIP,
  CORE_BODY_SNIFF,  /* decided by core_bundle_sniff */
} core_body_kind;

/* The kind a media type names (application/wasm, application/gzip,
 * application/x-gzip, application/x-tar, application/zip,
 * application/x-zip-compressed, application/octet-stream: SNIFF). */
core_body_kind core_bundle_kind_of_type(const char *content_type);
/* WASM, TAR_GZ, ZIP or TAR by magic bytes; UNSUPPORTED when none matches. */
core_body_kind core_bundle_sniff(const uint8_t *p, size_t n);

/* An extracted, checked bundle. */
typedef struct core_bundle {
  uint8_t *module;        /* main.wasm's bytes, from malloc */
  size_t module_len;
  mote_store_file *files; /* every other file, sorted by path; paths and data from malloc */
  size_t nfiles;
  uint64_t files_bytes;   /* their total size */
} core_bundle;

/* Extracts the archive (kind TAR, TAR_GZ or ZIP) into *out, checking every
 * entry and the limits above. False with a message naming the entry when the
 * bundle is refused (*out is then empty). Free with core_bundle_free. */
bool core_bundle_extract(const uint8_t *body, size_t len, core_body_kind kind, core_bundle *out,
                         char *msg, size_t cap);
void core_bundle_free(core_bundle *b);

/* ---- figures (metrics.c, admit.c, accounting.c) --------------------------------- */

typedef struct core_histogram {
  uint64_t buckets[23];   /* CORE_HISTO_BOUNDS + 1 (+Inf), not cumulative */
  uint64_t sum_us;
} core_histogram;
#define CORE_HISTO_BOUNDS 22
/* The upper bound of bucket i (< CORE_HISTO_BOUNDS), in microseconds. */
uint64_t core_histogram_bound_us(unsigned i);

#define CORE_STATUSES_KEPT 16 /* distinct reply statuses counted per function */
#define CORE_REFUSAL_FIRST MOTE_CORE_CONCURRENCY_LIMIT
#define CORE_REFUSALS 4
typedef struct core_fn_figures {
  char ns[MOTE_STORE_NS_MAX + 1];
  char name[CORE_NAME_MAX + 1];
  unsigned status_code[CORE_STATUSES_KEPT]; /* 0: unused */
  uint64_t status_count[CORE_STATUSES_KEPT];
  uint64_t class_count[CORE_CLASS_COUNT];
  core_histogram wait, init, exec;
  /* refusals by admission: refused[i] counts status CORE_REFUSAL_FIRST + i
   * (CONCURRENCY_LIMIT, QUEUE_FULL, FUNCTION_QUEUE_FULL, QUEUE_TIMEOUT) */
  uint64_t refused[CORE_REFUSALS];
} core_fn_figures;

/* A function's calls in admission: holding a slot, waiting for one. */
typedef struct core_queue_figures {
  char ns[MOTE_STORE_NS_MAX + 1];
  char name[CORE_NAME_MAX + 1];
  unsigned running, waiting;
} core_queue_figures;

typedef struct core_figures {
  core_fn_figures *fns;   /* every function with a call counted, by namespace and name;
                           * from malloc */
  size_t nfns;
  core_queue_figures *queues; /* every function admission has seen, by namespace and
                               * name; from malloc */
  size_t nqueues;
  uint64_t in_flight;
  uint64_t deploys_ok, deploys_refused;
  uint64_t cancelled_waiting, cancelled_running; /* calls stopped by core_call_stop */
  uint64_t init_memory_cap, init_memory_used, init_memory_reserved; /* bytes (budget.c) */
  uint64_t opt_builds_ok, opt_builds_failed;
  uint64_t swept_blobs, swept_file_sets, swept_bytes; /* the store's sweeps (core_sweep) */
  unsigned workers, busy, waiting, queue_max; /* admission: CPU slots, queue */
  unsigned alive, alive_max;                /* calls alive (instances) */
  uint64_t cpu_demoted, cpu_yielded;        /* CPU slots taken back, given back */
  unsigned functions;                       /* loaded */
  mote_usage *usage;      /* accounting totals (flushed first); from malloc */
  size_t nusage;
} core_figures;
/* A snapshot of every figure, for /metrics. False when out of memory. */
bool core_figures_get(mote_core *c, core_figures *out);
void core_figures_clear(core_figures *f);

/* Writes the pending accounting to the store (readers call it first); false
 * when the store refused it (kept for the next try). */
bool core_usage_flush(mote_core *c);
/* Adds d's counters to *to (a namespace's total; first and last widened). */
void core_usage_add(mote_usage *to, const mote_usage *d);

#endif /* MOTE_CORE_H */
