/*
 * `mote run`: runs a WebAssembly command module once, with WASI preview1.
 *
 * stdin, stdout and stderr are the process's own; the guest sees only the
 * directories given with --dir (read-only unless ":rw"), only the variables
 * given with --env, and argv = FILE.wasm as given, then ARGS. Imports other
 * than wasi_snapshot_preview1 are refused, naming the first one.
 *
 * Exit status: the module's (proc_exit, or 0 when _start returns); otherwise
 * one line "mote: <what happened>" on stderr and a status of cli.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "cli.h"
#include "invoke/invoke.h"
#include "rt/rt.h"
#include "wasi/wasi.h"

#define MAX_DIRS 64
#define MAX_ENV 1024

static void usage(FILE *out) {
  fprintf(out,
          "usage: mote run [--dir HOST_DIR[:GUEST_DIR][:ro|rw]]... [--env KEY=VALUE]...\n"
          "                [--memory MIB] [--timeout MS] [--max-output BYTES]\n"
          "                [--max-open-files N] [--tier auto|opt|quick] FILE.wasm [ARGS...]\n"
          "\n"
          "Runs FILE.wasm once with WASI preview1: its start function, then its \"_start\"\n"
          "export if any. stdin, stdout and stderr are passed through. Compiled code is\n"
          "cached (%s), so later runs start at once.\n"
          "\n"
          "  --dir D[:G][:ro|rw]  give the module host directory D, named G (default: D as\n"
          "                     given); read-only unless :rw (changes fail with EROFS).\n"
          "                     Nothing outside it is reachable: \"..\", absolute paths and\n"
          "                     symlinks leading out fail with ENOTCAPABLE\n"
          "  --env KEY=VALUE    a variable of the module's environment, which is exactly\n"
          "                     these (nothing of mote's own environment)\n"
          "  --memory MIB       cap on the module's linear memory; growth past it fails\n"
          "  --timeout MS       stop the module after MS milliseconds of wall time\n"
          "  --max-output BYTES cap on each of stdout and stderr (default %u)\n"
          "  --max-open-files N files the module may hold open at once (default %u);\n"
          "                     past it, opens fail with EMFILE\n"
          "  --tier T           auto (default): the optimised code if it is cached, else the\n"
          "                     quick tier; `mote compile FILE` builds the optimised code.\n"
          "                     opt: compile it now if needed (gcc -O2: near-native, seconds\n"
          "                     to minutes); quick (tcc: milliseconds, slower code).\n"
          "                     mote run starts nothing that outlives it.\n"
          "\n"
          "exit status: the module's own (proc_exit; 0 when _start returns), or\n"
          "  %d  bad command line            %d  module malformed, invalid or unsupported\n"
          "  %d  compiling failed            %d  an import cannot be satisfied\n"
          "  %d  the module trapped          %d  the timeout passed\n"
          "  %d  a limit was exceeded (output cap, memory cap)\n"
          "  %d  the file cannot be read\n",
          mote_cli_cache_dir(), MOTE_RUN_DEFAULT_OUTPUT_CAP, MOTE_WASI_DEFAULT_OPEN_FILES,
          MOTE_EXIT_USAGE, MOTE_EXIT_MODULE, MOTE_EXIT_COMPILE, MOTE_EXIT_LINK, MOTE_EXIT_TRAP,
          MOTE_EXIT_TIMEOUT, MOTE_EXIT_LIMIT, MOTE_EXIT_IO);
}

/* HOST[:GUEST][:ro|rw] -> a preopen; the strings point into `spec`, which
 * is modified. False for an empty host part. */
static bool parse_dir(char *spec, mote_wasi_preopen *p) {
  memset(p, 0, sizeof *p);
  char *last = strrchr(spec, ':');
  if (last && (!strcmp(last + 1, "ro") || !strcmp(last + 1, "rw"))) {
    p->writable = last[2] == 'w';
    *last = '\0';
  }
  char *colon = strchr(spec, ':');
  if (colon) {
    *colon = '\0';
    if (!colon[1] || strchr(colon + 1, ':')) return false;
    p->guest_path = colon + 1;
  }
  p->host_path = spec;
  if (!p->guest_path) p->guest_path = spec;
  return spec[0] != '\0';
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s || *end || s[0] == '-' || v < min || v > max) return false;
  *out = v;
  return true;
}

int mote_cmd_run(int argc, char **argv) {
  int tier = -1; /* auto: see mote_cli_compile_auto */
  uint32_t memory_pages = 0;
  mote_wasi_preopen dirs[MAX_DIRS];
  const char *env[MAX_ENV];
  size_t ndirs = 0, nenv = 0;
  uint64_t timeout_ms = 0, max_output = MOTE_RUN_DEFAULT_OUTPUT_CAP, max_open = 0;
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *opt = argv[i];
    uint64_t v;
    if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(opt, "--")) {
      i++;
      break;
    } else if (i + 1 >= argc) {
      fprintf(stderr, "mote run: %s needs a value (see mote run --help)\n", opt);
      return MOTE_EXIT_USAGE;
    } else if (!strcmp(opt, "--memory")) {
      if (!parse_u64(argv[++i], 1, 4096, &v)) {
        fprintf(stderr, "mote run: --memory takes MiB between 1 and 4096\n");
        return MOTE_EXIT_USAGE;
      }
      memory_pages = (uint32_t)(v * 16); /* 64 KiB pages */
    } else if (!strcmp(opt, "--tier")) {
      const char *t = argv[++i];
      if (!strcmp(t, "quick")) tier = MOTE_TIER_QUICK;
      else if (!strcmp(t, "opt")) tier = MOTE_TIER_OPT;
      else if (strcmp(t, "auto") != 0) {
        fprintf(stderr, "mote run: --tier takes auto, opt or quick\n");
        return MOTE_EXIT_USAGE;
      }
    } else if (!strcmp(opt, "--dir")) {
      if (ndirs == MAX_DIRS || !parse_dir(argv[++i], &dirs[ndirs])) {
        fprintf(stderr, "mote run: bad --dir %s (HOST_DIR[:GUEST_DIR][:ro|rw], at most %d)\n",
                argv[i], MAX_DIRS);
        return MOTE_EXIT_USAGE;
      }
      struct stat st;
      if (stat(dirs[ndirs].host_path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mote run: --dir %s: %s\n", dirs[ndirs].host_path,
                errno && !S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
        return MOTE_EXIT_USAGE;
      }
      ndirs++;
    } else if (!strcmp(opt, "--env")) {
      const char *kv = argv[++i];
      if (nenv == MAX_ENV || !strchr(kv, '=') || kv[0] == '=') {
        fprintf(stderr, "mote run: bad --env %s (KEY=VALUE, at most %d)\n", kv, MAX_ENV);
        return MOTE_EXIT_USAGE;
      }
      env[nenv++] = kv;
    } else if (!strcmp(opt, "--timeout")) {
      if (!parse_u64(argv[++i], 1, UINT64_MAX / 1000000, &timeout_ms)) {
        fprintf(stderr, "mote run: --timeout takes milliseconds (at least 1)\n");
        return MOTE_EXIT_USAGE;
      }
    } else if (!strcmp(opt, "--max-output")) {
      if (!parse_u64(argv[++i], 1, UINT64_MAX - 1, &max_output)) {
        fprintf(stderr, "mote run: --max-output takes bytes (at least 1)\n");
        return MOTE_EXIT_USAGE;
      }
    } else if (!strcmp(opt, "--max-open-files")) {
      if (!parse_u64(argv[++i], 1, 1u << 20, &max_open)) {
        fprintf(stderr, "mote run: --max-open-files takes a count between 1 and 1048576\n");
        return MOTE_EXIT_USAGE;
      }
    } else {
      fprintf(stderr, "mote run: unknown option %s\n", opt);
      usage(stderr);
      return MOTE_EXIT_USAGE;
    }
  }
  if (i >= argc) {
    usage(stderr);
    return MOTE_EXIT_USAGE;
  }
  const char *path = argv[i];

  size_t len;
  uint8_t *wasm = mote_read_file(path, &len);
  mote_rt_module *mod = NULL;
  mote_rt_error err = {0};
  if (!wasm) {
    fprintf(stderr, "mote: cannot read %s: %s\n", path, strerror(errno));
    return MOTE_EXIT_IO;
  }
  mote_compile_result res;
  int rc = tier < 0 ? mote_cli_compile_auto(path, wasm, len, &res)
                    : mote_cli_compile(path, wasm, len, (mote_tier)tier, &res);
  if (rc) goto done;

  mote_rt_init();
  if (mote_rt_module_load(res.so_path, &mod, &err) != MOTE_RT_OK) {
    fprintf(stderr, "mote: %s: %s\n", path, err.message);
    rc = MOTE_EXIT_COMPILE;
    goto done;
  }

  mote_invoke_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.module = mod;
  cfg.memory_pages = memory_pages;
  cfg.timeout_ms = timeout_ms;
  cfg.wasi.argv = (const char *const *)&argv[i];
  cfg.wasi.argc = (size_t)(argc - i);
  cfg.wasi.env = env;
  cfg.wasi.envc = nenv;
  cfg.wasi.preopens = dirs;
  cfg.wasi.npreopens = ndirs;
  cfg.wasi.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_FD, .fd = STDIN_FILENO};
  cfg.wasi.stdout_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_FD, .fd = STDOUT_FILENO};
  cfg.wasi.stderr_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_FD, .fd = STDERR_FILENO};
  cfg.wasi.stdout_cap = cfg.wasi.stderr_cap = max_output;
  cfg.wasi.max_open_files = (uint32_t)max_open;

  /* A closed stdout is the guest's EPIPE, not the end of mote. */
  signal(SIGPIPE, SIG_IGN);
  mote_invoke_result r;
  switch (mote_invoke_run(&cfg, &r)) {
    case MOTE_INVOKE_EXITED: rc = r.exit_code; break;
    case MOTE_INVOKE_TRAP: rc = MOTE_EXIT_TRAP; break;
    case MOTE_INVOKE_TIMEOUT: rc = MOTE_EXIT_TIMEOUT; break;
    case MOTE_INVOKE_LIMIT: rc = MOTE_EXIT_LIMIT; break;
    case MOTE_INVOKE_LINK: rc = MOTE_EXIT_LINK; break;
    case MOTE_INVOKE_HOST: rc = MOTE_EXIT_IO; break;
    case MOTE_INVOKE_INIT: rc = MOTE_EXIT_IO; break; /* prepare only: not a run's */
    case MOTE_INVOKE_CANCELLED: rc = MOTE_EXIT_IO; break; /* no cancel token here */
  }
  if (r.outcome == MOTE_INVOKE_LINK) fprintf(stderr, "mote: %s: %s\n", path, r.message);
  else if (r.outcome != MOTE_INVOKE_EXITED) fprintf(stderr, "mote: %s\n", r.message);
  mote_invoke_result_clear(&r);

done:
  if (mod) mote_rt_module_free(mod);
  free(wasm);
  return rc;
}
