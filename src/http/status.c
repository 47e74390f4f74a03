/*
 * status: what the core's words are in HTTP, in one table, and how an error
 * looks in each dialect.
 *
 *   mote       {"error": message, "code": "<what>"}, the code from the table
 *   openwhisk  {"error": message, "code": "<transaction id>"} (the wsk CLI
 *              needs both fields, the npm client the JSON type), with
 *              OpenWhisk's wording for the errors the route table makes
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"

static const struct {
  unsigned http;
  const char *code;
} table[MOTE_CORE_STATUS_COUNT] = {
    [MOTE_CORE_OK] = {200, "ok"},
    [MOTE_CORE_NO_MEMORY] = {500, "internal"},
    [MOTE_CORE_NOT_FOUND] = {404, "not_found"},
    [MOTE_CORE_INVALID] = {400, "invalid"},
    [MOTE_CORE_STORE] = {500, "store"},
    [MOTE_CORE_FILES] = {500, "store_failed"},
    [MOTE_CORE_BAD_BUNDLE] = {400, "bad_bundle"},
    [MOTE_CORE_MALFORMED_MODULE] = {400, "malformed_module"},
    [MOTE_CORE_UNSUPPORTED_MODULE] = {400, "unsupported_module"},
    [MOTE_CORE_INVALID_MODULE] = {400, "invalid_module"},
    [MOTE_CORE_COMPILE_LIMIT] = {400, "compile_limit"},
    [MOTE_CORE_COMPILE_FAILED] = {500, "compile_failed"},
    [MOTE_CORE_LOAD_FAILED] = {500, "load_failed"},
    [MOTE_CORE_UNSUPPORTED_IMPORT] = {400, "unsupported_import"},
    [MOTE_CORE_INIT_FAILED] = {400, "init_failed"},
    [MOTE_CORE_INIT_HOST] = {500, "init_failed"},
    [MOTE_CORE_UNAVAILABLE] = {503, "cluster_unavailable"},
    [MOTE_CORE_TOO_LARGE] = {413, "record_too_large"},
    [MOTE_CORE_NS_RATE] = {429, "namespace_rate"},
    [MOTE_CORE_NS_CONCURRENCY] = {429, "namespace_concurrency"},
    [MOTE_CORE_CONCURRENCY_LIMIT] = {429, "concurrency_limit"},
    [MOTE_CORE_QUEUE_FULL] = {429, "queue_full"},
    [MOTE_CORE_FUNCTION_QUEUE_FULL] = {429, "function_queue_full"},
    [MOTE_CORE_QUEUE_TIMEOUT] = {429, "queue_timeout"},
    [MOTE_CORE_AUTH_MISSING] = {401, "unauthorized"},
    [MOTE_CORE_AUTH_MALFORMED] = {401, "unauthorized"},
    [MOTE_CORE_AUTH_UNKNOWN] = {401, "unauthorized"},
    [MOTE_CORE_AUTH_REJECTED] = {401, "unauthorized"},
    [MOTE_CORE_AUTH_ERROR] = {500, "auth_failed"},
    [MOTE_CORE_DISK_FULL] = {507, "disk_full"},
    /* nginx's "client closed request": nobody reads it, the records say it */
    [MOTE_CORE_CANCELLED] = {499, "cancelled"},
    [MOTE_CORE_INIT_MEMORY] = {507, "init_memory_full"},
};

/* A call's outcome class: the reply of a /faas call, and its error code. */
static const struct {
  unsigned http;
  const char *code;
} classes[CORE_CLASS_COUNT] = {
    [CORE_CLASS_OK] = {200, "exit"},     [CORE_CLASS_EXIT] = {502, "exit"},
    [CORE_CLASS_TRAP] = {502, "trap"},   [CORE_CLASS_TIMEOUT] = {504, "timeout"},
    [CORE_CLASS_LIMIT] = {502, "limit"}, [CORE_CLASS_LINK] = {502, "link"},
    [CORE_CLASS_CGI] = {502, "cgi"},     [CORE_CLASS_INTERNAL] = {500, "internal"},
    [CORE_CLASS_OVERLOAD] = {429, "overloaded"},
    [CORE_CLASS_CANCELLED] = {499, "cancelled"},
};

unsigned http_status_of(mote_core_status st) {
  return (unsigned)st < MOTE_CORE_STATUS_COUNT && table[st].http ? table[st].http : 500;
}

const char *http_code_of(mote_core_status st) {
  return (unsigned)st < MOTE_CORE_STATUS_COUNT && table[st].code ? table[st].code : "internal";
}

unsigned http_class_status(core_class cls) {
  return (unsigned)cls < CORE_CLASS_COUNT ? classes[cls].http : 500;
}

const char *http_class_code(core_class cls) {
  return (unsigned)cls < CORE_CLASS_COUNT ? classes[cls].code : "internal";
}

static http_dialect dialect_of(const http_req *r) {
  return r->route ? r->route->dialect : HTTP_DIALECT_MOTE;
}

static http_result reply_error_v(http_req *r, unsigned status, const char *code, const char *fmt,
                                 va_list ap) {
  char msg[1200], tid[33];
  vsnprintf(msg, sizeof msg, fmt, ap);
  if (dialect_of(r) == HTTP_DIALECT_OPENWHISK) {
    mote_store_activation_new_id(tid);
    code = tid;
  }
  json_t *o = json_object();
  json_object_set_new(o, "error", json_bytes((const uint8_t *)msg, strlen(msg)));
  json_object_set_new(o, "code", json_string(code ? code : "internal"));
  return http_reply_json(r, status, o);
}

http_result http_reply_starting(http_req *r, const char *ns, const char *name) {
  char msg[600], tid[33];
  const char *code = "starting";
  if (dialect_of(r) == HTTP_DIALECT_OPENWHISK) {
    snprintf(msg, sizeof msg, "The action %s/%s is being prepared after a restart of the "
             "server; retry after %u s.", ns, name, HTTP_STARTING_RETRY_S);
    mote_store_activation_new_id(tid);
    code = tid;
  } else {
    snprintf(msg, sizeof msg, "function \"%s/%s\" is being prepared after a restart of the "
             "server (it is stored, not yet ready): retry after %u s; /healthz says \"start\": "
             "\"ready\" once every function is", ns, name, HTTP_STARTING_RETRY_S);
  }
  http_response *resp = http_response_json(json_pack("{s:s, s:s, s:I}", "error", msg, "code",
                                                     code, "retry_after_s",
                                                     (json_int_t)HTTP_STARTING_RETRY_S));
  if (!resp) return HTTP_CLOSE;
  char buf[16];
  snprintf(buf, sizeof buf, "%u", HTTP_STARTING_RETRY_S);
  http_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
  return http_reply(r, 503, resp);
}

bool http_response_budget(http_req *r, http_result *res) {
  if (held_open(&r->h->budget)) {
    held_enter_open(&r->h->budget, &r->budget);
    return true;
  }
  char addr[64];
  request_remote(r, NULL, 0, addr, sizeof addr, NULL, 0);
  held_verdict v = held_enter(&r->h->budget, &r->budget, addr, HTTP_BUDGET_WAIT_MS);
  if (v == HELD_OK) return true;
  char msg[400], tid[33];
  const char *code = "response_budget";
  const char *who = v == HELD_CLIENT_FULL ? "this client (its share of" : "clients that read "
                                                                            "slowly (more than";
  if (dialect_of(r) == HTTP_DIALECT_OPENWHISK) {
    snprintf(msg, sizeof msg, "The server holds too many response bytes for %s the response "
             "budget); retry after %u s.", who, HTTP_BUDGET_RETRY_S);
    mote_store_activation_new_id(tid);
    code = tid;
  } else {
    snprintf(msg, sizeof msg, "the server holds too many response bytes for %s its "
             "--response-budget): retry after %u s", who, HTTP_BUDGET_RETRY_S);
  }
  r->call.code = "response_budget";
  http_response *resp = http_response_json(json_pack("{s:s, s:s, s:I}", "error", msg, "code",
                                                     code, "retry_after_s",
                                                     (json_int_t)HTTP_BUDGET_RETRY_S));
  if (!resp) return (*res = HTTP_CLOSE), false;
  char buf[16];
  snprintf(buf, sizeof buf, "%u", HTTP_BUDGET_RETRY_S);
  http_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, buf);
  *res = http_reply(r, 503, resp);
  return false;
}

http_result http_reply_error(http_req *r, unsigned status, const char *code, const char *fmt,
                             ...) {
  va_list ap;
  va_start(ap, fmt);
  http_result res = reply_error_v(r, status, code, fmt, ap);
  va_end(ap);
  return res;
}

http_result http_reply_core(http_req *r, const mote_core_error *err) {
  return http_reply_error(r, http_status_of(err->status), http_code_of(err->status), "%s",
                          err->message);
}

http_result http_reply_401(http_req *r, bool missing) {
  /* OpenWhisk's texts (akka-http's, which it uses): one for no credentials,
   * one for any others that fail; the code is a transaction id, as
   * OpenWhisk's is, in both dialects (wsk needs both fields). */
  const char *msg = missing ? "The resource requires authentication, which was not supplied "
                              "with the request"
                            : "The supplied authentication is invalid";
  char tid[33];
  mote_store_activation_new_id(tid);
  http_response *resp = http_response_json(json_pack("{s:s, s:s}", "error", msg, "code", tid));
  if (!resp) return HTTP_CLOSE;
  http_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                       "Basic realm=\"OpenWhisk secure realm\"");
  return http_reply(r, MHD_HTTP_UNAUTHORIZED, resp);
}

/* ---- the route table's own errors ------------------------------------------------ */

static void allow_text(unsigned methods, char *out, size_t cap) {
  static const struct {
    unsigned bit;
    const char *name;
  } order[] = {{HTTP_GET, "GET"}, {HTTP_PUT, "PUT"}, {HTTP_DELETE, "DELETE"}, {HTTP_POST, "POST"}};
  size_t n = 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof order / sizeof *order; i++)
    if (methods & order[i].bit) {
      int w = snprintf(out + n, cap - n, "%s%s", n ? ", " : "", order[i].name);
      if (w > 0 && (size_t)w < cap - n) n += (size_t)w;
    }
}

http_result status_method_not_allowed(http_req *r, unsigned methods) {
  char allow[64];
  allow_text(methods, allow, sizeof allow);
  if (dialect_of(r) == HTTP_DIALECT_OPENWHISK)
    return http_reply_error(r, 405, NULL, "HTTP method not allowed, supported methods: %s",
                            allow);
  char msg[160];
  snprintf(msg, sizeof msg, "method %s is not allowed here (allowed: %s)", r->method, allow);
  http_response *resp = http_response_json(
      json_pack("{s:s, s:s}", "error", msg, "code", "method_not_allowed"));
  if (!resp) return HTTP_CLOSE;
  http_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  return http_reply(r, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

http_result status_no_route(http_req *r, const char *url) {
  return http_reply_error(r, 404, "not_found",
                          "no route %s %s (see /v1/functions, /v1/activations, /faas/NAME, "
                          "/api/v1)",
                          r->method, url);
}

http_result status_bad_query(http_req *r) {
  if (dialect_of(r) == HTTP_DIALECT_OPENWHISK)
    return http_reply_error(r, 400, NULL, "The request has a malformed query: %s", r->query_err);
  return http_reply_error(r, 400, "bad_query", "%s", r->query_err);
}

http_result status_too_large(http_req *r, unsigned long long declared) {
  bool ow = dialect_of(r) == HTTP_DIALECT_OPENWHISK;
  if (declared && ow)
    return http_reply_error(r, 413, NULL, "The request content was malformed:\nrequest entity "
                            "of %llu bytes exceeds the allowed %zu bytes.", declared, r->limit);
  if (ow)
    return http_reply_error(r, 413, NULL, "The request content was malformed:\nrequest entity "
                            "exceeds the allowed %zu bytes.", r->limit);
  if (declared)
    return http_reply_error(r, 413, "body_too_large", "the request body of %llu bytes is larger "
                            "than the limit of %zu bytes", declared, r->limit);
  return http_reply_error(r, 413, "body_too_large",
                          "the request body is larger than the limit of %zu bytes", r->limit);
}

http_result status_forbidden_ns(http_req *r) {
  return http_reply_error(r, 403, "forbidden", "The supplied authentication is not authorized "
                          "to access this resource.");
}

http_result status_auth_failed(http_req *r) {
  if (dialect_of(r) == HTTP_DIALECT_OPENWHISK)
    return http_reply_error(r, 500, NULL, "The server could not check the credentials.");
  return http_reply_error(r, 500, "auth_failed",
                          "the server could not check the credentials (its log says why)");
}
