/*
 * The content-addressed store of compiled objects.
 *
 *   dir/<key>.so    the object
 *   dir/<key>.sum   BLAKE2b-256 of the object, hex: checked on every lookup,
 *                   so a truncated or corrupted object is rebuilt, never run
 *   dir/locks/<key> flock()ed while the key is being compiled
 *   dir/tmp/        work of compiles in progress, named "<pid>.<nonce>." first,
 *                   each process's under a lock file it holds (base/tmpdir.h):
 *                   what processes that are gone left goes at the next
 *                   mote_cache_prepare
 *   dir/obj/        the same for the objects of chunks (<key>.o, <key>.sum)
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/hash.h"
#include "base/tmpdir.h"
#include "cache.h"
#include "lazy.h"
#include "toolchain.h"

void mote_cache_key(const uint8_t *wasm, size_t len, mote_tier tier, char key[65]) {
  char identity[4096];
  mote_toolchain_identity(tier, identity, sizeof identity);
  /* a lazy object (lazy.h) is another object than the eager one */
  if (tier == MOTE_TIER_QUICK && mote_lazy_wanted(wasm, len))
    strncat(identity, "lazy-3;", sizeof identity - strlen(identity) - 1);
  crypto_generichash_state st;
  unsigned char digest[32];
  crypto_generichash_init(&st, NULL, 0, sizeof digest);
  crypto_generichash_update(&st, (const unsigned char *)identity, strlen(identity) + 1);
  crypto_generichash_update(&st, wasm, len);
  crypto_generichash_final(&st, digest, sizeof digest);
  mote_hex(digest, sizeof digest, key);
}

int mote_cache_prepare(const char *dir) {
  char path[4096];
  if (mote_mkdirs(dir, 0755) != 0) return -1;
  snprintf(path, sizeof path, "%s/tmp", dir);
  if (mote_mkdirs(path, 0755) != 0) return -1;
  /* this process's work may go here; what crashed compiles left (a big
   * module's: hundreds of MB) goes at the first join of this process */
  if (mote_tmp_join(path) != 0) return -1;
  snprintf(path, sizeof path, "%s/locks", dir);
  return mote_mkdirs(path, 0755);
}

/* Hex BLAKE2b-256 of a file's contents; -1 if it cannot be read. */
static int hash_file(const char *path, char hex[MOTE_HASH_HEX]) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = mote_hash_fd(fd, hex, NULL);
  close(fd);
  return rc;
}

struct mote_chunk_hasher {
  crypto_generichash_state st;
};

/* The key's state before the chunk's C: the toolchain and the header. */
static void chunk_key_start(mote_chunk_hasher *h, mote_tier tier, const char *header,
                            size_t hlen) {
  char identity[4096];
  mote_toolchain_identity(tier, identity, sizeof identity);
  crypto_generichash_init(&h->st, NULL, 0, 32);
  crypto_generichash_update(&h->st, (const unsigned char *)"chunk", 6);
  crypto_generichash_update(&h->st, (const unsigned char *)identity, strlen(identity) + 1);
  uint64_t n = hlen;
  crypto_generichash_update(&h->st, (const unsigned char *)&n, sizeof n);
  crypto_generichash_update(&h->st, (const unsigned char *)header, hlen);
}

static void chunk_key_finish(mote_chunk_hasher *h, char key[65]) {
  unsigned char digest[32];
  crypto_generichash_final(&h->st, digest, sizeof digest);
  mote_hex(digest, sizeof digest, key);
}

mote_chunk_hasher *mote_cache_chunk_key_begin(mote_tier tier, const char *header, size_t hlen) {
  mote_chunk_hasher *h = malloc(sizeof *h);
  if (h) chunk_key_start(h, tier, header, hlen);
  return h;
}

void mote_cache_chunk_key_add(mote_chunk_hasher *h, const void *bytes, size_t n) {
  crypto_generichash_update(&h->st, bytes, n);
}

void mote_cache_chunk_key_end(mote_chunk_hasher *h, char key[65]) {
  chunk_key_finish(h, key);
  free(h);
}

void mote_cache_chunk_key(mote_tier tier, const char *header, size_t hlen, const char *unit,
                          size_t ulen, char key[65]) {
  mote_chunk_hasher h;
  chunk_key_start(&h, tier, header, hlen);
  mote_cache_chunk_key_add(&h, unit, ulen);
  chunk_key_finish(&h, key);
}

bool mote_cache_lookup(const char *dir, const char *key, char *so_path, size_t cap) {
  return mote_cache_lookup_ext(dir, key, ".so", so_path, cap);
}

bool mote_cache_lookup_ext(const char *dir, const char *key, const char *ext, char *so_path,
                           size_t cap) {
  char sum_path[4096], recorded[65] = "", actual[65];
  snprintf(so_path, cap, "%s/%s%s", dir, key, ext);
  snprintf(sum_path, sizeof sum_path, "%s/%s.sum", dir, key);
  FILE *f = fopen(sum_path, "re");
  if (!f) return false;
  size_t n = fread(recorded, 1, 64, f);
  fclose(f);
  recorded[n] = 0;
  if (n != 64 || hash_file(so_path, actual) != 0) return false;
  return memcmp(recorded, actual, 64) == 0;
}

int mote_cache_lock(const char *dir, const char *key) {
  char path[4096];
  snprintf(path, sizeof path, "%s/locks/%s", dir, key);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  while (flock(fd, LOCK_EX) != 0) {
    if (errno != EINTR) {
      close(fd);
      return -1;
    }
  }
  return fd;
}

void mote_cache_unlock(int fd) {
  if (fd < 0) return;
  flock(fd, LOCK_UN);
  close(fd);
}

int mote_cache_install(const char *dir, const char *key, const char *built_path, char *so_path,
                       size_t cap) {
  return mote_cache_install_ext(dir, key, ".so", built_path, so_path, cap);
}

int mote_cache_install_ext(const char *dir, const char *key, const char *ext,
                           const char *built_path, char *so_path, size_t cap) {
  char hex[65], sum_tmp[4096], sum_path[4096];
  if (hash_file(built_path, hex) != 0) return -1;
  char prefix[MOTE_TMP_PREFIX_MAX];
  mote_tmp_prefix(prefix);
  snprintf(sum_tmp, sizeof sum_tmp, "%s/tmp/%s%s.sum.%lx", dir, prefix, key,
           (unsigned long)pthread_self());
  snprintf(sum_path, sizeof sum_path, "%s/%s.sum", dir, key);
  snprintf(so_path, cap, "%s/%s%s", dir, key, ext);
  FILE *f = fopen(sum_tmp, "we");
  if (!f) return -1;
  bool ok = fwrite(hex, 1, 64, f) == 64;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(sum_tmp, sum_path) != 0) {
    unlink(sum_tmp);
    return -1;
  }
  if (rename(built_path, so_path) != 0) {
    int e = errno;
    unlink(sum_path); /* the sum of an object that is not there */
    errno = e;
    return -1;
  }
  return 0;
}
