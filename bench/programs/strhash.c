/*
 * Strings and a hash table: builds plate-like keys ("ABC1234"), inserts
 * them into an open-addressing table (FNV-1a), then looks up a mix of
 * present and absent keys - the work of the license plate reader.
 * Prints the hit count and the compute time on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"

typedef struct {
  char key[8];
  uint32_t used;
} slot;

static uint32_t fnv1a(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static void plate(uint32_t n, char out[8]) {
  for (int i = 0; i < 3; i++, n /= 26) out[i] = (char)('A' + n % 26);
  snprintf(out + 3, 5, "%04u", n % 10000);
}

int main(int argc, char **argv) {
  uint32_t keys = argc > 1 ? (uint32_t)atoi(argv[1]) : 200000;
  uint32_t cap = 1;
  while (cap < keys * 2) cap <<= 1;
  slot *table = calloc(cap, sizeof *table);
  double start = bench_now_us();
  for (uint32_t i = 0; i < keys; i++) {
    char k[8];
    plate(i * 2654435761u, k);
    uint32_t h = fnv1a(k) & (cap - 1);
    while (table[h].used && strcmp(table[h].key, k) != 0) h = (h + 1) & (cap - 1);
    memcpy(table[h].key, k, 8);
    table[h].used = 1;
  }
  uint32_t hits = 0;
  for (uint32_t round = 0; round < 10; round++)
    for (uint32_t i = 0; i < keys; i++) {
      char k[8];
      plate((i + round * 7) * 2654435761u + (i & 1), k);
      uint32_t h = fnv1a(k) & (cap - 1);
      while (table[h].used) {
        if (strcmp(table[h].key, k) == 0) {
          hits++;
          break;
        }
        h = (h + 1) & (cap - 1);
      }
    }
  bench_report(start);
  printf("%u hits\n", hits);
  return 0;
}
