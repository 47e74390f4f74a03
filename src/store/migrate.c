/*
 * migrate: a data directory of schema version 1 moved on to version 2, in
 * the transaction that opens it (store.c), so a crash leaves one or the
 * other.
 *
 * Version 1 had global function names: functions, versions, version_seq
 * and snapshots were keyed by name, and a name belonged to the namespace in
 * its rows' `namespace` column (MOTE_STORE_DEFAULT_NS where a still older
 * mote wrote none: those columns are added first, as version 1 did). Each
 * of those tables is made again keyed by (namespace, name) and its rows
 * copied; nothing is lost, since a live name had exactly one owner:
 *
 *   functions, versions   their own namespace column
 *   version_seq           a number for every namespace that may deploy the
 *                         name again and must not reuse a number its kept
 *                         records name: the owner of a live function, and
 *                         every namespace with activation records of the
 *                         name (a name deleted and taken by another
 *                         namespace since); a name with neither (deployed,
 *                         never called, deleted) goes to the default
 *   snapshots             the owner of the live function of its name; rows
 *                         of a name not served (a delete forgets them, so
 *                         none is expected) to the default, where their key
 *                         still keeps them from any other bytes
 *   activations           unchanged (they have their namespace); their
 *                         per-function index becomes per (namespace,
 *                         function) in store.c's schema
 */
#include <stdio.h>

#include "store_internal.h"

/* Columns version 1 added to its tables after their creation (a data
 * directory of an older mote lacks them): added before the move. */
static const struct {
  const char *table, *column, *decl;
} v1_added_columns[] = {
    {"functions", "namespace", "TEXT NOT NULL DEFAULT '" MOTE_STORE_DEFAULT_NS "'"},
    {"versions", "namespace", "TEXT NOT NULL DEFAULT '" MOTE_STORE_DEFAULT_NS "'"},
    {"versions", "meta", "TEXT"},
    {"activations", "namespace", "TEXT NOT NULL DEFAULT '" MOTE_STORE_DEFAULT_NS "'"},
    {"activations", "meta", "TEXT"},
};

/* 1 when `table` has `column` (0: it has not), or -1 with a SQLite error. */
static int has_column(sqlite3 *db, const char *table, const char *column) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &q,
                         NULL) != SQLITE_OK)
    return -1;
  sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, column, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static int add_v1_columns(sqlite3 *db) {
  for (size_t i = 0; i < sizeof v1_added_columns / sizeof *v1_added_columns; i++) {
    int has = has_column(db, v1_added_columns[i].table, v1_added_columns[i].column);
    if (has < 0) return SQLITE_ERROR;
    if (has) continue;
    char sql[256];
    snprintf(sql, sizeof sql, "ALTER TABLE %s ADD COLUMN %s %s", v1_added_columns[i].table,
             v1_added_columns[i].column, v1_added_columns[i].decl);
    int rc = store_exec(db, sql);
    if (rc != SQLITE_OK) return rc;
  }
  return SQLITE_OK;
}

/* Each step runs in order; the tables a version 1 directory may lack
 * (snapshots came later) are made empty first, as version 1 made them. */
static const char move_sql[] =
    "CREATE TABLE IF NOT EXISTS snapshots(name TEXT NOT NULL, slot TEXT NOT NULL,"
    "  key TEXT NOT NULL, hash TEXT NOT NULL, bytes INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, PRIMARY KEY (name, slot)) WITHOUT ROWID;"
    "ALTER TABLE functions RENAME TO functions_v1;"
    "ALTER TABLE versions RENAME TO versions_v1;"
    "ALTER TABLE version_seq RENAME TO version_seq_v1;"
    "ALTER TABLE snapshots RENAME TO snapshots_v1;"
    "CREATE TABLE functions(namespace TEXT NOT NULL, name TEXT NOT NULL,"
    "  latest INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (namespace, name)) WITHOUT ROWID;"
    "INSERT INTO functions(namespace, name, latest, created_ms, updated_ms)"
    "  SELECT namespace, name, latest, created_ms, updated_ms FROM functions_v1;"
    "CREATE TABLE versions(namespace TEXT NOT NULL, name TEXT NOT NULL,"
    "  version INTEGER NOT NULL, module_hash TEXT NOT NULL, files_hash TEXT,"
    "  settings TEXT NOT NULL, created_ms INTEGER NOT NULL, meta TEXT,"
    "  PRIMARY KEY (namespace, name, version)) WITHOUT ROWID;"
    "INSERT INTO versions(namespace, name, version, module_hash, files_hash, settings,"
    "  created_ms, meta)"
    "  SELECT namespace, name, version, module_hash, files_hash, settings, created_ms, meta"
    "  FROM versions_v1;"
    "CREATE TABLE version_seq(namespace TEXT NOT NULL, name TEXT NOT NULL,"
    "  last INTEGER NOT NULL, PRIMARY KEY (namespace, name)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO version_seq(namespace, name, last)"
    "  SELECT f.namespace, s.name, s.last FROM version_seq_v1 s"
    "  JOIN functions_v1 f ON f.name = s.name;"
    "INSERT OR IGNORE INTO version_seq(namespace, name, last)"
    "  SELECT DISTINCT a.namespace, s.name, s.last FROM version_seq_v1 s"
    "  JOIN activations a ON a.function = s.name;"
    "INSERT OR IGNORE INTO version_seq(namespace, name, last)"
    "  SELECT '" MOTE_STORE_DEFAULT_NS "', s.name, s.last FROM version_seq_v1 s"
    "  WHERE NOT EXISTS (SELECT 1 FROM version_seq v WHERE v.name = s.name);"
    "CREATE TABLE snapshots(namespace TEXT NOT NULL, name TEXT NOT NULL,"
    "  slot TEXT NOT NULL, key TEXT NOT NULL, hash TEXT NOT NULL, bytes INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, PRIMARY KEY (namespace, name, slot)) WITHOUT ROWID;"
    "INSERT INTO snapshots(namespace, name, slot, key, hash, bytes, created_ms)"
    "  SELECT coalesce(f.namespace, '" MOTE_STORE_DEFAULT_NS "'), s.name, s.slot, s.key,"
    "  s.hash, s.bytes, s.created_ms FROM snapshots_v1 s"
    "  LEFT JOIN functions_v1 f ON f.name = s.name;"
    "DROP TABLE functions_v1;"
    "DROP TABLE versions_v1;"
    "DROP TABLE version_seq_v1;"
    "DROP TABLE snapshots_v1;";

int store_migrate_v1(sqlite3 *db) {
  int rc = add_v1_columns(db);
  return rc == SQLITE_OK ? store_exec(db, move_sql) : rc;
}
