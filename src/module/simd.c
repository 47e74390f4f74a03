/*
 * module/simd.c: the immediates of the SIMD instructions (prefix 0xfd) of
 * Wasm 2.0, for the decoder (code.c). Which sub-opcodes exist and what
 * follows each; typing is the translator's. The relaxed SIMD proposal (past
 * 2.0, sub-opcodes 0x100..0x113) is refused as unsupported.
 */
#include "module/module_internal.h"

/* Sub-opcodes the 2.0 SIMD set leaves unassigned between 0 and 255. */
static bool reserved(uint32_t op) {
  switch (op) {
    case 154: case 162: case 165: case 166: case 175: case 176: case 178: case 179:
    case 180: case 187: case 194: case 197: case 198: case 207: case 208: case 210:
    case 211: case 212: case 226: case 238:
      return true;
  }
  return false;
}

static bool memarg(mr_reader *r) {
  size_t at = r->pos;
  uint32_t align, offset;
  if (!mr_u32(r, &align)) return false;
  if (align < 0x80 && (align & 0x40))
    return mr_unsupported(r, at, MR_MULTI_MEMORY, "memory index in a SIMD memory access");
  if (align >= 32)
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed memop flags 0x%x", align);
  return mr_u32(r, &offset);
}

bool mr_simd_op(mr_reader *r, size_t at, uint32_t *sub) {
  uint8_t b;
  const uint8_t *bytes;
  if (!mr_u32(r, sub)) return false;
  uint32_t op = *sub;
  if (op >= 0x100 && op <= 0x113)
    return mr_unsupported(r, at, MR_RELAXED_SIMD, "instruction 0xfd %u", op);
  if (op > 255 || reserved(op))
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "illegal opcode 0xfd %u", op);
  if (op <= 11 || op == 92 || op == 93) return memarg(r);           /* loads, stores */
  if (op >= 84 && op <= 91) return memarg(r) && mr_u8(r, &b);       /* lane loads/stores */
  if (op == 12 || op == 13) return mr_bytes(r, 16, &bytes);         /* const, shuffle */
  if (op >= 21 && op <= 34) return mr_u8(r, &b);                    /* lane access */
  return true;
}
