/* `mote compile`, and the compile step shared by the verbs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "cli.h"

const char *mote_cli_cache_dir(void) {
  static char dir[4096];
  const char *env = getenv("MOTE_CACHE");
  if (env && *env) return env;
  const char *xdg = getenv("XDG_CACHE_HOME");
  const char *home = getenv("HOME");
  if (xdg && *xdg) {
    snprintf(dir, sizeof dir, "%s/mote", xdg);
  } else if (home && *home) {
    snprintf(dir, sizeof dir, "%s/.cache/mote", home);
  } else {
    snprintf(dir, sizeof dir, "/tmp/mote-cache-%d", (int)getuid());
  }
  return dir;
}

/* Compiles (or finds in the cache) with a progress line on a terminal; on
 * failure prints why and returns the exit status (*st: the failure). A tool
 * failure the caller recovers from (fallback) is only shown on a terminal. */
static int compile_tier(const char *path, const uint8_t *wasm, size_t len, mote_tier tier,
                        mote_compile_result *res, mote_compile_status *st, bool fallback) {
  mote_compile_options opts = {.cache_dir = mote_cli_cache_dir(), .tier = tier};
  mote_compile_error err;
  bool tty = isatty(2);
  if (tty) fprintf(stderr, "mote: compiling %s (%s tier)...\r", path, mote_tier_name(tier));
  *st = mote_compile(wasm, len, &opts, res, &err);
  if (tty) fprintf(stderr, "\033[K");
  if (*st == MOTE_COMPILE_OK) return 0;
  if (!fallback || *st != MOTE_COMPILE_TOOL_FAILED || tty)
    fprintf(stderr, "mote: %s: %s\n", path, err.message);
  switch (*st) {
    case MOTE_COMPILE_MALFORMED:
    case MOTE_COMPILE_UNSUPPORTED:
    case MOTE_COMPILE_INVALID: return MOTE_EXIT_MODULE;
    default: return MOTE_EXIT_COMPILE;
  }
}

int mote_cli_compile(const char *path, const uint8_t *wasm, size_t len, mote_tier tier,
                     mote_compile_result *res) {
  mote_compile_status st;
  return compile_tier(path, wasm, len, tier, res, &st, false);
}

int mote_cli_compile_auto(const char *path, const uint8_t *wasm, size_t len,
                          mote_compile_result *res) {
  mote_compile_options opt = {.cache_dir = mote_cli_cache_dir(), .tier = MOTE_TIER_OPT};
  if (mote_compile_lookup(wasm, len, &opt, res)) return 0;
  mote_compile_status st;
  int rc = compile_tier(path, wasm, len, MOTE_TIER_QUICK, res, &st, true);
  /* What tcc cannot compile (mote_compile says why), gcc may: run on that. */
  if (st == MOTE_COMPILE_TOOL_FAILED) return mote_cli_compile(path, wasm, len, MOTE_TIER_OPT, res);
  /* Nothing is started in the background: the run ends with this process.
   * On a terminal, say once (when the quick object is new) how to get the
   * optimised one. */
  if (rc == 0 && !res->cached && isatty(2))
    fprintf(stderr, "mote: %s runs on the quick tier; `mote compile %s` builds optimised code "
            "for later runs\n", path, path);
  return rc;
}

int mote_cmd_compile(int argc, char **argv) {
  mote_tier tier = MOTE_TIER_OPT;
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--tier") && i + 1 < argc) {
      const char *t = argv[++i];
      if (!strcmp(t, "quick")) tier = MOTE_TIER_QUICK;
      else if (strcmp(t, "opt") != 0) {
        fprintf(stderr, "mote compile: unknown tier \"%s\" (opt or quick)\n", t);
        return MOTE_EXIT_USAGE;
      }
    } else if (!strcmp(argv[i], "--help")) {
      printf("usage: mote compile [--tier opt|quick] FILE.wasm\n"
             "Compiles FILE.wasm into the cache (%s) and prints where and how long it took.\n",
             mote_cli_cache_dir());
      return 0;
    } else if (!path) {
      path = argv[i];
    } else {
      fprintf(stderr, "mote compile: one file at a time\n");
      return MOTE_EXIT_USAGE;
    }
  }
  if (!path) {
    fprintf(stderr, "usage: mote compile [--tier opt|quick] FILE.wasm\n");
    return MOTE_EXIT_USAGE;
  }
  size_t len;
  uint8_t *wasm = mote_read_file(path, &len);
  if (!wasm) {
    fprintf(stderr, "mote: cannot read %s: %s\n", path, strerror(errno));
    return MOTE_EXIT_IO;
  }
  mote_compile_result res;
  int rc = mote_cli_compile(path, wasm, len, tier, &res);
  free(wasm);
  if (rc) return rc;
  printf("%s\n%s tier: %s (translate %.0f ms, cc %.0f ms", res.so_path, mote_tier_name(tier),
         res.cached ? "cached" : "compiled", res.translate_ms, res.cc_ms);
  if (!res.cached)
    printf(", link %.0f ms; %u chunks, %u compiled, %u from the chunk cache; peak %.0f MiB",
           res.link_ms, res.chunks, res.chunks_built, res.chunks - res.chunks_built,
           res.peak_rss_kb / 1024.0);
  if (!res.cached && res.chunks_reduced)
    printf("; %u at -O1 (-O2 needed more than the memory limit)", res.chunks_reduced);
  printf("; isa %s)\n", mote_tier_isa(tier));
  return 0;
}
