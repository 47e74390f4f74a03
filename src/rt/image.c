/*
 * Memory images: a snapshot's linear memory kept once in a sealed memfd,
 * and the slots (pooled reservations) that map it copy-on-write, so that a
 * new instance costs what its call touches, not the image's size.
 *
 * A slot of an image has [0, span) mapped MAP_PRIVATE from the memfd; the
 * rest of the reservation is anonymous, as any pooled slot. A call reads
 * the image's pages straight from the page cache (shared by every slot) and
 * a write makes a private copy of the page it hits. Giving the slot back
 * resets [0, span) one of two ways:
 *
 *   restore  the pages the call made private stay private and get the
 *            image's bytes copied back (found with PAGEMAP_SCAN, Linux 6.7:
 *            present or swapped, not file-backed). A function that writes
 *            the same pages every call (its stack, its globals) then takes
 *            no page fault at all after its first call on a slot, and the
 *            reset costs a page-table walk plus 4 KiB of memcpy per page
 *            it wrote. No TLB shootdown: nothing is unmapped.
 *   drop     madvise(MADV_DONTNEED) of [0, span): the private pages go, and
 *            the next call faults again on what it writes (a copy-on-write
 *            fault, ~0.9 us here) and on what it reads (fault-around maps
 *            16 pages a fault). For kernels without PAGEMAP_SCAN.
 *
 * The zero part of the memory past `span` is reset as the pool resets
 * anonymous memory (pool.c: zeroed in place where resident).
 *
 * Measured with bench/memprobe.c (docs/architecture.md has the table): for
 * a 1 MiB image and a call writing 10 pages, copying the image into a
 * zeroed slot and zeroing it again costs 47 us, dropping 9 us, restoring
 * 3.5 us.
 *
 * Each image keeps up to IMAGE_MAX_FREE slots of its own (LIFO, so the
 * warmest one is reused). They are not live regions while they wait
 * (memory.c registers a slot only while a memory uses it), and their private
 * pages count against the pool's resident budget (pool.c); past it a slot
 * is dropped before it is kept. An image lives as long as its snapshot or
 * any memory made from it, whichever is last (a reference count).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rt/rt_internal.h"

#define IMAGE_MAX_FREE 16u

/* PAGEMAP_SCAN (linux/fs.h since 6.7; Debian 12's headers are 6.1). The
 * layout is the kernel's ABI; a kernel without it refuses the ioctl, and
 * the self-test below then leaves images on the drop reset. */
typedef struct pm_region {
  uint64_t start, end, categories;
} pm_region;
typedef struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
} pm_scan_arg;
#define PM_SCAN_IOCTL _IOWR('f', 16, pm_scan_arg)
#define PM_IS_FILE (1u << 2)
#define PM_IS_PRESENT (1u << 3)
#define PM_IS_SWAPPED (1u << 4)

typedef struct image_slot {
  uint8_t *base;
  uint64_t acc;      /* bytes from base that are read-write */
  uint64_t resident; /* bytes from base that may be resident */
  uint64_t charged;  /* of the pool's resident budget */
} image_slot;

struct mote_rt_image {
  atomic_uint refs;      /* the snapshot's, plus one per memory using a slot */
  int fd;                /* the memfd, sealed once written */
  uint64_t span;         /* bytes mapped from it: a multiple of the OS page */
  const uint8_t *view;   /* a read-only private mapping of fd: what restores copy */
  bool restore;          /* reset by restoring written pages, else by dropping */
  pthread_mutex_t lock;  /* over free/nfree */
  image_slot free[IMAGE_MAX_FREE];
  unsigned nfree;
  struct mote_rt_image *prev, *next; /* every image, under images_lock */
};

static pthread_mutex_t images_lock = PTHREAD_MUTEX_INITIALIZER;
static mote_rt_image *images;

static pthread_once_t scan_once = PTHREAD_ONCE_INIT;
static int pagemap_fd = -1;
static bool scan_works;

static uint64_t os_page(void) {
  long p = sysconf(_SC_PAGESIZE);
  return p > 0 ? (uint64_t)p : 4096u;
}

/* Calls fn(ctx, start, end) for every range of [lo, hi) holding private
 * (not file-backed) pages, present or swapped. -1 if the scan failed. */
static int scan_private(uintptr_t lo, uintptr_t hi,
                        void (*fn)(void *ctx, uintptr_t start, uintptr_t end), void *ctx) {
  pm_region reg[32];
  uintptr_t at = lo;
  while (at < hi) {
    pm_scan_arg a = {.size = sizeof a, .start = at, .end = hi, .vec = (uintptr_t)reg,
                     .vec_len = sizeof reg / sizeof reg[0],
                     .category_inverted = PM_IS_FILE, .category_mask = PM_IS_FILE,
                     .category_anyof_mask = PM_IS_PRESENT | PM_IS_SWAPPED,
                     .return_mask = PM_IS_PRESENT | PM_IS_SWAPPED};
    int n = ioctl(pagemap_fd, PM_SCAN_IOCTL, &a);
    if (n < 0) return -1;
    for (int i = 0; i < n; i++) {
      uintptr_t s = (uintptr_t)reg[i].start, e = (uintptr_t)reg[i].end;
      if (s < lo || e > hi || s >= e) return -1;
      fn(ctx, s, e);
    }
    if (a.walk_end <= at || a.walk_end > hi) return a.walk_end == hi ? 0 : -1;
    at = (uintptr_t)a.walk_end;
  }
  return 0;
}

typedef struct selftest {
  uintptr_t start, end;
  int found;
} selftest;

static void note_range(void *ctx, uintptr_t start, uintptr_t end) {
  selftest *t = ctx;
  t->start = start, t->end = end;
  t->found++;
}

/* Opens /proc/self/pagemap and checks that PAGEMAP_SCAN reports exactly the
 * page written in a private mapping of a memfd: the restore reset depends
 * on it, so a kernel that answers anything else keeps the drop reset. */
static void scan_probe(void) {
  pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pagemap_fd < 0) return;
  uint64_t page = os_page();
  int fd = memfd_create("mote-probe", MFD_CLOEXEC);
  uint8_t *m = MAP_FAILED;
  if (fd >= 0 && ftruncate(fd, (off_t)(4 * page)) == 0 && pwrite(fd, "x", 1, 0) == 1)
    m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  if (m != MAP_FAILED) {
    volatile uint8_t sink = m[0];
    (void)sink;
    m[2 * page + 5] = 1;
    selftest t = {0, 0, 0};
    uintptr_t lo = (uintptr_t)m;
    scan_works = scan_private(lo, lo + 4 * page, note_range, &t) == 0 && t.found == 1 &&
                 t.start == lo + 2 * page && t.end == lo + 3 * page;
    munmap(m, 4 * page);
  }
  if (fd >= 0) close(fd);
  if (!scan_works) {
    close(pagemap_fd);
    pagemap_fd = -1;
  }
}

bool mote_rt_image_can_restore(void) {
  pthread_once(&scan_once, scan_probe);
  return scan_works;
}

mote_rt_image *mote_rt_image_new(uint64_t span, bool restore) {
  uint64_t page = os_page();
  if (!span || span % page) return NULL;
  mote_rt_image *img = calloc(1, sizeof *img);
  if (!img) return NULL;
  img->fd = memfd_create("mote-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (img->fd < 0 || ftruncate(img->fd, (off_t)span) != 0) {
    if (img->fd >= 0) close(img->fd);
    free(img);
    return NULL;
  }
  img->span = span;
  img->restore = restore && mote_rt_image_can_restore();
  atomic_init(&img->refs, 1);
  pthread_mutex_init(&img->lock, NULL);
  return img;
}

bool mote_rt_image_write(mote_rt_image *img, uint64_t at, const uint8_t *bytes, uint64_t len) {
  if (img->view || at > img->span || len > img->span - at) return false;
  while (len) {
    ssize_t n = pwrite(img->fd, bytes, len, (off_t)at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes += n, at += (uint64_t)n, len -= (uint64_t)n;
  }
  return true;
}

bool mote_rt_image_seal(mote_rt_image *img) {
  if (img->view) return true;
  /* Nothing may change the image once slots map it: not even this process
   * by mistake (its view is private and read-only). */
  if (fcntl(img->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0)
    return false;
  void *v = mmap(NULL, img->span, PROT_READ, MAP_PRIVATE, img->fd, 0);
  if (v == MAP_FAILED) return false;
  img->view = v;
  pthread_mutex_lock(&images_lock);
  img->next = images;
  if (images) images->prev = img;
  images = img;
  pthread_mutex_unlock(&images_lock);
  return true;
}

uint64_t mote_rt_image_span(const mote_rt_image *img) {
  return img->span;
}

bool mote_rt_image_restores(const mote_rt_image *img) {
  return img->restore;
}

const uint8_t *mote_rt_image_view(const mote_rt_image *img) {
  return img->view;
}

/* Unmaps a slot for good, giving back its share of the budget. */
static void slot_drop(image_slot *s) {
  mote_rt_pool_budget_put(s->charged);
  mote_rt_pool_unmap(s->base);
}

static void image_destroy(mote_rt_image *img) {
  if (img->view) {
    pthread_mutex_lock(&images_lock);
    if (img->prev) img->prev->next = img->next;
    else images = img->next;
    if (img->next) img->next->prev = img->prev;
    pthread_mutex_unlock(&images_lock);
    munmap((void *)img->view, img->span);
  }
  for (unsigned i = 0; i < img->nfree; i++) slot_drop(&img->free[i]);
  close(img->fd);
  pthread_mutex_destroy(&img->lock);
  free(img);
}

void mote_rt_image_release(mote_rt_image *img) {
  if (img && atomic_fetch_sub(&img->refs, 1) == 1) image_destroy(img);
}

uint8_t *mote_rt_image_take(mote_rt_image *img, uint64_t bytes, uint64_t *acc, uint64_t *resident) {
  if (!img->view || bytes < img->span) return NULL;
  image_slot s = {NULL, 0, 0, 0};
  pthread_mutex_lock(&img->lock);
  if (img->nfree) {
    unsigned pick = img->nfree - 1;
    for (unsigned i = img->nfree; i-- > 0;) {
      if (img->free[i].acc == bytes) {
        pick = i;
        break;
      }
    }
    s = img->free[pick];
    memmove(&img->free[pick], &img->free[pick + 1], (img->nfree - pick - 1) * sizeof s);
    img->nfree--;
  }
  pthread_mutex_unlock(&img->lock);
  if (s.base) {
    mote_rt_pool_budget_put(s.charged);
  } else {
    /* A reservation of the pool, the image mapped over its start. The
     * anonymous pages it had there go; the rest is as the pool left it. */
    s.base = mote_rt_pool_take(bytes, &s.acc, &s.resident);
    if (!s.base) return NULL;
    if (mmap(s.base, img->span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, img->fd, 0) ==
        MAP_FAILED) {
      mote_rt_pool_unmap(s.base);
      return NULL;
    }
    if (s.acc < img->span) s.acc = img->span;
    if (s.resident < img->span) s.resident = img->span;
  }
  atomic_fetch_add(&img->refs, 1);
  *acc = s.acc;
  *resident = s.resident;
  return s.base;
}

void mote_rt_image_discard(mote_rt_image *img, uint8_t *base) {
  mote_rt_pool_unmap(base);
  mote_rt_image_release(img);
}

typedef struct restore_ctx {
  const mote_rt_image *img;
  uint8_t *base;
  uint64_t bytes;
} restore_ctx;

static void restore_range(void *p, uintptr_t start, uintptr_t end) {
  restore_ctx *c = p;
  uint64_t at = start - (uintptr_t)c->base;
  memcpy(c->base + at, c->img->view + at, end - start);
  c->bytes += end - start;
}

void mote_rt_image_give(mote_rt_image *img, uint8_t *base, uint64_t used, uint64_t resident) {
  bool ok = false;
  uint64_t priv = 0;
  if (img->restore) {
    restore_ctx c = {img, base, 0};
    if (scan_private((uintptr_t)base, (uintptr_t)base + img->span, restore_range, &c) == 0) {
      priv = c.bytes;
      ok = true;
    }
    /* Else some pages may have been restored and others not: dropped below. */
  }
  /* The restored pages stay resident: they count against the budget, and
   * past it they go. */
  uint64_t charged = priv ? mote_rt_pool_budget_take(priv) : 0;
  if (!ok || charged < priv) {
    mote_rt_pool_budget_put(charged);
    charged = 0;
    ok = madvise(base, img->span, MADV_DONTNEED) == 0;
  }
  /* The anonymous rest, as the pool resets it. */
  uint64_t tail_used = used > img->span ? used - img->span : 0;
  uint64_t tail_resident = resident > img->span ? resident - img->span : 0;
  uint64_t tail_keep = 0;
  if (ok && (tail_used || tail_resident)) {
    tail_keep = mote_rt_pool_scrub(base + img->span, tail_used, tail_resident, &ok);
    charged += tail_keep;
  }
  /* Every instance of the image starts with `span` bytes: the slot is made
   * ready for the next one now, so that its instantiation changes no
   * protection (mprotect of pages a call grew into costs ~30 us). */
  if (ok && tail_used) ok = mprotect(base + img->span, tail_used, PROT_NONE) == 0;
  bool kept = false;
  if (ok) {
    pthread_mutex_lock(&img->lock);
    if (img->nfree < IMAGE_MAX_FREE) {
      img->free[img->nfree++] = (image_slot){base, img->span, img->span + tail_keep, charged};
      kept = true;
    }
    pthread_mutex_unlock(&img->lock);
  }
  if (!kept) {
    image_slot s = {base, used, resident, charged};
    slot_drop(&s);
  }
  mote_rt_image_release(img);
}

/* Every image's waiting slots, unmapped. */
void mote_rt_image_trim(void) {
  pthread_mutex_lock(&images_lock);
  for (mote_rt_image *img = images; img; img = img->next) {
    pthread_mutex_lock(&img->lock);
    for (unsigned i = 0; i < img->nfree; i++) slot_drop(&img->free[i]);
    img->nfree = 0;
    pthread_mutex_unlock(&img->lock);
  }
  pthread_mutex_unlock(&images_lock);
}

uint64_t mote_rt_image_pooled(void) {
  uint64_t n = 0;
  pthread_mutex_lock(&images_lock);
  for (mote_rt_image *img = images; img; img = img->next) {
    pthread_mutex_lock(&img->lock);
    n += img->nfree;
    pthread_mutex_unlock(&img->lock);
  }
  pthread_mutex_unlock(&images_lock);
  return n;
}
