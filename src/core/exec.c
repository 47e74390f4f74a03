/*
 * exec: the threads that run background calls (core_call_submit) once
 * admission has given them a slot. A call reaches an executor only with a
 * slot, so `workers` executors are enough and none ever waits for a slot:
 * the waiting is done in admission's one queue, not here. Stopping waits
 * for every call accepted (queued or running) to return from its job: each
 * accepted call gets its record.
 */
#include <stdlib.h>

#include "base/alloc.h"
#include "core/core_internal.h"

struct core_exec {
  pthread_mutex_t lock;
  pthread_cond_t ready_cond, idle_cond;
  core_call *head, *tail; /* admitted calls for an executor */
  unsigned pending;       /* accepted, job not returned yet */
  bool stopping;
  pthread_t *threads;
  unsigned nthreads;
};

static void *executor(void *arg) {
  core_exec *e = arg;
  pthread_mutex_lock(&e->lock);
  for (;;) {
    while (!e->head && !e->stopping) pthread_cond_wait(&e->ready_cond, &e->lock);
    core_call *call = e->head;
    if (!call) break; /* stopping, and nothing is left */
    e->head = call->next_ready;
    if (!e->head) e->tail = NULL;
    pthread_mutex_unlock(&e->lock);
    call->job(call, call->job_arg); /* may free call: read nothing after */
    pthread_mutex_lock(&e->lock);
    if (--e->pending == 0) pthread_cond_broadcast(&e->idle_cond);
  }
  pthread_mutex_unlock(&e->lock);
  return NULL;
}

core_exec *exec_new(unsigned threads) {
  core_exec *e = mote_calloc(1, sizeof *e);
  if (!e) return NULL;
  if (threads == 0) threads = 1;
  if (!(e->threads = mote_calloc(threads, sizeof *e->threads))) {
    mote_free(e);
    return NULL;
  }
  pthread_mutex_init(&e->lock, NULL);
  pthread_cond_init(&e->ready_cond, NULL);
  pthread_cond_init(&e->idle_cond, NULL);
  for (; e->nthreads < threads; e->nthreads++)
    if (pthread_create(&e->threads[e->nthreads], NULL, executor, e) != 0) break;
  if (e->nthreads == 0) {
    exec_free(e);
    return NULL;
  }
  return e;
}

void exec_pending(core_exec *e, int delta) {
  pthread_mutex_lock(&e->lock);
  e->pending += (unsigned)delta;
  if (e->pending == 0) pthread_cond_broadcast(&e->idle_cond);
  pthread_mutex_unlock(&e->lock);
}

void exec_ready(core_exec *e, core_call *call) {
  call->next_ready = NULL;
  pthread_mutex_lock(&e->lock);
  if (e->tail) e->tail->next_ready = call;
  else e->head = call;
  e->tail = call;
  pthread_cond_signal(&e->ready_cond);
  pthread_mutex_unlock(&e->lock);
}

void exec_free(core_exec *e) {
  if (!e) return;
  pthread_mutex_lock(&e->lock);
  while (e->pending && e->nthreads) pthread_cond_wait(&e->idle_cond, &e->lock);
  e->stopping = true;
  pthread_cond_broadcast(&e->ready_cond);
  pthread_mutex_unlock(&e->lock);
  for (unsigned i = 0; i < e->nthreads; i++) pthread_join(e->threads[i], NULL);
  pthread_cond_destroy(&e->ready_cond);
  pthread_cond_destroy(&e->idle_cond);
  pthread_mutex_destroy(&e->lock);
  mote_free(e->threads);
  mote_free(e);
}
