/*
 * The SIMD instructions (prefix 0xfd): a table of what each takes and gives,
 * validation of their immediates, and the C, which calls one helper of
 * xl_prelude.h per instruction (xl_v_<name>, the name with '.' as '_').
 */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "xl_simd.h"

#define I MOTE_I32
#define J MOTE_I64
#define F MOTE_F32
#define D MOTE_F64
#define V MOTE_V128

enum {
  PLAIN,      /* operands in, result out */
  LOAD,       /* memarg; address in, v128 out; imm: natural alignment (log2) */
  STORE,      /* memarg; address and v128 in */
  LOAD_LANE,  /* memarg, lane; address and v128 in, v128 out; imm: alignment */
  STORE_LANE, /* memarg, lane; address and v128 in */
  CONST,      /* 16 bytes */
  SHUFFLE,    /* 16 lane indices */
  EXTRACT,    /* lane; v128 in; imm: lane count */
  REPLACE,    /* lane; v128 and a scalar in; imm: lane count */
};

typedef struct simd_op {
  const char *name; /* NULL: no such instruction */
  uint8_t kind;
  uint8_t imm;
  uint8_t in[3];
  uint8_t out;
} simd_op;

#define P1(n, a, o) {n, PLAIN, 0, {a, 0, 0}, o}
#define P2(n, a, b, o) {n, PLAIN, 0, {a, b, 0}, o}
#define VV(n) P1(n, V, V)
#define VVV(n) P2(n, V, V, V)

static const simd_op ops[256] = {
    [0] = {"v128_load", LOAD, 4, {I}, V},
    [1] = {"v128_load8x8_s", LOAD, 3, {I}, V},
    [2] = {"v128_load8x8_u", LOAD, 3, {I}, V},
    [3] = {"v128_load16x4_s", LOAD, 3, {I}, V},
    [4] = {"v128_load16x4_u", LOAD, 3, {I}, V},
    [5] = {"v128_load32x2_s", LOAD, 3, {I}, V},
    [6] = {"v128_load32x2_u", LOAD, 3, {I}, V},
    [7] = {"v128_load8_splat", LOAD, 0, {I}, V},
    [8] = {"v128_load16_splat", LOAD, 1, {I}, V},
    [9] = {"v128_load32_splat", LOAD, 2, {I}, V},
    [10] = {"v128_load64_splat", LOAD, 3, {I}, V},
    [11] = {"v128_store", STORE, 4, {I, V}, 0},
    [12] = {"v128_const", CONST, 0, {0}, V},
    [13] = {"i8x16_shuffle", SHUFFLE, 0, {V, V}, V},
    [14] = VVV("i8x16_swizzle"),
    [15] = P1("i8x16_splat", I, V),
    [16] = P1("i16x8_splat", I, V),
    [17] = P1("i32x4_splat", I, V),
    [18] = P1("i64x2_splat", J, V),
    [19] = P1("f32x4_splat", F, V),
    [20] = P1("f64x2_splat", D, V),
    [21] = {"i8x16_extract_lane_s", EXTRACT, 16, {V}, I},
    [22] = {"i8x16_extract_lane_u", EXTRACT, 16, {V}, I},
    [23] = {"i8x16_replace_lane", REPLACE, 16, {V, I}, V},
    [24] = {"i16x8_extract_lane_s", EXTRACT, 8, {V}, I},
    [25] = {"i16x8_extract_lane_u", EXTRACT, 8, {V}, I},
    [26] = {"i16x8_replace_lane", REPLACE, 8, {V, I}, V},
    [27] = {"i32x4_extract_lane", EXTRACT, 4, {V}, I},
    [28] = {"i32x4_replace_lane", REPLACE, 4, {V, I}, V},
    [29] = {"i64x2_extract_lane", EXTRACT, 2, {V}, J},
    [30] = {"i64x2_replace_lane", REPLACE, 2, {V, J}, V},
    [31] = {"f32x4_extract_lane", EXTRACT, 4, {V}, F},
    [32] = {"f32x4_replace_lane", REPLACE, 4, {V, F}, V},
    [33] = {"f64x2_extract_lane", EXTRACT, 2, {V}, D},
    [34] = {"f64x2_replace_lane", REPLACE, 2, {V, D}, V},
    [35] = VVV("i8x16_eq"), [36] = VVV("i8x16_ne"), [37] = VVV("i8x16_lt_s"),
    [38] = VVV("i8x16_lt_u"), [39] = VVV("i8x16_gt_s"), [40] = VVV("i8x16_gt_u"),
    [41] = VVV("i8x16_le_s"), [42] = VVV("i8x16_le_u"), [43] = VVV("i8x16_ge_s"),
    [44] = VVV("i8x16_ge_u"),
    [45] = VVV("i16x8_eq"), [46] = VVV("i16x8_ne"), [47] = VVV("i16x8_lt_s"),
    [48] = VVV("i16x8_lt_u"), [49] = VVV("i16x8_gt_s"), [50] = VVV("i16x8_gt_u"),
    [51] = VVV("i16x8_le_s"), [52] = VVV("i16x8_le_u"), [53] = VVV("i16x8_ge_s"),
    [54] = VVV("i16x8_ge_u"),
    [55] = VVV("i32x4_eq"), [56] = VVV("i32x4_ne"), [57] = VVV("i32x4_lt_s"),
    [58] = VVV("i32x4_lt_u"), [59] = VVV("i32x4_gt_s"), [60] = VVV("i32x4_gt_u"),
    [61] = VVV("i32x4_le_s"), [62] = VVV("i32x4_le_u"), [63] = VVV("i32x4_ge_s"),
    [64] = VVV("i32x4_ge_u"),
    [65] = VVV("f32x4_eq"), [66] = VVV("f32x4_ne"), [67] = VVV("f32x4_lt"),
    [68] = VVV("f32x4_gt"), [69] = VVV("f32x4_le"), [70] = VVV("f32x4_ge"),
    [71] = VVV("f64x2_eq"), [72] = VVV("f64x2_ne"), [73] = VVV("f64x2_lt"),
    [74] = VVV("f64x2_gt"), [75] = VVV("f64x2_le"), [76] = VVV("f64x2_ge"),
    [77] = VV("v128_not"), [78] = VVV("v128_and"), [79] = VVV("v128_andnot"),
    [80] = VVV("v128_or"), [81] = VVV("v128_xor"),
    [82] = {"v128_bitselect", PLAIN, 0, {V, V, V}, V},
    [83] = P1("v128_any_true", V, I),
    [84] = {"v128_load8_lane", LOAD_LANE, 0, {I, V}, V},
    [85] = {"v128_load16_lane", LOAD_LANE, 1, {I, V}, V},
    [86] = {"v128_load32_lane", LOAD_LANE, 2, {I, V}, V},
    [87] = {"v128_load64_lane", LOAD_LANE, 3, {I, V}, V},
    [88] = {"v128_store8_lane", STORE_LANE, 0, {I, V}, 0},
    [89] = {"v128_store16_lane", STORE_LANE, 1, {I, V}, 0},
    [90] = {"v128_store32_lane", STORE_LANE, 2, {I, V}, 0},
    [91] = {"v128_store64_lane", STORE_LANE, 3, {I, V}, 0},
    [92] = {"v128_load32_zero", LOAD, 2, {I}, V},
    [93] = {"v128_load64_zero", LOAD, 3, {I}, V},
    [94] = VV("f32x4_demote_f64x2_zero"), [95] = VV("f64x2_promote_low_f32x4"),
    [96] = VV("i8x16_abs"), [97] = VV("i8x16_neg"), [98] = VV("i8x16_popcnt"),
    [99] = P1("i8x16_all_true", V, I), [100] = P1("i8x16_bitmask", V, I),
    [101] = VVV("i8x16_narrow_i16x8_s"), [102] = VVV("i8x16_narrow_i16x8_u"),
    [103] = VV("f32x4_ceil"), [104] = VV("f32x4_floor"), [105] = VV("f32x4_trunc"),
    [106] = VV("f32x4_nearest"),
    [107] = P2("i8x16_shl", V, I, V), [108] = P2("i8x16_shr_s", V, I, V),
    [109] = P2("i8x16_shr_u", V, I, V),
    [110] = VVV("i8x16_add"), [111] = VVV("i8x16_add_sat_s"), [112] = VVV("i8x16_add_sat_u"),
    [113] = VVV("i8x16_sub"), [114] = VVV("i8x16_sub_sat_s"), [115] = VVV("i8x16_sub_sat_u"),
    [116] = VV("f64x2_ceil"), [117] = VV("f64x2_floor"),
    [118] = VVV("i8x16_min_s"), [119] = VVV("i8x16_min_u"), [120] = VVV("i8x16_max_s"),
    [121] = VVV("i8x16_max_u"),
    [122] = VV("f64x2_trunc"),
    [123] = VVV("i8x16_avgr_u"),
    [124] = VV("i16x8_extadd_pairwise_i8x16_s"), [125] = VV("i16x8_extadd_pairwise_i8x16_u"),
    [126] = VV("i32x4_extadd_pairwise_i16x8_s"), [127] = VV("i32x4_extadd_pairwise_i16x8_u"),
    [128] = VV("i16x8_abs"), [129] = VV("i16x8_neg"), [130] = VVV("i16x8_q15mulr_sat_s"),
    [131] = P1("i16x8_all_true", V, I), [132] = P1("i16x8_bitmask", V, I),
    [133] = VVV("i16x8_narrow_i32x4_s"), [134] = VVV("i16x8_narrow_i32x4_u"),
    [135] = VV("i16x8_extend_low_i8x16_s"), [136] = VV("i16x8_extend_high_i8x16_s"),
    [137] = VV("i16x8_extend_low_i8x16_u"), [138] = VV("i16x8_extend_high_i8x16_u"),
    [139] = P2("i16x8_shl", V, I, V), [140] = P2("i16x8_shr_s", V, I, V),
    [141] = P2("i16x8_shr_u", V, I, V),
    [142] = VVV("i16x8_add"), [143] = VVV("i16x8_add_sat_s"), [144] = VVV("i16x8_add_sat_u"),
    [145] = VVV("i16x8_sub"), [146] = VVV("i16x8_sub_sat_s"), [147] = VVV("i16x8_sub_sat_u"),
    [148] = VV("f64x2_nearest"),
    [149] = VVV("i16x8_mul"), [150] = VVV("i16x8_min_s"), [151] = VVV("i16x8_min_u"),
    [152] = VVV("i16x8_max_s"), [153] = VVV("i16x8_max_u"),
    [155] = VVV("i16x8_avgr_u"),
    [156] = VVV("i16x8_extmul_low_i8x16_s"), [157] = VVV("i16x8_extmul_high_i8x16_s"),
    [158] = VVV("i16x8_extmul_low_i8x16_u"), [159] = VVV("i16x8_extmul_high_i8x16_u"),
    [160] = VV("i32x4_abs"), [161] = VV("i32x4_neg"),
    [163] = P1("i32x4_all_true", V, I), [164] = P1("i32x4_bitmask", V, I),
    [167] = VV("i32x4_extend_low_i16x8_s"), [168] = VV("i32x4_extend_high_i16x8_s"),
    [169] = VV("i32x4_extend_low_i16x8_u"), [170] = VV("i32x4_extend_high_i16x8_u"),
    [171] = P2("i32x4_shl", V, I, V), [172] = P2("i32x4_shr_s", V, I, V),
    [173] = P2("i32x4_shr_u", V, I, V),
    [174] = VVV("i32x4_add"), [177] = VVV("i32x4_sub"), [181] = VVV("i32x4_mul"),
    [182] = VVV("i32x4_min_s"), [183] = VVV("i32x4_min_u"), [184] = VVV("i32x4_max_s"),
    [185] = VVV("i32x4_max_u"), [186] = VVV("i32x4_dot_i16x8_s"),
    [188] = VVV("i32x4_extmul_low_i16x8_s"), [189] = VVV("i32x4_extmul_high_i16x8_s"),
    [190] = VVV("i32x4_extmul_low_i16x8_u"), [191] = VVV("i32x4_extmul_high_i16x8_u"),
    [192] = VV("i64x2_abs"), [193] = VV("i64x2_neg"),
    [195] = P1("i64x2_all_true", V, I), [196] = P1("i64x2_bitmask", V, I),
    [199] = VV("i64x2_extend_low_i32x4_s"), [200] = VV("i64x2_extend_high_i32x4_s"),
    [201] = VV("i64x2_extend_low_i32x4_u"), [202] = VV("i64x2_extend_high_i32x4_u"),
    [203] = P2("i64x2_shl", V, I, V), [204] = P2("i64x2_shr_s", V, I, V),
    [205] = P2("i64x2_shr_u", V, I, V),
    [206] = VVV("i64x2_add"), [209] = VVV("i64x2_sub"), [213] = VVV("i64x2_mul"),
    [214] = VVV("i64x2_eq"), [215] = VVV("i64x2_ne"), [216] = VVV("i64x2_lt_s"),
    [217] = VVV("i64x2_gt_s"), [218] = VVV("i64x2_le_s"), [219] = VVV("i64x2_ge_s"),
    [220] = VVV("i64x2_extmul_low_i32x4_s"), [221] = VVV("i64x2_extmul_high_i32x4_s"),
    [222] = VVV("i64x2_extmul_low_i32x4_u"), [223] = VVV("i64x2_extmul_high_i32x4_u"),
    [224] = VV("f32x4_abs"), [225] = VV("f32x4_neg"), [227] = VV("f32x4_sqrt"),
    [228] = VVV("f32x4_add"), [229] = VVV("f32x4_sub"), [230] = VVV("f32x4_mul"),
    [231] = VVV("f32x4_div"), [232] = VVV("f32x4_min"), [233] = VVV("f32x4_max"),
    [234] = VVV("f32x4_pmin"), [235] = VVV("f32x4_pmax"),
    [236] = VV("f64x2_abs"), [237] = VV("f64x2_neg"), [239] = VV("f64x2_sqrt"),
    [240] = VVV("f64x2_add"), [241] = VVV("f64x2_sub"), [242] = VVV("f64x2_mul"),
    [243] = VVV("f64x2_div"), [244] = VVV("f64x2_min"), [245] = VVV("f64x2_max"),
    [246] = VVV("f64x2_pmin"), [247] = VVV("f64x2_pmax"),
    [248] = VV("i32x4_trunc_sat_f32x4_s"), [249] = VV("i32x4_trunc_sat_f32x4_u"),
    [250] = VV("f32x4_convert_i32x4_s"), [251] = VV("f32x4_convert_i32x4_u"),
    [252] = VV("i32x4_trunc_sat_f64x2_s_zero"), [253] = VV("i32x4_trunc_sat_f64x2_u_zero"),
    [254] = VV("f64x2_convert_low_i32x4_s"), [255] = VV("f64x2_convert_low_i32x4_u"),
};

static const char *slot(xl_simd_effect *eff, uint8_t t, uint32_t d) {
  return xl_slot(eff->slots, t, d);
}

__attribute__((format(printf, 4, 5))) static bool fail(xl_error *err, uint32_t func, size_t at,
                                                       const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  snprintf(err->message, sizeof err->message, "%s in function %u at offset 0x%zx", what, func,
           at);
  err->failed = true;
  return false;
}

static void write_bytes(FILE *o, const uint8_t *b) {
  fputc_unlocked('"', o);
  xl_put_octal_escapes(o, b, 16, 0);
  fputc_unlocked('"', o);
}

bool xl_simd(const xl_simd_io *io, const mote_module *m, xl_simd_effect *eff, xl_error *err,
             uint32_t func, size_t at) {
  memset(eff, 0, sizeof *eff);
  uint32_t code = xl_u32(io->c);
  const simd_op *op = code < 256 ? &ops[code] : NULL;
  if (!op || !op->name) return fail(err, func, at, "illegal opcode 0xfd %u", code);
  uint32_t align = 0, offset = 0, lane = 0;
  uint8_t bytes[16];
  if (op->kind == LOAD || op->kind == STORE || op->kind == LOAD_LANE || op->kind == STORE_LANE) {
    align = xl_u32(io->c);
    offset = xl_u32(io->c);
    if (mote_module_memory_count(m) == 0) return fail(err, func, at, "unknown memory 0");
    if (align > op->imm) return fail(err, func, at, "alignment must not be larger than natural");
  }
  if (op->kind == LOAD_LANE || op->kind == STORE_LANE) {
    lane = xl_u8(io->c);
    if (lane >= 16u >> op->imm) return fail(err, func, at, "invalid lane index %u", lane);
  }
  if (op->kind == EXTRACT || op->kind == REPLACE) {
    lane = xl_u8(io->c);
    if (lane >= op->imm) return fail(err, func, at, "invalid lane index %u", lane);
  }
  if (op->kind == CONST || op->kind == SHUFFLE) {
    for (int i = 0; i < 16; i++) bytes[i] = xl_u8(io->c);
    if (op->kind == SHUFFLE)
      for (int i = 0; i < 16; i++)
        if (bytes[i] >= 32) return fail(err, func, at, "invalid lane index %u", bytes[i]);
  }
  if (io->c->bad) return fail(err, func, at, "unexpected end of function");

  for (int i = 0; i < 3 && op->in[i]; i++) eff->pop[eff->npop++] = op->in[i];
  if (op->out) eff->push[eff->npush++] = op->out;
  if (!io->live) return true;

  /* operands sit at h-npop .. h-1; the result goes to h-npop */
  uint32_t base = io->h - eff->npop;
  FILE *o = io->out;
  const uint8_t *in = op->in;
  switch (op->kind) {
    case PLAIN:
      xl_printf(o, "%s = xl_v_%s(", slot(eff, op->out, base), op->name);
      for (uint32_t i = 0; i < eff->npop; i++)
        xl_printf(o, "%s%s", i ? ", " : "", slot(eff, in[i], base + i));
      fputs_unlocked(");\n", o);
      break;
    case LOAD:
      xl_printf(o, "%s = xl_v_%s(M0 + (u64)%s + %uu);\n", slot(eff, V, base), op->name,
              slot(eff, I, base), offset);
      break;
    case STORE:
      xl_printf(o, "xl_v_%s(M0 + (u64)%s + %uu, %s);\n", op->name, slot(eff, I, base), offset,
              slot(eff, V, base + 1));
      break;
    case LOAD_LANE:
      xl_printf(o, "%s = xl_v_%s(M0 + (u64)%s + %uu, %s, %u);\n", slot(eff, V, base), op->name,
              slot(eff, I, base), offset, slot(eff, V, base + 1), lane);
      break;
    case STORE_LANE:
      xl_printf(o, "xl_v_%s(M0 + (u64)%s + %uu, %s, %u);\n", op->name, slot(eff, I, base), offset,
              slot(eff, V, base + 1), lane);
      break;
    case CONST:
      xl_printf(o, "%s = xl_vconst(", slot(eff, V, base));
      write_bytes(o, bytes);
      fputs_unlocked(");\n", o);
      break;
    case SHUFFLE: /* the lanes as constants of a vector (for gcc) or an array */
      xl_printf(o, "%s = XL_SHUFFLE(%s, %s", slot(eff, V, base), slot(eff, V, base),
                slot(eff, V, base + 1));
      for (int i = 0; i < 16; i++) xl_printf(o, ", %u", bytes[i]);
      fputs_unlocked(");\n", o);
      break;
    case EXTRACT:
      xl_printf(o, "%s = xl_v_%s(%s, %u);\n", slot(eff, op->out, base), op->name,
              slot(eff, V, base), lane);
      break;
    case REPLACE:
      xl_printf(o, "%s = xl_v_%s(%s, %u, %s);\n", slot(eff, V, base), op->name, slot(eff, V, base),
              lane, slot(eff, in[1], base + 1));
      break;
  }
  return true;
}
