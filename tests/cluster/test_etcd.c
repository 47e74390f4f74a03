/* The etcd gateway client against a real etcd member (tests/cluster/etcd_fixture.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "etcd_fixture.h"

static fixture_etcd member;

static etcd *client(void) {
  char msg[256];
  etcd *e = etcd_new(member.url, msg, sizeof msg);
  CHECK_MSG(e != NULL, msg);
  return e;
}

TEST(endpoints_are_checked) {
  char msg[256];
  CHECK(etcd_new("", msg, sizeof msg) == NULL);
  CHECK(etcd_new("localhost:2379", msg, sizeof msg) == NULL);
  CHECK_STR_CONTAINS(msg, "http://HOST:PORT");
  CHECK(etcd_new("http://a:1/path", msg, sizeof msg) == NULL);
  etcd *e = etcd_new("http://127.0.0.1:1,http://127.0.0.2:2/", msg, sizeof msg);
  CHECK(e != NULL);
  etcd_free(e);
}

TEST(put_get_range_delete) {
  etcd *e = client();
  if (!e) return;
  int64_t rev = 0, rev2 = 0;
  CHECK_EQ_INT(etcd_put(e, "/t/a/1", "one", 3, 0, &rev), ETCD_OK);
  CHECK(rev > 0);
  /* bytes of every value, NUL included */
  CHECK_EQ_INT(etcd_put(e, "/t/a/2", "t\0o", 3, 0, &rev2), ETCD_OK);
  CHECK(rev2 > rev);
  CHECK_EQ_INT(etcd_put(e, "/t/b", "", 0, 0, NULL), ETCD_OK);
  etcd_kv kv;
  bool found = false;
  CHECK_EQ_INT(etcd_get(e, "/t/a/2", &kv, &found, NULL), ETCD_OK);
  CHECK(found);
  if (found) {
    CHECK_EQ_INT(kv.len, 3);
    CHECK(!memcmp(kv.value, "t\0o", 3));
    CHECK_EQ_INT(kv.mod_rev, rev2);
    CHECK_EQ_INT(kv.version, 1);
    etcd_kv_clear(&kv);
  }
  CHECK_EQ_INT(etcd_get(e, "/t/b", &kv, &found, NULL), ETCD_OK);
  CHECK(found && kv.len == 0 && kv.value && kv.value[0] == 0);
  if (found) etcd_kv_clear(&kv);
  CHECK_EQ_INT(etcd_get(e, "/t/none", &kv, &found, NULL), ETCD_OK);
  CHECK(!found);
  etcd_kv *kvs = NULL;
  size_t n = 0;
  CHECK_EQ_INT(etcd_range_prefix(e, "/t/a/", &kvs, &n, &rev), ETCD_OK);
  CHECK_EQ_INT(n, 2);
  if (n == 2) {
    CHECK(!strcmp(kvs[0].key, "/t/a/1") && !strcmp(kvs[1].key, "/t/a/2"));
    CHECK(!strcmp((char *)kvs[0].value, "one"));
  }
  etcd_kvs_free(kvs, n);
  int64_t deleted = 0;
  CHECK_EQ_INT(etcd_delete(e, "/t/a/", true, &deleted), ETCD_OK);
  CHECK_EQ_INT(deleted, 2);
  CHECK_EQ_INT(etcd_range_prefix(e, "/t/a/", &kvs, &n, NULL), ETCD_OK);
  CHECK_EQ_INT(n, 0);
  CHECK_EQ_INT(etcd_delete(e, "/t/b", false, &deleted), ETCD_OK);
  CHECK_EQ_INT(deleted, 1);
  etcd_free(e);
}

/* A prefix's range is read in pages at one revision: more records than
 * one reply may carry (ETCD_MAX_REPLY, 64 MiB: 48 values of 1.4 MiB are
 * 90 MiB in base64) come back whole, in order, and so do many small ones. */
TEST(a_range_bigger_than_a_reply_is_read_in_pages) {
  etcd *e = client();
  if (!e) return;
  size_t big = 1400 * 1024;
  char *value = malloc(big);
  CHECK(value != NULL);
  if (!value) return;
  char key[64];
  for (int i = 0; i < 48; i++) {
    memset(value, 'a' + i % 26, big);
    snprintf(key, sizeof key, "/big/%03d", i);
    CHECK_EQ_INT(etcd_put(e, key, value, big, 0, NULL), ETCD_OK);
  }
  for (int i = 0; i < 100; i++) {
    snprintf(key, sizeof key, "/small/%03d", i);
    CHECK_EQ_INT(etcd_put(e, key, key, strlen(key), 0, NULL), ETCD_OK);
  }
  etcd_kv *kvs = NULL;
  size_t n = 0;
  int64_t rev = 0, now = 0;
  CHECK_EQ_INT(etcd_range_prefix(e, "/big/", &kvs, &n, &rev), ETCD_OK);
  CHECK_EQ_INT(n, 48);
  for (size_t i = 0; i < n; i++) {
    snprintf(key, sizeof key, "/big/%03zu", i);
    CHECK(!strcmp(kvs[i].key, key) && kvs[i].len == big && kvs[i].value[big - 1] == 'a' + i % 26);
  }
  etcd_kvs_free(kvs, n);
  CHECK_EQ_INT(etcd_put(e, "/probe", "x", 1, 0, &now), ETCD_OK);
  CHECK(rev > 0 && rev < now);
  CHECK_EQ_INT(etcd_range_prefix(e, "/small/", &kvs, &n, NULL), ETCD_OK);
  CHECK_EQ_INT(n, 100);
  for (size_t i = 0; i < n; i++) {
    snprintf(key, sizeof key, "/small/%03zu", i);
    CHECK(!strcmp(kvs[i].key, key) && !strcmp((char *)kvs[i].value, key));
  }
  etcd_kvs_free(kvs, n);
  CHECK_EQ_INT(etcd_delete(e, "/big/", true, NULL), ETCD_OK);
  CHECK_EQ_INT(etcd_delete(e, "/small/", true, NULL), ETCD_OK);
  free(value);
  etcd_free(e);
}

TEST(txn_compares_and_swaps) {
  etcd *e = client();
  if (!e) return;
  /* create if absent: once */
  etcd_cmp absent = {.key = "/t/x", .target = ETCD_CREATE, .op = ETCD_EQUAL, .number = 0};
  etcd_op put = {.kind = ETCD_OP_PUT, .key = "/t/x", .value = "v1", .len = 2};
  bool ok = false;
  CHECK_EQ_INT(etcd_txn(e, &absent, 1, &put, 1, NULL, 0, &ok, NULL), ETCD_OK);
  CHECK(ok);
  CHECK_EQ_INT(etcd_txn(e, &absent, 1, &put, 1, NULL, 0, &ok, NULL), ETCD_OK);
  CHECK(!ok);
  /* compare a value; the otherwise branch runs when it differs */
  etcd_cmp is_v1 = {.key = "/t/x", .target = ETCD_VALUE, .op = ETCD_EQUAL, .value = "v1", .len = 2};
  etcd_op then[] = {{.kind = ETCD_OP_PUT, .key = "/t/x", .value = "v2", .len = 2},
                    {.kind = ETCD_OP_PUT, .key = "/t/y", .value = "y", .len = 1}};
  etcd_op otherwise = {.kind = ETCD_OP_DELETE, .key = "/t/y"};
  CHECK_EQ_INT(etcd_txn(e, &is_v1, 1, then, 2, &otherwise, 1, &ok, NULL), ETCD_OK);
  CHECK(ok);
  etcd_kv kv;
  bool found;
  CHECK_EQ_INT(etcd_get(e, "/t/x", &kv, &found, NULL), ETCD_OK);
  CHECK(found && !strcmp((char *)kv.value, "v2"));
  int64_t mod = found ? kv.mod_rev : 0;
  if (found) etcd_kv_clear(&kv);
  CHECK_EQ_INT(etcd_txn(e, &is_v1, 1, then, 2, &otherwise, 1, &ok, NULL), ETCD_OK);
  CHECK(!ok);
  CHECK_EQ_INT(etcd_get(e, "/t/y", &kv, &found, NULL), ETCD_OK);
  CHECK(!found);
  /* a mod revision compare: optimistic concurrency */
  etcd_cmp same = {.key = "/t/x", .target = ETCD_MOD, .op = ETCD_EQUAL, .number = mod};
  CHECK_EQ_INT(etcd_txn(e, &same, 1, &put, 1, NULL, 0, &ok, NULL), ETCD_OK);
  CHECK(ok);
  CHECK_EQ_INT(etcd_txn(e, &same, 1, &put, 1, NULL, 0, &ok, NULL), ETCD_OK);
  CHECK(!ok); /* the first put moved it */
  etcd_delete(e, "/t/", true, NULL);
  etcd_free(e);
}

TEST(leases_keep_and_drop_keys) {
  etcd *e = client();
  if (!e) return;
  int64_t id = 0, ttl = 0;
  CHECK_EQ_INT(etcd_lease_grant(e, 2, &id), ETCD_OK);
  CHECK(id != 0);
  CHECK_EQ_INT(etcd_put(e, "/t/leased", "n", 1, id, NULL), ETCD_OK);
  CHECK_EQ_INT(etcd_lease_keepalive(e, id, &ttl), ETCD_OK);
  CHECK(ttl > 0);
  etcd_kv kv;
  bool found;
  CHECK_EQ_INT(etcd_get(e, "/t/leased", &kv, &found, NULL), ETCD_OK);
  CHECK(found && kv.lease == id);
  if (found) etcd_kv_clear(&kv);
  CHECK_EQ_INT(etcd_lease_revoke(e, id), ETCD_OK);
  CHECK_EQ_INT(etcd_get(e, "/t/leased", &kv, &found, NULL), ETCD_OK);
  CHECK(!found);
  /* a revoked (or expired) lease cannot be renewed: ttl 0 */
  CHECK_EQ_INT(etcd_lease_keepalive(e, id, &ttl), ETCD_OK);
  CHECK_EQ_INT(ttl, 0);
  /* a lease left alone expires, and its key goes (waited for as a state) */
  CHECK_EQ_INT(etcd_lease_grant(e, 1, &id), ETCD_OK);
  CHECK_EQ_INT(etcd_put(e, "/t/leased", "n", 1, id, NULL), ETCD_OK);
  found = true;
  for (time_t until = time(NULL) + 60; found && time(NULL) < until;) {
    CHECK_EQ_INT(etcd_get(e, "/t/leased", &kv, &found, NULL), ETCD_OK);
    if (found) {
      etcd_kv_clear(&kv);
      usleep(100000);
    }
  }
  CHECK(!found);
  etcd_free(e);
}

/* ---- watches ---- */

typedef struct seen {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  char log[4096];
  int events, established;
  volatile bool stop;
  etcd *e;
  int64_t from, last;
  etcd_status end;
} seen;

static bool on_events(void *ctx, const etcd_event *ev, size_t n, int64_t rev) {
  seen *s = ctx;
  (void)rev;
  pthread_mutex_lock(&s->lock);
  if (n == 0) s->established++;
  for (size_t i = 0; i < n; i++) {
    size_t used = strlen(s->log);
    snprintf(s->log + used, sizeof s->log - used, "%s %s=%s;", ev[i].deleted ? "del" : "put",
             ev[i].kv.key, ev[i].deleted ? "" : (char *)ev[i].kv.value);
    s->events++;
  }
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
  return true;
}

static void *watcher(void *arg) {
  seen *s = arg;
  s->end = etcd_watch(s->e, "/w/", s->from, on_events, s, &s->stop, &s->last);
  pthread_mutex_lock(&s->lock);
  s->established = -1; /* ended */
  pthread_cond_broadcast(&s->cond);
  pthread_mutex_unlock(&s->lock);
  return NULL;
}

/* Waits (up to 60 s, against a hang) until the watch has `n` events. */
static bool wait_events(seen *s, int n) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 60;
  pthread_mutex_lock(&s->lock);
  while (s->events < n && s->established >= 0)
    if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0) break;
  bool ok = s->events >= n;
  pthread_mutex_unlock(&s->lock);
  return ok;
}

static bool wait_established(seen *s) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 60;
  pthread_mutex_lock(&s->lock);
  while (s->established == 0)
    if (pthread_cond_timedwait(&s->cond, &s->lock, &until) != 0) break;
  bool ok = s->established > 0;
  pthread_mutex_unlock(&s->lock);
  return ok;
}

TEST(watch_streams_changes_in_order) {
  etcd *e = client();
  if (!e) return;
  int64_t rev0 = 0;
  CHECK_EQ_INT(etcd_put(e, "/w/before", "b", 1, 0, &rev0), ETCD_OK);
  seen s = {.e = e, .from = 0};
  pthread_mutex_init(&s.lock, NULL);
  pthread_cond_init(&s.cond, NULL);
  pthread_t t;
  pthread_create(&t, NULL, watcher, &s);
  CHECK(wait_established(&s));
  CHECK_EQ_INT(etcd_put(e, "/w/a", "1", 1, 0, NULL), ETCD_OK);
  CHECK_EQ_INT(etcd_put(e, "/other", "x", 1, 0, NULL), ETCD_OK); /* outside the prefix */
  CHECK_EQ_INT(etcd_put(e, "/w/a", "2", 1, 0, NULL), ETCD_OK);
  CHECK_EQ_INT(etcd_delete(e, "/w/a", false, NULL), ETCD_OK);
  CHECK(wait_events(&s, 3));
  s.stop = true;
  pthread_join(t, NULL);
  CHECK_EQ_INT(s.end, ETCD_STOPPED);
  CHECK(!strcmp(s.log, "put /w/a=1;put /w/a=2;del /w/a=;"));
  int64_t last = s.last;
  CHECK(last > rev0);

  /* from an old revision: the history since, then the new ones */
  seen s2 = {.e = e, .from = rev0};
  pthread_mutex_init(&s2.lock, NULL);
  pthread_cond_init(&s2.cond, NULL);
  pthread_create(&t, NULL, watcher, &s2);
  CHECK(wait_events(&s2, 4));
  s2.stop = true;
  pthread_join(t, NULL);
  CHECK_STR_CONTAINS(s2.log, "put /w/before=b;put /w/a=1;put /w/a=2;del /w/a=;");
  CHECK_EQ_INT(s2.last, last);
  etcd_delete(e, "/", true, NULL);
  etcd_free(e);
}

TEST(a_dead_endpoint_is_passed_over) {
  char msg[256], list[200];
  /* nothing listens on port 1 of 127.0.0.1: a refused connect, then the member */
  snprintf(list, sizeof list, "http://127.0.0.1:1,%s", member.url);
  etcd *e = etcd_new(list, msg, sizeof msg);
  CHECK(e != NULL);
  if (!e) return;
  CHECK_EQ_INT(etcd_put(e, "/t/failover", "ok", 2, 0, NULL), ETCD_OK);
  CHECK(!strcmp(etcd_endpoint(e), member.url));
  etcd_delete(e, "/t/failover", false, NULL);
  etcd_free(e);
  /* none answers: UNAVAILABLE with the reason */
  e = etcd_new("http://127.0.0.1:1", msg, sizeof msg);
  CHECK_EQ_INT(etcd_put(e, "/t/x", "x", 1, 0, NULL), ETCD_UNAVAILABLE);
  CHECK_STR_CONTAINS(etcd_error(), "127.0.0.1:1");
  etcd_free(e);
}

/* A member in an election, as the gateway shows it: it takes each request
 * and answers 503 "no leader" to the first `refusals`, then 200. */
typedef struct electing {
  int fd;
  unsigned refusals;
  _Atomic unsigned asked; /* requests answered; read by the test after each call */
  pthread_t thread;
} electing;

static void *electing_serve(void *arg) {
  electing *m = arg;
  for (;;) {
    int c = accept(m->fd, NULL, NULL);
    if (c < 0) return NULL;
    /* Requests on this connection until the client closes it: each is a
     * head and a Content-Length body. */
    char buf[8192];
    size_t have = 0;
    for (;;) {
      char *end = have ? memmem(buf, have, "\r\n\r\n", 4) : NULL;
      if (end) {
        char *cl = memmem(buf, (size_t)(end - buf), "Content-Length: ", 16);
        size_t body = cl ? strtoul(cl + 16, NULL, 10) : 0, need = (size_t)(end + 4 - buf) + body;
        if (have >= need) {
          static const char no_leader[] =
              "{\"error\":\"etcdserver: no leader\",\"code\":14,"
              "\"message\":\"etcdserver: no leader\"}";
          static const char put_reply[] = "{\"header\":{\"revision\":\"7\"}}";
          bool refuse = m->asked++ < m->refusals;
          const char *json = refuse ? no_leader : put_reply;
          char reply[512];
          snprintf(reply, sizeof reply,
                   "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "\r\n%s",
                   refuse ? "503 Service Unavailable" : "200 OK", strlen(json), json);
          if (write(c, reply, strlen(reply)) < 0) break;
          memmove(buf, buf + need, have - need);
          have -= need;
          continue;
        }
      }
      ssize_t n = read(c, buf + have, sizeof buf - have);
      if (n <= 0) break;
      have += (size_t)n;
    }
    close(c);
  }
}

static bool electing_start(electing *m, unsigned refusals, char *url, size_t cap) {
  memset(m, 0, sizeof *m);
  m->refusals = refusals;
  m->fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (m->fd < 0 || bind(m->fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(m->fd, 8) != 0 ||
      getsockname(m->fd, (struct sockaddr *)&a, &len) != 0)
    return false;
  snprintf(url, cap, "http://127.0.0.1:%d", ntohs(a.sin_port));
  return pthread_create(&m->thread, NULL, electing_serve, m) == 0;
}

static void electing_stop(electing *m) {
  shutdown(m->fd, SHUT_RDWR);
  close(m->fd);
  pthread_join(m->thread, NULL);
}

/* Members that answer "no leader" are asked again (after a pause) until one
 * answers or ETCD_ELECTION_MS pass: a leader's loss is ridden out, not
 * turned into an error. */
TEST(an_election_is_waited_out) {
  electing m;
  char url[64], msg[256];
  CHECK(electing_start(&m, 3, url, sizeof url));
  etcd *e = etcd_new(url, msg, sizeof msg);
  CHECK(e != NULL);
  if (!e) return;
  int64_t rev = 0;
  CHECK_EQ_INT(etcd_put(e, "/t/elected", "v", 1, 0, &rev), ETCD_OK);
  CHECK_EQ_INT(rev, 7);
  CHECK_EQ_INT(m.asked, 4); /* three refusals, then the answer */
  etcd_free(e);
  electing_stop(&m);
  /* One that never elects: UNAVAILABLE in the end, saying why, after more
   * than one try. */
  CHECK(electing_start(&m, 1000000, url, sizeof url));
  e = etcd_new(url, msg, sizeof msg);
  CHECK(e != NULL);
  if (!e) return;
  CHECK_EQ_INT(etcd_put(e, "/t/never", "v", 1, 0, NULL), ETCD_UNAVAILABLE);
  CHECK_STR_CONTAINS(etcd_error(), "no leader");
  CHECK(m.asked > 1);
  etcd_free(e);
  electing_stop(&m);
}

static void setup(void) { fixture_etcd_start(&member); }
static void teardown(void) { fixture_etcd_stop(&member); }

RUN_TESTS(setup, endpoints_are_checked, put_get_range_delete,
          a_range_bigger_than_a_reply_is_read_in_pages, txn_compares_and_swaps,
          leases_keep_and_drop_keys, watch_streams_changes_in_order, a_dead_endpoint_is_passed_over,
          an_election_is_waited_out, teardown)
