/* Opens one file 100000 times without closing. The open-file cap must stop
 * it with EMFILE (or ENFILE) in the guest: prints how many opens worked and
 * the errno, then checks that closing one lets the next open work. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "common.h"

int main(void) {
  int n = 0, last = -1, err = 0;
  for (; n < 100000; n++) {
    int fd = open("/sandbox/hello.txt", O_RDONLY);
    if (fd < 0) { err = errno; break; }
    last = fd;
  }
  printf("opened %d, then %s\n", n, errname(err));
  if (last >= 0) {
    close(last);
    int fd = open("/sandbox/hello.txt", O_RDONLY);
    printf("after one close: %s\n", fd >= 0 ? "open works" : errname(errno));
  }
  return 0;
}
