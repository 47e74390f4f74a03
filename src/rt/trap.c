/*
 * Traps: how generated code (wasm_rt_trap), host functions (mote_rt_raise)
 * and the signal handler stop a guest, and the messages users see.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt/rt_internal.h"

/* All trap messages, in one place. The first six are the spec's wording. */
const char *mote_rt_trap_message(mote_trap_kind kind) {
  switch (kind) {
    case MOTE_TRAP_NONE: return "no trap";
    case MOTE_TRAP_OOB: return "out of bounds memory access";
    case MOTE_TRAP_INT_OVERFLOW: return "integer overflow";
    case MOTE_TRAP_DIV_BY_ZERO: return "integer divide by zero";
    case MOTE_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case MOTE_TRAP_UNREACHABLE: return "unreachable executed";
    case MOTE_TRAP_CALL_INDIRECT: return "indirect call type mismatch or null/undefined element";
    case MOTE_TRAP_EXHAUSTION: return "call stack exhausted";
    case MOTE_TRAP_UNCAUGHT_EXCEPTION: return "uncaught exception";
    case MOTE_TRAP_TIMEOUT: return "timeout: the function ran past its deadline";
    case MOTE_TRAP_EXIT: return "exit";
    case MOTE_TRAP_RESOURCE: return "resource limit: the host could not provide a memory or table "
                                    "of the requested size, or a function's code (lazy compile)";
    case MOTE_TRAP_HOST: return "a host function failed";
    case MOTE_TRAP_CANCELLED: return "cancelled: the host stopped the run";
  }
  return "unknown trap";
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap) {
  switch (trap) {
    case WASM_RT_TRAP_NONE: return mote_rt_trap_message(MOTE_TRAP_NONE);
    case WASM_RT_TRAP_OOB: return mote_rt_trap_message(MOTE_TRAP_OOB);
    case WASM_RT_TRAP_INT_OVERFLOW: return mote_rt_trap_message(MOTE_TRAP_INT_OVERFLOW);
    case WASM_RT_TRAP_DIV_BY_ZERO: return mote_rt_trap_message(MOTE_TRAP_DIV_BY_ZERO);
    case WASM_RT_TRAP_INVALID_CONVERSION: return mote_rt_trap_message(MOTE_TRAP_INVALID_CONVERSION);
    case WASM_RT_TRAP_UNREACHABLE: return mote_rt_trap_message(MOTE_TRAP_UNREACHABLE);
    case WASM_RT_TRAP_CALL_INDIRECT: return mote_rt_trap_message(MOTE_TRAP_CALL_INDIRECT);
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return mote_rt_trap_message(MOTE_TRAP_UNCAUGHT_EXCEPTION);
    case WASM_RT_TRAP_EXHAUSTION: return mote_rt_trap_message(MOTE_TRAP_EXHAUSTION);
  }
  return "unknown trap";
}

static mote_trap_kind from_wasm_rt(wasm_rt_trap_t code) {
  switch (code) {
    case WASM_RT_TRAP_NONE: return MOTE_TRAP_NONE;
    case WASM_RT_TRAP_OOB: return MOTE_TRAP_OOB;
    case WASM_RT_TRAP_INT_OVERFLOW: return MOTE_TRAP_INT_OVERFLOW;
    case WASM_RT_TRAP_DIV_BY_ZERO: return MOTE_TRAP_DIV_BY_ZERO;
    case WASM_RT_TRAP_INVALID_CONVERSION: return MOTE_TRAP_INVALID_CONVERSION;
    case WASM_RT_TRAP_UNREACHABLE: return MOTE_TRAP_UNREACHABLE;
    case WASM_RT_TRAP_CALL_INDIRECT: return MOTE_TRAP_CALL_INDIRECT;
    case WASM_RT_TRAP_UNCAUGHT_EXCEPTION: return MOTE_TRAP_UNCAUGHT_EXCEPTION;
    case WASM_RT_TRAP_EXHAUSTION: return MOTE_TRAP_EXHAUSTION;
  }
  return MOTE_TRAP_HOST;
}

void mote_rt_write_str(const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(STDERR_FILENO, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

void mote_rt_write_hex(uintptr_t v) {
  char buf[2 + 2 * sizeof v + 1];
  char *p = buf + sizeof buf;
  *--p = '\0';
  do {
    *--p = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  *--p = 'x';
  *--p = '0';
  mote_rt_write_str(p);
}

_Noreturn void mote_rt_deliver(mote_trap_kind kind, uint32_t detail) {
  mote_rt_thread *t = &mote_rt_tls;
  if (!t->frame) {
    /* A trap with nowhere to go: a runtime function was called outside
     * mote_rt_call/mote_rt_instantiate. That is a host bug. */
    mote_rt_write_str("mote: trap outside any guest call: ");
    mote_rt_write_str(mote_rt_trap_message(kind));
    mote_rt_write_str("\n");
    abort();
  }
  t->trap_kind = kind;
  t->trap_detail = detail;
  siglongjmp(t->frame->env, 1);
}

void wasm_rt_trap(wasm_rt_trap_t code) {
  mote_rt_deliver(from_wasm_rt(code), 0);
}

_Noreturn void mote_rt_raise(mote_trap_kind kind, uint32_t detail) {
  mote_rt_deliver(kind, detail);
}
