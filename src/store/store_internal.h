/*
 * store internals: shared by the files of src/store/, not part of the API.
 *
 *   store.c        open/close, schema, the connection pool, errors
 *   migrate.c      a data directory of an older schema moved on at open
 *   disk.c         hashing, atomic writes of blobs and file trees
 *   registry.c     functions and versions (deploy, get, list, delete)
 *   activations.c  activation records and their retention
 *   keys.c         namespaces and API keys (stored hashed)
 *   usage.c        accounting totals and per-namespace limits
 *   sweep.c        blobs and file sets nothing refers to any more, removed
 *
 * Connections. SQLite serialises writers anyway, so the store has ONE writer
 * connection behind `write_lock` (no busy-waiting between our own threads:
 * a SQLite busy handler sleeps in milliseconds) and a pool of reader
 * connections, opened on demand, one per concurrently reading thread (WAL lets
 * readers run beside the writer). Every connection is opened
 * SQLITE_OPEN_NOMUTEX: the pool guarantees one thread at a time on each.
 */
#ifndef MOTE_STORE_INTERNAL_H
#define MOTE_STORE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>

#include "store.h"

/* Prepared statements, cached per connection (prepared on first use). */
typedef enum stmt_id {
  ST_GET_LATEST,
  ST_GET_VERSION,
  ST_LIST,
  ST_LIST_NS,
  ST_ACT_INSERT,
  ST_ACT_TRIM,
  ST_ACT_COUNT,
  ST_ACT_GET,
  ST_ACT_GET_NS,
  ST_ACT_LIST_ALL,
  ST_ACT_LIST_FN,
  ST_ACT_LIST_NS,
  ST_ACT_LIST_NS_FN,
  ST_SEQ_NEXT,
  ST_VER_INSERT,
  ST_FN_UPSERT,
  ST_FN_DELETE,
  ST_VER_DELETE,
  ST_NS_INSERT,
  ST_NS_LIST,
  ST_NS_DELETE,
  ST_NS_KEYS_DELETE,
  ST_KEY_INSERT,
  ST_KEY_GET,
  ST_KEY_LIST_ALL,
  ST_KEY_LIST_NS,
  ST_KEY_DELETE,
  ST_FILES_INSERT,
  ST_SNAP_PUT,
  ST_SNAP_GET,
  ST_SNAP_FORGET,
  ST_FN_LATEST,
  ST_VER_PUT,
  ST_FN_PUT,
  ST_SEQ_RAISE,
  ST_KEY_PUT,
  ST_COUNT_
} stmt_id;

typedef struct store_conn {
  sqlite3 *db;
  sqlite3_stmt *stmt[ST_COUNT_];
  struct store_conn *next; /* free list of readers */
} store_conn;

/* Per-function activation counts, so retention trims exactly without a
 * count(*) per put: an open-addressing table under write_lock, keyed by
 * "namespace/function" ('/' is in neither name). */
typedef struct act_count {
  char *function;   /* the key, from malloc(), NULL = empty slot */
  int64_t count;    /* rows of this function in the table */
  uint32_t retain;  /* during a batch: the retain of its last put */
  bool touched;     /* during a batch: trim it before the commit */
} act_count;

/* A record queued for a commit: a thread waiting in
 * mote_store_activation_put (group commit, see activations.c; lives on
 * that thread's stack until `done`), or one posted to the write-behind
 * queue (activation_queue.c; from malloc(), `a` points at its own copy). */
typedef struct act_waiter {
  const mote_activation *a;
  uint32_t retain;
  bool done;
  mote_store_status status;
  char message[256];
  struct act_waiter *next;
} act_waiter;

struct mote_store {
  char *dir; /* from malloc() */

  pthread_mutex_t write_lock; /* guards writer and counts */
  store_conn writer;
  act_count *counts;
  size_t counts_cap, counts_used;
  uint64_t tmp_seq; /* names of temporary files: __atomic_fetch_add only */

  pthread_mutex_t act_lock; /* guards the activation queue */
  pthread_cond_t act_done;
  act_waiter *act_head, *act_tail;
  bool act_leader; /* a thread is committing a batch */

  /* The write-behind queue (activation_queue.c), guarded by act_lock too. */
  pthread_cond_t act_wake;        /* the writer thread: records arrived, or stop */
  act_waiter *post_head, *post_tail;
  uint64_t posted, committed;     /* records posted / written (or refused) so far */
  bool writer_started, writer_stop;
  pthread_t writer_thread;

  /* A sweep's look at an entry of blobs/ or files/ against a claim of it
   * (sweep.c): one at a time. */
  pthread_mutex_t sweep_lock;

  pthread_mutex_t pool_lock; /* guards readers */
  store_conn *readers;       /* free readers */
};

/* usage.c: deletes a namespace's limits (within the caller's transaction
 * on the writer, when the namespace goes). */
mote_store_status store_limits_forget(store_conn *w, const char *ns, mote_store_error *err);

/* activations.c: writes a batch of queued records in one transaction and
 * fills each one's status. */
void store_act_commit_batch(mote_store *s, act_waiter *batch);
/* activations.c: checks a record before it is queued (id, names, meta
 * size): MOTE_STORE_OK or INVALID with err filled. */
mote_store_status store_act_check(const mote_activation *a, mote_store_error *err);
/* activation_queue.c: drains the write-behind queue and stops its thread
 * (at close). */
void store_act_queue_stop(mote_store *s);

/* Errors: fill `err` (may be NULL) and return its status. */
mote_store_status store_fail(mote_store_error *err, mote_store_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* SQLite's error of db: MOTE_STORE_FULL when it ran out of space, else IO. */
mote_store_status store_db_fail(mote_store_error *err, sqlite3 *db, const char *doing);
/* The status of a failed system call's errno: FULL for ENOSPC and EDQUOT, else IO. */
mote_store_status store_io_status(int errnum);
void store_ok(mote_store_error *err);

/* Connections. */
store_conn *store_reader_take(mote_store *s, mote_store_error *err);
void store_reader_give(mote_store *s, store_conn *c);
/* A statement of `c`, reset and with bindings cleared; NULL on failure. */
sqlite3_stmt *store_stmt(store_conn *c, stmt_id id);
/* Runs SQL without results on `db`; 0 or the SQLite code. */
int store_exec(sqlite3 *db, const char *sql);

int64_t store_now_ms(void);

/* Runs `body` in one transaction on the writer, under write_lock, and
 * commits it with synchronous=FULL (an fsync of the WAL): for changes that
 * are acknowledged to someone (deploys, deletes, keys). On failure the
 * transaction is rolled back. */
typedef mote_store_status (*store_write_body)(store_conn *w, void *ctx, mote_store_error *err);
mote_store_status store_write_durably(mote_store *s, store_write_body body, void *ctx,
                                      mote_store_error *err);

/* snapshots.c: deletes a function's snapshot rows, inside a transaction
 * of the writer (the delete's). */
mote_store_status store_snapshots_forget(store_conn *w, const char *ns, const char *name,
                                         mote_store_error *err);

/* The schema's version (PRAGMA user_version) this mote writes; store.c. */
#define STORE_SCHEMA_VERSION 2
#define STORE_SCHEMA_VERSION_TEXT "2"
/* migrate.c: moves a database of schema version 1 on to the tables of
 * version 2 (their rows copied; store.c's schema then adds the indexes and
 * any table still missing), inside the caller's transaction: SQLITE_OK or
 * the SQLite code. */
int store_migrate_v1(sqlite3 *db);

/* disk.c */
#define STORE_HASH_HEX MOTE_STORE_HASH_HEX
void store_hash_hex(const uint8_t *data, size_t len, char out[STORE_HASH_HEX]);
/* Stores `len` bytes as DIR/blobs/<hash>; `hash` receives the hex hash.
 * Durable on return (data, then directory, fsync'ed). Caller holds nothing. */
mote_store_status store_put_blob(mote_store *s, const uint8_t *data, size_t len,
                                 char hash[STORE_HASH_HEX], mote_store_error *err);
/* Stores a file tree as DIR/files/<hash>/; durable on return. */
mote_store_status store_put_files(mote_store *s, const mote_store_file *files, size_t nfiles,
                                  char hash[STORE_HASH_HEX], mote_store_error *err);
/* Removes temporary files left by dead processes. */
void store_clean_tmp(mote_store *s);
/* A fresh name under DIR/tmp for this process (kind: "blob", "files", ...). */
void store_tmp_name(mote_store *s, const char *kind, char *out, size_t cap);

/* sweep.c: bytes at `path` (a blob or a file set) about to be used by a
 * put or a version: their time renewed under sweep_lock, so that a sweep
 * leaves them alone from now on. False when they are not there. */
bool store_claim(mote_store *s, const char *path);

/* file_sets.c: the index of stored files. store_file_list: the paths
 * (n of them) '\n'-joined in walk order, from malloc; NULL when there are
 * none or more than MOTE_STORE_FILES_LISTED (or out of memory). */
char *store_file_list(const char *const *paths, size_t n);
/* Adds a files directory's row (on the writer; an existing one is kept). */
mote_store_status store_file_set_put(store_conn *w, const char *hash, uint64_t count,
                                     uint64_t bytes, const char *paths, mote_store_error *err);
/* At open: a row for every stored version's files that has none (the data
 * directory of an older mote), from one walk of each directory. */
void store_index_file_sets(mote_store *s);
/* fsync of a directory; 0 or -1 (errno). */
int store_fsync_dir(const char *path);

#endif /* MOTE_STORE_INTERNAL_H */
