/*
 * The binary wasm2c translates: the module's own bytes, normalised section by
 * section so that wasm2c 1.0.32 takes every module the reader accepts.
 *
 *  - Imports are renamed: import k becomes "imports" "<k>". wasm2c declares
 *    one C symbol per import module/name pair, so a module that imports one
 *    pair twice with different types (legal wasm) made it abort; and user
 *    chosen names no longer need mangling. The glue (glue.c) defines the
 *    renamed symbols; the ABI descriptor keeps the original names, which the
 *    runtime links by.
 *  - wasm2c takes only ref.func and ref.null as element item expressions. An
 *    item `global.get g` of an active segment becomes ref.null, and a new
 *    start function sets it: for every active segment from the first such
 *    one on (in order, all their items, so that a later segment writing the
 *    same slot still wins), `table.set t (offset + i) (item)`; then it calls
 *    the original start function, if any. The function is appended after all
 *    others and its type ([] -> [], appended if missing) after all types, so
 *    no index moves. wasm2c's instantiate has checked every segment's bounds
 *    before the start function runs, so the table.sets cannot trap.
 *
 * Sections that need no change are copied verbatim. The original bytes stay
 * what the cache key hashes.
 */
#include <stdlib.h>
#include <string.h>

#include "compile_internal.h"
#include "module/layout.h"

typedef struct buf {
  uint8_t *b;
  size_t n, cap;
  bool failed; /* an allocation failed: everything after is dropped */
} buf;

static void put(buf *o, const void *p, size_t n) {
  if (o->failed || n == 0) return;
  if (o->n + n > o->cap) {
    size_t cap = o->cap ? o->cap : 256;
    while (cap < o->n + n) cap *= 2;
    uint8_t *q = realloc(o->b, cap);
    if (!q) {
      o->failed = true;
      return;
    }
    o->b = q;
    o->cap = cap;
  }
  memcpy(o->b + o->n, p, n);
  o->n += n;
}

static void put_u8(buf *o, uint8_t v) { put(o, &v, 1); }

static void put_u32(buf *o, uint32_t v) {
  do {
    uint8_t b = v & 0x7f;
    v >>= 7;
    put_u8(o, b | (v ? 0x80 : 0));
  } while (v);
}

static void put_s32(buf *o, int32_t v) {
  for (;;) {
    uint8_t b = v & 0x7f;
    v >>= 7; /* arithmetic shift: gcc and tcc keep the sign */
    bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
    put_u8(o, b | (done ? 0 : 0x80));
    if (done) return;
  }
}

/* A section: id, size, content. */
static void put_section(buf *o, uint8_t id, const buf *content) {
  put_u8(o, id);
  put_u32(o, (uint32_t)content->n);
  put(o, content->b, content->n);
}

/* An unsigned LEB128 of the (already validated) original bytes. */
static bool get_u32(const uint8_t *b, size_t *pos, size_t end, uint32_t *out) {
  uint32_t v = 0;
  for (unsigned shift = 0; *pos < end && shift < 35; shift += 7) {
    uint8_t c = b[(*pos)++];
    v |= (uint32_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

/* Where each known section goes (the data count sits before code). */
static unsigned rank(uint8_t id) {
  static const uint8_t ranks[] = {
      [MOTE_SEC_TYPE] = 1,    [MOTE_SEC_IMPORT] = 2,     [MOTE_SEC_FUNCTION] = 3,
      [MOTE_SEC_TABLE] = 4,   [MOTE_SEC_MEMORY] = 5,     [MOTE_SEC_GLOBAL] = 6,
      [MOTE_SEC_EXPORT] = 7,  [MOTE_SEC_START] = 8,      [MOTE_SEC_ELEMENT] = 9,
      [MOTE_SEC_DATACOUNT] = 10, [MOTE_SEC_CODE] = 11,   [MOTE_SEC_DATA] = 12,
  };
  return id < sizeof ranks ? ranks[id] : 0;
}

typedef struct rewrite {
  const mote_module *m;
  const uint8_t *wasm;
  bool lower;          /* some active segment has a global.get item */
  uint32_t start_type; /* the new start function's type */
  bool new_type;       /* start_type is appended to the type section */
  uint32_t start_func; /* the new start function's index */
} rewrite;

static void import_section(const rewrite *rw, buf *c) {
  const mote_module *m = rw->m;
  uint32_t n = mote_module_import_count(m);
  char name[16];
  put_u32(c, n);
  for (uint32_t k = 0; k < n; k++) {
    size_t start = 0, end = 0;
    (void)mote_layout_import_desc(m, k, &start, &end);
    int len = snprintf(name, sizeof name, "%u", k);
    put_u32(c, (uint32_t)strlen(MOTE_IMPORT_MODULE));
    put(c, MOTE_IMPORT_MODULE, strlen(MOTE_IMPORT_MODULE));
    put_u32(c, (uint32_t)len);
    put(c, name, (size_t)len);
    put(c, rw->wasm + start, end - start);
  }
}

/* A vector section with `extra` appended to its entries; `s` may be NULL. */
static bool append_entry(const rewrite *rw, const mote_section_span *s, const buf *extra,
                         buf *c) {
  uint32_t n = 0;
  size_t pos = 0;
  if (s) {
    pos = s->content;
    if (!get_u32(rw->wasm, &pos, s->end, &n)) return false;
  }
  put_u32(c, n + 1);
  if (s) put(c, rw->wasm + pos, s->end - pos);
  put(c, extra->b, extra->n);
  return true;
}

/* An item of a recorded segment: the instruction giving its value (END
 * excluded) into `value`, the position after the item into *pos. */
static bool elem_item(const rewrite *rw, const mote_elem_span *e, size_t *pos, buf *value,
                      uint8_t *op) {
  const uint8_t *b = rw->wasm;
  uint32_t x;
  value->n = 0;
  if (!(e->flags & 4)) { /* a function index */
    if (!get_u32(b, pos, e->end, &x)) return false;
    *op = 0xd2;
    put_u8(value, 0xd2);
    put_u32(value, x);
    return true;
  }
  size_t at = *pos;
  if (at >= e->end) return false;
  *op = b[(*pos)++];
  if (*op == 0xd0) {
    (*pos)++; /* the heap type: one byte in 2.0 */
  } else if (*op == 0xd2 || *op == 0x23) {
    if (!get_u32(b, pos, e->end, &x)) return false;
  } else {
    return false; /* the reader typed it: cannot happen */
  }
  if (*pos >= e->end || b[*pos] != 0x0b) return false;
  put(value, b + at, *pos - at);
  (*pos)++; /* END */
  return true;
}

/* The element section with every global.get item of the recorded segments
 * replaced by ref.null of the segment's type. */
static bool element_section(const rewrite *rw, const mote_section_span *s, buf *c) {
  const mote_module *m = rw->m;
  size_t copied = s->content;
  buf value = {0};
  for (uint32_t i = 0; i < mote_layout_elem_count(m); i++) {
    const mote_elem_span *e = mote_layout_elem(m, i);
    if (!e->global_items) continue;
    put(c, rw->wasm + copied, e->items - copied);
    size_t pos = e->items;
    for (uint32_t k = 0; k < e->item_count; k++) {
      size_t at = pos;
      uint8_t op;
      if (!elem_item(rw, e, &pos, &value, &op)) {
        free(value.b);
        return false;
      }
      if (op == 0x23) {
        const uint8_t null[] = {0xd0, e->type, 0x0b};
        put(c, null, sizeof null);
      } else {
        put(c, rw->wasm + at, pos - at);
      }
    }
    copied = pos;
  }
  put(c, rw->wasm + copied, s->end - copied);
  free(value.b);
  return !value.failed;
}

/* The new start function's body, size first. */
static bool start_body(const rewrite *rw, buf *c) {
  const mote_module *m = rw->m;
  buf code = {0}, value = {0};
  bool ok = true;
  put_u8(&code, 0x00); /* no locals */
  for (uint32_t i = 0; i < mote_layout_elem_count(m) && ok; i++) {
    const mote_elem_span *e = mote_layout_elem(m, i);
    size_t pos = e->items;
    for (uint32_t k = 0; k < e->item_count && ok; k++) {
      uint8_t op;
      if (!(ok = elem_item(rw, e, &pos, &value, &op))) break;
      put(&code, rw->wasm + e->offset_insn, e->offset_len); /* the segment's offset */
      put_u8(&code, 0x41);                                  /* i32.const k */
      put_s32(&code, (int32_t)k);
      put_u8(&code, 0x6a); /* i32.add */
      put(&code, value.b, value.n);
      put_u8(&code, 0x26); /* table.set */
      put_u32(&code, e->table);
    }
  }
  uint32_t start;
  if (mote_module_start(m, &start)) {
    put_u8(&code, 0x10); /* call */
    put_u32(&code, start);
  }
  put_u8(&code, 0x0b);
  ok = ok && !code.failed && !value.failed;
  if (ok) {
    put_u32(c, (uint32_t)code.n);
    put(c, code.b, code.n);
  }
  free(code.b);
  free(value.b);
  return ok;
}

/* The content of section `id` as it goes to wasm2c; `s` is the original
 * (NULL for a section that is added). False if `s` goes verbatim. */
static bool transform(const rewrite *rw, uint8_t id, const mote_section_span *s, buf *c,
                      bool *bad) {
  buf extra = {0};
  bool done = true;
  switch (id) {
    case MOTE_SEC_IMPORT:
      import_section(rw, c);
      break;
    case MOTE_SEC_TYPE:
      if (!rw->new_type) return false;
      put_u8(&extra, 0x60);
      put_u8(&extra, 0);
      put_u8(&extra, 0);
      *bad = !append_entry(rw, s, &extra, c);
      break;
    case MOTE_SEC_FUNCTION:
      if (!rw->lower) return false;
      put_u32(&extra, rw->start_type);
      *bad = !append_entry(rw, s, &extra, c);
      break;
    case MOTE_SEC_START:
      if (!rw->lower) return false;
      put_u32(c, rw->start_func);
      break;
    case MOTE_SEC_ELEMENT:
      if (!rw->lower) return false;
      *bad = !element_section(rw, s, c);
      break;
    case MOTE_SEC_CODE:
      if (!rw->lower) return false;
      *bad = !start_body(rw, &extra) || !append_entry(rw, s, &extra, c);
      break;
    default:
      done = false;
  }
  *bad = *bad || extra.failed || c->failed;
  free(extra.b);
  return done;
}

/* Adds the sections the rewrite needs that the module lacks, of rank below
 * `below`, in order. */
static bool add_missing(const rewrite *rw, const bool have[13], unsigned below, bool added[13],
                        buf *o) {
  static const uint8_t order[] = {MOTE_SEC_TYPE, MOTE_SEC_FUNCTION, MOTE_SEC_START,
                                  MOTE_SEC_CODE};
  if (!rw->lower) return true;
  for (size_t i = 0; i < sizeof order; i++) {
    uint8_t id = order[i];
    if (have[id] || added[id] || rank(id) >= below) continue;
    if (id == MOTE_SEC_TYPE && !rw->new_type) continue;
    buf c = {0};
    bool bad = false;
    transform(rw, id, NULL, &c, &bad);
    if (!bad) put_section(o, id, &c);
    free(c.b);
    if (bad) return false;
    added[id] = true;
  }
  return true;
}

int mote_rewrite(const mote_module *m, const uint8_t *wasm, size_t len, uint8_t **out,
                 size_t *out_len) {
  rewrite rw = {.m = m, .wasm = wasm};
  bool have[13] = {0}, added[13] = {0};
  buf o = {0};
  *out = NULL;
  *out_len = 0;
  if (len < 8) return -1;

  for (uint32_t i = 0; i < mote_layout_elem_count(m); i++)
    if (mote_layout_elem(m, i)->global_items) rw.lower = true;
  if (rw.lower) {
    uint32_t types = mote_module_type_count(m);
    rw.start_type = types;
    rw.new_type = true;
    for (uint32_t t = 0; t < types; t++) {
      const mote_functype *ft = mote_module_type(m, t);
      if (ft->param_count == 0 && ft->result_count == 0) {
        rw.start_type = t;
        rw.new_type = false;
        break;
      }
    }
    rw.start_func = mote_module_func_count(m);
  }
  for (uint32_t i = 0; i < mote_layout_section_count(m); i++)
    have[mote_layout_section(m, i)->id] = true;

  put(&o, wasm, 8); /* magic and version */
  bool bad = false;
  for (uint32_t i = 0; i < mote_layout_section_count(m) && !bad; i++) {
    const mote_section_span *s = mote_layout_section(m, i);
    if (s->id != MOTE_SEC_CUSTOM && !add_missing(&rw, have, rank(s->id), added, &o)) {
      bad = true;
      break;
    }
    buf c = {0};
    if (transform(&rw, s->id, s, &c, &bad))
      put_section(&o, s->id, &c);
    else
      put(&o, wasm + s->start, s->end - s->start);
    free(c.b);
  }
  if (!bad && !add_missing(&rw, have, ~0u, added, &o)) bad = true;
  if (bad || o.failed) {
    free(o.b);
    return -1;
  }
  *out = o.b;
  *out_len = o.n;
  return 0;
}
