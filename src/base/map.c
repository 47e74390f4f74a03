/* The hash map (map.h). */
#include <string.h>

#include "base/alloc.h"
#include "base/map.h"

#define MIN_BUCKETS 16

typedef struct entry {
  struct entry *next;
  uint32_t hash;
  void *value;
  char key[]; /* NUL-terminated copy */
} entry;

struct mote_map {
  entry **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;
};

uint32_t mote_hash_str(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

mote_map *mote_map_new(void) {
  mote_map *m = mote_calloc(1, sizeof *m);
  if (!m) return NULL;
  m->buckets = mote_calloc(MIN_BUCKETS, sizeof *m->buckets);
  if (!m->buckets) {
    mote_free(m);
    return NULL;
  }
  m->nbuckets = MIN_BUCKETS;
  return m;
}

void mote_map_free(mote_map *m) {
  if (!m) return;
  for (size_t b = 0; b < m->nbuckets; b++)
    for (entry *e = m->buckets[b], *next; e; e = next) {
      next = e->next;
      mote_free(e);
    }
  mote_free(m->buckets);
  mote_free(m);
}

static entry **slot_of(const mote_map *m, const char *key, uint32_t h) {
  entry **p = &m->buckets[h & (m->nbuckets - 1)];
  while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0)) p = &(*p)->next;
  return p;
}

void *mote_map_get(const mote_map *m, const char *key) {
  entry *e = *slot_of(m, key, mote_hash_str(key));
  return e ? e->value : NULL;
}

/* Doubles the table; when that fails the map keeps its size (and works). */
static void grow(mote_map *m) {
  size_t n = m->nbuckets * 2;
  entry **b = mote_calloc(n, sizeof *b);
  if (!b) return;
  for (size_t i = 0; i < m->nbuckets; i++)
    for (entry *e = m->buckets[i], *next; e; e = next) {
      next = e->next;
      entry **head = &b[e->hash & (n - 1)];
      e->next = *head;
      *head = e;
    }
  mote_free(m->buckets);
  m->buckets = b;
  m->nbuckets = n;
}

int mote_map_put(mote_map *m, const char *key, void *value, void **old) {
  uint32_t h = mote_hash_str(key);
  entry **p = slot_of(m, key, h);
  if (*p) {
    if (old) *old = (*p)->value;
    (*p)->value = value;
    return 0;
  }
  size_t klen = strlen(key);
  entry *e = mote_malloc(sizeof *e + klen + 1);
  if (!e) return -1;
  if (old) *old = NULL;
  e->next = NULL;
  e->hash = h;
  e->value = value;
  memcpy(e->key, key, klen + 1);
  *p = e;
  if (++m->count > m->nbuckets) grow(m);
  return 0;
}

void *mote_map_remove(mote_map *m, const char *key) {
  entry **p = slot_of(m, key, mote_hash_str(key));
  entry *e = *p;
  if (!e) return NULL;
  *p = e->next;
  void *v = e->value;
  mote_free(e);
  m->count--;
  return v;
}

size_t mote_map_count(const mote_map *m) { return m->count; }

bool mote_map_next(const mote_map *m, mote_map_iter *it, const char **key, void **value) {
  entry *e = it->next;
  while (!e && it->bucket < m->nbuckets) e = m->buckets[it->bucket++];
  if (!e) return false;
  it->next = e->next; /* read now: the caller may remove e */
  if (key) *key = e->key;
  if (value) *value = e->value;
  return true;
}
