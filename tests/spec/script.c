/*
 * Executes one spec script: modules are compiled through the real pipeline
 * (src/compile), loaded and linked by the real runtime (src/rt), and every
 * assertion is checked against what the runtime did.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"

#define MAX_INSTANCES 1024
#define MAX_VALUES 64

typedef struct named_instance {
  char *name;       /* "$M" from the script, or NULL */
  char *registered; /* the name it was registered as, or NULL */
  mote_rt_instance *inst;
} named_instance;

typedef struct script {
  const char *dir, *file;
  const spec_options *opts;
  spec_counts counts;
  named_instance instances[MAX_INSTANCES];
  int ninstances;
  mote_rt_module *modules[MAX_INSTANCES];
  int nmodules;
  mote_rt_instance *current; /* the most recent module */
  bool current_failed;       /* the most recent module command failed */
} script;

static void fail(script *s, json_t *cmd, const char *fmt, const char *a, const char *b) {
  s->counts.failed++;
  fprintf(stderr, "  %s:%d: ", s->file, (int)json_integer_value(json_object_get(cmd, "line")));
  fprintf(stderr, fmt, a ? a : "", b ? b : "");
  fputc('\n', stderr);
}

/* Reads dir/filename into memory (malloc). */
static uint8_t *read_file(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Compiles and loads a module file. Returns the status of the compile step;
 * *out set on success. */
static mote_compile_status load(script *s, const char *filename, mote_rt_module **out,
                                char *why, size_t cap) {
  size_t len;
  *out = NULL;
  uint8_t *bytes = read_file(s->dir, filename, &len);
  if (!bytes) {
    snprintf(why, cap, "cannot read %s", filename);
    return MOTE_COMPILE_IO;
  }
  mote_compile_result res;
  mote_compile_error err = {0};
  mote_compile_status st = mote_compile(bytes, len, &s->opts->compile, &res, &err);
  free(bytes);
  if (st != MOTE_COMPILE_OK) {
    snprintf(why, cap, "%s", err.message);
    return st;
  }
  mote_rt_error rerr;
  if (mote_rt_module_load(res.so_path, out, &rerr) != MOTE_RT_OK) {
    snprintf(why, cap, "load: %s", rerr.message);
    return MOTE_COMPILE_TOOL_FAILED;
  }
  if (s->nmodules < MAX_INSTANCES) s->modules[s->nmodules++] = *out;
  return MOTE_COMPILE_OK;
}

static named_instance *find_registered(script *s, const char *name, size_t len) {
  for (int i = s->ninstances - 1; i >= 0; i--)
    if (s->instances[i].registered && strlen(s->instances[i].registered) == len &&
        !memcmp(s->instances[i].registered, name, len))
      return &s->instances[i];
  return NULL;
}

static mote_rt_instance *find_named(script *s, json_t *cmd) {
  const char *name = json_string_value(json_object_get(cmd, "module"));
  if (!name) return s->current;
  for (int i = s->ninstances - 1; i >= 0; i--)
    if (s->instances[i].name && !strcmp(s->instances[i].name, name)) return s->instances[i].inst;
  return NULL;
}

/* Resolves every import: spectest or a registered instance's export.
 * Returns false with `why` when an import is unknown. */
static bool resolve_imports(script *s, mote_rt_module *m, mote_rt_extern *externs, char *why,
                            size_t cap) {
  const mote_abi_module *abi = mote_rt_module_abi(m);
  for (uint32_t i = 0; i < abi->import_count; i++) {
    const mote_abi_import *imp = &abi->imports[i];
    char field[512];
    snprintf(field, sizeof field, "%.*s", (int)imp->name_len, imp->name);
    if (imp->module_len == 8 && !memcmp(imp->module, "spectest", 8)) {
      if (spectest_lookup(field, &externs[i]) && externs[i].type.kind == imp->type.kind) continue;
      if (spectest_lookup(field, &externs[i])) continue; /* wrong kind: the runtime says so */
      snprintf(why, cap, "unknown import \"spectest\" \"%s\"", field);
      return false;
    }
    named_instance *ni = find_registered(s, imp->module, imp->module_len);
    int32_t idx = ni ? mote_rt_module_find_export(mote_rt_instance_module(ni->inst), imp->name,
                                                  imp->name_len)
                     : -1;
    if (idx < 0) {
      snprintf(why, cap, "unknown import \"%.*s\" \"%s\"", (int)imp->module_len, imp->module, field);
      return false;
    }
    externs[i] = mote_rt_instance_export(ni->inst, (uint32_t)idx);
  }
  return true;
}

typedef enum { INST_OK, INST_UNKNOWN_IMPORT, INST_LINK, INST_TRAP, INST_OTHER } inst_outcome;

static inst_outcome instantiate(script *s, mote_rt_module *m, mote_rt_instance **out,
                                mote_rt_error *err) {
  const mote_abi_module *abi = mote_rt_module_abi(m);
  mote_rt_extern *externs = calloc(abi->import_count + 1, sizeof *externs);
  inst_outcome r = INST_OTHER;
  *out = NULL;
  memset(err, 0, sizeof *err);
  if (!externs) return INST_OTHER;
  if (!resolve_imports(s, m, externs, err->message, sizeof err->message)) {
    r = INST_UNKNOWN_IMPORT;
    goto done;
  }
  mote_rt_status st = mote_rt_instantiate(m, externs, NULL, out, err);
  r = st == MOTE_RT_OK ? INST_OK : st == MOTE_RT_LINK_FAILED ? INST_LINK : st == MOTE_RT_TRAP ? INST_TRAP : INST_OTHER;
done:
  free(externs);
  return r;
}

static void cmd_module(script *s, json_t *cmd) {
  const char *filename = json_string_value(json_object_get(cmd, "filename"));
  const char *name = json_string_value(json_object_get(cmd, "name"));
  char why[1024];
  mote_rt_module *m;
  s->current = NULL;
  s->current_failed = true;
  if (load(s, filename, &m, why, sizeof why) != MOTE_COMPILE_OK) {
    fail(s, cmd, "module %s: %s", filename, why);
    return;
  }
  mote_rt_instance *inst;
  mote_rt_error err;
  if (instantiate(s, m, &inst, &err) != INST_OK) {
    fail(s, cmd, "module %s: %s", filename, err.message);
    return;
  }
  if (s->ninstances < MAX_INSTANCES) {
    named_instance *ni = &s->instances[s->ninstances++];
    ni->name = name ? strdup(name) : NULL;
    ni->registered = NULL;
    ni->inst = inst;
  }
  s->current = inst;
  s->current_failed = false;
}

static void cmd_register(script *s, json_t *cmd) {
  const char *as = json_string_value(json_object_get(cmd, "as"));
  const char *name = json_string_value(json_object_get(cmd, "name"));
  for (int i = s->ninstances - 1; i >= 0; i--) {
    named_instance *ni = &s->instances[i];
    if ((name && ni->name && !strcmp(ni->name, name)) || (!name && ni->inst == s->current)) {
      if (ni->registered) {
        /* registered twice under different names: add an alias entry */
        if (s->ninstances < MAX_INSTANCES) {
          named_instance *alias = &s->instances[s->ninstances++];
          alias->name = NULL;
          alias->registered = strdup(as);
          alias->inst = ni->inst;
        }
      } else {
        ni->registered = strdup(as);
      }
      return;
    }
  }
  fail(s, cmd, "register: no module %s%s", name ? name : "(current)", NULL);
}

/* Runs an action; returns the runtime status, results in `results`. */
static mote_rt_status run_action(script *s, json_t *action, mote_val *results,
                                 uint32_t *nresults, const char **sig, mote_rt_error *err) {
  memset(err, 0, sizeof *err);
  mote_rt_instance *inst = find_named(s, action);
  const char *type = json_string_value(json_object_get(action, "type"));
  json_t *field_json = json_object_get(action, "field");
  const char *field = json_string_value(field_json);
  size_t field_len = json_string_length(field_json);
  *nresults = 0;
  *sig = "";
  if (!inst) {
    snprintf(err->message, sizeof err->message, "no instance for the action");
    err->status = MOTE_RT_LINK_FAILED;
    return MOTE_RT_LINK_FAILED;
  }
  mote_rt_module *m = mote_rt_instance_module(inst);
  int32_t idx = mote_rt_module_find_export(m, field, field_len);
  if (idx < 0) {
    snprintf(err->message, sizeof err->message, "no export \"%s\"", field);
    err->status = MOTE_RT_LINK_FAILED;
    return MOTE_RT_LINK_FAILED;
  }
  const mote_abi_export *ex = &mote_rt_module_abi(m)->exports[idx];
  if (!strcmp(type, "get")) {
    mote_rt_extern e = mote_rt_instance_export(inst, (uint32_t)idx);
    static char gsig[3];
    gsig[0] = ':';
    gsig[1] = 0;
    *sig = gsig;
    memset(results, 0, sizeof *results);
    switch (e.type.valtype) {
      case MOTE_ABI_I32: memcpy(&results[0].i32, e.binding.global, 4); break;
      case MOTE_ABI_I64: memcpy(&results[0].i64, e.binding.global, 8); break;
      case MOTE_ABI_F32: memcpy(&results[0].f32, e.binding.global, 4); break;
      case MOTE_ABI_F64: memcpy(&results[0].f64, e.binding.global, 8); break;
      case MOTE_ABI_FUNCREF: memcpy(&results[0].funcref, e.binding.global, sizeof(wasm_rt_funcref_t)); break;
      case MOTE_ABI_EXTERNREF: memcpy(&results[0].externref, e.binding.global, sizeof(void *)); break;
    }
    *nresults = 1;
    return MOTE_RT_OK;
  }
  json_t *args = json_object_get(action, "args");
  mote_val argv[MAX_VALUES];
  size_t i;
  json_t *a;
  json_array_foreach(args, i, a) {
    uint8_t t;
    if (i >= MAX_VALUES || !spec_parse_value(a, &t, &argv[i])) {
      snprintf(err->message, sizeof err->message, "bad argument %zu", i);
      err->status = MOTE_RT_LINK_FAILED;
      return MOTE_RT_LINK_FAILED;
    }
  }
  *sig = ex->type.signature;
  const char *colon = strchr(*sig, ':');
  *nresults = colon ? (uint32_t)strlen(colon + 1) : 0;
  return mote_rt_call(inst, (uint32_t)idx, argv, results, err);
}

/* The type code of result k of a signature "params:results". */
static uint8_t result_type(const char *sig, uint32_t k, json_t *action) {
  const char *type = json_string_value(json_object_get(action, "type"));
  const char *colon = strchr(sig, ':');
  char c = colon ? colon[1 + k] : 0;
  if (type && !strcmp(type, "get")) return 0; /* the caller uses the expected type */
  switch (c) {
    case 'i': return MOTE_ABI_I32;
    case 'j': return MOTE_ABI_I64;
    case 'f': return MOTE_ABI_F32;
    case 'd': return MOTE_ABI_F64;
    case 'r': return MOTE_ABI_FUNCREF;
    case 'e': return MOTE_ABI_EXTERNREF;
  }
  return 0;
}

static void cmd_assert_return(script *s, json_t *cmd) {
  json_t *action = json_object_get(cmd, "action");
  json_t *expected = json_object_get(cmd, "expected");
  mote_val results[MAX_VALUES];
  uint32_t n;
  const char *sig;
  mote_rt_error err;
  const char *field = json_string_value(json_object_get(action, "field"));
  if (run_action(s, action, results, &n, &sig, &err) != MOTE_RT_OK) {
    fail(s, cmd, "%s: %s", field, err.message);
    return;
  }
  if (n != json_array_size(expected)) {
    fail(s, cmd, "%s: wrong number of results", field, NULL);
    return;
  }
  for (uint32_t k = 0; k < n; k++) {
    json_t *e = json_array_get(expected, k);
    uint8_t t = result_type(sig, k, action);
    if (!t) t = spec_type_code(json_string_value(json_object_get(e, "type")));
    if (!spec_value_matches(e, t, results[k])) {
      char got[128];
      spec_format_value(t, results[k], got, sizeof got);
      char *want = json_dumps(e, JSON_COMPACT);
      char detail[512];
      snprintf(detail, sizeof detail, "got %s, expected %s", got, want ? want : "?");
      free(want);
      fail(s, cmd, "%s: %s", field, detail);
      return;
    }
  }
  s->counts.passed++;
}

/* Does a trap of `kind` match the spec's message? */
static bool trap_matches(mote_trap_kind kind, const char *text) {
  if (!strncmp(text, "out of bounds", 13)) return kind == MOTE_TRAP_OOB;
  if (!strcmp(text, "undefined element") || !strncmp(text, "uninitialized element", 21) ||
      !strcmp(text, "indirect call type mismatch"))
    return kind == MOTE_TRAP_CALL_INDIRECT || kind == MOTE_TRAP_OOB;
  if (!strcmp(text, "unreachable")) return kind == MOTE_TRAP_UNREACHABLE;
  if (!strcmp(text, "integer divide by zero")) return kind == MOTE_TRAP_DIV_BY_ZERO;
  if (!strcmp(text, "integer overflow")) return kind == MOTE_TRAP_INT_OVERFLOW;
  if (!strcmp(text, "invalid conversion to integer")) return kind == MOTE_TRAP_INVALID_CONVERSION;
  if (!strcmp(text, "call stack exhausted")) return kind == MOTE_TRAP_EXHAUSTION;
  return false;
}

static void cmd_assert_trap(script *s, json_t *cmd) {
  json_t *action = json_object_get(cmd, "action");
  const char *text = json_string_value(json_object_get(cmd, "text"));
  const char *field = json_string_value(json_object_get(action, "field"));
  mote_val results[MAX_VALUES];
  uint32_t n;
  const char *sig;
  mote_rt_error err;
  mote_rt_status st = run_action(s, action, results, &n, &sig, &err);
  if (st != MOTE_RT_TRAP) {
    fail(s, cmd, "%s: expected trap \"%s\", but it returned", field, text);
    return;
  }
  if (!trap_matches(err.trap, text)) {
    fail(s, cmd, "%s: expected \"%s\"", field, text);
    fprintf(stderr, "    got: %s\n", err.message);
    return;
  }
  s->counts.passed++;
}

static void cmd_action(script *s, json_t *cmd) {
  json_t *action = json_object_get(cmd, "action");
  mote_val results[MAX_VALUES];
  uint32_t n;
  const char *sig;
  mote_rt_error err;
  if (run_action(s, action, results, &n, &sig, &err) != MOTE_RT_OK) {
    fail(s, cmd, "%s: %s", json_string_value(json_object_get(action, "field")), err.message);
    return;
  }
  s->counts.passed++;
}

static void cmd_assert_rejected(script *s, json_t *cmd, const char *type) {
  const char *filename = json_string_value(json_object_get(cmd, "filename"));
  const char *module_type = json_string_value(json_object_get(cmd, "module_type"));
  if (module_type && !strcmp(module_type, "text")) {
    s->counts.skipped++; /* text-format modules are not mote's input */
    return;
  }
  char why[1024];
  mote_rt_module *m;
  mote_compile_status st = load(s, filename, &m, why, sizeof why);
  /* Refused is what matters: a binary that Wasm 2.0 calls malformed or invalid
   * may be a well-formed module of a later feature (two memories, a tag
   * section), which the reader refuses as unsupported, by name. */
  if (st == MOTE_COMPILE_MALFORMED || st == MOTE_COMPILE_INVALID || st == MOTE_COMPILE_UNSUPPORTED) {
    s->counts.passed++;
    if (s->opts->verbose) fprintf(stderr, "  %s %s: refused: %s\n", type, filename, why);
    return;
  }
  fail(s, cmd, "%s: expected the module to be refused (%s)", filename,
       st == MOTE_COMPILE_OK ? "it compiled" : why);
}

static void cmd_assert_unlinkable(script *s, json_t *cmd, bool expect_trap) {
  const char *filename = json_string_value(json_object_get(cmd, "filename"));
  char why[1024];
  mote_rt_module *m;
  if (load(s, filename, &m, why, sizeof why) != MOTE_COMPILE_OK) {
    fail(s, cmd, "%s: %s", filename, why);
    return;
  }
  mote_rt_instance *inst;
  mote_rt_error err;
  inst_outcome r = instantiate(s, m, &inst, &err);
  bool ok = expect_trap ? r == INST_TRAP : (r == INST_UNKNOWN_IMPORT || r == INST_LINK);
  if (r == INST_OK) {
    /* keep it alive: it may already be referenced by tables */
    if (s->ninstances < MAX_INSTANCES)
      s->instances[s->ninstances++] = (named_instance){NULL, NULL, inst};
  }
  if (ok) {
    s->counts.passed++;
  } else {
    fail(s, cmd, "%s: expected %s", filename, expect_trap ? "a trap at instantiation" : "a link error");
    if (r != INST_OK) fprintf(stderr, "    got: %s\n", err.message);
  }
}

spec_counts spec_run_script(const char *dir, const char *json_path, const spec_options *opts) {
  script *s = calloc(1, sizeof *s);
  spec_counts counts = {0, 1, 0};
  json_error_t jerr;
  json_t *root = json_load_file(json_path, JSON_ALLOW_NUL, &jerr);
  if (!s || !root) {
    fprintf(stderr, "  %s: cannot read: %s\n", json_path, jerr.text);
    free(s);
    return counts;
  }
  s->dir = dir;
  s->file = json_string_value(json_object_get(root, "source_filename"));
  if (!s->file) s->file = json_path;
  s->opts = opts;
  json_t *commands = json_object_get(root, "commands"), *cmd;
  size_t i;
  json_array_foreach(commands, i, cmd) {
    const char *type = json_string_value(json_object_get(cmd, "type"));
    if (!strcmp(type, "module")) cmd_module(s, cmd);
    else if (!strcmp(type, "register")) cmd_register(s, cmd);
    else if (!strcmp(type, "assert_return")) cmd_assert_return(s, cmd);
    else if (!strcmp(type, "assert_trap") || !strcmp(type, "assert_exhaustion")) cmd_assert_trap(s, cmd);
    else if (!strcmp(type, "action")) cmd_action(s, cmd);
    else if (!strcmp(type, "assert_malformed") || !strcmp(type, "assert_invalid")) cmd_assert_rejected(s, cmd, type);
    else if (!strcmp(type, "assert_unlinkable")) cmd_assert_unlinkable(s, cmd, false);
    else if (!strcmp(type, "assert_uninstantiable")) cmd_assert_unlinkable(s, cmd, true);
    else fail(s, cmd, "unknown command %s%s", type, NULL);
  }
  counts = s->counts;
  for (int k = s->ninstances - 1; k >= 0; k--) {
    bool seen = false; /* aliases share an instance */
    for (int j = k + 1; j < s->ninstances; j++) seen |= s->instances[j].inst == s->instances[k].inst;
    if (!seen) mote_rt_instance_free(s->instances[k].inst);
    free(s->instances[k].name);
    free(s->instances[k].registered);
  }
  for (int k = s->nmodules - 1; k >= 0; k--) mote_rt_module_free(s->modules[k]);
  json_decref(root);
  free(s);
  return counts;
}
