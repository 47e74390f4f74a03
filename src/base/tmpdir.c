#include "base/tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;
static unsigned long long nonce;

static void make_nonce(void) {
  if (sodium_init() < 0) abort(); /* no randomness: nothing safe to name */
  randombytes_buf(&nonce, sizeof nonce);
}

static unsigned long long process_nonce(void) {
  pthread_once(&nonce_once, make_nonce);
  return nonce;
}

void mote_tmp_prefix(char out[MOTE_TMP_PREFIX_MAX]) {
  snprintf(out, MOTE_TMP_PREFIX_MAX, "%ld.%016llx.", (long)getpid(), process_nonce());
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

/* Whether `name` was made by a process that is gone. */
static bool left_by_the_dead(const char *name) {
  char *end;
  long pid = strtol(name, &end, 10);
  if (end == name || *end != '.' || pid <= 0) return false; /* not ours to judge */
  if (pid == (long)getpid()) {
    char *after;
    unsigned long long n = strtoull(end + 1, &after, 16);
    return !(after == end + 17 && *after == '.' && n == process_nonce());
  }
  return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

void mote_tmp_clean(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  char path[4096];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !left_by_the_dead(e->d_name))
      continue;
    if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
      mote_remove_tree(path);
  }
  closedir(d);
}
