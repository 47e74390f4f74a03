/* A test function of the server tests whose initialisation can be held:
 * its mote_init waits at gate "init-go" (gate.h) when its files hold a file
 * named "hold" (which a test adds behind the server's back before a
 * restart), so that a start is held while preparing it, for as long as the
 * test needs. A call prints "ready" when mote_init ran (from its snapshot). */
#include <stdio.h>
#include <unistd.h>

#include "gate.h"

static int ready;

__attribute__((export_name("mote_init"))) void mote_init(void);
void mote_init(void) {
  if (access("/hold", F_OK) == 0 && gate_wait("init-go") != 0) return;
  ready = 1;
}

int main(void) {
  printf("%s\n", ready ? "ready" : "not initialised");
  return 0;
}
