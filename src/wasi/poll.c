/*
 * poll_oneoff: clock subscriptions (relative or absolute, any WASI clock) and
 * fd_read / fd_write subscriptions. Host fds that can block (pipes,
 * terminals, sockets) are polled; regular files, directories and the memory
 * stdio streams are always ready. The wait ends at the earliest clock, at
 * the first ready fd, or at a deadline (the run then stops with a timeout).
 *
 * subscription (48 bytes): userdata@0 u64, tag@8 u8, then at 16 either
 *   clock { id@16 u32, timeout@24 u64, precision@32 u64, flags@40 u16 }
 *   or fd_readwrite { fd@16 u32 }
 * event (32 bytes): userdata@0 u64, error@8 u16, type@10 u8,
 *   fd_readwrite { nbytes@16 u64, flags@24 u16 }
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

#define MAX_SUBSCRIPTIONS 65536

typedef struct sub_state {
  uint64_t userdata;
  uint8_t type;
  uint64_t wake;  /* clock: CLOCK_MONOTONIC ns */
  int pollidx;    /* fd: index in the pollfd array, -1 when decided at once */
  bool done;      /* an event is already set */
  uint16_t error;
  uint64_t nbytes;
  uint16_t flags;
} sub_state;

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* Bytes readable at once from an always-ready fd. */
static uint64_t ready_bytes(mote_wasi *w, wasi_fd *f, bool read) {
  if (!read) return 0;
  if (f->kind == FD_BUFFER) return f->stdio == 0 ? w->stdin_len - w->stdin_pos : 0;
  struct stat st;
  off_t pos = lseek(f->host, 0, SEEK_CUR);
  if (fstat(f->host, &st) != 0 || pos < 0 || st.st_size < pos) return 0;
  return (uint64_t)(st.st_size - pos);
}

uint32_t wasi_poll_oneoff(void *ctx, uint32_t in, uint32_t out, uint32_t nsubs,
                          uint32_t nevents) {
  mote_wasi *w = ctx;
  WASI_ENTER();
  /* The host state is per subscription: a bound keeps a hostile count from
   * costing the node gigabytes. */
  if (nsubs == 0 || nsubs > MAX_SUBSCRIPTIONS) WASI_RETURN(W_EINVAL);
  const uint8_t *subs = wasi_mem(w, in, (uint64_t)nsubs * 48);
  if (!subs || !wasi_mem(w, out, (uint64_t)nsubs * 32) || !wasi_mem(w, nevents, 4))
    WASI_RETURN(W_EFAULT);
  sub_state *st = calloc(nsubs, sizeof *st);
  struct pollfd *pfd = calloc(nsubs, sizeof *pfd);
  if (!st || !pfd) {
    free(st);
    free(pfd);
    WASI_RETURN(W_ENOMEM);
  }
  uint64_t now = wasi_monotonic_ns(), until = UINT64_MAX;
  unsigned long np = 0;
  bool ready = false;
  for (uint32_t i = 0; i < nsubs; i++) {
    const uint8_t *s = subs + 48 * (size_t)i;
    sub_state *x = &st[i];
    memcpy(&x->userdata, s, 8);
    x->type = s[8];
    x->pollidx = -1;
    if (x->type == W_EVENT_CLOCK) {
      uint32_t id;
      uint64_t timeout, clock_now;
      uint16_t flags;
      memcpy(&id, s + 16, 4);
      memcpy(&timeout, s + 24, 8);
      memcpy(&flags, s + 40, 2);
      if (!wasi_clock_now(id, &clock_now)) {
        x->error = W_EINVAL;
        x->done = ready = true;
        continue;
      }
      uint64_t rel = timeout;
      if (flags & W_SUBCLOCK_ABSTIME) rel = timeout > clock_now ? timeout - clock_now : 0;
      x->wake = sat_add(now, rel);
      if (x->wake < until) until = x->wake;
    } else if (x->type == W_EVENT_FD_READ || x->type == W_EVENT_FD_WRITE) {
      uint32_t fd;
      wasi_fd *f;
      memcpy(&fd, s + 16, 4);
      uint32_t e = wasi_fd_get(w, fd, R_POLL_FD_READWRITE, &f);
      bool rd = x->type == W_EVENT_FD_READ;
      if (e) {
        x->error = (uint16_t)e;
        x->done = ready = true;
      } else if (f->kind == FD_BUFFER || f->filetype == W_FT_REG || f->filetype == W_FT_DIR) {
        x->nbytes = ready_bytes(w, f, rd);
        x->done = ready = true;
      } else {
        x->pollidx = (int)np;
        pfd[np].fd = f->host;
        pfd[np].events = rd ? POLLIN : POLLOUT;
        np++;
      }
    } else {
      x->error = W_EINVAL;
      x->done = ready = true;
    }
  }
  int r = wasi_ppoll(w, pfd, np, ready ? 0 : until);
  uint32_t e = 0;
  if (r == -1) e = mote_wasi_errno(errno);
  if (r >= 0) {
    now = wasi_monotonic_ns();
    uint8_t *ev = wasi_mem(w, out, (uint64_t)nsubs * 32);
    uint32_t n = 0;
    for (uint32_t i = 0; i < nsubs; i++) {
      sub_state *x = &st[i];
      if (x->pollidx >= 0) {
        short re = pfd[x->pollidx].revents;
        if (!re) continue;
        if (re & (POLLERR | POLLNVAL)) x->error = W_EIO;
        if (re & POLLHUP) x->flags = W_EVENTRW_HANGUP;
        int avail = 0;
        if (x->type == W_EVENT_FD_READ && ioctl(pfd[x->pollidx].fd, FIONREAD, &avail) == 0)
          x->nbytes = avail > 0 ? (uint64_t)avail : 0;
      } else if (!x->done && !(x->type == W_EVENT_CLOCK && x->wake <= now)) {
        continue;
      }
      uint8_t *o = ev + 32 * (size_t)n++;
      memset(o, 0, 32);
      memcpy(o, &x->userdata, 8);
      memcpy(o + 8, &x->error, 2);
      o[10] = x->type;
      if (x->type != W_EVENT_CLOCK) {
        memcpy(o + 16, &x->nbytes, 8);
        memcpy(o + 24, &x->flags, 2);
      }
    }
    wasi_store_u32(w, nevents, n);
  }
  free(st);
  free(pfd);
  wasi_raise_pending(w);
  WASI_RETURN(e);
}
