/*
 * `mote cluster status|drain NODE|undrain NODE|haproxy-config|haproxy-sync`:
 * a cluster's records in its etcd (src/cluster/admin.c, haproxy.c), with no
 * node needed. The cluster is --cluster URL, else $MOTE_CLUSTER.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cluster/cluster.h"

static void usage(FILE *out) {
  fputs("usage: mote cluster status [--cluster URL]\n"
        "       mote cluster drain NODE [--cluster URL]\n"
        "       mote cluster undrain NODE [--cluster URL]\n"
        "       mote cluster haproxy-config [--bind HOST:PORT] [--socket PATH] [--out FILE]\n"
        "                                   [--cluster URL]\n"
        "       mote cluster haproxy-sync --socket PATH [--cluster URL]\n"
        "\n"
        "The nodes of `mote serve --cluster URL --node NAME` are one platform; these verbs\n"
        "work on the cluster's records in its etcd (URL: http://H:P[,http://H2:P2...], or\n"
        "$MOTE_CLUSTER). Keys and namespaces: mote keys / mote namespaces --cluster URL.\n"
        "\n"
        "  status          the live nodes (drained or not) and the functions, each with the\n"
        "                  nodes placed to serve it (JSON)\n"
        "  drain NODE      NODE serves nothing new: its functions go to other nodes, and its\n"
        "                  /healthz answers 503, so HAProxy sends it no more calls; calls that\n"
        "                  reach it are passed on. Before maintenance.\n"
        "  undrain NODE    NODE serves again\n"
        "  haproxy-config  a haproxy.cfg for the live nodes (stdout, or --out FILE): listens\n"
        "                  on --bind (default 127.0.0.1:8080), health checks on /healthz take\n"
        "                  a node out within a second, balance uri with consistent hashing\n"
        "                  on /faas/NAME, the runtime API on --socket (default\n"
        "                  /tmp/mote-haproxy.sock)\n"
        "  haproxy-sync    keeps that HAProxy's servers the live nodes through its runtime\n"
        "                  API, at each change of the nodes (runs until SIGINT or SIGTERM)\n"
        "\n"
        "exit status: 0; 64 bad command line; 71 no such node; 75 etcd does not answer.\n",
        out);
}

static int fail(const mote_cluster_error *err) {
  fprintf(stderr, "mote cluster: %s\n", err->message);
  switch (err->status) {
  case MOTE_CLUSTER_NOT_FOUND: return MOTE_EXIT_NOT_FOUND;
  case MOTE_CLUSTER_INVALID: return MOTE_EXIT_USAGE;
  case MOTE_CLUSTER_UNAVAILABLE: return MOTE_EXIT_UNREACHABLE;
  default: return MOTE_EXIT_IO;
  }
}

static volatile bool stop;
static void on_signal(int sig) {
  (void)sig;
  stop = true;
}

int mote_cmd_cluster(int argc, char **argv) {
  const char *cluster = getenv("MOTE_CLUSTER"), *bind = "127.0.0.1:8080";
  const char *socket = "/tmp/mote-haproxy.sock", *out = NULL, *verb = NULL, *node = NULL;
  bool socket_given = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    const char **opt = !strcmp(a, "--cluster") ? &cluster : !strcmp(a, "--bind") ? &bind
                       : !strcmp(a, "--socket") ? &socket : !strcmp(a, "--out") ? &out : NULL;
    if (opt) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "mote cluster: %s needs a value\n", a);
        return MOTE_EXIT_USAGE;
      }
      *opt = argv[++i];
      socket_given |= opt == &socket;
      continue;
    }
    if (a[0] == '-' || (verb && node)) {
      fprintf(stderr, "mote cluster: %s \"%s\" (see mote cluster --help)\n",
              a[0] == '-' ? "unknown option" : "extra word", a);
      return MOTE_EXIT_USAGE;
    }
    if (!verb) verb = a;
    else node = a;
  }
  if (!verb) {
    usage(stderr);
    return MOTE_EXIT_USAGE;
  }
  bool drain = !strcmp(verb, "drain"), undrain = !strcmp(verb, "undrain");
  bool known = drain || undrain || !strcmp(verb, "status") || !strcmp(verb, "haproxy-config") ||
               !strcmp(verb, "haproxy-sync");
  if (!known) {
    fprintf(stderr, "mote cluster: unknown verb \"%s\" (status, drain, undrain, haproxy-config, "
            "haproxy-sync)\n", verb);
    return MOTE_EXIT_USAGE;
  }
  if ((drain || undrain) != (node != NULL)) {
    fprintf(stderr, "mote cluster: %s\n", node ? "only drain and undrain take a node"
                                               : "which node? (mote cluster status lists them)");
    return MOTE_EXIT_USAGE;
  }
  if (!strcmp(verb, "haproxy-sync") && !socket_given) {
    fprintf(stderr, "mote cluster haproxy-sync: --socket PATH, HAProxy's runtime API\n");
    return MOTE_EXIT_USAGE;
  }
  if (!cluster) {
    fprintf(stderr, "mote cluster: which cluster? --cluster http://HOST:PORT (its etcd), or "
            "MOTE_CLUSTER\n");
    return MOTE_EXIT_USAGE;
  }
  mote_cluster_error err;
  mote_cluster_admin *a = mote_cluster_admin_new(cluster, &err);
  if (!a) return fail(&err);
  int rc = 0;
  mote_cluster_status st = MOTE_CLUSTER_OK;
  if (drain || undrain) {
    if ((st = mote_cluster_drain(a, node, drain, &err)) == MOTE_CLUSTER_OK)
      printf("node %s %s\n", node, drain ? "drained: it serves nothing new" : "serves again");
  } else if (!strcmp(verb, "status")) {
    char *json = NULL;
    if ((st = mote_cluster_status_json(a, &json, &err)) == MOTE_CLUSTER_OK) printf("%s\n", json);
    free(json);
  } else if (!strcmp(verb, "haproxy-config")) {
    char *text = NULL;
    if ((st = mote_cluster_haproxy_config(a, bind, socket, &text, &err)) == MOTE_CLUSTER_OK) {
      FILE *f = out ? fopen(out, "w") : stdout;
      if (!f || fputs(text, f) < 0 || (out && fclose(f) != 0)) {
        fprintf(stderr, "mote cluster: cannot write %s\n", out ? out : "stdout");
        rc = MOTE_EXIT_IO;
      }
    }
    free(text);
  } else { /* haproxy-sync */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    fprintf(stderr, "mote cluster: keeping HAProxy (%s) on the live nodes\n", socket);
    st = mote_cluster_haproxy_follow(a, socket, &stop, stderr, &err);
  }
  mote_cluster_admin_free(a);
  if (st != MOTE_CLUSTER_OK) return fail(&err);
  return rc;
}
