/* A test function of the server tests: sleeps argv[1] milliseconds (WASI
 * poll_oneoff), prints its name, and exits with argv[2] (default 0). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1) usleep(atoi(argv[1]) * 1000);
  printf("%s done\n", argv[0]);
  return argc > 2 ? atoi(argv[2]) : 0;
}
