/*
 * Snapshots: an instance frozen once, after its initialisation, and new
 * instances made from it without running any of that initialisation again
 * (see rt.h).
 *
 * What an instance is, for wasm2c's output: the glue instance's bytes
 * (globals, segment-dropped flags, the structs of its memories and tables,
 * the pointers to its imports), plus the contents of its own memories and
 * tables. A snapshot keeps a copy of each. A new instance copies the bytes,
 * lets the glue point them at the new import bindings (abi->rebind), and
 * re-creates each memory and table in place of the stale struct.
 *
 * A memory comes back one of two ways, chosen per snapshot when it is taken
 * (snapshot_mode, from measurements with bench/memprobe.c on this machine;
 * docs/architecture.md has the figures):
 *   copy  a pooled slot, zeroed with its pages resident (pool.c), gets the
 *         image's non-zero runs copied in: cheapest for small images (under
 *         32 KiB the copy and its zeroing cost less than a microsecond),
 *         but 47 us a call for 1 MiB, and 1.8 ms for 16 MiB;
 *   map   the image lives in a sealed memfd (image.c) mapped copy-on-write
 *         into slots of its own: nothing is copied to make the instance,
 *         and the reset costs what the call wrote (3.5 us for 10 pages of a
 *         1 MiB image where the kernel can find the written pages, ~9 us
 *         with madvise where it cannot).
 * The runs (offsets and lengths of the non-zero bytes) are kept either way:
 * they are what a snapshot is stored as (mote_rt_snapshot_save).
 *
 * Table elements of a funcref table carry the instance they belong to
 * (module_instance): any that points into the donor's glue instance (its
 * own functions, and imported ones, which wasm2c binds to a field of it) is
 * moved to the same offset in the new one.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt/rt_internal.h"

/* Zero gaps shorter than this do not split a run: fewer, longer memcpys. */
#define RUN_MERGE_GAP 256u
/* The scan's grain: runs start and end on it. */
#define RUN_GRAIN 64u

static bool zero_grain(const uint8_t *p) {
  uint64_t acc = 0, w;
  for (unsigned i = 0; i < RUN_GRAIN; i += 8) {
    memcpy(&w, p + i, 8);
    acc |= w;
  }
  return acc == 0;
}

static _Atomic int snapshot_policy = MOTE_RT_IMAGE_AUTO;

void mote_rt_snapshot_policy_set(mote_rt_image_mode mode) {
  atomic_store(&snapshot_policy, (int)mode);
}

/* How a memory with `image_len` non-zero bytes is best made here. With
 * the restore reset a mapped image wins at every size: its reset costs the
 * pages a call wrote, while a copied one is zeroed wherever it is resident
 * (2.3 us for hello's 128 KiB against 0.4). With the madvise reset, every
 * page a call writes or first reads faults again, so below
 * IMAGE_MAP_MIN_DROP copying costs less (memprobe: 256 KiB copied and
 * zeroed 10 us, mapped with 10 pages written 9-15 us). */
#define IMAGE_MAP_MIN_DROP ((uint64_t)256 << 10)
static mote_rt_image_mode resolve_mode(mote_rt_image_mode policy, uint64_t image_len) {
  bool restore = mote_rt_image_can_restore();
  switch (policy) {
    case MOTE_RT_IMAGE_COPY: return MOTE_RT_IMAGE_COPY;
    case MOTE_RT_IMAGE_MAP: return restore ? MOTE_RT_IMAGE_MAP : MOTE_RT_IMAGE_MAP_DROP;
    case MOTE_RT_IMAGE_MAP_DROP: return MOTE_RT_IMAGE_MAP_DROP;
    default: break;
  }
  if (restore) return MOTE_RT_IMAGE_MAP;
  return image_len >= IMAGE_MAP_MIN_DROP ? MOTE_RT_IMAGE_MAP_DROP : MOTE_RT_IMAGE_COPY;
}

/* A sealed memfd image of the whole memory (its zero parts are holes),
 * with the runs' bytes, which run_bytes gives: NULL if one cannot be made
 * (the caller copies instead). The image spans the whole memory, not just
 * its non-zero part: every page an instance writes then becomes private
 * and is found by the restore, instead of being zeroed as anonymous memory
 * is (wherever it is resident). */
static mote_rt_image *make_image(const snap_memory *sm, bool restore,
                                 mote_rt_run_bytes_fn run_bytes, const void *ctx) {
  uint64_t span = (uint64_t)sm->pages * MOTE_RT_PAGE_SIZE;
  if (!span) return NULL;
  mote_rt_image *img = mote_rt_image_new(span, restore);
  if (!img) return NULL;
  for (uint32_t r = 0; r < sm->nruns; r++) {
    if (!mote_rt_image_write(img, sm->runs[r].at, run_bytes(ctx, r), sm->runs[r].len)) {
      mote_rt_image_release(img);
      return NULL;
    }
  }
  if (!mote_rt_image_seal(img)) {
    mote_rt_image_release(img);
    return NULL;
  }
  return img;
}

bool mote_rt_snap_memory_fill(snap_memory *sm, mote_rt_run_bytes_fn run_bytes, const void *ctx,
                              mote_rt_image_mode *mode) {
  if (*mode == MOTE_RT_IMAGE_AUTO) *mode = resolve_mode(atomic_load(&snapshot_policy), sm->image_len);
  if (*mode != MOTE_RT_IMAGE_COPY && sm->pages) {
    sm->img = make_image(sm, *mode == MOTE_RT_IMAGE_MAP, run_bytes, ctx);
    if (sm->img) {
      if (!mote_rt_image_restores(sm->img)) *mode = MOTE_RT_IMAGE_MAP_DROP;
      return true;
    }
    /* No memfd (limits, no memory): this memory is copied instead. */
  }
  sm->image = malloc(sm->image_len ? sm->image_len : 1);
  if (!sm->image) return false;
  for (uint32_t i = 0; i < sm->nruns; i++)
    memcpy(sm->image + sm->runs[i].image, run_bytes(ctx, i), sm->runs[i].len);
  return true;
}

const uint8_t *mote_rt_snap_run_bytes(const snap_memory *sm, uint32_t r) {
  if (sm->img) return mote_rt_image_view(sm->img) + sm->runs[r].at;
  return sm->image + sm->runs[r].image;
}

typedef struct live_memory {
  const snap_memory *sm;
  const wasm_rt_memory_t *mem;
} live_memory;

static const uint8_t *live_run_bytes(const void *ctx, uint32_t r) {
  const live_memory *l = ctx;
  return l->mem->data + l->sm->runs[r].at;
}

/* The non-zero runs of a memory, into sm: packed (copy mode) or as an
 * image (map modes). *mode is the snapshot's policy resolved for the first
 * memory; later ones follow it. */
static bool capture_memory(const wasm_rt_memory_t *mem, snap_memory *sm,
                           mote_rt_image_mode *mode) {
  sm->pages = mem->pages;
  sm->max_pages = mem->max_pages;
  uint64_t size = mem->size, cap_runs = 16, at = 0;
  sm->runs = malloc(cap_runs * sizeof *sm->runs);
  if (!sm->runs) return false;
  /* Pass 1: the runs. */
  while (at < size) {
    while (at < size && zero_grain(mem->data + at)) at += RUN_GRAIN;
    if (at >= size) break;
    uint64_t start = at, end = at;
    while (at < size) {
      if (!zero_grain(mem->data + at)) {
        at += RUN_GRAIN;
        end = at;
      } else if (at - end >= RUN_MERGE_GAP) {
        break;
      } else {
        at += RUN_GRAIN;
      }
    }
    if (sm->nruns == cap_runs) {
      snap_run *grown = realloc(sm->runs, 2 * cap_runs * sizeof *grown);
      if (!grown) return false;
      sm->runs = grown;
      cap_runs *= 2;
    }
    sm->runs[sm->nruns++] = (snap_run){(uint32_t)start, (uint32_t)(end - start), sm->image_len};
    sm->image_len += end - start;
  }
  /* Pass 2: their bytes, as an image or packed. */
  live_memory l = {sm, mem};
  return mote_rt_snap_memory_fill(sm, live_run_bytes, &l, mode);
}

void mote_rt_snapshot_free(mote_rt_snapshot *s) {
  if (!s) return;
  for (unsigned i = 0; i < MOTE_RT_MAX_OWN; i++) {
    free(s->memories[i].runs);
    free(s->memories[i].image);
    mote_rt_image_release(s->memories[i].img);
    free(s->tables[i].elems);
  }
  free(s->data);
  free(s);
}

mote_rt_status mote_rt_snapshot_take(const mote_rt_instance *inst, mote_rt_snapshot **out,
                                     mote_rt_error *err) {
  *out = NULL;
  if (err) memset(err, 0, sizeof *err);
  const mote_abi_module *abi = mote_rt_module_abi(inst->module);
  if (!(abi->flags & MOTE_ABI_SNAPSHOT) || !abi->rebind)
    return mote_rt_fail(err, MOTE_RT_UNSUPPORTED, MOTE_TRAP_NONE, 0,
                        "the module cannot be snapshotted: it imports a memory, table or "
                        "global, or has a reference-typed global");
  if (inst->own.overflow)
    return mote_rt_fail(err, MOTE_RT_UNSUPPORTED, MOTE_TRAP_NONE, 0,
                        "the module cannot be snapshotted: more than %u memories or tables",
                        MOTE_RT_MAX_OWN);
  mote_rt_snapshot *s = calloc(1, sizeof *s);
  if (!s) goto nomem;
  s->module = inst->module;
  s->data_size = abi->instance_size;
  s->data = malloc(s->data_size ? s->data_size : 1);
  if (!s->data) goto nomem;
  memcpy(s->data, inst->data, s->data_size);
  s->donor_lo = (uintptr_t)inst->data;
  s->own = inst->own;
  mote_rt_image_mode mode = MOTE_RT_IMAGE_AUTO;
  for (uint32_t i = 0; i < s->own.memories; i++) {
    const wasm_rt_memory_t *mem = (const void *)((uint8_t *)inst->data + s->own.memory_at[i]);
    if (!capture_memory(mem, &s->memories[i], &mode)) goto nomem;
  }
  s->mode = mode == MOTE_RT_IMAGE_AUTO ? MOTE_RT_IMAGE_COPY : mode;
  for (uint32_t i = 0; i < s->own.tables; i++) {
    const void *field = (uint8_t *)inst->data + s->own.table_at[i];
    const void *elems;
    size_t elem_size;
    snap_table *st = &s->tables[i];
    if (s->own.table_funcref[i]) {
      const wasm_rt_funcref_table_t *t = field;
      st->size = t->size, st->max_size = t->max_size, elems = t->data;
      elem_size = sizeof(wasm_rt_funcref_t);
    } else {
      const wasm_rt_externref_table_t *t = field;
      st->size = t->size, st->max_size = t->max_size, elems = t->data;
      elem_size = sizeof(wasm_rt_externref_t);
    }
    if (st->size) {
      st->elems = malloc((size_t)st->size * elem_size);
      if (!st->elems) goto nomem;
      memcpy(st->elems, elems, (size_t)st->size * elem_size);
    }
  }
  *out = s;
  return MOTE_RT_OK;
nomem:
  mote_rt_snapshot_free(s);
  return mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0, "out of memory taking a snapshot");
}

uint64_t mote_rt_snapshot_image_bytes(const mote_rt_snapshot *s) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < s->own.memories; i++) n += s->memories[i].image_len;
  return n;
}

mote_rt_module *mote_rt_snapshot_module(const mote_rt_snapshot *s) {
  return s->module;
}

mote_rt_image_mode mote_rt_snapshot_mode(const mote_rt_snapshot *s) {
  return s->mode;
}

const char *mote_rt_image_mode_name(mote_rt_image_mode mode) {
  switch (mode) {
    case MOTE_RT_IMAGE_AUTO: return "auto";
    case MOTE_RT_IMAGE_COPY: return "copy";
    case MOTE_RT_IMAGE_MAP: return "map";
    case MOTE_RT_IMAGE_MAP_DROP: return "map-drop";
  }
  return "unknown";
}

static uint32_t cap(uint32_t max, uint32_t limit) {
  return limit && limit < max ? limit : max;
}

/* Re-creates memory i of s in the new instance: a slot of its image, or a
 * pooled (zeroed) slot with the image's runs copied in. */
static bool restore_memory(const mote_rt_snapshot *s, uint32_t i, uint8_t *data,
                           const mote_rt_limits *limits) {
  const snap_memory *sm = &s->memories[i];
  wasm_rt_memory_t *mem = (void *)(data + s->own.memory_at[i]);
  uint32_t max = cap(sm->max_pages, limits ? limits->max_memory_pages : 0);
  if (sm->pages > max) return false;
  if (sm->img) return mote_rt_memory_init_image(mem, sm->pages, max, sm->img);
  if (!mote_rt_memory_init(mem, sm->pages, max)) return false;
  for (uint32_t r = 0; r < sm->nruns; r++)
    memcpy(mem->data + sm->runs[r].at, sm->image + sm->runs[r].image, sm->runs[r].len);
  return true;
}

static bool restore_table(const mote_rt_snapshot *s, uint32_t i, uint8_t *data,
                          const mote_rt_limits *limits) {
  const snap_table *st = &s->tables[i];
  void *field = data + s->own.table_at[i];
  uint32_t limit = limits && limits->max_table_elems ? limits->max_table_elems
                                                     : MOTE_RT_DEFAULT_MAX_TABLE_ELEMS;
  uint32_t max = cap(st->max_size, limit);
  if (st->size > max) return false;
  if (!s->own.table_funcref[i]) {
    wasm_rt_externref_table_t *t = field;
    if (!mote_rt_externref_table_init(t, st->size, max)) return false;
    if (st->size) memcpy(t->data, st->elems, (size_t)st->size * sizeof *t->data);
    return true;
  }
  wasm_rt_funcref_table_t *t = field;
  if (!mote_rt_funcref_table_init(t, st->size, max)) return false;
  const wasm_rt_funcref_t *from = st->elems;
  for (uint32_t k = 0; k < st->size; k++) {
    t->data[k] = from[k];
    uintptr_t owner = (uintptr_t)from[k].module_instance;
    if (owner >= s->donor_lo && owner - s->donor_lo < s->data_size)
      t->data[k].module_instance = data + (owner - s->donor_lo);
  }
  return true;
}

mote_rt_status mote_rt_snapshot_instantiate(const mote_rt_snapshot *s,
                                            const mote_rt_extern *imports,
                                            const mote_rt_limits *limits,
                                            mote_rt_instance **out, mote_rt_error *err) {
  *out = NULL;
  if (err) memset(err, 0, sizeof *err);
  const mote_abi_module *abi = mote_rt_module_abi(s->module);
  mote_rt_status st = mote_rt_link_check(abi, imports, err);
  if (st != MOTE_RT_OK) return st;

  mote_rt_instance *inst =
      calloc(1, sizeof *inst + (size_t)abi->import_count * sizeof inst->imports[0]);
  uint8_t *data = inst ? malloc(s->data_size ? s->data_size : 1) : NULL;
  if (!data) {
    free(inst);
    return mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0,
                        "out of memory creating an instance");
  }
  inst->module = s->module;
  inst->data = data;
  inst->import_count = abi->import_count;
  for (uint32_t i = 0; i < abi->import_count; i++) inst->imports[i] = imports[i].binding;
  memcpy(data, s->data, s->data_size);
  inst->own = s->own;
  inst->own.lo = data;
  inst->own.hi = data + s->data_size;
  /* The copied memory and table structs point at the donor's: clear them
   * all first, so that abi->free after a failure half-way frees only what
   * was made here. */
  for (uint32_t i = 0; i < s->own.memories; i++)
    memset(data + s->own.memory_at[i], 0, sizeof(wasm_rt_memory_t));
  for (uint32_t i = 0; i < s->own.tables; i++)
    memset(data + s->own.table_at[i], 0,
           s->own.table_funcref[i] ? sizeof(wasm_rt_funcref_table_t)
                                   : sizeof(wasm_rt_externref_table_t));
  abi->rebind(data, inst->imports);

  bool ok = true;
  mote_rt_critical_enter();
  for (uint32_t i = 0; ok && i < s->own.memories; i++) ok = restore_memory(s, i, data, limits);
  for (uint32_t i = 0; ok && i < s->own.tables; i++) ok = restore_table(s, i, data, limits);
  mote_rt_critical_leave();
  if (!ok) {
    mote_rt_instance_free(inst);
    /* As instantiate reports a memory or table it cannot make. */
    return mote_rt_fail(err, MOTE_RT_TRAP, MOTE_TRAP_RESOURCE, 0,
                        "resource limit: the snapshot's memories or tables do not fit the "
                        "instance's limits (or the host is out of memory)");
  }
  *out = inst;
  return MOTE_RT_OK;
}
