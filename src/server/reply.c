/* reply: JSON responses and errors ({"error": "...", "code": "..."}). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server_internal.h"

uint64_t srv_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t srv_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum MHD_Result reply_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp,
                            size_t body_len) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  srv_conn *conn = ci ? ci->socket_context : NULL;
  if (conn && conn->req) {
    conn->req->status = status;
    conn->req->bytes_out = body_len;
  }
  return MHD_queue_response(c, status, resp);
}

struct MHD_Response *json_response(json_t *body, size_t *len) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  json_decref(body);
  if (!text) text = strdup("{\"error\":\"out of memory\",\"code\":\"internal\"}");
  if (!text) return NULL;
  size_t n = strlen(text);
  /* One line per reply: easier to read with curl and to parse line-wise. */
  char *line = realloc(text, n + 2);
  if (line) {
    text = line;
    text[n++] = '\n';
    text[n] = '\0';
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
  if (!resp) {
    free(text);
    return NULL;
  }
  MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
  *len = n;
  return resp;
}

enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *body) {
  size_t len = 0;
  struct MHD_Response *resp = json_response(body, &len);
  if (!resp) return MHD_NO;
  enum MHD_Result ret = reply_queue(c, status, resp, len);
  MHD_destroy_response(resp);
  return ret;
}

enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code,
                            const char *fmt, ...) {
  char msg[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *o = json_object();
  json_object_set_new(o, "error", json_bytes((const uint8_t *)msg, strlen(msg)));
  json_object_set_new(o, "code", json_string(code));
  return reply_json(c, status, o);
}

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

json_t *json_bytes(const uint8_t *p, size_t n) {
  char *s = utf8_dup(p, n);
  json_t *j = s ? json_string(s) : NULL;
  free(s);
  return j ? j : json_string("");
}

json_t *json_utc_ms(int64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  char buf[40];
  gmtime_r(&t, &tm);
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
  return json_string(buf);
}
