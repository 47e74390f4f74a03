/*
 * The C compiler each tier runs and how, and the toolchain's identity for
 * cache keys: the translator's generation and prelude, and the resolved path,
 * size and modification time of the compiler binary (cheap to compute on
 * every lookup, and it changes whenever a package upgrade replaces it).
 */
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "compile.h"
#include "compile_internal.h"
#include "toolchain.h"
#include "xl.h"

/* Bump when the translator's output or the flags change what a build
 * produces for the same prelude. */
#define XL_GENERATION 18

const char *mote_tier_name(mote_tier tier) { return tier == MOTE_TIER_QUICK ? "quick" : "opt"; }

const char *mote_tool_cc(mote_tier tier) {
  const char *env = getenv(tier == MOTE_TIER_QUICK ? "MOTE_QUICK_CC" : "MOTE_CC");
  if (env && *env) return env;
  return tier == MOTE_TIER_QUICK ? "tcc" : "gcc";
}

#define ARG(s) \
  do {         \
    if (n < cap - 1) argv[n++] = (s); \
  } while (0)

const char *mote_tool_isa(void) {
  const char *env = getenv("MOTE_ISA");
  if (env && !strcmp(env, "baseline")) return NULL;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("x86-64-v2")) return "-march=x86-64-v2";
#endif
  return NULL;
}

const char *mote_tier_isa(mote_tier tier) {
  const char *isa = tier == MOTE_TIER_OPT ? mote_tool_isa() : NULL;
  return isa ? isa + strlen("-march=") : "baseline";
}

/* The code generation flags of a tier (after the compiler's name). */
static int codegen_flags(mote_tier tier, const char *argv[], int n, int cap) {
  if (tier == MOTE_TIER_QUICK) return n;
  ARG("-O2");
  /* The host's instruction set, as a JIT uses it (see toolchain.h). */
  const char *isa = mote_tool_isa();
  if (isa) ARG(isa);
  /* Wasm rounds every float operation: a * b + c must not become an FMA
   * (no level chosen above has one, but a MOTE_CC may default to it). */
  ARG("-ffp-contract=off");
  ARG("-fPIC");
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
  /* A br_table's computed goto is copied into every case (xl_func.c's
   * br_table()) when its block is this small. The default (8) is too small
   * for a load of the opcode from linear memory, the clamp and the table
   * (32), and 64 for Lua's fetch and dispatch together (its VM has 12
   * indirect jumps at 64, 32 at 128; docs/architecture.md). */
  ARG("--param=max-goto-duplication-insns=128");
  /* -O2's "very cheap" model vectorizes a loop only when its count is a
   * known multiple of the vector's lanes and no alias check is needed: a
   * copied loop (xl_func.c's copy_loop()) has neither, its count and
   * addresses being the module's data. */
  ARG("-fvect-cost-model=cheap");
  /* A store to an address that does not change in a loop must happen in
   * every turn: gcc's loop store motion moves it after the loop, so when a
   * later access of the loop traps, the memory lacks it (a review found it;
   * test_loop's "a store that does not move, then a trap"). */
  ARG("-fno-move-loop-stores");
  ARG("-w");
  return n;
}

int mote_tool_cc_argv(mote_tier tier, const char *data_object, const char *argv[], int cap) {
  int n = 0;
  ARG(mote_tool_cc(tier));
  n = codegen_flags(tier, argv, n, cap);
  ARG("-shared");
  ARG("-I.");
  ARG("-o");
  ARG("module.so");
  ARG("unit.c");
  if (data_object) ARG(data_object);
  ARG("-lm");
  argv[n] = NULL;
  return n;
}

int mote_tool_obj_argv(mote_tier tier, const char *src, const char *obj, const char *extra,
                       const char *argv[], int cap) {
  int n = 0;
  ARG(mote_tool_cc(tier));
  n = codegen_flags(tier, argv, n, cap);
  if (extra) ARG(extra);
  ARG("-I.");
  ARG("-c");
  ARG("-o");
  ARG(obj);
  ARG(src);
  argv[n] = NULL;
  return n;
}

int mote_tool_link_argv(mote_tier tier, const char *const *objs, int nobjs, const char *argv[],
                        int cap) {
  int n = 0;
  ARG(mote_tool_cc(tier));
  ARG("-shared");
  ARG("-o");
  ARG("module.so");
  for (int i = 0; i < nobjs; i++) ARG(objs[i]);
  ARG("-lm");
  argv[n] = NULL;
  return n;
}
#undef ARG

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

/* The texts every unit includes, hashed once (they are mote's own): the
 * translator's prelude, abi.h, and the wasm-rt.h that abi.h includes from
 * the system (an upgrade of wabt's header, or an edit of abi.h without a
 * new ABI version, would otherwise reuse objects built against the old). */
static char unit_texts[3 * MOTE_HASH_HEX];
static void hash_unit_texts(void) {
  const char *texts[3] = {mote_xl_prelude_text, mote_abi_header_text, mote_wasm_rt_header_text};
  for (int i = 0; i < 3; i++) {
    char h[MOTE_HASH_HEX];
    mote_hash_bytes(texts[i], strlen(texts[i]), h);
    snprintf(unit_texts + strlen(unit_texts), sizeof unit_texts - strlen(unit_texts), "%s%s",
             i ? ":" : "", h);
  }
}

void mote_toolchain_identity(mote_tier tier, char *out, size_t cap) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, hash_unit_texts);
  snprintf(out, cap, "abi-%d;tier-%s;xl-%d:%s;", MOTE_ABI_VERSION_FOR_KEY, mote_tier_name(tier),
           XL_GENERATION, unit_texts);
  append_identity(mote_tool_cc(tier), out, cap);
  const char *argv[32];
  mote_tool_cc_argv(tier, MOTE_DATA_OBJECT, argv, 32);
  for (int i = 0; argv[i]; i++) {
    size_t len = strlen(out);
    snprintf(out + len, cap - len, "%s ", argv[i]);
  }
}
