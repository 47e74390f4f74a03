/*
 * Linear memories. Each one is an 8 GiB + guard PROT_NONE reservation whose
 * first `pages` pages are read-write, so any address generated code can form
 * either hits the memory or faults inside the reservation (signals.c turns
 * that into an out-of-bounds trap).
 *
 * Live reservations are listed in `regions`, a fixed array of atomic base
 * addresses that the signal handler scans without locks. One of the few
 * shared mutable globals. Reservations come from and go back to the pool
 * (pool.c), or from an image's own slots (image.c) when the memory starts
 * as a snapshot's image; a waiting one is not in `regions`, so a fault there
 * is never taken for a guest's trap.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include "rt/rt_internal.h"

/* About 16,000 reservations fit in the address space: this is more. */
#define MAX_REGIONS 32768u
#define REGION_SIZE (MOTE_RT_RESERVE_SIZE + MOTE_RT_GUARD_SIZE)

static _Atomic uintptr_t regions[MAX_REGIONS];
/* Per live region: how far from its base pages may be resident (all zero
 * past the memory's size), as the pool handed it out, and the image its
 * slot maps (NULL for a plain pooled slot). Only the memory's owner reads
 * or writes its entry, between region_add and region_remove (which reads
 * them before it frees the entry for others). */
static uint64_t region_resident[MAX_REGIONS];
static mote_rt_image *region_image[MAX_REGIONS];
/* One past the highest slot ever used: bounds the handler's scan. */
static atomic_uint regions_end;

/* The index of the entry now holding base, or UINT32_MAX when full. */
static uint32_t region_add(uintptr_t base) {
  /* Start where the base hashes to, so concurrent adds rarely collide. */
  uint32_t start = (uint32_t)((base >> 16) * 2654435761u) % MAX_REGIONS;
  for (uint32_t k = 0; k < MAX_REGIONS; k++) {
    uint32_t i = (start + k) % MAX_REGIONS;
    uintptr_t expected = 0;
    if (atomic_compare_exchange_strong(&regions[i], &expected, base)) {
      unsigned end = atomic_load(&regions_end);
      while (end < i + 1 && !atomic_compare_exchange_weak(&regions_end, &end, i + 1)) {
      }
      return i;
    }
  }
  return UINT32_MAX;
}

/* Removes base; *resident and *img get its entry's values (0 and NULL if
 * base was not there). */
static void region_remove(uintptr_t base, uint64_t *resident, mote_rt_image **img) {
  uint32_t start = (uint32_t)((base >> 16) * 2654435761u) % MAX_REGIONS;
  *resident = 0;
  *img = NULL;
  for (uint32_t k = 0; k < MAX_REGIONS; k++) {
    uint32_t i = (start + k) % MAX_REGIONS;
    if (atomic_load_explicit(&regions[i], memory_order_relaxed) != base) continue;
    /* Read before the entry is free: another memory may take it at once. */
    *resident = region_resident[i];
    *img = region_image[i];
    region_image[i] = NULL;
    atomic_store(&regions[i], 0);
    return;
  }
}

bool mote_rt_memory_region_contains(uintptr_t addr) {
  unsigned end = atomic_load(&regions_end);
  for (unsigned i = 0; i < end; i++) {
    uintptr_t base = atomic_load_explicit(&regions[i], memory_order_relaxed);
    if (base && addr >= base && addr - base < REGION_SIZE) return true;
  }
  return false;
}

bool mote_rt_memory_init_image(wasm_rt_memory_t *mem, uint32_t initial, uint32_t max,
                               mote_rt_image *img) {
  uint8_t *base = NULL;
  uint64_t acc = 0, resident = 0;
  uint32_t region = UINT32_MAX;
  bool ok = false;
  memset(mem, 0, sizeof *mem);
  if (max > MOTE_RT_MAX_PAGES) max = MOTE_RT_MAX_PAGES;
  if (initial > max) return false;

  size_t bytes = (size_t)initial * MOTE_RT_PAGE_SIZE;
  base = img ? mote_rt_image_take(img, bytes, &acc, &resident)
             : mote_rt_pool_take(bytes, &acc, &resident);
  if (!base) return false;
  /* Registered before any page is usable, so a fault is never unclaimed.
   * (An image slot's pages are mapped already, but nothing runs on them
   * before this returns.) */
  region = region_add((uintptr_t)base);
  if (region == UINT32_MAX) goto out;
  region_resident[region] = resident;
  region_image[region] = img;
  /* A pooled reservation keeps its last user's read-write range: fit it to
   * this memory, so that an access past `bytes` faults. */
  if (acc > bytes && mprotect(base + bytes, acc - bytes, PROT_NONE) != 0) goto out;
  if (acc < bytes && mprotect(base + acc, bytes - acc, PROT_READ | PROT_WRITE) != 0) goto out;

  mem->data = base;
  mem->pages = initial;
  mem->max_pages = max;
  mem->size = (uint32_t)bytes;
  ok = true;
out:
  if (!ok && region != UINT32_MAX) region_remove((uintptr_t)base, &resident, &img);
  /* Its protection is unknown now: not back to the pool. */
  if (!ok && img) mote_rt_image_discard(img, base);
  else if (!ok) mote_rt_pool_unmap(base);
  return ok;
}

bool mote_rt_memory_init(wasm_rt_memory_t *mem, uint32_t initial, uint32_t max) {
  return mote_rt_memory_init_image(mem, initial, max, NULL);
}

/* The wasm_rt_* functions below run as runtime work (thread.c): a deadline
 * waits until they are done. */

void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial, uint32_t max) {
  const mote_rt_limits *limits = mote_rt_tls.limits;
  if (limits && limits->max_memory_pages && max > limits->max_memory_pages)
    max = limits->max_memory_pages;
  mote_rt_critical_enter();
  bool ok = mote_rt_memory_init(mem, initial, max);
  if (ok) mote_rt_own_note(mem, true, false);
  mote_rt_critical_leave();
  if (!ok) mote_rt_deliver(MOTE_TRAP_RESOURCE, 0);
}

static uint32_t grow(wasm_rt_memory_t *mem, uint32_t delta) {
  uint32_t old = mem->pages;
  uint64_t want = (uint64_t)old + delta;
  if (want > mem->max_pages || want > MOTE_RT_MAX_PAGES || !mem->data) return UINT32_MAX;
  if (delta == 0) return old;
  /* Pages past `pages` were never writable, so they are still zero. */
  uint8_t *from = mem->data + (size_t)old * MOTE_RT_PAGE_SIZE;
  if (mprotect(from, (size_t)delta * MOTE_RT_PAGE_SIZE, PROT_READ | PROT_WRITE) != 0) {
    /* It may have changed part of the range: past `size` must fault. */
    mprotect(from, (size_t)delta * MOTE_RT_PAGE_SIZE, PROT_NONE);
    return UINT32_MAX;
  }
  mem->pages = (uint32_t)want;
  mem->size = (uint32_t)(want * MOTE_RT_PAGE_SIZE);
  return old;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta) {
  mote_rt_critical_enter();
  uint32_t r = grow(mem, delta);
  mote_rt_critical_leave();
  return r;
}

void wasm_rt_free_memory(wasm_rt_memory_t *mem) {
  if (!mem || !mem->data) return;
  mote_rt_critical_enter();
  uint64_t resident;
  mote_rt_image *img;
  region_remove((uintptr_t)mem->data, &resident, &img);
  /* [0, size) is exactly what is read-write (grow keeps it so). */
  if (resident < mem->size) resident = mem->size;
  if (img) mote_rt_image_give(img, mem->data, mem->size, resident);
  else mote_rt_pool_give(mem->data, mem->size, resident);
  memset(mem, 0, sizeof *mem);
  mote_rt_critical_leave();
}

wasm_rt_memory_t *mote_rt_memory_new(uint32_t min_pages, uint32_t max_pages, bool has_max) {
  wasm_rt_memory_t *mem = calloc(1, sizeof *mem); /* freed by mote_rt_memory_free */
  if (!mem) return NULL;
  if (!mote_rt_memory_init(mem, min_pages, has_max ? max_pages : MOTE_RT_MAX_PAGES)) {
    free(mem);
    return NULL;
  }
  return mem;
}

void mote_rt_memory_free(wasm_rt_memory_t *mem) {
  if (!mem) return;
  wasm_rt_free_memory(mem);
  free(mem);
}
