/*
 * invoke: resolve against WASI, instantiate under limits and a deadline,
 * call _start, classify the outcome. See invoke.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invoke/invoke.h"

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *mote_invoke_outcome_name(mote_invoke_outcome o) {
  switch (o) {
    case MOTE_INVOKE_EXITED: return "exit";
    case MOTE_INVOKE_TRAP: return "trap";
    case MOTE_INVOKE_TIMEOUT: return "timeout";
    case MOTE_INVOKE_LIMIT: return "limit";
    case MOTE_INVOKE_LINK: return "link";
    case MOTE_INVOKE_HOST: return "host";
    case MOTE_INVOKE_INIT: return "init";
    case MOTE_INVOKE_CANCELLED: return "cancelled";
  }
  return "?";
}

/* Resolves every import through w; false with a message naming the first
 * one WASI cannot provide. */
static bool resolve_imports(mote_wasi *w, const mote_abi_module *abi, mote_rt_extern *imports,
                            char *msg, size_t cap) {
  for (uint32_t k = 0; k < abi->import_count; k++) {
    const mote_abi_import *imp = &abi->imports[k];
    if (imp->type.kind != MOTE_ABI_FUNC ||
        !mote_wasi_resolve(w, imp->module, imp->module_len, imp->name, imp->name_len,
                           &imports[k])) {
      snprintf(msg, cap,
               "the module imports \"%.*s\" \"%.*s\", which mote cannot provide "
               "(it provides \"" MOTE_WASI_MODULE "\" functions only)",
               (int)imp->module_len, imp->module, (int)imp->name_len, imp->name);
      return false;
    }
  }
  return true;
}

bool mote_invoke_check_imports(mote_rt_module *m, char *msg, size_t cap) {
  const mote_abi_module *abi = mote_rt_module_abi(m);
  mote_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  const char *why = NULL;
  mote_wasi *w = mote_wasi_new(&cfg, &why);
  mote_rt_extern *imports = calloc(abi->import_count ? abi->import_count : 1, sizeof *imports);
  bool ok = false;
  if (!w || !imports) {
    snprintf(msg, cap, "out of memory while checking the module's imports");
    goto done;
  }
  ok = resolve_imports(w, abi, imports, msg, cap);
done:
  free(imports);
  mote_wasi_free(w);
  return ok;
}

static uint8_t *copy_bytes(const uint8_t *p, size_t n) {
  if (!n) return NULL;
  uint8_t *c = malloc(n);
  if (c) memcpy(c, p, n);
  return c;
}

/* Calls export `name` (a () -> () function) if the module has one. */
static mote_rt_status call_if_exported(mote_rt_instance *inst, const char *name,
                                       mote_rt_error *err) {
  mote_rt_module *mod = mote_rt_instance_module(inst);
  int32_t i = mote_rt_module_find_export(mod, name, strlen(name));
  if (i < 0) return MOTE_RT_OK;
  const mote_abi_export *x = &mote_rt_module_abi(mod)->exports[i];
  if (x->type.kind != MOTE_ABI_FUNC) return MOTE_RT_OK;
  if (strcmp(x->type.signature, ":") != 0) {
    memset(err, 0, sizeof *err);
    err->status = MOTE_RT_LINK_FAILED;
    snprintf(err->message, sizeof err->message,
             "the export \"%s\" must take and return nothing; it has type %s", name,
             x->type.signature);
    return MOTE_RT_LINK_FAILED;
  }
  return mote_rt_call(inst, (uint32_t)i, NULL, NULL, err);
}

/* One run: a fresh instance (from cfg->snapshot when there is one, else
 * instantiated, with MOTE_INVOKE_INIT_EXPORT called), then `_start`, or,
 * when `snap` is not NULL, a snapshot of the instance instead of _start. */
static mote_invoke_outcome run(const mote_invoke_config *cfg, mote_invoke_result *r,
                               mote_rt_snapshot **snap, bool *unsupported) {
  memset(r, 0, sizeof *r);
  r->exit_code = -1;
  r->outcome = MOTE_INVOKE_HOST;
  mote_rt_init();

  uint64_t t0 = now_us(), t1 = 0;
  mote_rt_module *mod = cfg->snapshot ? mote_rt_snapshot_module(cfg->snapshot) : cfg->module;
  const mote_abi_module *abi = mote_rt_module_abi(mod);
  mote_rt_instance *inst = NULL;
  mote_rt_extern *imports = NULL;
  mote_rt_error err;
  memset(&err, 0, sizeof err);
  bool timed = false;
  const char *why = NULL;
  if (cfg->cancel) mote_rt_cancel_bind(cfg->cancel); /* unbound at done */

  mote_wasi *w = mote_wasi_new(&cfg->wasi, &why);
  if (!w) {
    snprintf(r->message, sizeof r->message, "%s: %s", why ? why : "WASI context",
             strerror(errno));
    goto done;
  }
  imports = calloc(abi->import_count ? abi->import_count : 1, sizeof *imports);
  if (!imports) {
    snprintf(r->message, sizeof r->message, "out of memory");
    goto done;
  }
  if (!resolve_imports(w, abi, imports, r->message, sizeof r->message)) {
    r->outcome = MOTE_INVOKE_LINK;
    goto done;
  }
  if (cfg->timeout_ms) {
    if (mote_rt_deadline_set(cfg->timeout_ms * 1000000u, &err) != MOTE_RT_OK) {
      snprintf(r->message, sizeof r->message, "%s", err.message);
      goto done;
    }
    timed = true;
  }
  mote_rt_limits limits = {.max_memory_pages = cfg->memory_pages};
  mote_rt_status st;
  if (cfg->snapshot) {
    st = mote_rt_snapshot_instantiate(cfg->snapshot, imports, &limits, &inst, &err);
    if (st == MOTE_RT_OK) mote_wasi_bind_memory(w, inst); /* no memory: every pointer is EFAULT */
  } else {
    st = mote_rt_instantiate(mod, imports, &limits, &inst, &err);
    if (st == MOTE_RT_OK) {
      mote_wasi_bind_memory(w, inst);
      st = call_if_exported(inst, MOTE_INVOKE_INIT_EXPORT, &err);
    }
  }
  t1 = now_us();
  if (st == MOTE_RT_OK && snap) {
    if (!mote_wasi_fds_pristine(w)) {
      snprintf(r->message, sizeof r->message,
               MOTE_INVOKE_INIT_EXPORT " left files open or changed the open directories: "
               "close every file it opens, so that calls start with the fds it started with");
      r->outcome = MOTE_INVOKE_INIT;
      goto done;
    }
    st = mote_rt_snapshot_take(inst, snap, &err);
    if (st == MOTE_RT_UNSUPPORTED) {
      *unsupported = true;
      snprintf(r->message, sizeof r->message, "%s", err.message);
      st = MOTE_RT_OK; /* runs will instantiate as usual */
    }
  } else if (st == MOTE_RT_OK) {
    st = call_if_exported(inst, "_start", &err);
  }
  r->init_us = t1 - t0;
  r->exec_us = now_us() - t1;
  r->trap = st == MOTE_RT_TRAP ? err.trap : MOTE_TRAP_NONE;

  if (st == MOTE_RT_OK) {
    r->outcome = MOTE_INVOKE_EXITED;
    r->exit_code = 0;
  } else if (st == MOTE_RT_LINK_FAILED && err.trap == MOTE_TRAP_NONE && inst) {
    r->outcome = MOTE_INVOKE_LINK; /* an entry point of the wrong type */
    snprintf(r->message, sizeof r->message, "%s", err.message);
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_EXIT) {
    r->outcome = MOTE_INVOKE_EXITED;
    r->exit_code = (int)err.detail;
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_CANCELLED) {
    r->outcome = MOTE_INVOKE_CANCELLED;
    snprintf(r->message, sizeof r->message, "%s", err.message);
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_TIMEOUT) {
    r->outcome = MOTE_INVOKE_TIMEOUT;
    snprintf(r->message, sizeof r->message, "%s", err.message);
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_HOST &&
             mote_wasi_stop_reason(w) == MOTE_WASI_TIMEOUT) {
    r->outcome = MOTE_INVOKE_TIMEOUT;
    snprintf(r->message, sizeof r->message, "%s", mote_wasi_stop_message(w));
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_HOST &&
             mote_wasi_stop_reason(w) == MOTE_WASI_HOST_FAILURE) {
    r->outcome = MOTE_INVOKE_HOST;
    snprintf(r->message, sizeof r->message, "%s", mote_wasi_stop_message(w));
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_HOST &&
             mote_wasi_stop_reason(w) != MOTE_WASI_RUNNING) {
    r->outcome = MOTE_INVOKE_LIMIT;
    snprintf(r->message, sizeof r->message, "%s", mote_wasi_stop_message(w));
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_RESOURCE) {
    r->outcome = MOTE_INVOKE_LIMIT;
    snprintf(r->message, sizeof r->message, "%s", err.message);
  } else if (st == MOTE_RT_TRAP) {
    r->outcome = MOTE_INVOKE_TRAP;
    snprintf(r->message, sizeof r->message, "trap: %s", err.message);
  } else if (st == MOTE_RT_LINK_FAILED) {
    r->outcome = MOTE_INVOKE_LINK;
    snprintf(r->message, sizeof r->message, "%s", err.message);
  } else {
    r->outcome = MOTE_INVOKE_HOST;
    snprintf(r->message, sizeof r->message, "%s", err.message);
  }

done:
  /* every path, a failure after it was set too (mote_init's files left open) */
  if (timed) mote_rt_deadline_clear();
  if (cfg->cancel) mote_rt_cancel_unbind(cfg->cancel);
  if (w) {
    size_t n;
    const uint8_t *p = mote_wasi_stdout(w, &n);
    r->stdout_data = copy_bytes(p, n);
    r->stdout_len = r->stdout_data ? n : 0;
    p = mote_wasi_stderr(w, &n);
    r->stderr_data = copy_bytes(p, n);
    r->stderr_len = r->stderr_data ? n : 0;
  }
  if (inst) mote_rt_instance_free(inst);
  mote_wasi_free(w);
  free(imports);
  return r->outcome;
}

mote_invoke_outcome mote_invoke_run(const mote_invoke_config *cfg, mote_invoke_result *r) {
  return run(cfg, r, NULL, NULL);
}

mote_invoke_outcome mote_invoke_prepare(const mote_invoke_config *cfg, mote_rt_snapshot **out,
                                        mote_invoke_result *r) {
  *out = NULL;
  mote_invoke_config c = *cfg;
  c.snapshot = NULL;
  bool unsupported = false;
  run(&c, r, out, &unsupported);
  if (r->outcome == MOTE_INVOKE_EXITED && !*out && !unsupported) {
    /* proc_exit: a call would start from an instance that has exited. */
    r->outcome = MOTE_INVOKE_INIT;
    snprintf(r->message, sizeof r->message,
             "the initialisation called proc_exit(%d) instead of returning", r->exit_code);
  }
  return r->outcome;
}

void mote_invoke_result_clear(mote_invoke_result *r) {
  free(r->stdout_data);
  free(r->stderr_data);
  r->stdout_data = r->stderr_data = NULL;
  r->stdout_len = r->stderr_len = 0;
}
