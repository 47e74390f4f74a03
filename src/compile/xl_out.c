/*
 * The translator's output: printf for the few conversions the translator
 * uses, without stdio's locking and its general formatting machinery (which
 * took three quarters of the translation time of a module with 11 MB of
 * code), and C string escapes of data bytes.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "xl.h"

/* To a stream (o) through b, or (o NULL) into a caller's buffer: bytes go
 * to at while at < end, then b is written to o (flush), or the rest of the
 * caller's buffer's text is dropped. */
typedef struct obuf {
  FILE *o;
  char *at, *end;
  char b[512];
} obuf;

static void to_stream(obuf *ob, FILE *o) {
  ob->o = o;
  ob->at = ob->b;
  ob->end = ob->b + sizeof ob->b;
}

/* n bytes to o: straight into its buffer when they fit, as glibc's own
 * putc_unlocked does (its FILE's buffer pointers are public for that), else
 * through fwrite. The translator writes a function's C into a memstream a
 * few bytes at a time (564,532 writes for SQLite's functions); fwrite's calls
 * took 12% of its instructions (callgrind). */
static void out(FILE *o, const char *s, size_t n) {
#if defined(__GLIBC__)
  /* (a line-buffered stream keeps its end at the buffer's start) */
  if (o->_IO_write_ptr < o->_IO_write_end &&
      (size_t)(o->_IO_write_end - o->_IO_write_ptr) >= n) {
    memcpy(o->_IO_write_ptr, s, n);
    o->_IO_write_ptr += n;
    return;
  }
#endif
  fwrite_unlocked(s, 1, n, o);
}

/* A stream's obuf only. */
static void flush(obuf *ob) {
  if (ob->at > ob->b) out(ob->o, ob->b, (size_t)(ob->at - ob->b));
  ob->at = ob->b;
}

static void put(obuf *ob, const char *s, size_t len) {
  while (len) {
    if (ob->at == ob->end) {
      if (!ob->o) return;
      flush(ob);
    }
    size_t k = (size_t)(ob->end - ob->at);
    if (k > len) k = len;
    if (k <= 16) {
      /* most pieces are a few bytes: no call */
      for (size_t i = 0; i < k; i++) ob->at[i] = s[i];
    } else {
      memcpy(ob->at, s, k);
    }
    ob->at += k;
    s += k;
    len -= k;
  }
}

/* fmt's text up to its next '%' (or its end), copied as it is scanned:
 * returns where it stopped. */
static const char *literal(obuf *ob, const char *p) {
  char *at = ob->at, *end = ob->end;
  for (char c; (c = *p) && c != '%'; p++) {
    if (at == end) {
      ob->at = at;
      if (!ob->o) {
        while (*p && *p != '%') p++;
        return p;
      }
      flush(ob);
      at = ob->at;
    }
    *at++ = c;
  }
  ob->at = at;
  return p;
}

/* An unsigned number in base 8, 10 or 16, after a minus sign if negative,
 * padded to width as printf pads: spaces before the sign, zeros after it. */
static void put_num(obuf *ob, uint64_t v, bool negative, unsigned base, unsigned width, char pad) {
  char digits[24];
  unsigned n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  char text[48]; /* width is at most 20 (format) */
  size_t k = 0;
  unsigned len = n + (negative ? 1u : 0u), fill = len < width ? width - len : 0;
  if (pad == ' ')
    while (fill) text[k++] = ' ', fill--;
  if (negative) text[k++] = '-';
  while (fill) text[k++] = '0', fill--;
  while (n) text[k++] = digits[--n];
  put(ob, text, k);
}

/* Writes fmt's text and conversions, as far as they are these: %s %.*s %c
 * and %% as they are, %d %u %x %o with an optional 0 flag, a width up to
 * 20, and the l, ll and z length modifiers. Returns NULL when it wrote all of fmt, else the '%' of
 * the first other conversion, whose arguments and the rest's are still in
 * *ap for vfprintf. (A scan of every format for other conversions before
 * writing it took 7% of the translator's time.) */
static const char *format(obuf *ob, const char *fmt, va_list *ap) {
  for (const char *p = fmt; *p;) {
    const char *q = literal(ob, p);
    if (!*q) break;
    p = q + 1;
    if (*p == '%') {
      put(ob, "%", 1);
      p++;
      continue;
    }
    char pad = ' ';
    if (*p == '0') {
      pad = '0';
      p++;
    }
    unsigned width = 0;
    while (*p >= '0' && *p <= '9' && width <= 20) width = width * 10 + (unsigned)(*p++ - '0');
    if (width > 20) return q; /* put_num's room */
    if (p[0] == '.' && p[1] == '*') {
      if (p[2] != 's' || width) return q;
      int len = va_arg(*ap, int);
      const char *s = va_arg(*ap, const char *);
      size_t n = 0;
      while ((len < 0 || n < (size_t)len) && s[n]) n++;
      put(ob, s, n);
      p += 3;
      continue;
    }
    int longs = 0;
    bool size = false;
    while (*p == 'l' || *p == 'z') {
      if (*p == 'l') longs++;
      if (*p == 'z') size = true;
      p++;
    }
    char conv = *p++;
    if ((conv == 's' || conv == 'c') && (width || pad == '0' || longs || size)) return q;
    if (conv == 's') {
      const char *s = va_arg(*ap, const char *);
      put(ob, s, strlen(s));
    } else if (conv == 'c') {
      char c = (char)va_arg(*ap, int);
      put(ob, &c, 1);
    } else if (conv == 'd') {
      int64_t v = size ? (int64_t)va_arg(*ap, ssize_t)
                  : longs ? (int64_t)va_arg(*ap, long long) : (int64_t)va_arg(*ap, int);
      put_num(ob, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0, 10, width, pad);
    } else if (conv == 'u' || conv == 'x' || conv == 'o') {
      uint64_t v = size ? (uint64_t)va_arg(*ap, size_t)
                   : longs ? (uint64_t)va_arg(*ap, unsigned long long)
                           : (uint64_t)va_arg(*ap, unsigned);
      put_num(ob, v, false, conv == 'x' ? 16 : conv == 'o' ? 8 : 10, width, pad);
    } else {
      return q;
    }
  }
  return NULL;
}

void xl_vprintf(FILE *o, const char *fmt, va_list ap) {
  obuf ob; /* b is not cleared: at says how much of it is written */
  to_stream(&ob, o);
  va_list aq;
  va_copy(aq, ap);
  const char *rest = format(&ob, fmt, &aq);
  flush(&ob);
  if (rest) vfprintf(o, rest, aq);
  va_end(aq);
}

void xl_bprintf(char *dst, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cap) {
    obuf ob;
    ob.o = NULL;
    ob.at = dst;
    ob.end = dst + cap - 1; /* and its terminating NUL */
    const char *rest = format(&ob, fmt, &ap);
    *ob.at = 0;
    if (rest) vsnprintf(ob.at, (size_t)(dst + cap - ob.at), rest, ap);
  }
  va_end(ap);
}

void xl_bcopy(char *dst, size_t cap, const char *s) {
  size_t i = 0;
  for (; i + 1 < cap && s[i]; i++) dst[i] = s[i];
  dst[i] = 0;
}

void xl_printf(FILE *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  xl_vprintf(o, fmt, ap);
  va_end(ap);
}

void xl_put_octal_escapes(FILE *o, const uint8_t *b, size_t n, size_t per_line) {
  obuf ob;
  to_stream(&ob, o);
  obuf *obp = &ob;
  for (size_t i = 0; i < n; i++) {
    char e[4] = {'\\', (char)('0' + (b[i] >> 6)), (char)('0' + ((b[i] >> 3) & 7)),
                 (char)('0' + (b[i] & 7))};
    put(obp, e, 4);
    if (per_line && i % per_line == per_line - 1 && i + 1 < n) put(obp, "\"\n\"", 3);
  }
  flush(&ob);
}
