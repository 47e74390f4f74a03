/* base: the two clocks the platform reads: monotonic microseconds (waits,
 * durations) and Unix milliseconds (records, logs, windows). */
#ifndef MOTE_BASE_CLOCK_H
#define MOTE_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

uint64_t mote_now_us(void); /* CLOCK_MONOTONIC */
int64_t mote_wall_ms(void); /* CLOCK_REALTIME */
/* The time `ms` milliseconds from now on `clock`, as pthread_cond_timedwait
 * takes it (CLOCK_REALTIME, or the clock set on the condition's attributes). */
struct timespec mote_time_in(clockid_t clock, uint32_t ms);

#endif
