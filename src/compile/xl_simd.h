/* Private to src/compile: the SIMD (0xfd) instructions of the translator. */
#ifndef MOTE_XL_SIMD_H
#define MOTE_XL_SIMD_H

#include "xl.h"

/* Where the instruction is read from and written to. `h` is the operand
 * stack height before it; the instruction's operands are the top values. */
typedef struct xl_simd_io {
  FILE *out;
  xl_cur *c; /* after the 0xfd prefix */
  uint32_t h;
  bool live; /* write C (false in unreachable code) */
} xl_simd_io;

/* What the instruction does to the operand stack, for the validator. */
typedef struct xl_simd_effect {
  uint8_t npop, npush;
  uint8_t pop[3], push[1];
  uint32_t slots[8]; /* 1 + the deepest slot written, per type (xl_func.c's order) */
} xl_simd_effect;

/* Decodes one SIMD instruction, fills `eff` and writes its C. false with
 * `err` set when it is invalid. */
bool xl_simd(const xl_simd_io *io, const mote_module *m, xl_simd_effect *eff, xl_error *err,
             uint32_t func, size_t at);

#endif
