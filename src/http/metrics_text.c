/*
 * metrics_text: GET /metrics, the Prometheus text exposition format 0.0.4 of
 * the core's figures (core_figures_get) and the public transport's own (the
 * access log's dropped lines), plus the process's resident memory and the
 * runtime's memory pool. It names every namespace's functions: it is served
 * on the operator's address only (--metrics-listen), never the public one.
 *
 * GET /v1/metrics is a tenant's: the same per-function families (calls,
 * classes, histograms, refusals, queue gauges, usage) of the key's namespace
 * alone, and none of the server's own (workers, the queue overall, memory,
 * deploys, builds), which would show other namespaces' load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_internal.h"
#include "rt/rt.h"

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

/* metric{namespace="NS",function="NAME" (the caller closes the braces):
 * names are per namespace, so a function is the pair. */
static void fn_label(FILE *o, const char *metric, const char *ns, const char *fn) {
  fprintf(o, "%s{namespace=\"", metric);
  put_label(o, ns);
  fputs("\",function=\"", o);
  put_label(o, fn);
  fputc('"', o);
}

static void render_histo(FILE *o, const char *name, const char *help, const core_fn_figures *fs,
                         size_t n, size_t off) {
  head(o, name, "histogram", help);
  for (size_t k = 0; k < n; k++) {
    const core_histogram *h = (const core_histogram *)((const char *)&fs[k] + off);
    uint64_t cum = 0;
    char metric[96];
    snprintf(metric, sizeof metric, "%s_bucket", name);
    for (size_t i = 0; i <= CORE_HISTO_BOUNDS; i++) {
      cum += h->buckets[i];
      fn_label(o, metric, fs[k].ns, fs[k].name);
      if (i < CORE_HISTO_BOUNDS)
        fprintf(o, ",le=\"%g\"} %llu\n", (double)core_histogram_bound_us((unsigned)i) / 1e6,
                (unsigned long long)cum);
      else
        fprintf(o, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    /* _count is the +Inf bucket, so the two always agree */
    snprintf(metric, sizeof metric, "%s_sum", name);
    fn_label(o, metric, fs[k].ns, fs[k].name);
    fprintf(o, "} %.6f\n", (double)h->sum_us / 1e6);
    snprintf(metric, sizeof metric, "%s_count", name);
    fn_label(o, metric, fs[k].ns, fs[k].name);
    fprintf(o, "} %llu\n", (unsigned long long)cum);
  }
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

/* The gauges of admission: workers, the queue overall (the server's), and
 * per function. */
static void render_admission(FILE *o, const core_figures *f, bool server) {
  if (server) {
    head(o, "mote_workers", "gauge", "Execution slots (--workers), busy or idle.");
    fprintf(o, "mote_workers{state=\"busy\"} %u\n", f->busy);
    fprintf(o, "mote_workers{state=\"idle\"} %u\n", f->workers - f->busy);
    head(o, "mote_calls_alive", "gauge",
         "Calls alive (instances): computing, sleeping, or past their CPU quantum (--instances).");
    fprintf(o, "mote_calls_alive %u\n", f->alive);
    head(o, "mote_calls_alive_capacity", "gauge", "Calls that may be alive at once (--instances).");
    fprintf(o, "mote_calls_alive_capacity %u\n", f->alive_max);
    head(o, "mote_cpu_slots_released_total", "counter",
         "CPU slots given back by calls still alive: yield (the guest waited in the host), quantum "
         "(held past --cpu-quantum while others waited).");
    fprintf(o, "mote_cpu_slots_released_total{reason=\"yield\"} %llu\n",
            (unsigned long long)f->cpu_yielded);
    fprintf(o, "mote_cpu_slots_released_total{reason=\"quantum\"} %llu\n",
            (unsigned long long)f->cpu_demoted);
    head(o, "mote_queue_depth", "gauge", "Calls waiting for an execution slot.");
    fprintf(o, "mote_queue_depth %u\n", f->waiting);
    head(o, "mote_queue_capacity", "gauge", "Calls that may wait at most (--queue).");
    fprintf(o, "mote_queue_capacity %u\n", f->queue_max);
  }
  head(o, "mote_function_queue_depth", "gauge",
       "Calls of a function waiting for an execution slot.");
  for (size_t i = 0; i < f->nqueues; i++) {
    fn_label(o, "mote_function_queue_depth", f->queues[i].ns, f->queues[i].name);
    fprintf(o, "} %u\n", f->queues[i].waiting);
  }
  head(o, "mote_function_calls_running", "gauge", "Calls of a function holding a slot.");
  for (size_t i = 0; i < f->nqueues; i++) {
    fn_label(o, "mote_function_calls_running", f->queues[i].ns, f->queues[i].name);
    fprintf(o, "} %u\n", f->queues[i].running);
  }
}

/* Accounting totals (flushed first, so every call answered is in them). */
static void render_usage(FILE *o, const core_figures *fg) {
  const mote_usage *u = fg->usage;
  size_t n = fg->nusage;
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
      fn_label(o, fam[f].name, u[i].ns, u[i].function);
      fputs("} ", o);
      switch (f) {
        case 0: fprintf(o, "%llu\n", (unsigned long long)u[i].invocations); break;
        case 1: fprintf(o, "%llu\n", (unsigned long long)u[i].errors); break;
        case 2: fprintf(o, "%llu\n", (unsigned long long)u[i].refused); break;
        case 3: fprintf(o, "%.6f\n", (double)u[i].exec_us / 1e6); break;
        default: fprintf(o, "%.9g\n", (double)u[i].memory_mib_us / 1024.0 / 1e6); break;
      }
    }
  }
}

/* Keeps, in order, the n elements of `size` bytes whose namespace (a string
 * at ns_off) is ns; returns how many. */
static size_t keep_namespace(void *elems, size_t n, size_t size, size_t ns_off, const char *ns) {
  char *p = elems;
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(p + i * size + ns_off, ns) != 0) continue;
    if (kept != i) memmove(p + kept * size, p + i * size, size);
    kept++;
  }
  return kept;
}

char *metrics_text(mote_core *core, http_server *public_server, const char *ns, size_t *len) {
  core_figures fg;
  if (!core_figures_get(core, &fg)) {
    core_figures_clear(&fg);
    return NULL;
  }
  if (ns) {
    fg.nfns = keep_namespace(fg.fns, fg.nfns, sizeof *fg.fns, offsetof(core_fn_figures, ns), ns);
    fg.nqueues = keep_namespace(fg.queues, fg.nqueues, sizeof *fg.queues,
                                offsetof(core_queue_figures, ns), ns);
    fg.nusage = keep_namespace(fg.usage, fg.nusage, sizeof *fg.usage, offsetof(mote_usage, ns), ns);
  }
  char *buf = NULL;
  size_t size = 0;
  FILE *o = open_memstream(&buf, &size);
  if (!o) {
    core_figures_clear(&fg);
    return NULL;
  }
  const core_fn_figures *fs = fg.fns;
  size_t n = fg.nfns;
  head(o, "mote_calls_total", "counter", "Calls of a function by HTTP status.");
  for (size_t k = 0; k < n; k++)
    for (size_t i = 0; i < CORE_STATUSES_KEPT && fs[k].status_code[i]; i++) {
      fn_label(o, "mote_calls_total", fs[k].ns, fs[k].name);
      fprintf(o, ",status=\"%u\"} %llu\n", fs[k].status_code[i],
              (unsigned long long)fs[k].status_count[i]);
    }
  head(o, "mote_call_errors_total", "counter",
       "Calls of a function by outcome class (ok is a call that exited 0).");
  for (size_t k = 0; k < n; k++)
    for (size_t c = 0; c < CORE_CLASS_COUNT; c++) {
      fn_label(o, "mote_call_errors_total", fs[k].ns, fs[k].name);
      fprintf(o, ",class=\"%s\"} %llu\n", core_class_name((core_class)c),
              (unsigned long long)fs[k].class_count[c]);
    }
  render_histo(o, "mote_call_wait_seconds", "Time a call waited for an execution slot.", fs, n,
               offsetof(core_fn_figures, wait));
  render_histo(o, "mote_call_init_seconds", "Time to instantiate a call's module.", fs, n,
               offsetof(core_fn_figures, init));
  render_histo(o, "mote_call_exec_seconds", "Time a call's _start ran.", fs, n,
               offsetof(core_fn_figures, exec));
  head(o, "mote_calls_refused_total", "counter",
       "Calls answered 429 by admission, by reason (the code of the error).");
  for (size_t k = 0; k < n; k++)
    for (unsigned i = 0; i < CORE_REFUSALS; i++) {
      fn_label(o, "mote_calls_refused_total", fs[k].ns, fs[k].name);
      fprintf(o, ",reason=\"%s\"} %llu\n", http_code_of(CORE_REFUSAL_FIRST + i),
              (unsigned long long)fs[k].refused[i]);
    }
  render_admission(o, &fg, !ns);
  if (!ns) { /* the server's own: they show every namespace's load */
    head(o, "mote_calls_in_flight", "gauge", "Calls running now.");
    fprintf(o, "mote_calls_in_flight %lld\n", (long long)(int64_t)fg.in_flight);
    head(o, "mote_functions", "gauge", "Functions loaded.");
    fprintf(o, "mote_functions %u\n", fg.functions);
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
    fprintf(o, "mote_deploys_total{result=\"ok\"} %llu\n", (unsigned long long)fg.deploys_ok);
    fprintf(o, "mote_deploys_total{result=\"refused\"} %llu\n",
            (unsigned long long)fg.deploys_refused);
    head(o, "mote_init_memory_bytes", "gauge",
         "The node's memory for initialised functions (their snapshots' images, --init-memory): "
         "used, reserved by initialisations running, and the capacity.");
    fprintf(o, "mote_init_memory_bytes{state=\"used\"} %llu\n",
            (unsigned long long)fg.init_memory_used);
    fprintf(o, "mote_init_memory_bytes{state=\"reserved\"} %llu\n",
            (unsigned long long)fg.init_memory_reserved);
    fprintf(o, "mote_init_memory_bytes{state=\"capacity\"} %llu\n",
            (unsigned long long)fg.init_memory_cap);
    head(o, "mote_calls_cancelled_total", "counter",
         "Calls stopped because their client went away, by when: waiting for a slot (never "
         "ran) or running (stopped; its record says cancelled).");
    fprintf(o, "mote_calls_cancelled_total{when=\"waiting\"} %llu\n",
            (unsigned long long)fg.cancelled_waiting);
    fprintf(o, "mote_calls_cancelled_total{when=\"running\"} %llu\n",
            (unsigned long long)fg.cancelled_running);
    head(o, "mote_opt_builds_total", "counter",
         "Background builds of the optimised tier by result (failed: the quick tier serves on; "
         "the version record says why).");
    fprintf(o, "mote_opt_builds_total{result=\"ok\"} %llu\n", (unsigned long long)fg.opt_builds_ok);
    fprintf(o, "mote_opt_builds_total{result=\"failed\"} %llu\n",
            (unsigned long long)fg.opt_builds_failed);
    head(o, "mote_store_swept_total", "counter",
         "Stored bytes nothing named any more, removed by the hourly sweep: module and "
         "snapshot blobs, and bundles' file sets.");
    fprintf(o, "mote_store_swept_total{kind=\"blob\"} %llu\n", (unsigned long long)fg.swept_blobs);
    fprintf(o, "mote_store_swept_total{kind=\"file_set\"} %llu\n",
            (unsigned long long)fg.swept_file_sets);
    head(o, "mote_store_swept_bytes_total", "counter", "Their bytes.");
    fprintf(o, "mote_store_swept_bytes_total %llu\n", (unsigned long long)fg.swept_bytes);
    head(o, "mote_access_log_dropped_total", "counter",
         "Access-log lines lost: the writer fell behind by more than its backlog, or writing failed.");
    fprintf(o, "mote_access_log_dropped_total %llu\n",
            (unsigned long long)access_log_dropped(public_server->access_log));
    http_conn_figures cf;
    conns_figures(public_server->conns, &cf);
    head(o, "mote_http_connections", "gauge", "HTTP connections open (the public address).");
    fprintf(o, "mote_http_connections %u\n", cf.open);
    head(o, "mote_http_connections_closed_total", "counter",
         "Connections the server closed: head_timeout (a request's head not read within "
         "--head-timeout of its first byte), body_timeout (a request's body slower than 1 KiB/s "
         "on average after --head-timeout), evicted (idle, for a newcomer past "
         "--max-connections).");
    fprintf(o, "mote_http_connections_closed_total{reason=\"head_timeout\"} %llu\n",
            (unsigned long long)cf.head_timeouts);
    fprintf(o, "mote_http_connections_closed_total{reason=\"body_timeout\"} %llu\n",
            (unsigned long long)cf.body_timeouts);
    fprintf(o, "mote_http_connections_closed_total{reason=\"evicted\"} %llu\n",
            (unsigned long long)cf.evicted);
    http_budget_figures bf;
    held_figures(&public_server->budget, &bf);
    head(o, "mote_http_response_bytes_held", "gauge",
         "Response bytes queued and not yet all written (slow readers hold them).");
    fprintf(o, "mote_http_response_bytes_held %llu\n", (unsigned long long)bf.held);
    head(o, "mote_http_response_budget_bytes", "gauge", "--response-budget.");
    fprintf(o, "mote_http_response_budget_bytes %llu\n", (unsigned long long)bf.limit);
    head(o, "mote_http_response_budget_client_bytes", "gauge",
         "What one client address may hold in large responses (a share of --response-budget).");
    fprintf(o, "mote_http_response_budget_client_bytes %llu\n", (unsigned long long)bf.share);
    head(o, "mote_http_response_budget_refused_total", "counter",
         "Calls refused (503) because the response bytes held stayed past the budget, or their "
         "client's past its share.");
    fprintf(o, "mote_http_response_budget_refused_total %llu\n", (unsigned long long)bf.refused);
    core_cluster_state cs;
    core_cluster_state_get(core, &cs);
    if (cs.member) {
      head(o, "mote_cluster_reachable", "gauge",
           "1 when the cluster's etcd answers; 0: unreachable (calls are served on, changes wait).");
      fprintf(o, "mote_cluster_reachable %d\n", cs.reachable ? 1 : 0);
      head(o, "mote_cluster_nodes", "gauge", "Live nodes of the cluster, this one included.");
      fprintf(o, "mote_cluster_nodes %u\n", cs.nodes);
      head(o, "mote_cluster_draining", "gauge", "1 when this node is drained.");
      fprintf(o, "mote_cluster_draining %d\n", cs.draining ? 1 : 0);
      head(o, "mote_cluster_revision", "gauge",
           "The revision of the cluster's records this node has applied.");
      fprintf(o, "mote_cluster_revision %lld\n", (long long)cs.revision);
      head(o, "mote_cluster_objects_total", "counter",
           "Compiled objects taken from peers (fetched) instead of compiling, or compiled here "
           "and published for them (built).");
      fprintf(o, "mote_cluster_objects_total{way=\"fetched\"} %llu\n",
              (unsigned long long)cs.objects_fetched);
      fprintf(o, "mote_cluster_objects_total{way=\"built\"} %llu\n",
              (unsigned long long)cs.objects_built);
      head(o, "mote_cluster_forwarded_total", "counter",
           "Requests passed on to other nodes (calls of functions served elsewhere, lists of "
           "every node).");
      fprintf(o, "mote_cluster_forwarded_total %llu\n", (unsigned long long)cs.forwarded);
    }
  }
  render_usage(o, &fg);
  core_figures_clear(&fg);
  if (fclose(o) != 0) {
    free(buf);
    return NULL;
  }
  *len = size;
  return buf;
}
