/*
 * args_get / args_sizes_get / environ_get / environ_sizes_get: the copies
 * made by mote_wasi_new, laid out as the guest asks: an array of pointers
 * into one buffer of NUL-terminated strings.
 */
#include <string.h>

#include "wasi/wasi_internal.h"

static uint32_t put_strings(mote_wasi *w, char **s, size_t n, size_t bytes, uint32_t ptrs,
                            uint32_t buf) {
  uint8_t *p = wasi_mem(w, ptrs, (uint64_t)n * 4);
  uint8_t *b = wasi_mem(w, buf, bytes);
  if (!p || !b) return W_EFAULT;
  uint32_t off = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t at = buf + off;
    size_t len = strlen(s[i]) + 1;
    memcpy(p + 4 * i, &at, 4);
    memcpy(b + off, s[i], len);
    off += (uint32_t)len;
  }
  return 0;
}

static uint32_t put_sizes(mote_wasi *w, size_t n, size_t bytes, uint32_t count_ptr,
                          uint32_t size_ptr) {
  if (!wasi_mem(w, count_ptr, 4) || !wasi_mem(w, size_ptr, 4)) return W_EFAULT;
  wasi_store_u32(w, count_ptr, (uint32_t)n);
  wasi_store_u32(w, size_ptr, (uint32_t)bytes);
  return 0;
}

uint32_t wasi_args_get(void *ctx, uint32_t argv, uint32_t buf) {
  mote_wasi *w = ctx;
  WASI_ENTER();
  WASI_RETURN(put_strings(w, w->argv, w->argc, w->argv_bytes, argv, buf));
}

uint32_t wasi_args_sizes_get(void *ctx, uint32_t argc, uint32_t size) {
  mote_wasi *w = ctx;
  WASI_ENTER();
  WASI_RETURN(put_sizes(w, w->argc, w->argv_bytes, argc, size));
}

uint32_t wasi_environ_get(void *ctx, uint32_t env, uint32_t buf) {
  mote_wasi *w = ctx;
  WASI_ENTER();
  WASI_RETURN(put_strings(w, w->env, w->envc, w->env_bytes, env, buf));
}

uint32_t wasi_environ_sizes_get(void *ctx, uint32_t count, uint32_t size) {
  mote_wasi *w = ctx;
  WASI_ENTER();
  WASI_RETURN(put_sizes(w, w->envc, w->env_bytes, count, size));
}
