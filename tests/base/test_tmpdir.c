/* base/tmpdir.h: names of work in progress, and what dead processes left. */
#include <fcntl.h>
#include <signal.h>
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

/* Another process that joined dir: it names an entry, says so on `ready`,
 * and waits to be killed. */
static pid_t live_joiner(const char *dir, char entry[128]) {
  int p[2];
  CHECK(pipe(p) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    char prefix[MOTE_TMP_PREFIX_MAX], name[128];
    if (mote_tmp_join(dir) != 0) _exit(1);
    mote_tmp_prefix(prefix);
    snprintf(name, sizeof name, "%swork", prefix);
    touch(dir, name);
    if (write(p[1], name, sizeof name) != (ssize_t)sizeof name) _exit(1);
    pause();
    _exit(0);
  }
  close(p[1]);
  CHECK(read(p[0], entry, 128) == 128);
  close(p[0]);
  return pid;
}

/* What processes that are gone left goes when a process cleans (its first
 * join does): a dead
 * one's work (no lock file, or one no one holds), a former process of this
 * pid's (another nonce), pid 1's when it holds no lock (the pid says
 * nothing: another namespace's, or a restart as PID 1). A live process's
 * work stays, whatever its pid, and so do names of another form. */
TEST(joining_removes_what_processes_that_are_gone_left) {
  char dir[] = "/tmp/mote-test-tmpdir-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char other[128];
  CHECK_EQ_INT(mote_tmp_join(dir), 0); /* before the fork: the child inherits the list */
  pid_t child = live_joiner(dir, other);
  char mine[MOTE_TMP_PREFIX_MAX], name[256], other_nonce[64], dead[64], held_gone[64], tree[512];
  mote_tmp_prefix(mine);
  snprintf(name, sizeof name, "%swork", mine);
  touch(dir, name);
  snprintf(other_nonce, sizeof other_nonce, "%ld.%016llx.blob", (long)getpid(),
           strtoull(mine + strlen(mine) - 17, NULL, 16) ^ 1);
  touch(dir, other_nonce);
  /* a dead process's work directory, with files in it, and its lock file */
  snprintf(dead, sizeof dead, "%ld.0123456789abcdef.", dead_pid());
  snprintf(tree, sizeof tree, "%s/%sfiles/sub", dir, dead);
  CHECK(mote_mkdirs(tree, 0755) == 0);
  snprintf(tree, sizeof tree, "%s/%sfiles", dir, dead);
  touch(tree, "sub/f");
  snprintf(name, sizeof name, "%slock", dead);
  touch(dir, name);
  snprintf(held_gone, sizeof held_gone, "1.0123456789abcdef.init"); /* pid 1, no lock */
  touch(dir, held_gone);
  touch(dir, "lazy-123-abcdef"); /* not named so: left alone */
  touch(dir, "0.0.x");
  mote_tmp_clean(dir); /* joined already: a clean of its own */
  snprintf(name, sizeof name, "%swork", mine);
  CHECK(there(dir, name) && there(dir, other) && there(dir, "lazy-123-abcdef") && there(dir, "0.0.x"));
  snprintf(name, sizeof name, "%slock", mine);
  CHECK(there(dir, name));
  CHECK(!there(dir, other_nonce) && !there(dir, held_gone));
  snprintf(name, sizeof name, "%sfiles", dead);
  CHECK(!there(dir, name));
  snprintf(name, sizeof name, "%slock", dead);
  CHECK(!there(dir, name));
  /* the other process gone: its work goes at the next clean */
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  CHECK(there(dir, other));
  mote_tmp_clean(dir);
  CHECK(!there(dir, other));
  CHECK_EQ_INT(mote_remove_tree(dir), 0);
  CHECK(access(dir, F_OK) != 0);
}

/* The compile cache cleans its tmp/ when a process first prepares it: a
 * crashed compile's work directory goes. */
TEST(the_compile_cache_removes_a_crashed_compiles_work) {
  char dir[] = "/tmp/mote-test-cache-tmp-XXXXXX", work[512];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(work, sizeof work, "%s/tmp/%ld.0123456789abcdef.0123456789abcdef-Ab12Cd", dir,
           dead_pid());
  CHECK(mote_mkdirs(work, 0755) == 0);
  touch(work, "unit.c");
  CHECK_EQ_INT(mote_cache_prepare(dir), 0);
  CHECK(access(work, F_OK) != 0);
  mote_remove_tree(dir);
}

RUN_TESTS(a_prefix_names_this_process, joining_removes_what_processes_that_are_gone_left,
          the_compile_cache_removes_a_crashed_compiles_work)
