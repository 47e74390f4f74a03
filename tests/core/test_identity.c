/* core: the cache of verified keys (identity.c) against a real store: hits,
 * refusals never cached, expiry, forgetting one key or all. */
#include <stdlib.h>
#include <string.h>

#include "../store/store_fixture.h"
#include "core/core_internal.h"
#include "test.h"

#define T0 1700000000000LL /* a Unix time in ms for the cache's clock */

TEST(check_and_cache) {
  char dir[64];
  fixture_dir(dir);
  mote_store *st = fixture_open(dir);
  core_identity *a = identity_new();
  CHECK(a != NULL);
  mote_store_error err;
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1], ns[MOTE_STORE_NS_MAX + 1];
  CHECK_EQ_INT(mote_store_key_create(st, "alice", NULL, NULL, uuid, key, &err), MOTE_STORE_OK);

  CHECK_EQ_INT(identity_check(a, st, uuid, key, T0, ns), MOTE_CORE_OK);
  CHECK(strcmp(ns, "alice") == 0);
  char wrong[MOTE_STORE_KEY_LEN + 1];
  memcpy(wrong, key, sizeof wrong);
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  /* The cached key, checked again with a wrong secret: refused. */
  CHECK_EQ_INT(identity_check(a, st, uuid, wrong, T0, ns), MOTE_CORE_AUTH_REJECTED);
  CHECK_EQ_INT(identity_check(a, st, "00000000-0000-4000-8000-000000000000", key, T0, ns),
               MOTE_CORE_AUTH_UNKNOWN);

  /* Deleted behind the cache's back (another process): the verified key
   * still opens for the cache's lifetime, then no more. */
  CHECK_EQ_INT(mote_store_key_delete(st, uuid, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(identity_check(a, st, uuid, key, T0 + 1000, ns), MOTE_CORE_OK);
  CHECK(strcmp(ns, "alice") == 0);
  /* A wrong secret is not let through by the cached entry. */
  CHECK_EQ_INT(identity_check(a, st, uuid, "wrong", T0 + 1000, ns), MOTE_CORE_AUTH_UNKNOWN);
  CHECK_EQ_INT(identity_check(a, st, uuid, key, T0 + 61000, ns), MOTE_CORE_AUTH_UNKNOWN);

  /* Deleted through this process: forgotten at once. */
  char uuid2[MOTE_STORE_UUID_LEN + 1], key2[MOTE_STORE_KEY_LEN + 1];
  CHECK_EQ_INT(mote_store_key_create(st, "bob", NULL, NULL, uuid2, key2, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(identity_check(a, st, uuid2, key2, T0, ns), MOTE_CORE_OK);
  CHECK(strcmp(ns, "bob") == 0);
  CHECK_EQ_INT(mote_store_key_delete(st, uuid2, &err), MOTE_STORE_OK);
  identity_forget(a, uuid2);
  CHECK_EQ_INT(identity_check(a, st, uuid2, key2, T0, ns), MOTE_CORE_AUTH_UNKNOWN);

  /* And all at once, after a namespace goes. */
  CHECK_EQ_INT(mote_store_key_create(st, "carol", NULL, NULL, uuid2, key2, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(identity_check(a, st, uuid2, key2, T0, ns), MOTE_CORE_OK);
  CHECK_EQ_INT(mote_store_namespace_delete(st, "carol", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(identity_check(a, st, uuid2, key2, T0, ns), MOTE_CORE_OK); /* cached */
  identity_forget(a, NULL);
  CHECK_EQ_INT(identity_check(a, st, uuid2, key2, T0, ns), MOTE_CORE_AUTH_UNKNOWN);

  identity_free(a);
  mote_store_close(st);
  fixture_rm(dir);
}

RUN_TESTS(check_and_cache)
