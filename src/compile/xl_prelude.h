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
/* One br_table of a function as a computed goto too (xl_func.c's
 * br_table()), which gcc copies into the cases; tcc copies nothing, so the
 * quick and lazy tiers keep the switch */
#define XL_CGOTO 1
/* x as a value gcc cannot see through (the computed goto's index) */
#define XL_OPAQUE(x) __asm__("" : "+r"(x))
#else
#define XL_UNLIKELY(x) (x)
#define XL_INLINE static inline
#define XL_CGOTO 0
#endif

/* A loop whose accesses are checked on entry gets a copy with plain loads
 * and 64-bit addresses, which gcc may vectorize (xl_loop.c, xl_func.c's
 * copy_loop(); written for gcc's units only, xl_module's fast_loops: this is
 * a guard); tcc compiles the loop as translated only. */
#if defined(__GNUC__) && !defined(XL_NO_FAST_LOOPS)
#define XL_FAST_LOOPS 1
#endif
/* Tests only (tests/compile/test_loop.c compiles with -DXL_COUNT_COPIES):
 * how often a copy ran, in the object's own xl_copies_run. */
#if defined(XL_COUNT_COPIES)
__attribute__((weak, visibility("default"))) unsigned long long xl_copies_run;
#define XL_COPY_RAN() ((void)xl_copies_run++)
#else
#define XL_COPY_RAN() ((void)0)
#endif

/* ---- memory ------------------------------------------------------------
 * Linear memories live in guard regions (src/rt/memory.c): base + a u32
 * address + a u32 offset always lands in the reservation, and an access past
 * the memory's size faults and traps. The base never moves (ABI v3). */
#if defined(__GNUC__)
#define XL_LD_(T, b, a) ({ T v_; memcpy(&v_, (b) + (a), sizeof v_); v_; })
#if defined(XL_NO_KEEP) /* only to measure what the barriers cost: not trap-exact */
#define XL_LDK(T, b, a) XL_LD_(T, b, a)
#else
#define XL_LDK(T, b, a) ({ T v_; memcpy(&v_, (b) + (a), sizeof v_); XL_KEEP_##T(v_); v_; })
#endif
#define XL_ST(T, b, a, x) do { T v_ = (x); memcpy((b) + (a), &v_, sizeof v_); } while (0)
/* An empty asm that reads the bytes of a store: gcc cannot delete the store
 * as overwritten later (see written_back() in xl_func.c). */
#define XL_READS(T, b, a) __asm__("" ::"m"(*(const u8(*)[sizeof(T)])((b) + (a))))
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
#define XL_READS(T, b, a) ((void)0)
#endif

/* ---- bit patterns ------------------------------------------------------
 * tcc inlines nothing: a helper is a call, and these were a call of memcpy
 * besides (every float constant is an xl_f64_of). For tcc the hot helpers
 * are macros (a statement expression where an operand is used twice, with
 * temporaries named x?_ that the translator's C never uses), each operand
 * evaluated once (left to right in the statement expressions; the
 * translator's operands have no side effects). */
#if defined(__TINYC__)
union xl_bits32 { u32 u; f32 f; };
union xl_bits64 { u64 u; f64 f; };
#define xl_f32_bits(x) (((union xl_bits32){.f = (x)}).u)
#define xl_f64_bits(x) (((union xl_bits64){.f = (x)}).u)
#define xl_f32_of(x) (((union xl_bits32){.u = (x)}).f)
#define xl_f64_of(x) (((union xl_bits64){.u = (x)}).f)
#else
XL_INLINE u32 xl_f32_bits(f32 x) { u32 u; memcpy(&u, &x, 4); return u; }
XL_INLINE u64 xl_f64_bits(f64 x) { u64 u; memcpy(&u, &x, 8); return u; }
XL_INLINE f32 xl_f32_of(u32 u) { f32 x; memcpy(&x, &u, 4); return x; }
XL_INLINE f64 xl_f64_of(u64 u) { f64 x; memcpy(&x, &u, 8); return x; }
#endif

/* ---- integers ---------------------------------------------------------- */
#if defined(__GNUC__)
XL_INLINE u32 xl_clz32(u32 x) { return x ? (u32)__builtin_clz(x) : 32; }
XL_INLINE u32 xl_ctz32(u32 x) { return x ? (u32)__builtin_ctz(x) : 32; }
XL_INLINE u32 xl_popcnt32(u32 x) { return (u32)__builtin_popcount(x); }
XL_INLINE u64 xl_clz64(u64 x) { return x ? (u64)__builtin_clzll(x) : 64; }
XL_INLINE u64 xl_ctz64(u64 x) { return x ? (u64)__builtin_ctzll(x) : 64; }
XL_INLINE u64 xl_popcnt64(u64 x) { return (u64)__builtin_popcountll(x); }
#elif defined(__TINYC__) && defined(__x86_64__)
/* bsr and bsf (the loops below took up to 32 turns: 29% of zstd's run),
 * without a branch: a marker bit above or below the operand gives 0 its
 * answer, and cmovz for 64 bits. A branch inside a statement expression
 * is wrong in tcc 0.9.27 when a comparison comes before it in the same
 * expression, as in (u32)(a < b) + xl_clz32(x): tcc keeps the comparison
 * in the flags, moves it to a register at the macro's first declaration,
 * and saves that register on one path only (the taken one), then reads the
 * slot after the join on both. So no macro may have an `if` unless it is
 * always a whole statement's value: the trapping ones below (division, by
 * numeric() in xl_func.c; xl_callee, by its call_indirect) are written so.
 * A `?:` is safe (tcc saves the registers in use before one: promote and
 * demote, xl_f32_select). (A review found it: clz of 0 after a comparison
 * gave 32 for 33; tested in test_compile.c.) */
#define xl_clz32(x) ({ u64 xv_ = ((u64)(u32)(x) << 1) | 1, xr_; __asm__("bsrq %1, %0" : "=r"(xr_) : "r"(xv_)); (u32)(32 - xr_); })
#define xl_ctz32(x) ({ u64 xv_ = (u64)(u32)(x) | 0x100000000ull, xr_; __asm__("bsfq %1, %0" : "=r"(xr_) : "r"(xv_)); (u32)xr_; })
#define xl_clz64(x) ({ u64 xv_ = (x), xr_, xc_ = 127; __asm__("bsrq %1, %0\n\tcmovzq %2, %0" : "=&r"(xr_) : "r"(xv_), "r"(xc_)); xr_ ^ 63; })
#define xl_ctz64(x) ({ u64 xv_ = (x), xr_, xc_ = 64; __asm__("bsfq %1, %0\n\tcmovzq %2, %0" : "=&r"(xr_) : "r"(xv_), "r"(xc_)); xr_; })
XL_INLINE u32 xl_popcnt32(u32 x) { /* inline: tcc compiles it only where used */
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  return (((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}
XL_INLINE u64 xl_popcnt64(u64 x) {
  x = x - ((x >> 1) & 0x5555555555555555ull);
  x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
  return (((x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full) * 0x0101010101010101ull) >> 56;
}
#else
static u32 xl_clz32(u32 x) { u32 n = 0; if (!x) return 32; while (!(x & 0x80000000u)) { x <<= 1; n++; } return n; }
static u32 xl_ctz32(u32 x) { u32 n = 0; if (!x) return 32; while (!(x & 1u)) { x >>= 1; n++; } return n; }
static u32 xl_popcnt32(u32 x) { u32 n = 0; while (x) { x &= x - 1; n++; } return n; }
static u64 xl_clz64(u64 x) { u64 n = 0; if (!x) return 64; while (!(x & 0x8000000000000000ull)) { x <<= 1; n++; } return n; }
static u64 xl_ctz64(u64 x) { u64 n = 0; if (!x) return 64; while (!(x & 1ull)) { x >>= 1; n++; } return n; }
static u64 xl_popcnt64(u64 x) { u64 n = 0; while (x) { x &= x - 1; n++; } return n; }
#endif

#if defined(__TINYC__)
/* These branch (to the trap): only ever a whole statement's value (see
 * xl_clz32 above). */
#define XL_DIV_(T, a, b, check, op) \
  ({ T xa_ = (a), xb_ = (b); if (xb_ == 0) XL_TRAP(DIV_BY_ZERO); check; xa_ op xb_; })
#define XL_DIV_S_(T, min, a, b) \
  XL_DIV_(T, a, b, if (xa_ == (min) && xb_ == (T)~(T)0) XL_TRAP(INT_OVERFLOW), /)
#define xl_i32_div_s(a, b) ((u32)XL_DIV_S_(s32, (s32)0x80000000u, a, b))
#define xl_i32_div_u(a, b) XL_DIV_(u32, a, b, (void)0, /)
#define xl_i32_rem_s(a, b) ((u32)XL_DIV_(s32, a, b, if (xb_ == -1) xb_ = 1, %))
#define xl_i32_rem_u(a, b) XL_DIV_(u32, a, b, (void)0, %)
#define xl_i64_div_s(a, b) ((u64)XL_DIV_S_(s64, (s64)0x8000000000000000ull, a, b))
#define xl_i64_div_u(a, b) XL_DIV_(u64, a, b, (void)0, /)
#define xl_i64_rem_s(a, b) ((u64)XL_DIV_(s64, a, b, if (xb_ == -1) xb_ = 1, %))
#define xl_i64_rem_u(a, b) XL_DIV_(u64, a, b, (void)0, %)
#else
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
#endif
#if defined(__TINYC__) && defined(__x86_64__)
/* x86's rotates take the count modulo the width, as wasm's do */
#define XL_ROT_(T, insn, a, b) ({ T xa_ = (a); T xb_ = (b); __asm__(insn " %%cl, %0" : "+r"(xa_) : "c"(xb_)); xa_; })
#define xl_rotl32(a, b) XL_ROT_(u32, "roll", a, b)
#define xl_rotr32(a, b) XL_ROT_(u32, "rorl", a, b)
#define xl_rotl64(a, b) XL_ROT_(u64, "rolq", a, b)
#define xl_rotr64(a, b) XL_ROT_(u64, "rorq", a, b)
#else
XL_INLINE u32 xl_rotl32(u32 a, u32 b) { b &= 31; return b ? (a << b) | (a >> (32 - b)) : a; }
XL_INLINE u32 xl_rotr32(u32 a, u32 b) { b &= 31; return b ? (a >> b) | (a << (32 - b)) : a; }
XL_INLINE u64 xl_rotl64(u64 a, u64 b) { b &= 63; return b ? (a << b) | (a >> (64 - b)) : a; }
XL_INLINE u64 xl_rotr64(u64 a, u64 b) { b &= 63; return b ? (a >> b) | (a << (64 - b)) : a; }
#endif
#if defined(__GNUC__) || defined(__TINYC__)
/* gcc and tcc define >> of a negative signed value as the arithmetic shift: one sar.
 * The portable form below took five instructions for a constant count and a
 * branch on the sign (which mispredicts) for a variable one. */
#if defined(__TINYC__)
#define xl_shr_s32(a, b) ((u32)((s32)(a) >> ((b) & 31)))
#define xl_shr_s64(a, b) ((u64)((s64)(a) >> ((b) & 63)))
#else
XL_INLINE u32 xl_shr_s32(u32 a, u32 b) { return (u32)((s32)a >> (b & 31)); }
XL_INLINE u64 xl_shr_s64(u64 a, u64 b) { return (u64)((s64)a >> (b & 63)); }
#endif
#else
XL_INLINE u32 xl_shr_s32(u32 a, u32 b) {
  b &= 31;
  return (a >> b) | ((a & 0x80000000u) && b ? ~(0xffffffffu >> b) : 0);
}
XL_INLINE u64 xl_shr_s64(u64 a, u64 b) {
  b &= 63;
  return (a >> b) | ((a & 0x8000000000000000ull) && b ? ~(~0ull >> b) : 0);
}
#endif

/* ---- floats ------------------------------------------------------------
 * Sign operations are bit operations (tcc negates by subtraction, which
 * keeps a NaN's sign). min and max of a NaN give a quiet NaN (the sum
 * quiets it); of zeros, -0 < +0. */
#if defined(__GNUC__)
/* gcc's sign operations are SSE bit operations (xorps, andps): exact for
 * every NaN, and gcc sees them as float operations (fabs(x) < c bounds x). */
XL_INLINE f32 xl_f32_neg(f32 x) { return -x; }
XL_INLINE f64 xl_f64_neg(f64 x) { return -x; }
XL_INLINE f32 xl_f32_abs(f32 x) { return __builtin_fabsf(x); }
XL_INLINE f64 xl_f64_abs(f64 x) { return __builtin_fabs(x); }
XL_INLINE f32 xl_f32_copysign(f32 a, f32 b) { return __builtin_copysignf(a, b); }
XL_INLINE f64 xl_f64_copysign(f64 a, f64 b) { return __builtin_copysign(a, b); }
#else
#define xl_f32_neg(x) xl_f32_of(xl_f32_bits(x) ^ 0x80000000u)
#define xl_f64_neg(x) xl_f64_of(xl_f64_bits(x) ^ 0x8000000000000000ull)
#define xl_f32_abs(x) xl_f32_of(xl_f32_bits(x) & 0x7fffffffu)
#define xl_f64_abs(x) xl_f64_of(xl_f64_bits(x) & 0x7fffffffffffffffull)
#define xl_f32_copysign(a, b) \
  xl_f32_of((xl_f32_bits(a) & 0x7fffffffu) | (xl_f32_bits(b) & 0x80000000u))
#define xl_f64_copysign(a, b) \
  xl_f64_of((xl_f64_bits(a) & 0x7fffffffffffffffull) | (xl_f64_bits(b) & 0x8000000000000000ull))
#endif
/* A float select on an integer condition: gcc branches on it (only a float
 * comparison's condition becomes a blend), and a branch on data mispredicts
 * where the producer chose a select to have none. */
#if defined(__GNUC__)
XL_INLINE f32 xl_f32_select(u32 c, f32 a, f32 b) {
  u32 m = -(u32)(c != 0);
  return xl_f32_of((xl_f32_bits(a) & m) | (xl_f32_bits(b) & ~m));
}
XL_INLINE f64 xl_f64_select(u32 c, f64 a, f64 b) {
  u64 m = -(u64)(c != 0);
  return xl_f64_of((xl_f64_bits(a) & m) | (xl_f64_bits(b) & ~m));
}
#else
#define xl_f32_select(c, a, b) ((c) ? (a) : (b))
#define xl_f64_select(c, a, b) ((c) ? (a) : (b))
#endif
#if defined(__GNUC__)
/* ucomiss: no trip through an integer register (gcc keeps x != x as a test
 * for NaN under -fsignaling-nans) */
XL_INLINE int xl_f32_isnan(f32 x) { return x != x; }
XL_INLINE int xl_f64_isnan(f64 x) { return x != x; }
#else
#define xl_f32_isnan(x) ((xl_f32_bits(x) & 0x7fffffffu) > 0x7f800000u)
#define xl_f64_isnan(x) ((xl_f64_bits(x) & 0x7fffffffffffffffull) > 0x7ff0000000000000ull)
#endif
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
XL_INLINE f32 xl_f32_ceil(f32 x) { return XL_UNLIKELY(xl_f32_isnan(x)) ? x + x : ceilf(x); }
XL_INLINE f32 xl_f32_floor(f32 x) { return XL_UNLIKELY(xl_f32_isnan(x)) ? x + x : floorf(x); }
XL_INLINE f32 xl_f32_trunc(f32 x) { return XL_UNLIKELY(xl_f32_isnan(x)) ? x + x : truncf(x); }
XL_INLINE f32 xl_f32_nearest(f32 x) { return XL_UNLIKELY(xl_f32_isnan(x)) ? x + x : nearbyintf(x); }
#if !defined(__TINYC__)
XL_INLINE f32 xl_f32_sqrt(f32 x) { return sqrtf(x); }
#endif
XL_INLINE f64 xl_f64_ceil(f64 x) { return XL_UNLIKELY(xl_f64_isnan(x)) ? x + x : ceil(x); }
XL_INLINE f64 xl_f64_floor(f64 x) { return XL_UNLIKELY(xl_f64_isnan(x)) ? x + x : floor(x); }
XL_INLINE f64 xl_f64_trunc(f64 x) { return XL_UNLIKELY(xl_f64_isnan(x)) ? x + x : trunc(x); }
XL_INLINE f64 xl_f64_nearest(f64 x) { return XL_UNLIKELY(xl_f64_isnan(x)) ? x + x : nearbyint(x); }
/* Conversions between float widths quiet a NaN; gcc folds demote(promote(x))
 * to x even with -fsignaling-nans, so a NaN takes a path it cannot fold. */
#if defined(__TINYC__)
#define xl_f64_promote(x) ({ f32 xv_ = (x); xl_f32_isnan(xv_) ? (f64)(xv_ + xv_) : (f64)xv_; })
#define xl_f32_demote(x) ({ f64 xv_ = (x); xl_f64_isnan(xv_) ? (f32)(xv_ + xv_) : (f32)xv_; })
#define xl_f32_sqrt(x) sqrtf(x)
#define xl_f64_sqrt(x) sqrt(x)
#else
XL_INLINE f64 xl_f64_promote(f32 x) { return XL_UNLIKELY(xl_f32_isnan(x)) ? (f64)(x + x) : (f64)x; }
XL_INLINE f32 xl_f32_demote(f64 x) { return XL_UNLIKELY(xl_f64_isnan(x)) ? (f32)(x + x) : (f32)x; }
XL_INLINE f64 xl_f64_sqrt(f64 x) { return sqrt(x); }
#endif

/* ---- conversions -------------------------------------------------------
 * A truncation checks the range on the float itself: the bounds are exact
 * powers of two, so the comparisons are exact. Those with a fast form below
 * are defined here as name_range, its out-of-line path. */
#define XL_TRUNC(name, FT, IT, ST, lo, hi)                          \
  XL_INLINE IT name(FT x) {                                         \
    if (XL_UNLIKELY(!(x > (FT)(lo) && x < (FT)(hi)))) /* NaN too */  \
      wasm_rt_trap(x != x ? WASM_RT_TRAP_INVALID_CONVERSION : WASM_RT_TRAP_INT_OVERFLOW); \
    return (IT)(ST)x;                                               \
  }
#define XL_TRUNC_SAT(name, FT, IT, ST, lo, hi, min, max) \
  XL_INLINE IT name(FT x) {                              \
    if (x != x) return 0;                                \
    if (!(x > (FT)(lo))) return (IT)(min);               \
    if (!(x < (FT)(hi))) return (IT)(max);               \
    return (IT)(ST)x;                                    \
  }
XL_TRUNC(xl_i32_trunc_f32_s_range, f32, u32, s32, -2147483904.0, 2147483648.0)
XL_TRUNC(xl_i32_trunc_f32_u_range, f32, u32, u32, -1.0, 4294967296.0)
XL_TRUNC(xl_i32_trunc_f64_s_range, f64, u32, s32, -2147483649.0, 2147483648.0)
XL_TRUNC(xl_i32_trunc_f64_u_range, f64, u32, u32, -1.0, 4294967296.0)
XL_TRUNC(xl_i64_trunc_f32_s_range, f32, u64, s64, -9223373136366403584.0, 9223372036854775808.0)
XL_TRUNC(xl_i64_trunc_f64_s_range, f64, u64, s64, -9223372036854777856.0, 9223372036854775808.0)
XL_TRUNC(xl_i64_trunc_f32_u, f32, u64, u64, -1.0, 18446744073709551616.0)
XL_TRUNC(xl_i64_trunc_f64_u, f64, u64, u64, -1.0, 18446744073709551616.0)
XL_TRUNC_SAT(xl_i32_trunc_sat_f32_s_range, f32, u32, s32, -2147483904.0, 2147483648.0, 0x80000000u, 0x7fffffffu)
XL_TRUNC_SAT(xl_i32_trunc_sat_f32_u_range, f32, u32, u32, -1.0, 4294967296.0, 0, 0xffffffffu)
XL_TRUNC_SAT(xl_i32_trunc_sat_f64_s_range, f64, u32, s32, -2147483649.0, 2147483648.0, 0x80000000u, 0x7fffffffu)
XL_TRUNC_SAT(xl_i32_trunc_sat_f64_u_range, f64, u32, u32, -1.0, 4294967296.0, 0, 0xffffffffu)
XL_TRUNC_SAT(xl_i64_trunc_sat_f32_s_range, f32, u64, s64, -9223373136366403584.0, 9223372036854775808.0, 0x8000000000000000ull, 0x7fffffffffffffffull)
XL_TRUNC_SAT(xl_i64_trunc_sat_f64_s_range, f64, u64, s64, -9223372036854777856.0, 9223372036854775808.0, 0x8000000000000000ull, 0x7fffffffffffffffull)
XL_TRUNC_SAT(xl_i64_trunc_sat_f32_u, f32, u64, u64, -1.0, 18446744073709551616.0, 0, ~0ull)
XL_TRUNC_SAT(xl_i64_trunc_sat_f64_u, f64, u64, u64, -1.0, 18446744073709551616.0, 0, ~0ull)
#if defined(__GNUC__) && defined(__x86_64__) && defined(__SSE2__)
/* x86-64: cvttss2si and cvttsd2si truncate, and give the "integer indefinite"
 * (the type's minimum) for a NaN or a value out of range. Only that result
 * (for u32, from the 64-bit form: one outside 0..2^32-1) takes name_range,
 * which traps or saturates, so the usual path is the conversion and one
 * integer compare. The instruction is an asm: gcc folds its builtins on a
 * constant as C's conversion (3e38 -> INT_MAX, NaN -> 0), which would lose
 * the trap (the differential fuzzer found a dropped i32.trunc_f32_s of
 * FLT_MAX). */
#define XL_CVTT(x, RT, op)                                          \
  ({ RT r_; __asm__(op " %1, %0" : "=r"(r_) : "x"(x)); r_; })
#define XL_CVT_f32(x, RT) XL_CVTT(x, RT, "cvttss2si")
#define XL_CVT_f64(x, RT) XL_CVTT(x, RT, "cvttsd2si")
#define XL_TRUNC_FAST(name, range, FT, IT, RT, out_of_range)        \
  XL_INLINE IT name(FT x) {                                         \
    RT r = XL_CVT_##FT(x, RT);                                      \
    return XL_UNLIKELY(out_of_range) ? range(x) : (IT)r;            \
  }
#else
#define XL_TRUNC_FAST(name, range, FT, IT, RT, out_of_range) \
  XL_INLINE IT name(FT x) { return range(x); }
#endif
#define XL_I32_INDEFINITE(r) ((r) == (s32)0x80000000u)
#define XL_I64_INDEFINITE(r) ((r) == (s64)0x8000000000000000ull)
#define XL_NOT_U32(r) ((u64)(r) > 0xffffffffu)
/* The trapping and the saturating truncation of each pair of types: the
 * helper's name, its out-of-line path, the float type FT, the wasm result
 * IT, the instruction's RT. Each line names the helper it defines first and
 * spells out what it calls: a lazy batch's header keeps only the lines
 * whose helpers the batch names (src/compile/lazy_header.c). */
XL_TRUNC_FAST(xl_i32_trunc_f32_s, xl_i32_trunc_f32_s_range, f32, u32, s32, XL_I32_INDEFINITE(r))
XL_TRUNC_FAST(xl_i32_trunc_sat_f32_s, xl_i32_trunc_sat_f32_s_range, f32, u32, s32, XL_I32_INDEFINITE(r))
XL_TRUNC_FAST(xl_i32_trunc_f32_u, xl_i32_trunc_f32_u_range, f32, u32, s64, XL_NOT_U32(r))
XL_TRUNC_FAST(xl_i32_trunc_sat_f32_u, xl_i32_trunc_sat_f32_u_range, f32, u32, s64, XL_NOT_U32(r))
XL_TRUNC_FAST(xl_i32_trunc_f64_s, xl_i32_trunc_f64_s_range, f64, u32, s32, XL_I32_INDEFINITE(r))
XL_TRUNC_FAST(xl_i32_trunc_sat_f64_s, xl_i32_trunc_sat_f64_s_range, f64, u32, s32, XL_I32_INDEFINITE(r))
XL_TRUNC_FAST(xl_i32_trunc_f64_u, xl_i32_trunc_f64_u_range, f64, u32, s64, XL_NOT_U32(r))
XL_TRUNC_FAST(xl_i32_trunc_sat_f64_u, xl_i32_trunc_sat_f64_u_range, f64, u32, s64, XL_NOT_U32(r))
XL_TRUNC_FAST(xl_i64_trunc_f32_s, xl_i64_trunc_f32_s_range, f32, u64, s64, XL_I64_INDEFINITE(r))
XL_TRUNC_FAST(xl_i64_trunc_sat_f32_s, xl_i64_trunc_sat_f32_s_range, f32, u64, s64, XL_I64_INDEFINITE(r))
XL_TRUNC_FAST(xl_i64_trunc_f64_s, xl_i64_trunc_f64_s_range, f64, u64, s64, XL_I64_INDEFINITE(r))
XL_TRUNC_FAST(xl_i64_trunc_sat_f64_s, xl_i64_trunc_sat_f64_s_range, f64, u64, s64, XL_I64_INDEFINITE(r))

/* The truncation, or the type's minimum for a NaN or a value out of range:
 * what clang's wasm writes for C's (int)x, `fabs(x) < 2^31 ?
 * i32.trunc_f32_s(x) : INT32_MIN` (the translator recognises it: see
 * guarded_trunc() in xl_func.c). On x86-64 that is cvttss2si alone, whose
 * out-of-range result is that minimum. */
#if defined(__GNUC__) && defined(__x86_64__) && defined(__SSE2__)
#define XL_TRUNC_OR_MIN(name, FT, IT, RT, hi, min) \
  XL_INLINE IT name(FT x) { return (IT)XL_CVT_##FT(x, RT); }
#else
#define XL_TRUNC_OR_MIN(name, FT, IT, RT, hi, min) \
  XL_INLINE IT name(FT x) { return xl_##FT##_abs(x) < (FT)(hi) ? (IT)(RT)x : (IT)(min); }
#endif
XL_TRUNC_OR_MIN(xl_i32_trunc_f32_s_or_min, f32, u32, s32, 2147483648.0, 0x80000000u)
XL_TRUNC_OR_MIN(xl_i32_trunc_f64_s_or_min, f64, u32, s32, 2147483648.0, 0x80000000u)
XL_TRUNC_OR_MIN(xl_i64_trunc_f32_s_or_min, f32, u64, s64, 9223372036854775808.0, 0x8000000000000000ull)
XL_TRUNC_OR_MIN(xl_i64_trunc_f64_s_or_min, f64, u64, s64, 9223372036854775808.0, 0x8000000000000000ull)

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
#if defined(__TINYC__)
#define xl_f32_convert_i32_u(x) ((f32)(s64)(u64)(u32)(x))
#define xl_f64_convert_i32_u(x) ((f64)(s64)(u64)(u32)(x))
#else
XL_INLINE f32 xl_f32_convert_i32_u(u32 x) { return (f32)(s64)(u64)x; }
XL_INLINE f64 xl_f64_convert_i32_u(u32 x) { return (f64)(s64)(u64)x; }
#endif
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
#if defined(__TINYC__)
#define xl_callee(t, i, type)                                                              \
  ({ const wasm_rt_funcref_table_t *xt_ = (t); u32 xi_ = (i);                              \
     if (xi_ >= xt_->size) XL_TRAP(CALL_INDIRECT);                                         \
     const fref *xr_ = &xt_->data[xi_];                                                    \
     if (xr_->func == NULL || xr_->func_type != (type)) XL_TRAP(CALL_INDIRECT);            \
     xr_; })
#else
XL_INLINE const fref *xl_callee(const wasm_rt_funcref_table_t *t, u32 i, u32 type) {
  if (XL_UNLIKELY(i >= t->size)) XL_TRAP(CALL_INDIRECT);
  const fref *r = &t->data[i];
  if (XL_UNLIKELY(r->func == NULL || r->func_type != type)) XL_TRAP(CALL_INDIRECT);
  return r;
}
#endif

/* ---- SIMD (v128) ---------------------------------------------------------
 * v128, a union of lanes, is the value of the calling convention (abi.h:
 * 16 bytes, two eightbytes): parameters, results and globals. Inside a
 * function a v128 value is an xl_v: for gcc a vector of GNU C's vector
 * extension, kept in a vector register, and every instruction whose wasm
 * semantics a vector operation has is that operation; for tcc the union
 * itself. The rest are lane loops over the union, for both. xl_vin and
 * xl_vout convert between the two. */
typedef union v128 {
  u8 b[16];
  s8 sb[16];
  u16 h[8];
  s16 sh[8];
  u32 w[4];
  s32 sw[4];
  u64 d[2];
  s64 sd[2];
  f32 f[4];
  f64 g[2];
} v128;

#if defined(__GNUC__)
#define XL_VT(T, n, name) typedef T name __attribute__((vector_size(n)))
XL_VT(u8, 16, xl_u8x16); XL_VT(s8, 16, xl_s8x16); XL_VT(u16, 16, xl_u16x8);
XL_VT(s16, 16, xl_s16x8); XL_VT(u32, 16, xl_u32x4); XL_VT(s32, 16, xl_s32x4);
XL_VT(u64, 16, xl_u64x2); XL_VT(s64, 16, xl_s64x2); XL_VT(f32, 16, xl_f32x4);
XL_VT(f64, 16, xl_f64x2);
XL_VT(u8, 8, xl_u8x8); XL_VT(s8, 8, xl_s8x8); XL_VT(u16, 8, xl_u16x4);
XL_VT(s16, 8, xl_s16x4); XL_VT(u32, 8, xl_u32x2); XL_VT(s32, 8, xl_s32x2);
typedef xl_u64x2 xl_v;
XL_INLINE xl_v xl_vin(v128 x) { xl_v t; memcpy(&t, &x, 16); return t; }
XL_INLINE v128 xl_vout(xl_v x) { v128 t; memcpy(&t, &x, 16); return t; }
/* Loads keep their value (see XL_LDK): the access must trap when out of
 * bounds even if the value is unused. */
#define XL_KEEP_V(v) __asm__("" ::"x"(v))
#define XL_KEEP_S(v) __asm__("" ::"r"(v))
#else
typedef v128 xl_v;
XL_INLINE xl_v xl_vin(v128 x) { return x; }
XL_INLINE v128 xl_vout(xl_v x) { return x; }
#define XL_KEEP_V(v) ((void)0)
#define XL_KEEP_S(v) ((void)0)
#endif

/* constants: as the calling convention's union (globals, arguments) and
 * as a value in a function */
XL_INLINE v128 xl_v128_bytes(const void *p) { v128 r; memcpy(&r, p, 16); return r; }
XL_INLINE xl_v xl_vconst(const void *p) { xl_v r; memcpy(&r, p, 16); return r; }

/* Lane-wise helpers over the union: r.RL[i] = expr over a (and b). */
#define XL_V1(name, RL, N, expr)                                          \
  XL_INLINE xl_v xl_v_##name(xl_v a_) {                                   \
    v128 a = xl_vout(a_), r;                                              \
    for (int i = 0; i < N; i++) r.RL[i] = (expr);                         \
    return xl_vin(r);                                                     \
  }
#define XL_V2(name, RL, N, expr)                                          \
  XL_INLINE xl_v xl_v_##name(xl_v a_, xl_v b_) {                          \
    v128 a = xl_vout(a_), b = xl_vout(b_), r;                             \
    for (int i = 0; i < N; i++) r.RL[i] = (expr);                         \
    return xl_vin(r);                                                     \
  }
#define XL_VSHIFT(name, RL, N, expr)                                      \
  XL_INLINE xl_v xl_v_##name(xl_v a_, u32 n) {                            \
    v128 a = xl_vout(a_), r;                                              \
    for (int i = 0; i < N; i++) r.RL[i] = (expr);                         \
    return xl_vin(r);                                                     \
  }
#define XL_SAT(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))

/* ---- memory ---- */
#if defined(__GNUC__)
XL_INLINE xl_v xl_v_v128_load(const u8 *p) { xl_v r; memcpy(&r, p, 16); XL_KEEP_V(r); return r; }
XL_INLINE void xl_v_v128_store(u8 *p, xl_v v) { memcpy(p, &v, 16); }
/* 8 bytes widened to 8 lanes of 16 bits (and so on) */
#define XL_VLOADX(name, HT, WT)                                           \
  XL_INLINE xl_v xl_v_##name(const u8 *p) {                               \
    u64 t; memcpy(&t, p, 8); XL_KEEP_S(t);                                \
    HT h; memcpy(&h, &t, 8);                                              \
    return (xl_v)__builtin_convertvector(h, WT);                          \
  }
XL_VLOADX(v128_load8x8_s, xl_s8x8, xl_s16x8)
XL_VLOADX(v128_load8x8_u, xl_u8x8, xl_u16x8)
XL_VLOADX(v128_load16x4_s, xl_s16x4, xl_s32x4)
XL_VLOADX(v128_load16x4_u, xl_u16x4, xl_u32x4)
XL_VLOADX(v128_load32x2_s, xl_s32x2, xl_s64x2)
XL_VLOADX(v128_load32x2_u, xl_u32x2, xl_u64x2)
#define XL_VSPLATLD(name, T, VT)                                          \
  XL_INLINE xl_v xl_v_##name(const u8 *p) {                               \
    T t; memcpy(&t, p, sizeof t); XL_KEEP_S(t);                           \
    return (xl_v)((VT){0} + t);                                           \
  }
XL_VSPLATLD(v128_load8_splat, u8, xl_u8x16)
XL_VSPLATLD(v128_load16_splat, u16, xl_u16x8)
XL_VSPLATLD(v128_load32_splat, u32, xl_u32x4)
XL_VSPLATLD(v128_load64_splat, u64, xl_u64x2)
XL_INLINE xl_v xl_v_v128_load32_zero(const u8 *p) {
  u32 t; memcpy(&t, p, 4); XL_KEEP_S(t); return (xl_v)(xl_u32x4){t, 0, 0, 0};
}
XL_INLINE xl_v xl_v_v128_load64_zero(const u8 *p) {
  u64 t; memcpy(&t, p, 8); XL_KEEP_S(t); return (xl_v){t, 0};
}
#define XL_VLANE_MEM(bits, T, VT)                                         \
  XL_INLINE xl_v xl_v_v128_load##bits##_lane(const u8 *p, xl_v v, int lane) { \
    T t; memcpy(&t, p, sizeof t); XL_KEEP_S(t);                           \
    VT x = (VT)v; x[lane] = t; return (xl_v)x;                            \
  }                                                                       \
  XL_INLINE void xl_v_v128_store##bits##_lane(u8 *p, xl_v v, int lane) {  \
    T t = ((VT)v)[lane]; memcpy(p, &t, sizeof t);                         \
  }
XL_VLANE_MEM(8, u8, xl_u8x16)
XL_VLANE_MEM(16, u16, xl_u16x8)
XL_VLANE_MEM(32, u32, xl_u32x4)
XL_VLANE_MEM(64, u64, xl_u64x2)
#else
XL_INLINE v128 xl_v_v128_load(const u8 *p) { v128 r; memcpy(&r, p, 16); return r; }
XL_INLINE void xl_v_v128_store(u8 *p, v128 v) { memcpy(p, &v, 16); }
#define XL_VLOADX(name, ST, DL, N)                                        \
  XL_INLINE v128 xl_v_##name(const u8 *p) {                               \
    ST t[N]; v128 r; memcpy(t, p, sizeof t);                              \
    for (int i = 0; i < N; i++) r.DL[i] = t[i];                           \
    return r;                                                             \
  }
XL_VLOADX(v128_load8x8_s, s8, sh, 8)
XL_VLOADX(v128_load8x8_u, u8, h, 8)
XL_VLOADX(v128_load16x4_s, s16, sw, 4)
XL_VLOADX(v128_load16x4_u, u16, w, 4)
XL_VLOADX(v128_load32x2_s, s32, sd, 2)
XL_VLOADX(v128_load32x2_u, u32, d, 2)
#define XL_VSPLATLD(name, T, L, N)                                        \
  XL_INLINE v128 xl_v_##name(const u8 *p) {                               \
    T t; v128 r; memcpy(&t, p, sizeof t);                                 \
    for (int i = 0; i < N; i++) r.L[i] = t;                               \
    return r;                                                             \
  }
XL_VSPLATLD(v128_load8_splat, u8, b, 16)
XL_VSPLATLD(v128_load16_splat, u16, h, 8)
XL_VSPLATLD(v128_load32_splat, u32, w, 4)
XL_VSPLATLD(v128_load64_splat, u64, d, 2)
#define XL_VLOADZ(name, T, L)                                             \
  XL_INLINE v128 xl_v_##name(const u8 *p) {                               \
    v128 r; memset(&r, 0, 16); memcpy(&r.L[0], p, sizeof(T));             \
    return r;                                                             \
  }
XL_VLOADZ(v128_load32_zero, u32, w)
XL_VLOADZ(v128_load64_zero, u64, d)
#define XL_VLANE_MEM(bits, T, L)                                          \
  XL_INLINE v128 xl_v_v128_load##bits##_lane(const u8 *p, v128 v, int lane) { \
    T t; memcpy(&t, p, sizeof t); v.L[lane] = t; return v;                \
  }                                                                       \
  XL_INLINE void xl_v_v128_store##bits##_lane(u8 *p, v128 v, int lane) {  \
    memcpy(p, &v.L[lane], sizeof(T));                                     \
  }
XL_VLANE_MEM(8, u8, b)
XL_VLANE_MEM(16, u16, h)
XL_VLANE_MEM(32, u32, w)
XL_VLANE_MEM(64, u64, d)
#endif

/* ---- splat, lanes, shuffles ---- */
#if defined(__GNUC__)
XL_INLINE xl_v xl_v_i8x16_splat(u32 x) { return (xl_v)((xl_u8x16){0} + (u8)x); }
XL_INLINE xl_v xl_v_i16x8_splat(u32 x) { return (xl_v)((xl_u16x8){0} + (u16)x); }
XL_INLINE xl_v xl_v_i32x4_splat(u32 x) { return (xl_v)((xl_u32x4){0} + x); }
XL_INLINE xl_v xl_v_i64x2_splat(u64 x) { return (xl_v){x, x}; }
/* not 0 + x: that is not x for x = -0 */
XL_INLINE xl_v xl_v_f32x4_splat(f32 x) { return (xl_v)(xl_f32x4){x, x, x, x}; }
XL_INLINE xl_v xl_v_f64x2_splat(f64 x) { return (xl_v)(xl_f64x2){x, x}; }
#define XL_VEXTRACT(name, VT, RT, CT) \
  XL_INLINE RT xl_v_##name(xl_v v, int l) { return (RT)(CT)((VT)v)[l]; }
#define XL_VREPLACE(name, VT, T, AT) \
  XL_INLINE xl_v xl_v_##name(xl_v v, int l, AT x) { VT t = (VT)v; t[l] = (T)x; return (xl_v)t; }
XL_VEXTRACT(i8x16_extract_lane_s, xl_s8x16, u32, s32)
XL_VEXTRACT(i8x16_extract_lane_u, xl_u8x16, u32, u32)
XL_VEXTRACT(i16x8_extract_lane_s, xl_s16x8, u32, s32)
XL_VEXTRACT(i16x8_extract_lane_u, xl_u16x8, u32, u32)
XL_VEXTRACT(i32x4_extract_lane, xl_u32x4, u32, u32)
XL_VEXTRACT(i64x2_extract_lane, xl_u64x2, u64, u64)
XL_VEXTRACT(f32x4_extract_lane, xl_f32x4, f32, f32)
XL_VEXTRACT(f64x2_extract_lane, xl_f64x2, f64, f64)
XL_VREPLACE(i8x16_replace_lane, xl_u8x16, u8, u32)
XL_VREPLACE(i16x8_replace_lane, xl_u16x8, u16, u32)
XL_VREPLACE(i32x4_replace_lane, xl_u32x4, u32, u32)
XL_VREPLACE(i64x2_replace_lane, xl_u64x2, u64, u64)
XL_VREPLACE(f32x4_replace_lane, xl_f32x4, f32, f32)
XL_VREPLACE(f64x2_replace_lane, xl_f64x2, f64, f64)
/* the 16 lane indices (0..31) are constants of the instruction */
#define XL_SHUFFLE(a, b, ...) \
  ((xl_v)__builtin_shuffle((xl_u8x16)(a), (xl_u8x16)(b), (xl_u8x16){__VA_ARGS__}))
XL_INLINE xl_v xl_v_i8x16_swizzle(xl_v a, xl_v b) {
  xl_u8x16 k = (xl_u8x16)b;
  return (xl_v)(__builtin_shuffle((xl_u8x16)a, k & 15) & (xl_u8x16)(k < 16));
}
#else
XL_INLINE v128 xl_v_i8x16_splat(u32 x) { v128 r; for (int i = 0; i < 16; i++) r.b[i] = (u8)x; return r; }
XL_INLINE v128 xl_v_i16x8_splat(u32 x) { v128 r; for (int i = 0; i < 8; i++) r.h[i] = (u16)x; return r; }
XL_INLINE v128 xl_v_i32x4_splat(u32 x) { v128 r; for (int i = 0; i < 4; i++) r.w[i] = x; return r; }
XL_INLINE v128 xl_v_i64x2_splat(u64 x) { v128 r; r.d[0] = r.d[1] = x; return r; }
XL_INLINE v128 xl_v_f32x4_splat(f32 x) { v128 r; for (int i = 0; i < 4; i++) r.f[i] = x; return r; }
XL_INLINE v128 xl_v_f64x2_splat(f64 x) { v128 r; r.g[0] = r.g[1] = x; return r; }
XL_INLINE u32 xl_v_i8x16_extract_lane_s(v128 v, int l) { return (u32)(s32)v.sb[l]; }
XL_INLINE u32 xl_v_i8x16_extract_lane_u(v128 v, int l) { return v.b[l]; }
XL_INLINE u32 xl_v_i16x8_extract_lane_s(v128 v, int l) { return (u32)(s32)v.sh[l]; }
XL_INLINE u32 xl_v_i16x8_extract_lane_u(v128 v, int l) { return v.h[l]; }
XL_INLINE u32 xl_v_i32x4_extract_lane(v128 v, int l) { return v.w[l]; }
XL_INLINE u64 xl_v_i64x2_extract_lane(v128 v, int l) { return v.d[l]; }
XL_INLINE f32 xl_v_f32x4_extract_lane(v128 v, int l) { return v.f[l]; }
XL_INLINE f64 xl_v_f64x2_extract_lane(v128 v, int l) { return v.g[l]; }
XL_INLINE v128 xl_v_i8x16_replace_lane(v128 v, int l, u32 x) { v.b[l] = (u8)x; return v; }
XL_INLINE v128 xl_v_i16x8_replace_lane(v128 v, int l, u32 x) { v.h[l] = (u16)x; return v; }
XL_INLINE v128 xl_v_i32x4_replace_lane(v128 v, int l, u32 x) { v.w[l] = x; return v; }
XL_INLINE v128 xl_v_i64x2_replace_lane(v128 v, int l, u64 x) { v.d[l] = x; return v; }
XL_INLINE v128 xl_v_f32x4_replace_lane(v128 v, int l, f32 x) { v.f[l] = x; return v; }
XL_INLINE v128 xl_v_f64x2_replace_lane(v128 v, int l, f64 x) { v.g[l] = x; return v; }
XL_INLINE v128 xl_v_i8x16_shuffle(v128 a, v128 b, const u8 *lanes) {
  v128 r;
  for (int i = 0; i < 16; i++) {
    u8 k = lanes[i];
    r.b[i] = k < 16 ? a.b[k] : b.b[k - 16];
  }
  return r;
}
#define XL_SHUFFLE(a, b, ...) xl_v_i8x16_shuffle(a, b, (const u8[16]){__VA_ARGS__})
XL_V2(i8x16_swizzle, b, 16, b.b[i] < 16 ? a.b[b.b[i] & 15] : 0)
#endif

/* ---- bitwise ---- */
#if defined(__GNUC__)
XL_INLINE xl_v xl_v_v128_not(xl_v a) { return ~a; }
XL_INLINE xl_v xl_v_v128_and(xl_v a, xl_v b) { return a & b; }
XL_INLINE xl_v xl_v_v128_andnot(xl_v a, xl_v b) { return a & ~b; }
XL_INLINE xl_v xl_v_v128_or(xl_v a, xl_v b) { return a | b; }
XL_INLINE xl_v xl_v_v128_xor(xl_v a, xl_v b) { return a ^ b; }
XL_INLINE xl_v xl_v_v128_bitselect(xl_v a, xl_v b, xl_v c) { return (a & c) | (b & ~c); }
XL_INLINE u32 xl_v_v128_any_true(xl_v a) { return (a[0] | a[1]) != 0; }
#define XL_ALLTRUE(name, VT) \
  XL_INLINE u32 xl_v_##name(xl_v a) { xl_v z = (xl_v)((VT)a == 0); return (z[0] | z[1]) == 0; }
XL_ALLTRUE(i8x16_all_true, xl_u8x16)
XL_ALLTRUE(i16x8_all_true, xl_u16x8)
XL_ALLTRUE(i32x4_all_true, xl_u32x4)
XL_ALLTRUE(i64x2_all_true, xl_u64x2)
#define XL_BITMASK(name, VT, N) \
  XL_INLINE u32 xl_v_##name(xl_v a) { VT x = (VT)a; u32 m = 0; for (int i = 0; i < N; i++) m |= (u32)(x[i] < 0) << i; return m; }
XL_BITMASK(i8x16_bitmask, xl_s8x16, 16)
XL_BITMASK(i16x8_bitmask, xl_s16x8, 8)
XL_BITMASK(i32x4_bitmask, xl_s32x4, 4)
XL_BITMASK(i64x2_bitmask, xl_s64x2, 2)
#else
XL_V1(v128_not, d, 2, ~a.d[i])
XL_V2(v128_and, d, 2, a.d[i] & b.d[i])
XL_V2(v128_andnot, d, 2, a.d[i] & ~b.d[i])
XL_V2(v128_or, d, 2, a.d[i] | b.d[i])
XL_V2(v128_xor, d, 2, a.d[i] ^ b.d[i])
XL_INLINE v128 xl_v_v128_bitselect(v128 a, v128 b, v128 c) {
  v128 r;
  for (int i = 0; i < 2; i++) r.d[i] = (a.d[i] & c.d[i]) | (b.d[i] & ~c.d[i]);
  return r;
}
XL_INLINE u32 xl_v_v128_any_true(v128 a) { return (a.d[0] | a.d[1]) != 0; }
#define XL_ALLTRUE(name, L, N) \
  XL_INLINE u32 xl_v_##name(v128 a) { for (int i = 0; i < N; i++) if (!a.L[i]) return 0; return 1; }
XL_ALLTRUE(i8x16_all_true, b, 16)
XL_ALLTRUE(i16x8_all_true, h, 8)
XL_ALLTRUE(i32x4_all_true, w, 4)
XL_ALLTRUE(i64x2_all_true, d, 2)
#define XL_BITMASK(name, SL, N) \
  XL_INLINE u32 xl_v_##name(v128 a) { u32 m = 0; for (int i = 0; i < N; i++) m |= (u32)(a.SL[i] < 0) << i; return m; }
XL_BITMASK(i8x16_bitmask, sb, 16)
XL_BITMASK(i16x8_bitmask, sh, 8)
XL_BITMASK(i32x4_bitmask, sw, 4)
XL_BITMASK(i64x2_bitmask, sd, 2)
#endif

/* ---- integer comparisons: all ones or all zeros per lane ---- */
#if defined(__GNUC__)
#define XL_VCMP1(name, VT, op) \
  XL_INLINE xl_v xl_v_##name(xl_v a, xl_v b) { return (xl_v)((VT)a op (VT)b); }
#define XL_VCMP(shape, UT, ST)                                           \
  XL_VCMP1(shape##_eq, UT, ==) XL_VCMP1(shape##_ne, UT, !=)              \
  XL_VCMP1(shape##_lt_s, ST, <) XL_VCMP1(shape##_lt_u, UT, <)            \
  XL_VCMP1(shape##_gt_s, ST, >) XL_VCMP1(shape##_gt_u, UT, >)            \
  XL_VCMP1(shape##_le_s, ST, <=) XL_VCMP1(shape##_le_u, UT, <=)          \
  XL_VCMP1(shape##_ge_s, ST, >=) XL_VCMP1(shape##_ge_u, UT, >=)
XL_VCMP(i8x16, xl_u8x16, xl_s8x16)
XL_VCMP(i16x8, xl_u16x8, xl_s16x8)
XL_VCMP(i32x4, xl_u32x4, xl_s32x4)
XL_VCMP(i64x2, xl_u64x2, xl_s64x2)
#else
#define XL_VCMP(shape, L, SL, UL, N, M)                                          \
  XL_V2(shape##_eq, UL, N, a.UL[i] == b.UL[i] ? M : 0)                           \
  XL_V2(shape##_ne, UL, N, a.UL[i] != b.UL[i] ? M : 0)                           \
  XL_V2(shape##_lt_s, UL, N, a.SL[i] < b.SL[i] ? M : 0)                          \
  XL_V2(shape##_lt_u, UL, N, a.UL[i] < b.UL[i] ? M : 0)                          \
  XL_V2(shape##_gt_s, UL, N, a.SL[i] > b.SL[i] ? M : 0)                          \
  XL_V2(shape##_gt_u, UL, N, a.UL[i] > b.UL[i] ? M : 0)                          \
  XL_V2(shape##_le_s, UL, N, a.SL[i] <= b.SL[i] ? M : 0)                         \
  XL_V2(shape##_le_u, UL, N, a.UL[i] <= b.UL[i] ? M : 0)                         \
  XL_V2(shape##_ge_s, UL, N, a.SL[i] >= b.SL[i] ? M : 0)                         \
  XL_V2(shape##_ge_u, UL, N, a.UL[i] >= b.UL[i] ? M : 0)
XL_VCMP(i8x16, b, sb, b, 16, 0xffu)
XL_VCMP(i16x8, h, sh, h, 8, 0xffffu)
XL_VCMP(i32x4, w, sw, w, 4, 0xffffffffu)
XL_VCMP(i64x2, d, sd, d, 2, ~0ull)
#endif

/* ---- integer arithmetic ---- */
#if defined(__GNUC__)
/* unsigned lanes wrap; a mask m (all ones or zeros per lane) selects */
#define XL_VSEL(m, x, y) (((xl_v)(m) & (xl_v)(x)) | (~(xl_v)(m) & (xl_v)(y)))
#define XL_VINT(shape, UT, ST, BITS)                                                          \
  XL_INLINE xl_v xl_v_##shape##_add(xl_v a, xl_v b) { return (xl_v)((UT)a + (UT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_sub(xl_v a, xl_v b) { return (xl_v)((UT)a - (UT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_neg(xl_v a) { return (xl_v)(-(UT)a); }                        \
  XL_INLINE xl_v xl_v_##shape##_shl(xl_v a, u32 n) { return (xl_v)((UT)a << (n & (BITS - 1))); } \
  XL_INLINE xl_v xl_v_##shape##_shr_s(xl_v a, u32 n) { return (xl_v)((ST)a >> (n & (BITS - 1))); } \
  XL_INLINE xl_v xl_v_##shape##_shr_u(xl_v a, u32 n) { return (xl_v)((UT)a >> (n & (BITS - 1))); }
#define XL_VMINMAX(shape, UT, ST, BITS)                                                       \
  XL_INLINE xl_v xl_v_##shape##_abs(xl_v a) {                                                 \
    UT m = (UT)((ST)a >> (BITS - 1));                                                         \
    return (xl_v)((((UT)a) ^ m) - m);                                                         \
  }                                                                                           \
  XL_INLINE xl_v xl_v_##shape##_min_s(xl_v a, xl_v b) { return XL_VSEL((ST)a < (ST)b, a, b); } \
  XL_INLINE xl_v xl_v_##shape##_min_u(xl_v a, xl_v b) { return XL_VSEL((UT)a < (UT)b, a, b); } \
  XL_INLINE xl_v xl_v_##shape##_max_s(xl_v a, xl_v b) { return XL_VSEL((ST)a > (ST)b, a, b); } \
  XL_INLINE xl_v xl_v_##shape##_max_u(xl_v a, xl_v b) { return XL_VSEL((UT)a > (UT)b, a, b); }
XL_VINT(i8x16, xl_u8x16, xl_s8x16, 8)
XL_VINT(i16x8, xl_u16x8, xl_s16x8, 16)
XL_VINT(i32x4, xl_u32x4, xl_s32x4, 32)
XL_VINT(i64x2, xl_u64x2, xl_s64x2, 64)
/* x86: where a wasm instruction is one SSE instruction of the same semantics
 * (lane by lane, wrapping and saturation included), that instruction; gcc
 * does not find most of them in the portable forms (min_s on i32x4: 6
 * instructions, add_sat_s on i8x16: 19, a narrowing: 20). Which level has
 * which: SSE2 the baseline, SSSE3 and SSE4.1 in x86-64-v2 (toolchain.h);
 * `make spec` tests these, `make spec-baseline` the portable forms. */
#if defined(__SSE2__)
typedef char xl_x16qi __attribute__((vector_size(16)));
typedef short xl_x8hi __attribute__((vector_size(16)));
typedef int xl_x4si __attribute__((vector_size(16)));
typedef float xl_x4sf __attribute__((vector_size(16)));
#define XL_X86_1(name, T, op) \
  XL_INLINE xl_v xl_v_##name(xl_v a) { return (xl_v)op((T)a); }
#define XL_X86_2(name, T, op) \
  XL_INLINE xl_v xl_v_##name(xl_v a, xl_v b) { return (xl_v)op((T)a, (T)b); }
#endif
#if defined(__SSSE3__) && defined(__SSE4_1__)
XL_X86_1(i8x16_abs, xl_x16qi, __builtin_ia32_pabsb128)
XL_X86_2(i8x16_min_s, xl_x16qi, __builtin_ia32_pminsb128)
XL_X86_2(i8x16_min_u, xl_x16qi, __builtin_ia32_pminub128)
XL_X86_2(i8x16_max_s, xl_x16qi, __builtin_ia32_pmaxsb128)
XL_X86_2(i8x16_max_u, xl_x16qi, __builtin_ia32_pmaxub128)
XL_X86_1(i16x8_abs, xl_x8hi, __builtin_ia32_pabsw128)
XL_X86_2(i16x8_min_s, xl_x8hi, __builtin_ia32_pminsw128)
XL_X86_2(i16x8_min_u, xl_x8hi, __builtin_ia32_pminuw128)
XL_X86_2(i16x8_max_s, xl_x8hi, __builtin_ia32_pmaxsw128)
XL_X86_2(i16x8_max_u, xl_x8hi, __builtin_ia32_pmaxuw128)
XL_X86_1(i32x4_abs, xl_x4si, __builtin_ia32_pabsd128)
XL_X86_2(i32x4_min_s, xl_x4si, __builtin_ia32_pminsd128)
XL_X86_2(i32x4_min_u, xl_x4si, __builtin_ia32_pminud128)
XL_X86_2(i32x4_max_s, xl_x4si, __builtin_ia32_pmaxsd128)
XL_X86_2(i32x4_max_u, xl_x4si, __builtin_ia32_pmaxud128)
#else
XL_VMINMAX(i8x16, xl_u8x16, xl_s8x16, 8)
XL_VMINMAX(i16x8, xl_u16x8, xl_s16x8, 16)
XL_VMINMAX(i32x4, xl_u32x4, xl_s32x4, 32)
#endif
XL_VMINMAX(i64x2, xl_u64x2, xl_s64x2, 64)
XL_INLINE xl_v xl_v_i16x8_mul(xl_v a, xl_v b) { return (xl_v)((xl_u16x8)a * (xl_u16x8)b); }
XL_INLINE xl_v xl_v_i32x4_mul(xl_v a, xl_v b) { return (xl_v)((xl_u32x4)a * (xl_u32x4)b); }
/* two scalar multiplies: x86 before AVX-512 has no 64-bit lane multiply, and
 * gcc's emulation of one (three pmuludq, shifts, adds) is slower (kernels
 * hash built with -msimd128: 356 -> 320 ms, medians of 5, alternating) */
XL_INLINE xl_v xl_v_i64x2_mul(xl_v a, xl_v b) { return (xl_v){a[0] * b[0], a[1] * b[1]}; }
/* saturating: the wrapped sum, or the bound where it overflowed */
#define XL_VSAT(shape, UT, ST, BITS, SMAX)                                                    \
  XL_INLINE xl_v xl_v_##shape##_add_sat_u(xl_v a, xl_v b) {                                   \
    UT s = (UT)a + (UT)b;                                                                     \
    return (xl_v)(s | (UT)(s < (UT)a));                                                       \
  }                                                                                           \
  XL_INLINE xl_v xl_v_##shape##_sub_sat_u(xl_v a, xl_v b) {                                   \
    UT d = (UT)a - (UT)b;                                                                     \
    return (xl_v)(d & (UT)(d <= (UT)a));                                                      \
  }                                                                                           \
  XL_INLINE xl_v xl_v_##shape##_add_sat_s(xl_v a, xl_v b) {                                   \
    UT x = (UT)a, y = (UT)b, s = x + y;                                                       \
    UT ov = (UT)((ST)((x ^ s) & (y ^ s)) >> (BITS - 1));                                      \
    UT sat = (UT)((ST)x >> (BITS - 1)) ^ ((UT){0} + SMAX);                                            \
    return XL_VSEL(ov, sat, s);                                                               \
  }                                                                                           \
  XL_INLINE xl_v xl_v_##shape##_sub_sat_s(xl_v a, xl_v b) {                                   \
    UT x = (UT)a, y = (UT)b, s = x - y;                                                       \
    UT ov = (UT)((ST)((x ^ y) & (x ^ s)) >> (BITS - 1));                                      \
    UT sat = (UT)((ST)x >> (BITS - 1)) ^ ((UT){0} + SMAX);                                            \
    return XL_VSEL(ov, sat, s);                                                               \
  }                                                                                           \
  XL_INLINE xl_v xl_v_##shape##_avgr_u(xl_v a, xl_v b) {                                      \
    UT x = (UT)a, y = (UT)b;                                                                  \
    return (xl_v)((x | y) - ((x ^ y) >> 1));                                                  \
  }
#if defined(__SSE2__)
XL_X86_2(i8x16_add_sat_s, xl_x16qi, __builtin_ia32_paddsb128)
XL_X86_2(i8x16_add_sat_u, xl_x16qi, __builtin_ia32_paddusb128)
XL_X86_2(i8x16_sub_sat_s, xl_x16qi, __builtin_ia32_psubsb128)
XL_X86_2(i8x16_sub_sat_u, xl_x16qi, __builtin_ia32_psubusb128)
XL_X86_2(i8x16_avgr_u, xl_x16qi, __builtin_ia32_pavgb128)
XL_X86_2(i16x8_add_sat_s, xl_x8hi, __builtin_ia32_paddsw128)
XL_X86_2(i16x8_add_sat_u, xl_x8hi, __builtin_ia32_paddusw128)
XL_X86_2(i16x8_sub_sat_s, xl_x8hi, __builtin_ia32_psubsw128)
XL_X86_2(i16x8_sub_sat_u, xl_x8hi, __builtin_ia32_psubusw128)
XL_X86_2(i16x8_avgr_u, xl_x8hi, __builtin_ia32_pavgw128)
/* pmaddwd: the products of adjacent pairs, summed (the one overflow,
 * -32768 * -32768 twice, wraps as wasm's i32 add does) */
XL_X86_2(i32x4_dot_i16x8_s, xl_x8hi, __builtin_ia32_pmaddwd128)
#else
XL_VSAT(i8x16, xl_u8x16, xl_s8x16, 8, 0x7f)
XL_VSAT(i16x8, xl_u16x8, xl_s16x8, 16, 0x7fff)
#endif
#if defined(__SSSE3__)
/* pmulhrsw rounds as q15mulr does; its one overflow (-32768 * -32768 gives
 * -32768, the only way it can) saturates to 32767 in wasm */
XL_INLINE xl_v xl_v_i16x8_q15mulr_sat_s(xl_v a, xl_v b) {
  xl_x8hi r = __builtin_ia32_pmulhrsw128((xl_x8hi)a, (xl_x8hi)b);
  return (xl_v)(r ^ (xl_x8hi)(r == (xl_x8hi){0} + (short)-32768));
}
/* pmaddubsw (unsigned bytes times signed bytes, pairs summed): with ones,
 * the pairwise sums of the bytes, which never saturate (at most 510) */
XL_INLINE xl_v xl_v_i16x8_extadd_pairwise_i8x16_s(xl_v a) {
  return (xl_v)__builtin_ia32_pmaddubsw128((xl_x16qi){0} + 1, (xl_x16qi)a);
}
XL_INLINE xl_v xl_v_i16x8_extadd_pairwise_i8x16_u(xl_v a) {
  return (xl_v)__builtin_ia32_pmaddubsw128((xl_x16qi)a, (xl_x16qi){0} + 1);
}
/* pmaddwd with ones; the unsigned lanes biased by -32768 first (the two
 * biases, -65536, added back) */
XL_INLINE xl_v xl_v_i32x4_extadd_pairwise_i16x8_s(xl_v a) {
  return (xl_v)__builtin_ia32_pmaddwd128((xl_x8hi)a, (xl_x8hi){0} + 1);
}
XL_INLINE xl_v xl_v_i32x4_extadd_pairwise_i16x8_u(xl_v a) {
  xl_x8hi biased = (xl_x8hi)a ^ (xl_x8hi){0} + (short)-32768;
  return (xl_v)(__builtin_ia32_pmaddwd128(biased, (xl_x8hi){0} + 1) + 65536);
}
#endif
#else
#define XL_VINT(shape, L, SL, N, T, ST, BITS, SMIN, SMAX, UMAX)                      \
  XL_V2(shape##_add, L, N, (T)(a.L[i] + b.L[i]))                                     \
  XL_V2(shape##_sub, L, N, (T)(a.L[i] - b.L[i]))                                     \
  XL_V1(shape##_neg, L, N, (T)(0 - (u64)a.L[i]))                                     \
  XL_V1(shape##_abs, L, N, a.SL[i] < 0 ? (T)(0 - (u64)a.L[i]) : a.L[i])              \
  XL_V2(shape##_min_s, SL, N, a.SL[i] < b.SL[i] ? a.SL[i] : b.SL[i])                 \
  XL_V2(shape##_min_u, L, N, a.L[i] < b.L[i] ? a.L[i] : b.L[i])                      \
  XL_V2(shape##_max_s, SL, N, a.SL[i] > b.SL[i] ? a.SL[i] : b.SL[i])                 \
  XL_V2(shape##_max_u, L, N, a.L[i] > b.L[i] ? a.L[i] : b.L[i])                      \
  XL_VSHIFT(shape##_shl, L, N, (T)(a.L[i] << (n & (BITS - 1))))                      \
  XL_VSHIFT(shape##_shr_s, SL, N, (ST)(a.SL[i] >> (n & (BITS - 1))))                 \
  XL_VSHIFT(shape##_shr_u, L, N, (T)(a.L[i] >> (n & (BITS - 1))))
XL_VINT(i8x16, b, sb, 16, u8, s8, 8, -128, 127, 255)
XL_VINT(i16x8, h, sh, 8, u16, s16, 16, -32768, 32767, 65535)
XL_VINT(i32x4, w, sw, 4, u32, s32, 32, 0, 0, 0)
XL_VINT(i64x2, d, sd, 2, u64, s64, 64, 0, 0, 0)
XL_V2(i16x8_mul, h, 8, (u16)((u32)a.h[i] * b.h[i]))
XL_V2(i32x4_mul, w, 4, a.w[i] * b.w[i])
XL_V2(i64x2_mul, d, 2, a.d[i] * b.d[i])
XL_V2(i8x16_add_sat_s, sb, 16, (s8)XL_SAT((int)a.sb[i] + b.sb[i], -128, 127))
XL_V2(i8x16_add_sat_u, b, 16, (u8)XL_SAT((int)a.b[i] + b.b[i], 0, 255))
XL_V2(i8x16_sub_sat_s, sb, 16, (s8)XL_SAT((int)a.sb[i] - b.sb[i], -128, 127))
XL_V2(i8x16_sub_sat_u, b, 16, (u8)XL_SAT((int)a.b[i] - b.b[i], 0, 255))
XL_V2(i16x8_add_sat_s, sh, 8, (s16)XL_SAT((int)a.sh[i] + b.sh[i], -32768, 32767))
XL_V2(i16x8_add_sat_u, h, 8, (u16)XL_SAT((int)a.h[i] + b.h[i], 0, 65535))
XL_V2(i16x8_sub_sat_s, sh, 8, (s16)XL_SAT((int)a.sh[i] - b.sh[i], -32768, 32767))
XL_V2(i16x8_sub_sat_u, h, 8, (u16)XL_SAT((int)a.h[i] - b.h[i], 0, 65535))
XL_V2(i8x16_avgr_u, b, 16, (u8)(((u32)a.b[i] + b.b[i] + 1) >> 1))
XL_V2(i16x8_avgr_u, h, 8, (u16)(((u32)a.h[i] + b.h[i] + 1) >> 1))
#endif
#if !(defined(__GNUC__) && defined(__SSSE3__)) /* else pmulhrsw, pmadd* above */
XL_V2(i16x8_q15mulr_sat_s, sh, 8, (s16)XL_SAT(((s32)a.sh[i] * b.sh[i] + 0x4000) >> 15, -32768, 32767))
#endif
#if defined(__GNUC__)
/* the bits of each byte counted in place: pairs, nibbles, the byte */
XL_INLINE xl_v xl_v_i8x16_popcnt(xl_v a) {
  xl_u8x16 x = (xl_u8x16)a;
  x = x - ((x >> 1) & 0x55);
  x = (x & 0x33) + ((x >> 2) & 0x33);
  return (xl_v)((x + (x >> 4)) & 0x0f);
}
#else
XL_V1(i8x16_popcnt, b, 16, (u8)xl_popcnt32(a.b[i]))
#endif
#if !(defined(__GNUC__) && defined(__SSE2__))
XL_INLINE xl_v xl_v_i32x4_dot_i16x8_s(xl_v a_, xl_v b_) {
  v128 a = xl_vout(a_), b = xl_vout(b_), r;
  for (int i = 0; i < 4; i++)
    r.w[i] = (u32)((s32)a.sh[2 * i] * b.sh[2 * i]) + (u32)((s32)a.sh[2 * i + 1] * b.sh[2 * i + 1]);
  return xl_vin(r);
}
#endif

/* ---- narrowing, widening ---- */
#if defined(__GNUC__)
/* each input clamped to the narrow range, then converted, a's lanes first */
#define XL_NARROW(name, IT, HT, lo, hi)                                   \
  XL_INLINE xl_v xl_v_##name(xl_v a, xl_v b) {                            \
    IT x = (IT)a, y = (IT)b, l = (IT){0} + (lo), h = (IT){0} + (hi);      \
    x = (IT)XL_VSEL(x < l, l, x); x = (IT)XL_VSEL(x > h, h, x);           \
    y = (IT)XL_VSEL(y < l, l, y); y = (IT)XL_VSEL(y > h, h, y);           \
    HT p = __builtin_convertvector(x, HT), q = __builtin_convertvector(y, HT); \
    u64 pl, ql; memcpy(&pl, &p, 8); memcpy(&ql, &q, 8);                   \
    return (xl_v){pl, ql};                                                \
  }
#if defined(__SSE2__)
/* pack*: signed inputs saturated to the narrow range, a's lanes first */
XL_X86_2(i8x16_narrow_i16x8_s, xl_x8hi, __builtin_ia32_packsswb128)
XL_X86_2(i8x16_narrow_i16x8_u, xl_x8hi, __builtin_ia32_packuswb128)
XL_X86_2(i16x8_narrow_i32x4_s, xl_x4si, __builtin_ia32_packssdw128)
#else
XL_NARROW(i8x16_narrow_i16x8_s, xl_s16x8, xl_s8x8, -128, 127)
XL_NARROW(i8x16_narrow_i16x8_u, xl_s16x8, xl_u8x8, 0, 255)
XL_NARROW(i16x8_narrow_i32x4_s, xl_s32x4, xl_s16x4, -32768, 32767)
#endif
#if defined(__SSE4_1__)
XL_X86_2(i16x8_narrow_i32x4_u, xl_x4si, __builtin_ia32_packusdw128)
#else
XL_NARROW(i16x8_narrow_i32x4_u, xl_s32x4, xl_u16x4, 0, 65535)
#endif
/* The low or high half widened: each lane interleaved with itself
 * (punpckl/punpckh), then shifted down by the narrow width, arithmetically
 * for _s: two instructions at every level. gcc's convertvector of the half
 * took five on x86-64-v2 and dozens of byte moves on the baseline. i64x2's
 * signed forms interleave each lane with its sign instead (x86 has no 64-bit
 * psra). */
#define XL_SV __builtin_shufflevector /* gcc 12 (Debian 12's) or later */
XL_INLINE xl_v xl_v_i16x8_extend_low_i8x16_s(xl_v a) {
  return (xl_v)((xl_s16x8)XL_SV((xl_s8x16)a, (xl_s8x16)a, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7) >> 8);
}
XL_INLINE xl_v xl_v_i16x8_extend_high_i8x16_s(xl_v a) {
  return (xl_v)((xl_s16x8)XL_SV((xl_s8x16)a, (xl_s8x16)a, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15) >> 8);
}
XL_INLINE xl_v xl_v_i16x8_extend_low_i8x16_u(xl_v a) {
  return (xl_v)((xl_u16x8)XL_SV((xl_u8x16)a, (xl_u8x16)a, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7) >> 8);
}
XL_INLINE xl_v xl_v_i16x8_extend_high_i8x16_u(xl_v a) {
  return (xl_v)((xl_u16x8)XL_SV((xl_u8x16)a, (xl_u8x16)a, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15) >> 8);
}
XL_INLINE xl_v xl_v_i32x4_extend_low_i16x8_s(xl_v a) {
  return (xl_v)((xl_s32x4)XL_SV((xl_s16x8)a, (xl_s16x8)a, 0, 0, 1, 1, 2, 2, 3, 3) >> 16);
}
XL_INLINE xl_v xl_v_i32x4_extend_high_i16x8_s(xl_v a) {
  return (xl_v)((xl_s32x4)XL_SV((xl_s16x8)a, (xl_s16x8)a, 4, 4, 5, 5, 6, 6, 7, 7) >> 16);
}
XL_INLINE xl_v xl_v_i32x4_extend_low_i16x8_u(xl_v a) {
  return (xl_v)((xl_u32x4)XL_SV((xl_u16x8)a, (xl_u16x8)a, 0, 0, 1, 1, 2, 2, 3, 3) >> 16);
}
XL_INLINE xl_v xl_v_i32x4_extend_high_i16x8_u(xl_v a) {
  return (xl_v)((xl_u32x4)XL_SV((xl_u16x8)a, (xl_u16x8)a, 4, 4, 5, 5, 6, 6, 7, 7) >> 16);
}
XL_INLINE xl_v xl_v_i64x2_extend_low_i32x4_s(xl_v a) {
  return (xl_v)XL_SV((xl_s32x4)a, (xl_s32x4)a >> 31, 0, 4, 1, 5);
}
XL_INLINE xl_v xl_v_i64x2_extend_high_i32x4_s(xl_v a) {
  return (xl_v)XL_SV((xl_s32x4)a, (xl_s32x4)a >> 31, 2, 6, 3, 7);
}
XL_INLINE xl_v xl_v_i64x2_extend_low_i32x4_u(xl_v a) {
  return (xl_v)((xl_u64x2)XL_SV((xl_u32x4)a, (xl_u32x4)a, 0, 0, 1, 1) >> 32);
}
XL_INLINE xl_v xl_v_i64x2_extend_high_i32x4_u(xl_v a) {
  return (xl_v)((xl_u64x2)XL_SV((xl_u32x4)a, (xl_u32x4)a, 2, 2, 3, 3) >> 32);
}
/* the products of widened lanes always fit the wide lane */
#define XL_EXTMUL(shape, from, half, sx, W)                                     \
  XL_INLINE xl_v xl_v_##shape##_extmul_##half##_##from##_##sx(xl_v a, xl_v b) { \
    return (xl_v)((W)xl_v_##shape##_extend_##half##_##from##_##sx(a) *          \
                  (W)xl_v_##shape##_extend_##half##_##from##_##sx(b));          \
  }
#define XL_EXTENDS(shape, from, ST, UT, SW, UW)                                 \
  XL_EXTMUL(shape, from, low, s, SW)                                            \
  XL_EXTMUL(shape, from, high, s, SW)                                           \
  XL_EXTMUL(shape, from, low, u, UW)                                            \
  XL_EXTMUL(shape, from, high, u, UW)
XL_EXTENDS(i16x8, i8x16, xl_s8x8, xl_u8x8, xl_s16x8, xl_u16x8)
XL_EXTENDS(i32x4, i16x8, xl_s16x4, xl_u16x4, xl_s32x4, xl_u32x4)
XL_EXTENDS(i64x2, i32x4, xl_s32x2, xl_u32x2, xl_s64x2, xl_u64x2)
#else
#define XL_NARROW(name, RL, SL, N, lo, hi, RT)                            \
  XL_INLINE v128 xl_v_##name(v128 a, v128 b) {                            \
    v128 r;                                                               \
    for (int i = 0; i < N; i++) r.RL[i] = (RT)XL_SAT(a.SL[i], lo, hi);    \
    for (int i = 0; i < N; i++) r.RL[N + i] = (RT)XL_SAT(b.SL[i], lo, hi); \
    return r;                                                             \
  }
XL_NARROW(i8x16_narrow_i16x8_s, sb, sh, 8, -128, 127, s8)
XL_NARROW(i8x16_narrow_i16x8_u, b, sh, 8, 0, 255, u8)
XL_NARROW(i16x8_narrow_i32x4_s, sh, sw, 4, -32768, 32767, s16)
XL_NARROW(i16x8_narrow_i32x4_u, h, sw, 4, 0, 65535, u16)
#define XL_EXTEND(name, RL, AL, N, OFF) XL_V1(name, RL, N, a.AL[i + OFF])
XL_EXTEND(i16x8_extend_low_i8x16_s, sh, sb, 8, 0)
XL_EXTEND(i16x8_extend_high_i8x16_s, sh, sb, 8, 8)
XL_EXTEND(i16x8_extend_low_i8x16_u, h, b, 8, 0)
XL_EXTEND(i16x8_extend_high_i8x16_u, h, b, 8, 8)
XL_EXTEND(i32x4_extend_low_i16x8_s, sw, sh, 4, 0)
XL_EXTEND(i32x4_extend_high_i16x8_s, sw, sh, 4, 4)
XL_EXTEND(i32x4_extend_low_i16x8_u, w, h, 4, 0)
XL_EXTEND(i32x4_extend_high_i16x8_u, w, h, 4, 4)
XL_EXTEND(i64x2_extend_low_i32x4_s, sd, sw, 2, 0)
XL_EXTEND(i64x2_extend_high_i32x4_s, sd, sw, 2, 2)
XL_EXTEND(i64x2_extend_low_i32x4_u, d, w, 2, 0)
XL_EXTEND(i64x2_extend_high_i32x4_u, d, w, 2, 2)
#define XL_EXTMUL(name, RL, AL, N, OFF, WT) XL_V2(name, RL, N, (WT)a.AL[i + OFF] * b.AL[i + OFF])
XL_EXTMUL(i16x8_extmul_low_i8x16_s, sh, sb, 8, 0, s32)
XL_EXTMUL(i16x8_extmul_high_i8x16_s, sh, sb, 8, 8, s32)
XL_EXTMUL(i16x8_extmul_low_i8x16_u, h, b, 8, 0, u32)
XL_EXTMUL(i16x8_extmul_high_i8x16_u, h, b, 8, 8, u32)
XL_EXTMUL(i32x4_extmul_low_i16x8_s, sw, sh, 4, 0, s32)
XL_EXTMUL(i32x4_extmul_high_i16x8_s, sw, sh, 4, 4, s32)
XL_EXTMUL(i32x4_extmul_low_i16x8_u, w, h, 4, 0, u32)
XL_EXTMUL(i32x4_extmul_high_i16x8_u, w, h, 4, 4, u32)
XL_EXTMUL(i64x2_extmul_low_i32x4_s, sd, sw, 2, 0, s64)
XL_EXTMUL(i64x2_extmul_high_i32x4_s, sd, sw, 2, 2, s64)
XL_EXTMUL(i64x2_extmul_low_i32x4_u, d, w, 2, 0, u64)
XL_EXTMUL(i64x2_extmul_high_i32x4_u, d, w, 2, 2, u64)
#endif
#if !(defined(__GNUC__) && defined(__SSSE3__)) /* else pmulhrsw, pmadd* above */
XL_V1(i16x8_extadd_pairwise_i8x16_s, sh, 8, (s16)(a.sb[2 * i] + a.sb[2 * i + 1]))
XL_V1(i16x8_extadd_pairwise_i8x16_u, h, 8, (u16)(a.b[2 * i] + a.b[2 * i + 1]))
XL_V1(i32x4_extadd_pairwise_i16x8_s, sw, 4, (s32)a.sh[2 * i] + a.sh[2 * i + 1])
XL_V1(i32x4_extadd_pairwise_i16x8_u, w, 4, (u32)a.h[2 * i] + a.h[2 * i + 1])
#endif

/* ---- floats ---- */
#define XL_VFROUND(shape, L, N, p)                                        \
  XL_V1(shape##_sqrt, L, N, xl_##p##_sqrt(a.L[i]))                        \
  XL_V1(shape##_ceil, L, N, xl_##p##_ceil(a.L[i]))                        \
  XL_V1(shape##_floor, L, N, xl_##p##_floor(a.L[i]))                      \
  XL_V1(shape##_trunc, L, N, xl_##p##_trunc(a.L[i]))                      \
  XL_V1(shape##_nearest, L, N, xl_##p##_nearest(a.L[i]))
XL_VFROUND(f32x4, f, 4, f32)
XL_VFROUND(f64x2, g, 2, f64)
#if defined(__GNUC__)
/* min and max as the scalar helpers: a NaN operand gives a + b (quiet);
 * equal operands (zeros of either sign) give the bits or-ed (min) or
 * and-ed (max) */
#define XL_VFLOAT(shape, FT, UT, SIGN)                                                        \
  XL_INLINE xl_v xl_v_##shape##_abs(xl_v a) { return (xl_v)((UT)a & ~((UT){0} + SIGN)); }             \
  XL_INLINE xl_v xl_v_##shape##_neg(xl_v a) { return (xl_v)((UT)a ^ ((UT){0} + SIGN)); }              \
  XL_INLINE xl_v xl_v_##shape##_add(xl_v a, xl_v b) { return (xl_v)((FT)a + (FT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_sub(xl_v a, xl_v b) { return (xl_v)((FT)a - (FT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_mul(xl_v a, xl_v b) { return (xl_v)((FT)a * (FT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_div(xl_v a, xl_v b) { return (xl_v)((FT)a / (FT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_min(xl_v a, xl_v b) {                                        \
    FT x = (FT)a, y = (FT)b;                                                                  \
    xl_v r = XL_VSEL(x < y, a, b);                                                            \
    r = XL_VSEL(x == y, a | b, r);                                                            \
    return XL_VSEL((x != x) | (y != y), (xl_v)(x + y), r);                                    \
  }                                                                                           \
  XL_INLINE xl_v xl_v_##shape##_max(xl_v a, xl_v b) {                                        \
    FT x = (FT)a, y = (FT)b;                                                                  \
    xl_v r = XL_VSEL(x > y, a, b);                                                            \
    r = XL_VSEL(x == y, a & b, r);                                                            \
    return XL_VSEL((x != x) | (y != y), (xl_v)(x + y), r);                                    \
  }                                                                                           \
  XL_INLINE xl_v xl_v_##shape##_pmin(xl_v a, xl_v b) { return XL_VSEL((FT)b < (FT)a, b, a); } \
  XL_INLINE xl_v xl_v_##shape##_pmax(xl_v a, xl_v b) { return XL_VSEL((FT)a < (FT)b, b, a); } \
  XL_INLINE xl_v xl_v_##shape##_eq(xl_v a, xl_v b) { return (xl_v)((FT)a == (FT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_ne(xl_v a, xl_v b) { return (xl_v)((FT)a != (FT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_lt(xl_v a, xl_v b) { return (xl_v)((FT)a < (FT)b); }          \
  XL_INLINE xl_v xl_v_##shape##_gt(xl_v a, xl_v b) { return (xl_v)((FT)a > (FT)b); }          \
  XL_INLINE xl_v xl_v_##shape##_le(xl_v a, xl_v b) { return (xl_v)((FT)a <= (FT)b); }         \
  XL_INLINE xl_v xl_v_##shape##_ge(xl_v a, xl_v b) { return (xl_v)((FT)a >= (FT)b); }
XL_VFLOAT(f32x4, xl_f32x4, xl_u32x4, 0x80000000u)
XL_VFLOAT(f64x2, xl_f64x2, xl_u64x2, 0x8000000000000000ull)
XL_INLINE xl_v xl_v_f32x4_convert_i32x4_s(xl_v a) {
  return (xl_v)__builtin_convertvector((xl_s32x4)a, xl_f32x4);
}
#else
#define XL_VFLOAT(shape, L, N, p)                                         \
  XL_V1(shape##_abs, L, N, xl_##p##_abs(a.L[i]))                          \
  XL_V1(shape##_neg, L, N, xl_##p##_neg(a.L[i]))                          \
  XL_V2(shape##_add, L, N, a.L[i] + b.L[i])                               \
  XL_V2(shape##_sub, L, N, a.L[i] - b.L[i])                               \
  XL_V2(shape##_mul, L, N, a.L[i] * b.L[i])                               \
  XL_V2(shape##_div, L, N, a.L[i] / b.L[i])                               \
  XL_V2(shape##_min, L, N, xl_##p##_min(a.L[i], b.L[i]))                  \
  XL_V2(shape##_max, L, N, xl_##p##_max(a.L[i], b.L[i]))                  \
  XL_V2(shape##_pmin, L, N, b.L[i] < a.L[i] ? b.L[i] : a.L[i])            \
  XL_V2(shape##_pmax, L, N, a.L[i] < b.L[i] ? b.L[i] : a.L[i])
XL_VFLOAT(f32x4, f, 4, f32)
XL_VFLOAT(f64x2, g, 2, f64)
#define XL_VFCMP(shape, L, ML, N, M)                  \
  XL_V2(shape##_eq, ML, N, a.L[i] == b.L[i] ? M : 0)  \
  XL_V2(shape##_ne, ML, N, a.L[i] != b.L[i] ? M : 0)  \
  XL_V2(shape##_lt, ML, N, a.L[i] < b.L[i] ? M : 0)   \
  XL_V2(shape##_gt, ML, N, a.L[i] > b.L[i] ? M : 0)   \
  XL_V2(shape##_le, ML, N, a.L[i] <= b.L[i] ? M : 0)  \
  XL_V2(shape##_ge, ML, N, a.L[i] >= b.L[i] ? M : 0)
XL_VFCMP(f32x4, f, w, 4, 0xffffffffu)
XL_VFCMP(f64x2, g, d, 2, ~0ull)
XL_V1(f32x4_convert_i32x4_s, f, 4, (f32)a.sw[i])
#endif
#if defined(__GNUC__)
/* Both halves of 16 bits convert exactly, hi * 2^16 is exact, and the one
 * addition rounds once: the correctly rounded value of the u32. */
XL_INLINE xl_v xl_v_f32x4_convert_i32x4_u(xl_v a) {
  xl_u32x4 u = (xl_u32x4)a;
  xl_f32x4 hi = __builtin_convertvector((xl_s32x4)(u >> 16), xl_f32x4) * 65536.0f;
  return (xl_v)(hi + __builtin_convertvector((xl_s32x4)(u & 0xffffu), xl_f32x4));
}
#else
XL_V1(f32x4_convert_i32x4_u, f, 4, xl_f32_convert_i32_u(a.w[i]))
#endif
#if defined(__GNUC__) && defined(__SSE2__)
/* cvttps2dq gives INT_MIN for NaN and for any lane out of range: NaNs are
 * made +0 first, and lanes at or above 2^31 flipped to INT_MAX after */
XL_INLINE xl_v xl_v_i32x4_trunc_sat_f32x4_s(xl_v a) {
  xl_x4sf x = (xl_x4sf)a;
  x = (xl_x4sf)((xl_x4si)x & (xl_x4si)(x == x));
  xl_x4si r; /* an asm: gcc folds cvttps2dq on constants as C's conversion (3e9 -> INT_MAX) */
  __asm__("cvttps2dq %1, %0" : "=x"(r) : "x"(x));
  return (xl_v)(r ^ (xl_x4si)(x >= (xl_x4sf){0} + 2147483648.0f));
}
#else
XL_V1(i32x4_trunc_sat_f32x4_s, w, 4, xl_i32_trunc_sat_f32_s(a.f[i]))
#endif
XL_V1(i32x4_trunc_sat_f32x4_u, w, 4, xl_i32_trunc_sat_f32_u(a.f[i]))
XL_V1(i32x4_trunc_sat_f64x2_s_zero, w, 4, i < 2 ? xl_i32_trunc_sat_f64_s(a.g[i & 1]) : 0)
XL_V1(i32x4_trunc_sat_f64x2_u_zero, w, 4, i < 2 ? xl_i32_trunc_sat_f64_u(a.g[i & 1]) : 0)
#if defined(__GNUC__) && defined(__SSE2__)
/* cvtdq2pd is exact; a u32 is its signed lane with the top bit flipped, plus
 * 2^31 (exact in f64). cvtps2pd and cvtpd2ps quiet a NaN as x + x does and
 * round as the scalar conversions; cvtpd2ps zeroes the upper lanes. */
typedef double xl_x2df __attribute__((vector_size(16)));
XL_INLINE xl_v xl_v_f64x2_convert_low_i32x4_s(xl_v a) {
  return (xl_v)__builtin_ia32_cvtdq2pd((xl_x4si)a);
}
XL_INLINE xl_v xl_v_f64x2_convert_low_i32x4_u(xl_v a) {
  xl_x4si flipped = (xl_x4si)a ^ (int)0x80000000u;
  return (xl_v)(__builtin_ia32_cvtdq2pd(flipped) + 2147483648.0);
}
XL_INLINE xl_v xl_v_f32x4_demote_f64x2_zero(xl_v a) {
  /* gcc folds float_truncate(float_extend(x)) to x: a signalling NaN through
   * promote_low then demote came out still signalling (review24). The empty
   * asm hides where the input came from. */
  xl_x2df d = (xl_x2df)a;
  __asm__("" : "+x"(d));
  return (xl_v)__builtin_ia32_cvtpd2ps(d);
}
XL_INLINE xl_v xl_v_f64x2_promote_low_f32x4(xl_v a) {
  return (xl_v)__builtin_ia32_cvtps2pd((xl_x4sf)a);
}
#else
XL_V1(f64x2_convert_low_i32x4_s, g, 2, (f64)a.sw[i])
XL_V1(f64x2_convert_low_i32x4_u, g, 2, xl_f64_convert_i32_u(a.w[i]))
XL_V1(f32x4_demote_f64x2_zero, f, 4, i < 2 ? xl_f32_demote(a.g[i & 1]) : 0.0f)
XL_V1(f64x2_promote_low_f32x4, g, 2, xl_f64_promote(a.f[i]))
#endif
