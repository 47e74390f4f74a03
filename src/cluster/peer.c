/*
 * peer: HTTP requests from this node to its peers, over libcurl: the bytes
 * of versions and compiled objects (with the cluster secret), and the
 * requests forward.c passes on. A few curl handles are kept for reuse, so
 * their connections to peers stay open. No transfer waits on a peer that
 * has left the live nodes (peer_watch_set): a frozen node held the applier,
 * a deploy's push or an object's fetch for CL_PEER_TIMEOUT_S before.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/clock.h"
#include "cluster/cluster_internal.h"

#define POOL 8

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static CURL *pool[POOL];
static size_t npool;

CURL *peer_curl_take(void) {
  CURL *c = NULL;
  pthread_mutex_lock(&pool_lock);
  if (npool) c = pool[--npool];
  pthread_mutex_unlock(&pool_lock);
  if (c) {
    curl_easy_reset(c);
    return c;
  }
  return curl_easy_init();
}

void peer_curl_give(CURL *c) {
  if (!c) return;
  pthread_mutex_lock(&pool_lock);
  if (npool < POOL) {
    pool[npool++] = c;
    c = NULL;
  }
  pthread_mutex_unlock(&pool_lock);
  if (c) curl_easy_cleanup(c);
}

#define WATCH_EVERY_US 100000

static int still_live(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                      curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  peer_watch *w = arg;
  uint64_t now = mote_now_us();
  if (now >= w->deadline_us) return 1;
  if (now < w->next_us) return 0;
  w->next_us = now + WATCH_EVERY_US;
  return view_url_live(w->cl->view, w->url) ? 0 : 1;
}

void peer_watch_set(CURL *c, peer_watch *w, mote_cluster *cl, const char *url, uint64_t timeout_ms) {
  uint64_t now = mote_now_us();
  *w = (peer_watch){.cl = cl, .url = url, .next_us = now, .deadline_us = now + timeout_ms * 1000};
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, still_live);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, w);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
}

size_t peer_collect(char *data, size_t size, size_t n, void *arg) {
  peer_buf *b = arg;
  size_t add = size * n;
  if (b->len + add + 1 > b->max) {
    b->too_big = true;
    return 0;
  }
  if (b->len + add + 1 > b->cap) {
    size_t ncap = b->cap ? b->cap : 16384;
    while (ncap < b->len + add + 1) ncap *= 2;
    uint8_t *g = realloc(b->p, ncap);
    if (!g) return 0;
    b->p = g;
    b->cap = ncap;
  }
  memcpy(b->p + b->len, data, add);
  b->len += add;
  b->p[b->len] = 0;
  return add;
}

/* One request with the secret; the status, or 0 with msg. */
static long request(mote_cluster *cl, const char *method, const char *url, const char *path,
                    const uint8_t *body, size_t len, peer_buf *out, char *msg, size_t cap) {
  char secret[CL_SECRET_HEX], header[sizeof CLUSTER_SECRET_HEADER + CL_SECRET_HEX + 4], full[1024];
  if (!view_secret(cl->view, secret)) {
    snprintf(msg, cap, "the cluster secret is not known yet (etcd not reached)");
    return 0;
  }
  snprintf(header, sizeof header, CLUSTER_SECRET_HEADER ": %s", secret);
  snprintf(full, sizeof full, "%s%s", url, path);
  CURL *c = peer_curl_take();
  if (!c) {
    snprintf(msg, cap, "out of memory");
    return 0;
  }
  struct curl_slist *h = curl_slist_append(NULL, header);
  h = curl_slist_append(h, "Expect:");
  h = curl_slist_append(h, "Content-Type: application/octet-stream");
  curl_easy_setopt(c, CURLOPT_URL, full);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, peer_collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)CL_PEER_CONNECT_MS);
  peer_watch w;
  peer_watch_set(c, &w, cl, url, (uint64_t)CL_PEER_TIMEOUT_S * 1000);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_PROXY, "");
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  peer_curl_give(c);
  sodium_memzero(secret, sizeof secret);
  sodium_memzero(header, sizeof header);
  if (rc != CURLE_OK) {
    snprintf(msg, cap, "%s %s: %s", method, full,
             out->too_big                         ? "reply too large"
             : rc == CURLE_ABORTED_BY_CALLBACK    ? "the peer left the live nodes, or took too long"
                                                  : curl_easy_strerror(rc));
    return 0;
  }
  return status;
}

peer_status peer_get(mote_cluster *cl, const char *url, const char *path, uint8_t **body,
                     size_t *len, char *msg, size_t cap) {
  peer_buf b = {.max = (size_t)HTTP_MAX_BUNDLE + CORE_MAX_MODULE + (64u << 20)};
  *body = NULL;
  *len = 0;
  long status = request(cl, "GET", url, path, NULL, 0, &b, msg, cap);
  if (status == 200) {
    if (!b.p && !(b.p = calloc(1, 1))) {
      snprintf(msg, cap, "out of memory");
      return PEER_FAILED;
    }
    *body = b.p;
    *len = b.len;
    return PEER_OK;
  }
  if (status) snprintf(msg, cap, "GET %s%s: %ld %.200s", url, path, status, b.p ? (char *)b.p : "");
  free(b.p);
  return status == 404 ? PEER_NOT_FOUND : PEER_FAILED;
}

peer_status peer_put(mote_cluster *cl, const char *url, const char *path, const uint8_t *body,
                     size_t len, char *msg, size_t cap) {
  peer_buf b = {.max = 1u << 20};
  long status = request(cl, "PUT", url, path, body, len, &b, msg, cap);
  if (status == 200 || status == 201) {
    free(b.p);
    return PEER_OK;
  }
  if (status) snprintf(msg, cap, "PUT %s%s: %ld %.200s", url, path, status, b.p ? (char *)b.p : "");
  free(b.p);
  return PEER_FAILED;
}
