/*
 * A batch's header cut to what the batch names: the prelude's helper
 * functions (xl_f32_nearest, xl_memory_copy, ...) are most of what libtcc
 * parses for each batch, and a batch uses a few of them. Measured with
 * libtcc in process, a scalar header alone took 1.0 ms a batch, and 0.35 ms
 * without its helpers; Yosys's `-V` compiles 825 batches.
 *
 * The header is cut at load into parts, in order: a helper is a function
 * definition that starts a line (`XL_INLINE ...` or `static ...`, not inside
 * a macro) and ends where its braces close; everything else (types, macros,
 * declarations, lines that call a macro to define helpers) is kept for every
 * batch. A batch gets the helpers whose names its C holds as identifiers,
 * and those they name, and those the kept text names: a macro may call a
 * helper, or paste its name together (xl_##p##_ceil in the SIMD helpers
 * counts for every helper it may form). A cut that proves wrong costs a
 * compile: the caller then compiles with the full header
 * (lz_compile_batch), and counts it (mote_lazy_cut_misses: `make
 * spec-lazy` fails on any).
 */
#include <ctype.h>
#include <regex.h>
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
  const char *text; /* the header (not owned) */
  part *parts;
  size_t nparts;
  char **names;   /* the helpers' names, each once */
  size_t nnames;
  mote_map *index; /* name -> index + 1 */
  bool *always;    /* per name: the kept text names it */
  size_t *dep_at;  /* per name: its helpers' names, deps[dep_at[i] .. dep_at[i + 1]) */
  int *deps;
};

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

/* The helper a line defines (its name's start and length), if it starts
 * one: a definition at the start of a line, not a declaration or data. */
static bool defines(const char *line, size_t len, const char **name, size_t *nlen) {
  if (strncmp(line, "XL_INLINE ", 10) != 0 && strncmp(line, "static ", 7) != 0) return false;
  const char *paren = memchr(line, '(', len), *eq = memchr(line, '=', len);
  if (!paren || (eq && eq < paren)) return false;
  const char *e = paren;
  while (e > line && e[-1] == ' ') e--;
  const char *b = e;
  while (b > line && ident_char(b[-1])) b--;
  if (b == e) return false;
  /* a prototype ends at ';' before any '{' */
  const char *brace = memchr(line, '{', len), *semi = memchr(line, ';', len);
  if (!brace && semi) return false;
  if (brace && semi && semi < brace) return false;
  *name = b;
  *nlen = (size_t)(e - b);
  return true;
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
    const char *stop = nl ? nl + 1 : end, *from = line;
    if ((size_t)(stop - line) > 8 && strncmp(line, "#define ", 8) == 0) {
      from = line + 8;
      while (from < stop && ident_char(*from)) from++;
    }
    scan(h, from, (size_t)(stop - from), mark_always, NULL);
    line = stop;
  }
}

/* Helpers a `##` of the kept text may form: each run of identifiers and
 * ## that starts with xl_ becomes a pattern in which a parameter matches
 * any name (xl_##p##_ceil: xl_f32_ceil and xl_f64_ceil). */
static bool mark_pasted(lz_helpers *h, const char *s, size_t n) {
  for (const char *p = s; (p = memmem(p, (size_t)(s + n - p), "##", 2)) != NULL;) {
    const char *b = p, *e = p;
    while (b > s && (ident_char(b[-1]) || b[-1] == '#')) b--;
    while (e < s + n && (ident_char(*e) || *e == '#')) e++;
    /* only names of ours: xl_ pasted to parameters (xl_##FT##_abs) */
    if (e - b < 3 || strncmp(b, "xl_", 3) != 0) {
      p = e > p + 2 ? e : p + 2;
      continue;
    }
    char re[256];
    size_t k = 0;
    re[k++] = '^';
    for (const char *q = b; q < e && k < sizeof re - 8;) {
      if (q[0] == '#' && q + 1 < e && q[1] == '#') {
        q += 2;
        continue;
      }
      const char *w = q;
      while (q < e && ident_char(*q)) q++;
      /* the names' own pieces start or end with _ (xl_, _ceil); a
       * parameter is a bare word (p, FT) */
      bool literal = q > w && (w[0] == '_' || q[-1] == '_');
      if (literal && (size_t)(q - w) < sizeof re - 8 - k) {
        memcpy(re + k, w, (size_t)(q - w));
        k += (size_t)(q - w);
      } else {
        memcpy(re + k, "[a-z0-9_]*", 10);
        k += 10;
      }
      if (q == w) q++;
    }
    re[k++] = '$';
    re[k] = 0;
    regex_t rx;
    if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB) != 0) return false;
    for (size_t i = 0; i < h->nnames; i++)
      if (regexec(&rx, h->names[i], 0, NULL, 0) == 0) h->always[i] = true;
    regfree(&rx);
    p = e > p + 2 ? e : p + 2;
  }
  return true;
}

typedef struct deps_ctx {
  int *list;
  size_t n, cap;
  bool ok;
} deps_ctx;

static void add_dep(const lz_helpers *h, int i, void *ctx) {
  (void)h;
  deps_ctx *d = ctx;
  if (d->n == d->cap) {
    size_t cap = d->cap ? 2 * d->cap : 64;
    int *l = realloc(d->list, cap * sizeof *l);
    if (!l) {
      d->ok = false;
      return;
    }
    d->list = l;
    d->cap = cap;
  }
  d->list[d->n++] = i;
}

void lz_helpers_free(lz_helpers *h) {
  if (!h) return;
  for (size_t i = 0; i < h->nnames; i++) free(h->names[i]);
  free(h->names);
  free(h->parts);
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
  if (h->nparts == *cap) {
    size_t c = *cap ? 2 * *cap : 64;
    part *p = realloc(h->parts, c * sizeof *p);
    if (!p) return false;
    h->parts = p;
    *cap = c;
  }
  h->parts[h->nparts++] = (part){at, len, helper};
  return true;
}

/* The helper's name index, added when new; -1 when memory ran out. */
static int name_index(lz_helpers *h, size_t *cap, const char *name, size_t len) {
  int k = lookup(h, name, len);
  if (k) return k - 1;
  if (len < 3 || len >= 96 || strncmp(name, "xl_", 3) != 0) return -2; /* not one of ours */
  if (h->nnames == *cap) {
    size_t c = *cap ? 2 * *cap : 64;
    char **n = realloc(h->names, c * sizeof *n);
    if (!n) return -1;
    h->names = n;
    *cap = c;
  }
  char *s = strndup(name, len);
  if (!s || mote_map_put(h->index, s, (void *)(intptr_t)(h->nnames + 1), NULL) != 0) {
    free(s);
    return -1;
  }
  h->names[h->nnames] = s;
  return (int)h->nnames++;
}

lz_helpers *lz_helpers_parse(const char *text) {
  lz_helpers *h = calloc(1, sizeof *h);
  if (!h || !(h->index = mote_map_new())) {
    free(h);
    return NULL;
  }
  h->text = text;
  size_t pcap = 0, ncap = 0, len = strlen(text);
  bool continued = false; /* the line before ended with '\' */
  for (size_t at = 0; at < len;) {
    const char *line = text + at;
    const char *nl = memchr(line, '\n', len - at);
    size_t llen = nl ? (size_t)(nl - line) + 1 : len - at;
    const char *name;
    size_t nlen;
    int k = -2;
    if (!continued && defines(line, llen, &name, &nlen)) k = name_index(h, &ncap, name, nlen);
    if (k == -1) goto failed;
    if (k < 0) {
      continued = llen >= 2 && line[llen - 1] == '\n' && line[llen - 2] == '\\';
      if (!add_part(h, &pcap, at, llen, -1)) goto failed;
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
    if (declaration) k = -1;
    else if (!opened || depth != 0) goto failed; /* not what it looked like */
    if (k < 0) {
      if (!add_part(h, &pcap, at, end - at, -1)) goto failed;
      at = end;
      continued = false;
      continue;
    }
    if (!add_part(h, &pcap, at, end - at, k)) goto failed;
    at = end;
    continued = false;
  }
  h->always = calloc(h->nnames + 1, sizeof *h->always);
  h->dep_at = calloc(h->nnames + 1, sizeof *h->dep_at);
  if (!h->always || !h->dep_at) goto failed;
  for (size_t i = 0; i < h->nparts; i++)
    if (h->parts[i].helper < 0) {
      mark_kept(h, text + h->parts[i].at, h->parts[i].len);
      if (!mark_pasted(h, text + h->parts[i].at, h->parts[i].len)) goto failed;
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
  return h;
failed:
  lz_helpers_free(h);
  return NULL;
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

char *lz_slim_header(const lz_helpers *h, const char *body, size_t blen) {
  bool *wanted = calloc(h->nnames + 1, sizeof *wanted);
  int *stack = malloc((h->nnames + 1) * sizeof *stack);
  char *out = NULL;
  if (!wanted || !stack) goto done;
  want_ctx w = {wanted, stack, 0};
  for (size_t i = 0; i < h->nnames; i++)
    if (h->always[i]) want(h, (int)i, &w);
  scan(h, body, blen, want, &w);
  while (w.n) {
    int i = stack[--w.n];
    for (size_t k = h->dep_at[i]; k < h->dep_at[i + 1]; k++) want(h, h->deps[k], &w);
  }
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
