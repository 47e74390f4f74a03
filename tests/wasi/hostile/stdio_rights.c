/* The embedder's stdio as a guest may misuse it: with stdout and stderr
 * regular files (the driver redirects them), a write far past the end, a
 * reservation or a new size would go around the output caps, and stdin
 * (/dev/null here) is not for writing. Each call must be refused; a line per
 * call, "what: ENAME", and the status is the number of calls that worked. */
#include <stdio.h>
#include <wasi/api.h>

static int worked;

static void show(const char *what, __wasi_errno_t e) {
  fprintf(stderr, "%s: %s\n", what,
          e == 0 ? "OK" : e == __WASI_ERRNO_SPIPE ? "ESPIPE"
                        : e == __WASI_ERRNO_NOTCAPABLE ? "ENOTCAPABLE" : "refused");
  if (e == 0) worked++;
}

int main(void) {
  static const char bytes[4096] = "past the cap\n";
  __wasi_ciovec_t iov = {(const uint8_t *)bytes, sizeof bytes};
  __wasi_size_t n;
  const __wasi_filesize_t far = (__wasi_filesize_t)1 << 40; /* 1 TiB */
  show("pwrite stdout at 1 TiB", __wasi_fd_pwrite(1, &iov, 1, far, &n));
  show("pwrite stderr at 0", __wasi_fd_pwrite(2, &iov, 1, 0, &n));
  show("allocate 1 TiB of stdout", __wasi_fd_allocate(1, 0, far));
  show("set stdout's size to 1 TiB", __wasi_fd_filestat_set_size(1, far));
  show("set stderr's size to 0", __wasi_fd_filestat_set_size(2, 0));
  show("write stdin", __wasi_fd_write(0, &iov, 1, &n));
  return worked;
}
