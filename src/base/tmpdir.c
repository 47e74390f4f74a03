#include "base/tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;
static unsigned long long nonce;

static void make_nonce(void) {
  if (sodium_init() < 0) abort(); /* no randomness: nothing safe to name */
  randombytes_buf(&nonce, sizeof nonce);
}

void mote_tmp_prefix(char out[MOTE_TMP_PREFIX_MAX]) {
  pthread_once(&nonce_once, make_nonce);
  snprintf(out, MOTE_TMP_PREFIX_MAX, "%ld.%016llx.", (long)getpid(), nonce);
}

/* nftw has no user pointer: a walk's first error is kept per thread. */
static __thread int walk_errno;

static int remove_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb, (void)type, (void)ftw;
  if (remove(path) != 0 && !walk_errno) walk_errno = errno;
  return 0;
}

int mote_remove_tree(const char *path) {
  walk_errno = 0;
  if (nftw(path, remove_cb, 16, FTW_DEPTH | FTW_PHYS) != 0 && !walk_errno) walk_errno = errno;
  return walk_errno;
}

/* The directories this process has joined, each with its lock's fd and
 * the pid that joined (a forked child inherits the list: it joins anew). */
static pthread_mutex_t joined_lock = PTHREAD_MUTEX_INITIALIZER;
static struct joined {
  char *dir;
  int fd;
  pid_t pid;
} *joined;
static size_t njoined;

/* The length of the prefix `name` starts with ("<digits>.<16 hex>."), or 0. */
static size_t prefix_len(const char *name) {
  size_t d = strspn(name, "0123456789");
  if (d == 0 || d > 20 || name[d] != '.') return 0;
  if (strspn(name + d + 1, "0123456789abcdef") != 16 || name[d + 17] != '.') return 0;
  return d + 18;
}

/* Whether the process of prefix p (n bytes) is gone: its lock file in dir
 * missing, or not held by anyone. A lock file found free is unlinked while
 * we hold it: a process that made it and takes it after us then finds its
 * path gone (take_lock) and makes another. Unlinked after our close, as
 * until stop 30, it could be taken in between, and its live owner lost it:
 * every cleaner after that judged the owner gone and removed its work. */
static bool gone(const char *dir, const char *p, size_t n) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%.*slock", dir, (int)n, p) >= (int)sizeof path) return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno == ENOENT;
  bool free_lock = flock(fd, LOCK_EX | LOCK_NB) == 0;
  /* only the file we hold: another cleaner may have unlinked it meanwhile,
   * and its owner made and took a new one at the path */
  struct stat a, b;
  if (free_lock && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino)
    unlink(path);
  close(fd); /* the lock, if taken, with it */
  return free_lock;
}

void mote_tmp_clean(const char *dir) {
  char mine[MOTE_TMP_PREFIX_MAX];
  mote_tmp_prefix(mine);
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[4096];
  while ((e = readdir(d))) {
    size_t n = prefix_len(e->d_name);
    if (!n || !strncmp(e->d_name, mine, n) || !gone(dir, e->d_name, n)) continue;
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
      mote_remove_tree(path);
  }
  closedir(d);
}

/* This process's lock file in dir, made and held: its fd, or -1. A cleaner
 * may judge a file we made but have not locked yet as left by the dead and
 * remove it: then the path no longer leads to our file, and it is made again. */
static int take_lock(const char *dir, const char *mine) {
  char path[4096];
  if (snprintf(path, sizeof path, "%s/%slock", dir, mine) >= (int)sizeof path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (int tries = 0; tries < 100; tries++) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return -1;
    struct stat a, b;
    if (flock(fd, LOCK_EX) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
        a.st_dev == b.st_dev && a.st_ino == b.st_ino)
      return fd;
    close(fd);
  }
  errno = EAGAIN;
  return -1;
}

int mote_tmp_join(const char *dir) {
  char mine[MOTE_TMP_PREFIX_MAX];
  mote_tmp_prefix(mine);
  pthread_mutex_lock(&joined_lock);
  bool known = false;
  pid_t me = getpid();
  for (size_t i = 0; i < njoined && !known; i++)
    known = joined[i].pid == me && !strcmp(joined[i].dir, dir);
  int rc = 0;
  if (!known) {
    struct joined *g = realloc(joined, (njoined + 1) * sizeof *joined);
    char *copy = strdup(dir);
    int fd = g && copy ? take_lock(dir, mine) : -1;
    if (g) joined = g;
    if (fd < 0) {
      free(copy);
      rc = -1;
    } else {
      joined[njoined++] = (struct joined){copy, fd, me};
    }
  }
  pthread_mutex_unlock(&joined_lock);
  if (rc == 0 && !known) mote_tmp_clean(dir);
  return rc;
}
