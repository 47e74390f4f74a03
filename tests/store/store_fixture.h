/* Helpers shared by the store tests: a fresh data directory per test. */
#ifndef MOTE_TEST_STORE_FIXTURE_H
#define MOTE_TEST_STORE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "store/store.h"

static int fixture_rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw) {
  (void)sb, (void)type, (void)ftw;
  remove(path);
  return 0;
}

static inline void fixture_rm(const char *dir) {
  nftw(dir, fixture_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A new empty directory under /tmp; `out` gets its path. */
static inline void fixture_dir(char out[64]) {
  snprintf(out, 64, "/tmp/mote-store-XXXXXX");
  if (!mkdtemp(out)) {
    perror("mkdtemp");
    exit(2);
  }
}

static inline mote_store *fixture_open(const char *dir) {
  mote_store *s = NULL;
  mote_store_error err;
  if (mote_store_open(dir, &s, &err) != MOTE_STORE_OK) {
    fprintf(stderr, "mote_store_open(%s): %s\n", dir, err.message);
    exit(2);
  }
  return s;
}

/* mote_store_deploy in namespace MOTE_STORE_DEFAULT_NS, without meta: what
 * the tests of everything but namespaces need. */
static inline mote_store_status deploy_guest(mote_store *s, const char *name, const uint8_t *wasm,
                                             size_t len, const mote_store_file *files,
                                             size_t nfiles, const mote_function_settings *set,
                                             mote_function_version *out, mote_store_error *err) {
  return mote_store_deploy(s, MOTE_STORE_DEFAULT_NS, name, wasm, len, files, nfiles, set, NULL,
                           out, err);
}

#endif
