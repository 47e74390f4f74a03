/*
 * The fd_* functions. Each looks its fd up with the rights the operation
 * needs (EBADF, ENOTCAPABLE), checks every guest pointer (EFAULT), then does
 * the host call. stdout and stderr writes go through stdio.c for their caps.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

#define ERR() mote_wasi_errno(errno)

uint32_t wasi_fd_advise(void *ctx, uint32_t fd, uint64_t off, uint64_t len, uint32_t advice) {
  static const int map[] = {POSIX_FADV_NORMAL, POSIX_FADV_SEQUENTIAL, POSIX_FADV_RANDOM,
                            POSIX_FADV_WILLNEED, POSIX_FADV_DONTNEED, POSIX_FADV_NOREUSE};
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_ADVISE, &f);
  if (e) WASI_RETURN(e);
  if (advice > 5 || (int64_t)off < 0 || (int64_t)len < 0) WASI_RETURN(W_EINVAL);
  if (f->kind != FD_HOST) WASI_RETURN(W_ESPIPE);
  if (f->filetype == W_FT_DIR) WASI_RETURN(W_EBADF);
  int r = posix_fadvise(f->host, (off_t)off, (off_t)len, map[advice]);
  WASI_RETURN(r ? mote_wasi_errno(r) : 0);
}

uint32_t wasi_fd_allocate(void *ctx, uint32_t fd, uint64_t off, uint64_t len) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_ALLOCATE, &f);
  if (e) WASI_RETURN(e);
  if (f->kind != FD_HOST) WASI_RETURN(W_ESPIPE);
  if (!f->writable) WASI_RETURN(W_EROFS);
  if ((int64_t)off < 0 || (int64_t)len <= 0 || off + len > (uint64_t)INT64_MAX)
    WASI_RETURN(W_EINVAL);
  int r = posix_fallocate(f->host, (off_t)off, (off_t)len);
  if (r == EOPNOTSUPP || r == ENOSYS) { /* emulate: grow the size only */
    struct stat st;
    if (fstat(f->host, &st) != 0) WASI_RETURN(ERR());
    r = (uint64_t)st.st_size < off + len && ftruncate(f->host, (off_t)(off + len)) != 0 ? errno : 0;
  }
  WASI_RETURN(r ? mote_wasi_errno(r) : 0);
}

uint32_t wasi_fd_close(void *ctx, uint32_t fd) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, 0, &f);
  if (e) WASI_RETURN(e);
  wasi_fd_release(w, fd);
  WASI_RETURN(0);
}

static uint32_t sync_fd(void *ctx, uint32_t fd, uint64_t right, int (*fn)(int)) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  uint32_t e = wasi_fd_get(w, fd, right, &f);
  if (e) return e;
  if (f->kind != FD_HOST) return W_EINVAL;
  return fn(f->host) ? ERR() : 0;
}

uint32_t wasi_fd_datasync(void *ctx, uint32_t fd) {
  WASI_ENTER();
  WASI_RETURN(sync_fd(ctx, fd, R_FD_DATASYNC, fdatasync));
}

uint32_t wasi_fd_sync(void *ctx, uint32_t fd) {
  WASI_ENTER();
  WASI_RETURN(sync_fd(ctx, fd, R_FD_SYNC, fsync));
}

/* fdstat: filetype@0 u8, flags@2 u16, rights_base@8, rights_inheriting@16 */
uint32_t wasi_fd_fdstat_get(void *ctx, uint32_t fd, uint32_t out) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, 0, &f);
  if (e) WASI_RETURN(e);
  uint8_t *p = wasi_mem(w, out, 24);
  if (!p) WASI_RETURN(W_EFAULT);
  uint16_t flags = f->fdflags;
  if (f->kind == FD_HOST && f->owned) {
    int fl = fcntl(f->host, F_GETFL);
    if (fl < 0) WASI_RETURN(ERR());
    flags = 0;
    if (fl & O_APPEND) flags |= W_FDFLAG_APPEND;
    if (fl & O_NONBLOCK) flags |= W_FDFLAG_NONBLOCK;
    if ((fl & O_SYNC) == O_SYNC) flags |= W_FDFLAG_SYNC;
    else if (fl & O_DSYNC) flags |= W_FDFLAG_DSYNC;
  }
  memset(p, 0, 24);
  p[0] = f->filetype;
  memcpy(p + 2, &flags, 2);
  memcpy(p + 8, &f->rights_base, 8);
  memcpy(p + 16, &f->rights_inheriting, 8);
  WASI_RETURN(0);
}

uint32_t wasi_fd_fdstat_set_flags(void *ctx, uint32_t fd, uint32_t flags) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_FDSTAT_SET_FLAGS, &f);
  if (e) WASI_RETURN(e);
  if (flags & ~0x1fu) WASI_RETURN(W_EINVAL);
  /* The embedder's own fds (passed-in stdio) are shared with the host
   * process: their flags are recorded, never applied to the host fd. */
  if (f->kind != FD_HOST || !f->owned) {
    f->fdflags = (uint16_t)flags;
    WASI_RETURN(0);
  }
  if ((flags & W_FDFLAG_APPEND) && !f->writable) WASI_RETURN(W_EROFS);
  int fl = 0;
  if (flags & W_FDFLAG_APPEND) fl |= O_APPEND;
  if (flags & W_FDFLAG_NONBLOCK) fl |= O_NONBLOCK;
  if (flags & W_FDFLAG_DSYNC) fl |= O_DSYNC;
  if (flags & (W_FDFLAG_SYNC | W_FDFLAG_RSYNC)) fl |= O_SYNC;
  WASI_RETURN(fcntl(f->host, F_SETFL, fl) ? ERR() : 0);
}

uint32_t wasi_fd_fdstat_set_rights(void *ctx, uint32_t fd, uint64_t base, uint64_t inheriting) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, 0, &f);
  if (e) WASI_RETURN(e);
  /* Rights only ever shrink. */
  if ((base & ~f->rights_base) || (inheriting & ~f->rights_inheriting)) WASI_RETURN(W_ENOTCAPABLE);
  f->rights_base = base;
  f->rights_inheriting = inheriting;
  WASI_RETURN(0);
}

uint32_t wasi_fd_filestat_get(void *ctx, uint32_t fd, uint32_t out) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_FILESTAT_GET, &f);
  if (e) WASI_RETURN(e);
  uint8_t *p = wasi_mem(w, out, 64);
  if (!p) WASI_RETURN(W_EFAULT);
  struct stat st;
  memset(&st, 0, sizeof st);
  if (f->kind == FD_HOST && fstat(f->host, &st) != 0) WASI_RETURN(ERR());
  uint8_t buf[64];
  wasi_filestat(buf, &st);
  if (f->kind != FD_HOST) buf[16] = f->filetype;
  memcpy(p, buf, 64);
  WASI_RETURN(0);
}

uint32_t wasi_fd_filestat_set_size(void *ctx, uint32_t fd, uint64_t size) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_FILESTAT_SET_SIZE, &f);
  if (e) WASI_RETURN(e);
  if (f->kind != FD_HOST) WASI_RETURN(W_EINVAL);
  if (!f->writable) WASI_RETURN(W_EROFS);
  if ((int64_t)size < 0) WASI_RETURN(W_EINVAL);
  WASI_RETURN(ftruncate(f->host, (off_t)size) ? ERR() : 0);
}

uint32_t wasi_times(uint64_t atim, uint64_t mtim, uint32_t flags, struct timespec ts[2]) {
  if ((flags & ~0xfu) || ((flags & W_FST_ATIM) && (flags & W_FST_ATIM_NOW)) ||
      ((flags & W_FST_MTIM) && (flags & W_FST_MTIM_NOW)))
    return W_EINVAL;
  ts[0].tv_sec = ts[1].tv_sec = 0;
  ts[0].tv_nsec = flags & W_FST_ATIM_NOW ? UTIME_NOW : UTIME_OMIT;
  ts[1].tv_nsec = flags & W_FST_MTIM_NOW ? UTIME_NOW : UTIME_OMIT;
  if (flags & W_FST_ATIM) {
    ts[0].tv_sec = (time_t)(atim / 1000000000u);
    ts[0].tv_nsec = (long)(atim % 1000000000u);
  }
  if (flags & W_FST_MTIM) {
    ts[1].tv_sec = (time_t)(mtim / 1000000000u);
    ts[1].tv_nsec = (long)(mtim % 1000000000u);
  }
  return 0;
}

uint32_t wasi_fd_filestat_set_times(void *ctx, uint32_t fd, uint64_t atim, uint64_t mtim,
                                    uint32_t flags) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  struct timespec ts[2];
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_FILESTAT_SET_TIMES, &f);
  if (e) WASI_RETURN(e);
  if ((e = wasi_times(atim, mtim, flags, ts))) WASI_RETURN(e);
  if (f->kind != FD_HOST) WASI_RETURN(W_EINVAL);
  if (!f->writable) WASI_RETURN(W_EROFS);
  WASI_RETURN(futimens(f->host, ts) ? ERR() : 0);
}

/* ---- reads and writes ------------------------------------------------------- */

static uint32_t do_read(mote_wasi *w, uint32_t fd, uint32_t iovs, uint32_t n, bool positioned,
                        uint64_t off, uint32_t nread) {
  wasi_fd *f;
  struct iovec *v;
  uint64_t total;
  uint32_t e = wasi_fd_get(w, fd, R_FD_READ | (positioned ? R_FD_SEEK : 0), &f);
  if (e) return e;
  if (!wasi_mem(w, nread, 4)) return W_EFAULT;
  if ((e = wasi_iovecs(w, iovs, n, &v, &total))) return e;
  uint64_t got = 0;
  if (f->kind == FD_BUFFER) {
    if (positioned) e = W_ESPIPE;
    else if (f->stdio == 0) got = wasi_stdin_read(w, v, (int)n);
  } else {
    ssize_t k;
    if (positioned) {
      if ((int64_t)off < 0) e = W_EINVAL;
      else if ((k = preadv(f->host, v, (int)n, (off_t)off)) < 0) e = ERR();
      else got = (uint64_t)k;
    } else {
      if (f->filetype != W_FT_REG && f->filetype != W_FT_DIR && total > 0 &&
          !wasi_wait_fd(w, f->host, POLLIN)) {
        free(v);
        return W_ETIMEDOUT; /* the stop is pending */
      }
      do k = readv(f->host, v, (int)n);
      while (k < 0 && errno == EINTR);
      if (k < 0) e = ERR();
      else got = (uint64_t)k;
    }
  }
  free(v);
  if (!e) wasi_store_u32(w, nread, (uint32_t)got);
  return e;
}

static uint32_t do_write(mote_wasi *w, uint32_t fd, uint32_t iovs, uint32_t n, bool positioned,
                         uint64_t off, uint32_t nwritten) {
  wasi_fd *f;
  struct iovec *v;
  uint64_t total, done = 0;
  uint32_t e = wasi_fd_get(w, fd, R_FD_WRITE | (positioned ? R_FD_SEEK : 0), &f);
  if (e) return e;
  if (!wasi_mem(w, nwritten, 4)) return W_EFAULT;
  if ((e = wasi_iovecs(w, iovs, n, &v, &total))) return e;
  if (f->stdio == 1 || f->stdio == 2) {
    if (positioned) e = W_ESPIPE; /* a stream with a cap, whatever its target */
    else e = wasi_out_write(w, f, v, (int)n, total, &done);
  }
  if (!e && (positioned || !(f->stdio == 1 || f->stdio == 2))) {
    ssize_t k;
    if (f->kind == FD_BUFFER) {
      e = W_EBADF; /* stdin from memory is not writable */
    } else if (!f->writable) {
      e = W_EROFS;
    } else if (positioned) {
      if ((int64_t)off < 0) e = W_EINVAL;
      else if ((k = pwritev(f->host, v, (int)n, (off_t)off)) < 0) e = ERR();
      else done = (uint64_t)k;
    } else {
      do k = writev(f->host, v, (int)n);
      while (k < 0 && errno == EINTR);
      if (k < 0) e = ERR();
      else done = (uint64_t)k;
    }
  }
  free(v);
  if (!e) wasi_store_u32(w, nwritten, (uint32_t)done);
  return e;
}

uint32_t wasi_fd_read(void *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t nread) {
  WASI_ENTER();
  uint32_t e = do_read(ctx, fd, iovs, n, false, 0, nread);
  wasi_raise_pending(ctx);
  WASI_RETURN(e);
}

uint32_t wasi_fd_pread(void *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off,
                       uint32_t nread) {
  WASI_ENTER();
  uint32_t e = do_read(ctx, fd, iovs, n, true, off, nread);
  wasi_raise_pending(ctx);
  WASI_RETURN(e);
}

uint32_t wasi_fd_write(void *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint32_t nwritten) {
  WASI_ENTER();
  uint32_t e = do_write(ctx, fd, iovs, n, false, 0, nwritten);
  wasi_raise_pending(ctx);
  WASI_RETURN(e);
}

uint32_t wasi_fd_pwrite(void *ctx, uint32_t fd, uint32_t iovs, uint32_t n, uint64_t off,
                        uint32_t nwritten) {
  WASI_ENTER();
  uint32_t e = do_write(ctx, fd, iovs, n, true, off, nwritten);
  wasi_raise_pending(ctx);
  WASI_RETURN(e);
}

/* ---- preopens --------------------------------------------------------------- */

/* prestat: tag@0 u8 (0 = dir), name_len@4 u32 */
uint32_t wasi_fd_prestat_get(void *ctx, uint32_t fd, uint32_t out) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, 0, &f);
  if (e) WASI_RETURN(e);
  if (!f->preopen_name) WASI_RETURN(W_EBADF);
  uint8_t *p = wasi_mem(w, out, 8);
  if (!p) WASI_RETURN(W_EFAULT);
  uint32_t len = (uint32_t)strlen(f->preopen_name);
  memset(p, 0, 8);
  memcpy(p + 4, &len, 4);
  WASI_RETURN(0);
}

uint32_t wasi_fd_prestat_dir_name(void *ctx, uint32_t fd, uint32_t path, uint32_t len) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, 0, &f);
  if (e) WASI_RETURN(e);
  if (!f->preopen_name) WASI_RETURN(W_EBADF);
  size_t n = strlen(f->preopen_name);
  uint8_t *p = wasi_mem(w, path, len);
  if (!p) WASI_RETURN(W_EFAULT);
  /* Too small a buffer: ENAMETOOLONG, as Wasmtime and the WASI test suite
   * (uvwasi, Node's, says ENOBUFS). */
  if (n > len) WASI_RETURN(W_ENAMETOOLONG);
  memcpy(p, f->preopen_name, n);
  WASI_RETURN(0);
}

/* ---- directories ------------------------------------------------------------- */

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static uint8_t dtype_filetype(unsigned char t) {
  switch (t) {
    case DT_BLK: return W_FT_BLOCK;
    case DT_CHR: return W_FT_CHAR;
    case DT_DIR: return W_FT_DIR;
    case DT_REG: return W_FT_REG;
    case DT_LNK: return W_FT_SYMLINK;
    case DT_SOCK: case DT_FIFO: return W_FT_SOCK_STREAM;
    default: return W_FT_UNKNOWN;
  }
}

/* The cookie of an entry is the kernel's d_off (a seek position in the
 * directory), so fd_readdir keeps no state: it seeks to the cookie and reads.
 * Entries that do not fit are cut at the end of the buffer (bufused ==
 * buf_len tells the guest to call again with a bigger one), as the spec says.
 * "." and ".." are listed, as POSIX readdir and the WASI test suite have them
 * (Node leaves them out). "." has the directory's own inode (fd_filestat_get's),
 * ".." its parent's (dotdot_inode). No entry has inode 0: wasi-libc since
 * 2023 takes 0 for "unknown" and looks the entry up, and a lookup of ".." is
 * refused, so its scandir() failed on every directory (Yosys's, found by the
 * bench corpus). */
/* The inode of ".." in directory f: at a sandbox root (a preopen's
 * directory) its own, as "/" is its own parent, since the real parent lies
 * outside and its inode number is none of the guest's business; else the
 * parent's. */
static uint64_t dotdot_inode(const mote_wasi *w, const wasi_fd *f) {
  struct stat st, parent;
  if (fstat(f->host, &st) != 0) return 1;
  /* the roots as opened, not the preopens' fds now: with its preopen closed
   * a root was taken for any directory, and ".." gave the host's parent */
  for (uint32_t i = 0; i < w->npreopens; i++)
    if (w->roots[i].dev == st.st_dev && w->roots[i].ino == st.st_ino) return st.st_ino;
  if (fstatat(f->host, "..", &parent, 0) != 0) return st.st_ino;
  return parent.st_ino;
}

uint32_t wasi_fd_readdir(void *ctx, uint32_t fd, uint32_t buf, uint32_t len, uint64_t cookie,
                         uint32_t bufused) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_READDIR, &f);
  if (e) WASI_RETURN(e);
  uint8_t *out = wasi_mem(w, buf, len);
  if (!out || !wasi_mem(w, bufused, 4)) WASI_RETURN(W_EFAULT);
  if (f->kind != FD_HOST || f->filetype != W_FT_DIR) WASI_RETURN(W_ENOTDIR);
  if (lseek(f->host, (off_t)cookie, SEEK_SET) < 0) WASI_RETURN(ERR());
  char *raw = malloc(32768);
  if (!raw) WASI_RETURN(W_ENOMEM);
  uint32_t used = 0;
  while (used < len) {
    long n = syscall(SYS_getdents64, f->host, raw, 32768);
    if (n < 0) {
      e = ERR();
      break;
    }
    if (n == 0) break;
    for (long at = 0; at < n && used < len;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(raw + at);
      at += d->d_reclen;
      uint8_t head[24];
      uint64_t next = (uint64_t)d->d_off, ino = d->d_ino;
      uint32_t nlen = (uint32_t)strlen(d->d_name);
      uint8_t ft = dtype_filetype(d->d_type);
      if (!strcmp(d->d_name, ".")) { /* as fd_filestat_get says, whatever the fs lists */
        struct stat st;
        if (fstat(f->host, &st) == 0) ino = st.st_ino;
        ft = W_FT_DIR;
      } else if (!strcmp(d->d_name, "..")) {
        ino = dotdot_inode(w, f);
        ft = W_FT_DIR;
      } else if (d->d_type == DT_UNKNOWN) {
        struct stat st;
        if (fstatat(f->host, d->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
          ft = wasi_filetype(st.st_mode);
      }
      memset(head, 0, sizeof head);
      memcpy(head, &next, 8);
      memcpy(head + 8, &ino, 8);
      memcpy(head + 16, &nlen, 4);
      head[20] = ft;
      uint32_t k = len - used < 24 ? len - used : 24;
      memcpy(out + used, head, k);
      used += k;
      k = len - used < nlen ? len - used : nlen;
      memcpy(out + used, d->d_name, k);
      used += k;
    }
  }
  free(raw);
  if (!e) wasi_store_u32(w, bufused, used);
  WASI_RETURN(e);
}

uint32_t wasi_fd_renumber(void *ctx, uint32_t from, uint32_t to) {
  mote_wasi *w = ctx;
  wasi_fd *a, *b;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, from, 0, &a);
  if (!e) e = wasi_fd_get(w, to, 0, &b);
  if (e) WASI_RETURN(e);
  if (from == to) WASI_RETURN(0);
  wasi_fd moved = *a;
  memset(a, 0, sizeof *a); /* handed over: not closed */
  a->host = -1;
  a->stdio = -1;
  wasi_fd_release(w, to);
  w->fds[to] = moved;
  WASI_RETURN(0);
}

uint32_t wasi_fd_seek(void *ctx, uint32_t fd, uint64_t off, uint32_t whence, uint32_t out) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  /* fd_tell is enough for a query of the position (as the spec allows). */
  uint64_t need = (off == 0 && whence == W_WHENCE_CUR) ? R_FD_TELL : R_FD_SEEK;
  uint32_t e = wasi_fd_get(w, fd, 0, &f);
  if (e) WASI_RETURN(e);
  if ((f->rights_base & need) != need && (f->rights_base & R_FD_SEEK) == 0)
    WASI_RETURN(W_ENOTCAPABLE);
  if (!wasi_mem(w, out, 8)) WASI_RETURN(W_EFAULT);
  int wh = whence == W_WHENCE_SET ? SEEK_SET : whence == W_WHENCE_CUR ? SEEK_CUR
         : whence == W_WHENCE_END ? SEEK_END : -1;
  if (wh < 0) WASI_RETURN(W_EINVAL);
  if (f->kind != FD_HOST) WASI_RETURN(W_ESPIPE);
  off_t r = lseek(f->host, (off_t)off, wh);
  if (r < 0) WASI_RETURN(ERR());
  wasi_store_u64(w, out, (uint64_t)r);
  WASI_RETURN(0);
}

uint32_t wasi_fd_tell(void *ctx, uint32_t fd, uint32_t out) {
  mote_wasi *w = ctx;
  wasi_fd *f;
  WASI_ENTER();
  uint32_t e = wasi_fd_get(w, fd, R_FD_TELL, &f);
  if (e) WASI_RETURN(e);
  if (!wasi_mem(w, out, 8)) WASI_RETURN(W_EFAULT);
  if (f->kind != FD_HOST) WASI_RETURN(W_ESPIPE);
  off_t r = lseek(f->host, 0, SEEK_CUR);
  if (r < 0) WASI_RETURN(ERR());
  wasi_store_u64(w, out, (uint64_t)r);
  WASI_RETURN(0);
}
