/*
 * module/api.c: the way in (mote_module_read), the way out
 * (mote_module_free) and the accessors. Accessors return NULL or false for
 * an index out of range, including the indices a well-formed but invalid
 * module may hold (an import of type 9 in a module of 2 types).
 */
#include <stdlib.h>
#include <string.h>

#include "module/module_internal.h"

static mote_module_status read_module(const uint8_t *bytes, size_t len, bool known,
                                      mote_module **out, mote_module_error *err) {
  mr_parse p = {.known_bodies = known};
  mote_module_status rc = MOTE_MODULE_OK;
  *out = NULL;
  if (!bytes) len = 0;
  if (!(p.m = calloc(1, sizeof *p.m))) {
    mr_fail(&p, MOTE_MODULE_NOMEM, 0, "allocating the module");
    goto out;
  }
  p.m->bytes = bytes;
  p.m->len = len;
  if (!mr_names_prescan(&p)) goto out;
  if (!mr_sections(&p)) goto out;
  if (p.invalid) { /* well-formed, but ill-typed */
    p.failed = true;
    p.err = p.invalid_err;
  }

out:
  free(p.blocks);
  if (p.failed) {
    rc = p.err.status;
    mote_module_free(p.m);
    if (err) *err = p.err;
  } else {
    *out = p.m; /* the caller owns it now */
  }
  return rc;
}

mote_module_status mote_module_read(const uint8_t *bytes, size_t len, mote_module **out,
                                    mote_module_error *err) {
  return read_module(bytes, len, false, out, err);
}

mote_module_status mote_module_read_known(const uint8_t *bytes, size_t len, mote_module **out,
                                          mote_module_error *err) {
  return read_module(bytes, len, true, out, err);
}

void mote_module_free(mote_module *m) {
  if (!m) return;
  free(m->types);
  free(m->imports);
  free(m->exports);
  free(m->func_type_index);
  free(m->tables);
  free(m->memories);
  free(m->globals);
  free(m->func_names);
  free(m->customs);
  free(m->sections);
  free(m);
}

const char *mote_valtype_name(uint8_t type) {
  switch (type) {
  case MOTE_I32: return "i32";
  case MOTE_I64: return "i64";
  case MOTE_F32: return "f32";
  case MOTE_F64: return "f64";
  case MOTE_V128: return "v128";
  case MOTE_FUNCREF: return "funcref";
  case MOTE_EXTERNREF: return "externref";
  }
  return "?";
}

uint32_t mote_module_type_count(const mote_module *m) { return m->type_count; }

const mote_functype *mote_module_type(const mote_module *m, uint32_t type_index) {
  return type_index < m->type_count ? &m->types[type_index] : NULL;
}

uint32_t mote_module_import_count(const mote_module *m) { return m->import_count; }

const mote_import *mote_module_import(const mote_module *m, uint32_t i) {
  return i < m->import_count ? &m->imports[i] : NULL;
}

uint32_t mote_module_export_count(const mote_module *m) { return m->export_count; }

const mote_export *mote_module_export(const mote_module *m, uint32_t i) {
  return i < m->export_count ? &m->exports[i] : NULL;
}

uint32_t mote_module_func_count(const mote_module *m) { return m->func_count; }

const mote_functype *mote_module_func_type(const mote_module *m, uint32_t func_index) {
  if (func_index >= m->func_count) return NULL;
  return mote_module_type(m, m->func_type_index[func_index]);
}

uint32_t mote_module_func_type_index(const mote_module *m, uint32_t func_index) {
  return func_index < m->func_count ? m->func_type_index[func_index] : UINT32_MAX;
}

uint32_t mote_module_table_count(const mote_module *m) { return m->table_count; }

const mote_tabletype *mote_module_table(const mote_module *m, uint32_t table_index) {
  return table_index < m->table_count ? &m->tables[table_index] : NULL;
}

uint32_t mote_module_memory_count(const mote_module *m) { return m->memory_count; }

const mote_limits *mote_module_memory(const mote_module *m, uint32_t memory_index) {
  return memory_index < m->memory_count ? &m->memories[memory_index] : NULL;
}

uint32_t mote_module_global_count(const mote_module *m) { return m->global_count; }

const mote_globaltype *mote_module_global(const mote_module *m, uint32_t global_index) {
  return global_index < m->global_count ? &m->globals[global_index] : NULL;
}

bool mote_module_start(const mote_module *m, uint32_t *func_index) {
  if (m->has_start && func_index) *func_index = m->start;
  return m->has_start;
}

const char *mote_module_name(const mote_module *m, uint32_t *len) {
  if (!m->module_name) return NULL;
  if (len) *len = m->module_name_len;
  return m->module_name;
}

const char *mote_module_func_name(const mote_module *m, uint32_t func_index, uint32_t *len) {
  /* func_names is sorted by index (names.c keeps only increasing runs) */
  uint32_t lo = 0, hi = m->func_name_count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    const mr_name *e = &m->func_names[mid];
    if (e->index == func_index) {
      if (len) *len = e->len;
      return e->name;
    }
    if (e->index < func_index)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

const uint8_t *mote_module_custom_section(const mote_module *m, const char *name, size_t *len) {
  size_t n = strlen(name);
  for (uint32_t i = 0; i < m->custom_count; i++) {
    const mr_custom *c = &m->customs[i];
    if (c->name_len == n && memcmp(c->name, name, n) == 0) {
      if (len) *len = c->data_len;
      return c->data;
    }
  }
  return NULL;
}
