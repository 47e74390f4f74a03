/*
 * ow_invoke: POST /api/v1/namespaces/{ns}/actions/{name} (an invoke) and
 * /api/v1/web/{ns}/default/{action} (a web action): the run through
 * call.c, read as OpenWhisk's native action.
 *
 * The native convention: the parameters (the action's, overridden by the
 * call's) are one JSON object, on stdin (with a newline) and as argv[1];
 * the last line of stdout is the result; the other lines and stderr are the
 * logs (ow_activation.c). The same function called through /faas/NAME gets
 * its raw stdin and ?arg= values instead: the convention is this API's.
 *
 * Where a run goes:
 *   non-blocking  202 {"activationId"} at once; the run is a job of the
 *                 pool (ow_exec.c), which holds a bounded queue
 *   blocking      a thread of its own, the request waiting up to the wait
 *                 limit (60 s, or less with ?timeout=ms): the activation
 *                 then (200, or 502 for an error), or 202 with its id when
 *                 the wait ran out, the run going on to its record
 *   web           on the request's thread (its reply is the run's)
 *
 * The namespace's limits (quota.c) are taken before the reply says
 * anything, so a 429 is always the caller's answer; an execution slot is
 * taken by the run. A run refused a slot after its caller got 202 still
 * gets a record: a "whisk internal error" saying why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/openwhisk.h"

#define OW_QUEUE_MAX 4096u /* non-blocking invokes waiting for the pool */
#define ACTIVATION_HEADER "x-openwhisk-activation-id"

struct ow_server {
  ow_exec *pool;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned running; /* blocking runs on threads of their own */
};

ow_server *ow_server_new(unsigned threads) {
  ow_server *o = calloc(1, sizeof *o);
  if (!o) return NULL;
  if (!(o->pool = ow_exec_new(threads, OW_QUEUE_MAX))) {
    free(o);
    return NULL;
  }
  pthread_mutex_init(&o->lock, NULL);
  pthread_cond_init(&o->cond, NULL);
  return o;
}

void ow_server_free(ow_server *o) {
  if (!o) return;
  ow_exec_free(o->pool);
  pthread_mutex_lock(&o->lock);
  while (o->running) pthread_cond_wait(&o->cond, &o->lock);
  pthread_mutex_unlock(&o->lock);
  pthread_cond_destroy(&o->cond);
  pthread_mutex_destroy(&o->lock);
  free(o);
}

/* ---- a job: one run and what it made ----------------------------------------------- */

typedef struct ow_job {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned refs;      /* the request's and the runner's */
  bool done;          /* the record is made */
  bool accepted;      /* the caller was (or will be) told 202: non-blocking, or the wait ran out */
  bool web;
  ow_web_ext ext;
  mote_server *s;
  srv_call call;      /* call.fn: the job's reference */
  ow_action action;
  char subject[MOTE_STORE_NS_MAX + 1];
  char *argv1, *in;   /* the parameters: as argv[1], and with a newline as stdin */
  const char *argv[2];
  /* results */
  srv_call_status cs;
  json_t *record;     /* the activation record */
  ow_outcome outcome;
  unsigned status;    /* what the caller got (or gets) */
  ow_web_response web_resp;
  unsigned web_error; /* a web reply refused: its status, and web_msg */
  char web_msg[300];
} ow_job;

static void job_unref(ow_job *j) {
  pthread_mutex_lock(&j->lock);
  bool last = --j->refs == 0;
  pthread_mutex_unlock(&j->lock);
  if (!last) return;
  call_clear(&j->call);
  fn_release(j->call.fn);
  ow_action_clear(&j->action);
  ow_outcome_clear(&j->outcome);
  json_decref(j->record);
  ow_web_response_free(&j->web_resp);
  free(j->argv1);
  free(j->in);
  pthread_cond_destroy(&j->cond);
  pthread_mutex_destroy(&j->lock);
  free(j);
}

/* A job for fn (its reference taken over) with `input` as parameters. NULL
 * when out of memory (fn is then released). */
static ow_job *job_new(mote_server *s, srv_fn *fn, const json_t *input, const char *subject) {
  ow_job *j = calloc(1, sizeof *j);
  char *text = json_dumps(input, JSON_COMPACT);
  size_t n = text ? strlen(text) : 0;
  char *in = text ? malloc(n + 2) : NULL;
  if (!j || !in || !ow_action_from_meta(fn->rec.meta, &fn->rec.settings, &j->action)) {
    free(j);
    free(text);
    free(in);
    fn_release(fn);
    return NULL;
  }
  memcpy(in, text, n);
  in[n] = '\n';
  in[n + 1] = '\0';
  pthread_mutex_init(&j->lock, NULL);
  pthread_cond_init(&j->cond, NULL);
  j->refs = 1;
  j->s = s;
  j->argv1 = text;
  j->in = in;
  snprintf(j->subject, sizeof j->subject, "%s", subject);
  call_init(&j->call, s, fn);
  j->argv[0] = fn->rec.name;
  j->argv[1] = text;
  j->call.argv = j->argv;
  j->call.argc = 2;
  j->call.in = (const uint8_t *)in;
  j->call.in_len = n + 1;
  return j;
}

static srv_call_class class_of(const ow_outcome *o, const mote_invoke_result *res) {
  if (o->status == OW_STATUS_SUCCESS) return SRV_CLASS_OK;
  switch (res->outcome) {
    case MOTE_INVOKE_EXITED: return SRV_CLASS_EXIT;
    case MOTE_INVOKE_TRAP: return SRV_CLASS_TRAP;
    case MOTE_INVOKE_TIMEOUT: return SRV_CLASS_TIMEOUT;
    case MOTE_INVOKE_LIMIT: return SRV_CLASS_LIMIT;
    case MOTE_INVOKE_LINK: return SRV_CLASS_LINK;
    default: return SRV_CLASS_INTERNAL;
  }
}

static void job_info(const ow_job *j, ow_activation_info *info) {
  const srv_fn *fn = j->call.fn;
  *info = (ow_activation_info){
      .id = j->call.id, .ns = fn->rec.ns, .name = fn->rec.name, .subject = j->subject,
      .semver = j->action.semver, .kind = j->action.kind, .start_ms = j->call.start_ms,
      .end_ms = j->call.end_ms > j->call.start_ms ? j->call.end_ms : j->call.start_ms,
      .wait_ms = j->call.adm.wait_us / 1000, .init_ms = j->call.res.init_us / 1000,
      /* Without a snapshot the call ran the module's initialisation itself. */
      .cold = j->call.img && !j->call.img->snap, .limits = j->action.limits};
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

/* Runs the job to its record (the limits were taken: call_begin). */
static void job_run(ow_job *j) {
  srv_call *call = &j->call;
  j->cs = call_run(call);
  ow_activation_info info;
  if (j->cs == SRV_CALL_RAN) {
    uint64_t log_bytes = (uint64_t)j->action.limits.logs_mb << 20;
    uint64_t room = MOTE_STORE_META_MAX - (64u << 10); /* the record's other fields */
    if (log_bytes > room) log_bytes = room;
    if (!ow_outcome_read(&call->res, j->action.limits.timeout_ms, log_bytes,
                         call->end_ms * 1000000, &j->outcome)) {
      j->outcome.status = OW_STATUS_INTERNAL_ERROR;
      j->outcome.result = json_pack("{s:s}", "error", "out of memory");
      j->outcome.logs = json_array();
    }
  } else {
    /* Refused a slot (or out of memory): a record only if the caller
     * was told the call was accepted. */
    char m[300];
    if (j->cs == SRV_CALL_ADMIT)
      snprintf(m, sizeof m, "The action could not run: %s (no execution slot).",
               admit_status_code(call->adm.status));
    else
      snprintf(m, sizeof m, "The action could not run: out of memory.");
    j->outcome.status = OW_STATUS_INTERNAL_ERROR;
    j->outcome.result = json_pack("{s:s}", "error", m);
    j->outcome.logs = json_array();
    call->end_ms = call->start_ms;
  }
  job_info(j, &info);
  j->record = ow_activation_json(&info, &j->outcome);
  if (j->web && j->cs == SRV_CALL_RAN) {
    int st = ow_web_respond(&j->outcome, j->ext, &j->web_resp, j->web_msg, sizeof j->web_msg);
    j->web_error = (unsigned)st;
  }
  char *meta = j->record ? json_dumps(j->record, JSON_COMPACT) : NULL;
  char text[400];
  outcome_text(&j->outcome, text, sizeof text);
  pthread_mutex_lock(&j->lock);
  if (j->web)
    j->status = j->web_error ? j->web_error : j->web_resp.status;
  else
    j->status = j->accepted ? 202 : j->outcome.status == OW_STATUS_SUCCESS ? 200 : 502;
  if (j->cs == SRV_CALL_RAN)
    call_finish(call, j->status, class_of(&j->outcome, &call->res), text, meta);
  else if (j->accepted)
    call_record(call, j->status, text, meta);
  j->done = true;
  pthread_cond_broadcast(&j->cond);
  pthread_mutex_unlock(&j->lock);
  free(meta);
}

static void pool_job(void *arg) {
  ow_job *j = arg;
  job_run(j);
  job_unref(j);
}

static void *blocking_thread(void *arg) {
  ow_job *j = arg;
  ow_server *o = j->s->ow;
  job_run(j);
  job_unref(j);
  pthread_mutex_lock(&o->lock);
  if (--o->running == 0) pthread_cond_broadcast(&o->cond);
  pthread_mutex_unlock(&o->lock);
  return NULL;
}

/* ---- replies ---------------------------------------------------------------------- */

static enum MHD_Result reply_with_id(struct MHD_Connection *c, unsigned status, json_t *body,
                                     const char *id) {
  size_t len = 0;
  struct MHD_Response *resp = json_response(body, &len);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, ACTIVATION_HEADER, id);
  enum MHD_Result ret = reply_queue(c, status, resp, len);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result accepted(struct MHD_Connection *c, const char *id) {
  return reply_with_id(c, 202, json_pack("{s:s}", "activationId", id), id);
}

/* 429 for a call over its namespace's limits, OpenWhisk's message. */
static enum MHD_Result refuse_quota(struct MHD_Connection *c, const srv_quota_verdict *v) {
  char msg[200], tid[33], buf[16];
  quota_message(v, msg, sizeof msg);
  mote_store_activation_new_id(tid);
  size_t len = 0;
  struct MHD_Response *resp =
      json_response(json_pack("{s:s, s:s}", "error", msg, "code", tid), &len);
  if (!resp) return MHD_NO;
  snprintf(buf, sizeof buf, "%u", v->retry_after_s);
  MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
  enum MHD_Result ret = reply_queue(c, 429, resp, len);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result refuse_slot(struct MHD_Connection *c, const ow_job *j) {
  if (j->cs == SRV_CALL_NO_MEMORY) return ow_reply_error(c, 500, "out of memory");
  return ow_reply_error(c, 429, "Too many requests in flight: the server has no execution slot "
                        "for the action (%s); retry after %u s.",
                        admit_status_code(j->call.adm.status), j->call.adm.retry_after_s);
}

/* The function p names, checked against the caller: 0 with *out (a
 * reference), or the status of a reply queued. */
static int acquire(mote_server *s, struct MHD_Connection *c, const ow_path *p, const char *ns,
                   srv_fn **out, enum MHD_Result *res) {
  *out = NULL;
  srv_fn *fn = p->name_ok && !p->package ? registry_acquire(s->reg, p->name) : NULL;
  if (!fn) return (*res = ow_reply_error(c, 404, OW_MSG_NOT_FOUND)), 404;
  if (strcmp(fn->rec.ns, ns) != 0) {
    fn_release(fn);
    return (*res = ow_reply_error(c, 403, OW_MSG_FORBIDDEN)), 403;
  }
  *out = fn;
  return 0;
}

/* ---- invoke ----------------------------------------------------------------------- */

enum MHD_Result ow_action_invoke(mote_server *s, struct MHD_Connection *c, srv_req *r,
                                 const ow_path *p) {
  const char *ns = ow_path_ns(p, r);
  json_t *payload = NULL;
  if (r->len) {
    json_error_t jerr;
    payload = json_loadb((const char *)r->body, r->len, 0, &jerr);
    if (!json_is_object(payload)) {
      json_decref(payload);
      return ow_reply_error(c, 400, "The request content was malformed:\n%s",
                            payload ? "Object expected" : jerr.text);
    }
  }
  /* The wait of a blocking invoke: 60 s, or less with ?timeout=ms. */
  uint32_t wait_ms = OW_BLOCKING_WAIT_MS;
  const char *t = query_get(r, "timeout");
  if (t) {
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (errno || end == t || *end || v <= 0) {
      json_decref(payload);
      return ow_reply_error(c, 400, "The value '%.40s' is not a valid timeout in milliseconds.",
                            t);
    }
    if (v < wait_ms) wait_ms = (uint32_t)v;
  }
  srv_fn *fn;
  enum MHD_Result res;
  if (acquire(s, c, p, ns, &fn, &res)) {
    json_decref(payload);
    return res;
  }
  ow_action a;
  json_t *input = NULL;
  if (ow_action_from_meta(fn->rec.meta, &fn->rec.settings, &a)) {
    input = ow_invoke_input(a.parameters, payload);
    ow_action_clear(&a);
  }
  json_decref(payload);
  ow_job *j = input ? job_new(s, fn, input, r->ns) : (fn_release(fn), NULL);
  json_decref(input);
  if (!j) return ow_reply_error(c, 500, "out of memory");
  r->call.set = true;
  snprintf(r->call.function, sizeof r->call.function, "%s", p->name);
  memcpy(r->call.activation_id, j->call.id, sizeof r->call.activation_id);

  srv_call_status cs = call_begin(&j->call);
  if (cs != SRV_CALL_RAN) {
    res = cs == SRV_CALL_QUOTA ? refuse_quota(c, &j->call.quota)
                               : ow_reply_error(c, 500, "out of memory");
    job_unref(j);
    return res;
  }
  char id[33];
  memcpy(id, j->call.id, sizeof id);
  if (!ow_query_true(r, "blocking")) {
    j->accepted = true;
    if (!ow_exec_submit(s->ow->pool, pool_job, j)) {
      job_unref(j); /* leaves the limits (call_clear) */
      return ow_reply_error(c, 503, "The server is busy: too many invocations are waiting.");
    }
    return accepted(c, id);
  }

  /* Blocking: the run on a thread of its own, the request waiting for it. */
  j->refs = 2;
  pthread_mutex_lock(&s->ow->lock);
  s->ow->running++;
  pthread_mutex_unlock(&s->ow->lock);
  pthread_t th;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&th, &attr, blocking_thread, j) != 0) {
    pthread_mutex_lock(&s->ow->lock);
    s->ow->running--;
    pthread_mutex_unlock(&s->ow->lock);
    j->refs = 1;
    job_run(j); /* no thread: here, without the wait limit */
  }
  pthread_attr_destroy(&attr);
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += wait_ms / 1000;
  deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&j->lock);
  while (!j->done)
    if (pthread_cond_timedwait(&j->cond, &j->lock, &deadline) == ETIMEDOUT) break;
  bool done = j->done;
  if (!done) j->accepted = true; /* the run goes on; its record says 202 */
  pthread_mutex_unlock(&j->lock);

  if (!done) {
    res = accepted(c, id);
  } else if (j->cs != SRV_CALL_RAN) {
    res = refuse_slot(c, j);
  } else if (!j->record) {
    res = ow_reply_error(c, 500, "out of memory");
  } else {
    json_t *body = ow_query_true(r, "result")
                       ? json_incref(json_object_get(json_object_get(j->record, "response"),
                                                     "result"))
                       : json_incref(j->record);
    res = reply_with_id(c, j->status, body, id);
  }
  job_unref(j);
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

static enum MHD_Result header_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value) {
  (void)kind;
  /* The caller's credentials are not the action's to see. */
  if (strcasecmp(key, MHD_HTTP_HEADER_AUTHORIZATION) != 0) kv_add(cls, key, value ? value : "");
  return MHD_YES;
}

/* require-whisk-auth: a string is a secret the request must send as
 * X-Require-Whisk-Auth; any other truthy value asks for a valid key. 0 when
 * the request may go on, else the status of a reply queued. */
static int web_auth(mote_server *s, struct MHD_Connection *c, const json_t *annotations,
                    enum MHD_Result *res) {
  if (!ow_annotation_truthy(annotations, "require-whisk-auth")) return 0;
  json_t *v = ow_annotation(annotations, "require-whisk-auth");
  if (json_is_string(v)) {
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Require-Whisk-Auth");
    if (h && !strcmp(h, json_string_value(v))) return 0;
    *res = ow_reply_error(c, 401, "The supplied authentication is invalid");
    return 401;
  }
  char ns[MOTE_STORE_NS_MAX + 1];
  srv_auth_result why;
  int st = auth_identify(s, c, ns, &why);
  if (st == 0) return 0;
  *res = st == 401 ? auth_reply_401(c, why)
                   : ow_reply_error(c, 500, "The server could not check the credentials.");
  return st;
}

static enum MHD_Result web_reply(struct MHD_Connection *c, ow_job *j) {
  if (j->web_error) return ow_reply_error(c, j->web_error, "%s", j->web_msg);
  ow_web_response *w = &j->web_resp;
  struct MHD_Response *resp =
      w->len ? MHD_create_response_from_buffer(w->len, w->body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!resp) return MHD_NO;
  size_t len = w->len;
  if (w->len) w->body = NULL; /* the response owns it */
  if (w->content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, w->content_type);
  for (size_t i = 0; i < w->nheaders; i++) {
    char *colon = strchr(w->headers[i], ':');
    if (!colon) continue;
    *colon = '\0';
    const char *v = colon + 1;
    while (*v == ' ') v++;
    MHD_add_response_header(resp, w->headers[i], v);
  }
  MHD_add_response_header(resp, ACTIVATION_HEADER, j->call.id);
  enum MHD_Result ret = reply_queue(c, w->status, resp, len);
  MHD_destroy_response(resp);
  return ret;
}

enum MHD_Result ow_web(mote_server *s, struct MHD_Connection *c, srv_req *r, const ow_path *p) {
  enum MHD_Result res;
  srv_fn *fn;
  /* Only exported actions exist here: another namespace's name is none. */
  fn = p->name_ok && !p->package ? registry_acquire(s->reg, p->name) : NULL;
  if (fn && strcmp(fn->rec.ns, p->ns) != 0) {
    fn_release(fn);
    fn = NULL;
  }
  if (!fn) return ow_reply_error(c, 404, OW_MSG_NOT_FOUND);
  ow_action a;
  if (!ow_action_from_meta(fn->rec.meta, &fn->rec.settings, &a)) {
    fn_release(fn);
    return ow_reply_error(c, 500, "The action's record cannot be read.");
  }
  if (!ow_annotation_truthy(a.annotations, "web-export")) {
    ow_action_clear(&a);
    fn_release(fn);
    return ow_reply_error(c, 404, OW_MSG_NOT_FOUND);
  }
  if (web_auth(s, c, a.annotations, &res)) {
    ow_action_clear(&a);
    fn_release(fn);
    return res;
  }
  kv_list headers = {0}, params = {0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, header_cb, &headers);
  for (size_t i = 0; i < r->nparams; i++) kv_add(&params, r->params[i].key, r->params[i].value);
  ow_web_request rq = {
      .method = r->method, .headers = headers.v, .nheaders = headers.n, .path = p->rest,
      .query = r->query, .params = params.v, .nparams = params.n,
      .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                  MHD_HTTP_HEADER_CONTENT_TYPE),
      .body = r->body, .body_len = r->len};
  char msg[300];
  json_t *in = NULL, *input = NULL;
  int st = headers.oom || params.oom ? 500
           : ow_web_input(&rq, ow_annotation_truthy(a.annotations, "raw-http"),
                          ow_annotation_truthy(a.annotations, "final") ? a.parameters : NULL,
                          &in, msg, sizeof msg);
  if (headers.oom || params.oom) snprintf(msg, sizeof msg, "out of memory");
  if (!st) input = ow_invoke_input(a.parameters, in);
  json_decref(in);
  free(headers.v);
  free(params.v);
  ow_action_clear(&a);
  if (st || !input) {
    fn_release(fn);
    json_decref(input);
    return st ? ow_reply_error(c, (unsigned)st, "%s", msg) : ow_reply_error(c, 500, "out of memory");
  }
  /* The run's subject is the action's owner: a web action runs as its own. */
  ow_job *j = job_new(s, fn, input, fn->rec.ns);
  json_decref(input);
  if (!j) return ow_reply_error(c, 500, "out of memory");
  j->web = true;
  j->ext = p->ext;
  r->call.set = true;
  snprintf(r->call.function, sizeof r->call.function, "%s", p->name);
  memcpy(r->call.activation_id, j->call.id, sizeof r->call.activation_id);
  srv_call_status cs = call_begin(&j->call);
  if (cs == SRV_CALL_QUOTA) res = refuse_quota(c, &j->call.quota);
  else if (cs != SRV_CALL_RAN) res = ow_reply_error(c, 500, "out of memory");
  else {
    job_run(j);
    res = j->cs == SRV_CALL_RAN ? web_reply(c, j) : refuse_slot(c, j);
  }
  job_unref(j);
  return res;
}
