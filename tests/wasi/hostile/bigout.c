/* Writes 1 GiB to stdout (or, with the argument "stderr", to stderr) in
 * 64 KiB writes, then says so on the other stream. The output cap
 * (--max-output) must stop it: mote ends the run with its limit status. If a
 * write fails instead, the program reports the errno and exits 1. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
  int fd = argc > 1 && !strcmp(argv[1], "stderr") ? 2 : 1;
  static char buf[65536];
  memset(buf, 'x', sizeof buf);
  buf[sizeof buf - 1] = '\n';
  unsigned long long total = 0;
  while (total < (1ull << 30)) {
    ssize_t n = write(fd, buf, sizeof buf);
    if (n < 0) {
      dprintf(3 - fd, "write failed after %llu bytes: errno %d\n", total, errno);
      return 1;
    }
    total += (unsigned long long)n;
  }
  dprintf(3 - fd, "wrote all %llu bytes\n", total);
  return 0;
}
