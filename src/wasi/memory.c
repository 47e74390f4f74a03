/*
 * Guest pointers: every offset and length the guest passes is checked here
 * against the bound memory's size at call time (memories grow), in 64-bit
 * arithmetic so that offset + length cannot wrap.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "wasi/wasi_internal.h"

#define WASI_IOV_MAX 1024

uint8_t *wasi_mem(mote_wasi *w, uint32_t off, uint64_t len) {
  wasm_rt_memory_t *m = w->memory;
  if (!m || !m->data) return NULL;
  uint64_t size = (uint64_t)m->pages * 65536u;
  if ((uint64_t)off + len > size) return NULL;
  return m->data + off;
}

bool wasi_store_u8(mote_wasi *w, uint32_t off, uint8_t v) {
  uint8_t *p = wasi_mem(w, off, 1);
  if (p) *p = v;
  return p != NULL;
}

/* The host is little-endian (x86-64, aarch64), as wasm memory is. */
bool wasi_store_u16(mote_wasi *w, uint32_t off, uint16_t v) {
  uint8_t *p = wasi_mem(w, off, 2);
  if (p) memcpy(p, &v, 2);
  return p != NULL;
}

bool wasi_store_u32(mote_wasi *w, uint32_t off, uint32_t v) {
  uint8_t *p = wasi_mem(w, off, 4);
  if (p) memcpy(p, &v, 4);
  return p != NULL;
}

bool wasi_store_u64(mote_wasi *w, uint32_t off, uint64_t v) {
  uint8_t *p = wasi_mem(w, off, 8);
  if (p) memcpy(p, &v, 8);
  return p != NULL;
}

uint32_t wasi_iovecs(mote_wasi *w, uint32_t iovs, uint32_t n, struct iovec **out,
                     uint64_t *total) {
  *out = NULL;
  *total = 0;
  const uint8_t *raw = wasi_mem(w, iovs, (uint64_t)n * 8);
  if (!raw) return W_EFAULT;
  if (n > WASI_IOV_MAX) return W_EINVAL; /* as Linux's writev */
  struct iovec *v = calloc(n ? n : 1, sizeof *v);
  if (!v) return W_ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t buf, len;
    memcpy(&buf, raw + 8 * i, 4);
    memcpy(&len, raw + 8 * i + 4, 4);
    uint8_t *p = wasi_mem(w, buf, len);
    if (!p) {
      free(v);
      return W_EFAULT;
    }
    v[i].iov_base = p;
    v[i].iov_len = len;
    *total += len;
  }
  *out = v;
  return 0;
}

uint32_t wasi_path(mote_wasi *w, uint32_t ptr, uint32_t len, char *buf) {
  const uint8_t *p = wasi_mem(w, ptr, len);
  if (!p) return W_EFAULT;
  if (len >= PATH_MAX) return W_ENAMETOOLONG;
  if (memchr(p, 0, len)) return W_EILSEQ; /* a NUL inside cannot name a file */
  memcpy(buf, p, len);
  buf[len] = '\0';
  return 0;
}
