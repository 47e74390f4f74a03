/* base: mote_mkdirs (fs.c). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
RUN_TESTS(mkdirs_makes_every_missing_parent_and_accepts_what_exists)
