/*
 * libFuzzer target for the query-string parser (src/http/query.c): any bytes
 * a client puts after '?' (and a form body of a web action); the same bytes
 * also go through the path decoder of a request target (http_path_decode,
 * framing.c's first check), whose answer must be a path that is valid UTF-8
 * without control bytes, or a refusal that says why. A crash, a
 * sanitizer report or a leak is a bug; so is a parse that breaks what the
 * handlers rely on: at most HTTP_MAX_QUERY_PARAMS pairs, every key and value
 * a string without NUL whose length fits the input, and a refusal that says
 * why and keeps nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "http/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *q = malloc(size + 1);
  if (!q) return 0;
  memcpy(q, data, size);
  q[size] = '\0'; /* a query string is a C string: what follows a NUL is not seen */
  size_t len = strlen(q);
  http_param *ps = (http_param *)1;
  size_t n = 7;
  char msg[160];
  msg[0] = '\0';
  if (!http_query_parse(q, &ps, &n, msg, sizeof msg)) {
    if (ps || n || !msg[0]) abort();
  } else {
    if (n > HTTP_MAX_QUERY_PARAMS || (n && !ps)) abort();
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
      if (!ps[i].key || !ps[i].value) abort();
      total += strlen(ps[i].key) + strlen(ps[i].value);
    }
    if (total > len) abort(); /* decoding never grows the text */
    http_query_free(ps, n);
  }
  char *path = (char *)1;
  msg[0] = '\0';
  int bad = http_path_decode(q, &path, msg, sizeof msg);
  if (bad) {
    if (path || (bad > 0 && !msg[0])) abort();
  } else {
    if (!path) abort();
    size_t plen = strlen(path);
    if (plen > strcspn(q, "?")) abort(); /* decoding never grows the text */
    if (!utf8_valid((const uint8_t *)path, plen)) abort();
    for (size_t i = 0; i < plen; i++)
      if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) abort();
    free(path);
  }
  free(q);
  return 0;
}
