/*
 * ow_web: OpenWhisk's web actions without HTTP: an HTTP request made into
 * an action's input, and an action's result made into an HTTP response, as
 * OpenWhisk's controller does it (its WebActions).
 *
 * Input: the query's parameters, then the body's (a JSON object, or a
 * form's fields) override them, and __ow_method, __ow_headers and __ow_path
 * describe the request; a body that is neither goes whole into __ow_body
 * (base64 when its type is binary). An action annotated raw-http gets the
 * query string as __ow_query and the body as __ow_body instead. A request
 * may not set a __ow_ name itself (400).
 *
 * Output, by the extension of the URL's last segment (.http when it has
 * none): .json the result; .html, .svg and .text one field of it (body,
 * else html/svg/text); .http a response described by the result:
 * {statusCode, headers, body}, where a body of a binary Content-Type is
 * base64 and decoded here.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "base/utf8.h"
#include "openwhisk/openwhisk.h"

static const struct {
  const char *ext;
  ow_web_ext kind;
} exts[] = {
    {".http", OW_WEB_HTTP}, {".json", OW_WEB_JSON}, {".html", OW_WEB_HTML},
    {".svg", OW_WEB_SVG},   {".text", OW_WEB_TEXT},
};

bool ow_web_split(const char *segment, char *name, size_t cap, ow_web_ext *ext) {
  size_t n = strlen(segment);
  *ext = OW_WEB_HTTP;
  for (size_t i = 0; i < sizeof exts / sizeof *exts; i++) {
    size_t e = strlen(exts[i].ext);
    if (n >= e && !strcmp(segment + n - e, exts[i].ext)) {
      *ext = exts[i].kind;
      n -= e;
      break;
    }
  }
  if (n + 1 > cap) return false;
  memcpy(name, segment, n);
  name[n] = '\0';
  return true;
}

/* ---- media types ------------------------------------------------------------ */

/* The media type of a Content-Type value, lowercase, without parameters. */
static void media_type(const char *ct, char *out, size_t cap) {
  size_t o = 0;
  while (ct && isspace((unsigned char)*ct)) ct++;
  for (; ct && *ct && *ct != ';' && !isspace((unsigned char)*ct) && o + 1 < cap; ct++)
    out[o++] = (char)tolower((unsigned char)*ct);
  out[o] = '\0';
}

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}

static bool json_family(const char *mt) {
  return !strcmp(mt, "application/json") || ends_with(mt, "+json");
}

/* Whether a type's content is bytes rather than text (Akka's notion, which
 * OpenWhisk uses): text/..., JSON, XML, JavaScript, forms and SVG are text. */
static bool binary_type(const char *mt) {
  if (!strncmp(mt, "text/", 5)) return false;
  static const char *const text[] = {"application/json", "application/javascript",
                                     "application/xml", "application/x-www-form-urlencoded",
                                     "image/svg+xml", "application/xhtml+xml"};
  for (size_t i = 0; i < sizeof text / sizeof *text; i++)
    if (!strcmp(mt, text[i])) return false;
  return !ends_with(mt, "+json") && !ends_with(mt, "+xml");
}

/* ---- input ------------------------------------------------------------------- */

static json_t *base64_string(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
  char *b = malloc(cap);
  if (!b) return NULL;
  sodium_bin2base64(b, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
  json_t *s = json_string(b);
  free(b);
  return s;
}

/* The body as __ow_body takes it: base64 for a binary type (and, as
 * OpenWhisk still does for old actions, for application/json), else text. */
static json_t *opaque_body(const char *mt, const uint8_t *p, size_t n) {
  if (!mt[0] || binary_type(mt) || !strcmp(mt, "application/json")) return base64_string(p, n);
  return json_bytes(p, n);
}

static bool reserved(const char *key, const json_t *final_params) {
  static const char *const names[] = {"__ow_method", "__ow_headers", "__ow_path",
                                      "__ow_user",   "__ow_query",   "__ow_body"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (!strcmp(key, names[i])) return true;
  size_t i;
  json_t *e;
  json_array_foreach(final_params, i, e) {
    const char *k = json_string_value(json_object_get(e, "key"));
    json_t *v = json_object_get(e, "value");
    if (k && v && !json_is_null(v) && !strcmp(k, key)) return true;
  }
  return false;
}

#define NOT_ALLOWED "Request defines parameters that are not allowed (e.g., reserved properties)."

int ow_web_input(const ow_web_request *rq, bool raw, const json_t *final_params, json_t **out,
                 char *msg, size_t cap) {
  *out = NULL;
  char mt[128];
  media_type(rq->content_type, mt, sizeof mt);
  json_t *o = json_object(), *headers = json_object(), *body = NULL;
  int rc = 500;
  snprintf(msg, cap, "out of memory");
  if (!o || !headers) goto done;

  char method[16];
  size_t m = 0;
  for (; rq->method[m] && m + 1 < sizeof method; m++)
    method[m] = (char)tolower((unsigned char)rq->method[m]);
  method[m] = '\0';
  for (size_t i = 0; i < rq->nheaders; i++) {
    char *lower = strdup(rq->headers[i].key);
    if (!lower) goto done;
    for (char *c = lower; *c; c++) *c = (char)tolower((unsigned char)*c);
    json_object_set_new(headers, lower, json_string(rq->headers[i].value));
    free(lower);
  }
  json_object_set_new(o, "__ow_method", json_string(method));
  json_object_set_new(o, "__ow_headers", headers);
  headers = NULL;
  json_object_set_new(o, "__ow_path", json_string(rq->path ? rq->path : ""));

  if (raw) {
    json_object_set_new(o, "__ow_query", json_string(rq->query ? rq->query : ""));
    json_object_set_new(o, "__ow_body", rq->body_len ? opaque_body(mt, rq->body, rq->body_len)
                                                     : json_string(""));
    rc = 0;
    goto done;
  }

  /* The body: a JSON object or a form (their fields are parameters), or
   * anything else, which goes whole into __ow_body. */
  bool fields = false;
  if (rq->body_len && json_family(mt)) {
    json_error_t jerr;
    body = json_loadb((const char *)rq->body, rq->body_len, JSON_DECODE_ANY, &jerr);
    if (!body) {
      rc = 400;
      snprintf(msg, cap, "The request content was malformed:\n%s", jerr.text);
      goto done;
    }
    fields = json_is_object(body);
    if (!fields) {
      body = json_pack("{s:o}", "__ow_body", body);
      if (!body) goto done;
    }
  } else if (rq->body_len && !strcmp(mt, "application/x-www-form-urlencoded")) {
    char *text = utf8_dup(rq->body, rq->body_len), why[160];
    http_param *f = NULL;
    size_t nf = 0;
    if (!text) goto done;
    bool ok = http_query_parse(text, &f, &nf, why, sizeof why);
    free(text);
    if (!ok) {
      rc = 400;
      snprintf(msg, cap, "The request content was malformed:\n%s", why);
      goto done;
    }
    body = json_object();
    for (size_t i = 0; body && i < nf; i++)
      json_object_set_new(body, f[i].key, json_string(f[i].value));
    http_query_free(f, nf);
    if (!body) goto done;
    fields = true;
  } else if (rq->body_len) {
    body = json_pack("{s:o}", "__ow_body", opaque_body(mt, rq->body, rq->body_len));
    if (!body) goto done;
  }

  /* Neither the query nor the body's fields may set a reserved name. */
  for (size_t i = 0; i < rq->nparams; i++)
    if (reserved(rq->params[i].key, final_params)) goto refused;
  const char *key;
  json_t *v;
  if (fields) json_object_foreach(body, key, v) if (reserved(key, final_params)) goto refused;

  for (size_t i = 0; i < rq->nparams; i++)
    json_object_set_new(o, rq->params[i].key, json_string(rq->params[i].value));
  if (body) json_object_update(o, body);
  rc = 0;
  goto done;
refused:
  rc = 400;
  snprintf(msg, cap, NOT_ALLOWED);
done:
  json_decref(body);
  json_decref(headers);
  if (rc) json_decref(o);
  else *out = o;
  return rc;
}

/* ---- output -------------------------------------------------------------------- */

void ow_web_response_free(ow_web_response *r) {
  free(r->content_type);
  for (size_t i = 0; i < r->nheaders; i++) free(r->headers[i]);
  free(r->headers);
  free(r->body);
  memset(r, 0, sizeof *r);
}

static int refuse(ow_web_response *out, unsigned status, char *msg, size_t cap, const char *m) {
  ow_web_response_free(out);
  snprintf(msg, cap, "%s", m);
  return (int)status;
}

static bool set_body(ow_web_response *out, const char *ct, const void *p, size_t n) {
  out->content_type = strdup(ct);
  out->body = malloc(n ? n : 1);
  if (!out->content_type || !out->body) return false;
  memcpy(out->body, p, n);
  out->len = n;
  return true;
}

static bool set_json_body(ow_web_response *out, const char *ct, const json_t *v, size_t flags) {
  char *t = json_dumps(v, flags | JSON_ENCODE_ANY);
  bool ok = t && set_body(out, ct, t, strlen(t));
  free(t);
  return ok;
}

/* Header values as OpenWhisk takes them: strings, booleans, numbers, and
 * arrays of these (one header each). A name that is not a token, a value
 * with a control byte (CR, LF, NUL: a header of its own smuggled in), or more
 * headers than a reply's header block holds (HTTP_GUEST_HEADER_LINES and
 * _HEADERS, as for CGI) make the response invalid. *bytes counts the block. */
static bool add_header(ow_web_response *out, const char *name, const json_t *v, size_t *bytes) {
  /* the server's own (framing, X-Mote-*, the activation's id) are dropped,
   * as CGI's are: not a second x-openwhisk-activation-id ahead of ours */
  if (http_header_platform_owned(name) || !strcasecmp(name, "x-openwhisk-activation-id"))
    return true;
  if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) if (!add_header(out, name, e, bytes)) return false;
    return true;
  }
  char *text = NULL;
  if (json_is_string(v)) {
    if (strlen(json_string_value(v)) != json_string_length(v)) return false; /* a NUL */
    text = strdup(json_string_value(v));
  } else if (json_is_boolean(v) || json_is_number(v)) {
    text = json_dumps(v, JSON_ENCODE_ANY);
  } else {
    return false;
  }
  if (text && !http_header_value_ok(text)) {
    free(text);
    return false;
  }
  char *line = NULL;
  if (!text || asprintf(&line, "%s: %s", name, text) < 0) line = NULL;
  free(text);
  if (line) *bytes += strlen(line) + 2;
  if (line && (out->nheaders >= HTTP_GUEST_HEADER_LINES || *bytes > HTTP_GUEST_HEADERS_MAX)) {
    free(line);
    return false;
  }
  char **grown = line ? realloc(out->headers, (out->nheaders + 1) * sizeof *grown) : NULL;
  if (!grown) {
    free(line);
    return false;
  }
  out->headers = grown;
  out->headers[out->nheaders++] = line;
  return true;
}

/* OpenWhisk's test for base64 text: padded, a multiple of 4 long. */
static bool looks_base64(const char *s) {
  size_t n = strlen(s);
  if (!n || n % 4) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool pad = c == '=' && (i >= n - 2) && (i == n - 1 || s[n - 1] == '=');
    if (!(isalnum((unsigned char)c) || c == '+' || c == '/' || pad)) return false;
  }
  return true;
}

#define INVALID_HTTP "Response is not valid 'message/http'."
#define CT_MISMATCH "Response type in header did not match generated content type."

static int respond_http(const json_t *r, ow_web_response *out, char *msg, size_t cap) {
  if (!json_is_object(r)) return refuse(out, 400, msg, cap, INVALID_HTTP);
  const char *ct = NULL;
  json_t *h = json_object_get(r, "headers");
  if (h && !json_is_null(h)) {
    if (!json_is_object(h)) return refuse(out, 400, msg, cap, INVALID_HTTP);
    const char *k;
    json_t *v;
    size_t bytes = 0;
    json_object_foreach(h, k, v) {
      if (!http_header_name_ok(k, strlen(k))) return refuse(out, 400, msg, cap, INVALID_HTTP);
      if (!strcasecmp(k, "content-type")) {
        if (!json_is_string(v) || !http_header_value_ok(json_string_value(v)) ||
            strlen(json_string_value(v)) != json_string_length(v) ||
            json_string_length(v) > 1024)
          return refuse(out, 400, msg, cap, INVALID_HTTP);
        ct = json_string_value(v);
        continue;
      }
      if (!add_header(out, k, v, &bytes)) return refuse(out, 400, msg, cap, INVALID_HTTP);
    }
  }
  long code = 0;
  json_t *sc = json_object_get(r, "statusCode");
  if (sc) {
    if (json_is_integer(sc)) {
      code = (long)json_integer_value(sc);
    } else if (json_is_real(sc)) {
      /* In range before the conversion: a double past long's range (1e300)
       * made it undefined behaviour (found by fuzz_web_input). */
      double d = json_real_value(sc);
      code = d >= 200 && d <= 599 && d == (double)(long)d ? (long)d : -1;
    } else if (json_is_string(sc)) {
      char *end;
      code = strtol(json_string_value(sc), &end, 10);
      if (end == json_string_value(sc) || *end) code = -1;
    } else {
      code = -1;
    }
    /* a final status: a 1xx is interim (the client would wait for another) */
    if (code < 200 || code > 599) return refuse(out, 400, msg, cap, INVALID_HTTP);
  }
  json_t *body = json_object_get(r, "body");
  char mt[128];
  media_type(ct, mt, sizeof mt);
  if (!body || json_is_null(body) || (json_is_string(body) && !json_string_length(body))) {
    out->status = code ? (unsigned)code : 204;
    return 0; /* no body, and so no Content-Type */
  }
  out->status = code ? (unsigned)code : 200;
  if (!json_is_string(body)) {
    if (ct && !json_family(mt)) return refuse(out, 400, msg, cap, CT_MISMATCH);
    bool plain = !ct || !strcmp(mt, "application/json");
    if (!set_json_body(out, plain ? "application/json" : ct, body,
                       plain ? JSON_COMPACT : JSON_INDENT(2)))
      return refuse(out, 500, msg, cap, "out of memory");
    return 0;
  }
  const char *s = json_string_value(body);
  size_t n = json_string_length(body);
  if (!ct) {
    ct = "text/html";
    media_type(ct, mt, sizeof mt);
  }
  if (binary_type(mt) || (json_family(mt) && looks_base64(s))) {
    uint8_t *bin = malloc(n / 4 * 3 + 3);
    size_t blen = 0;
    const char *end = NULL;
    if (!bin) return refuse(out, 500, msg, cap, "out of memory");
    if (sodium_base642bin(bin, n / 4 * 3 + 3, s, n, " \r\n", &blen, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + n) {
      free(bin);
      return refuse(out, 400, msg, cap, CT_MISMATCH);
    }
    bool ok = set_body(out, ct, bin, blen);
    free(bin);
    if (!ok) return refuse(out, 500, msg, cap, "out of memory");
    return 0;
  }
  /* Text: in UTF-8, said so when the type does not say a charset. */
  char full[300];
  snprintf(full, sizeof full, "%s%s", ct, strcasestr(ct, "charset") ? "" : "; charset=UTF-8");
  if (!set_body(out, full, s, n)) return refuse(out, 500, msg, cap, "out of memory");
  return 0;
}

/* body, else the named field, of an object; a non-object itself. */
static const json_t *field(const json_t *r, const char *name) {
  if (!json_is_object(r)) return r;
  const json_t *v = json_object_get(r, "body");
  return v ? v : json_object_get(r, name);
}

int ow_web_respond(const ow_outcome *o, ow_web_ext ext, ow_web_response *out, char *msg,
                   size_t cap) {
  memset(out, 0, sizeof *out);
  const json_t *r = o->result;
  if (o->status == OW_STATUS_APPLICATION_ERROR) {
    r = json_object_get(o->result, "error");
    if (!r) return refuse(out, 404, msg, cap, "Response does not include requested property.");
  } else if (o->status != OW_STATUS_SUCCESS) {
    return refuse(out, 400, msg, cap, "There was an error processing your request.");
  }
  out->status = 200;
  switch (ext) {
    case OW_WEB_HTTP:
      return respond_http(r, out, msg, cap);
    case OW_WEB_JSON:
      if (!json_is_object(r) && !json_is_array(r))
        return refuse(out, 400, msg, cap, "Response is not valid 'application/json'.");
      if (!set_json_body(out, "application/json", r, JSON_COMPACT))
        return refuse(out, 500, msg, cap, "out of memory");
      return 0;
    case OW_WEB_HTML:
    case OW_WEB_SVG: {
      bool html = ext == OW_WEB_HTML;
      const json_t *v = field(r, html ? "html" : "svg");
      if (!json_is_string(v))
        return refuse(out, 400, msg, cap, html ? "Response is not valid 'text/html'."
                                               : "Response is not valid 'image/svg+xml'.");
      if (!set_body(out, html ? "text/html; charset=UTF-8" : "image/svg+xml",
                    json_string_value(v), json_string_length(v)))
        return refuse(out, 500, msg, cap, "out of memory");
      return 0;
    }
    case OW_WEB_TEXT: {
      const json_t *v = field(r, "text");
      if (!v) return refuse(out, 404, msg, cap, "Response does not include requested property.");
      bool ok = json_is_string(v)
                    ? set_body(out, "text/plain; charset=UTF-8", json_string_value(v),
                               json_string_length(v))
                    : set_json_body(out, "text/plain; charset=UTF-8", v,
                                    json_is_object(v) || json_is_array(v) ? JSON_INDENT(2) : 0);
      if (!ok) return refuse(out, 500, msg, cap, "out of memory");
      return 0;
    }
  }
  return refuse(out, 500, msg, cap, "unknown extension");
}
