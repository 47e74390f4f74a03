/*
 * The translator's view of the binary: a cursor, and the module facts that
 * module.h does not give (global initialisers, segments, bodies, the
 * functions ref.func may name), plus the module-level validation the reader
 * leaves out (limits, indices, exports, start). The reader has checked the
 * structure, so these reads are simple; they stay bounds-checked anyway.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "module/layout.h"
#include "xl.h"

uint8_t xl_u8(xl_cur *c) {
  if (c->pos >= c->end) {
    c->bad = true;
    return 0;
  }
  return c->buf[c->pos++];
}

static uint64_t leb(xl_cur *c, unsigned bits, bool is_signed) {
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    b = xl_u8(c);
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while ((b & 0x80) && !c->bad);
  if (is_signed && shift < 64 && (b & 0x40)) v |= ~0ull << shift;
  (void)bits;
  return v;
}

uint32_t xl_u32(xl_cur *c) { return (uint32_t)leb(c, 32, false); }
int32_t xl_s32(xl_cur *c) { return (int32_t)leb(c, 32, true); }
int64_t xl_s64(xl_cur *c) { return (int64_t)leb(c, 64, true); }
int64_t xl_s33(xl_cur *c) { return (int64_t)leb(c, 33, true); }
uint32_t xl_fixed32(xl_cur *c) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)xl_u8(c) << (8 * i);
  return v;
}
uint64_t xl_fixed64(xl_cur *c) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)xl_u8(c) << (8 * i);
  return v;
}

void xl_read_const(xl_cur *c, xl_const *out) {
  memset(out, 0, sizeof *out);
  for (;;) {
    uint8_t op = xl_u8(c);
    if (c->bad || op == 0x0b) return;
    out->op = op;
    switch (op) {
      case 0x41: out->bits = (uint32_t)xl_s32(c); break;
      case 0x42: out->bits = (uint64_t)xl_s64(c); break;
      case 0x43: out->bits = xl_fixed32(c); break;
      case 0x44: out->bits = xl_fixed64(c); break;
      case 0x23: case 0xd2: out->bits = xl_u32(c); break;
      case 0xd0: out->bits = xl_u8(c); break;
      case 0xfd:
        xl_u32(c); /* 12: v128.const */
        for (int i = 0; i < 16; i++) out->v128[i] = xl_u8(c);
        break;
      default: c->bad = true; return;
    }
  }
}

static xl_cur section(const xl_module *x, uint8_t id, bool *found) {
  const mote_module *m = x->m;
  for (uint32_t i = 0; i < mote_layout_section_count(m); i++) {
    const mote_section_span *s = mote_layout_section(m, i);
    if (s->id == id) {
      *found = true;
      return (xl_cur){x->bytes, s->content, s->end, false};
    }
  }
  *found = false;
  return (xl_cur){x->bytes, 0, 0, false};
}

static void skip_valtype(xl_cur *c) { xl_u8(c); }
static void skip_limits(xl_cur *c) {
  uint8_t f = xl_u8(c);
  xl_u32(c);
  if (f & 1) xl_u32(c);
}

static bool scan_globals(xl_module *x) {
  bool found;
  xl_cur c = section(x, MOTE_SEC_GLOBAL, &found);
  if (!found) return true;
  uint32_t n = xl_u32(&c);
  x->globals = calloc(n ? n : 1, sizeof *x->globals);
  if (!x->globals) return false;
  for (uint32_t i = 0; i < n && !c.bad; i++) {
    x->globals[i].type = xl_u8(&c);
    x->globals[i].is_mutable = xl_u8(&c);
    xl_read_const(&c, &x->globals[i].init);
  }
  x->nglobals = n;
  return !c.bad;
}

static bool scan_data(xl_module *x) {
  bool found;
  xl_cur c = section(x, MOTE_SEC_DATA, &found);
  if (!found) return true;
  uint32_t n = xl_u32(&c);
  x->data = calloc(n ? n : 1, sizeof *x->data);
  if (!x->data) return false;
  size_t at = 0;
  for (uint32_t i = 0; i < n && !c.bad; i++) {
    xl_data *d = &x->data[i];
    uint32_t flags = xl_u32(&c);
    d->active = flags != 1;
    if (flags == 2) d->memory = xl_u32(&c);
    if (d->active) xl_read_const(&c, &d->offset);
    d->len = xl_u32(&c);
    if (d->len > c.end - c.pos) return false;
    d->bytes = c.buf + c.pos;
    d->at = at;
    at += d->len;
    c.pos += d->len;
  }
  x->ndata = n;
  return !c.bad;
}

static bool scan_elems(xl_module *x) {
  bool found;
  xl_cur c = section(x, MOTE_SEC_ELEMENT, &found);
  if (!found) return true;
  uint32_t n = xl_u32(&c);
  x->elems = calloc(n ? n : 1, sizeof *x->elems);
  if (!x->elems) return false;
  x->nelems = n;
  for (uint32_t i = 0; i < n && !c.bad; i++) {
    xl_elem *e = &x->elems[i];
    uint32_t flags = xl_u32(&c);
    bool passive_or_decl = flags & 1, explicit_table = flags & 2, exprs = flags & 4;
    e->mode = !passive_or_decl ? 0 : explicit_table ? 2 : 1;
    e->type = MOTE_FUNCREF;
    if (!passive_or_decl) {
      if (explicit_table) e->table = xl_u32(&c);
      xl_read_const(&c, &e->offset);
    }
    if (passive_or_decl || explicit_table) {
      uint8_t k = xl_u8(&c);
      if (exprs) e->type = k;
    }
    e->count = xl_u32(&c);
    if (e->count > c.end - c.pos) return false;
    e->items = e->count ? calloc(e->count, sizeof *e->items) : NULL; /* none for the empty */
    if (e->count && !e->items) return false;
    uint32_t nf = mote_module_func_count(x->m);
    for (uint32_t k = 0; k < e->count && !c.bad; k++) {
      xl_const item = {.op = 0xd2}; /* a vector of function indices, or expressions */
      if (exprs) xl_read_const(&c, &item);
      else item.bits = xl_u32(&c);
      bool func = item.op == 0xd2, global = item.op == 0x23;
      if ((func && item.bits >= nf) || (global && item.bits >= x->nimports_global)) {
        if (!e->bad_op) e->bad_op = item.op, e->bad_index = item.bits;
        e->items[k] = XL_ITEM_NULL;
        continue;
      }
      if (func) x->declared[item.bits] = 1;
      e->items[k] = func ? (uint32_t)item.bits
                    : global ? XL_ITEM_GLOBAL | (uint32_t)item.bits : XL_ITEM_NULL;
    }
  }
  return !c.bad;
}

static bool scan_code(xl_module *x) {
  bool found;
  xl_cur c = section(x, MOTE_SEC_CODE, &found);
  if (!found) return true;
  uint32_t n = xl_u32(&c);
  x->body_start = calloc(n ? n : 1, sizeof *x->body_start);
  x->body_end = calloc(n ? n : 1, sizeof *x->body_end);
  if (!x->body_start || !x->body_end) return false;
  for (uint32_t i = 0; i < n && !c.bad; i++) {
    uint32_t size = xl_u32(&c);
    x->body_start[i] = c.pos;
    x->body_end[i] = c.pos + size;
    c.pos += size;
  }
  x->nbodies = n;
  return !c.bad && c.pos <= c.end;
}

/* Globals, declared functions from exports and global initialisers too. */
static void declare_more(xl_module *x) {
  const mote_module *m = x->m;
  for (uint32_t i = 0; i < mote_module_export_count(m); i++) {
    const mote_export *e = mote_module_export(m, i);
    if (e->kind == MOTE_EXTERN_FUNC && e->index < mote_module_func_count(m))
      x->declared[e->index] = 1;
  }
  for (uint32_t i = 0; i < x->nglobals; i++)
    if (x->globals[i].init.op == 0xd2 && x->globals[i].init.bits < mote_module_func_count(m))
      x->declared[x->globals[i].init.bits] = 1;
}

bool xl_module_fits(const xl_module *x, xl_error *err) {
  const mote_module *m = x->m;
  uint64_t values = 0;
  for (uint32_t t = 0; t < mote_module_type_count(m); t++) {
    const mote_functype *ft = mote_module_type(m, t);
    values += (uint64_t)ft->param_count + ft->result_count;
  }
  for (uint32_t fn = 0; fn < mote_module_func_count(m); fn++) {
    const mote_functype *ft = mote_module_func_type(m, fn);
    /* none for an unknown type index: the validation that follows refuses it */
    if (ft) values += (uint64_t)ft->param_count + ft->result_count;
  }
  uint64_t need = 32 * values, budget = XL_C_MODULE_BASE + (uint64_t)XL_C_PER_BYTE * x->len;
  if (need <= budget) return true;
  snprintf(err->message, sizeof err->message,
           "its functions' and types' parameters and results (%llu in all) would take more than "
           "%llu MiB of C, the most for its %zu bytes: refused",
           (unsigned long long)values, (unsigned long long)(budget >> 20), x->len);
  err->failed = err->limit = true;
  return false;
}

bool xl_c_charge(const xl_module *x, size_t bytes, xl_error *err) {
  if (!x->c_written) return true;
  size_t budget = XL_C_MODULE_BASE + (size_t)XL_C_PER_BYTE * x->len;
  if (__atomic_add_fetch(x->c_written, bytes, __ATOMIC_RELAXED) <= budget) return true;
  if (!err->failed)
    snprintf(err->message, sizeof err->message,
             "the module's C would take more than %zu MiB, the most for its %zu bytes: refused",
             budget >> 20, x->len);
  err->failed = err->limit = true;
  return false;
}

bool xl_module_scan(xl_module *x, const mote_module *m, const uint8_t *bytes, size_t len) {
  memset(x, 0, sizeof *x);
  x->m = m;
  x->bytes = bytes;
  x->len = len;
  for (uint32_t k = 0; k < mote_module_import_count(m); k++) {
    switch (mote_module_import(m, k)->kind) {
      case MOTE_EXTERN_FUNC: x->nimports_func++; break;
      case MOTE_EXTERN_TABLE: x->nimports_table++; break;
      case MOTE_EXTERN_MEMORY: x->nimports_mem++; break;
      case MOTE_EXTERN_GLOBAL: x->nimports_global++; break;
    }
  }
  bool found;
  (void)section(x, MOTE_SEC_DATACOUNT, &found);
  x->has_datacount = found;
  x->declared = calloc(mote_module_func_count(m) + 1, 1);
  if (!x->declared) return false;
  (void)skip_valtype;
  (void)skip_limits;
  return scan_globals(x) && scan_data(x) && scan_elems(x) && scan_code(x) &&
         (declare_more(x), true);
}

void xl_module_release(xl_module *x) {
  for (uint32_t i = 0; i < x->nelems; i++) free(x->elems[i].items);
  free(x->elems);
  free(x->globals);
  free(x->data);
  free(x->declared);
  free(x->body_start);
  free(x->body_end);
  memset(x, 0, sizeof *x);
}
