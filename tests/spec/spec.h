/*
 * The spec-suite runner: executes the JSON scripts that wast2json made of
 * the WebAssembly spec tests against mote's compile pipeline and runtime.
 */
#ifndef MOTE_SPEC_H
#define MOTE_SPEC_H

#include <jansson.h>
#include <stdbool.h>

#include "compile/compile.h"
#include "rt/rt.h"

typedef struct spec_counts {
  int passed, failed, skipped;
} spec_counts;

typedef struct spec_options {
  mote_compile_options compile;
  bool verbose;
} spec_options;

/* Runs one script (dir/<name>.json); prints failures to stderr. */
spec_counts spec_run_script(const char *dir, const char *json_path, const spec_options *opts);

/* The "spectest" host module: the extern for `name`, or false. */
bool spectest_lookup(const char *name, mote_rt_extern *out);
void spectest_init(void);

/* The code (MOTE_ABI_I32...) of a type name ("i32"), or 0. */
uint8_t spec_type_code(const char *name);

/* Values of the JSON scripts: {"type": "i32", "value": "42"}. */
bool spec_parse_value(json_t *v, uint8_t *type, mote_val *out);
/* Does `got` (of type `type`) satisfy the expectation `expected`? */
bool spec_value_matches(json_t *expected, uint8_t type, mote_val got);
void spec_format_value(uint8_t type, mote_val v, char *out, size_t cap);

#endif
