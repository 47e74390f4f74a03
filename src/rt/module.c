/*
 * Loading a compiled module: dlopen the shared object, find its ABI
 * descriptor, check the ABI version, run its one-time initialisation.
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/elf_stack.h"
#include "compile/lazy.h"
#include "rt/guest.h"
#include "rt/rt_internal.h"

struct mote_rt_module {
  void *dl;                  /* from dlopen(), closed by mote_rt_module_free */
  const mote_abi_module *abi; /* inside the loaded object */
  const mote_abi_lazy *lazy;  /* inside it too, for a lazy object (compile/lazy.h); else NULL */
  pthread_mutex_t parked_lock;
  /* failed instantiations kept (mote_rt_module_park): the array from
   * realloc(), the instances owned */
  mote_rt_instance **parked;
  size_t nparked, parked_cap;
};

/* init_module writes the module's static function-type table; the same
 * object loaded twice shares it, so initialisations are serialised. */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

/* Compiled modules call the wasm_rt_* functions (src/rt/exports.list), but
 * nothing in the executable may: without a reference the static linker
 * leaves their objects out of libmote.a's link and dlopen fails with
 * "undefined symbol". Every program that loads modules links this file. */
typedef void (*any_fn)(void);
__attribute__((used)) static const any_fn wasm_rt_interface[] = {
    (any_fn)wasm_rt_init,
    (any_fn)wasm_rt_is_initialized,
    (any_fn)wasm_rt_free,
    (any_fn)wasm_rt_trap,
    (any_fn)wasm_rt_strerror,
    (any_fn)wasm_rt_register_func_type,
    (any_fn)wasm_rt_register_tag,
    (any_fn)wasm_rt_load_exception,
    (any_fn)wasm_rt_throw,
    (any_fn)wasm_rt_get_unwind_target,
    (any_fn)wasm_rt_set_unwind_target,
    (any_fn)wasm_rt_exception_tag,
    (any_fn)wasm_rt_exception_size,
    (any_fn)wasm_rt_exception,
    (any_fn)wasm_rt_allocate_memory,
    (any_fn)wasm_rt_grow_memory,
    (any_fn)wasm_rt_free_memory,
    (any_fn)wasm_rt_allocate_funcref_table,
    (any_fn)wasm_rt_free_funcref_table,
    (any_fn)wasm_rt_allocate_externref_table,
    (any_fn)wasm_rt_free_externref_table,
    (any_fn)wasm_rt_grow_funcref_table,
    (any_fn)wasm_rt_grow_externref_table,
    (any_fn)mote_rt_host_enter,
    (any_fn)mote_rt_host_leave,
    (any_fn)mote_lazy_ready,
};

static void run_init_module(void *ctx) {
  const mote_abi_module *abi = ctx;
  abi->init_module();
}

mote_rt_status mote_rt_module_load(const char *so_path, mote_rt_module **out, mote_rt_error *err) {
  mote_rt_status st = MOTE_RT_OK;
  mote_rt_module *m = NULL;
  void *dl = NULL;
  *out = NULL;
  if (err) memset(err, 0, sizeof *err);
  mote_rt_init();

  /* (dlopen of such an object would make every thread's stack executable) */
  if (!mote_elf_stack_safe(so_path)) {
    st = mote_rt_fail(err, MOTE_RT_LOAD_FAILED, MOTE_TRAP_NONE, 0,
                      "%s asks for an executable stack (no PT_GNU_STACK, one with execute, or "
                      "more program headers than mote reads): not loaded; recompile it (remove "
                      "it from the compile cache)",
                      so_path);
    goto out;
  }
  dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
  if (!dl) {
    st = mote_rt_fail(err, MOTE_RT_LOAD_FAILED, MOTE_TRAP_NONE, 0, "cannot load compiled module: %s",
                      dlerror());
    goto out;
  }
  const mote_abi_module *abi = dlsym(dl, MOTE_ABI_SYMBOL);
  if (!abi) {
    st = mote_rt_fail(err, MOTE_RT_LOAD_FAILED, MOTE_TRAP_NONE, 0,
                      "%s is not a mote compiled module (no " MOTE_ABI_SYMBOL " symbol)", so_path);
    goto out;
  }
  if (abi->abi_version != MOTE_ABI_VERSION) {
    st = mote_rt_fail(err, MOTE_RT_LOAD_FAILED, MOTE_TRAP_NONE, 0,
                      "%s was compiled for mote ABI version %u, this runtime needs version %u: "
              "recompile it (remove it from the compile cache)",
              so_path, abi->abi_version, MOTE_ABI_VERSION);
    goto out;
  }
  m = calloc(1, sizeof *m);
  if (!m) {
    st = mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0, "out of memory loading %s", so_path);
    goto out;
  }

  /* Untimed: a module is shared by invocations, so one invocation's
   * deadline must not fail its load. */
  uint32_t detail;
  pthread_mutex_lock(&init_lock);
  mote_trap_kind trap = mote_rt_run_guest(run_init_module, (void *)abi, false, &detail);
  pthread_mutex_unlock(&init_lock);
  if (trap != MOTE_TRAP_NONE) {
    st = mote_rt_fail(err, MOTE_RT_LOAD_FAILED, trap, detail, "initialising %s failed: %s",
                      so_path, mote_rt_trap_message(trap));
    goto out;
  }

  /* a lazy object compiles its functions when first called: it needs its
   * module's bytes (checked here, at load) */
  const mote_abi_lazy *lazy = dlsym(dl, MOTE_ABI_LAZY_SYMBOL);
  char why[600];
  if (lazy && !mote_lazy_attach(lazy, so_path, why, sizeof why)) {
    st = mote_rt_fail(err, MOTE_RT_LOAD_FAILED, MOTE_TRAP_NONE, 0, "loading %s: %s", so_path, why);
    goto out;
  }
  m->lazy = lazy;
  pthread_mutex_init(&m->parked_lock, NULL);
  m->dl = dl;
  m->abi = abi;
  dl = NULL;
  *out = m;
  m = NULL;
out:
  free(m);
  if (dl) dlclose(dl);
  return st;
}

typedef struct extent_query {
  uintptr_t base, lo, hi;
  bool found;
} extent_query;

static int extent_of(struct dl_phdr_info *info, size_t size, void *p) {
  extent_query *q = p;
  (void)size;
  if (info->dlpi_addr != q->base) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD) continue;
    uintptr_t lo = q->base + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (!q->found || lo < q->lo) q->lo = lo;
    if (!q->found || hi > q->hi) q->hi = hi;
    q->found = true;
  }
  return q->found;
}

bool mote_rt_module_extent(const mote_rt_module *m, uintptr_t *base, uintptr_t *lo, uintptr_t *hi) {
  struct link_map *lm = NULL;
  if (dlinfo(m->dl, RTLD_DI_LINKMAP, &lm) != 0 || !lm) return false;
  extent_query q = {(uintptr_t)lm->l_addr, 0, 0, false};
  dl_iterate_phdr(extent_of, &q);
  /* The descriptor lies inside: the object found is the module's. */
  if (!q.found || (uintptr_t)m->abi < q.lo || (uintptr_t)m->abi >= q.hi) return false;
  *base = q.base, *lo = q.lo, *hi = q.hi;
  return true;
}

const mote_abi_module *mote_rt_module_abi(const mote_rt_module *m) {
  return m->abi;
}

void mote_rt_module_free(mote_rt_module *m) {
  if (!m) return;
  for (size_t i = 0; i < m->nparked; i++) {
    m->abi->free(m->parked[i]->data);
    free(m->parked[i]->data);
    free(m->parked[i]);
  }
  free(m->parked);
  pthread_mutex_destroy(&m->parked_lock);
  if (m->lazy) mote_lazy_detach(m->lazy);
  dlclose(m->dl);
  free(m);
}

static bool points_into(const wasm_rt_funcref_t *r, const mote_rt_instance *inst) {
  uintptr_t at = (uintptr_t)r->module_instance;
  return r->func && at >= (uintptr_t)inst->own.lo && at < (uintptr_t)inst->own.hi;
}

/* Whether a reference to one of inst's functions may be held outside it:
 * in an imported table or mutable global (looked at), or wherever an
 * imported function that takes a funcref put one (unknowable: yes). */
static bool may_be_referenced(const mote_abi_module *abi, const mote_rt_instance *inst) {
  for (uint32_t i = 0; i < abi->import_count; i++) {
    const mote_abi_type *t = &abi->imports[i].type;
    const mote_abi_binding *b = &inst->imports[i];
    if (t->kind == MOTE_ABI_FUNC) {
      const char *results = strchr(t->signature, ':');
      const char *r = strchr(t->signature, 'r');
      if (r && (!results || r < results)) return true;
    } else if (t->kind == MOTE_ABI_TABLE && t->valtype == MOTE_ABI_FUNCREF && b->funcref_table) {
      for (uint32_t k = 0; k < b->funcref_table->size; k++)
        if (points_into(&b->funcref_table->data[k], inst)) return true;
    } else if (t->kind == MOTE_ABI_GLOBAL && t->valtype == MOTE_ABI_FUNCREF && t->mutable_ &&
               b->global) {
      if (points_into((const wasm_rt_funcref_t *)b->global, inst)) return true;
    }
  }
  return false;
}

bool mote_rt_module_park(mote_rt_module *m, mote_rt_instance *inst) {
  if (!may_be_referenced(m->abi, inst)) return false;
  pthread_mutex_lock(&m->parked_lock);
  if (m->nparked == m->parked_cap) {
    size_t cap = m->parked_cap ? 2 * m->parked_cap : 8;
    mote_rt_instance **grown = realloc(m->parked, cap * sizeof *grown);
    if (grown) m->parked = grown, m->parked_cap = cap;
  }
  /* without room it is leaked, never freed: a reference may still call it */
  if (m->nparked < m->parked_cap) m->parked[m->nparked++] = inst;
  pthread_mutex_unlock(&m->parked_lock);
  return true;
}

int32_t mote_rt_module_find_export(const mote_rt_module *m, const char *name, size_t len) {
  const mote_abi_module *abi = m->abi;
  for (uint32_t i = 0; i < abi->export_count; i++) {
    const mote_abi_export *e = &abi->exports[i];
    if (e->name_len == len && (len == 0 || memcmp(e->name, name, len) == 0)) return (int32_t)i;
  }
  return -1;
}
