/*
 * libFuzzer target for the module reader and the translator: any bytes go
 * in; a crash, a sanitizer report, a leak or a timeout is a bug. On success
 * every accessor is walked so that the data the reader built is touched (and
 * checked for the invariants consumers rely on), the checker and the
 * translator (src/compile/xl_*.c) give each function the same verdict, and
 * the translator validates and writes the module's C to /dev/null; on
 * failure the error must be complete.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "compile/xl.h"
#include "module/module.h"

/* The generated C's prelude is not what is fuzzed here. */
const char mote_xl_prelude_text[] = "";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every byte of [p, p+n) so that ASan sees a bad pointer. */
static volatile uint8_t sink;
static void touch(const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++) sink ^= b[i];
}

static void touch_functype(const mote_functype *t) {
  if (!t) return;
  touch(t->params, t->param_count);
  touch(t->results, t->result_count);
}

static void walk(const mote_module *m) {
  for (uint32_t i = 0; i < mote_module_type_count(m); i++) {
    const mote_functype *t = mote_module_type(m, i);
    if (!t) abort();
    touch_functype(t);
  }
  for (uint32_t i = 0; i < mote_module_import_count(m); i++) {
    const mote_import *im = mote_module_import(m, i);
    if (!im || im->kind > MOTE_EXTERN_GLOBAL) abort();
    touch(im->module, im->module_len);
    touch(im->name, im->name_len);
  }
  if (mote_module_import(m, mote_module_import_count(m))) abort();
  for (uint32_t i = 0; i < mote_module_export_count(m); i++) {
    const mote_export *ex = mote_module_export(m, i);
    if (!ex || ex->kind > MOTE_EXTERN_GLOBAL) abort();
    touch(ex->name, ex->name_len);
  }
  for (uint32_t i = 0; i <= mote_module_func_count(m); i++) {
    touch_functype(mote_module_func_type(m, i));
    uint32_t len = 0;
    const char *name = mote_module_func_name(m, i, &len);
    if (name) touch(name, len);
  }
  for (uint32_t i = 0; i < mote_module_table_count(m); i++) {
    const mote_tabletype *t = mote_module_table(m, i);
    if (!t || (t->elemtype != MOTE_FUNCREF && t->elemtype != MOTE_EXTERNREF)) abort();
  }
  if (mote_module_memory_count(m) > 1) abort(); /* multi-memory is refused */
  for (uint32_t i = 0; i < mote_module_memory_count(m); i++)
    if (!mote_module_memory(m, i)) abort();
  for (uint32_t i = 0; i < mote_module_global_count(m); i++)
    if (!mote_module_global(m, i)) abort();
  uint32_t start, len = 0;
  (void)mote_module_start(m, &start);
  const char *name = mote_module_name(m, &len);
  if (name) touch(name, len);
  static const char *const customs[] = {"name", "producers", "target_features", ""};
  for (size_t i = 0; i < sizeof customs / sizeof *customs; i++) {
    size_t n = 0;
    const uint8_t *c = mote_module_custom_section(m, customs[i], &n);
    if (c) touch(c, n);
  }
}

static bool never(void *ctx, uint32_t f) {
  (void)ctx;
  (void)f;
  return false;
}

/* The checker (xl_check.c, a lazy object's validation) and the translator
 * agree on every function: valid for one is valid for the other, but for
 * what the translator refuses as past its C budget (a limit) or for want of
 * memory. The checker's deepest nesting of ifs is at least the
 * translator's (which writes a guarded truncation's if as no C block). */
static void check_like_translate(const xl_module *x) {
  for (uint32_t f = x->nimports_func; f < x->nimports_func + x->nbodies; f++) {
    xl_error ce = {0}, te = {0};
    uint32_t cd = 0, td = 0;
    uint64_t estimate;
    bool c = xl_check_function(x, f, &cd, &estimate, &ce);
    bool t = xl_func_write_nested(NULL, x, f, NULL, &td, &te);
    if (!t && (te.limit || te.io)) continue;
    if (c != t || (c && cd < td)) abort();
    if (!c && (!ce.failed || !memchr(ce.message, '\0', sizeof ce.message) || !ce.message[0]))
      abort();
  }
}

static void translate(const mote_module *m, const uint8_t *bytes, size_t size) {
  static FILE *null;
  if (!null && !(null = fopen("/dev/null", "w"))) abort();
  xl_module x;
  xl_error err = {0};
  if (xl_module_scan(&x, m, bytes, size)) {
    xl_error herr = {0};
    /* per function, once the module's own declarations are valid (the
     * header's validation), as the pipelines do */
    if (xl_write_header(null, &x, false, &herr)) check_like_translate(&x);
    x.fast_loops = true; /* the loops' planner (xl_loop.c) too */
    bool ok = xl_module_write(null, &x, &err);
    if (!ok && (!err.failed || !memchr(err.message, '\0', sizeof err.message) || !err.message[0]))
      abort();
    /* a lazy object's core and the batch of its first function (xl_lazy.c) */
    if (ok) {
      xl_error lerr = {0};
      if (!xl_write_lazy_core(null, &x, &lerr)) abort();
      if (x.nbodies) {
        uint32_t nf = mote_module_func_count(m), members[8], n = 0, ncalled = 0;
        xl_refs refs = {calloc((size_t)nf + 1, 1), calloc((size_t)x.ndata + 1, 1),
                        calloc((size_t)nf + 1, sizeof(uint32_t)), 0,
                        calloc((size_t)nf + 1, sizeof(uint32_t)), 0};
        x.lazy_bodies = true;
        if (refs.funcs && refs.data && refs.called && refs.named &&
            !xl_write_batch(null, &x, x.nimports_func, 4096, 4096, 8, never, NULL, members, &n,
                            &ncalled, &refs, &lerr))
          abort();
        if (refs.funcs && refs.data && refs.called && refs.named &&
            (n < 1 || members[0] != x.nimports_func || ncalled < 1 || ncalled > n))
          abort();
        free(refs.funcs);
        free(refs.data);
        free(refs.called);
        free(refs.named);
      }
    }
  }
  xl_module_release(&x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* A private copy, exactly `size` long, so that any over-read is caught. */
  uint8_t *copy = malloc(size ? size : 1);
  if (!copy) return 0;
  memcpy(copy, data, size);
  mote_module *m = NULL;
  mote_module_error err;
  memset(&err, 0xaa, sizeof err);
  /* the quick tier's lazy/eager choice reads the section headers first */
  size_t largest, declared;
  if (xl_code_section_size(copy, size, &largest, &declared) > size || largest > size ||
      declared > size) abort();
  mote_module_status st = mote_module_read(copy, size, &m, &err);
  if (st == MOTE_MODULE_OK) {
    if (!m) abort();
    walk(m);
    translate(m, copy, size);
    mote_module_free(m);
  } else {
    if (m || err.status != st || st > MOTE_MODULE_INVALID) abort();
    if (!memchr(err.message, '\0', sizeof err.message) || !err.message[0]) abort();
    if (err.offset > size) abort();
  }
  free(copy);
  return 0;
}
