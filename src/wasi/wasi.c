/*
 * The context: creation from a config (copies, preopens), the fd table, the
 * registry of host functions, binding the guest's memory, the outcome.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasi/wasi_internal.h"

/* ---- the registry ---------------------------------------------------------- */

typedef struct wasi_entry {
  const char *name;
  const char *signature; /* i=i32 j=i64, "params:results" */
  wasm_rt_function_ptr_t fn;
} wasi_entry;

#define E(n, sig) {#n, sig, (wasm_rt_function_ptr_t)wasi_##n}
static const wasi_entry registry[] = {
    E(args_get, "ii:i"),
    E(args_sizes_get, "ii:i"),
    E(environ_get, "ii:i"),
    E(environ_sizes_get, "ii:i"),
    E(clock_res_get, "ii:i"),
    E(clock_time_get, "iji:i"),
    E(fd_advise, "ijji:i"),
    E(fd_allocate, "ijj:i"),
    E(fd_close, "i:i"),
    E(fd_datasync, "i:i"),
    E(fd_fdstat_get, "ii:i"),
    E(fd_fdstat_set_flags, "ii:i"),
    E(fd_fdstat_set_rights, "ijj:i"),
    E(fd_filestat_get, "ii:i"),
    E(fd_filestat_set_size, "ij:i"),
    E(fd_filestat_set_times, "ijji:i"),
    E(fd_pread, "iiiji:i"),
    E(fd_prestat_get, "ii:i"),
    E(fd_prestat_dir_name, "iii:i"),
    E(fd_pwrite, "iiiji:i"),
    E(fd_read, "iiii:i"),
    E(fd_readdir, "iiiji:i"),
    E(fd_renumber, "ii:i"),
    E(fd_seek, "ijii:i"),
    E(fd_sync, "i:i"),
    E(fd_tell, "ii:i"),
    E(fd_write, "iiii:i"),
    E(path_create_directory, "iii:i"),
    E(path_filestat_get, "iiiii:i"),
    E(path_filestat_set_times, "iiiijji:i"),
    E(path_link, "iiiiiii:i"),
    E(path_open, "iiiiijjii:i"),
    E(path_readlink, "iiiiii:i"),
    E(path_remove_directory, "iii:i"),
    E(path_rename, "iiiiii:i"),
    E(path_symlink, "iiiii:i"),
    E(path_unlink_file, "iii:i"),
    E(poll_oneoff, "iiii:i"),
    E(proc_exit, "i:"),
    E(proc_raise, "i:i"),
    E(sched_yield, ":i"),
    E(random_get, "ii:i"),
    E(sock_accept, "iii:i"),
    E(sock_recv, "iiiiii:i"),
    E(sock_send, "iiiii:i"),
    E(sock_shutdown, "ii:i"),
};
#undef E

bool mote_wasi_resolve(mote_wasi *w, const char *module, size_t module_len, const char *name,
                       size_t name_len, mote_rt_extern *out) {
  if (module_len != strlen(MOTE_WASI_MODULE) || memcmp(module, MOTE_WASI_MODULE, module_len))
    return false;
  for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
    const wasi_entry *e = &registry[i];
    if (strlen(e->name) == name_len && !memcmp(e->name, name, name_len)) {
      memset(out, 0, sizeof *out);
      out->type.kind = MOTE_ABI_FUNC;
      out->type.signature = e->signature;
      out->binding.func.fn = e->fn;
      out->binding.func.ctx = w;
      return true;
    }
  }
  return false;
}

/* ---- the fd table ------------------------------------------------------------ */

uint32_t wasi_fd_get(mote_wasi *w, uint32_t fd, uint64_t need, wasi_fd **out) {
  if (fd >= w->nfds || w->fds[fd].kind == FD_FREE) return W_EBADF;
  wasi_fd *f = &w->fds[fd];
  if ((f->rights_base & need) != need) return W_ENOTCAPABLE;
  *out = f;
  return 0;
}

uint32_t wasi_fd_alloc(mote_wasi *w, uint32_t *out) {
  if (w->open_counted >= w->max_open) return W_EMFILE;
  for (uint32_t i = 0; i < w->nfds; i++) {
    if (w->fds[i].kind == FD_FREE) {
      *out = i;
      return 0;
    }
  }
  uint32_t n = w->nfds ? w->nfds * 2 : 8;
  wasi_fd *grown = realloc(w->fds, n * sizeof *grown);
  if (!grown) return W_ENOMEM;
  memset(grown + w->nfds, 0, (n - w->nfds) * sizeof *grown);
  for (uint32_t i = w->nfds; i < n; i++) grown[i].host = -1;
  *out = w->nfds;
  w->fds = grown;
  w->nfds = n;
  return 0;
}

void wasi_fd_release(mote_wasi *w, uint32_t fd) {
  wasi_fd *f = &w->fds[fd];
  if (f->kind == FD_HOST && f->owned && f->host >= 0) close(f->host);
  if (f->counted && w->open_counted > 0) w->open_counted--;
  free(f->preopen_name);
  memset(f, 0, sizeof *f);
  f->host = -1;
  f->stdio = -1;
}

uint8_t wasi_filetype(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFBLK: return W_FT_BLOCK;
    case S_IFCHR: return W_FT_CHAR;
    case S_IFDIR: return W_FT_DIR;
    case S_IFREG: return W_FT_REG;
    case S_IFLNK: return W_FT_SYMLINK;
    case S_IFSOCK: return W_FT_SOCK_STREAM;
    case S_IFIFO: return W_FT_SOCK_STREAM; /* as uvwasi (Node) reports pipes */
    default: return W_FT_UNKNOWN;
  }
}

static uint64_t ts_ns(struct timespec t) {
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* filestat: dev@0 ino@8 filetype@16 nlink@24 size@32 atim@40 mtim@48 ctim@56 */
void wasi_filestat(uint8_t out[64], const struct stat *st) {
  uint64_t v;
  memset(out, 0, 64);
  v = st->st_dev; memcpy(out + 0, &v, 8);
  v = st->st_ino; memcpy(out + 8, &v, 8);
  out[16] = wasi_filetype(st->st_mode);
  v = st->st_nlink; memcpy(out + 24, &v, 8);
  v = (uint64_t)st->st_size; memcpy(out + 32, &v, 8);
  v = ts_ns(st->st_atim); memcpy(out + 40, &v, 8);
  v = ts_ns(st->st_mtim); memcpy(out + 48, &v, 8);
  v = ts_ns(st->st_ctim); memcpy(out + 56, &v, 8);
}

/* ---- creation --------------------------------------------------------------- */

static char **copy_strings(const char *const *src, size_t n, size_t *bytes) {
  char **dst = calloc(n + 1, sizeof *dst);
  *bytes = 0;
  if (!dst) return NULL;
  for (size_t i = 0; i < n; i++) {
    dst[i] = strdup(src[i] ? src[i] : "");
    if (!dst[i]) {
      for (size_t j = 0; j < i; j++) free(dst[j]);
      free(dst);
      return NULL;
    }
    *bytes += strlen(dst[i]) + 1;
  }
  return dst;
}

static void free_strings(char **s, size_t n) {
  if (!s) return;
  for (size_t i = 0; i < n; i++) free(s[i]);
  free(s);
}

mote_wasi *mote_wasi_new(const mote_wasi_config *cfg, const char **error) {
  mote_wasi *w = calloc(1, sizeof *w);
  *error = "out of memory";
  if (!w) return NULL;
  w->max_open = cfg->max_open_files ? cfg->max_open_files : MOTE_WASI_DEFAULT_OPEN_FILES;
  w->on_block = cfg->on_block;
  w->block_ctx = cfg->block_ctx;
  w->argc = cfg->argc;
  w->envc = cfg->envc;
  w->argv = copy_strings(cfg->argv, cfg->argc, &w->argv_bytes);
  w->env = copy_strings(cfg->env, cfg->envc, &w->env_bytes);
  if (!w->argv || !w->env) goto fail;
  w->nfds = (uint32_t)(3 + cfg->npreopens);
  w->npreopens = (uint32_t)cfg->npreopens;
  w->fds = calloc(w->nfds, sizeof *w->fds);
  w->roots = calloc(cfg->npreopens ? cfg->npreopens : 1, sizeof *w->roots);
  if (!w->fds || !w->roots) goto fail;
  for (uint32_t i = 0; i < w->nfds; i++) {
    w->fds[i].host = -1;
    w->fds[i].stdio = -1;
  }
  wasi_stdio_init(w, cfg);
  if (cfg->stdin_.kind == MOTE_WASI_STDIO_BUFFER && cfg->stdin_.len) {
    w->stdin_data = cfg->stdin_.data; /* borrowed (wasi.h) */
    w->stdin_len = cfg->stdin_.len;
  }
  for (size_t i = 0; i < cfg->npreopens; i++) {
    const mote_wasi_preopen *p = &cfg->preopens[i];
    wasi_fd *f = &w->fds[3 + i];
    int fd = open(p->host_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
      *error = "cannot open a preopened directory";
      goto fail;
    }
    f->kind = FD_HOST;
    f->host = fd;
    f->owned = true;
    f->writable = p->writable;
    f->filetype = W_FT_DIR;
    f->rights_base = R_DIR_BASE;
    f->rights_inheriting = R_DIR_INHERITING;
    f->preopen_name = strdup(p->guest_path ? p->guest_path : p->host_path);
    if (!f->preopen_name) goto fail;
    struct stat st;
    if (fstat(fd, &st) != 0) {
      *error = "cannot open a preopened directory";
      goto fail;
    }
    w->roots[i].dev = st.st_dev;
    w->roots[i].ino = st.st_ino;
  }
  *error = NULL;
  return w;
fail:;
  int saved = errno;
  mote_wasi_free(w);
  errno = saved;
  return NULL;
}

void mote_wasi_free(mote_wasi *w) {
  if (!w) return;
  for (uint32_t i = 0; w->fds && i < w->nfds; i++) wasi_fd_release(w, i);
  free(w->fds);
  free(w->roots);
  free_strings(w->argv, w->argc);
  free_strings(w->env, w->envc);
  for (int i = 0; i < 3; i++) free(w->out[i].data);
  free(w);
}

/* ---- memory, deadline, outcome ---------------------------------------------- */

bool mote_wasi_bind_memory(mote_wasi *w, mote_rt_instance *inst) {
  mote_rt_module *m = mote_rt_instance_module(inst);
  int32_t idx = mote_rt_module_find_export(m, "memory", 6);
  if (idx < 0 || mote_rt_module_abi(m)->exports[idx].type.kind != MOTE_ABI_MEMORY) return false;
  w->memory = mote_rt_instance_export(inst, (uint32_t)idx).binding.memory;
  return w->memory != NULL;
}

void mote_wasi_set_memory(mote_wasi *w, wasm_rt_memory_t *mem) { w->memory = mem; }

void mote_wasi_set_deadline(mote_wasi *w, uint64_t monotonic_ns) { w->deadline_ns = monotonic_ns; }

mote_wasi_stop mote_wasi_stop_reason(const mote_wasi *w) { return w->stop; }

uint32_t mote_wasi_exit_code(const mote_wasi *w) { return w->exit_code; }

const char *mote_wasi_stop_message(const mote_wasi *w) { return w->stop_msg; }

const uint8_t *mote_wasi_stdout(const mote_wasi *w, size_t *len) {
  *len = w->out[1].len;
  return w->out[1].data;
}

const uint8_t *mote_wasi_stderr(const mote_wasi *w, size_t *len) {
  *len = w->out[2].len;
  return w->out[2].data;
}

void wasi_pend(mote_wasi *w, mote_wasi_stop why, const char *msg) {
  if (w->pending) return; /* the first reason wins */
  w->pending = why;
  snprintf(w->stop_msg, sizeof w->stop_msg, "%s", msg);
}

void wasi_raise_pending(mote_wasi *w) {
  if (!w->pending) return;
  w->stop = w->pending;
  w->pending = MOTE_WASI_RUNNING;
  mote_rt_raise(w->stop == MOTE_WASI_TIMEOUT     ? MOTE_TRAP_TIMEOUT
                : w->stop == MOTE_WASI_CANCELLED ? MOTE_TRAP_CANCELLED
                                                 : MOTE_TRAP_HOST,
                (uint32_t)w->stop);
}

bool mote_wasi_fds_pristine(const mote_wasi *w) {
  for (uint32_t i = 0; i < w->nfds; i++) {
    const wasi_fd *f = &w->fds[i];
    bool want_open = i < 3 + w->npreopens;
    if ((f->kind != FD_FREE) != want_open) return false;
    if (i < 3 && f->stdio != (int)i) return false;
    if (i >= 3 && want_open && !f->preopen_name) return false;
    /* still the directory it was opened on: two preopens swapped by
     * fd_renumber kept their names and passed until stop 30, and the
     * snapshot's calls then found their directories the other way round */
    struct stat st;
    if (i >= 3 && want_open &&
        (f->kind != FD_HOST || fstat(f->host, &st) != 0 || st.st_dev != w->roots[i - 3].dev ||
         st.st_ino != w->roots[i - 3].ino))
      return false;
  }
  return true;
}
