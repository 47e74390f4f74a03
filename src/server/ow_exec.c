/*
 * ow_exec: where non-blocking invokes run. A fixed set of worker threads
 * takes jobs from a bounded FIFO: a burst of non-blocking invokes queues
 * (each still waits for an execution slot in admit.c when it runs) instead
 * of starting a thread per call, and past queue_max the caller is told so
 * at once. Stopping runs what is queued: every accepted invoke gets its
 * activation record.
 */
#include <pthread.h>
#include <stdlib.h>

#include "server/openwhisk.h"

typedef struct job {
  ow_job_fn fn;
  void *arg;
  struct job *next;
} job;

struct ow_exec {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  job *head, *tail;
  unsigned waiting, queue_max;
  bool stopping;
  pthread_t *threads;
  unsigned nthreads;
};

static void *worker(void *arg) {
  ow_exec *e = arg;
  pthread_mutex_lock(&e->lock);
  for (;;) {
    while (!e->head && !e->stopping) pthread_cond_wait(&e->cond, &e->lock);
    job *j = e->head;
    if (!j) break; /* stopping, and nothing left */
    e->head = j->next;
    if (!e->head) e->tail = NULL;
    e->waiting--;
    pthread_mutex_unlock(&e->lock);
    j->fn(j->arg);
    free(j);
    pthread_mutex_lock(&e->lock);
  }
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

ow_exec *ow_exec_new(unsigned threads, unsigned queue_max) {
  ow_exec *e = calloc(1, sizeof *e);
  if (!e) return NULL;
  if (threads == 0) threads = 1;
  e->threads = calloc(threads, sizeof *e->threads);
  if (!e->threads) {
    free(e);
    return NULL;
  }
  pthread_mutex_init(&e->lock, NULL);
  pthread_cond_init(&e->cond, NULL);
  e->queue_max = queue_max;
  for (; e->nthreads < threads; e->nthreads++)
    if (pthread_create(&e->threads[e->nthreads], NULL, worker, e) != 0) break;
  if (e->nthreads == 0) {
    ow_exec_free(e);
    return NULL;
  }
  return e;
}

bool ow_exec_submit(ow_exec *e, ow_job_fn fn, void *arg) {
  job *j = malloc(sizeof *j);
  if (!j) return false;
  *j = (job){fn, arg, NULL};
  pthread_mutex_lock(&e->lock);
  bool ok = !e->stopping && e->waiting < e->queue_max;
  if (ok) {
    if (e->tail) e->tail->next = j;
    else e->head = j;
    e->tail = j;
    e->waiting++;
    pthread_cond_signal(&e->cond);
  }
  pthread_mutex_unlock(&e->lock);
  if (!ok) free(j);
  return ok;
}

unsigned ow_exec_waiting(ow_exec *e) {
  pthread_mutex_lock(&e->lock);
  unsigned n = e->waiting;
  pthread_mutex_unlock(&e->lock);
  return n;
}

void ow_exec_free(ow_exec *e) {
  if (!e) return;
  pthread_mutex_lock(&e->lock);
  e->stopping = true;
  pthread_cond_broadcast(&e->cond);
  pthread_mutex_unlock(&e->lock);
  for (unsigned i = 0; i < e->nthreads; i++) pthread_join(e->threads[i], NULL);
  pthread_cond_destroy(&e->cond);
  pthread_mutex_destroy(&e->lock);
  free(e->threads);
  free(e);
}
