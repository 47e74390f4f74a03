/* A test action of the server tests (OpenWhisk's native convention): it
 * holds its execution slot until the test lets it go, by creating the file
 * "release" among the action's own files (the test writes it into the
 * version's files directory; the guest sees it at "/release"), then answers
 * {"released":true}. A state the test sets, never a time. */
#include <stdio.h>
#include <time.h>

int main(void) {
  FILE *f;
  while (!(f = fopen("/release", "r"))) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
  fclose(f);
  printf("{\"released\":true}\n");
  return 0;
}
