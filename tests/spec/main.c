/*
 * spec-runner: runs the WebAssembly spec suite converted to JSON.
 *
 *   spec-runner [--cache DIR] [--tier opt|quick] [--jobs N] [--only NAME] [-v] SPEC_DIR
 *
 * SPEC_DIR holds core/<name>/<name>.json and simd/<name>/<name>.json.
 * Each script runs in its own child process, so a crash is one script's
 * failure, not the run's. Prints a line per script and ends with
 * "spec: N passed, N failed, N skipped".
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compile/lazy.h"
#include "spec.h"

typedef struct job {
  pid_t pid;
  int fd;
  char name[256];
} job;

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the sub-directories of dir, sorted (malloc'd array). */
static int list_dirs(const char *dir, char ***out) {
  DIR *d = opendir(dir);
  int n = 0, cap = 0;
  char **names = NULL;
  if (!d) {
    *out = NULL;
    return 0;
  }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      names = realloc(names, cap * sizeof *names);
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, compare_names);
  *out = names;
  return n;
}

/* Reads a finished job's counts and prints its line. `status` is from waitpid. */
static void collect(job *j, int status, spec_counts *total) {
  spec_counts c = {0, 1, 0};
  ssize_t got = read(j->fd, &c, sizeof c);
  close(j->fd);
  if (got != (ssize_t)sizeof c || !WIFEXITED(status)) {
    c = (spec_counts){0, 1, 0};
    fprintf(stderr, "  %s: the script's process died (%s)\n", j->name,
            WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no result");
  }
  printf("%s: %d passed, %d failed, %d skipped\n", j->name, c.passed, c.failed, c.skipped);
  fflush(stdout);
  total->passed += c.passed;
  total->failed += c.failed;
  total->skipped += c.skipped;
  j->pid = 0;
}

/* Waits for any running job to end and collects it. */
static void wait_one(job *running, int jobs, spec_counts *total) {
  int status;
  pid_t done;
  while ((done = waitpid(-1, &status, 0)) < 0 && errno == EINTR) {
  }
  for (int k = 0; k < jobs; k++)
    if (running[k].pid && running[k].pid == done) collect(&running[k], status, total);
}

int main(int argc, char **argv) {
  spec_options opts = {.compile = {.cache_dir = "build/cache", .tier = MOTE_TIER_OPT}};
  const char *only = NULL, *spec_dir = NULL;
  int jobs = 2;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--cache") && i + 1 < argc) opts.compile.cache_dir = argv[++i];
    else if (!strcmp(argv[i], "--tier") && i + 1 < argc)
      opts.compile.tier = !strcmp(argv[++i], "quick") ? MOTE_TIER_QUICK : MOTE_TIER_OPT;
    else if (!strcmp(argv[i], "--jobs") && i + 1 < argc) jobs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "-v")) opts.verbose = true;
    else spec_dir = argv[i];
  }
  if (!spec_dir || jobs < 1 || jobs > 64) {
    fprintf(stderr, "usage: spec-runner [--cache DIR] [--tier opt|quick] [--jobs N] [--only NAME] [-v] SPEC_DIR\n");
    return 2;
  }
  mote_rt_init();
  printf("spec: tier %s, %d jobs, %s\n", mote_tier_name(opts.compile.tier), jobs, spec_dir);
  fflush(stdout);

  spec_counts total = {0, 0, 0};
  job running[64] = {{0}};
  int scripts = 0;
  static const char *const folders[] = {"core", "simd"};
  for (int f = 0; f < 2; f++) {
    char path[8400], folder[2048];
    char **names;
    snprintf(folder, sizeof folder, "%s/%s", spec_dir, folders[f]);
    int n = list_dirs(folder, &names);
    for (int i = 0; i < n; i++) {
      if (only && strcmp(only, names[i]) != 0) continue;
      int slot = -1;
      for (;;) {
        for (int k = 0; k < jobs && slot < 0; k++)
          if (!running[k].pid) slot = k;
        if (slot >= 0) break;
        wait_one(running, jobs, &total);
      }
      int fds[2];
      if (pipe(fds) != 0) return 2;
      snprintf(path, sizeof path, "%s/%s/%s.json", folder, names[i], names[i]);
      char dir[4200];
      snprintf(dir, sizeof dir, "%s/%s", folder, names[i]);
      fflush(NULL);
      pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        spec_counts c = spec_run_script(dir, path, &opts);
        /* a lazy batch whose lean compile failed (lazy_header.c, lazy_runtime.c) */
        uint64_t misses = mote_lazy_cut_misses();
        if (misses) {
          fprintf(stderr, "%s: %llu lazy batches compiled only the whole way (not lean)\n",
                  names[i], (unsigned long long)misses);
          c.failed += (int)misses;
        }
        ssize_t w = write(fds[1], &c, sizeof c);
        _exit(w == (ssize_t)sizeof c ? 0 : 1);
      }
      close(fds[1]);
      running[slot].pid = pid;
      running[slot].fd = fds[0];
      snprintf(running[slot].name, sizeof running[slot].name, "%s", names[i]);
      scripts++;
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
  }
  for (;;) {
    bool any = false;
    for (int k = 0; k < jobs; k++) any |= running[k].pid != 0;
    if (!any) break;
    wait_one(running, jobs, &total);
  }
  if (scripts == 0) {
    fprintf(stderr, "spec-runner: no scripts in %s/core or %s/simd\n", spec_dir, spec_dir);
    return 2;
  }
  printf("spec: %d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped);
  return total.failed ? 1 : 0;
}
