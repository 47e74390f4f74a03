/*
 * etcd: a client of etcd's v3 HTTP/JSON gateway (etcd 3.4: /v3/kv/put,
 * /v3/kv/range, /v3/kv/deleterange, /v3/kv/txn, /v3/lease/grant,
 * /v3/lease/keepalive, /v3/lease/revoke, /v3/watch), over libcurl.
 *
 * Keys and values are bytes on our side and base64 in the gateway's JSON;
 * 64-bit numbers come back as JSON strings. A request goes to the endpoint
 * that answered last; when it cannot be reached (or answers 5xx: no leader,
 * a leader change) the next endpoint is tried, so one dead member of a
 * cluster costs a failed connect (bounded by ETCD_CONNECT_MS), not an error.
 * When members took the request but none answered (held through an
 * election, or dropped with the dead leader) the endpoints are tried again
 * until ETCD_ELECTION_MS have passed; when none could be reached at all the
 * request fails at once. A request tried again may have been applied the
 * first time: writes here are puts, deletes and compare-and-set
 * transactions, which a second application leaves as they were or refuses.
 *
 * Private to src/cluster (its files and tests; the CLI's admin verbs reach
 * etcd through cluster.h). Threads: a client may be used from many threads;
 * it keeps a few curl handles (and so their connections) for reuse.
 */
#ifndef MOTE_CLUSTER_ETCD_H
#define MOTE_CLUSTER_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETCD_MAX_ENDPOINTS 16
#define ETCD_CONNECT_MS 300       /* a connect to one endpoint */
#define ETCD_REQUEST_MS 3000      /* one try of a unary request, whole */
#define ETCD_ELECTION_MS 10000    /* a request's tries while members hold it (an election: 1.6-3.8 s measured) */
#define ETCD_RETRY_PAUSE_MS 100   /* between passes over the endpoints */
#define ETCD_MAX_REPLY (64u << 20) /* bytes of a reply */
#define ETCD_RANGE_PAGE 32 /* keys per reply of a prefix's range: mote's records are at most
                              CL_RECORD_MAX (1 MiB), so a page stays under 43 MiB of base64 */

typedef enum etcd_status {
  ETCD_OK = 0,
  ETCD_UNAVAILABLE, /* no endpoint answered (or all answered 5xx): msg says what */
  ETCD_FAILED,      /* an endpoint refused the request (4xx, a bad reply): msg */
  ETCD_COMPACTED,   /* a watch from a revision etcd has compacted away */
  ETCD_STOPPED,     /* a watch stopped by its caller */
  ETCD_NO_MEMORY,
} etcd_status;

typedef struct etcd etcd;

/* endpoints: "http://H:P[,http://H2:P2...]". NULL with msg when the list is
 * empty, too long or malformed (or out of memory). */
etcd *etcd_new(const char *endpoints, char *msg, size_t cap);
void etcd_free(etcd *e);
/* The endpoint the client talks to now (for messages). */
const char *etcd_endpoint(etcd *e);
/* The last error's text (thread-local to the caller's last request). */
const char *etcd_error(void);

/* One key-value, from malloc (etcd_kv_clear). value is NUL-terminated
 * (len bytes before the NUL) for the convenience of JSON values. */
typedef struct etcd_kv {
  char *key;
  size_t key_len; /* its bytes: longer than strlen(key) when the key holds a NUL */
  uint8_t *value;
  size_t len;
  int64_t create_rev, mod_rev, version, lease;
} etcd_kv;
void etcd_kv_clear(etcd_kv *kv);
void etcd_kvs_free(etcd_kv *kvs, size_t n);

/* rev (may be NULL): the store's revision after the request. */
etcd_status etcd_put(etcd *e, const char *key, const void *val, size_t len, int64_t lease,
                     int64_t *rev);
/* One key: *found false when it is absent (out untouched). */
etcd_status etcd_get(etcd *e, const char *key, etcd_kv *out, bool *found, int64_t *rev);
/* Every key under a prefix, sorted by key, as of one revision (*rev), read
 * in pages: *out from malloc (etcd_kvs_free). */
etcd_status etcd_range_prefix(etcd *e, const char *prefix, etcd_kv **out, size_t *n,
                              int64_t *rev);
/* Deletes a key, or every key under it when `prefix`; *deleted may be NULL. */
etcd_status etcd_delete(etcd *e, const char *key, bool prefix, int64_t *deleted);

/* A transaction: if every comparison holds, the `then` operations run, else
 * the `otherwise` ones; atomically. */
typedef enum etcd_target { ETCD_CREATE, ETCD_MOD, ETCD_VERSION, ETCD_VALUE } etcd_target;
typedef enum etcd_cmp_op { ETCD_EQUAL, ETCD_NOT_EQUAL, ETCD_LESS, ETCD_GREATER } etcd_cmp_op;
typedef struct etcd_cmp {
  const char *key;
  etcd_target target;
  etcd_cmp_op op;
  int64_t number;      /* CREATE, MOD (revisions), VERSION */
  const void *value;   /* VALUE */
  size_t len;
} etcd_cmp;
typedef enum etcd_op_kind { ETCD_OP_PUT, ETCD_OP_DELETE } etcd_op_kind;
typedef struct etcd_op {
  etcd_op_kind kind;
  const char *key;
  const void *value;   /* PUT */
  size_t len;
  int64_t lease;       /* PUT: 0 none */
} etcd_op;
etcd_status etcd_txn(etcd *e, const etcd_cmp *cmp, size_t ncmp, const etcd_op *then, size_t nthen,
                     const etcd_op *otherwise, size_t notherwise, bool *succeeded, int64_t *rev);

/* Leases: a grant of ttl_s seconds (*id), a renewal (*ttl_left: 0 when the
 * lease has expired or is unknown), a revocation (its keys go at once). */
etcd_status etcd_lease_grant(etcd *e, int64_t ttl_s, int64_t *id);
etcd_status etcd_lease_keepalive(etcd *e, int64_t id, int64_t *ttl_left);
etcd_status etcd_lease_revoke(etcd *e, int64_t id);

/* A watch of every key under `prefix` from revision start_rev (0: from now
 * on), on the caller's thread, until the stream ends, *stop becomes true
 * (checked at least every 100 ms), or on_events returns false. on_events
 * gets each response's events in order (n 0: the watch is established,
 * events follow) and the revision they bring the store to. Returns why it
 * ended (ETCD_UNAVAILABLE: the connection failed or was lost; COMPACTED:
 * start_rev is gone, read everything again; STOPPED) and *last_rev, the
 * last revision delivered (start_rev - 1 when none). */
typedef struct etcd_event {
  bool deleted;
  etcd_kv kv; /* a DELETE has the key and mod_rev only */
} etcd_event;
typedef bool (*etcd_watch_fn)(void *ctx, const etcd_event *ev, size_t n, int64_t rev);
etcd_status etcd_watch(etcd *e, const char *prefix, int64_t start_rev, etcd_watch_fn on_events,
                       void *ctx, const volatile bool *stop, int64_t *last_rev);

#endif /* MOTE_CLUSTER_ETCD_H */
