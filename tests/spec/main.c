/*
 * spec-runner: runs the WebAssembly spec suite converted to JSON.
 *
 *   spec-runner [--cache DIR] [--tier opt|quick] [--jobs N] [--only NAME] [-v] SPEC_DIR
 *
 * SPEC_DIR holds core/<name>/<name>.json (and simd/, reported as skipped:
 * wasm2c 1.0.32 cannot translate SIMD, so the module reader refuses it).
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

/* Counts the assertions of a script without running it. */
static int count_assertions(const char *json_path) {
  json_t *root = json_load_file(json_path, JSON_ALLOW_NUL, NULL);
  json_t *cmd;
  size_t i;
  int n = 0;
  json_array_foreach(json_object_get(root, "commands"), i, cmd) {
    const char *type = json_string_value(json_object_get(cmd, "type"));
    if (type && (!strncmp(type, "assert_", 7) || !strcmp(type, "action"))) n++;
  }
  json_decref(root);
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
  char path[8400], core[2048];
  char **names;
  snprintf(core, sizeof core, "%s/core", spec_dir);
  int n = list_dirs(core, &names);
  if (n == 0) {
    fprintf(stderr, "spec-runner: no scripts in %s\n", core);
    return 2;
  }
  job running[64] = {{0}};
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
    snprintf(path, sizeof path, "%s/%s/%s.json", core, names[i], names[i]);
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/%s", core, names[i]);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      spec_counts c = spec_run_script(dir, path, &opts);
      ssize_t w = write(fds[1], &c, sizeof c);
      _exit(w == (ssize_t)sizeof c ? 0 : 1);
    }
    close(fds[1]);
    running[slot].pid = pid;
    running[slot].fd = fds[0];
    snprintf(running[slot].name, sizeof running[slot].name, "%s", names[i]);
  }
  for (;;) {
    bool any = false;
    for (int k = 0; k < jobs; k++) any |= running[k].pid != 0;
    if (!any) break;
    wait_one(running, jobs, &total);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);

  /* SIMD scripts: counted as skipped, with the reason. */
  char simd[2048];
  snprintf(simd, sizeof simd, "%s/simd", spec_dir);
  n = list_dirs(simd, &names);
  int simd_skipped = 0;
  for (int i = 0; i < n && !only; i++) {
    snprintf(path, sizeof path, "%s/%s/%s.json", simd, names[i], names[i]);
    simd_skipped += count_assertions(path);
    free(names[i]);
  }
  free(names);
  if (simd_skipped)
    printf("simd (%d scripts): 0 passed, 0 failed, %d skipped (SIMD: wasm2c 1.0.32 cannot "
           "translate it; the module reader refuses it)\n",
           n, simd_skipped);
  total.skipped += simd_skipped;
  printf("spec: %d passed, %d failed, %d skipped\n", total.passed, total.failed, total.skipped);
  return total.failed ? 1 : 0;
}
