/*
 * The prelude of every C file mote's translator (xl_*.c) writes: the value
 * types and one helper per WebAssembly instruction that is more than a C
 * operator, with the exact semantics of the spec (traps, NaN rules, sign
 * flips, saturation). It is embedded in the mote binary (the Makefile turns
 * it into a string, like abi.h) and its text is part of the cache key.
 *
 * The same text is compiled by gcc (opt tier) and tcc 0.9.27 (quick tier):
 * nothing here may need GCC builtins or vector extensions unless guarded by
 * __GNUC__ (tcc does not define it).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "abi.h"

typedef uint8_t u8;
typedef int8_t s8;
typedef uint16_t u16;
typedef int16_t s16;
typedef uint32_t u32;
typedef int32_t s32;
typedef uint64_t u64;
typedef int64_t s64;
typedef float f32;
typedef double f64;
typedef wasm_rt_funcref_t fref;
typedef wasm_rt_externref_t eref;

#define XL_TRAP(k) wasm_rt_trap(WASM_RT_TRAP_##k)
#if defined(__GNUC__)
#define XL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define XL_INLINE static inline __attribute__((always_inline))
#else
#define XL_UNLIKELY(x) (x)
#define XL_INLINE static inline
#endif

/* ---- memory ------------------------------------------------------------
 * Linear memories live in guard regions (src/rt/memory.c): base + a u32
 * address + a u32 offset always lands in the reservation, and an access past
 * the memory's size faults and traps. The base never moves (ABI v3). */
#if defined(__GNUC__)
#define XL_LD_(T, b, a) ({ T v_; memcpy(&v_, (b) + (a), sizeof v_); v_; })
#define XL_LDK(T, b, a) ({ T v_; memcpy(&v_, (b) + (a), sizeof v_); XL_KEEP_##T(v_); v_; })
#define XL_ST(T, b, a, x) do { T v_ = (x); memcpy((b) + (a), &v_, sizeof v_); } while (0)
/* An empty asm that needs the value: the load cannot be deleted. */
#define XL_KEEP_u8(v) __asm__("" ::"r"(v))
#define XL_KEEP_s8(v) __asm__("" ::"r"(v))
#define XL_KEEP_u16(v) __asm__("" ::"r"(v))
#define XL_KEEP_s16(v) __asm__("" ::"r"(v))
#define XL_KEEP_u32(v) __asm__("" ::"r"(v))
#define XL_KEEP_s32(v) __asm__("" ::"r"(v))
#define XL_KEEP_u64(v) __asm__("" ::"r"(v))
#define XL_KEEP_f32(v) __asm__("" ::"x"(v))
#define XL_KEEP_f64(v) __asm__("" ::"x"(v))
#else
/* tcc deletes nothing */
#define XL_LD_(T, b, a) (*(T *)((b) + (a)))
#define XL_LDK(T, b, a) (*(T *)((b) + (a)))
#define XL_ST(T, b, a, x) (*(T *)((b) + (a)) = (x))
#endif

/* ---- bit patterns ------------------------------------------------------ */

XL_INLINE u32 xl_f32_bits(f32 x) { u32 u; memcpy(&u, &x, 4); return u; }
XL_INLINE u64 xl_f64_bits(f64 x) { u64 u; memcpy(&u, &x, 8); return u; }
XL_INLINE f32 xl_f32_of(u32 u) { f32 x; memcpy(&x, &u, 4); return x; }
XL_INLINE f64 xl_f64_of(u64 u) { f64 x; memcpy(&x, &u, 8); return x; }

/* ---- integers ---------------------------------------------------------- */
#if defined(__GNUC__)
XL_INLINE u32 xl_clz32(u32 x) { return x ? (u32)__builtin_clz(x) : 32; }
XL_INLINE u32 xl_ctz32(u32 x) { return x ? (u32)__builtin_ctz(x) : 32; }
XL_INLINE u32 xl_popcnt32(u32 x) { return (u32)__builtin_popcount(x); }
XL_INLINE u64 xl_clz64(u64 x) { return x ? (u64)__builtin_clzll(x) : 64; }
XL_INLINE u64 xl_ctz64(u64 x) { return x ? (u64)__builtin_ctzll(x) : 64; }
XL_INLINE u64 xl_popcnt64(u64 x) { return (u64)__builtin_popcountll(x); }
#else
static u32 xl_clz32(u32 x) { u32 n = 0; if (!x) return 32; while (!(x & 0x80000000u)) { x <<= 1; n++; } return n; }
static u32 xl_ctz32(u32 x) { u32 n = 0; if (!x) return 32; while (!(x & 1u)) { x >>= 1; n++; } return n; }
static u32 xl_popcnt32(u32 x) { u32 n = 0; while (x) { x &= x - 1; n++; } return n; }
static u64 xl_clz64(u64 x) { u64 n = 0; if (!x) return 64; while (!(x & 0x8000000000000000ull)) { x <<= 1; n++; } return n; }
static u64 xl_ctz64(u64 x) { u64 n = 0; if (!x) return 64; while (!(x & 1ull)) { x >>= 1; n++; } return n; }
static u64 xl_popcnt64(u64 x) { u64 n = 0; while (x) { x &= x - 1; n++; } return n; }
#endif

XL_INLINE u32 xl_i32_div_s(u32 a, u32 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  if (XL_UNLIKELY(a == 0x80000000u && b == 0xffffffffu)) XL_TRAP(INT_OVERFLOW);
  return (u32)((s32)a / (s32)b);
}
XL_INLINE u32 xl_i32_div_u(u32 a, u32 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  return a / b;
}
XL_INLINE u32 xl_i32_rem_s(u32 a, u32 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  if (XL_UNLIKELY(b == 0xffffffffu)) return 0;
  return (u32)((s32)a % (s32)b);
}
XL_INLINE u32 xl_i32_rem_u(u32 a, u32 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  return a % b;
}
XL_INLINE u64 xl_i64_div_s(u64 a, u64 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  if (XL_UNLIKELY(a == 0x8000000000000000ull && b == ~0ull)) XL_TRAP(INT_OVERFLOW);
  return (u64)((s64)a / (s64)b);
}
XL_INLINE u64 xl_i64_div_u(u64 a, u64 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  return a / b;
}
XL_INLINE u64 xl_i64_rem_s(u64 a, u64 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  if (XL_UNLIKELY(b == ~0ull)) return 0;
  return (u64)((s64)a % (s64)b);
}
XL_INLINE u64 xl_i64_rem_u(u64 a, u64 b) {
  if (XL_UNLIKELY(b == 0)) XL_TRAP(DIV_BY_ZERO);
  return a % b;
}
XL_INLINE u32 xl_rotl32(u32 a, u32 b) { b &= 31; return b ? (a << b) | (a >> (32 - b)) : a; }
XL_INLINE u32 xl_rotr32(u32 a, u32 b) { b &= 31; return b ? (a >> b) | (a << (32 - b)) : a; }
XL_INLINE u64 xl_rotl64(u64 a, u64 b) { b &= 63; return b ? (a << b) | (a >> (64 - b)) : a; }
XL_INLINE u64 xl_rotr64(u64 a, u64 b) { b &= 63; return b ? (a >> b) | (a << (64 - b)) : a; }
XL_INLINE u32 xl_shr_s32(u32 a, u32 b) {
  b &= 31;
  return (a >> b) | ((a & 0x80000000u) && b ? ~(0xffffffffu >> b) : 0);
}
XL_INLINE u64 xl_shr_s64(u64 a, u64 b) {
  b &= 63;
  return (a >> b) | ((a & 0x8000000000000000ull) && b ? ~(~0ull >> b) : 0);
}

/* ---- floats ------------------------------------------------------------
 * Sign operations are bit operations (tcc negates by subtraction, which
 * keeps a NaN's sign). min and max of a NaN give a quiet NaN (the sum
 * quiets it); of zeros, -0 < +0. */
XL_INLINE f32 xl_f32_neg(f32 x) { return xl_f32_of(xl_f32_bits(x) ^ 0x80000000u); }
XL_INLINE f64 xl_f64_neg(f64 x) { return xl_f64_of(xl_f64_bits(x) ^ 0x8000000000000000ull); }
XL_INLINE f32 xl_f32_abs(f32 x) { return xl_f32_of(xl_f32_bits(x) & 0x7fffffffu); }
XL_INLINE f64 xl_f64_abs(f64 x) { return xl_f64_of(xl_f64_bits(x) & 0x7fffffffffffffffull); }
XL_INLINE f32 xl_f32_copysign(f32 a, f32 b) {
  return xl_f32_of((xl_f32_bits(a) & 0x7fffffffu) | (xl_f32_bits(b) & 0x80000000u));
}
XL_INLINE f64 xl_f64_copysign(f64 a, f64 b) {
  return xl_f64_of((xl_f64_bits(a) & 0x7fffffffffffffffull) |
                   (xl_f64_bits(b) & 0x8000000000000000ull));
}
XL_INLINE int xl_f32_isnan(f32 x) { return (xl_f32_bits(x) & 0x7fffffffu) > 0x7f800000u; }
XL_INLINE int xl_f64_isnan(f64 x) {
  return (xl_f64_bits(x) & 0x7fffffffffffffffull) > 0x7ff0000000000000ull;
}
XL_INLINE f32 xl_f32_min(f32 a, f32 b) {
  if (XL_UNLIKELY(xl_f32_isnan(a) || xl_f32_isnan(b))) return a + b;
  if (a == b) return xl_f32_of(xl_f32_bits(a) | xl_f32_bits(b));
  return a < b ? a : b;
}
XL_INLINE f32 xl_f32_max(f32 a, f32 b) {
  if (XL_UNLIKELY(xl_f32_isnan(a) || xl_f32_isnan(b))) return a + b;
  if (a == b) return xl_f32_of(xl_f32_bits(a) & xl_f32_bits(b));
  return a > b ? a : b;
}
XL_INLINE f64 xl_f64_min(f64 a, f64 b) {
  if (XL_UNLIKELY(xl_f64_isnan(a) || xl_f64_isnan(b))) return a + b;
  if (a == b) return xl_f64_of(xl_f64_bits(a) | xl_f64_bits(b));
  return a < b ? a : b;
}
XL_INLINE f64 xl_f64_max(f64 a, f64 b) {
  if (XL_UNLIKELY(xl_f64_isnan(a) || xl_f64_isnan(b))) return a + b;
  if (a == b) return xl_f64_of(xl_f64_bits(a) & xl_f64_bits(b));
  return a > b ? a : b;
}
/* Rounding: libm, whose results are exact; a NaN must come back quiet,
 * which glibc's floor, ceil and trunc do not do for a signalling one. */
XL_INLINE f32 xl_f32_ceil(f32 x) { return xl_f32_isnan(x) ? x + x : ceilf(x); }
XL_INLINE f32 xl_f32_floor(f32 x) { return xl_f32_isnan(x) ? x + x : floorf(x); }
XL_INLINE f32 xl_f32_trunc(f32 x) { return xl_f32_isnan(x) ? x + x : truncf(x); }
XL_INLINE f32 xl_f32_nearest(f32 x) { return xl_f32_isnan(x) ? x + x : nearbyintf(x); }
XL_INLINE f32 xl_f32_sqrt(f32 x) { return sqrtf(x); }
XL_INLINE f64 xl_f64_ceil(f64 x) { return xl_f64_isnan(x) ? x + x : ceil(x); }
XL_INLINE f64 xl_f64_floor(f64 x) { return xl_f64_isnan(x) ? x + x : floor(x); }
XL_INLINE f64 xl_f64_trunc(f64 x) { return xl_f64_isnan(x) ? x + x : trunc(x); }
XL_INLINE f64 xl_f64_nearest(f64 x) { return xl_f64_isnan(x) ? x + x : nearbyint(x); }
/* Conversions between float widths quiet a NaN; gcc folds demote(promote(x))
 * to x even with -fsignaling-nans, so a NaN takes a path it cannot fold. */
XL_INLINE f64 xl_f64_promote(f32 x) { return xl_f32_isnan(x) ? (f64)(x + x) : (f64)x; }
XL_INLINE f32 xl_f32_demote(f64 x) { return xl_f64_isnan(x) ? (f32)(x + x) : (f32)x; }
XL_INLINE f64 xl_f64_sqrt(f64 x) { return sqrt(x); }

/* ---- conversions -------------------------------------------------------
 * A trapping truncation checks the range on the float itself: the bounds are
 * exact powers of two, so the comparisons are exact. */
#define XL_TRUNC(name, FT, IT, ST, lo, hi)                          \
  XL_INLINE IT name(FT x) {                                         \
    if (XL_UNLIKELY(x != x)) XL_TRAP(INVALID_CONVERSION);           \
    if (XL_UNLIKELY(!(x > (FT)(lo) && x < (FT)(hi)))) XL_TRAP(INT_OVERFLOW); \
    return (IT)(ST)x;                                               \
  }
XL_TRUNC(xl_i32_trunc_f32_s, f32, u32, s32, -2147483904.0, 2147483648.0)
XL_TRUNC(xl_i32_trunc_f32_u, f32, u32, u32, -1.0, 4294967296.0)
XL_TRUNC(xl_i32_trunc_f64_s, f64, u32, s32, -2147483649.0, 2147483648.0)
XL_TRUNC(xl_i32_trunc_f64_u, f64, u32, u32, -1.0, 4294967296.0)
XL_TRUNC(xl_i64_trunc_f32_s, f32, u64, s64, -9223373136366403584.0, 9223372036854775808.0)
XL_TRUNC(xl_i64_trunc_f32_u, f32, u64, u64, -1.0, 18446744073709551616.0)
XL_TRUNC(xl_i64_trunc_f64_s, f64, u64, s64, -9223372036854777856.0, 9223372036854775808.0)
XL_TRUNC(xl_i64_trunc_f64_u, f64, u64, u64, -1.0, 18446744073709551616.0)
#define XL_TRUNC_SAT(name, FT, IT, ST, lo, hi, min, max) \
  XL_INLINE IT name(FT x) {                              \
    if (x != x) return 0;                                \
    if (!(x > (FT)(lo))) return (IT)(min);               \
    if (!(x < (FT)(hi))) return (IT)(max);               \
    return (IT)(ST)x;                                    \
  }
XL_TRUNC_SAT(xl_i32_trunc_sat_f32_s, f32, u32, s32, -2147483904.0, 2147483648.0, 0x80000000u, 0x7fffffffu)
XL_TRUNC_SAT(xl_i32_trunc_sat_f32_u, f32, u32, u32, -1.0, 4294967296.0, 0, 0xffffffffu)
XL_TRUNC_SAT(xl_i32_trunc_sat_f64_s, f64, u32, s32, -2147483649.0, 2147483648.0, 0x80000000u, 0x7fffffffu)
XL_TRUNC_SAT(xl_i32_trunc_sat_f64_u, f64, u32, u32, -1.0, 4294967296.0, 0, 0xffffffffu)
XL_TRUNC_SAT(xl_i64_trunc_sat_f32_s, f32, u64, s64, -9223373136366403584.0, 9223372036854775808.0, 0x8000000000000000ull, 0x7fffffffffffffffull)
XL_TRUNC_SAT(xl_i64_trunc_sat_f32_u, f32, u64, u64, -1.0, 18446744073709551616.0, 0, ~0ull)
XL_TRUNC_SAT(xl_i64_trunc_sat_f64_s, f64, u64, s64, -9223372036854777856.0, 9223372036854775808.0, 0x8000000000000000ull, 0x7fffffffffffffffull)
XL_TRUNC_SAT(xl_i64_trunc_sat_f64_u, f64, u64, u64, -1.0, 18446744073709551616.0, 0, ~0ull)

/* u64 -> float: C's conversion, except on tcc, whose u64 -> float rounds
 * twice; halve with the lost bit kept sticky, convert, double. */
XL_INLINE f32 xl_f32_convert_i64_u(u64 x) {
  if ((s64)x >= 0) return (f32)(s64)x;
  return (f32)(s64)((x >> 1) | (x & 1)) * 2.0f;
}
XL_INLINE f64 xl_f64_convert_i64_u(u64 x) {
  if ((s64)x >= 0) return (f64)(s64)x;
  return (f64)(s64)((x >> 1) | (x & 1)) * 2.0;
}
XL_INLINE f32 xl_f32_convert_i32_u(u32 x) { return (f32)(s64)(u64)x; }
XL_INLINE f64 xl_f64_convert_i32_u(u32 x) { return (f64)(s64)(u64)x; }
/* s64 -> f32 must round once: through f64 it could round twice. */
XL_INLINE f32 xl_f32_convert_i64_s(u64 x) { return (f32)(s64)x; }

/* ---- tables ------------------------------------------------------------ */
XL_INLINE void xl_check_range(u64 at, u64 n, u64 size) {
  if (XL_UNLIKELY(at + n > size)) XL_TRAP(OOB);
}
XL_INLINE u64 xl_mem_bytes(const wasm_rt_memory_t *m) { return (u64)m->pages << 16; }
XL_INLINE void xl_memory_init(wasm_rt_memory_t *m, u32 len, const u8 *seg, u32 d, u32 s, u32 n) {
  xl_check_range(s, n, len);
  xl_check_range(d, n, xl_mem_bytes(m));
  if (n) memcpy(m->data + d, seg + s, n);
}
XL_INLINE void xl_memory_copy(wasm_rt_memory_t *m, u32 d, u32 s, u32 n) {
  u64 size = xl_mem_bytes(m);
  xl_check_range(s, n, size);
  xl_check_range(d, n, size);
  if (n) memmove(m->data + d, m->data + s, n);
}
XL_INLINE void xl_memory_fill(wasm_rt_memory_t *m, u32 d, u32 v, u32 n) {
  xl_check_range(d, n, xl_mem_bytes(m));
  if (n) memset(m->data + d, (int)(u8)v, n);
}

XL_INLINE fref xl_table_get_f(const wasm_rt_funcref_table_t *t, u32 i) {
  if (XL_UNLIKELY(i >= t->size)) XL_TRAP(OOB);
  return t->data[i];
}
XL_INLINE eref xl_table_get_e(const wasm_rt_externref_table_t *t, u32 i) {
  if (XL_UNLIKELY(i >= t->size)) XL_TRAP(OOB);
  return t->data[i];
}
XL_INLINE void xl_table_set_f(wasm_rt_funcref_table_t *t, u32 i, fref v) {
  if (XL_UNLIKELY(i >= t->size)) XL_TRAP(OOB);
  t->data[i] = v;
}
XL_INLINE void xl_table_set_e(wasm_rt_externref_table_t *t, u32 i, eref v) {
  if (XL_UNLIKELY(i >= t->size)) XL_TRAP(OOB);
  t->data[i] = v;
}
static void xl_table_fill_f(wasm_rt_funcref_table_t *t, u32 d, fref v, u32 n) {
  xl_check_range(d, n, t->size);
  for (u32 i = 0; i < n; i++) t->data[d + i] = v;
}
static void xl_table_fill_e(wasm_rt_externref_table_t *t, u32 d, eref v, u32 n) {
  xl_check_range(d, n, t->size);
  for (u32 i = 0; i < n; i++) t->data[d + i] = v;
}
static void xl_table_copy_f(wasm_rt_funcref_table_t *dt, wasm_rt_funcref_table_t *st, u32 d,
                            u32 s, u32 n) {
  xl_check_range(s, n, st->size);
  xl_check_range(d, n, dt->size);
  if (n) memmove(dt->data + d, st->data + s, (size_t)n * sizeof *dt->data);
}
static void xl_table_copy_e(wasm_rt_externref_table_t *dt, wasm_rt_externref_table_t *st, u32 d,
                            u32 s, u32 n) {
  xl_check_range(s, n, st->size);
  xl_check_range(d, n, dt->size);
  if (n) memmove(dt->data + d, st->data + s, (size_t)n * sizeof *dt->data);
}
/* The callee of call_indirect: in the table, set, and of the expected type
 * (type ids are process-wide, so equal signatures compare equal). */
XL_INLINE const fref *xl_callee(const wasm_rt_funcref_table_t *t, u32 i, u32 type) {
  if (XL_UNLIKELY(i >= t->size)) XL_TRAP(CALL_INDIRECT);
  const fref *r = &t->data[i];
  if (XL_UNLIKELY(r->func == NULL || r->func_type != type)) XL_TRAP(CALL_INDIRECT);
  return r;
}
