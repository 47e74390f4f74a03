/*
 * A counter: every call adds one to a count that mote_init set, and prints
 * it. Every call is a fresh instance of the snapshot, so every call prints
 * 42: nothing a call wrote is seen by the next.
 */
#include <stdio.h>

static int count;

__attribute__((export_name("mote_init"))) void mote_init(void);
void mote_init(void) {
  count = 41;
}

int main(void) {
  if (!count) mote_init();
  printf("%d\n", ++count);
  return 0;
}
