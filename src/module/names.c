/*
 * module/names.c: the "name" custom section (module name, function names).
 *
 * It is read before the other sections, so that an error in function 7 can
 * say "function 7 ($main)"; it usually sits at the very end of the file. The
 * spec does not validate custom sections, so a broken name section, or a
 * binary too broken to find it in, only means fewer names: whatever was read
 * up to the first problem is kept, and the read goes on.
 */
#include <stdlib.h>
#include <string.h>

#include "module/module_internal.h"

/* Subsection 1: a vector of (function index, name), indices increasing. */
static bool function_names(mr_reader *r, mote_module *m) {
  uint32_t n;
  if (!mr_count(r, &n, 2, UINT32_MAX, "function names")) return false;
  if (!(m->func_names = mr_alloc(r->p, n, sizeof *m->func_names))) return false;
  for (uint32_t i = 0; i < n; i++) {
    mr_name e;
    size_t at = r->pos;
    uint32_t len;
    const uint8_t *s;
    if (!mr_u32(r, &e.index) || !mr_u32(r, &len)) return false;
    if (!mr_bytes(r, len, &s)) return false;
    if (m->func_name_count > 0 && e.index <= m->func_names[m->func_name_count - 1].index)
      return mr_fail(r->p, MOTE_MODULE_MALFORMED, at, "function names out of order");
    if (!mr_utf8_valid(s, len)) continue; /* drop just this one */
    e.name = (const char *)s;
    e.len = len;
    m->func_names[m->func_name_count++] = e;
  }
  return true;
}

static void name_section(mr_reader *r, mote_module *m) {
  bool seen_module = false, seen_funcs = false;
  while (r->pos < r->end) {
    uint8_t id;
    uint32_t size;
    if (!mr_u8(r, &id) || !mr_u32(r, &size) || size > mr_remaining(r)) return;
    mr_reader sub = {.p = r->p, .buf = r->buf, .pos = r->pos, .end = r->pos + size};
    r->pos += size;
    if (id == 0 && !seen_module) {
      seen_module = true;
      const char *name;
      uint32_t len;
      if (mr_name_str(&sub, &name, &len)) {
        m->module_name = name;
        m->module_name_len = len;
      }
    } else if (id == 1 && !seen_funcs) {
      seen_funcs = true;
      function_names(&sub, m);
      if (r->p->failed && r->p->err.status == MOTE_MODULE_NOMEM) return;
    }
  }
}

bool mr_names_prescan(mr_parse *p) {
  mote_module *m = p->m;
  /* Errors met here go to a scratch state and are forgotten, except running
   * out of memory. */
  mr_parse scratch = {.m = m};
  mr_reader r = {.p = &scratch, .buf = m->bytes, .pos = 8, .end = m->len};
  if (m->len < 8) return true;
  while (r.pos < r.end) {
    uint8_t id;
    uint32_t size;
    if (!mr_u8(&r, &id) || !mr_u32(&r, &size) || size > mr_remaining(&r)) break;
    mr_reader sr = {.p = &scratch, .buf = r.buf, .pos = r.pos, .end = r.pos + size};
    r.pos += size;
    const char *name;
    uint32_t len;
    if (id != 0 || !mr_name_str(&sr, &name, &len)) continue;
    if (len == 4 && memcmp(name, "name", 4) == 0) {
      scratch.failed = false; /* so that running out of memory is seen */
      name_section(&sr, m);
      break; /* only the first one counts */
    }
  }
  free(scratch.blocks);
  if (scratch.failed && scratch.err.status == MOTE_MODULE_NOMEM) {
    p->failed = true;
    p->err = scratch.err;
    return false;
  }
  return true;
}
