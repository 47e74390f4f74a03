/*
 * access_log: one JSON object per line for every request (mote serve
 * --access-log FILE, or - for stderr; off by default).
 *
 *   {"time":"2025-01-02T03:04:05.678Z","remote":"127.0.0.1:50312",
 *    "method":"GET","path":"/faas/hi","status":200,"bytes":12,
 *    "duration_us":2410,"function":"hi","function_namespace":"guest","version":3,
 *    "activation_id":"...","wait_us":3,"init_us":310,"exec_us":1800}
 *
 * Every line has time (the request's arrival, UTC), remote, method, path,
 * status, bytes (the response body) and duration_us (arrival to the end of
 * the response). Calls add function, function_namespace, version, wait_us,
 * init_us, exec_us, activation_id when the call ran, and code when it
 * failed (e.g. "queue_full"). "namespace" is the caller's when its key
 * was checked (the /v1 routes, calls of functions that are not public).
 * "aborted":true marks a request whose
 * connection ended before its response was sent. status is 0 when no
 * response was queued (a request MHD dropped on its own).
 *
 * The path is logged without the query string: queries carry arguments of
 * calls and env=K=V secrets of deploys, which have no place in a log.
 * Bytes that are not UTF-8 are logged as U+FFFD.
 *
 * Writing never blocks a request: lines go to an in-memory backlog that one
 * writer thread drains to the file with write(2). A disk slower than the
 * requests fills the backlog up to HTTP_ACCESS_LOG_BACKLOG bytes; lines past
 * that are dropped and counted (mote_access_log_dropped_total), rather than
 * holding connection threads. Stopping the server drains the backlog.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/http_internal.h"

typedef struct line {
  struct line *next;
  size_t len;
  char text[]; /* ends with '\n' */
} line;

struct http_access_log {
  int fd;
  bool own_fd;             /* false for stderr */
  pthread_t writer;
  pthread_mutex_t lock;
  pthread_cond_t more;
  line *head, *tail;       /* the backlog, oldest first */
  size_t backlog;          /* bytes in it */
  bool stop;
  uint64_t dropped;        /* lines; read with __atomic loads */
  uint64_t write_errors;   /* lines lost to a failing write */
};

static void write_all(http_access_log *l, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(l->fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      /* A full disk or a closed pipe: the line is lost, the server goes on. */
      __atomic_fetch_add(&l->write_errors, 1, __ATOMIC_RELAXED);
      return;
    }
    p += w;
    n -= (size_t)w;
  }
}

static void *writer_main(void *arg) {
  http_access_log *l = arg;
  pthread_mutex_lock(&l->lock);
  for (;;) {
    while (!l->head && !l->stop) pthread_cond_wait(&l->more, &l->lock);
    if (!l->head) break; /* stopping, and everything is written */
    line *batch = l->head;
    l->head = l->tail = NULL;
    l->backlog = 0;
    pthread_mutex_unlock(&l->lock);
    while (batch) {
      line *next = batch->next;
      write_all(l, batch->text, batch->len);
      free(batch);
      batch = next;
    }
    pthread_mutex_lock(&l->lock);
  }
  pthread_mutex_unlock(&l->lock);
  return NULL;
}

http_access_log *access_log_open(const char *path, char *msg, size_t cap) {
  http_access_log *l = calloc(1, sizeof *l);
  if (!l) {
    snprintf(msg, cap, "out of memory");
    return NULL;
  }
  if (!strcmp(path, "-")) {
    l->fd = STDERR_FILENO;
  } else {
    l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (l->fd < 0) {
      snprintf(msg, cap, "cannot open the access log %s: %s", path, strerror(errno));
      free(l);
      return NULL;
    }
    l->own_fd = true;
  }
  pthread_mutex_init(&l->lock, NULL);
  pthread_cond_init(&l->more, NULL);
  if (pthread_create(&l->writer, NULL, writer_main, l) != 0) {
    snprintf(msg, cap, "cannot start the access log's writer thread");
    if (l->own_fd) close(l->fd);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->more);
    free(l);
    return NULL;
  }
  return l;
}

void access_log_close(http_access_log *l) {
  if (!l) return;
  pthread_mutex_lock(&l->lock);
  l->stop = true;
  pthread_cond_signal(&l->more);
  pthread_mutex_unlock(&l->lock);
  pthread_join(l->writer, NULL);
  if (l->own_fd) close(l->fd);
  pthread_mutex_destroy(&l->lock);
  pthread_cond_destroy(&l->more);
  free(l);
}

uint64_t access_log_dropped(http_access_log *l) {
  return l ? __atomic_load_n(&l->dropped, __ATOMIC_RELAXED) +
                 __atomic_load_n(&l->write_errors, __ATOMIC_RELAXED)
           : 0;
}

/* Appends one line (text, n bytes, without the newline) to the backlog. */
static void enqueue(http_access_log *l, const char *text, size_t n) {
  line *ln = malloc(sizeof *ln + n + 1);
  if (!ln) {
    __atomic_fetch_add(&l->dropped, 1, __ATOMIC_RELAXED);
    return;
  }
  memcpy(ln->text, text, n);
  ln->text[n] = '\n';
  ln->len = n + 1;
  ln->next = NULL;
  pthread_mutex_lock(&l->lock);
  if (l->backlog + ln->len > HTTP_ACCESS_LOG_BACKLOG) {
    pthread_mutex_unlock(&l->lock);
    free(ln);
    __atomic_fetch_add(&l->dropped, 1, __ATOMIC_RELAXED);
    return;
  }
  if (l->tail) l->tail->next = ln;
  else l->head = ln;
  l->tail = ln;
  l->backlog += ln->len;
  pthread_cond_signal(&l->more);
  pthread_mutex_unlock(&l->lock);
}

void access_log_request(http_access_log *l, http_req *r, bool aborted) {
  if (!l) return;
  char remote[NI_MAXHOST + NI_MAXSERV + 4];
  request_remote(r, remote, sizeof remote, NULL, 0, NULL, 0);
  size_t plen = strcspn(r->uri, "?");
  json_t *o = json_object();
  if (!o) {
    __atomic_fetch_add(&l->dropped, 1, __ATOMIC_RELAXED);
    return;
  }
  json_object_set_new(o, "time", json_utc_ms(r->t_wall_ms));
  json_object_set_new(o, "remote", json_string(remote));
  json_object_set_new(o, "method", r->method[0] ? json_bytes((const uint8_t *)r->method,
                                                             strlen(r->method))
                                                : json_string("-"));
  json_object_set_new(o, "path", json_bytes((const uint8_t *)r->uri, plen));
  json_object_set_new(o, "status", json_integer(r->status));
  json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes_out));
  json_object_set_new(o, "duration_us", json_integer((json_int_t)(mote_now_us() - r->t_start_us)));
  if (r->auth > 0) json_object_set_new(o, "namespace", json_string(r->ns));
  const http_call_log *k = &r->call;
  if (k->set) {
    json_object_set_new(o, "function", json_string(k->function));
    json_object_set_new(o, "function_namespace", json_string(k->ns));
    json_object_set_new(o, "version", json_integer((json_int_t)k->version));
    if (k->activation_id[0]) json_object_set_new(o, "activation_id", json_string(k->activation_id));
    json_object_set_new(o, "wait_us", json_integer((json_int_t)k->wait_us));
    json_object_set_new(o, "init_us", json_integer((json_int_t)k->init_us));
    json_object_set_new(o, "exec_us", json_integer((json_int_t)k->exec_us));
    if (k->code) json_object_set_new(o, "code", json_string(k->code));
  }
  if (aborted) json_object_set_new(o, "aborted", json_true());
  char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!text) {
    __atomic_fetch_add(&l->dropped, 1, __ATOMIC_RELAXED);
    return;
  }
  enqueue(l, text, strlen(text));
  free(text);
}
