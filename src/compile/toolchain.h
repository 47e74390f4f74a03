/* Private to src/compile: which tools a tier runs, with which flags. */
#ifndef MOTE_COMPILE_TOOLCHAIN_H
#define MOTE_COMPILE_TOOLCHAIN_H

#include <stddef.h>

#include "compile.h"
#include "rt/abi.h"

#define MOTE_ABI_VERSION_FOR_KEY MOTE_ABI_VERSION

/* The C compiler of a tier (MOTE_CC / MOTE_QUICK_CC override gcc / tcc). */
const char *mote_tool_cc(mote_tier tier);
/* Fills argv (NULL-terminated, at most cap entries) with the compile command
 * that turns unit.c in the current directory into module.so. */
int mote_tool_cc_argv(mote_tier tier, const char *argv[], int cap);
/* The same for one chunk: src -> obj (-c), in the current directory, with
 * one more flag after the tier's (extra, may be NULL). */
int mote_tool_obj_argv(mote_tier tier, const char *src, const char *obj, const char *extra,
                       const char *argv[], int cap);
/* Links objects (paths) into module.so. cap must exceed nobjs + 6. */
int mote_tool_link_argv(mote_tier tier, const char *const *objs, int nobjs, const char *argv[],
                        int cap);
/* A string that changes whenever the tools, flags or glue change. */
void mote_toolchain_identity(mote_tier tier, char *out, size_t cap);

#endif
