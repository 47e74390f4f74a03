/*
 * The process-wide function type registry (wasm_rt_register_func_type):
 * equal signatures get equal ids, whichever module or thread registers
 * them, so call_indirect can compare ids across modules. One of the few
 * shared mutable globals; a mutex guards it. Entries live until exit.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"

typedef struct functype {
  uint32_t params, results;
  wasm_rt_type_t *types; /* params then results; from malloc(), never freed */
} functype;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static functype *types; /* from realloc() */
static uint32_t count, capacity;

static uint32_t find(uint32_t params, uint32_t results, const wasm_rt_type_t *sig) {
  size_t n = (size_t)params + results;
  for (uint32_t i = 0; i < count; i++) {
    if (types[i].params == params && types[i].results == results &&
        (n == 0 || memcmp(types[i].types, sig, n * sizeof *sig) == 0))
      return i + 1;
  }
  return 0;
}

/* Adds a signature (copied) or finds it: its id, 0 when out of memory.
 * Called with the lock held. */
static uint32_t intern_locked(uint32_t params, uint32_t results, const wasm_rt_type_t *sig) {
  uint32_t id = find(params, results, sig);
  if (id) return id;
  size_t n = (size_t)params + results;
  if (count == capacity) {
    uint32_t cap = capacity ? capacity * 2 : 64;
    functype *grown = realloc(types, cap * sizeof *grown);
    if (!grown) return 0;
    types = grown;
    capacity = cap;
  }
  wasm_rt_type_t *copy = malloc((n ? n : 1) * sizeof *copy);
  if (!copy) return 0;
  if (n) memcpy(copy, sig, n * sizeof *copy);
  types[count] = (functype){params, results, copy};
  return ++count;
}

uint32_t mote_rt_functype_intern(uint32_t params, uint32_t results, const wasm_rt_type_t *sig) {
  pthread_mutex_lock(&lock);
  uint32_t id = intern_locked(params, results, sig);
  pthread_mutex_unlock(&lock);
  return id;
}

bool mote_rt_functype_get(uint32_t id, uint32_t *params, uint32_t *results,
                          const wasm_rt_type_t **sig) {
  bool ok = false;
  pthread_mutex_lock(&lock);
  if (id >= 1 && id <= count) {
    *params = types[id - 1].params;
    *results = types[id - 1].results;
    *sig = types[id - 1].types; /* never freed nor moved: entries live until exit */
    ok = true;
  }
  pthread_mutex_unlock(&lock);
  return ok;
}

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...) {
  uint32_t id = 0;
  size_t n = (size_t)params + results;
  /* Runtime work (thread.c): a deadline must not jump out of malloc or the
   * lock. */
  mote_rt_critical_enter();
  wasm_rt_type_t *sig = malloc((n ? n : 1) * sizeof *sig);
  if (!sig) goto out;
  va_list ap;
  va_start(ap, results);
  for (size_t i = 0; i < n; i++) sig[i] = va_arg(ap, wasm_rt_type_t);
  va_end(ap);

  pthread_mutex_lock(&lock);
  id = intern_locked(params, results, sig);
  pthread_mutex_unlock(&lock);
out:
  free(sig);
  mote_rt_critical_leave();
  /* Out of memory: a module cannot even be set up, and generated code has
   * no way to report it (id 0 would make every call_indirect trap). */
  if (id == 0) mote_rt_deliver(MOTE_TRAP_RESOURCE, 0);
  return id;
}
