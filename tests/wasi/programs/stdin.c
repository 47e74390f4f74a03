/* stdin: read all of it in odd-sized pieces, print the byte count and FNV-1a;
 * a read after EOF returns 0 again. */
//! run exit=0 stdin=data | @WASM
//! run exit=0 stdin=pipe | @WASM
//! run exit=0 stdin=empty | @WASM
#include <unistd.h>

#include "common.h"

int main(void) {
  static unsigned char buf[7777];
  unsigned h = FNV_INIT;
  size_t total = 0;
  ssize_t n;
  while ((n = read(0, buf, sizeof buf)) > 0) {
    h = fnv1a(buf, (size_t)n, h);
    total += (size_t)n;
  }
  printf("last read: %zd\n", n);
  printf("stdin: %zu bytes, fnv %08x\n", total, h);
  printf("read after eof: %zd\n", read(0, buf, sizeof buf));
  errno = 0;
  printf("write to stdin: %zd %s\n", write(0, "x", 1) < 0 ? (ssize_t)-1 : (ssize_t)0, errno ? "error" : "none");
  return 0;
}
