/*
 * stdio: fds 0, 1, 2. Each is a host fd the embedder passes (never closed
 * here), a memory buffer (stdin data; captured stdout/stderr), or nothing.
 * stdout and stderr have byte caps that hold whatever the target: a write
 * past the cap writes what fits, then stops the run with a message.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

static void init_stream(mote_wasi *w, int i, const mote_wasi_stdio *s) {
  wasi_fd *f = &w->fds[i];
  f->stdio = i;
  f->owned = false;
  f->writable = i != 0;
  if (s->kind == MOTE_WASI_STDIO_FD) {
    struct stat st;
    f->kind = FD_HOST;
    f->host = s->fd;
    f->filetype = fstat(s->fd, &st) == 0 ? wasi_filetype(st.st_mode) : W_FT_UNKNOWN;
    /* A terminal must look like one to isatty(): a character device without
     * seek or tell rights (wasi-libc's test). */
    f->rights_base = f->filetype == W_FT_REG ? R_FILE_BASE : R_TTY_BASE;
    if (f->filetype == W_FT_SOCK_STREAM) f->rights_base |= R_SOCK_SHUTDOWN | R_SOCK_ACCEPT;
    /* A stream, used as one: stdin is read; stdout and stderr are written
     * at their end, through their caps (do_write refuses a positioned
     * write). Nothing that would change the embedder's file behind a cap:
     * no allocation, no new size, no write to stdin. */
    f->rights_base &= ~(R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE);
    if (i == 0) f->rights_base &= ~R_FILE_MUTATING;
    f->rights_inheriting = 0;
  } else {
    f->kind = FD_BUFFER;
    f->filetype = W_FT_UNKNOWN;
    f->rights_base = R_FD_READ | R_FD_WRITE | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE |
                     R_FD_FDSTAT_SET_FLAGS;
    f->rights_inheriting = 0;
  }
}

void wasi_stdio_init(mote_wasi *w, const mote_wasi_config *cfg) {
  init_stream(w, 0, &cfg->stdin_);
  init_stream(w, 1, &cfg->stdout_);
  init_stream(w, 2, &cfg->stderr_);
  w->out[1].limit = cfg->stdout_cap ? cfg->stdout_cap : MOTE_WASI_DEFAULT_OUTPUT_CAP;
  w->out[2].limit = cfg->stderr_cap ? cfg->stderr_cap : MOTE_WASI_DEFAULT_OUTPUT_CAP;
  /* Discarded streams keep no bytes; only captured ones grow a buffer. */
  w->out[1].cap_alloc = cfg->stdout_.kind == MOTE_WASI_STDIO_BUFFER ? 0 : SIZE_MAX;
  w->out[2].cap_alloc = cfg->stderr_.kind == MOTE_WASI_STDIO_BUFFER ? 0 : SIZE_MAX;
}

/* Appends to a capture buffer (doubling), or fails with ENOMEM. */
static bool append(wasi_out *o, const void *p, size_t n) {
  if (o->cap_alloc == SIZE_MAX || n == 0) return true; /* discarded, or nothing to add */
  if (o->len + n > o->cap_alloc) {
    size_t want = o->cap_alloc ? o->cap_alloc : 4096;
    while (want < o->len + n) want *= 2;
    uint8_t *grown = realloc(o->data, want);
    if (!grown) return false;
    o->data = grown;
    o->cap_alloc = want;
  }
  memcpy(o->data + o->len, p, n);
  o->len += n;
  return true;
}

/* Writes all of [p, p+n) to a host fd, waiting out EAGAIN. */
static int write_all(mote_wasi *w, int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && errno == EAGAIN) {
      if (!wasi_wait_fd(w, fd, POLLOUT)) return ETIMEDOUT;
      continue;
    }
    if (k < 0) return errno;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

uint32_t wasi_out_write(mote_wasi *w, wasi_fd *f, const struct iovec *iov, int n, uint64_t total,
                        uint64_t *done) {
  wasi_out *o = &w->out[f->stdio];
  uint64_t room = o->limit - o->written; /* written never passes limit */
  uint64_t take = total < room ? total : room;
  uint64_t left = take;
  *done = 0;
  for (int i = 0; i < n && left > 0; i++) {
    size_t k = iov[i].iov_len < left ? iov[i].iov_len : (size_t)left;
    if (f->kind == FD_HOST) {
      int e = write_all(w, f->host, iov[i].iov_base, k);
      if (e) {
        o->written += *done;
        return *done ? 0 : mote_wasi_errno(e);
      }
    } else if (!append(o, iov[i].iov_base, k)) {
      o->written += *done;
      return W_ENOMEM;
    }
    *done += k;
    left -= k;
  }
  o->written += *done;
  if (take < total) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s exceeded its limit of %llu bytes",
             f->stdio == 1 ? "stdout" : "stderr", (unsigned long long)o->limit);
    wasi_pend(w, f->stdio == 1 ? MOTE_WASI_STDOUT_LIMIT : MOTE_WASI_STDERR_LIMIT, msg);
  }
  return 0;
}

uint64_t wasi_stdin_read(mote_wasi *w, const struct iovec *iov, int n) {
  uint64_t got = 0;
  for (int i = 0; i < n && w->stdin_pos < w->stdin_len; i++) {
    size_t left = w->stdin_len - w->stdin_pos;
    size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
    memcpy(iov[i].iov_base, w->stdin_data + w->stdin_pos, k);
    w->stdin_pos += k;
    got += k;
  }
  return got;
}

/* Blocking host calls wait in slices, so that both deadlines are seen: the
 * runtime's (mote_rt_deadline_set, whose signal may come just before a wait
 * starts) and the one given to mote_wasi_set_deadline. */
#define WAIT_SLICE_NS 50000000ull

int wasi_ppoll(mote_wasi *w, struct pollfd *fds, nfds_t n, uint64_t until_ns) {
  bool told = false; /* on_block, once this wait blocks */
  for (;;) {
    uint64_t now = wasi_monotonic_ns();
    if (mote_rt_cancelled()) { /* another thread stopped the run (before its deadline) */
      wasi_pend(w, MOTE_WASI_CANCELLED, mote_rt_trap_message(MOTE_TRAP_CANCELLED));
      return -2;
    }
    if (mote_rt_deadline_expired() || (w->deadline_ns && now >= w->deadline_ns)) {
      wasi_pend(w, MOTE_WASI_TIMEOUT, "timeout: the deadline passed");
      return -2;
    }
    if (now >= until_ns) return ppoll(fds, n, &(struct timespec){0, 0}, NULL);
    if (!told && w->on_block) {
      /* Not for a wait that ends at once: what is ready already. */
      int r = ppoll(fds, n, &(struct timespec){0, 0}, NULL);
      if (r != 0 && !(r < 0 && errno == EINTR)) return r;
      told = true;
      w->on_block(w->block_ctx);
    }
    uint64_t left = until_ns - now;
    if (left > WAIT_SLICE_NS) left = WAIT_SLICE_NS;
    if (w->deadline_ns && w->deadline_ns - now < left) left = w->deadline_ns - now;
    struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
    int r = ppoll(fds, n, &ts, NULL);
    if (r != 0 && !(r < 0 && errno == EINTR)) return r;
  }
}

bool wasi_wait_fd(mote_wasi *w, int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  return wasi_ppoll(w, &p, 1, UINT64_MAX) != -2;
}
