/*
 * ow_action: OpenWhisk actions without HTTP: a PUT body parsed and checked
 * (OpenWhisk's limits, ranges and messages), merged with the previous
 * version on an update, kept as meta text, and shown as OpenWhisk's action
 * record and summary. See openwhisk.h for what is kept where.
 *
 * Messages: OpenWhisk refuses a body it cannot read through its JSON
 * readers, whose messages reach the client prefixed by Akka's "The request
 * content was malformed:\n"; they are reproduced here (the entity classes
 * of OpenWhisk's core: Exec, ActionLimits, Parameters), so that a client
 * that matches on them sees the same text.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "openwhisk/openwhisk.h"

#define MALFORMED "The request content was malformed:\n"

void ow_limits_default(ow_limits *l) {
  l->timeout_ms = OW_TIMEOUT_DEFAULT;
  l->memory_mb = OW_MEMORY_DEFAULT;
  l->logs_mb = OW_LOGS_DEFAULT;
  l->concurrency = OW_CONCURRENCY_DEFAULT;
}

json_t *ow_limits_json(const ow_limits *l) {
  return json_pack("{s:I, s:I, s:I, s:I}", "timeout", (json_int_t)l->timeout_ms, "memory",
                   (json_int_t)l->memory_mb, "logs", (json_int_t)l->logs_mb, "concurrency",
                   (json_int_t)l->concurrency);
}

void ow_action_clear(ow_action *a) {
  free(a->main);
  json_decref(a->parameters);
  json_decref(a->annotations);
  memset(a, 0, sizeof *a);
}

void ow_action_put_free(ow_action_put *p) {
  free(p->main);
  free(p->code);
  core_bundle_free(&p->bundle);
  json_decref(p->parameters);
  json_decref(p->annotations);
  memset(p, 0, sizeof *p);
}

static int fail(int status, char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int status, char *msg, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
  return status;
}

/* A JSON value as text for a message, cut short. */
static void json_excerpt(const json_t *v, char *out, size_t cap) {
  char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  snprintf(out, cap, "%s", t ? t : "?");
  if (t && strlen(t) >= cap && cap > 4) memcpy(out + cap - 4, "...", 4);
  free(t);
}

/* ---- parameters and annotations: [{key, value}] ---------------------------- */

/* Index of `key` in a [{key,value}] array, or -1. */
static long kv_index(const json_t *arr, const char *key) {
  size_t i;
  json_t *e;
  json_array_foreach(arr, i, e) {
    const char *k = json_string_value(json_object_get(e, "key"));
    if (k && !strcmp(k, key)) return (long)i;
  }
  return -1;
}

/* Sets key to value (stolen) in place, or appends it. */
static void kv_set(json_t *arr, const char *key, json_t *value) {
  long i = kv_index(arr, key);
  json_t *e = json_pack("{s:s, s:o}", "key", key, "value", value);
  if (!e) return;
  if (i >= 0) json_array_set_new(arr, (size_t)i, e);
  else json_array_append_new(arr, e);
}

json_t *ow_annotation(const json_t *annotations, const char *key) {
  long i = annotations ? kv_index(annotations, key) : -1;
  return i < 0 ? NULL : json_object_get(json_array_get(annotations, (size_t)i), "value");
}

bool ow_annotation_truthy(const json_t *annotations, const char *key) {
  json_t *v = ow_annotation(annotations, key);
  if (!v) return false;
  switch (json_typeof(v)) {
    case JSON_TRUE: return true;
    case JSON_INTEGER: return json_integer_value(v) != 0;
    case JSON_REAL: return json_real_value(v) != 0;
    case JSON_STRING: return json_string_length(v) > 0;
    case JSON_OBJECT:
    case JSON_ARRAY: return true;
    default: return false;
  }
}

/* Reads a [{key, value}] array the way OpenWhisk's Parameters reader does:
 * each entry needs a string key and a value (init and encryption are
 * allowed and dropped); a key given twice keeps its last value. */
static int read_kv(const json_t *v, const char *field, json_t **out, char *msg, size_t cap) {
  char shown[200];
  *out = NULL;
  if (!json_is_array(v)) goto malformed;
  /* where each key is in arr: kv_set's scan per entry made a body of a
   * million keys cost 10^12 compares before its size was checked */
  json_t *arr = json_array(), *at = json_object();
  if (!arr || !at) {
    json_decref(arr);
    json_decref(at);
    return fail(500, msg, cap, "out of memory");
  }
  size_t i;
  json_t *e;
  json_array_foreach(v, i, e) {
    const char *k = json_string_value(json_object_get(e, "key"));
    json_t *val = json_object_get(e, "value");
    if (!json_is_object(e) || !k || !val) {
      json_decref(arr);
      json_decref(at);
      goto malformed;
    }
    json_t *pair = json_pack("{s:s, s:O}", "key", k, "value", val);
    json_t *where = json_object_get(at, k);
    bool ok = pair != NULL;
    if (ok && where) {
      ok = json_array_set_new(arr, (size_t)json_integer_value(where), pair) == 0;
    } else if (ok) {
      if (json_object_set_new(at, k, json_integer((json_int_t)json_array_size(arr))) != 0) {
        json_decref(pair);
        ok = false;
      } else {
        ok = json_array_append_new(arr, pair) == 0;
      }
    }
    if (!ok) {
      json_decref(arr);
      json_decref(at);
      return fail(500, msg, cap, "out of memory");
    }
  }
  json_decref(at);
  char *text = json_dumps(arr, JSON_COMPACT);
  size_t n = text ? strlen(text) : 0;
  free(text);
  if (n > OW_PARAMETERS_MAX) {
    json_decref(arr);
    return fail(413, msg, cap, "%s larger than allowed: %zu > %u bytes.", field, n,
                OW_PARAMETERS_MAX);
  }
  *out = arr;
  return 0;
malformed:
  json_excerpt(v, shown, sizeof shown);
  return fail(400, msg, cap, MALFORMED "%s malformed could not read directly: %s", field, shown);
}

/* ---- limits ---------------------------------------------------------------- */

/* A whole number from JSON, as OpenWhisk's limit readers take it. */
static int whole(const json_t *v, const char *what, long long *out, char *msg, size_t cap) {
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
    return 0;
  }
  if (json_is_real(v)) {
    double d = json_real_value(v);
    if (d != floor(d) || !isfinite(d))
      return fail(400, msg, cap, MALFORMED "%s limit must be whole number", what);
    *out = d > 9e18 ? (long long)9e18 : d < -9e18 ? (long long)-9e18 : (long long)d;
    return 0;
  }
  return fail(400, msg, cap, MALFORMED "%s limit malformed", what);
}

static int read_limits(const json_t *v, ow_action_put *p, char *msg, size_t cap) {
  if (json_is_null(v)) return 0;
  if (!json_is_object(v)) return fail(400, msg, cap, MALFORMED "Object expected in field 'limits'");
  long long n;
  int rc;
  json_t *f;
  if ((f = json_object_get(v, "timeout")) && !json_is_null(f)) {
    if ((rc = whole(f, "time", &n, msg, cap))) return rc;
    if (n < OW_TIMEOUT_MIN)
      return fail(400, msg, cap, MALFORMED "duration %lld milliseconds below allowed threshold "
                  "of %u milliseconds", n, OW_TIMEOUT_MIN);
    if (n > OW_TIMEOUT_MAX)
      return fail(400, msg, cap, MALFORMED "duration %lld milliseconds exceeds allowed "
                  "threshold of %u milliseconds", n, OW_TIMEOUT_MAX);
    p->has_timeout = true;
    p->limits.timeout_ms = (uint32_t)n;
  }
  /* Memory and logs: OpenWhisk prints its configured bounds in bytes. */
  if ((f = json_object_get(v, "memory")) && !json_is_null(f)) {
    if ((rc = whole(f, "memory", &n, msg, cap))) return rc;
    if (n < OW_MEMORY_MIN)
      return fail(400, msg, cap, MALFORMED "memory %lld MB below allowed threshold of %llu B", n,
                  (unsigned long long)OW_MEMORY_MIN << 20);
    if (n > OW_MEMORY_MAX)
      return fail(400, msg, cap, MALFORMED "memory %lld MB exceeds allowed threshold of %llu B",
                  n, (unsigned long long)OW_MEMORY_MAX << 20);
    p->has_memory = true;
    p->limits.memory_mb = (uint32_t)n;
  }
  if ((f = json_object_get(v, "logs")) && !json_is_null(f)) {
    if ((rc = whole(f, "log", &n, msg, cap))) return rc;
    if (n < (long long)OW_LOGS_MIN)
      return fail(400, msg, cap, MALFORMED "log size %lld MB below allowed threshold of %llu B",
                  n, (unsigned long long)OW_LOGS_MIN << 20);
    if (n > OW_LOGS_MAX)
      return fail(400, msg, cap, MALFORMED "log size %lld MB exceeds allowed threshold of %llu B",
                  n, (unsigned long long)OW_LOGS_MAX << 20);
    p->has_logs = true;
    p->limits.logs_mb = (uint32_t)n;
  }
  if ((f = json_object_get(v, "concurrency")) && !json_is_null(f)) {
    if ((rc = whole(f, "concurrency", &n, msg, cap))) return rc;
    if (n < OW_CONCURRENCY_MIN)
      return fail(400, msg, cap, MALFORMED "concurrency %lld below allowed threshold of %u", n,
                  OW_CONCURRENCY_MIN);
    if (n > OW_CONCURRENCY_MAX)
      return fail(400, msg, cap, MALFORMED "concurrency %lld exceeds allowed threshold of %u", n,
                  OW_CONCURRENCY_MAX);
    p->has_concurrency = true;
    p->limits.concurrency = (uint32_t)n;
  }
  return 0;
}

/* ---- semantic versions ------------------------------------------------------ */

static bool semver_parse(const char *s, unsigned long v[3]) {
  for (int i = 0; i < 3; i++) {
    if (!isdigit((unsigned char)*s)) return false;
    char *end;
    v[i] = strtoul(s, &end, 10);
    if (end - s > 9) return false;
    s = end;
    if (i < 2 && *s++ != '.') return false;
  }
  return *s == '\0';
}

/* ---- exec ------------------------------------------------------------------- */

static int read_exec(const json_t *v, ow_action_put *p, char *msg, size_t cap) {
  if (!json_is_object(v)) return fail(400, msg, cap, MALFORMED "JSON object expected");
  const char *kind = json_string_value(json_object_get(v, "kind"));
  if (!kind) return fail(400, msg, cap, MALFORMED "'kind' must be a string defined in 'exec'");
  /* OpenWhisk trims and lowercases the kind before looking it up. */
  while (isspace((unsigned char)*kind)) kind++;
  size_t klen = strlen(kind);
  while (klen && isspace((unsigned char)kind[klen - 1])) klen--;
  char k[64];
  snprintf(k, sizeof k, "%.*s", (int)(klen < sizeof k - 1 ? klen : sizeof k - 1), kind);
  for (char *c = k; *c; c++) *c = (char)tolower((unsigned char)*c);
  if (strcmp(k, OW_KIND) != 0 || klen >= sizeof k)
    return fail(400, msg, cap, MALFORMED "kind '%.*s' not in Set(%s)",
                (int)(klen > 200 ? 200 : klen), kind, OW_KIND);
  snprintf(p->kind, sizeof p->kind, "%s", k);

  json_t *m = json_object_get(v, "main");
  if (m && !json_is_null(m)) {
    if (!json_is_string(m))
      return fail(400, msg, cap, MALFORMED "if defined, 'main' be a string in 'exec' for '%s' "
                  "actions", OW_KIND);
    if (!(p->main = strdup(json_string_value(m)))) return fail(500, msg, cap, "out of memory");
  }

  json_t *code = json_object_get(v, "code");
  if (!json_is_string(code))
    return fail(400, msg, cap, MALFORMED "'code' must be a string defined in 'exec' for '%s' "
                "actions", OW_KIND);
  const char *b64 = json_string_value(code);
  size_t b64_len = json_string_length(code);
  if (b64_len > OW_CODE_MAX)
    return fail(413, msg, cap, "exec larger than allowed: %zu > %u bytes.", b64_len, OW_CODE_MAX);
  /* The code is base64 (the npm client encodes a Buffer, wsk a .zip);
   * line breaks and blanks, which some encoders insert, are skipped. */
  size_t max = b64_len / 4 * 3 + 3;
  p->code = malloc(max ? max : 1);
  if (!p->code) return fail(500, msg, cap, "out of memory");
  const char *end = NULL;
  if (sodium_base642bin(p->code, max, b64, b64_len, " \t\r\n", &p->code_len, &end,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != b64 + b64_len || p->code_len == 0)
    return fail(400, msg, cap, MALFORMED "'code' must be the base64 of a WebAssembly module or "
                "of a zip holding %s for '%s' actions", CORE_BUNDLE_MODULE, OW_KIND);
  switch (core_bundle_sniff(p->code, p->code_len)) {
    case CORE_BODY_WASM:
      p->code_kind = OW_CODE_MODULE;
      break;
    case CORE_BODY_ZIP: {
      p->code_kind = OW_CODE_ZIP;
      char why[600];
      if (!core_bundle_extract(p->code, p->code_len, CORE_BODY_ZIP, &p->bundle, why, sizeof why))
        return fail(400, msg, cap, MALFORMED "%s", why);
      break;
    }
    default:
      return fail(400, msg, cap, MALFORMED "'code' must be the base64 of a WebAssembly module "
                  "(starting with \\0asm) or of a zip (PK\\3\\4) holding %s for '%s' actions",
                  CORE_BUNDLE_MODULE, OW_KIND);
  }
  p->has_exec = true;
  return 0;
}

int ow_action_put_parse(const uint8_t *body, size_t len, ow_action_put *out, char *msg,
                        size_t cap) {
  memset(out, 0, sizeof *out);
  json_error_t jerr;
  json_t *root = json_loadb((const char *)body, len, 0, &jerr);
  int rc = 0;
  if (!root) {
    rc = fail(400, msg, cap, MALFORMED "%s", jerr.text);
    goto done;
  }
  if (!json_is_object(root)) {
    rc = fail(400, msg, cap, MALFORMED "Object expected");
    goto done;
  }
  json_t *f;
  if ((f = json_object_get(root, "exec")) && !json_is_null(f) &&
      (rc = read_exec(f, out, msg, cap)))
    goto done;
  if ((f = json_object_get(root, "parameters")) && !json_is_null(f) &&
      (rc = read_kv(f, "parameters", &out->parameters, msg, cap)))
    goto done;
  if ((f = json_object_get(root, "annotations")) && !json_is_null(f) &&
      (rc = read_kv(f, "annotations", &out->annotations, msg, cap)))
    goto done;
  if ((f = json_object_get(root, "limits")) && (rc = read_limits(f, out, msg, cap))) goto done;
  if ((f = json_object_get(root, "publish")) && !json_is_null(f)) {
    if (!json_is_boolean(f)) {
      char shown[100];
      json_excerpt(f, shown, sizeof shown);
      rc = fail(400, msg, cap, MALFORMED "Expected Boolean as JsBoolean, but got %s", shown);
      goto done;
    }
    out->has_publish = true;
    out->publish = json_is_true(f);
  }
  if ((f = json_object_get(root, "version")) && !json_is_null(f)) {
    unsigned long v[3];
    const char *s = json_string_value(f);
    if (!s || !semver_parse(s, v)) {
      rc = fail(400, msg, cap, MALFORMED "bad semantic version");
      goto done;
    }
    out->has_version = true;
    snprintf(out->semver, sizeof out->semver, "%lu.%lu.%lu", v[0], v[1], v[2]);
  }
done:
  json_decref(root);
  if (rc) ow_action_put_free(out);
  return rc;
}

/* ---- create and update ------------------------------------------------------ */

int ow_action_make(const ow_action_put *p, const ow_action *old, ow_action *out, char *msg,
                   size_t cap) {
  memset(out, 0, sizeof *out);
  if (!old && !p->has_exec) return fail(400, msg, cap, "exec undefined");
  if (p->has_exec) {
    snprintf(out->kind, sizeof out->kind, "%s", p->kind);
    out->code = p->code_kind;
    out->main = p->main ? strdup(p->main) : NULL;
  } else {
    snprintf(out->kind, sizeof out->kind, "%s", old->kind);
    out->code = old->code;
    snprintf(out->zip_hash, sizeof out->zip_hash, "%s", old->zip_hash);
    out->main = old->main ? strdup(old->main) : NULL;
  }
  if (old) out->limits = old->limits;
  else ow_limits_default(&out->limits);
  if (p->has_timeout) out->limits.timeout_ms = p->limits.timeout_ms;
  if (p->has_memory) out->limits.memory_mb = p->limits.memory_mb;
  if (p->has_logs) out->limits.logs_mb = p->limits.logs_mb;
  if (p->has_concurrency) out->limits.concurrency = p->limits.concurrency;

  const json_t *params = p->parameters ? p->parameters : old ? old->parameters : NULL;
  const json_t *annots = p->annotations ? p->annotations : old ? old->annotations : NULL;
  out->parameters = params ? json_deep_copy(params) : json_array();
  out->annotations = annots ? json_deep_copy(annots) : json_array();
  if (!out->parameters || !out->annotations) {
    ow_action_clear(out);
    return fail(500, msg, cap, "out of memory");
  }
  /* OpenWhisk adds the kind as annotation "exec", for clients that list
   * actions without fetching each. */
  kv_set(out->annotations, "exec", json_string(out->kind));

  out->publish = p->has_publish ? p->publish : old ? old->publish : false;
  if (p->has_version) {
    snprintf(out->semver, sizeof out->semver, "%s", p->semver);
  } else if (old) {
    unsigned long v[3] = {0, 0, 0};
    if (!semver_parse(old->semver, v)) v[0] = v[1] = v[2] = 0;
    snprintf(out->semver, sizeof out->semver, "%lu.%lu.%lu", v[0], v[1], v[2] + 1);
  } else {
    snprintf(out->semver, sizeof out->semver, "0.0.1");
  }
  return 0;
}

/* ---- meta -------------------------------------------------------------------- */

char *ow_action_meta_dump(const ow_action *a) {
  json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:b, s:s, s:I, s:I}", "kind", a->kind, "code",
                        a->code == OW_CODE_ZIP ? "zip" : "module", "parameters",
                        a->parameters ? json_incref(a->parameters) : json_array(), "annotations",
                        a->annotations ? json_incref(a->annotations) : json_array(), "publish", a->publish,
                        "semver", a->semver, "logs", (json_int_t)a->limits.logs_mb,
                        "concurrency", (json_int_t)a->limits.concurrency);
  if (!o) return NULL;
  if (a->main) json_object_set_new(o, "main", json_string(a->main));
  if (a->zip_hash[0]) json_object_set_new(o, "zip", json_string(a->zip_hash));
  char *text = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return text;
}

static uint32_t meta_uint(const json_t *o, const char *key, uint32_t dflt, uint32_t max) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max) return dflt;
  return (uint32_t)json_integer_value(v);
}

bool ow_action_from_meta(const char *meta, const mote_function_settings *st, ow_action *out) {
  memset(out, 0, sizeof *out);
  ow_limits_default(&out->limits);
  /* The limits the runtime enforces; a /v1 version's zeros are the
   * server's defaults. */
  out->limits.timeout_ms = st && st->timeout_ms ? st->timeout_ms : CORE_DEFAULT_TIMEOUT_MS;
  out->limits.memory_mb = st && st->memory_mib ? st->memory_mib : CORE_DEFAULT_MEMORY_MIB;
  snprintf(out->kind, sizeof out->kind, "%s", OW_KIND);
  snprintf(out->semver, sizeof out->semver, "0.0.1");
  json_t *o = NULL;
  if (meta) {
    o = json_loads(meta, 0, NULL);
    if (!json_is_object(o)) {
      json_decref(o);
      return false;
    }
    const char *s;
    if ((s = json_string_value(json_object_get(o, "kind"))))
      snprintf(out->kind, sizeof out->kind, "%s", s);
    if ((s = json_string_value(json_object_get(o, "semver"))))
      snprintf(out->semver, sizeof out->semver, "%s", s);
    if ((s = json_string_value(json_object_get(o, "code"))) && !strcmp(s, "zip"))
      out->code = OW_CODE_ZIP;
    if ((s = json_string_value(json_object_get(o, "main")))) out->main = strdup(s);
    if ((s = json_string_value(json_object_get(o, "zip"))) && strlen(s) < sizeof out->zip_hash)
      snprintf(out->zip_hash, sizeof out->zip_hash, "%s", s);
    out->publish = json_is_true(json_object_get(o, "publish"));
    out->limits.logs_mb = meta_uint(o, "logs", OW_LOGS_DEFAULT, OW_LOGS_MAX);
    out->limits.concurrency = meta_uint(o, "concurrency", OW_CONCURRENCY_DEFAULT,
                                        OW_CONCURRENCY_MAX);
    json_t *p = json_object_get(o, "parameters"), *a = json_object_get(o, "annotations");
    if (json_is_array(p)) out->parameters = json_incref(p);
    if (json_is_array(a)) out->annotations = json_incref(a);
  }
  if (!out->parameters) out->parameters = json_array();
  if (!out->annotations) {
    out->annotations = json_array();
    if (out->annotations) kv_set(out->annotations, "exec", json_string(out->kind));
  }
  json_decref(o);
  if (!out->parameters || !out->annotations) {
    ow_action_clear(out);
    return false;
  }
  return true;
}

void ow_action_settings(const ow_action *a, const mote_function_settings *base,
                        mote_function_settings *out) {
  if (base) *out = *base;
  else memset(out, 0, sizeof *out);
  out->timeout_ms = a->limits.timeout_ms;
  out->memory_mib = a->limits.memory_mb;
}

/* ---- records ----------------------------------------------------------------- */

json_t *ow_action_json(const ow_action *a, const char *ns, const char *name, int64_t updated_ms,
                       const char *code_b64) {
  json_t *exec = json_pack("{s:s}", "kind", a->kind);
  if (!exec) return NULL;
  if (code_b64) json_object_set_new(exec, "code", json_string(code_b64));
  json_object_set_new(exec, "binary", json_true());
  if (a->main) json_object_set_new(exec, "main", json_string(a->main));
  /* The order of OpenWhisk's own records. */
  return json_pack("{s:s, s:s, s:o, s:O, s:o, s:s, s:b, s:O, s:I}", "namespace", ns, "name", name,
                   "exec", exec, "parameters", a->parameters, "limits", ow_limits_json(&a->limits),
                   "version", a->semver, "publish", a->publish, "annotations", a->annotations,
                   "updated", (json_int_t)updated_ms);
}

json_t *ow_action_summary_json(const ow_action *a, const char *ns, const char *name,
                               int64_t updated_ms) {
  return json_pack("{s:s, s:s, s:s, s:b, s:O, s:o, s:{s:b}, s:I}", "namespace", ns, "name", name,
                   "version", a->semver, "publish", a->publish, "annotations", a->annotations,
                   "limits", ow_limits_json(&a->limits), "exec", "binary", 1, "updated",
                   (json_int_t)updated_ms);
}
