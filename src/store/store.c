/*
 * store: opening the data directory, the schema, connections and errors.
 *
 * Schema (PRAGMA user_version 2). Everything a function owns is keyed by
 * (namespace, name): two namespaces may each have a function of one name.
 *   functions(namespace, name, latest, created_ms, updated_ms)
 *                             one row per live function
 *   versions(namespace, name, version, module_hash, files_hash, settings JSON,
 *            created_ms, meta)
 *   version_seq(namespace, name, last)
 *                             the last version number ever given to a name in
 *                             a namespace: it survives delete, so a redeploy
 *                             after a delete continues the numbering and the
 *                             kept activation records never name two
 *                             deployments alike
 *   activations(seq, id, function, version, start_ms, ..., namespace, meta)
 *                             history: kept when a function is deleted, bounded
 *                             per (namespace, function) by the `retain` of each put
 *   namespaces(name, created_ms)
 *   keys(uuid, namespace, salt, hash, created_ms)
 *                             API keys, hashed (see keys.c); a namespace's
 *                             keys go with it
 *   usage(namespace, function, invocations, errors, refused, exec_us,
 *         memory_mib_us, first_ms, last_ms)
 *                             accounting totals (usage.c); kept when a
 *                             function or namespace is deleted (history)
 *   namespace_limits(namespace, invocations_per_minute, concurrent)
 *                             per-namespace invocation limits (usage.c)
 *   file_sets(hash, count, bytes, paths)
 *                             what each files/<hash> directory holds, kept at
 *                             deploy (file_sets.c); content-addressed, shared
 *   snapshots(namespace, name, slot, key, hash, bytes, created_ms)
 *                             a function's kept snapshot per slot (the
 *                             tier), found only by its key (snapshots.c)
 *
 * Versions. New tables and columns are added without changing the version
 * (CREATE TABLE IF NOT EXISTS, ALTER TABLE ADD COLUMN with a default that old
 * rows read): an older mote keeps opening the directory. A change that
 * cannot be made that way moves user_version on, in one transaction at open
 * (migrate.c), and an older mote then refuses the directory by its version.
 * Version 1 (until issue 17) had global function names: functions, versions,
 * version_seq and snapshots keyed by name alone; its rows belong to their
 * `namespace` column's (MOTE_STORE_DEFAULT_NS where an even older mote had
 * none), which is lossless since a name had one owner.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fs.h"
#include "store_internal.h"

#define BUSY_TIMEOUT_MS 10000

/* The columns row_to_version (registry.c) and row_to_activation
 * (activations.c) read, in their order. */
#define VERSION_COLUMNS                                                                  \
  "v.name, v.version, v.module_hash, v.files_hash, v.settings, v.created_ms, v.namespace, " \
  "v.meta, fs.count, fs.bytes, fs.paths"
/* The file set of a version (LEFT: a version without files has none). */
#define FILE_SET_JOIN " LEFT JOIN file_sets fs ON fs.hash = v.files_hash"
#define ACT_COLUMNS                                                                     \
  "id, function, version, start_ms, wait_us, init_us, exec_us, http_status, exit_code, " \
  "outcome, stdout, stderr, namespace, meta"

static const char *const stmt_sql[ST_COUNT_] = {
    [ST_GET_LATEST] = "SELECT " VERSION_COLUMNS " FROM functions f JOIN versions v "
                      "ON v.namespace = f.namespace AND v.name = f.name AND v.version = f.latest"
                      FILE_SET_JOIN " WHERE f.namespace = ?1 AND f.name = ?2",
    [ST_GET_VERSION] = "SELECT " VERSION_COLUMNS " FROM versions v" FILE_SET_JOIN
                       " WHERE v.namespace = ?1 AND v.name = ?2 AND v.version = ?3",
    [ST_LIST] = "SELECT " VERSION_COLUMNS " FROM functions f JOIN versions v "
                "ON v.namespace = f.namespace AND v.name = f.name AND v.version = f.latest"
                FILE_SET_JOIN " ORDER BY f.namespace, f.name",
    [ST_LIST_NS] = "SELECT " VERSION_COLUMNS " FROM functions f JOIN versions v "
                   "ON v.namespace = f.namespace AND v.name = f.name AND v.version = f.latest"
                   FILE_SET_JOIN " WHERE f.namespace = ?1 ORDER BY f.name",
    [ST_ACT_INSERT] = "INSERT INTO activations(id, function, version, start_ms, wait_us, "
                      "init_us, exec_us, http_status, exit_code, outcome, stdout, stderr, "
                      "namespace, meta) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    /* The oldest ?3 rows of a function, through activations_by_ns_function. */
    [ST_ACT_TRIM] = "DELETE FROM activations WHERE seq IN (SELECT seq FROM activations "
                    "WHERE namespace = ?1 AND function = ?2 ORDER BY start_ms, seq LIMIT ?3)",
    [ST_ACT_COUNT] = "SELECT count(*) FROM activations WHERE namespace = ?1 AND function = ?2",
    [ST_ACT_GET] = "SELECT " ACT_COLUMNS " FROM activations WHERE id = ?1",
    /* One namespace's: another's record is found no more than a missing one. */
    [ST_ACT_GET_NS] = "SELECT " ACT_COLUMNS " FROM activations WHERE id = ?1 AND namespace = ?2",
    [ST_ACT_LIST_ALL] = "SELECT " ACT_COLUMNS " FROM activations "
                        "WHERE start_ms >= ?2 AND start_ms <= ?5 "
                        "ORDER BY start_ms DESC, seq DESC LIMIT ?3 OFFSET ?6",
    /* A name in every namespace (tools and tests): a scan. */
    [ST_ACT_LIST_FN] = "SELECT " ACT_COLUMNS " FROM activations "
                       "WHERE function = ?1 AND start_ms >= ?2 AND start_ms <= ?5 "
                       "ORDER BY start_ms DESC, seq DESC LIMIT ?3 OFFSET ?6",
    /* Through activations_by_namespace. */
    [ST_ACT_LIST_NS] = "SELECT " ACT_COLUMNS " FROM activations "
                       "WHERE namespace = ?4 AND start_ms >= ?2 AND start_ms <= ?5 "
                       "ORDER BY start_ms DESC, seq DESC LIMIT ?3 OFFSET ?6",
    /* Through activations_by_ns_function. */
    [ST_ACT_LIST_NS_FN] = "SELECT " ACT_COLUMNS " FROM activations "
                          "WHERE namespace = ?4 AND function = ?1 AND start_ms >= ?2 "
                          "AND start_ms <= ?5 ORDER BY start_ms DESC, seq DESC LIMIT ?3 OFFSET ?6",
    [ST_SEQ_NEXT] = "INSERT INTO version_seq(namespace, name, last) VALUES (?1, ?2, 1) "
                    "ON CONFLICT(namespace, name) DO UPDATE SET last = last + 1 RETURNING last",
    [ST_VER_INSERT] = "INSERT INTO versions(namespace, name, version, module_hash, files_hash, "
                      "settings, created_ms, meta) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_FN_UPSERT] = "INSERT INTO functions(namespace, name, latest, created_ms, updated_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(namespace, name) DO UPDATE SET "
                     "latest = excluded.latest, updated_ms = excluded.updated_ms",
    [ST_FN_DELETE] = "DELETE FROM functions WHERE namespace = ?1 AND name = ?2",
    [ST_VER_DELETE] = "DELETE FROM versions WHERE namespace = ?1 AND name = ?2",
    [ST_NS_INSERT] = "INSERT INTO namespaces(name, created_ms) VALUES (?1, ?2) "
                     "ON CONFLICT(name) DO NOTHING",
    [ST_NS_LIST] = "SELECT name, created_ms FROM namespaces ORDER BY name",
    [ST_NS_DELETE] = "DELETE FROM namespaces WHERE name = ?1",
    [ST_NS_KEYS_DELETE] = "DELETE FROM keys WHERE namespace = ?1",
    [ST_KEY_INSERT] = "INSERT INTO keys(uuid, namespace, salt, hash, created_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_KEY_GET] = "SELECT namespace, salt, hash FROM keys WHERE uuid = ?1",
    [ST_KEY_LIST_ALL] = "SELECT uuid, namespace, created_ms FROM keys "
                        "ORDER BY namespace, created_ms, uuid",
    [ST_KEY_LIST_NS] = "SELECT uuid, namespace, created_ms FROM keys WHERE namespace = ?1 "
                       "ORDER BY created_ms, uuid",
    [ST_KEY_DELETE] = "DELETE FROM keys WHERE uuid = ?1",
    [ST_FILES_INSERT] = "INSERT INTO file_sets(hash, count, bytes, paths) VALUES (?1, ?2, ?3, ?4) "
                        "ON CONFLICT(hash) DO NOTHING",
    [ST_SNAP_PUT] = "INSERT INTO snapshots(namespace, name, slot, key, hash, bytes, created_ms) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(namespace, name, slot) DO "
                    "UPDATE SET key = excluded.key, hash = excluded.hash, bytes = excluded.bytes, "
                    "created_ms = excluded.created_ms",
    [ST_SNAP_GET] = "SELECT hash FROM snapshots WHERE namespace = ?1 AND name = ?2 AND slot = ?3 "
                    "AND key = ?4",
    [ST_SNAP_FORGET] = "DELETE FROM snapshots WHERE namespace = ?1 AND name = ?2",
    /* A replica's version (mote_store_put_version): kept with its own
     * number; the function's latest follows the record. */
    [ST_FN_LATEST] = "SELECT latest FROM functions WHERE namespace = ?1 AND name = ?2",
    [ST_VER_PUT] = "INSERT OR REPLACE INTO versions(namespace, name, version, module_hash, "
                   "files_hash, settings, created_ms, meta) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [ST_FN_PUT] = "INSERT INTO functions(namespace, name, latest, created_ms, updated_ms) "
                  "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT(namespace, name) DO UPDATE SET "
                  "latest = excluded.latest, updated_ms = excluded.updated_ms",
    [ST_SEQ_RAISE] = "INSERT INTO version_seq(namespace, name, last) VALUES (?1, ?2, ?3) "
                     "ON CONFLICT(namespace, name) DO UPDATE SET last = max(last, excluded.last)",
    /* A key kept elsewhere (a cluster's record), with its salt and hash. */
    [ST_KEY_PUT] = "INSERT OR REPLACE INTO keys(uuid, namespace, salt, hash, created_ms) "
                   "VALUES (?1, ?2, ?3, ?4, ?5)",
};

/* The schema of user_version 2 (STORE_SCHEMA_VERSION): what a new data
 * directory gets, and what an older one has once migrate.c has moved it on.
 * Everything a function owns is keyed by (namespace, name). */
static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS functions("
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  latest INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (namespace, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS versions("
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  module_hash TEXT NOT NULL,"
    "  files_hash TEXT,"
    "  settings TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  meta TEXT,"
    "  PRIMARY KEY (namespace, name, version)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS version_seq("
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  last INTEGER NOT NULL,"
    "  PRIMARY KEY (namespace, name)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS activations("
    "  seq INTEGER PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  function TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  start_ms INTEGER NOT NULL,"
    "  wait_us INTEGER NOT NULL,"
    "  init_us INTEGER NOT NULL,"
    "  exec_us INTEGER NOT NULL,"
    "  http_status INTEGER NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  outcome TEXT,"
    "  stdout TEXT,"
    "  stderr TEXT,"
    "  namespace TEXT NOT NULL DEFAULT '" MOTE_STORE_DEFAULT_NS "',"
    "  meta TEXT);"
    /* A namespace's records by time (its lists), a function's by time (its
     * lists, retention). activations_by_start (start_ms alone) served the
     * list of every namespace's records, which the server no longer makes: a
     * third index cost each record ~1.2 us more in the write-behind thread
     * (6.4 vs 5.2 us a record, 60k posts on the 2-vCPU VM); a list of every
     * namespace (tests, tools) sorts the table. */
    "CREATE INDEX IF NOT EXISTS activations_by_namespace ON activations(namespace, start_ms);"
    "CREATE INDEX IF NOT EXISTS activations_by_ns_function "
    "  ON activations(namespace, function, start_ms);"
    "DROP INDEX IF EXISTS activations_by_function;"
    "DROP INDEX IF EXISTS activations_by_start;"
    "CREATE TABLE IF NOT EXISTS namespaces("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS keys("
    "  uuid TEXT PRIMARY KEY NOT NULL,"
    "  namespace TEXT NOT NULL,"
    "  salt BLOB NOT NULL,"
    "  hash BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS keys_by_namespace ON keys(namespace);"
    "CREATE TABLE IF NOT EXISTS usage("
    "  namespace TEXT NOT NULL,"
    "  function TEXT NOT NULL,"
    "  invocations INTEGER NOT NULL,"
    "  errors INTEGER NOT NULL,"
    "  refused INTEGER NOT NULL,"
    "  exec_us INTEGER NOT NULL,"
    "  memory_mib_us INTEGER NOT NULL,"
    "  first_ms INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (namespace, function)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS snapshots("
    "  namespace TEXT NOT NULL,"
    "  name TEXT NOT NULL,"
    "  slot TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  hash TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (namespace, name, slot)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS namespace_limits("
    "  namespace TEXT PRIMARY KEY NOT NULL,"
    "  invocations_per_minute INTEGER NOT NULL,"
    "  concurrent INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS file_sets("
    "  hash TEXT PRIMARY KEY NOT NULL,"
    "  count INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  paths TEXT) WITHOUT ROWID;";

/* Whether the schema is there and current without writing (for a store on
 * a full disk, where the schema's transaction cannot commit even when it
 * changes nothing that matters): every object schema_sql makes exists. */
static bool schema_current(sqlite3 *db) {
  static const char mark[] = "IF NOT EXISTS ";
  for (const char *p = strstr(schema_sql, mark); p; p = strstr(p, mark)) {
    p += sizeof mark - 1;
    size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
    sqlite3_stmt *q = NULL;
    bool found = sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?1", -1, &q,
                                    NULL) == SQLITE_OK &&
                 sqlite3_bind_text(q, 1, p, (int)n, SQLITE_STATIC) == SQLITE_OK &&
                 sqlite3_step(q) == SQLITE_ROW;
    sqlite3_finalize(q);
    if (!found) return false;
  }
  return true;
}

void store_ok(mote_store_error *err) {
  if (!err) return;
  err->status = MOTE_STORE_OK;
  err->message[0] = 0;
}

mote_store_status store_fail(mote_store_error *err, mote_store_status st, const char *fmt, ...) {
  if (!err) return st;
  err->status = st;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  return st;
}

mote_store_status store_db_fail(mote_store_error *err, sqlite3 *db, const char *doing) {
  /* SQLite says SQLITE_FULL for ENOSPC; a write refused by a quota (EDQUOT)
   * is an I/O error whose system errno tells it. */
  bool full = db && ((sqlite3_errcode(db) & 0xff) == SQLITE_FULL ||
                     store_io_status(sqlite3_system_errno(db)) == MOTE_STORE_FULL);
  return store_fail(err, full ? MOTE_STORE_FULL : MOTE_STORE_IO, "database error while %s: %s",
                    doing, db ? sqlite3_errmsg(db) : "out of memory");
}

mote_store_status store_io_status(int errnum) {
  return errnum == ENOSPC || errnum == EDQUOT ? MOTE_STORE_FULL : MOTE_STORE_IO;
}

int64_t store_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int store_exec(sqlite3 *db, const char *sql) {
  return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

sqlite3_stmt *store_stmt(store_conn *c, stmt_id id) {
  if (!c->stmt[id]) {
    if (sqlite3_prepare_v3(c->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id],
                           NULL) != SQLITE_OK)
      return NULL;
  } else {
    sqlite3_reset(c->stmt[id]);
    sqlite3_clear_bindings(c->stmt[id]);
  }
  return c->stmt[id];
}

/* See store_internal.h. */
mote_store_status store_write_durably(mote_store *s, store_write_body body, void *ctx,
                                      mote_store_error *err) {
  store_conn *w = &s->writer;
  mote_store_status st;
  pthread_mutex_lock(&s->write_lock);
  if (store_exec(w->db, "PRAGMA synchronous = FULL") != SQLITE_OK ||
      store_exec(w->db, "BEGIN IMMEDIATE") != SQLITE_OK) {
    st = store_db_fail(err, w->db, "starting a transaction");
    goto out;
  }
  st = body(w, ctx, err);
  if (st == MOTE_STORE_OK && store_exec(w->db, "COMMIT") != SQLITE_OK)
    st = store_db_fail(err, w->db, "committing");
  if (st != MOTE_STORE_OK && !sqlite3_get_autocommit(w->db)) store_exec(w->db, "ROLLBACK");
out:
  store_exec(w->db, "PRAGMA synchronous = NORMAL");
  pthread_mutex_unlock(&s->write_lock);
  return st;
}

static void conn_close(store_conn *c) {
  for (int i = 0; i < ST_COUNT_; i++) sqlite3_finalize(c->stmt[i]);
  memset(c->stmt, 0, sizeof c->stmt);
  sqlite3_close(c->db);
  c->db = NULL;
}

/* Opens a connection to DIR/mote.db with the settings every connection shares. */
static mote_store_status conn_open(const mote_store *s, store_conn *c, bool create,
                                   mote_store_error *err) {
  char path[4096];
  snprintf(path, sizeof path, "%s/mote.db", s->dir);
  memset(c, 0, sizeof *c);
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
    store_fail(err, MOTE_STORE_IO, "cannot open the database %s: %s", path,
               c->db ? sqlite3_errmsg(c->db) : "out of memory");
    conn_close(c);
    return MOTE_STORE_IO;
  }
  sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
  /* synchronous=NORMAL is the connection's default: in WAL mode a commit then
   * survives a crash of the process (kill -9) but not necessarily of the
   * machine. Activation records are records, not acknowledgements, and come at
   * thousands per second: they use it. Deploys and deletes switch the writer to
   * FULL for their commit (an fsync of the WAL), see registry.c. */
  if (store_exec(c->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = OFF;") != SQLITE_OK) {
    store_db_fail(err, c->db, "configuring a connection");
    conn_close(c);
    return MOTE_STORE_IO;
  }
  return MOTE_STORE_OK;
}

store_conn *store_reader_take(mote_store *s, mote_store_error *err) {
  pthread_mutex_lock(&s->pool_lock);
  store_conn *c = s->readers;
  if (c) s->readers = c->next;
  pthread_mutex_unlock(&s->pool_lock);
  if (c) return c;
  c = calloc(1, sizeof *c);
  if (!c) {
    store_fail(err, MOTE_STORE_IO, "out of memory");
    return NULL;
  }
  if (conn_open(s, c, false, err) != MOTE_STORE_OK) {
    free(c);
    return NULL;
  }
  if (store_exec(c->db, "PRAGMA query_only = 1;") != SQLITE_OK) {
    store_db_fail(err, c->db, "configuring a reader");
    conn_close(c);
    free(c);
    return NULL;
  }
  return c;
}

void store_reader_give(mote_store *s, store_conn *c) {
  if (!c) return;
  pthread_mutex_lock(&s->pool_lock);
  c->next = s->readers;
  s->readers = c;
  pthread_mutex_unlock(&s->pool_lock);
}

mote_store_status mote_store_open(const char *dir, mote_store **out, mote_store_error *err) {
  mote_store_status st = MOTE_STORE_IO;
  char path[4096];
  *out = NULL;
  store_ok(err);
  if (!dir || !*dir) return store_fail(err, MOTE_STORE_INVALID, "no data directory given");
  if (strlen(dir) > 3000)
    return store_fail(err, MOTE_STORE_INVALID, "data directory path too long: %.60s...", dir);
  if (sodium_init() < 0) return store_fail(err, MOTE_STORE_IO, "libsodium failed to initialise");
  if (!sqlite3_threadsafe())
    return store_fail(err, MOTE_STORE_IO, "this SQLite library was built without thread support");

  mote_store *s = calloc(1, sizeof *s);
  if (!s) return store_fail(err, MOTE_STORE_IO, "out of memory");
  pthread_mutex_init(&s->write_lock, NULL);
  pthread_mutex_init(&s->pool_lock, NULL);
  pthread_mutex_init(&s->sweep_lock, NULL);
  pthread_mutex_init(&s->act_lock, NULL);
  pthread_cond_init(&s->act_done, NULL);
  pthread_cond_init(&s->act_wake, NULL);
  s->dir = strdup(dir);
  if (!s->dir) {
    store_fail(err, MOTE_STORE_IO, "out of memory");
    goto fail;
  }
  /* Trailing slashes would double up in every path. */
  for (size_t n = strlen(s->dir); n > 1 && s->dir[n - 1] == '/'; n--) s->dir[n - 1] = 0;

  static const char *const subdirs[] = {"", "/blobs", "/files", "/tmp"};
  for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
    snprintf(path, sizeof path, "%s%s", s->dir, subdirs[i]);
    if (mote_mkdirs(path, 0755) != 0) {
      store_fail(err, store_io_status(errno), "cannot create directory %s: %s", path, strerror(errno));
      goto fail;
    }
  }
  /* The subdirectories' entries are durable before anything is put in them. */
  if (store_fsync_dir(s->dir) != 0) {
    store_fail(err, store_io_status(errno), "cannot sync directory %s: %s", s->dir, strerror(errno));
    goto fail;
  }
  store_clean_tmp(s);

  if (conn_open(s, &s->writer, true, err) != MOTE_STORE_OK) goto fail;
  sqlite3 *db = s->writer.db;
  /* journal_mode=WAL is persistent in the file; the size limit keeps the WAL
   * from staying large after a burst. */
  if (store_exec(db, "PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = 67108864;") !=
      SQLITE_OK) {
    store_db_fail(err, db, "switching to WAL mode");
    goto fail;
  }
  if (store_exec(db, "PRAGMA synchronous = FULL; BEGIN IMMEDIATE;") != SQLITE_OK) {
    store_db_fail(err, db, "creating the schema");
    goto fail;
  }
  sqlite3_stmt *q = NULL;
  int version = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    version = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  if (version < 0 || version > STORE_SCHEMA_VERSION) {
    store_exec(db, "ROLLBACK");
    if (version < 0)
      store_db_fail(err, db, "reading the schema version");
    else
      store_fail(err, MOTE_STORE_IO,
                 "%s/mote.db has schema version %d, newer than this mote understands (%d)",
                 s->dir, version, STORE_SCHEMA_VERSION);
    goto fail;
  }
  /* Version 0 is a new database (no tables yet). */
  if (version == 1 && store_migrate_v1(db) != SQLITE_OK) {
    store_fail(err, MOTE_STORE_IO, "cannot move %s/mote.db from schema version 1 to %d: %s",
               s->dir, STORE_SCHEMA_VERSION, sqlite3_errmsg(db));
    store_exec(db, "ROLLBACK");
    goto fail;
  }
  if (store_exec(db, schema_sql) != SQLITE_OK ||
      store_exec(db, "PRAGMA user_version = " STORE_SCHEMA_VERSION_TEXT) != SQLITE_OK ||
      store_exec(db, "COMMIT") != SQLITE_OK) {
    /* On a full disk a store whose schema is current opens (reads and
     * calls go on; writes fail, saying the disk is full). */
    bool full = (sqlite3_extended_errcode(db) & 0xff) == SQLITE_FULL;
    store_db_fail(err, db, "creating the schema");
    store_exec(db, "ROLLBACK");
    if (!full || version != STORE_SCHEMA_VERSION || !schema_current(db)) goto fail;
    store_ok(err);
  }
  if (store_exec(db, "PRAGMA synchronous = NORMAL;") != SQLITE_OK) {
    store_db_fail(err, db, "configuring the writer");
    goto fail;
  }
  store_index_file_sets(s);
  *out = s;
  return MOTE_STORE_OK;

fail:
  st = err ? err->status : MOTE_STORE_IO;
  mote_store_close(s);
  return st == MOTE_STORE_OK ? MOTE_STORE_IO : st;
}

void mote_store_close(mote_store *s) {
  if (!s) return;
  store_act_queue_stop(s); /* writes what was posted */
  while (s->readers) {
    store_conn *c = s->readers;
    s->readers = c->next;
    conn_close(c);
    free(c);
  }
  if (s->writer.db) {
    /* A clean close checkpoints and removes the WAL; harmless if it fails. */
    conn_close(&s->writer);
  }
  for (size_t i = 0; i < s->counts_cap; i++) free(s->counts[i].function);
  free(s->counts);
  pthread_mutex_destroy(&s->write_lock);
  pthread_mutex_destroy(&s->sweep_lock);
  pthread_mutex_destroy(&s->pool_lock);
  pthread_mutex_destroy(&s->act_lock);
  pthread_cond_destroy(&s->act_done);
  pthread_cond_destroy(&s->act_wake);
  free(s->dir);
  free(s);
}

void mote_store_blob_path(const mote_store *s, const char *hash, char *out, size_t cap) {
  snprintf(out, cap, "%s/blobs/%s", s->dir, hash ? hash : "");
}

void mote_store_files_path(const mote_store *s, const char *hash, char *out, size_t cap) {
  snprintf(out, cap, "%s/files/%s", s->dir, hash ? hash : "");
}

bool mote_store_valid_name(const char *name) {
  if (!name) return false;
  size_t n = strlen(name);
  if (n < 1 || n > 64 || name[0] == '.' || name[0] == '-') return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '.' || c == '-'))
      return false;
  }
  return true;
}

uint64_t mote_store_memory_used(void) {
  sqlite3_int64 n = sqlite3_memory_used();
  return n > 0 ? (uint64_t)n : 0;
}
