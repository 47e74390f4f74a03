/*
 * diff-runner: the mote side of the differential check against V8
 * (tests/diff/run.sh drives it; tests/diff/run-node.mjs is the V8 side).
 *
 *   diff-runner [--cache DIR] [--tier opt|quick] FILE.wasm
 *
 * Compiles FILE (a module of `wasm-opt --translate-to-fuzz`), instantiates it
 * with binaryen's fuzzing imports ("fuzzing-support" "log-i32", "log-i64",
 * "log-f32", "log-f64", "log-v128"), then calls every exported function in export order
 * with all-zero arguments, as binaryen's own fuzz-exec does: the export
 * "hangLimitInitializer", if present, is called before each one, and the
 * instance is kept across calls, also after a trap. Prints the canonical text
 * described in run-node.mjs, line by line:
 *
 *   call NAME / log T BITS / result T BITS ... / trap / exhaustion / v128-boundary /
 *   instantiate trap / instantiate exhaustion / # diagnostic (not compared) /
 *   memory NAME PAGES HASH (after the calls: each exported memory's size and
 *   the 32-bit FNV-1a hash of its bytes)
 *
 * Exit status: 0 ran (traps included); 3 mote refuses the module as
 * unsupported (the driver skips it); 1 mote failed on the module otherwise
 * (compile, load or link: a failure of the check); 2 usage or I/O error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compile/compile.h"
#include "rt/rt.h"

#define EXIT_RAN 0
#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_UNSUPPORTED 3

/* The largest number of results an export may have here. */
#define MAX_VALUES 64

/* ---- canonical values ---------------------------------------------------- */

/* Writes "T BITS" for a value of type letter `t` into out. */
static void format_value(char t, mote_val v, char *out, size_t cap) {
  uint32_t b32;
  uint64_t b64;
  switch (t) {
  case 'i':
    snprintf(out, cap, "i32 %08x", v.i32);
    break;
  case 'j':
    snprintf(out, cap, "i64 %016llx", (unsigned long long)v.i64);
    break;
  case 'f':
    memcpy(&b32, &v.f32, sizeof b32);
    if ((b32 & 0x7f800000u) == 0x7f800000u && (b32 & 0x007fffffu))
      snprintf(out, cap, "f32 nan");
    else
      snprintf(out, cap, "f32 %08x", b32);
    break;
  case 'd':
    memcpy(&b64, &v.f64, sizeof b64);
    if ((b64 & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (b64 & 0x000fffffffffffffull))
      snprintf(out, cap, "f64 nan");
    else
      snprintf(out, cap, "f64 %016llx", (unsigned long long)b64);
    break;
  case 'r':
    snprintf(out, cap, "funcref %s", v.funcref.func ? "ref" : "null");
    break;
  case 'e':
    snprintf(out, cap, "externref %s", v.externref ? "ref" : "null");
    break;
  default:
    snprintf(out, cap, "unknown-type-%c", t);
    break;
  }
}

/* ---- the fuzzing-support imports ----------------------------------------- */

static void log_value(char t, mote_val v) {
  char buf[64];
  format_value(t, v, buf, sizeof buf);
  printf("log %s\n", buf);
}

static void log_i32(void *ctx, uint32_t x) {
  (void)ctx;
  log_value('i', (mote_val){.i32 = x});
}

static void log_i64(void *ctx, uint64_t x) {
  (void)ctx;
  log_value('j', (mote_val){.i64 = x});
}

static void log_f32(void *ctx, float x) {
  (void)ctx;
  log_value('f', (mote_val){.f32 = x});
}

static void log_f64(void *ctx, double x) {
  (void)ctx;
  log_value('d', (mote_val){.f64 = x});
}

/* A v128 cannot cross into JS: V8 throws a TypeError when wasm calls a JS
 * import with one, which unwinds the export call like a trap. Here the call
 * traps, and call_export reports it as V8's outcome. */
static bool v128_boundary;

static void log_v128(void *ctx, mote_v128 x) {
  (void)ctx;
  (void)x;
  v128_boundary = true;
  wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
}

static const struct {
  const char *name, *signature;
  wasm_rt_function_ptr_t fn;
} host_funcs[] = {
    {"log-v128", "v:", (wasm_rt_function_ptr_t)log_v128},
    {"log-i32", "i:", (wasm_rt_function_ptr_t)log_i32},
    {"log-i64", "j:", (wasm_rt_function_ptr_t)log_i64},
    {"log-f32", "f:", (wasm_rt_function_ptr_t)log_f32},
    {"log-f64", "d:", (wasm_rt_function_ptr_t)log_f64},
};

static bool name_is(const char *s, uint32_t len, const char *want) {
  return len == strlen(want) && memcmp(s, want, len) == 0;
}

/* Fills externs (abi->import_count entries); false names the missing import. */
static bool resolve_imports(const mote_abi_module *abi, mote_rt_extern *externs) {
  for (uint32_t i = 0; i < abi->import_count; i++) {
    const mote_abi_import *imp = &abi->imports[i];
    bool found = false;
    if (imp->type.kind == MOTE_ABI_FUNC && name_is(imp->module, imp->module_len, "fuzzing-support")) {
      for (size_t k = 0; k < sizeof host_funcs / sizeof host_funcs[0] && !found; k++) {
        if (!name_is(imp->name, imp->name_len, host_funcs[k].name)) continue;
        externs[i] = (mote_rt_extern){.type = {.kind = MOTE_ABI_FUNC, .signature = host_funcs[k].signature}};
        externs[i].binding.func.fn = host_funcs[k].fn;
        externs[i].binding.func.ctx = NULL;
        found = true;
      }
    }
    if (!found) {
      printf("# unknown import \"%.*s\" \"%.*s\"\n", (int)imp->module_len, imp->module,
             (int)imp->name_len, imp->name);
      return false;
    }
  }
  return true;
}

/* ---- running ------------------------------------------------------------- */

/* The outcome of a trap, as the comparison sees it. */
static const char *trap_outcome(const mote_rt_error *err) {
  return err->trap == MOTE_TRAP_EXHAUSTION ? "exhaustion" : "trap";
}

/* Calls export `index` with zero arguments and prints its outcome. */
static void call_export(mote_rt_instance *inst, const mote_abi_module *abi, uint32_t index,
                        int32_t hang_init) {
  const mote_abi_export *ex = &abi->exports[index];
  const char *sig = ex->type.signature;
  const char *colon = strchr(sig, ':');
  size_t nparams = colon ? (size_t)(colon - sig) : 0;
  const char *results = colon ? colon + 1 : "";
  size_t nresults = strlen(results);
  mote_val args[MAX_VALUES], res[MAX_VALUES];
  mote_rt_error err;

  printf("call %.*s\n", (int)ex->name_len, ex->name);
  if (strchr(sig, 'v')) { /* V8 refuses to call it from JS */
    printf("v128-boundary\n");
    return;
  }
  if (nparams > MAX_VALUES || nresults > MAX_VALUES) {
    printf("# too many values in signature %s\n", sig);
    return;
  }
  memset(args, 0, sizeof args); /* zero of every type, null references */
  memset(res, 0, sizeof res);
  if (hang_init >= 0) {
    mote_val none[1];
    if (mote_rt_call(inst, (uint32_t)hang_init, none, none, &err) != MOTE_RT_OK) {
      printf("%s\n# hangLimitInitializer: %s\n", trap_outcome(&err), err.message);
      return;
    }
  }
  v128_boundary = false;
  mote_rt_status st = mote_rt_call(inst, index, args, res, &err);
  if (st == MOTE_RT_TRAP && v128_boundary) {
    printf("v128-boundary\n");
    return;
  }
  if (st == MOTE_RT_TRAP) {
    printf("%s\n# %s\n", trap_outcome(&err), err.message);
    return;
  }
  if (st != MOTE_RT_OK) {
    printf("error\n# mote_rt_call: status %d: %s\n", (int)st, err.message);
    return;
  }
  if (nresults == 0) return;
  fputs("result", stdout);
  for (size_t k = 0; k < nresults; k++) {
    char buf[64];
    format_value(results[k], res[k], buf, sizeof buf);
    printf(" %s", buf);
  }
  putchar('\n');
}

/* Prints the size and FNV-1a hash of memory export `index`. */
static void print_memory(mote_rt_instance *inst, const mote_abi_module *abi, uint32_t index) {
  const mote_abi_export *ex = &abi->exports[index];
  mote_rt_extern e = mote_rt_instance_export(inst, index);
  const wasm_rt_memory_t *mem = e.binding.memory;
  uint32_t h = 0x811c9dc5u;
  for (uint64_t k = 0; k < (uint64_t)mem->pages * 65536u; k++) h = (h ^ mem->data[k]) * 0x01000193u;
  printf("memory %.*s %llu %08x\n", (int)ex->name_len, ex->name, (unsigned long long)mem->pages, h);
}

static int read_file(const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  size_t cap = 1 << 16, n = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (!buf) break;
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap) break;
    cap *= 2;
    uint8_t *grown = realloc(buf, cap);
    if (!grown) {
      free(buf);
      buf = NULL;
    } else {
      buf = grown;
    }
  }
  int bad = ferror(f) || !buf;
  fclose(f);
  if (bad) {
    free(buf);
    return -1;
  }
  *out = buf;
  *len = n;
  return 0;
}

int main(int argc, char **argv) {
  mote_compile_options copts = {.cache_dir = "build/cache", .tier = MOTE_TIER_OPT};
  const char *path = NULL;
  bool usage = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--cache") && i + 1 < argc) copts.cache_dir = argv[++i];
    else if (!strcmp(argv[i], "--tier") && i + 1 < argc)
      copts.tier = !strcmp(argv[++i], "quick") ? MOTE_TIER_QUICK : MOTE_TIER_OPT;
    else if (argv[i][0] != '-' && !path) path = argv[i];
    else usage = true;
  }
  if (!path || usage) {
    fprintf(stderr, "usage: diff-runner [--cache DIR] [--tier opt|quick] FILE.wasm\n");
    return EXIT_USAGE;
  }
  /* Line by line: if the process dies, what it printed so far is kept. */
  setvbuf(stdout, NULL, _IOLBF, 0);

  int rc = EXIT_FAILED;
  uint8_t *bytes = NULL;
  size_t len = 0;
  mote_rt_module *m = NULL;
  mote_rt_instance *inst = NULL;
  mote_rt_extern *externs = NULL;
  mote_compile_result cres;
  mote_compile_error cerr = {0};
  mote_rt_error err;

  if (read_file(path, &bytes, &len) != 0) {
    fprintf(stderr, "diff-runner: %s: %s\n", path, strerror(errno));
    rc = EXIT_USAGE;
    goto done;
  }
  mote_rt_init();
  mote_compile_status cst = mote_compile(bytes, len, &copts, &cres, &cerr);
  if (cst != MOTE_COMPILE_OK) {
    fprintf(stderr, "mote: compile (%s, tier %s): status %d: %s\n", cerr.stage,
            mote_tier_name(copts.tier), (int)cst, cerr.message);
    rc = cst == MOTE_COMPILE_UNSUPPORTED ? EXIT_UNSUPPORTED
         : cst == MOTE_COMPILE_IO        ? EXIT_USAGE
                                         : EXIT_FAILED;
    goto done;
  }
  if (mote_rt_module_load(cres.so_path, &m, &err) != MOTE_RT_OK) {
    fprintf(stderr, "mote: load %s: %s\n", cres.so_path, err.message);
    goto done;
  }
  const mote_abi_module *abi = mote_rt_module_abi(m);
  externs = calloc(abi->import_count + 1, sizeof *externs);
  if (!externs) goto done;
  if (!resolve_imports(abi, externs)) goto done;

  mote_rt_status st = mote_rt_instantiate(m, externs, NULL, &inst, &err);
  if (st == MOTE_RT_TRAP) {
    printf("instantiate %s\n# %s\n", trap_outcome(&err), err.message);
    rc = EXIT_RAN;
    goto done;
  }
  if (st != MOTE_RT_OK) {
    fprintf(stderr, "mote: instantiate: status %d: %s\n", (int)st, err.message);
    goto done;
  }

  int32_t hang_init = mote_rt_module_find_export(m, "hangLimitInitializer", strlen("hangLimitInitializer"));
  if (hang_init >= 0 && (abi->exports[hang_init].type.kind != MOTE_ABI_FUNC ||
                         strcmp(abi->exports[hang_init].type.signature, ":") != 0))
    hang_init = -1;
  for (uint32_t i = 0; i < abi->export_count; i++)
    if (abi->exports[i].type.kind == MOTE_ABI_FUNC) call_export(inst, abi, i, hang_init);
  for (uint32_t i = 0; i < abi->export_count; i++)
    if (abi->exports[i].type.kind == MOTE_ABI_MEMORY) print_memory(inst, abi, i);
  rc = EXIT_RAN;

done:
  if (inst) mote_rt_instance_free(inst);
  if (m) mote_rt_module_free(m);
  free(externs);
  free(bytes);
  return rc;
}
