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
  id = find(params, results, sig);
  if (id == 0 && count == capacity) {
    uint32_t cap = capacity ? capacity * 2 : 64;
    functype *grown = realloc(types, cap * sizeof *grown);
    if (grown) {
      types = grown;
      capacity = cap;
    }
  }
  if (id == 0 && count < capacity) {
    types[count] = (functype){params, results, sig};
    sig = NULL; /* owned by the registry */
    id = ++count;
  }
  pthread_mutex_unlock(&lock);
out:
  free(sig);
  mote_rt_critical_leave();
  /* Out of memory: a module cannot even be set up, and generated code has
   * no way to report it (id 0 would make every call_indirect trap). */
  if (id == 0) mote_rt_deliver(MOTE_TRAP_RESOURCE, 0);
  return id;
}
