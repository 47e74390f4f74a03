/*
 * A function whose initialisation does real work, as loading a model or
 * building an index would: mote_init sorts 256 Ki pseudo-random words
 * (1 MiB) once; each call prints the rank of its argument (default 1) by
 * binary search. Without mote_init (mote run, Node) main sorts first.
 */
#include <stdio.h>
#include <stdlib.h>

#define N (1u << 18)
static unsigned table[N];
static int ready;

static int cmp(const void *a, const void *b) {
  unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
  return x < y ? -1 : x > y;
}

__attribute__((export_name("mote_init"))) void mote_init(void);
void mote_init(void) {
  unsigned x = 12345;
  for (unsigned i = 0; i < N; i++) {
    x = x * 1103515245u + 12345u;
    table[i] = x;
  }
  qsort(table, N, sizeof table[0], cmp);
  ready = 1;
}

int main(int argc, char **argv) {
  if (!ready) mote_init();
  unsigned key = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 1u;
  unsigned lo = 0, hi = N;
  while (lo < hi) {
    unsigned mid = lo + (hi - lo) / 2;
    if (table[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  printf("%u\n", lo);
  return 0;
}
