/*
 * module/layout.c: the accessors of layout.h. The reader (sections.c) fills
 * the arrays; these only bound-check indices.
 */
#include "module/module_internal.h"

uint32_t mote_layout_section_count(const mote_module *m) { return m->section_count; }

const mote_section_span *mote_layout_section(const mote_module *m, uint32_t i) {
  return i < m->section_count ? &m->sections[i] : NULL;
}
