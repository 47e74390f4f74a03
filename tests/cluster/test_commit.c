/* commit.c against a real etcd member whose reply to one transaction is
 * lost: the transaction is applied, the reply never comes, and the gateway
 * client (etcd.c) sends it again to the next endpoint, where its
 * comparison now fails. A delete is still a delete (not a 404), and a
 * deploy still one version (not two), also when another node's deploy of
 * the name came in between; a delete then leaves that deploy. The loss is made by a proxy in front
 * of the member (the first endpoint), which passes every request on and
 * every reply back, except the reply to the one transaction it is armed
 * for. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster/cluster_internal.h"
#include "etcd_fixture.h"

static fixture_etcd member;

typedef struct proxy {
  int listen_fd, port, upstream_port;
  atomic_bool armed;    /* drop the next transaction's reply */
  atomic_int dropped;
  atomic_bool stop;
  pthread_t thread;
  void (*on_drop)(void *ctx); /* run before the reply is dropped: another node's change */
  void *ctx;
} proxy;

/* Reads one HTTP message (headers, then Content-Length bytes) from fd into
 * buf: its length, or -1. */
static ssize_t read_message(int fd, char *buf, size_t cap) {
  size_t got = 0;
  char *end = NULL;
  while (!end) {
    if (got + 1 >= cap) return -1;
    ssize_t n = read(fd, buf + got, cap - 1 - got);
    if (n <= 0) return -1;
    got += (size_t)n;
    buf[got] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  size_t head = (size_t)(end + 4 - buf), body = 0;
  for (char *l = buf; l && l < end; l = strstr(l, "\r\n") ? strstr(l, "\r\n") + 2 : NULL)
    if (!strncasecmp(l, "Content-Length:", 15)) body = strtoul(l + 15, NULL, 10);
  while (got < head + body) {
    if (got + 1 >= cap) return -1;
    ssize_t n = read(fd, buf + got, cap - 1 - got);
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return (ssize_t)got;
}

static void *proxy_main(void *arg) {
  proxy *p = arg;
  static char req[1 << 20], rep[1 << 20];
  while (!atomic_load(&p->stop)) {
    int c = accept(p->listen_fd, NULL, NULL);
    if (c < 0) {
      usleep(1000); /* shut down (the loop ends), or a passing error */
      continue;
    }
    ssize_t n = read_message(c, req, sizeof req);
    int u = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->upstream_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ssize_t m = -1;
    if (n > 0 && u >= 0 && connect(u, (struct sockaddr *)&a, sizeof a) == 0 &&
        write(u, req, (size_t)n) == n)
      m = read_message(u, rep, sizeof rep);
    if (u >= 0) close(u);
    bool txn = n > 0 && !strncmp(req, "POST /v3/kv/txn ", 16);
    bool expected = true;
    if (m > 0 && txn && atomic_compare_exchange_strong(&p->armed, &expected, false)) {
      if (p->on_drop) p->on_drop(p->ctx);
      atomic_fetch_add(&p->dropped, 1); /* applied; its reply lost */
    }
    else if (m > 0 && write(c, rep, (size_t)m) != m)
      fprintf(stderr, "proxy: a short write\n");
    close(c);
  }
  return NULL;
}

static bool proxy_start(proxy *p) {
  memset(p, 0, sizeof *p);
  p->upstream_port = atoi(strrchr(member.url, ':') + 1);
  p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (p->listen_fd < 0 || bind(p->listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(p->listen_fd, (struct sockaddr *)&a, &len) != 0 || listen(p->listen_fd, 16) != 0)
    return false;
  p->port = ntohs(a.sin_port);
  return pthread_create(&p->thread, NULL, proxy_main, p) == 0;
}

static void proxy_stop(proxy *p) {
  atomic_store(&p->stop, true);
  shutdown(p->listen_fd, SHUT_RDWR); /* accept returns */
  int c = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (c >= 0) {
    if (connect(c, (struct sockaddr *)&a, sizeof a) != 0) { /* nothing listens any more */
    }
    close(c);
  }
  pthread_join(p->thread, NULL);
  close(p->listen_fd);
}

/* The parts of a node that commit.c uses: etcd at `endpoints`, an empty view
 * (a cluster of one: nothing to push), a lease. */
static mote_cluster *node_at(const char *endpoints, const char *name) {
  mote_cluster *cl = calloc(1, sizeof *cl);
  char msg[256];
  cl->etcd = etcd_new(endpoints, msg, sizeof msg);
  CHECK_MSG(cl->etcd != NULL, msg);
  cl->view = view_new();
  snprintf(cl->node, sizeof cl->node, "%s", name);
  cl->lease_ok = true;
  pthread_mutex_init(&cl->lock, NULL);
  return cl;
}

/* Node a, with etcd through the proxy first. */
static mote_cluster *node_through(proxy *p) {
  char endpoints[160];
  snprintf(endpoints, sizeof endpoints, "http://127.0.0.1:%d,%s", p->port, member.url);
  return node_at(endpoints, "a");
}

/* A commit of function `name`'s module `hash` on node cl: its version, or 0. */
static uint64_t deploy(mote_cluster *cl, const char *name, const char *hash) {
  mote_function_settings st = {0};
  core_commit w = {.ns = "guest", .name = name, .module_len = 8, .settings = &st,
                   .module_hash = hash};
  uint64_t version = 0;
  bool here = false;
  mote_core_error err = {0};
  CHECK_EQ_INT(commit_deploy(cl, &w, &version, &here, &err), MOTE_CORE_OK);
  return version;
}

#define HASH_1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HASH_2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

static void node_free(mote_cluster *cl) {
  etcd_free(cl->etcd);
  view_free(cl->view);
  pthread_mutex_destroy(&cl->lock);
  free(cl);
}

static bool present(const char *key) {
  char msg[256];
  etcd *e = etcd_new(member.url, msg, sizeof msg);
  etcd_kv kv;
  bool found = false;
  CHECK(e && etcd_get(e, key, &kv, &found, NULL) == ETCD_OK);
  if (found) etcd_kv_clear(&kv);
  etcd_free(e);
  return found;
}

/* The tries' markers still in etcd (each is deleted once its try is seen). */
static size_t markers_left(void) {
  char msg[256];
  etcd *e = etcd_new(member.url, msg, sizeof msg);
  etcd_kv *kvs = NULL;
  size_t n = 0;
  CHECK(e && etcd_range_prefix(e, CL_PREFIX "commit/", &kvs, &n, NULL) == ETCD_OK);
  etcd_kvs_free(kvs, n);
  etcd_free(e);
  return n;
}

static int64_t number_at(const char *key) {
  char msg[256];
  etcd *e = etcd_new(member.url, msg, sizeof msg);
  etcd_kv kv;
  bool found = false;
  int64_t n = -1;
  if (e && etcd_get(e, key, &kv, &found, NULL) == ETCD_OK && found) {
    n = strtoll((const char *)kv.value, NULL, 10);
    etcd_kv_clear(&kv);
  } else if (e) {
    n = 0;
  }
  etcd_free(e);
  return n;
}

TEST(a_delete_whose_reply_was_lost_is_a_delete) {
  proxy p;
  CHECK(proxy_start(&p));
  mote_cluster *cl = node_through(&p);
  CHECK_EQ_INT(etcd_put(cl->etcd, CL_PREFIX "fn/guest/f", "{}", 2, 0, NULL), ETCD_OK);
  atomic_store(&p.armed, true);
  mote_core_error err = {0};
  CHECK_EQ_INT(commit_delete(cl, "guest", "f", &err), MOTE_CORE_OK);
  CHECK_EQ_INT(atomic_load(&p.dropped), 1);
  CHECK(!present(CL_PREFIX "fn/guest/f"));
  CHECK_EQ_INT(markers_left(), 0);
  /* a delete of what is not there is still a 404 */
  CHECK_EQ_INT(commit_delete(cl, "guest", "f", &err), MOTE_CORE_NOT_FOUND);
  node_free(cl);
  proxy_stop(&p);
}

TEST(a_deploy_whose_reply_was_lost_is_one_version) {
  proxy p;
  CHECK(proxy_start(&p));
  mote_cluster *cl = node_through(&p);
  atomic_store(&p.armed, true);
  uint64_t version = deploy(cl, "g", HASH_1);
  CHECK_EQ_INT(atomic_load(&p.dropped), 1);
  CHECK_EQ_INT(version, 1);
  CHECK_EQ_INT(number_at(CL_PREFIX "seq/guest/g"), 1);
  /* the next deploy is the next number */
  version = deploy(cl, "g", HASH_1);
  CHECK_EQ_INT(version, 2);
  node_free(cl);
  proxy_stop(&p);
}

/* Another node's deploy of a name, straight to the member, committed just
 * before the armed transaction's reply is lost: version 2 of it. */
typedef struct race {
  mote_cluster *node;
  const char *name;
} race;

static void other_deploys(void *ctx) {
  race *r = ctx;
  CHECK_EQ_INT(deploy(r->node, r->name, HASH_2), 2);
}

static void arm_with_race(proxy *p, race *r) {
  p->on_drop = other_deploys;
  p->ctx = r;
  atomic_store(&p->armed, true);
}

/* The same, with another node's deploy of the name committed between the
 * lost reply and the resend: the first is still found applied (its marker),
 * not committed a third time. */
TEST(a_deploy_whose_reply_was_lost_while_another_came_is_one_version) {
  proxy p;
  CHECK(proxy_start(&p));
  mote_cluster *cl = node_through(&p), *other = node_at(member.url, "b");
  race r = {other, "h"};
  arm_with_race(&p, &r);
  uint64_t version = deploy(cl, "h", HASH_1);
  CHECK_EQ_INT(atomic_load(&p.dropped), 1);
  CHECK_EQ_INT(version, 1);
  CHECK_EQ_INT(number_at(CL_PREFIX "seq/guest/h"), 2); /* ours and the other's, no third */
  node_free(other);
  node_free(cl);
  proxy_stop(&p);
}

/* A delete whose reply was lost, then another node's deploy of the name
 * (acknowledged: a client has its 201) before the resend: the delete was
 * done, and the newer version stays. Without the marker the resend's failed
 * comparison sent the delete round again, which removed version 2. */
TEST(a_delete_whose_reply_was_lost_leaves_the_deploy_that_came_after_it) {
  proxy p;
  CHECK(proxy_start(&p));
  mote_cluster *cl = node_through(&p), *other = node_at(member.url, "b");
  CHECK_EQ_INT(deploy(other, "d", HASH_1), 1);
  race r = {other, "d"};
  arm_with_race(&p, &r);
  mote_core_error err = {0};
  CHECK_EQ_INT(commit_delete(cl, "guest", "d", &err), MOTE_CORE_OK);
  CHECK_EQ_INT(atomic_load(&p.dropped), 1);
  CHECK(present(CL_PREFIX "fn/guest/d"));
  CHECK_EQ_INT(number_at(CL_PREFIX "seq/guest/d"), 2);
  CHECK_EQ_INT(markers_left(), 0);
  node_free(other);
  node_free(cl);
  proxy_stop(&p);
}

/* A node without its lease (etcd away, or the lease lost) does not delete:
 * its try's marker would have no lease to end it. 503, and the record stays. */
TEST(a_delete_without_a_lease_is_refused_and_deletes_nothing) {
  mote_cluster *cl = node_at(member.url, "a");
  CHECK_EQ_INT(etcd_put(cl->etcd, CL_PREFIX "fn/guest/e", "{}", 2, 0, NULL), ETCD_OK);
  cl->lease_ok = false;
  mote_core_error err = {0};
  CHECK_EQ_INT(commit_delete(cl, "guest", "e", &err), MOTE_CORE_UNAVAILABLE);
  CHECK(present(CL_PREFIX "fn/guest/e"));
  CHECK_EQ_INT(markers_left(), 0);
  node_free(cl);
}

static void setup(void) { fixture_etcd_start(&member); }
static void teardown(void) { fixture_etcd_stop(&member); }

RUN_TESTS(setup, a_delete_whose_reply_was_lost_is_a_delete,
          a_deploy_whose_reply_was_lost_is_one_version,
          a_deploy_whose_reply_was_lost_while_another_came_is_one_version,
          a_delete_whose_reply_was_lost_leaves_the_deploy_that_came_after_it,
          a_delete_without_a_lease_is_refused_and_deletes_nothing, teardown)
