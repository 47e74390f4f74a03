/*
 * placement: which nodes serve a function. Rendezvous (highest random
 * weight) hashing: every live node not drained gets a score, BLAKE2b-64 of
 * (node, function), and the function goes to the `replicas` best. Every
 * node computes the same answer from the same view, with nothing to store
 * or coordinate; a node that comes or goes moves only the functions for
 * which it is (or was) among the best, and a drained node's functions go to
 * the next best (the "migration").
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_internal.h"

static uint64_t score(const char *node, const char *fnkey) {
  crypto_generichash_state st;
  uint8_t out[8];
  crypto_generichash_init(&st, NULL, 0, sizeof out);
  crypto_generichash_update(&st, (const uint8_t *)node, strlen(node) + 1);
  crypto_generichash_update(&st, (const uint8_t *)fnkey, strlen(fnkey));
  crypto_generichash_final(&st, out, sizeof out);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | out[i];
  return v;
}

typedef struct ranked {
  size_t index;
  bool draining;
  uint64_t score;
} ranked;

static int by_rank(const void *a, const void *b) {
  const ranked *x = a, *y = b;
  if (x->draining != y->draining) return x->draining ? 1 : -1;
  return x->score > y->score ? -1 : x->score < y->score ? 1 : 0;
}

size_t placement(const cl_node *nodes, size_t n, const char *fnkey, uint32_t replicas,
                 size_t *order) {
  ranked stack[64], *r = n <= 64 ? stack : malloc(n * sizeof *r);
  if (!r) { /* out of memory: every node, in name order */
    size_t live = 0;
    for (size_t i = 0; i < n; i++) order[i] = i, live += !nodes[i].draining;
    return live;
  }
  size_t live = 0;
  for (size_t i = 0; i < n; i++) {
    r[i] = (ranked){.index = i, .draining = nodes[i].draining,
                    .score = score(nodes[i].name, fnkey)};
    live += !nodes[i].draining;
  }
  qsort(r, n, sizeof *r, by_rank);
  for (size_t i = 0; i < n; i++) order[i] = r[i].index;
  if (r != stack) free(r);
  return replicas && replicas < live ? replicas : live;
}
