/* Child processes under limits: each limit stops a hostile tool with a clear outcome. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "compile/compile_internal.h"
#include "test.h"

/* The wall-time limit is a guard against a hang in the tests that check
 * another limit: a tool on a loaded 2-core machine may get a fifth of a CPU,
 * so its CPU seconds take five times as long on the wall. */
static const mote_child_limits roomy = {
    .cpu_seconds = 10, .wall_seconds = 300, .memory_bytes = (size_t)1 << 30,
    .output_bytes = (size_t)1 << 20};

TEST(exit_status_and_stderr_tail) {
  const char *argv[] = {"sh", "-c", "echo first >&2; echo 'the last words' >&2; exit 3", NULL};
  mote_child_result r;
  mote_child_run(argv, NULL, &roomy, &r);
  CHECK_EQ_INT(r.outcome, MOTE_CHILD_EXITED);
  CHECK_EQ_INT(r.exit_code, 3);
  CHECK_STR_CONTAINS(r.stderr_tail, "the last words");
}

TEST(cpu_time_limit_kills_a_spinning_tool) {
  mote_child_limits l = roomy;
  l.cpu_seconds = 1;
  const char *argv[] = {"sh", "-c", "while :; do :; done", NULL};
  mote_child_result r;
  mote_child_run(argv, NULL, &l, &r);
  CHECK_EQ_INT(r.outcome, MOTE_CHILD_SIGNALED);
  /* SIGXCPU, not the SIGKILL of a hard limit equal to the soft one, which
   * was described (and treated, chunks.c) as a kill at the memory limit */
  CHECK_EQ_INT(r.signal, SIGXCPU);
  char why[160];
  mote_child_describe(&r, &l, why, sizeof why);
  CHECK_STR_CONTAINS(why, "CPU time limit (1 s)");
}

/* When mote is PID 1 (a container) or a subreaper, the processes of a
 * killed tool's group become its children: none is left a zombie. A forked
 * process plays PID 1 (PR_SET_CHILD_SUBREAPER) and says what it finds. */
TEST(a_killed_tools_children_are_reaped_by_a_subreaper) {
  pid_t reaper = fork();
  if (reaper == 0) {
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) _exit(2);
    mote_child_limits l = roomy;
    l.wall_seconds = 1;
    const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30 & sleep 30", NULL};
    mote_child_result r;
    mote_child_run(argv, NULL, &l, &r);
    if (r.outcome != MOTE_CHILD_WALL_TIME) _exit(3);
    /* no child left, dead or alive */
    _exit(waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD ? 0 : 4);
  }
  int status = 0;
  CHECK(waitpid(reaper, &status, 0) == reaper);
  CHECK(WIFEXITED(status));
  CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

/* True once process `pid` is gone or a zombie (dead, not yet reaped by
 * init); waits for that up to a minute, a bound only against a hang (the
 * processes it waits for would live 300 s). */
static bool dies(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  for (int i = 0; i < 60000; i++) {
    FILE *f = fopen(path, "r");
    if (!f) return true;
    char state = 0;
    int n = fscanf(f, "%*d (%*[^)]) %c", &state);
    fclose(f);
    if (n == 1 && (state == 'Z' || state == 'X')) return true;
    usleep(1000);
  }
  return false;
}

TEST(wall_time_limit_kills_a_sleeping_tool_and_its_children) {
  char dir[] = "/tmp/mote-test-child-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char pid_path[64];
  snprintf(pid_path, sizeof pid_path, "%s/bg.pid", dir);
  /* The tool and a child of its own sleep 300 s; the child's pid goes to a
   * file. The test needs the child started before the limit: a tool that
   * did not get that far in its second (a loaded machine) is run again with
   * a longer limit. */
  const char *argv[] = {"sh", "-c", "sleep 300 & echo $! > bg.tmp && mv bg.tmp bg.pid; sleep 300", NULL};
  mote_child_limits l = roomy;
  mote_child_result r;
  FILE *f = NULL;
  for (l.wall_seconds = 1; l.wall_seconds <= 16 && !f; l.wall_seconds *= 2) {
    unlink(pid_path);
    mote_child_run(argv, dir, &l, &r);
    CHECK_EQ_INT(r.outcome, MOTE_CHILD_WALL_TIME);
    /* The tool was killed: had it not been, it would have run its 300 s. A
     * bound from the test's own numbers, which no amount of load comes near. */
    CHECK(r.wall_ms < 300000);
    f = fopen(pid_path, "r");
  }
  /* And its child was killed with it. */
  int bg = 0;
  CHECK(f && fscanf(f, "%d", &bg) == 1 && bg > 1);
  if (f) fclose(f);
  if (bg > 1 && !dies(bg)) {
    CHECK_MSG(0, "the tool's child outlived it");
    kill(bg, SIGKILL);
  }
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_EQ_INT(system(cmd), 0);
}

TEST(output_size_limit_stops_a_flood) {
  char dir[] = "/tmp/mote-test-child-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  const char *argv[] = {"sh", "-c", "exec yes > flood", NULL};
  mote_child_result r;
  mote_child_run(argv, dir, &roomy, &r);
  CHECK_EQ_INT(r.outcome, MOTE_CHILD_SIGNALED);
  CHECK_EQ_INT(r.signal, SIGXFSZ);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK_EQ_INT(system(cmd), 0);
}

TEST(memory_limit_stops_a_hog) {
  mote_child_limits l = roomy;
  l.memory_bytes = (size_t)64 << 20;
  /* python would be nicer; awk is always there and builds a big string */
  const char *argv[] = {"awk", "BEGIN { s = \"x\"; while (1) s = s s }", NULL};
  mote_child_result r;
  mote_child_run(argv, NULL, &l, &r);
  CHECK(r.outcome != MOTE_CHILD_EXITED || r.exit_code != 0);
  CHECK(r.outcome != MOTE_CHILD_WALL_TIME);
}

TEST(missing_tool_is_named) {
  const char *argv[] = {"mote-no-such-tool", NULL};
  mote_child_result r;
  mote_child_run(argv, NULL, &roomy, &r);
  CHECK_EQ_INT(r.outcome, MOTE_CHILD_SPAWN_FAILED);
  CHECK_STR_CONTAINS(r.stderr_tail, "mote-no-such-tool");
}

/* A tool starts as a fresh process would, whatever the thread that starts it
 * blocked, the process ignores or has open (a lazy compiler's threads block
 * every signal; a server ignores SIGPIPE and holds sockets and pipes). */
/* The signals this process was started with ignored (make, for one, starts
 * its commands with glibc's internal 32 and 33 ignored, which no process
 * can set back), less the ones a tool gets at their defaults. */
static unsigned long long inherited_ignored(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  unsigned long long ign = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "SigIgn: %llx", &ign) == 1) break;
  if (f) fclose(f);
  return ign & ~(1ull << (SIGPIPE - 1) | 1ull << (SIGXFSZ - 1) | 1ull << (SIGXCPU - 1));
}

TEST(the_tool_inherits_no_blocked_or_ignored_signals_nor_descriptors) {
  char ign_line[48];
  snprintf(ign_line, sizeof ign_line, "SigIgn:\t%016llx", inherited_ignored());
  int extra = open("/dev/null", O_RDONLY); /* not close-on-exec */
  CHECK(extra > 2);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  void (*old_pipe)(int) = signal(SIGPIPE, SIG_IGN);
  const char *argv[] = {"sh", "-c",
                        /* builtins only: while the shell spawns a command
                         * (grep) glibc blocks its signals, so grep could read
                         * a transient mask; the shell reads its own here */
                        "while IFS= read -r l; do case \"$l\" in Sig[BI]*) echo \"$l\" >&2;; "
                        "esac; done </proc/$$/status; "
                        "for f in /proc/$$/fd/*; do echo \"fd ${f##*/}\" >&2; done", NULL};
  mote_child_result r;
  mote_child_run(argv, NULL, &roomy, &r);
  signal(SIGPIPE, old_pipe);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(extra);
  CHECK_EQ_INT(r.outcome, MOTE_CHILD_EXITED);
  CHECK_STR_CONTAINS(r.stderr_tail, "SigBlk:\t0000000000000000");
  CHECK_STR_CONTAINS(r.stderr_tail, ign_line);
  char fd_line[32];
  snprintf(fd_line, sizeof fd_line, "fd %d\n", extra);
  CHECK_MSG(strstr(r.stderr_tail, fd_line) == NULL, r.stderr_tail);
  CHECK_STR_CONTAINS(r.stderr_tail, "fd 2");
}

RUN_TESTS(exit_status_and_stderr_tail, cpu_time_limit_kills_a_spinning_tool,
          a_killed_tools_children_are_reaped_by_a_subreaper,
          wall_time_limit_kills_a_sleeping_tool_and_its_children, output_size_limit_stops_a_flood,
          memory_limit_stops_a_hog, missing_tool_is_named,
          the_tool_inherits_no_blocked_or_ignored_signals_nor_descriptors)
