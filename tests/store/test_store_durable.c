/* store: many threads at once, and kill -9 at any moment loses nothing acknowledged. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"
#include "store_fixture.h"
#include "test.h"

/* --- concurrency --- */

#define THREADS 4
#define DEPLOYS 15
#define PUTS 1500

typedef struct worker {
  mote_store *s;
  int index;
  int failures;
  char message[256];
} worker;

static void note_failure(worker *w, const char *what, const mote_store_error *err) {
  if (!w->failures++) snprintf(w->message, sizeof w->message, "%s: %s", what, err->message);
}

static void *worker_main(void *arg) {
  worker *w = arg;
  mote_store_error err;
  char own[16];
  snprintf(own, sizeof own, "t%d", w->index);
  uint8_t wasm[64] = {0, 'a', 's', 'm', 1, 0, 0, 0};
  for (int i = 0; i < PUTS; i++) {
    if (i % (PUTS / DEPLOYS) == 0) {
      wasm[8] = (uint8_t)w->index;
      wasm[9] = (uint8_t)i;
      wasm[10] = (uint8_t)(i >> 8);
      char file_text[32];
      snprintf(file_text, sizeof file_text, "%d", i % 3);
      mote_store_file f = {"conf/x.txt", (const uint8_t *)file_text, strlen(file_text)};
      if (deploy_guest(w->s, own, wasm, sizeof wasm, &f, 1, NULL, NULL, &err) != 0)
        note_failure(w, "deploy own", &err);
      if (deploy_guest(w->s, "shared", wasm, sizeof wasm, NULL, 0, NULL, NULL, &err) != 0)
        note_failure(w, "deploy shared", &err);
    }
    mote_activation a = {.function = own, .version = 1, .start_ms = 1000 + i, .outcome = "ok"};
    mote_store_activation_new_id(a.id);
    if (mote_store_activation_put(w->s, &a, 500, &err) != 0) note_failure(w, "put own", &err);
    a.function = "common";
    mote_store_activation_new_id(a.id);
    if (mote_store_activation_put(w->s, &a, 1000, &err) != 0) note_failure(w, "put common", &err);
    if (i % 50 == 0) {
      mote_function_version v;
      mote_store_status st = mote_store_get(w->s, MOTE_STORE_DEFAULT_NS, "shared", &v, &err);
      if (st == MOTE_STORE_OK)
        mote_function_version_clear(&v);
      else if (st != MOTE_STORE_NOT_FOUND)
        note_failure(w, "get", &err);
      mote_activation *list;
      size_t n;
      if (mote_store_activation_list(w->s, NULL, own, 0, 20, &list, &n, &err) != 0) {
        note_failure(w, "list", &err);
      } else {
        for (size_t k = 0; k < n; k++) mote_activation_clear(&list[k]);
        free(list);
      }
    }
  }
  return NULL;
}

TEST(concurrent_deploys_and_activations) {
  char dir[64];
  fixture_dir(dir);
  mote_store *s = fixture_open(dir);
  pthread_t th[THREADS];
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){.s = s, .index = i};
    CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    CHECK_MSG(w[i].failures == 0, w[i].message);
  }
  mote_store_error err;
  mote_function_version v;
  for (int i = 0; i < THREADS; i++) {
    char own[16];
    snprintf(own, sizeof own, "t%d", i);
    CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, own, &v, &err), MOTE_STORE_OK);
    CHECK_EQ_INT(v.version, DEPLOYS);
    mote_function_version_clear(&v);
    mote_activation *list;
    size_t n;
    CHECK_EQ_INT(mote_store_activation_list(s, NULL, own, 0, 0, &list, &n, &err), MOTE_STORE_OK);
    /* retain 500: between 500 and 500 + 500/16, the newest. */
    CHECK(n >= 500 && n <= 531);
    if (n >= 500)
      CHECK(list[0].start_ms == 1000 + PUTS - 1 && list[n - 1].start_ms == 1000 + PUTS - (int64_t)n);
    for (size_t k = 0; k < n; k++) mote_activation_clear(&list[k]);
    free(list);
  }
  /* Every deploy of "shared" got its own number: 1..THREADS*DEPLOYS, none lost. */
  CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "shared", &v, &err), MOTE_STORE_OK);
  CHECK_EQ_INT(v.version, THREADS * DEPLOYS);
  mote_function_version_clear(&v);
  for (uint64_t k = 1; k <= THREADS * DEPLOYS; k++) {
    CHECK_EQ_INT(mote_store_get_version(s, MOTE_STORE_DEFAULT_NS, "shared", k, &v, &err), MOTE_STORE_OK);
    mote_function_version_clear(&v);
  }
  mote_activation *list;
  size_t n;
  CHECK_EQ_INT(mote_store_activation_list(s, NULL, "common", 0, 0, &list, &n, &err), MOTE_STORE_OK);
  CHECK(n >= 1000 && n <= 1062);
  for (size_t k = 0; k < n; k++) mote_activation_clear(&list[k]);
  free(list);
  mote_store_close(s);
  fixture_rm(dir);
}

/* --- kill -9 --- */

/* The module of deploy `k` in round `r`: bytes anyone can recompute. Every
 * third deploy repeats the previous module (the blob is reused). */
static uint8_t *module_bytes(int r, uint32_t k, size_t *len) {
  if (k % 3 == 2) k--;
  uint64_t x = 0x9E3779B97F4A7C15ull * (uint64_t)(r * 100003 + (int)k + 1);
  *len = 8 + 4096 + (size_t)(x % 60000);
  uint8_t *b = malloc(*len);
  memcpy(b, "\0asm\1\0\0\0", 8);
  for (size_t i = 8; i < *len; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    b[i] = (uint8_t)x;
  }
  return b;
}

typedef struct ack {
  uint32_t k;
  uint32_t version;
} ack;

static void child_loop(const char *dir, int r, int fd) {
  mote_store *s = NULL;
  mote_store_error err;
  if (mote_store_open(dir, &s, &err) != MOTE_STORE_OK) _exit(3);
  for (uint32_t k = 0;; k++) {
    size_t len;
    uint8_t *b = module_bytes(r, k, &len);
    char text[64];
    snprintf(text, sizeof text, "round %d deploy %u", r, k);
    mote_store_file files[] = {{"etc/about.txt", (const uint8_t *)text, strlen(text)},
                               {"data.bin", b + 8, 2048}};
    mote_function_version v;
    /* Every other deploy has files. */
    mote_store_status st = deploy_guest(s, "k", b, len, files, k % 2 ? 2 : 0, NULL, &v, &err);
    free(b);
    if (st != MOTE_STORE_OK) _exit(4);
    ack a = {k, (uint32_t)v.version};
    mote_function_version_clear(&v);
    if (write(fd, &a, sizeof a) != sizeof a) _exit(5);
    mote_activation act = {.function = "k", .version = a.version, .start_ms = k, .outcome = "ok"};
    mote_store_activation_new_id(act.id);
    if (mote_store_activation_put(s, &act, 50, &err) != MOTE_STORE_OK) _exit(6);
  }
}

static int blob_ok(mote_store *s, const char *hash, const uint8_t *expect, size_t expect_len) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  mote_store_error err;
  if (mote_store_blob_read(s, hash, &bytes, &len, &err) != MOTE_STORE_OK) return 0;
  int ok = !expect || (len == expect_len && memcmp(bytes, expect, len) == 0);
  free(bytes);
  return ok;
}

TEST(kill_nine_loses_nothing_acknowledged) {
  char dir[64];
  fixture_dir(dir);
  srand((unsigned)time(NULL) ^ (unsigned)getpid());
  ack *acked = NULL;
  int *acked_round = NULL;
  size_t nacked = 0, cap = 0;
  const int rounds = 6;
  for (int r = 0; r < rounds; r++) {
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    if (pid == 0) {
      close(p[0]);
      child_loop(dir, r, p[1]);
    }
    close(p[1]);
    ack a;
    size_t this_round = 0;
    /* Every other round kills only after the first acknowledgement (the
     * read waits for it), so that some round has one whatever the load; the
     * others may kill before any, in the open or the first deploy. */
    bool have_first = r % 2 == 1 && read(p[0], &a, sizeof a) == (ssize_t)sizeof a;
    /* Then 20 to 400 ms: through open, first deploys, and steady state. */
    struct timespec ts = {0, (long)(20 + rand() % 380) * 1000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "the child failed on its own");
    while (have_first || read(p[0], &a, sizeof a) == (ssize_t)sizeof a) {
      have_first = false;
      if (nacked == cap) {
        cap = cap ? 2 * cap : 256;
        acked = realloc(acked, cap * sizeof *acked);
        acked_round = realloc(acked_round, cap * sizeof *acked_round);
      }
      acked_round[nacked] = r;
      acked[nacked++] = a;
      this_round++;
    }
    close(p[0]);

    /* Reopen: every acknowledged version of every round so far is there, with
     * the right bytes, and no row points at missing bytes. */
    mote_store *s = fixture_open(dir);
    mote_store_error err;
    uint64_t max_acked = 0;
    for (size_t i = 0; i < nacked; i++) {
      mote_function_version v;
      if (mote_store_get_version(s, MOTE_STORE_DEFAULT_NS, "k", acked[i].version, &v, &err) != MOTE_STORE_OK) {
        CHECK_MSG(0, err.message);
        continue;
      }
      size_t len;
      uint8_t *expect = module_bytes(acked_round[i], acked[i].k, &len);
      CHECK_MSG(blob_ok(s, v.module_hash, expect, len), "acknowledged module damaged");
      if (acked[i].k % 2) {
        char root[4096], path[4200];
        mote_store_files_path(s, v.files_hash, root, sizeof root);
        snprintf(path, sizeof path, "%s/data.bin", root);
        struct stat sb;
        CHECK_MSG(v.files_hash && stat(path, &sb) == 0 && sb.st_size == 2048,
                  "acknowledged files missing");
      } else {
        CHECK(v.files_hash == NULL);
      }
      free(expect);
      if (acked[i].version > max_acked) max_acked = acked[i].version;
      mote_function_version_clear(&v);
    }
    mote_function_version latest;
    if (nacked) {
      CHECK_EQ_INT(mote_store_get(s, MOTE_STORE_DEFAULT_NS, "k", &latest, &err), MOTE_STORE_OK);
      CHECK(latest.version >= max_acked);
      mote_function_version_clear(&latest);
    }

    sqlite3 *db = NULL;
    char dbpath[128];
    snprintf(dbpath, sizeof dbpath, "%s/mote.db", dir);
    CHECK(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    sqlite3_stmt *q = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT module_hash, files_hash FROM versions", -1, &q, NULL) ==
          SQLITE_OK);
    size_t rows = 0;
    while (q && sqlite3_step(q) == SQLITE_ROW) {
      rows++;
      CHECK_MSG(blob_ok(s, (const char *)sqlite3_column_text(q, 0), NULL, 0),
                "a version row points at a missing or damaged blob");
      const char *fh = (const char *)sqlite3_column_text(q, 1);
      if (fh) {
        char root[4096];
        struct stat sb;
        mote_store_files_path(s, fh, root, sizeof root);
        CHECK_MSG(stat(root, &sb) == 0 && S_ISDIR(sb.st_mode),
                  "a version row points at missing files");
      }
    }
    sqlite3_finalize(q);
    q = NULL;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, NULL) == SQLITE_OK);
    CHECK(q && sqlite3_step(q) == SQLITE_ROW &&
          strcmp((const char *)sqlite3_column_text(q, 0), "ok") == 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    CHECK(rows >= nacked);
    if (getenv("MOTE_TEST_VERBOSE"))
      fprintf(stderr, "round %d: %zu acknowledged (%zu in all), %zu rows\n", r, this_round,
              nacked, rows);
    mote_store_close(s);
  }
  CHECK_MSG(nacked > 0, "no deploy was acknowledged in any round");
  /* The temporary files of the dead children were swept by the reopen. */
  mote_store *s = fixture_open(dir);
  mote_store_close(s);
  char tmp[128], cmd[256];
  snprintf(tmp, sizeof tmp, "%s/tmp", dir);
  /* this process's lock file stays (base/tmpdir.h) */
  snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s | grep -v 'lock$')\"", tmp);
  CHECK_MSG(system(cmd) == 0, "tmp/ not cleaned after the writers died");
  free(acked);
  free(acked_round);
  fixture_rm(dir);
}

RUN_TESTS(concurrent_deploys_and_activations, kill_nine_loses_nothing_acknowledged)
