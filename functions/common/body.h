/* The request body of a function: all of stdin, read into memory. Shared by the functions in
 * functions/, native and wasm builds alike. */
#ifndef FUNCTIONS_BODY_H
#define FUNCTIONS_BODY_H

#include <stddef.h>

/* A body larger than this is refused: the server caps bodies at 16 MiB, and the cap keeps a
 * native run from swallowing an endless pipe. */
#define BODY_MAX_BYTES ((size_t)64 << 20)

/* Reads stdin to its end. On success returns a buffer from malloc (the caller frees it) holding
 * *len bytes plus a terminating NUL not counted in *len. On failure prints "NAME: reason" on
 * stderr and returns NULL. */
unsigned char *body_read_stdin(const char *name, size_t *len);

#endif
