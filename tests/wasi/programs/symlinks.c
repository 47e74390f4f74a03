/* Symbolic links: symlink, readlink, following for open and
 * stat, through a directory link, dangling links, loops, and unlinking a
 * link (the target stays). Where Node is wrong: symlinks_spec.c. */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static void rl(const char *p, size_t size) {
  char buf[256];
  errno = 0;
  ssize_t n = readlink(p, buf, size);
  if (n < 0) printf("readlink %s: %s\n", p, errname(errno));
  else printf("readlink %s (%zu): %zd '%.*s'\n", p, size, n, (int)n, buf);
}

static void cat(const char *p) {
  char buf[256];
  errno = 0;
  int fd = open(p, O_RDONLY);
  if (fd < 0) { printf("open %s: %s\n", p, errname(errno)); return; }
  ssize_t n = read(fd, buf, sizeof buf);
  printf("open %s: %zd '%.*s'\n", p, n, (int)(n > 0 && buf[n - 1] == '\n' ? n - 1 : n), buf);
  close(fd);
}

int main(void) {
  rl("/sandbox/link.txt", 256);
  cat("/sandbox/link.txt");
  SHOW("symlink s1 -> hello.txt", symlink("hello.txt", "/sandbox/s1"));
  rl("/sandbox/s1", 256);
  cat("/sandbox/s1");
  SHOW("symlink s1 again", symlink("other", "/sandbox/s1"));
  SHOW("symlink sdir -> sub", symlink("sub", "/sandbox/sdir"));
  cat("/sandbox/sdir/a.txt");
  SHOW("symlink chain c1 -> s1", symlink("s1", "/sandbox/c1"));
  cat("/sandbox/c1");
  SHOW("symlink dangling -> nowhere", symlink("nowhere", "/sandbox/dangling"));
  cat("/sandbox/dangling");
  struct stat s;
  SHOW("lstat dangling", lstat("/sandbox/dangling", &s));
  SHOW("stat dangling", stat("/sandbox/dangling", &s));
  symlink("loop2", "/sandbox/loop1");
  symlink("loop1", "/sandbox/loop2");
  cat("/sandbox/loop1");
  rl("/sandbox/hello.txt", 256);
  rl("/sandbox/missing", 256);
  /* Creating through a dangling link creates its target. */
  int fd = open("/sandbox/dangling", O_CREAT | O_WRONLY, 0644);
  printf("create through dangling link: %s\n", fd >= 0 ? "OK" : errname(errno));
  if (fd >= 0) { write(fd, "made\n", 5); close(fd); }
  cat("/sandbox/nowhere");
  SHOW("unlink s1", unlink("/sandbox/s1"));
  cat("/sandbox/hello.txt");
  cat("/sandbox/c1");
  return 0;
}
