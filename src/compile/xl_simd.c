/* The SIMD instructions: not yet translated. */
#include <stdio.h>
#include <string.h>

#include "xl_simd.h"

bool xl_simd(const xl_simd_io *io, const mote_module *m, xl_simd_effect *eff, xl_error *err,
             uint32_t func, size_t at) {
  (void)io;
  (void)m;
  memset(eff, 0, sizeof *eff);
  snprintf(err->message, sizeof err->message, "SIMD is not translated yet (function %u, offset 0x%zx)",
           func, at);
  err->failed = true;
  return false;
}
