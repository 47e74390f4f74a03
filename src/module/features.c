/*
 * module/features.c: the features past Wasm 2.0, which mote does not run,
 * and the type encodings where most of them first show up. A module that
 * uses one is refused here, before the translator sees it, with a message
 * that names the feature.
 */
#include <stdio.h>

#include "module/module_internal.h"

/* All feature names, in one place. */
static const char *const feature_names[] = {
    [MR_RELAXED_SIMD] = "relaxed SIMD",
    [MR_THREADS] = "threads (shared memory, atomics)",
    [MR_EXCEPTIONS] = "exception handling",
    [MR_TAIL_CALLS] = "tail calls",
    [MR_MEMORY64] = "memory64",
    [MR_MULTI_MEMORY] = "multi-memory",
    [MR_GC] = "GC (garbage-collected types)",
    [MR_FUNC_REFS] = "typed function references",
    [MR_EXTENDED_CONST] = "extended constant expressions",
};

bool mr_unsupported(mr_reader *r, size_t offset, mr_feature f, const char *fmt, ...) {
  char what[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return mr_fail(r->p, MOTE_MODULE_UNSUPPORTED, offset, "%s: %s", feature_names[f], what);
}

/* Shorthand reference types of the GC and exception proposals (0x69 exnref
 * ... 0x74 nullexnref) and the general forms (ref null ht) 0x63, (ref ht)
 * 0x64. Anything that is not 2.0 and not one of these is malformed. */
static bool post20_reftype(mr_reader *r, size_t at, uint8_t b) {
  if (b == 0x69 || b == 0x74)
    return mr_unsupported(r, at, MR_EXCEPTIONS, "reference type 0x%02x (exnref)", b);
  if (b == 0x63 || b == 0x64)
    return mr_unsupported(r, at, MR_FUNC_REFS, "reference type 0x%02x (typed reference)", b);
  return mr_unsupported(r, at, MR_GC, "reference type 0x%02x", b);
}

static bool is_post20_reftype(uint8_t b) {
  return b == 0x63 || b == 0x64 || (b >= 0x69 && b <= 0x74 && b != 0x70 && b != 0x6f);
}

bool mr_valtype(mr_reader *r, uint8_t *out) {
  size_t at = r->pos;
  uint8_t b;
  if (!mr_u8(r, &b)) return false;
  switch (b) {
  case MOTE_I32:
  case MOTE_I64:
  case MOTE_F32:
  case MOTE_F64:
  case MOTE_V128:
  case MOTE_FUNCREF:
  case MOTE_EXTERNREF:
    *out = b;
    return true;
  default:
    if (is_post20_reftype(b)) return post20_reftype(r, at, b);
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed value type 0x%02x", b);
  }
}

bool mr_reftype(mr_reader *r, uint8_t *out) {
  size_t at = r->pos;
  uint8_t b;
  if (!mr_u8(r, &b)) return false;
  if (b == MOTE_FUNCREF || b == MOTE_EXTERNREF) {
    *out = b;
    return true;
  }
  if (is_post20_reftype(b)) return post20_reftype(r, at, b);
  return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed reference type 0x%02x", b);
}

bool mr_heaptype(mr_reader *r, uint8_t *out) {
  size_t at = r->pos;
  if (r->pos < r->end) {
    uint8_t b = r->buf[r->pos];
    /* a heap type is an s33: a non-negative one is a type index */
    if (b < 0x40 || (b & 0x80)) {
      int64_t idx;
      if (!mr_s33(r, &idx)) return false;
      if (idx >= 0)
        return mr_unsupported(r, at, MR_FUNC_REFS, "heap type %lld (a type index)",
                              (long long)idx);
      return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed heap type");
    }
  }
  return mr_reftype(r, out);
}

bool mr_limits(mr_reader *r, bool is_memory, mote_limits *out) {
  const char *what = is_memory ? "memory" : "table";
  size_t at = r->pos;
  uint8_t flags;
  uint32_t min, max = 0;
  if (!mr_u8(r, &flags)) return false;
  if (flags & 0x04)
    return mr_unsupported(r, at, MR_MEMORY64, "64-bit %s (limits flags 0x%02x)", what, flags);
  if (flags & 0x02) {
    if (is_memory)
      return mr_unsupported(r, at, MR_THREADS, "shared memory (limits flags 0x%02x)", flags);
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed limits flags 0x%02x", flags);
  }
  if (flags > 1)
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "integer too large: limits flags 0x%02x",
                   flags);
  if (!mr_u32(r, &min)) return false;
  if (flags & 1 && !mr_u32(r, &max)) return false;
  out->min = min;
  out->max = max;
  out->has_max = flags & 1;
  return true;
}
