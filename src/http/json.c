/* json: JSON helpers the HTTP facades share (jansson, no HTTP library). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/utf8.h"
#include "http/http.h"

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
