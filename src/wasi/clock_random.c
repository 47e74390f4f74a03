/*
 * Clocks, randomness, and the process functions: clock_res_get,
 * clock_time_get, random_get, sched_yield, proc_exit, proc_raise, and the
 * socket functions preview1 cannot serve.
 *
 * The CPU-time clocks are the calling thread's: in a server many instances
 * share the process, and its CPU time would tell one guest about the others.
 */
#include <errno.h>
#include <sched.h>
#include <sys/random.h>
#include <time.h>

#include "wasi/wasi_internal.h"

static bool host_clock(uint32_t id, clockid_t *out) {
  switch (id) {
    case W_CLOCK_REALTIME: *out = CLOCK_REALTIME; return true;
    case W_CLOCK_MONOTONIC: *out = CLOCK_MONOTONIC; return true;
    case W_CLOCK_PROCESS:
    case W_CLOCK_THREAD: *out = CLOCK_THREAD_CPUTIME_ID; return true;
    default: return false;
  }
}

bool wasi_clock_now(uint32_t id, uint64_t *ns) {
  clockid_t c;
  struct timespec t;
  if (!host_clock(id, &c) || clock_gettime(c, &t) != 0) return false;
  *ns = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
  return true;
}

uint64_t wasi_monotonic_ns(void) {
  uint64_t ns = 0;
  wasi_clock_now(W_CLOCK_MONOTONIC, &ns);
  return ns;
}

uint32_t wasi_clock_res_get(void *ctx, uint32_t id, uint32_t res) {
  mote_wasi *w = ctx;
  clockid_t c;
  struct timespec t;
  WASI_ENTER();
  if (!host_clock(id, &c)) WASI_RETURN(W_EINVAL);
  if (clock_getres(c, &t) != 0) WASI_RETURN(mote_wasi_errno(errno));
  uint64_t ns = (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
  WASI_RETURN(wasi_store_u64(w, res, ns) ? 0 : W_EFAULT);
}

uint32_t wasi_clock_time_get(void *ctx, uint32_t id, uint64_t precision, uint32_t out) {
  mote_wasi *w = ctx;
  uint64_t ns;
  (void)precision;
  WASI_ENTER();
  if (!wasi_clock_now(id, &ns)) WASI_RETURN(W_EINVAL);
  WASI_RETURN(wasi_store_u64(w, out, ns) ? 0 : W_EFAULT);
}

uint32_t wasi_random_get(void *ctx, uint32_t buf, uint32_t len) {
  mote_wasi *w = ctx;
  WASI_ENTER();
  uint8_t *p = wasi_mem(w, buf, len);
  if (!p) WASI_RETURN(W_EFAULT);
  size_t done = 0;
  while (done < len) {
    ssize_t k = getrandom(p + done, len - done, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) WASI_RETURN(mote_wasi_errno(errno));
    done += (size_t)k;
  }
  WASI_RETURN(0);
}

uint32_t wasi_sched_yield(void *ctx) {
  (void)ctx;
  WASI_ENTER();
  sched_yield();
  WASI_RETURN(0);
}

void wasi_proc_exit(void *ctx, uint32_t code) {
  mote_wasi *w = ctx;
  mote_rt_host_enter();
  w->stop = MOTE_WASI_EXITED;
  w->exit_code = code;
  mote_rt_raise(MOTE_TRAP_EXIT, code);
}

/* Node's WASI sends the signal to the host process itself; a guest must not
 * be able to signal the node, so mote refuses. */
uint32_t wasi_proc_raise(void *ctx, uint32_t sig) {
  (void)ctx;
  (void)sig;
  WASI_ENTER();
  WASI_RETURN(W_ENOTSUP);
}

/* Sockets: preview1 has no way to create one, so a guest's fds are sockets
 * only when the embedder passed one in as stdio (`mote run` under inetd).
 * An fd that is not open is EBADF, any other non-socket ENOTSOCK (what the
 * WASI test suite asks of sock_shutdown), a real socket ENOTSUP: mote serves
 * no socket calls. */
static uint32_t sock_errno(mote_wasi *w, uint32_t fd) {
  wasi_fd *f;
  struct stat st;
  uint32_t e = wasi_fd_get(w, fd, 0, &f);
  if (e) return e;
  if (f->kind == FD_HOST && fstat(f->host, &st) == 0 && S_ISSOCK(st.st_mode)) return W_ENOTSUP;
  return W_ENOTSOCK;
}

uint32_t wasi_sock_accept(void *ctx, uint32_t fd, uint32_t flags, uint32_t out) {
  (void)flags; (void)out;
  WASI_ENTER();
  WASI_RETURN(sock_errno(ctx, fd));
}

uint32_t wasi_sock_recv(void *ctx, uint32_t fd, uint32_t data, uint32_t len, uint32_t flags,
                        uint32_t out_len, uint32_t out_flags) {
  (void)data; (void)len; (void)flags; (void)out_len; (void)out_flags;
  WASI_ENTER();
  WASI_RETURN(sock_errno(ctx, fd));
}

uint32_t wasi_sock_send(void *ctx, uint32_t fd, uint32_t data, uint32_t len, uint32_t flags,
                        uint32_t out_len) {
  (void)data; (void)len; (void)flags; (void)out_len;
  WASI_ENTER();
  WASI_RETURN(sock_errno(ctx, fd));
}

uint32_t wasi_sock_shutdown(void *ctx, uint32_t fd, uint32_t how) {
  (void)how;
  WASI_ENTER();
  WASI_RETURN(sock_errno(ctx, fd));
}
