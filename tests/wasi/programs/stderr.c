/* stderr: lines through stdio (unbuffered) and write(2), next to stdout. */
//! run exit=0 | @WASM
#include <unistd.h>

#include "common.h"

int main(void) {
  printf("out 1\n");
  fprintf(stderr, "err 1: %d\n", 42);
  write(2, "err 2 via write\n", 16);
  fputs("err 3 no newline", stderr);
  fputs("\n", stderr);
  printf("out 2\n");
  fflush(stdout);
  write(1, "out 3 via write\n", 16);
  return 0;
}
