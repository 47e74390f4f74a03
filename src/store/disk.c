/*
 * store: bytes on disk, content-addressed and written atomically.
 *
 *   DIR/blobs/<hash>      a module: BLAKE2b-256 of its bytes, hex
 *   DIR/files/<hash>/...  a bundle's files: BLAKE2b-256 of the canonical list
 *                         of (path, bytes), sorted by path
 *   DIR/tmp/<pid>.<nonce>.<n>.*  work in progress of process <pid>; the
 *                         nonce (random, one per process) tells this
 *                         process's from a dead one's of the same pid (a
 *                         restart as PID 1 in a container), which the next
 *                         open removes: an entry left under the same
 *                         pid stayed for ever, and the new process's same
 *                         name then failed its O_EXCL write
 *
 * Every write goes to DIR/tmp first, is fsync'ed (files, then the directories
 * of a tree), renamed into place, and the parent directory is fsync'ed: after
 * a crash a final name either is absent or names complete bytes. An entry that
 * already exists is reused after a check (a blob's hash, a tree's file sizes);
 * one that fails the check is replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/tmpdir.h"
#include "store_internal.h"

#define PATH_CAP 4096
#define BUNDLE_PATH_MAX 1024

void store_hash_hex(const uint8_t *data, size_t len, char out[STORE_HASH_HEX]) {
  mote_hash_bytes(data, len, out);
}

int store_fsync_dir(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

static int write_all(int fd, const uint8_t *data, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, data, len > (1u << 30) ? (1u << 30) : len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Creates `path` (relative to dirfd) with `len` bytes, fsync'ed; -1 (errno). */
static int write_durable_at(int dirfd, const char *path, const uint8_t *data, size_t len) {
  int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444);
  if (fd < 0) return -1;
  if (write_all(fd, data, len) != 0 || fsync(fd) != 0) {
    int saved = errno;
    close(fd);
    unlinkat(dirfd, path, 0);
    errno = saved;
    return -1;
  }
  return close(fd);
}

void store_tmp_name(mote_store *s, const char *kind, char *out, size_t cap) {
  uint64_t n = __atomic_fetch_add(&s->tmp_seq, 1, __ATOMIC_RELAXED);
  char prefix[MOTE_TMP_PREFIX_MAX];
  mote_tmp_prefix(prefix);
  snprintf(out, cap, "%s/tmp/%s%llu.%s", s->dir, prefix, (unsigned long long)n, kind);
}

/* nftw has no user pointer: a walk's first error is kept per thread. */
static __thread int walk_errno;

static int fsync_dir_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb, (void)ftw;
  if (type == FTW_DP && store_fsync_dir(path) != 0 && !walk_errno) walk_errno = errno;
  return 0;
}

mote_store_status store_put_blob(mote_store *s, const uint8_t *data, size_t len,
                                 char hash[STORE_HASH_HEX], mote_store_error *err) {
  char final[PATH_CAP], tmp[PATH_CAP], blobs[PATH_CAP], have[STORE_HASH_HEX];
  store_hash_hex(data, len, hash);
  mote_store_blob_path(s, hash, final, sizeof final);
  snprintf(blobs, sizeof blobs, "%s/blobs", s->dir);

  /* Bytes already there are claimed first (their time renewed: a sweep
   * leaves them alone now), then checked. */
  int fd = store_claim(s, final) ? open(final, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
  if (fd >= 0) {
    uint64_t size = 0;
    /* Reuse only what hashes right; fsync in case the process that wrote it
     * died before making it durable (its rename may not be on disk yet). */
    bool good = mote_hash_fd(fd, have, &size) == 0 && size == len && strcmp(have, hash) == 0 &&
                fsync(fd) == 0;
    close(fd);
    if (good) {
      if (store_fsync_dir(blobs) != 0)
        return store_fail(err, store_io_status(errno), "cannot sync %s: %s", blobs, strerror(errno));
      return MOTE_STORE_OK;
    }
    /* Corrupt or truncated: fall through and replace it. */
  }

  store_tmp_name(s, "blob", tmp, sizeof tmp);
  if (write_durable_at(AT_FDCWD, tmp, data, len) != 0)
    return store_fail(err, store_io_status(errno), "cannot write %s: %s", tmp, strerror(errno));
  if (rename(tmp, final) != 0) {
    int saved = errno;
    unlink(tmp);
    return store_fail(err, store_io_status(saved), "cannot rename %s to %s: %s", tmp, final,
                      strerror(saved));
  }
  if (store_fsync_dir(blobs) != 0)
    return store_fail(err, store_io_status(errno), "cannot sync %s: %s", blobs, strerror(errno));
  return MOTE_STORE_OK;
}

/* A bundle path: relative, components neither empty nor "." nor "..", no
 * control bytes (the index of file sets lists paths a line each). */
static bool valid_bundle_path(const char *p) {
  if (!p || !*p || p[0] == '/' || strlen(p) > BUNDLE_PATH_MAX) return false;
  for (const char *c = p; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f) return false;
  const char *c = p;
  for (;;) {
    const char *slash = strchr(c, '/');
    size_t n = slash ? (size_t)(slash - c) : strlen(c);
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) return false;
    if (n > NAME_MAX) return false; /* a name the file system refuses (ENAMETOOLONG) */
    if (!slash) return true;
    c = slash + 1;
  }
}

static int cmp_files(const void *a, const void *b) {
  const mote_store_file *fa = *(const mote_store_file *const *)a;
  const mote_store_file *fb = *(const mote_store_file *const *)b;
  return strcmp(fa->path, fb->path);
}

static void put_u64(crypto_generichash_state *st, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
  crypto_generichash_update(st, b, sizeof b);
}

/* Whether an existing tree holds every file with its size: 1 yes, 0 no (a
 * file missing or different: damaged), -1 it could not be told (errno: no
 * descriptor left, I/O...), which must not be taken for damage: the tree
 * would be replaced, and removed if the fresh copy failed too. */
static int tree_matches(const char *root, const mote_store_file *const *sorted, size_t n) {
  int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
  int ok = 1;
  for (size_t i = 0; i < n && ok == 1; i++) {
    struct stat sb;
    if (fstatat(dfd, sorted[i]->path, &sb, AT_SYMLINK_NOFOLLOW) != 0)
      ok = errno == ENOENT || errno == ENOTDIR ? 0 : -1;
    else if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != sorted[i]->len)
      ok = 0;
  }
  int e = errno;
  close(dfd);
  errno = e;
  return ok;
}

/* Writes the files under the (new, empty) directory `root`. */
static mote_store_status write_tree(const char *root, const mote_store_file *const *sorted,
                                    size_t n, mote_store_error *err) {
  int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return store_fail(err, store_io_status(errno), "cannot open %s: %s", root, strerror(errno));
  mote_store_status st = MOTE_STORE_OK;
  char dir[BUNDLE_PATH_MAX + 1];
  for (size_t i = 0; i < n && st == MOTE_STORE_OK; i++) {
    const char *p = sorted[i]->path;
    /* Parent directories, each prefix in turn. */
    int made = 0; /* a parent that could not be made, and why */
    for (const char *slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
      memcpy(dir, p, (size_t)(slash - p));
      dir[slash - p] = 0;
      if (mkdirat(dfd, dir, 0755) != 0 && errno != EEXIST) {
        made = errno;
        break;
      }
    }
    if (made && made != ENOTDIR) { /* ENOTDIR: a file of the name, the clash below */
      st = store_fail(err, store_io_status(made), "cannot create the directories of bundle file "
                      "\"%s\" under %s: %s", p, root, strerror(made));
    } else if (write_durable_at(dfd, p, sorted[i]->data, sorted[i]->len) != 0) {
      int e = errno;
      if (e == ENOTDIR || e == EEXIST || e == EISDIR || e == ENOENT)
        st = store_fail(err, MOTE_STORE_INVALID,
                        "bundle file \"%s\" clashes with a directory or file of the same name", p);
      else
        st = store_fail(err, store_io_status(e), "cannot write bundle file \"%s\" under %s: %s", p,
                        root, strerror(e));
    }
  }
  close(dfd);
  if (st != MOTE_STORE_OK) return st;
  walk_errno = 0;
  if (nftw(root, fsync_dir_cb, 16, FTW_DEPTH | FTW_PHYS) != 0 || walk_errno)
    return store_fail(err, store_io_status(walk_errno ? walk_errno : errno), "cannot sync the directories of %s: %s", root,
                      strerror(walk_errno ? walk_errno : errno));
  return MOTE_STORE_OK;
}

mote_store_status store_put_files(mote_store *s, const mote_store_file *files, size_t nfiles,
                                  char hash[STORE_HASH_HEX], mote_store_error *err) {
  mote_store_status st = MOTE_STORE_OK;
  char final[PATH_CAP], tmp[PATH_CAP], trash[PATH_CAP] = "", parent[PATH_CAP];
  const mote_store_file **sorted = malloc(nfiles * sizeof *sorted);
  if (!sorted) return store_fail(err, MOTE_STORE_IO, "out of memory");
  for (size_t i = 0; i < nfiles; i++) {
    if (!valid_bundle_path(files[i].path)) {
      st = store_fail(err, MOTE_STORE_INVALID,
                      "invalid bundle path \"%.200s\": it must be relative, without empty, "
                      "\".\" or \"..\" parts or control bytes, at most %d bytes and %d a part",
                      files[i].path ? files[i].path : "(null)", BUNDLE_PATH_MAX, NAME_MAX);
      goto out;
    }
    if (!files[i].data && files[i].len > 0) {
      st = store_fail(err, MOTE_STORE_INVALID, "bundle file \"%s\" has no data", files[i].path);
      goto out;
    }
    sorted[i] = &files[i];
  }
  qsort(sorted, nfiles, sizeof *sorted, cmp_files);

  crypto_generichash_state hs;
  unsigned char digest[32];
  static const char domain[] = "mote-files-v1";
  crypto_generichash_init(&hs, NULL, 0, sizeof digest);
  crypto_generichash_update(&hs, (const unsigned char *)domain, sizeof domain);
  put_u64(&hs, nfiles);
  for (size_t i = 0; i < nfiles; i++) {
    if (i > 0 && strcmp(sorted[i - 1]->path, sorted[i]->path) == 0) {
      st = store_fail(err, MOTE_STORE_INVALID, "bundle has the file \"%s\" twice",
                      sorted[i]->path);
      goto out;
    }
    size_t plen = strlen(sorted[i]->path);
    put_u64(&hs, plen);
    crypto_generichash_update(&hs, (const unsigned char *)sorted[i]->path, plen);
    put_u64(&hs, sorted[i]->len);
    if (sorted[i]->len) crypto_generichash_update(&hs, sorted[i]->data, sorted[i]->len);
  }
  crypto_generichash_final(&hs, digest, sizeof digest);
  mote_hex(digest, sizeof digest, hash);

  mote_store_files_path(s, hash, final, sizeof final);
  snprintf(parent, sizeof parent, "%s/files", s->dir);
  struct stat sb;
  if (store_claim(s, final) && lstat(final, &sb) == 0) {
    int matches = S_ISDIR(sb.st_mode) ? tree_matches(final, sorted, nfiles) : 0;
    if (matches < 0) {
      st = store_fail(err, store_io_status(errno), "cannot check %s: %s", final, strerror(errno));
      goto out;
    }
    if (matches) {
      /* As for blobs: the rename that made it may not be durable yet. */
      if (store_fsync_dir(parent) != 0)
        st = store_fail(err, store_io_status(errno), "cannot sync %s: %s", parent, strerror(errno));
      goto out;
    }
    /* Damaged: move it aside, then install a fresh copy. */
    store_tmp_name(s, "trash", trash, sizeof trash);
    if (rename(final, trash) != 0 && errno != ENOENT) {
      st = store_fail(err, store_io_status(errno), "cannot move damaged %s aside: %s", final,
                      strerror(errno));
      goto out;
    }
  }

  store_tmp_name(s, "files", tmp, sizeof tmp);
  if (mkdir(tmp, 0755) != 0) {
    st = store_fail(err, store_io_status(errno), "cannot create %s: %s", tmp, strerror(errno));
    goto out;
  }
  st = write_tree(tmp, sorted, nfiles, err);
  if (st == MOTE_STORE_OK && rename(tmp, final) != 0) {
    if (errno == ENOTEMPTY || errno == EEXIST) {
      /* Another thread installed the same tree first: it is complete. */
      mote_remove_tree(tmp);
    } else {
      st = store_fail(err, store_io_status(errno), "cannot rename %s to %s: %s", tmp, final,
                      strerror(errno));
    }
  }
  if (st != MOTE_STORE_OK) {
    mote_remove_tree(tmp);
    /* the tree moved aside goes back: damaged, it is still what the
     * versions that name it had; nothing may take it from them */
    if (trash[0] && rename(trash, final) != 0)
      fprintf(stderr, "mote: the file set %s stays at %s: %s\n", final, trash, strerror(errno));
    trash[0] = 0;
    goto out;
  }
  if (store_fsync_dir(parent) != 0)
    st = store_fail(err, store_io_status(errno), "cannot sync %s: %s", parent, strerror(errno));
out:
  if (trash[0]) mote_remove_tree(trash);
  free(sorted);
  return st;
}

void store_clean_tmp(mote_store *s) {
  char path[PATH_CAP];
  snprintf(path, sizeof path, "%s/tmp", s->dir);
  if (mote_tmp_join(path) != 0)
    fprintf(stderr, "mote: cannot lock my work directory in %s: %s\n", path, strerror(errno));
  mote_tmp_clean(path); /* at every open, also of a directory this process joined before */
}

mote_store_status mote_store_put_files(mote_store *s, const mote_store_file *files, size_t nfiles,
                                       char hash[MOTE_STORE_HASH_HEX], mote_store_error *err) {
  store_ok(err);
  return store_put_files(s, files, nfiles, hash, err);
}

mote_store_status mote_store_put_blob(mote_store *s, const uint8_t *data, size_t len,
                                      char hash[MOTE_STORE_HASH_HEX], mote_store_error *err) {
  store_ok(err);
  return store_put_blob(s, data, len, hash, err);
}
