/*
 * A function with a 1 MiB initialised data segment: a lookup table, which
 * bench/server.sh generates (lookup_table.h: 262,144 pseudo-random words).
 * Each call looks up 10 entries chosen from its argument (default 1) and
 * prints their xor: it reads a few pages of the table and writes its stack.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lookup_table.h"

int main(int argc, char **argv) {
  unsigned key = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1u;
  unsigned h = 0;
  for (int i = 0; i < 10; i++) {
    key = key * 1103515245u + 12345u;
    h ^= lookup_table[(key >> 8) % (sizeof lookup_table / sizeof lookup_table[0])];
  }
  printf("%u\n", h);
  return 0;
}
