/*
 * module/layout.h: where things lie in the binary a module was read from.
 *
 * Not part of the public API (module.h): this is for src/compile/xl_read.c,
 * which reads the sections module.h does not describe (code, data,
 * elements, global initialisers) once the reader has checked them. Every
 * offset is absolute in the bytes given to mote_module_read(); every range is
 * [start, end). The reader records these only for modules it accepts, so a
 * range always lies inside the bytes and holds what its name says.
 */
#ifndef MOTE_MODULE_LAYOUT_H
#define MOTE_MODULE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mote_module mote_module;

/* Section ids of the binary format. */
enum {
  MOTE_SEC_CUSTOM = 0,
  MOTE_SEC_TYPE = 1,
  MOTE_SEC_IMPORT = 2,
  MOTE_SEC_FUNCTION = 3,
  MOTE_SEC_TABLE = 4,
  MOTE_SEC_MEMORY = 5,
  MOTE_SEC_GLOBAL = 6,
  MOTE_SEC_EXPORT = 7,
  MOTE_SEC_START = 8,
  MOTE_SEC_ELEMENT = 9,
  MOTE_SEC_CODE = 10,
  MOTE_SEC_DATA = 11,
  MOTE_SEC_DATACOUNT = 12,
};

typedef struct mote_section_span {
  uint8_t id;
  size_t start;   /* the id byte */
  size_t content; /* the first byte after the size */
  size_t end;     /* one past the last byte of the content */
} mote_section_span;

/* Every section in binary order, custom ones included: the first
 * MR_CUSTOMS_LISTED (1024) of those, and any named "name" (the others are
 * read and skipped, module_internal.h). */
uint32_t mote_layout_section_count(const mote_module *m);
const mote_section_span *mote_layout_section(const mote_module *m, uint32_t i);

#endif /* MOTE_MODULE_LAYOUT_H */
