/*
 * Helpers the benchmark programs share (bench_util.c; linked into each).
 */
#ifndef MOTE_BENCH_UTIL_H
#define MOTE_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in microseconds. */
double bench_now_us(void);
/* qsort comparator of doubles. */
int bench_cmp_double(const void *a, const void *b);
/* A whole file: from malloc(), *len bytes; NULL if it cannot be read. */
uint8_t *bench_read_file(const char *path, size_t *len);

#endif
