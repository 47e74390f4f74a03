/*
 * compile: turning a .wasm module into a loadable native object.
 *
 *   bytes --module reader--> checked module --translator (xl_*.c)--> C --cc--> .so
 *
 * The translator validates the module and writes C in process; the C compiler
 * runs as a child process with limits on CPU time,
 * memory, output size and wall time, so a hostile module cannot hang or
 * exhaust the node. Results live in a content-addressed cache: the key hashes
 * the module bytes, the toolchain's versions, the tier and the flags; entries
 * are written atomically (temp file + rename), carry a checksum that is
 * verified on every lookup (a corrupt entry is rebuilt), and a lock file per
 * key makes two concurrent compiles of one module do the work once, across
 * threads and processes.
 *
 * Tiers: QUICK compiles with tcc (tens of milliseconds, slower code); OPT with
 * gcc -O2 (seconds, near-native code). A deploy can use QUICK at once and swap
 * in OPT when it is ready.
 */
#ifndef MOTE_COMPILE_H
#define MOTE_COMPILE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mote_tier {
  MOTE_TIER_OPT = 0, /* gcc -O2 */
  MOTE_TIER_QUICK,   /* tcc */
} mote_tier;

typedef struct mote_compile_options {
  const char *cache_dir; /* required; created if missing */
  mote_tier tier;
  /* Limits for each child process; zero means the default. */
  unsigned cpu_seconds;  /* default 300 */
  unsigned wall_seconds; /* default 600 */
  size_t memory_bytes;   /* address space of each compiler process, default 1 GiB */
  size_t output_bytes;   /* largest file a child may write, default 1 GiB */
  /* The smallest chunk of a big module, in bytes of wasm code (the largest is
   * 4x); zero means the tier's own (pipeline.c). Tests use it to cut small
   * modules into chunks on either tier. */
  size_t chunk_bytes;
  /* NULL, or asked while a compiler process runs (at its start, then every
   * 100 ms) whether the caller still wants the result: true kills it, and
   * the compile fails with MOTE_COMPILE_LIMIT, "stopped by its caller". The
   * caller's; called from the compiling thread. */
  bool (*stopped)(void *ctx);
  void *stopped_ctx;
} mote_compile_options;

typedef enum mote_compile_status {
  MOTE_COMPILE_OK = 0,
  MOTE_COMPILE_MALFORMED,     /* the module reader refused the bytes */
  MOTE_COMPILE_UNSUPPORTED,   /* the module uses a feature mote cannot run */
  MOTE_COMPILE_INVALID,       /* the translator refused it (e.g. a type error) */
  MOTE_COMPILE_TOOL_FAILED,   /* the C compiler failed, or a tool is missing */
  MOTE_COMPILE_LIMIT,         /* a stage exceeded its time, memory or output limit */
  MOTE_COMPILE_IO,            /* the cache directory could not be used */
} mote_compile_status;

typedef struct mote_compile_error {
  mote_compile_status status;
  char stage[16];     /* "read", "translate", "cc", "cache" */
  char message[1024]; /* what happened, for a user; the tail of the tool's stderr */
} mote_compile_error;

typedef struct mote_compile_result {
  char so_path[PATH_MAX]; /* the compiled object, inside the cache */
  bool cached;            /* found in the cache: nothing was run */
  double translate_ms;    /* translator wall time (0 when cached) */
  double cc_ms;           /* C compiler wall time, all chunks, in parallel (0 when cached) */
  double link_ms;         /* linking the chunks' objects (0 for one chunk or cached) */
  uint32_t chunks;        /* translation units of the module (0 when cached) */
  uint32_t chunks_built;  /* of those, compiled now; the rest came from the chunk cache */
  uint32_t chunks_reduced; /* of those compiled, at -O1: gcc -O2 exceeded the memory limit */
  long peak_rss_kb;       /* the largest resident size of any compiler process */
  char key[65];           /* the cache key, hex */
} mote_compile_result;

/* Compiles `len` bytes of wasm (or finds them in the cache). */
mote_compile_status mote_compile(const uint8_t *wasm, size_t len, const mote_compile_options *opts,
                                 mote_compile_result *out, mote_compile_error *err);

/* Finds a compiled object in the cache without compiling: true (and *out
 * filled, cached = true) if the tier's object for these bytes is there. */
bool mote_compile_lookup(const uint8_t *wasm, size_t len, const mote_compile_options *opts,
                         mote_compile_result *out);

/* Objects made elsewhere (a peer of a cluster, with the same toolchain):
 * the cache key of a module's tier (what mote_compile_result.key says), the
 * object of a key if the cache holds it (its checksum verified), and an
 * object put in the cache under a key (the caller has verified the bytes;
 * written atomically, as a compile's). */
void mote_compile_key(const uint8_t *wasm, size_t len, mote_tier tier, char key[65]);
bool mote_compile_lookup_key(const char *cache_dir, const char *key, char *so_path, size_t cap);
bool mote_compile_install(const char *cache_dir, const char *key, const uint8_t *object,
                          size_t len);

/* The name of a tier: "opt" or "quick". */
const char *mote_tier_name(mote_tier tier);
/* The instruction set a tier compiles for on this host: "x86-64-v2", or
 * "baseline" (the architecture's; always for quick). */
const char *mote_tier_isa(mote_tier tier);

#endif /* MOTE_COMPILE_H */
