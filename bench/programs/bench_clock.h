/*
 * Timing of the compute part of a benchmark program, the same way natively
 * and under wasm: the program reports how long its work took (monotonic
 * clock), so start-up, compilation and instantiation are not counted.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

#include <stdio.h>
#include <time.h>

static inline double bench_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* One line on stderr that bench/engine.sh reads. */
static inline void bench_report(double start_us) {
  fprintf(stderr, "compute_us=%.0f\n", bench_now_us() - start_us);
}

#endif
