/* server: the OpenWhisk API's pieces without HTTP (openwhisk.h): action PUT
 * bodies, limits and their messages, updates, meta, records; a run's outcome
 * read as a native action; activation records; web action input and output. */
#include <archive.h>
#include <pthread.h>
#include <time.h>
#include <archive_entry.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_internal.h"
#include "openwhisk/ow_internal.h"
#include "test.h"

static const uint8_t empty_module[8] = {0, 'a', 's', 'm', 1, 0, 0, 0};

static char *b64(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
  char *s = malloc(cap);
  sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
  return s;
}

/* A zip of main.wasm (the empty module) and data/weights.txt, in memory. */
static uint8_t *make_zip(size_t *len) {
  size_t cap = 1 << 16;
  uint8_t *buf = malloc(cap);
  struct archive *a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, buf, cap, len);
  const struct {
    const char *path;
    const void *data;
    size_t n;
  } files[] = {{"main.wasm", empty_module, sizeof empty_module}, {"data/weights.txt", "42\n", 3}};
  for (size_t i = 0; i < 2; i++) {
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, files[i].path);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, (la_int64_t)files[i].n);
    archive_write_header(a, e);
    archive_write_data(a, files[i].data, files[i].n);
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return buf;
}

/* Parses a PUT body given as text: the status, the message in msg. */
static int put(const char *body, ow_action_put *p, char *msg, size_t cap) {
  msg[0] = '\0';
  return ow_action_put_parse((const uint8_t *)body, strlen(body), p, msg, cap);
}

/* A PUT body with the empty module as code and `rest` (",..." or ""). */
static char *module_body(const char *kind, const char *rest) {
  char *code = b64(empty_module, sizeof empty_module), *s = NULL;
  if (asprintf(&s, "{\"exec\":{\"kind\":\"%s\",\"code\":\"%s\"}%s}", kind, code, rest) < 0) s = NULL;
  free(code);
  return s;
}

/* The status and message for a body whose limits are `limits`. */
static int limits_msg(const char *limits, char *msg, size_t cap) {
  char body[256];
  snprintf(body, sizeof body, "{\"limits\":%s}", limits);
  ow_action_put p;
  int rc = put(body, &p, msg, cap);
  if (!rc) ow_action_put_free(&p);
  return rc;
}

static char *dumps(const json_t *v) { return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY); }

#define CHECK_JSON(v, text)                          \
  do {                                               \
    char *s_ = dumps(v);                             \
    CHECK_MSG(s_ && !strcmp(s_, (text)), s_);        \
    free(s_);                                        \
  } while (0)

TEST(create_from_module) {
  char msg[600];
  char *body = module_body("wasm:0.1", ",\"parameters\":[{\"key\":\"a\",\"value\":1},"
                           "{\"key\":\"b\",\"value\":\"x\"},{\"key\":\"a\",\"value\":2}],"
                           "\"annotations\":[{\"key\":\"web-export\",\"value\":true}],"
                           "\"limits\":{\"timeout\":1000,\"memory\":128}");
  ow_action_put p;
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 0);
  CHECK(p.has_exec && p.code_kind == OW_CODE_MODULE && p.code_len == 8);
  CHECK(p.has_timeout && p.has_memory && !p.has_logs && !p.has_concurrency);
  /* A key given twice keeps its place and its last value. */
  CHECK_JSON(p.parameters, "[{\"key\":\"a\",\"value\":2},{\"key\":\"b\",\"value\":\"x\"}]");
  ow_action a;
  CHECK_EQ_INT(ow_action_make(&p, NULL, &a, msg, sizeof msg), 0);
  CHECK(!strcmp(a.semver, "0.0.1") && !strcmp(a.kind, "wasm:0.1") && !a.publish);
  CHECK_EQ_INT(a.limits.timeout_ms, 1000);
  CHECK_EQ_INT(a.limits.memory_mb, 128);
  CHECK_EQ_INT(a.limits.logs_mb, 10);
  CHECK_EQ_INT(a.limits.concurrency, 1);
  CHECK_JSON(a.annotations, "[{\"key\":\"web-export\",\"value\":true},"
                            "{\"key\":\"exec\",\"value\":\"wasm:0.1\"}]");
  CHECK(ow_annotation_truthy(a.annotations, "web-export"));
  CHECK(!ow_annotation_truthy(a.annotations, "raw-http"));
  mote_function_settings st;
  ow_action_settings(&a, NULL, &st);
  CHECK_EQ_INT(st.timeout_ms, 1000);
  CHECK_EQ_INT(st.memory_mib, 128);
  ow_action_clear(&a);
  ow_action_put_free(&p);
  free(body);
  /* The kind is trimmed and lowercased, as OpenWhisk does. */
  body = module_body(" WASM:0.1 ", "");
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 0);
  CHECK(!strcmp(p.kind, "wasm:0.1"));
  ow_action_put_free(&p);
  free(body);
}

TEST(create_from_zip) {
  size_t zlen = 0;
  uint8_t *zip = make_zip(&zlen);
  char *code = b64(zip, zlen), *body = NULL, msg[600];
  CHECK(asprintf(&body, "{\"exec\":{\"kind\":\"wasm:0.1\",\"code\":\"%s\",\"main\":\"run\"}}",
                 code) > 0);
  ow_action_put p;
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 0);
  CHECK(p.code_kind == OW_CODE_ZIP && p.code_len == zlen);
  CHECK(p.bundle.module_len == 8 && p.bundle.nfiles == 1);
  CHECK(p.bundle.nfiles == 1 && !strcmp(p.bundle.files[0].path, "data/weights.txt"));
  CHECK(p.main && !strcmp(p.main, "run"));
  ow_action a;
  CHECK_EQ_INT(ow_action_make(&p, NULL, &a, msg, sizeof msg), 0);
  CHECK(a.code == OW_CODE_ZIP && a.main && !strcmp(a.main, "run"));
  ow_action_clear(&a);
  ow_action_put_free(&p);
  free(body);
  free(code);
  /* A zip without main.wasm: bundle.c's message. */
  memcpy(zip + 30, "xain", 4); /* the local header's name */
  size_t cd = 0;
  for (size_t i = 0; i + 4 < zlen; i++)
    if (!memcmp(zip + i, "PK\1\2", 4)) {
      cd = i;
      break;
    }
  CHECK(cd > 0);
  memcpy(zip + cd + 46, "xain", 4); /* the central directory's */
  code = b64(zip, zlen);
  CHECK(asprintf(&body, "{\"exec\":{\"kind\":\"wasm:0.1\",\"code\":\"%s\"}}", code) > 0);
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 400);
  CHECK_STR_CONTAINS(msg, "no file main.wasm");
  free(body);
  free(code);
  free(zip);
}

TEST(exec_refused) {
  char msg[600];
  ow_action_put p;
  char *body = module_body("nodejs:20", "");
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 400);
  CHECK_MSG(!strcmp(msg, "The request content was malformed:\nkind 'nodejs:20' not in "
                         "Set(wasm:0.1)"), msg);
  free(body);
  body = module_body("blackbox", "");
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 400);
  CHECK_STR_CONTAINS(msg, "kind 'blackbox' not in Set(wasm:0.1)");
  free(body);
  CHECK_EQ_INT(put("{\"exec\":{\"code\":\"AGFzbQEAAAA=\"}}", &p, msg, sizeof msg), 400);
  CHECK_MSG(!strcmp(msg, "The request content was malformed:\n'kind' must be a string defined "
                         "in 'exec'"), msg);
  CHECK_EQ_INT(put("{\"exec\":{\"kind\":\"wasm:0.1\"}}", &p, msg, sizeof msg), 400);
  CHECK_MSG(!strcmp(msg, "The request content was malformed:\n'code' must be a string defined "
                         "in 'exec' for 'wasm:0.1' actions"), msg);
  CHECK_EQ_INT(put("{\"exec\":{\"kind\":\"wasm:0.1\",\"code\":\"not base64!\"}}", &p, msg,
                   sizeof msg), 400);
  CHECK_STR_CONTAINS(msg, "base64");
  /* base64 of "hello world": neither a module nor a zip. */
  CHECK_EQ_INT(put("{\"exec\":{\"kind\":\"wasm:0.1\",\"code\":\"aGVsbG8gd29ybGQ=\"}}", &p, msg,
                   sizeof msg), 400);
  CHECK_STR_CONTAINS(msg, "\\0asm");
  /* Line breaks inside the base64 are fine. */
  CHECK_EQ_INT(put("{\"exec\":{\"kind\":\"wasm:0.1\",\"code\":\"AGFz\\nbQEAAAA=\"}}", &p, msg,
                   sizeof msg), 0);
  ow_action_put_free(&p);
  CHECK_EQ_INT(put("{\"exec\":", &p, msg, sizeof msg), 400);
  CHECK_STR_CONTAINS(msg, "The request content was malformed:\n");
  CHECK_EQ_INT(put("[1]", &p, msg, sizeof msg), 400);
  CHECK_EQ_INT(put("{\"parameters\":{\"a\":1}}", &p, msg, sizeof msg), 400);
  CHECK_MSG(!strcmp(msg, "The request content was malformed:\nparameters malformed could not "
                         "read directly: {\"a\":1}"), msg);
  CHECK_EQ_INT(put("{\"annotations\":[{\"value\":1}]}", &p, msg, sizeof msg), 400);
  CHECK_STR_CONTAINS(msg, "annotations malformed");
  /* 100,000 keys: past the 1 MB of parameters, told at once (each key was
   * looked up in all the ones before it: 5 * 10^9 compares here). */
  size_t nkeys = 100000, used = 0, room = nkeys * 40 + 64;
  char *many = malloc(room);
  used += (size_t)snprintf(many, room, "{\"parameters\":[");
  for (size_t i = 0; i < nkeys; i++)
    used += (size_t)snprintf(many + used, room - used, "%s{\"key\":\"k%07zu\",\"value\":0}",
                             i ? "," : "", i);
  snprintf(many + used, room - used, "]}");
  CHECK_EQ_INT(put(many, &p, msg, sizeof msg), 413);
  CHECK_STR_CONTAINS(msg, "parameters larger than allowed");
  free(many);
  CHECK_EQ_INT(put("{\"publish\":\"yes\"}", &p, msg, sizeof msg), 400);
  CHECK_EQ_INT(put("{\"version\":\"1.2\"}", &p, msg, sizeof msg), 400);
  /* Too much code: 413 with OpenWhisk's size message. */
  size_t big = OW_CODE_MAX + 4;
  char *huge = malloc(big + 64);
  int n = snprintf(huge, 64, "{\"exec\":{\"kind\":\"wasm:0.1\",\"code\":\"");
  memset(huge + n, 'A', big);
  strcpy(huge + n + big, "\"}}");
  CHECK_EQ_INT(put(huge, &p, msg, sizeof msg), 413);
  CHECK_MSG(!strcmp(msg, "exec larger than allowed: 50331652 > 50331648 bytes."), msg);
  free(huge);
}

TEST(limits_ranges) {
  char msg[600];
  const struct {
    const char *limits;
    int status;
    const char *msg;
  } cases[] = {
      {"{\"timeout\":100,\"memory\":128,\"logs\":0,\"concurrency\":1}", 0, ""},
      {"{\"timeout\":300000,\"memory\":512,\"logs\":10,\"concurrency\":500}", 0, ""},
      {"{\"timeout\":99}", 400, "duration 99 milliseconds below allowed threshold of 100 "
                                "milliseconds"},
      {"{\"timeout\":300001}", 400, "duration 300001 milliseconds exceeds allowed threshold of "
                                    "300000 milliseconds"},
      {"{\"timeout\":1.5}", 400, "time limit must be whole number"},
      {"{\"timeout\":\"1s\"}", 400, "time limit malformed"},
      {"{\"memory\":64}", 400, "memory 64 MB below allowed threshold of 134217728 B"},
      {"{\"memory\":1024}", 400, "memory 1024 MB exceeds allowed threshold of 536870912 B"},
      {"{\"memory\":true}", 400, "memory limit malformed"},
      {"{\"logs\":11}", 400, "log size 11 MB exceeds allowed threshold of 10485760 B"},
      {"{\"logs\":-1}", 400, "log size -1 MB below allowed threshold of 0 B"},
      {"{\"concurrency\":0}", 400, "concurrency 0 below allowed threshold of 1"},
      {"{\"concurrency\":501}", 400, "concurrency 501 exceeds allowed threshold of 500"},
      {"{\"concurrency\":2.0}", 0, ""},
      {"7", 400, "Object expected in field 'limits'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int rc = limits_msg(cases[i].limits, msg, sizeof msg);
    CHECK_MSG(rc == cases[i].status, cases[i].limits);
    if (cases[i].status) {
      char want[300];
      snprintf(want, sizeof want, "The request content was malformed:\n%s", cases[i].msg);
      CHECK_MSG(!strcmp(msg, want), msg);
    }
  }
}

TEST(update_merges) {
  char msg[600];
  ow_action_put p;
  char *body = module_body("wasm:0.1", ",\"parameters\":[{\"key\":\"a\",\"value\":1}],"
                           "\"annotations\":[{\"key\":\"x\",\"value\":1}],"
                           "\"limits\":{\"timeout\":1000,\"logs\":2}");
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 0);
  ow_action v1, v2, v3, v4;
  CHECK_EQ_INT(ow_action_make(&p, NULL, &v1, msg, sizeof msg), 0);
  CHECK(v1.zip_hash[0] == '\0');
  snprintf(v1.zip_hash, sizeof v1.zip_hash, "%s", "ab12"); /* as if it were a zip's */
  ow_action_put_free(&p);
  free(body);

  /* Only the memory: everything else stays, the patch goes up. */
  CHECK_EQ_INT(put("{\"limits\":{\"memory\":512}}", &p, msg, sizeof msg), 0);
  CHECK(!p.has_exec);
  CHECK_EQ_INT(ow_action_make(&p, &v1, &v2, msg, sizeof msg), 0);
  CHECK(!strcmp(v2.semver, "0.0.2"));
  CHECK(!strcmp(v2.zip_hash, "ab12")); /* the code is the old one */
  CHECK_EQ_INT(v2.limits.memory_mb, 512);
  CHECK_EQ_INT(v2.limits.timeout_ms, 1000);
  CHECK_EQ_INT(v2.limits.logs_mb, 2);
  CHECK_JSON(v2.parameters, "[{\"key\":\"a\",\"value\":1}]");
  CHECK_JSON(v2.annotations, "[{\"key\":\"x\",\"value\":1},{\"key\":\"exec\",\"value\":"
                             "\"wasm:0.1\"}]");
  ow_action_put_free(&p);

  /* New annotations replace the old; "exec" comes back; an explicit version wins. */
  CHECK_EQ_INT(put("{\"annotations\":[{\"key\":\"exec\",\"value\":\"lie\"},{\"key\":\"y\","
                   "\"value\":2}],\"parameters\":[],\"publish\":true,\"version\":\"1.2.9\"}",
                   &p, msg, sizeof msg), 0);
  CHECK_EQ_INT(ow_action_make(&p, &v2, &v3, msg, sizeof msg), 0);
  CHECK(!strcmp(v3.semver, "1.2.9") && v3.publish);
  CHECK_JSON(v3.annotations, "[{\"key\":\"exec\",\"value\":\"wasm:0.1\"},{\"key\":\"y\","
                             "\"value\":2}]");
  CHECK_JSON(v3.parameters, "[]");
  ow_action_put_free(&p);
  CHECK_EQ_INT(put("{}", &p, msg, sizeof msg), 0);
  CHECK_EQ_INT(ow_action_make(&p, &v3, &v4, msg, sizeof msg), 0);
  CHECK(!strcmp(v4.semver, "1.2.10"));
  /* A create needs exec. */
  ow_action none;
  CHECK_EQ_INT(ow_action_make(&p, NULL, &none, msg, sizeof msg), 400);
  CHECK(!strcmp(msg, "exec undefined"));
  ow_action_put_free(&p);
  ow_action_clear(&v1);
  ow_action_clear(&v2);
  ow_action_clear(&v3);
  ow_action_clear(&v4);
}

TEST(meta_and_records) {
  char msg[600];
  ow_action_put p;
  char *body = module_body("wasm:0.1", ",\"parameters\":[{\"key\":\"a\",\"value\":[1]}],"
                           "\"limits\":{\"timeout\":2000,\"memory\":300,\"logs\":3,"
                           "\"concurrency\":7},\"publish\":true");
  CHECK_EQ_INT(put(body, &p, msg, sizeof msg), 0);
  ow_action a, b;
  CHECK_EQ_INT(ow_action_make(&p, NULL, &a, msg, sizeof msg), 0);
  snprintf(a.zip_hash, sizeof a.zip_hash, "%064d", 7);
  char *meta = ow_action_meta_dump(&a);
  CHECK(meta != NULL);
  mote_function_settings st;
  ow_action_settings(&a, NULL, &st);
  CHECK(ow_action_from_meta(meta, &st, &b));
  CHECK(!strcmp(b.kind, a.kind) && !strcmp(b.semver, a.semver) && b.publish);
  CHECK(b.limits.timeout_ms == 2000 && b.limits.memory_mb == 300 && b.limits.logs_mb == 3 &&
        b.limits.concurrency == 7);
  CHECK(json_equal(a.parameters, b.parameters) && json_equal(a.annotations, b.annotations));
  CHECK(!strcmp(b.zip_hash, a.zip_hash));

  json_t *rec = ow_action_json(&b, "guest", "hello", 1700000000123LL, "AGFzbQEAAAA=");
  CHECK_JSON(rec, "{\"namespace\":\"guest\",\"name\":\"hello\",\"exec\":{\"kind\":\"wasm:0.1\","
                  "\"code\":\"AGFzbQEAAAA=\",\"binary\":true},\"parameters\":[{\"key\":\"a\","
                  "\"value\":[1]}],\"limits\":{\"timeout\":2000,\"memory\":300,\"logs\":3,"
                  "\"concurrency\":7},\"version\":\"0.0.1\",\"publish\":true,\"annotations\":"
                  "[{\"key\":\"exec\",\"value\":\"wasm:0.1\"}],\"updated\":1700000000123}");
  json_decref(rec);
  rec = ow_action_json(&b, "guest", "hello", 1, NULL);
  CHECK(json_object_get(json_object_get(rec, "exec"), "code") == NULL);
  CHECK(json_is_true(json_object_get(json_object_get(rec, "exec"), "binary")));
  json_decref(rec);
  rec = ow_action_summary_json(&b, "guest", "hello", 5);
  CHECK_JSON(rec, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.1\","
                  "\"publish\":true,\"annotations\":[{\"key\":\"exec\",\"value\":\"wasm:0.1\"}],"
                  "\"limits\":{\"timeout\":2000,\"memory\":300,\"logs\":3,\"concurrency\":7},"
                  "\"exec\":{\"binary\":true},\"updated\":5}");
  json_decref(rec);
  ow_action_clear(&b);

  /* A version deployed through /v1: no meta, its own settings or the server's defaults. */
  mote_function_settings zero = {0};
  CHECK(ow_action_from_meta(NULL, &zero, &b));
  CHECK(b.limits.timeout_ms == CORE_DEFAULT_TIMEOUT_MS && b.limits.memory_mb == 256);
  CHECK(!strcmp(b.semver, "0.0.1") && !strcmp(b.kind, OW_KIND));
  CHECK_JSON(b.annotations, "[{\"key\":\"exec\",\"value\":\"wasm:0.1\"}]");
  ow_action_clear(&b);
  CHECK(!ow_action_from_meta("{not json", &zero, &b));
  free(meta);
  ow_action_clear(&a);
  ow_action_put_free(&p);
  free(body);
}

/* ---- outcomes and activations ---------------------------------------------------- */

#define END_NS 1700000000123456789LL
#define STAMP "2023-11-14T22:13:20.123456789Z"

static void run_of(mote_invoke_result *r, mote_invoke_outcome oc, int exit_code, const char *out,
                   const char *err) {
  memset(r, 0, sizeof *r);
  r->outcome = oc;
  r->exit_code = exit_code;
  r->stdout_data = (uint8_t *)out;
  r->stdout_len = out ? strlen(out) : 0;
  r->stderr_data = (uint8_t *)err;
  r->stderr_len = err ? strlen(err) : 0;
}

TEST(outcome_success) {
  mote_invoke_result r;
  ow_outcome o;
  run_of(&r, MOTE_INVOKE_EXITED, 0, "first\n\n{\"a\": 1}\n\n", "warn\r\nsecond\n");
  CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
  CHECK_EQ_INT(o.status, OW_STATUS_SUCCESS);
  CHECK_JSON(o.result, "{\"a\":1}");
  CHECK_JSON(o.logs, "[\"" STAMP " stdout: first\",\"" STAMP " stdout: \",\"" STAMP
                     " stderr: warn\",\"" STAMP " stderr: second\"]");
  CHECK(!o.timeout);
  ow_outcome_clear(&o);
  /* Invalid UTF-8 in a log line is replaced, not passed on. */
  run_of(&r, MOTE_INVOKE_EXITED, 0, "\xff\n{}", NULL);
  CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
  CHECK_JSON(o.logs, "[\"" STAMP " stdout: \xef\xbf\xbd\"]");
  ow_outcome_clear(&o);
}

TEST(outcome_errors) {
  mote_invoke_result r;
  ow_outcome o;
  /* An error field: an application error keeping only the error. */
  run_of(&r, MOTE_INVOKE_EXITED, 0, "{\"error\":\"boom\",\"x\":1}", NULL);
  CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
  CHECK_EQ_INT(o.status, OW_STATUS_APPLICATION_ERROR);
  CHECK_JSON(o.result, "{\"error\":\"boom\"}");
  ow_outcome_clear(&o);
  /* A non-zero exit with a JSON object: an application error too. */
  run_of(&r, MOTE_INVOKE_EXITED, 3, "{\"x\":1}\n", NULL);
  CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
  CHECK_EQ_INT(o.status, OW_STATUS_APPLICATION_ERROR);
  CHECK_JSON(o.result, "{\"error\":{\"x\":1}}");
  ow_outcome_clear(&o);
  /* No JSON object on the last line: the proxy's message; the line is logged. */
  const char *not_objects[] = {"hello", "[1,2]", "", "{\"a\":1}\nnot json", "{\"a\":1} trailing"};
  for (size_t i = 0; i < sizeof not_objects / sizeof *not_objects; i++) {
    run_of(&r, MOTE_INVOKE_EXITED, 0, not_objects[i], NULL);
    CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
    CHECK_MSG(o.status == OW_STATUS_DEVELOPER_ERROR, not_objects[i]);
    CHECK_JSON(o.result, "{\"error\":\"The action did not return a dictionary.\"}");
    ow_outcome_clear(&o);
  }
  run_of(&r, MOTE_INVOKE_EXITED, 0, "hello", NULL);
  CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
  CHECK_JSON(o.logs, "[\"" STAMP " stdout: hello\"]");
  ow_outcome_clear(&o);
  /* The timeout names the limit; the annotation says so. */
  run_of(&r, MOTE_INVOKE_TIMEOUT, -1, "partial\n", NULL);
  CHECK(ow_outcome_read(&r, 1500, 10u << 20, END_NS, &o));
  CHECK_EQ_INT(o.status, OW_STATUS_DEVELOPER_ERROR);
  CHECK_JSON(o.result, "{\"error\":\"The action exceeded its time limits of 1500 milliseconds.\"}");
  CHECK(o.timeout);
  CHECK_JSON(o.logs, "[\"" STAMP " stdout: partial\"]");
  ow_outcome_clear(&o);
  /* A trap: OpenWhisk's message, and the trap in the logs. */
  run_of(&r, MOTE_INVOKE_TRAP, -1, NULL, NULL);
  snprintf(r.message, sizeof r.message, "trap: unreachable executed");
  CHECK(ow_outcome_read(&r, 1500, 10u << 20, END_NS, &o));
  CHECK_EQ_INT(o.status, OW_STATUS_DEVELOPER_ERROR);
  CHECK_JSON(o.result, "{\"error\":\"The action did not produce a valid response and exited "
                       "unexpectedly.\"}");
  CHECK_JSON(o.logs, "[\"" STAMP " stderr: trap: unreachable executed\"]");
  ow_outcome_clear(&o);
  run_of(&r, MOTE_INVOKE_LIMIT, -1, NULL, NULL);
  r.trap = MOTE_TRAP_RESOURCE;
  CHECK(ow_outcome_read(&r, 1500, 10u << 20, END_NS, &o));
  CHECK_JSON(o.result, "{\"error\":\"The action exhausted its memory and was aborted.\"}");
  ow_outcome_clear(&o);
  run_of(&r, MOTE_INVOKE_HOST, -1, NULL, NULL);
  CHECK(ow_outcome_read(&r, 1500, 10u << 20, END_NS, &o));
  CHECK_EQ_INT(o.status, OW_STATUS_INTERNAL_ERROR);
  ow_outcome_clear(&o);
}

TEST(outcome_log_limit) {
  mote_invoke_result r;
  ow_outcome o;
  /* Logs limit 0: nothing but OpenWhisk's note. */
  run_of(&r, MOTE_INVOKE_EXITED, 0, "a\nb\n{}", "c");
  CHECK(ow_outcome_read(&r, 60000, 0, END_NS, &o));
  CHECK_JSON(o.logs, "[\"" STAMP " stderr: Logs were truncated because the total bytes size "
                     "exceeds the limit of 0 bytes.\"]");
  ow_outcome_clear(&o);
  /* 1 MB: lines up to it, then the note. */
  size_t line = 300000;
  char *big = malloc(4 * (line + 1) + 3);
  for (int i = 0; i < 4; i++) {
    memset(big + i * (line + 1), 'a' + i, line);
    big[i * (line + 1) + line] = '\n';
  }
  strcpy(big + 4 * (line + 1), "{}");
  run_of(&r, MOTE_INVOKE_EXITED, 0, big, NULL);
  CHECK(ow_outcome_read(&r, 60000, 1u << 20, END_NS, &o));
  CHECK_EQ_INT(json_array_size(o.logs), 4);
  CHECK_STR_CONTAINS(json_string_value(json_array_get(o.logs, 3)), "limit of 1048576 bytes.");
  CHECK_EQ_INT(o.status, OW_STATUS_SUCCESS);
  ow_outcome_clear(&o);
  free(big);
  /* Empty lines cost what the record stores of them (the stamp, the
   * stream, the quotes): 1,000,000 of them against 64 KiB end in a
   * truncation note, not in a million entries. */
  size_t blanks = 1000000;
  char *many = malloc(blanks + 8);
  memset(many, '\n', blanks);
  strcpy(many + blanks, "x\n{}");
  run_of(&r, MOTE_INVOKE_EXITED, 0, many, NULL);
  CHECK(ow_outcome_read(&r, 60000, 64u << 10, END_NS, &o));
  size_t entries = json_array_size(o.logs);
  CHECK(entries > 100 && entries < 2000);
  CHECK_STR_CONTAINS(json_string_value(json_array_get(o.logs, entries - 1)),
                     "limit of 65536 bytes.");
  char *dumped = json_dumps(o.logs, JSON_COMPACT);
  CHECK(dumped && strlen(dumped) < (64u << 10) + 512);
  free(dumped);
  ow_outcome_clear(&o);
  free(many);
}

TEST(activation_record) {
  mote_invoke_result r;
  ow_outcome o;
  run_of(&r, MOTE_INVOKE_EXITED, 0, "hi\n{\"ok\":true}", NULL);
  CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
  ow_activation_info info = {.id = "0123456789abcdef0123456789abcdef", .ns = "guest",
                             .name = "hello", .subject = "guest", .semver = "0.0.3",
                             .kind = "wasm:0.1", .start_ms = 1000, .end_ms = 1250, .wait_ms = 4,
                             .init_ms = 2, .cold = false};
  ow_limits_default(&info.limits);
  json_t *rec = ow_activation_json(&info, &o);
  CHECK_JSON(rec, "{\"namespace\":\"guest\",\"name\":\"hello\",\"subject\":\"guest\","
                  "\"activationId\":\"0123456789abcdef0123456789abcdef\",\"start\":1000,"
                  "\"end\":1250,\"response\":{\"status\":\"success\",\"statusCode\":0,"
                  "\"success\":true,\"result\":{\"ok\":true}},\"logs\":[\"" STAMP
                  " stdout: hi\"],\"version\":\"0.0.3\",\"publish\":false,\"annotations\":["
                  "{\"key\":\"path\",\"value\":\"guest/hello\"},{\"key\":\"waitTime\",\"value\":4},"
                  "{\"key\":\"kind\",\"value\":\"wasm:0.1\"},{\"key\":\"timeout\",\"value\":false},"
                  "{\"key\":\"limits\",\"value\":{\"timeout\":60000,\"memory\":256,\"logs\":10,"
                  "\"concurrency\":1}}],\"duration\":250}");
  json_t *sum = ow_activation_summary(rec);
  CHECK_JSON(sum, "{\"namespace\":\"guest\",\"name\":\"hello\",\"version\":\"0.0.3\","
                  "\"publish\":false,\"annotations\":[{\"key\":\"path\",\"value\":\"guest/hello\"},"
                  "{\"key\":\"waitTime\",\"value\":4},{\"key\":\"kind\",\"value\":\"wasm:0.1\"},"
                  "{\"key\":\"timeout\",\"value\":false},{\"key\":\"limits\",\"value\":"
                  "{\"timeout\":60000,\"memory\":256,\"logs\":10,\"concurrency\":1}}],"
                  "\"activationId\":\"0123456789abcdef0123456789abcdef\",\"start\":1000,"
                  "\"end\":1250,\"duration\":250,\"statusCode\":0}");
  json_decref(sum);
  json_t *resp = ow_activation_response(rec);
  CHECK_JSON(resp, "{\"status\":\"success\",\"statusCode\":0,\"success\":true,\"result\":"
                   "{\"ok\":true}}");
  json_decref(resp);
  json_decref(rec);
  /* A cold start shows initTime; the meta text is the same record. */
  info.cold = true;
  char *meta = ow_activation_meta(&info, &o);
  json_t *back = json_loads(meta, 0, NULL);
  json_t *ann = json_object_get(back, "annotations");
  CHECK_EQ_INT(json_array_size(ann), 6);
  CHECK_JSON(json_array_get(ann, 5), "{\"key\":\"initTime\",\"value\":2}");
  json_decref(back);
  free(meta);
  ow_outcome_clear(&o);
  /* An application error: status and code. */
  run_of(&r, MOTE_INVOKE_EXITED, 0, "{\"error\":1}", NULL);
  CHECK(ow_outcome_read(&r, 60000, 10u << 20, END_NS, &o));
  rec = ow_activation_json(&info, &o);
  CHECK_JSON(json_object_get(rec, "response"), "{\"status\":\"application error\","
             "\"statusCode\":1,\"success\":false,\"result\":{\"error\":1}}");
  json_decref(rec);
  ow_outcome_clear(&o);
}

TEST(invoke_input) {
  json_t *params = json_loads("[{\"key\":\"a\",\"value\":1},{\"key\":\"b\",\"value\":2}]", 0, NULL);
  json_t *payload = json_loads("{\"b\":3,\"c\":4}", 0, NULL);
  json_t *in = ow_invoke_input(params, payload);
  CHECK_JSON(in, "{\"a\":1,\"b\":3,\"c\":4}");
  json_decref(in);
  in = ow_invoke_input(params, NULL);
  CHECK_JSON(in, "{\"a\":1,\"b\":2}");
  json_decref(in);
  json_decref(params);
  json_decref(payload);
}

/* ---- web actions ------------------------------------------------------------------ */

TEST(web_split) {
  char name[64];
  ow_web_ext e;
  CHECK(ow_web_split("hello.json", name, sizeof name, &e) && e == OW_WEB_JSON &&
        !strcmp(name, "hello"));
  CHECK(ow_web_split("hello", name, sizeof name, &e) && e == OW_WEB_HTTP && !strcmp(name, "hello"));
  CHECK(ow_web_split("a.b", name, sizeof name, &e) && e == OW_WEB_HTTP && !strcmp(name, "a.b"));
  CHECK(ow_web_split("x.http", name, sizeof name, &e) && e == OW_WEB_HTTP && !strcmp(name, "x"));
  CHECK(ow_web_split("x.text", name, sizeof name, &e) && e == OW_WEB_TEXT);
  CHECK(ow_web_split("x.html", name, sizeof name, &e) && e == OW_WEB_HTML);
  CHECK(ow_web_split("x.svg", name, sizeof name, &e) && e == OW_WEB_SVG);
  CHECK(!ow_web_split("toolongname", name, 5, &e));
}

static int web_in(const char *method, const char *ct, const char *body, size_t blen, bool raw,
                  const json_t *final_params, json_t **out, char *msg) {
  ow_kv headers[] = {{"Content-Type", ct ? ct : ""}, {"X-Thing", "1"}};
  ow_kv params[] = {{"a", "q"}, {"b", "q"}};
  ow_web_request rq = {.method = method, .headers = headers, .nheaders = ct ? 2 : 0,
                       .path = "/p/q", .query = "a=q&b=q", .params = params, .nparams = 2,
                       .content_type = ct, .body = (const uint8_t *)body, .body_len = blen};
  return ow_web_input(&rq, raw, final_params, out, msg, 300);
}

TEST(web_input) {
  char msg[300];
  json_t *in;
  CHECK_EQ_INT(web_in("GET", NULL, NULL, 0, false, NULL, &in, msg), 0);
  CHECK_JSON(in, "{\"__ow_method\":\"get\",\"__ow_headers\":{},\"__ow_path\":\"/p/q\","
                 "\"a\":\"q\",\"b\":\"q\"}");
  json_decref(in);
  /* A JSON object body overrides the query. */
  const char *j = "{\"b\":\"body\",\"n\":1}";
  CHECK_EQ_INT(web_in("POST", "application/json", j, strlen(j), false, NULL, &in, msg), 0);
  CHECK_JSON(in, "{\"__ow_method\":\"post\",\"__ow_headers\":{\"content-type\":"
                 "\"application/json\",\"x-thing\":\"1\"},\"__ow_path\":\"/p/q\",\"a\":\"q\","
                 "\"b\":\"body\",\"n\":1}");
  json_decref(in);
  /* JSON that is not an object: __ow_body. */
  CHECK_EQ_INT(web_in("POST", "application/json", "[1]", 3, false, NULL, &in, msg), 0);
  CHECK_JSON(json_object_get(in, "__ow_body"), "[1]");
  json_decref(in);
  CHECK_EQ_INT(web_in("POST", "application/json", "{bad", 4, false, NULL, &in, msg), 400);
  /* A form. */
  const char *f = "b=form+x&c=%41";
  CHECK_EQ_INT(web_in("PUT", "application/x-www-form-urlencoded", f, strlen(f), false, NULL, &in,
                      msg), 0);
  CHECK_JSON(json_object_get(in, "b"), "\"form x\"");
  CHECK_JSON(json_object_get(in, "c"), "\"A\"");
  json_decref(in);
  /* Text stays text, bytes go as base64. */
  CHECK_EQ_INT(web_in("POST", "text/plain", "hi", 2, false, NULL, &in, msg), 0);
  CHECK_JSON(json_object_get(in, "__ow_body"), "\"hi\"");
  json_decref(in);
  CHECK_EQ_INT(web_in("POST", "image/png", "\x89PNG", 4, false, NULL, &in, msg), 0);
  CHECK_JSON(json_object_get(in, "__ow_body"), "\"iVBORw==\"");
  json_decref(in);
  /* Raw: the query and the body as they came. */
  CHECK_EQ_INT(web_in("POST", "application/json", j, strlen(j), true, NULL, &in, msg), 0);
  CHECK_JSON(json_object_get(in, "__ow_query"), "\"a=q&b=q\"");
  CHECK_JSON(json_object_get(in, "__ow_body"), "\"eyJiIjoiYm9keSIsIm4iOjF9\"");
  CHECK(json_object_get(in, "a") == NULL);
  json_decref(in);
  CHECK_EQ_INT(web_in("GET", NULL, NULL, 0, true, NULL, &in, msg), 0);
  CHECK_JSON(json_object_get(in, "__ow_body"), "\"\"");
  json_decref(in);
  /* A request may not set the reserved names, nor final parameters. */
  const char *bad = "{\"__ow_method\":\"x\"}";
  CHECK_EQ_INT(web_in("POST", "application/json", bad, strlen(bad), false, NULL, &in, msg), 400);
  CHECK(!strcmp(msg, "Request defines parameters that are not allowed (e.g., reserved "
                     "properties)."));
  json_t *fin = json_loads("[{\"key\":\"a\",\"value\":5}]", 0, NULL);
  CHECK_EQ_INT(web_in("GET", NULL, NULL, 0, false, fin, &in, msg), 400);
  json_decref(fin);
}

static int web_out(ow_status st, const char *result, ow_web_ext ext, ow_web_response *r,
                   char *msg) {
  ow_outcome o = {.status = st, .result = json_loads(result, 0, NULL)};
  int rc = ow_web_respond(&o, ext, r, msg, 300);
  json_decref(o.result);
  return rc;
}

#define BODY_IS(r, text) \
  CHECK((r).len == strlen(text) && !memcmp((r).body, (text), (r).len))

TEST(web_output) {
  char msg[300];
  {
    /* A statusCode past long's range is refused, not converted (UB). */
    ow_web_response r0;
    CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"statusCode\":1e300}", OW_WEB_HTTP, &r0, msg), 400);
    CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"statusCode\":404.0}", OW_WEB_HTTP, &r0, msg), 0);
    CHECK_EQ_INT(r0.status, 404);
    ow_web_response_free(&r0);
  }
  ow_web_response r;
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"a\":1}", OW_WEB_JSON, &r, msg), 0);
  CHECK(r.status == 200 && !strcmp(r.content_type, "application/json"));
  BODY_IS(r, "{\"a\":1}");
  ow_web_response_free(&r);
  /* .http: status, headers, a text body. */
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"statusCode\":201,\"headers\":{\"X-A\":[\"1\",2],"
                       "\"Content-Type\":\"text/plain\",\"X-B\":true},\"body\":\"made\"}",
                       OW_WEB_HTTP, &r, msg), 0);
  CHECK_EQ_INT(r.status, 201);
  CHECK(!strcmp(r.content_type, "text/plain; charset=UTF-8"));
  CHECK_EQ_INT(r.nheaders, 3);
  CHECK(r.nheaders == 3 && !strcmp(r.headers[0], "X-A: 1") && !strcmp(r.headers[1], "X-A: 2") &&
        !strcmp(r.headers[2], "X-B: true"));
  BODY_IS(r, "made");
  ow_web_response_free(&r);
  /* A binary type's body is base64, decoded. */
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"headers\":{\"content-type\":\"image/png\"},"
                       "\"body\":\"iVBORw==\"}", OW_WEB_HTTP, &r, msg), 0);
  CHECK(r.status == 200 && !strcmp(r.content_type, "image/png"));
  BODY_IS(r, "\x89PNG");
  ow_web_response_free(&r);
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"headers\":{\"content-type\":\"image/png\"},"
                       "\"body\":\"not base64\"}", OW_WEB_HTTP, &r, msg), 400);
  CHECK(!strcmp(msg, "Response type in header did not match generated content type."));
  /* Default type text/html; a JSON body; no body. */
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"body\":\"<b>x</b>\"}", OW_WEB_HTTP, &r, msg), 0);
  CHECK(!strcmp(r.content_type, "text/html; charset=UTF-8"));
  ow_web_response_free(&r);
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"body\":{\"k\":[1]}}", OW_WEB_HTTP, &r, msg), 0);
  CHECK(!strcmp(r.content_type, "application/json"));
  BODY_IS(r, "{\"k\":[1]}");
  ow_web_response_free(&r);
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"headers\":{\"content-type\":\"text/plain\"},"
                       "\"body\":{\"k\":1}}", OW_WEB_HTTP, &r, msg), 400);
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{}", OW_WEB_HTTP, &r, msg), 0);
  CHECK(r.status == 204 && r.content_type == NULL && r.len == 0);
  ow_web_response_free(&r);
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"statusCode\":\"302\",\"headers\":{\"location\":"
                       "\"/x\"}}", OW_WEB_HTTP, &r, msg), 0);
  CHECK(r.status == 302 && r.nheaders == 1 && !strcmp(r.headers[0], "location: /x"));
  ow_web_response_free(&r);
  /* The server's own headers are dropped: framing, X-Mote-*, the
   * activation's id (ow_invoke.c adds the true one). */
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"headers\":{\"x-openwhisk-activation-id\":\"f\","
                       "\"Connection\":\"close\",\"Upgrade\":\"h2c\",\"Content-Length\":\"9\","
                       "\"X-Mote-Version\":\"1\",\"X-Kept\":\"k\"},\"body\":\"hi\"}",
                       OW_WEB_HTTP, &r, msg), 0);
  CHECK(r.nheaders == 1 && !strcmp(r.headers[0], "X-Kept: k"));
  ow_web_response_free(&r);
  const char *bad_http[] = {"{\"statusCode\":\"abc\"}", "{\"statusCode\":99}",
                            "{\"statusCode\":100}", "{\"statusCode\":\"101\"}",
                            "{\"headers\":[1]}", "{\"headers\":{\"a\":{\"b\":1}}}"};
  for (size_t i = 0; i < sizeof bad_http / sizeof *bad_http; i++) {
    CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, bad_http[i], OW_WEB_HTTP, &r, msg), 400);
    CHECK_MSG(!strcmp(msg, "Response is not valid 'message/http'."), bad_http[i]);
  }
  /* .text and .html pick a field. */
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"text\":\"plain\"}", OW_WEB_TEXT, &r, msg), 0);
  CHECK(!strcmp(r.content_type, "text/plain; charset=UTF-8"));
  BODY_IS(r, "plain");
  ow_web_response_free(&r);
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"other\":1}", OW_WEB_TEXT, &r, msg), 404);
  CHECK(!strcmp(msg, "Response does not include requested property."));
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"html\":\"<p>\"}", OW_WEB_HTML, &r, msg), 0);
  BODY_IS(r, "<p>");
  ow_web_response_free(&r);
  CHECK_EQ_INT(web_out(OW_STATUS_SUCCESS, "{\"html\":1}", OW_WEB_HTML, &r, msg), 400);
  CHECK(!strcmp(msg, "Response is not valid 'text/html'."));
  /* An application error answers with its error; other errors with 400. */
  CHECK_EQ_INT(web_out(OW_STATUS_APPLICATION_ERROR, "{\"error\":{\"statusCode\":418}}",
                       OW_WEB_HTTP, &r, msg), 0);
  CHECK_EQ_INT(r.status, 418);
  ow_web_response_free(&r);
  CHECK_EQ_INT(web_out(OW_STATUS_APPLICATION_ERROR, "{\"error\":\"e\"}", OW_WEB_JSON, &r, msg),
               400);
  CHECK_EQ_INT(web_out(OW_STATUS_DEVELOPER_ERROR, "{\"error\":\"e\"}", OW_WEB_JSON, &r, msg),
               400);
  CHECK(!strcmp(msg, "There was an error processing your request."));
}

/* ---- routes: /api/v1 in http's table, and list bounds ------------------------------- */

/* The route the table finds for (method, url) and its captures in *r; NULL
 * when none (*methods: those of the patterns that matched). */
static const http_route *route_of(http_server *h, http_req *r, const char *method,
                                  const char *url, unsigned *methods) {
  memset(r, 0, sizeof *r);
  snprintf(r->method, sizeof r->method, "%s", method);
  *methods = 0;
  route_find(h, r, url, methods);
  return *methods ? NULL : r->route;
}

TEST(route_paths) {
  char msg[200];
  http_config hc = {.host = "127.0.0.1"};
  http_server *h = http_new(NULL, &hc, msg, sizeof msg);
  CHECK(h && http_add_mote_routes(h) && ow_add_routes(h));
  http_req *r = calloc(1, sizeof *r);
  unsigned m;
  const http_route *rt;
  CHECK((rt = route_of(h, r, "GET", "/api/v1", &m)) && rt->key == HTTP_KEY_OPEN &&
        rt->dialect == HTTP_DIALECT_OPENWHISK);
  CHECK((rt = route_of(h, r, "GET", "/api/v1/", &m)) && rt->key == HTTP_KEY_OPEN);
  CHECK((rt = route_of(h, r, "GET", "/api/v10", &m)) == NULL && m == 0); /* not /api/v1 */
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces", &m)) && rt->key == HTTP_KEY_REQUIRED);
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces/_/actions", &m)) &&
        rt->handle == ow_actions_list && rt->key == HTTP_KEY_NAMESPACE &&
        !strcmp(http_req_capture(r, "ns"), "_"));
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces/guest/actions/", &m)) &&
        rt->handle == ow_actions_list);
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces/_/actions/echo", &m)) &&
        rt->handle == ow_action_get && !strcmp(http_req_capture(r, "name"), "echo"));
  CHECK((rt = route_of(h, r, "PUT", "/api/v1/namespaces/_/actions/echo", &m)) &&
        rt->handle == ow_action_put_route && (rt->flags & HTTP_ROUTE_DEPLOY) &&
        rt->body_limit > OW_CODE_MAX);
  CHECK((rt = route_of(h, r, "POST", "/api/v1/namespaces/_/actions/echo", &m)) &&
        rt->handle == ow_action_invoke && rt->body_limit == OW_PAYLOAD_MAX);
  CHECK((rt = route_of(h, r, "PATCH", "/api/v1/namespaces/_/actions/echo", &m)) == NULL &&
        m == (HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE | HTTP_POST)); /* 405 */
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces/_/actions/pkg/echo", &m)) &&
        rt->handle == ow_action_in_package);
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces/_/triggers", &m)) &&
        (rt->flags & HTTP_ROUTE_FALLBACK)); /* OpenWhisk's 404 */
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces/_/actions/a/b/c", &m)) &&
        (rt->flags & HTTP_ROUTE_FALLBACK));
  const char *id = "0123456789abcdef0123456789abcdef";
  char url[200];
  snprintf(url, sizeof url, "/api/v1/namespaces/_/activations/%s", id);
  CHECK((rt = route_of(h, r, "GET", url, &m)) && rt->handle == ow_activation_get &&
        !strcmp(http_req_capture(r, "id"), id));
  snprintf(url, sizeof url, "/api/v1/namespaces/_/activations/%s/result", id);
  CHECK((rt = route_of(h, r, "GET", url, &m)) && rt->handle == ow_activation_result);
  snprintf(url, sizeof url, "/api/v1/namespaces/_/activations/%s/logs", id);
  CHECK((rt = route_of(h, r, "GET", url, &m)) && rt->handle == ow_activation_logs);
  CHECK((rt = route_of(h, r, "GET", "/api/v1/namespaces/_/activations/x/other", &m)) &&
        (rt->flags & HTTP_ROUTE_FALLBACK));
  CHECK((rt = route_of(h, r, "DELETE", "/api/v1/web/guest/default/hello.json/a/b", &m)) &&
        rt->handle == ow_web && !strcmp(http_req_capture(r, "ns"), "guest") &&
        !strcmp(http_req_capture(r, "action"), "hello.json") &&
        !strcmp(http_req_capture(r, "rest"), "/a/b"));
  CHECK((rt = route_of(h, r, "GET", "/api/v1/web/guest/pkg/hello", &m)) && rt->handle == ow_web &&
        !strcmp(http_req_capture(r, "package"), "pkg") && !strcmp(http_req_capture(r, "rest"), ""));
  CHECK((rt = route_of(h, r, "GET", "/api/v1/web/guest/default", &m)) &&
        (rt->flags & HTTP_ROUTE_FALLBACK));
  /* mote's own: /faas with and without a path, trailing slashes, 405s */
  CHECK((rt = route_of(h, r, "POST", "/faas/f/x/y", &m)) && rt->handle == faas_call &&
        !strcmp(http_req_capture(r, "name"), "f") && !strcmp(http_req_capture(r, "path"), "/x/y"));
  CHECK((rt = route_of(h, r, "GET", "/faas/f", &m)) && !strcmp(http_req_capture(r, "path"), ""));
  CHECK(route_of(h, r, "HEAD", "/faas/f", &m) == NULL && m == (HTTP_GET | HTTP_POST));
  CHECK(route_of(h, r, "GET", "/faas/", &m) == NULL && m == 0);
  CHECK((rt = route_of(h, r, "GET", "/v1/functions/", &m)) && rt->handle == v1_functions_list);
  CHECK(route_of(h, r, "GET", "/v1/functions/f/", &m) == NULL && m == 0);
  CHECK(route_of(h, r, "POST", "/v1/functions/f", &m) == NULL &&
        m == (HTTP_GET | HTTP_HEAD | HTTP_PUT | HTTP_DELETE));
  free(r);
  http_free(h);
}

TEST(list_bounds) {
  char msg[200];
  uint32_t limit, skip;
  http_param params[2];
  static http_req r;
  memset(&r, 0, sizeof r);
  r.params = params;
  CHECK_EQ_INT(ow_list_bounds(&r, "actions", &limit, &skip, msg, sizeof msg), 0);
  CHECK(limit == OW_LIST_DEFAULT && skip == 0);
  params[0] = (http_param){"limit", "0"};
  params[1] = (http_param){"skip", "7"};
  r.nparams = 2;
  CHECK_EQ_INT(ow_list_bounds(&r, "actions", &limit, &skip, msg, sizeof msg), 0);
  CHECK(limit == OW_LIST_MAX && skip == 7);
  params[0].value = "201";
  CHECK_EQ_INT(ow_list_bounds(&r, "actions", &limit, &skip, msg, sizeof msg), 400);
  CHECK(!strcmp(msg, "The value '201' is not in the range of 0 to 200 for actions."));
  params[0].value = "ten";
  CHECK_EQ_INT(ow_list_bounds(&r, "activations", &limit, &skip, msg, sizeof msg), 400);
  CHECK(!strcmp(msg, "The value 'ten' is not an integer for activations."));
  params[0].value = "5";
  params[1].value = "-2";
  CHECK_EQ_INT(ow_list_bounds(&r, "actions", &limit, &skip, msg, sizeof msg), 400);
  CHECK(!strcmp(msg, "The value '-2' is not greater than or equal to 0 for actions."));
}

/* A /faas record (no meta) shown as an OpenWhisk activation. */
TEST(plain_activation) {
  mote_activation a;
  memset(&a, 0, sizeof a);
  snprintf(a.id, sizeof a.id, "%s", "0123456789abcdef0123456789abcdef");
  a.function = "f";
  a.ns = "guest";
  a.version = 3;
  a.start_ms = 1000;
  a.exec_us = 5000;
  a.http_status = 504;
  a.outcome = "timeout";
  json_t *rec = ow_activation_of(&a);
  CHECK(rec != NULL);
  json_t *resp = json_object_get(rec, "response");
  CHECK(!strcmp(json_string_value(json_object_get(resp, "status")), "action developer error"));
  CHECK(!strcmp(json_string_value(json_object_get(json_object_get(resp, "result"), "error")),
                "timeout"));
  CHECK_EQ_INT(json_integer_value(json_object_get(rec, "end")), 1005);
  CHECK(!strcmp(json_string_value(json_object_get(rec, "version")), "0.0.3"));
  json_decref(rec);
  a.http_status = 200;
  a.meta = "{\"activationId\":\"kept\"}"; /* an /api/v1 record: its meta, as it is */
  rec = ow_activation_of(&a);
  CHECK(!strcmp(json_string_value(json_object_get(rec, "activationId")), "kept"));
  json_decref(rec);
}

RUN_TESTS(create_from_module, create_from_zip, exec_refused, limits_ranges, update_merges,
          meta_and_records, outcome_success, outcome_errors, outcome_log_limit, activation_record,
          invoke_input, web_split, web_input, web_output,
          route_paths, list_bounds, plain_activation)
