/* Path escapes: every way out of the preopened directory must fail, and
 * nothing outside may be read or written. The driver makes the directory
 * RUN/sandbox (given as /sandbox, read-write), a canary file RUN/canary and a
 * directory RUN/outside next to it, and these links inside the sandbox:
 *   out -> ../canary     updir -> ..          abs -> /etc/passwd
 *   procself -> /proc/self                    root -> /
 *   outabs -> RUN/canary (absolute)
 * Calls go straight to WASI (not through wasi-libc's path handling), relative
 * to the preopen (fd 3) or to a directory opened inside it. Each line is
 * "what: OK" (an escape: the driver fails) or "what: ENAME", after four
 * control lines (calls inside the sandbox) that must be OK. */
#include <fcntl.h>
#include <string.h>
#include <wasi/api.h>

#include "common.h"

static const char *wname(__wasi_errno_t e) {
  static char buf[16];
  switch (e) {
  case 0: return "OK";
  case __WASI_ERRNO_NOTCAPABLE: return "ENOTCAPABLE";
  case __WASI_ERRNO_NOENT: return "ENOENT";
  case __WASI_ERRNO_PERM: return "EPERM";
  case __WASI_ERRNO_ACCES: return "EACCES";
  case __WASI_ERRNO_LOOP: return "ELOOP";
  case __WASI_ERRNO_INVAL: return "EINVAL";
  case __WASI_ERRNO_NOTDIR: return "ENOTDIR";
  case __WASI_ERRNO_XDEV: return "EXDEV";
  case __WASI_ERRNO_EXIST: return "EEXIST";
  default: snprintf(buf, sizeof buf, "errno %u", e); return buf;
  }
}

static const __wasi_fd_t PRE = 3;
/* The preopen's inheriting rights (as wasi-libc asks for them), and the same
 * without the writing ones, for reads and directories. */
static __wasi_rights_t R_ALL, R_READ;

static void try_open(__wasi_fd_t dir, const char *path, int write, int follow) {
  __wasi_fd_t fd;
  __wasi_oflags_t of = write ? (__wasi_oflags_t)(__WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC) : 0;
  __wasi_errno_t e = __wasi_path_open(dir, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path, of,
                                      write ? R_ALL : R_READ, R_ALL, 0, &fd);
  printf("open %s %s%s: %s\n", write ? "write" : "read", path, follow ? " (follow)" : "", wname(e));
  if (e == 0) {
    char buf[64];
    __wasi_iovec_t iov = {(uint8_t *)buf, sizeof buf};
    __wasi_size_t n = 0;
    if (!write && __wasi_fd_read(fd, &iov, 1, &n) == 0 && n > 0 && strncmp(buf, "hello", 5) != 0)
      printf("  LEAK: read %u bytes that are not the sandbox's\n", (unsigned)n);
    if (write) {
      __wasi_ciovec_t c = {(const uint8_t *)"pwned\n", 6};
      if (__wasi_fd_write(fd, &c, 1, &n)) printf("  write failed\n");
    }
    if (__wasi_fd_close(fd)) printf("  close failed\n");
  }
}

static void try_stat(const char *path) {
  __wasi_filestat_t st;
  printf("stat %s (follow): %s\n", path,
         wname(__wasi_path_filestat_get(PRE, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, &st)));
}

int main(void) {
  __wasi_fdstat_t pst;
  if (__wasi_fd_fdstat_get(PRE, &pst)) { printf("no preopen at fd 3\n"); return 1; }
  R_ALL = pst.fs_rights_inheriting;
  R_READ = R_ALL & ~(__WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_ALLOCATE |
                     __WASI_RIGHTS_FD_FILESTAT_SET_SIZE);
  /* Controls: the same calls inside the sandbox work (else every "refused"
   * below would prove nothing). */
  try_open(PRE, "hello.txt", 0, 1);
  try_open(PRE, "sub/../hello.txt", 0, 1);
  try_open(PRE, "sub/made.txt", 1, 1);
  try_stat("sub");
  const char *reads[] = {"../canary", "/etc/passwd", "/proc/self/environ", "sub/../../canary",
                         "./../canary", "out", "updir/canary", "abs", "procself/environ",
                         "procself/root/etc/passwd", "root/etc/passwd", "outabs", "..", "/",
                         "sub/../..", "updir"};
  for (size_t i = 0; i < sizeof reads / sizeof *reads; i++) {
    try_open(PRE, reads[i], 0, 1);
    try_stat(reads[i]);
  }
  const char *writes[] = {"../canary", "../newfile", "out", "updir/newfile", "outabs",
                          "/tmp/mote-escape-newfile", "updir/outside/newfile"};
  for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
    try_open(PRE, writes[i], 1, 1);
    try_open(PRE, writes[i], 1, 0);
  }
  /* Relative to a directory opened inside the sandbox. */
  __wasi_fd_t sub;
  __wasi_errno_t e = __wasi_path_open(PRE, 0, "sub", __WASI_OFLAGS_DIRECTORY, R_READ, R_ALL, 0, &sub);
  printf("open dir sub: %s\n", wname(e));
  if (e == 0) {
    try_open(sub, "../../canary", 0, 1);
    try_open(sub, "../../newfile", 1, 1);
    try_open(sub, "../out", 0, 1);
  }
  printf("mkdir ../madedir: %s\n", wname(__wasi_path_create_directory(PRE, "../madedir")));
  printf("mkdir updir/madedir: %s\n", wname(__wasi_path_create_directory(PRE, "updir/madedir")));
  printf("rmdir ../outside: %s\n", wname(__wasi_path_remove_directory(PRE, "../outside")));
  printf("unlink ../canary: %s\n", wname(__wasi_path_unlink_file(PRE, "../canary")));
  printf("unlink updir/canary: %s\n", wname(__wasi_path_unlink_file(PRE, "updir/canary")));
  printf("rename ../canary -> stolen: %s\n", wname(__wasi_path_rename(PRE, "../canary", PRE, "stolen")));
  printf("rename hello.txt -> ../dropped: %s\n", wname(__wasi_path_rename(PRE, "hello.txt", PRE, "../dropped")));
  printf("rename hello.txt -> updir/dropped: %s\n", wname(__wasi_path_rename(PRE, "hello.txt", PRE, "updir/dropped")));
  printf("link ../canary -> hard: %s\n", wname(__wasi_path_link(PRE, 0, "../canary", PRE, "hard")));
  printf("link out (follow) -> hard2: %s\n", wname(__wasi_path_link(PRE, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "out", PRE, "hard2")));
  printf("link hello.txt -> ../hardout: %s\n", wname(__wasi_path_link(PRE, 0, "hello.txt", PRE, "../hardout")));
  printf("symlink at ../linkout: %s\n", wname(__wasi_path_symlink("hello.txt", PRE, "../linkout")));
  printf("set times ../canary: %s\n", wname(__wasi_path_filestat_set_times(PRE, 0, "../canary", 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
  printf("set times out (follow): %s\n", wname(__wasi_path_filestat_set_times(PRE, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "out", 1, 1, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM)));
  /* A link made now, pointing out, must not be followable either. */
  printf("symlink newout -> ../canary: %s\n", wname(__wasi_path_symlink("../canary", PRE, "newout")));
  try_open(PRE, "newout", 0, 1);
  try_open(PRE, "newout", 1, 1);
  char buf[64];
  __wasi_size_t n;
  printf("readlink ../out: %s\n", wname(__wasi_path_readlink(PRE, "../sandbox/out", (uint8_t *)buf, sizeof buf, &n)));
  printf("done\n");
  return 0;
}
