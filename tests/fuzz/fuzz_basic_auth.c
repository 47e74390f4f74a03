/*
 * libFuzzer target for the Authorization header's parser
 * (src/http/basic_auth.c): any header value a client sends. A crash, a
 * sanitizer report or a leak is a bug; so is an accepted header whose parts
 * break what the key check relies on: a uuid and a key, neither empty,
 * within MOTE_STORE_UUID_LEN and MOTE_STORE_KEY_LEN, without NUL, and empty
 * parts when refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *h = malloc(size + 1);
  if (!h) return 0;
  memcpy(h, data, size);
  h[size] = '\0';
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  memset(uuid, 'u', sizeof uuid);
  memset(key, 'k', sizeof key);
  if (basic_auth_parse(h, uuid, key)) {
    size_t u = strnlen(uuid, sizeof uuid), k = strnlen(key, sizeof key);
    if (u == 0 || u > MOTE_STORE_UUID_LEN || k == 0 || k > MOTE_STORE_KEY_LEN) abort();
    if (strchr(uuid, ':')) abort(); /* the first ':' splits */
  } else if (uuid[0] || key[0]) {
    abort();
  }
  free(h);
  return 0;
}
