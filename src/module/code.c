/*
 * module/code.c: the instruction decoder. Every function body and every
 * constant expression is decoded in full, each opcode with its immediates,
 * for two reasons: a structural error (an opcode that does not exist, a
 * truncated immediate, a missing END) is only visible that way, and so is an
 * instruction of a feature past 2.0.
 *
 * Typing is mostly left to the translator (src/compile/xl_func.c); block
 * nesting is checked, because where the function's final END lies is part
 * of the binary's structure. The types of constant expressions, and
 * call_indirect through a table that does not hold funcref, are checked
 * here (recorded with mr_invalid).
 */
#include <stdio.h>

#include "module/module_internal.h"

/* Kinds of open blocks, kept in mr_parse.blocks while decoding. */
enum { BLK_FUNC, BLK_BLOCK, BLK_LOOP, BLK_IF, BLK_ELSE };

static bool push_block(mr_parse *p, size_t *depth, uint8_t kind) {
  if (*depth == p->blocks_cap) {
    size_t cap = p->blocks_cap ? 2 * p->blocks_cap : 64;
    if (!mr_grow(p, (void **)&p->blocks, cap, 1)) return false;
    p->blocks_cap = cap;
  }
  p->blocks[(*depth)++] = kind;
  return true;
}

static bool blocktype(mr_reader *r) {
  size_t at = r->pos;
  uint8_t b, vt;
  if (r->pos >= r->end) return mr_u8(r, &b); /* reports the end */
  b = r->buf[r->pos];
  if (b == 0x40) {
    r->pos++;
    return true;
  }
  /* One byte in 0x40..0x7f is a value type; anything else is an s33 type
   * index, which must not be negative. */
  if (b >= 0x40 && b < 0x80) return mr_valtype(r, &vt);
  int64_t idx;
  if (!mr_s33(r, &idx)) return false;
  if (idx < 0) return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed block type");
  return true;
}

static bool memarg(mr_reader *r) {
  size_t at = r->pos;
  uint32_t align, offset, mem;
  if (!mr_u32(r, &align)) return false;
  /* Bit 6 announces a memory index (multi-memory). Any other value of 32 or
   * more cannot be a power-of-two alignment of a 32-bit offset. */
  if (align < 0x80 && (align & 0x40)) {
    if (!mr_u32(r, &mem)) return false;
    return mr_unsupported(r, at, MR_MULTI_MEMORY, "memory index %u in a memory access", mem);
  }
  if (align >= 32)
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed memop flags 0x%x", align);
  return mr_u32(r, &offset);
}

/* The 0xfc prefix: saturating truncation, bulk memory, table operations. */
static bool misc_op(mr_reader *r, size_t at) {
  uint32_t sub, a, b;
  if (!mr_u32(r, &sub)) return false;
  switch (sub) {
  case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
    return true; /* iNN.trunc_sat_fMM_s/u */
  case 8:        /* memory.init */
  case 9:        /* data.drop */
    /* The data count section exists so that a one-pass reader knows the
     * number of data segments before the code: its absence is malformed. */
    if (!r->p->has_datacount)
      return mr_fail(r->p, MOTE_MODULE_MALFORMED, at,
                     "data count section required for %s",
                     sub == 8 ? "memory.init" : "data.drop");
    if (!mr_u32(r, &a)) return false;
    return sub == 9 || mr_zero_byte(r, "memory.init");
  case 10: /* memory.copy */
    return mr_zero_byte(r, "memory.copy") && mr_zero_byte(r, "memory.copy");
  case 11: /* memory.fill */
    return mr_zero_byte(r, "memory.fill");
  case 12: /* table.init */
  case 14: /* table.copy */
    return mr_u32(r, &a) && mr_u32(r, &b);
  case 13: /* elem.drop */
  case 15: /* table.grow */
  case 16: /* table.size */
  case 17: /* table.fill */
    return mr_u32(r, &a);
  }
  return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "illegal opcode 0xfc %u", sub);
}

static bool prefixed_unsupported(mr_reader *r, size_t at, uint8_t prefix, mr_feature f) {
  uint32_t sub;
  if (!mr_u32(r, &sub)) return false;
  return mr_unsupported(r, at, f, "instruction 0x%02x 0x%02x", prefix, sub);
}

/* Extended constant expressions add these to the constant instructions. */
static bool is_extended_const(uint8_t op) {
  return op == 0x6a || op == 0x6b || op == 0x6c || op == 0x7c || op == 0x7d || op == 0x7e;
}

/* Decodes instructions up to and including the END that closes the
 * expression. */
static bool decode(mr_reader *r, bool is_const) {
  mr_parse *p = r->p;
  size_t depth = 0;
  if (!push_block(p, &depth, BLK_FUNC)) return false;
  for (;;) {
    size_t at = r->pos;
    uint8_t op, b;
    uint32_t u, n;
    int32_t i32;
    int64_t i64;
    const uint8_t *bytes;
    if (!mr_u8(r, &op)) return false;
    if (is_const && is_extended_const(op))
      return mr_unsupported(r, at, MR_EXTENDED_CONST, "instruction 0x%02x", op);
    switch (op) {
    case 0x00: /* unreachable */
    case 0x01: /* nop */
    case 0x0f: /* return */
    case 0x1a: /* drop */
    case 0x1b: /* select */
    case 0xd1: /* ref.is_null */
      break;
    case 0x02: /* block */
    case 0x03: /* loop */
    case 0x04: /* if */
      if (!blocktype(r)) return false;
      if (!push_block(p, &depth, op == 0x02 ? BLK_BLOCK : op == 0x03 ? BLK_LOOP : BLK_IF))
        return false;
      break;
    case 0x05: /* else */
      if (p->blocks[depth - 1] != BLK_IF)
        return mr_fail(p, MOTE_MODULE_MALFORMED, at, "else without a matching if");
      p->blocks[depth - 1] = BLK_ELSE;
      break;
    case 0x0b: /* end */
      if (--depth == 0) return true;
      break;
    case 0x0c: /* br */
    case 0x0d: /* br_if */
    case 0x10: /* call */
    case 0x20: case 0x21: case 0x22: /* local.get/set/tee */
    case 0x23: case 0x24:             /* global.get/set */
    case 0x25: case 0x26:             /* table.get/set */
    case 0xd2:                        /* ref.func */
      if (!mr_u32(r, &u)) return false;
      break;
    case 0x0e: /* br_table: the labels, then the default */
      if (!mr_count(r, &n, 1, UINT32_MAX, "br_table labels")) return false;
      for (uint32_t k = 0; k <= n; k++)
        if (!mr_u32(r, &u)) return false;
      break;
    case 0x11: /* call_indirect type table */
      if (!mr_u32(r, &u) || !mr_u32(r, &u)) return false;
      if (u >= p->m->table_count)
        mr_invalid(p, at, "unknown table %u in call_indirect", u);
      else if (p->m->tables[u].elemtype != MOTE_FUNCREF)
        mr_invalid(p, at, "type mismatch: call_indirect through table %u of %s (it needs funcref)",
                   u, mr_type_name(p->m->tables[u].elemtype));
      break;
    case 0x1c: /* select t* */
      if (!mr_count(r, &n, 1, UINT32_MAX, "select types")) return false;
      for (uint32_t k = 0; k < n; k++)
        if (!mr_valtype(r, &b)) return false;
      break;
    case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e:
    case 0x2f: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
    case 0x36: case 0x37: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c:
    case 0x3d: case 0x3e: /* loads and stores */
      if (!memarg(r)) return false;
      break;
    case 0x3f:
      if (!mr_zero_byte(r, "memory.size")) return false;
      break;
    case 0x40:
      if (!mr_zero_byte(r, "memory.grow")) return false;
      break;
    case 0x41:
      if (!mr_s32(r, &i32)) return false;
      break;
    case 0x42:
      if (!mr_s64(r, &i64)) return false;
      break;
    case 0x43:
      if (!mr_bytes(r, 4, &bytes)) return false;
      break;
    case 0x44:
      if (!mr_bytes(r, 8, &bytes)) return false;
      break;
    case 0xd0: /* ref.null */
      if (!mr_heaptype(r, &b)) return false;
      break;
    case 0xfc:
      if (!misc_op(r, at)) return false;
      break;

    case 0x06: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x06 (try)");
    case 0x07: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x07 (catch)");
    case 0x08: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x08 (throw)");
    case 0x09: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x09 (rethrow)");
    case 0x0a: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x0a (throw_ref)");
    case 0x18: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x18 (delegate)");
    case 0x19: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x19 (catch_all)");
    case 0x1f: return mr_unsupported(r, at, MR_EXCEPTIONS, "instruction 0x1f (try_table)");
    case 0x12: return mr_unsupported(r, at, MR_TAIL_CALLS, "instruction 0x12 (return_call)");
    case 0x13:
      return mr_unsupported(r, at, MR_TAIL_CALLS, "instruction 0x13 (return_call_indirect)");
    case 0x14: return mr_unsupported(r, at, MR_FUNC_REFS, "instruction 0x14 (call_ref)");
    case 0x15:
      return mr_unsupported(r, at, MR_FUNC_REFS, "instruction 0x15 (return_call_ref)");
    case 0xd3:
      return mr_unsupported(r, at, MR_FUNC_REFS, "instruction 0xd3 (ref.as_non_null)");
    case 0xd4: return mr_unsupported(r, at, MR_FUNC_REFS, "instruction 0xd4 (br_on_null)");
    case 0xd5: return mr_unsupported(r, at, MR_GC, "instruction 0xd5 (ref.eq)");
    case 0xd6:
      return mr_unsupported(r, at, MR_FUNC_REFS, "instruction 0xd6 (br_on_non_null)");
    case 0xfb: return prefixed_unsupported(r, at, op, MR_GC);
    case 0xfd:
      if (!mr_simd_op(r, at, &u)) return false;
      break;
    case 0xfe: return prefixed_unsupported(r, at, op, MR_THREADS);

    default:
      if (op >= 0x45 && op <= 0xc4) break; /* numeric, incl. sign extension */
      return mr_fail(p, MOTE_MODULE_MALFORMED, at, "illegal opcode 0x%02x", op);
    }
  }
}

const char *mr_type_name(uint8_t type) { return mote_valtype_name(type); }

/* Types the constant expression in [start, end), already decoded (so every
 * read succeeds): a sequence of constant instructions, then END. */
static void type_const_expr(mr_reader *r, size_t start, uint8_t type, uint32_t globals,
                            mr_const *out) {
  mr_parse *p = r->p;
  const mote_module *m = p->m;
  mr_reader t = {.p = p, .buf = r->buf, .pos = start, .end = r->pos};
  uint32_t values = 0;
  uint8_t top = 0;
  mr_const c = {0};
  for (;;) {
    size_t at = t.pos;
    uint8_t op, vt = 0;
    uint32_t x = 0;
    int32_t i32;
    int64_t i64;
    const uint8_t *bytes;
    if (!mr_u8(&t, &op)) return;
    if (op == 0x0b) break;
    switch (op) {
    case 0x41: (void)mr_s32(&t, &i32); vt = MOTE_I32; break;
    case 0x42: (void)mr_s64(&t, &i64); vt = MOTE_I64; break;
    case 0x43: (void)mr_bytes(&t, 4, &bytes); vt = MOTE_F32; break;
    case 0x44: (void)mr_bytes(&t, 8, &bytes); vt = MOTE_F64; break;
    case 0xd0: (void)mr_heaptype(&t, &vt); break;
    case 0xfd: /* v128.const */
      (void)mr_u32(&t, &x);
      if (x != 12) {
        mr_invalid(p, at, "constant expression required: instruction 0xfd %u is not constant", x);
        return;
      }
      (void)mr_bytes(&t, 16, &bytes);
      x = 0;
      vt = MOTE_V128;
      break;
    case 0xd2: /* ref.func */
      (void)mr_u32(&t, &x);
      if (x >= m->func_count) {
        mr_invalid(p, at, "unknown function %u", x);
        return;
      }
      vt = MOTE_FUNCREF;
      break;
    case 0x23: /* global.get */
      (void)mr_u32(&t, &x);
      if (x >= globals) {
        mr_invalid(p, at, "unknown global %u", x);
        return;
      }
      if (m->globals[x].is_mutable) {
        mr_invalid(p, at, "constant expression required: global.get %u of a mutable global", x);
        return;
      }
      vt = m->globals[x].valtype;
      break;
    default:
      mr_invalid(p, at, "constant expression required: instruction 0x%02x is not constant", op);
      return;
    }
    if (values++ == 0) c = (mr_const){.op = op, .index = x, .at = at, .len = t.pos - at};
    top = vt;
  }
  if (values == 0)
    mr_invalid(p, start, "type mismatch: empty constant expression, expected %s",
               mr_type_name(type));
  else if (values > 1)
    mr_invalid(p, start, "type mismatch: constant expression leaves %u values, expected one %s",
               values, mr_type_name(type));
  else if (top != type)
    mr_invalid(p, start, "type mismatch: constant expression gives %s, expected %s",
               mr_type_name(top), mr_type_name(type));
  else if (out)
    *out = c;
}

bool mr_const_expr(mr_reader *r, uint8_t type, uint32_t globals, mr_const *out) {
  size_t start = r->pos;
  if (out) *out = (mr_const){0};
  if (!decode(r, true)) return false;
  type_const_expr(r, start, type, globals, out);
  return true;
}

static bool locals(mr_reader *r) {
  uint32_t n, count;
  uint64_t total = 0;
  uint8_t vt;
  size_t at = r->pos;
  /* a count and a type: 2 bytes each */
  if (!mr_count(r, &n, 2, UINT32_MAX, "local declarations")) return false;
  for (uint32_t i = 0; i < n; i++) {
    if (!mr_u32(r, &count) || !mr_valtype(r, &vt)) return false;
    total += count; /* at most 2^32 entries of 2^32: no overflow in 64 bits */
  }
  if (total > UINT32_MAX)
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "too many locals (%llu)",
                   (unsigned long long)total);
  if (total > MR_MAX_LOCALS)
    return mr_fail(r->p, MOTE_MODULE_TOO_LARGE, at, "%llu locals (the limit is %u)",
                   (unsigned long long)total, (unsigned)MR_MAX_LOCALS);
  return true;
}

bool mr_code_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  size_t at = r->pos;
  uint32_t n;
  /* a body size and at least an empty local vector and END */
  if (!mr_count(r, &n, 3, MR_MAX_FUNCS, "function bodies")) return false;
  if (n != p->defined_funcs)
    return mr_fail(p, MOTE_MODULE_MALFORMED, at,
                   "function and code section have inconsistent lengths (%u and %u)",
                   p->defined_funcs, n);
  p->seen_code = true;
  for (uint32_t i = 0; i < n; i++) {
    char label[96];
    uint32_t size;
    if (!p->known_bodies) { /* known: only the sizes, which were read before */
      mr_func_label(m, m->func_import_count + i, label, sizeof label);
      mr_where(p, "%s", label);
    }
    at = r->pos;
    if (!mr_u32(r, &size)) return false;
    if (size > MR_MAX_BODY_SIZE)
      return mr_fail(p, MOTE_MODULE_TOO_LARGE, at, "body of %u bytes (the limit is %u)", size,
                     (unsigned)MR_MAX_BODY_SIZE);
    if (size > mr_remaining(r))
      return mr_fail(p, MOTE_MODULE_MALFORMED, at,
                     "unexpected end of section or function: body of %u bytes, %zu left",
                     size, mr_remaining(r));
    mr_reader body = {.p = p, .buf = r->buf, .pos = r->pos, .end = r->pos + size};
    if (p->known_bodies) {
      r->pos = body.end;
      continue;
    }
    if (!locals(&body)) return false;
    if (!decode(&body, false)) {
      if (body.pos == body.end && p->err.status == MOTE_MODULE_MALFORMED &&
          p->err.offset == body.end)
        /* ran out of bytes inside the body: say what is missing */
        snprintf(p->err.message, sizeof p->err.message,
                 "malformed module: END opcode expected at the end of %s at offset 0x%zx",
                 label, body.end);
      return false;
    }
    if (body.pos != body.end)
      return mr_fail(p, MOTE_MODULE_MALFORMED, body.pos,
                     "section size mismatch: %zu bytes after the final END",
                     body.end - body.pos);
    r->pos = body.end;
  }
  return true;
}
