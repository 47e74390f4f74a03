/*
 * openwhisk: OpenWhisk's REST API (/api/v1) over the core: its model (what
 * an action, an activation and a web action are; pure, tested without
 * HTTP) and its routes, registered in http's route table (ow_add_routes).
 * The routes' shared pieces are in ow_internal.h.
 *
 *   ow_action.c      an action PUT body: parsed, checked with OpenWhisk's
 *                    ranges and messages, merged with the previous version;
 *                    the action record and its summary; how an action's
 *                    OpenWhisk fields are kept (mote_function_version.meta)
 *   ow_activation.c  a run's outcome read as OpenWhisk's native (blackbox)
 *                    action convention; the activation record, its summary,
 *                    and what mote_activation.meta keeps
 *   ow_web.c         web actions: the action's input from an HTTP request,
 *                    and the HTTP response from its result
 *
 * How an action is kept. A version of a function deployed through /api/v1
 * carries in mote_function_version.meta a JSON object (OW_META_* below):
 *
 *   {"kind":"wasm:0.1", "code":"module"|"zip", "zip":"<blob hash>" (a zip's),
 *    "main":"..." (when given),
 *    "parameters":[{key,value}], "annotations":[{key,value}],
 *    "publish":false, "semver":"0.0.1", "logs":10, "concurrency":1}
 *
 * and its timeout and memory limits in mote_function_settings (timeout_ms,
 * memory_mib): the limits the runtime enforces live where /v1 and /faas
 * read them. A function deployed through /v1 has no meta: it is shown to
 * OpenWhisk clients with the defaults (ow_action_from_version).
 *
 * An activation made through /api/v1 keeps in mote_activation.meta its
 * whole OpenWhisk record (ow_activation_json's output, as JSON text): the
 * record is made once, when the run ends, and read back as it was.
 *
 * Errors: functions that can refuse their input return 0 or the HTTP status
 * to answer (400, 413, ...) with OpenWhisk's message in msg; the caller adds
 * the transaction id ("code").
 */
#ifndef MOTE_OPENWHISK_H
#define MOTE_OPENWHISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/core.h"
#include "http/http.h"

/* The one kind mote runs: a WebAssembly module, or a zip holding main.wasm
 * and the function's files, as base64. */
#define OW_KIND "wasm:0.1"

/* OpenWhisk's action limits: its default ranges. The log limit is in MB as
 * in OpenWhisk; concurrency is kept and shown, not enforced (mote runs every
 * call in an instance of its own). */
#define OW_TIMEOUT_MIN 100u
#define OW_TIMEOUT_MAX 300000u
#define OW_TIMEOUT_DEFAULT 60000u
#define OW_MEMORY_MIN 128u
#define OW_MEMORY_MAX 512u
#define OW_MEMORY_DEFAULT 256u
#define OW_LOGS_MIN 0u
#define OW_LOGS_MAX 10u
#define OW_LOGS_DEFAULT 10u
#define OW_CONCURRENCY_MIN 1u
#define OW_CONCURRENCY_MAX 500u
#define OW_CONCURRENCY_DEFAULT 1u
/* exec.code: OpenWhisk's default exec size limit (48 MB), counted on the
 * base64 text as OpenWhisk counts it. */
#define OW_CODE_MAX (48u << 20)
/* An action's parameters and annotations: 1 MB each as JSON. */
#define OW_PARAMETERS_MAX (1u << 20)
/* The longest blocking wait of an invoke (then 202 with the id). */
#define OW_BLOCKING_WAIT_MS 60000u

typedef struct ow_limits {
  uint32_t timeout_ms, memory_mb, logs_mb, concurrency;
} ow_limits;

void ow_limits_default(ow_limits *l);
/* {"timeout":..,"memory":..,"logs":..,"concurrency":..} */
json_t *ow_limits_json(const ow_limits *l);

/* ---- actions (ow_action.c) ------------------------------------------------- */

typedef enum ow_code_kind {
  OW_CODE_MODULE = 0, /* "\0asm" */
  OW_CODE_ZIP,        /* "PK\3\4": main.wasm and the function's files */
} ow_code_kind;

/* An action's OpenWhisk fields (what meta and the settings hold). */
typedef struct ow_action {
  char kind[32];
  char semver[32];       /* "0.0.1" */
  char *main;            /* exec.main when given (from malloc), else NULL */
  ow_code_kind code;
  /* OW_CODE_ZIP: the blob holding the zip as it was sent (exec.code of a
   * GET gives it back; an update without exec deploys it again); "" when
   * not kept. The module and the files are stored as for any version. */
  char zip_hash[MOTE_STORE_HASH_HEX];
  json_t *parameters;    /* [{key,value}], a reference owned */
  json_t *annotations;   /* [{key,value}], "exec" included; a reference owned */
  bool publish;
  ow_limits limits;
} ow_action;

void ow_action_clear(ow_action *a);

/* What a PUT body says; absent fields are marked so that an update keeps
 * the old values. */
typedef struct ow_action_put {
  bool has_exec;
  char kind[32];
  char *main;              /* from malloc, or NULL */
  uint8_t *code;           /* exec.code decoded (from malloc) */
  size_t code_len;
  ow_code_kind code_kind;
  core_bundle bundle;      /* OW_CODE_ZIP: the zip extracted (core bundle); its module is the code's */
  json_t *parameters;      /* NULL: absent */
  json_t *annotations;     /* NULL: absent */
  bool has_timeout, has_memory, has_logs, has_concurrency;
  ow_limits limits;        /* the fields given */
  bool has_publish, publish;
  bool has_version;
  char semver[32];
} ow_action_put;

/* Parses and checks a PUT body (JSON). 0, or 400/413 with OpenWhisk's
 * message in msg; *out is then empty. Free with ow_action_put_free. */
int ow_action_put_parse(const uint8_t *body, size_t len, ow_action_put *out, char *msg,
                        size_t cap);
void ow_action_put_free(ow_action_put *p);

/* The action a PUT makes: from p alone (old NULL: a create, which needs
 * exec) or p merged over old (an update: what p leaves out keeps its old
 * value, the semver's patch goes up unless p gives one, the "exec"
 * annotation follows the kind). 0, or 400 with msg. */
int ow_action_make(const ow_action_put *p, const ow_action *old, ow_action *out, char *msg,
                   size_t cap);

/* meta <-> action. ow_action_meta_dump: JSON text from malloc (NULL when out
 * of memory). ow_action_from_meta: the action a stored version is, from its
 * meta and settings; meta NULL (a version deployed through /v1) gives the
 * defaults, with the version's own timeout and memory when it has them.
 * False when the meta cannot be read. */
char *ow_action_meta_dump(const ow_action *a);
bool ow_action_from_meta(const char *meta, const mote_function_settings *st, ow_action *out);
/* The settings an action's version is deployed with: timeout and memory
 * from its limits, the rest from base (NULL: zeros). */
void ow_action_settings(const ow_action *a, const mote_function_settings *base,
                        mote_function_settings *out);

/* An annotation's value, or NULL (borrowed). */
json_t *ow_annotation(const json_t *annotations, const char *key);
/* True when the annotation is set to a truthy value (true, non-zero, a
 * non-empty string, an object or array), as OpenWhisk reads flags. */
bool ow_annotation_truthy(const json_t *annotations, const char *key);

/* The action record: {namespace, name, version, exec, annotations,
 * parameters, limits, publish, updated}. code_b64 NULL: the record without
 * code (exec {kind, binary, main?}). */
json_t *ow_action_json(const ow_action *a, const char *ns, const char *name, int64_t updated_ms,
                       const char *code_b64);
/* The summary of lists: {namespace, name, version, publish, annotations,
 * limits, exec:{binary}, updated}. */
json_t *ow_action_summary_json(const ow_action *a, const char *ns, const char *name,
                               int64_t updated_ms);

/* ---- activations (ow_activation.c) ------------------------------------------ */

typedef enum ow_status {
  OW_STATUS_SUCCESS = 0,
  OW_STATUS_APPLICATION_ERROR = 1,
  OW_STATUS_DEVELOPER_ERROR = 2,
  OW_STATUS_INTERNAL_ERROR = 3,
} ow_status;

/* "success", "application error", "action developer error", "whisk internal error" */
const char *ow_status_name(ow_status s);

/* What a run produced, read as OpenWhisk reads a native action. */
typedef struct ow_outcome {
  ow_status status;
  json_t *result;  /* an object; a reference owned */
  json_t *logs;    /* array of "<time>Z stdout: text" strings; a reference owned */
  bool timeout;    /* the run hit its time limit */
} ow_outcome;

/* Reads a run: the last non-empty line of stdout, when it is a JSON object,
 * is the result (an "error" field, or a non-zero exit, makes it an
 * application error); every other stdout line and every stderr line is a
 * log line, stamped with end_ns (Unix time in ns), up to log_bytes (the
 * action's logs limit, or less: what the store can keep) with OpenWhisk's
 * note when lines are dropped. A
 * trap, a timeout (timeout_ms names the limit) or no JSON object is a
 * developer error with OpenWhisk's message; a run the host could not set up
 * is an internal error. False only when out of memory. */
bool ow_outcome_read(const mote_invoke_result *res, uint32_t timeout_ms, uint64_t log_bytes,
                     int64_t end_ns, ow_outcome *out);
void ow_outcome_clear(ow_outcome *o);

/* One log line: "2018-01-01T00:00:00.000000000Z stdout: text" (from malloc). */
char *ow_log_line(int64_t ns, const char *stream, const char *text, size_t len);

/* What an activation record is made of, besides the outcome. */
typedef struct ow_activation_info {
  const char *id;        /* 32 hex digits */
  const char *ns;        /* the action's namespace */
  const char *name;      /* the action's name */
  const char *subject;   /* who invoked it (the caller's namespace) */
  const char *semver;    /* the action's version */
  const char *kind;
  int64_t start_ms, end_ms;
  uint64_t wait_ms;      /* waiting for a slot */
  uint64_t init_ms;      /* the instance's set-up */
  bool cold;             /* initTime is shown on a cold start only */
  ow_limits limits;
} ow_activation_info;

/* The full record: {namespace, name, version, subject, activationId, start,
 * end, duration, response:{status, statusCode, success, result},
 * logs, annotations:[path, waitTime, kind, timeout, limits, initTime?],
 * publish}. ow_activation_meta: the same as JSON text from malloc, to keep. */
json_t *ow_activation_json(const ow_activation_info *info, const ow_outcome *o);
char *ow_activation_meta(const ow_activation_info *info, const ow_outcome *o);
/* The summary of lists, from a full record. */
json_t *ow_activation_summary(const json_t *record);
/* {status, statusCode, success, result} of a full record (GET .../result). */
json_t *ow_activation_response(const json_t *record);

/* The input of an invoke: the action's parameters overridden by the
 * payload's fields. A new object. */
json_t *ow_invoke_input(const json_t *parameters, const json_t *payload);

/* ---- web actions (ow_web.c) -------------------------------------------------- */

typedef enum ow_web_ext {
  OW_WEB_HTTP = 0, /* the default, when the name has no known extension */
  OW_WEB_JSON,
  OW_WEB_HTML,
  OW_WEB_SVG,
  OW_WEB_TEXT,
} ow_web_ext;

/* Splits "{action}[.ext]": writes the action's name and returns the
 * extension (".http" when the segment ends in none OpenWhisk knows). False
 * when the name does not fit in cap. */
bool ow_web_split(const char *segment, char *name, size_t cap, ow_web_ext *ext);

typedef struct ow_kv {
  const char *key, *value;
} ow_kv;

/* An HTTP request to a web action. */
typedef struct ow_web_request {
  const char *method;        /* "GET", as received */
  const ow_kv *headers;      /* as received; names are lowercased in __ow_headers */
  size_t nheaders;
  const char *path;          /* what follows the action in the URL: "" or "/a/b" */
  const char *query;         /* the raw query string (no '?'), "" when none */
  const ow_kv *params;       /* the decoded query */
  size_t nparams;
  const char *content_type;  /* NULL: none */
  const uint8_t *body;
  size_t body_len;
} ow_web_request;

/* The action's input (before its own parameters are merged in, see
 * ow_invoke_input): the query's parameters, then the body's (a JSON object
 * or a form's fields; any other body as __ow_body, base64 when binary), and
 * __ow_method (lowercase), __ow_headers, __ow_path. raw (annotation
 * raw-http): the query as __ow_query and the body as __ow_body instead.
 * final_params (NULL: none): parameters an action annotated `final` does
 * not let a request override. 0, or 400 with OpenWhisk's message. */
int ow_web_input(const ow_web_request *rq, bool raw, const json_t *final_params, json_t **out,
                 char *msg, size_t cap);

/* An HTTP response made from a web action's result. */
typedef struct ow_web_response {
  unsigned status;
  char *content_type;     /* from malloc; NULL: no body */
  char **headers;         /* "Name: value" strings from malloc (Content-Type not among them) */
  size_t nheaders;
  uint8_t *body;          /* from malloc */
  size_t len;
} ow_web_response;

/* The response for an outcome: a success's result, or an application
 * error's "error" field, converted as `ext` says. 0, or the status of an
 * error reply with OpenWhisk's message in msg (400: not valid for the
 * extension or a developer error; 404: no such property). */
int ow_web_respond(const ow_outcome *o, ow_web_ext ext, ow_web_response *out, char *msg,
                   size_t cap);
void ow_web_response_free(ow_web_response *r);

/* ---- the routes ---------------------------------------------------------------- */

/* Adds /api/v1's routes to h's table (they answer in OpenWhisk's dialect).
 * False when out of memory. */
bool ow_add_routes(http_server *h);

/* The action a version is (its meta and settings), decoded once per version
 * and kept with it (core_fn_extension); NULL when its meta cannot be read
 * or out of memory. Valid while the reference to fn is held. */
const ow_action *ow_action_of(core_fn *fn);

#endif /* MOTE_OPENWHISK_H */
