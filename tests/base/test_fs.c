/* base: mote_mkdirs and mote_lock_file (fs.c). */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "test.h"

static bool is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

TEST(mkdirs_makes_every_missing_parent_and_accepts_what_exists) {
  char root[] = "/tmp/mote-test-fs-XXXXXX", path[256], file[256];
  CHECK(mkdtemp(root) != NULL);
  snprintf(path, sizeof path, "%s/a/b//c/", root);
  CHECK_EQ_INT(mote_mkdirs(path, 0755), 0);
  snprintf(path, sizeof path, "%s/a/b/c", root);
  CHECK(is_dir(path));
  CHECK_EQ_INT(mote_mkdirs(path, 0755), 0); /* again: already there */
  /* A file in the way: ENOTDIR, for the last part and for a parent. */
  snprintf(file, sizeof file, "%s/a/f", root);
  FILE *f = fopen(file, "w");
  CHECK(f != NULL);
  fclose(f);
  errno = 0;
  CHECK_EQ_INT(mote_mkdirs(file, 0755), -1);
  CHECK_EQ_INT(errno, ENOTDIR);
  snprintf(path, sizeof path, "%s/a/f/g", root);
  errno = 0;
  CHECK_EQ_INT(mote_mkdirs(path, 0755), -1);
  CHECK_EQ_INT(errno, ENOTDIR);
  errno = 0;
  CHECK_EQ_INT(mote_mkdirs("", 0755), -1);
  CHECK_EQ_INT(errno, ENOENT);
  /* Relative paths too. */
  char cwd[4096];
  CHECK(getcwd(cwd, sizeof cwd) != NULL);
  CHECK_EQ_INT(chdir(root), 0);
  CHECK_EQ_INT(mote_mkdirs("r/s", 0755), 0);
  CHECK_EQ_INT(chdir(cwd), 0);
  snprintf(path, sizeof path, "%s/r/s", root);
  CHECK(is_dir(path));
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  CHECK_EQ_INT(system(cmd), 0);
}
TEST(a_lock_file_is_held_by_one_open_and_names_its_holder) {
  char root[] = "/tmp/mote-test-lock-XXXXXX", path[256];
  CHECK(mkdtemp(root) != NULL);
  snprintf(path, sizeof path, "%s/serve.lock", root);
  pid_t holder = -1;
  int fd = mote_lock_file(path, &holder);
  CHECK(fd >= 0);
  CHECK_EQ_INT(holder, 0);
  /* a second take, in the same process, is refused and names us */
  CHECK_EQ_INT(mote_lock_file(path, &holder), -1);
  CHECK_EQ_INT(errno, EWOULDBLOCK);
  CHECK_EQ_INT(holder, getpid());
  close(fd);
  /* held by another process: refused, naming it, until it ends */
  int ready[2];
  CHECK(pipe(ready) == 0);
  pid_t child = fork();
  if (child == 0) {
    int cfd = mote_lock_file(path, NULL);
    char b = cfd >= 0 ? 'y' : 'n';
    if (write(ready[1], &b, 1) != 1) _exit(2);
    pause();
    _exit(0);
  }
  char b = 0;
  CHECK(read(ready[0], &b, 1) == 1 && b == 'y');
  CHECK_EQ_INT(mote_lock_file(path, &holder), -1);
  CHECK_EQ_INT(holder, child);
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  fd = mote_lock_file(path, &holder);
  CHECK(fd >= 0);
  close(fd);
  close(ready[0]);
  close(ready[1]);
  unlink(path);
  rmdir(root);
}

RUN_TESTS(mkdirs_makes_every_missing_parent_and_accepts_what_exists,
          a_lock_file_is_held_by_one_open_and_names_its_holder)
