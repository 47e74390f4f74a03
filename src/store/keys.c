/*
 * store: namespaces and API keys.
 *
 * A key's secret is stored as BLAKE2b-256 (libsodium's crypto_generichash)
 * keyed with a random 16-byte salt of its own. Why a fast hash and not a
 * password hash (crypto_pwhash, Argon2): the secrets are 64 random
 * characters of 62 (~381 bits), not chosen by people, so no dictionary or
 * brute force can reach them however fast the hash is; what the hash must
 * do is keep a copy of the database from being a list of working keys, and
 * BLAKE2b does that. A password hash would add nothing but its cost, about
 * 100 ms and tens of MiB per check: per request, that would be the server's
 * whole budget. The salt makes equal secrets hash differently.
 *
 * Secrets are compared with sodium_memcmp (constant time), so the time of a
 * refusal does not tell how much of a guessed hash was right.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define SALT_BYTES 16
#define HASH_BYTES 32

static const char key_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static mote_store_status bad_ns(mote_store_error *err, const char *name) {
  return store_fail(err, MOTE_STORE_INVALID,
                    "invalid namespace \"%.80s\": use 1 to 64 characters of A-Z a-z 0-9 _ . -, "
                    "not starting with '.' or '-'",
                    name ? name : "(null)");
}

static bool valid_uuid(const char *u) {
  if (!u || strlen(u) != MOTE_STORE_UUID_LEN) return false;
  for (size_t i = 0; i < MOTE_STORE_UUID_LEN; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    bool hex = (u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f');
    if (dash ? u[i] != '-' : !hex) return false;
  }
  return true;
}

static bool valid_key(const char *k) {
  return k && strlen(k) == MOTE_STORE_KEY_LEN && strspn(k, key_alphabet) == MOTE_STORE_KEY_LEN;
}

static void hash_secret(const char *key, const uint8_t salt[SALT_BYTES], uint8_t out[HASH_BYTES]) {
  crypto_generichash(out, HASH_BYTES, (const uint8_t *)key, strlen(key), salt, SALT_BYTES);
}

static void random_uuid(char out[MOTE_STORE_UUID_LEN + 1]) {
  uint8_t b[16];
  randombytes_buf(b, sizeof b);
  b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4: random */
  b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* variant 1 (RFC 4122) */
  snprintf(out, MOTE_STORE_UUID_LEN + 1,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
           b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
}

static void random_key(char out[MOTE_STORE_KEY_LEN + 1]) {
  /* randombytes_uniform: no modulo bias over the 62 characters. */
  for (size_t i = 0; i < MOTE_STORE_KEY_LEN; i++)
    out[i] = key_alphabet[randombytes_uniform(sizeof key_alphabet - 1)];
  out[MOTE_STORE_KEY_LEN] = 0;
}

/* Runs a one-statement write (bound to `text`) on the writer; *changes gets
 * the rows it changed. */
static mote_store_status exec_text(store_conn *w, stmt_id id, const char *text, int64_t now,
                                   int *changes, const char *doing, mote_store_error *err) {
  sqlite3_stmt *q = store_stmt(w, id);
  if (!q) return store_db_fail(err, w->db, doing);
  sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
  if (id == ST_NS_INSERT) sqlite3_bind_int64(q, 2, now);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, doing);
  if (changes) *changes = sqlite3_changes(w->db);
  return MOTE_STORE_OK;
}

/* ---- namespaces ---------------------------------------------------------- */

typedef struct ns_ctx {
  const char *name;
  int64_t now;
  bool created; /* OUT */
} ns_ctx;

static mote_store_status ns_create_body(store_conn *w, void *vctx, mote_store_error *err) {
  ns_ctx *c = vctx;
  int changes = 0;
  mote_store_status st =
      exec_text(w, ST_NS_INSERT, c->name, c->now, &changes, "creating a namespace", err);
  c->created = changes > 0;
  return st;
}

mote_store_status mote_store_namespace_create(mote_store *s, const char *name, bool *created,
                                              mote_store_error *err) {
  store_ok(err);
  if (created) *created = false;
  if (!mote_store_valid_name(name)) return bad_ns(err, name);
  ns_ctx ctx = {.name = name, .now = store_now_ms()};
  mote_store_status st = store_write_durably(s, ns_create_body, &ctx, err);
  if (st == MOTE_STORE_OK && created) *created = ctx.created;
  return st;
}

mote_store_status mote_store_namespace_list(mote_store *s, mote_namespace **out, size_t *count,
                                            mote_store_error *err) {
  store_ok(err);
  *out = NULL;
  *count = 0;
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st = MOTE_STORE_OK;
  mote_namespace *list = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *q = store_stmt(c, ST_NS_LIST);
  int rc = SQLITE_ERROR;
  while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      mote_namespace *grown = realloc(list, ncap * sizeof *grown);
      if (!grown) {
        st = store_fail(err, MOTE_STORE_IO, "out of memory");
        break;
      }
      list = grown;
      cap = ncap;
    }
    const char *name = (const char *)sqlite3_column_text(q, 0);
    snprintf(list[n].name, sizeof list[n].name, "%s", name ? name : "");
    list[n].created_ms = sqlite3_column_int64(q, 1);
    n++;
  }
  if (st == MOTE_STORE_OK && rc != SQLITE_DONE)
    st = store_db_fail(err, c->db, "listing namespaces");
  if (q) sqlite3_reset(q);
  store_reader_give(s, c);
  if (st != MOTE_STORE_OK) {
    free(list);
    return st;
  }
  *out = list;
  *count = n;
  return MOTE_STORE_OK;
}

static mote_store_status ns_delete_body(store_conn *w, void *ctx, mote_store_error *err) {
  const char *name = ctx;
  int changes = 0;
  mote_store_status st =
      exec_text(w, ST_NS_DELETE, name, 0, &changes, "deleting a namespace", err);
  if (st != MOTE_STORE_OK) return st;
  if (changes == 0)
    return store_fail(err, MOTE_STORE_NOT_FOUND, "namespace \"%s\" not found", name);
  st = exec_text(w, ST_NS_KEYS_DELETE, name, 0, NULL, "deleting a namespace's keys", err);
  return st == MOTE_STORE_OK ? store_limits_forget(w, name, err) : st;
}

mote_store_status mote_store_namespace_delete(mote_store *s, const char *name,
                                              mote_store_error *err) {
  store_ok(err);
  if (!mote_store_valid_name(name)) return bad_ns(err, name);
  return store_write_durably(s, ns_delete_body, (void *)name, err);
}

/* ---- keys ---------------------------------------------------------------- */

typedef struct key_ctx {
  const mote_key_record *rec;
  bool replace; /* a record kept elsewhere: an existing uuid is replaced */
} key_ctx;

static mote_store_status key_put_body(store_conn *w, void *vctx, mote_store_error *err) {
  key_ctx *c = vctx;
  const mote_key_record *k = c->rec;
  mote_store_status st =
      exec_text(w, ST_NS_INSERT, k->ns, k->created_ms, NULL, "creating a namespace", err);
  if (st != MOTE_STORE_OK) return st;
  sqlite3_stmt *q = store_stmt(w, c->replace ? ST_KEY_PUT : ST_KEY_INSERT);
  if (!q) return store_db_fail(err, w->db, "preparing a key");
  sqlite3_bind_text(q, 1, k->uuid, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, k->ns, -1, SQLITE_STATIC);
  sqlite3_bind_blob(q, 3, k->salt, SALT_BYTES, SQLITE_STATIC);
  sqlite3_bind_blob(q, 4, k->hash, HASH_BYTES, SQLITE_STATIC);
  sqlite3_bind_int64(q, 5, k->created_ms);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc == SQLITE_CONSTRAINT)
    return store_fail(err, MOTE_STORE_INVALID, "a key with uuid %s exists already", k->uuid);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "adding a key");
  return MOTE_STORE_OK;
}

mote_store_status mote_store_key_seal(const char *ns, const char *uuid, const char *key,
                                      mote_key_record *rec, char key_out[MOTE_STORE_KEY_LEN + 1],
                                      mote_store_error *err) {
  store_ok(err);
  memset(rec, 0, sizeof *rec);
  key_out[0] = 0;
  if (!mote_store_valid_name(ns)) return bad_ns(err, ns);
  if (uuid && !valid_uuid(uuid))
    return store_fail(err, MOTE_STORE_INVALID,
                      "invalid key uuid \"%.40s\": use 8-4-4-4-12 lowercase hex digits", uuid);
  if (key && !valid_key(key))
    return store_fail(err, MOTE_STORE_INVALID, "invalid key: use %d characters of A-Z a-z 0-9",
                      MOTE_STORE_KEY_LEN);
  snprintf(rec->ns, sizeof rec->ns, "%s", ns);
  if (uuid)
    snprintf(rec->uuid, sizeof rec->uuid, "%s", uuid);
  else
    random_uuid(rec->uuid);
  if (key)
    snprintf(key_out, MOTE_STORE_KEY_LEN + 1, "%s", key);
  else
    random_key(key_out);
  randombytes_buf(rec->salt, sizeof rec->salt);
  hash_secret(key_out, rec->salt, rec->hash);
  rec->created_ms = store_now_ms();
  return MOTE_STORE_OK;
}

mote_store_status mote_store_key_put(mote_store *s, const mote_key_record *rec,
                                     mote_store_error *err) {
  store_ok(err);
  if (!mote_store_valid_name(rec->ns)) return bad_ns(err, rec->ns);
  if (!valid_uuid(rec->uuid))
    return store_fail(err, MOTE_STORE_INVALID, "invalid key uuid \"%.40s\"", rec->uuid);
  key_ctx ctx = {.rec = rec, .replace = true};
  return store_write_durably(s, key_put_body, &ctx, err);
}

mote_store_status mote_store_key_create(mote_store *s, const char *ns, const char *uuid,
                                        const char *key, char uuid_out[MOTE_STORE_UUID_LEN + 1],
                                        char key_out[MOTE_STORE_KEY_LEN + 1],
                                        mote_store_error *err) {
  uuid_out[0] = key_out[0] = 0;
  mote_key_record rec;
  char new_key[MOTE_STORE_KEY_LEN + 1];
  mote_store_status st = mote_store_key_seal(ns, uuid, key, &rec, new_key, err);
  if (st != MOTE_STORE_OK) return st;
  key_ctx ctx = {.rec = &rec};
  st = store_write_durably(s, key_put_body, &ctx, err);
  if (st == MOTE_STORE_OK) {
    memcpy(uuid_out, rec.uuid, sizeof rec.uuid);
    memcpy(key_out, new_key, sizeof new_key);
  }
  sodium_memzero(new_key, sizeof new_key);
  return st;
}

mote_store_status mote_store_key_check(mote_store *s, const char *uuid, const char *key,
                                       char ns_out[MOTE_STORE_NS_MAX + 1], mote_store_error *err) {
  store_ok(err);
  ns_out[0] = 0;
  if (!valid_uuid(uuid))
    return store_fail(err, MOTE_STORE_NOT_FOUND, "no key with uuid \"%.40s\"",
                      uuid ? uuid : "(null)");
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st;
  sqlite3_stmt *q = store_stmt(c, ST_KEY_GET);
  if (!q) {
    st = store_db_fail(err, c->db, "looking up a key");
    goto out;
  }
  sqlite3_bind_text(q, 1, uuid, -1, SQLITE_STATIC);
  int rc = sqlite3_step(q);
  if (rc == SQLITE_DONE) {
    st = store_fail(err, MOTE_STORE_NOT_FOUND, "no key with uuid \"%s\"", uuid);
  } else if (rc != SQLITE_ROW) {
    st = store_db_fail(err, c->db, "looking up a key");
  } else if (sqlite3_column_bytes(q, 1) != SALT_BYTES || sqlite3_column_bytes(q, 2) != HASH_BYTES) {
    st = store_fail(err, MOTE_STORE_IO, "the stored key %s is damaged", uuid);
  } else {
    uint8_t have[HASH_BYTES];
    /* Every secret is hashed, even one of the wrong length: a refusal takes
     * the same time whatever was sent. */
    hash_secret(key ? key : "", sqlite3_column_blob(q, 1), have);
    if (sodium_memcmp(have, sqlite3_column_blob(q, 2), HASH_BYTES) == 0) {
      const char *ns = (const char *)sqlite3_column_text(q, 0);
      snprintf(ns_out, MOTE_STORE_NS_MAX + 1, "%s", ns ? ns : "");
      st = MOTE_STORE_OK;
    } else {
      st = store_fail(err, MOTE_STORE_INVALID, "wrong secret for key %s", uuid);
    }
  }
  sqlite3_reset(q);
out:
  store_reader_give(s, c);
  return st;
}

mote_store_status mote_store_key_list(mote_store *s, const char *ns, mote_key_info **out,
                                      size_t *count, mote_store_error *err) {
  store_ok(err);
  *out = NULL;
  *count = 0;
  if (ns && !mote_store_valid_name(ns)) return bad_ns(err, ns);
  store_conn *c = store_reader_take(s, err);
  if (!c) return MOTE_STORE_IO;
  mote_store_status st = MOTE_STORE_OK;
  mote_key_info *list = NULL;
  size_t n = 0, cap = 0;
  sqlite3_stmt *q = store_stmt(c, ns ? ST_KEY_LIST_NS : ST_KEY_LIST_ALL);
  if (q && ns) sqlite3_bind_text(q, 1, ns, -1, SQLITE_STATIC);
  int rc = SQLITE_ERROR;
  while (q && (rc = sqlite3_step(q)) == SQLITE_ROW) {
    if (n == cap) {
      size_t ncap = cap ? 2 * cap : 16;
      mote_key_info *grown = realloc(list, ncap * sizeof *grown);
      if (!grown) {
        st = store_fail(err, MOTE_STORE_IO, "out of memory");
        break;
      }
      list = grown;
      cap = ncap;
    }
    const char *uuid = (const char *)sqlite3_column_text(q, 0);
    const char *kns = (const char *)sqlite3_column_text(q, 1);
    snprintf(list[n].uuid, sizeof list[n].uuid, "%s", uuid ? uuid : "");
    snprintf(list[n].ns, sizeof list[n].ns, "%s", kns ? kns : "");
    list[n].created_ms = sqlite3_column_int64(q, 2);
    n++;
  }
  if (st == MOTE_STORE_OK && rc != SQLITE_DONE) st = store_db_fail(err, c->db, "listing keys");
  if (q) sqlite3_reset(q);
  store_reader_give(s, c);
  if (st != MOTE_STORE_OK) {
    free(list);
    return st;
  }
  *out = list;
  *count = n;
  return MOTE_STORE_OK;
}

static mote_store_status key_delete_body(store_conn *w, void *ctx, mote_store_error *err) {
  const char *uuid = ctx;
  int changes = 0;
  mote_store_status st = exec_text(w, ST_KEY_DELETE, uuid, 0, &changes, "deleting a key", err);
  if (st == MOTE_STORE_OK && changes == 0)
    return store_fail(err, MOTE_STORE_NOT_FOUND, "no key with uuid \"%s\"", uuid);
  return st;
}

mote_store_status mote_store_key_delete(mote_store *s, const char *uuid, mote_store_error *err) {
  store_ok(err);
  if (!valid_uuid(uuid))
    return store_fail(err, MOTE_STORE_NOT_FOUND, "no key with uuid \"%.40s\"",
                      uuid ? uuid : "(null)");
  return store_write_durably(s, key_delete_body, (void *)uuid, err);
}
