/*
 * wasi internals: the context, the fd table, the preview1 constants (as the
 * witx defines them) and the helpers the host functions share.
 *
 * Every host function has wasm2c's calling convention (`u32 f(void *ctx, ...)`,
 * i32 -> uint32_t, i64 -> uint64_t), brackets its work with
 * mote_rt_host_enter/leave (the WASI_ENTER / WASI_RETURN macros), and returns
 * a WASI errno.
 */
#ifndef MOTE_WASI_INTERNAL_H
#define MOTE_WASI_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "rt/guest.h"
#include "wasi/wasi.h"

/* ---- preview1 errno ---------------------------------------------------- */
enum {
  W_ESUCCESS = 0, W_E2BIG = 1, W_EACCES = 2, W_EADDRINUSE = 3, W_EADDRNOTAVAIL = 4,
  W_EAFNOSUPPORT = 5, W_EAGAIN = 6, W_EALREADY = 7, W_EBADF = 8, W_EBADMSG = 9, W_EBUSY = 10,
  W_ECANCELED = 11, W_ECHILD = 12, W_ECONNABORTED = 13, W_ECONNREFUSED = 14, W_ECONNRESET = 15,
  W_EDEADLK = 16, W_EDESTADDRREQ = 17, W_EDOM = 18, W_EDQUOT = 19, W_EEXIST = 20, W_EFAULT = 21,
  W_EFBIG = 22, W_EHOSTUNREACH = 23, W_EIDRM = 24, W_EILSEQ = 25, W_EINPROGRESS = 26,
  W_EINTR = 27, W_EINVAL = 28, W_EIO = 29, W_EISCONN = 30, W_EISDIR = 31, W_ELOOP = 32,
  W_EMFILE = 33, W_EMLINK = 34, W_EMSGSIZE = 35, W_EMULTIHOP = 36, W_ENAMETOOLONG = 37,
  W_ENETDOWN = 38, W_ENETRESET = 39, W_ENETUNREACH = 40, W_ENFILE = 41, W_ENOBUFS = 42,
  W_ENODEV = 43, W_ENOENT = 44, W_ENOEXEC = 45, W_ENOLCK = 46, W_ENOLINK = 47, W_ENOMEM = 48,
  W_ENOMSG = 49, W_ENOPROTOOPT = 50, W_ENOSPC = 51, W_ENOSYS = 52, W_ENOTCONN = 53,
  W_ENOTDIR = 54, W_ENOTEMPTY = 55, W_ENOTRECOVERABLE = 56, W_ENOTSOCK = 57, W_ENOTSUP = 58,
  W_ENOTTY = 59, W_ENXIO = 60, W_EOVERFLOW = 61, W_EOWNERDEAD = 62, W_EPERM = 63, W_EPIPE = 64,
  W_EPROTO = 65, W_EPROTONOSUPPORT = 66, W_EPROTOTYPE = 67, W_ERANGE = 68, W_EROFS = 69,
  W_ESPIPE = 70, W_ESRCH = 71, W_ESTALE = 72, W_ETIMEDOUT = 73, W_ETXTBSY = 74, W_EXDEV = 75,
  W_ENOTCAPABLE = 76,
};

/* filetype */
enum {
  W_FT_UNKNOWN = 0, W_FT_BLOCK = 1, W_FT_CHAR = 2, W_FT_DIR = 3, W_FT_REG = 4,
  W_FT_SOCK_DGRAM = 5, W_FT_SOCK_STREAM = 6, W_FT_SYMLINK = 7,
};

/* fdflags, oflags, lookupflags, fstflags, whence, clocks, events */
enum { W_FDFLAG_APPEND = 1, W_FDFLAG_DSYNC = 2, W_FDFLAG_NONBLOCK = 4, W_FDFLAG_RSYNC = 8,
       W_FDFLAG_SYNC = 16 };
enum { W_O_CREAT = 1, W_O_DIRECTORY = 2, W_O_EXCL = 4, W_O_TRUNC = 8 };
enum { W_LOOKUP_SYMLINK_FOLLOW = 1 };
enum { W_FST_ATIM = 1, W_FST_ATIM_NOW = 2, W_FST_MTIM = 4, W_FST_MTIM_NOW = 8 };
enum { W_WHENCE_SET = 0, W_WHENCE_CUR = 1, W_WHENCE_END = 2 };
enum { W_CLOCK_REALTIME = 0, W_CLOCK_MONOTONIC = 1, W_CLOCK_PROCESS = 2, W_CLOCK_THREAD = 3 };
enum { W_EVENT_CLOCK = 0, W_EVENT_FD_READ = 1, W_EVENT_FD_WRITE = 2 };
enum { W_SUBCLOCK_ABSTIME = 1 };
enum { W_EVENTRW_HANGUP = 1 };

/* rights */
#define R_FD_DATASYNC (1ull << 0)
#define R_FD_READ (1ull << 1)
#define R_FD_SEEK (1ull << 2)
#define R_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define R_FD_SYNC (1ull << 4)
#define R_FD_TELL (1ull << 5)
#define R_FD_WRITE (1ull << 6)
#define R_FD_ADVISE (1ull << 7)
#define R_FD_ALLOCATE (1ull << 8)
#define R_PATH_CREATE_DIRECTORY (1ull << 9)
#define R_PATH_CREATE_FILE (1ull << 10)
#define R_PATH_LINK_SOURCE (1ull << 11)
#define R_PATH_LINK_TARGET (1ull << 12)
#define R_PATH_OPEN (1ull << 13)
#define R_FD_READDIR (1ull << 14)
#define R_PATH_READLINK (1ull << 15)
#define R_PATH_RENAME_SOURCE (1ull << 16)
#define R_PATH_RENAME_TARGET (1ull << 17)
#define R_PATH_FILESTAT_GET (1ull << 18)
#define R_PATH_FILESTAT_SET_SIZE (1ull << 19)
#define R_PATH_FILESTAT_SET_TIMES (1ull << 20)
#define R_FD_FILESTAT_GET (1ull << 21)
#define R_FD_FILESTAT_SET_SIZE (1ull << 22)
#define R_FD_FILESTAT_SET_TIMES (1ull << 23)
#define R_PATH_SYMLINK (1ull << 24)
#define R_PATH_REMOVE_DIRECTORY (1ull << 25)
#define R_PATH_UNLINK_FILE (1ull << 26)
#define R_POLL_FD_READWRITE (1ull << 27)
#define R_SOCK_SHUTDOWN (1ull << 28)
#define R_SOCK_ACCEPT (1ull << 29)
#define R_ALL ((1ull << 30) - 1)

/* The most each kind of fd may hold (as uvwasi, Node's WASI, grants). */
#define R_FILE_BASE                                                                          \
  (R_FD_DATASYNC | R_FD_READ | R_FD_SEEK | R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_TELL |      \
   R_FD_WRITE | R_FD_ADVISE | R_FD_ALLOCATE | R_FD_FILESTAT_GET | R_FD_FILESTAT_SET_SIZE |      \
   R_FD_FILESTAT_SET_TIMES | R_POLL_FD_READWRITE)
#define R_DIR_BASE                                                                           \
  (R_FD_FDSTAT_SET_FLAGS | R_FD_SYNC | R_FD_ADVISE | R_PATH_CREATE_DIRECTORY |                 \
   R_PATH_CREATE_FILE | R_PATH_LINK_SOURCE | R_PATH_LINK_TARGET | R_PATH_OPEN | R_FD_READDIR | \
   R_PATH_READLINK | R_PATH_RENAME_SOURCE | R_PATH_RENAME_TARGET | R_PATH_FILESTAT_GET |       \
   R_PATH_FILESTAT_SET_SIZE | R_PATH_FILESTAT_SET_TIMES | R_FD_FILESTAT_GET |                  \
   R_FD_FILESTAT_SET_TIMES | R_PATH_SYMLINK | R_PATH_UNLINK_FILE | R_PATH_REMOVE_DIRECTORY |   \
   R_POLL_FD_READWRITE)
#define R_DIR_INHERITING (R_DIR_BASE | R_FILE_BASE)
#define R_TTY_BASE \
  (R_FD_READ | R_FD_FDSTAT_SET_FLAGS | R_FD_WRITE | R_FD_FILESTAT_GET | R_POLL_FD_READWRITE)
/* Rights that change what lies under a directory or in a file. */
#define R_FILE_MUTATING (R_FD_WRITE | R_FD_ALLOCATE | R_FD_FILESTAT_SET_SIZE | \
                         R_FD_FILESTAT_SET_TIMES | R_FD_DATASYNC)

/* ---- the context --------------------------------------------------------- */

typedef enum wasi_fd_kind {
  FD_FREE = 0,
  FD_HOST,   /* a host fd: a file or directory the guest opened, a preopen, or passed-in stdio */
  FD_BUFFER, /* stdio backed by memory (stdin data, captured output) or discarded */
} wasi_fd_kind;

typedef struct wasi_fd {
  wasi_fd_kind kind;
  int host;            /* FD_HOST */
  bool owned;          /* close `host` when the guest closes the fd */
  bool writable;       /* changes allowed beneath / in it (from its preopen) */
  bool counted;        /* counts against max_open_files */
  int stdio;           /* 0, 1, 2 for the stdio streams (also FD_HOST ones), else -1 */
  uint8_t filetype;
  uint16_t fdflags;
  uint64_t rights_base, rights_inheriting;
  char *preopen_name;  /* malloc, for preopens; NULL otherwise */
} wasi_fd;

/* A growable output buffer with a cap (the cap applies to passthrough too). */
typedef struct wasi_out {
  uint8_t *data;  /* malloc */
  size_t len, cap_alloc;
  uint64_t written; /* all bytes accepted so far, for the cap */
  uint64_t limit;
} wasi_out;

struct mote_wasi {
  char **argv; size_t argc; size_t argv_bytes;  /* malloc'd copies */
  char **env; size_t envc; size_t env_bytes;
  wasi_fd *fds; uint32_t nfds;                   /* the table; slots may be FD_FREE */
  uint32_t npreopens;                            /* fds 3 .. 3+npreopens-1 at the start */
  /* each preopen's directory (device, inode), as opened: the sandbox's roots
   * whatever the guest does to their fds (closes, renumbers) */
  struct wasi_root { dev_t dev; ino_t ino; } *roots;
  uint32_t open_counted, max_open;
  const uint8_t *stdin_data; size_t stdin_len, stdin_pos; /* data: the config's, borrowed */
  wasi_out out[3];                               /* [1] stdout, [2] stderr */
  wasm_rt_memory_t *memory;
  uint64_t deadline_ns;
  void (*on_block)(void *ctx);   /* mote_wasi_config's */
  void *block_ctx;
  mote_wasi_stop stop;
  mote_wasi_stop pending;  /* a stop decided inside a call, raised once it cleaned up */
  uint32_t exit_code;
  char stop_msg[160];
};

#define WASI_ENTER() mote_rt_host_enter()
#define WASI_RETURN(v)        \
  do {                        \
    uint32_t r_ = (v);        \
    mote_rt_host_leave();     \
    return r_;                \
  } while (0)

/* memory.c: guest pointers. NULL when [off, off+len) is not inside memory. */
uint8_t *wasi_mem(mote_wasi *w, uint32_t off, uint64_t len);
/* Stores/loads little-endian values; false (EFAULT) when out of bounds. */
bool wasi_store_u8(mote_wasi *w, uint32_t off, uint8_t v);
bool wasi_store_u16(mote_wasi *w, uint32_t off, uint16_t v);
bool wasi_store_u32(mote_wasi *w, uint32_t off, uint32_t v);
bool wasi_store_u64(mote_wasi *w, uint32_t off, uint64_t v);
/* Reads `n` guest iovecs at `iovs` into host iovecs (malloc'd into *out,
 * free it): 0 or an errno (EFAULT, EINVAL for more than 1024). *total gets
 * the byte sum. */
uint32_t wasi_iovecs(mote_wasi *w, uint32_t iovs, uint32_t n, struct iovec **out,
                     uint64_t *total);
/* A guest path as a NUL-terminated host string in buf[PATH_MAX]: 0 or errno. */
uint32_t wasi_path(mote_wasi *w, uint32_t ptr, uint32_t len, char *buf);

/* fd table (wasi.c). wasi_fd_get: the open fd `fd` holding every right in
 * `need` (EBADF, ENOTCAPABLE). */
uint32_t wasi_fd_get(mote_wasi *w, uint32_t fd, uint64_t need, wasi_fd **out);
/* A free slot number for a new fd (EMFILE past the cap, ENOMEM). */
uint32_t wasi_fd_alloc(mote_wasi *w, uint32_t *out);
void wasi_fd_release(mote_wasi *w, uint32_t fd);
uint8_t wasi_filetype(mode_t mode);
/* Fills a 64-byte filestat from a host stat. */
void wasi_filestat(uint8_t out[64], const struct stat *st);

/* stdio.c */
void wasi_stdio_init(mote_wasi *w, const mote_wasi_config *cfg);
/* Writes to stream 1 or 2 (f->stdio) whose fd is FD_BUFFER or FD_HOST
 * passthrough, up to its cap. 0 or errno; *done gets the bytes taken. When
 * the cap cut the write, a stop is pending (see wasi_pend). */
uint32_t wasi_out_write(mote_wasi *w, wasi_fd *f, const struct iovec *iov, int n, uint64_t total,
                        uint64_t *done);
/* Reads from an FD_BUFFER stdin. */
uint64_t wasi_stdin_read(mote_wasi *w, const struct iovec *iov, int n);
/* Waits until a non-regular host fd is ready; false when a deadline passed
 * (a stop is then pending). */
bool wasi_wait_fd(mote_wasi *w, int fd, short events);
/* ppoll until something is ready or CLOCK_MONOTONIC `until_ns` (UINT64_MAX:
 * no end), watching the deadlines: ppoll's result (0 at until_ns), or -2
 * when a deadline passed (a stop is then pending). */
struct pollfd;
int wasi_ppoll(mote_wasi *w, struct pollfd *fds, unsigned long n, uint64_t until_ns);
/* Stopping the run from inside a host function. A function decides with
 * wasi_pend (the reason and its message), frees what it holds, then calls
 * wasi_raise_pending, which stops the run if a stop is pending. */
void wasi_pend(mote_wasi *w, mote_wasi_stop why, const char *msg);
void wasi_raise_pending(mote_wasi *w);

/* sandbox.c: resolution beneath a directory fd. */
/* openat2(dirfd, path, flags, mode, RESOLVE_BENEATH|RESOLVE_NO_MAGICLINKS):
 * a host fd, or -1 with errno (EXDEV when the path leaves the directory). */
int wasi_openat_beneath(int dirfd, const char *path, int flags, mode_t mode);
/* For operations on a last component: opens the parent of `path` beneath
 * dirfd (O_PATH) and leaves the last component in `name` (trailing slashes
 * removed, *trailing_slash set). Returns the parent fd or -1 with errno;
 * a last component of ".." or "." is returned as is for the caller to judge. */
int wasi_open_parent(int dirfd, const char *path, char *name, bool *trailing_slash);
/* A host errno as a WASI errno for path resolution: EXDEV -> ENOTCAPABLE. */
uint32_t wasi_path_errno(int e);

/* The host functions, by area (registered in wasi.c). */
#define WASI_FN(name, ...) uint32_t wasi_##name(void *ctx, ##__VA_ARGS__)
typedef uint32_t u32;
typedef uint64_t u64;
WASI_FN(args_get, u32, u32);
WASI_FN(args_sizes_get, u32, u32);
WASI_FN(environ_get, u32, u32);
WASI_FN(environ_sizes_get, u32, u32);
WASI_FN(clock_res_get, u32, u32);
WASI_FN(clock_time_get, u32, u64, u32);
WASI_FN(random_get, u32, u32);
WASI_FN(sched_yield);
WASI_FN(proc_raise, u32);
void wasi_proc_exit(void *ctx, u32 code);
WASI_FN(fd_advise, u32, u64, u64, u32);
WASI_FN(fd_allocate, u32, u64, u64);
WASI_FN(fd_close, u32);
WASI_FN(fd_datasync, u32);
WASI_FN(fd_fdstat_get, u32, u32);
WASI_FN(fd_fdstat_set_flags, u32, u32);
WASI_FN(fd_fdstat_set_rights, u32, u64, u64);
WASI_FN(fd_filestat_get, u32, u32);
WASI_FN(fd_filestat_set_size, u32, u64);
WASI_FN(fd_filestat_set_times, u32, u64, u64, u32);
WASI_FN(fd_pread, u32, u32, u32, u64, u32);
WASI_FN(fd_prestat_get, u32, u32);
WASI_FN(fd_prestat_dir_name, u32, u32, u32);
WASI_FN(fd_pwrite, u32, u32, u32, u64, u32);
WASI_FN(fd_read, u32, u32, u32, u32);
WASI_FN(fd_readdir, u32, u32, u32, u64, u32);
WASI_FN(fd_renumber, u32, u32);
WASI_FN(fd_seek, u32, u64, u32, u32);
WASI_FN(fd_sync, u32);
WASI_FN(fd_tell, u32, u32);
WASI_FN(fd_write, u32, u32, u32, u32);
WASI_FN(path_create_directory, u32, u32, u32);
WASI_FN(path_filestat_get, u32, u32, u32, u32, u32);
WASI_FN(path_filestat_set_times, u32, u32, u32, u32, u64, u64, u32);
WASI_FN(path_link, u32, u32, u32, u32, u32, u32, u32);
WASI_FN(path_open, u32, u32, u32, u32, u32, u64, u64, u32, u32);
WASI_FN(path_readlink, u32, u32, u32, u32, u32, u32);
WASI_FN(path_remove_directory, u32, u32, u32);
WASI_FN(path_rename, u32, u32, u32, u32, u32, u32);
WASI_FN(path_symlink, u32, u32, u32, u32, u32);
WASI_FN(path_unlink_file, u32, u32, u32);
WASI_FN(poll_oneoff, u32, u32, u32, u32);
WASI_FN(sock_accept, u32, u32, u32);
WASI_FN(sock_recv, u32, u32, u32, u32, u32, u32);
WASI_FN(sock_send, u32, u32, u32, u32, u32);
WASI_FN(sock_shutdown, u32, u32);

/* fd.c, shared with path.c: host timespecs for (atim, mtim, fstflags):
 * 0 or EINVAL. */
uint32_t wasi_times(uint64_t atim, uint64_t mtim, uint32_t flags, struct timespec ts[2]);

/* Shared by clock_random.c and poll.c: now on a WASI clock, or false. */
bool wasi_clock_now(uint32_t id, uint64_t *ns);
uint64_t wasi_monotonic_ns(void);

#endif /* MOTE_WASI_INTERNAL_H */
