/* The gate of the test functions (programs/nap.c, tool.c of test_server.sh,
 * tests/openwhisk/actions/echo.c): a call that holds its execution slot for
 * exactly as long as a test needs a state, instead of a sleep guessed long
 * enough. gate_wait(NAME) returns once the file NAME exists in the
 * function's files (its bundle, at "/"), which the test creates behind the
 * server's back when it has seen what it needed (server_lib.sh: gate_open).
 * It gives up after about 10 minutes, so that a test that never opens the
 * gate cannot hold a worker for ever: then it says so on stderr and returns
 * non-zero. */
#ifndef MOTE_TEST_GATE_H
#define MOTE_TEST_GATE_H

#include <stdio.h>
#include <unistd.h>

static int gate_wait(const char *name) {
  char path[256];
  snprintf(path, sizeof path, "/%s", name);
  for (long i = 0; i < 10L * 60 * 500; i++) { /* steps of at least 2 ms */
    if (access(path, F_OK) == 0) return 0;
    usleep(2000);
  }
  fprintf(stderr, "gate %s never opened\n", name);
  return 1;
}

#endif
