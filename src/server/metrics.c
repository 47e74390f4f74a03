/*
 * metrics: GET /metrics, Prometheus text exposition format 0.0.4.
 *
 * Per function (a block made the first time a name is recorded and kept
 * until the server stops, so counters of a deleted function stay
 * monotone): calls by exact HTTP status, calls by outcome class, and
 * histograms of the wait/init/exec times of the calls that ran. Blocks live
 * in a fixed hash of append-only lists: a lookup walks them without a lock
 * (pointers published with release stores), creation takes the mutex, and
 * every counter is updated with __atomic builtins. Rendering walks the
 * blocks under the mutex. Process-wide: calls in flight, deploys by result.
 * Calls refused by admission (429) are counted by reason; the gauges of the
 * queue (overall and per function) and of the workers are read from the
 * admission controller when rendering.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/server_internal.h"

#define NBUCKETS_HASH 256
#define NSTATUS 16 /* distinct statuses per function; more go to the last slot's code 0 */

/* Histogram bounds in microseconds: 1, 2, 5 per decade, 1 us .. 10 s. */
static const uint64_t bounds_us[] = {
    1,      2,      5,      10,      20,      50,      100,     200,
    500,    1000,   2000,   5000,    10000,   20000,   50000,   100000,
    200000, 500000, 1000000, 2000000, 5000000, 10000000,
};
#define NB (sizeof bounds_us / sizeof bounds_us[0])

static const char *const class_names[SRV_CLASS_COUNT] = {
    [SRV_CLASS_OK] = "ok",         [SRV_CLASS_EXIT] = "exit",
    [SRV_CLASS_TRAP] = "trap",     [SRV_CLASS_TIMEOUT] = "timeout",
    [SRV_CLASS_LIMIT] = "limit",   [SRV_CLASS_LINK] = "link",
    [SRV_CLASS_CGI] = "cgi",       [SRV_CLASS_INTERNAL] = "internal",
    [SRV_CLASS_OVERLOAD] = "overload",
};

typedef struct histo {
  uint64_t buckets[NB + 1]; /* not cumulative; the last is +Inf */
  uint64_t sum_us;
} histo;

typedef struct fn_metrics {
  struct fn_metrics *next; /* in its hash list; published with a release store */
  char *name;
  uint32_t status_code[NSTATUS]; /* 0: free slot (claimed under the mutex) */
  uint64_t status_count[NSTATUS];
  uint64_t class_count[SRV_CLASS_COUNT];
  histo wait, init, exec;
  uint64_t refused[SRV_ADMIT_STATUS_COUNT]; /* by SRV_REFUSED_* */
} fn_metrics;

struct srv_metrics {
  pthread_mutex_t lock;
  fn_metrics *table[NBUCKETS_HASH];
  unsigned count;
  uint64_t in_flight;
  uint64_t deploys_ok, deploys_refused;
  uint64_t opt_builds_ok, opt_builds_failed;
};

srv_metrics *metrics_new(void) {
  srv_metrics *m = calloc(1, sizeof *m);
  if (m) pthread_mutex_init(&m->lock, NULL);
  return m;
}

void metrics_free(srv_metrics *m) {
  if (!m) return;
  for (size_t i = 0; i < NBUCKETS_HASH; i++) {
    fn_metrics *f = m->table[i];
    while (f) {
      fn_metrics *next = f->next;
      free(f->name);
      free(f);
      f = next;
    }
  }
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static size_t hash(const char *s) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211u;
  return (size_t)(h % NBUCKETS_HASH);
}

static fn_metrics *find(fn_metrics *f, const char *name) {
  for (; f; f = __atomic_load_n(&f->next, __ATOMIC_ACQUIRE))
    if (!strcmp(f->name, name)) return f;
  return NULL;
}

/* The block of `name`, made if new; NULL when out of memory. */
static fn_metrics *block(srv_metrics *m, const char *name) {
  fn_metrics **head = &m->table[hash(name)];
  fn_metrics *f = find(__atomic_load_n(head, __ATOMIC_ACQUIRE), name);
  if (f) return f;
  pthread_mutex_lock(&m->lock);
  f = find(*head, name); /* made by another thread meanwhile? */
  if (!f && (f = calloc(1, sizeof *f))) {
    if ((f->name = strdup(name))) {
      f->next = *head;
      __atomic_store_n(head, f, __ATOMIC_RELEASE);
      m->count++;
    } else {
      free(f);
      f = NULL;
    }
  }
  pthread_mutex_unlock(&m->lock);
  return f;
}

static void observe(histo *h, uint64_t us) {
  size_t i = 0;
  while (i < NB && us > bounds_us[i]) i++;
  __atomic_fetch_add(&h->buckets[i], 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&h->sum_us, us, __ATOMIC_RELAXED);
}

static void count_status(srv_metrics *m, fn_metrics *f, unsigned status) {
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < NSTATUS; i++) {
      uint32_t code = __atomic_load_n(&f->status_code[i], __ATOMIC_ACQUIRE);
      if (code == status) {
        __atomic_fetch_add(&f->status_count[i], 1, __ATOMIC_RELAXED);
        return;
      }
      if (code == 0) break; /* slots fill in order: not there */
    }
    if (pass) break;
    pthread_mutex_lock(&m->lock); /* claim a slot, unless another thread just did */
    for (size_t i = 0; i < NSTATUS; i++) {
      uint32_t code = f->status_code[i];
      if (code == status) break;
      if (code == 0) {
        __atomic_store_n(&f->status_code[i], status, __ATOMIC_RELEASE);
        break;
      }
    }
    pthread_mutex_unlock(&m->lock);
  }
  /* every slot taken by other statuses: dropped (16 distinct codes per function) */
}

void metrics_call(srv_metrics *m, const char *function, unsigned status, srv_call_class cls,
                  const srv_call_times *t) {
  if (!m) return;
  fn_metrics *f = block(m, function);
  if (!f) return;
  count_status(m, f, status);
  if ((unsigned)cls < SRV_CLASS_COUNT) __atomic_fetch_add(&f->class_count[cls], 1, __ATOMIC_RELAXED);
  if (t) {
    observe(&f->wait, t->wait_us);
    observe(&f->init, t->init_us);
    observe(&f->exec, t->exec_us);
  }
}

void metrics_refused(srv_metrics *m, const char *function, srv_admit_status st) {
  if (!m || st <= SRV_ADMITTED || st > SRV_REFUSED_TIMEOUT) return;
  fn_metrics *f = block(m, function);
  if (f) __atomic_fetch_add(&f->refused[st], 1, __ATOMIC_RELAXED);
}

void metrics_in_flight(srv_metrics *m, int delta) {
  if (m) __atomic_fetch_add(&m->in_flight, (uint64_t)(int64_t)delta, __ATOMIC_RELAXED);
}

void metrics_deploy(srv_metrics *m, bool ok) {
  if (m) __atomic_fetch_add(ok ? &m->deploys_ok : &m->deploys_refused, 1, __ATOMIC_RELAXED);
}

void metrics_opt_build(srv_metrics *m, bool ok) {
  if (m)
    __atomic_fetch_add(ok ? &m->opt_builds_ok : &m->opt_builds_failed, 1, __ATOMIC_RELAXED);
}

/* ---- rendering ------------------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void put_label(FILE *o, const char *v) {
  for (; *v; v++) {
    if (*v == '\\') fputs("\\\\", o);
    else if (*v == '"') fputs("\\\"", o);
    else if (*v == '\n') fputs("\\n", o);
    else fputc(*v, o);
  }
}

static void head(FILE *o, const char *name, const char *type, const char *help) {
  fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void fn_label(FILE *o, const char *metric, const fn_metrics *f) {
  fprintf(o, "%s{function=\"", metric);
  put_label(o, f->name);
  fputc('"', o);
}

static void render_histo(FILE *o, const char *name, const char *help, fn_metrics **fs, size_t n,
                         size_t off) {
  head(o, name, "histogram", help);
  for (size_t k = 0; k < n; k++) {
    const histo *h = (const histo *)((const char *)fs[k] + off);
    uint64_t cum = 0;
    char metric[96];
    snprintf(metric, sizeof metric, "%s_bucket", name);
    for (size_t i = 0; i <= NB; i++) {
      cum += __atomic_load_n(&h->buckets[i], __ATOMIC_RELAXED);
      fn_label(o, metric, fs[k]);
      if (i < NB) fprintf(o, ",le=\"%g\"} %llu\n", (double)bounds_us[i] / 1e6, (unsigned long long)cum);
      else fprintf(o, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    /* _count is the +Inf bucket, so the two always agree */
    uint64_t sum = __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
    snprintf(metric, sizeof metric, "%s_sum", name);
    fn_label(o, metric, fs[k]);
    fprintf(o, "} %.6f\n", (double)sum / 1e6);
    snprintf(metric, sizeof metric, "%s_count", name);
    fn_label(o, metric, fs[k]);
    fprintf(o, "} %llu\n", (unsigned long long)cum);
  }
}

static int by_name(const void *a, const void *b) {
  return strcmp((*(fn_metrics *const *)a)->name, (*(fn_metrics *const *)b)->name);
}

static uint64_t resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long long size = 0, rss = 0;
  int n = fscanf(f, "%llu %llu", &size, &rss);
  fclose(f);
  long page = sysconf(_SC_PAGESIZE);
  return n == 2 && page > 0 ? rss * (uint64_t)page : 0;
}

static int stats_by_name(const void *a, const void *b) {
  return strcmp(((const srv_admit_fn_stats *)a)->name, ((const srv_admit_fn_stats *)b)->name);
}

/* The gauges of admission: workers, the queue overall and per function. */
static void render_admission(FILE *o, srv_admit *a) {
  srv_admit_totals t;
  srv_admit_fn_stats *fs = NULL;
  size_t n = 0;
  admit_stats(a, &t, &fs, &n);
  if (n > 1) qsort(fs, n, sizeof *fs, stats_by_name);
  head(o, "mote_workers", "gauge", "Execution slots (--workers), busy or idle.");
  fprintf(o, "mote_workers{state=\"busy\"} %u\n", t.busy);
  fprintf(o, "mote_workers{state=\"idle\"} %u\n", t.workers - t.busy);
  head(o, "mote_queue_depth", "gauge", "Calls waiting for an execution slot.");
  fprintf(o, "mote_queue_depth %u\n", t.waiting);
  head(o, "mote_queue_capacity", "gauge", "Calls that may wait at most (--queue).");
  fprintf(o, "mote_queue_capacity %u\n", t.queue_max);
  head(o, "mote_function_queue_depth", "gauge",
       "Calls of a function waiting for an execution slot.");
  for (size_t i = 0; i < n; i++) {
    fprintf(o, "mote_function_queue_depth{function=\"");
    put_label(o, fs[i].name);
    fprintf(o, "\"} %u\n", fs[i].waiting);
  }
  head(o, "mote_function_calls_running", "gauge", "Calls of a function holding a slot.");
  for (size_t i = 0; i < n; i++) {
    fprintf(o, "mote_function_calls_running{function=\"");
    put_label(o, fs[i].name);
    fprintf(o, "\"} %u\n", fs[i].running);
  }
  free(fs);
}

/* Accounting totals (flushed first, so every call answered is in them). */
static void render_usage(FILE *o, mote_server *s) {
  accounting_flush(s->acct);
  mote_usage *u = NULL;
  size_t n = 0;
  mote_store_error err;
  if (mote_store_usage_list(s->store, NULL, NULL, &u, &n, &err) != MOTE_STORE_OK) n = 0;
  static const struct {
    const char *name, *help;
  } fam[] = {
      {"mote_usage_invocations_total", "Calls that ran, per namespace and function (accounting)."},
      {"mote_usage_errors_total", "Calls that ran and failed, per namespace and function."},
      {"mote_usage_refused_total", "Calls refused with 429, per namespace and function."},
      {"mote_usage_exec_seconds_total", "Execution time, per namespace and function."},
      {"mote_usage_gb_seconds_total",
       "Memory-time: the memory limit in GiB times the execution time in seconds."},
  };
  for (size_t f = 0; f < sizeof fam / sizeof fam[0]; f++) {
    head(o, fam[f].name, "counter", fam[f].help);
    for (size_t i = 0; i < n; i++) {
      fprintf(o, "%s{namespace=\"", fam[f].name);
      put_label(o, u[i].ns);
      fputs("\",function=\"", o);
      put_label(o, u[i].function);
      fputs("\"} ", o);
      switch (f) {
        case 0: fprintf(o, "%llu\n", (unsigned long long)u[i].invocations); break;
        case 1: fprintf(o, "%llu\n", (unsigned long long)u[i].errors); break;
        case 2: fprintf(o, "%llu\n", (unsigned long long)u[i].refused); break;
        case 3: fprintf(o, "%.6f\n", (double)u[i].exec_us / 1e6); break;
        default: fprintf(o, "%.9g\n", (double)u[i].memory_mib_us / 1024.0 / 1e6); break;
      }
    }
  }
  free(u);
}

char *metrics_render(srv_metrics *m, mote_server *s, size_t *len) {
  unsigned functions_loaded = registry_count(s->reg);
  char *buf = NULL;
  size_t size = 0;
  FILE *o = open_memstream(&buf, &size);
  if (!o) return NULL;
  pthread_mutex_lock(&m->lock);
  fn_metrics **fs = m->count ? calloc(m->count, sizeof *fs) : NULL;
  size_t n = 0;
  if (fs)
    for (size_t i = 0; i < NBUCKETS_HASH; i++)
      for (fn_metrics *f = m->table[i]; f && n < m->count; f = f->next) fs[n++] = f;
  if (n > 1) qsort(fs, n, sizeof *fs, by_name);

  head(o, "mote_calls_total", "counter", "Calls of a function by HTTP status.");
  for (size_t k = 0; k < n; k++)
    for (size_t i = 0; i < NSTATUS; i++) {
      uint32_t code = __atomic_load_n(&fs[k]->status_code[i], __ATOMIC_ACQUIRE);
      if (!code) break;
      fn_label(o, "mote_calls_total", fs[k]);
      fprintf(o, ",status=\"%u\"} %llu\n", code,
              (unsigned long long)__atomic_load_n(&fs[k]->status_count[i], __ATOMIC_RELAXED));
    }
  head(o, "mote_call_errors_total", "counter",
       "Calls of a function by outcome class (ok is a call that exited 0).");
  for (size_t k = 0; k < n; k++)
    for (size_t c = 0; c < SRV_CLASS_COUNT; c++) {
      fn_label(o, "mote_call_errors_total", fs[k]);
      fprintf(o, ",class=\"%s\"} %llu\n", class_names[c],
              (unsigned long long)__atomic_load_n(&fs[k]->class_count[c], __ATOMIC_RELAXED));
    }
  render_histo(o, "mote_call_wait_seconds", "Time a call waited for an execution slot.", fs, n,
               offsetof(fn_metrics, wait));
  render_histo(o, "mote_call_init_seconds", "Time to instantiate a call's module.", fs, n,
               offsetof(fn_metrics, init));
  render_histo(o, "mote_call_exec_seconds", "Time a call's _start ran.", fs, n,
               offsetof(fn_metrics, exec));
  head(o, "mote_calls_refused_total", "counter",
       "Calls answered 429 by admission, by reason (the code of the error).");
  for (size_t k = 0; k < n; k++)
    for (int st = SRV_REFUSED_CONCURRENCY; st <= SRV_REFUSED_TIMEOUT; st++) {
      fn_label(o, "mote_calls_refused_total", fs[k]);
      fprintf(o, ",reason=\"%s\"} %llu\n", admit_status_code((srv_admit_status)st),
              (unsigned long long)__atomic_load_n(&fs[k]->refused[st], __ATOMIC_RELAXED));
    }
  free(fs);
  pthread_mutex_unlock(&m->lock);

  head(o, "mote_calls_in_flight", "gauge", "Calls running now.");
  fprintf(o, "mote_calls_in_flight %lld\n",
          (long long)(int64_t)__atomic_load_n(&m->in_flight, __ATOMIC_RELAXED));
  render_admission(o, s->admit);
  head(o, "mote_functions", "gauge", "Functions loaded.");
  fprintf(o, "mote_functions %u\n", functions_loaded);
  head(o, "mote_process_resident_bytes", "gauge", "Resident memory of the server process.");
  fprintf(o, "mote_process_resident_bytes %llu\n", (unsigned long long)resident_bytes());
  head(o, "mote_store_memory_bytes", "gauge",
       "Memory SQLite holds now (page caches, statements), part of the resident bytes.");
  fprintf(o, "mote_store_memory_bytes %llu\n", (unsigned long long)mote_store_memory_used());
  mote_rt_memory_stats ms;
  mote_rt_memory_stats_get(&ms);
  head(o, "mote_memory_pool_slots", "gauge",
       "Linear-memory reservations mapped now: pooled for reuse (free) or in use.");
  fprintf(o, "mote_memory_pool_slots{state=\"free\"} %llu\n", (unsigned long long)ms.pooled);
  fprintf(o, "mote_memory_pool_slots{state=\"in_use\"} %llu\n",
          (unsigned long long)(ms.reserved > ms.pooled ? ms.reserved - ms.pooled : 0));
  head(o, "mote_deploys_total", "counter", "Deploys (PUT /v1/functions/NAME) by result.");
  fprintf(o, "mote_deploys_total{result=\"ok\"} %llu\n",
          (unsigned long long)__atomic_load_n(&m->deploys_ok, __ATOMIC_RELAXED));
  fprintf(o, "mote_deploys_total{result=\"refused\"} %llu\n",
          (unsigned long long)__atomic_load_n(&m->deploys_refused, __ATOMIC_RELAXED));
  head(o, "mote_opt_builds_total", "counter",
       "Background builds of the optimised tier by result (failed: the quick tier serves on; "
       "the version record says why).");
  fprintf(o, "mote_opt_builds_total{result=\"ok\"} %llu\n",
          (unsigned long long)__atomic_load_n(&m->opt_builds_ok, __ATOMIC_RELAXED));
  fprintf(o, "mote_opt_builds_total{result=\"failed\"} %llu\n",
          (unsigned long long)__atomic_load_n(&m->opt_builds_failed, __ATOMIC_RELAXED));
  head(o, "mote_access_log_dropped_total", "counter",
       "Access-log lines lost: the writer fell behind by more than its backlog, or writing failed.");
  fprintf(o, "mote_access_log_dropped_total %llu\n",
          (unsigned long long)access_log_dropped(s->access_log));
  render_usage(o, s);
  if (fclose(o) != 0) {
    free(buf);
    return NULL;
  }
  *len = size;
  return buf;
}
