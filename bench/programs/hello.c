/* The smallest real program: libc's stdio, an argument, an exit status. */
#include <stdio.h>

int main(int argc, char **argv) {
  printf("hello from %s with %d argument(s)\n", argv[0], argc - 1);
  return 0;
}
