/*
 * query: a strict parser of the query string (application/x-www-form-
 * urlencoded): pairs in order, repeats kept, '+' is a space, %XX decoded.
 * A bad escape or an escaped NUL is an error, not silently passed on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes [p, p+n) into a new string; NULL on a bad escape (msg set). */
static char *decode(const char *p, size_t n, char *msg, size_t cap) {
  char *out = malloc(n + 1), *o = out;
  if (!out) {
    snprintf(msg, cap, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '+') {
      *o++ = ' ';
    } else if (p[i] == '%') {
      int hi = i + 1 < n ? hexval(p[i + 1]) : -1;
      int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        snprintf(msg, cap, "malformed query string: bad %%-escape at \"%.*s\"",
                 (int)(n - i < 8 ? n - i : 8), p + i);
        free(out);
        return NULL;
      }
      int v = hi * 16 + lo;
      if (v == 0) {
        snprintf(msg, cap, "malformed query string: %%00 (a NUL byte) is not allowed");
        free(out);
        return NULL;
      }
      *o++ = (char)v;
      i += 2;
    } else {
      *o++ = p[i];
    }
  }
  *o = '\0';
  return out;
}

bool http_query_parse(const char *q, http_param **out, size_t *count, char *msg, size_t cap) {
  *out = NULL;
  *count = 0;
  if (!q || !*q) return true;
  size_t n = 1;
  for (const char *p = q; *p; p++) n += *p == '&';
  if (n > HTTP_MAX_QUERY_PARAMS) {
    snprintf(msg, cap, "too many query parameters (at most %d)", HTTP_MAX_QUERY_PARAMS);
    return false;
  }
  http_param *ps = calloc(n, sizeof *ps);
  if (!ps) {
    snprintf(msg, cap, "out of memory");
    return false;
  }
  size_t k = 0;
  const char *p = q;
  while (*p) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > 0) {
      const char *eq = memchr(p, '=', len);
      size_t klen = eq ? (size_t)(eq - p) : len;
      ps[k].key = decode(p, klen, msg, cap);
      ps[k].value = ps[k].key ? decode(eq ? eq + 1 : p + len, eq ? len - klen - 1 : 0, msg, cap)
                              : NULL;
      if (!ps[k].key || !ps[k].value) {
        http_query_free(ps, k + 1);
        return false;
      }
      k++;
    }
    if (!amp) break;
    p = amp + 1;
  }
  *out = ps;
  *count = k;
  return true;
}

void http_query_free(http_param *p, size_t count) {
  if (!p) return;
  for (size_t i = 0; i < count; i++) {
    free(p[i].key);
    free(p[i].value);
  }
  free(p);
}
