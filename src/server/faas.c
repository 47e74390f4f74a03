/*
 * faas: GET|POST /faas/{name}, the paper's invocation API.
 *
 *   ?arg=A&arg=B   -> argv = {name, A, B}   (at most SRV_MAX_ARGS)
 *   request body   -> stdin                  (at most SRV_MAX_CALL_BODY)
 *   stdout         -> the response body, application/octet-stream
 *
 * The call runs on the connection's thread (see http.c) once admission
 * (admit.c) gives it an execution slot, in a fresh instance of the version
 * that is current once the request's body has been read; it keeps that
 * version to its end. A call admission refuses (the function's concurrency
 * limit, a full queue, a wait past --queue-timeout) gets 429 with its code
 * and Retry-After, and is not recorded as an activation: it never ran. Outcomes: exit 0 -> 200; a non-zero exit, a trap or an
 * exceeded limit -> 502; the timeout -> 504; each error a JSON body with the
 * tail of stderr. Every call is recorded as an activation.
 *
 * CGI mode (deployed with cgi=true; cgi.c): the request is also described in
 * CGI/1.1 variables, /faas/{name}/more passes "/more" as PATH_INFO, query
 * parameters other than arg are allowed (they reach the guest in
 * QUERY_STRING), and stdout starts with a header block (Status,
 * Content-Type, Location, others) that makes the response; output that is
 * not valid CGI is a 502.
 *
 * The run itself (limits, slot, instance, record, counts) is call.c's, shared
 * with the OpenWhisk API; this file decides what the run means over HTTP.
 *
 * The instance comes from the version's snapshot (taken at deploy, after
 * its mote_init; registry.c), so a call pays neither segments nor
 * initialisation.
 *
 * Keys: a function deployed public=true is open to anyone (a key sent is
 * not even checked); any other needs `Authorization: Basic uuid:key` of its
 * namespace: 401 without valid credentials, 403 with another namespace's.
 * Checked before the body is read, and again on the version the call runs
 * (a redeploy meanwhile may have made the function private).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "invoke/invoke.h"
#include "server/server_internal.h"

/* May the caller run fn? 0 when it may; else the status of a reply queued
 * (401, 403, 500). Identifies the caller once per request (r->authed). */
static int authorize(mote_server *s, struct MHD_Connection *c, srv_req *r, const srv_fn *fn,
                     enum MHD_Result *res) {
  if (fn->rec.settings.is_public) return 0;
  if (!r->authed) {
    srv_auth_result why;
    int st = auth_identify(s, c, r->ns, &why);
    if (st == 401) {
      *res = auth_reply_401(c, why);
      return 401;
    }
    if (st != 0) {
      *res = reply_error(c, 500, "auth_failed",
                         "the server could not check the credentials (its log says why)");
      return 500;
    }
    r->authed = true;
  }
  if (strcmp(r->ns, fn->rec.ns) != 0) {
    *res = reply_error(c, 403, "forbidden",
                       "function \"%s\" belongs to another namespace and is not public: call it "
                       "with a key of its namespace", r->name);
    return 403;
  }
  return 0;
}

/* Before the body is read: an unknown function (404), missing or wrong
 * credentials (401, 403) or bad arguments (400) are answered at once. */
int faas_precheck(mote_server *s, struct MHD_Connection *c, srv_req *r, enum MHD_Result *res) {
  srv_fn *fn = mote_store_valid_name(r->name) ? registry_acquire(s->reg, r->name) : NULL;
  if (!fn) {
    *res = reply_error(c, 404, "not_found",
                       "no function named \"%s\" (deploy one with PUT /v1/functions/%s)", r->name,
                       r->name);
    return 404;
  }
  bool cgi = fn->rec.settings.cgi;
  int st = authorize(s, c, r, fn, res);
  fn_release(fn);
  if (st) return st;
  if (r->path_info && !cgi) {
    *res = reply_error(c, 404, "not_found",
                       "no route %s /faas/%s%s: only functions deployed with cgi=true take a "
                       "path after their name", r->method, r->name, r->path_info);
    return 404;
  }
  size_t nargs = 0;
  for (size_t i = 0; i < r->nparams; i++) {
    if (strcmp(r->params[i].key, "arg") != 0) {
      if (cgi) continue; /* the guest reads QUERY_STRING */
      *res = reply_error(c, 400, "bad_argument",
                         "unknown query parameter \"%.40s\": pass arguments as ?arg=A&arg=B",
                         r->params[i].key);
      return 400;
    }
    nargs++;
  }
  if (nargs > SRV_MAX_ARGS) {
    *res = reply_error(c, 400, "bad_argument", "too many arguments: %zu (at most %d)", nargs,
                       SRV_MAX_ARGS);
    return 400;
  }
  return 0;
}

static void add_timing_headers(struct MHD_Response *resp, const char *id, uint64_t wait_us,
                               const mote_invoke_result *res, const char *tier,
                               uint64_t version) {
  char buf[32];
  MHD_add_response_header(resp, "X-Mote-Activation-Id", id);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)wait_us);
  MHD_add_response_header(resp, "X-Mote-Wait-Us", buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)res->init_us);
  MHD_add_response_header(resp, "X-Mote-Init-Us", buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)res->exec_us);
  MHD_add_response_header(resp, "X-Mote-Exec-Us", buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)version);
  MHD_add_response_header(resp, "X-Mote-Version", buf);
  MHD_add_response_header(resp, "X-Mote-Tier", tier);
}

/* A 429: {error, code, retry_after_s}, Retry-After, and when the call
 * waited for a slot its X-Mote-Wait-Us (wait_us NULL: none) and version. */
static enum MHD_Result reply_refused(struct MHD_Connection *c, srv_req *r, const char *msg,
                                     const char *code, unsigned retry_after_s,
                                     const char *wait_us, uint64_t version) {
  r->call.code = code;
  json_t *o = json_pack("{s:s, s:s, s:I}", "error", msg, "code", code, "retry_after_s",
                        (json_int_t)retry_after_s);
  size_t len = 0;
  struct MHD_Response *resp = json_response(o, &len);
  if (!resp) return MHD_NO;
  char buf[32];
  snprintf(buf, sizeof buf, "%u", retry_after_s);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
  if (wait_us) {
    MHD_add_response_header(resp, "X-Mote-Wait-Us", wait_us);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)version);
    MHD_add_response_header(resp, "X-Mote-Version", buf);
  }
  enum MHD_Result ret = reply_queue(c, 429, resp, len);
  MHD_destroy_response(resp);
  return ret;
}

/* 429 for a call admission refused: which limit, and Retry-After. (call.c
 * counted it.) */
static enum MHD_Result refuse_call(struct MHD_Connection *c, srv_req *r, const srv_fn *fn,
                                   const srv_admission *adm) {
  char msg[400];
  switch (adm->status) {
    case SRV_REFUSED_CONCURRENCY:
      snprintf(msg, sizeof msg, "\"%s\" already has %u calls running or waiting, its "
               "concurrency limit; retry after %u s", fn->rec.name, adm->limit,
               adm->retry_after_s);
      break;
    case SRV_REFUSED_QUEUE_FULL:
      snprintf(msg, sizeof msg, "the server is busy: every worker runs a call and %u calls "
               "wait already (the --queue limit); retry after %u s", adm->limit,
               adm->retry_after_s);
      break;
    case SRV_REFUSED_FUNCTION_QUEUE_FULL:
      snprintf(msg, sizeof msg, "\"%s\" already has %u calls waiting for a worker, its share "
               "of the queue (its max_queue setting); retry after %u s", fn->rec.name,
               adm->limit, adm->retry_after_s);
      break;
    default:
      snprintf(msg, sizeof msg, "no worker became free within %u ms (the --queue-timeout "
               "limit); retry after %u s", adm->limit, adm->retry_after_s);
      break;
  }
  r->call.wait_us = adm->wait_us;
  char wait[24];
  snprintf(wait, sizeof wait, "%llu", (unsigned long long)adm->wait_us);
  return reply_refused(c, r, msg, admit_status_code(adm->status), adm->retry_after_s, wait, fn->rec.version);
}

/* 429 for a call over its namespace's limits (quota.c), OpenWhisk's message.
 * (call.c counted it.) */
static enum MHD_Result refuse_quota(struct MHD_Connection *c, srv_req *r,
                                    const srv_quota_verdict *v) {
  char msg[200];
  quota_message(v, msg, sizeof msg);
  return reply_refused(c, r, msg, quota_code(v->status), v->retry_after_s, NULL, 0);
}

enum MHD_Result faas_call(mote_server *s, struct MHD_Connection *c, srv_req *r) {
  srv_fn *fn = registry_acquire(s->reg, r->name);
  if (!fn) /* deleted while the body was read */
    return reply_error(c, 404, "not_found", "no function named \"%s\"", r->name);
  enum MHD_Result refused;
  if (authorize(s, c, r, fn, &refused)) { /* redeployed while the body was read */
    fn_release(fn);
    return refused;
  }
  const mote_function_settings *st = &fn->rec.settings;
  r->call.set = true;
  snprintf(r->call.function, sizeof r->call.function, "%s", fn->rec.name);
  r->call.version = fn->rec.version;

  size_t argc = 1;
  const char **argv = calloc(r->nparams + 1, sizeof *argv);
  if (!argv) {
    metrics_call(s->metrics, fn->rec.name, 500, SRV_CLASS_INTERNAL, NULL);
    fn_release(fn);
    return reply_error(c, 500, "internal", "out of memory");
  }
  argv[0] = fn->rec.name;
  for (size_t i = 0; i < r->nparams; i++)
    if (!strcmp(r->params[i].key, "arg")) argv[argc++] = r->params[i].value;
  char **env = NULL;
  size_t envc = 0;
  if (st->cgi && !(env = cgi_env(s, c, r, st, &envc))) {
    free(argv);
    metrics_call(s->metrics, fn->rec.name, 500, SRV_CLASS_INTERNAL, NULL);
    fn_release(fn);
    return reply_error(c, 500, "internal", "out of memory");
  }

  /* The namespace's limits, an execution slot, the run (call.c). */
  srv_call call;
  call_init(&call, s, fn);
  call.argv = argv;
  call.argc = argc;
  if (st->cgi) {
    call.env = (const char *const *)env;
    call.envc = envc;
  }
  call.in = r->body;
  call.in_len = r->len;
  srv_call_status cs = call_run(&call);
  free(argv);
  cgi_env_free(env, envc);
  if (cs != SRV_CALL_RAN) {
    enum MHD_Result ret;
    if (cs == SRV_CALL_QUOTA) ret = refuse_quota(c, r, &call.quota);
    else if (cs == SRV_CALL_ADMIT) ret = refuse_call(c, r, fn, &call.adm);
    else ret = reply_error(c, 500, "internal", "out of memory");
    call_clear(&call);
    fn_release(fn);
    return ret;
  }
  mote_invoke_result *res = &call.res;
  const char *tier = mote_tier_name(call.img->tier);
  uint64_t wait_us = call.adm.wait_us;
  const char *id = call.id;

  /* The reply. */
  unsigned status;
  const char *code = NULL;
  srv_call_class cls = SRV_CLASS_INTERNAL;
  char err[400];
  err[0] = '\0';
  switch (res->outcome) {
    case MOTE_INVOKE_EXITED:
      status = res->exit_code == 0 ? 200 : 502;
      code = "exit";
      cls = res->exit_code == 0 ? SRV_CLASS_OK : SRV_CLASS_EXIT;
      snprintf(err, sizeof err, "the function exited with status %d", res->exit_code);
      break;
    case MOTE_INVOKE_TRAP: status = 502, code = "trap", cls = SRV_CLASS_TRAP; break;
    case MOTE_INVOKE_TIMEOUT: status = 504, code = "timeout", cls = SRV_CLASS_TIMEOUT; break;
    case MOTE_INVOKE_LIMIT: status = 502, code = "limit", cls = SRV_CLASS_LIMIT; break;
    case MOTE_INVOKE_LINK: status = 502, code = "link", cls = SRV_CLASS_LINK; break;
    default: status = 500, code = "internal"; break;
  }
  if (!err[0]) snprintf(err, sizeof err, "%s", res->message);
  struct MHD_Response *resp = NULL;
  size_t body_len = 0;
  bool cgi_bad = false;
  if (status == 200 && st->cgi) {
    int crc = cgi_response(res->stdout_data, res->stdout_len, &resp, &status, &body_len, err,
                           sizeof err);
    if (crc == 1) {
      cgi_bad = true;
      status = 502;
      code = "cgi";
      cls = SRV_CLASS_CGI;
    } else if (crc < 0) {
      status = 500;
      code = "internal";
      cls = SRV_CLASS_INTERNAL;
      snprintf(err, sizeof err, "out of memory");
    }
  }
  if (status != 200 && !resp) {
    size_t tail = res->stderr_len > SRV_STDERR_TAIL ? SRV_STDERR_TAIL : res->stderr_len;
    json_t *o = json_pack("{s:s, s:s, s:s}", "error", err, "code", code, "activation_id", id);
    if (res->outcome == MOTE_INVOKE_EXITED) json_object_set_new(o, "exit_code", json_integer(res->exit_code));
    if (res->outcome == MOTE_INVOKE_TRAP)
      json_object_set_new(o, "trap", json_string(mote_rt_trap_message(res->trap)));
    json_object_set_new(o, "stderr",
                        json_bytes(res->stderr_data + (res->stderr_len - tail), tail));
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    body_len = text ? strlen(text) : 0;
    resp = text ? MHD_create_response_from_buffer(body_len, text, MHD_RESPMEM_MUST_FREE)
                : NULL;
    if (resp) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    else free(text);
  }

  /* The record, posted to the store's write-behind queue: the reply does
   * not wait for its commit, and a read of activations waits for it. */
  char outcome[400];
  if (cgi_bad) snprintf(outcome, sizeof outcome, "cgi: %s", err);
  else call_outcome_text(res, outcome, sizeof outcome);
  call_finish(&call, status, cls, outcome, NULL);
  /* stdout becomes the response (after the record took its excerpt). */
  if (status == 200 && !st->cgi) {
    resp = MHD_create_response_from_buffer(res->stdout_len, res->stdout_data ? (void *)res->stdout_data : (void *)"",
                                           res->stdout_data ? MHD_RESPMEM_MUST_FREE
                                                           : MHD_RESPMEM_PERSISTENT);
    if (resp) {
      body_len = res->stdout_len;
      res->stdout_data = NULL; /* the response owns it */
      MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    }
  }
  memcpy(r->call.activation_id, id, sizeof r->call.activation_id);
  r->call.wait_us = wait_us;
  r->call.init_us = res->init_us;
  r->call.exec_us = res->exec_us;
  r->call.code = cls == SRV_CLASS_OK ? NULL : code;

  enum MHD_Result ret = MHD_NO;
  if (resp) {
    add_timing_headers(resp, id, wait_us, res, tier, fn->rec.version);
    ret = reply_queue(c, status, resp, body_len);
    MHD_destroy_response(resp);
  }
  call_clear(&call);
  fn_release(fn);
  return ret;
}
