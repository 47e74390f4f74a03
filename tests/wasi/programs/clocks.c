/* Clocks: monotonic increases, realtime is a plausible date, resolutions are
 * sane, the CPU-time clocks answer, time() agrees with realtime. Prints only
 * comparisons, never the times. */
//! run exit=0 | @WASM
#include <sys/time.h>
#include <time.h>
#include <wasi/api.h>

#include "common.h"

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(void) {
  struct timespec a, b, r;
  SHOW("monotonic", clock_gettime(CLOCK_MONOTONIC, &a));
  volatile unsigned x = 0;
  for (int i = 0; i < 2000000; i++) x += (unsigned)i;
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("monotonic increases: %s\n", ns(b) > ns(a) ? "yes" : "no");
  int never_back = 1;
  for (int i = 0; i < 10000; i++) {
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (ns(b) < ns(a)) never_back = 0;
    a = b;
  }
  printf("monotonic never goes back: %s\n", never_back ? "yes" : "no");

  SHOW("realtime", clock_gettime(CLOCK_REALTIME, &a));
  /* 2023-01-01 .. 2100-01-01 */
  printf("realtime plausible: %s\n", a.tv_sec > 1672531200LL && a.tv_sec < 4102444800LL ? "yes" : "no");
  printf("realtime nsec in range: %s\n", a.tv_nsec >= 0 && a.tv_nsec < 1000000000L ? "yes" : "no");
  time_t t = time(NULL);
  printf("time() agrees: %s\n", (long long)t - a.tv_sec >= 0 && (long long)t - a.tv_sec <= 2 ? "yes" : "no");
  struct timeval tv;
  gettimeofday(&tv, NULL);
  printf("gettimeofday agrees: %s\n", (long long)tv.tv_sec - a.tv_sec >= 0 && (long long)tv.tv_sec - a.tv_sec <= 2 ? "yes" : "no");

  SHOW("getres monotonic", clock_getres(CLOCK_MONOTONIC, &r));
  printf("monotonic resolution in (0, 1ms]: %s\n", ns(r) > 0 && ns(r) <= 1000000 ? "yes" : "no");
  SHOW("getres realtime", clock_getres(CLOCK_REALTIME, &r));
  printf("realtime resolution in (0, 1ms]: %s\n", ns(r) > 0 && ns(r) <= 1000000 ? "yes" : "no");

  SHOW("process cputime", clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a));
  for (int i = 0; i < 3000000; i++) x += (unsigned)i;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
  printf("process cputime does not go back: %s\n", ns(b) >= ns(a) ? "yes" : "no");
  SHOW("thread cputime", clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a));
  __wasi_timestamp_t ts;
  printf("clock_time_get of clock 99: %s\n", __wasi_clock_time_get(99, 1, &ts) ? "error" : "OK");
  printf("clock_res_get of clock 99: %s\n", __wasi_clock_res_get(99, &ts) ? "error" : "OK");
  return 0;
}
