/*
 * module/reader.c: the cursor every other file reads through. Nothing here
 * reads a byte without checking it lies before the cursor's end, and every
 * failure is recorded once, with its absolute offset, in the parse state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "module/module_internal.h"

static const char *status_prefix(mote_module_status status) {
  switch (status) {
  case MOTE_MODULE_MALFORMED: return "malformed module: ";
  case MOTE_MODULE_UNSUPPORTED: return "unsupported feature ";
  case MOTE_MODULE_TOO_LARGE: return "module too large: ";
  case MOTE_MODULE_NOMEM: return "out of memory: ";
  case MOTE_MODULE_INVALID: return "invalid module: ";
  case MOTE_MODULE_OK: break;
  }
  return "";
}

/* Appends s to dst (of size bytes, NUL-terminated, *len used), cutting it. */
static void append(char *dst, size_t size, size_t *len, const char *s) {
  while (*s && *len + 1 < size) dst[(*len)++] = *s++;
  dst[*len] = '\0';
}

static void format_error(mr_parse *p, mote_module_error *e, mote_module_status status,
                         size_t offset, const char *fmt, va_list ap) {
  e->status = status;
  e->offset = offset;
  char what[192], at[40];
  vsnprintf(what, sizeof what, fmt, ap);
  snprintf(at, sizeof at, " at offset 0x%zx", offset);
  /* A long name can make the line longer than the buffer: the middle is
   * cut, keeping the feature, where, and the offset. */
  char *msg = e->message;
  size_t size = sizeof e->message, len = 0;
  append(msg, size - sizeof at, &len, status_prefix(status));
  append(msg, size - sizeof at, &len, what);
  if (p->where[0]) {
    append(msg, size - sizeof at, &len, " in ");
    append(msg, size - sizeof at, &len, p->where);
  }
  append(msg, size, &len, at);
}

bool mr_failv(mr_parse *p, mote_module_status status, size_t offset, const char *fmt,
              va_list ap) {
  if (p->failed) return false; /* the first error is the one that matters */
  p->failed = true;
  format_error(p, &p->err, status, offset, fmt, ap);
  return false;
}

void mr_invalid(mr_parse *p, size_t offset, const char *fmt, ...) {
  if (p->invalid) return;
  p->invalid = true;
  va_list ap;
  va_start(ap, fmt);
  format_error(p, &p->invalid_err, MOTE_MODULE_INVALID, offset, fmt, ap);
  va_end(ap);
}

bool mr_fail(mr_parse *p, mote_module_status status, size_t offset, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mr_failv(p, status, offset, fmt, ap);
  va_end(ap);
  return false;
}

void mr_where(mr_parse *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->where, sizeof p->where, fmt, ap);
  va_end(ap);
}

void mr_func_label(const mote_module *m, uint32_t func_index, char *buf, size_t size) {
  uint32_t len = 0;
  const char *name = mote_module_func_name(m, func_index, &len);
  if (!name) {
    snprintf(buf, size, "function %u", func_index);
    return;
  }
  /* A name is the user's text, but a message is one line: replace control
   * bytes, and cut a long name at a UTF-8 character boundary. */
  char clean[48];
  uint32_t n = len < sizeof clean - 1 ? len : (uint32_t)sizeof clean - 1;
  if (n < len)
    while (n > 0 && ((uint8_t)name[n] & 0xc0) == 0x80) n--;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t c = (uint8_t)name[i];
    clean[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
  }
  clean[n] = '\0';
  snprintf(buf, size, "function %u ($%s%s)", func_index, clean, n < len ? "..." : "");
}

size_t mr_remaining(const mr_reader *r) { return r->end - r->pos; }

static bool unexpected_end(mr_reader *r) {
  return mr_fail(r->p, MOTE_MODULE_MALFORMED, r->pos, "unexpected end");
}

bool mr_u8(mr_reader *r, uint8_t *out) {
  if (r->pos >= r->end) return unexpected_end(r);
  *out = r->buf[r->pos++];
  return true;
}

bool mr_bytes(mr_reader *r, size_t n, const uint8_t **out) {
  if (n > mr_remaining(r)) return unexpected_end(r);
  *out = r->buf + r->pos;
  r->pos += n;
  return true;
}

/* LEB128 of at most `bits` bits. The spec allows at most ceil(bits/7) bytes;
 * in the last one the bits above the value must be zero (unsigned) or copies
 * of the sign bit (signed). */
static bool leb(mr_reader *r, unsigned bits, bool is_signed, uint64_t *out) {
  size_t start = r->pos;
  unsigned max_bytes = (bits + 6) / 7;
  uint64_t value = 0;
  for (unsigned i = 0;; i++) {
    if (r->pos >= r->end) return unexpected_end(r);
    uint8_t b = r->buf[r->pos++];
    unsigned shift = 7 * i;
    if (i == max_bytes - 1) {
      if (b & 0x80)
        return mr_fail(r->p, MOTE_MODULE_MALFORMED, start,
                       "integer representation too long");
      unsigned used = bits - shift; /* value bits in this byte, 1..7 */
      uint8_t unused = (uint8_t)(0x7f & ~((1u << used) - 1));
      if (is_signed) {
        /* the sign bit and every bit above it must agree */
        uint8_t sign_and_up = (uint8_t)(0x7f & ~((1u << (used - 1)) - 1));
        uint8_t got = b & sign_and_up;
        if (got != 0 && got != sign_and_up)
          return mr_fail(r->p, MOTE_MODULE_MALFORMED, start, "integer too large");
      } else if (b & unused) {
        return mr_fail(r->p, MOTE_MODULE_MALFORMED, start, "integer too large");
      }
    }
    value |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      shift += 7;
      if (is_signed && shift < 64 && (b & 0x40)) value |= ~(uint64_t)0 << shift;
      break;
    }
  }
  if (bits < 64) {
    /* keep only `bits` bits (two's complement for signed) */
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    if (is_signed && (value >> (bits - 1)) & 1)
      value |= ~mask;
    else
      value &= mask;
  }
  *out = value;
  return true;
}

bool mr_u32(mr_reader *r, uint32_t *out) {
  uint64_t v;
  if (!leb(r, 32, false, &v)) return false;
  *out = (uint32_t)v;
  return true;
}

bool mr_s32(mr_reader *r, int32_t *out) {
  uint64_t v;
  if (!leb(r, 32, true, &v)) return false;
  *out = (int32_t)(uint32_t)v;
  return true;
}

bool mr_s33(mr_reader *r, int64_t *out) {
  uint64_t v;
  if (!leb(r, 33, true, &v)) return false;
  *out = (int64_t)v;
  return true;
}

bool mr_s64(mr_reader *r, int64_t *out) {
  uint64_t v;
  if (!leb(r, 64, true, &v)) return false;
  *out = (int64_t)v;
  return true;
}

bool mr_zero_byte(mr_reader *r, const char *insn) {
  size_t at = r->pos;
  uint8_t b = 0;
  if (!mr_u8(r, &b)) return false;
  if (b == 0) return true;
  /* A one-byte nonzero index is what a multi-memory module would write; a
   * longer encoding of anything is simply malformed in 2.0. */
  if (b < 0x80)
    return mr_unsupported(r, at, MR_MULTI_MEMORY, "memory index %u in %s", b, insn);
  return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "zero byte expected in %s", insn);
}

bool mr_utf8_valid(const uint8_t *s, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t n;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      n = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      n = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      n = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false; /* continuation byte first, or 0xf8..0xff */
    }
    if (n > len - i) return false;
    for (size_t k = 1; k < n; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n;
  }
  return true;
}

bool mr_name_str(mr_reader *r, const char **out, uint32_t *len) {
  size_t at = r->pos;
  uint32_t n;
  const uint8_t *s;
  if (!mr_u32(r, &n)) return false;
  if (n > mr_remaining(r))
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "length out of bounds (name of %u bytes)",
                   n);
  if (!mr_bytes(r, n, &s)) return false;
  if (!mr_utf8_valid(s, n))
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed UTF-8 encoding in a name");
  *out = (const char *)s;
  *len = n;
  return true;
}

bool mr_count(mr_reader *r, uint32_t *out, size_t min_size, uint32_t limit, const char *what) {
  size_t at = r->pos;
  uint32_t n;
  if (!mr_u32(r, &n)) return false;
  if (n > limit)
    return mr_fail(r->p, MOTE_MODULE_TOO_LARGE, at, "%u %s (the limit is %u)", n, what, limit);
  if ((uint64_t)n * min_size > mr_remaining(r))
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at,
                   "unexpected end: %u %s cannot fit in the %zu bytes left", n, what,
                   mr_remaining(r));
  *out = n;
  return true;
}

void *mr_alloc(mr_parse *p, size_t n, size_t size) {
  if (n == 0) n = 1; /* a valid pointer even for empty arrays */
  void *q = calloc(n, size);
  if (!q) mr_fail(p, MOTE_MODULE_NOMEM, 0, "allocating %zu entries of %zu bytes", n, size);
  return q;
}

bool mr_grow(mr_parse *p, void **array, size_t n, size_t size) {
  if (n == 0) n = 1;
  if (size && n > SIZE_MAX / size)
    return mr_fail(p, MOTE_MODULE_NOMEM, 0, "array of %zu entries overflows", n);
  void *q = realloc(*array, n * size);
  if (!q) return mr_fail(p, MOTE_MODULE_NOMEM, 0, "growing an array to %zu entries", n);
  *array = q;
  return true;
}
