/*
 * file_sets: what a version's files are, kept when they are stored, so that
 * a record shows them (count, bytes, the paths of a short list) without a
 * walk of DIR/files/<hash> per request.
 *
 *   file_sets(hash, count, bytes, paths)   one row per files directory,
 *                                          written in the deploy's
 *                                          transaction; paths: every path,
 *                                          '\n' between, when there are at
 *                                          most MOTE_STORE_FILES_LISTED, else
 *                                          NULL
 *
 * Paths are listed in the order of a walk of the tree whose entries are
 * sorted by name (a directory's files right after its name), as `ls -R`
 * shows them. A data directory of an older mote has versions with files
 * and no row: the open walks each of their directories once
 * (store_index_file_sets); a directory that is missing then gets no row,
 * and its versions say so (files_indexed false).
 */
#include <fts.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <limits.h>
#include <sys/stat.h>

#include "store_internal.h"

/* Walk order: component by component, each compared by name. */
static int cmp_walk(const char *a, const char *b) {
  for (;;) {
    size_t na = strcspn(a, "/"), nb = strcspn(b, "/");
    size_t n = na < nb ? na : nb;
    int c = memcmp(a, b, n);
    if (c) return c;
    if (na != nb) return na < nb ? -1 : 1;
    if (!a[na] || !b[nb]) return !a[na] ? (!b[nb] ? 0 : -1) : 1;
    a += na + 1;
    b += nb + 1;
  }
}

static int cmp_paths(const void *x, const void *y) {
  return cmp_walk(*(const char *const *)x, *(const char *const *)y);
}

char *store_file_list(const char *const *paths, size_t n) {
  if (n == 0 || n > MOTE_STORE_FILES_LISTED) return NULL;
  const char *sorted[MOTE_STORE_FILES_LISTED];
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    sorted[i] = paths[i];
    len += strlen(paths[i]) + 1;
  }
  qsort(sorted, n, sizeof *sorted, cmp_paths);
  char *text = malloc(len), *p = text;
  if (!text) return NULL;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(sorted[i]);
    memcpy(p, sorted[i], l);
    p += l;
    *p++ = i + 1 < n ? '\n' : '\0';
  }
  return text;
}

mote_store_status store_file_set_put(store_conn *w, const char *hash, uint64_t count,
                                     uint64_t bytes, const char *paths, mote_store_error *err) {
  sqlite3_stmt *q = store_stmt(w, ST_FILES_INSERT);
  if (!q) return store_db_fail(err, w->db, "indexing the files");
  sqlite3_bind_text(q, 1, hash, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, (int64_t)count);
  sqlite3_bind_int64(q, 3, (int64_t)bytes);
  if (paths) sqlite3_bind_text(q, 4, paths, -1, SQLITE_STATIC);
  else sqlite3_bind_null(q, 4);
  int rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) return store_db_fail(err, w->db, "indexing the files");
  return MOTE_STORE_OK;
}

static int cmp_fts(const FTSENT **x, const FTSENT **y) {
  return strcmp((*x)->fts_name, (*y)->fts_name);
}

/* One directory's figures, from a walk; false when it cannot be read. */
static bool walk(const char *root, uint64_t *count, uint64_t *bytes, char **paths) {
  char *roots[] = {(char *)root, NULL};
  FTS *fts = fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, cmp_fts);
  if (!fts) return false;
  size_t rootlen = strlen(root), n = 0;
  char *listed[MOTE_STORE_FILES_LISTED];
  bool ok = true;
  *count = *bytes = 0;
  FTSENT *f;
  while ((f = fts_read(fts))) {
    if (f->fts_level == 0 && f->fts_info != FTS_D && f->fts_info != FTS_DP) ok = false;
    if (f->fts_info == FTS_DNR || f->fts_info == FTS_ERR || f->fts_info == FTS_NS) ok = false;
    if (f->fts_info != FTS_F) continue;
    (*count)++;
    *bytes += (uint64_t)f->fts_statp->st_size;
    if (n < MOTE_STORE_FILES_LISTED && f->fts_pathlen > rootlen)
      listed[n++] = strdup(f->fts_path + rootlen + 1);
  }
  fts_close(fts);
  *paths = NULL;
  bool all = true;
  for (size_t i = 0; i < n; i++) all &= listed[i] != NULL;
  if (ok && all && *count <= MOTE_STORE_FILES_LISTED)
    *paths = store_file_list((const char *const *)listed, n);
  for (size_t i = 0; i < n; i++) free(listed[i]);
  return ok && all;
}

void store_index_file_sets(mote_store *s) {
  store_conn *w = &s->writer;
  sqlite3_stmt *q = NULL;
  if (sqlite3_prepare_v2(w->db,
                         "SELECT DISTINCT files_hash FROM versions WHERE files_hash IS NOT NULL "
                         "AND files_hash NOT IN (SELECT hash FROM file_sets)",
                         -1, &q, NULL) != SQLITE_OK)
    return;
  char **hashes = NULL;
  size_t n = 0, cap = 0;
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *h = (const char *)sqlite3_column_text(q, 0);
    if (!h) continue;
    if (n == cap) {
      size_t nc = cap ? 2 * cap : 16;
      char **g = realloc(hashes, nc * sizeof *g);
      if (!g) break;
      hashes = g;
      cap = nc;
    }
    if (!(hashes[n] = strdup(h))) break;
    n++;
  }
  sqlite3_finalize(q);
  for (size_t i = 0; i < n; i++) {
    char root[PATH_MAX], *paths = NULL;
    uint64_t count, bytes;
    mote_store_files_path(s, hashes[i], root, sizeof root);
    mote_store_error err;
    if (walk(root, &count, &bytes, &paths)) {
      pthread_mutex_lock(&s->write_lock);
      if (store_file_set_put(w, hashes[i], count, bytes, paths, &err) != MOTE_STORE_OK)
        fprintf(stderr, "mote: cannot index the files %s: %s\n", hashes[i], err.message);
      pthread_mutex_unlock(&s->write_lock);
    } else {
      fprintf(stderr, "mote: the files %s of a stored version cannot be read: its versions "
              "show them as missing\n", root);
    }
    free(paths);
    free(hashes[i]);
  }
  free(hashes);
}
