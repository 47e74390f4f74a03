/* Shared by the WASI conformance programs: errno names and checked output.
 * Programs print errno as a name (ENOENT), which is the same whatever the
 * runtime's numbering, and never print times, inodes or addresses. */
#ifndef WASI_TEST_COMMON_H
#define WASI_TEST_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <string.h>

static inline const char *errname(int e) {
  switch (e) {
  case 0: return "OK";
#define E(x) case x: return #x;
  E(E2BIG) E(EACCES) E(EBADF) E(EEXIST) E(EFAULT) E(EFBIG) E(EINVAL) E(EIO) E(EISDIR)
  E(ELOOP) E(EMFILE) E(ENAMETOOLONG) E(ENFILE) E(ENOENT) E(ENOMEM) E(ENOSPC) E(ENOSYS)
  E(ENOTDIR) E(ENOTEMPTY) E(ENOTSUP) E(EPERM) E(EROFS) E(ESPIPE) E(EXDEV) E(ENOTCAPABLE)
  E(EAGAIN) E(EBUSY) E(EOVERFLOW)
#undef E
  default: return "E?";
  }
}

/* Prints "what: OK" or "what: ENAME" for a call that returns -1 and sets errno. */
#define SHOW(what, call)                                                       \
  do {                                                                         \
    errno = 0;                                                                 \
    long show_r_ = (long)(call);                                               \
    printf("%s: %s\n", (what), show_r_ < 0 ? errname(errno) : "OK");           \
  } while (0)

/* FNV-1a, 32 bits. */
static inline unsigned fnv1a(const void *p, size_t n, unsigned h) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u;
  return h;
}
#define FNV_INIT 2166136261u

#endif
