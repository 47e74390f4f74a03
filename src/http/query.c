/*
 * query: a strict parser of the query string (application/x-www-form-
 * urlencoded): pairs in order, repeats kept, '+' is a space, %XX decoded.
 * A bad escape or an escaped NUL is an error, not silently passed on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "http/http_internal.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char *http_pct_decode(const char *p, size_t n, bool plus, char *msg, size_t cap) {
  char *out = malloc(n + 1), *o = out;
  if (!out) {
    snprintf(msg, cap, "out of memory");
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (plus && p[i] == '+') {
      *o++ = ' ';
    } else if (p[i] == '%') {
      int hi = i + 1 < n ? hexval(p[i + 1]) : -1;
      int lo = i + 2 < n ? hexval(p[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        snprintf(msg, cap, "bad %%-escape at \"%.*s\"",
                 (int)(n - i < 8 ? n - i : 8), p + i);
        free(out);
        return NULL;
      }
      int v = hi * 16 + lo;
      if (v == 0) {
        snprintf(msg, cap, "%%00 (a NUL byte) is not allowed");
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
      char why[120];
      ps[k].key = http_pct_decode(p, klen, true, why, sizeof why);
      ps[k].value = ps[k].key ? http_pct_decode(eq ? eq + 1 : p + len, eq ? len - klen - 1 : 0,
                                                true, why, sizeof why)
                              : NULL;
      if (!ps[k].key || !ps[k].value) {
        snprintf(msg, cap, "malformed query string: %s", why);
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

int http_path_decode(const char *uri, char **path, char *msg, size_t cap) {
  *path = NULL;
  size_t n = strcspn(uri, "?");
  for (size_t i = 0; i < n; i++) {
    unsigned char b = (unsigned char)uri[i];
    if (b < 0x20 || b == 0x7f) {
      snprintf(msg, cap, "the request's path has a control byte (0x%02x)", b);
      return 1;
    }
  }
  char why[120];
  char *p = http_pct_decode(uri, n, false, why, sizeof why);
  if (!p) {
    snprintf(msg, cap, "the request's path is not valid: %s", why);
    return strcmp(why, "out of memory") ? 1 : -1;
  }
  size_t len = strlen(p);
  if (!utf8_valid((const uint8_t *)p, len)) {
    snprintf(msg, cap, "the request's path is not valid UTF-8 once %%-decoded");
    free(p);
    return 1;
  }
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f) {
      snprintf(msg, cap, "the request's path has an escaped control byte (0x%02x)",
               (unsigned char)p[i]);
      free(p);
      return 1;
    }
  *path = p;
  return 0;
}
