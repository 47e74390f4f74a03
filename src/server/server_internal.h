/* Internal to src/server: shared between its files, not a public API. */
#ifndef MOTE_SERVER_INTERNAL_H
#define MOTE_SERVER_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "compile/compile.h"
#include "invoke/invoke.h"
#include "rt/rt.h"
#include "server/server.h"
#include "store/store.h"

/* Limits and defaults of the server. */
#define SRV_MAX_CALL_BODY (16u << 20)   /* bytes of a call's body (its stdin) */
#define SRV_MAX_MODULE (64u << 20)      /* bytes of a deployed module */
#define SRV_MAX_BUNDLE (256u << 20)     /* bytes of a deployed bundle, compressed (the body) */
#define SRV_BUNDLE_MAX_FILE (64u << 20) /* bytes of one file of a bundle, extracted */
#define SRV_BUNDLE_MAX_TOTAL (256u << 20) /* bytes of all files of a bundle, extracted */
#define SRV_BUNDLE_MAX_ENTRIES 10000    /* entries of a bundle: files and directories */
#define SRV_BUNDLE_MAX_PATH 1024        /* bytes of a bundle entry's path (the store's bound) */
#define SRV_FILES_LISTED 32             /* a version's files listed by name up to this count */
#define SRV_MAX_OTHER_BODY (64u << 10)  /* bytes of any other request's body */
#define SRV_MAX_DISCARD (64u << 20)     /* bytes of an oversized body read and dropped */
/* MHD's per-connection pool: request line, headers and MHD's parsed query.
 * libmicrohttpd allocates pools of 32 KiB and less with malloc and larger
 * ones with mmap, whose fresh pages fault (~80 us each here) and whose
 * munmap interrupts the other CPU: with 256 KiB a call on a new connection
 * took 0.86 ms end to end, with 32 KiB 0.18 ms (wrk -H "Connection: close").
 * The price: MHD keeps ~64 bytes per query parameter in it, so a query of
 * more than ~450 parameters makes MHD drop the connection; ours stop at
 * SRV_MAX_QUERY_PARAMS with a 400 first. */
#define SRV_CONNECTION_MEMORY (32u << 10)
#define SRV_MAX_ARGS 256                /* ?arg= values of a call (bigger inputs: the body) */
#define SRV_MAX_QUERY_PARAMS 300        /* parameters of any query string */
#define SRV_MAX_ENV 1024                /* env settings of a function */
#define SRV_DEFAULT_MEMORY_MIB 256
#define SRV_DEFAULT_TIMEOUT_MS 30000
#define SRV_INIT_TIMEOUT_MS 60000       /* a version's initialisation (mote_init), once */
#define SRV_STDOUT_CAP (16u << 20)      /* a call's response body */
#define SRV_STDERR_CAP (1u << 20)
#define SRV_STDERR_TAIL 2048            /* bytes of stderr in an error reply */
#define SRV_EXCERPT 1024                /* bytes of stdout/stderr in an activation */
#define SRV_ACTIVATION_RETAIN 1000      /* activations kept per function */
#define SRV_NAME_MAX 64                 /* bytes of a function name (mote_store_valid_name) */
#define SRV_DEFAULT_QUEUE_PER_WORKER 8  /* --queue default: 8 waiting calls per worker */
#define SRV_DEFAULT_QUEUE_TIMEOUT_MS 5000 /* --queue-timeout default */
#define SRV_ACCESS_LOG_BACKLOG (4u << 20) /* bytes of access-log lines not yet written */

/* ---- registry: name -> the loaded current version (registry.c) ---------- */

/* One loaded version of a function. Reference-counted: the registry holds
 * one reference while it is current, every call in flight one, a background
 * compile one. The last release frees it (and its modules). */
/* A compiled tier of a version, loaded, with the snapshot its calls start
 * from (NULL when the module cannot be snapshotted: calls then instantiate
 * and run mote_init themselves). */
typedef struct srv_image {
  mote_rt_module *module;
  mote_rt_snapshot *snap;
  mote_tier tier;
  bool snap_kept; /* snap came from the store (snapstore.c): no initialisation ran */
  char keep_key[MOTE_STORE_HASH_HEX]; /* snap to be kept under this key once the version is
                                 * stored (snapstore_keep); "" when nothing waits */
} srv_image;

typedef struct srv_fn {
  atomic_uint refs;
  mote_function_version rec;       /* owned: cleared at free */
  srv_image base;                  /* loaded at deploy (quick tier, or opt if cached) */
  _Atomic(srv_image *) opt;        /* set once when the opt tier is ready (from malloc) */
  /* The opt tier's build (SRV_OPT_*): written by the background worker,
   * opt_error first, then the state with release order. */
  atomic_int opt_state;
  char opt_error[400];             /* why the build failed (SRV_OPT_FAILED) */
  /* The version's files (a bundle's), read-only at the guest's "/": wasi-libc's
   * cwd is "/", so "/weights.bin" and "weights.bin" both name one. */
  char *files_dir;                 /* DIR/files/<hash>, from malloc; NULL: none */
  mote_wasi_preopen files_root;    /* points at files_dir */
} srv_fn;

/* The opt tier of a version: loaded at deploy (its object was cached), being
 * built in the background, ready, or failed (the quick tier serves on). */
enum { SRV_OPT_AT_DEPLOY = 0, SRV_OPT_BUILDING, SRV_OPT_READY, SRV_OPT_FAILED };
/* The opt tier's state as the version record shows it: "ready", "building",
 * "failed"; *error is the message of a failure, else NULL. */
const char *fn_opt_state(srv_fn *fn, const char **error);

typedef struct srv_registry srv_registry;

srv_registry *registry_new(void);
void registry_free(srv_registry *r); /* drops the registry's references */
/* The current version of `name` with a reference taken, or NULL. */
srv_fn *registry_acquire(srv_registry *r, const char *name);
/* Makes fn current for its name; takes over the caller's reference and
 * drops the one of the version it replaces. */
void registry_put(srv_registry *r, srv_fn *fn);
/* Removes `name`; false when it was not there. */
bool registry_remove(srv_registry *r, const char *name);
unsigned registry_count(srv_registry *r);

void fn_release(srv_fn *fn);
/* What a new call should run: opt when ready, else base. */
const srv_image *fn_image(srv_fn *fn);

/* ---- admission (admit.c): execution slots, bounded fair queues, 429 ----- */

typedef enum srv_admit_status {
  SRV_ADMITTED = 0,
  SRV_REFUSED_CONCURRENCY,         /* the function's concurrency limit is reached */
  SRV_REFUSED_QUEUE_FULL,          /* the server's queue (--queue) is full */
  SRV_REFUSED_FUNCTION_QUEUE_FULL, /* the function's share of it (max_queue) is full */
  SRV_REFUSED_TIMEOUT,             /* no slot within --queue-timeout */
  SRV_ADMIT_NO_MEMORY,             /* not a refusal: the caller answers 500 */
  SRV_ADMIT_STATUS_COUNT
} srv_admit_status;

typedef struct srv_admit srv_admit;
typedef struct srv_admit_fn srv_admit_fn; /* one function's state, owned by srv_admit */

/* The answer of admit_enter. */
typedef struct srv_admission {
  srv_admit_status status;
  srv_admit_fn *fn;       /* SRV_ADMITTED: holds a slot, give it back with admit_leave */
  uint64_t wait_us;       /* time spent in admit_enter */
  unsigned retry_after_s; /* refused: seconds until a retry is likely to succeed, >= 1 */
  unsigned limit;         /* refused: the limit that was reached (count, or ms for a timeout) */
} srv_admission;

/* `workers` slots, at most `queue_max` waiting calls, each waiting at most
 * `timeout_ms`. NULL when out of memory. */
srv_admit *admit_new(unsigned workers, unsigned queue_max, unsigned timeout_ms);
void admit_free(srv_admit *a); /* no call may be inside */
/* The waiting calls a function may have when its max_queue is 0. */
unsigned admit_fn_queue_default(const srv_admit *a);
/* Takes a slot for a call of `function`, waiting for one if need be, or
 * refuses it (see admit.c for the limits and the order of handover).
 * max_concurrency 0: no limit; max_queue 0: admit_fn_queue_default. */
void admit_enter(srv_admit *a, const char *function, uint32_t max_concurrency, uint32_t max_queue,
                 srv_admission *out);
/* Gives the slot back (to a waiting call, if any); run_us, the time it was
 * held, feeds the Retry-After estimates. */
void admit_leave(srv_admit *a, srv_admission *adm, uint64_t run_us);
/* The code of a refusal in errors, metrics and logs: "queue_full", ... */
const char *admit_status_code(srv_admit_status st);

typedef struct srv_admit_totals {
  unsigned workers, busy, waiting, queue_max;
} srv_admit_totals;
typedef struct srv_admit_fn_stats {
  char name[SRV_NAME_MAX + 1];
  unsigned running, waiting;
} srv_admit_fn_stats;
/* A snapshot for /metrics: *fns from malloc (NULL when none or out of memory). */
void admit_stats(srv_admit *a, srv_admit_totals *tot, srv_admit_fn_stats **fns, size_t *nfns);

/* ---- metrics (metrics.c): GET /metrics, Prometheus text format 0.0.4 ------ */

/* The outcome class of a call (the label `class` of mote_call_errors_total). */
typedef enum srv_call_class {
  SRV_CLASS_OK,       /* exited 0 */
  SRV_CLASS_EXIT,     /* a non-zero exit */
  SRV_CLASS_TRAP,
  SRV_CLASS_TIMEOUT,
  SRV_CLASS_LIMIT,    /* an output cap or another limit */
  SRV_CLASS_LINK,     /* the instance could not be linked */
  SRV_CLASS_CGI,      /* a CGI function's output was not valid CGI */
  SRV_CLASS_INTERNAL, /* out of memory, an unknown outcome */
  SRV_CLASS_OVERLOAD, /* refused by admission: a limit, a full queue, a wait too long (429) */
  SRV_CLASS_COUNT
} srv_call_class;

typedef struct srv_call_times {
  uint64_t wait_us, init_us, exec_us;
} srv_call_times;

typedef struct srv_metrics srv_metrics;

srv_metrics *metrics_new(void);
void metrics_free(srv_metrics *m);
/* Records one call of `function` (its block is made on first sight). `t` is
 * NULL for a call that never ran (429, out of memory): it then counts in
 * mote_calls_total and mote_call_errors_total but not in the histograms.
 * Thread-safe; lock-free once the function and status have been seen. */
void metrics_call(srv_metrics *m, const char *function, unsigned status, srv_call_class cls,
                  const srv_call_times *t);
void metrics_in_flight(srv_metrics *m, int delta); /* +1 / -1 around a run */
void metrics_deploy(srv_metrics *m, bool ok);      /* ok: 201; else refused */
void metrics_opt_build(srv_metrics *m, bool ok);   /* a background opt build ended */
/* A call of `function` refused by admission (st is a SRV_REFUSED_*); count
 * it with metrics_call too. */
void metrics_refused(srv_metrics *m, const char *function, srv_admit_status st);
/* The exposition text (from malloc, *len bytes, not NUL-terminated), or
 * NULL when out of memory. Gauges are read from the server's registry,
 * admission and access log. */
char *metrics_render(srv_metrics *m, mote_server *s, size_t *len);

/* ---- authentication (auth.c): OpenWhisk's basic auth with uuid:key ------- */

/* Where keys are asked for (http.c, faas.c): every /v1 route, and /faas/NAME
 * of a function not deployed public=true; /healthz and /metrics are open. */
typedef enum srv_auth_result {
  SRV_AUTH_OK = 0,
  SRV_AUTH_MISSING,   /* no Authorization header */
  SRV_AUTH_MALFORMED, /* not `Basic base64(uuid:key)` */
  SRV_AUTH_UNKNOWN,   /* no key with that uuid */
  SRV_AUTH_REJECTED,  /* the key exists, the secret is wrong */
  SRV_AUTH_ERROR,     /* the store failed (a 500, not a 401) */
} srv_auth_result;

/* The cache of verified credentials (see auth.c). */
typedef struct srv_auth srv_auth;
srv_auth *auth_new(void); /* NULL when out of memory */
void auth_free(srv_auth *a);
/* Splits an Authorization header value of the form `Basic base64(uuid:key)`
 * (scheme in any case, standard base64 with padding); false when it is not
 * one, or when the parts are empty or longer than a uuid and a key. */
bool auth_parse_basic(const char *header, char uuid[MOTE_STORE_UUID_LEN + 1],
                      char key[MOTE_STORE_KEY_LEN + 1]);
/* Checks uuid:key through the cache, then the store; ns_out gets the
 * key's namespace on SRV_AUTH_OK. now_ms: Unix time, for the expiry. */
srv_auth_result auth_check(srv_auth *a, mote_store *store, const char *uuid, const char *key,
                           int64_t now_ms, char ns_out[MOTE_STORE_NS_MAX + 1]);
/* auth_parse_basic then auth_check; header NULL: SRV_AUTH_MISSING. */
srv_auth_result auth_check_header(srv_auth *a, mote_store *store, const char *header,
                                  int64_t now_ms, char ns_out[MOTE_STORE_NS_MAX + 1]);
/* Drops a key from the cache (uuid NULL: every key, after a namespace's
 * delete); call it after deleting through the store. */
void auth_forget(srv_auth *a, const char *uuid);
/* A line for logs: what was wrong. */
const char *auth_result_reason(srv_auth_result r);
/* The namespace of the request's credentials: 0 with ns_out set; 401 when
 * they are missing or wrong; 500 when the store failed. *why (may be NULL)
 * gets the detail, for auth_reply_401. */
int auth_identify(mote_server *s, struct MHD_Connection *c, char ns_out[MOTE_STORE_NS_MAX + 1],
                  srv_auth_result *why);
/* Queues OpenWhisk's 401: WWW-Authenticate: Basic realm="OpenWhisk secure
 * realm" and {"error": its message for `why`, "code": a transaction id}. */
enum MHD_Result auth_reply_401(struct MHD_Connection *c, srv_auth_result why);
/* `mote serve --dev`: makes sure namespace MOTE_DEV_NAMESPACE has the
 * well-known key; *created tells whether this call made it. A different key
 * under its uuid is refused (msg says how to remove it). */
mote_server_status auth_dev_setup(mote_server *s, bool *created, char *msg, size_t cap);

/* ---- per-namespace limits (quota.c): OpenWhisk's throttles, 429 ----------- */

typedef enum srv_quota_status {
  SRV_QUOTA_OK = 0,
  SRV_QUOTA_RATE,       /* the namespace's invocations per minute are used up */
  SRV_QUOTA_CONCURRENT, /* the namespace has its limit of calls in flight */
  SRV_QUOTA_NO_MEMORY,  /* not a refusal: the caller answers 500 */
} srv_quota_status;

typedef struct srv_quota_verdict {
  srv_quota_status status;
  unsigned count, allowed; /* refused: the count reached and the limit */
  unsigned retry_after_s;  /* refused: when a retry may succeed, >= 1 */
} srv_quota_verdict;

typedef struct srv_quota srv_quota;
/* A namespace's limits are re-read from the store this long after the last
 * read, so a change made beside a running server applies within it. */
#define SRV_QUOTA_REFRESH_MS 5000
/* Limits of 0: none. store (may be NULL) holds the per-namespace ones. */
srv_quota *quota_new(mote_store *store, uint32_t default_per_minute, uint32_t default_concurrent);
void quota_free(srv_quota *q);
/* Admits a call of namespace `ns` (counting it in both limits) or refuses
 * it; an admitted call must be followed by quota_leave when it is over. */
void quota_enter(srv_quota *q, const char *ns, int64_t now_ms, srv_quota_verdict *v);
void quota_leave(srv_quota *q, const char *ns);
/* OpenWhisk's message for a refusal, and our error code for it. */
void quota_message(const srv_quota_verdict *v, char *msg, size_t cap);
const char *quota_code(srv_quota_status st);

/* ---- accounting (accounting.c): usage per namespace and function ----------- */

typedef enum srv_acct_kind {
  SRV_ACCT_OK,      /* ran and succeeded */
  SRV_ACCT_FAILED,  /* ran and failed: exit != 0, trap, timeout, limit, application error */
  SRV_ACCT_REFUSED, /* refused before running (429) */
} srv_acct_kind;

typedef struct srv_accounting srv_accounting;
/* Starts the flushing thread. NULL when out of memory. */
srv_accounting *accounting_new(mote_store *store);
void accounting_free(srv_accounting *a); /* flushes what is pending */
/* Counts one call; memory_mib is the function's memory limit. Thread-safe. */
void accounting_call(srv_accounting *a, const char *ns, const char *function,
                     srv_acct_kind kind, uint64_t exec_us, uint32_t memory_mib, int64_t now_ms);
/* Writes the pending deltas to the store (readers call it first); false
 * when the store refused them (they are kept). */
bool accounting_flush(srv_accounting *a);
/* {namespace, function, invocations, errors, refused, exec_seconds,
 * gb_seconds, first, last} of a total. */
json_t *usage_json(const mote_usage *u);

/* ---- one call (call.c): the run shared by /faas and /api/v1 ----------------- */

/* What happened to a call before its reply: it ran, or was refused. */
typedef enum srv_call_status {
  SRV_CALL_RAN = 0,   /* call_run: `res` holds the run; call_begin: the limits admitted it */
  SRV_CALL_QUOTA,     /* refused by its namespace's limits: `quota` says which (429) */
  SRV_CALL_ADMIT,     /* refused by admission: `adm` says why (429) */
  SRV_CALL_NO_MEMORY, /* not a refusal: the caller answers 500 */
} srv_call_status;

/* One call of a function. The caller fills the inputs, then:
 *
 *   call_init -> [call_begin] -> call_run -> (the caller reads res, decides
 *   the status, class, outcome and meta) -> call_finish -> call_clear
 *
 * call_begin takes the namespace's limits (quota.c) on its own, for a caller
 * that must answer 429 before it lets the run go elsewhere (an OpenWhisk
 * non-blocking invoke); call_run does it when call_begin was not called.
 * Refusals are counted (metrics, accounting) where they happen; the caller
 * only replies. Every call that ran must be finished: call_finish posts the
 * activation record and counts the call. */
typedef struct srv_call {
  /* inputs */
  mote_server *s;
  srv_fn *fn;                     /* a reference the caller holds until call_clear */
  const char *const *argv;        /* argv[0] included */
  size_t argc;
  const char *const *env;         /* NULL: the function's own env */
  size_t envc;
  const uint8_t *in;              /* stdin */
  size_t in_len;
  /* results */
  char id[33];                    /* the activation id, chosen at call_init */
  srv_quota_verdict quota;
  srv_admission adm;
  bool entered;                   /* holds the namespace's limits */
  const srv_image *img;           /* what ran */
  int64_t start_ms, end_ms;       /* Unix time around the run */
  mote_invoke_result res;
} srv_call;

void call_init(srv_call *call, mote_server *s, srv_fn *fn);
srv_call_status call_begin(srv_call *call);
/* Leaves the limits call_begin took, for a call that will not run. */
void call_abandon(srv_call *call);
srv_call_status call_run(srv_call *call);
/* Records a call that ran: the activation (status, outcome text, meta; may
 * be NULL), metrics and accounting. */
void call_finish(srv_call *call, unsigned status, srv_call_class cls, const char *outcome,
                 const char *meta);
/* The activation record alone (call_finish's first part), for a call that
 * was refused after its caller was told it was accepted (an OpenWhisk
 * invoke past its wait): counted already by call_run. */
void call_record(srv_call *call, unsigned status, const char *outcome, const char *meta);
void call_clear(srv_call *call); /* the run's output; not the fn reference */
/* The activation's outcome text of a run that is not a CGI error: "ok",
 * "exit", "timeout", "trap: ..." */
void call_outcome_text(const mote_invoke_result *res, char *out, size_t cap);

/* ---- the server ------------------------------------------------------------ */

struct mote_server {
  char host[256];
  char data_dir[PATH_MAX];
  char cache_dir[PATH_MAX];
  unsigned workers;
  bool keep_snapshots; /* load and keep functions' snapshots in the store (snapstore.c) */
  uint16_t port;
  mote_store *store;
  srv_auth *auth;                   /* verified credentials */
  bool dev_key_created;             /* --dev made the development key at this start */
  srv_registry *reg;
  srv_metrics *metrics;
  struct MHD_Daemon *daemon;
  srv_admit *admit;                 /* execution slots and their queue */
  srv_quota *quota;                 /* per-namespace limits */
  srv_accounting *acct;             /* usage per namespace and function */
  struct ow_server *ow;             /* OpenWhisk's invokes in the background (ow_invoke.c) */
  struct srv_access_log *access_log; /* NULL: off */
  pthread_mutex_t deploy_lock;      /* orders store writes with registry swaps */
  /* background opt-tier compiles: one worker thread, a FIFO of jobs */
  pthread_t bg_thread;
  bool bg_started;
  pthread_mutex_t bg_lock;
  pthread_cond_t bg_cond;
  struct srv_job *bg_head, *bg_tail;
  bool bg_stop;
};

/* Loads a version: compiles (opt if cached, else quick), loads, checks the
 * imports, then (with its files at files_dir, or none when NULL) runs its initialisation once and snapshots it (fn_prepare),
 * with the settings `st` (which fn->rec takes over later). On failure
 * returns the HTTP status and fills code/msg. *out has one reference.
 * `need_opt` is set when the opt tier should be built. */
int fn_load(mote_server *s, const char *name, const uint8_t *wasm, size_t len,
            const mote_function_settings *st, const char *files_dir, srv_fn **out, bool *need_opt, const char **code, char *msg, size_t cap);
/* Deploys a version of `name` owned by `ns` (api.c; PUT /v1/functions and
 * the OpenWhisk PUT): its files stored first (its initialisation reads
 * them), fn_load, then under deploy_lock the store's deploy (with `meta`)
 * and the registry swap; the opt-tier compile queued. 0 with *out (a
 * reference, the caller's to release), or the HTTP status of a refusal with
 * code and msg (a store refusal: 403 for another namespace's name). */
int deploy_version(mote_server *s, const char *ns, const char *name, const uint8_t *wasm,
                   size_t len, const mote_store_file *files, size_t nfiles,
                   const mote_function_settings *st, const char *meta, srv_fn **out,
                   const char **code, char *msg, size_t cap);
/* The invocation settings every run of a version shares: module or
 * snapshot, memory, timeout, env, its files. The caller adds argv, stdio
 * and caps. */
void fn_invoke_config(const srv_fn *fn, const srv_image *img, const mote_function_settings *st,
                      mote_invoke_config *cfg);
/* Runs the image's initialisation once (start function, mote_init) and
 * keeps its snapshot in img->snap (registry.c). 0, or the HTTP status of a
 * failed initialisation with code/msg. */
int fn_prepare(const srv_fn *fn, srv_image *img, const char *name,
               const mote_function_settings *st, const char **code, char *msg, size_t cap);
/* snapstore.c: fn_prepare through the store: the snapshot kept for exactly
 * this compiled object (so_path, compile_key) and these inputs of the
 * initialisation (name, settings, files) when there is a good one (then
 * img->snap_kept, and no initialisation runs), else fn_prepare and its
 * snapshot to be kept for the next start: at once when `keep_now` (the
 * version is stored: an opt build), else when snapstore_keep is called
 * (fn_load: only a deploy that the store accepts may replace the kept
 * snapshot of its name). A kept snapshot that is damaged or made for
 * anything else is never used: the initialisation runs again and its
 * snapshot replaces it (a line on stderr says why). Returns as
 * fn_prepare. */
int snapstore_prepare(mote_server *s, const srv_fn *fn, srv_image *img, const char *so_path,
                      const char *compile_key, const char *name,
                      const mote_function_settings *st, bool keep_now, const char **code,
                      char *msg, size_t cap);
/* snapstore.c: keeps fn's base snapshot if it waits for it (fn->rec is the
 * stored version's record). */
void snapstore_keep(mote_server *s, srv_fn *fn);
/* Queues the opt-tier compile of fn's module (takes a reference to fn and
 * a copy of the bytes). */
void bg_queue_opt(mote_server *s, srv_fn *fn, const uint8_t *wasm, size_t len);
void bg_start(mote_server *s);
void bg_stop(mote_server *s);

/* ---- requests (http.c) --------------------------------------------------- */

/* What the access log says of a call of /faas/NAME (faas.c fills it). */
typedef struct srv_call_log {
  bool set;
  char function[SRV_NAME_MAX + 1];
  uint64_t version;
  char activation_id[33]; /* "" when the call never ran */
  uint64_t wait_us, init_us, exec_us;
  const char *code;       /* static: the error code of a failed call; NULL for a 200 */
} srv_call_log;

typedef struct srv_param {
  char *key, *value; /* decoded, NUL-terminated, from malloc */
} srv_param;

/* Everything one request owns; freed at once when it completes. */
typedef struct srv_req {
  char *uri;             /* raw request target, query included */
  const char *query;     /* points into uri after '?', or "" */
  srv_param *params;     /* the decoded query */
  size_t nparams;
  bool query_bad;        /* malformed: msg in query_err */
  char query_err[160];
  int route;
  char name[128];        /* {name} or {id} of the route */
  char *path_info;       /* /faas/{name}/rest: "/rest" (malloc), else NULL */
  char method[16];       /* as received (longer ones truncated: refused anyway) */
  char version[16];      /* "HTTP/1.1" */
  bool started;
  uint8_t *body;
  size_t len, cap, limit;
  bool too_large;
  size_t discarded;      /* bytes of an oversized body dropped */
  bool authed;           /* the credentials were checked: ns is the caller's */
  char ns[MOTE_STORE_NS_MAX + 1];
  uint64_t t_arrival_us; /* CLOCK_MONOTONIC, at the first handler call */
  uint64_t t_start_us;   /* CLOCK_MONOTONIC, when the request line was read */
  int64_t t_wall_ms;     /* the same in Unix time, for the access log */
  unsigned status;       /* of the response queued (reply_queue); 0: none yet */
  uint64_t bytes_out;    /* its body */
  srv_call_log call;
} srv_req;

/* Per connection (MHD's socket context): the request in progress, so that
 * reply_queue can note what was answered. */
typedef struct srv_conn {
  srv_req *req;
} srv_conn;

/* The request's Content-Length when it has a valid one (query.c). */
bool request_declared_length(struct MHD_Connection *c, unsigned long long *n);
/* Query parsing (query.c). False with a message for a malformed string. */
bool query_parse(const char *q, srv_param **out, size_t *count, char *msg, size_t cap);
void query_free(srv_param *p, size_t count);
const char *query_get(const srv_req *r, const char *key);

/* Replies (reply.c). Each queues a response and returns MHD's result. */
/* Queues resp (a body of body_len bytes) and notes status and size in the
 * connection's request for the access log. Every reply goes through it. */
enum MHD_Result reply_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp,
                            size_t body_len);
/* A JSON response of body (stolen, one line), *len its size; NULL when out of memory. */
struct MHD_Response *json_response(json_t *body, size_t *len);
enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *body /* stolen */);
enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code,
                            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A JSON string of arbitrary bytes: invalid UTF-8 becomes U+FFFD. */
json_t *json_bytes(const uint8_t *p, size_t n);
/* True when p[0..n) is valid UTF-8 without NUL bytes. */
bool utf8_valid(const uint8_t *p, size_t n);
/* The same as a NUL-terminated string from malloc. */
char *utf8_dup(const uint8_t *p, size_t n);
uint64_t srv_now_us(void);
/* Unix time in ms (reply.c, beside srv_now_us). */
int64_t srv_wall_ms(void);
/* Unix milliseconds as a JSON string "2026-11-26T17:22:19.445Z" (UTC). */
json_t *json_utc_ms(int64_t ms);

/* Route handlers, called once the whole body is read. */
enum MHD_Result api_functions_list(mote_server *s, struct MHD_Connection *c, srv_req *r);
enum MHD_Result api_function_get(mote_server *s, struct MHD_Connection *c, srv_req *r);
enum MHD_Result api_function_put(mote_server *s, struct MHD_Connection *c, srv_req *r);
enum MHD_Result api_function_delete(mote_server *s, struct MHD_Connection *c, srv_req *r);
enum MHD_Result api_activations_list(mote_server *s, struct MHD_Connection *c, srv_req *r);
enum MHD_Result api_activation_get(mote_server *s, struct MHD_Connection *c, srv_req *r);
enum MHD_Result faas_call(mote_server *s, struct MHD_Connection *c, srv_req *r);
/* GET /v1/usage[?function=NAME] (accounting.c): the caller's namespace's
 * totals (a key is required). */
enum MHD_Result api_usage(mote_server *s, struct MHD_Connection *c, srv_req *r);
/* Checks done before the body is read; a non-zero return is the status of
 * a reply already queued. (The /v1 routes' key is checked before these, in
 * http.c.) */
int faas_precheck(mote_server *s, struct MHD_Connection *c, srv_req *r, enum MHD_Result *res);
int api_function_put_precheck(mote_server *s, struct MHD_Connection *c, srv_req *r,
                              enum MHD_Result *res);

/* ---- CGI mode (cgi.c): functions deployed with cgi=true ------------------- */

/* The header block a function makes (CGI output, a web action's headers):
 * bytes and lines, so that the reply's header block always fits the
 * connection's memory (SRV_CONNECTION_MEMORY). */
#define SRV_CGI_MAX_HEADERS (8u << 10)
#define SRV_CGI_MAX_HEADER_LINES 100u

/* header.c: a field name (n bytes) is a token; a value has no control byte
 * but tab. */
bool srv_header_name_ok(const char *s, size_t n);
bool srv_header_value_ok(const char *s);

/* A CGI function's header block, parsed (cgi_output.c; no HTTP library). */
typedef struct cgi_header {
  const char *name, *value; /* point into cgi_head.block */
} cgi_header;
typedef struct cgi_head {
  unsigned status;                    /* Status, else 302 with Location, else 200 */
  const char *content_type, *location; /* NULL when not printed */
  cgi_header *headers;                /* the headers passed through (malloc) */
  size_t nheaders;
  char dropped[512];                  /* names of refused headers, ", " between */
  size_t body_offset;                 /* the body's first byte in the output */
  char *block;                        /* the block's text, owning the strings (malloc) */
} cgi_head;
/* Parses the header block of `out`. 0: *h is filled (free with
 * cgi_head_free); 1: the output is not valid CGI, msg says why (the call is a
 * 502); -1: out of memory. On non-zero *h owns nothing. */
int cgi_parse(const uint8_t *out, size_t len, cgi_head *h, char *msg, size_t cap);
void cgi_head_free(cgi_head *h);

/* The guest environment of a CGI call: the function's own env (minus any
 * key a CGI variable sets) followed by the CGI/1.1 variables of the request
 * and HTTP_* for its headers (never Authorization/Proxy-Authorization).
 * NULL on out of memory; free with cgi_env_free. */
char **cgi_env(mote_server *s, struct MHD_Connection *c, const srv_req *r,
               const mote_function_settings *st, size_t *count);
void cgi_env_free(char **env, size_t count);
/* Parses a CGI function's stdout (header block, empty line, body) into a
 * response and its status. 0 with *out set; 1 when the output is not valid
 * CGI (msg says why: the call is a 502); -1 when out of memory. */
int cgi_response(const uint8_t *out, size_t len, struct MHD_Response **resp, unsigned *status,
                 size_t *body_len, char *msg, size_t cap);

/* ---- access log (access_log.c): one JSON line per request ------------------ */

typedef struct srv_access_log srv_access_log;
/* path "-": stderr. NULL with msg set when the file cannot be opened. */
srv_access_log *access_log_open(const char *path, char *msg, size_t cap);
void access_log_close(srv_access_log *l); /* writes what is pending */
/* Logs r (call it once, when the request is over); never blocks on the disk. */
void access_log_request(srv_access_log *l, struct MHD_Connection *c, const srv_req *r,
                        bool aborted);
/* Lines lost: backlog full, out of memory, or a failed write. */
uint64_t access_log_dropped(srv_access_log *l);

/* ---- bundles (bundle.c): a deploy as .tar.gz, .tar or .zip ------------------ */

#define SRV_BUNDLE_MODULE "main.wasm" /* the module's name at a bundle's root */

/* What a deploy's body is, from its Content-Type (then its first bytes). */
typedef enum srv_body_kind {
  SRV_BODY_UNSUPPORTED = 0,
  SRV_BODY_WASM,   /* application/wasm: the module itself */
  SRV_BODY_TAR,    /* application/x-tar: a tar, gzip-compressed or not */
  SRV_BODY_TAR_GZ, /* application/gzip, application/x-gzip: a gzip-compressed tar */
  SRV_BODY_ZIP,    /* application/zip, application/x-zip-compressed */
  SRV_BODY_SNIFF,  /* application/octet-stream: decided by bundle_sniff */
} srv_body_kind;

srv_body_kind bundle_kind_of_type(const char *content_type);
/* WASM, TAR_GZ, ZIP or TAR by magic bytes; UNSUPPORTED when none matches. */
srv_body_kind bundle_sniff(const uint8_t *p, size_t n);

/* An extracted, checked bundle. */
typedef struct srv_bundle {
  uint8_t *module;        /* main.wasm's bytes, from malloc */
  size_t module_len;
  mote_store_file *files; /* every other file, sorted by path; paths and data from malloc */
  size_t nfiles;
  uint64_t files_bytes;   /* their total size */
} srv_bundle;

/* Extracts the archive `body` (kind TAR, TAR_GZ or ZIP) into *out, checking
 * every entry and the limits above. False with a message naming the entry
 * (for a 400) when the bundle is refused; *out is then empty. Free a
 * successful result with bundle_free. */
bool bundle_extract(const uint8_t *body, size_t len, srv_body_kind kind, srv_bundle *out,
                    char *msg, size_t cap);
void bundle_free(srv_bundle *b);

/* The body limit of PUT /v1/functions/{name}: a module's, or a bundle's for
 * every other Content-Type (an unsupported one is refused afterwards). */
size_t deploy_body_limit(struct MHD_Connection *c);

/* JSON of a version record: settings with the server's defaults applied
 * (max_queue_default: admit_fn_queue_default), and "files": {count, bytes,
 * paths (up to SRV_FILES_LISTED)} of its stored files, from a walk of
 * DIR/files/<hash>. */
json_t *version_json(mote_store *store, const mote_function_version *v,
                     unsigned max_queue_default);

#endif /* MOTE_SERVER_INTERNAL_H */
