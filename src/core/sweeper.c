/*
 * sweeper: the store's blobs and file sets that nothing names any more
 * (a deleted function's, a replaced snapshot's, a refused deploy's) swept
 * once a period by a thread of its own: core_sweep, which asks a cluster
 * room first for the hashes its records name (this node may hold bytes for
 * other nodes, or not have applied a record yet).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/clock.h"
#include "core/core_internal.h"

struct core_sweeper {
  mote_core *core;
  unsigned every_s;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  bool stop;
};

/* Whether the wall clock moved with the monotonic one since the last look
 * (within a minute): after a jump forward, bytes renewed just before it
 * would look older than they are. Under ops_lock. */
static bool clock_steady(mote_core *c) {
  int64_t wall = mote_wall_ms();
  uint64_t mono = mote_now_us();
  int64_t drift = (wall - c->sweep_wall_ms) - (int64_t)((mono - c->sweep_mono_us) / 1000);
  c->sweep_wall_ms = wall;
  c->sweep_mono_us = mono;
  return drift > -60000 && drift < 60000;
}

mote_core_status core_sweep(mote_core *c, mote_store_sweep_report *out, mote_core_error *err) {
  memset(out, 0, sizeof *out);
  char **keep = NULL;
  size_t nkeep = 0;
  pthread_mutex_lock(&c->ops_lock); /* a room detaching waits for its hook */
  bool steady = clock_steady(c);
  bool known = !c->cluster || (c->ops.sweep_keep && c->ops.sweep_keep(c->ops.ctx, &keep, &nkeep));
  pthread_mutex_unlock(&c->ops_lock);
  if (!steady || !known) {
    for (size_t i = 0; i < nkeep; i++) free(keep[i]);
    free(keep);
    return core_fail(err, MOTE_CORE_UNAVAILABLE,
                     !steady ? "the wall clock jumped since the last look: no sweep of the store now"
                             : "the cluster's records are not known yet: no sweep of the store now");
  }
  mote_store_error se;
  mote_store_status st = mote_store_sweep(c->store, (const char *const *)keep, nkeep,
                                          c->sweep_grace_s, out, &se);
  for (size_t i = 0; i < nkeep; i++) free(keep[i]);
  free(keep);
  metrics_swept(c->metrics, out->blobs, out->file_sets, out->bytes); /* also what went before an error */
  if (st != MOTE_STORE_OK) return core_fail(err, MOTE_CORE_STORE, "sweep: %s", se.message);
  if (out->blobs || out->file_sets)
    fprintf(stderr, "mote: the sweep removed %llu blobs and %llu file sets nothing named "
            "(%.1f MiB)\n", (unsigned long long)out->blobs, (unsigned long long)out->file_sets,
            (double)out->bytes / 1048576.0);
  return MOTE_CORE_OK;
}

static void *sweeper_main(void *arg) {
  core_sweeper *w = arg;
  pthread_mutex_lock(&w->lock);
  while (!w->stop) {
    struct timespec until = mote_time_in(CLOCK_REALTIME, w->every_s * 1000u);
    while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0) {
    }
    if (w->stop) break;
    pthread_mutex_unlock(&w->lock);
    mote_store_sweep_report r;
    mote_core_error err;
    if (core_sweep(w->core, &r, &err) != MOTE_CORE_OK && err.status != MOTE_CORE_UNAVAILABLE)
      fprintf(stderr, "mote: %s\n", err.message);
    pthread_mutex_lock(&w->lock);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

core_sweeper *sweeper_new(mote_core *c, unsigned every_s) {
  core_sweeper *w = mote_calloc(1, sizeof *w);
  if (!w) return NULL;
  w->core = c;
  w->every_s = every_s > 4000000 ? 4000000 : every_s; /* in ms, within 32 bits */
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->wake, NULL);
  if (pthread_create(&w->thread, NULL, sweeper_main, w) != 0) {
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    mote_free(w);
    return NULL;
  }
  return w;
}

void sweeper_free(core_sweeper *w) {
  if (!w) return;
  pthread_mutex_lock(&w->lock);
  w->stop = true;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  mote_free(w);
}
