/*
 * store: what the server keeps on disk under its data directory.
 *
 *   DIR/mote.db            SQLite (WAL): functions, their versions, activations,
 *                          namespaces and their API keys (hashed), kept snapshots
 *   DIR/blobs/<hash>       module and snapshot bytes, content-addressed (BLAKE2b-256,
 *                          hex)
 *   DIR/files/<hash>/...   a version's own read-only files (extracted bundles),
 *                          content-addressed by the bundle's hash (their count,
 *                          size and paths are kept in mote.db at deploy)
 *
 * Durability: mote_store_deploy returns only when the blob and the files are
 * fsync'ed (files, then their directories) and the version's row is
 * committed with synchronous=FULL; a crash at any moment leaves either the
 * old version or the new one, never a row pointing at missing bytes.
 *
 * Threads: a mote_store may be used from many threads at once (one SQLite
 * connection per thread or a mutex inside: the implementation's choice).
 * Strings in records are NUL-terminated and owned by the record: free a
 * record with the matching _clear function.
 */
#ifndef MOTE_STORE_H
#define MOTE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mote_store mote_store;

typedef enum mote_store_status {
  MOTE_STORE_OK = 0,
  MOTE_STORE_NOT_FOUND,
  MOTE_STORE_INVALID, /* a bad name or setting: see message */
  MOTE_STORE_IO,      /* disk or database failure: see message */
  MOTE_STORE_FULL,    /* no space left (ENOSPC, EDQUOT, SQLite's SQLITE_FULL): the same write can
                       * work once space is freed; see message */
} mote_store_status;

typedef struct mote_store_error {
  mote_store_status status;
  char message[256];
} mote_store_error;

/* Per-function settings; zero means the server's default. */
typedef struct mote_function_settings {
  uint32_t memory_mib;
  uint32_t timeout_ms;
  uint32_t max_concurrency;
  uint32_t max_queue; /* calls waiting for a worker at most (the server's default when 0) */
  uint32_t replicas;  /* in a cluster: the nodes that serve it (0: every node) */
  bool is_public; /* callable through /faas/{name} without a key */
  bool cgi;       /* the function prints CGI headers before its body */
  char **env;     /* "K=V" strings, env_count of them */
  uint32_t env_count;
} mote_function_settings;

/* Settings as the store keeps them, JSON text (from malloc; NULL when out
 * of memory), and back (false for text that is not such an object; *out
 * then holds what was read: clear it either way). */
char *mote_store_settings_json(const mote_function_settings *st);
bool mote_store_settings_parse(const char *text, mote_function_settings *out);
void mote_function_settings_clear(mote_function_settings *st); /* env freed */

/* The namespace of records written before namespaces existed (rows of an
 * older data directory read as this one), and of an activation put with ns
 * NULL. It is also `mote serve --dev`'s namespace. */
#define MOTE_STORE_DEFAULT_NS "guest"

/* The longest `meta` text a version or an activation may carry (bytes,
 * without the NUL); a longer one is MOTE_STORE_INVALID. */
#define MOTE_STORE_META_MAX (1u << 20)

/* One version of a function.
 *
 * A function is named by (namespace, name): names are per namespace, as
 * OpenWhisk's are, so two namespaces may each have a function `echo`, and
 * nothing a namespace does to its own names touches another's. */
typedef struct mote_function_version {
  char *name;
  char *ns;             /* its namespace; never NULL in a record the store returns */
  uint64_t version;     /* 1, 2, ... per (namespace, name) */
  char *module_hash;    /* blob holding the .wasm */
  char *files_hash;     /* files/<hash> directory, or NULL when the version has none */
  mote_function_settings settings;
  int64_t created_ms;   /* Unix time in milliseconds */
  char *meta;           /* opaque text the deployer gave (JSON by convention: the
                         * OpenWhisk layer's kind, parameters, annotations...), or
                         * NULL; the store neither reads nor checks it */
  /* Its files as stored (kept at deploy: no walk of the directory to show
   * them). files_indexed false: the version has files, but they could not be
   * read when the store indexed them (missing). */
  bool files_indexed;
  uint64_t files_count, files_bytes;
  /* Every path, relative, in the order of a walk of the sorted tree, when
   * there are at most MOTE_STORE_FILES_LISTED; else NULL (none listed). One
   * allocation: the array and its strings. */
  char **file_paths;
  uint32_t nfile_paths;
} mote_function_version;

/* A version's files are listed by path up to this count. */
#define MOTE_STORE_FILES_LISTED 32

/* A file of a bundle, as handed to mote_store_deploy. */
typedef struct mote_store_file {
  const char *path; /* relative, already checked: no "..", not absolute */
  const uint8_t *data;
  size_t len;
} mote_store_file;

mote_store_status mote_store_open(const char *dir, mote_store **out, mote_store_error *err);
/* Closes the store; call it only after every other thread has stopped using it. */
void mote_store_close(mote_store *s);
/* Bytes of heap SQLite holds now, process-wide (page caches, statements). */
uint64_t mote_store_memory_used(void);

/* Stores the module and files, then adds a new version of function `name`
 * of namespace `ns` (both valid names, required), with `settings` (copied)
 * and `meta` (copied; NULL: none; at most MOTE_STORE_META_MAX bytes). *out
 * (may be NULL) receives the new version. */
mote_store_status mote_store_deploy(mote_store *s, const char *ns, const char *name,
                                    const uint8_t *wasm, size_t len,
                                    const mote_store_file *files, size_t nfiles,
                                    const mote_function_settings *settings, const char *meta,
                                    mote_function_version *out, mote_store_error *err);

/* The latest version of function `name` of namespace `ns`, or NOT_FOUND. */
mote_store_status mote_store_get(mote_store *s, const char *ns, const char *name,
                                 mote_function_version *out, mote_store_error *err);
/* One given version of a live function, or NOT_FOUND. */
mote_store_status mote_store_get_version(mote_store *s, const char *ns, const char *name,
                                         uint64_t version, mote_function_version *out,
                                         mote_store_error *err);
/* The functions of namespace `ns` (NULL: of every namespace), latest
 * version each, sorted by namespace and name: *out from malloc, each entry
 * to be cleared, then free(*out). */
mote_store_status mote_store_list(mote_store *s, const char *ns, mote_function_version **out,
                                  size_t *count, mote_store_error *err);
/* Deletes function `name` of namespace `ns` and all its versions (blobs are
 * left to a later sweep while versions may still be running), or
 * NOT_FOUND. Its activation records are kept (history), and its version
 * numbers are not reused: a later deploy of the same name in the same
 * namespace continues after the last number given. */
mote_store_status mote_store_delete(mote_store *s, const char *ns, const char *name,
                                    mote_store_error *err);
void mote_function_version_clear(mote_function_version *v);

/* Keeps a version decided elsewhere (a cluster's record) under its own
 * number: rec's name, ns, version, module_hash, files_hash, settings, meta,
 * created_ms, and its files' count, bytes and paths (as the record says:
 * they are not read). The latest version of (ns, name) becomes rec's, unless
 * a later one is kept already (OK, nothing changed). The bytes need not be in the store: a node that
 * does not serve the function keeps its record only. Durable on return. */
mote_store_status mote_store_put_version(mote_store *s, const mote_function_version *rec,
                                         mote_store_error *err);

/* Paths of stored bytes (no I/O). */
/* Writes a bundle's files to their content-addressed directory DIR/files/
 * <hash> (durably; nothing if it is already there) without making a
 * version: for work that needs them before the deploy is decided (the
 * server runs a function's initialiser first). An unreferenced directory
 * is harmless. `hash` gets the directory's name. */
#define MOTE_STORE_HASH_HEX 65
mote_store_status mote_store_put_files(mote_store *s, const mote_store_file *files, size_t nfiles,
                                       char hash[MOTE_STORE_HASH_HEX], mote_store_error *err);

/* Stores bytes as a blob (durably; nothing if it is already there) without
 * making a version: for bytes a layer above keeps beside a version (the
 * OpenWhisk layer's zip, named in the version's meta). `hash` gets its name.
 * Like every blob, it may be swept once no version refers to it. */
mote_store_status mote_store_put_blob(mote_store *s, const uint8_t *data, size_t len,
                                      char hash[MOTE_STORE_HASH_HEX], mote_store_error *err);
void mote_store_blob_path(const mote_store *s, const char *hash, char *out, size_t cap);
void mote_store_files_path(const mote_store *s, const char *hash, char *out, size_t cap);
/* Bytes already stored about to be named by a version (a cluster's record
 * applied here without fetching them): the blob `module_hash` and the file
 * set `files_hash` (NULL: none) renewed against sweeps. True when both are
 * there. */
bool mote_store_hold(mote_store *s, const char *module_hash, const char *files_hash);

/* The sweep (sweep.c). Blobs and file sets are shared by content, and a
 * deleted function's, a replaced snapshot's or a refused deploy's stay
 * behind. A sweep removes those that nothing names (a version's module,
 * files or meta text, a snapshot, or one of `keep`: nkeep texts the
 * caller knows of, a cluster's records, naming bytes as a meta text does:
 * any 64 hex digits in a row, a bare hash too) and that no put or hold has
 * renewed for grace_s seconds: a deploy puts its bytes before its version
 * names them, and must do so within grace_s. Anything that cannot be read
 * while gathering the names ends the sweep with nothing removed (an error).
 * *out: what went. */
typedef struct mote_store_sweep_report {
  uint64_t blobs, file_sets; /* removed */
  uint64_t bytes;            /* theirs (the blobs' sizes and the sets' files) */
  uint64_t kept_young;       /* nothing names them, but they are within grace_s */
} mote_store_sweep_report;
mote_store_status mote_store_sweep(mote_store *s, const char *const *keep, size_t nkeep,
                                   uint32_t grace_s, mote_store_sweep_report *out,
                                   mote_store_error *err);
/* Reads a blob and checks its hash: *out from malloc(), *len bytes; a damaged
 * blob is an IO error, a missing one NOT_FOUND. */
mote_store_status mote_store_blob_read(mote_store *s, const char *hash, uint8_t **out, size_t *len,
                                       mote_store_error *err);

/* Snapshots (snapshots.c): bytes a layer above made from a function's
 * initialised instance, kept so that a restart need not initialise again.
 * One per function (ns, name) and slot (`slot`: the caller's name for it, say the
 * compile tier): a put replaces the slot's. `key` (1 to 128 printable
 * ASCII characters, say a hash) names everything the bytes depend on (the
 * compiled object, the format, the inputs of the initialisation): a get
 * with another key is NOT_FOUND, so bytes made for something else are
 * never handed out. The bytes are a blob (content-addressed, durable on
 * return, checked against their hash on every get): damaged bytes are
 * MOTE_STORE_IO, and a put of new ones replaces them. Deleting the
 * function deletes its rows (the blobs are left to a later sweep, as its
 * modules are). *out from malloc. */
mote_store_status mote_store_snapshot_put(mote_store *s, const char *ns, const char *name,
                                          const char *slot, const char *key, const uint8_t *data,
                                          size_t len, mote_store_error *err);
mote_store_status mote_store_snapshot_get(mote_store *s, const char *ns, const char *name,
                                          const char *slot, const char *key, uint8_t **out,
                                          size_t *len, mote_store_error *err);

/* Names: 1 to 64 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool mote_store_valid_name(const char *name);

/* Activation records. */
typedef struct mote_activation {
  char id[33];          /* 32 hex digits */
  char *function;
  char *ns;             /* the namespace of the function called (NULL at put:
                         * MOTE_STORE_DEFAULT_NS); never NULL when read back */
  uint64_t version;
  int64_t start_ms;
  uint64_t wait_us, init_us, exec_us;
  int http_status;      /* what the caller got */
  int exit_code;        /* -1 when the run did not exit (trap, timeout) */
  char *outcome;        /* "ok", "exit", "trap: ...", "timeout", "limit: ..." */
  char *stdout_excerpt; /* the first bytes, for a look; may be NULL */
  char *stderr_excerpt; /* the last bytes (where errors are); may be NULL */
  char *meta;           /* opaque text (JSON by convention: the OpenWhisk layer's
                         * response, logs, annotations), or NULL; kept as it is, never
                         * cut (at most MOTE_STORE_META_MAX bytes, else INVALID) */
} mote_activation;

/* Outcome and excerpts longer than this are cut when stored (outcome and
 * stdout keep their first bytes, stderr its last), on a UTF-8 boundary. */
#define MOTE_STORE_EXCERPT_MAX 4096

/* A fresh activation id (32 hex digits and a NUL): 12 digits of Unix time
 * in milliseconds, then 80 random bits; ids sort roughly by time. */
void mote_store_activation_new_id(char out[33]);

/* Records an activation; keeps about `retain` per function (namespace and
 * name; the oldest go):
 * trimmed back to `retain` whenever a function holds more than
 * retain + retain/16 (exactly `retain` when retain < 16); retain 0 keeps all.
 * The id must be 32 lowercase hex digits, unique. Concurrent puts share one
 * commit (group commit); each returns when its record is committed. */
mote_store_status mote_store_activation_put(mote_store *s, const mote_activation *a,
                                            uint32_t retain, mote_store_error *err);
/* Records an activation behind the caller's back: copies it into a queue
 * that one writer thread commits in batches (as many per transaction as
 * arrived during the last commit), and returns at once. So a server's reply
 * does not wait for a commit, and records cost ~15 us of CPU each instead
 * of ~50. Reads (get, list) first wait for every record posted before
 * them, so a client that has its reply finds its record. A crash loses
 * what was posted in the last moments (a commit's worth). With more than
 * MOTE_STORE_POST_MAX records waiting, a post waits for room: back-pressure,
 * never a dropped record. MOTE_STORE_INVALID for a bad record,
 * MOTE_STORE_IO when out of memory; a failed commit is reported on stderr. */
#define MOTE_STORE_POST_MAX 8192u
mote_store_status mote_store_activation_post(mote_store *s, const mote_activation *a,
                                             uint32_t retain, mote_store_error *err);
/* Waits until every record posted before this call is written. */
void mote_store_activation_sync(mote_store *s);
/* The record `id` of namespace `ns` (NULL: of any namespace): NOT_FOUND
 * when there is none, or when it is another namespace's (one indexed
 * lookup either way: the answer and its cost do not tell the two apart). */
mote_store_status mote_store_activation_get(mote_store *s, const char *ns, const char *id,
                                            mote_activation *out, mote_store_error *err);
/* Newest first; `ns` may be NULL (every namespace), `function` may be NULL
 * (all); both given: the records of that name made in that namespace.
 * since_ms 0 means any time; limit 0 means no limit. *out from malloc:
 * clear each entry, then free(*out). */
mote_store_status mote_store_activation_list(mote_store *s, const char *ns, const char *function,
                                             int64_t since_ms, uint32_t limit,
                                             mote_activation **out, size_t *count,
                                             mote_store_error *err);
/* The same with more filters (the OpenWhisk API's): start_ms within
 * [since_ms, upto_ms] (upto_ms 0: no bound), newest first, the first `skip`
 * left out, then at most `limit` (0: no limit). */
typedef struct mote_activation_filter {
  const char *ns, *function; /* NULL: any */
  int64_t since_ms, upto_ms;
  uint32_t skip, limit;
} mote_activation_filter;
mote_store_status mote_store_activation_query(mote_store *s, const mote_activation_filter *f,
                                              mote_activation **out, size_t *count,
                                              mote_store_error *err);
/* How many records the query would return (skip and limit applied), counted
 * by SQLite: no record is read. */
mote_store_status mote_store_activation_count(mote_store *s, const mote_activation_filter *f,
                                              uint64_t *count, mote_store_error *err);
void mote_activation_clear(mote_activation *a);

/* Namespaces and API keys (keys.c).
 *
 * A credential is OpenWhisk's `uuid:key`: a UUID naming the key and a
 * 64-character secret of [A-Za-z0-9], bound to one namespace. Only a salted
 * hash of the secret is stored: it is shown once, at creation, and cannot
 * be read back. Namespace names follow mote_store_valid_name. Writes are
 * durable on return (synchronous=FULL), like deploys. */
#define MOTE_STORE_UUID_LEN 36 /* 8-4-4-4-12 lowercase hex digits */
#define MOTE_STORE_KEY_LEN 64
#define MOTE_STORE_NS_MAX 64

typedef struct mote_namespace {
  char name[MOTE_STORE_NS_MAX + 1];
  int64_t created_ms;
} mote_namespace;

/* What may be known of a key: never its secret. */
typedef struct mote_key_info {
  char uuid[MOTE_STORE_UUID_LEN + 1];
  char ns[MOTE_STORE_NS_MAX + 1];
  int64_t created_ms;
} mote_key_info;

/* Creates namespace `name`; an existing one is left as it is. *created (may
 * be NULL) tells which. */
mote_store_status mote_store_namespace_create(mote_store *s, const char *name, bool *created,
                                              mote_store_error *err);
/* Every namespace, sorted by name: *out from malloc, free(*out). */
mote_store_status mote_store_namespace_list(mote_store *s, mote_namespace **out, size_t *count,
                                            mote_store_error *err);
/* Deletes a namespace and its keys; NOT_FOUND when there is none. */
mote_store_status mote_store_namespace_delete(mote_store *s, const char *name,
                                              mote_store_error *err);

/* Creates a key of namespace `ns` (creating the namespace when missing).
 * uuid and key NULL: a random UUIDv4 and a random secret (libsodium's
 * randombytes); given, they are used as they are (the well-known
 * development key), the uuid lowercase 8-4-4-4-12 hex, the key 64 of
 * [A-Za-z0-9]; an existing uuid is INVALID. uuid_out and key_out receive
 * the credential: the only time the secret can be seen. */
mote_store_status mote_store_key_create(mote_store *s, const char *ns, const char *uuid,
                                        const char *key, char uuid_out[MOTE_STORE_UUID_LEN + 1],
                                        char key_out[MOTE_STORE_KEY_LEN + 1],
                                        mote_store_error *err);
/* A key as it is stored (never its secret): for a record kept elsewhere too
 * (a cluster keeps keys in etcd and every node a copy). */
#define MOTE_STORE_KEY_SALT 16
#define MOTE_STORE_KEY_HASH 32
typedef struct mote_key_record {
  char uuid[MOTE_STORE_UUID_LEN + 1];
  char ns[MOTE_STORE_NS_MAX + 1];
  uint8_t salt[MOTE_STORE_KEY_SALT];
  uint8_t hash[MOTE_STORE_KEY_HASH]; /* BLAKE2b of the secret keyed with the salt */
  int64_t created_ms;
} mote_key_record;
/* Makes a key's record without storing it: uuid and key as for
 * mote_store_key_create (NULL: random); key_out receives the secret. */
mote_store_status mote_store_key_seal(const char *ns, const char *uuid, const char *key,
                                      mote_key_record *rec, char key_out[MOTE_STORE_KEY_LEN + 1],
                                      mote_store_error *err);
/* Stores a key's record as it is (its namespace created when missing); one
 * with the same uuid is replaced. Durable on return. */
mote_store_status mote_store_key_put(mote_store *s, const mote_key_record *rec,
                                     mote_store_error *err);
/* Checks a credential: OK with ns_out set when the secret matches (compared
 * in constant time); NOT_FOUND for an unknown (or malformed) uuid; INVALID
 * for a wrong secret. */
mote_store_status mote_store_key_check(mote_store *s, const char *uuid, const char *key,
                                       char ns_out[MOTE_STORE_NS_MAX + 1], mote_store_error *err);
/* Keys of namespace `ns` (NULL: all, by namespace), oldest first: *out from
 * malloc, free(*out). */
mote_store_status mote_store_key_list(mote_store *s, const char *ns, mote_key_info **out,
                                      size_t *count, mote_store_error *err);
/* Deletes a key; NOT_FOUND when there is none. */
mote_store_status mote_store_key_delete(mote_store *s, const char *uuid, mote_store_error *err);

/* Accounting (usage.c): totals per namespace and function since the first
 * call, kept after the function or namespace is deleted. */
typedef struct mote_usage {
  char ns[MOTE_STORE_NS_MAX + 1];
  char function[MOTE_STORE_NS_MAX + 1]; /* function names have the same bounds */
  uint64_t invocations;   /* calls that ran */
  uint64_t errors;        /* of those, the ones that failed (exit != 0, trap, timeout, limit,
                           * an action's application error) */
  uint64_t refused;       /* calls refused before running (429) */
  uint64_t exec_us;       /* execution time */
  uint64_t memory_mib_us; /* the memory limit (MiB) times the execution time (us), summed:
                           * GB-seconds = memory_mib_us / 1024 / 1e6 */
  int64_t first_ms, last_ms; /* Unix time of the first and last call counted */
} mote_usage;

/* Adds `n` deltas to the totals in one transaction (synchronous=NORMAL:
 * a crash of the machine, not of the process, may lose the last ones). */
mote_store_status mote_store_usage_add(mote_store *s, const mote_usage *deltas, size_t n,
                                       mote_store_error *err);
/* Totals, sorted by namespace then function; ns and function NULL match
 * all. *out from malloc: free(*out). */
mote_store_status mote_store_usage_list(mote_store *s, const char *ns, const char *function,
                                        mote_usage **out, size_t *count, mote_store_error *err);

/* Per-namespace invocation limits (usage.c); 0 means the server's default
 * (mote serve --ns-invocations-per-minute / --ns-concurrent). */
typedef struct mote_namespace_limits {
  uint32_t invocations_per_minute;
  uint32_t concurrent; /* invocations running or waiting at once */
} mote_namespace_limits;

/* Sets a namespace's limits (durably); NOT_FOUND when the namespace does
 * not exist. They go when the namespace is deleted. */
mote_store_status mote_store_namespace_limits_set(mote_store *s, const char *ns,
                                                  const mote_namespace_limits *lim,
                                                  mote_store_error *err);
/* A namespace's limits: zeros when none were set (or no such namespace). */
mote_store_status mote_store_namespace_limits_get(mote_store *s, const char *ns,
                                                  mote_namespace_limits *out,
                                                  mote_store_error *err);

#endif /* MOTE_STORE_H */
