/*
 * Snapshots as bytes (rt.h: mote_rt_snapshot_save, mote_rt_snapshot_load),
 * so that a server restarted later need not run the initialisation again.
 *
 * Nothing in the bytes is an address: the glue instance's bytes are kept
 * as they are (the import pointers in them are rewritten by rebind, the
 * memory and table structs re-created, at every instantiation), memories
 * as their non-zero runs, and a funcref table element as its function's
 * offset from the compiled object's load address, its instance's offset in
 * the glue instance, and its signature (type ids are per process: the
 * signature is registered again on load). Externref elements must be null.
 *
 * The layout (little-endian as the host, which only reads its own bytes):
 *
 *   "MOTESNAP" u32 format u32 abi_version u32 instance_size u64 abi_offset
 *   u32 import_count u32 export_count u32 memories u32 tables
 *   memories x u32 memory_at   tables x (u32 table_at, u32 funcref)
 *   u32 ntypes, then each: u32 params u32 results (params + results) x u32
 *   instance_size bytes of the glue instance
 *   per memory: u32 pages u32 max_pages u32 nruns, nruns x (u32 at u32 len),
 *               then the runs' bytes, packed
 *   per table:  u32 size u32 max_size, then per element of a funcref table
 *               u64 type (1 + index in the types, 0: none) u64 func (1 +
 *               offset from the load address, 0: NULL) u64 instance (1 +
 *               offset in the glue instance, 0: NULL)
 *   "END!"
 *
 * Loading checks everything against the module it is given and refuses
 * what does not fit (MOTE_RT_UNSUPPORTED, saying what): it is the caller's
 * key (say the compiled object's hash) that makes the bytes the right ones,
 * and a hash over the bytes that finds them damaged; these checks only make
 * sure that no wrong bytes are ever used as addresses or sizes.
 */
#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"

static const char magic[8] = {'M', 'O', 'T', 'E', 'S', 'N', 'A', 'P'};
static const char end_mark[4] = {'E', 'N', 'D', '!'};
/* Bounds on what a snapshot may describe: far past any real module. */
#define MAX_TYPES 100000u
#define MAX_TYPE_ARITY 1000u

/* ---- writing ------------------------------------------------------------- */

typedef struct writer {
  uint8_t *buf; /* from malloc() */
  size_t len, cap;
  bool failed;
} writer;

static void put(writer *w, const void *p, size_t n) {
  if (w->failed) return;
  if (w->cap - w->len < n) {
    size_t cap = w->cap ? w->cap : 4096;
    while (cap - w->len < n) cap *= 2;
    uint8_t *grown = realloc(w->buf, cap);
    if (!grown) {
      w->failed = true;
      return;
    }
    w->buf = grown;
    w->cap = cap;
  }
  memcpy(w->buf + w->len, p, n);
  w->len += n;
}

static void put_u32(writer *w, uint32_t v) {
  put(w, &v, sizeof v);
}

static void put_u64(writer *w, uint64_t v) {
  put(w, &v, sizeof v);
}

/* The types the tables use, each once: ids of this process. */
typedef struct type_list {
  uint32_t *ids; /* from malloc() */
  uint32_t n, cap;
} type_list;

/* 1 + the index of id in the list (added if new); 0 when out of memory. */
static uint32_t type_index(type_list *t, uint32_t id) {
  for (uint32_t i = 0; i < t->n; i++)
    if (t->ids[i] == id) return i + 1;
  if (t->n == t->cap) {
    uint32_t cap = t->cap ? t->cap * 2 : 16;
    uint32_t *grown = realloc(t->ids, cap * sizeof *grown);
    if (!grown) return 0;
    t->ids = grown;
    t->cap = cap;
  }
  t->ids[t->n++] = id;
  return t->n;
}

mote_rt_status mote_rt_snapshot_save(const mote_rt_snapshot *s, uint8_t **out, size_t *len,
                                     mote_rt_error *err) {
  *out = NULL;
  *len = 0;
  if (err) memset(err, 0, sizeof *err);
  const mote_abi_module *abi = mote_rt_module_abi(s->module);
  uintptr_t base, lo, hi;
  if (!mote_rt_module_extent(s->module, &base, &lo, &hi))
    return mote_rt_fail(err, MOTE_RT_UNSUPPORTED, MOTE_TRAP_NONE, 0,
                        "cannot save the snapshot: the compiled object's address is unknown");
  /* First the types and the elements' offsets, which may refuse. */
  type_list types = {NULL, 0, 0};
  uint64_t *elems[MOTE_RT_MAX_OWN] = {NULL}; /* per table: 3 words an element */
  const char *why = NULL;
  for (uint32_t t = 0; t < s->own.tables && !why; t++) {
    const snap_table *st = &s->tables[t];
    if (!s->own.table_funcref[t]) {
      const wasm_rt_externref_t *e = st->elems;
      for (uint32_t k = 0; k < st->size && !why; k++)
        if (e[k]) why = "an externref table holds a host reference";
      continue;
    }
    if (!st->size) continue;
    elems[t] = calloc((size_t)st->size * 3, sizeof(uint64_t));
    if (!elems[t]) {
      why = "out of memory";
      break;
    }
    const wasm_rt_funcref_t *e = st->elems;
    for (uint32_t k = 0; k < st->size && !why; k++) {
      uint64_t *o = elems[t] + (size_t)k * 3;
      uintptr_t fn = (uintptr_t)e[k].func, inst = (uintptr_t)e[k].module_instance;
      if (e[k].func_type && !(o[0] = type_index(&types, e[k].func_type))) why = "out of memory";
      if (fn && (fn < lo || fn >= hi)) why = "a table holds a function outside the module";
      if (fn) o[1] = 1 + (uint64_t)(fn - base);
      if (inst && (inst < s->donor_lo || inst - s->donor_lo >= s->data_size))
        why = "a table holds a function of another instance";
      if (inst) o[2] = 1 + (uint64_t)(inst - s->donor_lo);
    }
  }
  writer w = {NULL, 0, 0, false};
  if (!why) {
    put(&w, magic, sizeof magic);
    put_u32(&w, MOTE_RT_SNAPSHOT_FORMAT);
    put_u32(&w, abi->abi_version);
    put_u32(&w, s->data_size);
    put_u64(&w, (uint64_t)((uintptr_t)abi - base));
    put_u32(&w, abi->import_count);
    put_u32(&w, abi->export_count);
    put_u32(&w, s->own.memories);
    put_u32(&w, s->own.tables);
    for (uint32_t i = 0; i < s->own.memories; i++) put_u32(&w, s->own.memory_at[i]);
    for (uint32_t i = 0; i < s->own.tables; i++) {
      put_u32(&w, s->own.table_at[i]);
      put_u32(&w, s->own.table_funcref[i]);
    }
    put_u32(&w, types.n);
    for (uint32_t i = 0; i < types.n && !why; i++) {
      uint32_t params, results;
      const wasm_rt_type_t *sig;
      if (!mote_rt_functype_get(types.ids[i], &params, &results, &sig)) {
        why = "a table element has an unknown function type";
        break;
      }
      put_u32(&w, params);
      put_u32(&w, results);
      for (uint32_t k = 0; k < params + results; k++) put_u32(&w, (uint32_t)sig[k]);
    }
    put(&w, s->data, s->data_size);
    for (uint32_t i = 0; i < s->own.memories; i++) {
      const snap_memory *sm = &s->memories[i];
      put_u32(&w, sm->pages);
      put_u32(&w, sm->max_pages);
      put_u32(&w, sm->nruns);
      for (uint32_t r = 0; r < sm->nruns; r++) {
        put_u32(&w, sm->runs[r].at);
        put_u32(&w, sm->runs[r].len);
      }
      for (uint32_t r = 0; r < sm->nruns; r++)
        put(&w, mote_rt_snap_run_bytes(sm, r), sm->runs[r].len);
    }
    for (uint32_t t = 0; t < s->own.tables; t++) {
      const snap_table *st = &s->tables[t];
      put_u32(&w, st->size);
      put_u32(&w, st->max_size);
      if (elems[t]) put(&w, elems[t], (size_t)st->size * 3 * sizeof(uint64_t));
    }
    put(&w, end_mark, sizeof end_mark);
    if (w.failed) why = "out of memory";
  }
  free(types.ids);
  for (uint32_t t = 0; t < MOTE_RT_MAX_OWN; t++) free(elems[t]);
  if (why) {
    free(w.buf);
    return mote_rt_fail(err, !strcmp(why, "out of memory") ? MOTE_RT_NOMEM : MOTE_RT_UNSUPPORTED,
                        MOTE_TRAP_NONE, 0, "cannot save the snapshot: %s", why);
  }
  *out = w.buf;
  *len = w.len;
  return MOTE_RT_OK;
}

/* ---- reading ------------------------------------------------------------- */

typedef struct reader {
  const uint8_t *p;
  size_t left;
  const char *why; /* the first thing wrong, NULL while all is well */
} reader;

static const uint8_t *take(reader *r, size_t n) {
  if (r->why) return NULL;
  if (r->left < n) {
    r->why = "the bytes end too early";
    return NULL;
  }
  const uint8_t *p = r->p;
  r->p += n;
  r->left -= n;
  return p;
}

static uint32_t get_u32(reader *r) {
  uint32_t v = 0;
  const uint8_t *p = take(r, sizeof v);
  if (p) memcpy(&v, p, sizeof v);
  return v;
}

static uint64_t get_u64(reader *r) {
  uint64_t v = 0;
  const uint8_t *p = take(r, sizeof v);
  if (p) memcpy(&v, p, sizeof v);
  return v;
}

static void check(reader *r, bool ok, const char *why) {
  if (!r->why && !ok) r->why = why;
}

static const uint8_t *packed_run_bytes(const void *ctx, uint32_t i) {
  const snap_memory *sm = ((const void *const *)ctx)[0];
  const uint8_t *packed = ((const void *const *)ctx)[1];
  return packed + sm->runs[i].image;
}

/* A memory: its runs (checked: in order, apart, inside its pages) and their
 * bytes into an image, by *mode. */
static void read_memory(reader *r, snap_memory *sm, mote_rt_image_mode *mode) {
  sm->pages = get_u32(r);
  sm->max_pages = get_u32(r);
  sm->nruns = get_u32(r);
  check(r, sm->pages <= sm->max_pages && sm->max_pages <= MOTE_RT_MAX_PAGES,
        "a memory's size is out of range");
  check(r, sm->nruns <= r->left / 8, "a memory has more runs than bytes");
  if (r->why) return;
  sm->runs = malloc((sm->nruns ? sm->nruns : 1) * sizeof *sm->runs);
  if (!sm->runs) {
    r->why = "out of memory";
    return;
  }
  uint64_t end = 0, size = (uint64_t)sm->pages * MOTE_RT_PAGE_SIZE;
  for (uint32_t i = 0; i < sm->nruns && !r->why; i++) {
    uint32_t at = get_u32(r), len = get_u32(r);
    check(r, len > 0 && at >= end && (uint64_t)at + len <= size, "a memory run is out of place");
    sm->runs[i] = (snap_run){at, len, sm->image_len};
    sm->image_len += len;
    end = (uint64_t)at + len;
  }
  const uint8_t *packed = take(r, r->why ? 0 : sm->image_len);
  if (r->why) return;
  const void *ctx[2] = {sm, packed};
  if (!mote_rt_snap_memory_fill(sm, packed_run_bytes, ctx, mode)) r->why = "out of memory";
}

static void read_table(reader *r, mote_rt_snapshot *s, uint32_t t, const uint32_t *type_ids,
                       uint32_t ntypes, uintptr_t base, uintptr_t lo, uintptr_t hi) {
  snap_table *st = &s->tables[t];
  st->size = get_u32(r);
  st->max_size = get_u32(r);
  check(r, st->size <= st->max_size && st->size <= MOTE_RT_DEFAULT_MAX_TABLE_ELEMS,
        "a table's size is out of range");
  bool funcref = s->own.table_funcref[t];
  size_t elem = funcref ? sizeof(wasm_rt_funcref_t) : sizeof(wasm_rt_externref_t);
  if (r->why || !st->size) return;
  if (funcref) check(r, st->size <= r->left / 24, "a table has more elements than bytes");
  if (r->why) return;
  st->elems = calloc(st->size, elem); /* externref: all null */
  if (!st->elems) {
    r->why = "out of memory";
    return;
  }
  if (!funcref) return;
  wasm_rt_funcref_t *e = st->elems;
  for (uint32_t k = 0; k < st->size && !r->why; k++) {
    uint64_t type = get_u64(r), fn = get_u64(r), inst = get_u64(r);
    check(r, type <= ntypes, "a table element has an unknown type");
    check(r, !fn || (fn - 1 < hi - base && base + (fn - 1) >= lo),
          "a table element's function lies outside the module");
    check(r, !inst || inst - 1 < s->data_size, "a table element's instance is out of place");
    if (r->why) break;
    e[k].func_type = type ? type_ids[type - 1] : 0;
    e[k].func = fn ? (wasm_rt_function_ptr_t)(base + (fn - 1)) : NULL;
    /* As a taken snapshot keeps them: pointers into its donor, which for a
     * loaded one is its own copy of the bytes (restore_table rebases). */
    e[k].module_instance = inst ? s->data + (inst - 1) : NULL;
  }
}

mote_rt_status mote_rt_snapshot_load(mote_rt_module *m, const uint8_t *bytes, size_t len,
                                     mote_rt_snapshot **out, mote_rt_error *err) {
  *out = NULL;
  if (err) memset(err, 0, sizeof *err);
  const mote_abi_module *abi = mote_rt_module_abi(m);
  uintptr_t base = 0, lo = 0, hi = 0;
  reader r = {bytes, len, NULL};
  uint32_t *type_ids = NULL, ntypes = 0;
  mote_rt_snapshot *s = calloc(1, sizeof *s);
  if (!s) return mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0, "out of memory");
  s->module = m;
  if (!(abi->flags & MOTE_ABI_SNAPSHOT) || !abi->rebind) r.why = "the module cannot be snapshotted";
  if (!r.why && !mote_rt_module_extent(m, &base, &lo, &hi))
    r.why = "the compiled object's address is unknown";
  const uint8_t *mg = take(&r, sizeof magic);
  check(&r, mg && !memcmp(mg, magic, sizeof magic), "not a snapshot");
  check(&r, get_u32(&r) == MOTE_RT_SNAPSHOT_FORMAT, "another snapshot format");
  check(&r, get_u32(&r) == abi->abi_version, "another ABI version");
  s->data_size = get_u32(&r);
  check(&r, s->data_size == abi->instance_size, "another instance size");
  check(&r, get_u64(&r) == (uint64_t)((uintptr_t)abi - base), "another compiled object");
  check(&r, get_u32(&r) == abi->import_count, "another import count");
  check(&r, get_u32(&r) == abi->export_count, "another export count");
  s->own.memories = get_u32(&r);
  s->own.tables = get_u32(&r);
  check(&r, s->own.memories <= MOTE_RT_MAX_OWN && s->own.tables <= MOTE_RT_MAX_OWN,
        "too many memories or tables");
  for (uint32_t i = 0; i < s->own.memories && !r.why; i++) {
    s->own.memory_at[i] = get_u32(&r);
    check(&r, (uint64_t)s->own.memory_at[i] + sizeof(wasm_rt_memory_t) <= s->data_size,
          "a memory lies outside the instance");
  }
  for (uint32_t i = 0; i < s->own.tables && !r.why; i++) {
    s->own.table_at[i] = get_u32(&r);
    uint32_t funcref = get_u32(&r);
    check(&r, funcref <= 1, "a table of an unknown kind");
    s->own.table_funcref[i] = funcref == 1;
    size_t size = funcref ? sizeof(wasm_rt_funcref_table_t) : sizeof(wasm_rt_externref_table_t);
    check(&r, (uint64_t)s->own.table_at[i] + size <= s->data_size,
          "a table lies outside the instance");
  }
  ntypes = get_u32(&r);
  check(&r, ntypes <= MAX_TYPES, "too many function types");
  if (!r.why && ntypes && !(type_ids = calloc(ntypes, sizeof *type_ids))) r.why = "out of memory";
  for (uint32_t i = 0; i < ntypes && !r.why; i++) {
    uint32_t params = get_u32(&r), results = get_u32(&r);
    check(&r, params <= MAX_TYPE_ARITY && results <= MAX_TYPE_ARITY, "a function type is too long");
    wasm_rt_type_t sig[2 * MAX_TYPE_ARITY];
    for (uint32_t k = 0; k < params + results && !r.why; k++) {
      uint32_t t = get_u32(&r);
      check(&r, t == WASM_RT_I32 || t == WASM_RT_I64 || t == WASM_RT_F32 || t == WASM_RT_F64 ||
                    t == WASM_RT_FUNCREF || t == WASM_RT_EXTERNREF,
            "a function type has an unknown value type");
      sig[k] = (wasm_rt_type_t)t;
    }
    if (!r.why && !(type_ids[i] = mote_rt_functype_intern(params, results, sig)))
      r.why = "out of memory";
  }
  if (!r.why && !(s->data = malloc(s->data_size ? s->data_size : 1))) r.why = "out of memory";
  const uint8_t *data = take(&r, r.why ? 0 : s->data_size);
  if (!r.why) {
    memcpy(s->data, data, s->data_size);
    s->donor_lo = (uintptr_t)s->data;
  }
  mote_rt_image_mode mode = MOTE_RT_IMAGE_AUTO;
  for (uint32_t i = 0; i < s->own.memories && !r.why; i++) read_memory(&r, &s->memories[i], &mode);
  s->mode = mode == MOTE_RT_IMAGE_AUTO ? MOTE_RT_IMAGE_COPY : mode;
  for (uint32_t t = 0; t < s->own.tables && !r.why; t++)
    read_table(&r, s, t, type_ids, ntypes, base, lo, hi);
  const uint8_t *em = take(&r, sizeof end_mark);
  check(&r, em && !memcmp(em, end_mark, sizeof end_mark), "the end mark is missing");
  check(&r, r.left == 0, "bytes follow the end mark");
  free(type_ids);
  if (r.why) {
    mote_rt_snapshot_free(s);
    return mote_rt_fail(err, !strcmp(r.why, "out of memory") ? MOTE_RT_NOMEM : MOTE_RT_UNSUPPORTED,
                        MOTE_TRAP_NONE, 0, "cannot load the snapshot: %s", r.why);
  }
  *out = s;
  return MOTE_RT_OK;
}
