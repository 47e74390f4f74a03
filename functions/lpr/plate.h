/* License plates as lpr reads them: what a valid plate is, and its canonical spelling. */
#ifndef LPR_PLATE_H
#define LPR_PLATE_H

#include <stddef.h>

#define PLATE_MIN_LEN 2
#define PLATE_MAX_LEN 8

/* Turns raw input (an argument or a request body) into the canonical plate: surrounding
 * whitespace dropped (a body usually ends in a newline), letters upper-cased. A plate is
 * PLATE_MIN_LEN..PLATE_MAX_LEN characters A-Z or 0-9. Returns 0 and fills out (NUL-terminated);
 * on bad input returns -1 and writes a message saying what is wrong into err. */
int plate_canonical(const char *raw, size_t raw_len, char out[PLATE_MAX_LEN + 1],
                    char *err, size_t err_size);

#endif
