/*
 * rt: the runtime that compiled modules run on.
 *
 * It implements, for wasm2c's generated code, the interface of the installed
 * <wasm-rt.h> (traps, function types, memories, tables), and gives embedders
 * (the CLI, the server, the spec runner) a small API: load a compiled module,
 * link and instantiate it, call its exports, turn traps into values.
 *
 * Threads: any number of threads may instantiate and call at once. Trap state
 * is per thread; a thread gets its alternate signal stack on first use.
 * Deadlines (wall-clock timeouts) are per thread too: mote_rt_deadline_set;
 * another thread may stop a run the same way: mote_rt_cancel (cancel.c).
 *
 * Linear memories live in reserved regions (8 GiB + a guard) so the generated
 * code needs no bounds checks: a fault inside a live region while the thread
 * runs guest code is an `out of bounds memory access` trap; a fault on the
 * thread's stack guard while in guest code is `call stack exhausted`; any
 * other fault is a host bug and crashes the process with a report.
 * Freed memories go back to a process-wide pool (at most 64 reservations)
 * and are reused zeroed: no new reservation, page tables or page faults for
 * the pages the last user touched; memories made from a mapped snapshot
 * image go back to that image's own slots, reset to the image. A pointer into a freed memory therefore
 * stays valid as an address: writing through it corrupts a later instance.
 *
 * Ownership: a module must outlive its instances; an instance whose exports
 * were bound into another instance must outlive that one.
 */
#ifndef MOTE_RT_H
#define MOTE_RT_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"

typedef struct mote_rt_module mote_rt_module;
typedef struct mote_rt_instance mote_rt_instance;

typedef enum mote_rt_status {
  MOTE_RT_OK = 0,
  MOTE_RT_TRAP,        /* the guest trapped (or a host call stopped it): see err->trap */
  MOTE_RT_LOAD_FAILED, /* the compiled object could not be loaded or has the wrong ABI */
  MOTE_RT_LINK_FAILED, /* an import is missing or has an incompatible type */
  MOTE_RT_NOMEM,
  MOTE_RT_UNSUPPORTED, /* the module cannot do what was asked (e.g. be snapshotted) */
} mote_rt_status;

typedef enum mote_trap_kind {
  MOTE_TRAP_NONE = 0,
  MOTE_TRAP_OOB,                /* out of bounds memory (or table) access */
  MOTE_TRAP_INT_OVERFLOW,       /* integer overflow */
  MOTE_TRAP_DIV_BY_ZERO,        /* integer divide by zero */
  MOTE_TRAP_INVALID_CONVERSION, /* invalid conversion to integer */
  MOTE_TRAP_UNREACHABLE,        /* unreachable executed */
  MOTE_TRAP_CALL_INDIRECT,      /* null, out of range or mistyped call_indirect */
  MOTE_TRAP_EXHAUSTION,         /* call stack exhausted */
  MOTE_TRAP_UNCAUGHT_EXCEPTION,
  MOTE_TRAP_TIMEOUT,   /* the deadline passed */
  MOTE_TRAP_EXIT,      /* a host function ended the run (e.g. WASI proc_exit); see detail */
  MOTE_TRAP_RESOURCE,  /* the host could not provide a resource (memory, table, lazy code) */
  MOTE_TRAP_HOST,      /* a host function failed; see detail */
  MOTE_TRAP_CANCELLED, /* another thread asked for the run to stop (mote_rt_cancel) */
} mote_trap_kind;

typedef struct mote_rt_error {
  mote_rt_status status;
  mote_trap_kind trap;  /* when status == MOTE_RT_TRAP */
  uint32_t detail;      /* MOTE_TRAP_EXIT: the exit code; otherwise host-defined */
  char message[256];    /* one line, for a user */
} mote_rt_error;

/* Per-instance limits. Zero means "no limit beyond the module's own". */
typedef struct mote_rt_limits {
  uint32_t max_memory_pages; /* cap on each memory the instance creates */
  uint32_t max_table_elems;  /* cap on each table the instance creates */
} mote_rt_limits;

/* Something that can satisfy an import: a host function, another instance's
 * export, or a memory/table/global the host made. */
typedef struct mote_rt_extern {
  mote_abi_type type;
  mote_abi_binding binding;
} mote_rt_extern;

/* Gives back the pages of this thread's stack below the caller's frame
 * (and a margin): a guest's deep recursion touches them once, and a
 * long-lived thread (a server's connection) would keep them resident. Not
 * on the main thread, nor on a thread that never ran guest code. */
void mote_rt_thread_trim_stack(void);

/* Process-wide set-up (signal handlers). Idempotent and thread-safe. */
void mote_rt_init(void);

/* A message for a trap kind: "out of bounds memory access"... */
const char *mote_rt_trap_message(mote_trap_kind kind);

/* Loading compiled objects. */
mote_rt_status mote_rt_module_load(const char *so_path, mote_rt_module **out, mote_rt_error *err);
const mote_abi_module *mote_rt_module_abi(const mote_rt_module *m);
void mote_rt_module_free(mote_rt_module *m);

/* Finds an import or export by name; -1 if absent. */
int32_t mote_rt_module_find_export(const mote_rt_module *m, const char *name, size_t len);

/* Links (checking every import's type against `imports`, which has
 * mote_rt_module_abi(m)->import_count entries in import order), allocates
 * and instantiates. `imports` is copied. On MOTE_RT_LINK_FAILED err->message
 * names the import; on MOTE_RT_TRAP the instance is not created but writes
 * it made to imported memories and tables stay (as the spec requires). */
mote_rt_status mote_rt_instantiate(mote_rt_module *m, const mote_rt_extern *imports,
                                   const mote_rt_limits *limits, mote_rt_instance **out,
                                   mote_rt_error *err);
void mote_rt_instance_free(mote_rt_instance *inst);
mote_rt_module *mote_rt_instance_module(const mote_rt_instance *inst);

/* Snapshots: an instance's state frozen once, new instances made from it.
 *
 * mote_rt_snapshot_take copies an instance as it is now (its globals,
 * memories and tables: say after its start function and an initialiser
 * export ran); mote_rt_snapshot_instantiate then makes an instance in that
 * state, bound to new imports, without running any guest code: no data or
 * element segments, no start function. Its memory is either copied into a
 * pooled slot (only the non-zero runs: small images) or mapped
 * copy-on-write from a sealed memfd holding the image, in slots that are
 * reset after each instance to the image (big ones): the snapshot's mode,
 * chosen when it is taken (snapshot.c). Either way nothing an instance
 * wrote is seen by the next.
 *
 * Only modules whose imports are all functions and whose globals hold no
 * references can be snapshotted (MOTE_ABI_SNAPSHOT): take returns
 * MOTE_RT_UNSUPPORTED otherwise. Host state is not part of a snapshot: the
 * new instance's imports (e.g. its WASI context) must be set up so the
 * guest's view of them still holds (same preopens, no files left open).
 * The module must outlive the snapshot; the snapshot may be freed while
 * instances made from it live. Instantiating from one snapshot is safe from
 * many threads at once. Limits apply as to mote_rt_instantiate: a snapshot
 * whose memory exceeds them fails with a MOTE_TRAP_RESOURCE trap. */
typedef struct mote_rt_snapshot mote_rt_snapshot;
mote_rt_status mote_rt_snapshot_take(const mote_rt_instance *inst, mote_rt_snapshot **out,
                                     mote_rt_error *err);
mote_rt_status mote_rt_snapshot_instantiate(const mote_rt_snapshot *s,
                                            const mote_rt_extern *imports,
                                            const mote_rt_limits *limits,
                                            mote_rt_instance **out, mote_rt_error *err);
void mote_rt_snapshot_free(mote_rt_snapshot *s);
mote_rt_module *mote_rt_snapshot_module(const mote_rt_snapshot *s);

/* How a snapshot's memories are made (see image.c and snapshot.c). */
typedef enum mote_rt_image_mode {
  MOTE_RT_IMAGE_AUTO = 0, /* policy only: by the image's size and the kernel */
  MOTE_RT_IMAGE_COPY,     /* the non-zero runs copied into a zeroed pooled slot */
  MOTE_RT_IMAGE_MAP,      /* mapped copy-on-write; reset by copying back the pages an
                           * instance wrote (needs Linux 6.7's PAGEMAP_SCAN: else as
                           * MAP_DROP) */
  MOTE_RT_IMAGE_MAP_DROP, /* mapped copy-on-write; reset by madvise(MADV_DONTNEED) */
} mote_rt_image_mode;
/* The mode of snapshots taken from now on, process-wide (default AUTO; the
 * others are for benchmarks and tests). Thread-safe. */
void mote_rt_snapshot_policy_set(mote_rt_image_mode mode);
/* What a snapshot uses: COPY, MAP or MAP_DROP. */
mote_rt_image_mode mote_rt_snapshot_mode(const mote_rt_snapshot *s);
/* "auto", "copy", "map", "map-drop". */
const char *mote_rt_image_mode_name(mote_rt_image_mode mode);
/* Snapshots as bytes, for a later process (snapshot_io.c): save writes a
 * snapshot's state (*out from malloc, *len bytes); load makes a snapshot
 * of module `m` from them, as if it had been taken in this process.
 * Nothing in the bytes is an address (functions are offsets into the
 * compiled object, instances offsets into the instance), but they are only
 * right for a byte-identical compiled object: the caller must key them so
 * (the object's hash, MOTE_RT_SNAPSHOT_FORMAT). Load checks the bytes
 * against `m` and refuses, MOTE_RT_UNSUPPORTED with err->message saying
 * why, whatever does not fit (another format, ABI, object; malformed
 * bytes); it never trusts a size or an offset it has not checked. Save
 * refuses (UNSUPPORTED) a snapshot whose tables hold host references. */
#define MOTE_RT_SNAPSHOT_FORMAT 1u
mote_rt_status mote_rt_snapshot_save(const mote_rt_snapshot *s, uint8_t **out, size_t *len,
                                     mote_rt_error *err);
mote_rt_status mote_rt_snapshot_load(mote_rt_module *m, const uint8_t *bytes, size_t len,
                                     mote_rt_snapshot **out, mote_rt_error *err);

/* The image's non-zero bytes (what COPY copies per instantiation). */
uint64_t mote_rt_snapshot_image_bytes(const mote_rt_snapshot *s);

/* Export number `index` of the instance as something another module can
 * import (or the host can read: memory, table, global storage). */
mote_rt_extern mote_rt_instance_export(mote_rt_instance *inst, uint32_t index);

/* Calls function export `index`. args/results follow its signature. */
mote_rt_status mote_rt_call(mote_rt_instance *inst, uint32_t index, const mote_val *args,
                            mote_val *results, mote_rt_error *err);

/* For host functions: stop the running guest at once; the innermost
 * mote_rt_call/mote_rt_instantiate on this thread returns MOTE_RT_TRAP with
 * this kind and detail. Only valid while a guest runs on this thread. */
_Noreturn void mote_rt_raise(mote_trap_kind kind, uint32_t detail);

/* Deadlines: a wall-clock limit on the guest code a thread runs.
 *
 * A deadline belongs to the calling thread and covers every
 * mote_rt_instantiate and mote_rt_call the thread makes until it is cleared,
 * so one deadline can bound a whole invocation. Once it passes, the guest
 * is stopped wherever it is (a tight loop without calls included) and the
 * innermost mote_rt_call/mote_rt_instantiate returns MOTE_RT_TRAP with
 * err->trap == MOTE_TRAP_TIMEOUT ("timeout: the deadline of 100 ms passed").
 * Calls that nest (guest -> host -> guest) all return the timeout, and a
 * call started after the deadline passed returns it at once. Afterwards the
 * thread and the instance work as after any trap; the instance may be freed.
 *
 * Host code is never interrupted half way: while a host function runs
 * (between mote_rt_host_enter and mote_rt_host_leave, guest.h) or the
 * runtime itself works (memory.grow, allocations), the guest is stopped
 * only when that code is done. A host function that may run long should
 * poll mote_rt_deadline_expired(). Module loading is never timed.
 *
 * Made with a per-thread POSIX timer (created on first use, deleted at
 * thread exit) that sends the real-time signal MOTE_RT_DEADLINE_SIGNAL to
 * the thread: the runtime reserves that signal. Embedders must not block
 * it on threads that use deadlines (deadline_set unblocks it once). The
 * handler uses SA_RESTART, but sleeping calls (nanosleep, poll) in host
 * code may still return EINTR when a deadline passes.
 *
 * Cost: two timer_settime system calls per set/clear pair.
 */
#define MOTE_RT_DEADLINE_SIGNAL (SIGRTMIN + 5)

/* Arms (or re-arms) this thread's deadline `timeout_ns` from now and forgets
 * any earlier expiry. 0 means "already passed". Fails with MOTE_RT_NOMEM
 * if the thread's timer cannot be created (err says why); no deadline is
 * then in force. Call it outside guest code. */
mote_rt_status mote_rt_deadline_set(uint64_t timeout_ns, mote_rt_error *err);
/* Disarms this thread's deadline and forgets an expiry: later calls are
 * untimed. Call it outside guest code. */
void mote_rt_deadline_clear(void);
/* True once this thread's deadline has passed (until set or clear). */
bool mote_rt_deadline_expired(void);
/* When this thread's deadline passes, in CLOCK_MONOTONIC ns (for host code
 * that waits: poll until then); UINT64_MAX when none is in force. */
uint64_t mote_rt_deadline_at(void);

/* Cancels: stopping a thread's guest from another thread (cancel.c).
 *
 * A token is bound to the thread that will run the guest (bind ... unbind,
 * around the run). Any thread may then request the stop, once: the bound
 * thread is stopped where its deadline would stop it (guest code of a timed
 * call at once, a loop without calls included; host functions and runtime
 * work when they are done; WASI's waits within their slice: the signal cuts
 * the wait short) and the innermost mote_rt_call/mote_rt_instantiate returns
 * MOTE_RT_TRAP with err->trap == MOTE_TRAP_CANCELLED. It stays stopped until
 * unbind: every later timed call on the thread returns the same at once,
 * and mote_rt_deadline_expired() is true (so waiting host code ends).
 * A request made before bind takes effect at bind; one made after unbind
 * does nothing to the thread. Only guest code a deadline could stop is
 * stopped: untimed work (module loading) runs to its end.
 *
 * Made with the deadline's signal, queued to the bound thread
 * (pthread_sigqueue) with the token as its value: the handler stops the
 * guest only when that token is the one bound and was requested, so a late
 * signal is harmless. The same caveat as deadlines: host code sleeping in
 * the thread may see EINTR. */
typedef struct mote_rt_cancel {
  pthread_mutex_t lock;       /* bound/thread, and the signal sent under it */
  pthread_t thread;           /* the bound thread, while bound */
  bool bound;
  volatile sig_atomic_t requested; /* set once, by mote_rt_cancel_request */
} mote_rt_cancel;

void mote_rt_cancel_init(mote_rt_cancel *c);
void mote_rt_cancel_destroy(mote_rt_cancel *c); /* unbound by then */
/* Binds the calling thread (at most one token per thread, one thread per
 * token). Call it outside guest code. */
void mote_rt_cancel_bind(mote_rt_cancel *c);
/* Unbinds it and forgets the stop on the thread. Call it outside guest code,
 * on the bound thread. */
void mote_rt_cancel_unbind(mote_rt_cancel *c);
/* From any thread, not from a signal handler: asks the bound thread (now or
 * once bound) to stop its guest. Never blocks beyond a short lock. */
void mote_rt_cancel_request(mote_rt_cancel *c);
bool mote_rt_cancel_requested(const mote_rt_cancel *c);
/* True on a thread whose bound token was requested (host code that waits,
 * to tell a cancel from a deadline). */
bool mote_rt_cancelled(void);

/* Host-made memories and tables (e.g. the spec's "spectest" module).
 * They fail (NULL) when the limits cannot be honoured. */
wasm_rt_memory_t *mote_rt_memory_new(uint32_t min_pages, uint32_t max_pages, bool has_max);
void mote_rt_memory_free(wasm_rt_memory_t *mem);
wasm_rt_funcref_table_t *mote_rt_funcref_table_new(uint32_t min, uint32_t max, bool has_max);
void mote_rt_funcref_table_free(wasm_rt_funcref_table_t *t);
wasm_rt_externref_table_t *mote_rt_externref_table_new(uint32_t min, uint32_t max, bool has_max);
void mote_rt_externref_table_free(wasm_rt_externref_table_t *t);

/* The memory pool. Figures since start (reused, mapped) or now. */
typedef struct mote_rt_memory_stats {
  uint64_t reserved; /* linear-memory reservations mapped now: in use + pooled */
  uint64_t pooled;   /* of those, free ones kept for reuse */
  uint64_t reused;   /* memories created from a pooled reservation */
  uint64_t mapped;   /* memories that needed a new reservation */
  uint64_t image_pooled; /* of `pooled`, the slots kept by snapshots' images */
} mote_rt_memory_stats;
void mote_rt_memory_stats_get(mote_rt_memory_stats *out);
/* Unmaps every pooled reservation, the images' too (memory pressure,
 * tests). Thread-safe. */
void mote_rt_memory_pool_trim(void);

#endif /* MOTE_RT_H */
