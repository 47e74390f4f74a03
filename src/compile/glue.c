/*
 * The glue file: what turns wasm2c's module-specific output into an object
 * the runtime can load without knowing the module (src/rt/abi.h).
 *
 * wasm2c 1.0.32 resolves imports through extern C symbols named after the
 * import (Z_<module>Z_<name>), passes each import module an opaque instance
 * pointer, and exports module-specific functions. The binary it translates
 * has been rewritten (rewrite.c) so that every import comes from one module,
 * MOTE_IMPORT_MODULE, and import k is named "<k>": its symbol is
 * Z_importsZ_<k>, whatever the module chose. The glue:
 *  - defines every import symbol as a trampoline that finds the instance's
 *    binding table and calls (or returns) what the runtime bound there;
 *  - wraps every export in a type-erased entry point taking mote_val arrays;
 *  - describes imports (by their original names) and exports with their
 *    types in `mote_abi_module_v2`;
 *  - says whether the instance can be snapshotted, and gives `rebind`, which
 *    points a copied instance at new bindings (rt/snapshot.c).
 *
 * Finding the binding table: the glue instance is `{ Z_mote_instance_t w;
 * const mote_abi_binding *imports; }`. When functions are imported, wasm2c
 * keeps the pointer we pass for the import module in a field
 * `Z_imports_instance` and passes the field's *value* on direct calls but the
 * field's *address* when it puts an imported function in a table. We pass
 * the field's own address as the module's pointer, so both are the same and
 * the trampoline recovers the glue instance by subtracting the field's
 * offset. With no function imports there is no such field: we pass the glue
 * instance itself.
 */
#include <inttypes.h>
#include <string.h>

#include "compile_internal.h"

void mote_mangle(FILE *out, const char *name, uint32_t len) {
  for (uint32_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)name[i];
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Y') || (c >= '0' && c <= '9') ||
                 c == '_';
    if (plain)
      fputc(c, out);
    else
      fprintf(out, "Z%02X", c);
  }
}

/* One letter per value type, as wasm2c names multi-value struct fields and
 * as abi.h spells signatures. */
static char type_letter(uint8_t t) {
  switch (t) {
    case MOTE_I32: return 'i';
    case MOTE_I64: return 'j';
    case MOTE_F32: return 'f';
    case MOTE_F64: return 'd';
    case MOTE_FUNCREF: return 'r';
    case MOTE_EXTERNREF: return 'e';
    default: return '?';
  }
}

static const char *c_type(uint8_t t) {
  switch (t) {
    case MOTE_I32: return "u32";
    case MOTE_I64: return "u64";
    case MOTE_F32: return "f32";
    case MOTE_F64: return "f64";
    case MOTE_FUNCREF: return "wasm_rt_funcref_t";
    case MOTE_EXTERNREF: return "wasm_rt_externref_t";
    default: return "void";
  }
}

/* The mote_val member holding a value of type t. */
static const char *val_member(uint8_t t) {
  switch (t) {
    case MOTE_I32: return "i32";
    case MOTE_I64: return "i64";
    case MOTE_F32: return "f32";
    case MOTE_F64: return "f64";
    case MOTE_FUNCREF: return "funcref";
    case MOTE_EXTERNREF: return "externref";
    default: return "i32";
  }
}

static void write_c_string(FILE *out, const char *s, uint32_t len) {
  fputc('"', out);
  for (uint32_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == ' ' || c == '-' || c == '.')
      fputc(c, out);
    else
      fprintf(out, "\\%03o", c);
  }
  fputc('"', out);
}

static void write_signature(FILE *out, const mote_functype *ft) {
  fputc('"', out);
  for (uint32_t i = 0; i < ft->param_count; i++) fputc(type_letter(ft->params[i]), out);
  fputc(':', out);
  for (uint32_t i = 0; i < ft->result_count; i++) fputc(type_letter(ft->results[i]), out);
  fputc('"', out);
}

/* The C return type wasm2c gives a function of type ft. */
static void write_return_type(FILE *out, const mote_functype *ft) {
  if (ft->result_count == 0) {
    fputs("void", out);
  } else if (ft->result_count == 1) {
    fputs(c_type(ft->results[0]), out);
  } else {
    fputs("struct wasm_multi_", out);
    for (uint32_t i = 0; i < ft->result_count; i++) fputc(type_letter(ft->results[i]), out);
  }
}

static void write_symbol(FILE *out, const char *module, uint32_t module_len, const char *name,
                         uint32_t name_len) {
  fputs("Z_", out);
  mote_mangle(out, module, module_len);
  fputs("Z_", out);
  mote_mangle(out, name, name_len);
}

/* The expression giving the glue instance from the import module pointer p. */
static void write_recover(FILE *out, bool func_imports) {
  if (func_imports)
    fputs("((glue_instance *)((char *)p - offsetof(glue_instance, w.Z_" MOTE_IMPORT_MODULE
          "_instance)))",
          out);
  else
    fputs("((glue_instance *)p)", out);
}

static void write_import_trampoline(FILE *out, const mote_module *m, uint32_t k,
                                    bool func_imports) {
  const mote_import *imp = mote_module_import(m, k);
  const mote_functype *ft = mote_module_type(m, imp->u.type_index);
  write_return_type(out, ft);
  fprintf(out, " Z_" MOTE_IMPORT_MODULE "Z_%u(struct Z_" MOTE_IMPORT_MODULE "_instance_t *p", k);
  for (uint32_t i = 0; i < ft->param_count; i++) fprintf(out, ", %s a%u", c_type(ft->params[i]), i);
  fputs(") {\n  const mote_abi_binding *b = &", out);
  write_recover(out, func_imports);
  fprintf(out, "->imports[%u];\n  return ((", k);
  write_return_type(out, ft);
  fputs(" (*)(void *", out);
  for (uint32_t i = 0; i < ft->param_count; i++) fprintf(out, ", %s", c_type(ft->params[i]));
  fputs("))b->func.fn)(b->func.ctx", out);
  for (uint32_t i = 0; i < ft->param_count; i++) fprintf(out, ", a%u", i);
  fputs(");\n}\n\n", out);
}

static void write_import_accessor(FILE *out, const mote_module *m, uint32_t k,
                                  bool func_imports) {
  const mote_import *imp = mote_module_import(m, k);
  const char *type, *member;
  switch (imp->kind) {
    case MOTE_EXTERN_MEMORY:
      type = "wasm_rt_memory_t";
      member = "memory";
      break;
    case MOTE_EXTERN_TABLE:
      if (imp->u.table.elemtype == MOTE_FUNCREF) {
        type = "wasm_rt_funcref_table_t";
        member = "funcref_table";
      } else {
        type = "wasm_rt_externref_table_t";
        member = "externref_table";
      }
      break;
    default:
      type = c_type(imp->u.global.valtype);
      member = "global";
      break;
  }
  fprintf(out, "%s *Z_" MOTE_IMPORT_MODULE "Z_%u(struct Z_" MOTE_IMPORT_MODULE
               "_instance_t *p) {\n  return ",
          type, k);
  if (strcmp(member, "global") == 0) fprintf(out, "(%s *)", type);
  write_recover(out, func_imports);
  fprintf(out, "->imports[%u].%s;\n}\n\n", k, member);
}

static void write_type(FILE *out, mote_extern_kind kind, const mote_functype *ft, uint8_t valtype,
                       bool is_mutable, const mote_limits *limits) {
  fprintf(out, "{%d, ", (int)kind);
  if (ft)
    write_signature(out, ft);
  else
    fputs("0", out);
  fprintf(out, ", %u, %d, %d, %" PRIu64 "u, %" PRIu64 "u}", valtype, is_mutable ? 1 : 0,
          limits && limits->has_max ? 1 : 0, limits ? limits->min : 0,
          limits && limits->has_max ? limits->max : 0);
}

static void write_export_entry(FILE *out, const mote_module *m, uint32_t i) {
  static const char self[] = MOTE_SELF_NAME;
  const mote_export *e = mote_module_export(m, i);
  if (e->kind == MOTE_EXTERN_FUNC) {
    const mote_functype *ft = mote_module_func_type(m, e->index);
    fprintf(out, "static void call_%u(void *inst, const mote_val *a, mote_val *r) {\n  ", i);
    if (ft->result_count == 1)
      fprintf(out, "r[0].%s = ", val_member(ft->results[0]));
    else if (ft->result_count > 1)
      fputs("__typeof__(", out);
    const char *close = ft->result_count > 1 ? ") t = " : "";
    /* For several results: __typeof__(call) t = call; then unpack. */
    for (int pass = 0; pass < (ft->result_count > 1 ? 2 : 1); pass++) {
      write_symbol(out, self, (uint32_t)strlen(self), e->name, e->name_len);
      fputs("(&((glue_instance *)inst)->w", out);
      for (uint32_t p = 0; p < ft->param_count; p++)
        fprintf(out, ", a[%u].%s", p, val_member(ft->params[p]));
      fputs(")", out);
      if (pass == 0) fputs(close, out);
    }
    fputs(";\n", out);
    if (ft->result_count > 1)
      for (uint32_t k = 0; k < ft->result_count; k++)
        fprintf(out, "  r[%u].%s = t.%c%u;\n", k, val_member(ft->results[k]),
                type_letter(ft->results[k]), k);
    fputs("  (void)a; (void)r;\n}\n\n", out);
  } else {
    fprintf(out, "static void *get_%u(void *inst) {\n  return (void *)", i);
    write_symbol(out, self, (uint32_t)strlen(self), e->name, e->name_len);
    fputs("(&((glue_instance *)inst)->w);\n}\n\n", out);
  }
}

static void write_export_descriptor(FILE *out, const mote_module *m, uint32_t i) {
  static const char self[] = MOTE_SELF_NAME;
  const mote_export *e = mote_module_export(m, i);
  fputs("  {", out);
  write_c_string(out, e->name, e->name_len);
  fprintf(out, ", %u, ", e->name_len);
  switch (e->kind) {
    case MOTE_EXTERN_FUNC:
      write_type(out, e->kind, mote_module_func_type(m, e->index), 0, false, NULL);
      fprintf(out, ", call_%u, (wasm_rt_function_ptr_t)&", i);
      write_symbol(out, self, (uint32_t)strlen(self), e->name, e->name_len);
      fputs(", 0},\n", out);
      return;
    case MOTE_EXTERN_TABLE: {
      const mote_tabletype *t = mote_module_table(m, e->index);
      write_type(out, e->kind, NULL, t->elemtype, false, &t->limits);
      break;
    }
    case MOTE_EXTERN_MEMORY:
      write_type(out, e->kind, NULL, 0, false, mote_module_memory(m, e->index));
      break;
    case MOTE_EXTERN_GLOBAL: {
      const mote_globaltype *g = mote_module_global(m, e->index);
      write_type(out, e->kind, NULL, g->valtype, g->is_mutable, NULL);
      break;
    }
  }
  fprintf(out, ", 0, 0, get_%u},\n", i);
}

static void write_import_descriptor(FILE *out, const mote_module *m, uint32_t k) {
  const mote_import *imp = mote_module_import(m, k);
  fputs("  {", out);
  write_c_string(out, imp->module, imp->module_len);
  fprintf(out, ", %u, ", imp->module_len);
  write_c_string(out, imp->name, imp->name_len);
  fprintf(out, ", %u, ", imp->name_len);
  switch (imp->kind) {
    case MOTE_EXTERN_FUNC:
      write_type(out, imp->kind, mote_module_type(m, imp->u.type_index), 0, false, NULL);
      break;
    case MOTE_EXTERN_TABLE:
      write_type(out, imp->kind, NULL, imp->u.table.elemtype, false, &imp->u.table.limits);
      break;
    case MOTE_EXTERN_MEMORY:
      write_type(out, imp->kind, NULL, 0, false, &imp->u.memory);
      break;
    case MOTE_EXTERN_GLOBAL:
      write_type(out, imp->kind, NULL, imp->u.global.valtype, imp->u.global.is_mutable, NULL);
      break;
  }
  fputs("},\n", out);
}

/* A snapshot copies the instance's bytes and rebinds only the import
 * pointers: imported memories, tables or globals would be shared state it
 * cannot copy, and a reference-typed global would point into the donor. */
static bool snapshot_ok(const mote_module *m) {
  for (uint32_t k = 0; k < mote_module_import_count(m); k++)
    if (mote_module_import(m, k)->kind != MOTE_EXTERN_FUNC) return false;
  for (uint32_t i = 0; i < mote_module_global_count(m); i++) {
    uint8_t t = mote_module_global(m, i)->valtype;
    if (t == MOTE_FUNCREF || t == MOTE_EXTERNREF) return false;
  }
  return true;
}

int mote_glue_write(FILE *out, const mote_module *m) {
  const char *self = MOTE_SELF_NAME;
  uint32_t nimports = mote_module_import_count(m), nexports = mote_module_export_count(m);
  bool func_imports = false;
  for (uint32_t k = 0; k < nimports; k++)
    if (mote_module_import(m, k)->kind == MOTE_EXTERN_FUNC) func_imports = true;

  fputs("/* Generated by mote (src/compile/glue.c): do not edit. */\n"
        "#include <stddef.h>\n#include \"module.h\"\n#include \"abi.h\"\n\n"
        "#define MOTE_EXPORT __attribute__((visibility(\"default\")))\n\n",
        out);
  fprintf(out, "typedef struct glue_instance {\n  Z_%s_instance_t w;\n"
               "  const mote_abi_binding *imports;\n} glue_instance;\n\n", self);

  for (uint32_t k = 0; k < nimports; k++) {
    if (mote_module_import(m, k)->kind == MOTE_EXTERN_FUNC)
      write_import_trampoline(out, m, k, func_imports);
    else
      write_import_accessor(out, m, k, func_imports);
  }

  fputs("static void glue_instantiate(void *inst, const mote_abi_binding *imports) {\n"
        "  glue_instance *g = inst;\n  g->imports = imports;\n",
        out);
  fprintf(out, "  Z_%s_instantiate(&g->w", self);
  if (nimports > 0)
    fprintf(out, ", (struct Z_" MOTE_IMPORT_MODULE "_instance_t *)%s",
            func_imports ? "&g->w.Z_" MOTE_IMPORT_MODULE "_instance" : "g");
  fputs(");\n}\n\n", out);
  /* What init_instance_import and glue_instantiate set, and nothing else. */
  fputs("static void glue_rebind(void *inst, const mote_abi_binding *imports) {\n"
        "  glue_instance *g = inst;\n  g->imports = imports;\n",
        out);
  if (func_imports)
    fputs("  g->w.Z_" MOTE_IMPORT_MODULE "_instance = (struct Z_" MOTE_IMPORT_MODULE
          "_instance_t *)&g->w.Z_" MOTE_IMPORT_MODULE "_instance;\n",
          out);
  fputs("}\n\n", out);
  fprintf(out, "static void glue_free(void *inst) {\n  Z_%s_free(&((glue_instance *)inst)->w);\n}\n\n",
          self);

  for (uint32_t i = 0; i < nexports; i++) write_export_entry(out, m, i);

  fputs("static const mote_abi_import glue_imports[] = {\n", out);
  for (uint32_t k = 0; k < nimports; k++) write_import_descriptor(out, m, k);
  if (nimports == 0) fputs("  {0},\n", out);
  fputs("};\n\nstatic const mote_abi_export glue_exports[] = {\n", out);
  for (uint32_t i = 0; i < nexports; i++) write_export_descriptor(out, m, i);
  if (nexports == 0) fputs("  {0},\n", out);
  fputs("};\n\n", out);

  fprintf(out,
          "MOTE_EXPORT const mote_abi_module mote_abi_module_v2 = {\n"
          "  MOTE_ABI_VERSION, sizeof(glue_instance), Z_%s_init_module, glue_instantiate,\n"
          "  glue_free, %u, glue_imports, %u, glue_exports, %s, %s,\n};\n",
          self, nimports, nexports, snapshot_ok(m) ? "MOTE_ABI_SNAPSHOT" : "0",
          snapshot_ok(m) ? "glue_rebind" : "0");
  return ferror(out) ? -1 : 0;
}
