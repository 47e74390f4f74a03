/* UTF-8 checks and repairs (utf8.h). */
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"

/* Length of the valid UTF-8 sequence at p (1-4), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t n) {
  uint8_t b = p[0];
  size_t len;
  uint32_t cp;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) len = 2, cp = b & 0x1F;
  else if (b >= 0xE0 && b <= 0xEF) len = 3, cp = b & 0x0F;
  else if (b >= 0xF0 && b <= 0xF4) len = 4, cp = b & 0x07;
  else return 0;
  if (len > n) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

bool utf8_valid(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n;) {
    size_t k = p[i] ? utf8_seq(p + i, n - i) : 0;
    if (k == 0) return false;
    i += k;
  }
  return true;
}

char *utf8_dup(const uint8_t *p, size_t n) {
  char *out = malloc(n * 3 + 1), *o = out; /* each bad byte becomes 3 bytes */
  if (!out) return NULL;
  for (size_t i = 0; i < n;) {
    size_t k = p[i] ? utf8_seq(p + i, n - i) : 0;
    if (k == 0) {
      memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD; NUL too, for C strings */
      o += 3;
      i++;
    } else {
      memcpy(o, p + i, k);
      o += k;
      i += k;
    }
  }
  *o = '\0';
  return out;
}
