/* store: the index of a version's files (file_sets.c): kept at deploy, in
 * walk order, not listed past MOTE_STORE_FILES_LISTED, rebuilt at open for a
 * data directory without it, and a version whose files are missing says so. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "store_fixture.h"
#include "test.h"

static const uint8_t wasm[] = {0, 'a', 's', 'm', 1, 0, 0, 0};

static void deploy(mote_store *s, const char *name, const mote_store_file *files, size_t n,
                   mote_function_version *out) {
  mote_store_error err;
  CHECK_EQ_INT(mote_store_deploy(s, "ns", name, wasm, sizeof wasm, files, n, NULL, NULL, out,
                                 &err),
               MOTE_STORE_OK);
}

static void sql(const char *dir, const char *text) {
  char path[128];
  snprintf(path, sizeof path, "%s/mote.db", dir);
  sqlite3 *db = NULL;
  CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
  CHECK_EQ_INT(sqlite3_exec(db, text, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

TEST(kept_at_deploy_in_walk_order) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  /* A directory's files come right after its name: "a/z" before "a.txt". */
  mote_store_file files[] = {{"b", (const uint8_t *)"bb", 2},
                             {"a.txt", (const uint8_t *)"a", 1},
                             {"a/z", (const uint8_t *)"zzz", 3}};
  mote_function_version v;
  deploy(s, "f", files, 3, &v);
  CHECK(v.files_indexed && v.files_count == 3 && v.files_bytes == 6 && v.nfile_paths == 3);
  CHECK(v.file_paths && !strcmp(v.file_paths[0], "a/z") && !strcmp(v.file_paths[1], "a.txt") &&
        !strcmp(v.file_paths[2], "b"));
  mote_function_version_clear(&v);
  mote_store_error err;
  CHECK_EQ_INT(mote_store_get(s, "ns", "f", &v, &err), MOTE_STORE_OK);
  CHECK(v.files_indexed && v.files_count == 3 && v.files_bytes == 6 && v.nfile_paths == 3);
  CHECK(v.file_paths && !strcmp(v.file_paths[0], "a/z") && !strcmp(v.file_paths[2], "b"));
  mote_function_version_clear(&v);
  /* A plain module: no files, nothing listed. */
  deploy(s, "g", NULL, 0, &v);
  CHECK(!v.files_hash && !v.files_indexed && v.files_count == 0 && !v.file_paths);
  mote_function_version_clear(&v);
  /* A control byte in a path is refused (the index lists a path a line). */
  mote_store_file bad[] = {{"x\ny", (const uint8_t *)"", 0}};
  CHECK_EQ_INT(mote_store_deploy(s, "ns", "h", wasm, sizeof wasm, bad, 1, NULL, NULL, NULL, &err),
               MOTE_STORE_INVALID);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(long_lists_are_counted_not_listed) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  enum { N = MOTE_STORE_FILES_LISTED + 1 };
  static char names[N][16];
  mote_store_file files[N];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "f%02d", i);
    files[i] = (mote_store_file){names[i], (const uint8_t *)"x", 1};
  }
  mote_function_version v;
  deploy(s, "f", files, N, &v);
  CHECK(v.files_count == N && v.files_bytes == N && !v.file_paths && v.nfile_paths == 0);
  mote_function_version_clear(&v);
  mote_store_close(s);
  fixture_rm(dir);
}

/* A data directory of an older mote has no index: the open makes it from
 * one walk; a directory that is gone gets none, and the record says so. */
TEST(rebuilt_at_open) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_file one[] = {{"d/w.bin", (const uint8_t *)"1234", 4}, {"c", (const uint8_t *)"", 0}};
  mote_store_file two[] = {{"only", (const uint8_t *)"12", 2}};
  mote_function_version v, w;
  deploy(s, "f", one, 2, &v);
  deploy(s, "g", two, 1, &w);
  mote_store_close(s);
  sql(dir, "DELETE FROM file_sets");
  char gone[256];
  snprintf(gone, sizeof gone, "rm -rf %s/files/%s", dir, w.files_hash);
  CHECK_EQ_INT(system(gone), 0);
  mote_function_version_clear(&v);
  mote_function_version_clear(&w);

  s = fixture_open(dir);
  mote_store_error err;
  CHECK_EQ_INT(mote_store_get(s, "ns", "f", &v, &err), MOTE_STORE_OK);
  CHECK(v.files_indexed && v.files_count == 2 && v.files_bytes == 4 && v.nfile_paths == 2);
  CHECK(v.file_paths && !strcmp(v.file_paths[0], "c") && !strcmp(v.file_paths[1], "d/w.bin"));
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_get(s, "ns", "g", &w, &err), MOTE_STORE_OK);
  CHECK(w.files_hash && !w.files_indexed && !w.file_paths);
  mote_function_version_clear(&w);
  mote_store_close(s);
  fixture_rm(dir);
}

RUN_TESTS(kept_at_deploy_in_walk_order, long_lists_are_counted_not_listed, rebuilt_at_open)
