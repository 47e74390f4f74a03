/*
 * Memory per live instance, and how many can live at once (issue 15).
 *
 * For one module: compile (or find in the cache), load, prepare its
 * snapshot as the server does (mote_invoke_prepare: start function and
 * mote_init once), then make instances from the snapshot one after the
 * other and keep every one alive: each gets its WASI context (stdin from
 * --stdin, stdout captured), is instantiated and runs `_start` (or, with
 * --touch K, the export touch(K, v) of bench/instantiate.sh's image
 * modules, which writes K pages). Up to --max instances, or until one
 * cannot be made: the message says which limit that was.
 *
 * At 1, 10, 100, 1000, ... instances and at the end it prints the
 * process's resident memory (VmRSS and its anonymous and shared parts,
 * page tables, mappings) and what the guests themselves hold resident:
 * the pages present in their linear memories (/proc/self/pagemap),
 * private (written, copy-on-write) and shared (the snapshot's image, read
 * from the page cache: counted in RSS once per instance that maps it). The
 * per-instance overhead is the RSS growth beyond those pages, divided by
 * the instances made since the first.
 *
 * --images copy|map|map-drop takes the snapshot that way (default: auto).
 *
 * usage: bench-density [--cache DIR] [--max N] [--stdin FILE] [--dir DIR]
 *                      [--touch K] [--images MODE] NAME FILE.wasm [ARGS...]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_module.h"
#include "bench_util.h"
#include "compile/compile.h"
#include "invoke/invoke.h"
#include "rt/rt.h"
#include "wasi/wasi.h"

typedef struct live {
  mote_wasi *wasi;
  mote_rt_instance *inst;
  mote_rt_extern *imports; /* from calloc() */
} live;

typedef struct usage {
  long long rss_kb, anon_kb, shmem_kb, pte_kb, maps;
  unsigned long long guest_private, guest_shared; /* pages */
} usage;

static long long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long long v = -1;
  size_t n = strlen(key);
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, key, n) && line[n] == ':') v = atoll(line + n + 1);
  if (f) fclose(f);
  return v;
}

static long long count_maps(void) {
  FILE *f = fopen("/proc/self/maps", "r");
  long long n = 0;
  int c;
  while (f && (c = fgetc(f)) != EOF) n += c == '\n';
  if (f) fclose(f);
  return n;
}

/* Present pages of [p, p + len): pagemap bit 63 present, bit 61 file-page
 * or shared (the image), else private. */
static void guest_pages(int pagemap, const uint8_t *p, uint64_t len, unsigned long long *priv,
                        unsigned long long *shared) {
  long page = sysconf(_SC_PAGESIZE);
  uint64_t first = (uintptr_t)p / (uint64_t)page, n = len / (uint64_t)page;
  uint64_t ent[512];
  for (uint64_t at = 0; at < n; at += 512) {
    uint64_t k = n - at < 512 ? n - at : 512;
    if (pread(pagemap, ent, k * 8, (off_t)((first + at) * 8)) != (ssize_t)(k * 8)) return;
    for (uint64_t i = 0; i < k; i++) {
      if (!(ent[i] >> 63 & 1)) continue;
      if (ent[i] >> 61 & 1) (*shared)++;
      else (*priv)++;
    }
  }
}

static usage measure(const live *lives, size_t n, int pagemap) {
  usage u = {status_kb("VmRSS"), status_kb("RssAnon"), status_kb("RssShmem"), status_kb("VmPTE"),
             count_maps(), 0, 0};
  for (size_t i = 0; i < n; i++) {
    const mote_abi_module *abi = mote_rt_module_abi(mote_rt_instance_module(lives[i].inst));
    for (uint32_t k = 0; k < abi->export_count; k++) {
      if (abi->exports[k].type.kind != MOTE_ABI_MEMORY) continue;
      mote_rt_extern e = mote_rt_instance_export(lives[i].inst, k);
      guest_pages(pagemap, e.binding.memory->data, e.binding.memory->size, &u.guest_private,
                  &u.guest_shared);
      break;
    }
  }
  return u;
}

static void report(const char *name, size_t n, const usage *u, const usage *first) {
  long page_kb = sysconf(_SC_PAGESIZE) / 1024;
  double guest_kb = (double)(u->guest_private + u->guest_shared) * (double)page_kb;
  printf("  %-10s %6zu live  RSS %8lld KiB (anon %8lld, shmem %7lld)  page tables %7lld KiB  "
         "maps %6lld  guests: %8.0f KiB private %8.0f KiB shared",
         name, n, u->rss_kb, u->anon_kb, u->shmem_kb, u->pte_kb, u->maps,
         (double)u->guest_private * (double)page_kb, (double)u->guest_shared * (double)page_kb);
  if (first && n > 1) {
    double first_guest = (double)(first->guest_private + first->guest_shared) * (double)page_kb;
    double per = (double)(n - 1);
    printf("\n  %-10s        per instance: RSS %+.1f KiB, of which the guest's %.1f KiB "
           "(private %.1f): overhead %.1f KiB; page tables %+.1f KiB",
           "", (double)(u->rss_kb - first->rss_kb) / per, (guest_kb - first_guest) / per,
           (double)(u->guest_private - first->guest_private) * (double)page_kb / per,
           ((double)(u->rss_kb - first->rss_kb) - (guest_kb - first_guest)) / per,
           (double)(u->pte_kb - first->pte_kb) / per);
  }
  printf("\n");
  fflush(stdout);
}


/* Makes one live instance; false with why[] when it cannot. */
static bool make_live(const mote_rt_snapshot *snap, const mote_wasi_config *wcfg, int32_t touch,
                      uint32_t k, live *out, char *why, size_t cap) {
  const char *werr = NULL;
  mote_rt_module *m = mote_rt_snapshot_module(snap);
  const mote_abi_module *abi = mote_rt_module_abi(m);
  memset(out, 0, sizeof *out);
  out->wasi = mote_wasi_new(wcfg, &werr);
  if (!out->wasi) {
    snprintf(why, cap, "WASI context: %s: %s", werr ? werr : "?", strerror(errno));
    return false;
  }
  out->imports = calloc(abi->import_count ? abi->import_count : 1, sizeof *out->imports);
  if (!out->imports) {
    snprintf(why, cap, "out of memory");
    return false;
  }
  for (uint32_t i = 0; i < abi->import_count; i++) {
    const mote_abi_import *imp = &abi->imports[i];
    if (!mote_wasi_resolve(out->wasi, imp->module, imp->module_len, imp->name, imp->name_len,
                           &out->imports[i])) {
      snprintf(why, cap, "cannot resolve import %.*s", (int)imp->name_len, imp->name);
      return false;
    }
  }
  mote_rt_error err;
  if (mote_rt_snapshot_instantiate(snap, out->imports, NULL, &out->inst, &err) != MOTE_RT_OK) {
    snprintf(why, cap, "instantiate: %s (errno %s)", err.message, strerror(errno));
    return false;
  }
  mote_wasi_bind_memory(out->wasi, out->inst);
  mote_val args[2] = {{.i32 = k}, {.i32 = 0x5a5a5a5a}};
  int32_t entry = touch >= 0 ? touch : mote_rt_module_find_export(m, "_start", 6);
  mote_rt_status st = entry < 0 ? MOTE_RT_OK
                                : mote_rt_call(out->inst, (uint32_t)entry, touch >= 0 ? args : NULL,
                                               NULL, &err);
  if (st != MOTE_RT_OK && !(st == MOTE_RT_TRAP && err.trap == MOTE_TRAP_EXIT)) {
    snprintf(why, cap, "run: %s", err.message);
    return false;
  }
  return true;
}

int main(int argc, char **argv) {
  mote_compile_options copts = {.cache_dir = "build/cache", .tier = MOTE_TIER_OPT};
  size_t max = 1000;
  const char *stdin_path = NULL, *dir = NULL;
  long touch_pages = -1;
  const char *images = "auto";
  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i++) {
    if (!strcmp(argv[i], "--cache") && i + 1 < argc) copts.cache_dir = argv[++i];
    else if (!strcmp(argv[i], "--max") && i + 1 < argc) max = strtoul(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--stdin") && i + 1 < argc) stdin_path = argv[++i];
    else if (!strcmp(argv[i], "--dir") && i + 1 < argc) dir = argv[++i];
    else if (!strcmp(argv[i], "--touch") && i + 1 < argc) touch_pages = atol(argv[++i]);
    else if (!strcmp(argv[i], "--images") && i + 1 < argc) images = argv[++i];
    else break;
  }
  if (argc - i < 2 || !max) {
    fprintf(stderr, "usage: bench-density [--cache DIR] [--max N] [--stdin FILE] [--dir DIR] "
                    "[--touch K] [--images MODE] NAME FILE.wasm [ARGS...]\n");
    return 2;
  }
  const char *name = argv[i], *path = argv[i + 1];
  size_t in_len = 0;
  uint8_t *in = stdin_path ? bench_read_file(stdin_path, &in_len) : NULL;
  if (stdin_path && !in) {
    fprintf(stderr, "bench-density: cannot read %s\n", stdin_path);
    return 1;
  }
  mote_rt_module *m = bench_load_module("bench-density", path, &copts);
  if (!m) return 1;
  /* The guest's argv: NAME ARGS... */
  const char *gargv[64];
  size_t gargc = 0;
  gargv[gargc++] = name;
  for (int k = i + 2; k < argc && gargc < 64; k++) gargv[gargc++] = argv[k];
  mote_wasi_preopen root = {.host_path = dir, .guest_path = "/"};
  mote_invoke_config icfg;
  memset(&icfg, 0, sizeof icfg);
  icfg.module = m;
  icfg.timeout_ms = 60000;
  icfg.wasi.argv = gargv;
  icfg.wasi.argc = gargc;
  if (dir) {
    icfg.wasi.preopens = &root;
    icfg.wasi.npreopens = 1;
  }
  icfg.wasi.stdin_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER, .data = in, .len = in_len};
  icfg.wasi.stdout_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  icfg.wasi.stderr_ = (mote_wasi_stdio){.kind = MOTE_WASI_STDIO_BUFFER};
  static const mote_rt_image_mode modes[] = {MOTE_RT_IMAGE_AUTO, MOTE_RT_IMAGE_COPY,
                                             MOTE_RT_IMAGE_MAP, MOTE_RT_IMAGE_MAP_DROP};
  for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++)
    if (!strcmp(images, mote_rt_image_mode_name(modes[k]))) mote_rt_snapshot_policy_set(modes[k]);
  mote_rt_snapshot *snap = NULL;
  mote_invoke_result r;
  if (mote_invoke_prepare(&icfg, &snap, &r) != MOTE_INVOKE_EXITED || !snap) {
    fprintf(stderr, "bench-density: %s: no snapshot: %s\n", name, r.message);
    return 1;
  }
  mote_invoke_result_clear(&r);
  int32_t touch = -1;
  if (touch_pages >= 0 && (touch = mote_rt_module_find_export(m, "touch", 5)) < 0) {
    fprintf(stderr, "bench-density: %s has no touch export\n", name);
    return 1;
  }
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  live *lives = calloc(max, sizeof *lives);
  if (!lives || pagemap < 0) return 1;
  printf("%s: snapshot image %llu bytes (%s); %s\n", name,
         (unsigned long long)mote_rt_snapshot_image_bytes(snap),
         mote_rt_image_mode_name(mote_rt_snapshot_mode(snap)),
         touch >= 0 ? "each instance runs touch()" : "each instance runs _start");
  usage before = measure(lives, 0, pagemap), first = before;
  report(name, 0, &before, NULL);
  size_t n = 0, next = 1;
  char why[400] = "";
  for (; n < max; n++) {
    if (!make_live(snap, &icfg.wasi, touch, (uint32_t)touch_pages, &lives[n], why, sizeof why)) {
      if (lives[n].inst) mote_rt_instance_free(lives[n].inst);
      mote_wasi_free(lives[n].wasi);
      free(lives[n].imports);
      break;
    }
    if (n + 1 == 1) first = measure(lives, 1, pagemap);
    if (n + 1 == next || n + 1 == max) {
      usage u = measure(lives, n + 1, pagemap);
      report(name, n + 1, &u, &first);
      next *= 10;
    }
  }
  if (n < max) {
    usage u = measure(lives, n, pagemap);
    report(name, n, &u, &first);
    printf("  %-10s stopped at %zu live instances: %s\n", name, n, why);
  } else {
    printf("  %-10s %zu live instances, no limit hit\n", name, n);
  }
  for (size_t k = 0; k < n; k++) {
    mote_rt_instance_free(lives[k].inst);
    mote_wasi_free(lives[k].wasi);
    free(lives[k].imports);
  }
  free(lives);
  mote_rt_snapshot_free(snap);
  mote_rt_memory_pool_trim();
  mote_rt_module_free(m);
  free(in);
  return 0;
}
