/*
 * Private to src/rt: the per-thread state and the pieces the files of the
 * runtime share (memory region registry, guest entry, trap delivery).
 * Nothing here is part of the contract with other layers: see rt.h, abi.h
 * and guest.h for that.
 */
#ifndef MOTE_RT_INTERNAL_H
#define MOTE_RT_INTERNAL_H

#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

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
/* The memory pool (pool.c): free reservations kept for reuse, how much of
 * each one may stay resident (zeroed in place) rather than dropped, and the
 * most all pooled slots together keep resident. */
#define MOTE_RT_POOL_MAX_FREE 64u
#define MOTE_RT_POOL_KEEP_BYTES ((uint64_t)64 << 20)
#define MOTE_RT_POOL_RESIDENT_BUDGET ((uint64_t)256 << 20)
/* Default cap on table elements when the instance sets none, so a guest
 * cannot make the host allocate gigabytes through table.grow. */
#define MOTE_RT_DEFAULT_MAX_TABLE_ELEMS 10000000u

/* The memories and tables an instance allocated itself, as offsets into
 * its glue instance (where wasm2c keeps their structs): what a snapshot
 * must copy and re-create. Filled while it is instantiated, by the
 * allocation functions the generated code calls (memory.c, table.c). */
#define MOTE_RT_MAX_OWN 8u
typedef struct mote_rt_own {
  uint8_t *lo, *hi;            /* the glue instance being instantiated */
  uint32_t memories, tables;   /* counts, at most MOTE_RT_MAX_OWN each */
  uint32_t memory_at[MOTE_RT_MAX_OWN];
  uint32_t table_at[MOTE_RT_MAX_OWN];
  bool table_funcref[MOTE_RT_MAX_OWN];
  bool overflow;               /* more than fit: the instance cannot be snapshotted */
} mote_rt_own;

/* Keeps an instance whose instantiation trapped until the module is freed,
 * if a reference to one of its functions may be held outside it (an
 * imported table or mutable global holds one, or an imported function takes
 * funcrefs): true if kept (the module owns it now; without memory for the
 * list it is leaked, never freed). Else false: the caller frees it. */
bool mote_rt_module_park(mote_rt_module *m, mote_rt_instance *inst);

struct mote_rt_instance {
  mote_rt_module *module; /* not owned: must outlive the instance */
  void *data;             /* the glue's instance, abi->instance_size bytes, from calloc() */
  mote_rt_own own;
  /* The bindings, copied from the caller; generated code keeps a pointer to
   * them, so they live exactly as long as the instance. */
  uint32_t import_count;
  mote_abi_binding imports[];
};

/* A memory image mapped copy-on-write (image.c). */
typedef struct mote_rt_image mote_rt_image;

/* Snapshots (snapshot.c; saved and loaded by snapshot_io.c). */
typedef struct snap_run {
  uint32_t at;     /* offset in the memory */
  uint32_t len;
  uint64_t image;  /* offset in the memory's packed image */
} snap_run;

typedef struct snap_memory {
  uint32_t pages, max_pages;
  snap_run *runs; /* from malloc() */
  uint32_t nruns;
  uint8_t *image; /* copy mode: the runs' bytes, packed, from malloc(); else NULL */
  uint64_t image_len;
  mote_rt_image *img; /* map modes: the image (a reference); else NULL */
} snap_memory;

typedef struct snap_table {
  uint32_t size, max_size;
  void *elems; /* size elements, from malloc() (NULL when empty) */
} snap_table;

struct mote_rt_snapshot {
  mote_rt_module *module;
  mote_rt_image_mode mode; /* what its memories use: COPY, MAP or MAP_DROP */
  uint32_t data_size;
  uint8_t *data;           /* the donor's glue instance bytes, from malloc() */
  uintptr_t donor_lo;      /* where they were: rebases table elements */
  mote_rt_own own;         /* lo/hi unused */
  snap_memory memories[MOTE_RT_MAX_OWN];
  snap_table tables[MOTE_RT_MAX_OWN];
};

/* snapshot.c: fills sm's image from its runs (sm->runs, nruns, image_len,
 * pages set): a mapped image or packed bytes, by *mode (AUTO: the policy,
 * resolved and written back). run_bytes(ctx, r) gives run r's bytes. */
typedef const uint8_t *(*mote_rt_run_bytes_fn)(const void *ctx, uint32_t r);
bool mote_rt_snap_memory_fill(snap_memory *sm, mote_rt_run_bytes_fn run_bytes, const void *ctx,
                              mote_rt_image_mode *mode);
/* snapshot.c: run r's bytes, wherever sm keeps them. */
const uint8_t *mote_rt_snap_run_bytes(const snap_memory *sm, uint32_t r);

/* memory.c, table.c: note an allocation into the instantiation context's
 * record, if `field` lies inside the instance being instantiated. */
void mote_rt_own_note(void *field, bool is_memory, bool funcref);

/* One trap target: lives on the stack of mote_rt_run_guest. */
typedef struct mote_rt_frame {
  sigjmp_buf env;
  struct mote_rt_frame *prev;
} mote_rt_frame;

/* Everything the runtime keeps per thread. Plain TLS (initial-exec in the
 * executable), so the signal handlers may read it. The deadline's handler
 * is asynchronous: frame, guest, host_depth, critical and untimed change
 * only in an order that keeps "may the guest be stopped here?" true only
 * where a jump to `frame` is safe (thread.c), with signal fences between. */
/* How far below a stack's low bound a frame may have jumped past it
 * (glibc's guard page for threads; the kernel's 1 MiB gap under a growing
 * main stack): signals.c's stack zone, thread.c's reserve check. */
#define STACK_ZONE_BELOW ((uintptr_t)1 << 20)

typedef struct mote_rt_thread {
  mote_rt_frame *frame;       /* innermost trap target, NULL outside guest calls */
  jmp_buf *unwind;            /* wasm exception target (generated try blocks) */
  bool guest;                 /* inside mote_rt_call / mote_rt_instantiate */
  uint32_t host_depth;        /* > 0 while a host function runs (guest.h) */
  uint32_t critical;          /* > 0 while a runtime function generated code
                                 called runs (memory.grow...): a deadline waits */
  bool untimed;               /* the running guest is exempt from the deadline */
  mote_trap_kind trap_kind;   /* set just before jumping to `frame` */
  uint32_t trap_detail;
  const mote_rt_limits *limits; /* instantiation context: the instantiate in progress */
  mote_rt_own *own;             /* ... and its record of own memories and tables */
  uintptr_t stack_low;        /* lowest usable address of this thread's stack */
                              /* (a frame may land up to STACK_ZONE_BELOW under it) */
  uintptr_t stack_high;       /* one past its highest */
  bool prepared;              /* alt stack and stack bounds are set up */
  bool main_thread;           /* the process's main thread (its stack is not trimmed) */
  /* Exceptions (wasm_rt_load_exception): the buffer is from malloc(), freed
   * at thread exit. */
  uint32_t exc_tag;
  uint32_t exc_size;
  uint8_t *exc_buf;
  /* Deadlines (deadline.c). */
  volatile sig_atomic_t expired; /* the deadline passed: set by the timer's handler */
  volatile sig_atomic_t armed;   /* a deadline is in force */
  uint64_t deadline_at;          /* CLOCK_MONOTONIC ns, when armed */
  uint64_t deadline_ns;          /* the timeout it was set with, for messages */
  bool has_timer;                /* `timer` exists; deleted at thread exit */
  timer_t timer;
  /* Cancels (cancel.c): the token bound to this thread, and whether its
   * stop arrived (then `expired` is kept set too, until unbind). */
  struct mote_rt_cancel *volatile cancel;
  volatile sig_atomic_t cancelled;
} mote_rt_thread;

extern __thread mote_rt_thread mote_rt_tls;

/* thread.c: gives this thread an alternate signal stack and finds its stack
 * bounds, once. Returns false if that failed (no memory). */
bool mote_rt_thread_prepare(void);

/* thread.c: runs body(ctx) as guest code under a new trap target. Returns
 * MOTE_TRAP_NONE, or the trap that stopped it (with its detail). The thread's
 * previous target, unwind target and guest/host state are restored. When
 * `timed`, the thread's deadline applies: an expired one returns
 * MOTE_TRAP_TIMEOUT without running body. */
mote_trap_kind mote_rt_run_guest(void (*body)(void *ctx), void *ctx, bool timed,
                                 uint32_t *detail);

/* thread.c: brackets runtime work that generated code calls (allocations,
 * memory.grow, the type registry): a deadline passing inside does not jump
 * out of it; the guest is stopped at the end instead. Nests. Unlike
 * mote_rt_host_enter, faults inside still count as guest traps. Entered
 * from guest code with less than the host's reserve of stack left (a deep
 * recursion), it stops the guest with "call stack exhausted" instead, so
 * that no fault jumps out of the work it brackets (out of malloc, say,
 * with its lock held). */
void mote_rt_critical_enter(void);
void mote_rt_critical_leave(void);

/* thread.c: if the deadline passed and this thread is in guest code that
 * may be stopped here, stops it (jumps to the innermost target). */
void mote_rt_stop_if_expired(void);

/* deadline.c: the handler of MOTE_RT_DEADLINE_SIGNAL (signals.c installs it)
 * and the timer's clean-up at thread exit (thread.c). */
void mote_rt_deadline_on_signal(int sig, siginfo_t *si, void *ucontext);
void mote_rt_deadline_thread_exit(void);
/* cancel.c: the deadline signal's handler's part for a queued signal
 * (si_code SI_QUEUE) carrying a token: marks the stop if it is this
 * thread's token and was requested. Async-signal-safe. */
void mote_rt_cancel_on_signal(const siginfo_t *si);
/* deadline.c: "timeout: the deadline of 100 ms passed" for this thread's
 * deadline (the generic message if none was set). */
void mote_rt_deadline_message(char *buf, size_t n);

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

/* instance.c: checks every import's type against `imports` (import_count
 * entries in order); MOTE_RT_LINK_FAILED with the import named in err. */
mote_rt_status mote_rt_link_check(const mote_abi_module *abi, const mote_rt_extern *imports,
                                  mote_rt_error *err);
/* instance.c: fills *err for a trap of `kind` that stopped a guest. */
void mote_rt_set_trap(mote_rt_error *err, mote_trap_kind trap, uint32_t detail);

/* memory.c: sets up *mem (reserves, maps the initial pages, registers the
 * region). `max` must already include every cap. On failure *mem is zeroed
 * and false returned. */
bool mote_rt_memory_init(wasm_rt_memory_t *mem, uint32_t initial, uint32_t max);
/* memory.c: the same, with the first pages mapped from `img` (whose span
 * must fit `initial` pages): the memory reads as the image. */
bool mote_rt_memory_init_image(wasm_rt_memory_t *mem, uint32_t initial, uint32_t max,
                               mote_rt_image *img);
/* memory.c: true if addr lies inside a live reservation (guard included).
 * Lock-free and async-signal-safe: the signal handler calls it. */
bool mote_rt_memory_region_contains(uintptr_t addr);

/* pool.c: a reservation of MOTE_RT_RESERVE_SIZE + MOTE_RT_GUARD_SIZE
 * bytes, pooled or newly mapped (NULL if none can be mapped). All of it
 * reads as zero; [0, *acc) is read-write, the rest PROT_NONE: the caller
 * registers it and then sets the protection it needs for `bytes` (the size
 * it wants, which picks a slot whose range already fits when there is one).
 * Pages in [0, *resident) may be resident (zero): the caller hands that
 * extent back to mote_rt_pool_give. */
uint8_t *mote_rt_pool_take(uint64_t bytes, uint64_t *acc, uint64_t *resident);
/* pool.c: takes back a reservation that is no longer registered, whose
 * first `used` bytes are all that is read-write and whose pages past them,
 * up to `resident`, are zero: zeroes it and pools it (keeping up to
 * `resident` bytes resident, within the budget), or unmaps it. */
void mote_rt_pool_give(uint8_t *base, uint64_t used, uint64_t resident);
/* pool.c: unmaps a reservation at once (failure paths). */
void mote_rt_pool_unmap(uint8_t *base);
/* pool.c: makes [base, base + used) read as zero and drops what may be
 * resident in [used, resident), keeping at most MOTE_RT_POOL_KEEP_BYTES
 * resident within the pool's budget; returns what it kept (charged to the
 * budget: give it back with mote_rt_pool_budget_put). *ok false if a
 * system call failed (the range's contents are then unknown). */
uint64_t mote_rt_pool_scrub(uint8_t *base, uint64_t used, uint64_t resident, bool *ok);
/* pool.c: the resident budget of waiting slots: take grants at most `want`
 * bytes (less when the budget is short), put gives bytes back. */
uint64_t mote_rt_pool_budget_take(uint64_t want);
void mote_rt_pool_budget_put(uint64_t bytes);

/* image.c: a memory image in a sealed memfd, mapped copy-on-write into
 * slots of its own (see image.c). Made with _new (one reference: the
 * creator's), filled with _write (bytes not written read as zero), then
 * _seal before any _take. `restore`: reset slots by copying back the pages
 * a call wrote, when the kernel can find them (else, and when false, by
 * madvise(MADV_DONTNEED)). */
mote_rt_image *mote_rt_image_new(uint64_t span, bool restore);
bool mote_rt_image_write(mote_rt_image *img, uint64_t at, const uint8_t *bytes, uint64_t len);
bool mote_rt_image_seal(mote_rt_image *img);
void mote_rt_image_release(mote_rt_image *img);
uint64_t mote_rt_image_span(const mote_rt_image *img);
bool mote_rt_image_restores(const mote_rt_image *img);
/* The image's bytes (span of them), read-only; valid once sealed. */
const uint8_t *mote_rt_image_view(const mote_rt_image *img);
/* A slot with the image mapped over [0, span) and the rest as
 * mote_rt_pool_take describes (bytes >= span); takes a reference on the
 * image, which _give or _discard drops. NULL if none can be made. */
uint8_t *mote_rt_image_take(mote_rt_image *img, uint64_t bytes, uint64_t *acc, uint64_t *resident);
/* Takes back a slot no longer registered as a live region, whose first
 * `used` bytes are read-write: resets it and keeps it, or unmaps it. */
void mote_rt_image_give(mote_rt_image *img, uint8_t *base, uint64_t used, uint64_t resident);
/* Unmaps a slot whose state is unknown (failure paths). */
void mote_rt_image_discard(mote_rt_image *img, uint8_t *base);
/* True when this kernel lets slots be reset by restoring written pages. */
bool mote_rt_image_can_restore(void);
/* Unmaps every image's waiting slots; how many wait now. */
void mote_rt_image_trim(void);
uint64_t mote_rt_image_pooled(void);

/* functypes.c: a signature's id in the process-wide registry (registered
 * if new; 0 when out of memory), and an id's signature (*sig: params then
 * results, valid until exit). */
uint32_t mote_rt_functype_intern(uint32_t params, uint32_t results, const wasm_rt_type_t *sig);
bool mote_rt_functype_get(uint32_t id, uint32_t *params, uint32_t *results,
                          const wasm_rt_type_t **sig);
/* module.c: where the compiled object is loaded: its load address (what
 * offsets of its functions are taken from) and the extent of its
 * segments. False if that cannot be found. */
bool mote_rt_module_extent(const mote_rt_module *m, uintptr_t *base, uintptr_t *lo, uintptr_t *hi);

/* table.c: the same for tables. */
bool mote_rt_funcref_table_init(wasm_rt_funcref_table_t *t, uint32_t elems, uint32_t max);
bool mote_rt_externref_table_init(wasm_rt_externref_table_t *t, uint32_t elems, uint32_t max);

#endif /* MOTE_RT_INTERNAL_H */
