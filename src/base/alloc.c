/* The allocation hook (alloc.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"

static void *libc_alloc(void *ud, void *ptr, size_t nsize) {
  (void)ud;
  if (nsize == 0) {
    free(ptr);
    return NULL;
  }
  return realloc(ptr, nsize);
}

static mote_alloc_fn hook = libc_alloc;
static void *hook_ud;

void mote_alloc_set(mote_alloc_fn fn, void *ud) {
  hook = fn ? fn : libc_alloc;
  hook_ud = fn ? ud : NULL;
}

void *mote_malloc(size_t n) { return hook(hook_ud, NULL, n ? n : 1); }

void *mote_calloc(size_t count, size_t size) {
  if (size && count > SIZE_MAX / size) return NULL;
  size_t n = count * size;
  void *p = mote_malloc(n);
  if (p) memset(p, 0, n ? n : 1);
  return p;
}

void *mote_realloc(void *p, size_t n) { return hook(hook_ud, p, n ? n : 1); }

void mote_free(void *p) {
  if (p) hook(hook_ud, p, 0);
}

char *mote_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = mote_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
