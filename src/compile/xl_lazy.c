/*
 * The translator's side of lazy objects (docs/architecture.md, "The first
 * answer"): the core with one stub per defined function, and the batches
 * that src/compile/lazy.c compiles in process when a stub is first called.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "xl.h"

/* The stub of defined function f (slot d): a jump through its slot, or,
 * while the slot is empty, to xl_lazy_slow with f in eax. In assembly, not
 * C: tcc makes no tail calls, so a C stub was a second frame on every call
 * that copied the arguments again (9% of Yosys's guest time under perf);
 * this one is a load, a test and a jump, whatever the signature, and the
 * callee finds the caller's argument registers and stack as they were (rax
 * is used; r10 and r11 too on the slow way). */
static void write_stub(FILE *o, uint32_t f, uint32_t d) {
  xl_printf(o,
            "__asm__(\".text\\n.type w%u, @function\\nw%u:\\n"
            " movq xl_slot+%u(%%rip), %%rax\\n testq %%rax, %%rax\\n jz 1f\\n jmp *%%rax\\n"
            "1: movl $%u, %%eax\\n jmp xl_lazy_slow\\n\");\n",
            f, f, d * 8, f);
}

/* The stubs' way when a slot is empty: keeps every argument register (the
 * six integer ones and xmm0-7, the float arguments), calls
 * mote_lazy_ready(descriptor, f) with the stack aligned as the ABI wants,
 * and jumps to what it answers. A function's arguments on the stack are
 * left where the caller put them. Both are reached through pointers the
 * dynamic linker fills, so the assembly needs no relocation against a
 * symbol outside the object. */
static const char slow_path[] =
    "#if defined(__GNUC__)\n#define XL_USED __attribute__((used))\n#else\n#define XL_USED\n#endif\n"
    "static void *(*const XL_USED xl_lazy_ready)(const mote_abi_lazy *, u32) = mote_lazy_ready;\n"
    "static const mote_abi_lazy *const XL_USED xl_lazy_self = &MOTE_ABI_LAZY_ID;\n"
    "__asm__(\".text\\nxl_lazy_slow:\\n pushq %rbp\\n movq %rsp, %rbp\\n"
    " pushq %rdi\\n pushq %rsi\\n pushq %rdx\\n pushq %rcx\\n pushq %r8\\n pushq %r9\\n"
    " subq $128, %rsp\\n"
    " movups %xmm0, 0(%rsp)\\n movups %xmm1, 16(%rsp)\\n movups %xmm2, 32(%rsp)\\n"
    " movups %xmm3, 48(%rsp)\\n movups %xmm4, 64(%rsp)\\n movups %xmm5, 80(%rsp)\\n"
    " movups %xmm6, 96(%rsp)\\n movups %xmm7, 112(%rsp)\\n"
    " movl %eax, %esi\\n movq xl_lazy_self(%rip), %rdi\\n call *xl_lazy_ready(%rip)\\n"
    " movups 0(%rsp), %xmm0\\n movups 16(%rsp), %xmm1\\n movups 32(%rsp), %xmm2\\n"
    " movups 48(%rsp), %xmm3\\n movups 64(%rsp), %xmm4\\n movups 80(%rsp), %xmm5\\n"
    " movups 96(%rsp), %xmm6\\n movups 112(%rsp), %xmm7\\n"
    " addq $128, %rsp\\n"
    " popq %r9\\n popq %r8\\n popq %rcx\\n popq %rdx\\n popq %rsi\\n popq %rdi\\n"
    " popq %rbp\\n jmp *%rax\\n\");\n";

bool xl_write_lazy_core(FILE *o, const xl_module *x, xl_error *err) {
  const mote_module *m = x->m;
  /* The stubs are local symbols, declared static: no dynamic symbol for
   * each. The first version's were .globl and .hidden, and tcc made every
   * call of one from the core's C (the exports' trampolines) a relocation
   * of .text at each load (DT_TEXTREL, found by a review). */
  if (!xl_write_core(o, x, true, true, err)) return false;
  uint32_t nf = mote_module_func_count(m), nt = mote_module_type_count(m);
  fputs_unlocked("\n/* lazy: the slot table, the descriptor, the stubs */\n"
                 "extern void *mote_lazy_ready(const mote_abi_lazy *lazy, u32 func);\n",
                 o);
  xl_printf(o, "static void *volatile xl_slot[%u];\nstatic void *xl_lazy_state;\n",
            x->nbodies + 1);
  xl_printf(o, "static const wasm_rt_function_ptr_t xl_lazy_funcs[%u] = {\n", nf + 1);
  for (uint32_t f = 0; f < nf; f++) xl_printf(o, "(wasm_rt_function_ptr_t)&w%u,\n", f);
  xl_printf(o, "0};\nstatic u32 *const xl_lazy_types[%u] = {", nt + 1);
  for (uint32_t t = 0; t < nt; t++) xl_printf(o, "&xl_ft%u, ", t);
  xl_printf(o,
            "0};\n#define MOTE_ABI_LAZY_ID mote_abi_lazy_v1\n"
            "MOTE_EXPORT const mote_abi_lazy MOTE_ABI_LAZY_ID = {\n"
            "  MOTE_ABI_LAZY_VERSION, %u, %u, %u, %u, (void *volatile *)xl_slot, &xl_lazy_state,\n"
            "  xl_lazy_funcs, xl_lazy_data, xl_lazy_types, (void *)xl_table_init,\n};\n",
            nf, x->nimports_func, x->ndata, nt);
  fputs_unlocked(slow_path, o);
  for (uint32_t d = 0; d < x->nbodies; d++) write_stub(o, x->nimports_func + d, d);
  if (!ferror(o)) return true;
  err->failed = err->io = true;
  snprintf(err->message, sizeof err->message, "cannot write the translated C: %s",
           strerror(errno));
  return false;
}

static int by_index(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* A batch's text after mod.h's: the declarations of what the bodies (len
 * bytes of C, translated if ok) name, then the bodies; ok unless it or the
 * writing failed (err set then). */
static bool write_batch_text(FILE *o, const xl_module *x, xl_refs *refs, const char *body,
                             size_t len, bool ok, xl_error *err) {
  if (ok) {
    /* in index order, as the module declares them */
    qsort(refs->named, refs->nnamed, sizeof *refs->named, by_index);
    for (uint32_t k = 0; k < refs->nnamed; k++) {
      uint32_t f = refs->named[k];
      xl_write_prototype(o, x->m, f);
      fputs_unlocked(";\n", o);
      if (refs->funcs[f] & 2) xl_write_fref_helper(o, x, f);
    }
    for (uint32_t i = 0; i < x->ndata; i++)
      if (refs->data[i]) xl_printf(o, "XL_SHARED const u8 xl_d%u[];\n", i);
    fwrite(body, 1, len, o);
    ok = !ferror(o);
  }
  if (!ok && !err->failed) {
    err->failed = true;
    err->io = true;
    snprintf(err->message, sizeof err->message, "out of memory translating a lazy batch");
  }
  return ok;
}

bool xl_write_batch(FILE *o, const xl_module *x, uint32_t root, size_t budget, size_t fill,
                    uint32_t max, bool (*skip)(void *ctx, uint32_t f), void *ctx,
                    uint32_t *members, uint32_t *nmembers, uint32_t *ncalled,
                    xl_refs *refs, xl_error *err) {
  const mote_module *m = x->m;
  uint32_t nf = mote_module_func_count(m);
  uint8_t *queued = calloc((size_t)nf + 1, 1);
  char *body = NULL;
  size_t len = 0;
  FILE *b = queued ? open_memstream(&body, &len) : NULL;
  bool ok = b != NULL && refs->called != NULL && refs->named != NULL;
  uint32_t n = 0, next = root + 1, filled = UINT32_MAX;
  size_t bytes = 0;
  if (ok) {
    members[n++] = root;
    queued[root] = 1;
    bytes += x->body_end[root - x->nimports_func] - x->body_start[root - x->nimports_func];
  }
  /* breadth first: translate the next member, then queue its callees; when
   * they are all in, the functions that follow in the index space up to
   * `fill` bytes, without their callees (a source file's functions sit
   * together and an interpreter's start-up runs many of them through
   * tables; their callees were most of what a C++ start-up compiled and
   * never ran: docs/architecture.md, "The first answer") */
  for (uint32_t i = 0; ok && i < n; i++) {
    uint32_t f = members[i];
    uint32_t from = refs->ncalled;
    ok = xl_func_write(b, x, f, refs, err);
    for (uint32_t k = from; ok && i < filled && k < refs->ncalled && n < max && bytes < budget;
         k++) {
      uint32_t g = refs->called[k];
      if (g < x->nimports_func || queued[g] || skip(ctx, g)) continue;
      queued[g] = 1;
      members[n++] = g;
      bytes += x->body_end[g - x->nimports_func] - x->body_start[g - x->nimports_func];
    }
    if (ok && i + 1 == n && filled == UINT32_MAX) filled = n;
    for (; ok && i + 1 == n && next < nf && n < max && bytes < fill; next++) {
      if (queued[next] || skip(ctx, next)) continue;
      queued[next] = 1;
      members[n++] = next;
      bytes += x->body_end[next - x->nimports_func] - x->body_start[next - x->nimports_func];
    }
  }
  if (b && fclose(b) != 0) ok = false;
  ok = write_batch_text(o, x, refs, body, len, ok, err);
  *nmembers = n;
  *ncalled = ok ? (filled < n ? filled : n) : 0;
  free(body);
  free(queued);
  return ok;
}

bool xl_write_functions(FILE *o, const xl_module *x, const uint32_t *members, uint32_t n,
                        xl_refs *refs, xl_error *err) {
  char *body = NULL;
  size_t len = 0;
  FILE *b = refs->named ? open_memstream(&body, &len) : NULL;
  bool ok = b != NULL;
  for (uint32_t i = 0; ok && i < n; i++) ok = xl_func_write(b, x, members[i], refs, err);
  if (b && fclose(b) != 0) ok = false;
  ok = write_batch_text(o, x, refs, body, len, ok, err);
  free(body);
  return ok;
}

bool xl_validate_functions(const xl_module *x, uint32_t first, uint32_t end,
                           uint32_t *deepest_if, xl_error *err) {
  /* translated as a batch translates them (XL_HOT's text included), so
   * that a function within its C budget here is within it at run time */
  xl_module lazy = *x;
  lazy.lazy_bodies = true;
  *deepest_if = 0;
  bool ok = true;
  for (uint32_t f = first; ok && f < end; f++) {
    uint32_t d = 0, i = f - x->nimports_func;
    uint64_t estimate = 0, budget = xl_c_budget(x->body_end[i] - x->body_start[i]);
    ok = xl_check_function(x, f, &d, &estimate, err);
    if (ok && estimate > budget / 2)
      ok = xl_func_write_nested(NULL, &lazy, f, NULL, &d, err); /* measured, and counted */
    else if (ok)
      ok = xl_c_charge(x, estimate, err);
    if (d > *deepest_if) *deepest_if = d;
  }
  return ok;
}

static bool leb(const uint8_t *b, size_t len, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (*pos >= len) return false;
    uint8_t c = b[(*pos)++];
    v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

size_t xl_code_section_size(const uint8_t *b, size_t len, size_t *largest, size_t *declared) {
  *largest = 0;
  *declared = 0;
  if (len < 8 || memcmp(b, "\0asm", 4) != 0) return 0;
  size_t pos = 8;
  while (pos < len) {
    uint8_t id = b[pos++];
    uint64_t size;
    if (!leb(b, len, &pos, &size) || size > len - pos) return 0;
    if (id == 1 || id == 6) *declared += (size_t)size; /* types, globals: before code */
    if (id == 10) {
      /* the bodies' sizes, as far as they are well formed */
      size_t end = pos + (size_t)size, at = pos;
      uint64_t count, body = 0;
      for (bool ok = leb(b, end, &at, &count); ok && count--; at += (size_t)body) {
        if (!leb(b, end, &at, &body) || body > end - at) break;
        if (body > *largest) *largest = (size_t)body;
      }
      return (size_t)size;
    }
    pos += (size_t)size;
  }
  return 0;
}
