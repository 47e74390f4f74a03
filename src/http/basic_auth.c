/*
 * basic_auth: OpenWhisk's credentials in a request, `Authorization: Basic
 * base64(uuid:key)`, split into uuid and key (core/identity.c checks them).
 * Bytes a client sends: tests/fuzz/fuzz_basic_auth.c feeds it anything.
 */
#include <sodium.h>
#include <string.h>
#include <strings.h>

#include "http/http_internal.h"

/* base64 of "uuid:key" at their longest, with room for padding: longer
 * headers are malformed without decoding them. */
#define AUTH_B64_MAX 4 * ((MOTE_STORE_UUID_LEN + 1 + MOTE_STORE_KEY_LEN + 2) / 3)

bool basic_auth_parse(const char *header, char uuid[MOTE_STORE_UUID_LEN + 1],
                      char key[MOTE_STORE_KEY_LEN + 1]) {
  uuid[0] = key[0] = 0;
  if (!header) return false;
  while (*header == ' ' || *header == '\t') header++;
  if (strncasecmp(header, "Basic", 5) != 0 || (header[5] != ' ' && header[5] != '\t'))
    return false;
  const char *b64 = header + 5;
  while (*b64 == ' ' || *b64 == '\t') b64++;
  size_t len = strlen(b64);
  while (len > 0 && (b64[len - 1] == ' ' || b64[len - 1] == '\t')) len--;
  if (len == 0 || len > AUTH_B64_MAX) return false;

  unsigned char bin[AUTH_B64_MAX];
  size_t n = 0;
  const char *end = NULL;
  if (sodium_base642bin(bin, sizeof bin, b64, len, NULL, &n, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64 + len)
    return false;
  unsigned char *colon = memchr(bin, ':', n);
  size_t ulen = colon ? (size_t)(colon - bin) : 0, klen = colon ? n - ulen - 1 : 0;
  bool ok = colon && !memchr(bin, 0, n) && ulen > 0 && ulen <= MOTE_STORE_UUID_LEN &&
            klen > 0 && klen <= MOTE_STORE_KEY_LEN;
  if (ok) {
    memcpy(uuid, bin, ulen);
    uuid[ulen] = 0;
    memcpy(key, colon + 1, klen);
    key[klen] = 0;
  }
  sodium_memzero(bin, sizeof bin); /* the secret, also of a refused header */
  return ok;
}
