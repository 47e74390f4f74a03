/*
 * A lazy batch's C and its compile (lazy_internal.h): the header every
 * batch is compiled after (mod.h's text with abi.h's and wasm-rt.h's, libc's
 * few declarations, with or without the SIMD helpers), which functions a
 * batch may take (claims), and libtcc compiling C or linking a worker's
 * object into memory against the lazy object's core.
 */
#include <ctype.h>
#include <errno.h>
#include <libtcc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "compile/compile_internal.h"
#include "compile/lazy.h"
#include "compile/lazy_internal.h"
#include "compile/xl.h"

/* libtcc keeps its state in globals: every compile and link holds this */
static pthread_mutex_t tcc_lock = PTHREAD_MUTEX_INITIALIZER;

/* Replaces the first `what` in *text (of *len bytes) with `with`; false
 * when it is missing or memory ran out (*text is then unchanged). */
static bool replace_first(char **text, size_t *len, const char *what, const char *with) {
  char *at = strstr(*text, what);
  if (!at) return false;
  size_t pre = (size_t)(at - *text), wl = strlen(what), nl = strlen(with);
  char *out = malloc(*len - wl + nl + 1);
  if (!out) return false;
  memcpy(out, *text, pre);
  memcpy(out + pre, with, nl);
  memcpy(out + pre + nl, at + wl, *len - pre - wl + 1);
  free(*text);
  *text = out;
  *len = *len - wl + nl;
  return true;
}

/* wasm-rt.h's text without its #include lines (xl_lazy_libc.h declares
 * what it uses), or NULL (no memory). */
static char *wasm_rt_text(void) {
  const char *in = mote_wasm_rt_header_text;
  char *out = malloc(strlen(in) + 1), *o = out;
  if (!out) return NULL;
  while (*in) {
    const char *eol = strchr(in, '\n');
    size_t n = eol ? (size_t)(eol - in) + 1 : strlen(in);
    if (strncmp(in, "#include <", 10) != 0) {
      memcpy(o, in, n);
      o += n;
    }
    in += n;
  }
  *o = 0;
  return out;
}

/* mod.h as the translator writes it (libtcc compiles from memory), with
 * abi.h's and wasm-rt.h's text where they are included, and xl_lazy_libc.h's
 * few declarations instead of the C library's headers: no file is read;
 * then XL_HOT's definition. */
char *lz_header_text(const xl_module *x, bool counting) {
  char *h = NULL, *rt = wasm_rt_text();
  size_t hl = 0;
  xl_error xerr = {0};
  FILE *f = rt ? open_memstream(&h, &hl) : NULL;
  if (!f) {
    free(rt);
    return NULL;
  }
  bool ok = xl_write_header(f, x, true, &xerr);
  if (fclose(f) != 0 || !ok ||
      !replace_first(&h, &hl, "#include \"abi.h\"\n", mote_abi_header_text) ||
      !replace_first(&h, &hl, "#include <math.h>\n", mote_xl_lazy_libc_text) ||
      !replace_first(&h, &hl, "#include <string.h>\n", "") ||
      !replace_first(&h, &hl, "#include <stdint.h>\n", "") || /* the prelude's */
      !replace_first(&h, &hl, "#include <stdint.h>\n", "") || /* abi.h's */
      !replace_first(&h, &hl, "#include <wasm-rt.h>\n", rt)) {
    free(h);
    free(rt);
    return NULL;
  }
  free(rt);
  /* what XL_HOT is: the bodies' counts for the hot tier (lazy_hot.c) */
  const char *hot =
      counting ? "#ifndef XL_HOT\nextern u32 xl_hot[];\nextern char xl_hot_ctx[];\n"
                 "extern void xl_hot_reached(void *ctx, u32 d);\n"
                 "#define XL_HOT(d) do { u32 xl_c = xl_hot[d]; "
                 "if (xl_c && (xl_hot[d] = xl_c - 1) == 0) xl_hot_reached(xl_hot_ctx, d); } "
                 "while (0)\n#endif\n"
               : "#ifndef XL_HOT\n#define XL_HOT(d) ((void)0)\n#endif\n";
  char *out = realloc(h, hl + strlen(hot) + 1);
  if (!out) {
    free(h);
    return NULL;
  }
  memcpy(out + hl, hot, strlen(hot) + 1);
  return out;
}

char *lz_hot_header(const char *header) {
  static const char prefix[] = "#define XL_HOT(d) ((void)0)\n";
  size_t pl = sizeof prefix - 1, hl = strlen(header);
  char *h = malloc(pl + hl + 1);
  if (!h) return NULL;
  memcpy(h, prefix, pl);
  memcpy(h + pl, header, hl + 1);
  size_t len = pl + hl;
  if (!replace_first(&h, &len, "#define XL_FUNC __attribute__((visibility(\"hidden\")))",
                     "#define XL_FUNC")) {
    free(h);
    return NULL;
  }
  return h;
}

/* The header without the prelude's SIMD helpers, which are most of its
 * text (all but the v128 type, which signatures name): what a batch that
 * names nothing of SIMD includes. NULL if they are not found as expected
 * (batches then include the full header) or memory ran out. */
char *lz_scalar_header(const char *header) {
  static const char mark[] = "} v128;\n";
  const char *helpers = strstr(mote_xl_prelude_text, mark);
  const char *at = strstr(header, mark);
  if (!helpers || !at) return NULL;
  helpers += sizeof mark - 1;
  at += sizeof mark - 1;
  size_t hl = strlen(helpers);
  if (strncmp(at, helpers, hl) != 0) return NULL;
  size_t pre = (size_t)(at - header), rest = strlen(at + hl);
  char *out = malloc(pre + rest + 1);
  if (!out) return NULL;
  memcpy(out, header, pre);
  memcpy(out + pre, at + hl, rest + 1);
  return out;
}

/* The code of defined function f if it was compiled (installing it if it
 * was parked: its first call), else NULL. */
void *lz_ready_code(lazy_state *st, uint32_t f) {
  uint32_t d = f - st->lazy->import_func_count;
  void *p = __atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE);
  if (p) return p;
  if ((p = __atomic_load_n(&st->parked[d], __ATOMIC_ACQUIRE))) {
    /* the slot is filled before parked is emptied, so that a claim never
     * sees neither (lz_claim); of two installers one fills it and counts */
    void *was = NULL;
    if (!__atomic_compare_exchange_n(&st->lazy->slots[d], &was, p, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
      return was;
    __atomic_store_n(&st->parked[d], NULL, __ATOMIC_RELEASE);
    bool by_worker = __atomic_load_n(&st->claimed[d], __ATOMIC_ACQUIRE) & CLAIM_PARKED;
    __atomic_add_fetch(by_worker ? &st->spec_hits : &st->fill_hits, 1, __ATOMIC_RELAXED);
    return p;
  }
  /* another thread may have installed it between the two loads */
  return __atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE);
}

/* ---- compiling a batch (on the compiler thread) --------------------------- */

bool lz_in_batch(const lazy_state *st, uint32_t f) {
  return __atomic_load_n(&st->claimed[f - st->lazy->import_func_count], __ATOMIC_ACQUIRE) &
         CLAIM_BUSY;
}

/* Compiled, installed or parked, or in a batch being compiled. */
bool lz_compiled(void *ctx, uint32_t f) {
  const lazy_state *st = ctx;
  uint32_t d = f - st->lazy->import_func_count;
  return __atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE) != NULL ||
         __atomic_load_n(&st->parked[d], __ATOMIC_ACQUIRE) != NULL || lz_in_batch(st, f);
}

/* A batch takes f (claims it) unless it is compiled or taken. */
bool lz_claim(lazy_state *st, uint32_t f) {
  uint32_t d = f - st->lazy->import_func_count;
  if (__atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE) ||
      __atomic_load_n(&st->parked[d], __ATOMIC_ACQUIRE))
    return false;
  uint8_t old = __atomic_load_n(&st->claimed[d], __ATOMIC_ACQUIRE);
  while (!(old & CLAIM_BUSY))
    if (__atomic_compare_exchange_n(&st->claimed[d], &old, (uint8_t)(old | CLAIM_BUSY), false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      /* a batch that parked or installed f and let go of it between the
       * loads above and this claim: f is compiled, not to be taken again */
      if (__atomic_load_n(&st->lazy->slots[d], __ATOMIC_ACQUIRE) ||
          __atomic_load_n(&st->parked[d], __ATOMIC_ACQUIRE)) {
        __atomic_and_fetch(&st->claimed[d], (uint8_t)~CLAIM_BUSY, __ATOMIC_RELEASE);
        return false;
      }
      return true;
    }
  return false;
}

bool lz_not_claimable(void *ctx, uint32_t f) { return !lz_claim(ctx, f); }

/* Lets go of the functions a batch took (parked ones stay lz_compiled()). */
void lz_unclaim(lazy_state *st, const uint32_t *members, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    __atomic_and_fetch(&st->claimed[members[i] - st->lazy->import_func_count],
                       (uint8_t)~CLAIM_BUSY, __ATOMIC_RELEASE);
}

static void on_tcc_error(void *opaque, const char *text) {
  char *msg = opaque;
  if (!msg[0]) snprintf(msg, MSG_CAP, "tcc: %s", text);
}

static void add_sym(TCCState *s, const char *fmt, uint32_t i, const void *addr) {
  char name[32];
  snprintf(name, sizeof name, fmt, i);
  tcc_add_symbol(s, name, addr);
}

/* The module's function types (xl_ftN) that text names, each added once (a
 * cut header declares only those the batch's C names), or all of them
 * (text NULL: a worker's object); false when memory ran out. */
static bool add_types(TCCState *s, const mote_abi_lazy *lz, const char *text) {
  if (!text) {
    for (uint32_t t = 0; t < lz->type_count; t++) add_sym(s, "xl_ft%u", t, lz->types[t]);
    return true;
  }
  uint8_t *added = calloc((size_t)lz->type_count + 1, 1);
  if (!added) return false;
  for (const char *p = text; (p = strstr(p, "xl_ft")) != NULL;) {
    p += 5;
    if (p - text > 5 && (isalnum((unsigned char)p[-6]) || p[-6] == '_')) continue;
    char *end;
    unsigned long t = strtoul(p, &end, 10);
    if (end == p || isalnum((unsigned char)*end) || *end == '_' || t >= lz->type_count ||
        added[t])
      continue;
    added[t] = 1;
    add_sym(s, "xl_ft%u", (uint32_t)t, lz->types[t]);
  }
  free(added);
  return true;
}

/* libtcc (tccrun.c) lays out the code it links in memory as its executable
 * sections first, then the others, each group after the first's alignment,
 * and makes the pages of the executable ones read-write-execute. A variable
 * aligned to the page, xl_wx_pad, defined before anything else (the first
 * line of a batch's C; a unit of its own before a worker's or hot batch's
 * object), is the start of .data, the first section after the code: the
 * data then starts on a page of its own, the code's pages can be made
 * read-execute and the data's read-write (wx_protect), and no page of a
 * batch is ever writable and executable at once. The pad's line for a page
 * of `page` bytes, in line (WX_PAD_CAP); its length. */
#define WX_PAD_CAP 96
static size_t wx_pad_line(char line[WX_PAD_CAP], size_t page) {
  int n = snprintf(line, WX_PAD_CAP, "char xl_wx_pad[1] __attribute__((aligned(%zu))) = {1};\n",
                   page);
  return (size_t)n;
}

static size_t host_page(void) {
  long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? (size_t)page : 4096u;
}

/* After tcc_relocate into [mem, mem + size) (mapped, page-aligned): the
 * code's pages (those before xl_wx_pad) read-execute, the rest read-write.
 * False (msg set) if xl_wx_pad is not at a page inside the block (libtcc
 * laid the code out otherwise) or mprotect failed. */
static bool wx_protect(char *msg, TCCState *s, void *mem, size_t size, size_t page) {
  uintptr_t lo = (uintptr_t)mem, pad = (uintptr_t)tcc_get_symbol(s, "xl_wx_pad");
  size_t len = (size + page - 1) & ~(size_t)(page - 1);
  if (!pad || pad % page || pad <= lo || pad >= lo + size) {
    snprintf(msg, MSG_CAP, "libtcc laid the code out unexpectedly (data not after the code)");
    return false;
  }
  size_t code = pad - lo;
  if (mprotect(mem, code, PROT_READ | PROT_EXEC) != 0 ||
      mprotect((char *)mem + code, len - code, PROT_READ | PROT_WRITE) != 0) {
    snprintf(msg, MSG_CAP, "cannot protect compiled code: %s", strerror(errno));
    return false;
  }
  return true;
}

/* Compiles `header` and `body` (blen bytes) with libtcc, or links the
 * object file `obj` (then header and body are unused), into fresh memory
 * linked against the object's core, under tcc_lock: the code block (put on
 * st's list; its code read-execute, its data read-write), and addr[] the
 * members' code; NULL with msg (MSG_CAP) set. */
code_block *lz_tcc_build(char *msg, lazy_state *st, const char *header, const char *body,
                         size_t blen, const char *obj, bool lean, const xl_refs *refs,
                         const uint32_t *members, uint32_t n, void **addr) {
  const mote_abi_lazy *lz = st->lazy;
  size_t page = host_page();
  char pad[WX_PAD_CAP];
  size_t pl = wx_pad_line(pad, page);
  size_t hl = obj ? 0 : strlen(header);
  char *text = obj ? NULL : malloc(pl + hl + blen + 1);
  void *mem = MAP_FAILED;
  size_t size = 0;
  code_block *cb = NULL;
  if (!obj && !text) {
    snprintf(msg, MSG_CAP, "out of memory");
    return NULL;
  }
  if (text) {
    memcpy(text, pad, pl);
    memcpy(text + pl, header, hl);
    memcpy(text + pl + hl, body, blen);
    text[pl + hl + blen] = 0;
  }
  pthread_mutex_lock(&tcc_lock);
  TCCState *s = tcc_new();
  if (!s) {
    snprintf(msg, MSG_CAP, "cannot start libtcc");
    goto out;
  }
  tcc_set_error_func(s, msg, on_tcc_error);
  lean = lean && !obj && lz_runtime_lean(s);
  tcc_set_output_type(s, TCC_OUTPUT_MEMORY);
  if (obj ? tcc_compile_string(s, pad) != 0 || tcc_add_file(s, obj) != 0
          : tcc_compile_string(s, text) != 0)
    goto failed;
  if (lean) lz_runtime_add(s);
  for (uint32_t k = 0; k < refs->nnamed; k++)
    add_sym(s, "w%u", refs->named[k], (const void *)lz->funcs[refs->named[k]]);
  for (uint32_t i = 0; i < st->x.ndata; i++)
    if (refs->data[i]) add_sym(s, "xl_d%u", i, lz->data[i]);
  if (!add_types(s, lz, text)) {
    snprintf(msg, MSG_CAP, "out of memory");
    goto out;
  }
  tcc_add_symbol(s, "xl_table_init", lz->table_init);
  tcc_add_symbol(s, "xl_hot", st->hot);
  tcc_add_symbol(s, "xl_hot_ctx", st);
  tcc_add_symbol(s, "xl_hot_reached", (const void *)lz_hot_reached);
  int need = tcc_relocate(s, NULL);
  if (need <= 0) goto failed;
  size = (size_t)need;
  mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    snprintf(msg, MSG_CAP, "no memory for compiled code: %s", strerror(errno));
    goto out;
  }
  if (tcc_relocate(s, mem) < 0) goto failed;
  if (!wx_protect(msg, s, mem, size, page)) goto out;
  for (uint32_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "b%u", members[i]);
    if (!(addr[i] = tcc_get_symbol(s, name))) {
      snprintf(msg, MSG_CAP, "libtcc lost function %u", members[i]);
      goto out;
    }
  }
  if (!(cb = malloc(sizeof *cb))) {
    snprintf(msg, MSG_CAP, "out of memory");
    goto out;
  }
  *cb = (code_block){mem, size, st->code};
  st->code = cb;
  mem = MAP_FAILED;
  goto out;
failed:
  if (!msg[0]) snprintf(msg, MSG_CAP, "libtcc failed");
out:
  if (mem != MAP_FAILED) munmap(mem, size);
  if (s) tcc_delete(s);
  pthread_mutex_unlock(&tcc_lock);
  free(text);
  return cb;
}

/* A batch whose C names nothing of SIMD (v128 values, xl_v helpers) is
 * compiled after the header without the SIMD helpers. */
const char *lz_header_for(const lazy_state *st, const lz_batch *b) {
  bool scalar =
      !memmem(b->body, b->body_len, "v128", 4) && !memmem(b->body, b->body_len, "xl_v", 4);
  return scalar && st->header_scalar ? st->header_scalar : st->header;
}

static uint64_t cut_misses; /* atomic */

uint64_t mote_lazy_cut_misses(void) { return __atomic_load_n(&cut_misses, __ATOMIC_RELAXED); }

code_block *lz_compile_batch(char *msg, lazy_state *st, const lz_batch *b, void **addr) {
  const char *header = lz_header_for(st, b);
  const lz_helpers *h = header == st->header ? st->helpers : st->helpers_scalar;
  char *slim = h ? lz_slim_header(h, b->body, b->body_len) : NULL;
  msg[0] = 0;
  code_block *cb = lz_tcc_build(msg, st, slim ? slim : header, b->body, b->body_len, NULL,
                                true, &b->refs, b->members, b->n, addr);
  if (!cb) { /* a guess was wrong: the full header, linked the whole way, decides */
    char lean_msg[MSG_CAP];
    snprintf(lean_msg, sizeof lean_msg, "%s", msg);
    msg[0] = 0;
    cb = lz_tcc_build(msg, st, st->header, b->body, b->body_len, NULL, false, &b->refs,
                      b->members, b->n, addr);
    if (cb) { /* a cut or a name the lean link lacks: never, in the tests */
      __atomic_add_fetch(&cut_misses, 1, __ATOMIC_RELAXED);
      fprintf(stderr, "mote: a lazy batch compiled only the whole way (lean: %s)\n", lean_msg);
    }
  }
  free(slim);
  return cb;
}

bool lz_translate(lazy_state *st, uint32_t root, size_t fill, lz_batch *b) {
  const xl_module *x = &st->x;
  uint32_t nf = st->lazy->func_count;
  memset(b, 0, sizeof *b);
  b->refs = (xl_refs){calloc((size_t)nf + 1, 1), calloc((size_t)x->ndata + 1, 1),
                      malloc(((size_t)nf + 1) * sizeof(uint32_t)), 0,
                      malloc(((size_t)nf + 1) * sizeof(uint32_t)), 0};
  FILE *o = b->refs.funcs && b->refs.data && b->refs.called && b->refs.named
                ? open_memstream(&b->body, &b->body_len)
                : NULL;
  bool ok = o != NULL;
  if (ok)
    ok = xl_write_batch(o, x, root, BATCH_BYTES, fill, BATCH_MAX, lz_not_claimable, st,
                        b->members, &b->n, &b->ncalled, &b->refs, &b->err);
  if (o && fclose(o) != 0) ok = false;
  if (b->n == 0) b->members[b->n++] = root;
  if (!ok && !b->err.failed) snprintf(b->err.message, sizeof b->err.message, "out of memory");
  return ok;
}

void lz_batch_done(lazy_state *st, lz_batch *b) {
  lz_unclaim(st, b->members, b->n);
  free(b->body);
  free(b->refs.funcs);
  free(b->refs.data);
  free(b->refs.called);
  free(b->refs.named);
}
