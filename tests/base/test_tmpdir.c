/* base/tmpdir.h: names of work in progress, and what dead processes left. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/tmpdir.h"
#include "compile/cache.h"
#include "test.h"

static void touch(const char *dir, const char *name) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
  CHECK(fd >= 0);
  if (fd >= 0) close(fd);
}

static bool there(const char *dir, const char *name) {
  char path[512];
  struct stat sb;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return lstat(path, &sb) == 0;
}

/* A pid no process has now: a child's, once it has exited and been reaped. */
static long dead_pid(void) {
  pid_t p = fork();
  if (p == 0) _exit(0);
  int st;
  waitpid(p, &st, 0);
  return (long)p;
}

TEST(a_prefix_names_this_process) {
  char a[MOTE_TMP_PREFIX_MAX], b[MOTE_TMP_PREFIX_MAX], want[32];
  mote_tmp_prefix(a);
  mote_tmp_prefix(b);
  CHECK(!strcmp(a, b));
  snprintf(want, sizeof want, "%ld.", (long)getpid());
  CHECK(!strncmp(a, want, strlen(want)));
  CHECK_EQ_INT(strlen(a), strlen(want) + 17);
  CHECK(a[strlen(a) - 1] == '.' && strspn(a + strlen(want), "0123456789abcdef") == 16);
}

/* What the dead left goes (a former process of this pid too, whose nonce
 * differs); a live process's work and names of another form stay. */
TEST(clean_removes_what_dead_processes_left) {
  char dir[] = "/tmp/mote-test-tmpdir-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char mine[MOTE_TMP_PREFIX_MAX], name[256], other_nonce[64], dead[64], tree[512];
  mote_tmp_prefix(mine);
  snprintf(name, sizeof name, "%swork", mine);
  touch(dir, name);
  /* the same pid, another nonce (a restart as PID 1) */
  snprintf(other_nonce, sizeof other_nonce, "%ld.%016llx.blob", (long)getpid(),
           strtoull(mine + strlen(mine) - 17, NULL, 16) ^ 1);
  touch(dir, other_nonce);
  /* a dead process's work directory, with files in it */
  snprintf(dead, sizeof dead, "%ld.0123456789abcdef.files", dead_pid());
  snprintf(tree, sizeof tree, "%s/%s/sub", dir, dead);
  CHECK(mote_mkdirs(tree, 0755) == 0);
  snprintf(tree, sizeof tree, "%s/%s", dir, dead);
  touch(tree, "sub/f");
  touch(dir, "1.0123456789abcdef.init");    /* pid 1: alive */
  touch(dir, "lazy-123-abcdef");            /* not named so: left alone */
  touch(dir, "0.0.x");
  mote_tmp_clean(dir);
  CHECK(there(dir, name) && there(dir, "1.0123456789abcdef.init") && there(dir, "lazy-123-abcdef") &&
        there(dir, "0.0.x"));
  CHECK(!there(dir, other_nonce) && !there(dir, dead));
  CHECK_EQ_INT(mote_remove_tree(dir), 0);
  CHECK(access(dir, F_OK) != 0);
}

/* The compile cache cleans its tmp/ when prepared: a crashed compile's work
 * directory goes. */
TEST(the_compile_cache_removes_a_crashed_compiles_work) {
  char dir[] = "/tmp/mote-test-cache-tmp-XXXXXX", work[512];
  CHECK(mkdtemp(dir) != NULL);
  CHECK_EQ_INT(mote_cache_prepare(dir), 0);
  snprintf(work, sizeof work, "%s/tmp/%ld.0123456789abcdef.0123456789abcdef-Ab12Cd", dir,
           dead_pid());
  CHECK(mote_mkdirs(work, 0755) == 0);
  touch(work, "unit.c");
  CHECK_EQ_INT(mote_cache_prepare(dir), 0);
  CHECK(access(work, F_OK) != 0);
  mote_remove_tree(dir);
}

RUN_TESTS(a_prefix_names_this_process, clean_removes_what_dead_processes_left,
          the_compile_cache_removes_a_crashed_compiles_work)
