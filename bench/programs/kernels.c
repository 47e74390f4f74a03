/*
 * Compute kernels for the engine benchmark, one per run, chosen by argv[1]:
 *
 *   hash    xxhash-like 64-bit mixing over a 4 MiB buffer, many passes
 *   nbody   the n-body simulation (double precision, sqrt, divisions)
 *   sort    quicksort and a merge pass over 2M pseudo-random 32-bit keys
 *   interp  a big switch-based bytecode interpreter running a loop program
 *   pixels  8-bit image arithmetic over 1 MiB planes: a saturating add, a rounded
 *           average, a sharpening filter into 16 bits, a clamp back to 8, min/max
 *
 * argv[2] scales the work. Prints a checksum on stdout (compared between
 * platforms) and the compute time on stderr (bench_clock.h).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_clock.h"

/* ---- hash ----------------------------------------------------------------- */

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static uint64_t hash_buffer(const uint8_t *p, size_t n, uint64_t seed) {
  const uint64_t P1 = 0x9E3779B185EBCA87ull, P2 = 0xC2B2AE3D27D4EB4Full, P3 = 0x165667B19E3779F9ull;
  uint64_t a = seed + P1 + P2, b = seed + P2, c = seed, d = seed - P1;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    uint64_t w[4];
    memcpy(w, p + i, 32);
    a = rotl64(a + w[0] * P2, 31) * P1;
    b = rotl64(b + w[1] * P2, 31) * P1;
    c = rotl64(c + w[2] * P2, 31) * P1;
    d = rotl64(d + w[3] * P2, 31) * P1;
  }
  uint64_t h = rotl64(a, 1) + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18);
  for (; i < n; i++) h = rotl64(h ^ (p[i] * P3), 11) * P1;
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  return h ^ (h >> 32);
}

static uint64_t run_hash(int scale) {
  size_t n = 4u << 20;
  uint8_t *buf = malloc(n);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) {
    x = x * 1664525u + 1013904223u;
    buf[i] = (uint8_t)(x >> 24);
  }
  uint64_t h = 0;
  for (int r = 0; r < 600 * scale; r++) h ^= hash_buffer(buf, n, h + (uint64_t)r);
  free(buf);
  return h;
}

/* ---- nbody ------------------------------------------------------------------ */

typedef struct { double x, y, z, vx, vy, vz, m; } body;

static uint64_t run_nbody(int scale) {
  const double PI = 3.141592653589793, SOLAR = 4 * PI * PI, DAYS = 365.24;
  body b[5] = {
      {0, 0, 0, 0, 0, 0, SOLAR},
      {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
       1.66007664274403694e-03 * DAYS, 7.69901118419740425e-03 * DAYS,
       -6.90460016972063023e-05 * DAYS, 9.54791938424326609e-04 * SOLAR},
      {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
       -2.76742510726862411e-03 * DAYS, 4.99852801234917238e-03 * DAYS,
       2.30417297573763929e-05 * DAYS, 2.85885980666130812e-04 * SOLAR},
      {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
       2.96460137564761618e-03 * DAYS, 2.37847173959480950e-03 * DAYS,
       -2.96589568540237556e-05 * DAYS, 4.36624404335156298e-05 * SOLAR},
      {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
       2.68067772490389322e-03 * DAYS, 1.62824170038242295e-03 * DAYS,
       -9.51592254519715870e-05 * DAYS, 5.15138902046611451e-05 * SOLAR}};
  int steps = 5000000 * scale;
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < 5; i++)
      for (int j = i + 1; j < 5; j++) {
        double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = 0.01 / (d2 * sqrt(d2));
        b[i].vx -= dx * b[j].m * mag;
        b[i].vy -= dy * b[j].m * mag;
        b[i].vz -= dz * b[j].m * mag;
        b[j].vx += dx * b[i].m * mag;
        b[j].vy += dy * b[i].m * mag;
        b[j].vz += dz * b[i].m * mag;
      }
    for (int i = 0; i < 5; i++) {
      b[i].x += 0.01 * b[i].vx;
      b[i].y += 0.01 * b[i].vy;
      b[i].z += 0.01 * b[i].vz;
    }
  }
  double e = 0;
  for (int i = 0; i < 5; i++) e += b[i].x * 1e3 + b[i].vy;
  uint64_t bits;
  memcpy(&bits, &e, 8);
  return bits >> 8; /* the last bits may differ with the order of additions: none here */
}

/* ---- sort ------------------------------------------------------------------- */

static void quicksort(uint32_t *a, long lo, long hi) {
  while (lo < hi) {
    uint32_t p = a[(lo + hi) / 2];
    long i = lo, j = hi;
    while (i <= j) {
      while (a[i] < p) i++;
      while (a[j] > p) j--;
      if (i <= j) {
        uint32_t t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (j - lo < hi - i) {
      quicksort(a, lo, j);
      lo = i;
    } else {
      quicksort(a, i, hi);
      hi = j;
    }
  }
}

static uint64_t run_sort(int scale) {
  size_t n = 2u << 20;
  uint32_t *a = malloc(n * sizeof *a), *m = malloc(n * sizeof *m);
  uint64_t h = 0;
  for (int r = 0; r < 2 * scale; r++) {
    uint32_t x = 777 + (uint32_t)r;
    for (size_t i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      a[i] = x;
    }
    quicksort(a, 0, (long)n / 2 - 1);
    quicksort(a, (long)n / 2, (long)n - 1);
    size_t i = 0, j = n / 2, k = 0; /* merge the halves */
    while (i < n / 2 && j < n) m[k++] = a[i] <= a[j] ? a[i++] : a[j++];
    while (i < n / 2) m[k++] = a[i++];
    while (j < n) m[k++] = a[j++];
    for (size_t q = 0; q < n; q += 4099) h = h * 31 + m[q];
  }
  free(a);
  free(m);
  return h;
}

/* ---- interp ------------------------------------------------------------------- */

enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_SHL, OP_SHR, OP_AND,
       OP_LT, OP_JZ, OP_JMP, OP_DUP, OP_DROP, OP_INC, OP_MOD, OP_HALT };

static uint64_t interpret(const int32_t *code, int64_t *vars) {
  int64_t stack[64];
  int sp = 0, pc = 0;
  for (;;) {
    int32_t op = code[pc++];
    switch (op) {
      case OP_PUSH: stack[sp++] = code[pc++]; break;
      case OP_LOAD: stack[sp++] = vars[code[pc++]]; break;
      case OP_STORE: vars[code[pc++]] = stack[--sp]; break;
      case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
      case OP_SUB: sp--; stack[sp - 1] -= stack[sp]; break;
      case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
      case OP_XOR: sp--; stack[sp - 1] ^= stack[sp]; break;
      case OP_SHL: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] << (stack[sp] & 63)); break;
      case OP_SHR: sp--; stack[sp - 1] = (int64_t)((uint64_t)stack[sp - 1] >> (stack[sp] & 63)); break;
      case OP_AND: sp--; stack[sp - 1] &= stack[sp]; break;
      case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
      case OP_JZ: pc = stack[--sp] ? pc + 1 : code[pc]; break;
      case OP_JMP: pc = code[pc]; break;
      case OP_DUP: stack[sp] = stack[sp - 1]; sp++; break;
      case OP_DROP: sp--; break;
      case OP_INC: vars[code[pc++]]++; break;
      case OP_MOD: sp--; stack[sp - 1] = stack[sp] ? stack[sp - 1] % stack[sp] : 0; break;
      case OP_HALT: return (uint64_t)vars[1];
      default: return 0;
    }
  }
}

static uint64_t run_interp(int scale) {
  /* i = 0; acc = 1; while (i < N) { acc = ((acc * 33) ^ (acc >> 7)) + i % 13; acc &= 0x7fffffff; i++ } */
  int32_t n = 20000000 * scale;
  const int32_t code[] = {
      /* 0 */ OP_PUSH, 0, OP_STORE, 0, OP_PUSH, 1, OP_STORE, 1,
      /* 8 */ OP_LOAD, 0, OP_PUSH, n, OP_LT, OP_JZ, 48,
      /* 15 */ OP_LOAD, 1, OP_PUSH, 33, OP_MUL, OP_LOAD, 1, OP_PUSH, 7, OP_SHR, OP_XOR,
      /* 26 */ OP_LOAD, 0, OP_PUSH, 13, OP_MOD, OP_ADD,
      /* 32 */ OP_PUSH, 0x7fffffff, OP_AND, OP_STORE, 1,
      /* 37 */ OP_INC, 0, OP_JMP, 8, OP_HALT, OP_HALT, OP_HALT, OP_HALT,
      /* 45 */ OP_HALT, OP_HALT, OP_HALT, OP_HALT,
      /* 48 */ OP_HALT};
  int64_t vars[4] = {0};
  return interpret(code, vars);
}

/* ---- pixels ------------------------------------------------------------------ */

static void px_add(uint8_t *restrict d, const uint8_t *restrict a, const uint8_t *restrict b,
                   size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned s = (unsigned)a[i] + b[i];
    d[i] = (uint8_t)(s > 255 ? 255 : s);
  }
}

static void px_average(uint8_t *restrict d, const uint8_t *restrict a,
                       const uint8_t *restrict b, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = (uint8_t)((a[i] + b[i] + 1) >> 1);
}

static void px_sharpen(int16_t *restrict o, const uint8_t *restrict a, size_t n) {
  for (size_t i = 1; i + 1 < n; i++) o[i] = (int16_t)(3 * a[i] - a[i - 1] - a[i + 1]);
}

static void px_clamp(uint8_t *restrict d, const int16_t *restrict x, size_t n) {
  for (size_t i = 0; i < n; i++) d[i] = (uint8_t)(x[i] < 0 ? 0 : x[i] > 255 ? 255 : x[i]);
}

static uint32_t px_range(const uint8_t *a, size_t n) {
  uint8_t lo = 255, hi = 0;
  for (size_t i = 0; i < n; i++) {
    lo = a[i] < lo ? a[i] : lo;
    hi = a[i] > hi ? a[i] : hi;
  }
  return (uint32_t)lo << 8 | hi;
}

static uint64_t run_pixels(int scale) {
  size_t n = 1u << 20;
  uint8_t *a = malloc(n), *b = malloc(n), *d = malloc(n);
  int16_t *t = calloc(n, sizeof *t);
  if (!a || !b || !d || !t) exit(3);
  uint32_t x = 12345;
  for (size_t i = 0; i < n; i++) {
    x = x * 1664525u + 1013904223u;
    a[i] = (uint8_t)(x >> 24);
    b[i] = (uint8_t)(x >> 16);
  }
  uint64_t h = 0;
  for (int r = 0; r < 300 * scale; r++) {
    px_add(d, a, b, n);
    px_average(b, d, a, n);
    px_sharpen(t, b, n);
    px_clamp(a, t, n);
    h = h * 31 + px_range(a, n) + d[r % n] + b[(r * 7) % n];
  }
  free(a);
  free(b);
  free(d);
  free(t);
  return h;
}

int main(int argc, char **argv) {
  const char *k = argc > 1 ? argv[1] : "hash";
  int scale = argc > 2 ? atoi(argv[2]) : 1;
  if (scale < 1) scale = 1;
  double start = bench_now_us();
  uint64_t r;
  if (!strcmp(k, "hash")) r = run_hash(scale);
  else if (!strcmp(k, "nbody")) r = run_nbody(scale);
  else if (!strcmp(k, "sort")) r = run_sort(scale);
  else if (!strcmp(k, "interp")) r = run_interp(scale);
  else if (!strcmp(k, "pixels")) r = run_pixels(scale);
  else {
    fprintf(stderr, "usage: kernels hash|nbody|sort|interp|pixels [SCALE]\n");
    return 2;
  }
  bench_report(start);
  printf("%s %016llx\n", k, (unsigned long long)r);
  return 0;
}
