/* A test function of the server tests whose initialisation fills FILL_MB
 * MiB (a compile-time setting, -DFILL_MB=N) with non-zero bytes, kept in its
 * snapshot; a call prints the byte at 12345. */
#include <stdio.h>
#include <stdlib.h>

#ifndef FILL_MB
#define FILL_MB 40
#endif

static unsigned char *big;

__attribute__((export_name("mote_init"))) void mote_init(void);
void mote_init(void) {
  size_t n = (size_t)FILL_MB << 20;
  big = malloc(n);
  if (big)
    for (size_t i = 0; i < n; i++) big[i] = (unsigned char)(i * 7 + 1);
}

int main(void) {
  printf("%d\n", big ? big[12345] : -1);
  return 0;
}
