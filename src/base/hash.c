/* Content hashes: BLAKE2b-256 in hex (see hash.h). */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"

void mote_hex(const unsigned char *bin, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[bin[i] >> 4];
    out[2 * i + 1] = digits[bin[i] & 15];
  }
  out[2 * n] = 0;
}

void mote_hash_bytes(const void *data, size_t len, char out[MOTE_HASH_HEX]) {
  unsigned char digest[MOTE_HASH_BYTES];
  crypto_generichash(digest, sizeof digest, data, len, NULL, 0);
  mote_hex(digest, sizeof digest, out);
}

int mote_hash_fd(int fd, char out[MOTE_HASH_HEX], uint64_t *size) {
  enum { CHUNK = 1 << 16 };
  unsigned char digest[MOTE_HASH_BYTES];
  unsigned char *buf = malloc(CHUNK); /* not on the stack: callers run on small stacks too */
  if (!buf) return -1;
  crypto_generichash_state st;
  crypto_generichash_init(&st, NULL, 0, sizeof digest);
  uint64_t total = 0;
  ssize_t n;
  for (;;) {
    n = read(fd, buf, CHUNK);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    crypto_generichash_update(&st, buf, (size_t)n);
    total += (uint64_t)n;
  }
  free(buf);
  if (n < 0) return -1;
  crypto_generichash_final(&st, digest, sizeof digest);
  mote_hex(digest, sizeof digest, out);
  if (size) *size = total;
  return 0;
}

bool mote_is_hash_hex(const char *s) {
  return s && strlen(s) == MOTE_HASH_HEX - 1 && strspn(s, "0123456789abcdef") == MOTE_HASH_HEX - 1;
}
