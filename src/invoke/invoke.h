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
 * Every run is a fresh instance: instantiated, or made from a snapshot that
 * mote_invoke_prepare took once (the fast path: no segments, no start
 * function, no initialiser per run; a pooled memory slot with the image
 * copied in).
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
  MOTE_INVOKE_INIT,       /* mote_invoke_prepare: the initialisation cannot be snapshotted */
  MOTE_INVOKE_CANCELLED,  /* another thread stopped it (cfg->cancel): message "cancelled: ..." */
} mote_invoke_outcome;

/* The export a module may provide to initialise itself once (load a model,
 * build an index): a () -> () function run after instantiation and before
 * any _start. With a snapshot it runs once in mote_invoke_prepare; without
 * one, in every run. */
#define MOTE_INVOKE_INIT_EXPORT "mote_init"

typedef struct mote_invoke_config {
  mote_rt_module *module;  /* borrowed: must outlive the run */
  /* borrowed; when set, the run's instance is made from it (its module is
   * the one run, `module` is ignored) and MOTE_INVOKE_INIT_EXPORT is not
   * called again: see mote_invoke_prepare. */
  const mote_rt_snapshot *snapshot;
  mote_wasi_config wasi;   /* copied by the run, but for stdin's buffer, which the run
                            * reads in place (see wasi.h) */
  uint32_t memory_pages;   /* cap on each memory, 64 KiB pages; 0: the module's own */
  uint64_t timeout_ms;     /* wall-clock limit on instantiation + _start; 0: none */
  /* borrowed, may be NULL: bound to the running thread for the run, so that
   * another thread may stop it (mote_rt_cancel_request: the outcome is then
   * MOTE_INVOKE_CANCELLED). Only a timed run (timeout_ms) can be stopped. */
  mote_rt_cancel *cancel;
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

/* Prepares cfg->module for many runs: instantiates it once under cfg (data
 * and element segments, start function), calls MOTE_INVOKE_INIT_EXPORT if
 * the module exports it, and snapshots the instance (rt.h) for runs to start
 * from (cfg->snapshot), so that per-run cost does not grow with the work
 * done at start-up. Returns MOTE_INVOKE_EXITED (exit_code 0) on success,
 * with *out the snapshot (the caller frees it), or NULL when the module
 * cannot be snapshotted (r->message says why; runs then instantiate and
 * initialise every time). Anything else is a failed initialisation: a trap,
 * a timeout, proc_exit, or MOTE_INVOKE_INIT when it left files open. The
 * result's stdout/stderr are what the initialisation printed. */
mote_invoke_outcome mote_invoke_prepare(const mote_invoke_config *cfg, mote_rt_snapshot **out,
                                        mote_invoke_result *r);

/* Runs the module once. Returns r->outcome; *r is always filled and must be
 * cleared with mote_invoke_result_clear. */
mote_invoke_outcome mote_invoke_run(const mote_invoke_config *cfg, mote_invoke_result *r);
void mote_invoke_result_clear(mote_invoke_result *r);

/* Checks, without running anything, that every import of `m` is a WASI
 * function mote provides. False with a message ("the module imports ...")
 * in msg otherwise. For deploy-time refusal. */
bool mote_invoke_check_imports(mote_rt_module *m, char *msg, size_t cap);

/* The name of an outcome: "exit", "trap", "timeout", "limit", "link", "host", "init". */
const char *mote_invoke_outcome_name(mote_invoke_outcome o);

#endif /* MOTE_INVOKE_H */
