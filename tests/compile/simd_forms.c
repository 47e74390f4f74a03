/* The prelude's SIMD helpers whose x86 builtins replace a portable form
 * (xl_prelude.h, "x86: where a wasm instruction is one SSE instruction"),
 * checked against a scalar reference written from the wasm SIMD spec: random
 * lanes, half of them drawn from edge values (0, +-1, each width's bounds,
 * 0x80/0x7f patterns; for floats +-0, quiet and signalling NaNs of both signs,
 * +-inf, +-2^31 and their neighbours, subnormals; the same kinds as f64
 * lanes, with f32's range edges). test_simd_forms.sh builds
 * it with the prelude four ways: gcc for x86-64-v2, gcc for the baseline, gcc
 * with the x86 macros undefined (the portable forms no x86 build compiles
 * otherwise) and tcc. Prints "checked N, mismatches M"; exits 1 on any.
 * usage: simd_forms [PAIRS PER OPERATION] (default 200000) */
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include "xl_prelude.h"

void wasm_rt_trap(wasm_rt_trap_t t) { (void)t; abort(); }

typedef struct { union { uint8_t b[16]; int8_t sb[16]; uint16_t h[8]; int16_t sh[8];
  uint32_t w[4]; int32_t sw[4]; uint64_t d[2]; int64_t sd[2]; float f[4]; double g[2]; } u; } V;

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

static void gen(V *v, int kind) {
  for (int i = 0; i < 16; i++) v->u.b[i] = (uint8_t)rnd();
  if (kind == 0) return;
  static const uint8_t e8[] = {0, 1, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x40};
  static const uint16_t e16[] = {0, 1, 0x7fff, 0x8000, 0x8001, 0xffff, 0xfffe, 0x4000, 0xc000, 0x00ff, 0xff00, 0x0100};
  static const uint32_t e32[] = {0, 1, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0x8000, 0xffff8000,
                                 0x7fff, 0x10000, 0xffff, 0xffff7fff, 0xfffeffff};
  static const uint32_t ef[] = {0, 0x80000000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff,
    0x7f800000, 0xff800000, 0x4f000000 /*2^31*/, 0xcf000000 /*-2^31*/, 0x4effffff /*2^31-128*/,
    0xcf000001 /*-2^31-256*/, 0x3f000000, 0xbf000000, 0x3fc00000, 0xbfffffff, 0x00000001, 0x80000001,
    0x4f800000, 0xdf000000, 0x7f7fffff, 0xff7fffff, 0x3f7fffff, 0xbf7fffff};
  for (int i = 0; i < 16; i++) if (rnd() % 2) v->u.b[i] = e8[rnd() % 8];
  if (kind >= 2) for (int i = 0; i < 8; i++) if (rnd() % 2) v->u.h[i] = e16[rnd() % 12];
  if (kind >= 3) for (int i = 0; i < 4; i++) if (rnd() % 2) v->u.w[i] = e32[rnd() % 13];
  if (kind == 4) for (int i = 0; i < 4; i++) if (rnd() % 3) v->u.w[i] = ef[rnd() % 25];
  /* f64 lanes: zeros, infinities, quiet and signalling NaNs of both signs,
   * subnormals, beyond f32's range, f32's largest and its rounding edges */
  static const uint64_t ed[] = {0, 0x8000000000000000ull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
    0x7ff8000000000000ull, 0xfff8000000000001ull, 0x7ff0000000000001ull, 0xfff4000000000000ull,
    0x0000000000000001ull, 0x800fffffffffffffull, 0x47efffffe0000000ull /*FLT_MAX*/,
    0x47effffff0000000ull /*rounds to inf*/, 0x36a0000000000000ull /*FLT_TRUE_MIN*/,
    0x3690000000000000ull /*half of it*/, 0x7fefffffffffffffull, 0x3ff0000010000000ull};
  if (kind == 5) for (int i = 0; i < 2; i++) if (rnd() % 4) v->u.d[i] = ed[rnd() % 16];
}

static int pc8(unsigned x) { int n = 0; while (x) { n += x & 1; x >>= 1; } return n; }
static int64_t sat(int64_t x, int64_t lo, int64_t hi) { return x < lo ? lo : x > hi ? hi : x; }

static V ref(int op, V a, V b) {
  V r; memset(&r, 0, sizeof r);
  int i;
  switch (op) {
#define L8(e) for (i = 0; i < 16; i++) r.u.b[i] = (uint8_t)(e); break;
#define L16(e) for (i = 0; i < 8; i++) r.u.h[i] = (uint16_t)(e); break;
#define L32(e) for (i = 0; i < 4; i++) r.u.w[i] = (uint32_t)(e); break;
  case 0: L8(a.u.sb[i] < 0 ? -(int)a.u.sb[i] : a.u.sb[i])
  case 1: L8(a.u.sb[i] < b.u.sb[i] ? a.u.sb[i] : b.u.sb[i])
  case 2: L8(a.u.b[i] < b.u.b[i] ? a.u.b[i] : b.u.b[i])
  case 3: L8(a.u.sb[i] > b.u.sb[i] ? a.u.sb[i] : b.u.sb[i])
  case 4: L8(a.u.b[i] > b.u.b[i] ? a.u.b[i] : b.u.b[i])
  case 5: L16(a.u.sh[i] < 0 ? -(int)a.u.sh[i] : a.u.sh[i])
  case 6: L16(a.u.sh[i] < b.u.sh[i] ? a.u.sh[i] : b.u.sh[i])
  case 7: L16(a.u.h[i] < b.u.h[i] ? a.u.h[i] : b.u.h[i])
  case 8: L16(a.u.sh[i] > b.u.sh[i] ? a.u.sh[i] : b.u.sh[i])
  case 9: L16(a.u.h[i] > b.u.h[i] ? a.u.h[i] : b.u.h[i])
  case 10: L32(a.u.sw[i] < 0 ? -(int64_t)a.u.sw[i] : a.u.sw[i])
  case 11: L32(a.u.sw[i] < b.u.sw[i] ? a.u.sw[i] : b.u.sw[i])
  case 12: L32(a.u.w[i] < b.u.w[i] ? a.u.w[i] : b.u.w[i])
  case 13: L32(a.u.sw[i] > b.u.sw[i] ? a.u.sw[i] : b.u.sw[i])
  case 14: L32(a.u.w[i] > b.u.w[i] ? a.u.w[i] : b.u.w[i])
  case 15: L8(sat((int)a.u.sb[i] + b.u.sb[i], -128, 127))
  case 16: L8(sat((int)a.u.b[i] + b.u.b[i], 0, 255))
  case 17: L8(sat((int)a.u.sb[i] - b.u.sb[i], -128, 127))
  case 18: L8(sat((int)a.u.b[i] - b.u.b[i], 0, 255))
  case 19: L8(((unsigned)a.u.b[i] + b.u.b[i] + 1) / 2)
  case 20: L16(sat((int)a.u.sh[i] + b.u.sh[i], -32768, 32767))
  case 21: L16(sat((int)a.u.h[i] + b.u.h[i], 0, 65535))
  case 22: L16(sat((int)a.u.sh[i] - b.u.sh[i], -32768, 32767))
  case 23: L16(sat((int)a.u.h[i] - b.u.h[i], 0, 65535))
  case 24: L16(((unsigned)a.u.h[i] + b.u.h[i] + 1) / 2)
  case 25: L32((int64_t)a.u.sh[2*i] * b.u.sh[2*i] + (int64_t)a.u.sh[2*i+1] * b.u.sh[2*i+1])
  case 26: L16(sat(((int64_t)a.u.sh[i] * b.u.sh[i] + 0x4000) >> 15, -32768, 32767))
  case 27: L16((int)a.u.sb[2*i] + a.u.sb[2*i+1])
  case 28: L16((int)a.u.b[2*i] + a.u.b[2*i+1])
  case 29: L32((int64_t)a.u.sh[2*i] + a.u.sh[2*i+1])
  case 30: L32((int64_t)a.u.h[2*i] + a.u.h[2*i+1])
  case 31: L8(sat(i < 8 ? a.u.sh[i] : b.u.sh[i-8], -128, 127))
  case 32: L8(sat(i < 8 ? a.u.sh[i] : b.u.sh[i-8], 0, 255))
  case 33: L16(sat(i < 4 ? a.u.sw[i] : b.u.sw[i-4], -32768, 32767))
  case 34: L16(sat(i < 4 ? a.u.sw[i] : b.u.sw[i-4], 0, 65535))
  case 35: L8(pc8(a.u.b[i]))
  case 36: { for (i = 0; i < 4; i++) { float x = a.u.f[i]; int32_t v;
      if (isnan(x)) v = 0; else if (x >= 2147483648.0f) v = INT32_MAX; else if (x < -2147483648.0f) v = INT32_MIN;
      else v = (int32_t)truncf(x); r.u.sw[i] = v; } break; }
  case 37: for (i = 0; i < 2; i++) r.u.d[i] = a.u.d[i] * b.u.d[i]; break;
#define L64(e) for (i = 0; i < 2; i++) r.u.d[i] = (uint64_t)(e); break;
  case 38: L16(a.u.sb[i])
  case 39: L16(a.u.sb[i + 8])
  case 40: L16(a.u.b[i])
  case 41: L16(a.u.b[i + 8])
  case 42: L32(a.u.sh[i])
  case 43: L32(a.u.sh[i + 4])
  case 44: L32(a.u.h[i])
  case 45: L32(a.u.h[i + 4])
  case 46: L64((int64_t)a.u.sw[i])
  case 47: L64((int64_t)a.u.sw[i + 2])
  case 48: L64(a.u.w[i])
  case 49: L64(a.u.w[i + 2])
  /* conversions: the value correctly rounded (C's conversions are), NaNs
   * as the scalar instruction gives them */
  case 50: for (i = 0; i < 4; i++) r.u.f[i] = (float)a.u.w[i]; break;
  case 51: for (i = 0; i < 2; i++) r.u.g[i] = (double)a.u.sw[i]; break;
  case 52: for (i = 0; i < 2; i++) r.u.g[i] = (double)a.u.w[i]; break;
  case 53: for (i = 0; i < 2; i++) r.u.f[i] = xl_f32_demote(a.u.g[i]); break;
  case 54: for (i = 0; i < 2; i++) r.u.g[i] = xl_f64_promote(a.u.f[i]); break;
  /* demote of promote must quiet a signalling NaN as each step does (gcc
   * folds the pair to nothing unless it cannot see through) */
  case 55: for (i = 0; i < 2; i++) r.u.f[i] = xl_f32_demote(xl_f64_promote(a.u.f[i])); break;
  }
  return r;
}

static V run(int op, V a, V b) {
  xl_v x = xl_vin(*(v128 *)&a), y = xl_vin(*(v128 *)&b), z;
  switch (op) {
  case 0: z = xl_v_i8x16_abs(x); break;
  case 1: z = xl_v_i8x16_min_s(x, y); break;
  case 2: z = xl_v_i8x16_min_u(x, y); break;
  case 3: z = xl_v_i8x16_max_s(x, y); break;
  case 4: z = xl_v_i8x16_max_u(x, y); break;
  case 5: z = xl_v_i16x8_abs(x); break;
  case 6: z = xl_v_i16x8_min_s(x, y); break;
  case 7: z = xl_v_i16x8_min_u(x, y); break;
  case 8: z = xl_v_i16x8_max_s(x, y); break;
  case 9: z = xl_v_i16x8_max_u(x, y); break;
  case 10: z = xl_v_i32x4_abs(x); break;
  case 11: z = xl_v_i32x4_min_s(x, y); break;
  case 12: z = xl_v_i32x4_min_u(x, y); break;
  case 13: z = xl_v_i32x4_max_s(x, y); break;
  case 14: z = xl_v_i32x4_max_u(x, y); break;
  case 15: z = xl_v_i8x16_add_sat_s(x, y); break;
  case 16: z = xl_v_i8x16_add_sat_u(x, y); break;
  case 17: z = xl_v_i8x16_sub_sat_s(x, y); break;
  case 18: z = xl_v_i8x16_sub_sat_u(x, y); break;
  case 19: z = xl_v_i8x16_avgr_u(x, y); break;
  case 20: z = xl_v_i16x8_add_sat_s(x, y); break;
  case 21: z = xl_v_i16x8_add_sat_u(x, y); break;
  case 22: z = xl_v_i16x8_sub_sat_s(x, y); break;
  case 23: z = xl_v_i16x8_sub_sat_u(x, y); break;
  case 24: z = xl_v_i16x8_avgr_u(x, y); break;
  case 25: z = xl_v_i32x4_dot_i16x8_s(x, y); break;
  case 26: z = xl_v_i16x8_q15mulr_sat_s(x, y); break;
  case 27: z = xl_v_i16x8_extadd_pairwise_i8x16_s(x); break;
  case 28: z = xl_v_i16x8_extadd_pairwise_i8x16_u(x); break;
  case 29: z = xl_v_i32x4_extadd_pairwise_i16x8_s(x); break;
  case 30: z = xl_v_i32x4_extadd_pairwise_i16x8_u(x); break;
  case 31: z = xl_v_i8x16_narrow_i16x8_s(x, y); break;
  case 32: z = xl_v_i8x16_narrow_i16x8_u(x, y); break;
  case 33: z = xl_v_i16x8_narrow_i32x4_s(x, y); break;
  case 34: z = xl_v_i16x8_narrow_i32x4_u(x, y); break;
  case 35: z = xl_v_i8x16_popcnt(x); break;
  case 36: z = xl_v_i32x4_trunc_sat_f32x4_s(x); break;
  case 37: z = xl_v_i64x2_mul(x, y); break;
  case 38: z = xl_v_i16x8_extend_low_i8x16_s(x); break;
  case 39: z = xl_v_i16x8_extend_high_i8x16_s(x); break;
  case 40: z = xl_v_i16x8_extend_low_i8x16_u(x); break;
  case 41: z = xl_v_i16x8_extend_high_i8x16_u(x); break;
  case 42: z = xl_v_i32x4_extend_low_i16x8_s(x); break;
  case 43: z = xl_v_i32x4_extend_high_i16x8_s(x); break;
  case 44: z = xl_v_i32x4_extend_low_i16x8_u(x); break;
  case 45: z = xl_v_i32x4_extend_high_i16x8_u(x); break;
  case 46: z = xl_v_i64x2_extend_low_i32x4_s(x); break;
  case 47: z = xl_v_i64x2_extend_high_i32x4_s(x); break;
  case 48: z = xl_v_i64x2_extend_low_i32x4_u(x); break;
  case 49: z = xl_v_i64x2_extend_high_i32x4_u(x); break;
  case 50: z = xl_v_f32x4_convert_i32x4_u(x); break;
  case 51: z = xl_v_f64x2_convert_low_i32x4_s(x); break;
  case 52: z = xl_v_f64x2_convert_low_i32x4_u(x); break;
  case 53: z = xl_v_f32x4_demote_f64x2_zero(x); break;
  case 54: z = xl_v_f64x2_promote_low_f32x4(x); break;
  case 55: z = xl_v_f32x4_demote_f64x2_zero(xl_v_f64x2_promote_low_f32x4(x)); break;
  default: abort();
  }
  v128 o = xl_vout(z); V r; memcpy(&r, &o, 16); return r;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 200000;
  long bad = 0, checked = 0;
  for (int op = 0; op < 56; op++) {
    long opbad = 0;
    for (long k = 0; k < n; k++) {
      V a, b; gen(&a, k % 6); gen(&b, (k / 6) % 6);
      if (k % 7 == 0) b = a;
      V e = ref(op, a, b), g = run(op, a, b);
      checked++;
      if (memcmp(&e, &g, 16)) {
        if (opbad++ < 3) {
          printf("op %d mismatch: a=", op);
          for (int i = 0; i < 16; i++) printf("%02x", a.u.b[i]);
          printf(" b="); for (int i = 0; i < 16; i++) printf("%02x", b.u.b[i]);
          printf(" want="); for (int i = 0; i < 16; i++) printf("%02x", e.u.b[i]);
          printf(" got="); for (int i = 0; i < 16; i++) printf("%02x", g.u.b[i]);
          printf("\n");
        }
      }
    }
    bad += opbad;
  }
  printf("checked %ld, mismatches %ld\n", checked, bad);
  return bad != 0;
}
