/*
 * heap_reserve: called from a function's mote_init, it grows the heap once,
 * before the platform snapshots the memory, so that calls find the space
 * already there.
 *
 * Why: every call starts from the snapshot. Memory the snapshot has costs a
 * call nothing (the pool hands out slots whose pages are resident), but a
 * call that grows memory (memory.grow under malloc) makes the runtime open
 * new pages with mprotect, and on the test VM the first write to each such
 * page then faults (~9 us a page) and the next call's slot must be closed
 * back to the snapshot's size (a TLB shootdown). wasm memory never shrinks
 * and wasi-libc's malloc keeps freed space, so a malloc + free of the
 * working set leaves the heap grown and free. Natively it is a no-op in
 * effect (the block goes back to the allocator).
 */
#include <stdlib.h>

#include "heap.h"

void heap_reserve(size_t bytes)
{
    /* volatile: the compiler may not drop a malloc whose result is unused. */
    void *volatile block = malloc(bytes);
    free(block);
}
