/*
 * cgi_output: the header block a CGI function printed, parsed (no HTTP
 * library here: cgi.c turns the result into a response, and the fuzzer
 * tests/fuzz/fuzz_cgi.c feeds this file arbitrary bytes).
 *
 * The block is every line up to the first empty one (LF or CRLF), at most
 * HTTP_GUEST_HEADERS_MAX bytes and HTTP_GUEST_HEADER_LINES lines, so that the
 * reply's header block always fits the connection's memory. A NUL byte, a
 * line that is not "Name: value", Status, Content-Type or Location twice or
 * invalid, or a block over the limits makes the output invalid: the call is
 * a 502 and msg says why. Other headers pass through unless hop-by-hop,
 * X-Mote-* (the server's own) or holding control bytes: those are dropped
 * and their names listed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

static const char nohdr[] = "the function is in CGI mode but printed no header block";

/* The length of the header block, its empty line included; 0 with msg set
 * when there is none within the limits. */
static size_t block_end(const uint8_t *out, size_t len, char *msg, size_t cap) {
  size_t limit = len < HTTP_GUEST_HEADERS_MAX ? len : HTTP_GUEST_HEADERS_MAX;
  size_t pos = 0, lines = 0;
  while (pos < limit) {
    const uint8_t *nl = memchr(out + pos, '\n', limit - pos);
    if (!nl) break;
    size_t end = (size_t)(nl - out);
    size_t linelen = end - pos - (end > pos && out[end - 1] == '\r');
    if (linelen == 0) {
      if (end + 1 <= 2) {
        snprintf(msg, cap, "%s (stdout starts with an empty line)", nohdr);
        return 0;
      }
      return end + 1;
    }
    if (++lines > HTTP_GUEST_HEADER_LINES) {
      snprintf(msg, cap, "the function is in CGI mode and printed more than %u header lines",
               HTTP_GUEST_HEADER_LINES);
      return 0;
    }
    pos = end + 1;
  }
  if (len == 0)
    snprintf(msg, cap, "%s (stdout was empty)", nohdr);
  else if (len >= HTTP_GUEST_HEADERS_MAX)
    snprintf(msg, cap, "%s (no empty line within the first %u KiB of stdout: the header block "
             "is limited to %u KiB)", nohdr, HTTP_GUEST_HEADERS_MAX >> 10, HTTP_GUEST_HEADERS_MAX >> 10);
  else
    snprintf(msg, cap, "%s (no empty line ends it: print \"Content-Type: ...\", an empty "
             "line, then the body)", nohdr);
  return 0;
}

/* Checks "NNN reason" (200..599) and returns NNN, or 0. */
static unsigned status_code(const char *q) {
  bool ok = q[0] >= '1' && q[0] <= '9' && q[1] >= '0' && q[1] <= '9' && q[2] >= '0' &&
            q[2] <= '9' && (q[3] == '\0' || q[3] == ' ' || q[3] == '\t');
  unsigned code = ok ? (unsigned)((q[0] - '0') * 100 + (q[1] - '0') * 10 + (q[2] - '0')) : 0;
  return code >= 200 && code <= 599 ? code : 0;
}

void cgi_head_free(cgi_head *h) {
  free(h->headers);
  free(h->block);
  h->headers = NULL;
  h->block = NULL;
}

int cgi_parse(const uint8_t *out, size_t len, cgi_head *h, char *msg, size_t cap) {
  memset(h, 0, sizeof *h);
  h->status = 200;
  size_t hlen = block_end(out, len, msg, cap);
  if (hlen == 0) return 1;
  const uint8_t *nul = memchr(out, '\0', hlen);
  if (nul) {
    snprintf(msg, cap, "the function is in CGI mode and printed a NUL byte in its header block "
             "(at byte %zu)", (size_t)(nul - out));
    return 1;
  }
  h->body_offset = hlen;
  h->block = malloc(hlen + 1);
  h->headers = malloc(HTTP_GUEST_HEADER_LINES * sizeof *h->headers);
  if (!h->block || !h->headers) {
    cgi_head_free(h);
    return -1;
  }
  memcpy(h->block, out, hlen);
  h->block[hlen] = '\0';
  const char *stat = NULL;
  size_t dl = 0;
  /* Every line ends with '\n' within the block (block_end found them), and
   * the block holds no NUL, so the string functions below see whole lines. */
  for (char *p = h->block;;) {
    char *nl = strchr(p, '\n');
    *nl = '\0';
    if (nl > p && nl[-1] == '\r') nl[-1] = '\0';
    if (!*p) break; /* the empty line */
    char *colon = strchr(p, ':');
    if (!colon || !http_header_name_ok(p, (size_t)(colon - p))) {
      if (h->nheaders == 0 && !stat && !h->content_type && !h->location && !dl)
        snprintf(msg, cap, "%s (the first line \"%.60s\" is not \"Name: value\")", nohdr, p);
      else
        snprintf(msg, cap, "the function is in CGI mode and printed a malformed header line "
                 "\"%.60s\" (not \"Name: value\")", p);
      goto invalid;
    }
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    char *e = v + strlen(v);
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) *--e = '\0';
    bool value_ok = http_header_value_ok(v);
    if (!strcasecmp(p, "Status") || !strcasecmp(p, "Content-Type") ||
        !strcasecmp(p, "Location")) {
      const char **slot = !strcasecmp(p, "Status")     ? &stat
                          : !strcasecmp(p, "Location") ? &h->location
                                                       : &h->content_type;
      if (*slot) {
        snprintf(msg, cap, "the function is in CGI mode and printed %s twice", p);
        goto invalid;
      }
      if (!value_ok || !*v) {
        snprintf(msg, cap, "the function is in CGI mode and printed an invalid %s header", p);
        goto invalid;
      }
      *slot = v;
    } else if (!value_ok || http_header_platform_owned(p)) {
      int w = snprintf(h->dropped + dl, sizeof h->dropped - dl, "%s%.64s", dl ? ", " : "", p);
      if (w > 0 && (size_t)w < sizeof h->dropped - dl) dl += (size_t)w;
    } else {
      /* At most one header a line, and block_end bounded the lines. */
      h->headers[h->nheaders++] = (cgi_header){p, v};
    }
    p = nl + 1;
  }
  if (!stat && !h->location && !h->content_type && h->nheaders == 0) {
    snprintf(msg, cap, "%s (every header it printed was refused: %s)", nohdr, h->dropped);
    goto invalid;
  }
  if (stat) {
    h->status = status_code(stat);
    if (!h->status) {
      snprintf(msg, cap, "the function is in CGI mode and printed an invalid Status \"%.40s\" "
               "(want \"NNN Reason\", 200 to 599)", stat);
      goto invalid;
    }
  } else if (h->location) {
    h->status = 302;
  }
  return 0;
invalid:
  cgi_head_free(h);
  return 1;
}
