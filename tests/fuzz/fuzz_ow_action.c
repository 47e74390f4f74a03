/*
 * libFuzzer target for an OpenWhisk action's PUT body (src/openwhisk/
 * ow_action.c): any bytes parsed and checked as the body of
 * PUT /api/v1/namespaces/NS/actions/NAME (exec with its base64 code, a
 * module or a zip extracted by core/bundle.c, parameters, annotations,
 * limits, publish, version), then made into an action on its own and over
 * an older one, kept as meta text and read back. A crash, a sanitizer report
 * or a leak is a bug, and so is:
 *   - a refusal that is not 400, 413 or 500, or says nothing;
 *   - an accepted exec without code, or a zip without its module;
 *   - limits given outside OpenWhisk's ranges, accepted;
 *   - an action whose meta does not read back as the same action.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openwhisk/openwhisk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_limits(const ow_action_put *p) {
  const ow_limits *l = &p->limits;
  if (p->has_timeout && (l->timeout_ms < OW_TIMEOUT_MIN || l->timeout_ms > OW_TIMEOUT_MAX)) abort();
  if (p->has_memory && (l->memory_mb < OW_MEMORY_MIN || l->memory_mb > OW_MEMORY_MAX)) abort();
  if (p->has_logs && l->logs_mb > OW_LOGS_MAX) abort();
  if (p->has_concurrency &&
      (l->concurrency < OW_CONCURRENCY_MIN || l->concurrency > OW_CONCURRENCY_MAX))
    abort();
}

/* The action made from p, kept as meta and read back: the same. */
static void round_trip(const ow_action *a) {
  char *meta = ow_action_meta_dump(a);
  if (!meta) return; /* out of memory */
  mote_function_settings st = {0};
  ow_action_settings(a, NULL, &st);
  ow_action b;
  if (!ow_action_from_meta(meta, &st, &b)) abort();
  if (strcmp(a->kind, b.kind) || strcmp(a->semver, b.semver) || a->publish != b.publish ||
      a->code != b.code || memcmp(&a->limits, &b.limits, sizeof a->limits) ||
      !json_equal(a->parameters, b.parameters) || !json_equal(a->annotations, b.annotations) ||
      (a->main == NULL) != (b.main == NULL) || (a->main && strcmp(a->main, b.main)))
    abort();
  json_t *rec = ow_action_json(&b, "guest", "f", 1, NULL);
  json_t *sum = ow_action_summary_json(&b, "guest", "f", 1);
  json_decref(rec);
  json_decref(sum);
  ow_action_clear(&b);
  free(meta);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ow_action_put p;
  char msg[600];
  msg[0] = '\0';
  int rc = ow_action_put_parse(data, size, &p, msg, sizeof msg);
  if (rc != 0) {
    if ((rc != 400 && rc != 413 && rc != 500) || !msg[0]) abort();
    return 0;
  }
  if (p.has_exec && (!p.code || p.code_len == 0)) abort();
  if (p.has_exec && p.code_kind == OW_CODE_ZIP && !p.bundle.module) abort();
  check_limits(&p);
  /* created from it alone, then over an older action */
  ow_action a, old;
  if (ow_action_make(&p, NULL, &a, msg, sizeof msg) == 0) {
    round_trip(&a);
    ow_action_clear(&a);
  } else if (p.has_exec) {
    abort(); /* a create needs only exec */
  }
  if (ow_action_from_meta("{\"kind\":\"" OW_KIND "\",\"semver\":\"1.2.3\",\"main\":\"m\"}", NULL,
                          &old)) {
    if (ow_action_make(&p, &old, &a, msg, sizeof msg) != 0) abort(); /* an update always can */
    round_trip(&a);
    ow_action_clear(&a);
    ow_action_clear(&old);
  }
  ow_action_put_free(&p);
  return 0;
}
