/* What a lean batch links against (lazy_runtime.c): every name the runtime
 * exports to compiled code and every function the batch header declares of
 * the C library, and tcc's conversions, with the values gcc's code gives. */
#include <libtcc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/lazy_internal.h"
#include "test.h"

static bool listed(const char *name, size_t len) {
  for (size_t i = 0; lz_runtime_names[i]; i++)
    if (strlen(lz_runtime_names[i]) == len && !strncmp(lz_runtime_names[i], name, len)) return true;
  return false;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  CHECK_MSG(f != NULL, path);
  if (!f) return NULL;
  char *text = calloc(1, 1 << 16);
  size_t n = text ? fread(text, 1, (1 << 16) - 1, f) : 0;
  fclose(f);
  CHECK(n > 0);
  return text;
}

static bool ident(char c) { return c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* src/rt/exports.list: "  name;" lines */
TEST(every_exported_name_is_linked) {
  char *text = slurp("src/rt/exports.list");
  if (!text) return;
  int names = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    while (*line == ' ') line++;
    size_t n = 0;
    while (ident(line[n])) n++;
    if (n && line[n] == ';') {
      names++;
      CHECK_MSG(listed(line, n), line);
    }
  }
  CHECK(names >= 20);
  free(text);
}

/* src/compile/xl_lazy_libc.h: "type name(" declarations at a line's start */
TEST(every_function_the_header_declares_is_linked) {
  char *text = slurp("src/compile/xl_lazy_libc.h");
  if (!text) return;
  int names = 0;
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    char *paren = strchr(line, '(');
    if (!paren || line[0] == '#' || line[0] == ' ' || line[0] == '/' || !strchr(line, ';'))
      continue;
    char *e = paren;
    while (e > line && e[-1] == ' ') e--;
    char *b = e;
    while (b > line && ident(b[-1])) b--;
    if (b == e || b == line) continue; /* a name after a type */
    names++;
    CHECK_MSG(listed(b, (size_t)(e - b)), line);
  }
  CHECK(names >= 10);
  free(text);
}

static void show(void *opaque, const char *msg) {
  (void)opaque;
  fprintf(stderr, "  tcc: %s\n", msg);
}

static void quiet(void *opaque, const char *msg) {
  (void)opaque;
  (void)msg;
}

/* A lean compile of conversions between u64 and floats (tcc calls helpers
 * for them), in range, and of the C library's functions: the values gcc's
 * code gives; and it is lean: a name not on the list does not link. */
TEST(a_lean_compile_converts_as_gcc_does) {
  static const char text[] =
      "double sqrt(double); double floor(double);\n"
      "unsigned long long d2u(double x) { return (unsigned long long)x; }\n"
      "unsigned long long f2u(float x) { return (unsigned long long)x; }\n"
      "double u2d(unsigned long long x) { return (double)x; }\n"
      "float u2f(unsigned long long x) { return (float)x; }\n"
      "double lib(double x) { return sqrt(x) + floor(x); }\n";
  TCCState *s = tcc_new();
  CHECK(s != NULL);
  if (!s) return;
  tcc_set_error_func(s, NULL, show);
  CHECK(lz_runtime_lean(s));
  tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
  CHECK_EQ_INT(tcc_compile_string(s, text), 0);
  lz_runtime_add(s);
  int need = tcc_relocate(s, NULL);
  CHECK(need > 0);
  void *mem = need > 0 ? malloc((size_t)need) : NULL;
  if (mem && tcc_relocate(s, mem) == 0) {
    unsigned long long (*d2u)(double) = (unsigned long long (*)(double))tcc_get_symbol(s, "d2u");
    unsigned long long (*f2u)(float) = (unsigned long long (*)(float))tcc_get_symbol(s, "f2u");
    double (*u2d)(unsigned long long) = (double (*)(unsigned long long))tcc_get_symbol(s, "u2d");
    float (*u2f)(unsigned long long) = (float (*)(unsigned long long))tcc_get_symbol(s, "u2f");
    double (*lib)(double) = (double (*)(double))tcc_get_symbol(s, "lib");
    CHECK(d2u && f2u && u2d && u2f && lib);
    if (d2u && f2u && u2d && u2f && lib) {
      static const double ds[] = {0.0, 1.5, 4294967296.0, 9223372036854775808.0,
                                  18446744073709549568.0, 12345678901234567.0};
      for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
        CHECK(d2u(ds[i]) == (unsigned long long)ds[i]);
        float f = (float)ds[i]; /* 2^64 - 2048 is 2^64 as a float: out of range */
        if (f < 18446744073709551616.0f) CHECK(f2u(f) == (unsigned long long)f);
      }
      static const unsigned long long us[] = {0, 1, 1ull << 53, (1ull << 53) + 1,
                                              0x8000000000000401ull, 0xffffffffffffffffull,
                                              0x7fffff8000000001ull};
      for (size_t i = 0; i < sizeof us / sizeof us[0]; i++) {
        CHECK(u2d(us[i]) == (double)us[i]);
        CHECK(u2f(us[i]) == (float)us[i]);
      }
      CHECK(lib(10.25) == sqrt(10.25) + floor(10.25));
    }
  } else {
    CHECK(!"relocated");
  }
  free(mem);
  tcc_delete(s);
  /* lean: the C library is not linked, nor is the process searched */
  s = tcc_new();
  CHECK(s != NULL);
  if (!s) return;
  tcc_set_error_func(s, NULL, quiet);
  CHECK(lz_runtime_lean(s));
  tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
  CHECK_EQ_INT(tcc_compile_string(s, "unsigned long strlen(const char *);\n"
                                     "unsigned long b1(void) { return strlen(\"ab\"); }\n"),
               0);
  lz_runtime_add(s);
  CHECK(tcc_relocate(s, NULL) < 0);
  tcc_delete(s);
}

RUN_TESTS(every_exported_name_is_linked, every_function_the_header_declares_is_linked,
          a_lean_compile_converts_as_gcc_does)
