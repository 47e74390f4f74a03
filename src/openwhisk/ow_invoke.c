/*
 * ow_invoke: POST /api/v1/namespaces/{ns}/actions/{name} (an invoke) and
 * /api/v1/web/{ns}/default/{action} (a web action): the run through the
 * core's call path, read as OpenWhisk's native action.
 *
 * The native convention: the parameters (the action's, overridden by the
 * call's) are one JSON object, on stdin (with a newline) and as argv[1];
 * the last line of stdout is the result; the other lines and stderr are the
 * logs (ow_activation.c). The same function called through /faas/NAME gets
 * its raw stdin and ?arg= values instead: the convention is this API's.
 * The action (its meta) is decoded once per version (ow_action_of), not per
 * invoke.
 *
 * Where a run goes. The namespace's limits are taken first (a 429 is the
 * caller's answer), then the run is submitted to the core (core_call_submit):
 * it waits in admission's one queue, the same as every call's, and an
 * executor runs it once it has a slot. A call the queue refuses is the
 * caller's 429 (never a 202 that ends as an error later: a call accepted is
 * never refused afterwards).
 *   non-blocking  202 {"activationId"} once the call is accepted
 *   blocking      the request waits for the run up to the wait limit (60 s,
 *                 or less with ?timeout=ms): the activation then (200, or
 *                 502 for an error), or 202 with its id when the wait ran
 *                 out, the run going on to its record. While the call still
 *                 waits for a slot at the queue timeout, it is taken out of
 *                 the queue and answered 429 queue_timeout, as a /faas call
 *                 is. No thread of its own: the request's thread waits.
 *   web           on the request's thread (its reply is the run's)
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/clock.h"
#include "openwhisk/ow_internal.h"

#define ACTIVATION_HEADER "x-openwhisk-activation-id"

/* ---- a job: one run and what it made ----------------------------------------------- */

typedef struct ow_job {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned refs;        /* the request's and the run's */
  bool done;            /* the record is made */
  bool accepted;        /* the caller was (or will be) told 202 */
  bool web;
  ow_web_ext ext;
  core_call call;       /* call.fn: the job's reference */
  const ow_action *action; /* the version's (valid with call.fn) */
  char subject[MOTE_STORE_NS_MAX + 1];
  char *argv1, *in;     /* the parameters: as argv[1], and with a newline as stdin */
  const char *argv[2];
  /* results */
  json_t *record;       /* the activation record */
  ow_outcome outcome;
  unsigned status;      /* what the caller got (or gets) */
  ow_web_response web_resp;
  unsigned web_error;   /* a web reply refused: its status, and web_msg */
  char web_msg[300];
  /* The record waits for the reply when a request answers with the run (a
   * blocking invoke in time, a web action): job_finish, after the reply is
   * queued, so that a reply that cannot be queued is a 500 there. */
  bool finish_pending;
  char text[400];       /* the outcome text, for job_finish */
  char *meta;           /* the record's JSON, for job_finish (from jansson's malloc) */
} ow_job;

static void job_unref(ow_job *j, unsigned n) {
  pthread_mutex_lock(&j->lock);
  bool last = (j->refs -= n) == 0;
  pthread_mutex_unlock(&j->lock);
  if (!last) return;
  core_call_clear(&j->call);
  core_fn_release(j->call.fn);
  ow_outcome_clear(&j->outcome);
  json_decref(j->record);
  ow_web_response_free(&j->web_resp);
  free(j->argv1);
  free(j->in);
  free(j->meta);
  pthread_cond_destroy(&j->cond);
  pthread_mutex_destroy(&j->lock);
  free(j);
}

/* A job for fn (its reference taken over) with `input` as parameters. NULL
 * when out of memory (fn is then released). */
static ow_job *job_new(mote_core *c, core_fn *fn, const ow_action *a, const json_t *input,
                       const char *subject) {
  ow_job *j = calloc(1, sizeof *j);
  char *text = json_dumps(input, JSON_COMPACT);
  size_t n = text ? strlen(text) : 0;
  char *in = text ? malloc(n + 2) : NULL;
  if (!j || !in) {
    free(j);
    free(text);
    free(in);
    core_fn_release(fn);
    return NULL;
  }
  memcpy(in, text, n);
  in[n] = '\n';
  in[n + 1] = '\0';
  pthread_mutex_init(&j->lock, NULL);
  pthread_cond_init(&j->cond, NULL);
  j->refs = 1;
  j->action = a;
  j->argv1 = text;
  j->in = in;
  snprintf(j->subject, sizeof j->subject, "%s", subject);
  core_call_init(&j->call, c, fn);
  j->argv[0] = core_fn_record(fn)->name;
  j->argv[1] = text;
  j->call.argv = j->argv;
  j->call.argc = 2;
  j->call.in = (const uint8_t *)in;
  j->call.in_len = n + 1;
  return j;
}

/* The class of an outcome read as an action: an application error is a
 * failed call even when the module exited 0. */
static core_class class_of(const ow_outcome *o, const mote_invoke_result *res) {
  if (o->status == OW_STATUS_SUCCESS) return CORE_CLASS_OK;
  core_class cls = core_outcome_class(res);
  return cls == CORE_CLASS_OK ? CORE_CLASS_EXIT : cls;
}

/* The activation's outcome text: "ok", or the status and the error. */
static void outcome_text(const ow_outcome *o, char *out, size_t cap) {
  if (o->status == OW_STATUS_SUCCESS) {
    snprintf(out, cap, "ok");
    return;
  }
  json_t *err = json_object_get(o->result, "error");
  char *t = err ? json_dumps(err, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
  snprintf(out, cap, "%s: %s", ow_status_name(o->status), t ? t : "");
  free(t);
}

/* After the run: the outcome read as an action, the record, the web
 * response; then done, and the waiting request woken. */
static void job_complete(ow_job *j) {
  core_call *call = &j->call;
  const ow_action *a = j->action;
  const mote_function_version *v = core_fn_record(call->fn);
  uint64_t log_bytes = (uint64_t)a->limits.logs_mb << 20;
  uint64_t room = MOTE_STORE_META_MAX - (64u << 10); /* the record's other fields */
  if (log_bytes > room) log_bytes = room;
  if (!ow_outcome_read(&call->res, a->limits.timeout_ms, log_bytes, call->end_ms * 1000000,
                       &j->outcome)) {
    j->outcome.status = OW_STATUS_INTERNAL_ERROR;
    j->outcome.result = json_pack("{s:s}", "error", "out of memory");
    j->outcome.logs = json_array();
  }
  ow_activation_info info = {
      .id = call->id, .ns = v->ns, .name = v->name, .subject = j->subject,
      .semver = a->semver, .kind = a->kind, .start_ms = call->start_ms,
      .end_ms = call->end_ms > call->start_ms ? call->end_ms : call->start_ms,
      .wait_ms = call->wait_us / 1000, .init_ms = call->res.init_us / 1000,
      /* Without a snapshot the call ran the module's initialisation itself. */
      .cold = !call->snapshot, .limits = a->limits};
  j->record = ow_activation_json(&info, &j->outcome);
  if (j->web)
    j->web_error = (unsigned)ow_web_respond(&j->outcome, j->ext, &j->web_resp, j->web_msg,
                                            sizeof j->web_msg);
  j->meta = j->record ? json_dumps(j->record, JSON_COMPACT) : NULL;
  bool gone = call->res.outcome == MOTE_INVOKE_CANCELLED; /* a web action's client went away */
  if (gone) core_outcome_text(&call->res, j->text, sizeof j->text); /* "cancelled: client gone" */
  else outcome_text(&j->outcome, j->text, sizeof j->text);
  pthread_mutex_lock(&j->lock);
  if (gone)
    j->status = 499; /* nobody to answer; as /faas records it */
  else if (j->web)
    j->status = j->web_error ? j->web_error : j->web_resp.status;
  else
    j->status = j->accepted ? 202 : j->outcome.status == OW_STATUS_SUCCESS ? 200 : 502;
  /* A request waits for this run (not told 202): it records after its reply. */
  j->finish_pending = !gone && (j->web || !j->accepted);
  if (!j->finish_pending)
    core_call_finish(call, j->status, class_of(&j->outcome, &call->res), j->text, j->meta);
  j->done = true;
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
}

/* The record of a run whose request answered with it (finish_pending):
 * what the client got, res the reply's queueing (not done: a 500, as
 * /faas records it). */
static void job_finish(ow_job *j, http_result res) {
  if (!j->finish_pending) return;
  j->finish_pending = false;
  core_call *call = &j->call;
  if (res == HTTP_DONE) {
    core_call_finish(call, j->status, class_of(&j->outcome, &call->res), j->text, j->meta);
  } else {
    core_call_finish(call, 500, CORE_CLASS_INTERNAL,
                     "internal: the reply could not be made or queued", j->meta);
  }
}

/* The core's executor, with the call's slot. */
static void job_run(core_call *call, void *arg) {
  ow_job *j = arg;
  (void)call;
  core_call_exec(&j->call);
  job_complete(j);
  job_unref(j, 1);
}

/* ---- replies ---------------------------------------------------------------------- */

static http_result reply_with_id(http_req *r, unsigned status, json_t *body, const char *id) {
  http_response *resp = http_response_json(body);
  if (!resp) return HTTP_CLOSE;
  http_response_header(resp, ACTIVATION_HEADER, id);
  return http_reply(r, status, resp);
}

static http_result accepted(http_req *r, const char *id) {
  return reply_with_id(r, 202, json_pack("{s:s}", "activationId", id), id);
}

/* A call refused: the namespace's limits (OpenWhisk's message and
 * Retry-After), no execution slot (429), or out of memory (500). */
/* A refusal in OpenWhisk's words; every 429 carries Retry-After, as /faas's
 * (issue 14: admission's refusals had none here). */
static http_result refused(http_req *r, const core_call *call) {
  mote_core_status st = call->err.status;
  if (st == MOTE_CORE_NO_MEMORY) return http_reply_error(r, 500, NULL, "out of memory");
  if (st == MOTE_CORE_CANCELLED) return HTTP_CLOSE; /* its client is gone: nobody to answer */
  char tid[33], buf[16], msg[400];
  if (st == MOTE_CORE_NS_RATE || st == MOTE_CORE_NS_CONCURRENCY)
    snprintf(msg, sizeof msg, "%s", call->err.message);
  else
    snprintf(msg, sizeof msg, "Too many requests in flight: the server has no execution slot "
             "for the action (%s); retry after %u s.", http_code_of(st), call->retry_after_s);
  mote_store_activation_new_id(tid);
  http_response *resp = http_response_json(json_pack("{s:s, s:s}", "error", msg, "code", tid));
  if (!resp) return HTTP_CLOSE;
  snprintf(buf, sizeof buf, "%u", call->retry_after_s ? call->retry_after_s : 1);
  http_response_header(resp, "Retry-After", buf);
  return http_reply(r, 429, resp);
}

/* The action the path names in namespace ns (the caller's: the route
 * table checked it): true with *fn (a reference) and *a, or false with a
 * reply queued. */
static bool acquire(http_req *r, const char *ns, core_fn **fn, const ow_action **a,
                    http_result *res) {
  const char *name = ow_name(r);
  *fn = name ? core_fn_acquire(http_req_core(r), ns, name) : NULL;
  if (!*fn && name && core_fn_preparing(http_req_core(r), ns, name))
    return (*res = http_reply_starting(r, ns, name)), false;
  if (!*fn) return (*res = http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND)), false;
  if (!(*a = ow_action_of(*fn))) {
    core_fn_release(*fn);
    return (*res = http_reply_error(r, 500, NULL, "The action's record cannot be read.")), false;
  }
  if (!http_response_budget(r, res)) { /* slow readers hold too much: 503 */
    core_fn_release(*fn);
    return false;
  }
  return true;
}

static bool before(const struct timespec *a, const struct timespec *b) {
  return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ---- invoke ----------------------------------------------------------------------- */

http_result ow_action_invoke(void *ctx, http_req *r) {
  (void)ctx;
  mote_core *c = http_req_core(r);
  const char *ns = ow_ns(r);
  size_t body_len;
  const uint8_t *body = http_req_body(r, &body_len);
  json_t *payload = NULL;
  if (body_len) {
    json_error_t jerr;
    payload = json_loadb((const char *)body, body_len, 0, &jerr);
    if (!json_is_object(payload)) {
      json_decref(payload);
      return http_reply_error(r, 400, NULL, "The request content was malformed:\n%s",
                              payload ? "Object expected" : jerr.text);
    }
  }
  /* The wait of a blocking invoke: 60 s, or less with ?timeout=ms. */
  uint32_t wait_ms = OW_BLOCKING_WAIT_MS;
  const char *t = http_req_param(r, "timeout");
  if (t) {
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (errno || end == t || *end || v <= 0) {
      json_decref(payload);
      return http_reply_error(r, 400, NULL,
                              "The value '%.40s' is not a valid timeout in milliseconds.", t);
    }
    if (v < wait_ms) wait_ms = (uint32_t)v;
  }
  core_fn *fn;
  const ow_action *a;
  http_result res;
  if (!acquire(r, ns, &fn, &a, &res)) {
    json_decref(payload);
    return res;
  }
  json_t *input = ow_invoke_input(a->parameters, payload);
  json_decref(payload);
  ow_job *j = input ? job_new(c, fn, a, input, http_req_ns(r)) : (core_fn_release(fn), NULL);
  json_decref(input);
  if (!j) return http_reply_error(r, 500, NULL, "out of memory");
  http_call_log *log = http_req_call_log(r);
  log->set = true;
  snprintf(log->function, sizeof log->function, "%s", core_fn_record(fn)->name);
  snprintf(log->ns, sizeof log->ns, "%s", core_fn_record(fn)->ns);
  memcpy(log->activation_id, j->call.id, sizeof log->activation_id);
  char id[33];
  memcpy(id, j->call.id, sizeof id);

  bool blocking = http_req_param_true(r, "blocking");
  j->accepted = !blocking;
  j->refs = 2; /* the request's and the run's */
  if (core_call_submit(&j->call, job_run, j) != MOTE_CORE_OK) {
    res = refused(r, &j->call);
    job_unref(j, 2);
    return res;
  }
  if (!blocking) {
    job_unref(j, 1); /* the run keeps its own */
    return accepted(r, id);
  }

  /* Blocking: wait for the run, up to the wait limit; a call still queued
   * at the queue timeout is refused as a /faas call would be. */
  struct timespec wait_end = mote_time_in(CLOCK_REALTIME, wait_ms);
  struct timespec queue_end = mote_time_in(CLOCK_REALTIME, core_queue_timeout_ms(c));
  bool queue_checked = false;
  pthread_mutex_lock(&j->lock);
  for (;;) {
    if (j->done) break;
    bool queue_first = !queue_checked && before(&queue_end, &wait_end);
    struct timespec *until = queue_first ? &queue_end : &wait_end;
    if (pthread_cond_timedwait(&j->cond, &j->lock, until) != ETIMEDOUT) continue;
    if (!queue_first) break; /* the wait ran out */
    queue_checked = true;
    pthread_mutex_unlock(&j->lock);
    bool cancelled = core_call_cancel(&j->call);
    pthread_mutex_lock(&j->lock);
    if (cancelled) {
      pthread_mutex_unlock(&j->lock);
      res = refused(r, &j->call);
      job_unref(j, 2); /* the run will not happen */
      return res;
    }
  }
  bool done = j->done;
  if (!done) j->accepted = true; /* the run goes on; its record says 202 */
  pthread_mutex_unlock(&j->lock);

  if (!done) {
    res = accepted(r, id);
  } else if (!j->record) {
    res = http_reply_error(r, 500, NULL, "out of memory");
    job_finish(j, HTTP_CLOSE);
  } else {
    json_t *out = http_req_param_true(r, "result")
                      ? json_incref(json_object_get(json_object_get(j->record, "response"),
                                                    "result"))
                      : json_incref(j->record);
    res = reply_with_id(r, j->status, out, id);
    job_finish(j, res);
  }
  job_unref(j, 1);
  return res;
}

/* ---- web actions ------------------------------------------------------------------- */

typedef struct kv_list {
  ow_kv *v;
  size_t n, cap;
  bool oom;
} kv_list;

static void kv_add(kv_list *l, const char *k, const char *v) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 16;
    ow_kv *grown = realloc(l->v, cap * sizeof *grown);
    if (!grown) {
      l->oom = true;
      return;
    }
    l->v = grown;
    l->cap = cap;
  }
  l->v[l->n++] = (ow_kv){k, v};
}

static void header_cb(void *cls, const char *key, const char *value) {
  /* The caller's credentials are not the action's to see. */
  if (strcasecmp(key, "Authorization") != 0) kv_add(cls, key, value);
}

/* require-whisk-auth: a string is a secret the request must send as
 * X-Require-Whisk-Auth; any other truthy value asks for a valid key (the
 * one check of credentials, http_identify). True when the request may go
 * on, else a reply was queued. */
static bool web_auth(http_req *r, const json_t *annotations, http_result *res) {
  if (!ow_annotation_truthy(annotations, "require-whisk-auth")) return true;
  json_t *v = ow_annotation(annotations, "require-whisk-auth");
  if (json_is_string(v)) {
    const char *h = http_req_header(r, "X-Require-Whisk-Auth");
    if (h && !strcmp(h, json_string_value(v))) return true;
    *res = http_reply_error(r, 401, NULL, "The supplied authentication is invalid");
    return false;
  }
  return http_identify(r, res);
}

static http_result web_reply(http_req *r, ow_job *j) {
  if (j->web_error) return http_reply_error(r, j->web_error, NULL, "%s", j->web_msg);
  ow_web_response *w = &j->web_resp;
  http_response *resp = http_response_new(w->len ? w->body : NULL, w->len, w->len > 0);
  if (w->len) w->body = NULL; /* the response owns it (or freed it) */
  if (!resp) return HTTP_CLOSE;
  if (w->content_type) http_response_header(resp, "Content-Type", w->content_type);
  for (size_t i = 0; i < w->nheaders; i++) {
    char *colon = strchr(w->headers[i], ':');
    if (!colon) continue;
    *colon = '\0';
    const char *v = colon + 1;
    while (*v == ' ') v++;
    http_response_header(resp, w->headers[i], v);
  }
  http_response_header(resp, ACTIVATION_HEADER, j->call.id);
  return http_reply(r, w->status, resp);
}

http_result ow_web(void *ctx, http_req *r) {
  (void)ctx;
  mote_core *c = http_req_core(r);
  http_result res;
  char name[CORE_NAME_MAX + 1];
  ow_web_ext ext;
  const char *ns = http_req_capture(r, "ns");
  bool in_default = !strcmp(http_req_capture(r, "package"), "default");
  bool name_ok = ow_web_split(http_req_capture(r, "action"), name, sizeof name, &ext) &&
                 mote_store_valid_name(name);
  /* Only exported actions of the namespace the path names exist here. */
  core_fn *fn = name_ok && in_default ? core_fn_acquire(c, ns, name) : NULL;
  if (!fn && name_ok && in_default && core_fn_preparing(c, ns, name))
    return http_reply_starting(r, ns, name);
  if (!fn) return http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND);
  const ow_action *a = ow_action_of(fn);
  if (!a) {
    core_fn_release(fn);
    return http_reply_error(r, 500, NULL, "The action's record cannot be read.");
  }
  if (!ow_annotation_truthy(a->annotations, "web-export")) {
    core_fn_release(fn);
    return http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND);
  }
  if (!web_auth(r, a->annotations, &res)) {
    core_fn_release(fn);
    return res;
  }
  if (!http_response_budget(r, &res)) { /* slow readers hold too much: 503 */
    core_fn_release(fn);
    return res;
  }
  kv_list headers = {0}, params = {0};
  http_req_headers(r, header_cb, &headers);
  size_t np;
  const http_param *ps = http_req_params(r, &np);
  for (size_t i = 0; i < np; i++) kv_add(&params, ps[i].key, ps[i].value);
  size_t body_len;
  const uint8_t *body = http_req_body(r, &body_len);
  ow_web_request rq = {
      .method = http_req_method(r), .headers = headers.v, .nheaders = headers.n,
      .path = http_req_capture(r, "rest"), .query = http_req_query(r), .params = params.v,
      .nparams = params.n, .content_type = http_req_header(r, "Content-Type"), .body = body,
      .body_len = body_len};
  char msg[300];
  json_t *in = NULL, *input = NULL;
  int st = headers.oom || params.oom ? 500
           : ow_web_input(&rq, ow_annotation_truthy(a->annotations, "raw-http"),
                          ow_annotation_truthy(a->annotations, "final") ? a->parameters : NULL,
                          &in, msg, sizeof msg);
  if (headers.oom || params.oom) snprintf(msg, sizeof msg, "out of memory");
  if (!st) input = ow_invoke_input(a->parameters, in);
  json_decref(in);
  free(headers.v);
  free(params.v);
  if (st || !input) {
    core_fn_release(fn);
    json_decref(input);
    return st ? http_reply_error(r, (unsigned)st, NULL, "%s", msg)
              : http_reply_error(r, 500, NULL, "out of memory");
  }
  /* The run's subject is the action's owner: a web action runs as its own. */
  ow_job *j = job_new(c, fn, a, input, core_fn_record(fn)->ns);
  json_decref(input);
  if (!j) return http_reply_error(r, 500, NULL, "out of memory");
  j->web = true;
  j->ext = ext;
  http_call_log *log = http_req_call_log(r);
  log->set = true;
  snprintf(log->function, sizeof log->function, "%s", name);
  snprintf(log->ns, sizeof log->ns, "%s", ns);
  memcpy(log->activation_id, j->call.id, sizeof log->activation_id);
  /* A web action's reply is its run: a client gone stops it (conns.c's
   * watcher), as on /faas. A blocking invoke is not stopped: its
   * activation outlives the request in OpenWhisk's model (202, then
   * polled), so it runs to its record. */
  http_req_watch_call(r, &j->call);
  mote_core_status cs = core_call_run(&j->call);
  http_req_watch_call(r, NULL);
  if (cs == MOTE_CORE_OK) {
    job_complete(j);
    res = j->call.res.outcome == MOTE_INVOKE_CANCELLED ? HTTP_CLOSE : web_reply(r, j);
    job_finish(j, res);
  } else {
    res = refused(r, &j->call); /* CANCELLED: never ran, nobody to answer (counted) */
  }
  job_unref(j, 1);
  return res;
}
