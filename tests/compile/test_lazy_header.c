/* A batch's header cut to the helpers it names (lazy_header.c): whatever a
 * batch names, the cut header compiles exactly when the whole one does, and
 * it is smaller. */
#include <libtcc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compile/lazy_internal.h"
#include "compile/xl.h"
#include "module/module.h"
#include "test.h"

static void quiet(void *opaque, const char *msg) {
  (void)opaque;
  (void)msg;
}

/* Whether header + body compiles and links with libtcc in memory, as a
 * batch does (the C library and wasm_rt_* from this process). */
static bool compiles(const char *header, const char *body) {
  size_t hl = strlen(header), bl = strlen(body);
  char *text = malloc(hl + bl + 1);
  if (!text) return false;
  memcpy(text, header, hl);
  memcpy(text + hl, body, bl + 1);
  TCCState *s = tcc_new();
  bool ok = false;
  if (s) {
    tcc_set_error_func(s, NULL, quiet);
    tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
    /* what a batch links against in the module's core (lz_tcc_build) */
    static char core[64];
    static const char *const names[] = {"w0", "w1", "xl_ft0", "xl_ft1", "xl_table_init"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) tcc_add_symbol(s, names[i], core);
    if (tcc_compile_string(s, text) == 0) {
      int need = tcc_relocate(s, NULL);
      void *mem = need > 0 ? malloc((size_t)need) : NULL;
      ok = mem && tcc_relocate(s, mem) == 0;
      free(mem);
    }
    tcc_delete(s);
  }
  free(text);
  return ok;
}

/* The batch headers (whole, and without the SIMD helpers) of a small
 * module with a memory, a table and an import; fixture_close frees all. */
typedef struct fixture {
  uint8_t *wasm;
  mote_module *m;
  xl_module x;
  char *full, *scalar;
} fixture;

static bool fixture_open(fixture *f) {
  static const char wat[] =
      "(module (import \"m\" \"f\" (func $f (param i32) (result i32)))"
      " (memory 1) (table 2 funcref) (global $g (mut i32) (i32.const 0))"
      " (func (export \"g\") (param i32) (result i32) local.get 0 call $f))";
  memset(f, 0, sizeof *f);
  size_t len;
  f->wasm = test_wat(wat, NULL, &len);
  CHECK(f->wasm != NULL);
  if (!f->wasm) return false;
  mote_module_error err;
  CHECK_EQ_INT(mote_module_read(f->wasm, len, &f->m, &err), MOTE_MODULE_OK);
  if (!f->m) return false;
  CHECK(xl_module_scan(&f->x, f->m, f->wasm, len));
  f->x.lazy_bodies = true;
  f->full = lz_header_text(&f->x, false);
  CHECK(f->full != NULL);
  f->scalar = f->full ? lz_scalar_header(f->full) : NULL;
  CHECK(f->scalar != NULL);
  return f->full && f->scalar;
}

static void fixture_close(fixture *f) {
  free(f->full);
  free(f->scalar);
  if (f->m) {
    xl_module_release(&f->x);
    mote_module_free(f->m);
  }
  free(f->wasm);
}

/* Every identifier of h that starts with xl_, once each. */
static size_t names_in(const char *h, char (*names)[64], size_t cap) {
  size_t n = 0;
  for (const char *p = h; (p = strstr(p, "xl_")) != NULL;) {
    bool start = p == h || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z') ||
                             (p[-1] >= 'A' && p[-1] <= 'Z') || (p[-1] >= '0' && p[-1] <= '9'));
    size_t k = 0;
    while ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '_') k++;
    if (start && k < 64) {
      bool seen = false;
      for (size_t i = 0; i < n && !seen; i++)
        seen = strlen(names[i]) == k && !strncmp(names[i], p, k);
      if (!seen && n < cap) {
        memcpy(names[n], p, k);
        names[n++][k] = 0;
      }
    }
    p += k ? k : 3;
  }
  return n;
}

/* header as tcc's preprocessor leaves it (NULL: it failed), so that the
 * names macros paste together (xl_v_f32x4_ceil) are seen too. */
static char *preprocessed(const char *header) {
  char dir[] = "/tmp/mote-test-lazy-header-XXXXXX";
  if (!mkdtemp(dir)) return NULL;
  char in[64], out[64], cmd[256];
  snprintf(in, sizeof in, "%s/h.c", dir);
  snprintf(out, sizeof out, "%s/h.i", dir);
  FILE *f = fopen(in, "w");
  char *text = NULL;
  if (f && fputs(header, f) >= 0 && fclose(f) == 0) {
    snprintf(cmd, sizeof cmd, "tcc -E %s -o %s", in, out);
    if (system(cmd) == 0 && (f = fopen(out, "r"))) {
      size_t cap = 1 << 20, n = 0, k;
      text = malloc(cap);
      while (text && (k = fread(text + n, 1, cap - 1 - n, f)) > 0) {
        n += k;
        if (n + 1 == cap) {
          char *t = realloc(text, cap *= 2);
          if (!t) free(text);
          text = t;
        }
      }
      if (text) text[n] = 0;
      fclose(f);
    }
  }
  unlink(in);
  unlink(out);
  rmdir(dir);
  return text;
}

static void check_header(const char *header, size_t *cut_ok) {
  lz_helpers *h = lz_helpers_parse(header);
  char *pp = preprocessed(header);
  CHECK(h != NULL);
  CHECK(pp != NULL);
  if (!h || !pp) {
    lz_helpers_free(h);
    free(pp);
    return;
  }
  static char names[4096][64];
  size_t n = names_in(pp, names, 4096);
  free(pp);
  CHECK(n > 50);
  for (size_t i = 0; i < n; i++) {
    /* the helper's address: its definition must be there, and what it calls */
    char body[256];
    snprintf(body, sizeof body, "\nvoid *b0(void) { return (void *)&%s; }\n", names[i]);
    char *slim = lz_slim_header(h, body, strlen(body));
    CHECK(slim != NULL);
    if (!slim) continue;
    bool whole = compiles(header, body), cut = compiles(slim, body);
    if (whole != cut) fprintf(stderr, "  %s: whole header %d, cut %d\n", names[i], whole, cut);
    CHECK(whole == cut);
    if (cut) ++*cut_ok;
    free(slim);
  }
  lz_helpers_free(h);
}

TEST(a_cut_header_compiles_when_the_whole_one_does) {
  fixture f;
  size_t full_ok = 0, scalar_ok = 0;
  if (fixture_open(&f)) {
    check_header(f.scalar, &scalar_ok);
    check_header(f.full, &full_ok);
  }
  /* not vacuous: the names of the preprocessed headers are nearly all
   * functions (64 of 67 and 311 of 315 when written) */
  CHECK(scalar_ok >= 55);
  CHECK(full_ok >= scalar_ok + 200); /* the SIMD helpers */
  fixture_close(&f);
}

TEST(a_cut_header_holds_what_a_batch_names_and_what_that_calls) {
  fixture f;
  lz_helpers *h = fixture_open(&f) ? lz_helpers_parse(f.scalar) : NULL;
  CHECK(h != NULL);
  if (h) {
    char *none = lz_slim_header(h, "", 0);
    const char *body = "void b1(wasm_rt_memory_t *m) { xl_memory_copy(m, 0, 0, 0); }\n";
    char *some = lz_slim_header(h, body, strlen(body));
    CHECK(none && some);
    if (none && some) {
      /* most of the helpers' text goes */
      CHECK(strlen(none) < strlen(f.scalar) * 9 / 10);
      CHECK(strstr(none, "xl_memory_copy(wasm_rt_memory_t") == NULL);
      CHECK(strstr(some, "xl_memory_copy(wasm_rt_memory_t") != NULL);
      CHECK(strstr(some, "xl_check_range(u64") != NULL); /* which it calls */
      CHECK(strstr(some, "xl_memory_fill(wasm_rt_memory_t") == NULL);
      CHECK(compiles(some, body));
      CHECK(!compiles(none, body));
    }
    free(none);
    free(some);
    lz_helpers_free(h);
  }
  fixture_close(&f);
}

/* header cut for a batch whose C is body; NULL after a failed check. */
static char *cut_for(const char *header, const char *body) {
  lz_helpers *h = lz_helpers_parse(header);
  CHECK(h != NULL);
  char *cut = h ? lz_slim_header(h, body, strlen(body)) : NULL;
  CHECK(cut != NULL);
  lz_helpers_free(h);
  return cut;
}

/* A header made for it: what the kept text names is in every cut, and so is
 * what that helper names in turn; a helper nothing names is not. */
TEST(what_the_kept_text_names_and_what_that_names_is_always_there) {
  static const char header[] =
      "typedef int i32;\n"
      "#define XL_M(x) xl_a(x) /* xl_c in a comment */\n"
      "XL_INLINE i32 xl_b(i32 x) { return x + 1; }\n"
      "XL_INLINE i32 xl_a(i32 x) {\n  return xl_b(x);\n}\n"
      "XL_INLINE i32 xl_c(i32 x) { return x; }\n";
  char *cut = cut_for(header, "");
  if (cut) {
    CHECK(strstr(cut, "xl_a(i32 x) {") != NULL);
    CHECK(strstr(cut, "xl_b(i32 x) {") != NULL); /* named by xl_a only */
    CHECK(strstr(cut, "xl_c(i32 x) {") == NULL); /* named in a comment only */
    CHECK(strstr(cut, "typedef int i32;") != NULL);
  }
  free(cut);
}

/* One-line helpers: a declaration of the module's (XL_SHARED) and a macro
 * call that defines the helper it names first; a batch gets the line only
 * when it names the helper, with what the line names too. */
TEST(a_one_line_helper_comes_with_its_name_only) {
  static const char header[] =
      "typedef unsigned u32;\n"
      "#define XL_SHARED extern\n"
      "#define XL_T(name, range) static u32 name(u32 x) { return range(x); }\n"
      "XL_SHARED u32 xl_ft0;\n"
      "XL_SHARED u32 xl_ft1;\n"
      "XL_SHARED const u32 xl_d0[];\n"
      "XL_SHARED u32 xl_ft7, xl_ft8;\n"
      "static u32 xl_t_range(u32 x) { return x; }\n"
      "XL_T(xl_t, xl_t_range)\n"
      "XL_T(xl_u, xl_t_range)\n";
  const char *body = "u32 b0(void) { return xl_ft1 + xl_t(2); }\n";
  char *none = cut_for(header, ""), *some = cut_for(header, body);
  if (none && some) {
    CHECK(strstr(none, "xl_ft0") == NULL);
    CHECK(strstr(none, "xl_ft1") == NULL);
    CHECK(strstr(none, "XL_T(xl_t,") == NULL);
    CHECK(strstr(none, "XL_SHARED const u32 xl_d0[];") != NULL); /* data: kept */
    CHECK(strstr(none, "xl_ft7, xl_ft8;") != NULL);                /* two names: kept */
    CHECK(strstr(some, "XL_SHARED u32 xl_ft1;") != NULL);
    CHECK(strstr(some, "xl_ft0") == NULL);
    CHECK(strstr(some, "XL_T(xl_t, xl_t_range)") != NULL);
    CHECK(strstr(some, "static u32 xl_t_range(u32 x)") != NULL); /* which its line names */
    CHECK(strstr(some, "XL_T(xl_u,") == NULL);
    static char core[8];
    TCCState *s = tcc_new();
    CHECK(s != NULL);
    if (s) {
      char text[1024];
      snprintf(text, sizeof text, "%s%s", some, body);
      tcc_set_error_func(s, NULL, quiet);
      tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
      tcc_add_symbol(s, "xl_ft1", core);
      CHECK(tcc_compile_string(s, text) == 0);
      tcc_delete(s);
    }
  }
  free(none);
  free(some);
}

/* The cut is read without comments: none is left, and what only looked
 * like one (in a string or a character) stays; a line comment that ends in
 * '\\' takes the next line too, and the blank line that ends a macro's
 * continued lines stays. */
TEST(comments_go_and_what_is_not_a_comment_stays) {
  static const char header[] =
      "/* a block\n   comment */\n"
      "static const char *s = \"/* kept */ // kept\"; /* gone */\n"
      "static const char c = '\"'; // gone\n"
      "// gone \\\n"
      "gone too\n"
      "#define M(x) \\\n"
      "  (x) /* gone */ \\\n"
      "\n"
      "int after;\n";
  char *cut = cut_for(header, "");
  if (cut) {
    CHECK(strstr(cut, "gone") == NULL);
    CHECK(strstr(cut, "comment") == NULL);
    CHECK(strstr(cut, "\"/* kept */ // kept\";") != NULL);
    CHECK(strstr(cut, "c = '\"';") != NULL);
    CHECK(strstr(cut, "\\\n\nint after;\n") != NULL);
    CHECK(cut[0] == 's'); /* the blank lines before went */
  }
  free(cut);
}

RUN_TESTS(a_cut_header_compiles_when_the_whole_one_does,
          a_cut_header_holds_what_a_batch_names_and_what_that_calls,
          what_the_kept_text_names_and_what_that_names_is_always_there,
          a_one_line_helper_comes_with_its_name_only,
          comments_go_and_what_is_not_a_comment_stays)
