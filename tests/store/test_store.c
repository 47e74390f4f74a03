/* store: registry, blobs, files and activation records, one thread. */
#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store_fixture.h"
#include "test.h"

static const uint8_t wasm_a[] = {0, 'a', 's', 'm', 1, 0, 0, 0};
static const uint8_t wasm_b[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0, 1, 0};

static size_t count_dir(const char *path) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "ls -A %s | wc -l", path);
  FILE *p = popen(cmd, "r");
  size_t n = 0;
  if (p) {
    if (fscanf(p, "%zu", &n) != 1) n = 0;
    pclose(p);
  }
  return n;
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

TEST(deploy_get_list_delete) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_version v;

  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "hello", &v, &err), MOTE_STORE_NOT_FOUND);
  CHECK_STR_CONTAINS(err.message, "function \"hello\" not found");

  CHECK_EQ_INT(deploy_guest(s, "hello", wasm_a, sizeof wasm_a, NULL, 0, NULL, &v, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 1);
  CHECK(strcmp(v.name, "hello") == 0);
  CHECK(v.module_hash && strlen(v.module_hash) == 64);
  CHECK(v.files_hash == NULL);
  CHECK(v.created_ms > 1600000000000LL);
  mote_function_version_clear(&v);

  CHECK_EQ_INT(deploy_guest(s, "hello", wasm_b, sizeof wasm_b, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(deploy_guest(s, "abc", wasm_a, sizeof wasm_a, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_OK);

  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "hello", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 2);
  uint8_t *bytes = NULL;
  size_t len = 0;
  CHECK_EQ_INT(mote_store_blob_read(s, v.module_hash, &bytes, &len, &err), MOTE_STORE_OK);
  CHECK(len == sizeof wasm_b && memcmp(bytes, wasm_b, len) == 0);
  free(bytes);
  char path[4096];
  mote_store_blob_path(s, v.module_hash, path, sizeof path);
  struct stat sb;
  CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == sizeof wasm_b);
  mote_function_version_clear(&v);

  CHECK_EQ_INT(mote_store_get_version(s, MOTE_STORE_DEFAULT_NS, "hello", 1, &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 1);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_get_version(s, MOTE_STORE_DEFAULT_NS, "hello", 7, &v, &err), MOTE_STORE_NOT_FOUND);

  mote_function_version *list = NULL;
  size_t n = 0;
  CHECK_EQ_INT(mote_store_list(s, NULL, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 2);
  if (n == 2) {
    CHECK(strcmp(list[0].name, "abc") == 0 && list[0].version == 1);
    CHECK(strcmp(list[1].name, "hello") == 0 && list[1].version == 2);
  }
  for (size_t i = 0; i < n; i++) mote_function_version_clear(&list[i]);
  free(list);

  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "hello", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "hello", &v, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_get_version(s, MOTE_STORE_DEFAULT_NS, "hello", 1, &v, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "hello", &err), MOTE_STORE_NOT_FOUND);
  CHECK_STR_CONTAINS(err.message, "function \"hello\" not found");
  CHECK_EQ_INT(mote_store_list(s, NULL, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 1);
  for (size_t i = 0; i < n; i++) mote_function_version_clear(&list[i]);
  free(list);

  /* A redeploy after delete continues the numbering. */
  CHECK_EQ_INT(deploy_guest(s, "hello", wasm_a, sizeof wasm_a, NULL, 0, NULL, &v, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 3);
  mote_function_version_clear(&v);

  /* Everything survives a reopen. */
  mote_store_close(s);
  s = fixture_open(dir);
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "hello", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 3);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "abc", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 1);
  mote_function_version_clear(&v);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(settings_round_trip) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  char *env[] = {"A=1", "EMPTY=", "QUOTE=\"x\" \\ y\n", "UTF=h\xc3\xa9llo", "EQ=a=b"};
  mote_function_settings set = {.memory_mib = 128,
                                .timeout_ms = 2500,
                                .max_concurrency = 7,
                                .max_queue = 9,
                                .is_public = true,
                                .cgi = true,
                                .env = env,
                                .env_count = 5};
  mote_function_version v;
  CHECK_EQ_INT(deploy_guest(s, "f", wasm_a, sizeof wasm_a, NULL, 0, &set, &v, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(v.settings.env_count, 5);
  CHECK(v.settings.env != env);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "f", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.settings.memory_mib, 128);
  CHECK_EQ_INT(v.settings.timeout_ms, 2500);
  CHECK_EQ_INT(v.settings.max_concurrency, 7);
  CHECK_EQ_INT(v.settings.max_queue, 9);
  CHECK(v.settings.is_public);
  CHECK(v.settings.cgi);
  CHECK_EQ_INT(v.settings.env_count, 5);
  for (uint32_t i = 0; i < 5 && i < v.settings.env_count; i++)
    CHECK_MSG(strcmp(v.settings.env[i], env[i]) == 0, v.settings.env[i]);
  mote_function_version_clear(&v);

  /* Defaults: all zero. */
  mote_function_settings zero = {0};
  CHECK_EQ_INT(deploy_guest(s, "g", wasm_a, sizeof wasm_a, NULL, 0, &zero, NULL, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "g", &v, &err), MOTE_STORE_OK);
  CHECK(v.settings.memory_mib == 0 && !v.settings.is_public && !v.settings.cgi);
  CHECK(v.settings.env_count == 0 && v.settings.env == NULL);
  mote_function_version_clear(&v);

  /* Bad settings are refused with a message. */
  char *bad_env[] = {"NOEQUALS"};
  mote_function_settings bad = {.env = bad_env, .env_count = 1};
  CHECK_EQ_INT(deploy_guest(s, "g", wasm_a, sizeof wasm_a, NULL, 0, &bad, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "NAME=VALUE");
  char *bad_env2[] = {"=x"};
  bad.env = bad_env2;
  CHECK_EQ_INT(deploy_guest(s, "g", wasm_a, sizeof wasm_a, NULL, 0, &bad, NULL, &err),
               MOTE_STORE_INVALID);
  bad.env = NULL;
  CHECK_EQ_INT(deploy_guest(s, "g", wasm_a, sizeof wasm_a, NULL, 0, &bad, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "g", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 1);
  mote_function_version_clear(&v);
  mote_store_close(s);
  fixture_rm(dir);
}

/* A data directory written before a setting existed: its rows lack the key
 * and read as 0 (the server's default); no migration is needed. */
TEST(settings_of_an_older_store) {
  char dir[64], db_path[128];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_settings set = {.memory_mib = 64, .max_queue = 3};
  CHECK_EQ_INT(deploy_guest(s, "old", wasm_a, sizeof wasm_a, NULL, 0, &set, NULL, &err),
               MOTE_STORE_OK);
  mote_store_close(s);
  snprintf(db_path, sizeof db_path, "%s/mote.db", dir);
  sqlite3 *db = NULL;
  CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
  CHECK_EQ_INT(sqlite3_exec(db,
                            "UPDATE versions SET settings = '{\"memory_mib\":64,\"timeout_ms\":0,"
                            "\"max_concurrency\":2,\"public\":false,\"env\":[]}'",
                            NULL, NULL, NULL),
               SQLITE_OK);
  sqlite3_close(db);
  s = fixture_open(dir);
  mote_function_version v;
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "old", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.settings.memory_mib, 64);
  CHECK_EQ_INT(v.settings.max_concurrency, 2);
  CHECK_EQ_INT(v.settings.max_queue, 0);
  CHECK(!v.settings.cgi);
  mote_function_version_clear(&v);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(files_stored) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  static const uint8_t big[100000] = {1, 2, 3};
  mote_store_file files[] = {
      {"index.html", (const uint8_t *)"<h1>hi</h1>", 11},
      {"data/model/weights.bin", big, sizeof big},
      {"data/empty", NULL, 0},
      {"a.txt", (const uint8_t *)"A", 1},
  };
  mote_function_version v, w;
  CHECK_EQ_INT(deploy_guest(s, "site", wasm_a, sizeof wasm_a, files, 4, NULL, &v, &err),
               MOTE_STORE_OK);
  CHECK(v.files_hash && strlen(v.files_hash) == 64);
  char root[4096], path[4200];
  mote_store_files_path(s, v.files_hash, root, sizeof root);
  snprintf(path, sizeof path, "%s/index.html", root);
  char *text = read_text(path);
  CHECK(text && strcmp(text, "<h1>hi</h1>") == 0);
  snprintf(path, sizeof path, "%s/data/model/weights.bin", root);
  struct stat sb;
  CHECK(stat(path, &sb) == 0 && sb.st_size == (off_t)sizeof big);
  snprintf(path, sizeof path, "%s/data/empty", root);
  CHECK(stat(path, &sb) == 0 && sb.st_size == 0);

  /* The same files in another order: the same hash, nothing new written. */
  mote_store_file reordered[] = {files[3], files[1], files[0], files[2]};
  CHECK_EQ_INT(
      deploy_guest(s, "site2", wasm_b, sizeof wasm_b, reordered, 4, NULL, &w, &err),
      MOTE_STORE_OK);
  CHECK(strcmp(v.files_hash, w.files_hash) == 0);
  mote_function_version_clear(&w);
  char files_dir[4096];
  snprintf(files_dir, sizeof files_dir, "%s/files", dir);
  CHECK_EQ_INT(count_dir(files_dir), 1);

  /* One byte different: another tree. */
  mote_store_file changed[] = {files[0], files[1], files[2], {"a.txt", (const uint8_t *)"B", 1}};
  CHECK_EQ_INT(deploy_guest(s, "site", wasm_a, sizeof wasm_a, changed, 4, NULL, &w, &err),
               MOTE_STORE_OK);
  CHECK(strcmp(v.files_hash, w.files_hash) != 0);
  CHECK_EQ_INT(count_dir(files_dir), 2);
  mote_function_version_clear(&w);

  /* A damaged tree is replaced on the next deploy of the same files. */
  snprintf(path, sizeof path, "%s/index.html", root);
  chmod(path, 0644);
  FILE *f = fopen(path, "w");
  if (f) fclose(f);
  CHECK_EQ_INT(deploy_guest(s, "site", wasm_a, sizeof wasm_a, files, 4, NULL, &w, &err),
               MOTE_STORE_OK);
  text = read_text(path);
  CHECK(text && strcmp(text, "<h1>hi</h1>") == 0);
  mote_function_version_clear(&w);

  /* A tree that cannot be checked (no descriptor left) is not taken for a
   * damaged one: the deploy fails, and the tree stays for the versions that
   * name it (it was moved aside, and removed when the fresh copy failed). */
  struct rlimit nofile;
  CHECK(getrlimit(RLIMIT_NOFILE, &nofile) == 0);
  int lowest = dup(0); /* the lowest free descriptor: every one below is taken */
  CHECK(lowest >= 0);
  if (lowest >= 0) close(lowest);
  struct rlimit none = {(rlim_t)lowest, nofile.rlim_max};
  char again[MOTE_STORE_HASH_HEX];
  CHECK(setrlimit(RLIMIT_NOFILE, &none) == 0);
  mote_store_status ps = mote_store_put_files(s, files, 4, again, &err);
  CHECK(setrlimit(RLIMIT_NOFILE, &nofile) == 0);
  CHECK_EQ_INT(ps, MOTE_STORE_IO);
  CHECK_STR_CONTAINS(err.message, "cannot check");
  text = read_text(path);
  CHECK(text && strcmp(text, "<h1>hi</h1>") == 0);

  /* Bad bundles. */
  char long_part[300];
  memset(long_part, 'a', 256);
  memcpy(long_part + 256, "/x", 3); /* a part over NAME_MAX: was ENAMETOOLONG, a 500 */
  const char *bad_paths[] = {"/etc/passwd", "../x", "a/../b", "a//b", "./a", "a/", "", long_part};
  for (size_t i = 0; i < sizeof bad_paths / sizeof *bad_paths; i++) {
    mote_store_file bf = {bad_paths[i], (const uint8_t *)"x", 1};
    CHECK_EQ_INT(deploy_guest(s, "bad", wasm_a, sizeof wasm_a, &bf, 1, NULL, NULL, &err),
                 MOTE_STORE_INVALID);
    CHECK_STR_CONTAINS(err.message, "invalid bundle path");
  }
  mote_store_file dup[] = {{"x", (const uint8_t *)"1", 1}, {"x", (const uint8_t *)"2", 1}};
  CHECK_EQ_INT(deploy_guest(s, "bad", wasm_a, sizeof wasm_a, dup, 2, NULL, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "twice");
  mote_store_file clash[] = {{"x", (const uint8_t *)"1", 1}, {"x/y", (const uint8_t *)"2", 1}};
  CHECK_EQ_INT(deploy_guest(s, "bad", wasm_a, sizeof wasm_a, clash, 2, NULL, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "clashes");
  mote_function_version bv;
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "bad", &bv, &err), MOTE_STORE_NOT_FOUND);
  /* Nothing left behind in tmp but this process's lock file (base/tmpdir.h). */
  char tmp_dir[4096];
  snprintf(tmp_dir, sizeof tmp_dir, "%s/tmp", dir);
  CHECK_EQ_INT(count_dir(tmp_dir), 1);

  mote_function_version_clear(&v);
  mote_store_close(s);
  fixture_rm(dir);
}

/* Work left in tmp by a dead process of this process's pid (a restart as
 * PID 1 in a container) is removed at open; a live process's is kept. It
 * used to be kept (the pid was ours), for ever. */
TEST(tmp_of_a_dead_process_with_our_pid_is_removed_at_open) {
  char dir[64], path[256];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_close(s);
  /* our pid with another nonce (a former process of this pid: PID 1 in a
   * container), pid 1 holding no lock, and a name of another form */
  const char *names[] = {"%s/tmp/%ld.0123456789abcdef.0.files", "%s/tmp/1.0123456789abcdef.0.blob",
                         "%s/tmp/old-form.blob"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, names[i], dir, (long)getpid());
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
  }
  s = fixture_open(dir);
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, names[i], dir, (long)getpid());
    CHECK((access(path, F_OK) == 0) == (i == 2));
  }
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(blob_dedup_and_repair) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_version v1, v2;
  CHECK_EQ_INT(deploy_guest(s, "one", wasm_a, sizeof wasm_a, NULL, 0, NULL, &v1, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(deploy_guest(s, "two", wasm_a, sizeof wasm_a, NULL, 0, NULL, &v2, &err),
               MOTE_STORE_OK);
  CHECK(strcmp(v1.module_hash, v2.module_hash) == 0);
  char blobs[4096];
  snprintf(blobs, sizeof blobs, "%s/blobs", dir);
  CHECK_EQ_INT(count_dir(blobs), 1);

  /* The hash is BLAKE2b-256 of the bytes, hex. */
  unsigned char digest[32];
  char hex[65];
  crypto_generichash(digest, 32, wasm_a, sizeof wasm_a, NULL, 0);
  sodium_bin2hex(hex, sizeof hex, digest, 32);
  CHECK(strcmp(hex, v1.module_hash) == 0);

  /* Damage the blob: reading says so, the next deploy of the bytes repairs it. */
  char path[4096];
  mote_store_blob_path(s, v1.module_hash, path, sizeof path);
  chmod(path, 0644);
  int fd = open(path, O_WRONLY);
  CHECK(fd >= 0 && pwrite(fd, "X", 1, 3) == 1);
  if (fd >= 0) close(fd);
  uint8_t *bytes = NULL;
  size_t len = 0;
  CHECK_EQ_INT(mote_store_blob_read(s, v1.module_hash, &bytes, &len, &err), MOTE_STORE_IO);
  CHECK_STR_CONTAINS(err.message, "damaged");
  CHECK_EQ_INT(deploy_guest(s, "one", wasm_a, sizeof wasm_a, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_blob_read(s, v1.module_hash, &bytes, &len, &err), MOTE_STORE_OK);
  CHECK(len == sizeof wasm_a && memcmp(bytes, wasm_a, len) == 0);
  free(bytes);
  CHECK_EQ_INT(mote_store_blob_read(s, "00", &bytes, &len, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_blob_read(s,
                                    "0000000000000000000000000000000000000000000000000000000000000000",
                                    &bytes, &len, &err),
               MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(deploy_guest(s, "one", NULL, 0, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "empty");
  mote_function_version_clear(&v1);
  mote_function_version_clear(&v2);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(names) {
  CHECK(mote_store_valid_name("a"));
  CHECK(mote_store_valid_name("hello-world_2.v1"));
  CHECK(mote_store_valid_name("0abc"));
  CHECK(mote_store_valid_name("_x"));
  char n64[65], n65[66];
  memset(n64, 'a', 64);
  n64[64] = 0;
  memset(n65, 'a', 65);
  n65[65] = 0;
  CHECK(mote_store_valid_name(n64));
  CHECK(!mote_store_valid_name(n65));
  CHECK(!mote_store_valid_name(""));
  CHECK(!mote_store_valid_name(NULL));
  CHECK(!mote_store_valid_name(".hidden"));
  CHECK(!mote_store_valid_name("-flag"));
  CHECK(!mote_store_valid_name("a/b"));
  CHECK(!mote_store_valid_name("a b"));
  CHECK(!mote_store_valid_name("caf\xc3\xa9"));
  CHECK(!mote_store_valid_name(".."));

  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_version v;
  CHECK_EQ_INT(deploy_guest(s, "../x", wasm_a, sizeof wasm_a, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "invalid name \"../x\"");
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "a b", &v, &err), MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "invalid name");
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "", &err), MOTE_STORE_INVALID);
  mote_store_close(s);
  fixture_rm(dir);
}

static void make_activation(mote_activation *a, const char *fn, int64_t start) {
  memset(a, 0, sizeof *a);
  mote_store_activation_new_id(a->id);
  a->function = (char *)fn;
  a->version = 1;
  a->start_ms = start;
  a->wait_us = 10;
  a->init_us = 20;
  a->exec_us = 30;
  a->http_status = 200;
  a->exit_code = 0;
  a->outcome = "ok";
}

TEST(activations) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_activation a, got;
  make_activation(&a, "f", 1000);
  a.version = 3;
  a.http_status = 500;
  a.exit_code = -1;
  a.outcome = "trap: out of bounds memory access";
  a.stdout_excerpt = "hello\n";
  a.stderr_excerpt = "oops\n";
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 100, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, a.id, &got, &err), MOTE_STORE_OK);
  CHECK(strcmp(got.id, a.id) == 0);
  CHECK(strcmp(got.function, "f") == 0);
  CHECK_EQ_INT(got.version, 3);
  CHECK_EQ_INT(got.start_ms, 1000);
  CHECK(got.wait_us == 10 && got.init_us == 20 && got.exec_us == 30);
  CHECK_EQ_INT(got.http_status, 500);
  CHECK_EQ_INT(got.exit_code, -1);
  CHECK(strcmp(got.outcome, a.outcome) == 0);
  CHECK(strcmp(got.stdout_excerpt, "hello\n") == 0);
  CHECK(strcmp(got.stderr_excerpt, "oops\n") == 0);
  mote_activation_clear(&got);
  /* The same id twice is refused. */
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 100, &err), MOTE_STORE_INVALID);
  char missing[33];
  mote_store_activation_new_id(missing);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, missing, &got, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, "xyz", &got, &err), MOTE_STORE_INVALID);

  /* NULL excerpts stay NULL; long ones are cut (stdout head, stderr tail). */
  make_activation(&a, "g", 500);
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 100, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, a.id, &got, &err), MOTE_STORE_OK);
  CHECK(got.stdout_excerpt == NULL && got.stderr_excerpt == NULL);
  mote_activation_clear(&got);
  char *long_out = malloc(10001), *long_err = malloc(10001);
  memset(long_out, 'o', 10000);
  long_out[0] = 'S';
  long_out[10000] = 0;
  memset(long_err, 'e', 10000);
  long_err[9999] = 'E';
  long_err[10000] = 0;
  make_activation(&a, "g", 600);
  a.stdout_excerpt = long_out;
  a.stderr_excerpt = long_err;
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 100, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, a.id, &got, &err), MOTE_STORE_OK);
  CHECK(got.stdout_excerpt && strlen(got.stdout_excerpt) == MOTE_STORE_EXCERPT_MAX &&
        got.stdout_excerpt[0] == 'S');
  CHECK(got.stderr_excerpt && strlen(got.stderr_excerpt) == MOTE_STORE_EXCERPT_MAX &&
        got.stderr_excerpt[MOTE_STORE_EXCERPT_MAX - 1] == 'E');
  mote_activation_clear(&got);
  free(long_out);
  free(long_err);

  /* Invalid records. */
  make_activation(&a, "no/slash", 1);
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 100, &err), MOTE_STORE_INVALID);
  make_activation(&a, "f", 1);
  strcpy(a.id, "not-hex");
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 100, &err), MOTE_STORE_INVALID);

  /* More of f, then list: newest first, filters. */
  for (int i = 0; i < 10; i++) {
    make_activation(&a, "f", 2000 + i * 10);
    CHECK_EQ_INT(mote_store_activation_put(s, &a, 100, &err), MOTE_STORE_OK);
  }
  mote_activation *list;
  size_t n;
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, NULL, 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 13);
  for (size_t i = 1; i < n; i++) CHECK(list[i - 1].start_ms >= list[i].start_ms);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "f", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 11);
  for (size_t i = 0; i < n; i++) {
    CHECK(strcmp(list[i].function, "f") == 0);
    mote_activation_clear(&list[i]);
  }
  free(list);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "f", 2050, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 5);
  if (n == 5) CHECK(list[0].start_ms == 2090 && list[4].start_ms == 2050);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "f", 0, 3, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 3);
  if (n == 3) CHECK(list[0].start_ms == 2090 && list[2].start_ms == 2070);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  /* The OpenWhisk filters: upto (inclusive), skip, with since and limit. */
  mote_activation_filter flt = {.function = "f", .since_ms = 2020, .upto_ms = 2070, .skip = 1,
                                .limit = 3};
  CHECK_EQ_INT(mote_store_activation_query(s, &flt, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 3);
  if (n == 3) CHECK(list[0].start_ms == 2060 && list[2].start_ms == 2040);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  flt = (mote_activation_filter){.ns = MOTE_STORE_DEFAULT_NS, .upto_ms = 2005};
  CHECK_EQ_INT(mote_store_activation_query(s, &flt, &list, &n, &err), MOTE_STORE_OK);
  for (size_t i = 0; i < n; i++) {
    CHECK(list[i].start_ms <= 2005);
    mote_activation_clear(&list[i]);
  }
  CHECK_EQ_INT(n, 4); /* f at 1000, g at 500 and 600, f at 2000 */
  free(list);
  flt = (mote_activation_filter){.function = "f", .skip = 11};
  CHECK_EQ_INT(mote_store_activation_query(s, &flt, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(list);
  /* A count is what a query of the same filter returns, without reading it. */
  mote_activation_filter counted[] = {
      {.function = "f", .since_ms = 2020, .upto_ms = 2070, .skip = 1, .limit = 3},
      {.function = "f", .since_ms = 2020, .upto_ms = 2070, .skip = 4},
      {.ns = MOTE_STORE_DEFAULT_NS, .upto_ms = 2005},
      {.ns = MOTE_STORE_DEFAULT_NS, .function = "g"},
      {.function = "f", .skip = 11},
      {0},
  };
  for (size_t i = 0; i < sizeof counted / sizeof *counted; i++) {
    uint64_t total = 99;
    CHECK_EQ_INT(mote_store_activation_query(s, &counted[i], &list, &n, &err), MOTE_STORE_OK);
    CHECK_EQ_INT(mote_store_activation_count(s, &counted[i], &total, &err), MOTE_STORE_OK);
    CHECK_EQ_INT(total, n);
    for (size_t k = 0; k < n; k++) mote_activation_clear(&list[k]);
    free(list);
  }
  uint64_t none = 9;
  flt = (mote_activation_filter){.function = "../x"};
  CHECK_EQ_INT(mote_store_activation_count(s, &flt, &none, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "nobody", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(list);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "../x", 0, 0, &list, &n, &err),
               MOTE_STORE_INVALID);

  /* Activations outlive their function. */
  CHECK_EQ_INT(deploy_guest(s, "f", wasm_a, sizeof wasm_a, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "f", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "f", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 11);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(retention) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_activation a;
  mote_activation *list;
  size_t n;
  /* Starts out of order: retention drops the oldest by start time. Below
   * retain 16 it is exact after every put. */
  for (int i = 0; i < 50; i++) {
    make_activation(&a, "r", 10000 + ((i * 37) % 50));
    CHECK_EQ_INT(mote_store_activation_put(s, &a, 15, &err), MOTE_STORE_OK);
    make_activation(&a, "other", 5000 + i);
    CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_OK);
    CHECK_EQ_INT(mote_store_activation_list(s, NULL, "r", 0, 0, &list, &n, &err), MOTE_STORE_OK);
    CHECK_EQ_INT(n, i + 1 < 15 ? i + 1 : 15);
    for (size_t k = 0; k < n; k++) mote_activation_clear(&list[k]);
    free(list);
  }
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "r", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 15);
  if (n == 15) CHECK(list[0].start_ms == 10049 && list[14].start_ms == 10035);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);

  /* Above 16, up to retain/16 more are kept between trims, never more. */
  for (int i = 0; i < 500; i++) {
    make_activation(&a, "big", 100000 + i);
    CHECK_EQ_INT(mote_store_activation_put(s, &a, 160, &err), MOTE_STORE_OK);
    if (i % 7 == 0 || i == 499) {
      CHECK_EQ_INT(mote_store_activation_list(s, NULL, "big", 0, 0, &list, &n, &err),
                   MOTE_STORE_OK);
      CHECK(n <= 170 && n >= (size_t)(i + 1 < 160 ? i + 1 : 160));
      if (n > 0) CHECK(list[0].start_ms == 100000 + i && list[n - 1].start_ms == 100000 + i + 1 - (int64_t)n);
      for (size_t k = 0; k < n; k++) mote_activation_clear(&list[k]);
      free(list);
    }
  }
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "other", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 50);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);

  /* After a reopen the count is read again; a smaller retain trims at once. */
  mote_store_close(s);
  s = fixture_open(dir);
  make_activation(&a, "other", 9999);
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 10, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "other", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 10);
  if (n == 10) CHECK(list[0].start_ms == 9999 && list[9].start_ms == 5041);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  make_activation(&a, "r", 20000);
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 15, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "r", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 15);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(open_errors) {
  mote_store *s = NULL;
  mote_store_error err;
  CHECK_EQ_INT(mote_store_open("/proc/nonexistent/dir", &s, &err), MOTE_STORE_IO);
  CHECK(s == NULL);
  CHECK_STR_CONTAINS(err.message, "cannot create directory");
  CHECK_EQ_INT(mote_store_open("", &s, &err), MOTE_STORE_INVALID);
  /* A trailing slash is fine. */
  char dir[64], slashed[80];
  fixture_dir(dir);
  snprintf(slashed, sizeof slashed, "%s/", dir);
  CHECK_EQ_INT(mote_store_open(slashed, &s, &err), MOTE_STORE_OK);
  char path[4096];
  if (s) {
    mote_store_blob_path(s, "ab", path, sizeof path);
    CHECK(strstr(path, "//") == NULL);
    mote_store_close(s);
  }
  fixture_rm(dir);
}

/* The write-behind queue: records are copied at post (the caller's buffers
 * may go at once), a read finds every record posted before it, and close
 * writes what is still queued. */
TEST(posted_activations) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  enum { N = 300 };
  static char ids[N][33];
  for (int i = 0; i < N; i++) {
    mote_activation a;
    make_activation(&a, i % 2 ? "odd" : "even", 1000 + i);
    char *outcome = strdup("ok");
    a.outcome = outcome;
    CHECK_EQ_INT(mote_store_activation_post(s, &a, 1000, &err), MOTE_STORE_OK);
    memcpy(ids[i], a.id, 33);
    memset(outcome, 'X', 2); /* the store kept its own copy */
    free(outcome);
  }
  mote_activation got;
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, ids[N - 1], &got, &err), MOTE_STORE_OK);
  CHECK(got.outcome && strcmp(got.outcome, "ok") == 0);
  mote_activation_clear(&got);
  mote_activation *list;
  size_t n;
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "even", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, N / 2);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  /* A bad record is refused at once. */
  mote_activation bad;
  make_activation(&bad, "f", 1);
  bad.id[0] = 'Z';
  CHECK_EQ_INT(mote_store_activation_post(s, &bad, 10, &err), MOTE_STORE_INVALID);

  /* Posted, then closed at once: the records are on disk at reopen. */
  mote_activation last;
  make_activation(&last, "late", 5);
  for (int i = 0; i < 50; i++) {
    make_activation(&last, "late", 5 + i);
    CHECK_EQ_INT(mote_store_activation_post(s, &last, 1000, &err), MOTE_STORE_OK);
  }
  mote_store_close(s);
  s = fixture_open(dir);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "late", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 50);
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
  mote_store_close(s);
  fixture_rm(dir);
}

/* ---- namespaces: ownership, filters, meta ---------------------------------------- */

/* A module without files or settings, in namespace ns with meta. */
static mote_store_status deploy_in(mote_store *s, const char *ns, const char *name,
                                   const uint8_t *wasm, size_t len, const char *meta,
                                   mote_function_version *out, mote_store_error *err) {
  return mote_store_deploy(s, ns, name, wasm, len, NULL, 0, NULL, meta, out, err);
}

static void free_versions(mote_function_version *list, size_t n) {
  for (size_t i = 0; i < n; i++) mote_function_version_clear(&list[i]);
  free(list);
}

static void free_activations(mote_activation *list, size_t n) {
  for (size_t i = 0; i < n; i++) mote_activation_clear(&list[i]);
  free(list);
}

TEST(names_per_namespace) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_version v, w;
  mote_function_version *list;
  size_t n;

  CHECK_EQ_INT(deploy_in(s, "a", "f", wasm_a, sizeof wasm_a, NULL, &v, &err),
               MOTE_STORE_OK);
  CHECK(v.ns && strcmp(v.ns, "a") == 0 && v.version == 1);
  CHECK(v.meta == NULL);
  mote_function_version_clear(&v);
  /* Another namespace's f is another function: its own version 1, bytes,
   * and nothing of a's changes. */
  CHECK_EQ_INT(mote_store_get(s, "b", "f", &v, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_delete(s, "b", "f", &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(deploy_in(s, "b", "f", wasm_b, sizeof wasm_b, NULL, &v, &err), MOTE_STORE_OK);
  CHECK(v.version == 1 && strcmp(v.ns, "b") == 0);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_get(s, "a", "f", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_get(s, "b", "f", &w, &err), MOTE_STORE_OK);
  CHECK(v.version == 1 && strcmp(v.ns, "a") == 0 && w.version == 1 && strcmp(w.ns, "b") == 0);
  CHECK(strcmp(v.module_hash, w.module_hash) != 0);
  mote_function_version_clear(&v);
  mote_function_version_clear(&w);
  /* a updates its own: versions are numbered per namespace. */
  CHECK_EQ_INT(deploy_in(s, "a", "f", wasm_b, sizeof wasm_b, NULL, NULL, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_get_version(s, "a", "f", 1, &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_get(s, "a", "f", &w, &err), MOTE_STORE_OK);
  CHECK(strcmp(v.ns, "a") == 0 && strcmp(w.ns, "a") == 0 && w.version == 2);
  mote_function_version_clear(&v);
  mote_function_version_clear(&w);
  CHECK_EQ_INT(mote_store_get_version(s, "b", "f", 2, &v, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(deploy_in(s, "b", "g", wasm_a, sizeof wasm_a, NULL, NULL, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(deploy_in(s, "b", "e", wasm_a, sizeof wasm_a, NULL, NULL, &err),
               MOTE_STORE_OK);

  /* Lists: all (by namespace, then name), or one namespace's. */
  CHECK_EQ_INT(mote_store_list(s, NULL, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 4);
  if (n == 4)
    CHECK(!strcmp(list[0].ns, "a") && !strcmp(list[0].name, "f") && !strcmp(list[1].ns, "b") &&
          !strcmp(list[1].name, "e") && !strcmp(list[2].name, "f") && !strcmp(list[3].name, "g"));
  free_versions(list, n);
  CHECK_EQ_INT(mote_store_list(s, "a", &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 1);
  if (n == 1) CHECK(strcmp(list[0].name, "f") == 0 && strcmp(list[0].ns, "a") == 0);
  free_versions(list, n);
  CHECK_EQ_INT(mote_store_list(s, "b", &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 3);
  if (n == 3)
    CHECK(strcmp(list[0].name, "e") == 0 && strcmp(list[1].name, "f") == 0 &&
          list[1].version == 1 && strcmp(list[2].name, "g") == 0 && strcmp(list[2].ns, "b") == 0);
  free_versions(list, n);
  CHECK_EQ_INT(mote_store_list(s, "nobody", &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(list);
  CHECK_EQ_INT(mote_store_list(s, "../x", &list, &n, &err), MOTE_STORE_INVALID);

  /* Bad namespaces. */
  CHECK_EQ_INT(deploy_in(s, NULL, "h", wasm_a, sizeof wasm_a, NULL, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_EQ_INT(deploy_in(s, "a/b", "h", wasm_a, sizeof wasm_a, NULL, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "invalid namespace");
  CHECK_EQ_INT(mote_store_delete(s, "", "f", &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_delete(s, NULL, "f", &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_get(s, NULL, "f", &v, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_get(s, "a/b", "f", &v, &err), MOTE_STORE_INVALID);

  /* A delete is of one namespace's function; the numbering of the name in
   * that namespace goes on after it. */
  CHECK_EQ_INT(mote_store_delete(s, "a", "nothing", &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_delete(s, "a", "f", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_get(s, "a", "f", &v, &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_get(s, "b", "f", &v, &err), MOTE_STORE_OK);
  CHECK(v.version == 1);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(deploy_in(s, "a", "f", wasm_a, sizeof wasm_a, NULL, &v, &err), MOTE_STORE_OK);
  CHECK(v.version == 3 && strcmp(v.ns, "a") == 0);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "g", &err), MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_delete(s, "b", "g", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_list(s, "b", &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 2); /* e, f */
  free_versions(list, n);

  /* Snapshots are the function's: one namespace's never answers for another's. */
  static const uint8_t snap[] = "snapshot bytes";
  CHECK_EQ_INT(mote_store_snapshot_put(s, "a", "f", "quick", "k1", snap, sizeof snap, &err),
               MOTE_STORE_OK);
  uint8_t *got = NULL;
  size_t len = 0;
  CHECK_EQ_INT(mote_store_snapshot_get(s, "b", "f", "quick", "k1", &got, &len, &err),
               MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_snapshot_get(s, "a", "f", "quick", "k1", &got, &len, &err),
               MOTE_STORE_OK);
  CHECK(len == sizeof snap);
  free(got);
  CHECK_EQ_INT(mote_store_delete(s, "b", "f", &err), MOTE_STORE_OK); /* b's: a's snapshot stays */
  CHECK_EQ_INT(mote_store_snapshot_get(s, "a", "f", "quick", "k1", &got, &len, &err),
               MOTE_STORE_OK);
  free(got);
  CHECK_EQ_INT(mote_store_delete(s, "a", "f", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_get(s, "a", "f", "quick", "k1", &got, &len, &err),
               MOTE_STORE_NOT_FOUND);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(version_meta) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_version v;
  const char *meta = "{\"exec\":{\"kind\":\"wasm\"},\"annotations\":[{\"key\":\"k\",\"value\":1}],"
                     "\"publish\":false,\"version\":\"0.0.1\",\"note\":\"\xc3\xa9t\xc3\xa9\"}";
  CHECK_EQ_INT(deploy_in(s, "ns", "m", wasm_a, sizeof wasm_a, meta, &v, &err),
               MOTE_STORE_OK);
  CHECK(v.meta && strcmp(v.meta, meta) == 0);
  CHECK(v.meta != meta); /* a copy */
  mote_function_version_clear(&v);
  CHECK(v.meta == NULL && v.ns == NULL);
  /* A second version without meta: each version keeps its own. */
  CHECK_EQ_INT(deploy_in(s, "ns", "m", wasm_b, sizeof wasm_b, NULL, NULL, &err),
               MOTE_STORE_OK);
  mote_store_close(s);
  s = fixture_open(dir);
  CHECK_EQ_INT(mote_store_get_version(s, "ns", "m", 1, &v, &err), MOTE_STORE_OK);
  CHECK(v.meta && strcmp(v.meta, meta) == 0);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_get(s, "ns", "m", &v, &err), MOTE_STORE_OK);
  CHECK(v.version == 2 && v.meta == NULL);
  mote_function_version_clear(&v);
  mote_function_version *list;
  size_t n;
  CHECK_EQ_INT(mote_store_list(s, "ns", &list, &n, &err), MOTE_STORE_OK);
  CHECK(n == 1 && list[0].meta == NULL);
  free_versions(list, n);
  /* Too long a meta is refused, and makes no version. */
  char *big = malloc(MOTE_STORE_META_MAX + 2);
  memset(big, 'x', MOTE_STORE_META_MAX + 1);
  big[MOTE_STORE_META_MAX + 1] = 0;
  CHECK_EQ_INT(deploy_in(s, "ns", "m", wasm_a, sizeof wasm_a, big, NULL, &err),
               MOTE_STORE_INVALID);
  CHECK_STR_CONTAINS(err.message, "meta");
  big[MOTE_STORE_META_MAX] = 0; /* exactly the limit: kept whole */
  CHECK_EQ_INT(deploy_in(s, "ns", "m", wasm_a, sizeof wasm_a, big, &v, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, 3);
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_get(s, "ns", "m", &v, &err), MOTE_STORE_OK);
  CHECK(v.meta && strlen(v.meta) == MOTE_STORE_META_MAX);
  mote_function_version_clear(&v);
  free(big);
  mote_store_close(s);
  fixture_rm(dir);
}

TEST(activation_namespaces_and_meta) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_activation a, got;
  mote_activation *list;
  size_t n;
  /* Namespace and meta round trip, through put and through post. */
  make_activation(&a, "f", 100);
  a.ns = "a";
  a.meta = "{\"response\":{\"status\":\"success\",\"result\":{\"x\":1}},\"logs\":[\"l1\"]}";
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, a.id, &got, &err), MOTE_STORE_OK);
  CHECK(got.ns && strcmp(got.ns, "a") == 0);
  CHECK(got.meta && strcmp(got.meta, a.meta) == 0);
  mote_activation_clear(&got);
  CHECK(got.ns == NULL && got.meta == NULL);
  /* By namespace: another's record is not found, as a missing one is. */
  CHECK_EQ_INT(mote_store_activation_get(s, "b", a.id, &got, &err), MOTE_STORE_NOT_FOUND);
  CHECK(got.function == NULL);
  CHECK_EQ_INT(mote_store_activation_get(s, "a", a.id, &got, &err), MOTE_STORE_OK);
  mote_activation_clear(&got);
  CHECK_EQ_INT(mote_store_activation_get(s, "a b", a.id, &got, &err), MOTE_STORE_INVALID);
  char *ns = strdup("b"), *meta = strdup("{\"posted\":true}");
  make_activation(&a, "f", 200);
  a.ns = ns;
  a.meta = meta;
  CHECK_EQ_INT(mote_store_activation_post(s, &a, 0, &err), MOTE_STORE_OK);
  ns[0] = 'X'; /* the store copied them */
  meta[1] = 'X';
  free(ns);
  free(meta);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, a.id, &got, &err), MOTE_STORE_OK);
  CHECK(got.ns && strcmp(got.ns, "b") == 0);
  CHECK(got.meta && strcmp(got.meta, "{\"posted\":true}") == 0);
  mote_activation_clear(&got);
  /* No namespace given: the default one; no meta: NULL. */
  make_activation(&a, "g", 300);
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, a.id, &got, &err), MOTE_STORE_OK);
  CHECK(got.ns && strcmp(got.ns, MOTE_STORE_DEFAULT_NS) == 0);
  CHECK(got.meta == NULL);
  mote_activation_clear(&got);
  for (int i = 0; i < 5; i++) {
    make_activation(&a, i % 2 ? "f" : "h", 400 + i);
    a.ns = "a";
    CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_OK);
  }

  /* Filters: namespace alone, namespace and function, function alone. */
  CHECK_EQ_INT(mote_store_activation_list(s, "a", NULL, 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 6);
  for (size_t i = 0; i < n; i++) CHECK(strcmp(list[i].ns, "a") == 0);
  if (n == 6) CHECK(list[0].start_ms == 404 && list[5].start_ms == 100);
  free_activations(list, n);
  CHECK_EQ_INT(mote_store_activation_list(s, "a", "f", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 3); /* 100, 401, 403: not b's record of a function of the same name */
  for (size_t i = 0; i < n; i++)
    CHECK(strcmp(list[i].ns, "a") == 0 && strcmp(list[i].function, "f") == 0);
  free_activations(list, n);
  CHECK_EQ_INT(mote_store_activation_list(s, "b", "f", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 1);
  free_activations(list, n);
  CHECK_EQ_INT(mote_store_activation_list(s, "a", NULL, 401, 2, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 2);
  if (n == 2) CHECK(list[0].start_ms == 404 && list[1].start_ms == 403);
  free_activations(list, n);
  CHECK_EQ_INT(mote_store_activation_list(s, MOTE_STORE_DEFAULT_NS, NULL, 0, 0, &list, &n, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(n, 1);
  free_activations(list, n);
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "f", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 4);
  free_activations(list, n);
  CHECK_EQ_INT(mote_store_activation_list(s, "c", NULL, 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 0);
  free(list);
  CHECK_EQ_INT(mote_store_activation_list(s, "a b", NULL, 0, 0, &list, &n, &err),
               MOTE_STORE_INVALID);

  /* Bad records: a bad namespace, too long a meta; refused by put and post. */
  make_activation(&a, "f", 1);
  a.ns = "../a";
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_activation_post(s, &a, 0, &err), MOTE_STORE_INVALID);
  char *big = malloc(MOTE_STORE_META_MAX + 2);
  memset(big, 'm', MOTE_STORE_META_MAX + 1);
  big[MOTE_STORE_META_MAX + 1] = 0;
  make_activation(&a, "f", 1);
  a.meta = big;
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_activation_post(s, &a, 0, &err), MOTE_STORE_INVALID);
  /* A meta is never cut, unlike the excerpts. */
  big[MOTE_STORE_META_MAX] = 0;
  CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_activation_get(s, NULL, a.id, &got, &err), MOTE_STORE_OK);
  CHECK(got.meta && strlen(got.meta) == MOTE_STORE_META_MAX);
  mote_activation_clear(&got);
  free(big);
  /* Retention is per (namespace, function): x's many records of r trim
   * x's, never y's few of its own r. */
  for (int i = 0; i < 3; i++) {
    make_activation(&a, "r", 1000 + i);
    a.ns = "y";
    CHECK_EQ_INT(mote_store_activation_put(s, &a, 4, &err), MOTE_STORE_OK);
  }
  for (int i = 0; i < 20; i++) {
    make_activation(&a, "r", 2000 + i);
    a.ns = "x";
    CHECK_EQ_INT(mote_store_activation_put(s, &a, 4, &err), MOTE_STORE_OK);
  }
  CHECK_EQ_INT(mote_store_activation_list(s, "x", "r", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 4);
  free_activations(list, n);
  CHECK_EQ_INT(mote_store_activation_list(s, "y", "r", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(n, 3);
  free_activations(list, n);
  mote_store_close(s);
  fixture_rm(dir);
}

/* A data directory of the mote before namespaces (its schema as it was,
 * rows included): it opens, its rows read as MOTE_STORE_DEFAULT_NS's, it is
 * moved on to the schema of names per namespace, and a second open changes
 * nothing. */
static const char old_schema_sql[] =
    "CREATE TABLE functions(name TEXT PRIMARY KEY NOT NULL, latest INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE versions(name TEXT NOT NULL, version INTEGER NOT NULL,"
    "  module_hash TEXT NOT NULL, files_hash TEXT, settings TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, PRIMARY KEY (name, version)) WITHOUT ROWID;"
    "CREATE TABLE version_seq(name TEXT PRIMARY KEY NOT NULL, last INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE activations(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    "  function TEXT NOT NULL, version INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    "  wait_us INTEGER NOT NULL, init_us INTEGER NOT NULL, exec_us INTEGER NOT NULL,"
    "  http_status INTEGER NOT NULL, exit_code INTEGER NOT NULL, outcome TEXT, stdout TEXT,"
    "  stderr TEXT);"
    "CREATE INDEX activations_by_function ON activations(function, start_ms);"
    "CREATE INDEX activations_by_start ON activations(start_ms);"
    "PRAGMA user_version = 1;"
    "INSERT INTO functions VALUES ('old', 1, 1000, 1000);"
    "INSERT INTO versions VALUES ('old', 1, '%s', NULL, '{\"memory_mib\":64}', 1000);"
    "INSERT INTO version_seq VALUES ('old', 1);"
    "INSERT INTO activations(id, function, version, start_ms, wait_us, init_us, exec_us,"
    "  http_status, exit_code, outcome, stdout, stderr) VALUES"
    "  ('000000000001aaaaaaaaaaaaaaaaaaaa', 'old', 1, 5000, 1, 2, 3, 200, 0, 'ok', 'hi', NULL);";

/* The number of rows `sql` counts. */
static int count_rows(sqlite3 *db, const char *sql) {
  sqlite3_stmt *q = NULL;
  int n = -1;
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  return n;
}

static int count_column(sqlite3 *db, const char *table, const char *column) {
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM pragma_table_info('%s') WHERE name = '%s'",
           table, column);
  return count_rows(db, sql);
}

TEST(migration_of_an_older_store) {
  char dir[64], db_path[128];
  fixture_dir(dir);
  /* The blob the old version names, written through a store of our own. */
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_version v;
  CHECK_EQ_INT(deploy_guest(s, "tmp", wasm_a, sizeof wasm_a, NULL, 0, NULL, &v, &err),
               MOTE_STORE_OK);
  char hash[65];
  snprintf(hash, sizeof hash, "%s", v.module_hash ? v.module_hash : "");
  mote_function_version_clear(&v);
  mote_store_close(s);
  snprintf(db_path, sizeof db_path, "%s/mote.db", dir);
  unlink(db_path);
  sqlite3 *db = NULL;
  CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
  char *sql = sqlite3_mprintf(old_schema_sql, hash);
  CHECK_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_free(sql);
  CHECK_EQ_INT(count_column(db, "versions", "namespace"), 0);
  sqlite3_close(db);

  for (int round = 0; round < 2; round++) { /* the second open finds it migrated */
    s = fixture_open(dir);
    CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "old", &v, &err), MOTE_STORE_OK);
    CHECK(v.ns && strcmp(v.ns, MOTE_STORE_DEFAULT_NS) == 0);
    CHECK(v.meta == NULL);
    CHECK_EQ_INT(v.settings.memory_mib, 64);
    mote_function_version_clear(&v);
    mote_function_version *list;
    size_t n;
    CHECK_EQ_INT(mote_store_list(s, MOTE_STORE_DEFAULT_NS, &list, &n, &err), MOTE_STORE_OK);
    CHECK(n >= 1 && strcmp(list[0].name, "old") == 0);
    free_versions(list, n);
    mote_activation *acts;
    CHECK_EQ_INT(mote_store_activation_list(s, MOTE_STORE_DEFAULT_NS, "old", 0, 0, &acts, &n, &err),
                 MOTE_STORE_OK);
    CHECK_EQ_INT(n, 1);
    if (n == 1)
      CHECK(strcmp(acts[0].ns, MOTE_STORE_DEFAULT_NS) == 0 && acts[0].meta == NULL &&
            strcmp(acts[0].stdout_excerpt, "hi") == 0);
    free_activations(acts, n);
    /* The old function is guest's: another namespace's "old" is its own. */
    CHECK_EQ_INT(mote_store_get(s, "other", "old", &v, &err),
                 round == 0 ? MOTE_STORE_NOT_FOUND : MOTE_STORE_OK);
    if (round == 0) {
      CHECK_EQ_INT(deploy_in(s, "other", "old", wasm_b, sizeof wasm_b, NULL, &v, &err),
                   MOTE_STORE_OK);
      CHECK(v.version == 1);
      mote_function_version_clear(&v);
      /* New rows in the migrated tables keep their namespace and meta. */
      CHECK_EQ_INT(deploy_in(s, "other", "new", wasm_b, sizeof wasm_b, "{\"m\":1}", NULL, &err),
                   MOTE_STORE_OK);
      mote_activation a;
      make_activation(&a, "new", 6000);
      a.ns = "other";
      a.meta = "{}";
      CHECK_EQ_INT(mote_store_activation_put(s, &a, 0, &err), MOTE_STORE_OK);
    }
    mote_function_version_clear(&v);
    CHECK_EQ_INT(mote_store_get(s, "other", "new", &v, &err), MOTE_STORE_OK);
    CHECK(v.ns && strcmp(v.ns, "other") == 0 && v.meta && strcmp(v.meta, "{\"m\":1}") == 0);
    mote_function_version_clear(&v);
    CHECK_EQ_INT(mote_store_activation_list(s, "other", NULL, 0, 0, &acts, &n, &err),
                 MOTE_STORE_OK);
    CHECK(n == 1 && acts[0].meta && strcmp(acts[0].meta, "{}") == 0);
    free_activations(acts, n);
    mote_store_close(s);
  }
  /* One column each, the indexes made, the schema version 2. */
  CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
  CHECK_EQ_INT(count_column(db, "functions", "namespace"), 1);
  CHECK_EQ_INT(count_column(db, "versions", "namespace"), 1);
  CHECK_EQ_INT(count_column(db, "versions", "meta"), 1);
  CHECK_EQ_INT(count_column(db, "activations", "namespace"), 1);
  CHECK_EQ_INT(count_column(db, "activations", "meta"), 1);
  CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                              "AND name = 'activations_by_namespace'"),
               1);
  /* ... in place of the index on start_ms alone. */
  CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                              "AND name = 'activations_by_start'"),
               0);
  CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' "
                              "AND name IN ('activations_by_ns_function', "
                              "'activations_by_function')"),
               1);
  CHECK_EQ_INT(count_rows(db, "PRAGMA user_version"), 2);
  sqlite3_close(db);
  fixture_rm(dir);
}

/* A data directory of version 1 as the mote of issues 6 to 16 wrote it (its
 * schema as it was, namespaces and all): functions of two namespaces, a
 * name deleted by one namespace and taken by another, kept snapshots,
 * accounting. Every row survives the move to names per namespace, the
 * numbering of each (namespace, name) goes on from where it was, and a
 * second open changes nothing. */
static const char v1_schema_sql[] =
    "CREATE TABLE functions(name TEXT PRIMARY KEY NOT NULL, latest INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  namespace TEXT NOT NULL DEFAULT 'guest') WITHOUT ROWID;"
    "CREATE TABLE versions(name TEXT NOT NULL, version INTEGER NOT NULL,"
    "  module_hash TEXT NOT NULL, files_hash TEXT, settings TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, namespace TEXT NOT NULL DEFAULT 'guest', meta TEXT,"
    "  PRIMARY KEY (name, version)) WITHOUT ROWID;"
    "CREATE TABLE version_seq(name TEXT PRIMARY KEY NOT NULL, last INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE activations(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    "  function TEXT NOT NULL, version INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    "  wait_us INTEGER NOT NULL, init_us INTEGER NOT NULL, exec_us INTEGER NOT NULL,"
    "  http_status INTEGER NOT NULL, exit_code INTEGER NOT NULL, outcome TEXT, stdout TEXT,"
    "  stderr TEXT, namespace TEXT NOT NULL DEFAULT 'guest', meta TEXT);"
    "CREATE INDEX activations_by_function ON activations(function, start_ms);"
    "CREATE TABLE namespaces(name TEXT PRIMARY KEY NOT NULL, created_ms INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "CREATE TABLE keys(uuid TEXT PRIMARY KEY NOT NULL, namespace TEXT NOT NULL,"
    "  salt BLOB NOT NULL, hash BLOB NOT NULL, created_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX keys_by_namespace ON keys(namespace);"
    "CREATE TABLE usage(namespace TEXT NOT NULL, function TEXT NOT NULL,"
    "  invocations INTEGER NOT NULL, errors INTEGER NOT NULL, refused INTEGER NOT NULL,"
    "  exec_us INTEGER NOT NULL, memory_mib_us INTEGER NOT NULL, first_ms INTEGER NOT NULL,"
    "  last_ms INTEGER NOT NULL, PRIMARY KEY (namespace, function)) WITHOUT ROWID;"
    "CREATE TABLE snapshots(name TEXT NOT NULL, slot TEXT NOT NULL, key TEXT NOT NULL,"
    "  hash TEXT NOT NULL, bytes INTEGER NOT NULL, created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (name, slot)) WITHOUT ROWID;"
    "CREATE TABLE namespace_limits(namespace TEXT PRIMARY KEY NOT NULL,"
    "  invocations_per_minute INTEGER NOT NULL, concurrent INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE file_sets(hash TEXT PRIMARY KEY NOT NULL, count INTEGER NOT NULL,"
    "  bytes INTEGER NOT NULL, paths TEXT) WITHOUT ROWID;"
    "CREATE INDEX activations_by_namespace ON activations(namespace, start_ms);"
    "PRAGMA user_version = 1;"
    /* g: guest's, 2 versions; p: alice's, with meta; d: deployed by bob (v1,
     * v2, called), deleted, then deployed by alice (v3, called). */
    "INSERT INTO functions VALUES ('g', 2, 1000, 2000, 'guest');"
    "INSERT INTO functions VALUES ('p', 1, 1500, 1500, 'alice');"
    "INSERT INTO functions VALUES ('d', 3, 4000, 4000, 'alice');"
    "INSERT INTO versions VALUES ('g', 1, '%s', NULL, '{\"memory_mib\":64}', 1000, 'guest', NULL);"
    "INSERT INTO versions VALUES ('g', 2, '%s', NULL, '{\"memory_mib\":32}', 2000, 'guest', NULL);"
    "INSERT INTO versions VALUES ('p', 1, '%s', NULL, '{}', 1500, 'alice', '{\"kind\":1}');"
    "INSERT INTO versions VALUES ('d', 3, '%s', NULL, '{}', 4000, 'alice', NULL);"
    "INSERT INTO version_seq VALUES ('g', 2), ('p', 1), ('d', 3), ('gone', 5);"
    "INSERT INTO activations(id, function, version, start_ms, wait_us, init_us, exec_us,"
    "  http_status, exit_code, outcome, stdout, stderr, namespace, meta) VALUES"
    "  ('000000000001aaaaaaaaaaaaaaaaaaaa', 'g', 2, 5000, 1, 2, 3, 200, 0, 'ok', 'hi', NULL,"
    "   'guest', NULL),"
    "  ('000000000002aaaaaaaaaaaaaaaaaaaa', 'd', 2, 3000, 1, 2, 3, 200, 0, 'ok', NULL, NULL,"
    "   'bob', '{}'),"
    "  ('000000000003aaaaaaaaaaaaaaaaaaaa', 'd', 3, 4500, 1, 2, 3, 502, 1, 'exit', NULL, 'e',"
    "   'alice', NULL);"
    "INSERT INTO namespaces VALUES ('alice', 1), ('bob', 1);"
    "INSERT INTO usage VALUES ('bob', 'd', 1, 0, 0, 3, 192, 3000, 3000);"
    "INSERT INTO snapshots VALUES ('g', 'quick', 'k-g', '%s', 10, 2000),"
    "  ('p', 'opt', 'k-p', '%s', 10, 1600);";

TEST(migration_of_names_per_namespace) {
  char dir[64], db_path[128];
  fixture_dir(dir);
  /* The blobs the old rows name, written through a store of our own. */
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_function_version v;
  char hash[65], snap_hash[65];
  static const uint8_t snap[] = "snapshot";
  CHECK_EQ_INT(deploy_guest(s, "tmp", wasm_a, sizeof wasm_a, NULL, 0, NULL, &v, &err),
               MOTE_STORE_OK);
  snprintf(hash, sizeof hash, "%s", v.module_hash ? v.module_hash : "");
  mote_function_version_clear(&v);
  CHECK_EQ_INT(mote_store_put_blob(s, snap, sizeof snap, snap_hash, &err), MOTE_STORE_OK);
  mote_store_close(s);
  snprintf(db_path, sizeof db_path, "%s/mote.db", dir);
  unlink(db_path);
  sqlite3 *db = NULL;
  CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
  char *sql = sqlite3_mprintf(v1_schema_sql, hash, hash, hash, hash, snap_hash, snap_hash);
  CHECK_EQ_INT(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_free(sql);
  sqlite3_close(db);

  for (int round = 0; round < 2; round++) {
    s = fixture_open(dir);
    /* Functions and versions, each in its namespace. */
    CHECK_EQ_INT(mote_store_get(s, "guest", "g", &v, &err), MOTE_STORE_OK);
    CHECK(v.version == 2 && v.settings.memory_mib == 32 && strcmp(v.ns, "guest") == 0);
    mote_function_version_clear(&v);
    CHECK_EQ_INT(mote_store_get_version(s, "guest", "g", 1, &v, &err), MOTE_STORE_OK);
    CHECK(v.settings.memory_mib == 64);
    mote_function_version_clear(&v);
    CHECK_EQ_INT(mote_store_get(s, "alice", "p", &v, &err), MOTE_STORE_OK);
    CHECK(v.meta && strcmp(v.meta, "{\"kind\":1}") == 0 && v.created_ms == 1500);
    mote_function_version_clear(&v);
    CHECK_EQ_INT(mote_store_get(s, "guest", "p", &v, &err), MOTE_STORE_NOT_FOUND);
    CHECK_EQ_INT(mote_store_get(s, "alice", "d", &v, &err), MOTE_STORE_OK);
    CHECK(v.version == (round == 0 ? 3u : 4u));
    mote_function_version_clear(&v);
    CHECK_EQ_INT(mote_store_get(s, "bob", "d", &v, &err), MOTE_STORE_NOT_FOUND);
    mote_function_version *list;
    size_t n;
    CHECK_EQ_INT(mote_store_list(s, NULL, &list, &n, &err), MOTE_STORE_OK);
    CHECK_EQ_INT(n, round == 0 ? 3 : 5);
    free_versions(list, n);
    /* Snapshots: the owner's. */
    uint8_t *got = NULL;
    size_t len = 0;
    CHECK_EQ_INT(mote_store_snapshot_get(s, "guest", "g", "quick", "k-g", &got, &len, &err),
                 MOTE_STORE_OK);
    free(got);
    CHECK_EQ_INT(mote_store_snapshot_get(s, "alice", "p", "opt", "k-p", &got, &len, &err),
                 MOTE_STORE_OK);
    free(got);
    CHECK_EQ_INT(mote_store_snapshot_get(s, "guest", "p", "opt", "k-p", &got, &len, &err),
                 MOTE_STORE_NOT_FOUND);
    /* Activations and accounting, unchanged. */
    mote_activation *acts;
    CHECK_EQ_INT(mote_store_activation_list(s, "bob", "d", 0, 0, &acts, &n, &err),
                 MOTE_STORE_OK);
    CHECK(n == 1 && acts[0].version == 2);
    free_activations(acts, n);
    CHECK_EQ_INT(mote_store_activation_list(s, "alice", "d", 0, 0, &acts, &n, &err),
                 MOTE_STORE_OK);
    CHECK(n == 1 && acts[0].version == 3);
    free_activations(acts, n);
    mote_usage *u = NULL;
    CHECK_EQ_INT(mote_store_usage_list(s, "bob", NULL, &u, &n, &err), MOTE_STORE_OK);
    CHECK(n == 1 && u[0].invocations == 1 && u[0].memory_mib_us == 192);
    free(u);
    if (round == 0) {
      /* Numbering goes on per (namespace, name): alice's d after 3; bob's d
       * (deleted) after the 3 the name had reached, never again 1 or 2 that
       * its records name; a deleted name nobody called, in the default
       * namespace; a name new to a namespace from 1. */
      CHECK_EQ_INT(deploy_in(s, "alice", "d", wasm_b, sizeof wasm_b, NULL, &v, &err),
                   MOTE_STORE_OK);
      CHECK_EQ_INT(v.version, 4);
      mote_function_version_clear(&v);
      CHECK_EQ_INT(deploy_in(s, "bob", "d", wasm_b, sizeof wasm_b, NULL, &v, &err),
                   MOTE_STORE_OK);
      CHECK_EQ_INT(v.version, 4);
      mote_function_version_clear(&v);
      CHECK_EQ_INT(deploy_guest(s, "gone", wasm_b, sizeof wasm_b, NULL, 0, NULL, &v, &err),
                   MOTE_STORE_OK);
      CHECK_EQ_INT(v.version, 6);
      mote_function_version_clear(&v);
      CHECK_EQ_INT(deploy_in(s, "bob", "g", wasm_b, sizeof wasm_b, NULL, &v, &err),
                   MOTE_STORE_OK);
      CHECK_EQ_INT(v.version, 1);
      mote_function_version_clear(&v);
      CHECK_EQ_INT(mote_store_delete(s, "bob", "d", &err), MOTE_STORE_OK);
    }
    mote_store_close(s);
  }
  CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
  CHECK_EQ_INT(count_rows(db, "PRAGMA user_version"), 2);
  /* No table of version 1 is left behind. */
  CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM sqlite_master WHERE name LIKE '%_v1'"), 0);
  CHECK_EQ_INT(count_rows(db, "SELECT count(*) FROM version_seq WHERE name = 'd'"), 2);
  sqlite3_close(db);
  /* A directory of a newer schema is refused, not misread. */
  CHECK_EQ_INT(sqlite3_open(db_path, &db), SQLITE_OK);
  CHECK_EQ_INT(sqlite3_exec(db, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  mote_store *newer = NULL;
  CHECK_EQ_INT(mote_store_open(dir, &newer, &err), MOTE_STORE_IO);
  CHECK_STR_CONTAINS(err.message, "schema version 3");
  CHECK(newer == NULL);
  fixture_rm(dir);
}

/* A blob kept beside a version (the OpenWhisk layer's zip): stored, read back. */
TEST(put_blob) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  static const uint8_t bytes[] = "PK\3\4 not really a zip";
  char hash[MOTE_STORE_HASH_HEX], again[MOTE_STORE_HASH_HEX];
  CHECK_EQ_INT(mote_store_put_blob(s, bytes, sizeof bytes, hash, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_put_blob(s, bytes, sizeof bytes, again, &err), MOTE_STORE_OK);
  CHECK(strcmp(hash, again) == 0);
  uint8_t *got = NULL;
  size_t len = 0;
  CHECK_EQ_INT(mote_store_blob_read(s, hash, &got, &len, &err), MOTE_STORE_OK);
  CHECK(len == sizeof bytes && got && memcmp(got, bytes, len) == 0);
  free(got);
  mote_store_close(s);
}

/* Snapshots: found only by their key, damaged bytes are an error and are
 * replaced by the next put, a put replaces the slot's, a delete forgets. */
TEST(snapshots) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  static const uint8_t wasm[] = "\0asm\1\0\0\0";
  CHECK_EQ_INT(deploy_guest(s, "f", wasm, sizeof wasm - 1, NULL, 0, NULL, NULL, &err),
               MOTE_STORE_OK);
  static const uint8_t one[] = "snapshot one", two[] = "snapshot two";
  uint8_t *got = NULL;
  size_t len = 0;
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", &got, &len, &err),
               MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_snapshot_put(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", one, sizeof one, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_put(s, MOTE_STORE_DEFAULT_NS, "f", "quick", "k2", two, sizeof two, &err),
               MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", &got, &len, &err), MOTE_STORE_OK);
  CHECK(got && len == sizeof one && !memcmp(got, one, len));
  free(got);
  /* Another key, another slot's key, another function: nothing. */
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k2", &got, &len, &err),
               MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "g", "opt", "k1", &got, &len, &err),
               MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "", &got, &len, &err), MOTE_STORE_INVALID);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "a key", &got, &len, &err),
               MOTE_STORE_INVALID);
  /* Damaged on disk: an error, never the bytes; a put mends it. */
  char hash[MOTE_STORE_HASH_HEX], path[512];
  CHECK_EQ_INT(mote_store_put_blob(s, one, sizeof one, hash, &err), MOTE_STORE_OK);
  mote_store_blob_path(s, hash, path, sizeof path);
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  if (f) {
    fputc('S', f);
    fclose(f);
  }
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", &got, &len, &err), MOTE_STORE_IO);
  CHECK(got == NULL && strstr(err.message, "damaged") != NULL);
  CHECK_EQ_INT(mote_store_snapshot_put(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", one, sizeof one, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", &got, &len, &err), MOTE_STORE_OK);
  CHECK(got && len == sizeof one && !memcmp(got, one, len));
  free(got);
  /* A put with a new key replaces the slot's. */
  CHECK_EQ_INT(mote_store_snapshot_put(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k3", two, sizeof two, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", &got, &len, &err),
               MOTE_STORE_NOT_FOUND);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k3", &got, &len, &err), MOTE_STORE_OK);
  free(got);
  /* Kept across a reopen; forgotten with the function. */
  mote_store_close(s);
  s = fixture_open(dir);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "quick", "k2", &got, &len, &err), MOTE_STORE_OK);
  free(got);
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "f", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "quick", "k2", &got, &len, &err),
               MOTE_STORE_NOT_FOUND);
  mote_store_close(s);
  fixture_rm(dir);
}

/* Sets the time of every entry of DIR/blobs and DIR/files `ago` seconds back. */
static void age_entries(const char *dir, int ago) {
  static const char *const subs[] = {"blobs", "files"};
  struct timespec t[2] = {{.tv_sec = time(NULL) - ago}, {.tv_sec = time(NULL) - ago}};
  for (size_t i = 0; i < 2; i++) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, subs[i]);
    DIR *d = opendir(path);
    CHECK(d != NULL);
    struct dirent *e;
    while (d && (e = readdir(d)))
      if (e->d_name[0] != '.') {
        char entry[600];
        snprintf(entry, sizeof entry, "%s/%s", path, e->d_name);
        CHECK(utimensat(AT_FDCWD, entry, t, AT_SYMLINK_NOFOLLOW) == 0);
      }
    if (d) closedir(d);
  }
}

static bool blob_there(mote_store *s, const char *hash) {
  char path[512];
  struct stat sb;
  mote_store_blob_path(s, hash, path, sizeof path);
  return stat(path, &sb) == 0;
}

static bool files_there(mote_store *s, const char *hash) {
  char path[512];
  struct stat sb;
  mote_store_files_path(s, hash, path, sizeof path);
  return stat(path, &sb) == 0;
}

/* A sweep removes the bytes nothing names (a deleted function's module,
 * files and snapshot, a replaced snapshot, a blob no version took) once
 * they are older than its grace, and keeps what a version (module, files,
 * meta) or a snapshot names, what the caller keeps, what a put or a hold
 * renewed, and what is not a hash. */
TEST(sweep) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  mote_store_error err;
  mote_store_sweep_report r;
  static const uint8_t wasm_g[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0, 2, 0};
  mote_store_file fa[] = {{"a.txt", (const uint8_t *)"A", 1}};
  mote_store_file fg[] = {{"g.txt", (const uint8_t *)"G", 1}, {"d/x", (const uint8_t *)"xy", 2}};
  mote_function_version f, g, h;
  CHECK_EQ_INT(deploy_guest(s, "f", wasm_a, sizeof wasm_a, fa, 1, NULL, &f, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(deploy_guest(s, "g", wasm_g, sizeof wasm_g, fg, 2, NULL, &g, &err), MOTE_STORE_OK);
  char zip[MOTE_STORE_HASH_HEX], orphan[MOTE_STORE_HASH_HEX], kept[MOTE_STORE_HASH_HEX];
  char snap1[MOTE_STORE_HASH_HEX], snap2[MOTE_STORE_HASH_HEX], gsnap[MOTE_STORE_HASH_HEX];
  static const uint8_t zb[] = "PK\3\4 the zip", ob[] = "refused", kb[] = "kept by the caller";
  static const uint8_t s1[] = "snapshot 1", s2[] = "snapshot 2", s3[] = "g's snapshot";
  CHECK_EQ_INT(mote_store_put_blob(s, zb, sizeof zb, zip, &err), MOTE_STORE_OK);
  char meta[200];
  snprintf(meta, sizeof meta, "{\"zip\":\"%s\"}", zip);
  CHECK_EQ_INT(mote_store_deploy(s, MOTE_STORE_DEFAULT_NS, "h", wasm_b, sizeof wasm_b, NULL, 0,
                                 NULL, meta, &h, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_put_blob(s, ob, sizeof ob, orphan, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_put_blob(s, kb, sizeof kb, kept, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_put(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k1", s1, sizeof s1,
                                       &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_put(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k2", s2, sizeof s2,
                                       &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_snapshot_put(s, MOTE_STORE_DEFAULT_NS, "g", "opt", "k", s3, sizeof s3,
                                       &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_put_blob(s, s1, sizeof s1, snap1, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_put_blob(s, s2, sizeof s2, snap2, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_put_blob(s, s3, sizeof s3, gsnap, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "g", &err), MOTE_STORE_OK);
  char other[256];
  snprintf(other, sizeof other, "%s/blobs/not-a-hash", dir);
  FILE *o = fopen(other, "w");
  CHECK(o != NULL);
  if (o) fclose(o);
  const char *keep[] = {kept};

  /* Everything young: nothing goes. g's module, files and snapshot, the
   * orphan, the replaced snapshot. */
  CHECK_EQ_INT(mote_store_sweep(s, keep, 1, 3600, &r, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(r.blobs + r.file_sets, 0);
  CHECK_EQ_INT(r.kept_young, 5);

  /* Two hours old, the orphan put again: the rest of what nothing names goes. */
  age_entries(dir, 7200);
  CHECK_EQ_INT(mote_store_put_blob(s, ob, sizeof ob, orphan, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_sweep(s, keep, 1, 3600, &r, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(r.blobs, 3);
  CHECK_EQ_INT(r.file_sets, 1);
  CHECK_EQ_INT(r.kept_young, 1);
  CHECK_EQ_INT(r.bytes, sizeof wasm_g + sizeof s1 + sizeof s3 + 1 + 2);
  CHECK(!blob_there(s, g.module_hash) && !files_there(s, g.files_hash) && !blob_there(s, snap1) &&
        !blob_there(s, gsnap));
  CHECK(blob_there(s, f.module_hash) && files_there(s, f.files_hash) && blob_there(s, h.module_hash) &&
        blob_there(s, zip) && blob_there(s, snap2) && blob_there(s, kept) && blob_there(s, orphan));
  struct stat sb;
  CHECK(stat(other, &sb) == 0);
  uint8_t *got = NULL;
  size_t len = 0;
  CHECK_EQ_INT(mote_store_snapshot_get(s, MOTE_STORE_DEFAULT_NS, "f", "opt", "k2", &got, &len, &err),
               MOTE_STORE_OK);
  free(got);

  /* Unnamed and old, but held (a version about to name them): kept; the
   * caller's own no longer kept: gone. A hold of what is gone is false. */
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "f", &err), MOTE_STORE_OK);
  age_entries(dir, 7200);
  CHECK(mote_store_hold(s, f.module_hash, f.files_hash));
  CHECK(!mote_store_hold(s, g.module_hash, NULL) && !mote_store_hold(s, f.module_hash, g.files_hash));
  CHECK_EQ_INT(mote_store_sweep(s, NULL, 0, 3600, &r, &err), MOTE_STORE_OK);
  CHECK(blob_there(s, f.module_hash) && files_there(s, f.files_hash) && !blob_there(s, kept) &&
        !blob_there(s, orphan) && !blob_there(s, snap2) && blob_there(s, zip));
  /* Grace 0: whatever nothing names goes at once. */
  CHECK_EQ_INT(mote_store_sweep(s, NULL, 0, 0, &r, &err), MOTE_STORE_OK);
  CHECK(!blob_there(s, f.module_hash) && !files_there(s, f.files_hash) && blob_there(s, zip) &&
        blob_there(s, h.module_hash));
  /* A delete renews its versions' files (calls in flight read them), not
   * its module. */
  mote_function_version k;
  static const uint8_t wasm_k[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 0, 3, 0};
  mote_store_file fk[] = {{"k.txt", (const uint8_t *)"K", 1}};
  CHECK_EQ_INT(deploy_guest(s, "k", wasm_k, sizeof wasm_k, fk, 1, NULL, &k, &err), MOTE_STORE_OK);
  age_entries(dir, 7200);
  CHECK_EQ_INT(mote_store_delete(s, MOTE_STORE_DEFAULT_NS, "k", &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_sweep(s, NULL, 0, 3600, &r, &err), MOTE_STORE_OK);
  CHECK(files_there(s, k.files_hash) && !blob_there(s, k.module_hash));
  mote_function_version_clear(&k);
  /* A version row replaced under its number (a cluster's record) renews the
   * files the old row named. */
  mote_function_version m, m2;
  mote_store_file fm[] = {{"m.txt", (const uint8_t *)"M", 1}};
  mote_store_file fm2[] = {{"m2.txt", (const uint8_t *)"M2", 2}};
  CHECK_EQ_INT(deploy_guest(s, "m", wasm_k, sizeof wasm_k, fm, 1, NULL, &m, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(deploy_guest(s, "m2", wasm_k, sizeof wasm_k, fm2, 1, NULL, &m2, &err),
               MOTE_STORE_OK);
  age_entries(dir, 7200);
  mote_function_version over = m;
  over.files_hash = m2.files_hash;
  over.file_paths = NULL;
  over.nfile_paths = 0;
  CHECK_EQ_INT(mote_store_put_version(s, &over, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(mote_store_sweep(s, NULL, 0, 3600, &r, &err), MOTE_STORE_OK);
  CHECK(files_there(s, m.files_hash) && files_there(s, m2.files_hash));
  mote_function_version_clear(&m);
  mote_function_version_clear(&m2);
  mote_function_version_clear(&f);
  mote_function_version_clear(&g);
  mote_function_version_clear(&h);
  mote_store_close(s);
  fixture_rm(dir);
}

RUN_TESTS(deploy_get_list_delete, settings_round_trip, settings_of_an_older_store, files_stored,
          tmp_of_a_dead_process_with_our_pid_is_removed_at_open,
          blob_dedup_and_repair, sweep, names, activations, retention, open_errors, posted_activations,
          names_per_namespace, version_meta, activation_namespaces_and_meta,
          migration_of_an_older_store, migration_of_names_per_namespace, put_blob, snapshots)
