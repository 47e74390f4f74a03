/* Private to src/compile: the content-addressed store of compiled objects. */
#ifndef MOTE_COMPILE_CACHE_H
#define MOTE_COMPILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile.h"

/* key = BLAKE2b-256(toolchain identity, module bytes), as 64 hex digits. */
void mote_cache_key(const uint8_t *wasm, size_t len, mote_tier tier, char key[65]);

/* Creates dir, dir/tmp and dir/locks if needed. 0 or -1 (errno set). */
int mote_cache_prepare(const char *dir);

/* key of one chunk's object = BLAKE2b-256(toolchain identity, the header the
 * chunk includes, the chunk's C). */
void mote_cache_chunk_key(mote_tier tier, const char *header, size_t hlen, const char *unit,
                          size_t ulen, char key[65]);
/* The same key for a chunk's C hashed as it is written, never held: begin
 * (NULL when out of memory), add the C in any pieces, end (frees). */
typedef struct mote_chunk_hasher mote_chunk_hasher;
mote_chunk_hasher *mote_cache_chunk_key_begin(mote_tier tier, const char *header, size_t hlen);
void mote_cache_chunk_key_add(mote_chunk_hasher *h, const void *bytes, size_t n);
void mote_cache_chunk_key_end(mote_chunk_hasher *h, char key[65]);

/* True if dir/<key>.so exists and matches its recorded checksum; fills path. */
bool mote_cache_lookup(const char *dir, const char *key, char *so_path, size_t cap);
/* The same for dir/<key><ext> (".o": chunk objects). */
bool mote_cache_lookup_ext(const char *dir, const char *key, const char *ext, char *path,
                           size_t cap);

/* An exclusive lock on the key, across threads and processes: a file
 * descriptor to pass to mote_cache_unlock, or -1. Blocks while another
 * compile of the same key runs. */
int mote_cache_lock(const char *dir, const char *key);
void mote_cache_unlock(int fd);

/* Moves a freshly built object into the cache under key (checksum first,
 * then the object, each by rename, so a reader never sees half of either).
 * 0 or -1. */
int mote_cache_install(const char *dir, const char *key, const char *built_path, char *so_path,
                       size_t cap);
int mote_cache_install_ext(const char *dir, const char *key, const char *ext,
                           const char *built_path, char *path, size_t cap);

#endif
