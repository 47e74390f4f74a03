/*
 * blobs: the bytes of versions and compiled objects, moved between nodes.
 * Module bytes and bundle files never go into etcd (a request there is at
 * most 1.5 MiB): nodes pull them from each other by content hash, and
 * every byte received is checked against the hash that names it before it
 * is stored.
 *
 *   GET|PUT /cluster/v1/blobs/{hash}              a module (the blob's hash)
 *   GET|PUT /cluster/v1/bundles/{module}/{files}  a module and its files, as a
 *                                                 tar with main.wasm at its root
 *                                                 (the files' directory hash)
 *   GET     /cluster/v1/objects/{key}             a compiled object of the cache
 *
 * Every one of these wants the cluster secret (CLUSTER_SECRET_HEADER), made
 * by the first node in etcd: a request without it is 401 before its body
 * is read. A bundle received is read by the same checked extractor as a
 * deploy's (core_bundle_extract: paths, types, sizes) and its files hashed
 * again by the store, which must give the hash the record names.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/hash.h"
#include "cluster/cluster_internal.h"

#define BUNDLE_PUT_MAX ((size_t)HTTP_MAX_BUNDLE + CORE_MAX_MODULE + (64u << 20))

/* ---- tar of a version ---------------------------------------------------------------- */

typedef struct growing {
  uint8_t *p;
  size_t len, cap;
} growing;

static la_ssize_t tar_write(struct archive *a, void *ctx, const void *data, size_t n) {
  (void)a;
  growing *g = ctx;
  if (g->len + n > g->cap) {
    size_t ncap = g->cap ? g->cap : 65536;
    while (ncap < g->len + n) ncap *= 2;
    uint8_t *p = realloc(g->p, ncap);
    if (!p) return -1;
    g->p = p;
    g->cap = ncap;
  }
  memcpy(g->p + g->len, data, n);
  g->len += n;
  return (la_ssize_t)n;
}

static bool add_entry(struct archive *a, const char *path, const uint8_t *data, size_t len) {
  struct archive_entry *e = archive_entry_new();
  if (!e) return false;
  archive_entry_set_pathname(e, path);
  archive_entry_set_size(e, (la_int64_t)len);
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0444);
  bool ok = archive_write_header(a, e) == ARCHIVE_OK &&
            (len == 0 || archive_write_data(a, data, len) == (la_ssize_t)len);
  archive_entry_free(e);
  return ok;
}

bool blobs_tar(mote_cluster *cl, const char *module_hash, const char *files_hash, uint8_t **out,
               size_t *len, char *msg, size_t cap) {
  mote_store *s = core_store(cl->core);
  mote_store_error se;
  uint8_t *wasm = NULL;
  size_t wlen = 0;
  if (mote_store_blob_read(s, module_hash, &wasm, &wlen, &se) != MOTE_STORE_OK) {
    snprintf(msg, cap, "%s", se.message);
    return false;
  }
  growing g = {0};
  struct archive *a = archive_write_new();
  bool ok = a && archive_write_set_format_pax_restricted(a) == ARCHIVE_OK &&
            archive_write_add_filter_none(a) == ARCHIVE_OK &&
            archive_write_set_bytes_in_last_block(a, 1) == ARCHIVE_OK &&
            archive_write_open(a, &g, NULL, tar_write, NULL) == ARCHIVE_OK &&
            add_entry(a, CORE_BUNDLE_MODULE, wasm, wlen);
  free(wasm);
  char root[PATH_MAX];
  mote_store_files_path(s, files_hash, root, sizeof root);
  char *const roots[] = {root, NULL};
  FTS *fts = ok ? fts_open(roots, FTS_PHYSICAL | FTS_NOCHDIR, NULL) : NULL;
  if (ok && !fts) ok = false;
  size_t rlen = strlen(root);
  for (FTSENT *f; ok && fts && (f = fts_read(fts));) {
    if (f->fts_info != FTS_F) {
      if (f->fts_info == FTS_DNR || f->fts_info == FTS_ERR || f->fts_info == FTS_NS) ok = false;
      continue;
    }
    size_t flen = 0;
    uint8_t *data = mote_read_file(f->fts_path, &flen);
    ok = data && add_entry(a, f->fts_path + rlen + 1, data, flen);
    free(data);
  }
  if (fts) fts_close(fts);
  if (a && archive_write_close(a) != ARCHIVE_OK) ok = false;
  if (a) archive_write_free(a);
  if (!ok) {
    free(g.p);
    snprintf(msg, cap, "cannot read the files %s of this node", files_hash);
    return false;
  }
  *out = g.p;
  *len = g.len;
  return true;
}

bool blobs_untar(mote_cluster *cl, const uint8_t *tar, size_t len, const char *module_hash,
                 const char *files_hash, char *msg, size_t cap) {
  core_bundle b;
  if (!core_bundle_extract(tar, len, CORE_BODY_TAR, &b, msg, cap)) return false;
  char have[MOTE_HASH_HEX];
  mote_store_error se;
  mote_store *s = core_store(cl->core);
  bool ok = false;
  mote_hash_bytes(b.module, b.module_len, have);
  if (strcmp(have, module_hash) != 0) {
    snprintf(msg, cap, "the module received hashes to %s, not %s", have, module_hash);
  } else if (mote_store_put_blob(s, b.module, b.module_len, have, &se) != MOTE_STORE_OK) {
    snprintf(msg, cap, "%s", se.message);
  } else if (files_hash && !b.nfiles) {
    snprintf(msg, cap, "the bundle received has no files");
  } else if (files_hash && mote_store_put_files(s, b.files, b.nfiles, have, &se) != MOTE_STORE_OK) {
    snprintf(msg, cap, "%s", se.message);
  } else if (files_hash && strcmp(have, files_hash) != 0) {
    snprintf(msg, cap, "the files received hash to %s, not %s", have, files_hash);
  } else {
    ok = true;
  }
  core_bundle_free(&b);
  return ok;
}

/* ---- moving them ------------------------------------------------------------------------ */

bool blobs_push(mote_cluster *cl, const cl_node *to, const char *module_hash,
                const char *files_hash, char *msg, size_t cap) {
  char path[256];
  uint8_t *body = NULL;
  size_t len = 0;
  mote_store_error se;
  bool ok;
  if (files_hash) {
    ok = blobs_tar(cl, module_hash, files_hash, &body, &len, msg, cap);
    snprintf(path, sizeof path, "/cluster/v1/bundles/%s/%s", module_hash, files_hash);
  } else {
    ok = mote_store_blob_read(core_store(cl->core), module_hash, &body, &len, &se) ==
         MOTE_STORE_OK;
    if (!ok) snprintf(msg, cap, "%s", se.message);
    snprintf(path, sizeof path, "/cluster/v1/blobs/%s", module_hash);
  }
  ok = ok && peer_put(cl, to->url, path, body, len, msg, cap) == PEER_OK;
  free(body);
  return ok;
}

bool blobs_pull(mote_cluster *cl, const cl_fn *f, char *msg, size_t cap) {
  const mote_function_version *v = &f->rec;
  cl_node *nodes = NULL;
  size_t n = view_nodes(cl->view, &nodes);
  /* the holders first, then every other live node */
  const cl_node **from = malloc((n ? n : 1) * sizeof *from);
  size_t k = 0;
  for (unsigned h = 0; from && h < f->nholders; h++)
    for (size_t i = 0; i < n; i++)
      if (!strcmp(nodes[i].name, f->holders[h]) && strcmp(nodes[i].name, cl->node)) from[k++] = &nodes[i];
  for (size_t i = 0; from && i < n; i++) {
    bool holder = false;
    for (unsigned h = 0; h < f->nholders; h++) holder |= !strcmp(nodes[i].name, f->holders[h]);
    if (!holder && strcmp(nodes[i].name, cl->node)) from[k++] = &nodes[i];
  }
  char path[256];
  if (v->files_hash)
    snprintf(path, sizeof path, "/cluster/v1/bundles/%s/%s", v->module_hash, v->files_hash);
  else
    snprintf(path, sizeof path, "/cluster/v1/blobs/%s", v->module_hash);
  snprintf(msg, cap, "no live peer has its bytes");
  bool ok = false;
  for (size_t i = 0; i < k && !ok; i++) {
    uint8_t *body = NULL;
    size_t len = 0;
    char why[400];
    peer_status st = peer_get(cl, from[i]->url, path, &body, &len, why, sizeof why);
    if (st == PEER_OK) {
      if (v->files_hash) {
        ok = blobs_untar(cl, body, len, v->module_hash, v->files_hash, why, sizeof why);
      } else {
        char have[MOTE_HASH_HEX];
        mote_store_error se;
        mote_hash_bytes(body, len, have);
        ok = !strcmp(have, v->module_hash) &&
             mote_store_put_blob(core_store(cl->core), body, len, have, &se) == MOTE_STORE_OK;
        if (!ok) snprintf(why, sizeof why, "%s sent bytes that hash to %s, not %s", from[i]->name,
                          have, v->module_hash);
      }
    }
    if (!ok && st != PEER_NOT_FOUND) snprintf(msg, cap, "%s", why);
    free(body);
  }
  free(from);
  free(nodes);
  return ok;
}

/* ---- the routes --------------------------------------------------------------------------- */

/* Before the body: the secret, compared in constant time. */
static bool check_secret(void *ctx, http_req *r, http_result *res) {
  mote_cluster *cl = ctx;
  char secret[CL_SECRET_HEX];
  const char *got = http_req_header(r, CLUSTER_SECRET_HEADER);
  if (!view_secret(cl->view, secret)) {
    *res = http_reply_error(r, 503, "cluster_unavailable",
                            "this node has not reached the cluster's etcd yet");
    return true;
  }
  bool ok = got && strlen(got) == CL_SECRET_HEX - 1 &&
            sodium_memcmp(got, secret, CL_SECRET_HEX - 1) == 0;
  sodium_memzero(secret, sizeof secret);
  if (!ok) {
    *res = http_reply_error(r, 401, "unauthorized",
                            "the cluster's peer routes want the cluster secret in %s",
                            CLUSTER_SECRET_HEADER);
    return true;
  }
  const char *names[] = {"hash", "module", "files", "key"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    const char *v = http_req_capture(r, names[i]);
    if (v && !mote_is_hash_hex(v)) {
      *res = http_reply_error(r, 404, "not_found", "\"%s\" is not a hash", v);
      return true;
    }
  }
  return false;
}

static http_result reply_bytes(http_req *r, uint8_t *bytes, size_t len) {
  http_response *resp = http_response_new(bytes, len, true);
  if (!resp) return http_reply_error(r, 500, "internal", "out of memory");
  http_response_header(resp, "Content-Type", "application/octet-stream");
  return http_reply(r, 200, resp);
}

static http_result blob_get(void *ctx, http_req *r) {
  mote_cluster *cl = ctx;
  uint8_t *bytes = NULL;
  size_t len = 0;
  mote_store_error se;
  mote_store_status st =
      mote_store_blob_read(core_store(cl->core), http_req_capture(r, "hash"), &bytes, &len, &se);
  if (st == MOTE_STORE_NOT_FOUND) return http_reply_error(r, 404, "not_found", "%s", se.message);
  if (st != MOTE_STORE_OK) return http_reply_error(r, 500, "store", "%s", se.message);
  return reply_bytes(r, bytes, len);
}

static http_result blob_put(void *ctx, http_req *r) {
  mote_cluster *cl = ctx;
  size_t len = 0;
  const uint8_t *body = http_req_body(r, &len);
  const char *want = http_req_capture(r, "hash");
  char have[MOTE_HASH_HEX];
  mote_hash_bytes(body, len, have);
  if (strcmp(have, want) != 0)
    return http_reply_error(r, 400, "bad_hash", "the bytes hash to %s, not %s", have, want);
  mote_store_error se;
  if (mote_store_put_blob(core_store(cl->core), body, len, have, &se) != MOTE_STORE_OK)
    return http_reply_error(r, 500, "store", "%s", se.message);
  return http_reply_json(r, 201, json_pack("{s:s}", "stored", have));
}

static http_result bundle_get(void *ctx, http_req *r) {
  mote_cluster *cl = ctx;
  uint8_t *tar = NULL;
  size_t len = 0;
  char msg[512];
  if (!blobs_tar(cl, http_req_capture(r, "module"), http_req_capture(r, "files"), &tar, &len, msg,
                 sizeof msg))
    return http_reply_error(r, 404, "not_found", "%s", msg);
  return reply_bytes(r, tar, len);
}

static http_result bundle_put(void *ctx, http_req *r) {
  mote_cluster *cl = ctx;
  size_t len = 0;
  const uint8_t *body = http_req_body(r, &len);
  char msg[1200];
  if (!blobs_untar(cl, body, len, http_req_capture(r, "module"), http_req_capture(r, "files"),
                   msg, sizeof msg))
    return http_reply_error(r, 400, "bad_bundle", "%s", msg);
  return http_reply_json(r, 201, json_pack("{s:s}", "stored", http_req_capture(r, "files")));
}

static http_result object_get(void *ctx, http_req *r) {
  mote_cluster *cl = ctx;
  char path[PATH_MAX];
  if (!mote_compile_lookup_key(cl->cache_dir, http_req_capture(r, "key"), path, sizeof path))
    return http_reply_error(r, 404, "not_found", "no compiled object %s here",
                            http_req_capture(r, "key"));
  size_t len = 0;
  uint8_t *bytes = mote_read_file(path, &len);
  if (!bytes) return http_reply_error(r, 404, "not_found", "the object went meanwhile");
  return reply_bytes(r, bytes, len);
}

bool blobs_add_routes(mote_cluster *cl) {
  const http_key_policy open = HTTP_KEY_OPEN;
  const http_dialect m = HTTP_DIALECT_MOTE;
  const unsigned G = HTTP_GET | HTTP_HEAD;
  const http_route routes[] = {
      {"/cluster/v1/blobs/{hash}", G, open, m, 0, NULL, 0, check_secret, blob_get, cl},
      {"/cluster/v1/blobs/{hash}", HTTP_PUT, open, m, CORE_MAX_MODULE, NULL, 0, check_secret,
       blob_put, cl},
      {"/cluster/v1/bundles/{module}/{files}", G, open, m, 0, NULL, 0, check_secret, bundle_get,
       cl},
      {"/cluster/v1/bundles/{module}/{files}", HTTP_PUT, open, m, BUNDLE_PUT_MAX, NULL, 0,
       check_secret, bundle_put, cl},
      {"/cluster/v1/objects/{key}", G, open, m, 0, NULL, 0, check_secret, object_get, cl},
  };
  return http_add_routes(cl->http, routes, sizeof routes / sizeof *routes);
}
