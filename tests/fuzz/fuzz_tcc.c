/*
 * libFuzzer target for what a lazy object hands libtcc inside the process
 * (src/compile/lazy.h): any bytes go in; if they are a module the quick
 * tier would make lazy (valid, ifs nested no deeper than
 * MOTE_LAZY_MAX_IF_NESTING), its functions are translated a batch at a time
 * by the real code (lz_translate, the background's batches: filled up to
 * BATCH_BYTES) and each batch is compiled and relocated by lz_tcc_build,
 * the function the compiler thread calls (libtcc in memory, its lock, the
 * header lazy.c would choose: without the SIMD helpers when the batch names
 * none, else or on failure the full one), on a thread with the compiler
 * thread's 16 MiB stack. The symbols a batch names are bound to stand-ins:
 * the code is never run. A crash, a sanitizer report, a hang or memory
 * blown up is a bug; so is a batch of a valid module that tcc refuses (its
 * message is printed), but for the limit of tcc's value stack.
 *
 * Input: a module (its first byte is 0), or a byte that is not 0 and the
 * body (locals and code) of a function () -> () put in a fixed module with
 * more functions, a table, a memory, a global and a passive data segment:
 * most mutations of a module are not valid, more of a body's are.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "compile/lazy.h"
#include "compile/lazy_internal.h"
#include "compile/xl.h"
#include "module/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* malloc fills whole blocks (ASan's default: the first 4 KiB), so that
 * text read from memory never written runs off its block every time. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "max_malloc_fill_size=1048576"; }

/* What the batches' symbols are bound to (never called). */
static void stand_in(void) {}
/* lazy_hot.c's, which batches link as xl_hot_reached (never called). */
void lz_hot_reached(void *ctx, uint32_t d) {
  (void)ctx;
  (void)d;
}
static const uint8_t stand_in_data[1];
static uint32_t stand_in_type;

/* Printed at exit: how many inputs reached libtcc. */
static unsigned long stat_modules, stat_batches, stat_vstack;
static void print_stats(void) {
  fprintf(stderr, "fuzz_tcc: %lu modules compiled lazily, %lu batches, %lu refused by tcc's value "
          "stack\n", stat_modules, stat_batches, stat_vstack);
}

/* The batches the process would compile for these functions; false (with
 * msg) when one failed. At most `most` batches, so that one input stays
 * quick. */
static bool compile_batches(lazy_state *st, unsigned most, char *msg) {
  const mote_abi_lazy *lz = st->lazy;
  uint32_t root = lz->import_func_count;
  for (unsigned k = 0; k < most; k++) {
    while (root < lz->func_count && lz->slots[root - lz->import_func_count]) root++;
    if (root == lz->func_count) return true;
    lz_batch b;
    void *addr[BATCH_MAX];
    if (!lz_translate(st, root, BATCH_BYTES, &b)) {
      snprintf(msg, MSG_CAP, "translating function %u: %s", root, b.err.message);
      lz_batch_done(st, &b);
      return false;
    }
    code_block *cb = lz_compile_batch(msg, st, &b, addr);
    if (cb) __atomic_add_fetch(&stat_batches, 1, __ATOMIC_RELAXED);
    if (cb)
      for (uint32_t i = 0; i < b.n; i++) lz->slots[b.members[i] - lz->import_func_count] = addr[i];
    lz_batch_done(st, &b);
    if (!cb) return false;
  }
  return true;
}

typedef struct job {
  lazy_state *st;
  char msg[MSG_CAP];
  bool ok;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  j->ok = compile_batches(j->st, 4, j->msg);
  return NULL;
}

static void lazy_compile(mote_module *m, const uint8_t *bytes, size_t size) {
  lazy_state st = {.m = m, .wasm = (uint8_t *)bytes, .len = size};
  if (!xl_module_scan(&st.x, m, bytes, size)) return; /* out of memory */
  const xl_module *x = &st.x;
  uint32_t nf = mote_module_func_count(m), deepest = 0;
  xl_error err = {0};
  /* the quick tier's lazy build (pipeline.c) writes the header and the
   * core, validates every function and sends deep ifs to the eager build */
  static FILE *null;
  if (!null && !(null = fopen("/dev/null", "w"))) abort();
  if (x->nbodies == 0 || !xl_write_header(null, x, true, &err) ||
      !xl_write_lazy_core(null, x, &err) ||
      !xl_validate_functions(x, x->nimports_func, x->nimports_func + x->nbodies, &deepest, &err) ||
      deepest > MOTE_LAZY_MAX_IF_NESTING) {
    xl_module_release(&st.x);
    return;
  }
  size_t nb = (size_t)x->nbodies + 1;
  void **slots = calloc(nb, sizeof *slots);
  wasm_rt_function_ptr_t *funcs = calloc((size_t)nf + 1, sizeof *funcs);
  const uint8_t **datas = calloc((size_t)x->ndata + 1, sizeof *datas);
  uint32_t ntypes = mote_module_type_count(m);
  uint32_t **types = calloc((size_t)ntypes + 1, sizeof *types);
  st.parked = calloc(nb, sizeof *st.parked);
  st.claimed = calloc(nb, 1);
  st.hot = calloc(nb, sizeof *st.hot); /* what XL_HOT counts down, as attached */
  st.x.lazy_bodies = true;
  st.header = slots && funcs && datas && types && st.parked && st.claimed && st.hot
                  ? lz_header_text(&st.x, true)
                  : NULL;
  if (st.header) {
    st.header_scalar = lz_scalar_header(st.header);
    for (uint32_t f = 0; f < nf; f++) funcs[f] = (wasm_rt_function_ptr_t)stand_in;
    for (uint32_t i = 0; i < x->ndata; i++) datas[i] = stand_in_data;
    for (uint32_t t = 0; t < ntypes; t++) types[t] = &stand_in_type;
    mote_abi_lazy lz = {.version = MOTE_ABI_LAZY_VERSION,
                        .func_count = nf,
                        .import_func_count = x->nimports_func,
                        .data_count = x->ndata,
                        .type_count = ntypes,
                        .slots = slots,
                        .funcs = funcs,
                        .data = datas,
                        .types = types,
                        .table_init = (void *)stand_in};
    st.lazy = &lz;
    /* on a thread with the compiler thread's stack (lazy.c) */
    job j = {.st = &st};
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)16 << 20);
    if (pthread_create(&t, &attr, run_job, &j) != 0) abort();
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    /* tcc's value stack holds 256 entries: a call with more arguments (or
     * a block with more results) is a clean compile error, in an eager
     * build too (docs/architecture.md) */
    stat_modules++;
    if (!j.ok && strstr(j.msg, "memory full (vstack)")) stat_vstack++;
    if (!j.ok && !strstr(j.msg, "out of memory") && !strstr(j.msg, "memory full (vstack)")) {
      fprintf(stderr, "fuzz_tcc: a valid module's batch failed: %s\n", j.msg);
      abort();
    }
    while (st.code) {
      code_block *cb = st.code;
      st.code = cb->next;
      munmap(cb->mem, cb->len);
      free(cb);
    }
  }
  free(st.header);
  free(st.header_scalar);
  free(st.parked);
  free(st.claimed);
  free(st.hot);
  free(slots);
  free(funcs);
  free(datas);
  free(types);
  xl_module_release(&st.x);
}

static size_t put_u32(uint8_t *p, uint32_t v) {
  size_t n = 0;
  do {
    p[n] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
    v >>= 7;
    n++;
  } while (v);
  return n;
}

/* The fixed module around a body (size bytes): malloc'd, *len its size. */
static uint8_t *around_body(const uint8_t *body, size_t size, size_t *len) {
  static const uint8_t head[] = {
      0, 'a', 's', 'm', 1, 0, 0, 0,
      /* types: () -> (); (i32 i64 f32 f64) -> i32; i32 -> (i32 i32) */
      1, 18, 3, 0x60, 0, 0, 0x60, 4, 0x7f, 0x7e, 0x7d, 0x7c, 1, 0x7f, 0x60, 1, 0x7f, 2, 0x7f,
      0x7f,
      3, 4, 3, 0, 1, 2,                                  /* functions */
      4, 4, 1, 0x70, 0, 4,                               /* a table of 4 funcrefs */
      5, 3, 1, 0, 1,                                     /* a memory of 1 page */
      6, 6, 1, 0x7f, 1, 0x41, 0, 0x0b,                   /* a mutable i32 global */
      9, 9, 1, 0, 0x41, 0, 0x0b, 3, 0, 1, 2,             /* the table: the functions */
      12, 1, 1,                                          /* data count */
  };
  static const uint8_t others[] = {4, 0, 0x41, 0, 0x0b, 6, 0, 0x20, 0, 0x20, 0, 0x0b};
  static const uint8_t tail[] = {11, 6, 1, 1, 3, 'a', 'b', 'c'}; /* a passive segment */
  uint8_t *m = malloc(sizeof head + 16 + size + sizeof others + sizeof tail);
  if (!m) return NULL;
  size_t n = sizeof head;
  memcpy(m, head, n);
  uint8_t count[5];
  size_t body_len_len = put_u32(count, (uint32_t)size);
  size_t code_len = 1 + body_len_len + size + sizeof others;
  m[n++] = 10;
  n += put_u32(m + n, (uint32_t)code_len);
  m[n++] = 3;
  memcpy(m + n, count, body_len_len);
  n += body_len_len;
  memcpy(m + n, body, size);
  n += size;
  memcpy(m + n, others, sizeof others);
  n += sizeof others;
  memcpy(m + n, tail, sizeof tail);
  *len = n + sizeof tail;
  return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static bool started;
  if (!started) {
    started = true;
    atexit(print_stats);
  }
  /* A private copy, exactly as long as the module, so that any over-read
   * is caught. */
  uint8_t *copy;
  if (size > 0 && data[0] != 0) {
    if (!(copy = around_body(data + 1, size - 1, &size))) return 0;
  } else {
    if (!(copy = malloc(size ? size : 1))) return 0;
    memcpy(copy, data, size);
  }
  mote_module *m = NULL;
  mote_module_error err;
  if (mote_module_read(copy, size, &m, &err) == MOTE_MODULE_OK) {
    lazy_compile(m, copy, size);
    mote_module_free(m);
  }
  free(copy);
  return 0;
}
