/* Internal to src/cluster: shared between its files and its tests, not an API. */
#ifndef MOTE_CLUSTER_INTERNAL_H
#define MOTE_CLUSTER_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

#include <curl/curl.h>

#include "base/map.h"
#include "cluster/cluster.h"
#include "cluster/etcd.h"

#define CL_PREFIX "/mote/"
#define CL_KEY_MAX 256                 /* bytes of a record's key */
#define CL_URL_MAX 256                 /* bytes of a node's URL */
#define CL_HOLDERS 4                   /* nodes named in a record as holding its bytes */
#define CL_SECRET_HEX 65               /* the cluster secret: 32 random bytes in hex */
#define CL_RECORD_MAX (1u << 20)       /* bytes of a function's record (etcd takes 1.5 MiB) */
#define CL_RETRY_MS 1000               /* a function that could not be applied, tried again */
#define CL_APPLIERS 4                  /* functions applied at once (apply.c), each name by one */
#define CL_COMMIT_TRIES 20             /* a deploy's transaction against concurrent ones */
#define CL_PEER_CONNECT_MS 500
#define CL_PEER_TIMEOUT_S 300          /* a whole transfer (256 MiB of files, a slow peer) */
#define CL_PEER_REPLY_MS 30000         /* a peer's answer (a list; a call: past its limits) */
#define CL_BUILD_WAIT_S 900            /* the longest wait for a peer's build of an object */

/* ---- records.c: the records, as JSON ------------------------------------------------- */

/* A function's record (fn/NS/NAME). */
typedef struct cl_fn {
  mote_function_version rec;       /* owned (mote_function_version_clear) */
  uint64_t module_len;
  char holders[CL_HOLDERS][CLUSTER_NODE_MAX + 1]; /* nodes that held its bytes at the commit */
  unsigned nholders;
} cl_fn;
void cl_fn_clear(cl_fn *f);
/* JSON of a commit (from malloc), NULL when out of memory. */
char *rec_fn_json(const core_commit *what, uint64_t version, int64_t created_ms,
                  const char *const *holders, size_t nholders);
/* A record's JSON into *out (ns and name from its key). False when it is
 * not a valid record (a damaged or foreign one: ignored, said on stderr). */
bool rec_fn_parse(const char *ns, const char *name, const uint8_t *json, size_t len, cl_fn *out);

/* A node (nodes/NAME), as its record says; draining from drain/NAME. */
typedef struct cl_node {
  char name[CLUSTER_NODE_MAX + 1];
  char url[CL_URL_MAX];
  char tag[9];
  bool draining;
} cl_node;
char *rec_node_json(const char *url, const char *tag);
bool rec_node_parse(const char *name, const uint8_t *json, size_t len, cl_node *out);

char *rec_key_json(const mote_key_record *k);
bool rec_key_parse(const char *uuid, const uint8_t *json, size_t len, mote_key_record *out);

char *rec_ns_json(int64_t created_ms, const mote_namespace_limits *lim);
bool rec_ns_parse(const uint8_t *json, size_t len, int64_t *created_ms,
                  mote_namespace_limits *lim);

/* A compiled object (obj/KEY): BLAKE2b of its bytes, their count, the node
 * that built it. */
typedef struct cl_obj {
  char hash[MOTE_STORE_HASH_HEX];
  uint64_t bytes;
  char node[CLUSTER_NODE_MAX + 1];
} cl_obj;
char *rec_obj_json(const cl_obj *o);
bool rec_obj_parse(const uint8_t *json, size_t len, cl_obj *out);

/* Splits a record's key (CL_PREFIX + "kind/rest"): kind and rest point into
 * buf. False for a key outside the prefix. */
bool rec_split(const char *key, char *buf, size_t cap, const char **kind, const char **rest);

/* ---- view.c: this node's copy of the records ------------------------------------------- */

typedef enum cl_change {
  CL_CHANGE_NONE = 0,
  CL_CHANGE_FN,      /* subject: "NS/NAME" */
  CL_CHANGE_NODES,   /* a node came, went, or was drained */
  CL_CHANGE_KEY,     /* subject: the uuid */
  CL_CHANGE_NS,      /* subject: the namespace */
  CL_CHANGE_OBJ,     /* an object published or a build ended */
  CL_CHANGE_SECRET,
} cl_change;

typedef struct cl_view cl_view;
cl_view *view_new(void);
void view_free(cl_view *v);
/* After a full read has put every record: what the read did not have goes
 * (keys not in kvs). False when out of memory: then nothing goes. */
bool view_keep_only(cl_view *v, const etcd_kv *kvs, size_t n);
/* An event: what it changed, and its subject (cap bytes). A record that
 * cannot be read changes nothing (CL_CHANGE_NONE): the view keeps what it
 * had for its key. */
cl_change view_put(cl_view *v, const etcd_kv *kv, char *subject, size_t cap);
cl_change view_delete(cl_view *v, const char *key, char *subject, size_t cap);
/* Copies: a function's record (false: none), every function's "NS/NAME"
 * (*keys from malloc, each too), the live nodes sorted by name (*out from
 * malloc), the secret (false: none yet), an object's record, a build's node. */
bool view_fn(cl_view *v, const char *fnkey, cl_fn *out);
size_t view_fn_keys(cl_view *v, char ***keys);
size_t view_nodes(cl_view *v, cl_node **out);
/* What every function's record names: its module and files hashes and its
 * meta text (*out from malloc, each too); false when out of memory. */
bool view_fn_names(cl_view *v, char ***out, size_t *n);
bool view_node(cl_view *v, const char *name, cl_node *out);
bool view_url_live(cl_view *v, const char *url); /* a live node has this URL */
bool view_secret(cl_view *v, char out[CL_SECRET_HEX]);
bool view_obj(cl_view *v, const char *key, cl_obj *out);
bool view_building(cl_view *v, const char *key, char node[CLUSTER_NODE_MAX + 1]);
/* Waits up to ms for a change of objects or builds (or view_wake). */
void view_wait_objects(cl_view *v, unsigned ms);
void view_wake(cl_view *v);

/* ---- placement.c ------------------------------------------------------------------------ */

/* The nodes that serve function `fnkey` ("NS/NAME") with `replicas` (0:
 * every node): the live nodes not drained, ranked by rendezvous hashing
 * (BLAKE2b of node and function: the best score first), the first
 * `replicas` of them. order gets the indexes into nodes of every live node,
 * placed ones first (the rest by rank too, drained last); returns how many
 * are placed. */
size_t placement(const cl_node *nodes, size_t n, const char *fnkey, uint32_t replicas,
                 size_t *order);

/* ---- the node --------------------------------------------------------------------------- */

typedef struct cl_pending {
  struct cl_pending *next;
  char fnkey[CL_KEY_MAX];
  int64_t rev;            /* the view's revision when it was scheduled */
  uint64_t due_ms;        /* a retry: not before (monotonic ms); 0: now */
} cl_pending;

struct mote_cluster {
  mote_core *core;
  http_server *http;
  etcd *etcd;
  char node[CLUSTER_NODE_MAX + 1];
  char url[CL_URL_MAX];
  char tag[9];
  char dev_ns[MOTE_STORE_NS_MAX + 1];  /* "" when not --dev */
  char dev_uuid[MOTE_STORE_UUID_LEN + 1], dev_key[MOTE_STORE_KEY_LEN + 1];
  bool dev_made;           /* the --dev namespace and key exist in etcd */
  cl_view *view;
  char cache_dir[PATH_MAX];

  pthread_mutex_t lock;    /* the fields below */
  pthread_cond_t wake;      /* the lease and watch threads' waits (and stop) */
  pthread_cond_t apply_wake; /* the appliers': work scheduled, an apply ended, stop */
  volatile bool stop;
  bool started;
  pthread_t member_thread, sync_thread, apply_threads[CL_APPLIERS];
  unsigned started_appliers; /* threads made (joined at free) */
  unsigned appliers;       /* threads that took their slot (apply_main) */
  int64_t lease;           /* 0: none now */
  bool lease_ok;           /* the last renewal (or grant) succeeded */
  bool watching;           /* the watch is established */
  bool secret_made;        /* the secret exists in etcd (made or found) */
  int64_t view_rev;        /* the revision the view has reached */
  cl_pending *queue, *queue_tail; /* functions to apply, FIFO */
  cl_pending *retry;       /* functions that failed, tried again later */
  cl_pending *busy[CL_APPLIERS]; /* what each applier is applying; NULL: nothing */
  mote_map *scheduled;     /* fnkey -> its cl_pending (queued or retry) */
  unsigned quota_index, quota_count;
  atomic_uint_fast64_t objects_fetched, objects_built, forwarded; /* for /metrics */
};

/* cluster.c */
void cl_publish_state(mote_cluster *cl); /* the core's cluster state from the fields above */
/* A message for a refusal because etcd did not answer. */
mote_core_status cl_unavailable(mote_cluster *cl, mote_core_error *err, const char *doing);
/* mote_store_valid_name for a node's name, and an advertised URL. */
bool cl_valid_url(const char *url);

/* member.c: the lease thread */
void *member_main(void *arg);

/* sync.c: the watch thread; and what an event does */
void *sync_main(void *arg);

/* apply.c: the applier threads, and scheduling */
void *apply_main(void *arg); /* arg: the cluster; its slot is cl->appliers at its start */
void apply_schedule(mote_cluster *cl, const char *fnkey, int64_t rev); /* cl->lock held */
void apply_schedule_all(mote_cluster *cl, int64_t rev);               /* takes cl->lock */
/* Is this node among the ones the placement puts fnkey on (before its own
 * record is in the view: every function of the default placement)? */
bool apply_placed_here(mote_cluster *cl, const char *fnkey, uint32_t replicas);
/* The revision every record up to which is applied here. cl->lock held. */
int64_t apply_revision(mote_cluster *cl);

/* commit.c: the core's hooks */
mote_core_status commit_deploy(void *ctx, const core_commit *what, uint64_t *version,
                               bool *serve_here, mote_core_error *err);
/* After a deploy was kept here: the function is scheduled again. */
void commit_deployed(void *ctx, const char *ns, const char *name);
mote_core_status commit_delete(void *ctx, const char *ns, const char *name, mote_core_error *err);

/* peer.c: requests to a peer node, authenticated with the secret. 200: OK
 * with *body (from malloc, NUL after it); else 404 NOT_FOUND, or FAILED with
 * msg. */
typedef enum peer_status { PEER_OK, PEER_NOT_FOUND, PEER_FAILED } peer_status;
peer_status peer_get(mote_cluster *cl, const char *url, const char *path, uint8_t **body,
                     size_t *len, char *msg, size_t cap);
peer_status peer_put(mote_cluster *cl, const char *url, const char *path, const uint8_t *body,
                     size_t len, char *msg, size_t cap);
/* A transfer with a peer lasts no longer than the peer stays live (a node
 * with its URL in the view: a frozen or cut-off node leaves it when its
 * lease expires, 2-3 s) and than timeout_ms: checked when libcurl reports
 * progress (about once a second while it waits, at most every 100 ms while
 * data flows). *w lives as long as the transfer; url is not copied. A
 * transfer stopped so ends with CURLE_ABORTED_BY_CALLBACK. */
typedef struct peer_watch {
  mote_cluster *cl;
  const char *url;
  uint64_t next_us, deadline_us;
} peer_watch;
void peer_watch_set(CURL *c, peer_watch *w, mote_cluster *cl, const char *url, uint64_t timeout_ms);
/* curl handles kept for reuse (their connections with them). */
CURL *peer_curl_take(void); /* NULL when out of memory */
void peer_curl_give(CURL *c);
/* A reply collected in memory, up to max bytes (a NUL after them). */
typedef struct peer_buf {
  uint8_t *p;
  size_t len, cap, max;
  bool too_big;
} peer_buf;
size_t peer_collect(char *data, size_t size, size_t n, void *arg); /* CURLOPT_WRITEFUNCTION */

/* blobs.c: the peer routes, and bytes moved between nodes */
bool blobs_add_routes(mote_cluster *cl);
/* A tar of a version's module (as main.wasm) and files (from malloc). */
bool blobs_tar(mote_cluster *cl, const char *module_hash, const char *files_hash, uint8_t **out,
               size_t *len, char *msg, size_t cap);
/* Stores a tar made by blobs_tar, checking that the module and the files
 * hash to what is expected (files_hash NULL: none). */
bool blobs_untar(mote_cluster *cl, const uint8_t *tar, size_t len, const char *module_hash,
                 const char *files_hash, char *msg, size_t cap);
/* Pushes a version's bytes to a peer (before the commit). */
bool blobs_push(mote_cluster *cl, const cl_node *to, const char *module_hash,
                const char *files_hash, char *msg, size_t cap);
/* Pulls a version's bytes from the peers (the holders first) into the store. */
bool blobs_pull(mote_cluster *cl, const cl_fn *f, char *msg, size_t cap);

/* objects.c: the core's object hooks */
bool objects_fetch(void *ctx, mote_tier tier, const char *key, bool wait);
void objects_built(void *ctx, mote_tier tier, const char *key, const char *so_path);

/* admin.c, for haproxy.c: the live nodes (*out from malloc; (size_t)-1
 * with err when etcd did not answer) and the revision read; the client. */
size_t admin_nodes(mote_cluster_admin *a, cl_node **out, int64_t *rev, mote_cluster_error *err);
etcd *admin_etcd(mote_cluster_admin *a);

/* forward.c */
void forward_attach(mote_cluster *cl);

#endif /* MOTE_CLUSTER_INTERNAL_H */
