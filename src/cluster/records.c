/*
 * records: the cluster's records in etcd, as JSON text (jansson).
 *
 *   fn/NS/NAME   {"version", "module_hash", "module_bytes", "files_hash",
 *                 "files": {"count", "bytes", "paths"}, "settings" (the
 *                 store's JSON of them), "meta", "created_ms", "holders"}
 *   nodes/NAME   {"url", "tag"}
 *   keys/UUID    {"ns", "salt", "hash" (hex), "created_ms"}
 *   ns/NS        {"created_ms", "invocations_per_minute", "concurrent"}
 *   obj/KEY      {"hash", "bytes", "node"}
 *
 * Records are written by nodes and the CLI of one cluster; a record that
 * does not parse is ignored (a line on stderr says which), never trusted
 * half-way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "base/hash.h"
#include "cluster/cluster_internal.h"

void cl_fn_clear(cl_fn *f) {
  mote_function_version_clear(&f->rec);
  memset(f, 0, sizeof *f);
}

static char *dump(json_t *o) {
  char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return text;
}

static json_t *load(const uint8_t *json, size_t len) {
  json_t *o = json_loadb((const char *)json, len, 0, NULL);
  if (json_is_object(o)) return o;
  json_decref(o);
  return NULL;
}

static uint64_t u64(json_t *o, const char *key) {
  json_int_t v = json_integer_value(json_object_get(o, key));
  return v < 0 ? 0 : (uint64_t)v;
}

char *rec_fn_json(const core_commit *w, uint64_t version, int64_t created_ms,
                  const char *const *holders, size_t nholders) {
  char *settings = mote_store_settings_json(w->settings);
  json_t *st = settings ? json_loads(settings, 0, NULL) : NULL;
  free(settings);
  json_t *h = json_array(), *paths = json_array();
  for (size_t i = 0; h && i < nholders; i++) json_array_append_new(h, json_string(holders[i]));
  for (uint32_t i = 0; paths && i < w->nfile_paths; i++)
    json_array_append_new(paths, json_string(w->file_paths[i]));
  json_t *o = json_pack("{s:I, s:s, s:I, s:o, s:I, s:o}", "version", (json_int_t)version,
                        "module_hash", w->module_hash, "module_bytes", (json_int_t)w->module_len,
                        "settings", st, "created_ms", (json_int_t)created_ms, "holders", h);
  if (o && w->files_hash) {
    json_object_set_new(o, "files_hash", json_string(w->files_hash));
    json_object_set_new(o, "files", json_pack("{s:I, s:I, s:O}", "count",
                                              (json_int_t)w->files_count, "bytes",
                                              (json_int_t)w->files_bytes, "paths", paths));
  }
  json_decref(paths);
  if (o && w->meta) json_object_set_new(o, "meta", json_string(w->meta));
  return dump(o);
}

bool rec_fn_parse(const char *ns, const char *name, const uint8_t *json, size_t len, cl_fn *out) {
  memset(out, 0, sizeof *out);
  json_t *o = load(json, len);
  if (!o) return false;
  mote_function_version *v = &out->rec;
  bool ok = mote_store_valid_name(ns) && mote_store_valid_name(name);
  v->name = strdup(name);
  v->ns = strdup(ns);
  v->version = u64(o, "version");
  const char *mh = json_string_value(json_object_get(o, "module_hash"));
  const char *fh = json_string_value(json_object_get(o, "files_hash"));
  ok = ok && v->name && v->ns && v->version > 0 && mote_is_hash_hex(mh) && (!fh || mote_is_hash_hex(fh));
  v->module_hash = ok ? strdup(mh) : NULL;
  v->files_hash = ok && fh ? strdup(fh) : NULL;
  out->module_len = u64(o, "module_bytes");
  v->created_ms = (int64_t)u64(o, "created_ms");
  const char *meta = json_string_value(json_object_get(o, "meta"));
  v->meta = meta ? strdup(meta) : NULL;
  json_t *settings = json_object_get(o, "settings");
  char *st = json_is_object(settings) ? json_dumps(settings, JSON_COMPACT) : NULL;
  ok = ok && st && mote_store_settings_parse(st, &v->settings);
  free(st);
  json_t *files = json_object_get(o, "files");
  if (ok && fh) {
    v->files_indexed = true;
    v->files_count = u64(files, "count");
    v->files_bytes = u64(files, "bytes");
    json_t *paths = json_object_get(files, "paths");
    size_t n = json_is_array(paths) ? json_array_size(paths) : 0;
    if (n > 0 && n <= MOTE_STORE_FILES_LISTED && n == v->files_count) {
      size_t total = 0;
      for (size_t i = 0; i < n; i++)
        total += strlen(json_string_value(json_array_get(paths, i)) ?: "") + 1;
      char **arr = malloc(n * sizeof *arr + total);
      if (arr) {
        char *p = (char *)(arr + n);
        for (size_t i = 0; i < n; i++) {
          const char *s = json_string_value(json_array_get(paths, i)) ?: "";
          arr[i] = p;
          p = stpcpy(p, s) + 1;
        }
        v->file_paths = arr;
        v->nfile_paths = (uint32_t)n;
      }
    }
  }
  json_t *h = json_object_get(o, "holders");
  for (size_t i = 0; json_is_array(h) && i < json_array_size(h) && out->nholders < CL_HOLDERS; i++) {
    const char *node = json_string_value(json_array_get(h, i));
    if (node && mote_store_valid_name(node))
      snprintf(out->holders[out->nholders++], sizeof out->holders[0], "%s", node);
  }
  ok = ok && (!meta || v->meta);
  json_decref(o);
  if (!ok) cl_fn_clear(out);
  return ok;
}

char *rec_node_json(const char *url, const char *tag) {
  return dump(json_pack("{s:s, s:s}", "url", url, "tag", tag));
}

bool rec_node_parse(const char *name, const uint8_t *json, size_t len, cl_node *out) {
  memset(out, 0, sizeof *out);
  json_t *o = load(json, len);
  const char *url = json_string_value(json_object_get(o, "url"));
  const char *tag = json_string_value(json_object_get(o, "tag"));
  bool ok = o && url && tag && strlen(name) <= CLUSTER_NODE_MAX && strlen(url) < CL_URL_MAX &&
            strlen(tag) == 8 && cl_valid_url(url);
  if (ok) {
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->url, sizeof out->url, "%s", url);
    snprintf(out->tag, sizeof out->tag, "%s", tag);
  }
  json_decref(o);
  return ok;
}

char *rec_key_json(const mote_key_record *k) {
  char salt[2 * MOTE_STORE_KEY_SALT + 1], hash[2 * MOTE_STORE_KEY_HASH + 1];
  sodium_bin2hex(salt, sizeof salt, k->salt, sizeof k->salt);
  sodium_bin2hex(hash, sizeof hash, k->hash, sizeof k->hash);
  return dump(json_pack("{s:s, s:s, s:s, s:I}", "ns", k->ns, "salt", salt, "hash", hash,
                        "created_ms", (json_int_t)k->created_ms));
}

bool rec_key_parse(const char *uuid, const uint8_t *json, size_t len, mote_key_record *out) {
  memset(out, 0, sizeof *out);
  json_t *o = load(json, len);
  const char *ns = json_string_value(json_object_get(o, "ns"));
  const char *salt = json_string_value(json_object_get(o, "salt"));
  const char *hash = json_string_value(json_object_get(o, "hash"));
  size_t ns_len = 0, nh = 0;
  bool ok = o && ns && salt && hash && strlen(uuid) == MOTE_STORE_UUID_LEN &&
            mote_store_valid_name(ns) &&
            sodium_hex2bin(out->salt, sizeof out->salt, salt, strlen(salt), NULL, &ns_len, NULL) ==
                0 &&
            ns_len == sizeof out->salt &&
            sodium_hex2bin(out->hash, sizeof out->hash, hash, strlen(hash), NULL, &nh, NULL) == 0 &&
            nh == sizeof out->hash;
  if (ok) {
    snprintf(out->uuid, sizeof out->uuid, "%s", uuid);
    snprintf(out->ns, sizeof out->ns, "%s", ns);
    out->created_ms = (int64_t)u64(o, "created_ms");
  }
  json_decref(o);
  return ok;
}

char *rec_ns_json(int64_t created_ms, const mote_namespace_limits *lim) {
  return dump(json_pack("{s:I, s:I, s:I}", "created_ms", (json_int_t)created_ms,
                        "invocations_per_minute", (json_int_t)lim->invocations_per_minute,
                        "concurrent", (json_int_t)lim->concurrent));
}

bool rec_ns_parse(const uint8_t *json, size_t len, int64_t *created_ms,
                  mote_namespace_limits *lim) {
  json_t *o = load(json, len);
  if (!o) return false;
  *created_ms = (int64_t)u64(o, "created_ms");
  uint64_t pm = u64(o, "invocations_per_minute"), cc = u64(o, "concurrent");
  lim->invocations_per_minute = pm > UINT32_MAX ? UINT32_MAX : (uint32_t)pm;
  lim->concurrent = cc > UINT32_MAX ? UINT32_MAX : (uint32_t)cc;
  json_decref(o);
  return true;
}

char *rec_obj_json(const cl_obj *ob) {
  return dump(json_pack("{s:s, s:I, s:s}", "hash", ob->hash, "bytes", (json_int_t)ob->bytes,
                        "node", ob->node));
}

bool rec_obj_parse(const uint8_t *json, size_t len, cl_obj *out) {
  memset(out, 0, sizeof *out);
  json_t *o = load(json, len);
  const char *hash = json_string_value(json_object_get(o, "hash"));
  const char *node = json_string_value(json_object_get(o, "node"));
  bool ok = o && mote_is_hash_hex(hash) && node && strlen(node) <= CLUSTER_NODE_MAX;
  if (ok) {
    snprintf(out->hash, sizeof out->hash, "%s", hash);
    snprintf(out->node, sizeof out->node, "%s", node);
    out->bytes = u64(o, "bytes");
  }
  json_decref(o);
  return ok;
}

bool rec_split(const char *key, char *buf, size_t cap, const char **kind, const char **rest) {
  size_t plen = strlen(CL_PREFIX);
  if (strncmp(key, CL_PREFIX, plen) != 0 || strlen(key + plen) >= cap) return false;
  snprintf(buf, cap, "%s", key + plen);
  char *slash = strchr(buf, '/');
  *kind = buf;
  if (slash) {
    *slash = '\0';
    *rest = slash + 1;
  } else {
    *rest = "";
  }
  return true;
}
