/*
 * base: UTF-8, as records and JSON need it: a check, and a copy in which
 * every byte that is not part of a valid sequence (and NUL) becomes U+FFFD.
 */
#ifndef MOTE_BASE_UTF8_H
#define MOTE_BASE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when p[0..n) is valid UTF-8 without NUL bytes. */
bool utf8_valid(const uint8_t *p, size_t n);
/* The same bytes as a NUL-terminated string from malloc, invalid bytes as
 * U+FFFD; NULL when out of memory. */
char *utf8_dup(const uint8_t *p, size_t n);

#endif
