/* Helpers of the cluster's tests: a real etcd member (etcd-server, from
 * scripts/deps.sh) on loopback, on free ports, with a temporary data
 * directory; never the system's service. */
#ifndef MOTE_TEST_ETCD_FIXTURE_H
#define MOTE_TEST_ETCD_FIXTURE_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cluster/etcd.h"
#include "test.h"

typedef struct fixture_etcd {
  pid_t pid;
  char dir[64];
  char url[64]; /* http://127.0.0.1:PORT */
} fixture_etcd;

/* A port the kernel says is free now (bound and released). */
static inline int fixture_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    if (fd >= 0) close(fd);
    return -1;
  }
  close(fd);
  return ntohs(a.sin_port);
}

/* Starts a one-member etcd and waits (up to 60 s, only against a hang) until
 * it answers a range. False, with the test failed, when it does not. */
static inline bool fixture_etcd_start(fixture_etcd *f) {
  memset(f, 0, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/mote-etcd-XXXXXX");
  if (!mkdtemp(f->dir)) return false;
  int cport = fixture_free_port(), pport = fixture_free_port();
  char client[64], peer[64], data[96], cluster[96], log[96];
  snprintf(client, sizeof client, "http://127.0.0.1:%d", cport);
  snprintf(peer, sizeof peer, "http://127.0.0.1:%d", pport);
  snprintf(data, sizeof data, "%s/data", f->dir);
  snprintf(cluster, sizeof cluster, "t=%s", peer);
  snprintf(log, sizeof log, "%s/etcd.log", f->dir);
  snprintf(f->url, sizeof f->url, "%s", client);
  f->pid = fork();
  if (f->pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execlp("etcd", "etcd", "--name", "t", "--data-dir", data, "--listen-client-urls", client,
           "--advertise-client-urls", client, "--listen-peer-urls", peer,
           "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
           "--initial-cluster-state", "new", (char *)NULL);
    _exit(127);
  }
  char msg[256];
  etcd *e = etcd_new(f->url, msg, sizeof msg);
  bool up = false;
  for (time_t until = time(NULL) + 60; e && !up && time(NULL) < until;) {
    etcd_kv kv;
    bool found;
    up = etcd_get(e, "probe", &kv, &found, NULL) == ETCD_OK;
    if (!up) {
      if (waitpid(f->pid, NULL, WNOHANG) == f->pid) break; /* it died */
      usleep(50000);
    }
  }
  etcd_free(e);
  CHECK_MSG(up, "etcd did not come up (is etcd-server installed? scripts/deps.sh)");
  return up;
}

static inline void fixture_etcd_stop(fixture_etcd *f) {
  if (f->pid > 0) {
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
  }
  f->pid = 0;
  if (f->dir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", f->dir);
  }
}

#endif
