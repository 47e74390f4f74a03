/* Error codes of common mistakes: each call prints the errno name, except
 * where preview1's rights decide (ENOTCAPABLE, which wasi-libc turns into
 * EBADF for read/write) and a host without rights would answer EISDIR or
 * EINVAL: those print only "refused". */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

#define REFUSED(what, call) printf("%s: %s\n", (what), (long)(call) < 0 ? "refused" : "allowed")

int main(void) {
  char buf[16];
  SHOW("open missing", open("/sandbox/missing", O_RDONLY));
  SHOW("open missing/dir/file", open("/sandbox/missing/x", O_CREAT | O_WRONLY, 0644));
  SHOW("open dir O_WRONLY", open("/sandbox/sub", O_WRONLY));
  SHOW("open dir O_RDWR", open("/sandbox/sub", O_RDWR));
  SHOW("open file/x", open("/sandbox/hello.txt/x", O_RDONLY));
  SHOW("open file O_DIRECTORY", open("/sandbox/hello.txt", O_RDONLY | O_DIRECTORY));
  SHOW("open O_EXCL existing", open("/sandbox/hello.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
  SHOW("open O_EXCL on dir", open("/sandbox/sub", O_CREAT | O_EXCL | O_WRONLY, 0644));
  char longname[400] = "/sandbox/";
  memset(longname + 9, 'n', 300);
  longname[309] = 0;
  SHOW("open 300-byte name", open(longname, O_CREAT | O_WRONLY, 0644));
  SHOW("mkdir 300-byte name", mkdir(longname, 0755));

  int fd = open("/sandbox/hello.txt", O_RDONLY);
  SHOW("write on O_RDONLY", write(fd, "x", 1));
  REFUSED("ftruncate on O_RDONLY", ftruncate(fd, 0));
  close(fd);
  SHOW("read closed fd", read(fd, buf, 1));
  SHOW("close closed fd", close(fd));
  fd = open("/sandbox/w.txt", O_CREAT | O_WRONLY, 0644);
  SHOW("read on O_WRONLY", read(fd, buf, 1));
  close(fd);
  SHOW("read fd 99", read(99, buf, 1));
  SHOW("write fd 99", write(99, "x", 1));
  SHOW("close fd 99", close(99));
  SHOW("fsync fd 99", fsync(99));
  struct stat s;
  SHOW("fstat fd 99", fstat(99, &s));
  fd = open("/sandbox/sub", O_RDONLY | O_DIRECTORY);
  REFUSED("read on dir fd", read(fd, buf, 1));
  REFUSED("write on dir fd", write(fd, "x", 1));
  close(fd);
  fd = open("/sandbox/hello.txt", O_RDWR);
  SHOW("fsync file", fsync(fd));
  SHOW("fdatasync file", fdatasync(fd));
  close(fd);
  SHOW("mkdir existing file", mkdir("/sandbox/hello.txt", 0755));
  SHOW("open empty path", open("", O_RDONLY));
  return 0;
}
