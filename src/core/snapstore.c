/*
 * snapstore: a version's snapshot kept in the store (issue 15), so that a
 * restarted server serves its functions without running their
 * initialisations again.
 *
 * The snapshot is stored as mote_rt_snapshot_save's bytes under the
 * function (namespace and name) and the tier (a slot each: "quick", "opt"), with a key
 * that names everything the bytes depend on:
 *   - the runtime's snapshot format and the ABI version;
 *   - the compile cache key (the module's bytes, the toolchain's identity,
 *     the tier, the translator's generation) and the compiled object's own hash:
 *     the bytes hold offsets into that very object;
 *   - what the initialisation saw: the name (argv[0]), the environment, the
 *     memory cap, the files (their content-addressed directory).
 * A snapshot made for anything else is not found (NOT_FOUND: another key),
 * one whose bytes are damaged is refused by the store's hash (IO), and one
 * the runtime does not accept is refused by mote_rt_snapshot_load: in each
 * case the initialisation runs as at a deploy and its snapshot replaces
 * the kept one.
 *
 * Where it plugs in: the loader (loader.c) prepares every image through
 * snapstore_prepare. A deploy's snapshot waits in its image (keep_key) until
 * the store has accepted the version: deploy.c calls snapstore_keep under
 * the deploy lock right after mote_store_deploy, and after each version it
 * loads at open; an opt build keeps its own at once while its version is
 * still current. So a deploy the store refuses never replaces the kept
 * snapshot of a name, and a deleted name's snapshots stay forgotten.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "core/core_internal.h"

static void absorb(crypto_generichash_state *h, const void *p, size_t n) {
  crypto_generichash_update(h, p, n);
}

/* Length-prefixed, so that no two inputs hash alike. */
static void absorb_str(crypto_generichash_state *h, const char *s) {
  uint32_t n = s ? (uint32_t)strlen(s) : UINT32_MAX;
  absorb(h, &n, sizeof n);
  if (s) absorb(h, s, n);
}

static void absorb_u32(crypto_generichash_state *h, uint32_t v) {
  absorb(h, &v, sizeof v);
}

/* The compiled object's hash: the compile cache's record of it (DIR/<key>.sum
 * beside DIR/<key>.so, which every cache lookup has just checked against
 * the object: hashing a 1 MiB object again cost a restart 1-2 ms a
 * function), else the object hashed here. False if neither can be read. */
static bool object_hash(const char *so_path, char out[MOTE_HASH_HEX]) {
  size_t n = strlen(so_path);
  char sum_path[PATH_MAX];
  if (n > 3 && n < sizeof sum_path - 1 && !strcmp(so_path + n - 3, ".so")) {
    snprintf(sum_path, sizeof sum_path, "%.*s.sum", (int)(n - 3), so_path);
    int fd = open(sum_path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t got = read(fd, out, MOTE_HASH_HEX - 1);
      close(fd);
      if (got == MOTE_HASH_HEX - 1) {
        out[MOTE_HASH_HEX - 1] = '\0';
        if (strspn(out, "0123456789abcdef") == MOTE_HASH_HEX - 1) return true;
      }
    }
  }
  int fd = open(so_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int rc = mote_hash_fd(fd, out, NULL);
  close(fd);
  return rc == 0;
}

/* The key of img's snapshot (see above) into key; false if the compiled
 * object cannot be read (then nothing is kept). */
static bool snapshot_key(const core_fn *fn, const core_image *img, const char *so_path,
                         const char *compile_key, const char *name, char key[MOTE_HASH_HEX]) {
  char so_hash[MOTE_HASH_HEX];
  if (!object_hash(so_path, so_hash)) return false;
  mote_invoke_config cfg;
  fn_invoke_config(fn, img, &cfg);
  crypto_generichash_state h;
  unsigned char bin[MOTE_HASH_BYTES];
  crypto_generichash_init(&h, NULL, 0, sizeof bin);
  absorb_str(&h, "mote snapshot key 1");
  absorb_u32(&h, MOTE_RT_SNAPSHOT_FORMAT);
  absorb_u32(&h, MOTE_ABI_VERSION);
  absorb_str(&h, compile_key);
  absorb_str(&h, so_hash);
  absorb_str(&h, name);
  absorb_u32(&h, cfg.memory_pages);
  absorb_u32(&h, (uint32_t)cfg.wasi.envc);
  for (size_t i = 0; i < cfg.wasi.envc; i++) absorb_str(&h, cfg.wasi.env[i]);
  /* DIR/files/<hash>: its last part names the files by content. */
  const char *files = fn->files_dir ? strrchr(fn->files_dir, '/') : NULL;
  absorb_str(&h, files ? files + 1 : fn->files_dir);
  crypto_generichash_final(&h, bin, sizeof bin);
  mote_hex(bin, sizeof bin, key);
  return true;
}

/* The kept snapshot into img->snap: true if there was a good one. */
static bool load_kept(mote_core *c, core_image *img, const char *ns, const char *name,
                      const char *slot, const char *key) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  mote_store_error se;
  mote_store_status st =
      mote_store_snapshot_get(c->store, ns, name, slot, key, &bytes, &len, &se);
  if (st == MOTE_STORE_NOT_FOUND) return false;
  if (st != MOTE_STORE_OK) {
    fprintf(stderr, "mote serve: %s/%s (%s): the kept snapshot cannot be read (%s); "
                    "initialising again\n", ns, name, slot, se.message);
    return false;
  }
  mote_rt_error err;
  mote_rt_status rst = mote_rt_snapshot_load(img->module, bytes, len, &img->snap, &err);
  free(bytes);
  if (rst != MOTE_RT_OK) {
    fprintf(stderr, "mote serve: %s/%s (%s): the kept snapshot does not fit (%s); "
                    "initialising again\n", ns, name, slot, err.message);
    img->snap = NULL;
    return false;
  }
  img->snap_kept = true;
  image_charge(img, c->budget); /* never refused: it served before */
  return true;
}

static void keep(mote_core *c, const core_image *img, const char *ns, const char *name,
                 const char *slot, const char *key) {
  uint8_t *bytes = NULL;
  size_t len = 0;
  mote_rt_error err;
  if (mote_rt_snapshot_save(img->snap, &bytes, &len, &err) != MOTE_RT_OK) {
    fprintf(stderr, "mote serve: %s/%s (%s): its snapshot is not kept (%s): a restart will "
                    "initialise it again\n", ns, name, slot, err.message);
    return;
  }
  mote_store_error se;
  if (mote_store_snapshot_put(c->store, ns, name, slot, key, bytes, len, &se) != MOTE_STORE_OK)
    fprintf(stderr, "mote serve: %s/%s (%s): its snapshot is not kept (%s): a restart will "
                    "initialise it again\n", ns, name, slot, se.message);
  free(bytes);
}

/* An opt build's snapshot, kept under the deploy lock while its version is
 * still current: a delete (which forgets the name's snapshots) or a newer
 * deploy of the name may have come while it was built. */
static void keep_if_current(mote_core *c, const core_fn *fn, const core_image *img,
                            const char *ns, const char *name, const char *slot,
                            const char *key) {
  pthread_mutex_lock(&c->deploy_lock);
  core_fn *now = registry_acquire(c->reg, ns, name);
  if (now == fn) keep(c, img, ns, name, slot, key);
  pthread_mutex_unlock(&c->deploy_lock);
  fn_release(now); /* not the last reference: the caller holds fn */
}

mote_core_status snapstore_prepare(mote_core *c, const core_fn *fn, core_image *img,
                                   const char *so_path, const char *compile_key,
                                   const char *ns, const char *name, bool keep_now,
                                   const core_prep *prep, mote_core_error *err) {
  char key[MOTE_HASH_HEX];
  const char *slot = mote_tier_name(img->tier);
  img->keep_key[0] = '\0';
  bool keyed = c->keep_snapshots && snapshot_key(fn, img, so_path, compile_key, name, key);
  if (keyed && load_kept(c, img, ns, name, slot, key)) return MOTE_CORE_OK;
  mote_core_status st = fn_prepare(c, fn, img, ns, name, prep, err);
  if (st == MOTE_CORE_OK && keyed && img->snap) {
    if (keep_now) keep_if_current(c, fn, img, ns, name, slot, key);
    else memcpy(img->keep_key, key, sizeof key);
  }
  return st;
}

void snapstore_keep(mote_core *c, core_fn *fn) {
  if (!fn->base.keep_key[0] || !fn->base.snap) return;
  keep(c, &fn->base, fn->rec.ns, fn->rec.name, mote_tier_name(fn->base.tier),
       fn->base.keep_key);
  fn->base.keep_key[0] = '\0';
}
