/*
 * ow_action_routes: /api/v1/namespaces/{ns}/actions[/{name}]: list, get,
 * put (create, or update with overwrite=true) and delete.
 *
 * An action is a function: a PUT deploys a new version through the same
 * path as PUT /v1/functions (core_deploy: files, the loader, the store and
 * the registry under the deploy lock), with the action's OpenWhisk fields as
 * the version's meta (ow_action.c) and its timeout and memory as the
 * version's settings. Every PUT makes a version, an update without exec
 * too: it deploys the previous code again (the zip kept as it was sent, or
 * the module) with the new fields, and the calls in flight finish on the
 * version they started with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "openwhisk/ow_internal.h"

static char *base64(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
  char *b = malloc(cap);
  if (b) sodium_bin2base64(b, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
  return b;
}

/* The bytes exec.code shows: the zip as sent, else the module. *out from
 * malloc. */
static mote_store_status code_bytes(mote_core *c, const mote_function_version *v,
                                    const ow_action *a, uint8_t **out, size_t *len,
                                    mote_store_error *e) {
  return mote_store_blob_read(core_store(c), a->zip_hash[0] ? a->zip_hash : v->module_hash, out,
                              len, e);
}

/* The latest version of the path's action in the path's namespace (the
 * caller's: the route table checked {ns}): true with *v filled, or false
 * with a reply queued. */
static bool find(http_req *r, mote_function_version *v, http_result *res) {
  memset(v, 0, sizeof *v);
  const char *name = ow_name(r);
  if (!name) return (*res = http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND)), false;
  mote_store_error e;
  mote_store_status st = mote_store_get(core_store(http_req_core(r)), ow_ns(r), name, v, &e);
  if (st == MOTE_STORE_NOT_FOUND)
    return (*res = http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND)), false;
  if (st != MOTE_STORE_OK) return (*res = http_reply_error(r, 500, NULL, "%s", e.message)), false;
  return true;
}

/* ---- list ----------------------------------------------------------------------- */

static int by_updated(const void *x, const void *y) {
  const mote_function_version *a = x, *b = y;
  if (a->created_ms != b->created_ms) return a->created_ms > b->created_ms ? -1 : 1;
  return strcmp(a->name, b->name);
}

http_result ow_actions_list(void *ctx, http_req *r) {
  (void)ctx;
  char msg[200];
  uint32_t limit, skip;
  if (ow_list_bounds(r, "actions", &limit, &skip, msg, sizeof msg))
    return http_reply_error(r, 400, NULL, "%s", msg);
  mote_function_version *list = NULL;
  size_t n = 0;
  mote_store_error e;
  if (mote_store_list(core_store(http_req_core(r)), ow_ns(r), &list, &n, &e) != MOTE_STORE_OK)
    return http_reply_error(r, 500, NULL, "%s", e.message);
  json_t *out;
  if (http_req_param_true(r, "count")) {
    out = json_pack("{s:I}", "actions", (json_int_t)n);
  } else {
    /* OpenWhisk lists the most recently updated first. */
    if (n) qsort(list, n, sizeof *list, by_updated);
    out = json_array();
    for (size_t i = skip; out && i < n && i - skip < limit; i++) {
      ow_action a;
      if (!ow_action_from_meta(list[i].meta, &list[i].settings, &a)) continue;
      json_array_append_new(out, ow_action_summary_json(&a, list[i].ns, list[i].name,
                                                        list[i].created_ms));
      ow_action_clear(&a);
    }
  }
  for (size_t i = 0; i < n; i++) mote_function_version_clear(&list[i]);
  free(list);
  if (!out) return http_reply_error(r, 500, NULL, "out of memory");
  return http_reply_json(r, 200, out);
}

/* ---- get ------------------------------------------------------------------------- */

http_result ow_action_get(void *ctx, http_req *r) {
  (void)ctx;
  mote_function_version v;
  http_result res;
  if (!find(r, &v, &res)) return res;
  ow_action a;
  if (!ow_action_from_meta(v.meta, &v.settings, &a)) {
    mote_function_version_clear(&v);
    return http_reply_error(r, 500, NULL, "The action's record cannot be read.");
  }
  const char *code = http_req_param(r, "code");
  char *b64 = NULL;
  if (!code || strcmp(code, "false") != 0) {
    uint8_t *bytes = NULL;
    size_t len = 0;
    mote_store_error e;
    if (code_bytes(http_req_core(r), &v, &a, &bytes, &len, &e) != MOTE_STORE_OK) {
      ow_action_clear(&a);
      mote_function_version_clear(&v);
      return http_reply_error(r, 500, NULL, "The action's code cannot be read: %s", e.message);
    }
    b64 = base64(bytes, len);
    free(bytes);
  }
  json_t *o = ow_action_json(&a, v.ns, v.name, v.created_ms, b64);
  free(b64);
  ow_action_clear(&a);
  mote_function_version_clear(&v);
  if (!o) return http_reply_error(r, 500, NULL, "out of memory");
  return http_reply_json(r, 200, o);
}

/* ---- put ------------------------------------------------------------------------- */

/* What a PUT deploys: the module, the files, and the bytes exec.code shows. */
typedef struct put_code {
  const uint8_t *wasm;
  size_t len;
  const mote_store_file *files;
  size_t nfiles;
  const uint8_t *shown;
  size_t shown_len;
  uint8_t *owned;     /* bytes read back for an update without exec */
  core_bundle bundle; /* their extraction, when a zip */
} put_code;

static void put_code_free(put_code *pc) {
  free(pc->owned);
  core_bundle_free(&pc->bundle);
}

/* The code of an update without exec: the previous version's. 0, or a
 * status with msg. */
static int previous_code(mote_core *c, const mote_function_version *old, const ow_action *a,
                         put_code *pc, char *msg, size_t cap) {
  mote_store_error e;
  if (!a->zip_hash[0] && old->files_hash) {
    snprintf(msg, cap, "exec undefined: the function's files were deployed through /v1; send "
             "its code with the update");
    return 400;
  }
  /* The zip goes on being named, by the new version: held against sweeps
   * (the action deleted meanwhile would have let it go). */
  if (a->zip_hash[0] && !mote_store_hold(core_store(c), a->zip_hash, NULL)) {
    snprintf(msg, cap, "The action's code is gone (deleted meanwhile?): send it with the update");
    return 409;
  }
  if (code_bytes(c, old, a, &pc->owned, &pc->shown_len, &e) != MOTE_STORE_OK) {
    snprintf(msg, cap, "The action's code cannot be read: %s", e.message);
    return 500;
  }
  pc->shown = pc->owned;
  if (!a->zip_hash[0]) {
    pc->wasm = pc->owned;
    pc->len = pc->shown_len;
    return 0;
  }
  if (!core_bundle_extract(pc->owned, pc->shown_len, CORE_BODY_ZIP, &pc->bundle, msg, cap))
    return 500;
  pc->wasm = pc->bundle.module;
  pc->len = pc->bundle.module_len;
  pc->files = pc->bundle.files;
  pc->nfiles = pc->bundle.nfiles;
  return 0;
}

http_result ow_action_put_route(void *ctx, http_req *r) {
  (void)ctx;
  mote_core *c = http_req_core(r);
  const char *name = ow_name(r);
  char msg[1200];
  if (!name)
    return http_reply_error(r, 400, NULL, "The action name is not valid here: 1 to 64 of A-Z "
                            "a-z 0-9 _ . -, not starting with '.' or '-'.");
  const char *ns = ow_ns(r);
  size_t body_len;
  const uint8_t *body = http_req_body(r, &body_len);
  ow_action_put put;
  int status = ow_action_put_parse(body, body_len, &put, msg, sizeof msg);
  if (status) return http_reply_error(r, (unsigned)status, NULL, "%s", msg);
  mote_function_version old;
  memset(&old, 0, sizeof old);
  mote_store_error e;
  mote_store_status gst = mote_store_get(core_store(c), ns, name, &old, &e);
  bool exists = gst == MOTE_STORE_OK;
  ow_action prev, a;
  memset(&prev, 0, sizeof prev);
  memset(&a, 0, sizeof a);
  put_code pc;
  memset(&pc, 0, sizeof pc);
  char *meta = NULL, *b64 = NULL;
  core_fn *fn = NULL;
  if (gst != MOTE_STORE_OK && gst != MOTE_STORE_NOT_FOUND) {
    status = 500;
    snprintf(msg, sizeof msg, "%s", e.message);
    goto done;
  }
  if (exists && !http_req_param_true(r, "overwrite")) {
    status = 409;
    snprintf(msg, sizeof msg, OW_MSG_EXISTS);
    goto done;
  }
  if (exists && !ow_action_from_meta(old.meta, &old.settings, &prev)) {
    status = 500;
    snprintf(msg, sizeof msg, "The action's record cannot be read.");
    goto done;
  }
  if ((status = ow_action_make(&put, exists ? &prev : NULL, &a, msg, sizeof msg))) goto done;
  if (put.has_exec) {
    pc.shown = put.code;
    pc.shown_len = put.code_len;
    if (put.code_kind == OW_CODE_ZIP) {
      char hash[MOTE_STORE_HASH_HEX];
      if (mote_store_put_blob(core_store(c), put.code, put.code_len, hash, &e) != MOTE_STORE_OK) {
        status = 500;
        snprintf(msg, sizeof msg, "%s", e.message);
        goto done;
      }
      snprintf(a.zip_hash, sizeof a.zip_hash, "%s", hash);
      pc.wasm = put.bundle.module;
      pc.len = put.bundle.module_len;
      pc.files = put.bundle.files;
      pc.nfiles = put.bundle.nfiles;
    } else {
      pc.wasm = put.code;
      pc.len = put.code_len;
    }
  } else if ((status = previous_code(c, &old, &a, &pc, msg, sizeof msg))) {
    goto done;
  }
  mote_function_settings st;
  ow_action_settings(&a, exists ? &old.settings : NULL, &st);
  if (!(meta = ow_action_meta_dump(&a)) || !(b64 = base64(pc.shown, pc.shown_len))) {
    status = 500;
    snprintf(msg, sizeof msg, "out of memory");
    goto done;
  }
  core_deploy_req req = {.ns = ns, .name = name, .wasm = pc.wasm, .len = pc.len,
                         .files = pc.files, .nfiles = pc.nfiles, .settings = &st, .meta = meta};
  mote_core_error err;
  mote_core_status cst = http_core_deploy(r, &req, &fn, &err); /* a client gone abandons it */
  if (cst != MOTE_CORE_OK) {
    status = (int)http_status_of(err.status);
    snprintf(msg, sizeof msg, "%s", err.message);
  }
done:;
  http_result res;
  if (status) {
    res = http_reply_error(r, (unsigned)status, NULL, "%s", msg);
  } else {
    json_t *o = ow_action_json(&a, ns, name, core_fn_record(fn)->created_ms, b64);
    res = o ? http_reply_json(r, 200, o) : http_reply_error(r, 500, NULL, "out of memory");
  }
  core_fn_release(fn);
  free(meta);
  free(b64);
  put_code_free(&pc);
  ow_action_clear(&a);
  ow_action_clear(&prev);
  mote_function_version_clear(&old);
  ow_action_put_free(&put);
  return res;
}

/* {package}/{name}: OpenWhisk's packages are not supported. */
http_result ow_action_in_package(void *ctx, http_req *r) {
  (void)ctx;
  if (!strcmp(http_req_method(r), "PUT"))
    return http_reply_error(r, 400, NULL,
                            "Packages are not supported: name the action without one.");
  return http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND);
}

/* ---- delete ------------------------------------------------------------------------ */

http_result ow_action_delete(void *ctx, http_req *r) {
  (void)ctx;
  mote_function_version v;
  http_result res;
  if (!find(r, &v, &res)) return res;
  ow_action a;
  json_t *o = NULL;
  if (ow_action_from_meta(v.meta, &v.settings, &a)) {
    o = ow_action_json(&a, v.ns, v.name, v.created_ms, NULL);
    ow_action_clear(&a);
  }
  mote_function_version_clear(&v);
  mote_core_error err;
  mote_core_status st = core_delete(http_req_core(r), ow_ns(r), ow_name(r), &err);
  if (st != MOTE_CORE_OK) {
    json_decref(o);
    if (st == MOTE_CORE_NOT_FOUND) return http_reply_error(r, 404, NULL, OW_MSG_NOT_FOUND);
    return http_reply_error(r, 500, NULL, "%s", err.message);
  }
  if (!o) return http_reply_error(r, 500, NULL, "out of memory");
  return http_reply_json(r, 200, o);
}
