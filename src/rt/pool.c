/*
 * The pool of linear-memory reservations: a process-wide free list of
 * 8 GiB + guard regions that freed memories return to and new memories take
 * from, so an instance per call costs neither a fresh reservation nor its
 * page tables, nor (for the pages the last user touched) new page faults.
 *
 * When it was built (bench/instantiate) the first touch of a page in a
 * fresh reservation cost ~50 us on this VM and munmap of a used one ~30 us;
 * memset() of 128 KiB of resident pages costs ~1-2 us (1 MiB ~17 us) and
 * mincore() of 1 MiB ~2 us. So a slot is reset by zeroing in place the
 * pages that are resident (found with mincore, 1 MiB at a time) within its
 * first POOL_KEEP_BYTES, and dropping the rest with MADV_DONTNEED: the next
 * user finds those pages present and zero and takes no fault on them.
 * Pooled slots together keep at most POOL_RESIDENT_BUDGET resident; past
 * it, a slot given back is dropped whole, so idle memory stays bounded.
 * (Memories made from a snapshot's mapped image do better: image.c resets
 * only the pages a call wrote. Slots of images share the budget.)
 *
 * A pooled slot is invisible to the signal handler (memory.c unregisters it
 * before giving it back), keeps the read-write range its last user had
 * (`acc` bytes: changing protection of present pages costs ~25 us, and the
 * next user is usually the same module with the same initial size), and
 * reads as zero everywhere. memory.c sets the protection for the new size
 * when it takes a slot.
 *
 * The free list is a small array behind a mutex held only to push or pop
 * (no system call inside); the slot's reset runs outside it. At most
 * POOL_MAX_FREE slots are kept; more are unmapped.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt/rt_internal.h"

#define REGION_SIZE (MOTE_RT_RESERVE_SIZE + MOTE_RT_GUARD_SIZE)
/* The smallest page size mincore() may report in: sizes its vector. */
#define MIN_OS_PAGE 4096u

typedef struct pool_slot {
  uint8_t *base;
  uint64_t acc;  /* bytes from base that are read-write */
  uint64_t kept; /* bytes from base that may be resident (counted in pool_resident) */
} pool_slot;

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pool_slot pool_free[MOTE_RT_POOL_MAX_FREE]; /* [0, pool_nfree) valid, newest last */
static unsigned pool_nfree;
static uint64_t pool_resident; /* sum of the free slots' `kept`, under pool_lock */

static atomic_uint_fast64_t stat_reserved, stat_reused, stat_mapped;

uint8_t *mote_rt_pool_take(uint64_t bytes, uint64_t *acc, uint64_t *resident) {
  pool_slot s = {NULL, 0, 0};
  pthread_mutex_lock(&pool_lock);
  if (pool_nfree) {
    /* The newest slot whose read-write range already fits (no mprotect),
     * else the newest one. */
    unsigned pick = pool_nfree - 1;
    for (unsigned i = pool_nfree; i-- > 0;) {
      if (pool_free[i].acc == bytes) {
        pick = i;
        break;
      }
    }
    s = pool_free[pick];
    memmove(&pool_free[pick], &pool_free[pick + 1], (pool_nfree - pick - 1) * sizeof s);
    pool_nfree--;
    pool_resident -= s.kept;
  }
  pthread_mutex_unlock(&pool_lock);
  if (s.base) {
    atomic_fetch_add(&stat_reused, 1);
    *acc = s.acc;
    *resident = s.kept;
    return s.base;
  }
  void *base = mmap(NULL, REGION_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) return NULL;
  atomic_fetch_add(&stat_reserved, 1);
  atomic_fetch_add(&stat_mapped, 1);
  *acc = 0;
  *resident = 0;
  return base;
}

void mote_rt_pool_unmap(uint8_t *base) {
  if (!base) return;
  munmap(base, REGION_SIZE);
  atomic_fetch_sub(&stat_reserved, 1);
}

/* Makes [0, used) of the range read as zero again, keeping at most `keep`
 * bytes of it resident. False if that failed. */
static bool reset(uint8_t *base, uint64_t used, uint64_t keep) {
  if (keep > used) keep = used;
  unsigned char vec[(1u << 20) / MIN_OS_PAGE];
  long os_page = sysconf(_SC_PAGESIZE);
  if (os_page < (long)MIN_OS_PAGE) {
    keep = 0; /* mincore's vector would not fit: drop it all */
  }
  uint64_t page = (uint64_t)os_page;
  for (uint64_t at = 0; at < keep; at += 1u << 20) {
    uint64_t len = keep - at < (1u << 20) ? keep - at : (1u << 20);
    uint8_t *chunk = base + at;
    if (mincore(chunk, len, vec) != 0) {
      if (madvise(chunk, len, MADV_DONTNEED) != 0) return false;
      continue;
    }
    /* Zero each run of resident pages; absent ones already read as zero.
     * (A page the guest only read may be the kernel's zero page, and the
     * memset then faults in a real one, once: from then on the slot has a
     * real page there. Checking every page for zeros first cost more, per
     * reset, than those one-time faults: 4.8 vs 2.6 us for hello.) */
    size_t pages = (size_t)((len + page - 1) / page);
    for (size_t i = 0; i < pages;) {
      if (!(vec[i] & 1)) {
        i++;
        continue;
      }
      size_t j = i;
      while (j < pages && (vec[j] & 1)) j++;
      uint64_t end = (uint64_t)j * page;
      if (end > len) end = len;
      memset(chunk + (size_t)i * page, 0, (size_t)(end - (uint64_t)i * page));
      i = j;
    }
  }
  if (used > keep && madvise(base + keep, used - keep, MADV_DONTNEED) != 0) return false;
  return true;
}

uint64_t mote_rt_pool_budget_take(uint64_t want) {
  pthread_mutex_lock(&pool_lock);
  if (pool_resident + want > MOTE_RT_POOL_RESIDENT_BUDGET)
    want = pool_resident < MOTE_RT_POOL_RESIDENT_BUDGET ? MOTE_RT_POOL_RESIDENT_BUDGET - pool_resident
                                                        : 0;
  pool_resident += want;
  pthread_mutex_unlock(&pool_lock);
  return want;
}

void mote_rt_pool_budget_put(uint64_t bytes) {
  pthread_mutex_lock(&pool_lock);
  pool_resident -= bytes < pool_resident ? bytes : pool_resident;
  pthread_mutex_unlock(&pool_lock);
}

uint64_t mote_rt_pool_scrub(uint8_t *base, uint64_t used, uint64_t resident, bool *ok) {
  /* Reserve this range's share of the resident budget before the reset,
   * which decides what stays resident. */
  if (resident < used) resident = used;
  uint64_t keep = mote_rt_pool_budget_take(resident < MOTE_RT_POOL_KEEP_BYTES
                                               ? resident
                                               : MOTE_RT_POOL_KEEP_BYTES);
  /* Past `used` the pages are zero and not readable: only dropped, if past
   * `keep`. Kept, they spare the next user's growth its page faults. */
  *ok = reset(base, used, keep);
  if (*ok && resident > used && resident > keep) {
    uint64_t from = keep > used ? keep : used;
    *ok = madvise(base + from, resident - from, MADV_DONTNEED) == 0;
  }
  return keep;
}

void mote_rt_pool_give(uint8_t *base, uint64_t used, uint64_t resident) {
  if (!base) return;
  /* A full pool: no need to reset what is unmapped anyway. (Racy on
   * purpose: the check under the lock below is the one that counts.) */
  if (__atomic_load_n(&pool_nfree, __ATOMIC_RELAXED) >= MOTE_RT_POOL_MAX_FREE) {
    mote_rt_pool_unmap(base);
    return;
  }
  bool ok, kept = false;
  uint64_t keep = mote_rt_pool_scrub(base, used, resident, &ok);
  pthread_mutex_lock(&pool_lock);
  if (ok && pool_nfree < MOTE_RT_POOL_MAX_FREE) {
    pool_free[pool_nfree++] = (pool_slot){base, used, keep};
    kept = true;
  } else {
    pool_resident -= keep;
  }
  pthread_mutex_unlock(&pool_lock);
  if (!kept) mote_rt_pool_unmap(base);
}

void mote_rt_memory_pool_trim(void) {
  pool_slot drop[MOTE_RT_POOL_MAX_FREE];
  unsigned n;
  pthread_mutex_lock(&pool_lock);
  n = pool_nfree;
  memcpy(drop, pool_free, n * sizeof drop[0]);
  pool_nfree = 0;
  for (unsigned i = 0; i < n; i++) pool_resident -= drop[i].kept;
  pthread_mutex_unlock(&pool_lock);
  for (unsigned i = 0; i < n; i++) mote_rt_pool_unmap(drop[i].base);
  mote_rt_image_trim();
}

void mote_rt_memory_stats_get(mote_rt_memory_stats *out) {
  pthread_mutex_lock(&pool_lock);
  out->pooled = pool_nfree;
  pthread_mutex_unlock(&pool_lock);
  out->image_pooled = mote_rt_image_pooled();
  out->pooled += out->image_pooled;
  out->reserved = atomic_load(&stat_reserved);
  out->reused = atomic_load(&stat_reused);
  out->mapped = atomic_load(&stat_mapped);
}
