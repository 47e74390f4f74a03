/*
 * identity: who is calling. A credential is OpenWhisk's uuid:key, an API
 * key of the store (keys.c) that belongs to one namespace; the transport
 * reads it from the request (http/basic_auth.c: `Authorization: Basic
 * base64(uuid:key)`), this file checks it.
 *
 * A small cache of recently verified credentials keeps a request from
 * costing a SQLite read: AUTH_CACHE_SLOTS entries, each a uuid, a keyed
 * hash of the secret that was accepted (BLAKE2b under a random key of this
 * process, so the secret itself is not kept in memory), its namespace and an
 * expiry AUTH_CACHE_TTL_MS ahead. A hit still hashes the presented secret
 * and compares in constant time; a miss, an expired entry or a different
 * secret asks the store. Refusals are not cached: a wrong key always reaches
 * the store, so a key that is created meanwhile works at once.
 *
 * Invalidation: a key deleted through this process is forgotten at once
 * (identity_forget; a generation count keeps a check that was in flight during
 * the delete from putting it back). A key deleted by another process on the
 * same data directory (`mote keys delete` beside a running server) still
 * opens this server for up to AUTH_CACHE_TTL_MS.
 *
 * The cache is direct-mapped (a uuid has one slot, a newcomer evicts the
 * slot's holder) under one mutex held for a few hundred nanoseconds: uuids
 * are random, so slots spread well, and a miss costs only a store read.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/alloc.h"
#include "base/map.h"
#include "core/core_internal.h"

#define AUTH_CACHE_SLOTS 256
/* Short enough that a key deleted beside the server (mote keys delete in
 * another process) stops working within seconds; long enough that a busy
 * key costs one store read per TTL, not per request (~20 us each). */
#define AUTH_CACHE_TTL_MS 5000
#define AUTH_DIGEST_BYTES 32

typedef struct auth_entry {
  char uuid[MOTE_STORE_UUID_LEN + 1]; /* "": empty slot */
  uint8_t digest[AUTH_DIGEST_BYTES];  /* keyed hash of the accepted secret */
  char ns[MOTE_STORE_NS_MAX + 1];
  int64_t expires_ms;
} auth_entry;

struct core_identity {
  pthread_mutex_t lock; /* guards slots and generation */
  uint64_t generation;  /* bumped by every forget */
  uint8_t digest_key[crypto_generichash_KEYBYTES];
  auth_entry slots[AUTH_CACHE_SLOTS];
};

core_identity *identity_new(void) {
  if (sodium_init() < 0) return NULL;
  core_identity *a = mote_calloc(1, sizeof *a);
  if (!a) return NULL;
  pthread_mutex_init(&a->lock, NULL);
  randombytes_buf(a->digest_key, sizeof a->digest_key);
  return a;
}

void identity_free(core_identity *a) {
  if (!a) return;
  pthread_mutex_destroy(&a->lock);
  sodium_memzero(a, sizeof *a);
  mote_free(a);
}

static size_t slot_of(const char *uuid) {
  return mote_hash_str(uuid) % AUTH_CACHE_SLOTS; /* uuids are random: any spread will do */
}

static void digest_of(const core_identity *a, const char *key, uint8_t out[AUTH_DIGEST_BYTES]) {
  crypto_generichash(out, AUTH_DIGEST_BYTES, (const uint8_t *)key, strlen(key), a->digest_key,
                     sizeof a->digest_key);
}

mote_core_status identity_check(core_identity *a, mote_store *store, const char *uuid,
                                const char *key, int64_t now_ms,
                                char ns_out[MOTE_STORE_NS_MAX + 1]) {
  ns_out[0] = 0;
  uint8_t digest[AUTH_DIGEST_BYTES];
  digest_of(a, key, digest);
  auth_entry *e = &a->slots[slot_of(uuid)];

  pthread_mutex_lock(&a->lock);
  uint64_t generation = a->generation;
  bool hit = strcmp(e->uuid, uuid) == 0 && now_ms < e->expires_ms &&
             sodium_memcmp(e->digest, digest, sizeof digest) == 0;
  if (hit) memcpy(ns_out, e->ns, MOTE_STORE_NS_MAX + 1);
  pthread_mutex_unlock(&a->lock);
  if (hit) return MOTE_CORE_OK;

  mote_store_error err;
  switch (mote_store_key_check(store, uuid, key, ns_out, &err)) {
  case MOTE_STORE_OK:
    break;
  case MOTE_STORE_NOT_FOUND:
    return MOTE_CORE_AUTH_UNKNOWN;
  case MOTE_STORE_INVALID:
    return MOTE_CORE_AUTH_REJECTED;
  default:
    fprintf(stderr, "mote serve: checking a key: %s\n", err.message);
    return MOTE_CORE_AUTH_ERROR;
  }
  pthread_mutex_lock(&a->lock);
  if (a->generation == generation) { /* no forget since the lookup began */
    snprintf(e->uuid, sizeof e->uuid, "%s", uuid);
    memcpy(e->digest, digest, sizeof digest);
    memcpy(e->ns, ns_out, sizeof e->ns);
    e->expires_ms = now_ms + AUTH_CACHE_TTL_MS;
  }
  pthread_mutex_unlock(&a->lock);
  return MOTE_CORE_OK;
}

void identity_forget(core_identity *a, const char *uuid) {
  pthread_mutex_lock(&a->lock);
  a->generation++;
  if (uuid) {
    auth_entry *e = &a->slots[slot_of(uuid)];
    if (strcmp(e->uuid, uuid) == 0) memset(e, 0, sizeof *e);
  } else {
    memset(a->slots, 0, sizeof a->slots);
  }
  pthread_mutex_unlock(&a->lock);
}

mote_core_status core_dev_key(mote_core *c, const char *ns_name, const char *dev_uuid,
                              const char *dev_key, bool *created, mote_core_error *e) {
  char ns[MOTE_STORE_NS_MAX + 1], uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  mote_store_error err;
  *created = false;
  mote_store_status st = mote_store_key_check(c->store, dev_uuid, dev_key, ns, &err);
  if (st == MOTE_STORE_OK && strcmp(ns, ns_name) == 0) return MOTE_CORE_OK;
  if (st == MOTE_STORE_OK || st == MOTE_STORE_INVALID)
    return core_fail(e, MOTE_CORE_INVALID,
                     "--dev: the development key %s is in the store with %s; remove it with "
                     "`mote keys delete %s --data %s` and start again",
                     dev_uuid, st == MOTE_STORE_OK ? "another namespace" : "another secret",
                     dev_uuid, c->data_dir);
  if (st == MOTE_STORE_NOT_FOUND)
    st = mote_store_key_create(c->store, ns_name, dev_uuid, dev_key, uuid, key, &err);
  if (st != MOTE_STORE_OK)
    return core_fail(e, MOTE_CORE_STORE, "--dev: cannot create the development key: %s",
                     err.message);
  *created = true;
  return MOTE_CORE_OK;
}
