/*
 * The benchmark programs' way to a loaded module (bench_module.c): a .wasm
 * file compiled (or found in the cache) and loaded.
 */
#ifndef MOTE_BENCH_MODULE_H
#define MOTE_BENCH_MODULE_H

#include "compile/compile.h"
#include "rt/rt.h"

/* The module of the .wasm at `path`, or NULL with a line on stderr that
 * starts with `prog`. Free it with mote_rt_module_free. */
mote_rt_module *bench_load_module(const char *prog, const char *path,
                                  const mote_compile_options *opts);

#endif
