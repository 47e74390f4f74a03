/* poll_oneoff where Node is wrong, so this compares with
 * expected/poll_spec.K.out instead:
 * - an absolute clock subscription (clock_nanosleep TIMER_ABSTIME): Node 20
 *   takes the absolute time as relative and sleeps for the machine's uptime
 *   (it hangs, hence node=skip rather than node=wrong);
 * - fd subscriptions on regular files (stdin from a file, stdout to a file):
 *   the spec says regular files are always ready; Node fails the whole call.
 * - a subscription on a closed fd must come back (with an error), not hang.
 * "At once" is checked as "within 5 s", loose enough that no load breaks
 * it: the failures it catches take the poll's 60 s timeout, or the machine's
 * uptime (an absolute time read as relative). */
//! run exit=0 node=skip stdin=data | @WASM
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

static long long now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
  long long t0 = now();
  struct timespec abs;
  clock_gettime(CLOCK_MONOTONIC, &abs);
  abs.tv_nsec += 40 * 1000000;
  if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
  printf("clock_nanosleep abs: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
  long long ms = (now() - t0) / 1000000;
  printf("slept >= 40 ms: %s, < 5 s: %s\n", ms >= 40 ? "yes" : "no", ms < 5000 ? "yes" : "no");
  /* An absolute time in the past returns at once. */
  t0 = now();
  abs.tv_sec -= 10;
  printf("clock_nanosleep abs in the past: %d\n", clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL));
  printf("returned within 5 s: %s\n", (now() - t0) / 1000000 < 5000 ? "yes" : "no");

  struct pollfd p = {.fd = 0, .events = POLLIN};
  int r = poll(&p, 1, 2000);
  printf("poll stdin (a file): %d, POLLIN: %s\n", r, r > 0 && (p.revents & POLLIN) ? "yes" : "no");
  struct pollfd q = {.fd = 1, .events = POLLOUT};
  r = poll(&q, 1, 2000);
  printf("poll stdout (a file): %d, POLLOUT: %s\n", r, r > 0 && (q.revents & POLLOUT) ? "yes" : "no");
  struct pollfd both[2] = {{.fd = 0, .events = POLLIN}, {.fd = 1, .events = POLLOUT}};
  r = poll(both, 2, 2000);
  printf("poll both: %d\n", r);
  t0 = now();
  struct pollfd bad = {.fd = 99, .events = POLLIN};
  r = poll(&bad, 1, 60000);
  printf("poll closed fd returned within 5 s: %s\n", (now() - t0) / 1000000 < 5000 ? "yes" : "no");
  return 0;
}
