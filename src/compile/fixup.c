/*
 * Fixing wasm2c's output for tcc.
 *
 * wasm2c writes f32.neg and f64.neg as C negation, `-(w2c_f3)`. gcc emits a
 * sign-bit flip for that; tcc 0.9.27 emits a subtraction from zero, which
 * leaves a NaN's sign bit alone, while wasm requires neg to flip the sign
 * of any value, NaN included. So for the quick tier every such negation is
 * rewritten into a call of a bit-flipping helper defined in the unit's
 * prelude (toolchain.c). wasm2c names its float temporaries w2c_f<N> (f32)
 * and w2c_d<N> (f64), which makes the pattern exact.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile_internal.h"

/* Length of "-(w2c_fNN)" at p, with *kind set to 'f' or 'd'; 0 if no match. */
static size_t match_negation(const char *p, const char *end, char *kind) {
  if (end - p < 8 || memcmp(p, "-(w2c_", 6) != 0 || (p[6] != 'f' && p[6] != 'd')) return 0;
  const char *q = p + 7;
  if (q >= end || !isdigit((unsigned char)*q)) return 0;
  while (q < end && isdigit((unsigned char)*q)) q++;
  if (q >= end || *q != ')') return 0;
  *kind = p[6];
  return (size_t)(q + 1 - p);
}

int mote_fixup_float_negation(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *src = n >= 0 ? malloc((size_t)n + 1) : NULL;
  bool ok = src && fread(src, 1, (size_t)n, f) == (size_t)n;
  fclose(f);
  if (!ok) {
    free(src);
    return -1;
  }
  f = fopen(path, "wb");
  if (!f) {
    free(src);
    return -1;
  }
  const char *p = src, *end = src + n, *copied = src;
  while ((p = memchr(p, '-', (size_t)(end - p)))) {
    char kind;
    size_t len = match_negation(p, end, &kind);
    if (!len) {
      p++;
      continue;
    }
    fwrite(copied, 1, (size_t)(p - copied), f);
    /* "-(w2c_f3)" -> "mote_neg_f(w2c_f3)" */
    fprintf(f, "mote_neg_%c%.*s", kind, (int)(len - 1), p + 1);
    p += len;
    copied = p;
  }
  fwrite(copied, 1, (size_t)(end - copied), f);
  free(src);
  return fclose(f) == 0 ? 0 : -1;
}
