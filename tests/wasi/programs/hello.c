/* The smallest WASI program: one line on stdout. The hostile suite runs it
 * after every hostile case to check that the host still works. */
//! run exit=0 | @WASM
#include <stdio.h>

int main(void) {
  printf("hello from wasi\n");
  return 0;
}
