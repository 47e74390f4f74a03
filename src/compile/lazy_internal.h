/*
 * Inside lazy objects (lazy.h): what lazy.c (attaching, the compiler
 * thread, the background), lazy_batch.c (a batch's header, claims, libtcc),
 * lazy_worker.c (the workers) and lazy_hot.c (the hot tier) share. Not for
 * other rooms.
 */
#ifndef MOTE_COMPILE_LAZY_INTERNAL_H
#define MOTE_COMPILE_LAZY_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "compile/xl.h"
#include "module/module.h"
#include "rt/abi.h"

/* A batch: the function a call asked for and its direct callees, breadth
 * first, up to this much wasm code (a function's own is never cut) and this
 * many functions; the background's batches are filled up to BATCH_BYTES
 * with the functions that follow in the index space. */
#define BATCH_BYTES ((size_t)128 << 10)
#define BATCH_MAX 256
/* lazy_state.claimed[]: in a batch being compiled now (a call's, the
 * background's or a worker's: a function is compiled once); parked by a
 * worker (its hits count as the workers') */
#define CLAIM_BUSY 1u
#define CLAIM_PARKED 2u
/* queued for the hot tier (lazy_hot.c), once in an object's life (a guest
 * thread sets it); taken by a hot batch (the hot thread) */
#define CLAIM_HOT 4u
#define CLAIM_HOT_TAKEN 8u

typedef struct code_block {
  void *mem;
  size_t len;
  struct code_block *next;
} code_block;

typedef struct lz_helpers lz_helpers; /* lazy_header.c */

typedef struct lazy_state {
  const mote_abi_lazy *lazy;
  unsigned refs;
  uint8_t *wasm;
  size_t len;
  mote_module *m;
  xl_module x;
  char *header; /* lz_header_text's */
  char *header_scalar; /* the same without the prelude's SIMD helpers (NULL: none) */
  lz_helpers *helpers, *helpers_scalar; /* of each (NULL: none) */
  /* the object's compiled code, newest first: pushed under tcc_lock
   * (lz_tcc_build), unmapped with the state; each block's code pages
   * read-execute, its data pages read-write */
  code_block *code;
  /* per defined function: compiled as filling of a call's batch, not yet
   * called (its slot is empty until then; exchanged atomically) */
  void **parked;
  uint64_t filled, fill_hits; /* atomic */
  /* the background (under lz_reg_lock): it may start once a call compiled a
   * batch; next_bg is the next function it looks at; busy while it works
   * on this state (a detach waits for it) */
  bool called, bg_done;
  uint32_t next_bg;
  unsigned busy;
  /* the workers (under lz_reg_lock but claimed): the functions that
   * batches called directly but left out, breadth first (front: a ring of
   * nbodies; seen: entered it once); claimed: per defined function,
   * CLAIM_* (atomic); dir: the workers' directory ("": no workers) */
  uint32_t *front, front_head, front_len;
  uint8_t *seen, *claimed;
  char dir[4096];
  uint64_t spec_filled, spec_hits; /* atomic */
  /* the hot tier (lazy_hot.c): per defined function, the calls and loop
   * turns left before it is hot (XL_HOT counts down, racy by design; 0:
   * not counted; the queue is claimed[]'s CLAIM_HOT bits); under
   * lz_reg_lock: hot_turn when it was last served, hot_us the wall time its
   * batches took (translation, gcc, link); hot_done: how many functions run
   * the hot tier's code (atomic) */
  uint32_t *hot;
  uint64_t hot_turn, hot_us, hot_done;
  bool detaching; /* atomic: its last user frees it (a hot batch stops) */
  struct lazy_state *next;
} lazy_state;

#define MSG_CAP 512 /* an error message of a batch */

/* A batch translated (lz_translate): its functions (the first ncalled the
 * root and its callees, then the filling), what they name, their C. */
typedef struct lz_batch {
  uint32_t members[BATCH_MAX], n, ncalled;
  xl_refs refs;
  char *body; /* body_len bytes, NUL-terminated (from open_memstream) */
  size_t body_len;
  xl_error err;
} lz_batch;

/* Under lz_reg_lock: the attached objects; lz_bg_idle is signalled when a
 * state's busy count drops (lz_batch_over: a batch of the background, a
 * worker or the hot tier marked it busy and is over) and when a detach
 * ends. Batches and functions compiled (atomic). */
extern pthread_mutex_t lz_reg_lock;
extern pthread_cond_t lz_bg_idle;
extern lazy_state *lz_states;
/* Under lz_reg_lock: attaches waiting for a detach of their object to end
 * (mote_lazy_attach), for tests. */
extern unsigned lz_attaches_waiting;
extern uint64_t lz_stat_batches, lz_stat_functions;

/* ---- lazy.c ---- */
/* Under lz_reg_lock: a batch that marked st busy is over (its detach may go
 * on). */
void lz_batch_over(lazy_state *st);

/* ---- lazy_batch.c ---- */
/* The batch header of x (mod.h's text, no file read; XL_HOT counting down
 * xl_hot[] if `counting`, else nothing), and the same without the SIMD
 * helpers (NULL if they are not where expected); NULL: no memory. */
char *lz_header_text(const xl_module *x, bool counting);
char *lz_scalar_header(const char *header);

/* ---- lazy_header.c ---- */
/* A header's helpers (lazy_header.c), found once in a copy without its
 * comments (NULL: memory ran out, or the header is not as expected: batches
 * then take it whole). lz_slim_header: that copy with only the helpers
 * body's C names (and those they name), for one batch (caller frees; NULL:
 * no memory). */
lz_helpers *lz_helpers_parse(const char *header);
void lz_helpers_free(lz_helpers *h);
char *lz_slim_header(const lz_helpers *h, const char *body, size_t blen);
/* The code of defined function f if compiled (a parked one installed now:
 * its first call), else NULL. */
void *lz_ready_code(lazy_state *st, uint32_t f);
/* f is in a batch being compiled; f is compiled, parked or in a batch. */
bool lz_in_batch(const lazy_state *st, uint32_t f);
bool lz_compiled(void *ctx, uint32_t f);
/* Takes f for a batch unless compiled or taken (true: taken now); the same
 * as a skip callback of xl_write_batch; lets go of a batch's functions. */
bool lz_claim(lazy_state *st, uint32_t f);
bool lz_not_claimable(void *ctx, uint32_t f);
void lz_unclaim(lazy_state *st, const uint32_t *members, uint32_t n);
/* Translates root's batch (filled up to `fill` bytes), taking (claiming)
 * its functions: true, or false with b->err set or memory out; b->members
 * and b->n are what it took either way (root at least). lz_batch_done lets
 * them go and frees the rest. */
bool lz_translate(lazy_state *st, uint32_t root, size_t fill, lz_batch *b);
void lz_batch_done(lazy_state *st, lz_batch *b);
/* The header b is compiled after: without the SIMD helpers when its C
 * names nothing of SIMD (a guess: should that fail, st->header decides). */
const char *lz_header_for(const lazy_state *st, const lz_batch *b);
/* b compiled in process by lz_tcc_build after lz_header_for's header cut
 * to the helpers b names, and after the full one if that failed. */
code_block *lz_compile_batch(char *msg, lazy_state *st, const lz_batch *b, void **addr);
/* header + body compiled, or the object file obj linked, into fresh memory
 * against st's core (under libtcc's lock): the code block (on st's list)
 * and addr[] the members' code; NULL with msg (MSG_CAP) set. */
code_block *lz_tcc_build(char *msg, lazy_state *st, const char *header, const char *body,
                         size_t blen, const char *obj, bool lean, const xl_refs *refs,
                         const uint32_t *members, uint32_t n, void **addr);

/* ---- lazy_runtime.c ---- */
/* lean (lz_tcc_build): a compile that reads none of tcc's libraries from
 * disk (-nostdlib) and gets by name what a batch may call. lz_runtime_lean
 * before the compile: false (s untouched) when those symbols are not all in
 * the process; lz_runtime_add after it. */
struct TCCState;
bool lz_runtime_lean(struct TCCState *s);
void lz_runtime_add(struct TCCState *s);
extern const char *const lz_runtime_names[]; /* NULL-terminated */

/* The header of a hot batch (gcc's): header with XL_HOT counting nothing
 * and the core's symbols of default visibility (gcc's code then reaches
 * them through a GOT, so libtcc may link it anywhere in memory); NULL: no
 * memory. */
char *lz_hot_header(const char *header);

/* ---- lazy_hot.c ---- */
/* The count at which a function is queued for the hot tier (0: off). */
unsigned lz_hot_at(void);
/* Whether the hot tier takes module m: it is on, and gcc's and tcc's code
 * pass every type of m alike. */
bool lz_hot_wanted(const mote_module *m);
/* What each function counts down from (st->hot, at attach, once st->dir is
 * known): 0, never counted, for a function over 64 KiB, and for all of a
 * module without a directory or not wanted. False when nothing counts (the
 * batches' header then says XL_HOT is nothing: lz_header_text). */
bool lz_hot_arm(lazy_state *st);
/* What XL_HOT calls (the batch links it as xl_hot_reached, ctx as the
 * address xl_hot_ctx) when defined function d's count gets to 0: queues it,
 * once, without a lock (on a guest thread). */
void lz_hot_reached(void *ctx, uint32_t d);
/* Starts the hot tier's thread (attr: the compiler thread's; it idles
 * while nothing is queued): false if it could not. */
bool lz_hot_start(const pthread_attr_t *attr);
/* Whether st has functions queued for the hot tier and not taken (a scan
 * of its claims). */
bool lz_hot_pending(const lazy_state *st);

/* ---- lazy_worker.c ---- */
/* Workers the process starts (MOTE_LAZY_WORKERS), whether they work now. */
unsigned lz_worker_count(void);
bool lz_workers_enabled(void);
/* Starts them (attr: the compiler thread's). */
void lz_workers_start(const pthread_attr_t *attr);
/* Puts the callees a batch (refs) left out on st's frontier. */
void lz_front_push(lazy_state *st, const xl_refs *refs);
/* Waits while f is in a worker's batch (the compiler thread, for a call). */
void lz_wait_for_workers(lazy_state *st, uint32_t f);

#endif /* MOTE_COMPILE_LAZY_INTERNAL_H */
