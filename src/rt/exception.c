/*
 * Wasm exceptions (the wasm-rt.h interface), per thread. Only what
 * generated code needs: one active exception and an unwind target. An
 * exception no try block catches unwinds to the guest call's trap target
 * (thread.c sets it as the outermost unwind target) as
 * MOTE_TRAP_UNCAUGHT_EXCEPTION.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rt/rt_internal.h"

/* Tags only need to be distinct; the stock runtime allows this payload size. */
#define MAX_EXCEPTION_SIZE 65536u

static atomic_uint next_tag;

uint32_t wasm_rt_register_tag(uint32_t size) {
  if (size > MAX_EXCEPTION_SIZE) mote_rt_deliver(MOTE_TRAP_RESOURCE, 0);
  return atomic_fetch_add(&next_tag, 1);
}

void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *values) {
  mote_rt_thread *t = &mote_rt_tls;
  if (size > MAX_EXCEPTION_SIZE) mote_rt_deliver(MOTE_TRAP_RESOURCE, 0);
  if (!t->exc_buf) {
    /* Freed at thread exit (thread.c). Runtime work: a deadline waits. */
    mote_rt_critical_enter();
    t->exc_buf = malloc(MAX_EXCEPTION_SIZE);
    mote_rt_critical_leave();
    if (!t->exc_buf) mote_rt_deliver(MOTE_TRAP_RESOURCE, 0);
  }
  t->exc_tag = tag;
  t->exc_size = size;
  if (size) memcpy(t->exc_buf, values, size);
}

void wasm_rt_throw(void) {
  mote_rt_thread *t = &mote_rt_tls;
  if (!t->unwind) mote_rt_deliver(MOTE_TRAP_UNCAUGHT_EXCEPTION, 0);
  /* Read only if the jump lands on a guest call's frame, i.e. nothing caught it. */
  t->trap_kind = MOTE_TRAP_UNCAUGHT_EXCEPTION;
  t->trap_detail = 0;
  siglongjmp(*t->unwind, 1);
}

WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void) {
  return mote_rt_tls.unwind;
}

void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *target) {
  mote_rt_tls.unwind = target;
}

uint32_t wasm_rt_exception_tag(void) {
  return mote_rt_tls.exc_tag;
}

uint32_t wasm_rt_exception_size(void) {
  return mote_rt_tls.exc_size;
}

void *wasm_rt_exception(void) {
  return mote_rt_tls.exc_buf;
}
