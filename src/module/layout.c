/*
 * module/layout.c: the accessors of layout.h. The reader (sections.c) fills
 * the arrays; these only bound-check indices.
 */
#include "module/module_internal.h"

uint32_t mote_layout_section_count(const mote_module *m) { return m->section_count; }

const mote_section_span *mote_layout_section(const mote_module *m, uint32_t i) {
  return i < m->section_count ? &m->sections[i] : NULL;
}

bool mote_layout_import_desc(const mote_module *m, uint32_t i, size_t *start, size_t *end) {
  if (i >= m->import_count || !m->import_desc) return false;
  *start = m->import_desc[2 * (size_t)i];
  *end = m->import_desc[2 * (size_t)i + 1];
  return true;
}

uint32_t mote_layout_elem_count(const mote_module *m) { return m->elem_count; }

const mote_elem_span *mote_layout_elem(const mote_module *m, uint32_t i) {
  return i < m->elem_count ? &m->elems[i] : NULL;
}
