/* Private to src/compile: which tools a tier runs, with which flags. */
#ifndef MOTE_COMPILE_TOOLCHAIN_H
#define MOTE_COMPILE_TOOLCHAIN_H

#include <stddef.h>

#include "compile.h"
#include "rt/abi.h"

#define MOTE_ABI_VERSION_FOR_KEY MOTE_ABI_VERSION

/* The C compiler of a tier (MOTE_CC / MOTE_QUICK_CC override gcc / tcc). */
const char *mote_tool_cc(mote_tier tier);
/* The opt tier's instruction-set flag for this host, or NULL for the
 * architecture's baseline (x86-64: SSE2). On x86-64 hosts that have
 * x86-64-v2 (SSE3 to SSE4.2, POPCNT; every x86-64 CPU since 2009) it is
 * "-march=x86-64-v2": floor, ceil, trunc and nearest become one instruction
 * instead of a libm call, and SIMD gets SSSE3/SSE4.1's shuffles, blends,
 * widenings and min/max (the kernels: resize 1.23x -> 1.15x native, its SIMD
 * build 1.65x -> 1.35x; the rest unchanged). x86-64-v3 (AVX2) was measured
 * and not taken: no kernel faster, interp 1.01x -> 1.11x. The flag is part
 * of the toolchain's identity, so a cache never hands code built for one
 * level to a host of another. MOTE_ISA=baseline forces the baseline. */
const char *mote_tool_isa(void);
/* Fills argv (NULL-terminated, at most cap entries) with the compile command
 * that turns unit.c in the current directory, and data_object's file there
 * (NULL: none), into module.so. */
int mote_tool_cc_argv(mote_tier tier, const char *data_object, const char *argv[], int cap);
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
