/*
 * The path_* functions. Opens and lookups resolve the whole path beneath the
 * guest's directory fd (sandbox.c); changes resolve the parent beneath it
 * and act on the last component with the *at syscall, which does not follow
 * it. Errors of resolution leaving the directory are ENOTCAPABLE; changes
 * under a read-only preopen are EROFS.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

#define ERR() mote_wasi_errno(errno)
#define PERR() wasi_path_errno(errno)

/* A directory fd holding `need`, and the guest path as a host string. */
static uint32_t dir_and_path(mote_wasi *w, uint32_t fd, uint64_t need, uint32_t ptr, uint32_t len,
                             wasi_fd **d, char *path) {
  uint32_t e = wasi_fd_get(w, fd, need, d);
  if (e) return e;
  if ((e = wasi_path(w, ptr, len, path))) return e;
  if ((*d)->kind != FD_HOST || (*d)->filetype != W_FT_DIR) return W_ENOTDIR;
  return 0;
}

static bool is_dots(const char *name) {
  return !strcmp(name, ".") || !strcmp(name, "..");
}

/* For a last component of "." or "..": ENOTCAPABLE if the whole path leaves
 * the directory, else `otherwise` (what Linux says for that operation). */
static uint32_t dots_errno(int dirfd, const char *path, uint32_t otherwise) {
  int fd = wasi_openat_beneath(dirfd, path, O_PATH, 0);
  if (fd < 0) return PERR();
  close(fd);
  return otherwise;
}

/* A path ending in '/' names a directory. For a destination of path_symlink
 * or path_link (which make a non-directory) the answer is: ENOENT when
 * nothing is there, EEXIST when it is a directory, ENOTDIR when it is not
 * (as the WASI test suite asks; Linux says EEXIST for anything that exists).
 * For the source of path_link: EPERM when it is a directory (no hard links
 * to those), else the lookup's error. The whole path is resolved beneath the
 * directory, so these answers leak nothing outside it. */
static uint32_t slash_errno(int dirfd, const char *path, uint32_t if_dir) {
  int fd = wasi_openat_beneath(dirfd, path, O_PATH | O_DIRECTORY, 0);
  if (fd < 0) return PERR();
  close(fd);
  return if_dir;
}

/* A path_open that would change something under a read-only preopen: EROFS,
 * unless the path names a directory (EISDIR, as a read-only mount answers a
 * write-open of one) or does not resolve (its own error: ENOENT without
 * O_CREAT, ENOTCAPABLE for a way out). What it tells is what
 * path_filestat_get tells anyway; nothing is opened for writing. */
static uint32_t read_only_open_errno(int dirfd, const char *path, uint32_t oflags, int nofollow) {
  struct stat st;
  int fd = wasi_openat_beneath(dirfd, path, O_PATH | nofollow, 0);
  if (fd < 0) return errno == ENOENT && (oflags & W_O_CREAT) ? W_EROFS : PERR();
  bool dir = fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
  close(fd);
  return dir ? W_EISDIR : W_EROFS;
}

uint32_t wasi_path_open(void *ctx, uint32_t dirfd, uint32_t dirflags, uint32_t path_ptr,
                        uint32_t path_len, uint32_t oflags, uint64_t rights, uint64_t inheriting,
                        uint32_t fdflags, uint32_t out) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char path[PATH_MAX];
  WASI_ENTER();
  uint64_t need = R_PATH_OPEN;
  if (oflags & W_O_CREAT) need |= R_PATH_CREATE_FILE;
  if (oflags & W_O_TRUNC) need |= R_PATH_FILESTAT_SET_SIZE;
  uint32_t e = dir_and_path(w, dirfd, need, path_ptr, path_len, &d, path);
  if (e) WASI_RETURN(e);
  if (!wasi_mem(w, out, 4)) WASI_RETURN(W_EFAULT);
  if (oflags & ~0xfu || fdflags & ~0x1fu) WASI_RETURN(W_EINVAL);
  /* As Node: asking for more than the directory passes on is refused. */
  if ((rights & ~d->rights_inheriting) || (inheriting & ~d->rights_inheriting))
    WASI_RETURN(W_ENOTCAPABLE);
  bool writable = d->writable;
  int dir_host = d->host;
  uint64_t dir_inheriting = d->rights_inheriting;
  bool rd = rights & (R_FD_READ | R_FD_READDIR);
  bool wr = rights & (R_FD_DATASYNC | R_FD_WRITE | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE);
  int nofollow = dirflags & W_LOOKUP_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW;
  if (!writable) {
    if ((oflags & (W_O_CREAT | W_O_TRUNC)) || (rights & R_FD_WRITE) || (fdflags & W_FDFLAG_APPEND))
      WASI_RETURN(read_only_open_errno(dir_host, path, oflags, nofollow));
    wr = false;
    rights &= ~R_FILE_MUTATING;
  }
  int flags = wr ? (rd ? O_RDWR : O_WRONLY) : O_RDONLY;
  if (oflags & W_O_CREAT) flags |= O_CREAT;
  if (oflags & W_O_DIRECTORY) flags |= O_DIRECTORY;
  if (oflags & W_O_EXCL) flags |= O_EXCL;
  if (oflags & W_O_TRUNC) flags |= O_TRUNC;
  if (fdflags & W_FDFLAG_APPEND) flags |= O_APPEND;
  if (fdflags & W_FDFLAG_DSYNC) flags |= O_DSYNC;
  if (fdflags & (W_FDFLAG_SYNC | W_FDFLAG_RSYNC)) flags |= O_SYNC;
  flags |= nofollow;
  uint32_t slot;
  if ((e = wasi_fd_alloc(w, &slot))) WASI_RETURN(e); /* d is stale from here */
  /* O_NONBLOCK while opening: a FIFO must not block the open. */
  int host = wasi_openat_beneath(dir_host, path, flags | O_NONBLOCK, 0666);
  if (host < 0) WASI_RETURN(PERR());
  if (!(fdflags & W_FDFLAG_NONBLOCK)) fcntl(host, F_SETFL, fcntl(host, F_GETFL) & ~O_NONBLOCK);
  struct stat st;
  if (fstat(host, &st) != 0) {
    e = ERR();
    close(host);
    WASI_RETURN(e);
  }
  wasi_fd *f = &w->fds[slot];
  f->kind = FD_HOST;
  f->host = host;
  f->owned = true;
  f->writable = writable;
  f->counted = true;
  f->stdio = -1;
  f->filetype = wasi_filetype(st.st_mode);
  f->fdflags = 0;
  f->rights_base = rights & (f->filetype == W_FT_DIR ? R_DIR_BASE : R_FILE_BASE);
  f->rights_inheriting = inheriting & dir_inheriting;
  w->open_counted++;
  wasi_store_u32(w, out, slot);
  WASI_RETURN(0);
}

uint32_t wasi_path_create_directory(void *ctx, uint32_t fd, uint32_t ptr, uint32_t len) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char path[PATH_MAX], name[NAME_MAX + 1];
  bool slash;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, fd, R_PATH_CREATE_DIRECTORY, ptr, len, &d, path);
  if (e) WASI_RETURN(e);
  int parent = wasi_open_parent(d->host, path, name, &slash);
  if (parent < 0) WASI_RETURN(PERR());
  if (is_dots(name)) e = dots_errno(d->host, path, W_EEXIST);
  else if (!d->writable) e = W_EROFS;
  else if (mkdirat(parent, name, 0777) != 0) e = ERR();
  close(parent);
  WASI_RETURN(e);
}

uint32_t wasi_path_remove_directory(void *ctx, uint32_t fd, uint32_t ptr, uint32_t len) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char path[PATH_MAX], name[NAME_MAX + 1];
  bool slash;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, fd, R_PATH_REMOVE_DIRECTORY, ptr, len, &d, path);
  if (e) WASI_RETURN(e);
  int parent = wasi_open_parent(d->host, path, name, &slash);
  if (parent < 0) WASI_RETURN(PERR());
  if (is_dots(name)) e = dots_errno(d->host, path, name[1] ? W_ENOTEMPTY : W_EINVAL);
  else if (!d->writable) e = W_EROFS;
  else if (unlinkat(parent, name, AT_REMOVEDIR) != 0) e = ERR();
  close(parent);
  WASI_RETURN(e);
}

uint32_t wasi_path_unlink_file(void *ctx, uint32_t fd, uint32_t ptr, uint32_t len) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char path[PATH_MAX], name[NAME_MAX + 1];
  bool slash;
  struct stat st;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, fd, R_PATH_UNLINK_FILE, ptr, len, &d, path);
  if (e) WASI_RETURN(e);
  int parent = wasi_open_parent(d->host, path, name, &slash);
  if (parent < 0) WASI_RETURN(PERR());
  if (is_dots(name)) e = dots_errno(d->host, path, W_EISDIR);
  else if (!d->writable) e = W_EROFS;
  else if (slash) /* "x/" names a directory: never a file to unlink */
    e = fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) != 0 ? ERR()
        : S_ISDIR(st.st_mode) ? W_EISDIR : W_ENOTDIR;
  else if (unlinkat(parent, name, 0) != 0) e = ERR();
  close(parent);
  WASI_RETURN(e);
}

uint32_t wasi_path_rename(void *ctx, uint32_t fd, uint32_t old_ptr, uint32_t old_len,
                          uint32_t new_fd, uint32_t new_ptr, uint32_t new_len) {
  mote_wasi *w = ctx;
  wasi_fd *d1, *d2;
  char p1[PATH_MAX], p2[PATH_MAX], n1[NAME_MAX + 1], n2[NAME_MAX + 1];
  bool s1, s2;
  struct stat st;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, fd, R_PATH_RENAME_SOURCE, old_ptr, old_len, &d1, p1);
  if (!e) e = dir_and_path(w, new_fd, R_PATH_RENAME_TARGET, new_ptr, new_len, &d2, p2);
  if (e) WASI_RETURN(e);
  int a = wasi_open_parent(d1->host, p1, n1, &s1);
  if (a < 0) WASI_RETURN(PERR());
  int b = wasi_open_parent(d2->host, p2, n2, &s2);
  if (b < 0) {
    e = PERR();
    close(a);
    WASI_RETURN(e);
  }
  if (is_dots(n1)) e = dots_errno(d1->host, p1, W_EBUSY);
  else if (is_dots(n2)) e = dots_errno(d2->host, p2, W_EBUSY);
  else if (!d1->writable || !d2->writable) e = W_EROFS;
  else if ((s1 || s2) && (fstatat(a, n1, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)))
    e = errno == ENOENT ? W_ENOENT : W_ENOTDIR;
  else if (renameat(a, n1, b, n2) != 0) e = ERR();
  close(a);
  close(b);
  WASI_RETURN(e);
}

uint32_t wasi_path_symlink(void *ctx, uint32_t old_ptr, uint32_t old_len, uint32_t fd,
                           uint32_t new_ptr, uint32_t new_len) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char target[PATH_MAX], path[PATH_MAX], name[NAME_MAX + 1];
  bool slash;
  WASI_ENTER();
  uint32_t e = wasi_path(w, old_ptr, old_len, target);
  if (!e) e = dir_and_path(w, fd, R_PATH_SYMLINK, new_ptr, new_len, &d, path);
  if (e) WASI_RETURN(e);
  /* Absolute targets are refused as Node does (EPERM). A relative one may
   * still name a place outside (`../../etc/passwd`): the guest cannot reach
   * it, since following a link is resolved beneath the preopen, but a host
   * tool that later follows links in the directory would. Only a writable
   * preopen takes links (`mote run --dir D:G:rw`; a function's files in
   * `mote serve` are read-only), and it is its owner's to walk with care.
   * Telling the two apart exactly would need every component of the target
   * resolved as it will be when followed (a link to "." makes "s/.." climb
   * out), which a lexical check does not do. */
  if (target[0] == '/') WASI_RETURN(W_EPERM);
  int parent = wasi_open_parent(d->host, path, name, &slash);
  if (parent < 0) WASI_RETURN(PERR());
  if (is_dots(name)) e = dots_errno(d->host, path, W_EEXIST);
  else if (!d->writable) e = W_EROFS;
  else if (slash) e = slash_errno(d->host, path, W_EEXIST);
  else if (symlinkat(target, parent, name) != 0) e = ERR();
  close(parent);
  WASI_RETURN(e);
}

uint32_t wasi_path_readlink(void *ctx, uint32_t fd, uint32_t ptr, uint32_t len, uint32_t buf,
                            uint32_t buf_len, uint32_t bufused) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char path[PATH_MAX], target[PATH_MAX];
  struct stat st;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, fd, R_PATH_READLINK, ptr, len, &d, path);
  if (e) WASI_RETURN(e);
  uint8_t *out = wasi_mem(w, buf, buf_len);
  if (!out || !wasi_mem(w, bufused, 4)) WASI_RETURN(W_EFAULT);
  int l = wasi_openat_beneath(d->host, path, O_PATH | O_NOFOLLOW, 0);
  if (l < 0) WASI_RETURN(PERR());
  ssize_t n = -1;
  if (fstat(l, &st) != 0) e = ERR();
  else if (!S_ISLNK(st.st_mode)) e = W_EINVAL;
  else if ((n = readlinkat(l, "", target, sizeof target)) < 0) e = ERR();
  close(l);
  if (e) WASI_RETURN(e);
  size_t k = (size_t)n < buf_len ? (size_t)n : buf_len;
  memcpy(out, target, k);
  wasi_store_u32(w, bufused, (uint32_t)k);
  WASI_RETURN(0);
}

uint32_t wasi_path_filestat_get(void *ctx, uint32_t fd, uint32_t flags, uint32_t ptr, uint32_t len,
                                uint32_t out) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char path[PATH_MAX];
  struct stat st;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, fd, R_PATH_FILESTAT_GET, ptr, len, &d, path);
  if (e) WASI_RETURN(e);
  uint8_t *p = wasi_mem(w, out, 64);
  if (!p) WASI_RETURN(W_EFAULT);
  int nofollow = flags & W_LOOKUP_SYMLINK_FOLLOW ? 0 : O_NOFOLLOW;
  int h = wasi_openat_beneath(d->host, path, O_PATH | nofollow, 0);
  if (h < 0) WASI_RETURN(PERR());
  if (fstat(h, &st) != 0) e = ERR();
  close(h);
  if (e) WASI_RETURN(e);
  uint8_t buf[64];
  wasi_filestat(buf, &st);
  memcpy(p, buf, 64);
  WASI_RETURN(0);
}

/* "/proc/self/fd/N" for an O_PATH fd: how set-times and link reach a file
 * that was resolved (following symlinks) beneath the directory. */
static void proc_path(char *buf, size_t n, int fd) {
  snprintf(buf, n, "/proc/self/fd/%d", fd);
}

uint32_t wasi_path_filestat_set_times(void *ctx, uint32_t fd, uint32_t flags, uint32_t ptr,
                                      uint32_t len, uint64_t atim, uint64_t mtim, uint32_t fst) {
  mote_wasi *w = ctx;
  wasi_fd *d;
  char path[PATH_MAX], name[NAME_MAX + 1], proc[64];
  struct timespec ts[2];
  bool slash;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, fd, R_PATH_FILESTAT_SET_TIMES, ptr, len, &d, path);
  if (!e) e = wasi_times(atim, mtim, fst, ts);
  if (e) WASI_RETURN(e);
  if (flags & W_LOOKUP_SYMLINK_FOLLOW) {
    int h = wasi_openat_beneath(d->host, path, O_PATH, 0);
    if (h < 0) WASI_RETURN(PERR());
    proc_path(proc, sizeof proc, h);
    if (!d->writable) e = W_EROFS;
    else if (utimensat(AT_FDCWD, proc, ts, 0) != 0) e = ERR();
    close(h);
    WASI_RETURN(e);
  }
  int parent = wasi_open_parent(d->host, path, name, &slash);
  if (parent < 0) WASI_RETURN(PERR());
  if (is_dots(name)) e = dots_errno(d->host, path, 0);
  if (!e && !d->writable) e = W_EROFS;
  if (!e && utimensat(parent, name, ts, AT_SYMLINK_NOFOLLOW) != 0) e = ERR();
  close(parent);
  WASI_RETURN(e);
}

uint32_t wasi_path_link(void *ctx, uint32_t old_fd, uint32_t old_flags, uint32_t old_ptr,
                        uint32_t old_len, uint32_t new_fd, uint32_t new_ptr, uint32_t new_len) {
  mote_wasi *w = ctx;
  wasi_fd *d1, *d2;
  char p1[PATH_MAX], p2[PATH_MAX], n1[NAME_MAX + 1], n2[NAME_MAX + 1], proc[64];
  bool s1, s2;
  WASI_ENTER();
  uint32_t e = dir_and_path(w, old_fd, R_PATH_LINK_SOURCE, old_ptr, old_len, &d1, p1);
  if (!e) e = dir_and_path(w, new_fd, R_PATH_LINK_TARGET, new_ptr, new_len, &d2, p2);
  if (e) WASI_RETURN(e);
  int b = wasi_open_parent(d2->host, p2, n2, &s2);
  if (b < 0) WASI_RETURN(PERR());
  /* A link of a read-only file into a writable directory would make it
   * writable: both sides must be writable. */
  int a = -1;
  if (is_dots(n2)) e = dots_errno(d2->host, p2, W_EEXIST);
  else if (old_flags & W_LOOKUP_SYMLINK_FOLLOW) {
    a = wasi_openat_beneath(d1->host, p1, O_PATH, 0);
    if (a < 0) e = PERR();
    else if (!d1->writable || !d2->writable) e = W_EROFS;
    else if (s2) e = slash_errno(d2->host, p2, W_EEXIST);
    else {
      proc_path(proc, sizeof proc, a);
      if (linkat(AT_FDCWD, proc, b, n2, AT_SYMLINK_FOLLOW) != 0) e = ERR();
    }
  } else {
    a = wasi_open_parent(d1->host, p1, n1, &s1);
    if (a < 0) e = PERR();
    else if (is_dots(n1)) e = dots_errno(d1->host, p1, W_EPERM);
    else if (!d1->writable || !d2->writable) e = W_EROFS;
    else if (s1) e = slash_errno(d1->host, p1, W_EPERM);
    else if (s2) e = slash_errno(d2->host, p2, W_EEXIST);
    else if (linkat(a, n1, b, n2, 0) != 0) e = ERR();
  }
  if (a >= 0) close(a);
  close(b);
  WASI_RETURN(e);
}
