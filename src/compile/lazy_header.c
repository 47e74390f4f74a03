/*
 * A batch's header cut to what the batch names: libtcc parses the header
 * for each batch (825 for Yosys's `-V`), and a batch uses a few of the
 * prelude's helper functions (xl_f32_nearest, xl_memory_copy, ...).
 * Measured in process (valgrind --tool=lackey, a header compiled and
 * relocated as lz_tcc_build does): Yosys's scalar header 5.30 M
 * instructions, cut for a batch that names no helper 4.28 M (stop 34), a
 * one-line file 1.13 M; one batch's cut header 4.28 M with its comments,
 * 2.38 M without them, the truncations and the type ids (stop 35,
 * compiled only: docs/architecture.md).
 *
 * The header is read at load without its comments, and cut into parts, in
 * order. A helper (a part a batch may go without) is, at the start of a
 * line that no macro continues:
 *   - a function definition (`XL_INLINE ...` or `static ...`), to where its
 *     braces close;
 *   - a one-line declaration `XL_SHARED T xl_name;` (the module's function
 *     types, xl_ftN: Yosys's header declares 210);
 *   - a one-line call of a macro that defines the helper it names first,
 *     `XL_TRUNC(xl_name, ...)` (the prelude's truncations: the macro's
 *     expansion is a function tcc keeps as tokens, 30 of them cost 1.2 M
 *     instructions per batch).
 * Everything else (types, macros, other declarations, macro calls that
 * paste their helpers' names) is kept for every batch. A batch gets the
 * helpers whose names its C holds as identifiers, and those they name, and
 * those the kept text names: a macro may call a helper, or paste its name
 * together (xl_##p##_ceil in the SIMD helpers counts for every helper it
 * may form). A cut that proves wrong costs a compile: the caller then
 * compiles with the full header (lz_compile_batch), and counts it
 * (mote_lazy_cut_misses: `make spec-lazy` fails on any).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/map.h"
#include "lazy_internal.h"

typedef struct part {
  size_t at, len;
  int helper; /* index into names, or -1: kept for every batch */
} part;

struct lz_helpers {
  char *text;     /* the header without its comments (owned) */
  part *parts;
  size_t nparts;
  char **names;   /* the helpers' names, each once */
  size_t nnames;
  mote_map *index; /* name -> index + 1 */
  bool *always;    /* per name: every batch gets it (the kept text names it, or one that does) */
  size_t *dep_at;  /* per name: its helpers' names, deps[dep_at[i] .. dep_at[i + 1]) */
  int *deps;
};

/* Room in *a (of *cap elements of size each) for element n; false when
 * memory ran out (*a unchanged). */
static bool reserve(void *a, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return true;
  size_t c = *cap ? 2 * *cap : 64;
  void *p = realloc(*(void **)a, c * size);
  if (!p) return false;
  *(void **)a = p;
  *cap = c;
  return true;
}

static bool ident_char(char c) { return isalnum((unsigned char)c) || c == '_'; }

/* The name of the helper index i + 1 for the identifier s[0..n), or 0. */
static int lookup(const lz_helpers *h, const char *s, size_t n) {
  char key[96];
  if (n >= sizeof key || n < 3 || s[0] != 'x' || s[1] != 'l' || s[2] != '_') return 0;
  memcpy(key, s, n);
  key[n] = 0;
  return (int)(intptr_t)mote_map_get(h->index, key);
}

/* Calls found(h, i, ctx) for each identifier of s[0..n) that names helper i. */
static void scan(const lz_helpers *h, const char *s, size_t n,
                 void (*found)(const lz_helpers *, int, void *), void *ctx) {
  for (size_t i = 0; i < n;) {
    if (!ident_char(s[i]) || (i > 0 && ident_char(s[i - 1]))) {
      i++;
      continue;
    }
    size_t j = i;
    while (j < n && ident_char(s[j])) j++;
    int k = lookup(h, s + i, j - i);
    if (k) found(h, k - 1, ctx);
    i = j;
  }
}

/* What a line starts (the helper's name: its start and length). */
typedef enum { NO_HELPER, TO_BRACE, ONE_LINE } helper_kind;

/* A one-line helper: `XL_SHARED T xl_name;`, or `XL_MACRO(xl_name, ...)`. */
static bool one_line(const char *line, size_t len, const char **name, size_t *nlen) {
  const char *end = line + len;
  if (end > line && end[-1] == '\n') end--;
  if (strncmp(line, "XL_SHARED ", 10) == 0) {
    if (end == line || end[-1] != ';' || memchr(line, '(', len) || memchr(line, '[', len) ||
        memchr(line, '=', len) || memchr(line, ',', len))
      return false;
    const char *e = end - 1, *b = e;
    while (b > line && ident_char(b[-1])) b--;
    *name = b;
    *nlen = (size_t)(e - b);
    return b > line && b[-1] == ' ';
  }
  if (strncmp(line, "XL_", 3) != 0 || end == line || end[-1] != ')') return false;
  const char *c = line + 3;
  while (c < end && (isupper((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_')) c++;
  if (c == end || *c != '(' || end - c < 5 || strncmp(c + 1, "xl_", 3) != 0) return false;
  const char *b = c + 1, *e = b;
  while (e < end && ident_char(*e)) e++;
  if (e == end || *e != ',') return false;
  *name = b;
  *nlen = (size_t)(e - b);
  return true;
}

/* The helper a line starts, if it starts one: a definition at the start of
 * a line (not a declaration or data), or a one-line helper. */
static helper_kind starts(const char *line, size_t len, const char **name, size_t *nlen) {
  if (one_line(line, len, name, nlen)) return ONE_LINE;
  if (strncmp(line, "XL_INLINE ", 10) != 0 && strncmp(line, "static ", 7) != 0) return NO_HELPER;
  const char *paren = memchr(line, '(', len), *eq = memchr(line, '=', len);
  if (!paren || (eq && eq < paren)) return NO_HELPER;
  const char *e = paren;
  while (e > line && e[-1] == ' ') e--;
  const char *b = e;
  while (b > line && ident_char(b[-1])) b--;
  if (b == e) return NO_HELPER;
  /* a prototype ends at ';' before any '{' */
  const char *brace = memchr(line, '{', len), *semi = memchr(line, ';', len);
  if (!brace && semi) return NO_HELPER;
  if (brace && semi && semi < brace) return NO_HELPER;
  *name = b;
  *nlen = (size_t)(e - b);
  return TO_BRACE;
}

static void mark_always(const lz_helpers *h, int i, void *ctx) {
  (void)ctx;
  h->always[i] = true;
}

/* The helpers kept text names, line by line: not the name a #define
 * defines (the prelude defines many helpers as macros for gcc and as
 * functions for tcc, in the two branches of an #if). */
static void mark_kept(const lz_helpers *h, const char *s, size_t n) {
  for (const char *line = s, *end = s + n; line < end;) {
    const char *nl = memchr(line, '\n', (size_t)(end - line));
    const char *stop = nl ? nl + 1 : end, *seg = line;
    if ((size_t)(stop - line) > 8 && strncmp(line, "#define ", 8) == 0) {
      seg = line + 8;
      while (seg < stop && ident_char(*seg)) seg++;
    }
    scan(h, seg, (size_t)(stop - seg), mark_always, NULL);
    line = stop;
  }
}

/* C text without its comments (a block comment becomes one space, a line
 * comment goes to its line's end, both spliced lines included), and
 * without the lines left blank (but one that ends a macro's continued
 * lines); NULL: no memory. String and character literals are copied. */
static char *without_comments(const char *in) {
  size_t n = strlen(in);
  char *out = malloc(n + 1), *o = out, *line = out;
  if (!out) return NULL;
  bool continued = false; /* the line before ended with '\' */
  for (const char *c = in; *c;) {
    if (c[0] == '/' && c[1] == '*') {
      const char *e = strstr(c + 2, "*/");
      c = e ? e + 2 : c + strlen(c);
      *o++ = ' ';
    } else if (c[0] == '/' && c[1] == '/') {
      while (*c && (*c != '\n' || c[-1] == '\\')) c++;
    } else if (*c == '"' || *c == '\'') {
      char q = *c;
      *o++ = *c++;
      while (*c && *c != q && *c != '\n') {
        if (*c == '\\' && c[1]) *o++ = *c++;
        *o++ = *c++;
      }
      if (*c == q) *o++ = *c++;
    } else if (*c == '\n') {
      c++;
      const char *b = line;
      while (b < o && (*b == ' ' || *b == '\t')) b++;
      if (b == o && !continued) {
        o = line; /* blank */
        continue;
      }
      continued = o > line && o[-1] == '\\';
      *o++ = '\n';
      line = o;
    } else {
      *o++ = *c++;
    }
  }
  *o = 0;
  return out;
}

/* Whether name is pieces[0..n) with each NULL piece (a pasted parameter)
 * standing for any run of name characters. */
static bool matches(const char *name, const char *const *pieces, const size_t *lens, size_t n) {
  if (n == 0) return !*name;
  if (!pieces[0]) {
    for (const char *s = name;; s++) {
      if (matches(s, pieces + 1, lens + 1, n - 1)) return true;
      if (!*s) return false;
    }
  }
  return !strncmp(name, pieces[0], lens[0]) && matches(name + lens[0], pieces + 1, lens + 1, n - 1);
}

/* Helpers a `##` of the kept text may form: a run of identifiers and ##
 * that starts with xl_ stands for every helper it matches, a parameter
 * matching anything (xl_##p##_ceil: xl_f32_ceil and xl_f64_ceil). The
 * names' own pieces start or end with _ (xl_, _ceil); a parameter is a bare
 * word (p, FT). */
static void mark_pasted(const lz_helpers *h, const char *s, size_t n) {
  for (const char *p = s; (p = memmem(p, (size_t)(s + n - p), "##", 2)) != NULL;) {
    const char *b = p, *e = p;
    while (b > s && (ident_char(b[-1]) || b[-1] == '#')) b--;
    while (e < s + n && (ident_char(*e) || *e == '#')) e++;
    const char *pieces[16];
    size_t lens[16], k = 0;
    bool ours = e - b >= 3 && !strncmp(b, "xl_", 3);
    for (const char *q = b; ours && q < e;) {
      if (*q == '#') {
        q++;
        continue;
      }
      const char *w = q;
      while (q < e && ident_char(*q)) q++;
      if (k == 16) {
        ours = false; /* too long to be one of ours */
        break;
      }
      bool literal = w[0] == '_' || q[-1] == '_';
      pieces[k] = literal ? w : NULL;
      lens[k++] = (size_t)(q - w);
    }
    for (size_t i = 0; ours && i < h->nnames; i++)
      if (matches(h->names[i], pieces, lens, k)) h->always[i] = true;
    p = e > p + 2 ? e : p + 2;
  }
}

typedef struct deps_ctx {
  int *list;
  size_t n, cap;
  bool ok;
} deps_ctx;

static void add_dep(const lz_helpers *h, int i, void *ctx) {
  (void)h;
  deps_ctx *d = ctx;
  if (!reserve(&d->list, &d->cap, d->n, sizeof *d->list)) {
    d->ok = false;
    return;
  }
  d->list[d->n++] = i;
}

void lz_helpers_free(lz_helpers *h) {
  if (!h) return;
  for (size_t i = 0; i < h->nnames; i++) free(h->names[i]);
  free(h->names);
  free(h->parts);
  free(h->text);
  if (h->index) mote_map_free(h->index);
  free(h->always);
  free(h->dep_at);
  free(h->deps);
  free(h);
}

static bool add_part(lz_helpers *h, size_t *cap, size_t at, size_t len, int helper) {
  if (h->nparts && h->parts[h->nparts - 1].helper < 0 && helper < 0) {
    h->parts[h->nparts - 1].len += len; /* kept text runs together */
    return true;
  }
  if (!reserve(&h->parts, cap, h->nparts, sizeof *h->parts)) return false;
  h->parts[h->nparts++] = (part){at, len, helper};
  return true;
}

/* The helper's name index, added when new; -1 when memory ran out. */
static int name_index(lz_helpers *h, size_t *cap, const char *name, size_t len) {
  int k = lookup(h, name, len);
  if (k) return k - 1;
  if (len < 3 || len >= 96 || strncmp(name, "xl_", 3) != 0) return -2; /* not one of ours */
  if (!reserve(&h->names, cap, h->nnames, sizeof *h->names)) return -1;
  char *s = strndup(name, len);
  if (!s || mote_map_put(h->index, s, (void *)(intptr_t)(h->nnames + 1), NULL) != 0) {
    free(s);
    return -1;
  }
  h->names[h->nnames] = s;
  return (int)h->nnames++;
}

typedef struct want_ctx {
  bool *want;
  int *stack;
  size_t n;
} want_ctx;

static void want(const lz_helpers *h, int i, void *ctx) {
  (void)h;
  want_ctx *w = ctx;
  if (w->want[i]) return;
  w->want[i] = true;
  w->stack[w->n++] = i;
}

/* The helpers on w's stack, and all they name, wanted. */
static void want_closure(const lz_helpers *h, want_ctx *w) {
  while (w->n) {
    int i = w->stack[--w->n];
    for (size_t k = h->dep_at[i]; k < h->dep_at[i + 1]; k++) want(h, h->deps[k], w);
  }
}

lz_helpers *lz_helpers_parse(const char *header) {
  lz_helpers *h = calloc(1, sizeof *h);
  if (!h || !(h->index = mote_map_new()) || !(h->text = without_comments(header))) {
    lz_helpers_free(h);
    return NULL;
  }
  const char *text = h->text;
  size_t pcap = 0, ncap = 0, len = strlen(text);
  bool continued = false; /* the line before ended with '\' */
  for (size_t at = 0; at < len;) {
    const char *line = text + at;
    const char *nl = memchr(line, '\n', len - at);
    size_t llen = nl ? (size_t)(nl - line) + 1 : len - at;
    const char *name;
    size_t nlen;
    int k = -2;
    helper_kind kind = continued ? NO_HELPER : starts(line, llen, &name, &nlen);
    if (kind != NO_HELPER) k = name_index(h, &ncap, name, nlen);
    if (k == -1) goto failed;
    if (k < 0 || kind == ONE_LINE) {
      continued = llen >= 2 && line[llen - 1] == '\n' && line[llen - 2] == '\\';
      if (!add_part(h, &pcap, at, llen, k < 0 ? -1 : k)) goto failed;
      at += llen;
      continue;
    }
    /* the definition: to the line where its braces close */
    size_t end = at;
    int depth = 0;
    bool opened = false;
    bool declaration = false;
    while (end < len) {
      char c = text[end++];
      if (c == ';' && !opened) declaration = true; /* a prototype over lines */
      if (c == '{') depth++, opened = true;
      if (c == '}') depth--;
      if (c == '\n' && (declaration || (opened && depth <= 0))) break;
    }
    if (!declaration && (!opened || depth != 0)) goto failed; /* not what it looked like */
    if (!add_part(h, &pcap, at, end - at, declaration ? -1 : k)) goto failed;
    at = end;
    continued = false;
  }
  h->always = calloc(h->nnames + 1, sizeof *h->always);
  h->dep_at = calloc(h->nnames + 1, sizeof *h->dep_at);
  if (!h->always || !h->dep_at) goto failed;
  for (size_t i = 0; i < h->nparts; i++)
    if (h->parts[i].helper < 0) {
      mark_kept(h, text + h->parts[i].at, h->parts[i].len);
      mark_pasted(h, text + h->parts[i].at, h->parts[i].len);
    }
  /* each name's dependencies: what its definitions name */
  deps_ctx d = {NULL, 0, 0, true};
  for (size_t k = 0; k < h->nnames; k++) {
    h->dep_at[k] = d.n;
    for (size_t i = 0; i < h->nparts; i++)
      if (h->parts[i].helper == (int)k)
        scan(h, text + h->parts[i].at, h->parts[i].len, add_dep, &d);
  }
  h->dep_at[h->nnames] = d.n;
  h->deps = d.list;
  if (!d.ok) goto failed;
  /* what every batch gets, with what it names: the same for each batch */
  int *stack = malloc((h->nnames + 1) * sizeof *stack);
  if (!stack) goto failed;
  bool *seen = calloc(h->nnames + 1, sizeof *seen);
  if (!seen) {
    free(stack);
    goto failed;
  }
  want_ctx w = {seen, stack, 0};
  for (size_t i = 0; i < h->nnames; i++)
    if (h->always[i]) want(h, (int)i, &w);
  want_closure(h, &w);
  free(h->always);
  h->always = seen;
  free(stack);
  return h;
failed:
  lz_helpers_free(h);
  return NULL;
}

char *lz_slim_header(const lz_helpers *h, const char *body, size_t blen) {
  bool *wanted = calloc(h->nnames + 1, sizeof *wanted);
  int *stack = malloc((h->nnames + 1) * sizeof *stack);
  char *out = NULL;
  if (!wanted || !stack) goto done;
  memcpy(wanted, h->always, h->nnames * sizeof *wanted); /* closed over what they name */
  want_ctx w = {wanted, stack, 0};
  scan(h, body, blen, want, &w);
  want_closure(h, &w);
  size_t total = 1;
  for (size_t i = 0; i < h->nparts; i++)
    if (h->parts[i].helper < 0 || wanted[h->parts[i].helper]) total += h->parts[i].len;
  if (!(out = malloc(total))) goto done;
  size_t k = 0;
  for (size_t i = 0; i < h->nparts; i++)
    if (h->parts[i].helper < 0 || wanted[h->parts[i].helper]) {
      memcpy(out + k, h->text + h->parts[i].at, h->parts[i].len);
      k += h->parts[i].len;
    }
  out[k] = 0;
done:
  free(wanted);
  free(stack);
  return out;
}
