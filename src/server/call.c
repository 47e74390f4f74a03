/*
 * call: the run of one call, whichever API asked for it (/faas/NAME,
 * /api/v1's invokes and web actions). In order:
 *
 *   quota_enter   the namespace's limits (the function's owner's, whoever
 *                 calls; a waiting call counts as in flight, as OpenWhisk
 *                 counts it)
 *   admit_enter   an execution slot (admit.c), maybe after a wait
 *   the run       a fresh instance (mote_invoke_run) with the caller's
 *                 argv, env and stdin, stdout and stderr captured
 *   admit_leave, quota_leave
 *   the record    the activation (posted: the reply does not wait for its
 *                 commit), metrics_call, accounting_call
 *
 * What the run means (the HTTP status, the outcome class, the activation's
 * meta) is the caller's to decide between call_run and call_finish: /faas
 * answers with stdout, /api/v1 reads the native action convention.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invoke/invoke.h"
#include "server/server_internal.h"

void call_init(srv_call *call, mote_server *s, srv_fn *fn) {
  memset(call, 0, sizeof *call);
  call->s = s;
  call->fn = fn;
  mote_store_activation_new_id(call->id);
}

static uint32_t memory_mib(const srv_fn *fn) {
  return fn->rec.settings.memory_mib ? fn->rec.settings.memory_mib : SRV_DEFAULT_MEMORY_MIB;
}

srv_call_status call_begin(srv_call *call) {
  mote_server *s = call->s;
  const srv_fn *fn = call->fn;
  if (call->entered) return SRV_CALL_RAN;
  quota_enter(s->quota, fn->rec.ns, srv_wall_ms(), &call->quota);
  switch (call->quota.status) {
    case SRV_QUOTA_OK:
      call->entered = true;
      return SRV_CALL_RAN;
    case SRV_QUOTA_NO_MEMORY:
      metrics_call(s->metrics, fn->rec.name, 500, SRV_CLASS_INTERNAL, NULL);
      return SRV_CALL_NO_MEMORY;
    default:
      metrics_call(s->metrics, fn->rec.name, 429, SRV_CLASS_OVERLOAD, NULL);
      accounting_call(s->acct, fn->rec.ns, fn->rec.name, SRV_ACCT_REFUSED, 0, 0, srv_wall_ms());
      return SRV_CALL_QUOTA;
  }
}

void call_abandon(srv_call *call) {
  if (!call->entered) return;
  quota_leave(call->s->quota, call->fn->rec.ns);
  call->entered = false;
}

srv_call_status call_run(srv_call *call) {
  mote_server *s = call->s;
  srv_fn *fn = call->fn;
  const mote_function_settings *st = &fn->rec.settings;
  call->start_ms = srv_wall_ms(); /* a refused call's record says when */
  srv_call_status cs = call_begin(call);
  if (cs != SRV_CALL_RAN) return cs;
  admit_enter(s->admit, fn->rec.name, st->max_concurrency, st->max_queue, &call->adm);
  if (call->adm.status != SRV_ADMITTED) {
    call_abandon(call);
    if (call->adm.status == SRV_ADMIT_NO_MEMORY) {
      metrics_call(s->metrics, fn->rec.name, 500, SRV_CLASS_INTERNAL, NULL);
      return SRV_CALL_NO_MEMORY;
    }
    metrics_call(s->metrics, fn->rec.name, 429, SRV_CLASS_OVERLOAD, NULL);
    metrics_refused(s->metrics, fn->rec.name, call->adm.status);
    accounting_call(s->acct, fn->rec.ns, fn->rec.name, SRV_ACCT_REFUSED, 0, 0, srv_wall_ms());
    return SRV_CALL_ADMIT;
  }
  uint64_t t_admitted = srv_now_us();
  call->start_ms = srv_wall_ms();
  call->img = fn_image(fn);
  mote_invoke_config cfg;
  fn_invoke_config(fn, call->img, st, &cfg); /* with the bundle's files at "/" */
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
  cfg.wasi.stdout_cap = SRV_STDOUT_CAP;
  cfg.wasi.stderr_cap = SRV_STDERR_CAP;
  metrics_in_flight(s->metrics, 1);
  mote_invoke_run(&cfg, &call->res);
  metrics_in_flight(s->metrics, -1);
  call->end_ms = srv_wall_ms();
  admit_leave(s->admit, &call->adm, srv_now_us() - t_admitted);
  call_abandon(call);
  return SRV_CALL_RAN;
}

void call_outcome_text(const mote_invoke_result *res, char *out, size_t cap) {
  if (res->outcome == MOTE_INVOKE_EXITED)
    snprintf(out, cap, res->exit_code ? "exit" : "ok");
  else if (res->outcome == MOTE_INVOKE_TIMEOUT)
    snprintf(out, cap, "timeout");
  else
    snprintf(out, cap, "%s: %s", mote_invoke_outcome_name(res->outcome),
             res->outcome == MOTE_INVOKE_TRAP ? mote_rt_trap_message(res->trap) : res->message);
}

void call_record(srv_call *call, unsigned status, const char *outcome, const char *meta) {
  mote_server *s = call->s;
  const srv_fn *fn = call->fn;
  const mote_invoke_result *res = &call->res;
  mote_activation a;
  memset(&a, 0, sizeof a);
  memcpy(a.id, call->id, sizeof a.id);
  a.function = fn->rec.name;
  a.ns = fn->rec.ns;
  a.version = fn->rec.version;
  a.start_ms = call->start_ms;
  a.wait_us = call->adm.wait_us;
  a.init_us = res->init_us;
  a.exec_us = res->exec_us;
  a.http_status = (int)status;
  a.exit_code = res->outcome == MOTE_INVOKE_EXITED ? res->exit_code : -1;
  a.outcome = (char *)outcome;
  a.meta = (char *)meta;
  size_t ohead = res->stdout_len > SRV_EXCERPT ? SRV_EXCERPT : res->stdout_len;
  a.stdout_excerpt = res->stdout_len ? utf8_dup(res->stdout_data, ohead) : NULL;
  size_t etail = res->stderr_len > SRV_EXCERPT ? SRV_EXCERPT : res->stderr_len;
  a.stderr_excerpt = res->stderr_len
                         ? utf8_dup(res->stderr_data + (res->stderr_len - etail), etail)
                         : NULL;
  mote_store_error se;
  if (mote_store_activation_post(s->store, &a, SRV_ACTIVATION_RETAIN, &se) != MOTE_STORE_OK)
    fprintf(stderr, "mote serve: activation %s of %s not recorded: %s\n", call->id,
            fn->rec.name, se.message);
  free(a.stdout_excerpt);
  free(a.stderr_excerpt);
}

void call_finish(srv_call *call, unsigned status, srv_call_class cls, const char *outcome,
                 const char *meta) {
  mote_server *s = call->s;
  const srv_fn *fn = call->fn;
  const mote_invoke_result *res = &call->res;
  call_record(call, status, outcome, meta);
  /* Counted before the reply goes out, so a caller that then reads
   * /metrics sees its call. */
  srv_call_times times = {call->adm.wait_us, res->init_us, res->exec_us};
  metrics_call(s->metrics, fn->rec.name, status, cls, &times);
  accounting_call(s->acct, fn->rec.ns, fn->rec.name,
                  cls == SRV_CLASS_OK ? SRV_ACCT_OK : SRV_ACCT_FAILED, res->exec_us,
                  memory_mib(fn), call->start_ms);
}

void call_clear(srv_call *call) {
  call_abandon(call);
  mote_invoke_result_clear(&call->res);
}
