/*
 * core: the platform's parts put together, and taken apart in order.
 *
 * Open: the store, the key cache, the registry, metrics, admission, the
 * namespace limits, accounting, the opt-tier worker and the executors of
 * background calls, then every stored function loaded (from the snapshot
 * its last start or deploy kept, when it fits: snapstore.c). Close, after the
 * transport stopped: background calls drained (each accepted call gets its
 * record), then the parts in reverse, accounting before the store (its last
 * deltas).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/fs.h"
#include "base/clock.h"
#include "core/core_internal.h"

mote_core_status core_fail(mote_core_error *err, mote_core_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  err->status = st;
  return st;
}

mote_core_status core_store_fail(mote_core_error *err, const mote_store_error *se) {
  mote_core_status st;
  switch (se->status) {
    case MOTE_STORE_NOT_FOUND: st = MOTE_CORE_NOT_FOUND; break;
    case MOTE_STORE_INVALID: st = MOTE_CORE_INVALID; break;
    case MOTE_STORE_FULL:
      return core_fail(err, MOTE_CORE_DISK_FULL, "the disk is full: %s", se->message);
    default: st = MOTE_CORE_STORE; break;
  }
  return core_fail(err, st, "%s", se->message);
}

bool core_disk_low(const mote_core *c, uint64_t *avail) {
  struct statvfs sv;
  *avail = 0;
  if (statvfs(c->data_dir, &sv) != 0) return false;
  *avail = (uint64_t)sv.f_bavail * sv.f_frsize;
  return *avail < CORE_DISK_LOW_BYTES;
}

mote_core_status mote_core_open(const mote_core_config *cfg, mote_core **out,
                                mote_core_error *err) {
  *out = NULL;
  err->status = MOTE_CORE_OK;
  err->message[0] = '\0';
  if (!cfg->data_dir || !*cfg->data_dir)
    return core_fail(err, MOTE_CORE_INVALID, "a data directory is required");
  mote_core *c = mote_calloc(1, sizeof *c);
  if (!c) return core_fail(err, MOTE_CORE_NO_MEMORY, "out of memory");
  c->data_lock = -1;
  snprintf(c->data_dir, sizeof c->data_dir, "%s", cfg->data_dir);
  snprintf(c->cache_dir, sizeof c->cache_dir, "%s/cache", cfg->data_dir);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  c->workers = cfg->workers ? cfg->workers : (unsigned)(ncpu > 0 ? ncpu : 1);
  c->keep_snapshots = !cfg->no_kept_snapshots;
  c->cluster = cfg->cluster;
  if (cfg->id_tag) snprintf(c->id_tag, sizeof c->id_tag, "%s", cfg->id_tag);
  if (c->id_tag[0] && (strlen(c->id_tag) != 8 || strspn(c->id_tag, "0123456789abcdef") != 8)) {
    mote_free(c);
    return core_fail(err, MOTE_CORE_INVALID, "a node's id tag is 8 hex digits");
  }
  pthread_mutex_init(&c->deploy_lock, NULL);
  pthread_mutex_init(&c->state_lock, NULL);
  pthread_mutex_init(&c->ops_lock, NULL);
  c->sweep_wall_ms = mote_wall_ms();
  c->sweep_mono_us = mote_now_us();
  mote_rt_init();
  mote_rt_snapshot_policy_set(cfg->images); /* before any snapshot is taken or loaded */

  mote_store_error se;
  if (mote_mkdirs(c->data_dir, 0755) != 0) {
    core_fail(err, MOTE_CORE_STORE, "cannot create %s: %s", c->data_dir, strerror(errno));
    goto fail;
  }
  /* Two servers on one directory would each sweep, clean tmp/ and account
   * as if alone: the second is refused, with the first's pid. `mote keys
   * --data` beside a server opens the store only, and is fine. */
  char lock[PATH_MAX + 16];
  pid_t holder = 0;
  snprintf(lock, sizeof lock, "%s/serve.lock", c->data_dir);
  if ((c->data_lock = mote_lock_file(lock, &holder)) < 0) {
    if (errno == EWOULDBLOCK)
      core_fail(err, MOTE_CORE_STORE,
                "the data directory %s is in use by another server (pid %ld): one data "
                "directory takes one mote serve", c->data_dir, (long)holder);
    else
      core_fail(err, MOTE_CORE_STORE, "cannot lock %s: %s", lock, strerror(errno));
    goto fail;
  }
  if (mote_store_open(c->data_dir, &c->store, &se) != MOTE_STORE_OK) {
    core_fail(err, MOTE_CORE_STORE, "cannot open the store in %s: %s", c->data_dir, se.message);
    goto fail;
  }
  c->identity = identity_new();
  c->reg = registry_new();
  c->metrics = metrics_new();
  c->queue_timeout_ms = cfg->queue_timeout_ms ? cfg->queue_timeout_ms
                                              : CORE_DEFAULT_QUEUE_TIMEOUT_MS;
  unsigned alive = cfg->max_alive ? cfg->max_alive : CORE_DEFAULT_ALIVE_PER_WORKER * c->workers;
  if (!cfg->max_alive && alive < 32) alive = 32;
  c->max_alive = alive;
  c->admit = admit_new(c->workers, alive,
                       cfg->queue ? cfg->queue : CORE_DEFAULT_QUEUE_PER_WORKER * c->workers,
                       c->queue_timeout_ms);
  if (c->admit && cfg->cpu_quantum_ms)
    admit_set_quantum(c->admit, cfg->cpu_quantum_ms == CORE_QUANTUM_OFF
                                    ? UINT64_MAX : (uint64_t)cfg->cpu_quantum_ms * 1000);
  c->quota = quota_new(c->store, cfg->ns_invocations_per_minute, cfg->ns_concurrent);
  c->acct = accounting_new(c->store);
  c->budget = budget_new((uint64_t)cfg->init_memory_mib << 20);
  c->loader = loader_new(c);
  /* A background call reaches an executor only alive: one thread each. */
  c->exec = exec_new(c->max_alive);
  if (!c->identity || !c->reg || !c->metrics || !c->admit || !c->quota || !c->acct ||
      !c->budget || !c->loader || !c->exec) {
    core_fail(err, MOTE_CORE_NO_MEMORY, "out of memory");
    goto fail;
  }
  c->sweep_grace_s = cfg->sweep_grace_s ? cfg->sweep_grace_s : CORE_SWEEP_GRACE_S;
  c->sweeper = sweeper_new(c, cfg->sweep_every_s ? cfg->sweep_every_s : CORE_SWEEP_EVERY_S);
  if (!c->sweeper) fprintf(stderr, "mote: the store's sweeper did not start: no sweeps\n");
  c->startup = startup_new(c, c->workers);
  if (c->startup && !cfg->background_start) startup_wait(c->startup);
  *out = c;
  return MOTE_CORE_OK;

fail:
  mote_core_close(c);
  return err->status;
}

void mote_core_drain(mote_core *c) {
  if (c && c->exec) {
    exec_free(c->exec); /* every accepted background call to its record */
    c->exec = NULL;
  }
}

void mote_core_close(mote_core *c) {
  if (!c) return;
  sweeper_free(c->sweeper);
  startup_free(c->startup); /* before the parts its threads use */
  mote_core_drain(c);
  loader_free(c->loader);
  registry_free(c->reg);
  budget_free(c->budget); /* after every image charged to it */
  metrics_free(c->metrics);
  admit_free(c->admit);
  quota_free(c->quota);
  accounting_free(c->acct); /* writes the last deltas: before the store closes */
  if (c->store) mote_store_close(c->store);
  identity_free(c->identity);
  if (c->data_lock >= 0) close(c->data_lock); /* after the store: the directory is free */
  pthread_mutex_destroy(&c->deploy_lock);
  pthread_mutex_destroy(&c->state_lock);
  pthread_mutex_destroy(&c->ops_lock);
  mote_free(c);
}

mote_store *core_store(mote_core *c) { return c->store; }
const char *core_data_dir(const mote_core *c) { return c->data_dir; }
bool core_fn_preparing(mote_core *c, const char *ns, const char *name) {
  return c->startup && startup_preparing(c->startup, ns, name);
}

void core_start_counts(mote_core *c, unsigned *pending, unsigned *total) {
  *pending = *total = 0;
  if (c->startup) startup_counts(c->startup, pending, total);
}

unsigned core_workers(const mote_core *c) { return c->workers; }
unsigned core_queue_default(const mote_core *c) { return admit_fn_queue_default(c->admit); }
unsigned core_queue_timeout_ms(const mote_core *c) { return c->queue_timeout_ms; }

mote_core_status core_identify(mote_core *c, const char *uuid, const char *key,
                               char ns_out[MOTE_STORE_NS_MAX + 1]) {
  return identity_check(c->identity, c->store, uuid, key, mote_wall_ms(), ns_out);
}

void core_identity_forget(mote_core *c, const char *uuid) { identity_forget(c->identity, uuid); }

bool core_usage_flush(mote_core *c) { return accounting_flush(c->acct); }

bool core_figures_get(mote_core *c, core_figures *out) {
  memset(out, 0, sizeof *out);
  out->functions = registry_count(c->reg);
  bool ok = metrics_figures(c->metrics, out);
  admit_stats(c->admit, out);
  core_budget_figures b;
  budget_figures(c->budget, &b);
  out->init_memory_cap = b.cap;
  out->init_memory_used = b.used;
  out->init_memory_reserved = b.reserved;
  accounting_flush(c->acct); /* every call answered is in the totals */
  mote_store_error se;
  if (mote_store_usage_list(c->store, NULL, NULL, &out->usage, &out->nusage, &se) !=
      MOTE_STORE_OK) {
    out->usage = NULL;
    out->nusage = 0;
  }
  return ok;
}

void core_figures_clear(core_figures *f) {
  mote_free(f->fns);
  mote_free(f->queues);
  free(f->usage);
  memset(f, 0, sizeof *f);
}
