/*
 * auth: who is calling. OpenWhisk's HTTP basic authentication: the header
 * `Authorization: Basic base64(uuid:key)` names an API key of the store
 * (keys.c), which belongs to one namespace.
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
 * (auth_forget; a generation count keeps a check that was in flight during
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

#include "base/map.h"
#include "server/server_internal.h"

#define AUTH_CACHE_SLOTS 256
/* Short enough that a key deleted beside the server (mote keys delete in
 * another process) stops working within seconds; long enough that a busy
 * key costs one store read per TTL, not per request (~20 us each). */
#define AUTH_CACHE_TTL_MS 5000
#define AUTH_DIGEST_BYTES 32
/* base64 of "uuid:key" at their longest, with room for padding: longer
 * headers are malformed without decoding them. */
#define AUTH_B64_MAX 4 * ((MOTE_STORE_UUID_LEN + 1 + MOTE_STORE_KEY_LEN + 2) / 3)

typedef struct auth_entry {
  char uuid[MOTE_STORE_UUID_LEN + 1]; /* "": empty slot */
  uint8_t digest[AUTH_DIGEST_BYTES];  /* keyed hash of the accepted secret */
  char ns[MOTE_STORE_NS_MAX + 1];
  int64_t expires_ms;
} auth_entry;

struct srv_auth {
  pthread_mutex_t lock; /* guards slots and generation */
  uint64_t generation;  /* bumped by every forget */
  uint8_t digest_key[crypto_generichash_KEYBYTES];
  auth_entry slots[AUTH_CACHE_SLOTS];
};

srv_auth *auth_new(void) {
  if (sodium_init() < 0) return NULL;
  srv_auth *a = calloc(1, sizeof *a);
  if (!a) return NULL;
  pthread_mutex_init(&a->lock, NULL);
  randombytes_buf(a->digest_key, sizeof a->digest_key);
  return a;
}

void auth_free(srv_auth *a) {
  if (!a) return;
  pthread_mutex_destroy(&a->lock);
  sodium_memzero(a, sizeof *a);
  free(a);
}

static size_t slot_of(const char *uuid) {
  return mote_hash_str(uuid) % AUTH_CACHE_SLOTS; /* uuids are random: any spread will do */
}

static void digest_of(const srv_auth *a, const char *key, uint8_t out[AUTH_DIGEST_BYTES]) {
  crypto_generichash(out, AUTH_DIGEST_BYTES, (const uint8_t *)key, strlen(key), a->digest_key,
                     sizeof a->digest_key);
}

bool auth_parse_basic(const char *header, char uuid[MOTE_STORE_UUID_LEN + 1],
                      char key[MOTE_STORE_KEY_LEN + 1]) {
  uuid[0] = key[0] = 0;
  if (!header) return false;
  while (*header == ' ' || *header == '\t') header++;
  if (strncasecmp(header, "Basic", 5) != 0 || (header[5] != ' ' && header[5] != '\t'))
    return false;
  const char *b64 = header + 5;
  while (*b64 == ' ' || *b64 == '\t') b64++;
  size_t len = strlen(b64);
  while (len > 0 && (b64[len - 1] == ' ' || b64[len - 1] == '\t')) len--;
  if (len == 0 || len > AUTH_B64_MAX) return false;

  unsigned char bin[AUTH_B64_MAX];
  size_t n = 0;
  const char *end = NULL;
  if (sodium_base642bin(bin, sizeof bin, b64, len, NULL, &n, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64 + len)
    return false;
  unsigned char *colon = memchr(bin, ':', n);
  if (!colon || memchr(bin, 0, n)) return false;
  size_t ulen = (size_t)(colon - bin), klen = n - ulen - 1;
  if (ulen == 0 || ulen > MOTE_STORE_UUID_LEN || klen == 0 || klen > MOTE_STORE_KEY_LEN)
    return false;
  memcpy(uuid, bin, ulen);
  uuid[ulen] = 0;
  memcpy(key, colon + 1, klen);
  key[klen] = 0;
  sodium_memzero(bin, sizeof bin);
  return true;
}

srv_auth_result auth_check(srv_auth *a, mote_store *store, const char *uuid, const char *key,
                           int64_t now_ms, char ns_out[MOTE_STORE_NS_MAX + 1]) {
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
  if (hit) return SRV_AUTH_OK;

  mote_store_error err;
  switch (mote_store_key_check(store, uuid, key, ns_out, &err)) {
  case MOTE_STORE_OK:
    break;
  case MOTE_STORE_NOT_FOUND:
    return SRV_AUTH_UNKNOWN;
  case MOTE_STORE_INVALID:
    return SRV_AUTH_REJECTED;
  default:
    fprintf(stderr, "mote serve: checking a key: %s\n", err.message);
    return SRV_AUTH_ERROR;
  }
  pthread_mutex_lock(&a->lock);
  if (a->generation == generation) { /* no forget since the lookup began */
    snprintf(e->uuid, sizeof e->uuid, "%s", uuid);
    memcpy(e->digest, digest, sizeof digest);
    memcpy(e->ns, ns_out, sizeof e->ns);
    e->expires_ms = now_ms + AUTH_CACHE_TTL_MS;
  }
  pthread_mutex_unlock(&a->lock);
  return SRV_AUTH_OK;
}

srv_auth_result auth_check_header(srv_auth *a, mote_store *store, const char *header,
                                  int64_t now_ms, char ns_out[MOTE_STORE_NS_MAX + 1]) {
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  ns_out[0] = 0;
  if (!header) return SRV_AUTH_MISSING;
  if (!auth_parse_basic(header, uuid, key)) return SRV_AUTH_MALFORMED;
  srv_auth_result r = auth_check(a, store, uuid, key, now_ms, ns_out);
  sodium_memzero(key, sizeof key);
  return r;
}

void auth_forget(srv_auth *a, const char *uuid) {
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

const char *auth_result_reason(srv_auth_result r) {
  switch (r) {
  case SRV_AUTH_OK: return "ok";
  case SRV_AUTH_MISSING: return "no Authorization header";
  case SRV_AUTH_MALFORMED: return "the Authorization header is not Basic base64(uuid:key)";
  case SRV_AUTH_UNKNOWN: return "no such key";
  case SRV_AUTH_REJECTED: return "wrong secret for the key";
  case SRV_AUTH_ERROR: return "the key store failed";
  }
  return "?";
}

int auth_identify(mote_server *s, struct MHD_Connection *c, char ns_out[MOTE_STORE_NS_MAX + 1],
                  srv_auth_result *why) {
  const char *header =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  srv_auth_result r = auth_check_header(s->auth, s->store, header, srv_wall_ms(), ns_out);
  if (why) *why = r;
  return r == SRV_AUTH_OK ? 0 : r == SRV_AUTH_ERROR ? 500 : 401;
}

enum MHD_Result auth_reply_401(struct MHD_Connection *c, srv_auth_result why) {
  /* OpenWhisk's texts (akka-http's, which it uses): one for no
   * credentials, one for any others that fail; the code is a transaction
   * id, as OpenWhisk's is (wsk needs both fields). */
  const char *msg = why == SRV_AUTH_MISSING
                        ? "The resource requires authentication, which was not supplied with "
                          "the request"
                        : "The supplied authentication is invalid";
  char tid[33];
  mote_store_activation_new_id(tid);
  json_t *o = json_pack("{s:s, s:s}", "error", msg, "code", tid);
  size_t len = 0;
  struct MHD_Response *resp = json_response(o, &len);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                          "Basic realm=\"OpenWhisk secure realm\"");
  enum MHD_Result ret = reply_queue(c, MHD_HTTP_UNAUTHORIZED, resp, len);
  MHD_destroy_response(resp);
  return ret;
}

mote_server_status auth_dev_setup(mote_server *s, bool *created, char *msg, size_t cap) {
  char ns[MOTE_STORE_NS_MAX + 1], uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  mote_store_error err;
  *created = false;
  mote_store_status st = mote_store_key_check(s->store, MOTE_DEV_UUID, MOTE_DEV_KEY, ns, &err);
  if (st == MOTE_STORE_OK && strcmp(ns, MOTE_DEV_NAMESPACE) == 0) return MOTE_SERVER_OK;
  if (st == MOTE_STORE_OK || st == MOTE_STORE_INVALID) {
    snprintf(msg, cap,
             "--dev: the development key %s is in the store with %s; remove it with "
             "`mote keys delete %s --data %s` and start again",
             MOTE_DEV_UUID, st == MOTE_STORE_OK ? "another namespace" : "another secret",
             MOTE_DEV_UUID, s->data_dir);
    return MOTE_SERVER_INVALID;
  }
  if (st == MOTE_STORE_NOT_FOUND)
    st = mote_store_key_create(s->store, MOTE_DEV_NAMESPACE, MOTE_DEV_UUID, MOTE_DEV_KEY, uuid,
                               key, &err);
  if (st != MOTE_STORE_OK) {
    snprintf(msg, cap, "--dev: cannot create the development key: %s", err.message);
    return MOTE_SERVER_IO;
  }
  *created = true;
  return MOTE_SERVER_OK;
}
