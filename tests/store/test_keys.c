/* store: namespaces and API keys (keys.c). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store_fixture.h"
#include "test.h"

static const uint8_t wasm_a[] = {0, 'a', 's', 'm', 1, 0, 0, 0};

#define DEV_UUID "23bc46b1-71f6-4ed5-8c54-816aa4f8c502"
#define DEV_KEY "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIwP"

/* True when `needle` occurs in the file at path (false when it is missing). */
static bool file_contains(const char *path, const char *needle) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) break;
      buf = grown;
    }
  }
  fclose(f);
  bool found = buf && memmem(buf, n, needle, strlen(needle)) != NULL;
  free(buf);
  return found;
}

TEST(create_check_list_delete) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1], ns[MOTE_STORE_NS_MAX + 1];

  CHECK_EQ_INT(mote_store_key_create(s, "alice", NULL, NULL, uuid, key, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(strlen(uuid), 36);
  CHECK(uuid[8] == '-' && uuid[13] == '-' && uuid[14] == '4' && uuid[18] == '-' &&
        strchr("89ab", uuid[19]) && uuid[23] == '-');
  CHECK_EQ_INT(strlen(key), 64);
  CHECK_EQ_INT(strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), 64);

  /* The namespace came with the key. */
  mote_namespace *nss = NULL;
  size_t n = 0;
  CHECK_EQ_INT(mote_store_namespace_list(s, &nss, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 1);
  CHECK(n == 1 && strcmp(nss[0].name, "alice") == 0 && nss[0].created_ms > 1600000000000LL);
  free(nss);

  CHECK_EQ_INT(mote_store_key_check(s, uuid, key, ns, &err), MOTE_STORE_OK);
  CHECK(strcmp(ns, "alice") == 0);

  /* A second key, and the well-known one given as it is. */
  char uuid2[MOTE_STORE_UUID_LEN + 1], key2[MOTE_STORE_KEY_LEN + 1];
  CHECK_EQ_INT(mote_store_key_create(s, "alice", NULL, NULL, uuid2, key2, &err), MOTE_STORE_OK);
  CHECK(strcmp(uuid, uuid2) != 0 && strcmp(key, key2) != 0);
  char u3[MOTE_STORE_UUID_LEN + 1], k3[MOTE_STORE_KEY_LEN + 1];
  CHECK_EQ_INT(mote_store_key_create(s, "guest", DEV_UUID, DEV_KEY, u3, k3, &err), MOTE_STORE_OK);
  CHECK(strcmp(u3, DEV_UUID) == 0 && strcmp(k3, DEV_KEY) == 0);
  CHECK_EQ_INT(mote_store_key_check(s, DEV_UUID, DEV_KEY, ns, &err), MOTE_STORE_OK);
  CHECK(strcmp(ns, "guest") == 0);
  /* The same uuid twice is refused. */
  CHECK_EQ_INT(mote_store_key_create(s, "other", DEV_UUID, NULL, u3, k3, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "exists already");
  CHECK(u3[0] == 0 && k3[0] == 0);

  mote_key_info *keys = NULL;
  CHECK_EQ_INT(mote_store_key_list(s, "alice", &keys, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 2);
  for (size_t i = 0; i < n; i++) CHECK(strcmp(keys[i].ns, "alice") == 0);
  CHECK(n == 2 && (strcmp(keys[0].uuid, uuid) == 0 || strcmp(keys[1].uuid, uuid) == 0));
  free(keys);
  CHECK_EQ_INT(mote_store_key_list(s, NULL, &keys, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 3);
  CHECK(n == 3 && strcmp(keys[2].ns, "guest") == 0 && strcmp(keys[2].uuid, DEV_UUID) == 0);
  free(keys);
  CHECK_EQ_INT(mote_store_key_list(s, "nobody", &keys, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(keys);

  CHECK_EQ_INT(mote_store_key_delete(s, uuid, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_key_check(s, uuid, key, ns, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_key_delete(s, uuid, &err), MOTE_STORE_NOT_FOUND);
  CHECK_STR_CONTAINS(err.message, uuid);
  CHECK_EQ_INT(mote_store_key_check(s, uuid2, key2, ns, &err), MOTE_STORE_OK);

  /* Deleting a namespace takes its keys. */
  CHECK_EQ_INT(mote_store_namespace_delete(s, "alice", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_key_check(s, uuid2, key2, ns, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_namespace_delete(s, "alice", &err), MOTE_STORE_NOT_FOUND);
  CHECK_STR_CONTAINS(err.message, "namespace \"alice\" not found");
  CHECK_EQ_INT(mote_store_key_check(s, DEV_UUID, DEV_KEY, ns, &err), MOTE_STORE_OK);

  mote_store_close(s);
  fixture_rm(dir);
}

TEST(wrong_credentials_refused) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1], ns[MOTE_STORE_NS_MAX + 1];
  CHECK_EQ_INT(mote_store_key_create(s, "bob", NULL, NULL, uuid, key, &err), MOTE_STORE_OK);

  char wrong[MOTE_STORE_KEY_LEN + 1];
  memcpy(wrong, key, sizeof wrong);
  wrong[63] = wrong[63] == 'a' ? 'b' : 'a';
  strcpy(ns, "unchanged");
  CHECK_EQ_INT(mote_store_key_check(s, uuid, wrong, ns, &err), MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "wrong secret");
  CHECK(ns[0] == 0);
  CHECK_EQ_INT(mote_store_key_check(s, uuid, "", ns, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_key_check(s, uuid, NULL, ns, &err), MOTE_STORE_INVALID);
  char longer[MOTE_STORE_KEY_LEN + 2];
  snprintf(longer, sizeof longer, "%sx", key);
  CHECK_EQ_INT(mote_store_key_check(s, uuid, longer, ns, &err), MOTE_STORE_INVALID);

  /* Another key's secret does not open this one. */
  char uuid2[MOTE_STORE_UUID_LEN + 1], key2[MOTE_STORE_KEY_LEN + 1];
  CHECK_EQ_INT(mote_store_key_create(s, "bob", NULL, NULL, uuid2, key2, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_key_check(s, uuid, key2, ns, &err), MOTE_STORE_INVALID);

  CHECK_EQ_INT(mote_store_key_check(s, "00000000-0000-4000-8000-000000000000", key, ns, &err),
               MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_key_check(s, "not-a-uuid", key, ns, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_key_check(s, "x' OR 1=1 --", key, ns, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_key_check(s, NULL, key, ns, &err), MOTE_STORE_NOT_FOUND);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(bad_names_and_given_values) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  CHECK_EQ_INT(mote_store_key_create(s, "../x", NULL, NULL, uuid, key, &err), MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "invalid namespace");
  CHECK_EQ_INT(mote_store_key_create(s, "", NULL, NULL, uuid, key, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_namespace_create(s, "-x", NULL, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_key_create(s, "ok", "23BC46B1-71F6-4ED5-8C54-816AA4F8C502", NULL, uuid,
                                     key, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "lowercase hex");
  CHECK_EQ_INT(mote_store_key_create(s, "ok", NULL, "short", uuid, key, &err), MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "64 characters");
  CHECK_EQ_INT(mote_store_key_create(s, "ok", NULL,
                                     "123zO3xZCLrMN6v2BKK1dXYFpXlPkccOFqm12CdAsMgRU4VrNZ9lyGVCGuMDGIw!",
                                     uuid, key, &err),
               MOTE_STORE_INVALID);
  /* Nothing was created by the refusals. */
  mote_namespace *nss = NULL;
  size_t n = 9;
  CHECK_EQ_INT(mote_store_namespace_list(s, &nss, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(nss);

  bool created = false;
  CHECK_EQ_INT(mote_store_namespace_create(s, "team", &created, &err), MOTE_STORE_OK);
  CHECK(created);
  CHECK_EQ_INT(mote_store_namespace_create(s, "team", &created, &err), MOTE_STORE_OK);
  CHECK(!created);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(secret_stored_hashed) {
  char dir[64], db[128], wal[128];
  fixture_dir(dir);
  snprintf(db, sizeof db, "%s/mote.db", dir);
  snprintf(wal, sizeof wal, "%s/mote.db-wal", dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  CHECK_EQ_INT(mote_store_key_create(s, "carol", NULL, NULL, uuid, key, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_key_create(s, "guest", DEV_UUID, DEV_KEY, uuid, key, &err),
               MOTE_STORE_OK);
  /* While open (the row is in the WAL) and after the close (checkpointed):
   * the uuid is there, the secret is not. */
  CHECK(file_contains(db, DEV_UUID) || file_contains(wal, DEV_UUID));
  CHECK(!file_contains(db, DEV_KEY) && !file_contains(wal, DEV_KEY));
  CHECK(!file_contains(db, key) && !file_contains(wal, key));
  mote_store_close(s);
  CHECK(file_contains(db, DEV_UUID));
  CHECK(!file_contains(db, DEV_KEY));
  CHECK(!file_contains(db, key));
  fixture_rm(dir);
}

/* A data directory made before namespaces and keys existed opens, keeps its
 * functions, and gets the new tables. */
TEST(older_store_opens) {
  char dir[64], db_path[128];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  CHECK_EQ_INT(deploy_guest(s, "old", wasm_a, sizeof wasm_a, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_OK);
  mote_store_close(s);
  snprintf(db_path, sizeof db_path, "%s/mote.db", dir);
  sqlite3 *db = NULL;
  CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
  CHECK_EQ_INT(sqlite3_exec(db,
                            "DROP INDEX keys_by_namespace; DROP TABLE keys; "
                            "DROP TABLE namespaces; PRAGMA user_version = 1;",
                            NULL, NULL, NULL),
               SQLITE_OK);
  sqlite3_stmt *q = NULL;
  CHECK_EQ_INT(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE name = 'keys'",
                                  -1, &q, NULL),
               SQLITE_OK);
  CHECK(sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0);
  sqlite3_finalize(q);
  sqlite3_close(db);

  s = fixture_open(dir);
  mote_function_version v;
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "old", &v, &err), MOTE_STORE_OK);
  mote_function_version_clear(&v);
  mote_key_info *keys = NULL;
  size_t n = 9;
  CHECK_EQ_INT(mote_store_key_list(s, NULL, &keys, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(keys);
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1], ns[MOTE_STORE_NS_MAX + 1];
  CHECK_EQ_INT(mote_store_key_create(s, "dave", NULL, NULL, uuid, key, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_key_check(s, uuid, key, ns, &err), MOTE_STORE_OK);
  mote_store_close(s);

  /* And the key survives a reopen. */
  s = fixture_open(dir);
  CHECK_EQ_INT(mote_store_key_check(s, uuid, key, ns, &err), MOTE_STORE_OK);
  CHECK(strcmp(ns, "dave") == 0);
  mote_store_close(s);
  fixture_rm(dir);
}

RUN_TESTS(create_check_list_delete, wrong_credentials_refused, bad_names_and_given_values,
          secret_stored_hashed, older_store_opens)
