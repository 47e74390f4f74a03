/*
 * The benchmark's driver of Debian's zstd library (bench/corpus.sh builds it
 * to wasm32-wasi with the library's own sources): compresses a file at a
 * level, decompresses it, checks the round trip, prints the sizes and an
 * FNV-1a hash of the compressed frame.
 *   zstd_driver FILE LEVEL
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zstd.h"

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 3;
  fseek(f, 0, SEEK_END);
  size_t n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  char *src = malloc(n), *back = malloc(n);
  if (!src || !back || fread(src, 1, n, f) != n) return 4;
  fclose(f);
  size_t cap = ZSTD_compressBound(n);
  char *dst = malloc(cap);
  size_t c = ZSTD_compress(dst, cap, src, n, atoi(argv[2]));
  if (ZSTD_isError(c)) return 5;
  size_t d = ZSTD_decompress(back, n, dst, c);
  if (ZSTD_isError(d) || d != n || memcmp(src, back, n) != 0) return 6;
  uint32_t h = 0x811c9dc5u;
  for (size_t i = 0; i < c; i++) h = (h ^ (uint8_t)dst[i]) * 0x01000193u;
  printf("%zu -> %zu bytes, fnv %08x, round trip ok\n", n, c, h);
  return 0;
}
