/*
 * `mote run`: runs a WebAssembly command module once.
 *
 * This build links modules without host imports only: WASI preview1 (and with
 * it --dir, --env and --timeout) is the next layer (src/wasi). A module that
 * imports anything is refused with the name of the first import.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "rt/rt.h"

static void usage(FILE *out) {
  fprintf(out,
          "usage: mote run [--memory MIB] [--tier opt|quick] FILE.wasm [ARGS...]\n"
          "\n"
          "Runs FILE.wasm once: its start function, then its \"_start\" export if any.\n"
          "Compiled code is cached (%s), so later runs start at once.\n"
          "\n"
          "  --memory MIB   cap on the module's linear memory; growth past it fails\n"
          "  --tier T       opt (gcc -O2, default) or quick (tcc: compiles faster, runs slower)\n"
          "\n"
          "exit status: the module's own, or\n"
          "  %d  bad command line            %d  module malformed, invalid or unsupported\n"
          "  %d  compiling failed            %d  an import cannot be satisfied\n"
          "  %d  the module trapped          %d  the file cannot be read\n",
          mote_cli_cache_dir(), MOTE_EXIT_USAGE, MOTE_EXIT_MODULE, MOTE_EXIT_COMPILE,
          MOTE_EXIT_LINK, MOTE_EXIT_TRAP, MOTE_EXIT_IO);
}

int mote_cmd_run(int argc, char **argv) {
  mote_tier tier = MOTE_TIER_OPT;
  mote_rt_limits limits = {0};
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      usage(stdout);
      return 0;
    } else if (!strcmp(argv[i], "--memory") && i + 1 < argc) {
      char *end;
      unsigned long mib = strtoul(argv[++i], &end, 10);
      if (*end || mib == 0 || mib > 4096) {
        fprintf(stderr, "mote run: --memory takes MiB between 1 and 4096\n");
        return MOTE_EXIT_USAGE;
      }
      limits.max_memory_pages = (uint32_t)(mib * 16); /* 64 KiB pages */
    } else if (!strcmp(argv[i], "--tier") && i + 1 < argc) {
      tier = !strcmp(argv[++i], "quick") ? MOTE_TIER_QUICK : MOTE_TIER_OPT;
    } else if (!strcmp(argv[i], "--dir") || !strcmp(argv[i], "--env") ||
               !strcmp(argv[i], "--timeout")) {
      fprintf(stderr, "mote run: %s needs WASI, which this build does not have yet\n", argv[i]);
      return MOTE_EXIT_USAGE;
    } else if (!strcmp(argv[i], "--")) {
      i++;
      break;
    } else {
      fprintf(stderr, "mote run: unknown option %s\n", argv[i]);
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
  mote_rt_error err = {0};
  if (!wasm) {
    fprintf(stderr, "mote: cannot read %s: %s\n", path, strerror(errno));
    return MOTE_EXIT_IO;
  }
  mote_compile_result res;
  rc = mote_cli_compile(path, wasm, len, tier, &res);
  if (rc) goto done;

  mote_rt_init();
  if (mote_rt_module_load(res.so_path, &mod, &err) != MOTE_RT_OK) {
    fprintf(stderr, "mote: %s: %s\n", path, err.message);
    rc = MOTE_EXIT_COMPILE;
    goto done;
  }
  const mote_abi_module *abi = mote_rt_module_abi(mod);
  if (abi->import_count > 0) {
    const mote_abi_import *imp = &abi->imports[0];
    fprintf(stderr,
            "mote: %s imports \"%.*s\" \"%.*s\", which this build cannot provide "
            "(WASI is not implemented yet)\n",
            path, (int)imp->module_len, imp->module, (int)imp->name_len, imp->name);
    rc = MOTE_EXIT_LINK;
    goto done;
  }
  mote_rt_status st = mote_rt_instantiate(mod, NULL, &limits, &inst, &err);
  if (st == MOTE_RT_OK) {
    int32_t start = mote_rt_module_find_export(mod, "_start", 6);
    if (start >= 0 && abi->exports[start].type.kind == MOTE_ABI_FUNC)
      st = mote_rt_call(inst, (uint32_t)start, NULL, NULL, &err);
  }
  if (st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_EXIT) {
    rc = (int)err.detail;
  } else if (st == MOTE_RT_TRAP) {
    fprintf(stderr, "mote: trap: %s\n", err.message);
    rc = MOTE_EXIT_TRAP;
  } else if (st != MOTE_RT_OK) {
    fprintf(stderr, "mote: %s: %s\n", path, err.message);
    rc = MOTE_EXIT_LINK;
  }

done:
  if (inst) mote_rt_instance_free(inst);
  if (mod) mote_rt_module_free(mod);
  free(wasm);
  return rc;
}
