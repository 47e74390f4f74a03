#include "base/fs.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

/* One directory: made, or already one. */
static int mkdir_one(const char *path, mode_t mode) {
  if (mkdir(path, mode) == 0) return 0;
  int e = errno;
  struct stat sb;
  if (e == EEXIST && stat(path, &sb) == 0) {
    if (S_ISDIR(sb.st_mode)) return 0;
    e = ENOTDIR;
  }
  errno = e;
  return -1;
}

int mote_mkdirs(const char *path, mode_t mode) {
  char p[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0) {
    errno = ENOENT;
    return -1;
  }
  if (n >= sizeof p) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(p, path, n + 1);
  /* Each parent in turn (a leading '/' and repeated slashes are skipped). */
  for (size_t i = 1; i < n; i++) {
    if (p[i] != '/' || p[i - 1] == '/') continue;
    p[i] = '\0';
    int rc = mkdir_one(p, mode);
    p[i] = '/';
    if (rc != 0) return -1;
  }
  return mkdir_one(p, mode);
}
