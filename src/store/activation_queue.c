/*
 * The write-behind queue of activation records (mote_store_activation_post).
 *
 * Why: a call's reply should not wait for a SQLite commit. On the 2-vCPU VM
 * a commit costs ~50 us of CPU and an insert inside a batch ~15 us; with the
 * synchronous put every call at one client paid a whole commit before its
 * reply. Here a post copies the record and returns; one writer thread takes
 * everything queued and commits it in one transaction (the same batch code
 * as the group commit of mote_store_activation_put), so batches grow by
 * themselves with the load: whatever arrived during the last commit.
 *
 * Reads wait for the records posted before them (mote_store_activation_sync),
 * so "reply, then GET /v1/activations/ID" still finds the record.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

typedef struct posted {
  act_waiter w; /* w.a points at copy */
  mote_activation copy;
} posted;

static void posted_free(posted *p) {
  mote_activation_clear(&p->copy);
  free(p);
}

static char *dup_or_null(const char *s, bool *oom) {
  if (!s) return NULL;
  char *c = strdup(s);
  if (!c) *oom = true;
  return c;
}

static void *writer_main(void *arg) {
  mote_store *s = arg;
  pthread_mutex_lock(&s->act_lock);
  for (;;) {
    while (!s->post_head && !s->writer_stop) pthread_cond_wait(&s->act_wake, &s->act_lock);
    if (!s->post_head) break; /* stopping, and everything is written */
    act_waiter *batch = s->post_head;
    s->post_head = s->post_tail = NULL;
    pthread_mutex_unlock(&s->act_lock);

    store_act_commit_batch(s, batch);
    uint64_t n = 0;
    for (act_waiter *b = batch, *next; b; b = next) {
      next = b->next;
      if (b->status != MOTE_STORE_OK)
        fprintf(stderr, "mote: activation %s of %s not recorded: %s\n", b->a->id,
                b->a->function, b->message);
      posted_free((posted *)b); /* w is the first member */
      n++;
    }

    pthread_mutex_lock(&s->act_lock);
    s->committed += n;
    pthread_cond_broadcast(&s->act_done); /* syncs and posters waiting for room */
  }
  pthread_mutex_unlock(&s->act_lock);
  return NULL;
}

mote_store_status mote_store_activation_post(mote_store *s, const mote_activation *a,
                                             uint32_t retain, mote_store_error *err) {
  store_ok(err);
  mote_store_status cst = store_act_check(a, err);
  if (cst != MOTE_STORE_OK) return cst;
  posted *p = calloc(1, sizeof *p);
  if (!p) return store_fail(err, MOTE_STORE_IO, "out of memory");
  bool oom = false;
  p->copy = *a;
  p->copy.function = dup_or_null(a->function, &oom);
  p->copy.ns = dup_or_null(a->ns, &oom);
  p->copy.meta = dup_or_null(a->meta, &oom);
  p->copy.outcome = dup_or_null(a->outcome, &oom);
  p->copy.stdout_excerpt = dup_or_null(a->stdout_excerpt, &oom);
  p->copy.stderr_excerpt = dup_or_null(a->stderr_excerpt, &oom);
  p->w.a = &p->copy;
  p->w.retain = retain;
  if (oom) {
    posted_free(p);
    return store_fail(err, MOTE_STORE_IO, "out of memory");
  }

  pthread_mutex_lock(&s->act_lock);
  if (!s->writer_started && !s->writer_stop) {
    if (pthread_create(&s->writer_thread, NULL, writer_main, s) != 0) {
      pthread_mutex_unlock(&s->act_lock);
      posted_free(p);
      return store_fail(err, MOTE_STORE_IO, "cannot start the activation writer thread");
    }
    s->writer_started = true;
  }
  while (s->posted - s->committed >= MOTE_STORE_POST_MAX && !s->writer_stop)
    pthread_cond_wait(&s->act_done, &s->act_lock);
  if (s->writer_stop) { /* closing: nobody would write it */
    pthread_mutex_unlock(&s->act_lock);
    posted_free(p);
    return store_fail(err, MOTE_STORE_IO, "the store is closing");
  }
  if (s->post_tail)
    s->post_tail->next = &p->w;
  else
    s->post_head = &p->w;
  s->post_tail = &p->w;
  s->posted++;
  pthread_cond_signal(&s->act_wake);
  pthread_mutex_unlock(&s->act_lock);
  return MOTE_STORE_OK;
}

void mote_store_activation_sync(mote_store *s) {
  pthread_mutex_lock(&s->act_lock);
  uint64_t target = s->posted;
  while (s->committed < target && s->writer_started) pthread_cond_wait(&s->act_done, &s->act_lock);
  pthread_mutex_unlock(&s->act_lock);
}

void store_act_queue_stop(mote_store *s) {
  pthread_mutex_lock(&s->act_lock);
  s->writer_stop = true;
  bool started = s->writer_started;
  pthread_cond_broadcast(&s->act_wake);
  pthread_cond_broadcast(&s->act_done);
  pthread_mutex_unlock(&s->act_lock);
  if (started) pthread_join(s->writer_thread, NULL);
}
