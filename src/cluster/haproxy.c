/*
 * haproxy: HAProxy 2.6 in front of the live nodes.
 *
 * The config (mote_cluster_haproxy_config): one backend of HAPROXY_SLOTS
 * server slots, the live nodes in the first ones, the rest disabled;
 *   - balance uri depth 3 + hash-type consistent: /faas/NAME and
 *     /faas/NS/NAME (the query left out; depth 3 so that one namespace's
 *     functions do not all hash as "/faas/NS") always go to the same node
 *     while it is up, so its compiled
 *     module, snapshot and page cache stay warm there (cache affinity); when
 *     a node goes only its share moves;
 *   - health checks GET /healthz every 200 ms, down after 2 failures (and at
 *     once on a refused connection of real traffic: observe layer4), so a
 *     dead node is out within about 0.4 s; a drained node answers 503 there
 *     and is taken out the same way;
 *   - a request whose connection fails is sent again to another node
 *     (retry-on conn-failure, redispatch); one that reached a node is not:
 *     a call runs at most once (OpenWhisk's guarantee too), so a node that
 *     dies while running calls costs those calls a 502 (their callers may
 *     repeat them), never a second run, record and charge elsewhere.
 *     (Retrying on empty-response would replay a GET or POST that the dead
 *     node had run: both methods call the function.)
 *
 * Kept current through the runtime API (mote_cluster_haproxy_follow, `mote
 * cluster haproxy-sync`), not reloads: a watch of the nodes' records, and
 * on each change `set server nodes/nK addr IP port P` + `state ready` for a
 * node that came (in a free slot), `state maint` for one that went. No
 * process restarts, no connection is dropped, the other slots' places on
 * the hash ring do not move. The price: at most HAPROXY_SLOTS nodes, and
 * nodes advertised by IP address (the runtime API sets addresses, not
 * names).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cluster/cluster_internal.h"

#define HAPROXY_SLOTS 32
#define HAPROXY_BACKEND "nodes"

/* "http://HOST:PORT" into host (an IP address) and port. */
static bool url_addr(const char *url, char host[64], unsigned *port) {
  const char *h = url + 7, *colon = strrchr(h, ':');
  if (strncmp(url, "http://", 7) != 0 || !colon || (size_t)(colon - h) >= 64) return false;
  snprintf(host, 64, "%.*s", (int)(colon - h), h);
  if (host[0] == '[') { /* [v6] */
    size_t n = strlen(host);
    if (n < 3 || host[n - 1] != ']') return false;
    memmove(host, host + 1, n - 2);
    host[n - 2] = '\0';
  }
  char *end;
  unsigned long p = strtoul(colon + 1, &end, 10);
  if (*end || p == 0 || p > 65535) return false;
  *port = (unsigned)p;
  struct in6_addr a6;
  struct in_addr a4;
  return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

mote_cluster_status mote_cluster_haproxy_config(mote_cluster_admin *a, const char *bind,
                                                const char *socket_path, char **text,
                                                mote_cluster_error *err) {
  *text = NULL;
  cl_node *nodes = NULL;
  int64_t rev = 0;
  size_t n = admin_nodes(a, &nodes, &rev, err);
  if (n == (size_t)-1) return err->status;
  char *buf = NULL;
  size_t size = 0;
  FILE *o = open_memstream(&buf, &size);
  if (!o) {
    free(nodes);
    err->status = MOTE_CLUSTER_FAILED;
    snprintf(err->message, sizeof err->message, "out of memory");
    return MOTE_CLUSTER_FAILED;
  }
  fprintf(o,
          "# haproxy.cfg of a mote cluster (mote cluster haproxy-config), the live nodes at\n"
          "# etcd revision %lld. Kept current by `mote cluster haproxy-sync --socket %s`\n"
          "# through the runtime API: nodes that come take a free slot, nodes that go are\n"
          "# put in maintenance.\n"
          "global\n"
          "    maxconn 4096\n"
          "    stats socket %s mode 600 level admin\n"
          "\n"
          "defaults\n"
          "    mode http\n"
          "    timeout connect 500ms\n"
          "    timeout client 60s\n"
          "    timeout server 3600s\n"
          "    timeout http-request 10s\n"
          "    timeout queue 10s\n"
          "    # a call that could not be sent to its node goes to another (its body is\n"
          "    # buffered for that); one that was sent is never sent again: at most once\n"
          "    option http-buffer-request\n"
          "    retries 3\n"
          "    retry-on conn-failure\n"
          "    option redispatch 1\n"
          "\n"
          "frontend mote\n"
          "    bind %s\n"
          "    default_backend " HAPROXY_BACKEND "\n"
          "\n"
          "backend " HAPROXY_BACKEND "\n"
          "    # /faas/NAME and /faas/NS/NAME (the path's first three levels, not the\n"
          "    # query): one node per function while it is up, and only a gone node's\n"
          "    # share moves\n"
          "    balance uri depth 3\n"
          "    hash-type consistent\n"
          "    option httpchk GET /healthz\n"
          "    http-check expect status 200\n"
          "    default-server check inter 200ms fastinter 100ms downinter 200ms rise 1 fall 2 "
          "observe layer4 error-limit 1 on-error mark-down\n",
          (long long)rev, socket_path, socket_path, bind);
  size_t slot = 0;
  for (size_t i = 0; i < n && slot < HAPROXY_SLOTS; i++) {
    char host[64];
    unsigned port;
    if (!url_addr(nodes[i].url, host, &port)) {
      fprintf(stderr, "mote cluster: node %s is advertised as %s: HAProxy wants an IP address; "
              "left out\n", nodes[i].name, nodes[i].url);
      continue;
    }
    fprintf(o, "    server n%zu %s%s%s:%u  # %s\n", ++slot, strchr(host, ':') ? "[" : "", host,
            strchr(host, ':') ? "]" : "", port, nodes[i].name);
  }
  while (slot < HAPROXY_SLOTS) fprintf(o, "    server n%zu 127.0.0.1:1 disabled\n", ++slot);
  free(nodes);
  if (fclose(o) != 0) {
    free(buf);
    err->status = MOTE_CLUSTER_FAILED;
    snprintf(err->message, sizeof err->message, "out of memory");
    return MOTE_CLUSTER_FAILED;
  }
  *text = buf;
  return MOTE_CLUSTER_OK;
}

/* ---- the runtime API ------------------------------------------------------------------ */

/* One command on the socket: its answer (from malloc), or NULL with err. */
static char *command(const char *socket_path, const char *cmd, mote_cluster_error *err) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    err->status = MOTE_CLUSTER_UNAVAILABLE;
    snprintf(err->message, sizeof err->message, "HAProxy's runtime API at %s: %s", socket_path,
             strerror(errno));
    if (fd >= 0) close(fd);
    return NULL;
  }
  size_t len = strlen(cmd);
  char line[512];
  snprintf(line, sizeof line, "%s\n", cmd);
  bool ok = write(fd, line, len + 1) == (ssize_t)(len + 1);
  char *out = NULL;
  size_t size = 0;
  FILE *o = open_memstream(&out, &size);
  char buf[4096];
  ssize_t got;
  while (ok && o && (got = read(fd, buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)got, o);
  close(fd);
  if (o) fclose(o);
  if (!ok || !out) {
    free(out);
    err->status = MOTE_CLUSTER_FAILED;
    snprintf(err->message, sizeof err->message, "HAProxy's runtime API: the command failed");
    return NULL;
  }
  return out;
}

typedef struct slot {
  char addr[64];
  unsigned port;
  bool maint;
} slot;

/* The slots as HAProxy has them (show servers state, format 1: srv_name 4th,
 * srv_addr 5th, srv_admin_state 7th, srv_port 19th field). */
static bool read_slots(const char *socket_path, slot slots[HAPROXY_SLOTS], mote_cluster_error *err) {
  char *state = command(socket_path, "show servers state " HAPROXY_BACKEND, err);
  if (!state) return false;
  memset(slots, 0, HAPROXY_SLOTS * sizeof *slots);
  char *save = NULL;
  for (char *line = strtok_r(state, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (line[0] < '0' || line[0] > '9') continue;
    char *f[20] = {0}, *s2 = NULL;
    int k = 0;
    for (char *t = strtok_r(line, " ", &s2); t && k < 20; t = strtok_r(NULL, " ", &s2)) f[k++] = t;
    if (k < 19 || f[3][0] != 'n') continue;
    unsigned long i = strtoul(f[3] + 1, NULL, 10);
    if (i < 1 || i > HAPROXY_SLOTS) continue;
    slot *sl = &slots[i - 1];
    snprintf(sl->addr, sizeof sl->addr, "%s", f[4]);
    sl->port = (unsigned)strtoul(f[18], NULL, 10);
    sl->maint = strtoul(f[6], NULL, 10) & 1; /* SRV_ADMF_FMAINT */
  }
  free(state);
  return true;
}

/* Makes the slots serve exactly the live nodes. */
static bool sync_slots(const char *socket_path, const cl_node *nodes, size_t n, FILE *log,
                       mote_cluster_error *err) {
  slot slots[HAPROXY_SLOTS];
  if (!read_slots(socket_path, slots, err)) return false;
  bool used[HAPROXY_SLOTS] = {0};
  char cmd[256];
  for (size_t i = 0; i < n; i++) {
    char host[64];
    unsigned port;
    if (!url_addr(nodes[i].url, host, &port)) continue;
    int at = -1, free_slot = -1;
    for (int s = 0; s < HAPROXY_SLOTS; s++) {
      if (!strcmp(slots[s].addr, host) && slots[s].port == port) at = s;
      else if (free_slot < 0 && !used[s] && slots[s].maint) free_slot = s;
    }
    if (at < 0 && free_slot < 0) {
      if (log) fprintf(log, "mote cluster: no free slot for node %s\n", nodes[i].name);
      continue;
    }
    if (at < 0) {
      at = free_slot;
      snprintf(cmd, sizeof cmd, "set server " HAPROXY_BACKEND "/n%d addr %s port %u", at + 1,
               host, port);
      free(command(socket_path, cmd, err));
      snprintf(slots[at].addr, sizeof slots[at].addr, "%s", host);
      slots[at].port = port;
    }
    used[at] = true;
    if (slots[at].maint) {
      snprintf(cmd, sizeof cmd, "set server " HAPROXY_BACKEND "/n%d state ready", at + 1);
      free(command(socket_path, cmd, err));
      if (log) fprintf(log, "mote cluster: node %s (%s) in slot n%d\n", nodes[i].name,
                       nodes[i].url, at + 1);
    }
  }
  for (int s = 0; s < HAPROXY_SLOTS; s++)
    if (!used[s] && !slots[s].maint) {
      snprintf(cmd, sizeof cmd, "set server " HAPROXY_BACKEND "/n%d state maint", s + 1);
      free(command(socket_path, cmd, err));
      if (log) fprintf(log, "mote cluster: slot n%d (%s:%u) gone, in maintenance\n", s + 1,
                       slots[s].addr, slots[s].port);
    }
  if (log) fflush(log);
  return true;
}

typedef struct follow_ctx {
  bool changed;
} follow_ctx;

static bool on_nodes(void *ctx, const etcd_event *ev, size_t n, int64_t rev) {
  (void)rev;
  follow_ctx *f = ctx;
  for (size_t i = 0; i < n; i++)
    if (!strncmp(ev[i].kv.key, CL_PREFIX "nodes/", strlen(CL_PREFIX "nodes/")) ||
        !strncmp(ev[i].kv.key, CL_PREFIX "drain/", strlen(CL_PREFIX "drain/")))
      f->changed = true;
  return !f->changed; /* a change ends the watch: the slots are made again */
}

mote_cluster_status mote_cluster_haproxy_follow(mote_cluster_admin *a, const char *socket_path,
                                                const volatile bool *stop, FILE *log,
                                                mote_cluster_error *err) {
  while (!*stop) {
    cl_node *nodes = NULL;
    int64_t rev = 0;
    size_t n = admin_nodes(a, &nodes, &rev, err);
    if (n != (size_t)-1) {
      if (!sync_slots(socket_path, nodes, n, log, err) && log)
        fprintf(log, "mote cluster: %s\n", err->message);
      free(nodes);
      follow_ctx f = {0};
      int64_t last;
      etcd_watch(admin_etcd(a), CL_PREFIX, rev + 1, on_nodes, &f, stop, &last);
      if (f.changed) continue;
    } else if (log) {
      fprintf(log, "mote cluster: %s\n", err->message);
    }
    usleep(500000); /* etcd or HAProxy away: again in a moment */
  }
  return MOTE_CLUSTER_OK;
}
