/*
 * framing: what RFC 9112 asks of a request's head that libmicrohttpd
 * 0.9.75 does not check, decided on MHD's thread before the request is
 * routed. Every refusal here closes the connection after its reply (MHD
 * does so for a reply queued before the body is read), so bytes that a
 * proxy in front might have framed otherwise never start a request here.
 *
 *   path            %-decoded into r->path; a bad escape, a NUL (%00), a
 *                   control byte or invalid UTF-8 is 400: MHD decodes in
 *                   place and would cut the path at the NUL
 *                   (DELETE /v1/functions/victim%00.bak deleting "victim")
 *   head size       more than HTTP_MAX_HEAD bytes or HTTP_MAX_HEADER_LINES
 *                   lines is 431 (http_internal.h says why)
 *   Content-Length  more than one with different values, or one that is not
 *                   digits, is 400 (MHD took the first and read the rest as
 *                   the next request); with Transfer-Encoding, 400
 *   Transfer-Encoding  anything but "chunked" is 501 (MHD waited for the
 *                   connection to end); in HTTP/1.0, 400
 *   Host            HTTP/1.1 without one, or with more than one, is 400
 *   Expect          anything but 100-continue is 417
 *
 * What stays MHD's: a Content-Length MHD itself cannot parse is answered
 * by MHD with 400 before any of this runs (0.9.75 writes that reply's
 * header block twice; the status is right and the connection closes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

typedef struct head_scan {
  unsigned lines, hosts, lengths, encodings, expects;
  const char *length, *encoding, *expect;
  bool lengths_differ, length_bad;
} head_scan;

static bool digits_only(const char *s) {
  if (!*s) return false;
  for (; *s; s++)
    if (*s < '0' || *s > '9') return false;
  return true;
}

static enum MHD_Result scan_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *value) {
  (void)kind;
  head_scan *s = cls;
  s->lines++;
  if (!key) return MHD_YES;
  if (!value) value = "";
  if (!strcasecmp(key, MHD_HTTP_HEADER_HOST)) {
    s->hosts++;
  } else if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) {
    if (!digits_only(value)) s->length_bad = true;
    if (s->lengths++ && strcmp(s->length, value) != 0) s->lengths_differ = true;
    s->length = value;
  } else if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) {
    s->encodings++;
    s->encoding = value;
  } else if (!strcasecmp(key, MHD_HTTP_HEADER_EXPECT)) {
    s->expects++;
    s->expect = value;
  }
  return MHD_YES;
}

static http_result refuse(http_req *r, unsigned status, const char *code, const char *msg) {
  return http_reply_error(r, status, code, "%s", msg);
}

bool framing_check(http_req *r, http_result *res) {
  char msg[200];
  int bad = http_path_decode(r->uri, &r->path, msg, sizeof msg);
  if (bad) {
    *res = bad < 0 ? HTTP_CLOSE : refuse(r, 400, "bad_request", msg);
    return true;
  }
  head_scan s = {0};
  MHD_get_connection_values(r->conn, MHD_HEADER_KIND, scan_one, &s);
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
  size_t head = ci ? ci->header_size : 0;
  if (head > HTTP_MAX_HEAD || s.lines > HTTP_MAX_HEADER_LINES) {
    snprintf(msg, sizeof msg, "the request's head is too large: %zu bytes in %u header lines "
             "(at most %u bytes and %u lines)", head, s.lines, HTTP_MAX_HEAD,
             HTTP_MAX_HEADER_LINES);
    *res = refuse(r, 431, "head_too_large", msg);
    return true;
  }
  bool v11 = !strcmp(r->version, "HTTP/1.1");
  if (v11 && s.hosts != 1) {
    *res = refuse(r, 400, "bad_request", s.hosts ? "more than one Host header"
                                                 : "an HTTP/1.1 request needs a Host header");
    return true;
  }
  if (s.encodings) {
    if (!v11) {
      *res = refuse(r, 400, "bad_request", "Transfer-Encoding in an HTTP/1.0 request");
      return true;
    }
    if (s.lengths) {
      *res = refuse(r, 400, "bad_request", "both Transfer-Encoding and Content-Length");
      return true;
    }
    if (s.encodings > 1 || strcasecmp(s.encoding, "chunked") != 0) {
      *res = refuse(r, 501, "not_implemented",
                    "the only transfer coding of a request body here is chunked");
      return true;
    }
  }
  if (s.length_bad || s.lengths_differ) {
    *res = refuse(r, 400, "bad_request", s.length_bad ? "Content-Length is not a number"
                                                      : "conflicting Content-Length headers");
    return true;
  }
  if (s.expects && (s.expects > 1 || strcasecmp(s.expect, "100-continue") != 0)) {
    *res = refuse(r, 417, "expectation_failed", "the only expectation met here is 100-continue");
    return true;
  }
  return false;
}
