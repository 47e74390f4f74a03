/*
 * base: content hashes, as every layer that names things by content spells
 * them: BLAKE2b-256 (libsodium's crypto_generichash) in 64 lower-case hex
 * digits.
 */
#ifndef MOTE_BASE_HASH_H
#define MOTE_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MOTE_HASH_BYTES 32
#define MOTE_HASH_HEX (2 * MOTE_HASH_BYTES + 1) /* with the NUL */

/* `n` bytes as hex into out (2n + 1 bytes). */
void mote_hex(const unsigned char *bin, size_t n, char *out);
/* Whether string s is a hash in hex as mote_hex writes it (64 lowercase hex
 * digits, nothing else). s may be NULL (false). */
bool mote_is_hash_hex(const char *s);
/* The hash of a buffer. */
void mote_hash_bytes(const void *data, size_t len, char out[MOTE_HASH_HEX]);
/* The hash of what remains to be read from fd (read to the end; the caller
 * keeps the fd) and its byte count (size may be NULL); 0, or -1 with errno. */
int mote_hash_fd(int fd, char out[MOTE_HASH_HEX], uint64_t *size);

#endif
