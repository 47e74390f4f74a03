/*
 * table: the tables of the client verbs, and the formatting they share.
 *
 * On a terminal the columns are aligned (widths counted in characters, not
 * bytes, since outcomes may carry UTF-8); otherwise each row is one line of
 * tab-separated cells, header included, so `cut -f` and `awk -F'\t'` can
 * read it. Control characters in cells become spaces in both forms: a
 * function's output must not break the rows or move the cursor.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/client.h"

struct mote_table {
  size_t columns;
  size_t rows, cap; /* rows of cells, the header first */
  char **cells;     /* rows * columns, each from malloc */
  bool oom;
};

static char *clean_copy(const char *s) {
  char *c = strdup(s ? s : "");
  if (!c) return NULL;
  for (unsigned char *p = (unsigned char *)c; *p; p++)
    if (*p < 0x20 || *p == 0x7f) *p = ' ';
  return c;
}

mote_table *mote_table_new(size_t columns, const char *const *header) {
  mote_table *t = calloc(1, sizeof *t);
  if (!t) return NULL;
  t->columns = columns;
  mote_table_add(t, header);
  return t;
}

void mote_table_add(mote_table *t, const char *const *cells) {
  if (!t || t->oom) return;
  if (t->rows == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 16;
    char **grown = realloc(t->cells, cap * t->columns * sizeof *grown);
    if (!grown) {
      t->oom = true;
      return;
    }
    t->cells = grown;
    t->cap = cap;
  }
  char **row = t->cells + t->rows * t->columns;
  for (size_t i = 0; i < t->columns; i++) {
    row[i] = clean_copy(cells[i]);
    if (!row[i]) {
      while (i > 0) free(row[--i]);
      t->oom = true;
      return;
    }
  }
  t->rows++;
}

/* Characters of a UTF-8 string: every byte that does not continue one. */
static size_t display_width(const char *s) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += (*p & 0xC0) != 0x80;
  return n;
}

void mote_table_print(mote_table *t, FILE *out) {
  if (!t) return;
  if (t->oom) {
    fprintf(stderr, "mote: out of memory building a table\n");
    return;
  }
  bool aligned = isatty(fileno(out));
  size_t *width = calloc(t->columns, sizeof *width);
  if (!width) return;
  for (size_t r = 0; r < t->rows; r++)
    for (size_t c = 0; c < t->columns; c++) {
      size_t w = display_width(t->cells[r * t->columns + c]);
      if (w > width[c]) width[c] = w;
    }
  for (size_t r = 0; r < t->rows; r++) {
    for (size_t c = 0; c < t->columns; c++) {
      const char *cell = t->cells[r * t->columns + c];
      bool last = c + 1 == t->columns;
      if (!aligned) {
        fprintf(out, "%s%s", cell, last ? "" : "\t");
      } else {
        fputs(cell, out);
        if (!last)
          for (size_t pad = display_width(cell); pad < width[c] + 2; pad++) fputc(' ', out);
      }
    }
    fputc('\n', out);
  }
  free(width);
}

void mote_table_free(mote_table *t) {
  if (!t) return;
  for (size_t i = 0; i < t->rows * t->columns; i++) free(t->cells[i]);
  free(t->cells);
  free(t);
}

void mote_fmt_us(char *buf, size_t cap, json_int_t us) {
  if (us < 1000) snprintf(buf, cap, "%lld us", (long long)us);
  else if (us < 1000000) snprintf(buf, cap, "%.1f ms", (double)us / 1e3);
  else snprintf(buf, cap, "%.2f s", (double)us / 1e6);
}

const char *mote_json_str(json_t *o, const char *key) {
  const char *s = json_string_value(json_object_get(o, key));
  return s ? s : "";
}

json_int_t mote_json_int(json_t *o, const char *key) {
  return json_integer_value(json_object_get(o, key));
}
