/*
 * A lazy batch compiled out of process (lazy.c's workers): its C written to
 * a file of the object's worker directory and compiled to an object file by
 * the quick tier's compiler (tcc -c) in a child process under the limits of
 * an eager compile (mote_child_run), so that a crash or a runaway of tcc on
 * it is a failed batch, not the process's end. lazy.c links the object in
 * process.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compile/compile.h"
#include "compile/compile_internal.h"
#include "compile/toolchain.h"

bool mote_lazy_worker_dir(const char *so_path, char *dir, size_t cap) {
  const char *slash = strrchr(so_path, '/');
  int n = slash ? snprintf(dir, cap, "%.*s/tmp/lazy-%d-XXXXXX", (int)(slash - so_path), so_path,
                           (int)getpid())
                : snprintf(dir, cap, "tmp/lazy-%d-XXXXXX", (int)getpid());
  if (n < 0 || (size_t)n >= cap) return false;
  return mkdtemp(dir) != NULL;
}

void mote_lazy_worker_dir_remove(const char *dir) {
  if (dir[0]) rmdir(dir); /* its files are removed after each batch */
}

bool mote_lazy_worker_compile(const char *dir, unsigned long seq, const char *header,
                              const char *body, size_t blen, char *obj, size_t objcap,
                              char *msg, size_t cap) {
  char src[64], name[64], path[PATH_MAX];
  snprintf(src, sizeof src, "b%lu.c", seq);
  snprintf(name, sizeof name, "b%lu.o", seq);
  snprintf(path, sizeof path, "%s/%s", dir, src);
  FILE *f = fopen(path, "we");
  bool ok = f && fputs(header, f) >= 0 && fwrite(body, 1, blen, f) == blen;
  if (f && fclose(f) != 0) ok = false;
  if (!ok) {
    snprintf(msg, cap, "cannot write %s: %s", path, strerror(errno));
    unlink(path);
    return false;
  }
  const char *argv[32];
  mote_tool_obj_argv(MOTE_TIER_QUICK, src, name, "-w", argv, 32);
  const mote_compile_options defaults = {0};
  mote_child_limits limits = mote_compile_limits(&defaults);
  mote_child_result r;
  mote_child_run(argv, dir, &limits, &r);
  unlink(path);
  snprintf(obj, objcap, "%s/%s", dir, name);
  if (r.outcome == MOTE_CHILD_EXITED && r.exit_code == 0) return true;
  mote_child_describe(&r, &limits, msg, cap);
  unlink(obj);
  return false;
}
