/* Preopened directories: fd_prestat_get / fd_prestat_dir_name from fd 3 up
 * until EBADF, in the order of --dir; each can be read through its name. */
//! run exit=0 | @WASM
//! run exit=0 | --dir @SB:/sandbox:rw --dir @SB/sub:/other:rw @WASM
#include <fcntl.h>
#include <unistd.h>
#include <wasi/api.h>

#include "common.h"

int main(void) {
  for (__wasi_fd_t fd = 3;; fd++) {
    __wasi_prestat_t ps;
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e) { printf("fd %u: prestat errno %s\n", fd, e == __WASI_ERRNO_BADF ? "EBADF" : "other"); break; }
    char name[256] = {0};
    size_t len = ps.u.dir.pr_name_len;
    e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, len < 255 ? len : 255);
    printf("fd %u: tag %u name '%s' (%zu)\n", fd, ps.tag, name, len);
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) == 0)
      printf("fd %u: filetype %s\n", fd, st.fs_filetype == __WASI_FILETYPE_DIRECTORY ? "directory" : "other");
  }
  int fd = open("/other/a.txt", O_RDONLY);
  char buf[16] = {0};
  if (fd >= 0) { read(fd, buf, 15); printf("/other/a.txt: %s", buf); close(fd); }
  else printf("/other/a.txt: %s\n", errname(errno));
  __wasi_fdstat_t st;
  for (__wasi_fd_t f = 0; f < 3; f++)
    printf("fd %u fdstat: %s\n", f, __wasi_fd_fdstat_get(f, &st) == 0 ? "OK" : "error");
  return 0;
}
