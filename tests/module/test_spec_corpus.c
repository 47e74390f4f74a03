/*
 * The Wasm 2.0 spec suite's binaries as the module reader's acceptance
 * corpus. For every command of every core/<name>/<name>.json:
 *   "module"                        must read OK;
 *   "assert_malformed" (binary)     must be refused (MALFORMED, or
 *                                   UNSUPPORTED where the bytes are what a
 *                                   post-2.0 feature would write, e.g. import
 *                                   kind 4 = tag, align bit 6 = memory index);
 *   "assert_invalid", "assert_unlinkable", "assert_uninstantiable" (binary)
 *                                   are well-formed: they must read OK,
 *                                   except "multiple memories", which is the
 *                                   multi-memory feature (UNSUPPORTED), and
 *                                   an assert_invalid may be refused as
 *                                   INVALID (the reader types what wasm2c
 *                                   does not: constant expressions,
 *                                   call_indirect's table).
 * Text modules (.wat) are out of scope. The suite lives outside the repo:
 * $SPEC_DIR, or ../shared/spec/wasm-2.0 from the repo root.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "module/layout.h"
#include "module/module.h"
#include "test.h"

typedef struct counts {
  int modules, modules_ok;
  int accepted;   /* commands whose module mote_module_read accepted */
  int known_same; /* of them, read again by mote_module_read_known the same */
  int malformed, malformed_rejected, malformed_as_unsupported;
  int invalid, invalid_ok, invalid_unsupported, invalid_malformed_datacount, invalid_refused;
} counts;

/* dir/name into buf; false if it does not fit. */
static bool join(char *buf, size_t size, const char *dir, const char *name) {
  int n = snprintf(buf, size, "%s/%s", dir, name);
  return n >= 0 && (size_t)n < size;
}

static uint8_t *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 65536;
      uint8_t *q = realloc(buf, cap);
      if (!q) break;
      buf = q;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    if (got == 0) break;
    n += got;
  }
  fclose(f);
  *len = n;
  return buf;
}

/* What mote_module_read_known made of bytes mote_module_read accepted: the
 * same module (its counts and where its sections lie). */
static bool same_module(const mote_module *a, const mote_module *b) {
  if (mote_module_func_count(a) != mote_module_func_count(b) ||
      mote_module_type_count(a) != mote_module_type_count(b) ||
      mote_module_import_count(a) != mote_module_import_count(b) ||
      mote_module_export_count(a) != mote_module_export_count(b) ||
      mote_module_global_count(a) != mote_module_global_count(b) ||
      mote_module_table_count(a) != mote_module_table_count(b) ||
      mote_module_memory_count(a) != mote_module_memory_count(b) ||
      mote_layout_section_count(a) != mote_layout_section_count(b))
    return false;
  for (uint32_t i = 0; i < mote_layout_section_count(a); i++) {
    const mote_section_span *x = mote_layout_section(a, i), *y = mote_layout_section(b, i);
    if (x->id != y->id || x->start != y->start || x->content != y->content || x->end != y->end)
      return false;
  }
  return true;
}

static void check_command(const char *dir, json_t *cmd, counts *c) {
  const char *type = json_string_value(json_object_get(cmd, "type"));
  const char *file = json_string_value(json_object_get(cmd, "filename"));
  const char *mtype = json_string_value(json_object_get(cmd, "module_type"));
  const char *text = json_string_value(json_object_get(cmd, "text"));
  if (!type || !file) return;
  size_t flen = strlen(file);
  if (flen < 5 || strcmp(file + flen - 5, ".wasm") != 0) return; /* .wat: out of scope */
  if (mtype && strcmp(mtype, "binary") != 0) return;

  char path[2048];
  if (!join(path, sizeof path, dir, file)) return;
  size_t len = 0;
  uint8_t *bytes = slurp(path, &len);
  CHECK_MSG(bytes != NULL, path);
  if (!bytes) return;

  mote_module *m = NULL;
  mote_module_error err = {0};
  mote_module_status st = mote_module_read(bytes, len, &m, &err);
  char detail[2400];
  snprintf(detail, sizeof detail, "%s (%s \"%s\"): %s", path, type, text ? text : "",
           st == MOTE_MODULE_OK ? "accepted" : err.message);
  if (st == MOTE_MODULE_OK) {
    mote_module *k = NULL;
    c->accepted++;
    bool same = mote_module_read_known(bytes, len, &k, &err) == MOTE_MODULE_OK && k &&
                same_module(m, k);
    CHECK_MSG(same, detail);
    if (same) c->known_same++;
    mote_module_free(k);
  }

  if (strcmp(type, "module") == 0) {
    c->modules++;
    if (st == MOTE_MODULE_OK) c->modules_ok++;
    CHECK_MSG(st == MOTE_MODULE_OK, detail);
  } else if (strcmp(type, "assert_malformed") == 0) {
    c->malformed++;
    if (st != MOTE_MODULE_OK) c->malformed_rejected++;
    if (st == MOTE_MODULE_UNSUPPORTED) c->malformed_as_unsupported++;
    CHECK_MSG(st == MOTE_MODULE_MALFORMED || st == MOTE_MODULE_UNSUPPORTED, detail);
    CHECK_MSG(st == MOTE_MODULE_OK || err.message[0], detail);
    /* MOTE_SPEC_VERBOSE=1 lists the refusals whose wording differs from the
     * reference interpreter's (the class matters, not the words). */
    if (getenv("MOTE_SPEC_VERBOSE") && text && !strstr(err.message, text))
      printf("  differs: %s\n", detail);
  } else if (strcmp(type, "assert_invalid") == 0 || strcmp(type, "assert_unlinkable") == 0 ||
             strcmp(type, "assert_uninstantiable") == 0) {
    c->invalid++;
    bool multi_memory = text && strstr(text, "multiple memories");
    if (st == MOTE_MODULE_OK) c->invalid_ok++;
    if (st == MOTE_MODULE_UNSUPPORTED) c->invalid_unsupported++;
    if (multi_memory) {
      CHECK_MSG(st == MOTE_MODULE_UNSUPPORTED, detail);
      CHECK_STR_CONTAINS(err.message, "multi-memory");
    } else if (st == MOTE_MODULE_MALFORMED && strstr(err.message, "data count section required")) {
      /* memory_init.4 and .9: wast2json wrote data.drop/memory.init without
       * a data count section, which the binary format calls malformed (the
       * .wast means the text module, where the check is a validation one). */
      c->invalid_malformed_datacount++;
    } else if (st == MOTE_MODULE_INVALID && strcmp(type, "assert_invalid") == 0) {
      c->invalid_refused++;
      if (getenv("MOTE_SPEC_VERBOSE")) printf("  invalid: %s\n", detail);
    } else {
      CHECK_MSG(st == MOTE_MODULE_OK, detail);
    }
  }
  mote_module_free(m);
  free(bytes);
}

static void check_json(const char *dir, const char *json_path, counts *c) {
  json_error_t jerr;
  json_t *root = json_load_file(json_path, JSON_ALLOW_NUL, &jerr);
  CHECK_MSG(root != NULL, json_path);
  if (!root) return;
  json_t *cmds = json_object_get(root, "commands");
  size_t i;
  json_t *cmd;
  json_array_foreach(cmds, i, cmd) check_command(dir, cmd, c);
  json_decref(root);
}

TEST(spec_corpus) {
  const char *spec = getenv("SPEC_DIR");
  if (!spec || !*spec) spec = "../shared/spec/wasm-2.0";
  char core[1024];
  if (!join(core, sizeof core, spec, "core")) return;
  DIR *d = opendir(core);
  CHECK_MSG(d != NULL, core);
  if (!d) return;
  counts c = {0};
  int files = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char sub[1400];
    if (!join(sub, sizeof sub, core, e->d_name)) continue;
    DIR *sd = opendir(sub);
    if (!sd) continue;
    struct dirent *f;
    while ((f = readdir(sd))) {
      size_t n = strlen(f->d_name);
      if (n < 5 || strcmp(f->d_name + n - 5, ".json") != 0) continue;
      char json_path[1800];
      if (!join(json_path, sizeof json_path, sub, f->d_name)) continue;
      check_json(sub, json_path, &c);
      files++;
    }
    closedir(sd);
  }
  closedir(d);
  printf("spec corpus: %d json files\n", files);
  printf("  modules: %d/%d read OK\n", c.modules_ok, c.modules);
  printf("  assert_malformed (binary): %d/%d rejected (%d of them as unsupported), %d not "
         "rejected\n",
         c.malformed_rejected, c.malformed, c.malformed_as_unsupported,
         c.malformed - c.malformed_rejected);
  printf("  assert_invalid/unlinkable/uninstantiable (binary): %d/%d accepted, %d refused as"
         " invalid, %d unsupported (multiple memories), %d malformed (no data count section)\n",
         c.invalid_ok, c.invalid, c.invalid_refused, c.invalid_unsupported,
         c.invalid_malformed_datacount);
  printf("  read again as known bytes, the same: %d\n", c.known_same);
  CHECK(files > 50);
  CHECK(c.modules > 1000);
  CHECK(c.accepted >= c.modules_ok);
  CHECK_EQ_INT(c.known_same, c.accepted);
}

RUN_TESTS(spec_corpus)
