/* Private to src/compile: the pieces mote_compile() is made of. */
#ifndef MOTE_COMPILE_INTERNAL_H
#define MOTE_COMPILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "compile/compile.h"
#include "compile/xl.h"
#include "module/module.h"

/* Whether a tool's stderr says it ran out of memory (its address-space
 * limit, as gcc's cc1 and tcc report it). */
bool mote_ran_out_of_memory(const char *stderr_tail);

/* Writes len bytes to dir/name (created or truncated). 0, or -1 (errno). */
int mote_write_file(const char *dir, const char *name, const void *data, size_t len);

/* Writes x's data segments to dir/name as an object file (data_object.c)
 * that defines XL_DATA_SYMBOL for an eager object's link. 0, or -1 (errno). */
#define MOTE_DATA_OBJECT "data.o"
int mote_data_object_write(const char *dir, const char *name, const xl_module *x);

/* The text of src/rt/abi.h, embedded at build time. */
extern const char mote_abi_header_text[];
/* The text of src/compile/xl_lazy_libc.h (lazy batches), the same way, and
 * of the wasm-rt.h the runtime was built with. */
extern const char mote_xl_lazy_libc_text[];
extern const char mote_wasm_rt_header_text[];

/* The status of a translation that failed (xl_error): IO when it was not
 * the module's fault, LIMIT past the translator's limits, else INVALID. */
mote_compile_status mote_xl_status(const xl_error *e);

/* Running a tool as a child process under limits. */
typedef struct mote_child_limits {
  unsigned cpu_seconds;
  unsigned wall_seconds;
  size_t memory_bytes;
  size_t output_bytes;
  bool (*stopped)(void *ctx); /* NULL, or true when the caller gave up (compile.h) */
  void *stopped_ctx;
} mote_child_limits;

typedef enum mote_child_outcome {
  MOTE_CHILD_EXITED,    /* see exit_code */
  MOTE_CHILD_SIGNALED,  /* see signal (SIGXCPU/SIGXFSZ/SIGKILL mean a limit) */
  MOTE_CHILD_WALL_TIME, /* killed after wall_seconds */
  MOTE_CHILD_STOPPED,   /* killed because limits->stopped said so */
  MOTE_CHILD_SPAWN_FAILED,
} mote_child_outcome;

typedef struct mote_child_result {
  mote_child_outcome outcome;
  int exit_code;
  int signal;
  double wall_ms;
  long max_rss_kb; /* the largest resident size of the child or a process it waited for */
  char stderr_tail[768]; /* the last bytes the child wrote to stderr */
} mote_child_result;

/* Runs argv[0] (searched in PATH) in directory `cwd` with stdin from
 * /dev/null, stdout to /dev/null and stderr captured. */
void mote_child_run(const char *const argv[], const char *cwd, const mote_child_limits *limits,
                    mote_child_result *r);

/* One line naming why a child failed, e.g. "killed: CPU time limit (300 s)". */
void mote_child_describe(const mote_child_result *r, const mote_child_limits *limits, char *out,
                         size_t cap);

/* The limits of a compiler process: the options', or their defaults (300 s
 * of CPU, 600 s of wall time, 1 GiB of memory and of output). */
mote_child_limits mote_compile_limits(const mote_compile_options *o);

/* lazy_worker.c: a lazy batch compiled to an object file by a compiler
 * process. A directory of its own for the object at so_path (in the cache's
 * tmp/; false on failure), removed (empty) by ..._remove. */
bool mote_lazy_worker_dir(const char *so_path, char *dir, size_t cap);
void mote_lazy_worker_dir_remove(const char *dir);
/* Writes header + body (blen bytes) to a file of its own in dir and
 * compiles it with the tier's compiler (-c; the quick tier's for the
 * workers, the opt tier's for the hot tier) under mote_compile_limits'
 * defaults but `seconds` of CPU and wall time, killed when stopped(ctx)
 * says so (NULL: never): true with obj (objcap bytes) the object's path
 * (the caller removes it), false with msg set (why the compiler failed, or
 * was killed). */
bool mote_lazy_worker_compile(const char *dir, mote_tier tier, unsigned seconds,
                              bool (*stopped)(void *ctx), void *ctx, const char *header,
                              const char *body, size_t blen, char *obj, size_t objcap,
                              char *msg, size_t cap);

#endif
