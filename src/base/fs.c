#include "base/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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

uint8_t *mote_read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  uint8_t *buf = NULL;
  int e = 0;
  if (fstat(fd, &st) != 0) e = errno;
  else if (!S_ISREG(st.st_mode)) e = EINVAL;
  else if (!(buf = malloc(st.st_size ? (size_t)st.st_size : 1))) e = ENOMEM;
  size_t got = 0;
  while (buf && got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      got += (size_t)n;
      continue;
    }
    e = n < 0 ? errno : EIO;
    free(buf);
    buf = NULL;
  }
  close(fd);
  if (!buf) {
    errno = e;
    return NULL;
  }
  *len = got;
  return buf;
}

int mote_lock_file(const char *path, pid_t *holder) {
  if (holder) *holder = 0;
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char buf[24] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (holder && n > 0) *holder = (pid_t)strtol(buf, NULL, 10);
    close(fd);
    errno = e;
    return -1;
  }
  char pid[24];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  /* the pid is for the message of whoever finds the lock held: best effort */
  bool named = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) == n;
  (void)named;
  return fd;
}
