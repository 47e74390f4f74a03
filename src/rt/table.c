/*
 * Tables of funcref and externref: plain arrays from calloc()/realloc().
 * Generated code checks every table index itself. Each table's max_size is
 * lowered to the instance's cap (or a default cap) so table.grow cannot
 * exhaust the host.
 */
#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"

/* The cap for a table created now: the instantiation context's, if any. */
static uint32_t cap_for(uint32_t max) {
  const mote_rt_limits *limits = mote_rt_tls.limits;
  uint32_t cap = limits && limits->max_table_elems ? limits->max_table_elems
                                                   : MOTE_RT_DEFAULT_MAX_TABLE_ELEMS;
  return max < cap ? max : cap;
}

#define IS_FUNCREF_funcref true
#define IS_FUNCREF_externref false

/* Both table types have the same layout apart from the element type. The
 * wasm_rt_* functions run as runtime work (thread.c): a deadline waits. */
#define DEFINE_TABLE(type)                                                                    \
  bool mote_rt_##type##_table_init(wasm_rt_##type##_table_t *t, uint32_t elems,              \
                                   uint32_t max) {                                           \
    memset(t, 0, sizeof *t);                                                                 \
    if (elems > max) return false;                                                           \
    /* At least one element so that an empty table still has data != NULL. */              \
    t->data = calloc(elems ? elems : 1, sizeof *t->data);                                    \
    if (!t->data) return false;                                                              \
    t->size = elems;                                                                         \
    t->max_size = max;                                                                       \
    return true;                                                                             \
  }                                                                                          \
                                                                                             \
  void wasm_rt_allocate_##type##_table(wasm_rt_##type##_table_t *t, uint32_t elems,          \
                                       uint32_t max) {                                       \
    mote_rt_critical_enter();                                                                \
    bool ok = mote_rt_##type##_table_init(t, elems, cap_for(max));                           \
    if (ok) mote_rt_own_note(t, false, IS_FUNCREF_##type);                                   \
    mote_rt_critical_leave();                                                                \
    if (!ok) mote_rt_deliver(MOTE_TRAP_RESOURCE, 0);                                         \
  }                                                                                          \
                                                                                             \
  void wasm_rt_free_##type##_table(wasm_rt_##type##_table_t *t) {                            \
    if (!t) return;                                                                          \
    mote_rt_critical_enter();                                                                \
    free(t->data);                                                                           \
    memset(t, 0, sizeof *t);                                                                 \
    mote_rt_critical_leave();                                                                \
  }                                                                                          \
                                                                                             \
  static uint32_t grow_##type(wasm_rt_##type##_table_t *t, uint32_t delta,                   \
                              wasm_rt_##type##_t init) {                                     \
    uint32_t old = t->size;                                                                  \
    uint64_t want = (uint64_t)old + delta;                                                   \
    if (want > t->max_size || !t->data) return UINT32_MAX;                                   \
    if (delta == 0) return old;                                                              \
    wasm_rt_##type##_t *grown = realloc(t->data, (size_t)want * sizeof *grown);              \
    if (!grown) return UINT32_MAX;                                                           \
    for (uint64_t i = old; i < want; i++) grown[i] = init;                                   \
    t->data = grown;                                                                         \
    t->size = (uint32_t)want;                                                                \
    return old;                                                                              \
  }                                                                                          \
                                                                                             \
  uint32_t wasm_rt_grow_##type##_table(wasm_rt_##type##_table_t *t, uint32_t delta,          \
                                       wasm_rt_##type##_t init) {                            \
    mote_rt_critical_enter();                                                                \
    uint32_t r = grow_##type(t, delta, init);                                                \
    mote_rt_critical_leave();                                                                \
    return r;                                                                                \
  }                                                                                          \
                                                                                             \
  wasm_rt_##type##_table_t *mote_rt_##type##_table_new(uint32_t min, uint32_t max,           \
                                                       bool has_max) {                       \
    wasm_rt_##type##_table_t *t = calloc(1, sizeof *t); /* mote_rt_*_table_free */          \
    if (!t) return NULL;                                                                     \
    if (!mote_rt_##type##_table_init(t, min, cap_for(has_max ? max : UINT32_MAX))) {         \
      free(t);                                                                               \
      return NULL;                                                                           \
    }                                                                                        \
    return t;                                                                                \
  }                                                                                          \
                                                                                             \
  void mote_rt_##type##_table_free(wasm_rt_##type##_table_t *t) {                            \
    if (!t) return;                                                                          \
    wasm_rt_free_##type##_table(t);                                                          \
    free(t);                                                                                 \
  }

DEFINE_TABLE(funcref)
DEFINE_TABLE(externref)
