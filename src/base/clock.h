/* base: the two clocks the platform reads: monotonic microseconds (waits,
 * durations) and Unix milliseconds (records, logs, windows). */
#ifndef MOTE_BASE_CLOCK_H
#define MOTE_BASE_CLOCK_H

#include <stdint.h>

uint64_t mote_now_us(void); /* CLOCK_MONOTONIC */
int64_t mote_wall_ms(void); /* CLOCK_REALTIME */

#endif
