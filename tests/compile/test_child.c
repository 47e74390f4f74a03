/* Child processes under limits: each limit stops a hostile tool with a clear outcome. */
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "compile/compile_internal.h"
#include "test.h"

static const mote_child_limits roomy = {
    .cpu_seconds = 10, .wall_seconds = 10, .memory_bytes = (size_t)1 << 30,
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
  CHECK(r.signal == SIGXCPU || r.signal == SIGKILL);
  char why[160];
  mote_child_describe(&r, &l, why, sizeof why);
  CHECK_STR_CONTAINS(why, "limit");
}

TEST(wall_time_limit_kills_a_sleeping_tool_and_its_children) {
  mote_child_limits l = roomy;
  l.wall_seconds = 1;
  const char *argv[] = {"sh", "-c", "sleep 30 & sleep 30", NULL};
  mote_child_result r;
  mote_child_run(argv, NULL, &l, &r);
  CHECK_EQ_INT(r.outcome, MOTE_CHILD_WALL_TIME);
  CHECK(r.wall_ms < 5000);
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

RUN_TESTS(exit_status_and_stderr_tail, cpu_time_limit_kills_a_spinning_tool,
          wall_time_limit_kills_a_sleeping_tool_and_its_children, output_size_limit_stops_a_flood,
          memory_limit_stops_a_hog, missing_tool_is_named)
