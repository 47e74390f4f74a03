/*
 * invoke: one run of a WASI command module, start to outcome.
 *
 * The invoker of the design (DESIGN.md, "the path of one request"): given a
 * loaded module and a WASI configuration it resolves the module's imports
 * against WASI, instantiates under the instance limits and a wall-clock
 * deadline, binds the exported memory, calls `_start`, and classifies what
 * happened into one outcome with one line for a user. `mote run` and the
 * server both run functions through it.
 *
 *   mote_invoke_config cfg = {.module = m, .wasi = {...}, .timeout_ms = 200};
 *   mote_invoke_result r;
 *   mote_invoke_run(&cfg, &r);      // r.outcome, r.exit_code, r.message, timings
 *   ... r.stdout_data / r.stderr_data when the config captured them ...
 *   mote_invoke_result_clear(&r);
 *
 * Every run is a fresh instance (mote_rt_instantiate). A faster path (a pool
 * of instance slots reset from a snapshot) will come in behind this same
 * call: callers do not see how the instance was made.
 *
 * Threads: runs use the calling thread's deadline (rt.h): a thread runs one
 * invocation at a time, any number of threads may run at once.
 */
#ifndef MOTE_INVOKE_H
#define MOTE_INVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/rt.h"
#include "wasi/wasi.h"

typedef enum mote_invoke_outcome {
  MOTE_INVOKE_EXITED = 0, /* _start returned (exit 0) or proc_exit: see exit_code */
  MOTE_INVOKE_TRAP,       /* the guest trapped: see trap, message "trap: ..." */
  MOTE_INVOKE_TIMEOUT,    /* the deadline passed: message "timeout: ..." */
  MOTE_INVOKE_LIMIT,      /* an output cap or the memory/table cap: message says which */
  MOTE_INVOKE_LINK,       /* an import cannot be satisfied: message names it */
  MOTE_INVOKE_HOST,       /* the host could not set the run up (preopen, memory, timer) */
} mote_invoke_outcome;

typedef struct mote_invoke_config {
  mote_rt_module *module;  /* borrowed: must outlive the run */
  mote_wasi_config wasi;   /* copied by the run (see wasi.h) */
  uint32_t memory_pages;   /* cap on each memory, 64 KiB pages; 0: the module's own */
  uint64_t timeout_ms;     /* wall-clock limit on instantiation + _start; 0: none */
} mote_invoke_config;

typedef struct mote_invoke_result {
  mote_invoke_outcome outcome;
  int exit_code;           /* EXITED: the code; otherwise -1 */
  mote_trap_kind trap;     /* TRAP, TIMEOUT, LIMIT: the runtime's trap kind */
  char message[320];       /* "" when EXITED; else one line for a user */
  uint64_t init_us;        /* context + instantiation (segments, start function) */
  uint64_t exec_us;        /* _start */
  /* Captured stdout/stderr (MOTE_WASI_STDIO_BUFFER in the config): from
   * malloc(), owned by the result; NULL with length 0 otherwise. */
  uint8_t *stdout_data;
  size_t stdout_len;
  uint8_t *stderr_data;
  size_t stderr_len;
} mote_invoke_result;

/* Runs the module once. Returns r->outcome; *r is always filled and must be
 * cleared with mote_invoke_result_clear. */
mote_invoke_outcome mote_invoke_run(const mote_invoke_config *cfg, mote_invoke_result *r);
void mote_invoke_result_clear(mote_invoke_result *r);

/* Checks, without running anything, that every import of `m` is a WASI
 * function mote provides. False with a message ("the module imports ...")
 * in msg otherwise. For deploy-time refusal. */
bool mote_invoke_check_imports(mote_rt_module *m, char *msg, size_t cap);

/* The name of an outcome: "exit", "trap", "timeout", "limit", "link", "host". */
const char *mote_invoke_outcome_name(mote_invoke_outcome o);

#endif /* MOTE_INVOKE_H */
