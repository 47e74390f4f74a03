/*
 * The module around the functions: module-level validation, the instance
 * struct, segments, instantiation, exports and the ABI descriptor
 * (src/rt/abi.h) of one generated C file.
 *
 * The instance (`inst`) is what the runtime allocates (instance_size bytes,
 * zeroed): the import bindings, a pointer to each memory, table and imported
 * global (own ones point into the instance itself), own globals, the dropped
 * flags of segments. Functions are w<index> for the whole index space: an
 * imported one is a trampoline through its binding, so a call, a table entry
 * and an export all take the same pointer with the instance as context.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include "compile_internal.h"
#include "rt/abi.h"
#include "xl.h"


__attribute__((format(printf, 2, 3))) static bool invalid(xl_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  err->failed = true;
  return false;
}

/* Writing the C failed (errno says why: a full disk, most often) or memory
 * ran out: the module is not at fault. */
static bool io_failed(xl_error *err, const char *what) {
  int e = errno;
  if (err->failed) return false;
  invalid(err, "%s: %s", what, strerror(e));
  err->io = true;
  return false;
}

static bool no_memory(xl_error *err) {
  if (err->failed) return false;
  invalid(err, "out of memory");
  err->io = true;
  return false;
}

/* ---- module-level validation ------------------------------------------- */

static bool const_ok(const xl_module *x, const xl_const *c, xl_error *err) {
  if (c->op == 0x23 && c->bits >= x->nimports_global)
    return invalid(err, "unknown global %u: a constant expression reads imported globals only",
                   (unsigned)c->bits);
  if (c->op == 0xd2 && c->bits >= mote_module_func_count(x->m))
    return invalid(err, "unknown function %u", (unsigned)c->bits);
  return true;
}

/* Exports by name, then by index (qsort_r's context: the module). */
static int by_export_name(const void *a, const void *b, void *ctx) {
  const mote_module *m = ctx;
  uint32_t i = *(const uint32_t *)a, k = *(const uint32_t *)b;
  const mote_export *x = mote_module_export(m, i), *y = mote_module_export(m, k);
  size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int c = memcmp(x->name, y->name, n);
  if (c) return c;
  if (x->name_len != y->name_len) return x->name_len < y->name_len ? -1 : 1;
  return i < k ? -1 : i > k;
}

/* The first export (in index order) whose name an earlier one has, found by
 * sorting (comparing each with all before it took 23 s for 100,000
 * exports): in a run of one name, all but the first repeat an earlier one.
 * UINT32_MAX for none, UINT32_MAX - 1 when memory ran out. */
static uint32_t duplicate_export(const mote_module *m) {
  uint32_t n = mote_module_export_count(m);
  if (n < 2) return UINT32_MAX;
  uint32_t *order = malloc((size_t)n * sizeof *order), dup = UINT32_MAX;
  if (!order) return UINT32_MAX - 1;
  for (uint32_t i = 0; i < n; i++) order[i] = i;
  qsort_r(order, n, sizeof *order, by_export_name, (void *)m);
  for (uint32_t i = 1; i < n; i++) {
    const mote_export *a = mote_module_export(m, order[i - 1]), *b = mote_module_export(m, order[i]);
    if (a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len) && order[i] < dup)
      dup = order[i];
  }
  free(order);
  return dup;
}

static bool validate(const xl_module *x, xl_error *err) {
  const mote_module *m = x->m;
  uint32_t ntypes = mote_module_type_count(m);
  for (uint32_t k = 0; k < mote_module_import_count(m); k++) {
    const mote_import *imp = mote_module_import(m, k);
    if (imp->kind == MOTE_EXTERN_FUNC && imp->u.type_index >= ntypes)
      return invalid(err, "unknown type %u of import %u", imp->u.type_index, k);
  }
  for (uint32_t i = 0; i < mote_module_func_count(m); i++)
    if (!mote_module_func_type(m, i)) return invalid(err, "unknown type of function %u", i);
  if (mote_module_memory_count(m) > 1) return invalid(err, "multiple memories");
  for (uint32_t i = 0; i < mote_module_memory_count(m); i++) {
    const mote_limits *l = mote_module_memory(m, i);
    if (l->min > 65536 || (l->has_max && l->max > 65536))
      return invalid(err, "memory size must be at most 65536 pages (4GiB)");
    if (l->has_max && l->min > l->max)
      return invalid(err, "size minimum must not be greater than maximum");
  }
  for (uint32_t i = 0; i < mote_module_table_count(m); i++) {
    const mote_limits *l = &mote_module_table(m, i)->limits;
    if (l->has_max && l->min > l->max)
      return invalid(err, "size minimum must not be greater than maximum");
  }
  uint32_t nexports = mote_module_export_count(m);
  uint32_t dup = duplicate_export(m);
  if (dup == UINT32_MAX - 1) return no_memory(err);
  for (uint32_t i = 0; i < nexports; i++) {
    const mote_export *e = mote_module_export(m, i);
    uint32_t limit = e->kind == MOTE_EXTERN_FUNC     ? mote_module_func_count(m)
                     : e->kind == MOTE_EXTERN_TABLE  ? mote_module_table_count(m)
                     : e->kind == MOTE_EXTERN_MEMORY ? mote_module_memory_count(m)
                                                     : mote_module_global_count(m);
    if (e->index >= limit) return invalid(err, "unknown export index %u (export %u)", e->index, i);
    /* in export order, as when each was compared with those before it */
    if (i == dup) return invalid(err, "duplicate export name (export %u)", i);
  }
  uint32_t start;
  if (mote_module_start(m, &start)) {
    if (start >= mote_module_func_count(m)) return invalid(err, "unknown function %u (start)", start);
    const mote_functype *ft = mote_module_func_type(m, start);
    if (ft->param_count || ft->result_count) return invalid(err, "start function must be [] -> []");
  }
  for (uint32_t i = 0; i < x->ndata; i++) {
    const xl_data *d = &x->data[i];
    if (d->active && (d->memory != 0 || mote_module_memory_count(m) == 0))
      return invalid(err, "unknown memory %u (data segment %u)", d->memory, i);
  }
  for (uint32_t i = 0; i < x->nelems; i++) {
    const xl_elem *e = &x->elems[i];
    if (e->mode != 0) continue;
    if (e->table >= mote_module_table_count(m))
      return invalid(err, "unknown table %u (element segment %u)", e->table, i);
    if (mote_module_table(m, e->table)->elemtype != e->type)
      return invalid(err, "type mismatch: element segment %u and its table", i);
  }
  /* Constant expressions of 2.0 read imported globals only. */
  for (uint32_t i = 0; i < x->nglobals; i++)
    if (!const_ok(x, &x->globals[i].init, err)) return false;
  for (uint32_t i = 0; i < x->ndata; i++)
    if (x->data[i].active && !const_ok(x, &x->data[i].offset, err)) return false;
  for (uint32_t i = 0; i < x->nelems; i++) {
    const xl_elem *e = &x->elems[i];
    if (e->mode == 0 && !const_ok(x, &e->offset, err)) return false;
    xl_const bad = {.op = e->bad_op, .bits = e->bad_index};
    if (e->bad_op && !const_ok(x, &bad, err)) return false;
  }
  if (x->nbodies != mote_module_func_count(m) - x->nimports_func)
    return invalid(err, "function and code section have inconsistent lengths");
  return true;
}

/* ---- pieces ---------------------------------------------------------------- */

static void write_const(FILE *o, const xl_const *c, uint8_t type) {
  switch (c->op) {
    case 0x41: xl_printf(o, "%" PRIu32 "u", (uint32_t)c->bits); return;
    case 0x42: xl_printf(o, "%" PRIu64 "ull", c->bits); return;
    case 0x43: xl_printf(o, "xl_f32_of(0x%08" PRIx32 "u)", (uint32_t)c->bits); return;
    case 0x44: xl_printf(o, "xl_f64_of(0x%016" PRIx64 "ull)", c->bits); return;
    case 0x23: {
      xl_printf(o, "(*I->g%" PRIu64 ")", c->bits); /* only imported globals in 2.0 */
      return;
    }
    case 0xd0: fputs_unlocked(type == MOTE_FUNCREF ? "wasm_rt_funcref_null_value" : "NULL", o); return;
    case 0xd2: xl_printf(o, "xl_fref_%" PRIu64 "(I)", c->bits); return;
    case 0xfd:
      fputs_unlocked("xl_v128_bytes(\"", o);
      xl_put_octal_escapes(o, c->v128, 16, 0);
      fputs_unlocked("\")", o);
      return;
  }
  fputs_unlocked("0", o);
}

/* A global.get in a constant expression reads an earlier global: imported
 * ones through their pointer, own ones directly. */
static void write_init(FILE *o, const xl_module *x, const xl_const *c, uint8_t type) {
  if (c->op == 0x23 && c->bits >= x->nimports_global)
    xl_printf(o, "I->g%" PRIu64, c->bits);
  else
    write_const(o, c, type);
}

static void write_multi_structs(FILE *o, const mote_module *m) {
  for (uint32_t t = 0; t < mote_module_type_count(m); t++) {
    const mote_functype *ft = mote_module_type(m, t);
    if (ft->result_count < 2) continue;
    char name[2100];
    uint32_t n = ft->result_count < 2000 ? ft->result_count : 2000;
    for (uint32_t i = 0; i < n; i++) name[i] = xl_type_letter(ft->results[i]);
    name[n] = 0;
    xl_printf(o, "#ifndef XL_MV_%s\n#define XL_MV_%s\nstruct wasm_multi_%s {", name, name, name);
    for (uint32_t i = 0; i < ft->result_count; i++)
      xl_printf(o, " %s %c%u;", xl_c_type(ft->results[i]), xl_type_letter(ft->results[i]), i);
    fputs_unlocked(" };\n#endif\n", o);
  }
}

void xl_write_prototype(FILE *o, const mote_module *m, uint32_t f) {
  const mote_functype *ft = mote_module_func_type(m, f);
  fputs_unlocked("XL_FUNC ", o);
  xl_write_return_type(o, ft);
  xl_printf(o, " w%u(inst *I", f);
  for (uint32_t i = 0; i < ft->param_count; i++) xl_printf(o, ", %s", xl_c_type(ft->params[i]));
  fputs_unlocked(")", o);
}

static void write_instance(FILE *o, const xl_module *x) {
  const mote_module *m = x->m;
  fputs_unlocked("typedef struct inst {\n  const mote_abi_binding *imports;\n", o);
  for (uint32_t i = 0; i < mote_module_memory_count(m); i++) {
    xl_printf(o, "  wasm_rt_memory_t *m%u;\n", i);
    if (i >= x->nimports_mem) xl_printf(o, "  wasm_rt_memory_t m%u_own;\n", i);
  }
  for (uint32_t i = 0; i < mote_module_table_count(m); i++) {
    const char *tt = mote_module_table(m, i)->elemtype == MOTE_FUNCREF ? "wasm_rt_funcref_table_t"
                                                                         : "wasm_rt_externref_table_t";
    xl_printf(o, "  %s *t%u;\n", tt, i);
    if (i >= x->nimports_table) xl_printf(o, "  %s t%u_own;\n", tt, i);
  }
  for (uint32_t i = 0; i < mote_module_global_count(m); i++) {
    const mote_globaltype *g = mote_module_global(m, i);
    xl_printf(o, "  %s %sg%u;\n", xl_c_type(g->valtype), i < x->nimports_global ? "*" : "", i);
  }
  xl_printf(o, "  u8 data_dropped[%u];\n  u8 elem_dropped[%u];\n} inst;\n\n", x->ndata + 1,
          x->nelems + 1);
}

static void write_trampoline(FILE *o, const mote_module *m, uint32_t f, uint32_t k) {
  char body[96];
  xl_bprintf(body, sizeof body, "  const mote_abi_binding *b = &I->imports[%u];\n", k);
  xl_write_forwarder(o, mote_module_func_type(m, f), f, body, "void *", "b->func.fn",
                     "b->func.ctx");
  fputc_unlocked('\n', o);
}

/* Element segments: per segment an array of item codes (an index into
 * xl_funcs, the functions a reference may name; XL_ITEM_NULL; or XL_ITEM_GLOBAL |
 * a global's index), and xl_table_init turning codes into references. */
static bool write_elems(FILE *o, const xl_module *x) {
  const mote_module *m = x->m;
  uint32_t nf = mote_module_func_count(m), nd = 0;
  uint32_t *dense = malloc(((size_t)nf + 1) * sizeof *dense);
  if (!dense) return false;
  for (uint32_t f = 0; f < nf; f++) dense[f] = x->declared[f] ? nd++ : XL_ITEM_NULL;
  fputs_unlocked("typedef struct xl_fentry { wasm_rt_function_ptr_t fn; const u32 *type; } xl_fentry;\n",
        o);
  xl_printf(o, "static const xl_fentry xl_funcs[%u] = {\n", nd + 1);
  for (uint32_t f = 0; f < nf; f++)
    if (x->declared[f])
      xl_printf(o, "  {(wasm_rt_function_ptr_t)&w%u, &xl_ft%u},\n", f,
              mote_module_func_type_index(m, f));
  fputs_unlocked("  {0, 0}};\n", o);
  for (uint32_t i = 0; i < x->nelems; i++) {
    const xl_elem *e = &x->elems[i];
    xl_printf(o, "static const u32 xl_e%u[%u] = {", i, e->count + 1);
    for (uint32_t k = 0; k < e->count; k++) {
      uint32_t item = e->items[k];
      uint32_t code = item == XL_ITEM_NULL || (item & XL_ITEM_GLOBAL) ? item : dense[item];
      xl_printf(o, "%s%u", k % 16 == 15 ? ",\n" : k ? "," : "", code);
    }
    fputs_unlocked("};\n", o);
  }
  free(dense);
  xl_printf(o, "static const u32 *const xl_elems[%u] = {", x->nelems + 1);
  for (uint32_t i = 0; i < x->nelems; i++) xl_printf(o, "xl_e%u, ", i);
  xl_printf(o, "0};\nstatic const u32 xl_elem_len[%u] = {", x->nelems + 1);
  for (uint32_t i = 0; i < x->nelems; i++) xl_printf(o, "%u, ", x->elems[i].count);
  fputs_unlocked("0};\n", o);

  /* references held by globals, for global.get items */
  fputs_unlocked("static void *xl_global_ref(inst *I, u32 g) {\n  switch (g) {\n", o);
  for (uint32_t g = 0; g < mote_module_global_count(m); g++) {
    uint8_t t = mote_module_global(m, g)->valtype;
    if (t != MOTE_FUNCREF && t != MOTE_EXTERNREF) continue;
    xl_printf(o, "  case %u: return %sI->g%u;\n", g, g < x->nimports_global ? "" : "&", g);
  }
  fputs_unlocked("  }\n  return 0;\n}\n", o);
  fputs_unlocked(
      "static fref xl_item_f(inst *I, u32 code) {\n"
      "  if (code == 0xffffffffu) return wasm_rt_funcref_null_value;\n"
      "  if (code & 0x80000000u) return *(fref *)xl_global_ref(I, code & 0x7fffffffu);\n"
      "  fref r = {*xl_funcs[code].type, xl_funcs[code].fn, I};\n  return r;\n}\n"
      "static eref xl_item_e(inst *I, u32 code) {\n"
      "  if (code == 0xffffffffu) return NULL;\n"
      "  return *(eref *)xl_global_ref(I, code & 0x7fffffffu);\n}\n"
      "XL_FUNC void xl_table_init(inst *I, u32 seg, void *table, u32 d, u32 s, u32 n) {\n"
      "  u32 len = I->elem_dropped[seg] ? 0 : xl_elem_len[seg];\n"
      "  const u32 *items = xl_elems[seg];\n"
      "  wasm_rt_funcref_table_t *t = table;\n"
      "  xl_check_range(s, n, len);\n  xl_check_range(d, n, t->size);\n",
      o);
  /* both table kinds have data, max_size, size in the same places */
  fputs_unlocked("  if (xl_elem_type[seg] == 0) {\n"
        "    for (u32 i = 0; i < n; i++) t->data[d + i] = xl_item_f(I, items[s + i]);\n"
        "  } else {\n"
        "    wasm_rt_externref_table_t *e = table;\n"
        "    for (u32 i = 0; i < n; i++) e->data[d + i] = xl_item_e(I, items[s + i]);\n"
        "  }\n}\n\n",
        o);
  return true;
}

static void write_init_module(FILE *o, const mote_module *m) {
  fputs_unlocked("static void xl_init_module(void) {\n", o);
  for (uint32_t t = 0; t < mote_module_type_count(m); t++) {
    const mote_functype *ft = mote_module_type(m, t);
    xl_printf(o, "  xl_ft%u = wasm_rt_register_func_type(%u, %u", t, ft->param_count,
            ft->result_count);
    for (uint32_t i = 0; i < ft->param_count; i++) xl_printf(o, ", %d", xl_rt_type(ft->params[i]));
    for (uint32_t i = 0; i < ft->result_count; i++) xl_printf(o, ", %d", xl_rt_type(ft->results[i]));
    fputs_unlocked(");\n", o);
  }
  fputs_unlocked("}\n\n", o);
}

static void write_instantiate(FILE *o, const xl_module *x) {
  const mote_module *m = x->m;
  fputs_unlocked("static void xl_instantiate(void *p, const mote_abi_binding *imports) {\n"
        "  inst *I = p;\n  I->imports = imports;\n",
        o);
  /* per kind, the index of the next import among the imports of its kind
   * (counted as they come: asked per import it was quadratic, 12 s for a
   * module of 100,000 imports) */
  uint32_t seen[MOTE_EXTERN_GLOBAL + 1] = {0};
  for (uint32_t k = 0; k < mote_module_import_count(m); k++) {
    const mote_import *imp = mote_module_import(m, k);
    uint32_t s = imp->kind <= MOTE_EXTERN_GLOBAL ? seen[imp->kind]++ : 0;
    switch (imp->kind) {
      case MOTE_EXTERN_MEMORY: xl_printf(o, "  I->m%u = imports[%u].memory;\n", s, k); break;
      case MOTE_EXTERN_TABLE:
        xl_printf(o, "  I->t%u = imports[%u].%s;\n", s, k,
                imp->u.table.elemtype == MOTE_FUNCREF ? "funcref_table" : "externref_table");
        break;
      case MOTE_EXTERN_GLOBAL: xl_printf(o, "  I->g%u = imports[%u].global;\n", s, k); break;
      default: break;
    }
  }
  for (uint32_t g = x->nimports_global; g < mote_module_global_count(m); g++) {
    xl_printf(o, "  I->g%u = ", g);
    write_init(o, x, &x->globals[g - x->nimports_global].init, mote_module_global(m, g)->valtype);
    fputs_unlocked(";\n", o);
  }
  for (uint32_t i = x->nimports_mem; i < mote_module_memory_count(m); i++) {
    const mote_limits *l = mote_module_memory(m, i);
    xl_printf(o, "  wasm_rt_allocate_memory(&I->m%u_own, %" PRIu64 "u, %" PRIu64 "u);\n  I->m%u = &I->m%u_own;\n",
            i, l->min, l->has_max ? l->max : 65536, i, i);
  }
  for (uint32_t i = x->nimports_table; i < mote_module_table_count(m); i++) {
    const mote_tabletype *t = mote_module_table(m, i);
    xl_printf(o, "  wasm_rt_allocate_%s_table(&I->t%u_own, %" PRIu64 "u, %" PRIu64 "u);\n  I->t%u = &I->t%u_own;\n",
            t->elemtype == MOTE_FUNCREF ? "funcref" : "externref", i, t->limits.min,
            t->limits.has_max ? t->limits.max : 0xffffffffu, i, i);
  }
  for (uint32_t i = 0; i < x->nelems; i++) {
    const xl_elem *e = &x->elems[i];
    if (e->mode == 0) {
      xl_printf(o, "  xl_table_init(I, %u, I->t%u, ", i, e->table);
      write_init(o, x, &e->offset, MOTE_I32);
      xl_printf(o, ", 0, %u);\n", e->count);
    }
    if (e->mode != 1) xl_printf(o, "  I->elem_dropped[%u] = 1;\n", i);
  }
  for (uint32_t i = 0; i < x->ndata; i++) {
    const xl_data *d = &x->data[i];
    if (!d->active) continue;
    xl_printf(o, "  xl_memory_init(I->m0, %u, xl_d%u, ", d->len, i);
    write_init(o, x, &d->offset, MOTE_I32);
    xl_printf(o, ", 0, %u);\n  I->data_dropped[%u] = 1;\n", d->len, i);
  }
  uint32_t start;
  if (mote_module_start(m, &start)) xl_printf(o, "  w%u(I);\n", start);
  fputs_unlocked("}\n\n", o);

  fputs_unlocked("static void xl_free(void *p) {\n  inst *I = p;\n  (void)I;\n", o);
  for (uint32_t i = x->nimports_mem; i < mote_module_memory_count(m); i++)
    xl_printf(o, "  wasm_rt_free_memory(&I->m%u_own);\n", i);
  for (uint32_t i = x->nimports_table; i < mote_module_table_count(m); i++)
    xl_printf(o, "  wasm_rt_free_%s_table(&I->t%u_own);\n",
            mote_module_table(m, i)->elemtype == MOTE_FUNCREF ? "funcref" : "externref", i);
  fputs_unlocked("}\n\n", o);

  /* what instantiate sets that points at the instance or the bindings */
  fputs_unlocked("static void xl_rebind(void *p, const mote_abi_binding *imports) {\n"
        "  inst *I = p;\n  I->imports = imports;\n",
        o);
  for (uint32_t i = x->nimports_mem; i < mote_module_memory_count(m); i++)
    xl_printf(o, "  I->m%u = &I->m%u_own;\n", i, i);
  for (uint32_t i = x->nimports_table; i < mote_module_table_count(m); i++)
    xl_printf(o, "  I->t%u = &I->t%u_own;\n", i, i);
  fputs_unlocked("}\n\n", o);
}

static void write_c_string(FILE *out, const char *s, uint32_t len) {
  fputc_unlocked('"', out);
  for (uint32_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == ' ' || c == '-' || c == '.')
      fputc_unlocked(c, out);
    else
      xl_printf(out, "\\%03o", c);
  }
  fputc_unlocked('"', out);
}

static void write_type(FILE *out, mote_extern_kind kind, const mote_functype *ft, uint8_t valtype,
                       bool is_mutable, const mote_limits *limits) {
  xl_printf(out, "{%d, ", (int)kind);
  if (ft)
    xl_write_signature(out, ft);
  else
    fputs_unlocked("0", out);
  xl_printf(out, ", %u, %d, %d, %" PRIu64 "u, %" PRIu64 "u}", valtype, is_mutable ? 1 : 0,
          limits && limits->has_max ? 1 : 0, limits ? limits->min : 0,
          limits && limits->has_max ? limits->max : 0);
}

static const char *val_member(uint8_t t) {
  switch (t) {
    case MOTE_I64: return "i64";
    case MOTE_F32: return "f32";
    case MOTE_F64: return "f64";
    case MOTE_V128: return "v128";
    case MOTE_FUNCREF: return "funcref";
    case MOTE_EXTERNREF: return "externref";
    default: return "i32";
  }
}

static void write_exports(FILE *o, const xl_module *x) {
  const mote_module *m = x->m;
  uint32_t n = mote_module_export_count(m);
  for (uint32_t i = 0; i < n; i++) {
    const mote_export *e = mote_module_export(m, i);
    if (e->kind == MOTE_EXTERN_FUNC) {
      const mote_functype *ft = mote_module_func_type(m, e->index);
      /* v128 crosses as 16 bytes (mote_val.v128) */
      xl_printf(o, "static void xl_call%u(void *p, const mote_val *a, mote_val *r) {\n  ", i);
      if (ft->result_count == 1 && ft->results[0] != MOTE_V128)
        xl_printf(o, "r[0].%s = ", val_member(ft->results[0]));
      else if (ft->result_count >= 1) {
        xl_write_return_type(o, ft);
        fputs_unlocked(" t = ", o);
      }
      xl_printf(o, "w%u((inst *)p", e->index);
      for (uint32_t k = 0; k < ft->param_count; k++) {
        if (ft->params[k] == MOTE_V128)
          xl_printf(o, ", xl_v128_bytes(a[%u].v128)", k);
        else
          xl_printf(o, ", a[%u].%s", k, val_member(ft->params[k]));
      }
      fputs_unlocked(");\n", o);
      if (ft->result_count == 1 && ft->results[0] == MOTE_V128)
        fputs_unlocked("  memcpy(r[0].v128, &t, 16);\n", o);
      if (ft->result_count > 1)
        for (uint32_t k = 0; k < ft->result_count; k++) {
          if (ft->results[k] == MOTE_V128)
            xl_printf(o, "  memcpy(r[%u].v128, &t.v%u, 16);\n", k, k);
          else
            xl_printf(o, "  r[%u].%s = t.%c%u;\n", k, val_member(ft->results[k]),
                    xl_type_letter(ft->results[k]), k);
        }
      fputs_unlocked("  (void)a; (void)r;\n}\n", o);
    } else {
      xl_printf(o, "static void *xl_get%u(void *p) {\n  inst *I = p;\n  return (void *)", i);
      if (e->kind == MOTE_EXTERN_MEMORY)
        xl_printf(o, "I->m%u;\n}\n", e->index);
      else if (e->kind == MOTE_EXTERN_TABLE)
        xl_printf(o, "I->t%u;\n}\n", e->index);
      else
        xl_printf(o, "%sI->g%u;\n}\n", e->index < x->nimports_global ? "" : "&", e->index);
    }
  }
  fputs_unlocked("static const mote_abi_import xl_imports[] = {\n", o);
  for (uint32_t k = 0; k < mote_module_import_count(m); k++) {
    const mote_import *imp = mote_module_import(m, k);
    fputs_unlocked("  {", o);
    write_c_string(o, imp->module, imp->module_len);
    xl_printf(o, ", %u, ", imp->module_len);
    write_c_string(o, imp->name, imp->name_len);
    xl_printf(o, ", %u, ", imp->name_len);
    switch (imp->kind) {
      case MOTE_EXTERN_FUNC:
        write_type(o, imp->kind, mote_module_type(m, imp->u.type_index), 0, false, NULL);
        break;
      case MOTE_EXTERN_TABLE:
        write_type(o, imp->kind, NULL, imp->u.table.elemtype, false, &imp->u.table.limits);
        break;
      case MOTE_EXTERN_MEMORY: write_type(o, imp->kind, NULL, 0, false, &imp->u.memory); break;
      case MOTE_EXTERN_GLOBAL:
        write_type(o, imp->kind, NULL, imp->u.global.valtype, imp->u.global.is_mutable, NULL);
        break;
    }
    fputs_unlocked("},\n", o);
  }
  if (mote_module_import_count(m) == 0) fputs_unlocked("  {0},\n", o);
  fputs_unlocked("};\n\nstatic const mote_abi_export xl_exports[] = {\n", o);
  for (uint32_t i = 0; i < n; i++) {
    const mote_export *e = mote_module_export(m, i);
    fputs_unlocked("  {", o);
    write_c_string(o, e->name, e->name_len);
    xl_printf(o, ", %u, ", e->name_len);
    switch (e->kind) {
      case MOTE_EXTERN_FUNC:
        write_type(o, e->kind, mote_module_func_type(m, e->index), 0, false, NULL);
        xl_printf(o, ", xl_call%u, (wasm_rt_function_ptr_t)&w%u, 0},\n", i, e->index);
        continue;
      case MOTE_EXTERN_TABLE: {
        const mote_tabletype *t = mote_module_table(m, e->index);
        write_type(o, e->kind, NULL, t->elemtype, false, &t->limits);
        break;
      }
      case MOTE_EXTERN_MEMORY:
        write_type(o, e->kind, NULL, 0, false, mote_module_memory(m, e->index));
        break;
      case MOTE_EXTERN_GLOBAL: {
        const mote_globaltype *g = mote_module_global(m, e->index);
        write_type(o, e->kind, NULL, g->valtype, g->is_mutable, NULL);
        break;
      }
    }
    xl_printf(o, ", 0, 0, xl_get%u},\n", i);
  }
  if (n == 0) fputs_unlocked("  {0},\n", o);
  fputs_unlocked("};\n\n", o);
}

/* As glue.c: a snapshot copies the instance's bytes and rebinds only the
 * import pointers, so every import must be a function and no global may
 * hold a reference. */
static bool snapshot_ok(const mote_module *m) {
  for (uint32_t k = 0; k < mote_module_import_count(m); k++)
    if (mote_module_import(m, k)->kind != MOTE_EXTERN_FUNC) return false;
  for (uint32_t i = 0; i < mote_module_global_count(m); i++) {
    uint8_t t = mote_module_global(m, i)->valtype;
    if (t == MOTE_FUNCREF || t == MOTE_EXTERNREF) return false;
  }
  return true;
}

/* ---- the parts of the C --------------------------------------------------
 * One unit (split false): header, core and every function in one file, all
 * static. Split: mod.h (the header), core.c and one file per chunk of
 * functions, each including mod.h; what they share is hidden, not static, so
 * the linked object still exports only the descriptor. */

void xl_write_fref_helper(FILE *o, const xl_module *x, uint32_t f) {
  xl_printf(o,
          "static inline fref xl_fref_%u(inst *I) { fref r = {xl_ft%u, "
          "(wasm_rt_function_ptr_t)&w%u, I}; return r; }\n",
          f, mote_module_func_type_index(x->m, f), f);
}

/* Every function's prototype, and the ref.func helpers of those a reference
 * may name. With `lazy` the defined functions are a lazy object's stubs,
 * local symbols (xl_lazy.c). */
static void write_all_prototypes(FILE *o, const xl_module *x, bool lazy) {
  const mote_module *m = x->m;
  for (uint32_t f = 0; f < mote_module_func_count(m); f++) {
    if (lazy && f >= x->nimports_func) fputs_unlocked("static ", o);
    xl_write_prototype(o, m, f);
    fputs_unlocked(";\n", o);
  }
  for (uint32_t f = 0; f < mote_module_func_count(m); f++)
    if (x->declared[f]) xl_write_fref_helper(o, x, f);
}

bool xl_write_header(FILE *o, const xl_module *x, bool split, xl_error *err) {
  const mote_module *m = x->m;
  if (!validate(x, err)) return false;
  fputs_unlocked("/* Generated by mote's translator (src/compile/xl_*.c): do not edit. */\n", o);
  if (split) fputs_unlocked("#ifndef XL_MOD_H\n#define XL_MOD_H\n", o);
  fputs_unlocked(mote_xl_prelude_text, o);
  if (split)
    fputs_unlocked("\n#if defined(__GNUC__)\n#define XL_FUNC __attribute__((visibility(\"hidden\")))\n"
          "#else\n#define XL_FUNC\n#endif\n#define XL_SHARED extern XL_FUNC\n",
          o);
  else
    fputs_unlocked("\n#define XL_FUNC static\n#define XL_SHARED static\n", o);
  fputs_unlocked("#define MOTE_EXPORT __attribute__((visibility(\"default\")))\n", o);
  write_multi_structs(o, m);
  write_instance(o, x);
  for (uint32_t t = 0; t < mote_module_type_count(m); t++) xl_printf(o, "XL_SHARED u32 xl_ft%u;\n", t);
  fputs_unlocked("XL_FUNC void xl_table_init(inst *I, u32 seg, void *table, u32 d, u32 s, u32 n);\n", o);
  /* split: each part declares the functions and data it names (xl_write_chunk),
   * so that mod.h stays small however many functions there are */
  if (!split) write_all_prototypes(o, x, false);
  if (split) fputs_unlocked("#endif\n", o);
  return !ferror(o) || io_failed(err, "cannot write the translated C");
}

/* The names of an eager object's data segments (all, or those `named` marks):
 * places in XL_DATA_SYMBOL, which the data object defines. */
static void write_data_names(FILE *o, const xl_module *x, const uint8_t *named) {
  xl_printf(o, "extern const u8 %s[];\n", XL_DATA_SYMBOL);
  for (uint32_t i = 0; i < x->ndata; i++)
    if (!named || named[i])
      xl_printf(o, "#define xl_d%u (%s + %zu)\n", i, XL_DATA_SYMBOL, x->data[i].at);
}

bool xl_write_core(FILE *o, const xl_module *x, bool split, bool lazy, xl_error *err) {
  const mote_module *m = x->m;
  if (split) {
    fputs_unlocked("#include \"mod.h\"\n", o);
    write_all_prototypes(o, x, lazy);
  }
  const char *def = split ? "XL_FUNC" : "static";
  for (uint32_t t = 0; t < mote_module_type_count(m); t++) xl_printf(o, "%s u32 xl_ft%u;\n", def, t);
  if (lazy) {
    /* a lazy object's data segments are its module's bytes, which the
     * runtime reads at load anyway and points these at (mote_lazy_attach):
     * as C strings they were 11.8 of the 21.9 MB of Yosys's core C (tcc on
     * it: 0.25 -> 0.19 s of CPU without them; the object 5.7 -> 2.8 MB) */
    xl_printf(o, "static const u8 *xl_lazy_data[%u];\n", x->ndata + 1);
    for (uint32_t i = 0; i < x->ndata; i++) xl_printf(o, "#define xl_d%u (xl_lazy_data[%u])\n", i, i);
  } else {
    /* an eager object's are an object file of their own (data_object.c):
     * as C strings they were most of Flite's quick compile */
    write_data_names(o, x, NULL);
  }
  xl_printf(o, "static const u8 xl_elem_type[%u] = {", x->nelems + 1);
  for (uint32_t i = 0; i < x->nelems; i++)
    xl_printf(o, "%d, ", x->elems[i].type == MOTE_FUNCREF ? 0 : 1);
  fputs_unlocked("0};\n", o);
  for (uint32_t k = 0, f = 0; k < mote_module_import_count(m); k++)
    if (mote_module_import(m, k)->kind == MOTE_EXTERN_FUNC) write_trampoline(o, m, f++, k);
  if (!write_elems(o, x)) return no_memory(err);
  write_init_module(o, m);
  write_instantiate(o, x);
  write_exports(o, x);
  bool snap = snapshot_ok(m);
  xl_printf(o,
          "MOTE_EXPORT const mote_abi_module %s = {\n"
          "  MOTE_ABI_VERSION, sizeof(inst), xl_init_module, xl_instantiate, xl_free,\n"
          "  %u, xl_imports, %u, xl_exports, %s, %s,\n};\n",
          MOTE_ABI_SYMBOL, mote_module_import_count(m), mote_module_export_count(m),
          snap ? "MOTE_ABI_SNAPSHOT" : "0", snap ? "xl_rebind" : "0");
  return !ferror(o) || io_failed(err, "cannot write the translated C");
}

bool xl_write_chunk(FILE *o, const xl_module *x, uint32_t first, uint32_t end, bool split,
                    xl_error *err) {
  if (!split) {
    for (uint32_t f = first; f < end; f++)
      if (!xl_func_write(o, x, f, NULL, err)) return false;
    return !ferror(o) || io_failed(err, "cannot write the translated C");
  }
  /* the bodies first, to learn what they name; then the declarations */
  const mote_module *m = x->m;
  xl_refs refs = {calloc(mote_module_func_count(m) + 1, 1), calloc(x->ndata + 1, 1), NULL, 0,
                  NULL, 0};
  char *body = NULL;
  size_t len = 0;
  FILE *b = refs.funcs && refs.data ? open_memstream(&body, &len) : NULL;
  bool ok = b != NULL;
  for (uint32_t f = first; ok && f < end; f++) ok = xl_func_write(b, x, f, &refs, err);
  if (b && fclose(b) != 0) ok = false;
  if (ok) {
    fputs_unlocked("#include \"mod.h\"\n", o);
    for (uint32_t f = first; f < end; f++) refs.funcs[f] |= 1;
    /* every chunk declares what it names: counted (a 4-byte ref.func of a
     * function of 1000 parameters is 4 KB of prototype in each chunk) */
    size_t decls = 0;
    for (uint32_t f = 0; f < mote_module_func_count(m); f++)
      if (refs.funcs[f]) {
        const mote_functype *ft = mote_module_func_type(m, f); /* validated: never NULL */
        decls += 48 + (ft ? 16 * ((size_t)ft->param_count + ft->result_count) : 0);
      }
    ok = xl_c_charge(x, decls, err);
  }
  if (ok) {
    for (uint32_t f = 0; f < mote_module_func_count(m); f++) {
      if (!refs.funcs[f]) continue;
      xl_write_prototype(o, m, f);
      fputs_unlocked(";\n", o);
      if (refs.funcs[f] & 2) xl_write_fref_helper(o, x, f);
    }
    write_data_names(o, x, refs.data);
    fwrite(body, 1, len, o);
  } else if (!err->failed) {
    no_memory(err);
  }
  free(body);
  free(refs.funcs);
  free(refs.data);
  return ok && (!ferror(o) || io_failed(err, "cannot write the translated C"));
}

bool xl_module_write(FILE *o, const xl_module *x, xl_error *err) {
  return xl_write_header(o, x, false, err) && xl_write_core(o, x, false, false, err) &&
         xl_write_chunk(o, x, x->nimports_func, mote_module_func_count(x->m), false, err);
}

/* FNV-1a of a function's type index and local declarations, not of its
 * code: the chunk boundaries depend on it, so editing the code of a function
 * moves no boundary (unless its size reaches the maximum). */
static uint32_t shape_hash(const xl_module *x, uint32_t d) {
  uint32_t h = 0x811c9dc5u;
  uint32_t t = mote_module_func_type_index(x->m, x->nimports_func + d);
  for (int i = 0; i < 4; i++) h = (h ^ (uint8_t)(t >> (8 * i))) * 0x01000193u;
  xl_cur c = {x->bytes, x->body_start[d], x->body_end[d], false};
  uint32_t groups = xl_u32(&c);
  for (uint32_t g = 0; g < groups && !c.bad; g++) {
    xl_u32(&c);
    xl_u8(&c);
  }
  for (size_t i = x->body_start[d]; i < c.pos; i++) h = (h ^ x->bytes[i]) * 0x01000193u;
  return h;
}

uint32_t xl_plan_chunks(const xl_module *x, size_t min_bytes, size_t max_bytes, uint32_t *ends) {
  uint32_t n = 0;
  size_t bytes = 0;
  for (uint32_t d = 0; d < x->nbodies; d++) {
    bytes += x->body_end[d] - x->body_start[d];
    bool last = d + 1 == x->nbodies;
    if (last || bytes >= max_bytes || (bytes >= min_bytes && shape_hash(x, d) % 8 == 0)) {
      ends[n++] = x->nimports_func + d + 1;
      bytes = 0;
    }
  }
  return n;
}
