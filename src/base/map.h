/*
 * base: the one hash map of mote: C-string keys (copied) to pointers (the
 * caller's). Chains in a power-of-two table that doubles once there are
 * more entries than buckets, so lookups stay short however many functions,
 * namespaces or keys there are. Allocates through base/alloc.h.
 *
 * Not thread-safe: the owner guards it (the registry, admission, quotas,
 * metrics and accounting each hold it under their own mutex). A value's
 * lifetime is the owner's business: remove or iterate it out before
 * mote_map_free.
 *
 * mote_hash_str is its hash (FNV-1a, 32 bits), also for structures that are
 * not maps (the direct-mapped key cache of core/identity.c).
 */
#ifndef MOTE_BASE_MAP_H
#define MOTE_BASE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mote_map mote_map;

uint32_t mote_hash_str(const char *s);

mote_map *mote_map_new(void); /* NULL when out of memory */
void mote_map_free(mote_map *m); /* the values are not touched */
/* The value of key, or NULL. */
void *mote_map_get(const mote_map *m, const char *key);
/* Sets key to value (not NULL): 0, or -1 when out of memory (the map is
 * then unchanged). *old (may be NULL) gets the value it replaced, or NULL. */
int mote_map_put(mote_map *m, const char *key, void *value, void **old);
/* Removes key: its value, or NULL when it was not there. */
void *mote_map_remove(mote_map *m, const char *key);
size_t mote_map_count(const mote_map *m);

/* Iteration in no particular order: start from a zeroed iterator; false
 * at the end. The map must not change meanwhile (mote_map_remove of the
 * entry just returned excepted). */
typedef struct mote_map_iter {
  size_t bucket;
  void *next;
} mote_map_iter;
bool mote_map_next(const mote_map *m, mote_map_iter *it, const char **key, void **value);

#endif
