/* unlink: a file, twice, a directory, a link; an open file stays readable
 * after unlink; remove() on a file and on an empty directory. */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int main(void) {
  int fd = open("/sandbox/u1", O_CREAT | O_RDWR, 0644);
  write(fd, "still here", 10);
  SHOW("unlink u1 (open)", unlink("/sandbox/u1"));
  SHOW("unlink u1 again", unlink("/sandbox/u1"));
  char buf[16] = {0};
  printf("read after unlink: %zd '%s'\n", pread(fd, buf, sizeof buf - 1, 0), buf);
  close(fd);
  SHOW("unlink dir sub", unlink("/sandbox/sub"));
  SHOW("unlink sub/a.txt", unlink("/sandbox/sub/a.txt"));
  SHOW("unlink link.txt", unlink("/sandbox/link.txt"));
  struct stat s;
  SHOW("hello.txt still there", stat("/sandbox/hello.txt", &s));
  SHOW("unlink missing/x", unlink("/sandbox/missing/x"));
  SHOW("unlink hello.txt/x", unlink("/sandbox/hello.txt/x"));
  SHOW("unlink sub/ (trailing slash)", unlink("/sandbox/sub/"));
  SHOW("remove sub/b.txt", remove("/sandbox/sub/b.txt"));
  SHOW("remove sub/inner (empty dir)", remove("/sandbox/sub/inner"));
  SHOW("remove sub (now empty)", remove("/sandbox/sub"));
  return 0;
}
