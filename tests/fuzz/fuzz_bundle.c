/*
 * libFuzzer target for the bundle reader (src/core/bundle.c): any bytes,
 * read as each archive kind. A crash, a sanitizer report, a leak or a timeout
 * is a bug; so is an accepted bundle that breaks what the store relies on
 * (relative paths without "." or "..", sorted and unique, sizes in bounds).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;
static void touch(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) sink ^= p[i];
}

static void check_path(const char *p) {
  if (!*p || p[0] == '/' || strlen(p) > CORE_BUNDLE_MAX_PATH) abort();
  for (const char *c = p;;) {
    size_t n = strcspn(c, "/");
    if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) abort();
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f) abort();
    if (!c[n]) break;
    c += n + 1;
  }
  if (!strcmp(p, CORE_BUNDLE_MODULE)) abort(); /* the module is not among the files */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const core_body_kind kinds[] = {CORE_BODY_TAR_GZ, CORE_BODY_TAR, CORE_BODY_ZIP};
  for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
    core_bundle b;
    char msg[1200];
    if (!core_bundle_extract(data, size, kinds[k], &b, msg, sizeof msg)) {
      if (!msg[0] || b.module || b.files) abort(); /* refused: a message, nothing kept */
      continue;
    }
    if (!b.module || b.module_len == 0 || b.module_len > CORE_MAX_MODULE) abort();
    touch(b.module, b.module_len);
    uint64_t total = 0;
    for (size_t i = 0; i < b.nfiles; i++) {
      check_path(b.files[i].path);
      if (i > 0 && strcmp(b.files[i - 1].path, b.files[i].path) >= 0) abort();
      if (b.files[i].len > CORE_BUNDLE_MAX_FILE) abort();
      touch(b.files[i].data, b.files[i].len);
      total += b.files[i].len;
    }
    if (total != b.files_bytes || total > CORE_BUNDLE_MAX_TOTAL) abort();
    core_bundle_free(&b);
  }
  return 0;
}
