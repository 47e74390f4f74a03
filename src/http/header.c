/*
 * header: what may go into a reply's header block from a guest (a CGI
 * function's headers, a web action's "headers" object). RFC 9110: a field
 * name is a token; a value holds no control byte but tab.
 */
#include <string.h>
#include <strings.h>

#include "http/http.h"

static bool token_char(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

bool http_header_name_ok(const char *s, size_t n) {
  if (n == 0) return false;
  for (size_t i = 0; i < n; i++)
    if (!token_char((unsigned char)s[i])) return false;
  return true;
}

bool http_header_value_ok(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f) return false;
  return true;
}

bool http_header_platform_owned(const char *name) {
  static const char *const refused[] = {"Connection", "Keep-Alive", "Proxy-Connection",
                                        "Transfer-Encoding", "TE", "Trailer", "Upgrade",
                                        "Content-Length", "Proxy-Authenticate"};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++)
    if (!strcasecmp(name, refused[i])) return true;
  return !strncasecmp(name, "X-Mote-", 7);
}
