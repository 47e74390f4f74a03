/*
 * sweep: blobs (blobs/HASH: modules, snapshots, a layer's own bytes such as
 * OpenWhisk's zips) and file sets (files/HASH) that nothing names any more,
 * removed. They are content-addressed and shared, so nothing removes them
 * when a version goes: a deleted function's, a replaced snapshot's and a
 * refused deploy's bytes stay until a sweep.
 *
 * What names bytes: a version's module_hash, files_hash and meta text (a
 * layer above names its own blobs there: any 64 hex digits in a row), a
 * snapshot, and the caller's `keep` texts (a cluster's records, which this
 * node may not have applied yet: their hashes and meta). What renews them: a put (disk.c) or a
 * hold (a version about to name bytes already stored) sets their time to
 * now, and a sweep leaves alone whatever was renewed within its grace: a
 * deploy writes its bytes before its version row, with its compile and
 * initialisation in between. The renewal (store_claim) and a sweep's look at
 * one entry hold sweep_lock, so an entry is either renewed before the look
 * (and kept) or moved away before the claim (and the put writes it again).
 *
 * An entry that goes is first renamed into tmp/ under the lock, then
 * removed; a crash in between leaves it to store_clean_tmp.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/hash.h"
#include "base/map.h"
#include "base/tmpdir.h"
#include "store_internal.h"

bool store_claim(mote_store *s, const char *path) {
  pthread_mutex_lock(&s->sweep_lock);
  bool there = utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW) == 0;
  int why = errno;
  if (!there && why != ENOENT) { /* another owner's, say: there, not renewed */
    struct stat sb;
    there = lstat(path, &sb) == 0;
    if (there) fprintf(stderr, "mote: cannot renew %s against sweeps: %s\n", path, strerror(why));
  }
  pthread_mutex_unlock(&s->sweep_lock);
  return there;
}

bool mote_store_hold(mote_store *s, const char *module_hash, const char *files_hash) {
  char path[4096];
  mote_store_blob_path(s, module_hash, path, sizeof path);
  if (!store_claim(s, path)) return false;
  if (!files_hash) return true;
  mote_store_files_path(s, files_hash, path, sizeof path);
  return store_claim(s, path);
}

/* Adds a hash (n bytes at h) to the names; false when out of memory. */
static bool name(mote_map *names, const char *h, size_t n) {
  char key[STORE_HASH_HEX];
  if (!h || n != sizeof key - 1) return true;
  memcpy(key, h, n);
  key[n] = '\0';
  if (!mote_is_hash_hex(key)) return true;
  return mote_map_get(names, key) || mote_map_put(names, key, (void *)1, NULL) == 0;
}

/* Every run of exactly 64 hex digits in a meta text. */
static bool name_in_text(mote_map *names, const char *text) {
  for (const char *p = text; p && *p;) {
    const char *q = p;
    while ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f')) q++;
    if (!name(names, p, (size_t)(q - p))) return false;
    p = *q ? q + 1 : q;
  }
  return true;
}

/* What the versions and snapshots name, read on one reader connection. */
static mote_store_status gather(mote_store *s, mote_map *names, mote_store_error *err) {
  store_conn *c = store_reader_take(s, err);
  if (!c) return err ? err->status : MOTE_STORE_IO;
  static const char *const sql[] = {"SELECT module_hash, files_hash, meta FROM versions",
                                    "SELECT hash, NULL, NULL FROM snapshots"};
  mote_store_status st = MOTE_STORE_OK;
  for (size_t i = 0; i < 2 && st == MOTE_STORE_OK; i++) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(c->db, sql[i], -1, &q, NULL) != SQLITE_OK) {
      st = store_db_fail(err, c->db, "reading what the versions name");
      break;
    }
    int rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
      const char *m = (const char *)sqlite3_column_text(q, 0);
      const char *f = (const char *)sqlite3_column_text(q, 1);
      const char *meta = (const char *)sqlite3_column_text(q, 2);
      if (!name(names, m, m ? strlen(m) : 0) || !name(names, f, f ? strlen(f) : 0) ||
          !name_in_text(names, meta)) {
        rc = SQLITE_NOMEM;
        break;
      }
    }
    if (rc != SQLITE_DONE) st = store_db_fail(err, c->db, "reading what the versions name");
    sqlite3_finalize(q);
  }
  store_reader_give(s, c);
  return st;
}

static __thread uint64_t tree_bytes;
static int add_size(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)path, (void)ftw;
  if (type == FTW_F) tree_bytes += (uint64_t)sb->st_size;
  return 0;
}

/* One directory (blobs or files): its unnamed entries older than `before`
 * go. */
static mote_store_status sweep_dir(mote_store *s, const char *sub, const mote_map *names,
                                   struct timespec before, mote_store_sweep_report *out,
                                   mote_store_error *err) {
  char dir[4096], path[4096], aside[4096];
  snprintf(dir, sizeof dir, "%s/%s", s->dir, sub);
  DIR *d = opendir(dir);
  if (!d) return store_fail(err, store_io_status(errno), "cannot read %s: %s", dir, strerror(errno));
  bool files = !strcmp(sub, "files");
  struct dirent *e;
  errno = 0;
  while ((e = readdir(d))) {
    if (!mote_is_hash_hex(e->d_name) || mote_map_get(names, e->d_name)) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct stat sb;
    bool gone = false;
    pthread_mutex_lock(&s->sweep_lock);
    if (lstat(path, &sb) == 0) {
      if (sb.st_mtim.tv_sec > before.tv_sec ||
          (sb.st_mtim.tv_sec == before.tv_sec && sb.st_mtim.tv_nsec >= before.tv_nsec)) {
        out->kept_young++;
      } else {
        store_tmp_name(s, "swept", aside, sizeof aside);
        gone = rename(path, aside) == 0;
        if (!gone) fprintf(stderr, "mote: cannot sweep %s: %s\n", path, strerror(errno));
      }
    }
    pthread_mutex_unlock(&s->sweep_lock);
    if (gone) {
      if (files) {
        tree_bytes = 0;
        nftw(aside, add_size, 16, FTW_PHYS);
        out->bytes += tree_bytes;
        out->file_sets++;
      } else {
        out->bytes += (uint64_t)sb.st_size;
        out->blobs++;
      }
      mote_remove_tree(aside);
    }
    errno = 0;
  }
  int saved = errno;
  closedir(d);
  if (saved) return store_fail(err, store_io_status(saved), "cannot read %s: %s", dir,
                               strerror(saved));
  return MOTE_STORE_OK;
}

mote_store_status mote_store_sweep(mote_store *s, const char *const *keep, size_t nkeep,
                                   uint32_t grace_s, mote_store_sweep_report *out,
                                   mote_store_error *err) {
  store_ok(err);
  memset(out, 0, sizeof *out);
  struct timespec before;
  clock_gettime(CLOCK_REALTIME, &before);
  before.tv_sec -= (time_t)grace_s;
  mote_map *names = mote_map_new();
  if (!names) return store_fail(err, MOTE_STORE_IO, "out of memory");
  mote_store_status st = MOTE_STORE_OK;
  for (size_t i = 0; i < nkeep && st == MOTE_STORE_OK; i++)
    if (!name_in_text(names, keep[i])) st = store_fail(err, MOTE_STORE_IO, "out of memory");
  if (st == MOTE_STORE_OK) st = gather(s, names, err);
  if (st == MOTE_STORE_OK) st = sweep_dir(s, "blobs", names, before, out, err);
  if (st == MOTE_STORE_OK) st = sweep_dir(s, "files", names, before, out, err);
  mote_map_free(names); /* its values are not pointers */
  return st;
}
