/*
 * ow_activation: a run's outcome read as OpenWhisk reads a native
 * (blackbox) action, and the activation record made of it.
 *
 * The convention (OpenWhisk's native action proxy): the parameters arrive
 * as one JSON object on stdin and as argv[1]; the last line of stdout is the
 * result, a JSON object; every other line of stdout, and stderr, are logs.
 * What is not a JSON object there is the proxy's "The action did not return
 * a dictionary." and a developer error.
 *
 * Logs: mote captures stdout and stderr whole, without the time of each
 * line, so every line is stamped with the run's end and the stdout lines
 * come before the stderr ones. The total is bounded as OpenWhisk bounds it
 * by the action's logs limit (the caller may give less: the store keeps at
 * most MOTE_STORE_META_MAX bytes of a record), with its note when lines
 * are dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/utf8.h"
#include "openwhisk/openwhisk.h"

const char *ow_status_name(ow_status s) {
  switch (s) {
    case OW_STATUS_SUCCESS: return "success";
    case OW_STATUS_APPLICATION_ERROR: return "application error";
    case OW_STATUS_DEVELOPER_ERROR: return "action developer error";
    default: return "whisk internal error";
  }
}

char *ow_log_line(int64_t ns, const char *stream, const char *text, size_t len) {
  time_t t = (time_t)(ns / 1000000000);
  struct tm tm;
  char stamp[64];
  gmtime_r(&t, &tm);
  size_t n = strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(stamp + n, sizeof stamp - n, ".%09lldZ", (long long)(ns % 1000000000));
  char *clean = utf8_dup((const uint8_t *)text, len);
  if (!clean) return NULL;
  char *line = NULL;
  if (asprintf(&line, "%s %s: %s", stamp, stream, clean) < 0) line = NULL;
  free(clean);
  return line;
}

/* ---- reading a run ------------------------------------------------------------- */

typedef struct span {
  const char *p;
  size_t n;
} span;

/* The lines of a buffer: split at '\n', a '\r' before it dropped; a final
 * '\n' does not start another line. *out from malloc (NULL when none). */
static bool split_lines(const uint8_t *buf, size_t len, span **out, size_t *count) {
  *out = NULL;
  *count = 0;
  if (!len) return true;
  size_t n = 1;
  for (size_t i = 0; i + 1 < len; i++) n += buf[i] == '\n';
  span *s = malloc(n * sizeof *s);
  if (!s) return false;
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i == len || buf[i] == '\n') {
      if (i == len && start == len) break; /* after a final '\n' */
      size_t e = i;
      if (e > start && buf[e - 1] == '\r') e--;
      s[k++] = (span){(const char *)buf + start, e - start};
      start = i + 1;
    }
  }
  *out = s;
  *count = k;
  return true;
}

static bool blank(span s) {
  for (size_t i = 0; i < s.n; i++)
    if (s.p[i] != ' ' && s.p[i] != '\t') return false;
  return true;
}

typedef struct logbook {
  json_t *logs;
  int64_t ns;
  uint64_t budget, used;
  bool truncated, oom;
} logbook;

/* What a log line costs in the record: its JSON string as the record is
 * written (compact, UTF-8 as it is), quotes, escapes and a comma. The
 * budget counts that, stamp included, not the text alone: empty lines cost
 * nothing, and 16 MiB of them made millions of entries (gigabytes of
 * strings, a record past what the store keeps). */
static uint64_t json_cost(const char *s) {
  uint64_t c = 3;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    c += *p == '"' || *p == '\\' ? 2 : *p < 0x20 ? 6 : 1;
  return c;
}

static void log_add(logbook *b, const char *stream, const char *p, size_t n) {
  if (b->truncated || b->oom) return;
  if (n > b->budget - b->used) { /* the text alone is over: not even built */
    b->truncated = true;
    return;
  }
  char *line = ow_log_line(b->ns, stream, p, n);
  if (!line) {
    b->oom = true;
    return;
  }
  uint64_t cost = json_cost(line);
  if (cost > b->budget - b->used) {
    b->truncated = true;
  } else {
    b->used += cost;
    if (json_array_append_new(b->logs, json_string(line)) != 0) b->oom = true;
  }
  free(line);
}

static void log_lines(logbook *b, const char *stream, const span *l, size_t n, long skip) {
  for (size_t i = 0; i < n; i++)
    if ((long)i != skip) log_add(b, stream, l[i].p, l[i].n);
}

static json_t *error_result(const char *msg) { return json_pack("{s:s}", "error", msg); }

bool ow_outcome_read(const mote_invoke_result *res, uint32_t timeout_ms, uint64_t log_bytes,
                     int64_t end_ns, ow_outcome *out) {
  memset(out, 0, sizeof *out);
  span *ol = NULL, *el = NULL;
  size_t on = 0, en = 0;
  logbook book = {.logs = json_array(), .ns = end_ns, .budget = log_bytes};
  out->logs = book.logs;
  if (!out->logs || !split_lines(res->stdout_data, res->stdout_len, &ol, &on) ||
      !split_lines(res->stderr_data, res->stderr_len, &el, &en))
    goto oom;
  /* Trailing blank lines are no output. */
  while (on && blank(ol[on - 1])) on--;

  const char *detail = NULL; /* a line for the logs about what went wrong */
  long result_line = -1;
  switch (res->outcome) {
    case MOTE_INVOKE_EXITED: {
      json_t *obj = on ? json_loadb(ol[on - 1].p, ol[on - 1].n, 0, NULL) : NULL;
      if (!json_is_object(obj)) {
        json_decref(obj);
        out->status = OW_STATUS_DEVELOPER_ERROR;
        out->result = error_result("The action did not return a dictionary.");
        if (res->exit_code != 0) detail = "the action exited with a non-zero status";
        break;
      }
      result_line = (long)on - 1;
      json_t *err = json_object_get(obj, "error");
      if (err) {
        /* OpenWhisk keeps only the error of an application error. */
        out->status = OW_STATUS_APPLICATION_ERROR;
        out->result = json_pack("{s:O}", "error", err);
        json_decref(obj);
      } else if (res->exit_code != 0) {
        out->status = OW_STATUS_APPLICATION_ERROR;
        out->result = json_pack("{s:o}", "error", obj);
      } else {
        out->status = OW_STATUS_SUCCESS;
        out->result = obj;
      }
      break;
    }
    case MOTE_INVOKE_TIMEOUT: {
      char m[128];
      snprintf(m, sizeof m, "The action exceeded its time limits of %u milliseconds.",
               timeout_ms);
      out->status = OW_STATUS_DEVELOPER_ERROR;
      out->result = error_result(m);
      out->timeout = true;
      break;
    }
    case MOTE_INVOKE_CANCELLED: /* OpenWhisk has no word for it: a whisk error */
      out->status = OW_STATUS_INTERNAL_ERROR;
      out->result = error_result("The activation was cancelled: its client went away.");
      detail = res->message;
      break;
    case MOTE_INVOKE_TRAP:
      out->status = OW_STATUS_DEVELOPER_ERROR;
      out->result = error_result("The action did not produce a valid response and exited "
                                 "unexpectedly.");
      detail = res->message;
      break;
    case MOTE_INVOKE_LIMIT:
      out->status = OW_STATUS_DEVELOPER_ERROR;
      out->result = error_result(res->trap == MOTE_TRAP_RESOURCE
                                     ? "The action exhausted its memory and was aborted."
                                     : "The action did not produce a valid response and exited "
                                       "unexpectedly.");
      detail = res->message;
      break;
    case MOTE_INVOKE_LINK:
      out->status = OW_STATUS_DEVELOPER_ERROR;
      out->result = error_result("The action did not initialize and exited unexpectedly.");
      detail = res->message;
      break;
    default:
      out->status = OW_STATUS_INTERNAL_ERROR;
      out->result = error_result("Failed to provision resources to run the action.");
      detail = res->message;
      break;
  }
  if (!out->result) goto oom;
  log_lines(&book, "stdout", ol, on, result_line);
  log_lines(&book, "stderr", el, en, -1);
  if (detail && detail[0]) log_add(&book, "stderr", detail, strlen(detail));
  if (book.truncated) {
    char m[160];
    snprintf(m, sizeof m, "Logs were truncated because the total bytes size exceeds the limit "
             "of %llu bytes.", (unsigned long long)book.budget);
    char *line = ow_log_line(end_ns, "stderr", m, strlen(m));
    if (!line || json_array_append_new(book.logs, json_string(line)) != 0) book.oom = true;
    free(line);
  }
  if (book.oom) goto oom;
  free(ol);
  free(el);
  return true;
oom:
  free(ol);
  free(el);
  ow_outcome_clear(out);
  return false;
}

void ow_outcome_clear(ow_outcome *o) {
  json_decref(o->result);
  json_decref(o->logs);
  memset(o, 0, sizeof *o);
}

/* ---- records ------------------------------------------------------------------- */

static json_t *annotation(const char *key, json_t *value) {
  return json_pack("{s:s, s:o}", "key", key, "value", value);
}

json_t *ow_activation_json(const ow_activation_info *info, const ow_outcome *o) {
  char path[2 * MOTE_STORE_NS_MAX + 4 + CORE_NAME_MAX];
  snprintf(path, sizeof path, "%s/%s", info->ns, info->name);
  json_t *ann = json_array();
  if (!ann) return NULL;
  json_array_append_new(ann, annotation("path", json_string(path)));
  json_array_append_new(ann, annotation("waitTime", json_integer((json_int_t)info->wait_ms)));
  json_array_append_new(ann, annotation("kind", json_string(info->kind)));
  json_array_append_new(ann, annotation("timeout", json_boolean(o->timeout)));
  json_array_append_new(ann, annotation("limits", ow_limits_json(&info->limits)));
  if (info->cold)
    json_array_append_new(ann, annotation("initTime", json_integer((json_int_t)info->init_ms)));
  json_t *response = json_pack("{s:s, s:i, s:b, s:O}", "status", ow_status_name(o->status),
                               "statusCode", (int)o->status, "success",
                               o->status == OW_STATUS_SUCCESS, "result", o->result);
  /* The order of OpenWhisk's own records. */
  return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:o, s:O, s:s, s:b, s:o, s:I}", "namespace",
                   info->ns, "name", info->name, "subject", info->subject, "activationId",
                   info->id, "start", (json_int_t)info->start_ms, "end",
                   (json_int_t)info->end_ms, "response", response, "logs", o->logs, "version",
                   info->semver, "publish", false, "annotations", ann, "duration",
                   (json_int_t)(info->end_ms - info->start_ms));
}

char *ow_activation_meta(const ow_activation_info *info, const ow_outcome *o) {
  json_t *rec = ow_activation_json(info, o);
  char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
  json_decref(rec);
  return text;
}

json_t *ow_activation_summary(const json_t *rec) {
  static const char *const keys[] = {"namespace", "name",  "version", "publish", "annotations",
                                     "activationId", "start", "end", "duration"};
  json_t *o = json_object();
  if (!o) return NULL;
  for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
    json_t *v = json_object_get(rec, keys[i]);
    if (v) json_object_set(o, keys[i], v);
  }
  json_t *sc = json_object_get(json_object_get(rec, "response"), "statusCode");
  if (sc) json_object_set(o, "statusCode", sc);
  return o;
}

json_t *ow_activation_response(const json_t *rec) {
  json_t *r = json_object_get(rec, "response");
  return r ? json_deep_copy(r) : NULL;
}

json_t *ow_invoke_input(const json_t *parameters, const json_t *payload) {
  json_t *o = json_object();
  if (!o) return NULL;
  size_t i;
  json_t *e;
  json_array_foreach(parameters, i, e) {
    const char *k = json_string_value(json_object_get(e, "key"));
    json_t *v = json_object_get(e, "value");
    if (k && v) json_object_set(o, k, v);
  }
  if (json_is_object(payload)) json_object_update(o, (json_t *)payload);
  return o;
}
