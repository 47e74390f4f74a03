/* Prints N MiB of 'x' (argv[1], default 1): a large reply, for slow
 * readers (tests/server/test_hostile_clients.sh, bench/hostile.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  static char chunk[65536];
  memset(chunk, 'x', sizeof chunk);
  long mib = argc > 1 ? atol(argv[1]) : 1;
  for (long i = 0; i < mib * 16; i++) fwrite(chunk, 1, sizeof chunk, stdout);
  return 0;
}
