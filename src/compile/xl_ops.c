/*
 * The plain numeric instructions: operand and result types, and the C that
 * computes them. A template is either a helper name (called with the
 * operands) or, when it contains '$', an expression in which $0 and $1 are
 * the operands. Every integer is unsigned in the generated C (u32, u64):
 * wraparound is defined, and signed views are explicit casts.
 */
#include <stdbool.h>
#include <stddef.h>

#include "xl.h"

#define I MOTE_I32
#define J MOTE_I64
#define F MOTE_F32
#define D MOTE_F64

static const xl_op numeric[] = {
    /* 0x45 */ {"(u32)($0 == 0)", {I, 0}, I},
    {"(u32)($0 == $1)", {I, I}, I},
    {"(u32)($0 != $1)", {I, I}, I},
    {"(u32)((s32)$0 < (s32)$1)", {I, I}, I},
    {"(u32)($0 < $1)", {I, I}, I},
    {"(u32)((s32)$0 > (s32)$1)", {I, I}, I},
    {"(u32)($0 > $1)", {I, I}, I},
    {"(u32)((s32)$0 <= (s32)$1)", {I, I}, I},
    {"(u32)($0 <= $1)", {I, I}, I},
    {"(u32)((s32)$0 >= (s32)$1)", {I, I}, I},
    {"(u32)($0 >= $1)", {I, I}, I},
    /* 0x50 */ {"(u32)($0 == 0)", {J, 0}, I},
    {"(u32)($0 == $1)", {J, J}, I},
    {"(u32)($0 != $1)", {J, J}, I},
    {"(u32)((s64)$0 < (s64)$1)", {J, J}, I},
    {"(u32)($0 < $1)", {J, J}, I},
    {"(u32)((s64)$0 > (s64)$1)", {J, J}, I},
    {"(u32)($0 > $1)", {J, J}, I},
    {"(u32)((s64)$0 <= (s64)$1)", {J, J}, I},
    {"(u32)($0 <= $1)", {J, J}, I},
    {"(u32)((s64)$0 >= (s64)$1)", {J, J}, I},
    {"(u32)($0 >= $1)", {J, J}, I},
    /* 0x5b */ {"(u32)($0 == $1)", {F, F}, I},
    {"(u32)($0 != $1)", {F, F}, I},
    {"(u32)($0 < $1)", {F, F}, I},
    {"(u32)($0 > $1)", {F, F}, I},
    {"(u32)($0 <= $1)", {F, F}, I},
    {"(u32)($0 >= $1)", {F, F}, I},
    /* 0x61 */ {"(u32)($0 == $1)", {D, D}, I},
    {"(u32)($0 != $1)", {D, D}, I},
    {"(u32)($0 < $1)", {D, D}, I},
    {"(u32)($0 > $1)", {D, D}, I},
    {"(u32)($0 <= $1)", {D, D}, I},
    {"(u32)($0 >= $1)", {D, D}, I},
    /* 0x67 */ {"xl_clz32", {I, 0}, I},
    {"xl_ctz32", {I, 0}, I},
    {"xl_popcnt32", {I, 0}, I},
    {"$0 + $1", {I, I}, I},
    {"$0 - $1", {I, I}, I},
    {"$0 * $1", {I, I}, I},
    {"xl_i32_div_s", {I, I}, I},
    {"xl_i32_div_u", {I, I}, I},
    {"xl_i32_rem_s", {I, I}, I},
    {"xl_i32_rem_u", {I, I}, I},
    {"$0 & $1", {I, I}, I},
    {"$0 | $1", {I, I}, I},
    {"$0 ^ $1", {I, I}, I},
    {"$0 << ($1 & 31)", {I, I}, I},
    {"xl_shr_s32", {I, I}, I},
    {"$0 >> ($1 & 31)", {I, I}, I},
    {"xl_rotl32", {I, I}, I},
    {"xl_rotr32", {I, I}, I},
    /* 0x79 */ {"xl_clz64", {J, 0}, J},
    {"xl_ctz64", {J, 0}, J},
    {"xl_popcnt64", {J, 0}, J},
    {"$0 + $1", {J, J}, J},
    {"$0 - $1", {J, J}, J},
    {"$0 * $1", {J, J}, J},
    {"xl_i64_div_s", {J, J}, J},
    {"xl_i64_div_u", {J, J}, J},
    {"xl_i64_rem_s", {J, J}, J},
    {"xl_i64_rem_u", {J, J}, J},
    {"$0 & $1", {J, J}, J},
    {"$0 | $1", {J, J}, J},
    {"$0 ^ $1", {J, J}, J},
    {"$0 << ($1 & 63)", {J, J}, J},
    {"xl_shr_s64", {J, J}, J},
    {"$0 >> ($1 & 63)", {J, J}, J},
    {"xl_rotl64", {J, J}, J},
    {"xl_rotr64", {J, J}, J},
    /* 0x8b */ {"xl_f32_abs", {F, 0}, F},
    {"xl_f32_neg", {F, 0}, F},
    {"xl_f32_ceil", {F, 0}, F},
    {"xl_f32_floor", {F, 0}, F},
    {"xl_f32_trunc", {F, 0}, F},
    {"xl_f32_nearest", {F, 0}, F},
    {"xl_f32_sqrt", {F, 0}, F},
    {"$0 + $1", {F, F}, F},
    {"$0 - $1", {F, F}, F},
    {"$0 * $1", {F, F}, F},
    {"$0 / $1", {F, F}, F},
    {"xl_f32_min", {F, F}, F},
    {"xl_f32_max", {F, F}, F},
    {"xl_f32_copysign", {F, F}, F},
    /* 0x99 */ {"xl_f64_abs", {D, 0}, D},
    {"xl_f64_neg", {D, 0}, D},
    {"xl_f64_ceil", {D, 0}, D},
    {"xl_f64_floor", {D, 0}, D},
    {"xl_f64_trunc", {D, 0}, D},
    {"xl_f64_nearest", {D, 0}, D},
    {"xl_f64_sqrt", {D, 0}, D},
    {"$0 + $1", {D, D}, D},
    {"$0 - $1", {D, D}, D},
    {"$0 * $1", {D, D}, D},
    {"$0 / $1", {D, D}, D},
    {"xl_f64_min", {D, D}, D},
    {"xl_f64_max", {D, D}, D},
    {"xl_f64_copysign", {D, D}, D},
    /* 0xa7 */ {"(u32)$0", {J, 0}, I},
    {"xl_i32_trunc_f32_s", {F, 0}, I},
    {"xl_i32_trunc_f32_u", {F, 0}, I},
    {"xl_i32_trunc_f64_s", {D, 0}, I},
    {"xl_i32_trunc_f64_u", {D, 0}, I},
    {"(u64)(s64)(s32)$0", {I, 0}, J},
    {"(u64)$0", {I, 0}, J},
    {"xl_i64_trunc_f32_s", {F, 0}, J},
    {"xl_i64_trunc_f32_u", {F, 0}, J},
    {"xl_i64_trunc_f64_s", {D, 0}, J},
    {"xl_i64_trunc_f64_u", {D, 0}, J},
    /* 0xb2 */ {"(f32)(s32)$0", {I, 0}, F},
    {"xl_f32_convert_i32_u", {I, 0}, F},
    {"xl_f32_convert_i64_s", {J, 0}, F},
    {"xl_f32_convert_i64_u", {J, 0}, F},
    {"xl_f32_demote", {D, 0}, F},
    /* 0xb7 */ {"(f64)(s32)$0", {I, 0}, D},
    {"xl_f64_convert_i32_u", {I, 0}, D},
    {"(f64)(s64)$0", {J, 0}, D},
    {"xl_f64_convert_i64_u", {J, 0}, D},
    {"xl_f64_promote", {F, 0}, D},
    /* 0xbc */ {"xl_f32_bits", {F, 0}, I},
    {"xl_f64_bits", {D, 0}, J},
    {"xl_f32_of", {I, 0}, F},
    {"xl_f64_of", {J, 0}, D},
    /* 0xc0 */ {"(u32)(s32)(s8)$0", {I, 0}, I},
    {"(u32)(s32)(s16)$0", {I, 0}, I},
    {"(u64)(s64)(s8)$0", {J, 0}, J},
    {"(u64)(s64)(s16)$0", {J, 0}, J},
    {"(u64)(s64)(s32)$0", {J, 0}, J},
};

static const xl_op saturating[] = {
    {"xl_i32_trunc_sat_f32_s", {F, 0}, I}, {"xl_i32_trunc_sat_f32_u", {F, 0}, I},
    {"xl_i32_trunc_sat_f64_s", {D, 0}, I}, {"xl_i32_trunc_sat_f64_u", {D, 0}, I},
    {"xl_i64_trunc_sat_f32_s", {F, 0}, J}, {"xl_i64_trunc_sat_f32_u", {F, 0}, J},
    {"xl_i64_trunc_sat_f64_s", {D, 0}, J}, {"xl_i64_trunc_sat_f64_u", {D, 0}, J},
};

_Static_assert(sizeof numeric / sizeof numeric[0] == 0xc4 - 0x45 + 1, "one entry per opcode");

int xl_rt_type(uint8_t t) {
  switch (t) {
    case MOTE_I32: return 0;
    case MOTE_I64: return 1;
    case MOTE_F32: return 2;
    case MOTE_F64: return 3;
    case MOTE_FUNCREF: return 4;
    case MOTE_EXTERNREF: return 5;
    default: return 6;
  }
}

const xl_op *xl_numeric_op(uint32_t prefix, uint32_t code) {
  if (prefix == 0 && code >= 0x45 && code <= 0xc4) return &numeric[code - 0x45];
  if (prefix == 0xfc && code <= 7) return &saturating[code];
  return NULL;
}

bool xl_numeric_traps(uint32_t code) {
  return (code >= 0x6d && code <= 0x70) ||  /* i32.div_s .. i32.rem_u */
         (code >= 0x7f && code <= 0x82) ||  /* i64.div_s .. i64.rem_u */
         (code >= 0xa8 && code <= 0xab) ||  /* i32.trunc_f32_s .. i32.trunc_f64_u */
         (code >= 0xae && code <= 0xb1);    /* i64.trunc_f32_s .. i64.trunc_f64_u */
}
