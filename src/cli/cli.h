/* The verbs of the mote command, and the exit statuses they share. */
#ifndef MOTE_CLI_H
#define MOTE_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "compile/compile.h"

/* Exit statuses of `mote run` when the module itself did not choose one
 * (documented in `mote run --help`). */
enum {
  MOTE_EXIT_USAGE = 64,     /* bad command line */
  MOTE_EXIT_MODULE = 65,    /* the module is malformed, invalid or unsupported */
  MOTE_EXIT_COMPILE = 66,   /* the compile pipeline failed (tool, limit, cache) */
  MOTE_EXIT_LINK = 67,      /* an import cannot be satisfied */
  MOTE_EXIT_TRAP = 68,      /* the module trapped */
  MOTE_EXIT_TIMEOUT = 69,   /* the deadline passed (--timeout) */
  MOTE_EXIT_LIMIT = 70,     /* a limit of the run was exceeded (output cap, memory) */
  MOTE_EXIT_IO = 74,        /* the file could not be read */
};

/* Exit statuses of the client verbs (deploy, invoke, ls, rm, logs,
 * activations), beside the ones above where they mean the same: a module
 * the server finds malformed is MOTE_EXIT_MODULE, a call that trapped is
 * MOTE_EXIT_TRAP, and so on (documented in `mote invoke --help`). */
enum {
  MOTE_EXIT_NOT_FOUND = 71,   /* no such function or activation on the server */
  MOTE_EXIT_REFUSED = 72,     /* the server refused the request (a bad setting, too large, busy) */
  MOTE_EXIT_REMOTE = 73,      /* the server failed, or its reply made no sense */
  MOTE_EXIT_UNREACHABLE = 75, /* the server cannot be reached */
  MOTE_EXIT_AUTH = 77,        /* no valid API key (401), or a {ns} not the key's (403) */
};

/* `mote run` passes stdout through to a terminal, pipe or file: its default
 * cap is larger than the server's captured one, yet still stops a flood. */
#define MOTE_RUN_DEFAULT_OUTPUT_CAP (64u << 20)

int mote_cmd_run(int argc, char **argv);
int mote_cmd_compile(int argc, char **argv);
int mote_cmd_serve(int argc, char **argv);
int mote_cmd_deploy(int argc, char **argv);
int mote_cmd_invoke(int argc, char **argv);
int mote_cmd_ls(int argc, char **argv);
int mote_cmd_rm(int argc, char **argv);
int mote_cmd_logs(int argc, char **argv);
int mote_cmd_activations(int argc, char **argv);
int mote_cmd_keys(int argc, char **argv);
int mote_cmd_namespaces(int argc, char **argv);
int mote_cmd_usage(int argc, char **argv);
int mote_cmd_cluster(int argc, char **argv);

/* The data directory of `mote serve` and of the verbs that work on it
 * directly (keys, namespaces) when --data is not given. */
#define MOTE_DEFAULT_DATA_DIR "mote-data"

/* The compile cache of the CLI: $MOTE_CACHE, else $XDG_CACHE_HOME/mote,
 * else ~/.cache/mote. */
const char *mote_cli_cache_dir(void);
/* Compiles (or finds in the cache) with a progress line on a terminal.
 * Prints "mote: ..." and returns the exit status on failure, else 0. */
int mote_cli_compile(const char *path, const uint8_t *wasm, size_t len, mote_tier tier,
                     mote_compile_result *res);

/* The default of `mote run`: the optimised object if it is cached, else the
 * quick tier (compiled now, or found in the cache), else (a module tcc cannot
 * compile) the optimised tier. It never starts work that outlives the
 * process: `mote compile` builds the optimised tier. */
int mote_cli_compile_auto(const char *path, const uint8_t *wasm, size_t len,
                          mote_compile_result *res);

#endif
