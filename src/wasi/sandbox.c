/*
 * The sandbox: every guest path is resolved beneath a directory fd with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS). The kernel walks the path
 * and refuses (EXDEV) any step that would leave the directory: "..", an
 * absolute path, a symlink whose target is absolute or climbs out, and the
 * /proc magic links. Nothing here interprets a path itself, so there is no
 * check-then-use race to win.
 *
 * Operations that act on a last component (unlink, mkdir, rename, symlink,
 * link, set-times without following) open its parent this way and then use
 * the *at syscall on the component, which never follows it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

int wasi_openat_beneath(int dirfd, const char *path, int flags, mode_t mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  /* openat2 refuses O_PATH with anything but O_DIRECTORY and O_NOFOLLOW. */
  how.flags = (uint64_t)(flags | O_CLOEXEC | (flags & O_PATH ? 0 : O_NOCTTY));
  how.mode = (flags & O_CREAT) ? mode : 0; /* openat2 refuses a mode otherwise */
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  if (!*path) {
    errno = ENOENT;
    return -1;
  }
  for (int tries = 0;; tries++) {
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0) return (int)fd;
    /* EAGAIN: a concurrent rename made the kernel unsure; try again. */
    if ((errno == EAGAIN && tries < 16) || errno == EINTR) continue;
    return -1;
  }
}

int wasi_open_parent(int dirfd, const char *path, char *name, bool *trailing_slash) {
  size_t len = strlen(path);
  *trailing_slash = false;
  if (len == 0) {
    errno = ENOENT;
    return -1;
  }
  if (path[0] == '/') { /* absolute: never beneath anything */
    errno = EXDEV;
    return -1;
  }
  while (len > 1 && path[len - 1] == '/') {
    len--;
    *trailing_slash = true;
  }
  size_t start = len;
  while (start > 0 && path[start - 1] != '/') start--;
  size_t nlen = len - start;
  if (nlen == 0 || nlen >= NAME_MAX + 1) {
    errno = nlen ? ENAMETOOLONG : ENOENT;
    return -1;
  }
  memcpy(name, path + start, nlen);
  name[nlen] = '\0';
  char parent[PATH_MAX];
  if (start == 0) {
    strcpy(parent, ".");
  } else {
    memcpy(parent, path, start);
    parent[start] = '\0';
  }
  return wasi_openat_beneath(dirfd, parent, O_PATH | O_DIRECTORY, 0);
}
