/*
 * ow_action_routes: /api/v1/namespaces/{ns}/actions[/{name}]: list, get,
 * put (create, or update with overwrite=true) and delete.
 *
 * An action is a function: a PUT deploys a new version through the same
 * path as PUT /v1/functions (deploy_version: files, fn_load, the store and
 * the registry under deploy_lock), with the action's OpenWhisk fields as
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

#include "server/openwhisk.h"

static char *base64(const uint8_t *p, size_t n) {
  size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
  char *b = malloc(cap);
  if (b) sodium_bin2base64(b, cap, p, n, sodium_base64_VARIANT_ORIGINAL);
  return b;
}

/* The bytes exec.code shows: the zip as sent, else the module. *out from
 * malloc. */
static mote_store_status code_bytes(mote_server *s, const mote_function_version *v,
                                    const ow_action *a, uint8_t **out, size_t *len,
                                    mote_store_error *e) {
  return mote_store_blob_read(s->store, a->zip_hash[0] ? a->zip_hash : v->module_hash, out, len,
                              e);
}

/* The latest version of p's action, checked against the caller's namespace:
 * 0 with *v filled, or the status of a reply queued. */
static int find(mote_server *s, struct MHD_Connection *c, srv_req *r, const ow_path *p,
                mote_function_version *v, enum MHD_Result *res) {
  memset(v, 0, sizeof *v);
  if (!p->name_ok) return (*res = ow_reply_error(c, 404, OW_MSG_NOT_FOUND)), 404;
  mote_store_error e;
  mote_store_status st = mote_store_get(s->store, p->name, v, &e);
  if (st == MOTE_STORE_NOT_FOUND) return (*res = ow_reply_error(c, 404, OW_MSG_NOT_FOUND)), 404;
  if (st != MOTE_STORE_OK) return (*res = ow_reply_error(c, 500, "%s", e.message)), 500;
  if (strcmp(v->ns, ow_path_ns(p, r)) != 0) {
    mote_function_version_clear(v);
    return (*res = ow_reply_error(c, 403, OW_MSG_FORBIDDEN)), 403;
  }
  return 0;
}

/* ---- list ----------------------------------------------------------------------- */

static int by_updated(const void *x, const void *y) {
  const mote_function_version *a = x, *b = y;
  if (a->created_ms != b->created_ms) return a->created_ms > b->created_ms ? -1 : 1;
  return strcmp(a->name, b->name);
}

enum MHD_Result ow_actions_list(mote_server *s, struct MHD_Connection *c, srv_req *r,
                                const ow_path *p) {
  char msg[200];
  uint32_t limit, skip;
  if (ow_list_bounds(r, "actions", &limit, &skip, msg, sizeof msg))
    return ow_reply_error(c, 400, "%s", msg);
  mote_function_version *list = NULL;
  size_t n = 0;
  mote_store_error e;
  if (mote_store_list(s->store, ow_path_ns(p, r), &list, &n, &e) != MOTE_STORE_OK)
    return ow_reply_error(c, 500, "%s", e.message);
  json_t *out;
  if (ow_query_true(r, "count")) {
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
  if (!out) return ow_reply_error(c, 500, "out of memory");
  return reply_json(c, 200, out);
}

/* ---- get ------------------------------------------------------------------------- */

enum MHD_Result ow_action_get(mote_server *s, struct MHD_Connection *c, srv_req *r,
                              const ow_path *p) {
  mote_function_version v;
  enum MHD_Result res;
  if (find(s, c, r, p, &v, &res)) return res;
  ow_action a;
  if (!ow_action_from_meta(v.meta, &v.settings, &a)) {
    mote_function_version_clear(&v);
    return ow_reply_error(c, 500, "The action's record cannot be read.");
  }
  const char *code = query_get(r, "code");
  char *b64 = NULL;
  if (!code || strcmp(code, "false") != 0) {
    uint8_t *bytes = NULL;
    size_t len = 0;
    mote_store_error e;
    if (code_bytes(s, &v, &a, &bytes, &len, &e) != MOTE_STORE_OK) {
      ow_action_clear(&a);
      mote_function_version_clear(&v);
      return ow_reply_error(c, 500, "The action's code cannot be read: %s", e.message);
    }
    b64 = base64(bytes, len);
    free(bytes);
  }
  json_t *o = ow_action_json(&a, v.ns, v.name, v.created_ms, b64);
  free(b64);
  ow_action_clear(&a);
  mote_function_version_clear(&v);
  if (!o) return ow_reply_error(c, 500, "out of memory");
  return reply_json(c, 200, o);
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
  srv_bundle bundle;  /* their extraction, when a zip */
} put_code;

static void put_code_free(put_code *pc) {
  free(pc->owned);
  bundle_free(&pc->bundle);
}

/* The code of an update without exec: the previous version's. 0, or a
 * status with msg. */
static int previous_code(mote_server *s, const mote_function_version *old, const ow_action *a,
                         put_code *pc, char *msg, size_t cap) {
  mote_store_error e;
  if (!a->zip_hash[0] && old->files_hash) {
    snprintf(msg, cap, "exec undefined: the function's files were deployed through /v1; send "
             "its code with the update");
    return 400;
  }
  if (code_bytes(s, old, a, &pc->owned, &pc->shown_len, &e) != MOTE_STORE_OK) {
    snprintf(msg, cap, "The action's code cannot be read: %s", e.message);
    return 500;
  }
  pc->shown = pc->owned;
  if (!a->zip_hash[0]) {
    pc->wasm = pc->owned;
    pc->len = pc->shown_len;
    return 0;
  }
  if (!bundle_extract(pc->owned, pc->shown_len, SRV_BODY_ZIP, &pc->bundle, msg, cap)) return 500;
  pc->wasm = pc->bundle.module;
  pc->len = pc->bundle.module_len;
  pc->files = pc->bundle.files;
  pc->nfiles = pc->bundle.nfiles;
  return 0;
}

enum MHD_Result ow_action_put_route(mote_server *s, struct MHD_Connection *c, srv_req *r,
                              const ow_path *p) {
  char msg[1200];
  if (p->package) {
    metrics_deploy(s->metrics, false);
    return ow_reply_error(c, 400, "Packages are not supported: name the action without one.");
  }
  if (!p->name_ok) {
    metrics_deploy(s->metrics, false);
    return ow_reply_error(c, 400, "The action name is not valid here: 1 to 64 of A-Z a-z 0-9 _ "
                          ". -, not starting with '.' or '-'.");
  }
  const char *ns = ow_path_ns(p, r);
  ow_action_put put;
  int status = ow_action_put_parse(r->body, r->len, &put, msg, sizeof msg);
  if (status) {
    metrics_deploy(s->metrics, false);
    return ow_reply_error(c, (unsigned)status, "%s", msg);
  }
  mote_function_version old;
  memset(&old, 0, sizeof old);
  mote_store_error e;
  mote_store_status gst = mote_store_get(s->store, p->name, &old, &e);
  bool exists = gst == MOTE_STORE_OK;
  ow_action prev, a;
  memset(&prev, 0, sizeof prev);
  memset(&a, 0, sizeof a);
  put_code pc;
  memset(&pc, 0, sizeof pc);
  char *meta = NULL, *b64 = NULL;
  srv_fn *fn = NULL;
  if (gst != MOTE_STORE_OK && gst != MOTE_STORE_NOT_FOUND) {
    status = 500;
    snprintf(msg, sizeof msg, "%s", e.message);
    goto done;
  }
  if (exists && strcmp(old.ns, ns) != 0) {
    status = 403;
    snprintf(msg, sizeof msg, OW_MSG_FORBIDDEN);
    goto done;
  }
  if (exists && !ow_query_true(r, "overwrite")) {
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
      if (mote_store_put_blob(s->store, put.code, put.code_len, hash, &e) != MOTE_STORE_OK) {
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
  } else if ((status = previous_code(s, &old, &a, &pc, msg, sizeof msg))) {
    goto done;
  }
  mote_function_settings st;
  ow_action_settings(&a, exists ? &old.settings : NULL, &st);
  if (!(meta = ow_action_meta_dump(&a)) || !(b64 = base64(pc.shown, pc.shown_len))) {
    status = 500;
    snprintf(msg, sizeof msg, "out of memory");
    goto done;
  }
  const char *code = NULL;
  status = deploy_version(s, ns, p->name, pc.wasm, pc.len, pc.files, pc.nfiles, &st, meta, &fn,
                          &code, msg, sizeof msg);
  if (status == 403) snprintf(msg, sizeof msg, OW_MSG_FORBIDDEN);
done:;
  enum MHD_Result res;
  if (status) {
    metrics_deploy(s->metrics, false);
    res = ow_reply_error(c, (unsigned)status, "%s", msg);
  } else {
    metrics_deploy(s->metrics, true);
    json_t *o = ow_action_json(&a, ns, p->name, fn->rec.created_ms, b64);
    res = o ? reply_json(c, 200, o) : ow_reply_error(c, 500, "out of memory");
  }
  if (fn) fn_release(fn);
  free(meta);
  free(b64);
  put_code_free(&pc);
  ow_action_clear(&a);
  ow_action_clear(&prev);
  mote_function_version_clear(&old);
  ow_action_put_free(&put);
  return res;
}

/* ---- delete ------------------------------------------------------------------------ */

enum MHD_Result ow_action_delete(mote_server *s, struct MHD_Connection *c, srv_req *r,
                                 const ow_path *p) {
  mote_function_version v;
  enum MHD_Result res;
  if (find(s, c, r, p, &v, &res)) return res;
  ow_action a;
  json_t *o = NULL;
  if (ow_action_from_meta(v.meta, &v.settings, &a)) {
    o = ow_action_json(&a, v.ns, v.name, v.created_ms, NULL);
    ow_action_clear(&a);
  }
  mote_function_version_clear(&v);
  mote_store_error e;
  pthread_mutex_lock(&s->deploy_lock);
  mote_store_status st = mote_store_delete(s->store, ow_path_ns(p, r), p->name, &e);
  if (st == MOTE_STORE_OK) registry_remove(s->reg, p->name);
  pthread_mutex_unlock(&s->deploy_lock);
  if (st != MOTE_STORE_OK) json_decref(o);
  if (st == MOTE_STORE_NOT_FOUND) return ow_reply_error(c, 404, OW_MSG_NOT_FOUND);
  if (st == MOTE_STORE_FORBIDDEN) return ow_reply_error(c, 403, OW_MSG_FORBIDDEN);
  if (st != MOTE_STORE_OK) return ow_reply_error(c, 500, "%s", e.message);
  if (!o) return ow_reply_error(c, 500, "out of memory");
  return reply_json(c, 200, o);
}
