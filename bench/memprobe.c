/*
 * memprobe: what the ways of giving a call a fresh copy of a memory image
 * cost on this machine, measured without the runtime around them. The
 * figures in docs/architecture.md come from it (`make bench-memprobe`).
 *
 * An image of S bytes (every 4 KiB page non-zero, as a data segment) lives
 * in a memfd and in a malloc'ed copy. Each iteration is one call's life:
 *   make    give the call its fresh memory
 *   touch   the call writes one word in each of K pages spread over the
 *           image, then reads one word in each of R pages
 *   reset   make the slot ready for the next call
 * for each way:
 *   copy        memcpy the image into a resident anonymous slot; reset:
 *               memset it to zero (the runtime's only way before issue 15)
 *   remap       mmap(MAP_PRIVATE|MAP_FIXED) of the memfd over the slot
 *               every call; reset: nothing (the next mmap replaces it)
 *   cow         the private mapping of the memfd kept; reset:
 *               madvise(MADV_DONTNEED) of the whole image (image.c: drop)
 *   cow-pagemap the same, but only the pages the call made private are
 *               dropped, found by reading /proc/self/pagemap (Linux 6.1)
 *   cow-keep    the private pages stay and get the image copied back, found
 *               with PAGEMAP_SCAN (Linux 6.7; image.c: restore)
 *   anon        an anonymous slot dropped with madvise after each call: the
 *               cost of zero-fill faults (no image)
 * With --threads T, T threads run the same loop at once, each on its own
 * slot (madvise and munmap flush the TLBs of every CPU the process runs on).
 *
 * Prints medians and p90 of each phase in microseconds.
 * usage: memprobe [--iters N] [--threads T] [--reads R] SIZE_KIB PAGES_TOUCHED...
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define OS_PAGE 4096u
static int pagemap_fd = -1;

enum { W_COPY, W_REMAP, W_COW, W_COW_DIRTY, W_COW_KEEP, W_ANON, W_COUNT };
static const char *const way_names[W_COUNT] = {"copy", "remap", "cow", "cow-pagemap", "cow-keep",
                                               "anon"};

/* Linux 6.7's PAGEMAP_SCAN, which Debian 12's headers (6.1) lack. */
#include <sys/ioctl.h>

#include "bench_util.h"
struct pm_region { uint64_t start, end, categories; };
struct pm_scan { uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages,
                 category_inverted, category_mask, category_anyof_mask, return_mask; };
#define PM_SCAN _IOWR('f', 16, struct pm_scan)
#define PM_IS_FILE (1u << 2)
#define PM_IS_PRESENT (1u << 3)
#define PM_IS_SWAPPED (1u << 4)

/* Copies the image back over every private page of [m, m+len): pages that
 * are present (or swapped) and not file-backed. -1 on failure. */
static int restore_private(uint8_t *m, size_t len, const uint8_t *image) {
  struct pm_region reg[64];
  uint64_t at = (uintptr_t)m, end = at + len;
  while (at < end) {
    struct pm_scan a = {.size = sizeof a, .start = at, .end = end, .vec = (uintptr_t)reg,
                        .vec_len = 64, .category_inverted = PM_IS_FILE,
                        .category_mask = PM_IS_FILE,
                        .category_anyof_mask = PM_IS_PRESENT | PM_IS_SWAPPED,
                        .return_mask = PM_IS_PRESENT | PM_IS_SWAPPED};
    long n = ioctl(pagemap_fd, PM_SCAN, &a);
    if (n < 0 || a.walk_end <= at) return -1;
    for (long i = 0; i < n; i++)
      memcpy((void *)(uintptr_t)reg[i].start, image + (reg[i].start - (uintptr_t)m),
             reg[i].end - reg[i].start);
    at = a.walk_end;
  }
  return 0;
}

typedef struct probe {
  size_t size;
  unsigned touched, reads, iters;
  int memfd;
  const uint8_t *image;
  int pagemap;
} probe;

typedef struct worker {
  const probe *p;
  int way;
  double *make, *touch, *reset, *total;
  int failed;
} worker;



static void touch_pages(volatile uint8_t *m, const probe *p, unsigned it) {
  size_t pages = p->size / OS_PAGE;
  for (unsigned k = 0; k < p->touched; k++) {
    size_t pg = (size_t)k * pages / p->touched;
    m[pg * OS_PAGE + (it % 512) * 8] = (uint8_t)(it + 1);
  }
  for (unsigned k = 0; k < p->reads; k++) {
    size_t pg = ((size_t)k * pages / p->reads + pages / 2) % pages;
    (void)m[pg * OS_PAGE + 8];
  }
}

/* Drops the pages of [m, m+len) that the call wrote: anonymous ones in a
 * private file mapping (pagemap: bit 63 present, bit 61 file/shared). */
static int drop_dirty(const probe *p, uint8_t *m, size_t len) {
  size_t pages = len / OS_PAGE;
  uint64_t ent[512];
  for (size_t at = 0; at < pages; at += 512) {
    size_t n = pages - at < 512 ? pages - at : 512;
    off_t off = (off_t)(((uintptr_t)m / OS_PAGE + at) * 8);
    if (pread(p->pagemap, ent, n * 8, off) != (ssize_t)(n * 8)) return -1;
    for (size_t i = 0; i < n;) {
      int anon = (ent[i] >> 63) & 1 && !((ent[i] >> 61) & 1);
      if (!anon) {
        i++;
        continue;
      }
      size_t j = i;
      while (j < n && ((ent[j] >> 63) & 1) && !((ent[j] >> 61) & 1)) j++;
      if (madvise(m + (at + i) * OS_PAGE, (j - i) * OS_PAGE, MADV_DONTNEED) != 0) return -1;
      i = j;
    }
  }
  return 0;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  const probe *p = w->p;
  size_t size = p->size;
  uint8_t *slot = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (slot == MAP_FAILED) {
    w->failed = 1;
    return NULL;
  }
  if (w->way == W_COW || w->way == W_COW_DIRTY || w->way == W_COW_KEEP) {
    if (mmap(slot, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, p->memfd, 0) == MAP_FAILED) {
      w->failed = 1;
      return NULL;
    }
  } else if (w->way == W_COPY) {
    memset(slot, 0, size); /* resident */
  }
  unsigned warm = 50;
  for (long i = -(long)warm; i < (long)p->iters; i++) {
    double t0 = bench_now_us();
    switch (w->way) {
      case W_COPY: memcpy(slot, p->image, size); break;
      case W_REMAP:
        if (mmap(slot, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, p->memfd, 0) == MAP_FAILED)
          w->failed = 1;
        break;
      default: break;
    }
    double t1 = bench_now_us();
    touch_pages(slot, p, (unsigned)(i + warm));
    double t2 = bench_now_us();
    switch (w->way) {
      case W_COPY: memset(slot, 0, size); break;
      case W_COW:
        if (madvise(slot, size, MADV_DONTNEED) != 0) w->failed = 1;
        break;
      case W_COW_DIRTY:
        if (drop_dirty(p, slot, size) != 0) w->failed = 1;
        break;
      case W_ANON:
        if (madvise(slot, size, MADV_DONTNEED) != 0) w->failed = 1;
        break;
      case W_COW_KEEP:
        if (restore_private(slot, size, p->image)) w->failed = 1;
        break;
      default: break;
    }
    double t3 = bench_now_us();
    if (i >= 0) {
      w->make[i] = t1 - t0;
      w->touch[i] = t2 - t1;
      w->reset[i] = t3 - t2;
      w->total[i] = t3 - t0;
    }
    if (w->failed) break;
  }
  munmap(slot, size);
  return NULL;
}

static void report(const char *what, double *v, size_t n) {
  qsort(v, n, sizeof *v, bench_cmp_double);
  printf(" %s %7.1f/%-7.1f", what, v[(n - 1) / 2], v[(size_t)((double)(n - 1) * 0.9)]);
}

int main(int argc, char **argv) {
  unsigned iters = 2000, threads = 1, reads = 0;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--iters") && i + 1 < argc) iters = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = (unsigned)atoi(argv[++i]);
    else if (!strcmp(argv[i], "--reads") && i + 1 < argc) reads = (unsigned)atoi(argv[++i]);
    else break;
  }
  if (argc - i < 2 || !iters || !threads || threads > 64) {
    fprintf(stderr, "usage: memprobe [--iters N] [--threads T] [--reads R] SIZE_KIB PAGES...\n");
    return 2;
  }
  probe p = {.size = (size_t)atol(argv[i]) << 10, .iters = iters, .reads = reads};
  if (p.size < OS_PAGE || p.size % OS_PAGE) return 2;
  uint8_t *image = malloc(p.size);
  if (!image) return 1;
  for (size_t k = 0; k < p.size; k++) image[k] = (uint8_t)(k * 2654435761u >> 13) | 1;
  p.image = image;
  p.memfd = memfd_create("memprobe", MFD_CLOEXEC);
  if (p.memfd < 0 || write(p.memfd, image, p.size) != (ssize_t)p.size) {
    perror("memfd");
    return 1;
  }
  p.pagemap = open("/proc/self/pagemap", O_RDONLY);
  pagemap_fd = p.pagemap;
  printf("image %zu KiB, %u iterations x %u thread(s), %u pages read; us median/p90\n",
         p.size >> 10, iters, threads, reads);
  for (i++; i < argc; i++) {
    p.touched = (unsigned)atoi(argv[i]);
    if (p.touched > p.size / OS_PAGE) p.touched = (unsigned)(p.size / OS_PAGE);
    for (int way = 0; way < W_COUNT; way++) {
      worker ws[64];
      pthread_t th[64];
      for (unsigned t = 0; t < threads; t++) {
        ws[t] = (worker){.p = &p, .way = way};
        ws[t].make = calloc(iters, sizeof(double));
        ws[t].touch = calloc(iters, sizeof(double));
        ws[t].reset = calloc(iters, sizeof(double));
        ws[t].total = calloc(iters, sizeof(double));
        if (!ws[t].make || !ws[t].touch || !ws[t].reset || !ws[t].total) return 1;
        if (pthread_create(&th[t], NULL, worker_main, &ws[t]) != 0) return 1;
      }
      int failed = 0;
      size_t n = (size_t)iters * threads;
      double *all[4];
      for (int k = 0; k < 4; k++) all[k] = malloc(n * sizeof(double));
      for (unsigned t = 0; t < threads; t++) {
        pthread_join(th[t], NULL);
        failed |= ws[t].failed;
        memcpy(all[0] + (size_t)t * iters, ws[t].make, iters * sizeof(double));
        memcpy(all[1] + (size_t)t * iters, ws[t].touch, iters * sizeof(double));
        memcpy(all[2] + (size_t)t * iters, ws[t].reset, iters * sizeof(double));
        memcpy(all[3] + (size_t)t * iters, ws[t].total, iters * sizeof(double));
        free(ws[t].make), free(ws[t].touch), free(ws[t].reset), free(ws[t].total);
      }
      printf("  %4u touched %-10s", p.touched, way_names[way]);
      if (failed) {
        printf(" failed: %s\n", strerror(errno));
      } else {
        report("make", all[0], n);
        report("touch", all[1], n);
        report("reset", all[2], n);
        report("total", all[3], n);
        printf("\n");
      }
      for (int k = 0; k < 4; k++) free(all[k]);
    }
  }
  return 0;
}
