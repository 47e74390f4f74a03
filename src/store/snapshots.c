/*
 * Snapshots of initialised functions (store.h: mote_store_snapshot_put and
 * _get): a row per function (namespace, name) and slot naming the blob of its bytes and the
 * key they were made for. The bytes are a blob like a module's (disk.c):
 * content-addressed, durable before the row that names them is committed,
 * and checked against their hash when read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define KEY_MAX 128

static bool valid_key(const char *k) {
  size_t n = k ? strlen(k) : 0;
  if (n == 0 || n > KEY_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (k[i] < 0x21 || k[i] > 0x7e) return false;
  return true;
}

static mote_store_status check_args(const char *ns, const char *name, const char *slot,
                                    const char *key, mote_store_error *err) {
  if (!mote_store_valid_name(ns))
    return store_fail(err, MOTE_STORE_INVALID, "invalid namespace \"%.70s\"",
                      ns ? ns : "(null)");
  if (!mote_store_valid_name(name))
    return store_fail(err, MOTE_STORE_INVALID, "invalid function name \"%.70s\"",
                      name ? name : "(null)");
  if (!valid_key(slot) || !valid_key(key))
    return store_fail(err, MOTE_STORE_INVALID,
                      "a snapshot's slot and key take 1 to %d printable characters", KEY_MAX);
  return MOTE_STORE_OK;
}

typedef struct put_ctx {
  const char *ns, *name, *slot, *key, *hash;
  size_t len;
} put_ctx;

static mote_store_status put_body(store_conn *w, void *vctx, mote_store_error *err) {
  put_ctx *c = vctx;
  sqlite3_stmt *q = store_stmt(w, ST_SNAP_PUT);
  if (!q) return store_db_fail(err, w->db, "preparing a snapshot's row");
  sqlite3_bind_text(q, 1, c->ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, c->name, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 3, c->slot, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 4, c->key, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, c->hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 6, (sqlite3_int64)c->len);
  sqlite3_bind_int64(q, 7, store_now_ms());
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "recording a snapshot");
  return MOTE_STORE_OK;
}

mote_store_status mote_store_snapshot_put(mote_store *s, const char *ns, const char *name,
                                          const char *slot, const char *key, const uint8_t *data,
                                          size_t len, mote_store_error *err) {
  store_ok(err);
  mote_store_status st = check_args(ns, name, slot, key, err);
  if (st != MOTE_STORE_OK) return st;
  char hash[STORE_HASH_HEX];
  st = store_put_blob(s, data, len, hash, err);
  if (st != MOTE_STORE_OK) return st;
  put_ctx c = {ns, name, slot, key, hash, len};
  return store_write_durably(s, put_body, &c, err);
}

mote_store_status mote_store_snapshot_get(mote_store *s, const char *ns, const char *name,
                                          const char *slot, const char *key, uint8_t **out,
                                          size_t *len, mote_store_error *err) {
  store_ok(err);
  *out = NULL;
  *len = 0;
  mote_store_status st = check_args(ns, name, slot, key, err);
  if (st != MOTE_STORE_OK) return st;
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  char hash[STORE_HASH_HEX] = "";
  sqlite3_stmt *q = store_stmt(c, ST_SNAP_GET);
  int rc = SQLITE_ERROR;
  if (q) {
    sqlite3_bind_text(q, 1, ns, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, slot, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
      const char *h = (const char *)sqlite3_column_text(q, 0);
      snprintf(hash, sizeof hash, "%s", h ? h : "");
    }
    sqlite3_reset(q);
  }
  if (rc == SQLITE_ROW)
    st = MOTE_STORE_OK;
  else if (rc == SQLITE_DONE)
    st = store_fail(err, MOTE_STORE_NOT_FOUND, "no snapshot of %s/%s (%s) for this key", ns,
                    name, slot);
  else
    st = store_db_fail(err, c->db, "reading a snapshot's row");
  store_reader_give(s, c);
  if (st != MOTE_STORE_OK) return st;
  return mote_store_blob_read(s, hash, out, len, err);
}

mote_store_status store_snapshots_forget(store_conn *w, const char *ns, const char *name,
                                         mote_store_error *err) {
  sqlite3_stmt *q = store_stmt(w, ST_SNAP_FORGET);
  if (!q) return store_db_fail(err, w->db, "preparing a delete");
  sqlite3_bind_text(q, 1, ns, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "deleting snapshots");
  return MOTE_STORE_OK;
}
