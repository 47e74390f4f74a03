/*
 * base: the allocation hook of the platform core (src/core, src/base/map.c),
 * in the style of Lua's lua_Alloc: every allocation of those rooms goes
 * through one function, which a test may replace to make the Nth allocation
 * fail and so walk each out-of-memory branch once (tests/core/test_oom.c).
 *
 * The hook is one of the documented few pieces of global state: set it
 * before any thread allocates through it (a test's main), never while the
 * server runs. The default is the C library's malloc/realloc/free, so
 * memory from mote_malloc may be freed with free() and the reverse (the
 * hooks of the tests forward to the C library too).
 */
#ifndef MOTE_BASE_ALLOC_H
#define MOTE_BASE_ALLOC_H

#include <stddef.h>

/* ptr NULL: allocate nsize bytes; nsize 0: free ptr and return NULL; else
 * resize ptr. NULL when out of memory (ptr then still valid). */
typedef void *(*mote_alloc_fn)(void *ud, void *ptr, size_t nsize);

/* Installs fn with its user data (NULL: the C library's). */
void mote_alloc_set(mote_alloc_fn fn, void *ud);

void *mote_malloc(size_t n);
void *mote_calloc(size_t count, size_t size); /* zeroed; NULL on overflow too */
void *mote_realloc(void *p, size_t n);
void mote_free(void *p);
char *mote_strdup(const char *s);

#endif
