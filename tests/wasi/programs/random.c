/* random_get through getentropy and arc4random: succeeds, fills, differs. */
//! run exit=0 | @WASM
#include <stdlib.h>
#include <unistd.h>
#include <wasi/api.h>

#include "common.h"

int main(void) {
  unsigned char a[64] = {0}, b[64] = {0};
  SHOW("getentropy 64", getentropy(a, sizeof a));
  SHOW("getentropy 64 again", getentropy(b, sizeof b));
  printf("two draws differ: %s\n", memcmp(a, b, sizeof a) ? "yes" : "no");
  int zero = 1;
  for (size_t i = 0; i < sizeof a; i++) if (a[i]) zero = 0;
  printf("not all zero: %s\n", zero ? "no" : "yes");
  SHOW("getentropy 257 (over the POSIX limit)", getentropy(a, 257));
  static unsigned char big[100000];
  printf("random_get 100000: %s\n", __wasi_random_get(big, sizeof big) == 0 ? "OK" : "error");
  unsigned x = arc4random(), y = arc4random();
  printf("arc4random varies: %s\n", x != y ? "yes" : "no");
  return 0;
}
