/* Private to src/compile: building a module from chunks (chunks.c). */
#ifndef MOTE_COMPILE_CHUNKS_H
#define MOTE_COMPILE_CHUNKS_H

#include "compile.h"
#include "compile_internal.h"
#include "xl.h"

typedef struct chunk_build {
  const xl_module *x;
  const uint32_t *ends; /* xl_plan_chunks' boundaries */
  uint32_t nchunks;
  const char *work;      /* the work directory; module.so is left there */
  const char *cache_dir; /* objects go to cache_dir/obj */
  mote_tier tier;
  mote_child_limits limits; /* each compiler and the linker */
} chunk_build;

/* Writes the parts, compiles those not in the object cache in parallel and
 * links them into work/module.so. Adds to out->translate_ms and sets cc_ms
 * (the parallel phase), link_ms, chunks (parts: core + chunks),
 * chunks_built and peak_rss_kb. MOTE_COMPILE_TOOL_FAILED: a compiler or the
 * linker failed, *failure says how; other failures fill err. */
mote_compile_status mote_build_chunks(const chunk_build *cb, mote_compile_result *out,
                                      mote_child_result *failure, mote_compile_error *err);

#endif
