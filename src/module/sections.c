/*
 * module/sections.c: the module header, the section loop (order, sizes) and
 * every section except code (code.c) and the contents of "name" (names.c).
 *
 * Mostly the binary's structure is checked. Index references that a
 * well-formed but ill-typed ("invalid") module may get wrong, such as an
 * export of function 99 in a module of 3, are kept as they are: the
 * translator validates them (src/compile/xl_module.c), and the accessors
 * return NULL for them. Constant expressions are typed here (code.c).
 *
 * The reader also records where each section lies (layout.h).
 */
#include <string.h>

#include "module/module_internal.h"

enum {
  SEC_CUSTOM = 0,
  SEC_TYPE = 1,
  SEC_IMPORT = 2,
  SEC_FUNCTION = 3,
  SEC_TABLE = 4,
  SEC_MEMORY = 5,
  SEC_GLOBAL = 6,
  SEC_EXPORT = 7,
  SEC_START = 8,
  SEC_ELEMENT = 9,
  SEC_CODE = 10,
  SEC_DATA = 11,
  SEC_DATACOUNT = 12,
  SEC_TAG = 13, /* exception handling */
};

/* Where each known section may appear: the data count section sits between
 * element and code although its id is the largest. */
static const uint8_t section_rank[] = {
    [SEC_TYPE] = 1,    [SEC_IMPORT] = 2,  [SEC_FUNCTION] = 3, [SEC_TABLE] = 4,
    [SEC_MEMORY] = 5,  [SEC_GLOBAL] = 6,  [SEC_EXPORT] = 7,   [SEC_START] = 8,
    [SEC_ELEMENT] = 9, [SEC_DATACOUNT] = 10, [SEC_CODE] = 11, [SEC_DATA] = 12,
};

static const char *const section_names[] = {
    [SEC_CUSTOM] = "custom section", [SEC_TYPE] = "type section",
    [SEC_IMPORT] = "import section", [SEC_FUNCTION] = "function section",
    [SEC_TABLE] = "table section",   [SEC_MEMORY] = "memory section",
    [SEC_GLOBAL] = "global section", [SEC_EXPORT] = "export section",
    [SEC_START] = "start section",   [SEC_ELEMENT] = "element section",
    [SEC_CODE] = "code section",     [SEC_DATA] = "data section",
    [SEC_DATACOUNT] = "data count section",
};

static bool type_section(mr_reader *r) {
  mote_module *m = r->p->m;
  uint32_t n;
  /* A function type takes 3 bytes at least, but a GC type (refused below,
   * with its name) can take 2: count them at 1 so that it gets that far. */
  if (!mr_count(r, &n, 1, MR_MAX_TYPES, "types")) return false;
  if (!(m->types = mr_alloc(r->p, n, sizeof *m->types))) return false;
  for (uint32_t i = 0; i < n; i++) {
    mote_functype *t = &m->types[i];
    mr_where(r->p, "type %u", i);
    size_t at = r->pos;
    uint8_t form;
    if (!mr_u8(r, &form)) return false;
    if (form != 0x60) {
      /* 0x4e rec, 0x4f/0x50 sub, 0x5e array, 0x5f struct */
      if (form == 0x4e || form == 0x4f || form == 0x50 || form == 0x5e || form == 0x5f)
        return mr_unsupported(r, at, MR_GC, "type form 0x%02x", form);
      return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed function type 0x%02x", form);
    }
    /* Every 2.0 value type is one byte, so the codes can be used in place. */
    uint8_t vt;
    if (!mr_count(r, &t->param_count, 1, MR_MAX_PARAMS, "parameters")) return false;
    t->params = r->buf + r->pos;
    for (uint32_t k = 0; k < t->param_count; k++)
      if (!mr_valtype(r, &vt)) return false;
    if (!mr_count(r, &t->result_count, 1, MR_MAX_RESULTS, "results")) return false;
    t->results = r->buf + r->pos;
    for (uint32_t k = 0; k < t->result_count; k++)
      if (!mr_valtype(r, &vt)) return false;
    m->type_count = i + 1;
  }
  return true;
}

static bool globaltype(mr_reader *r, mote_globaltype *g) {
  uint8_t mut;
  if (!mr_valtype(r, &g->valtype)) return false;
  size_t at = r->pos;
  if (!mr_u8(r, &mut)) return false;
  if (mut > 1) return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed mutability 0x%02x", mut);
  g->is_mutable = mut;
  return true;
}

static bool tabletype(mr_reader *r, mote_tabletype *t) {
  return mr_reftype(r, &t->elemtype) && mr_limits(r, false, &t->limits);
}

static bool check_one_memory(mr_reader *r, size_t at, uint32_t total) {
  if (total > 1)
    return mr_unsupported(r, at, MR_MULTI_MEMORY, "%u memories (one is supported)", total);
  return true;
}

static bool import_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  uint32_t n, nfunc = 0, ntable = 0, nmem = 0, nglobal = 0;
  /* two name lengths, a kind and one byte of description */
  if (!mr_count(r, &n, 4, MR_MAX_IMPORTS, "imports")) return false;
  if (!(m->imports = mr_alloc(p, n, sizeof *m->imports))) return false;
  for (uint32_t i = 0; i < n; i++) {
    mote_import *im = &m->imports[i];
    mr_where(p, "import %u", i);
    if (!mr_name_str(r, &im->module, &im->module_len)) return false;
    if (!mr_name_str(r, &im->name, &im->name_len)) return false;
    size_t at = r->pos;
    uint8_t kind;
    if (!mr_u8(r, &kind)) return false;
    switch (kind) {
    case MOTE_EXTERN_FUNC:
      if (!mr_u32(r, &im->u.type_index)) return false;
      nfunc++;
      break;
    case MOTE_EXTERN_TABLE:
      if (!tabletype(r, &im->u.table)) return false;
      ntable++;
      break;
    case MOTE_EXTERN_MEMORY:
      if (!mr_limits(r, true, &im->u.memory)) return false;
      if (!check_one_memory(r, at, ++nmem)) return false;
      break;
    case MOTE_EXTERN_GLOBAL:
      if (!globaltype(r, &im->u.global)) return false;
      nglobal++;
      break;
    case 4:
      return mr_unsupported(r, at, MR_EXCEPTIONS, "tag import");
    default:
      return mr_fail(p, MOTE_MODULE_MALFORMED, at, "malformed import kind 0x%02x", kind);
    }
    im->kind = (mote_extern_kind)kind;
    m->import_count = i + 1;
  }

  /* The index spaces start with the imports, in order. */
  if (!(m->func_type_index = mr_alloc(p, nfunc, sizeof *m->func_type_index))) return false;
  if (!(m->tables = mr_alloc(p, ntable, sizeof *m->tables))) return false;
  if (!(m->memories = mr_alloc(p, nmem, sizeof *m->memories))) return false;
  if (!(m->globals = mr_alloc(p, nglobal, sizeof *m->globals))) return false;
  for (uint32_t i = 0; i < n; i++) {
    const mote_import *im = &m->imports[i];
    switch (im->kind) {
    case MOTE_EXTERN_FUNC: m->func_type_index[m->func_count++] = im->u.type_index; break;
    case MOTE_EXTERN_TABLE: m->tables[m->table_count++] = im->u.table; break;
    case MOTE_EXTERN_MEMORY: m->memories[m->memory_count++] = im->u.memory; break;
    case MOTE_EXTERN_GLOBAL: m->globals[m->global_count++] = im->u.global; break;
    }
  }
  m->func_import_count = m->func_count;
  return true;
}

static bool function_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  uint32_t n;
  if (!mr_count(r, &n, 1, MR_MAX_FUNCS - m->func_count, "functions")) return false;
  if (!mr_grow(p, (void **)&m->func_type_index, (size_t)m->func_count + n,
               sizeof *m->func_type_index))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    if (!mr_u32(r, &m->func_type_index[m->func_count])) return false;
    m->func_count++;
  }
  p->defined_funcs = n;
  return true;
}

static bool table_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  uint32_t n;
  if (!mr_count(r, &n, 3, MR_MAX_TABLES - m->table_count, "tables")) return false;
  if (!mr_grow(p, (void **)&m->tables, (size_t)m->table_count + n, sizeof *m->tables))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    mr_where(p, "table %u", m->table_count);
    if (r->pos < r->end && r->buf[r->pos] == 0x40)
      return mr_unsupported(r, r->pos, MR_FUNC_REFS, "table with an initializer expression");
    if (!tabletype(r, &m->tables[m->table_count])) return false;
    m->table_count++;
  }
  return true;
}

static bool memory_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  size_t at = r->pos;
  uint32_t n;
  if (!mr_count(r, &n, 2, UINT32_MAX, "memories")) return false;
  if (!check_one_memory(r, at, m->memory_count + n)) return false;
  if (!mr_grow(p, (void **)&m->memories, (size_t)m->memory_count + n, sizeof *m->memories))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    mr_where(p, "memory %u", m->memory_count);
    if (!mr_limits(r, true, &m->memories[m->memory_count])) return false;
    m->memory_count++;
  }
  return true;
}

static bool global_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  uint32_t n;
  /* a type, a mutability, and at least END */
  if (!mr_count(r, &n, 3, MR_MAX_GLOBALS - m->global_count, "globals")) return false;
  if (!mr_grow(p, (void **)&m->globals, (size_t)m->global_count + n, sizeof *m->globals))
    return false;
  for (uint32_t i = 0; i < n; i++) {
    mr_where(p, "global %u", m->global_count);
    if (!globaltype(r, &m->globals[m->global_count])) return false;
    mr_where(p, "the initializer of global %u", m->global_count);
    /* Earlier globals only (the translator refuses own ones: 2.0 reads
     * imported globals only). */
    if (!mr_const_expr(r, m->globals[m->global_count].valtype, m->global_count, NULL))
      return false;
    m->global_count++;
  }
  return true;
}

static bool export_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  uint32_t n;
  if (!mr_count(r, &n, 3, MR_MAX_EXPORTS, "exports")) return false;
  if (!(m->exports = mr_alloc(p, n, sizeof *m->exports))) return false;
  for (uint32_t i = 0; i < n; i++) {
    mote_export *ex = &m->exports[i];
    mr_where(p, "export %u", i);
    if (!mr_name_str(r, &ex->name, &ex->name_len)) return false;
    size_t at = r->pos;
    uint8_t kind;
    if (!mr_u8(r, &kind)) return false;
    if (kind == 4) return mr_unsupported(r, at, MR_EXCEPTIONS, "tag export");
    if (kind > MOTE_EXTERN_GLOBAL)
      return mr_fail(p, MOTE_MODULE_MALFORMED, at, "malformed export kind 0x%02x", kind);
    ex->kind = (mote_extern_kind)kind;
    if (!mr_u32(r, &ex->index)) return false;
    m->export_count = i + 1;
  }
  return true;
}

static bool start_section(mr_reader *r) {
  mote_module *m = r->p->m;
  if (!mr_u32(r, &m->start)) return false;
  m->has_start = true;
  return true;
}

static bool elemkind(mr_reader *r) {
  size_t at = r->pos;
  uint8_t k;
  if (!mr_u8(r, &k)) return false;
  if (k != 0x00)
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "malformed element kind 0x%02x", k);
  return true;
}


/* The eight encodings of 2.0: bit 0 passive/declarative, bit 1 explicit
 * table (active) or declarative (passive), bit 2 expressions instead of
 * function indices. */
static bool element_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  uint32_t n;
  if (!mr_count(r, &n, 3, MR_MAX_ELEM_SEGMENTS, "element segments")) return false;
  for (uint32_t i = 0; i < n; i++) {
    mr_where(p, "element segment %u", i);
    uint32_t flags, table, count;
    uint8_t type = MOTE_FUNCREF;
    size_t at = r->pos;
    if (!mr_u32(r, &flags)) return false;
    if (flags > 7)
      return mr_fail(p, MOTE_MODULE_MALFORMED, at, "malformed elements segment kind %u", flags);
    bool passive = flags & 1, explicit_or_decl = flags & 2, exprs = flags & 4;
    if (!passive) {
      if (explicit_or_decl && !mr_u32(r, &table)) return false;
      mr_where(p, "the offset of element segment %u", i);
      if (!mr_const_expr(r, MOTE_I32, m->global_count, NULL)) return false;
    }
    /* Forms 0 and 4 have no type byte: funcref is implied. */
    if (passive || explicit_or_decl) {
      if (exprs ? !mr_reftype(r, &type) : !elemkind(r)) return false;
    }
    mr_where(p, "element segment %u", i);
    if (!mr_count(r, &count, 1, UINT32_MAX, "element initialisers")) return false;
    for (uint32_t k = 0; k < count; k++) {
      uint32_t idx;
      if (!exprs) {
        if (!mr_u32(r, &idx)) return false;
        continue;
      }
      mr_where(p, "item %u of element segment %u", k, i);
      if (!mr_const_expr(r, type, m->global_count, NULL)) return false;
    }
  }
  return true;
}

static bool datacount_section(mr_reader *r) {
  if (!mr_u32(r, &r->p->datacount)) return false;
  r->p->has_datacount = true;
  return true;
}

static bool data_section(mr_reader *r) {
  mr_parse *p = r->p;
  size_t at = r->pos;
  uint32_t n;
  if (!mr_count(r, &n, 2, MR_MAX_DATA_SEGMENTS, "data segments")) return false;
  if (p->has_datacount && n != p->datacount)
    return mr_fail(p, MOTE_MODULE_MALFORMED, at,
                   "data count and data section have inconsistent lengths (%u and %u)",
                   p->datacount, n);
  for (uint32_t i = 0; i < n; i++) {
    mr_where(p, "data segment %u", i);
    uint32_t flags, mem, size;
    const uint8_t *bytes;
    at = r->pos;
    if (!mr_u32(r, &flags)) return false;
    if (flags > 2)
      return mr_fail(p, MOTE_MODULE_MALFORMED, at, "malformed data segment kind %u", flags);
    /* A memory index other than 0 is well-formed (a u32) and, with at most
     * one memory, invalid: left to the translator, like every other index. */
    if (flags == 2 && !mr_u32(r, &mem)) return false;
    mr_where(p, "the offset of data segment %u", i);
    if (flags != 1 && !mr_const_expr(r, MOTE_I32, p->m->global_count, NULL)) return false;
    mr_where(p, "data segment %u", i);
    at = r->pos;
    if (!mr_u32(r, &size)) return false;
    if (size > mr_remaining(r))
      return mr_fail(p, MOTE_MODULE_MALFORMED, at,
                     "unexpected end: data of %u bytes, %zu left in the section", size,
                     mr_remaining(r));
    if (!mr_bytes(r, size, &bytes)) return false;
  }
  return true;
}

/* A custom section, listed (here and, by mr_sections, in the layout) when it
 * is one of the first MR_CUSTOMS_LISTED or the first "name" one (names.c
 * reads no other); the rest are read and skipped. */
static bool custom_section(mr_reader *r) {
  mr_parse *p = r->p;
  mote_module *m = p->m;
  mr_custom c;
  if (!mr_name_str(r, &c.name, &c.name_len)) return false;
  c.data_len = mr_remaining(r);
  if (!mr_bytes(r, c.data_len, &c.data)) return false;
  bool is_name = c.name_len == 4 && !memcmp(c.name, "name", 4);
  bool listed = m->customs_seen++ < MR_CUSTOMS_LISTED || (is_name && !m->name_listed);
  if (!listed) return true;
  m->name_listed |= is_name;
  if (m->custom_count == m->custom_cap) {
    uint32_t cap = m->custom_cap ? 2 * m->custom_cap : 4;
    if (!mr_grow(p, (void **)&m->customs, cap, sizeof *m->customs)) return false;
    m->custom_cap = cap;
  }
  m->customs[m->custom_count++] = c;
  return true;
}

static bool header(mr_reader *r) {
  static const uint8_t magic[4] = {0x00, 0x61, 0x73, 0x6d};
  static const uint8_t version[4] = {0x01, 0x00, 0x00, 0x00};
  size_t len = mr_remaining(r);
  mr_where(r->p, "the module header");
  if (len == 0) return mr_fail(r->p, MOTE_MODULE_MALFORMED, 0, "unexpected end (empty file)");
  /* Compare what is there first: "asm" is a wrong magic, "\0as" is short. */
  if (memcmp(r->buf, magic, len < 4 ? len : 4) != 0)
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, 0,
                   "magic header not detected (not a WebAssembly binary)");
  if (len < 4) return mr_fail(r->p, MOTE_MODULE_MALFORMED, len, "unexpected end");
  if (memcmp(r->buf + 4, version, len < 8 ? len - 4 : 4) != 0)
    return mr_fail(r->p, MOTE_MODULE_MALFORMED, 4, "unknown binary version");
  if (len < 8) return mr_fail(r->p, MOTE_MODULE_MALFORMED, len, "unexpected end");
  r->pos = 8;
  return true;
}

static bool section(mr_reader *sr, uint8_t id) {
  switch (id) {
  case SEC_CUSTOM: return custom_section(sr);
  case SEC_TYPE: return type_section(sr);
  case SEC_IMPORT: return import_section(sr);
  case SEC_FUNCTION: return function_section(sr);
  case SEC_TABLE: return table_section(sr);
  case SEC_MEMORY: return memory_section(sr);
  case SEC_GLOBAL: return global_section(sr);
  case SEC_EXPORT: return export_section(sr);
  case SEC_START: return start_section(sr);
  case SEC_ELEMENT: return element_section(sr);
  case SEC_DATACOUNT: return datacount_section(sr);
  case SEC_CODE: return mr_code_section(sr);
  case SEC_DATA: return data_section(sr);
  }
  return false; /* not reached: ids were checked by the caller */
}

bool mr_sections(mr_parse *p) {
  mote_module *m = p->m;
  mr_reader r = {.p = p, .buf = m->bytes, .pos = 0, .end = m->len};
  unsigned last_rank = 0;
  bool seen_data = false;
  if (!header(&r)) return false;
  while (r.pos < r.end) {
    size_t at = r.pos;
    uint8_t id;
    uint32_t size;
    mr_where(p, "a section header");
    if (!mr_u8(&r, &id)) return false;
    if (id == SEC_TAG)
      return mr_unsupported(&r, at, MR_EXCEPTIONS, "tag section (id 13)");
    if (id > SEC_DATACOUNT)
      return mr_fail(p, MOTE_MODULE_MALFORMED, at, "malformed section id %u", id);
    if (!mr_u32(&r, &size)) return false;
    if (size > mr_remaining(&r))
      return mr_fail(p, MOTE_MODULE_MALFORMED, at,
                     "length out of bounds: section of %u bytes, %zu left", size,
                     mr_remaining(&r));
    if (id != SEC_CUSTOM) {
      if (section_rank[id] <= last_rank)
        return mr_fail(p, MOTE_MODULE_MALFORMED, at,
                       "unexpected content after last section (%s out of order or repeated)",
                       section_names[id]);
      last_rank = section_rank[id];
    }
    mr_where(p, "the %s", section_names[id]);
    mr_reader sr = {.p = p, .buf = r.buf, .pos = r.pos, .end = r.pos + size};
    uint32_t customs = m->custom_count;
    if (!section(&sr, id)) return false;
    if (sr.pos != sr.end) {
      mr_where(p, "the %s", section_names[id]);
      return mr_fail(p, MOTE_MODULE_MALFORMED, sr.pos,
                     "section size mismatch: %zu bytes left over", sr.end - sr.pos);
    }
    /* in the layout as in the custom sections' list (custom_section) */
    if (id == SEC_CUSTOM && m->custom_count == customs) {
      r.pos = sr.end;
      continue;
    }
    if (m->section_count == m->section_cap) {
      uint32_t cap = m->section_cap ? 2 * m->section_cap : 16;
      if (!mr_grow(p, (void **)&m->sections, cap, sizeof *m->sections)) return false;
      m->section_cap = cap;
    }
    m->sections[m->section_count++] =
        (mote_section_span){.id = id, .start = at, .content = r.pos, .end = r.pos + size};
    r.pos = sr.end;
    if (id == SEC_DATA) seen_data = true;
  }
  p->where[0] = '\0';
  if (p->defined_funcs != 0 && !p->seen_code)
    return mr_fail(p, MOTE_MODULE_MALFORMED, r.pos,
                   "function and code section have inconsistent lengths (%u and no code)",
                   p->defined_funcs);
  if (p->has_datacount && p->datacount != 0 && !seen_data)
    return mr_fail(p, MOTE_MODULE_MALFORMED, r.pos,
                   "data count and data section have inconsistent lengths (%u and none)",
                   p->datacount);
  return true;
}
