/* File times set explicitly and read back (so they are deterministic), with
 * only one of the two set at a time too (the other must stay).
 * Node is wrong here, so this compares with expected/times.1.out: its
 * path_filestat_set_times and fd_filestat_set_times drop the nanoseconds
 * (1234567890.5 reads back as 1234567890.0).
 * Debian's wasi-libc fails futimens/utimensat with only atime set (mtime
 * UTIME_OMIT) with EINVAL before any WASI call, so that case calls
 * fd_filestat_set_times directly. */
//! run exit=0 node=wrong | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "common.h"

static void show(const char *p) {
  struct stat s;
  if (stat(p, &s)) { printf("stat: %s\n", errname(errno)); return; }
  printf("atime %lld.%09ld mtime %lld.%09ld\n", (long long)s.st_atim.tv_sec, s.st_atim.tv_nsec,
         (long long)s.st_mtim.tv_sec, s.st_mtim.tv_nsec);
}

int main(void) {
  const char *p = "/sandbox/hello.txt";
  struct timespec ts[2] = {{1000000000, 0}, {1234567890, 500000000}};
  SHOW("utimensat", utimensat(AT_FDCWD, p, ts, 0));
  show(p);
  int fd = open(p, O_RDWR);
  printf("fd_filestat_set_times (atim only): %s\n",
         __wasi_fd_filestat_set_times(fd, 1500000000000000250ull, 0, __WASI_FSTFLAGS_ATIM) ? "error" : "OK");
  show(p);
  struct timespec only_mtime[2] = {{0, UTIME_OMIT}, {1600000000, 0}};
  SHOW("futimens (atime omitted)", futimens(fd, only_mtime));
  show(p);
  close(fd);
  /* On the link itself, not its target. */
  struct timespec lt[2] = {{1100000000, 0}, {1100000000, 0}};
  SHOW("utimensat nofollow on link", utimensat(AT_FDCWD, "/sandbox/link.txt", lt, AT_SYMLINK_NOFOLLOW));
  show(p);
  return 0;
}
