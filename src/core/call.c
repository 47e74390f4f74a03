/*
 * call: the run of one call, whichever API asked for it (/faas/NAME,
 * /api/v1's invokes and web actions). In order:
 *
 *   quota_enter   the namespace's limits (the function's owner's, whoever
 *                 calls; a waiting call counts as in flight, as OpenWhisk
 *                 counts it)
 *   admission     an execution slot (admit.c): on the caller's thread,
 *                 maybe after a wait (core_call_run), or as a ticket in the
 *                 same queue, run by an executor once it has a slot
 *                 (core_call_submit: one queue for every call)
 *   the run       a fresh instance (mote_invoke_run) with the caller's
 *                 argv, env and stdin, stdout and stderr captured
 *   admit_leave, quota_leave
 *   the record    the activation (posted: the reply does not wait for its
 *                 commit), metrics_call, accounting_call
 *
 * What the run means (the reply's status, the outcome class, the
 * activation's meta) is the caller's to decide between the run and
 * core_call_finish: /faas answers with stdout, /api/v1 reads the native
 * action convention. The class of an outcome has one map, here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "core/core_internal.h"

core_class core_outcome_class(const mote_invoke_result *res) {
  switch (res->outcome) {
    case MOTE_INVOKE_EXITED: return res->exit_code == 0 ? CORE_CLASS_OK : CORE_CLASS_EXIT;
    case MOTE_INVOKE_TRAP: return CORE_CLASS_TRAP;
    case MOTE_INVOKE_TIMEOUT: return CORE_CLASS_TIMEOUT;
    case MOTE_INVOKE_LIMIT: return CORE_CLASS_LIMIT;
    case MOTE_INVOKE_LINK: return CORE_CLASS_LINK;
    case MOTE_INVOKE_CANCELLED: return CORE_CLASS_CANCELLED;
    default: return CORE_CLASS_INTERNAL;
  }
}

const char *core_class_name(core_class cls) {
  static const char *const names[CORE_CLASS_COUNT] = {
      [CORE_CLASS_OK] = "ok",         [CORE_CLASS_EXIT] = "exit",
      [CORE_CLASS_TRAP] = "trap",     [CORE_CLASS_TIMEOUT] = "timeout",
      [CORE_CLASS_LIMIT] = "limit",   [CORE_CLASS_LINK] = "link",
      [CORE_CLASS_CGI] = "cgi",       [CORE_CLASS_INTERNAL] = "internal",
      [CORE_CLASS_OVERLOAD] = "overload", [CORE_CLASS_CANCELLED] = "cancelled",
  };
  return (unsigned)cls < CORE_CLASS_COUNT ? names[cls] : "internal";
}

void core_outcome_text(const mote_invoke_result *res, char *out, size_t cap) {
  if (res->outcome == MOTE_INVOKE_EXITED)
    snprintf(out, cap, res->exit_code ? "exit" : "ok");
  else if (res->outcome == MOTE_INVOKE_TIMEOUT)
    snprintf(out, cap, "timeout");
  else
    snprintf(out, cap, "%s: %s", mote_invoke_outcome_name(res->outcome),
             res->outcome == MOTE_INVOKE_TRAP ? mote_rt_trap_message(res->trap) : res->message);
}

/* The handles of fn's entry, made on the function's first call. */
static core_fn_metrics *fn_metrics_of(mote_core *c, core_fn *fn) {
  core_entry *e = fn->entry;
  core_fn_metrics *m = atomic_load_explicit(&e->metrics, memory_order_acquire);
  if (!m && (m = metrics_fn(c->metrics, e->ns, e->name)))
    atomic_store_explicit(&e->metrics, m, memory_order_release);
  return m;
}

static core_admit_fn *fn_admit_of(mote_core *c, core_fn *fn) {
  core_entry *e = fn->entry;
  core_admit_fn *a = atomic_load_explicit(&e->admit, memory_order_acquire);
  if (!a && (a = admit_fn(c->admit, e->ns, e->name)))
    atomic_store_explicit(&e->admit, a, memory_order_release);
  return a;
}

void core_call_init(core_call *call, mote_core *c, core_fn *fn) {
  memset(call, 0, sizeof *call);
  call->core = c;
  call->fn = fn;
  core_stop_init(c, &call->stop);
  mote_store_activation_new_id(call->id);
  if (c->id_tag[0]) memcpy(call->id + 12, c->id_tag, 8); /* the node that keeps its record */
}

static uint32_t timeout_ms(const core_fn *fn) {
  return fn->rec.settings.timeout_ms ? fn->rec.settings.timeout_ms : CORE_DEFAULT_TIMEOUT_MS;
}

/* WASI's hook before the guest waits in the host (a sleep): its CPU slot
 * goes to the calls waiting; it keeps its instance. */
static void call_blocks(void *ctx) {
  core_call *call = ctx;
  admit_yield(call->core->admit, call->admitted);
}

static uint32_t memory_mib(const core_fn *fn) {
  return fn->rec.settings.memory_mib ? fn->rec.settings.memory_mib : CORE_DEFAULT_MEMORY_MIB;
}

void core_call_failed(core_call *call) {
  metrics_call(call->core->metrics, fn_metrics_of(call->core, call->fn), 500,
               CORE_CLASS_INTERNAL, NULL);
}

/* A call refused before it ran: counted, err and retry_after set. */
static mote_core_status refused(core_call *call, mote_core_status st, unsigned retry_after_s) {
  mote_core *c = call->core;
  const core_fn *fn = call->fn;
  if (st == MOTE_CORE_NO_MEMORY) {
    core_call_failed(call);
    return core_fail(&call->err, st, "out of memory");
  }
  metrics_call(c->metrics, fn_metrics_of(c, call->fn), 429, CORE_CLASS_OVERLOAD, NULL);
  accounting_call(c->acct, fn->rec.ns, fn->rec.name, CORE_ACCT_REFUSED, 0, 0, mote_wall_ms());
  call->retry_after_s = retry_after_s;
  call->err.status = st;
  return st;
}

mote_core_status core_call_begin(core_call *call) {
  mote_core *c = call->core;
  const core_fn *fn = call->fn;
  if (call->entered) return MOTE_CORE_OK;
  core_quota_verdict v;
  quota_enter(c->quota, fn->rec.ns, mote_wall_ms(), &v);
  if (v.status == CORE_QUOTA_OK) {
    call->entered = true;
    return MOTE_CORE_OK;
  }
  if (v.status == CORE_QUOTA_NO_MEMORY) return refused(call, MOTE_CORE_NO_MEMORY, 0);
  quota_message(&v, call->err.message, sizeof call->err.message);
  return refused(call, v.status == CORE_QUOTA_RATE ? MOTE_CORE_NS_RATE : MOTE_CORE_NS_CONCURRENCY,
                 v.retry_after_s);
}

void core_call_abandon(core_call *call) {
  if (!call->entered) return;
  quota_leave(call->core->quota, call->fn->rec.ns);
  call->entered = false;
}

/* An admission refusal: its status, message (mote's wording) and counts. */
static mote_core_status admit_refused(core_call *call, const core_admission *adm) {
  mote_core *c = call->core;
  const char *name = call->fn->rec.name;
  core_call_abandon(call);
  call->limit = adm->limit;
  call->wait_us = adm->wait_us;
  if (adm->status == CORE_ADMIT_NO_MEMORY) return refused(call, MOTE_CORE_NO_MEMORY, 0);
  char *msg = call->err.message;
  size_t cap = sizeof call->err.message;
  mote_core_status st;
  switch (adm->status) {
    case CORE_REFUSED_CONCURRENCY:
      st = MOTE_CORE_CONCURRENCY_LIMIT;
      snprintf(msg, cap, "\"%s\" already has %u calls running or waiting, its concurrency "
               "limit; retry after %u s", name, adm->limit, adm->retry_after_s);
      break;
    case CORE_REFUSED_QUEUE_FULL:
      st = MOTE_CORE_QUEUE_FULL;
      snprintf(msg, cap, "the server is busy: every worker runs a call and %u calls wait "
               "already (the --queue limit); retry after %u s", adm->limit, adm->retry_after_s);
      break;
    case CORE_REFUSED_FUNCTION_QUEUE_FULL:
      st = MOTE_CORE_FUNCTION_QUEUE_FULL;
      snprintf(msg, cap, "\"%s\" already has %u calls waiting for a worker, its share of the "
               "queue (its max_queue setting); retry after %u s", name, adm->limit,
               adm->retry_after_s);
      break;
    default:
      st = MOTE_CORE_QUEUE_TIMEOUT;
      snprintf(msg, cap, "no worker became free within %u ms (the --queue-timeout limit); "
               "retry after %u s", adm->limit, adm->retry_after_s);
      break;
  }
  metrics_refused(c->metrics, fn_metrics_of(c, call->fn), adm->status);
  return refused(call, st, adm->retry_after_s);
}

/* A call stopped (core_call_stop) while it waited for a slot: it never ran.
 * Counted as its class (status 499: nobody is there to read a reply). */
static mote_core_status stopped_waiting(core_call *call, const core_admission *adm) {
  mote_core *c = call->core;
  core_call_abandon(call);
  call->wait_us = adm->wait_us;
  metrics_cancelled(c->metrics, false);
  metrics_call(c->metrics, fn_metrics_of(c, call->fn), 499, CORE_CLASS_CANCELLED, NULL);
  return core_fail(&call->err, MOTE_CORE_CANCELLED, "cancelled while waiting for a slot: %s",
                   core_stop_why(&call->stop));
}

void core_call_stop(core_call *call, const char *why) {
  core_stop_request(&call->stop, why);
}

void core_stop_init(mote_core *c, core_stop *s) {
  memset(s, 0, sizeof *s);
  s->core = c;
  mote_rt_cancel_init(&s->cancel);
}

void core_stop_destroy(core_stop *s) {
  mote_rt_cancel_destroy(&s->cancel);
}

void core_stop_request(core_stop *s, const char *why) {
  if (s->why[0] || mote_rt_cancel_requested(&s->cancel)) return; /* once */
  snprintf(s->why, sizeof s->why, "%s", why && why[0] ? why : "stopped");
  admit_stop(s->core->admit, &s->admit);
  mote_rt_cancel_request(&s->cancel);
}

bool core_stop_requested(const core_stop *s) { return mote_rt_cancel_requested(&s->cancel); }

const char *core_stop_why(const core_stop *s) {
  return s->why[0] ? s->why : "stopped by its caller";
}

void core_call_exec(core_call *call) {
  mote_core *c = call->core;
  core_fn *fn = call->fn;
  const core_image *img = fn_image_take(fn); /* given back after the run */
  call->img = img;
  call->tier = mote_tier_name(img->tier);
  call->snapshot = img->snap != NULL;
  call->t_admitted_us = mote_now_us();
  call->start_ms = mote_wall_ms();
  mote_invoke_config cfg;
  fn_invoke_config(fn, img, &cfg); /* with the bundle's files at "/" */
  cfg.wasi.argv = call->argv;
  cfg.wasi.argc = call->argc;
  if (call->env) {
    cfg.wasi.env = call->env;
    cfg.wasi.envc = call->envc;
  }
  cfg.wasi.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER, .data = call->in,
                                      .len = call->in_len};
  cfg.wasi.stdout_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stderr_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  cfg.wasi.stdout_cap = CORE_STDOUT_CAP;
  cfg.wasi.stderr_cap = CORE_STDERR_CAP;
  cfg.wasi.on_block = call_blocks;
  cfg.wasi.block_ctx = call;
  cfg.cancel = &call->stop.cancel;
  metrics_in_flight(c->metrics, 1);
  mote_invoke_run(&cfg, &call->res);
  metrics_in_flight(c->metrics, -1);
  fn_image_give(fn, img);
  if (call->res.outcome == MOTE_INVOKE_CANCELLED) {
    /* why, in the caller's words: the record says "cancelled: client gone" */
    snprintf(call->res.message, sizeof call->res.message, "%s", core_stop_why(&call->stop));
    metrics_cancelled(c->metrics, true);
  }
  call->end_ms = mote_wall_ms();
  core_admission adm = {.status = CORE_ADMITTED, .run = call->admitted};
  call->admitted = NULL;
  admit_leave(c->admit, &adm, mote_now_us() - call->t_admitted_us);
  /* This thread may live long and idle (a connection's): its stack below
   * here goes back, after the slot is given back (a madvise is no work of
   * the call's, and others may wait for the slot). */
  mote_rt_thread_trim_stack();
  core_call_abandon(call);
}

mote_core_status core_call_run(core_call *call) {
  mote_core *c = call->core;
  core_fn *fn = call->fn;
  const mote_function_settings *st = &fn->rec.settings;
  call->start_ms = mote_wall_ms(); /* a refused call's record says when */
  mote_core_status cs = core_call_begin(call);
  if (cs != MOTE_CORE_OK) return cs;
  core_admission adm;
  admit_enter_stoppable(c->admit, fn_admit_of(c, fn), st->max_concurrency, st->max_queue,
                        timeout_ms(fn), &call->stop.admit, &adm);
  if (adm.status == CORE_ADMIT_CANCELLED) return stopped_waiting(call, &adm);
  if (adm.status != CORE_ADMITTED) return admit_refused(call, &adm);
  call->wait_us = adm.wait_us;
  call->admitted = adm.run;
  core_call_exec(call);
  return MOTE_CORE_OK;
}

/* The grant of a submitted call: under the admission lock, to an executor. */
static void granted(core_admit_ticket *t) {
  core_call *call = (core_call *)((char *)t - offsetof(core_call, ticket));
  call->wait_us = mote_now_us() - call->t_submitted_us;
  call->admitted = t->run; /* the call alive: its executor gives it back */
  exec_ready(call->core->exec, call);
}

mote_core_status core_call_submit(core_call *call, core_call_job job, void *arg) {
  mote_core *c = call->core;
  core_fn *fn = call->fn;
  const mote_function_settings *st = &fn->rec.settings;
  if (!call->start_ms) call->start_ms = mote_wall_ms();
  mote_core_status cs = core_call_begin(call);
  if (cs != MOTE_CORE_OK) return cs;
  call->job = job;
  call->job_arg = arg;
  call->ticket.grant = granted;
  call->ticket.timeout_ms = timeout_ms(fn);
  call->t_submitted_us = mote_now_us();
  core_admit_fn *af = fn_admit_of(c, fn);
  /* Everything the job reads is set before the call enters the queue: once
   * queued, a grant may hand it to an executor at once, and the job may end
   * (and free it) before admit_submit returns. */
  call->admit_fn = af;
  core_admission adm;
  exec_pending(c->exec, 1);
  admit_submit(c->admit, af, st->max_concurrency, st->max_queue, &call->ticket, &adm);
  if (adm.status == CORE_ADMITTED) {
    call->admitted = call->ticket.run;
    exec_ready(c->exec, call);
  } else if (adm.status != CORE_ADMIT_QUEUED) {
    call->admitted = NULL;
    exec_pending(c->exec, -1);
    return admit_refused(call, &adm);
  }
  return MOTE_CORE_OK; /* queued: the call is no longer the caller's to touch */
}

bool core_call_cancel(core_call *call) {
  core_admission adm;
  if (!admit_cancel(call->core->admit, call->admit_fn, &call->ticket, &adm)) return false;
  adm.wait_us = mote_now_us() - call->t_submitted_us;
  call->admitted = NULL;
  exec_pending(call->core->exec, -1);
  admit_refused(call, &adm);
  return true;
}

/* The activation record alone. */
static void record(core_call *call, unsigned status, const char *outcome, const char *meta) {
  mote_core *c = call->core;
  const core_fn *fn = call->fn;
  const mote_invoke_result *res = &call->res;
  mote_activation a;
  memset(&a, 0, sizeof a);
  memcpy(a.id, call->id, sizeof a.id);
  a.function = fn->rec.name;
  a.ns = fn->rec.ns;
  a.version = fn->rec.version;
  a.start_ms = call->start_ms;
  a.wait_us = call->wait_us;
  a.init_us = res->init_us;
  a.exec_us = res->exec_us;
  a.http_status = (int)status;
  a.exit_code = res->outcome == MOTE_INVOKE_EXITED ? res->exit_code : -1;
  a.outcome = (char *)outcome;
  a.meta = (char *)meta;
  size_t ohead = res->stdout_len > CORE_EXCERPT ? CORE_EXCERPT : res->stdout_len;
  a.stdout_excerpt = res->stdout_len ? utf8_dup(res->stdout_data, ohead) : NULL;
  size_t etail = res->stderr_len > CORE_EXCERPT ? CORE_EXCERPT : res->stderr_len;
  a.stderr_excerpt = res->stderr_len
                         ? utf8_dup(res->stderr_data + (res->stderr_len - etail), etail)
                         : NULL;
  mote_store_error se;
  if (mote_store_activation_post(c->store, &a, CORE_ACTIVATION_RETAIN, &se) != MOTE_STORE_OK)
    fprintf(stderr, "mote serve: activation %s of %s/%s not recorded: %s\n", call->id,
            fn->rec.ns, fn->rec.name, se.message);
  free(a.stdout_excerpt);
  free(a.stderr_excerpt);
}

void core_call_finish(core_call *call, unsigned status, core_class cls, const char *outcome,
                      const char *meta) {
  mote_core *c = call->core;
  const core_fn *fn = call->fn;
  const mote_invoke_result *res = &call->res;
  record(call, status, outcome, meta);
  /* Counted before the reply goes out, so a caller that then reads
   * /metrics sees its call. */
  core_call_times times = {call->wait_us, res->init_us, res->exec_us};
  metrics_call(c->metrics, fn_metrics_of(c, call->fn), status, cls, &times);
  accounting_call(c->acct, fn->rec.ns, fn->rec.name,
                  cls == CORE_CLASS_OK ? CORE_ACCT_OK : CORE_ACCT_FAILED, res->exec_us,
                  memory_mib(fn), call->start_ms);
}

void core_call_clear(core_call *call) {
  core_call_abandon(call);
  core_stop_destroy(&call->stop);
  mote_invoke_result_clear(&call->res);
}
