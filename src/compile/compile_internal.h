/* Private to src/compile: the pieces mote_compile() is made of. */
#ifndef MOTE_COMPILE_INTERNAL_H
#define MOTE_COMPILE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "module/module.h"

/* wasm2c's symbol mangling (1.0.32): bytes [A-Za-z0-9_] other than 'Z' stay,
 * every other byte becomes 'Z' and two upper-case hex digits. */
void mote_mangle(FILE *out, const char *name, uint32_t len);

/* The names wasm2c sees: the module's own (wasm2c -n) and, after
 * mote_rewrite(), the one import module; import k is named "<k>" in it. */
#define MOTE_SELF_NAME "mote"
#define MOTE_IMPORT_MODULE "imports"

/* The binary given to wasm2c (see rewrite.c): `wasm` (the `len` bytes `m` was
 * read from) with every import renamed and the element items wasm2c 1.0.32
 * refuses lowered into a start function. 0 and *out (from malloc(), the
 * caller frees it) of *out_len bytes, or -1 when out of memory. */
int mote_rewrite(const mote_module *m, const uint8_t *wasm, size_t len, uint8_t **out,
                 size_t *out_len);

/* Writes the glue C file for module `m`, rewritten by mote_rewrite() and
 * translated by wasm2c with `-n MOTE_SELF_NAME` into "module.h": import
 * trampolines, export entry points and the mote_abi_module descriptor
 * (src/rt/abi.h), whose imports keep their original names. Returns 0, or -1
 * on a write error. */
int mote_glue_write(FILE *out, const mote_module *m);

/* The text of src/rt/abi.h, embedded at build time. */
extern const char mote_abi_header_text[];

/* Running a tool as a child process under limits. */
typedef struct mote_child_limits {
  unsigned cpu_seconds;
  unsigned wall_seconds;
  size_t memory_bytes;
  size_t output_bytes;
} mote_child_limits;

typedef enum mote_child_outcome {
  MOTE_CHILD_EXITED,    /* see exit_code */
  MOTE_CHILD_SIGNALED,  /* see signal (SIGXCPU/SIGXFSZ/SIGKILL mean a limit) */
  MOTE_CHILD_WALL_TIME, /* killed after wall_seconds */
  MOTE_CHILD_SPAWN_FAILED,
} mote_child_outcome;

typedef struct mote_child_result {
  mote_child_outcome outcome;
  int exit_code;
  int signal;
  double wall_ms;
  char stderr_tail[768]; /* the last bytes the child wrote to stderr */
} mote_child_result;

/* Runs argv[0] (searched in PATH) in directory `cwd` with stdin from
 * /dev/null, stdout to /dev/null and stderr captured. */
void mote_child_run(const char *const argv[], const char *cwd, const mote_child_limits *limits,
                    mote_child_result *r);

/* One line naming why a child failed, e.g. "killed: CPU time limit (300 s)". */
void mote_child_describe(const mote_child_result *r, const mote_child_limits *limits, char *out,
                         size_t cap);

/* For tcc: rewrites wasm2c's float negations in the C file at `path` into
 * sign-bit flips (see fixup.c). 0, or -1 on an I/O error. */
int mote_fixup_float_negation(const char *path);

#endif
