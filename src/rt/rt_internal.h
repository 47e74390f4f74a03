/*
 * Private to src/rt: the per-thread state and the pieces the files of the
 * runtime share (memory region registry, guest entry, trap delivery).
 * Nothing here is part of the contract with other layers: see rt.h, abi.h
 * and guest.h for that.
 */
#ifndef MOTE_RT_INTERNAL_H
#define MOTE_RT_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "rt/rt.h"

#define MOTE_RT_PAGE_SIZE 65536u
/* wasm_rt_memory_t.size is a u32: 65536 pages would wrap it to 0 and make
 * the generated bulk-memory range checks wrong, so one page less is the most
 * a memory may have. */
#define MOTE_RT_MAX_PAGES 65535u
/* Generated code computes &data[(u64)addr + offset] with addr and offset
 * both u32 and accesses up to 8 (16 for SIMD) bytes there: 8 GiB + a guard
 * covers every address it can form. */
#define MOTE_RT_RESERVE_SIZE ((uint64_t)8 << 30)
#define MOTE_RT_GUARD_SIZE ((uint64_t)64 << 10)
/* Default cap on table elements when the instance sets none, so a guest
 * cannot make the host allocate gigabytes through table.grow. */
#define MOTE_RT_DEFAULT_MAX_TABLE_ELEMS 10000000u

/* One trap target: lives on the stack of mote_rt_run_guest. */
typedef struct mote_rt_frame {
  sigjmp_buf env;
  struct mote_rt_frame *prev;
} mote_rt_frame;

/* Everything the runtime keeps per thread. Plain TLS (initial-exec in the
 * executable), so the signal handler may read it. */
typedef struct mote_rt_thread {
  mote_rt_frame *frame;       /* innermost trap target, NULL outside guest calls */
  jmp_buf *unwind;            /* wasm exception target (generated try blocks) */
  bool guest;                 /* inside mote_rt_call / mote_rt_instantiate */
  uint32_t host_depth;        /* > 0 while a host function runs (guest.h) */
  mote_trap_kind trap_kind;   /* set just before jumping to `frame` */
  uint32_t trap_detail;
  const mote_rt_limits *limits; /* instantiation context: the instantiate in progress */
  uintptr_t stack_low;        /* lowest usable address of this thread's stack */
  uintptr_t stack_high;       /* one past its highest */
  bool prepared;              /* alt stack and stack bounds are set up */
  /* Exceptions (wasm_rt_load_exception): the buffer is from malloc(), freed
   * at thread exit. */
  uint32_t exc_tag;
  uint32_t exc_size;
  uint8_t *exc_buf;
} mote_rt_thread;

extern __thread mote_rt_thread mote_rt_tls;

/* thread.c: gives this thread an alternate signal stack and finds its stack
 * bounds, once. Returns false if that failed (no memory). */
bool mote_rt_thread_prepare(void);

/* thread.c: runs body(ctx) as guest code under a new trap target. Returns
 * MOTE_TRAP_NONE, or the trap that stopped it (with its detail). The thread's
 * previous target, unwind target and guest/host state are restored. */
mote_trap_kind mote_rt_run_guest(void (*body)(void *ctx), void *ctx, uint32_t *detail);

/* trap.c: delivers a trap to the innermost target of this thread; reports
 * and aborts if there is none. Async-signal-safe. */
_Noreturn void mote_rt_deliver(mote_trap_kind kind, uint32_t detail);

/* trap.c: async-signal-safe output helpers for reports. */
void mote_rt_write_str(const char *s);
void mote_rt_write_hex(uintptr_t v);

/* error.c: fills *err (which may be NULL) and returns st. */
mote_rt_status mote_rt_fail(mote_rt_error *err, mote_rt_status st, mote_trap_kind trap,
                            uint32_t detail, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* memory.c: sets up *mem (reserves, maps the initial pages, registers the
 * region). `max` must already include every cap. On failure *mem is zeroed
 * and false returned. */
bool mote_rt_memory_init(wasm_rt_memory_t *mem, uint32_t initial, uint32_t max);
/* memory.c: true if addr lies inside a live reservation (guard included).
 * Lock-free and async-signal-safe: the signal handler calls it. */
bool mote_rt_memory_region_contains(uintptr_t addr);

/* table.c: the same for tables. */
bool mote_rt_funcref_table_init(wasm_rt_funcref_table_t *t, uint32_t elems, uint32_t max);
bool mote_rt_externref_table_init(wasm_rt_externref_table_t *t, uint32_t elems, uint32_t max);

#endif /* MOTE_RT_INTERNAL_H */
