/* stat, fstat, lstat: the deterministic fields (type, size, nlink, "same
 * file") and hard links (link). Times: times.c. */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static const char *type(mode_t m) {
  return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "link"
       : S_ISCHR(m) ? "chr" : S_ISBLK(m) ? "blk" : S_ISFIFO(m) ? "fifo" : S_ISSOCK(m) ? "sock" : "?";
}

static void st(const char *what, int r, const struct stat *s, int with_size) {
  if (r < 0) { printf("%s: %s\n", what, errname(errno)); return; }
  printf("%s: type %s", what, type(s->st_mode));
  if (with_size) printf(" size %lld", (long long)s->st_size);
  printf("\n");
}

int main(void) {
  struct stat s, s2;
  st("stat hello.txt", stat("/sandbox/hello.txt", &s), &s, 1);
  printf("nlink hello.txt: %llu\n", (unsigned long long)s.st_nlink);
  st("stat sub", stat("/sandbox/sub", &s), &s, 0);
  st("stat link.txt", stat("/sandbox/link.txt", &s), &s, 1);
  st("lstat link.txt", lstat("/sandbox/link.txt", &s), &s, 1);
  st("lstat hello.txt", lstat("/sandbox/hello.txt", &s), &s, 1);
  errno = 0;
  st("stat missing", stat("/sandbox/missing", &s), &s, 1);
  errno = 0;
  st("stat hello.txt/x", stat("/sandbox/hello.txt/x", &s), &s, 1);
  st("stat /sandbox", stat("/sandbox", &s), &s, 0);
  st("stat /sandbox/.", stat("/sandbox/.", &s), &s, 0);
  st("stat /sandbox/sub/..", stat("/sandbox/sub/..", &s), &s, 0);

  int fd = open("/sandbox/hello.txt", O_RDONLY);
  st("fstat hello.txt", fstat(fd, &s), &s, 1);
  stat("/sandbox/hello.txt", &s2);
  printf("fstat and stat same file: %s\n", s.st_dev == s2.st_dev && s.st_ino == s2.st_ino ? "yes" : "no");
  close(fd);
  fd = open("/sandbox/sub", O_RDONLY | O_DIRECTORY);
  st("fstat sub", fstat(fd, &s), &s, 0);
  close(fd);

  /* Size follows writes. */
  fd = open("/sandbox/grow.txt", O_CREAT | O_WRONLY, 0644);
  st("fstat new", fstat(fd, &s), &s, 1);
  write(fd, "12345", 5);
  st("fstat after write", fstat(fd, &s), &s, 1);
  close(fd);
  st("stat after close", stat("/sandbox/grow.txt", &s), &s, 1);

  /* Hard links. */
  SHOW("link", link("/sandbox/grow.txt", "/sandbox/hard.txt"));
  stat("/sandbox/grow.txt", &s);
  stat("/sandbox/hard.txt", &s2);
  printf("nlink after link: %llu %llu\n", (unsigned long long)s.st_nlink, (unsigned long long)s2.st_nlink);
  printf("hard link same file: %s\n", s.st_dev == s2.st_dev && s.st_ino == s2.st_ino ? "yes" : "no");
  SHOW("link onto existing", link("/sandbox/grow.txt", "/sandbox/hello.txt"));
  SHOW("link missing", link("/sandbox/missing", "/sandbox/x"));

  return 0;
}
