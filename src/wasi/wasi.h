/*
 * wasi: WASI preview1 ("wasi_snapshot_preview1") for one instance.
 *
 * A `mote_wasi` is the host side of one guest: its arguments, environment,
 * file descriptors, preopened directories, stdio targets and limits. The
 * embedder creates it from a config, resolves the module's imports through
 * it, instantiates, binds the instance's exported "memory", runs `_start`,
 * then reads the outcome (exit code, or why the run was stopped) and any
 * captured output:
 *
 *   mote_wasi *w = mote_wasi_new(&cfg, &rc_msg);
 *   for each import i:  mote_wasi_resolve(w, mod, mod_len, name, name_len, &ext[i])
 *   mote_rt_instantiate(m, ext, &limits, &inst, &err);
 *   mote_wasi_bind_memory(w, inst);
 *   mote_rt_call(inst, _start, ...)  ->  MOTE_TRAP_EXIT: exit code in err.detail;
 *                                       MOTE_TRAP_HOST: mote_wasi_stop_message(w)
 *   mote_wasi_free(w);
 *
 * Sandbox: the guest sees only its preopens. Every path is resolved with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) from the directory fd the
 * guest names, so "..", absolute paths and symlinks leading out fail with
 * ENOTCAPABLE (76). A read-only preopen refuses every change beneath it
 * (create, write-open, truncate, unlink, rename, mkdir, rmdir, symlink, link,
 * set-times, set-size) with EROFS (69); a write-open of a directory there is
 * EISDIR and of a path that does not resolve its lookup's error, as on a
 * read-only mount. The environment is exactly the configured one; nothing of
 * the host's leaks.
 *
 * Guest pointers: every (offset, length) the guest passes is checked against
 * the bound memory's current size in 64-bit arithmetic; a bad one returns
 * EFAULT (21). Before the memory is bound every pointer is bad.
 *
 * Limits: stdout and stderr each have a byte cap; a write past it writes what
 * still fits, then stops the run (mote_rt_raise(MOTE_TRAP_HOST, reason)) with
 * mote_wasi_stop_message() saying which cap. Files the guest may hold open at
 * once are capped too: path_open past the cap returns EMFILE (33), which the
 * guest sees as an ordinary "too many open files". Blocking host calls
 * (poll_oneoff sleeps, reads from a pipe or terminal) end at the deadline
 * given to mote_wasi_set_deadline with MOTE_TRAP_TIMEOUT.
 *
 * Threads: a mote_wasi belongs to one instance and is used by the thread that
 * runs it. Distinct contexts share nothing.
 */
#ifndef MOTE_WASI_H
#define MOTE_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rt/rt.h"

typedef struct mote_wasi mote_wasi;

#define MOTE_WASI_MODULE "wasi_snapshot_preview1"

/* Defaults used when a config field is 0. */
#define MOTE_WASI_DEFAULT_OUTPUT_CAP (1u << 20) /* bytes, each of stdout and stderr */
#define MOTE_WASI_DEFAULT_OPEN_FILES 64         /* fds the guest may open itself */
#define MOTE_WASI_UNLIMITED UINT64_MAX          /* an output cap meaning "none" */

/* Where a stdio stream goes (or, for stdin, comes from). */
typedef enum mote_wasi_stdio_kind {
  MOTE_WASI_STDIO_NULL = 0, /* stdin: empty (EOF); stdout/stderr: discarded (still capped) */
  MOTE_WASI_STDIO_FD,       /* a host fd, which the caller keeps owning */
  MOTE_WASI_STDIO_BUFFER,   /* stdin: read from `data`; stdout/stderr: captured in memory */
} mote_wasi_stdio_kind;

typedef struct mote_wasi_stdio {
  mote_wasi_stdio_kind kind;
  int fd;              /* MOTE_WASI_STDIO_FD */
  const uint8_t *data; /* stdin MOTE_WASI_STDIO_BUFFER: borrowed, it must outlive the
                        * context (a copy of a request body cost every call its
                        * malloc and page faults: 28 us for a 192 KiB photo) */
  size_t len;
} mote_wasi_stdio;

typedef struct mote_wasi_preopen {
  const char *host_path;  /* an existing directory on the host */
  const char *guest_path; /* its name for the guest (e.g. "/data" or "."); NULL: host_path */
  bool writable;          /* false: read-only, every change fails with EROFS */
} mote_wasi_preopen;

/* Everything but stdin's buffer is copied by mote_wasi_new: the config may
 * be freed after, the stdin buffer only after mote_wasi_free. */
typedef struct mote_wasi_config {
  const char *const *argv; /* argc strings; argv[0] is the program name the guest sees */
  size_t argc;
  const char *const *env;  /* envc "KEY=VALUE" strings: the guest's whole environment */
  size_t envc;
  const mote_wasi_preopen *preopens; /* fds 3, 4, ... in this order */
  size_t npreopens;
  mote_wasi_stdio stdin_, stdout_, stderr_;
  uint64_t stdout_cap;     /* bytes; 0: MOTE_WASI_DEFAULT_OUTPUT_CAP; MOTE_WASI_UNLIMITED */
  uint64_t stderr_cap;     /* likewise */
  uint32_t max_open_files; /* 0: MOTE_WASI_DEFAULT_OPEN_FILES */
  /* Called on the guest's thread before it waits in the host (a
   * poll_oneoff sleep, a read of a pipe), once per wait: an embedder gives
   * back what a call that does not compute need not hold. NULL: none. */
  void (*on_block)(void *ctx);
  void *block_ctx;
} mote_wasi_config;

/* Why a run stopped early (besides an ordinary trap of the guest). Also the
 * `detail` of MOTE_TRAP_HOST traps this layer raises. */
typedef enum mote_wasi_stop {
  MOTE_WASI_RUNNING = 0,
  MOTE_WASI_EXITED,         /* proc_exit: see mote_wasi_exit_code */
  MOTE_WASI_STDOUT_LIMIT,   /* stdout exceeded its cap */
  MOTE_WASI_STDERR_LIMIT,   /* stderr exceeded its cap */
  MOTE_WASI_TIMEOUT,        /* a blocking call reached the deadline (MOTE_TRAP_TIMEOUT) */
  MOTE_WASI_HOST_FAILURE,   /* the host could not go on (out of memory...) */
  MOTE_WASI_CANCELLED,      /* a blocking call saw a cancel (mote_rt_cancel; MOTE_TRAP_CANCELLED) */
} mote_wasi_stop;

/* Creates a context, or NULL with a message in *error (static storage) when a
 * preopen cannot be opened (errno kept) or memory runs out. Preopens are
 * opened here, once. */
mote_wasi *mote_wasi_new(const mote_wasi_config *cfg, const char **error);
/* Closes every fd it opened (never the stdio fds the caller passed). NULL ok. */
void mote_wasi_free(mote_wasi *w);

/* Fills *out with the host function for import `module`.`name`, bound to w.
 * False when module is not "wasi_snapshot_preview1" or the name is unknown.
 * The signature in out->type is what the function implements; the runtime
 * checks it against the import's type at instantiation. */
bool mote_wasi_resolve(mote_wasi *w, const char *module, size_t module_len, const char *name,
                       size_t name_len, mote_rt_extern *out);

/* After instantiation: gives w the instance's exported "memory". False if the
 * instance exports no memory of that name. */
bool mote_wasi_bind_memory(mote_wasi *w, mote_rt_instance *inst);
/* The same with a memory the caller found itself (NULL unbinds). */
void mote_wasi_set_memory(mote_wasi *w, wasm_rt_memory_t *mem);

/* Blocking calls (poll_oneoff sleeps, reads from pipes and terminals) stop
 * the run with MOTE_TRAP_TIMEOUT at this CLOCK_MONOTONIC time in ns; 0: none. */
void mote_wasi_set_deadline(mote_wasi *w, uint64_t monotonic_ns);

/* The outcome. */
mote_wasi_stop mote_wasi_stop_reason(const mote_wasi *w);
uint32_t mote_wasi_exit_code(const mote_wasi *w);     /* valid when EXITED */
/* One line for a user, e.g. "stdout exceeded its limit of 1048576 bytes";
 * "" while running. Owned by w. */
const char *mote_wasi_stop_message(const mote_wasi *w);

/* Captured output (MOTE_WASI_STDIO_BUFFER): the bytes so far, owned by w and
 * valid until the next guest call or mote_wasi_free. *len 0 otherwise. */
/* True when the fd table holds exactly what the context started with (stdio
 * and the preopens, at their numbers): a snapshot of a guest taken now is
 * valid with a fresh context of the same configuration. */
bool mote_wasi_fds_pristine(const mote_wasi *w);

const uint8_t *mote_wasi_stdout(const mote_wasi *w, size_t *len);
const uint8_t *mote_wasi_stderr(const mote_wasi *w, size_t *len);

/* The WASI errno (preview1 numbering) for a host errno value. */
uint16_t mote_wasi_errno(int host_errno);

#endif /* MOTE_WASI_H */
