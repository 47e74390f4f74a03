/*
 * budget: the node's memory for initialised versions (issue 14: three
 * functions filling 200 MB in mote_init took a server to 1.17 GB, and a
 * fourth would have gone on).
 *
 * What counts is what outlives a deploy: each snapshot's memory image (its
 * non-zero bytes, mote_rt_snapshot_image_bytes), charged from the moment it
 * is made (or loaded from the store) until it is freed. An initialisation
 * about to run reserves the most its snapshot can hold (the version's
 * memory limit) first; when that does not fit, the deploy is refused before
 * anything runs (MOTE_CORE_INIT_MEMORY, a message with the figures); once
 * it has run the reservation becomes what the image really holds. So
 * several deploys at once cannot all pass the check and overshoot together.
 * Versions loaded at open are charged without a check: a restart never
 * drops a function that served before (the figures may then exceed the
 * budget, and every deploy is refused until some are deleted).
 */
#include <stdio.h>
#include <unistd.h>

#include "base/alloc.h"
#include "core/core_internal.h"

struct core_budget {
  pthread_mutex_t lock;
  uint64_t cap, used, reserved;
};

uint64_t budget_default_bytes(void) {
  long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || size <= 0) return (uint64_t)4 << 30;
  return (uint64_t)pages * (uint64_t)size / 2;
}

core_budget *budget_new(uint64_t cap) {
  core_budget *b = mote_calloc(1, sizeof *b);
  if (!b) return NULL;
  pthread_mutex_init(&b->lock, NULL);
  b->cap = cap ? cap : budget_default_bytes();
  return b;
}

void budget_free(core_budget *b) {
  if (!b) return;
  pthread_mutex_destroy(&b->lock);
  mote_free(b);
}

bool budget_reserve(core_budget *b, uint64_t bytes, core_budget_figures *now) {
  pthread_mutex_lock(&b->lock);
  bool fits = b->used + b->reserved <= b->cap && bytes <= b->cap - b->used - b->reserved;
  if (fits) b->reserved += bytes;
  if (now) *now = (core_budget_figures){b->cap, b->used, b->reserved};
  pthread_mutex_unlock(&b->lock);
  return fits;
}

void budget_settle(core_budget *b, uint64_t reserved, uint64_t used) {
  pthread_mutex_lock(&b->lock);
  b->reserved -= reserved <= b->reserved ? reserved : b->reserved;
  b->used += used;
  pthread_mutex_unlock(&b->lock);
}

void budget_release(core_budget *b, uint64_t used) {
  if (!b || !used) return;
  pthread_mutex_lock(&b->lock);
  b->used -= used <= b->used ? used : b->used;
  pthread_mutex_unlock(&b->lock);
}

void budget_figures(core_budget *b, core_budget_figures *out) {
  pthread_mutex_lock(&b->lock);
  *out = (core_budget_figures){b->cap, b->used, b->reserved};
  pthread_mutex_unlock(&b->lock);
}

void image_charge(core_image *img, core_budget *b) {
  img->budget = b;
  img->budget_bytes = img->snap ? mote_rt_snapshot_image_bytes(img->snap) : 0;
  budget_settle(b, 0, img->budget_bytes);
}

void image_uncharge(core_image *img) {
  budget_release(img->budget, img->budget_bytes);
  img->budget_bytes = 0;
}
