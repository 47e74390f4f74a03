/*
 * faas: GET|POST /faas/{name}, the paper's invocation API.
 *
 *   ?arg=A&arg=B   -> argv = {name, A, B}   (at most SRV_MAX_ARGS)
 *   request body   -> stdin                  (at most SRV_MAX_CALL_BODY)
 *   stdout         -> the response body, application/octet-stream
 *
 * The call runs on the connection's thread (see daemon.c) once admission
 * (core/admit.c) gives it an execution slot, in a fresh instance of the version
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
 * The run itself (limits, slot, instance, record, counts) is the core's
 * (core/call.c), shared with the OpenWhisk API; this file decides what the
 * run means over HTTP, with the status table's map of outcome classes.
 *
 * The instance comes from the version's snapshot (taken at deploy, after
 * its mote_init; core/loader.c), so a call pays neither segments nor
 * initialisation.
 *
 * Which function: names are per namespace (core.h), and a path names one
 * function without looking at anything the caller may not see:
 *
 *   /faas/NAME[?..]          NAME of the caller's namespace when a key is
 *                            sent, else of the default namespace (guest)
 *   /faas/NS/NAME[/rest]     NAME of namespace NS; /rest is PATH_INFO
 *   /faas/NAME/rest          NAME of the default namespace (as above) with
 *                            PATH_INFO /rest, when that function is deployed
 *                            cgi=true and the caller may call it; otherwise
 *                            the path is /faas/NS/NAME[/rest]
 *
 * So with two segments or more, the first is a function of the default
 * namespace only when that function takes paths (CGI) and this caller may
 * call it (the caller's own namespace's, or a public one of guest's for a
 * caller without a key); else it is a namespace. Whether a function the
 * caller may not call exists never changes how a path resolves.
 *
 * Keys: a function deployed public=true is open to anyone; any other needs
 * `Authorization: Basic uuid:key` of its namespace. A key that is sent is
 * always checked (401 when it is wrong: a fact about the key, not about any
 * function), before any function is looked up, since it picks the
 * namespace of /faas/NAME. Then a call of a function that does not exist, of
 * a private function without a key, and of a private function with a key
 * of another namespace get the same answer: 404 with the same body, after
 * the same work (the key's check when one
 * was sent, one or two registry lookups in memory, never the body or the
 * store), as GitHub answers for private repositories. All of it before the
 * body is read, and again on the version the call runs (a redeploy meanwhile
 * may have made it private or deleted it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

/* May the caller (its namespace, NULL without a key) run fn? */
static bool callable(const core_fn *fn, const char *caller) {
  const mote_function_version *v = core_fn_record(fn);
  return v->settings.is_public || (caller && strcmp(caller, v->ns) == 0);
}

/* The one answer for a function this request may not call, whether it
 * exists or not: the same status, headers and body, byte for byte. */
static http_result not_callable(http_req *r) {
  /* Stored, but still being prepared after a restart: "starting", whose
   * callers may not be known yet (its record is not loaded): the name only. */
  if (core_fn_preparing(r->h->core, r->faas.ns, r->faas.name))
    return http_reply_starting(r, r->faas.ns, r->faas.name);
  return http_reply_error(r, 404, "not_found",
                          "no function here that this request may call: /faas/NAME is a "
                          "function of the key's namespace (of guest without a key), "
                          "/faas/NAMESPACE/NAME one of that namespace; a function not deployed "
                          "public=true needs a key of its namespace, and only one deployed "
                          "cgi=true takes a path after its name");
}

/* The function the path names (see above) into r->faas, and its current
 * version (a reference) when it exists and the caller may call it; NULL
 * otherwise (the caller answers not_callable). The key, if any, is checked
 * before. */
static core_fn *resolve(http_req *r) {
  mote_core *c = r->h->core;
  const char *caller = http_req_ns(r);
  const char *first = http_req_capture(r, "name"), *rest = http_req_capture(r, "path");
  http_faas_target *t = &r->faas;
  /* Both readings need `first` to be a name (a function's or a namespace's). */
  if (strlen(first) > CORE_NAME_MAX) return NULL;
  snprintf(t->ns, sizeof t->ns, "%s", caller ? caller : MOTE_STORE_DEFAULT_NS);
  snprintf(t->name, sizeof t->name, "%s", first);
  t->ns_in_path = false;
  t->path_info = rest;
  core_fn *fn = core_fn_acquire(c, t->ns, first);
  if (rest[0] && !(fn && callable(fn, caller) && core_fn_record(fn)->settings.cgi)) {
    /* /faas/NS/NAME[/rest] */
    core_fn_release(fn);
    const char *name = rest + 1, *end = strchr(name, '/');
    size_t n = end ? (size_t)(end - name) : strlen(name);
    if (n == 0 || n > CORE_NAME_MAX) return NULL;
    snprintf(t->ns, sizeof t->ns, "%s", first);
    snprintf(t->name, sizeof t->name, "%.*s", (int)n, name);
    t->ns_in_path = true;
    t->path_info = name + n;
    fn = core_fn_acquire(c, t->ns, t->name);
  }
  if (fn && (!callable(fn, caller) || (t->path_info[0] && !core_fn_record(fn)->settings.cgi))) {
    core_fn_release(fn);
    fn = NULL;
  }
  return fn;
}

/* Before the body is read: a wrong key (401), a function this request may
 * not call (404) or bad arguments (400) are answered at once. */
bool faas_check(void *ctx, http_req *r, http_result *res) {
  (void)ctx;
  if (http_req_header(r, "Authorization") && !http_identify(r, res)) return true;
  core_fn *fn = resolve(r);
  if (!fn) {
    *res = not_callable(r);
    return true;
  }
  bool cgi = core_fn_record(fn)->settings.cgi;
  core_fn_release(fn);
  size_t nargs = 0;
  for (size_t i = 0; i < r->nparams; i++) {
    if (strcmp(r->params[i].key, "arg") != 0) {
      if (cgi) continue; /* the guest reads QUERY_STRING */
      *res = http_reply_error(r, 400, "bad_argument",
                              "unknown query parameter \"%.40s\": pass arguments as "
                              "?arg=A&arg=B", r->params[i].key);
      return true;
    }
    nargs++;
  }
  if (nargs > HTTP_MAX_ARGS) {
    *res = http_reply_error(r, 400, "bad_argument", "too many arguments: %zu (at most %d)",
                            nargs, HTTP_MAX_ARGS);
    return true;
  }
  return false;
}

static void add_call_headers(http_response *resp, const core_call *call, uint64_t version) {
  char buf[32];
  http_response_header(resp, "X-Mote-Activation-Id", call->id);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)call->wait_us);
  http_response_header(resp, "X-Mote-Wait-Us", buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)call->res.init_us);
  http_response_header(resp, "X-Mote-Init-Us", buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)call->res.exec_us);
  http_response_header(resp, "X-Mote-Exec-Us", buf);
  snprintf(buf, sizeof buf, "%llu", (unsigned long long)version);
  http_response_header(resp, "X-Mote-Version", buf);
  http_response_header(resp, "X-Mote-Tier", call->tier);
}

/* A refused call: 429 {error, code, retry_after_s} with Retry-After and,
 * when it waited for a slot, X-Mote-Wait-Us and X-Mote-Version (the core
 * counted it); 500 when out of memory. */
static http_result refuse(http_req *r, const core_call *call, uint64_t version) {
  const mote_core_error *e = &call->err;
  if (http_status_of(e->status) != 429) return http_reply_core(r, e);
  const char *code = http_code_of(e->status);
  r->call.code = code;
  http_response *resp = http_response_json(json_pack(
      "{s:s, s:s, s:I}", "error", e->message, "code", code, "retry_after_s",
      (json_int_t)call->retry_after_s));
  if (!resp) return HTTP_CLOSE;
  char buf[32];
  snprintf(buf, sizeof buf, "%u", call->retry_after_s);
  http_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
  if (e->status != MOTE_CORE_NS_RATE && e->status != MOTE_CORE_NS_CONCURRENCY) {
    r->call.wait_us = call->wait_us;
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)call->wait_us);
    http_response_header(resp, "X-Mote-Wait-Us", buf);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)version);
    http_response_header(resp, "X-Mote-Version", buf);
  }
  return http_reply(r, 429, resp);
}

/* The JSON error of a call that ran and failed: what, the activation, the
 * exit code or trap, and the tail of stderr. */
static http_response *error_body(const core_call *call, const char *msg, const char *code) {
  const mote_invoke_result *res = &call->res;
  size_t tail = res->stderr_len > HTTP_STDERR_TAIL ? HTTP_STDERR_TAIL : res->stderr_len;
  json_t *o = json_pack("{s:s, s:s, s:s}", "error", msg, "code", code, "activation_id", call->id);
  if (!o) return NULL;
  if (res->outcome == MOTE_INVOKE_EXITED)
    json_object_set_new(o, "exit_code", json_integer(res->exit_code));
  if (res->outcome == MOTE_INVOKE_TRAP)
    json_object_set_new(o, "trap", json_string(mote_rt_trap_message(res->trap)));
  json_object_set_new(o, "stderr", json_bytes(res->stderr_data + (res->stderr_len - tail), tail));
  return http_response_json(o);
}

http_result faas_call(void *ctx, http_req *r) {
  (void)ctx;
  /* The function faas_check resolved, as it is now: deleted, or redeployed
   * private or without cgi while the body was read, it is not callable. */
  const http_faas_target *t = &r->faas;
  core_fn *fn = core_fn_acquire(r->h->core, t->ns, t->name);
  if (fn && (!callable(fn, http_req_ns(r)) ||
             (t->path_info[0] && !core_fn_record(fn)->settings.cgi))) {
    core_fn_release(fn);
    fn = NULL;
  }
  if (!fn) return not_callable(r);
  http_result res;
  const mote_function_version *v = core_fn_record(fn);
  const mote_function_settings *st = &v->settings;
  r->call.set = true;
  snprintf(r->call.function, sizeof r->call.function, "%s", v->name);
  snprintf(r->call.ns, sizeof r->call.ns, "%s", v->ns);
  r->call.version = v->version;

  /* Slow readers hold many responses: past the budget, wait for them. */
  http_result refused;
  if (!http_response_budget(r, &refused)) {
    core_fn_release(fn);
    return refused;
  }

  core_call call;
  core_call_init(&call, r->h->core, fn);
  size_t argc = 1, envc = 0;
  const char **argv = calloc(r->nparams + 1, sizeof *argv);
  char **env = NULL;
  if (!argv || (st->cgi && !(env = cgi_env(r, st, &envc)))) {
    free(argv);
    core_call_failed(&call);
    core_fn_release(fn);
    return http_reply_error(r, 500, "internal", "out of memory");
  }
  argv[0] = v->name;
  for (size_t i = 0; i < r->nparams; i++)
    if (!strcmp(r->params[i].key, "arg")) argv[argc++] = r->params[i].value;
  call.argv = argv;
  call.argc = argc;
  if (st->cgi) {
    call.env = (const char *const *)env;
    call.envc = envc;
  }
  call.in = r->body;
  call.in_len = r->len;
  /* The namespace's limits, an execution slot, the run (core/call.c); a
   * client that goes away meanwhile stops it (conns.c's watcher). */
  http_req_watch_call(r, &call);
  mote_core_status cs = core_call_run(&call);
  http_req_watch_call(r, NULL);
  free(argv);
  cgi_env_free(env, envc);
  if (cs == MOTE_CORE_CANCELLED) { /* never ran, and nobody to answer: counted, no record */
    r->call.code = http_code_of(cs);
    core_call_clear(&call);
    core_fn_release(fn);
    return HTTP_CLOSE;
  }
  if (cs != MOTE_CORE_OK) {
    res = refuse(r, &call, v->version);
    core_call_clear(&call);
    core_fn_release(fn);
    return res;
  }

  /* What the run means over HTTP: the status table's map of its class. */
  mote_invoke_result *out = &call.res;
  core_class cls = core_outcome_class(out);
  unsigned status = http_class_status(cls);
  const char *code = http_class_code(cls);
  char err[400];
  if (out->outcome == MOTE_INVOKE_EXITED)
    snprintf(err, sizeof err, "the function exited with status %d", out->exit_code);
  else
    snprintf(err, sizeof err, "%s", out->message);
  http_response *resp = NULL;
  bool cgi_bad = false;
  if (status == 200 && st->cgi) {
    int crc = cgi_response(out->stdout_data, out->stdout_len, &resp, &status, err, sizeof err);
    if (crc != 0) {
      cgi_bad = crc == 1;
      cls = cgi_bad ? CORE_CLASS_CGI : CORE_CLASS_INTERNAL;
      status = http_class_status(cls);
      code = http_class_code(cls);
      if (!cgi_bad) snprintf(err, sizeof err, "out of memory");
    }
  }
  if (status != 200 && !resp) resp = error_body(&call, err, code);
  /* stdout becomes the response; the record takes its excerpt from it below. */
  const uint8_t *stdout_data = out->stdout_data;
  if (status == 200 && !st->cgi) {
    resp = http_response_new(out->stdout_data, out->stdout_len, true);
    out->stdout_data = NULL; /* the response owns it (or freed it) */
    if (resp) http_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    else stdout_data = NULL, out->stdout_len = 0;
  }
  /* The reply is queued before the record is made, so that the record says
   * what the client gets: a reply that cannot be made or queued is a 500
   * there, never the 200 the run earned. */
  bool queued = false;
  bool gone = cls == CORE_CLASS_CANCELLED; /* stopped for its client: nobody to answer */
  if (resp && !gone) {
    add_call_headers(resp, &call, v->version);
    queued = http_queue(r, status, resp);
  }
  char outcome[400];
  if (gone) {
    core_outcome_text(out, outcome, sizeof outcome); /* "cancelled: client gone" */
  } else if (!queued) {
    status = 500;
    cls = CORE_CLASS_INTERNAL;
    code = http_class_code(cls);
    snprintf(outcome, sizeof outcome, "internal: the reply could not be made or queued");
  } else if (cgi_bad) {
    snprintf(outcome, sizeof outcome, "cgi: %s", err);
  } else {
    core_outcome_text(out, outcome, sizeof outcome);
  }
  /* The record, posted to the store's write-behind queue: the reply goes
   * out once this handler returns, and a read of activations waits for it. */
  uint8_t *owned = out->stdout_data;
  out->stdout_data = (uint8_t *)stdout_data; /* borrowed for the excerpt */
  core_call_finish(&call, status, cls, outcome, NULL);
  out->stdout_data = owned;
  http_response_free(resp);
  memcpy(r->call.activation_id, call.id, sizeof r->call.activation_id);
  r->call.wait_us = call.wait_us;
  r->call.init_us = out->init_us;
  r->call.exec_us = out->exec_us;
  r->call.code = cls == CORE_CLASS_OK ? NULL : code;
  res = queued ? HTTP_DONE : HTTP_CLOSE;
  core_call_clear(&call);
  core_fn_release(fn);
  return res;
}
