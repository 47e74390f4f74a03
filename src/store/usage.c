/*
 * store: accounting totals and per-namespace invocation limits.
 *
 * Usage rows are totals per (namespace, function) since the first call,
 * added to by the server in batches of deltas (it counts in memory and
 * flushes about once a second: a row per call would double the writes of
 * the activation records). They outlive the function and the namespace:
 * accounting is history, as activation records are.
 *
 * Limits are settings: written durably (synchronous=FULL), like keys.
 *
 * Both are rare next to calls, so their statements are prepared per use
 * rather than cached on every connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char usage_add_sql[] =
    "INSERT INTO usage(namespace, function, invocations, errors, refused, exec_us, "
    "memory_mib_us, first_ms, last_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT(namespace, function) DO UPDATE SET "
    "invocations = invocations + excluded.invocations, errors = errors + excluded.errors, "
    "refused = refused + excluded.refused, exec_us = exec_us + excluded.exec_us, "
    "memory_mib_us = memory_mib_us + excluded.memory_mib_us, "
    "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms)";

/* ?1 NULL matches every namespace, ?2 NULL every function. */
static const char usage_list_sql[] =
    "SELECT namespace, function, invocations, errors, refused, exec_us, memory_mib_us, "
    "first_ms, last_ms FROM usage WHERE (?1 IS NULL OR namespace = ?1) "
    "AND (?2 IS NULL OR function = ?2) ORDER BY namespace, function";

static const char limits_set_sql[] =
    "INSERT INTO namespace_limits(namespace, invocations_per_minute, concurrent) "
    "VALUES (?1, ?2, ?3) ON CONFLICT(namespace) DO UPDATE SET "
    "invocations_per_minute = excluded.invocations_per_minute, "
    "concurrent = excluded.concurrent";

static const char limits_get_sql[] =
    "SELECT invocations_per_minute, concurrent FROM namespace_limits WHERE namespace = ?1";

static const char limits_delete_sql[] = "DELETE FROM namespace_limits WHERE namespace = ?1";

static const char ns_exists_sql[] = "SELECT 1 FROM namespaces WHERE name = ?1";

static bool usage_valid(const mote_usage *u) {
  return mote_store_valid_name(u->ns) && mote_store_valid_name(u->function);
}

mote_store_status mote_store_usage_add(mote_store *s, const mote_usage *deltas, size_t n,
                                       mote_store_error *err) {
  store_ok(err);
  for (size_t i = 0; i < n; i++)
    if (!usage_valid(&deltas[i]))
      return store_fail(err, MOTE_STORE_INVALID, "usage of an invalid namespace or function name");
  if (n == 0) return MOTE_STORE_OK;
  store_conn *w = &s->writer;
  mote_store_status st = MOTE_STORE_OK;
  sqlite3_stmt *q = NULL;
  pthread_mutex_lock(&s->write_lock);
  if (store_exec(w->db, "BEGIN IMMEDIATE") != SQLITE_OK) {
    st = store_db_fail(err, w->db, "starting a transaction");
    goto out;
  }
  if (sqlite3_prepare_v2(w->db, usage_add_sql, -1, &q, NULL) != SQLITE_OK) {
    st = store_db_fail(err, w->db, "adding usage");
    goto out;
  }
  for (size_t i = 0; i < n && st == MOTE_STORE_OK; i++) {
    const mote_usage *u = &deltas[i];
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, u->ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, u->function, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)u->invocations);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)u->errors);
    sqlite3_bind_int64(q, 5, (sqlite3_int64)u->refused);
    sqlite3_bind_int64(q, 6, (sqlite3_int64)u->exec_us);
    sqlite3_bind_int64(q, 7, (sqlite3_int64)u->memory_mib_us);
    sqlite3_bind_int64(q, 8, u->first_ms);
    sqlite3_bind_int64(q, 9, u->last_ms);
    if (sqlite3_step(q) != SQLITE_DONE) st = store_db_fail(err, w->db, "adding usage");
  }
  if (st == MOTE_STORE_OK && store_exec(w->db, "COMMIT") != SQLITE_OK)
    st = store_db_fail(err, w->db, "committing usage");
out:
  sqlite3_finalize(q);
  if (st != MOTE_STORE_OK && !sqlite3_get_autocommit(w->db)) store_exec(w->db, "ROLLBACK");
  pthread_mutex_unlock(&s->write_lock);
  return st;
}

mote_store_status mote_store_usage_list(mote_store *s, const char *ns, const char *function,
                                        mote_usage **out, size_t *count, mote_store_error *err) {
  store_ok(err);
  *out = NULL;
  *count = 0;
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st = MOTE_STORE_OK;
  mote_usage *list = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *q = NULL;
  int rc = SQLITE_ERROR;
  if (sqlite3_prepare_v2(c->db, usage_list_sql, -1, &q, NULL) == SQLITE_OK) {
    if (ns) sqlite3_bind_text(q, 1, ns, -1, SQLITE_STATIC);
    if (function) sqlite3_bind_text(q, 2, function, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
      if (n == cap) {
        size_t ncap = cap ? 2 * cap : 16;
        mote_usage *grown = realloc(list, ncap * sizeof *grown);
        if (!grown) {
          st = store_fail(err, MOTE_STORE_IO, "out of memory");
          break;
        }
        list = grown;
        cap = ncap;
      }
      mote_usage *u = &list[n++];
      memset(u, 0, sizeof *u);
      const char *a = (const char *)sqlite3_column_text(q, 0);
      const char *b = (const char *)sqlite3_column_text(q, 1);
      snprintf(u->ns, sizeof u->ns, "%s", a ? a : "");
      snprintf(u->function, sizeof u->function, "%s", b ? b : "");
      u->invocations = (uint64_t)sqlite3_column_int64(q, 2);
      u->errors = (uint64_t)sqlite3_column_int64(q, 3);
      u->refused = (uint64_t)sqlite3_column_int64(q, 4);
      u->exec_us = (uint64_t)sqlite3_column_int64(q, 5);
      u->memory_mib_us = (uint64_t)sqlite3_column_int64(q, 6);
      u->first_ms = sqlite3_column_int64(q, 7);
      u->last_ms = sqlite3_column_int64(q, 8);
    }
  }
  if (st == MOTE_STORE_OK && rc != SQLITE_DONE) st = store_db_fail(err, c->db, "listing usage");
  sqlite3_finalize(q);
  store_reader_give(s, c);
  if (st != MOTE_STORE_OK) {
    free(list);
    return st;
  }
  *out = list;
  *count = n;
  return MOTE_STORE_OK;
}

/* ---- per-namespace limits ------------------------------------------------ */

typedef struct limits_ctx {
  const char *ns;
  const mote_namespace_limits *lim;
} limits_ctx;

static mote_store_status limits_set_body(store_conn *w, void *vctx, mote_store_error *err) {
  limits_ctx *c = vctx;
  sqlite3_stmt *q = NULL;
  mote_store_status st = MOTE_STORE_OK;
  if (sqlite3_prepare_v2(w->db, ns_exists_sql, -1, &q, NULL) != SQLITE_OK)
    return store_db_fail(err, w->db, "finding a namespace");
  sqlite3_bind_text(q, 1, c->ns, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  if (rc == SQLITE_DONE)
    return store_fail(err, MOTE_STORE_NOT_FOUND,
                      "namespace \"%s\" not found (mote keys create %s makes it)", c->ns, c->ns);
  if (rc != SQLITE_ROW) return store_db_fail(err, w->db, "finding a namespace");
  if (sqlite3_prepare_v2(w->db, limits_set_sql, -1, &q, NULL) != SQLITE_OK)
    return store_db_fail(err, w->db, "setting limits");
  sqlite3_bind_text(q, 1, c->ns, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, c->lim->invocations_per_minute);
  sqlite3_bind_int64(q, 3, c->lim->concurrent);
  if (sqlite3_step(q) != SQLITE_DONE) st = store_db_fail(err, w->db, "setting limits");
  sqlite3_finalize(q);
  return st;
}

mote_store_status mote_store_namespace_limits_set(mote_store *s, const char *ns,
                                                  const mote_namespace_limits *lim,
                                                  mote_store_error *err) {
  store_ok(err);
  if (!mote_store_valid_name(ns))
    return store_fail(err, MOTE_STORE_INVALID, "invalid namespace \"%.80s\"", ns ? ns : "(null)");
  limits_ctx ctx = {ns, lim};
  return store_write_durably(s, limits_set_body, &ctx, err);
}

mote_store_status mote_store_namespace_limits_get(mote_store *s, const char *ns,
                                                  mote_namespace_limits *out,
                                                  mote_store_error *err) {
  store_ok(err);
  memset(out, 0, sizeof *out);
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st = MOTE_STORE_OK;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(c->db, limits_get_sql, -1, &q, NULL) != SQLITE_OK) {
    st = store_db_fail(err, c->db, "reading limits");
  } else {
    sqlite3_bind_text(q, 1, ns, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      out->invocations_per_minute = (uint32_t)sqlite3_column_int64(q, 0);
      out->concurrent = (uint32_t)sqlite3_column_int64(q, 1);
    } else if (rc != SQLITE_DONE) {
      st = store_db_fail(err, c->db, "reading limits");
    }
  }
  sqlite3_finalize(q);
  store_reader_give(s, c);
  return st;
}

mote_store_status store_limits_forget(store_conn *w, const char *ns, mote_store_error *err) {
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(w->db, limits_delete_sql, -1, &q, NULL) != SQLITE_OK)
    return store_db_fail(err, w->db, "deleting limits");
  sqlite3_bind_text(q, 1, ns, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? MOTE_STORE_OK : store_db_fail(err, w->db, "deleting limits");
}
