/* Growing the heap ahead of the calls (see heap.c). */
#ifndef FUNCTIONS_COMMON_HEAP_H
#define FUNCTIONS_COMMON_HEAP_H

#include <stddef.h>

/* Makes the heap `bytes` larger once, and leaves that space free. */
void heap_reserve(size_t bytes);

#endif
