/*
 * The tools each tier runs and how, and the toolchain's identity for cache
 * keys. Identity is the resolved path, size and modification time of each
 * tool binary: cheap to compute on every lookup (no child process), and it
 * changes whenever a package upgrade replaces a tool.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile.h"
#include "base/hash.h"
#include "toolchain.h"
#include "xl.h"

/* Bump when the translator's output changes for the same prelude. */
#define XL_GENERATION 1

/* Bump when the glue generator or the flags change what a build produces. */
#define GLUE_GENERATION 3

/* Builtins the generated code uses that tcc 0.9.27 lacks. */
static const char tcc_shim[] =
    "static inline int __builtin_clz(unsigned x) { int n = 0; while (!(x & 0x80000000u)) { x <<= 1; n++; } return n; }\n"
    "static inline int __builtin_clzll(unsigned long long x) { int n = 0; while (!(x & 0x8000000000000000ull)) { x <<= 1; n++; } return n; }\n"
    "static inline int __builtin_ctz(unsigned x) { int n = 0; while (!(x & 1u)) { x >>= 1; n++; } return n; }\n"
    "static inline int __builtin_ctzll(unsigned long long x) { int n = 0; while (!(x & 1ull)) { x >>= 1; n++; } return n; }\n"
    "static inline int __builtin_popcount(unsigned x) { int n = 0; while (x) { x &= x - 1; n++; } return n; }\n"
    "static inline int __builtin_popcountll(unsigned long long x) { int n = 0; while (x) { x &= x - 1; n++; } return n; }\n"
    /* Float negation as a sign-bit flip (see fixup.c). */
    "static inline float mote_neg_f(float x) { union { float f; unsigned u; } v = {x}; v.u ^= 0x80000000u; return v.f; }\n"
    "static inline double mote_neg_d(double x) { union { double d; unsigned long long u; } v = {x}; v.u ^= 0x8000000000000000ull; return v.d; }\n";

const char *mote_tier_name(mote_tier tier) { return tier == MOTE_TIER_QUICK ? "quick" : "opt"; }

const char *mote_tool_cc(mote_tier tier) {
  const char *env = getenv(tier == MOTE_TIER_QUICK ? "MOTE_QUICK_CC" : "MOTE_CC");
  if (env && *env) return env;
  return tier == MOTE_TIER_QUICK ? "tcc" : "gcc";
}

const char *mote_tool_wasm2c(void) {
  const char *env = getenv("MOTE_WASM2C");
  return env && *env ? env : "wasm2c";
}

int mote_tool_cc_argv(mote_tier tier, const char *argv[], int cap) {
  int n = 0;
#define ARG(s) \
  do {         \
    if (n < cap - 1) argv[n++] = (s); \
  } while (0)
  ARG(mote_tool_cc(tier));
  if (tier == MOTE_TIER_QUICK) {
    ARG("-shared");
  } else {
    ARG("-O2");
    ARG("-fPIC");
    ARG("-shared");
    ARG("-fvisibility=hidden");
    /* Wasm recursion must stay recursion: a tail call turned into a jump
     * would make an endless recursion an endless loop instead of a
     * "call stack exhausted" trap. */
    ARG("-fno-optimize-sibling-calls");
    /* Wasm arithmetic must quiet a signalling NaN (x * 1.0 is not x); without
     * this gcc folds such operations away. */
    ARG("-fsignaling-nans");
    /* A guest function with a huge frame must not step over the stack guard. */
    ARG("-fstack-clash-protection");
    ARG("-w");
  }
  ARG("-I.");
  ARG("-o");
  ARG("module.so");
  ARG("unit.c");
  ARG("-lm");
#undef ARG
  argv[n] = NULL;
  return n;
}

const char *mote_tool_unit_prelude(mote_tier tier) {
  const char *xl = getenv("MOTE_TRANSLATOR");
  if (xl && strcmp(xl, "xl") == 0) return "";
  return tier == MOTE_TIER_QUICK ? tcc_shim : "";
}

/* Resolves `tool` in PATH and appends "path:size:mtime;" to out. */
static void append_identity(const char *tool, char *out, size_t cap) {
  char path[PATH_MAX] = "";
  if (strchr(tool, '/')) {
    snprintf(path, sizeof path, "%s", tool);
  } else {
    const char *env = getenv("PATH");
    char *dirs = strdup(env ? env : "/usr/bin:/bin");
    for (char *save = NULL, *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d;
         d = strtok_r(NULL, ":", &save)) {
      snprintf(path, sizeof path, "%s/%s", d, tool);
      if (access(path, X_OK) == 0) break;
      path[0] = 0;
    }
    free(dirs);
  }
  char real[PATH_MAX];
  struct stat st;
  size_t len = strlen(out);
  if (path[0] && realpath(path, real) && stat(real, &st) == 0)
    snprintf(out + len, cap - len, "%s:%lld:%lld;", real, (long long)st.st_size,
             (long long)st.st_mtime);
  else
    snprintf(out + len, cap - len, "%s:missing;", tool);
}

void mote_toolchain_identity(mote_tier tier, char *out, size_t cap) {
  snprintf(out, cap, "mote-glue-%d;abi-%d;tier-%s;", GLUE_GENERATION, MOTE_ABI_VERSION_FOR_KEY,
           mote_tier_name(tier));
  const char *xl = getenv("MOTE_TRANSLATOR");
  if (xl && strcmp(xl, "xl") == 0) {
    /* mote's translator: its prelude's text stands for its version */
    char h[MOTE_HASH_HEX];
    mote_hash_bytes(mote_xl_prelude_text, strlen(mote_xl_prelude_text), h);
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "xl-%d:%s;", XL_GENERATION, h);
  } else {
    append_identity(mote_tool_wasm2c(), out, cap);
  }
  append_identity(mote_tool_cc(tier), out, cap);
  size_t used = strlen(out);
  snprintf(out + used, cap - used, "%s", mote_tool_unit_prelude(tier));
  const char *argv[32];
  mote_tool_cc_argv(tier, argv, 32);
  for (int i = 0; argv[i]; i++) {
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s ", argv[i]);
  }
}
