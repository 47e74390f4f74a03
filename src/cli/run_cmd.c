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

#include "cli.h"
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
          "                     quick tier at once while the optimised one builds in the\n"
          "                     background; opt (gcc -O2: near-native, seconds to compile);\n"
          "                     quick (tcc: milliseconds to compile, slower code)\n"
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
  mote_rt_limits limits = {0};
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
      limits.max_memory_pages = (uint32_t)(v * 16); /* 64 KiB pages */
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

  int rc = 0;
  size_t len;
  uint8_t *wasm = mote_cli_read_file(path, &len);
  mote_rt_module *mod = NULL;
  mote_rt_instance *inst = NULL;
  mote_rt_extern *imports = NULL;
  mote_wasi *w = NULL;
  mote_rt_error err = {0};
  bool timed = false;
  if (!wasm) {
    fprintf(stderr, "mote: cannot read %s: %s\n", path, strerror(errno));
    return MOTE_EXIT_IO;
  }
  mote_compile_result res;
  rc = tier < 0 ? mote_cli_compile_auto(path, wasm, len, &res)
                : mote_cli_compile(path, wasm, len, (mote_tier)tier, &res);
  if (rc) goto done;

  mote_rt_init();
  if (mote_rt_module_load(res.so_path, &mod, &err) != MOTE_RT_OK) {
    fprintf(stderr, "mote: %s: %s\n", path, err.message);
    rc = MOTE_EXIT_COMPILE;
    goto done;
  }

  mote_wasi_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.argv = (const char *const *)&argv[i];
  cfg.argc = (size_t)(argc - i);
  cfg.env = env;
  cfg.envc = nenv;
  cfg.preopens = dirs;
  cfg.npreopens = ndirs;
  cfg.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_FD, .fd = STDIN_FILENO};
  cfg.stdout_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_FD, .fd = STDOUT_FILENO};
  cfg.stderr_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_FD, .fd = STDERR_FILENO};
  cfg.stdout_cap = cfg.stderr_cap = max_output;
  cfg.max_open_files = (uint32_t)max_open;
  const char *why;
  w = mote_wasi_new(&cfg, &why);
  if (!w) {
    fprintf(stderr, "mote: %s: %s\n", why, strerror(errno));
    rc = MOTE_EXIT_IO;
    goto done;
  }

  const mote_abi_module *abi = mote_rt_module_abi(mod);
  imports = calloc(abi->import_count ? abi->import_count : 1, sizeof *imports);
  if (!imports) {
    fprintf(stderr, "mote: out of memory\n");
    rc = MOTE_EXIT_LIMIT;
    goto done;
  }
  for (uint32_t k = 0; k < abi->import_count; k++) {
    const mote_abi_import *imp = &abi->imports[k];
    if (imp->type.kind != MOTE_ABI_FUNC ||
        !mote_wasi_resolve(w, imp->module, imp->module_len, imp->name, imp->name_len,
                           &imports[k])) {
      fprintf(stderr,
              "mote: %s imports \"%.*s\" \"%.*s\", which mote cannot provide "
              "(it provides \"" MOTE_WASI_MODULE "\" functions only)\n",
              path, (int)imp->module_len, imp->module, (int)imp->name_len, imp->name);
      rc = MOTE_EXIT_LINK;
      goto done;
    }
  }

  /* A closed stdout is the guest's EPIPE, not the end of mote. */
  signal(SIGPIPE, SIG_IGN);
  if (timeout_ms) {
    if (mote_rt_deadline_set(timeout_ms * 1000000u, &err) != MOTE_RT_OK) {
      fprintf(stderr, "mote: %s\n", err.message);
      rc = MOTE_EXIT_LIMIT;
      goto done;
    }
    timed = true;
  }
  mote_rt_status st = mote_rt_instantiate(mod, imports, &limits, &inst, &err);
  if (st == MOTE_RT_OK) {
    mote_wasi_bind_memory(w, inst); /* no memory: every pointer is EFAULT */
    int32_t start = mote_rt_module_find_export(mod, "_start", 6);
    if (start >= 0 && abi->exports[start].type.kind == MOTE_ABI_FUNC)
      st = mote_rt_call(inst, (uint32_t)start, NULL, NULL, &err);
  }
  if (timed) mote_rt_deadline_clear();

  if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_EXIT) {
    rc = (int)err.detail;
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_TIMEOUT) {
    fprintf(stderr, "mote: %s\n", err.message);
    rc = MOTE_EXIT_TIMEOUT;
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_HOST &&
             mote_wasi_stop_reason(w) != MOTE_WASI_RUNNING) {
    fprintf(stderr, "mote: %s\n", mote_wasi_stop_message(w));
    rc = MOTE_EXIT_LIMIT;
  } else if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_RESOURCE) {
    fprintf(stderr, "mote: %s\n", err.message);
    rc = MOTE_EXIT_LIMIT;
  } else if (st == MOTE_RT_TRAP) {
    fprintf(stderr, "mote: trap: %s\n", err.message);
    rc = MOTE_EXIT_TRAP;
  } else if (st != MOTE_RT_OK) {
    fprintf(stderr, "mote: %s: %s\n", path, err.message);
    rc = MOTE_EXIT_LINK;
  }

done:
  if (inst) mote_rt_instance_free(inst);
  mote_wasi_free(w);
  free(imports);
  if (mod) mote_rt_module_free(mod);
  free(wasm);
  return rc;
}
