/* A directory given without :rw is read-only in mote: reading works, every
 * change is refused, and the tree is left as it was.
 * node:wasi has no read-only preopens, so this test does not compare with
 * Node: it checks mote's output against expected/readonly.1.out and the tree
 * against the fixture. The error code is printed as "refused" only: the
 * spec has no read-only directory, so EROFS, EPERM, EACCES and ENOTCAPABLE
 * are all reasonable answers. */
//! run exit=0 node=skip | --dir @SB:/sandbox @WASM
//! run exit=0 node=skip | --dir @SB:/sandbox:ro @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static void refused(const char *what, long r) {
  printf("%s: %s\n", what, r < 0 ? "refused" : "allowed");
}

int main(void) {
  char buf[64] = {0};
  int fd = open("/sandbox/hello.txt", O_RDONLY);
  printf("read hello.txt: %zd\n", read(fd, buf, sizeof buf - 1));
  close(fd);
  struct stat s;
  printf("stat sub: %s\n", stat("/sandbox/sub", &s) == 0 ? "OK" : errname(errno));
  char l[64];
  printf("readlink link.txt: %zd\n", readlink("/sandbox/link.txt", l, sizeof l));
  refused("create", open("/sandbox/new.txt", O_CREAT | O_WRONLY, 0644));
  refused("open for writing", open("/sandbox/hello.txt", O_WRONLY));
  refused("open O_RDWR", open("/sandbox/hello.txt", O_RDWR));
  refused("open O_TRUNC", open("/sandbox/hello.txt", O_RDONLY | O_TRUNC));
  refused("mkdir", mkdir("/sandbox/d", 0755));
  refused("rmdir", rmdir("/sandbox/sub/inner"));
  refused("unlink", unlink("/sandbox/sub/a.txt"));
  refused("rename", rename("/sandbox/hello.txt", "/sandbox/moved.txt"));
  refused("symlink", symlink("hello.txt", "/sandbox/s"));
  refused("link", link("/sandbox/hello.txt", "/sandbox/h"));
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  refused("utimensat", utimensat(AT_FDCWD, "/sandbox/hello.txt", ts, 0));
  fd = open("/sandbox/hello.txt", O_RDONLY);
  refused("ftruncate", ftruncate(fd, 0));
  refused("write", write(fd, "x", 1));
  close(fd);
  return 0;
}
