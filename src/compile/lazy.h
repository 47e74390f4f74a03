/*
 * Lazy objects: the quick tier of a big module compiles each function on its
 * first call, in batches, in process (libtcc), instead of all of them before
 * the first answer (docs/architecture.md, "The first answer").
 *
 * The object (xl_lazy.c) holds the core and a stub per function; the
 * module's bytes are kept beside it in the cache (<key>.wasm, checked
 * against the key at load). mote_rt_module_load attaches a loaded lazy
 * object (mote_lazy_attach) and mote_rt_module_free detaches it; a stub's
 * first call lands in mote_lazy_ready (generated code calls it: it is in
 * src/rt/exports.list).
 *
 * A call's batch is its function and direct callees, filled with the
 * functions that follow while filling pays (filled ones are parked until
 * their first call); its C includes xl_lazy_libc.h instead of libc's headers
 * and, when it names nothing of SIMD, no SIMD helpers. libtcc runs inside
 * the process: a crash of tcc would be the process's (the eager path's tcc
 * runs in a limited child), its memory is not capped (hence
 * MOTE_LAZY_MAX_FUNCTION), and deep nesting is kept out
 * (MOTE_LAZY_MAX_IF_NESTING). Workers (below, off by default) compile
 * speculative batches in compiler processes; their objects are still linked
 * in process.
 */
#ifndef MOTE_COMPILE_LAZY_H
#define MOTE_COMPILE_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/abi.h"

typedef enum mote_lazy_mode {
  MOTE_LAZY_AUTO = 0, /* big modules (below) */
  MOTE_LAZY_ALWAYS,
  MOTE_LAZY_NEVER,
} mote_lazy_mode;

/* The auto threshold, in bytes of the code section (chosen by measurement:
 * docs/architecture.md). */
#define MOTE_LAZY_MIN_CODE ((size_t)2 << 20)
/* Auto keeps a module with a larger function eager: a lazy batch is
 * compiled inside the process, without the memory limit of a compiler
 * process, and a function is never cut (CRuby's largest is 100 KB, Yosys's
 * 228 KB). */
#define MOTE_LAZY_MAX_FUNCTION ((size_t)1 << 20)
/* Nor one whose type and global sections together are larger: every batch
 * declares all of the module's types and globals, so each batch parses them
 * again, inside the process, on the one compiler thread every module's
 * calls wait for. A module of 60,000 types of 250 results (17 MB) took
 * 12.6 s and 325 MB for its first batch; Yosys's two sections are 3.5 KB. */
#define MOTE_LAZY_MAX_DECLARED ((size_t)256 << 10)
/* Nor is a module with more ifs than this open at once in a function, in
 * any mode (always too): each is a C block in the one around it, which tcc
 * parses recursively; on the compiler thread's 16 MiB stack 50000 nested
 * ifs compiled and 100000 overflowed it, killing the process (measured with
 * a 4.7 MB module made for it). An eager build runs tcc in a process of its
 * own, where the same overflow is a failed compile. Real code stays far
 * below: deep nesting in compilers' output is of blocks (labels in C). */
#define MOTE_LAZY_MAX_IF_NESTING 4096u

/* The mode of this process: MOTE_QUICK_LAZY=always|never|auto (default auto;
 * anything else is auto). Auto: at least MOTE_LAZY_MIN_CODE bytes of code, no
 * function over MOTE_LAZY_MAX_FUNCTION and at most MOTE_LAZY_MAX_DECLARED
 * bytes of types and globals. */
mote_lazy_mode mote_lazy_mode_from_env(void);

/* Whether the quick tier builds these bytes as a lazy object (the mode, and
 * for auto the size of the code section; false for bytes that are not a
 * module). Part of the quick tier's cache key. */
bool mote_lazy_wanted(const uint8_t *wasm, size_t len);

/* Attaches the runtime's state to a loaded lazy object found at so_path
 * (reads and checks <key>.wasm beside it). Reference-counted per object (a
 * path loaded twice is one object). False with msg set on failure. */
bool mote_lazy_attach(const mote_abi_lazy *lazy, const char *so_path, char *msg, size_t cap);
/* The last detach frees the compiled code and empties the slots. */
void mote_lazy_detach(const mote_abi_lazy *lazy);

/* Called by a stub whose slot is empty: compiles func's batch (once, under
 * one lock per process, on the compiler thread) and returns its code. On
 * failure it stops the guest with MOTE_TRAP_RESOURCE (after printing why).
 * A deadline or cancel that comes meanwhile stops the guest after the
 * compile, not inside it. */
void *mote_lazy_ready(const mote_abi_lazy *lazy, uint32_t func);

/* Compiles func's batch now, as its stub's first call would, outside any
 * guest (benchmarks: CRuby's start-up set, which cannot run). True when
 * func is ready; false with msg set. */
bool mote_lazy_prepare(const mote_abi_lazy *lazy, uint32_t func, char *msg, size_t cap);

/* The background: once a module's functions were first called and no call
 * has asked for a batch for a while (100 ms), the compiler thread compiles
 * the module's other functions, a batch at a time, whenever no call waits
 * (a call waits for at most the batch under way). On unless
 * MOTE_QUICK_LAZY_BACKGROUND=0; tests turn it off and on. */
void mote_lazy_set_background(bool on);
/* True when no batch is queued or under way and the background has nothing
 * left to do (every called module compiled entirely), or it is off. */
bool mote_lazy_settled(void);

/* For tests and benchmarks: batches compiled and functions compiled, in
 * this process, so far (the workers' included). */
void mote_lazy_stats(uint64_t *batches, uint64_t *functions);
/* For tests: batches whose lean compile (their header cut to the helpers
 * their C names, or without the SIMD ones; none of tcc's libraries) failed
 * while the whole way worked, in this process so far. */
uint64_t mote_lazy_cut_misses(void);

/* The workers: threads (MOTE_LAZY_WORKERS=N, or =cores for one per core but
 * one; none by default: measured, they did not pay) that compile, while calls wait
 * for their own batches on the compiler thread, the functions that those
 * batches called directly but left out (breadth first: where a start-up
 * goes next), each batch by a compiler process (tcc -c, under an eager
 * compile's limits) whose object is linked in process and parked. A call
 * whose function is in a worker's batch waits for it; a worker's failure
 * (its process failed or was killed) leaves the functions to the calls.
 * Tests turn them off and on (of those the process started). */
void mote_lazy_set_workers(bool on);
/* Workers' batches linked, and failed, in this process so far. */
void mote_lazy_worker_stats(uint64_t *batches, uint64_t *failed);
/* For tests: called by a worker before its compiler process runs, with the
 * batch's first function (claimed); false fails the batch as a dead
 * compiler would. NULL: none. */
void mote_lazy_test_worker_hook(bool (*hook)(void *ctx, uint32_t func), void *ctx);

/* The hot tier: a lazy batch's code counts each function's calls and loop
 * turns; a function whose count reaches the threshold times 1 + its size in
 * KiB of wasm is compiled again by the opt tier's compiler (gcc -O2, a
 * child process under an eager compile's limits but 20 s) on a thread of
 * its own, a few at a time, and its slot switched to that code, which new
 * calls run (a call under way finishes on the code it is in). The
 * threshold is MOTE_LAZY_HOT (0 turns it off; default 1M, some 5-20 ms of
 * the quick tier's code); a module attached after mote_lazy_set_hot gets
 * the one given (tests). Not counted: functions over 64 KiB, and modules
 * with a type of several results or a v128 (tcc and gcc pass them
 * differently). */
void mote_lazy_set_hot(unsigned threshold);
/* Functions switched to the hot tier's code, its batches, and its batches
 * that failed (their functions stay on the quick tier's code), so far. */
void mote_lazy_hot_stats(uint64_t *functions, uint64_t *batches, uint64_t *failed);

/* For tests: threads waiting in mote_lazy_ready now, and a function the
 * compiler thread calls before it takes each batch a call asked for (NULL:
 * none; again if a worker took the function meanwhile), to hold a compile
 * at a known state; when it returns false the batch fails as a failed
 * compile would. */
unsigned mote_lazy_waiting(void);
void mote_lazy_test_hook(bool (*hook)(void *ctx), void *ctx);
/* For tests: a function the compiler thread calls before each background
 * batch, while the batch's object counts it as busy (NULL: none). */
void mote_lazy_test_background_hook(void (*hook)(void *ctx), void *ctx);
/* For tests: a function mote_lazy_ready calls on the guest thread just
 * before it answers (NULL: none), to clobber the registers a stub must keep
 * across it. */
void mote_lazy_test_ready_hook(void (*hook)(void));

#endif /* MOTE_COMPILE_LAZY_H */
