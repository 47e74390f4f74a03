/*
 * libFuzzer target for OpenWhisk's web actions (src/openwhisk/ow_web.c):
 * what a client sends (method, headers, path, query, Content-Type, body) made
 * into an action's input, and what the guest answers (its result, any JSON)
 * made into an HTTP response for each extension. The input is split at the
 * first bytes 0x00 into: method, content type, path, query, a header list
 * ("name\x01value\x02..."), the result's JSON, and the rest is the body. A
 * crash, a sanitizer report or a leak is a bug; so is an input that is not
 * an object, or a response whose header lines break the reply's rules (a
 * token name, a value without control bytes, at most
 * HTTP_GUEST_HEADER_LINES of them).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/http.h"
#include "openwhisk/openwhisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next part of the input, up to a 0x00 (NUL-terminated copy). */
static char *part(const uint8_t **p, const uint8_t *end) {
  const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
  size_t n = z ? (size_t)(z - *p) : (size_t)(end - *p);
  char *s = malloc(n + 1);
  if (!s) abort();
  memcpy(s, *p, n);
  s[n] = '\0';
  *p = z ? z + 1 : end;
  return s;
}

static void check_response(const ow_web_response *w) {
  if (w->status < 100 || w->status > 599) abort();
  if (w->nheaders > HTTP_GUEST_HEADER_LINES) abort();
  for (size_t i = 0; i < w->nheaders; i++) {
    const char *colon = strchr(w->headers[i], ':');
    if (!colon || !http_header_name_ok(w->headers[i], (size_t)(colon - w->headers[i]))) abort();
    if (!http_header_value_ok(colon + 1)) abort();
  }
  if (w->content_type && !http_header_value_ok(w->content_type)) abort();
  if (w->len && !w->body) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *p = data, *end = data + size;
  char *method = part(&p, end), *ctype = part(&p, end), *path = part(&p, end);
  char *query = part(&p, end), *hdrs = part(&p, end), *result = part(&p, end);
  /* headers: name \x01 value \x02 ... */
  ow_kv headers[32];
  size_t nh = 0;
  for (char *h = hdrs; *h && nh < 32;) {
    char *next = strchr(h, '\x02');
    if (next) *next = '\0';
    char *v = strchr(h, '\x01');
    if (v) *v++ = '\0';
    headers[nh++] = (ow_kv){h, v ? v : ""};
    if (!next) break;
    h = next + 1;
  }
  http_param *ps = NULL;
  size_t np = 0;
  char msg[300];
  ow_kv params[HTTP_MAX_QUERY_PARAMS];
  if (!http_query_parse(query, &ps, &np, msg, sizeof msg)) np = 0;
  for (size_t i = 0; i < np; i++) params[i] = (ow_kv){ps[i].key, ps[i].value};
  ow_web_request rq = {.method = method, .headers = headers, .nheaders = nh, .path = path,
                       .query = query, .params = params, .nparams = np,
                       .content_type = ctype[0] ? ctype : NULL, .body = p,
                       .body_len = (size_t)(end - p)};
  json_t *final = json_pack("[{s:s, s:i}]", "key", "fixed", "value", 1);
  for (int raw = 0; raw < 2; raw++) {
    json_t *in = NULL;
    int rc = ow_web_input(&rq, raw, raw ? NULL : final, &in, msg, sizeof msg);
    if (rc == 0 && !json_is_object(in)) abort();
    if (rc != 0 && (in || !msg[0])) abort();
    json_decref(in);
  }
  json_decref(final);
  http_query_free(ps, np);

  /* The guest's side: its result as each extension makes it a response. */
  json_t *res = json_loads(result, JSON_DECODE_ANY, NULL);
  if (res && json_is_object(res)) {
    for (int st = OW_STATUS_SUCCESS; st <= OW_STATUS_DEVELOPER_ERROR; st++)
      for (int ext = OW_WEB_HTTP; ext <= OW_WEB_TEXT; ext++) {
        ow_outcome o = {.status = (ow_status)st, .result = res, .logs = NULL};
        ow_web_response w;
        if (ow_web_respond(&o, (ow_web_ext)ext, &w, msg, sizeof msg) == 0) check_response(&w);
        ow_web_response_free(&w);
      }
  }
  json_decref(res);
  free(method);
  free(ctype);
  free(path);
  free(query);
  free(hdrs);
  free(result);
  return 0;
}
