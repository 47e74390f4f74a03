/*
 * libFuzzer target for a CGI function's output (src/http/cgi_output.c):
 * bytes a guest wrote to stdout. A crash, a sanitizer report or a leak is a
 * bug; so is a parse that breaks the rules the response relies on: a status
 * of 200..599, at most HTTP_GUEST_HEADER_LINES headers, every name a token
 * and every value free of control bytes, the body inside the output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, bool name) {
  if (name && !*s) abort();
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f) abort();
    if (name && (*p == ':' || *p == ' ' || *p == '\t')) abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  cgi_head h;
  char msg[400];
  msg[0] = '\0';
  int rc = cgi_parse(data, size, &h, msg, sizeof msg);
  if (rc == 1) {
    if (!msg[0] || h.block || h.headers) abort(); /* refused: a message, nothing kept */
    return 0;
  }
  if (rc != 0) return 0; /* out of memory */
  if (h.status < 200 || h.status > 599) abort();
  if (h.body_offset > size || h.body_offset > HTTP_GUEST_HEADERS_MAX) abort();
  if (h.nheaders > HTTP_GUEST_HEADER_LINES) abort();
  if (h.content_type) check_text(h.content_type, false);
  if (h.location) check_text(h.location, false);
  for (size_t i = 0; i < h.nheaders; i++) {
    check_text(h.headers[i].name, true);
    check_text(h.headers[i].value, false);
    if (!strncasecmp(h.headers[i].name, "X-Mote-", 7)) abort();
  }
  cgi_head_free(&h);
  return 0;
}
