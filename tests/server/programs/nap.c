/* A test function of the server tests.
 *   nap MS [STATUS]         sleeps MS milliseconds (WASI poll_oneoff)
 *   nap gate NAME [STATUS]  waits until the test opens gate NAME (gate.h;
 *                           deployed as a bundle: server_lib.sh, gate_deploy)
 * then prints its name and exits with STATUS (default 0). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"

int main(int argc, char **argv) {
  int at = 1;
  if (argc > 2 && !strcmp(argv[1], "gate")) {
    if (gate_wait(argv[2]) != 0) return 3;
    at = 2;
  } else if (argc > 1) {
    usleep(atoi(argv[1]) * 1000);
  }
  printf("%s done\n", argv[0]);
  return argc > at + 1 ? atoi(argv[at + 1]) : 0;
}
