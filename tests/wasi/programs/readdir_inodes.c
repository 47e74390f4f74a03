/* fd_readdir's inode numbers: no entry has inode 0 ("unknown", which newer
 * wasi-libc looks up by name, and a lookup of ".." is refused, so scandir()
 * failed on every directory); "." is the directory itself, ".." its parent,
 * and a preopen's ".." is itself (its real parent is outside the sandbox).
 * node=skip: Node lists neither "." nor "..", and gives every entry inode 0.
 * Inode numbers are compared, never printed. */
//! run exit=0 node=skip | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wasi/api.h>

#include "common.h"

/* Reads path's entries with fd_readdir itself (libc's readdir hides d_ino's
 * 0); prints how many have inode 0 and what "." and ".." are. */
static void check(const char *path, const char *parent) {
  struct stat self, up;
  if (stat(path, &self) != 0 || stat(parent, &up) != 0) {
    printf("%s: stat: %s\n", path, errname(errno));
    return;
  }
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) {
    printf("%s: open: %s\n", path, errname(errno));
    return;
  }
  static uint8_t buf[16384];
  __wasi_size_t used = 0;
  __wasi_errno_t e = __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used);
  int zero = 0, n = 0;
  const char *dot = "missing", *dotdot = "missing";
  for (size_t at = 0; !e && at + sizeof(__wasi_dirent_t) <= used;) {
    __wasi_dirent_t d;
    memcpy(&d, buf + at, sizeof d);
    const char *name = (const char *)buf + at + sizeof d;
    at += sizeof d + d.d_namlen;
    if (at > used) break; /* cut at the buffer's end */
    n++;
    if (!d.d_ino) zero++;
    if (d.d_namlen == 1 && name[0] == '.')
      dot = d.d_ino == self.st_ino ? "itself" : "another inode";
    if (d.d_namlen == 2 && !memcmp(name, "..", 2))
      dotdot = d.d_ino == up.st_ino ? "the parent" : "another inode";
  }
  printf("%s: fd_readdir %s, %d entries, inode 0: %d; \".\" is %s, \"..\" is %s\n", path,
         e ? "failed" : "OK", n, zero, dot, dotdot);
  close(fd);
}

/* The preopen's own descriptor closed: a directory opened on the sandbox's
 * root before is still the root, and its ".." still itself (until stop 30
 * the root was known by the open preopen, and ".." gave the host's parent).
 * Last: paths no longer resolve once the preopen is closed. */
static void root_after_its_preopen_is_closed(void) {
  int fd = open("/sandbox", O_RDONLY | O_DIRECTORY);
  struct stat self;
  if (fd < 0 || fstat(fd, &self) != 0) {
    printf("/sandbox: open: %s\n", errname(errno));
    return;
  }
  __wasi_errno_t e = __wasi_fd_close(3);
  static uint8_t buf[16384];
  __wasi_size_t used = 0;
  if (!e) e = __wasi_fd_readdir(fd, buf, sizeof buf, 0, &used);
  const char *dotdot = "missing";
  for (size_t at = 0; !e && at + sizeof(__wasi_dirent_t) <= used;) {
    __wasi_dirent_t d;
    memcpy(&d, buf + at, sizeof d);
    const char *name = (const char *)buf + at + sizeof d;
    at += sizeof d + d.d_namlen;
    if (at > used) break;
    if (d.d_namlen == 2 && !memcmp(name, "..", 2))
      dotdot = d.d_ino == self.st_ino ? "itself" : "another inode";
  }
  printf("/sandbox, its preopen closed: %s, \"..\" is %s\n", e ? "failed" : "OK", dotdot);
  close(fd);
}

int main(void) {
  check("/sandbox", "/sandbox"); /* a preopen: its own parent */
  check("/sandbox/sub", "/sandbox");
  check("/sandbox/sub/inner", "/sandbox/sub");
  root_after_its_preopen_is_closed();
  return 0;
}
