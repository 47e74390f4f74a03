/*
 * Instances: linking (import type checks), instantiation under a trap
 * target, calls into exports, and exports handed out as externs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"

void mote_rt_own_note(void *field, bool is_memory, bool funcref) {
  mote_rt_own *own = mote_rt_tls.own;
  uint8_t *p = field;
  if (!own || p < own->lo || p >= own->hi) return; /* a host-made one */
  uint32_t at = (uint32_t)(p - own->lo);
  if (is_memory && own->memories < MOTE_RT_MAX_OWN) {
    own->memory_at[own->memories++] = at;
  } else if (!is_memory && own->tables < MOTE_RT_MAX_OWN) {
    own->table_funcref[own->tables] = funcref;
    own->table_at[own->tables++] = at;
  } else {
    own->overflow = true;
  }
}

static const char *kind_name(uint8_t kind) {
  switch (kind) {
    case MOTE_ABI_FUNC: return "function";
    case MOTE_ABI_TABLE: return "table";
    case MOTE_ABI_MEMORY: return "memory";
    case MOTE_ABI_GLOBAL: return "global";
  }
  return "unknown kind";
}

static const char *valtype_name(uint8_t t) {
  switch (t) {
    case MOTE_ABI_I32: return "i32";
    case MOTE_ABI_I64: return "i64";
    case MOTE_ABI_F32: return "f32";
    case MOTE_ABI_F64: return "f64";
    case MOTE_ABI_FUNCREF: return "funcref";
    case MOTE_ABI_EXTERNREF: return "externref";
  }
  return "unknown type";
}

/* Limits match when the provided current size is at least the import's
 * min and, if the import has a max, the provided max is no larger. */
static bool limits_match(const mote_abi_type *want, uint64_t have_size, const mote_abi_type *have,
                         const char *unit, char *why, size_t n) {
  if (have_size < want->min) {
    snprintf(why, n, "needs at least %llu %s, the provided one has %llu",
             (unsigned long long)want->min, unit, (unsigned long long)have_size);
    return false;
  }
  if (want->has_max && !have->has_max) {
    snprintf(why, n, "needs a maximum of at most %llu %s, the provided one has no maximum",
             (unsigned long long)want->max, unit);
    return false;
  }
  if (want->has_max && have->max > want->max) {
    snprintf(why, n, "needs a maximum of at most %llu %s, the provided one has %llu",
             (unsigned long long)want->max, unit, (unsigned long long)have->max);
    return false;
  }
  return true;
}

/* True if `ext` can satisfy `imp`; otherwise says why in why[n]. */
static bool import_matches(const mote_abi_import *imp, const mote_rt_extern *ext, char *why,
                           size_t n) {
  const mote_abi_type *want = &imp->type, *have = &ext->type;
  if (want->kind != have->kind) {
    snprintf(why, n, "expected a %s, got a %s", kind_name(want->kind), kind_name(have->kind));
    return false;
  }
  switch (want->kind) {
    case MOTE_ABI_FUNC:
      if (!ext->binding.func.fn) {
        snprintf(why, n, "the function is NULL");
        return false;
      }
      if (!have->signature || strcmp(want->signature, have->signature) != 0) {
        snprintf(why, n, "expected signature %s, got %s", want->signature,
                 have->signature ? have->signature : "(none)");
        return false;
      }
      return true;
    case MOTE_ABI_GLOBAL:
      if (!ext->binding.global) {
        snprintf(why, n, "the global's storage is NULL");
        return false;
      }
      if (want->valtype != have->valtype || want->mutable_ != have->mutable_) {
        snprintf(why, n, "expected %s %s, got %s %s", want->mutable_ ? "mutable" : "immutable",
                 valtype_name(want->valtype), have->mutable_ ? "mutable" : "immutable",
                 valtype_name(have->valtype));
        return false;
      }
      return true;
    case MOTE_ABI_MEMORY:
      if (!ext->binding.memory) {
        snprintf(why, n, "the memory is NULL");
        return false;
      }
      return limits_match(want, ext->binding.memory->pages, have, "pages", why, n);
    case MOTE_ABI_TABLE: {
      if (want->valtype != have->valtype) {
        snprintf(why, n, "expected a table of %s, got a table of %s", valtype_name(want->valtype),
                 valtype_name(have->valtype));
        return false;
      }
      const void *table = want->valtype == MOTE_ABI_FUNCREF ? (const void *)ext->binding.funcref_table
                                                            : (const void *)ext->binding.externref_table;
      if (!table) {
        snprintf(why, n, "the table is NULL");
        return false;
      }
      uint32_t size = want->valtype == MOTE_ABI_FUNCREF ? ext->binding.funcref_table->size
                                                        : ext->binding.externref_table->size;
      return limits_match(want, size, have, "elements", why, n);
    }
  }
  snprintf(why, n, "unknown import kind %u", want->kind);
  return false;
}

mote_rt_status mote_rt_link_check(const mote_abi_module *abi, const mote_rt_extern *imports,
                                  mote_rt_error *err) {
  for (uint32_t i = 0; i < abi->import_count; i++) {
    const mote_abi_import *imp = &abi->imports[i];
    char why[160];
    if (!imports) {
      snprintf(why, sizeof why, "no imports were provided");
    } else if (import_matches(imp, &imports[i], why, sizeof why)) {
      continue;
    }
    return mote_rt_fail(err, MOTE_RT_LINK_FAILED, MOTE_TRAP_NONE, 0,
                        "incompatible import type for \"%.*s\" \"%.*s\": %s",
                        (int)imp->module_len, imp->module, (int)imp->name_len, imp->name, why);
  }
  return MOTE_RT_OK;
}

typedef struct instantiate_ctx {
  const mote_abi_module *abi;
  void *data;
  const mote_abi_binding *imports;
} instantiate_ctx;

static void run_instantiate(void *p) {
  instantiate_ctx *c = p;
  c->abi->instantiate(c->data, c->imports);
}

void mote_rt_set_trap(mote_rt_error *err, mote_trap_kind trap, uint32_t detail) {
  if (trap == MOTE_TRAP_EXIT) {
    mote_rt_fail(err, MOTE_RT_TRAP, trap, detail, "exited with code %u", detail);
  } else if (trap == MOTE_TRAP_TIMEOUT) {
    char msg[96];
    mote_rt_deadline_message(msg, sizeof msg);
    mote_rt_fail(err, MOTE_RT_TRAP, trap, detail, "%s", msg);
  } else {
    mote_rt_fail(err, MOTE_RT_TRAP, trap, detail, "%s", mote_rt_trap_message(trap));
  }
}

mote_rt_status mote_rt_instantiate(mote_rt_module *m, const mote_rt_extern *imports,
                                   const mote_rt_limits *limits, mote_rt_instance **out,
                                   mote_rt_error *err) {
  const mote_abi_module *abi = mote_rt_module_abi(m);
  mote_rt_status st = MOTE_RT_OK;
  mote_rt_instance *inst = NULL;
  *out = NULL;
  if (err) memset(err, 0, sizeof *err);

  st = mote_rt_link_check(abi, imports, err);
  if (st != MOTE_RT_OK) goto out;

  inst = calloc(1, sizeof *inst + (size_t)abi->import_count * sizeof inst->imports[0]);
  if (!inst) goto nomem;
  inst->module = m;
  inst->import_count = abi->import_count;
  for (uint32_t i = 0; i < abi->import_count; i++) inst->imports[i] = imports[i].binding;
  /* Zeroed, so that abi->free after a trap half-way through instantiate
   * sees never-allocated memories and tables as empty. */
  inst->data = calloc(1, abi->instance_size ? abi->instance_size : 1);
  if (!inst->data) goto nomem;

  /* The instantiation context: memories and tables this instantiate creates
   * take their caps from `limits`. Saved and restored, since a host
   * function run by a start function may instantiate too. */
  const mote_rt_limits *saved_limits = mote_rt_tls.limits;
  mote_rt_own *saved_own = mote_rt_tls.own;
  instantiate_ctx ctx = {abi, inst->data, inst->imports};
  uint32_t detail;
  inst->own.lo = inst->data;
  inst->own.hi = (uint8_t *)inst->data + abi->instance_size;
  mote_rt_tls.limits = limits;
  mote_rt_tls.own = &inst->own;
  mote_trap_kind trap = mote_rt_run_guest(run_instantiate, &ctx, true, &detail);
  mote_rt_tls.limits = saved_limits;
  mote_rt_tls.own = saved_own;
  if (trap != MOTE_TRAP_NONE) {
    mote_rt_set_trap(err, trap, detail);
    st = MOTE_RT_TRAP;
    /* Elements written into an imported table before the trap stay there
     * (the spec's linking rules), pointing at this instance's functions
     * with the instance as their context, which may yet be called: such an
     * instance lives on, unreachable but for those entries, until its
     * module is freed. (Freeing it made a later call through the table
     * read freed memory; the lazy objects' stubs, which allocate, turned
     * that into a crash.) */
    if (mote_rt_module_park(m, inst)) {
      inst = NULL;
      goto out;
    }
    abi->free(inst->data);
    goto out;
  }
  *out = inst;
  inst = NULL;
  goto out;

nomem:
  st = mote_rt_fail(err, MOTE_RT_NOMEM, MOTE_TRAP_NONE, 0, "out of memory creating an instance");
out:
  if (inst) free(inst->data);
  free(inst);
  return st;
}

void mote_rt_instance_free(mote_rt_instance *inst) {
  if (!inst) return;
  mote_rt_module_abi(inst->module)->free(inst->data);
  free(inst->data);
  free(inst);
}

mote_rt_module *mote_rt_instance_module(const mote_rt_instance *inst) {
  return inst->module;
}

mote_rt_extern mote_rt_instance_export(mote_rt_instance *inst, uint32_t index) {
  const mote_abi_module *abi = mote_rt_module_abi(inst->module);
  mote_rt_extern ext;
  memset(&ext, 0, sizeof ext);
  if (index >= abi->export_count) return ext;
  const mote_abi_export *x = &abi->exports[index];
  ext.type = x->type;
  switch (x->type.kind) {
    case MOTE_ABI_FUNC:
      ext.binding.func.fn = x->func;
      ext.binding.func.ctx = inst->data;
      break;
    case MOTE_ABI_MEMORY:
      ext.binding.memory = x->get(inst->data);
      ext.type.min = ext.binding.memory->pages;
      break;
    case MOTE_ABI_TABLE:
      if (x->type.valtype == MOTE_ABI_FUNCREF) {
        ext.binding.funcref_table = x->get(inst->data);
        ext.type.min = ext.binding.funcref_table->size;
      } else {
        ext.binding.externref_table = x->get(inst->data);
        ext.type.min = ext.binding.externref_table->size;
      }
      break;
    case MOTE_ABI_GLOBAL:
      ext.binding.global = x->get(inst->data);
      break;
  }
  return ext;
}

typedef struct call_ctx {
  const mote_abi_export *export_;
  void *data;
  const mote_val *args;
  mote_val *results;
} call_ctx;

static void run_call(void *p) {
  call_ctx *c = p;
  c->export_->call(c->data, c->args, c->results);
}

mote_rt_status mote_rt_call(mote_rt_instance *inst, uint32_t index, const mote_val *args,
                            mote_val *results, mote_rt_error *err) {
  const mote_abi_module *abi = mote_rt_module_abi(inst->module);
  if (index >= abi->export_count || abi->exports[index].type.kind != MOTE_ABI_FUNC ||
      !abi->exports[index].call) {
    return mote_rt_fail(err, MOTE_RT_LINK_FAILED, MOTE_TRAP_NONE, 0,
                        "export %u is not a function", index);
  }
  call_ctx ctx = {&abi->exports[index], inst->data, args, results};
  uint32_t detail;
  mote_trap_kind trap = mote_rt_run_guest(run_call, &ctx, true, &detail);
  if (trap != MOTE_TRAP_NONE) {
    mote_rt_set_trap(err, trap, detail);
    return MOTE_RT_TRAP;
  }
  if (err) err->status = MOTE_RT_OK;
  return MOTE_RT_OK;
}
