/* Unbounded recursion in C with a frame on the shadow stack (a volatile
 * array): linked with --stack-first, running off the shadow stack faults
 * (an out-of-bounds access below address 0) or the native stack runs out
 * first; either way a trap, never silent corruption. */
#include <stdio.h>

static volatile int forever = 1;

static int depth(int n) {
  volatile char frame[256];
  frame[n & 255] = (char)n;
  if (!forever) return 0;
  return depth(n + 1) + frame[(n * 7) & 255];
}

int main(void) {
  printf("%d\n", depth(0));
  return 0;
}
