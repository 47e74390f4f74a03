/*
 * `mote keys create|list|delete` and `mote namespaces`: API keys and their
 * namespaces, worked on in the data directory's store itself, not through
 * a server. SQLite's WAL lets them run beside a `mote serve` on the same
 * directory; that server notices a deleted key within its cache's lifetime
 * (5 s, see src/core/identity.c), at once for a new one.
 *
 * With --cluster URL they work on a cluster's records in its etcd instead
 * (src/cluster/admin.c): every node of the cluster applies the change at
 * once, a deleted key included.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli/client.h"
#include "cluster/cluster.h"
#include "store/store.h"

static void keys_usage(FILE *out) {
  fputs("usage: mote keys create NS [--data DIR | --cluster URL]\n"
        "       mote keys list [NS] [--data DIR | --cluster URL]\n"
        "       mote keys delete UUID [--data DIR | --cluster URL]\n"
        "\n"
        "API keys: OpenWhisk's credentials UUID:KEY, each bound to one namespace, sent as\n"
        "HTTP basic auth (wsk --auth UUID:KEY, or curl -u UUID:KEY).\n"
        "\n"
        "  create NS     makes a key for namespace NS (created if missing; 1 to 64 of\n"
        "                A-Z a-z 0-9 _ . -) and prints UUID:KEY. Only a hash of KEY is\n"
        "                stored: this is the one time it can be seen, keep it.\n"
        "  list [NS]     the keys (of NS, or all): uuid, namespace, creation time; never\n"
        "                the secret\n"
        "  delete UUID   removes a key; a server running on DIR refuses it within 5 s\n"
        "\n"
        "  --data DIR    the server's data directory (default ./" MOTE_DEFAULT_DATA_DIR ")\n"
        "  --cluster URL the cluster whose etcd answers at URL (http://H:P[,...]): its\n"
        "                records, which every node applies at once\n"
        "\n"
        "These work on DIR directly, also while `mote serve --data DIR` runs.\n"
        "See also `mote namespaces`. The server wants a key on every /v1 route and for\n"
        "calls of functions not deployed public; a key's namespace sees only its own\n"
        "functions and activations (mote --help).\n"
        "\n"
        "exit status: 0; 64 bad command line or name; 71 no such key; 74 the data\n"
        "directory cannot be used; 75 the cluster's etcd does not answer.\n",
        out);
}

static void namespaces_usage(FILE *out) {
  fputs("usage: mote namespaces [--data DIR | --cluster URL]\n"
        "       mote namespaces limits NS [--per-minute N] [--concurrent N]\n"
        "                              [--data DIR | --cluster URL]\n"
        "\n"
        "Lists the namespaces of the data directory DIR (default ./" MOTE_DEFAULT_DATA_DIR ")\n"
        "with how many keys each has and its limits. `mote keys create NS` makes one.\n"
        "\n"
        "`limits` shows or sets a namespace's invocation limits: calls admitted in the last\n"
        "minute, and calls running or waiting at once; past them the server answers 429.\n"
        "0 (or none set) means the server's defaults (mote serve\n"
        "--ns-invocations-per-minute, --ns-concurrent). A running server applies a change\n"
        "within 5 s. With --cluster URL, the cluster's namespaces: a limit holds for the\n"
        "whole cluster (each live node takes its share), and every node applies it at once.\n"
        "\n"
        "exit status: 0; 64 bad command line; 74 the data directory cannot be used; 75 the\n"
        "cluster's etcd does not answer.\n",
        out);
}

/* Parses [--data DIR] and up to `max_pos` words into pos[]. Returns -1 to
 * go on, else the exit status (0 after --help). */
static int parse(const char *verb, int argc, char **argv, const char **data,
                 const char **cluster, const char **pos, int max_pos, int *npos,
                 void (*usage)(FILE *)) {
  *npos = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(a, "--data")) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "mote %s: --data needs a directory\n", verb);
        return MOTE_EXIT_USAGE;
      }
      *data = argv[++i];
      continue;
    }
    if (!strcmp(a, "--cluster")) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "mote %s: --cluster needs etcd's URL, http://HOST:PORT[,...]\n", verb);
        return MOTE_EXIT_USAGE;
      }
      *cluster = argv[++i];
      continue;
    }
    if (a[0] == '-' || *npos == max_pos) {
      fprintf(stderr, "mote %s: %s \"%s\"\n", verb, a[0] == '-' ? "unknown option" : "extra word",
              a);
      usage(stderr);
      return MOTE_EXIT_USAGE;
    }
    pos[(*npos)++] = a;
  }
  return -1;
}

/* Opens the store of `dir`. Only `create` may make a new data directory:
 * listing or deleting in a mistyped path should say so, not leave an empty
 * directory behind. NULL after a message. */
static mote_store *open_store(const char *verb, const char *dir, bool create, int *rc) {
  char db[4200];
  snprintf(db, sizeof db, "%s/mote.db", dir);
  struct stat sb;
  if (!create && stat(db, &sb) != 0) {
    fprintf(stderr, "mote %s: %s is not a data directory of mote (no mote.db); give the one of "
            "`mote serve` with --data DIR\n", verb, dir);
    *rc = MOTE_EXIT_IO;
    return NULL;
  }
  mote_store *s = NULL;
  mote_store_error err;
  if (mote_store_open(dir, &s, &err) != MOTE_STORE_OK) {
    fprintf(stderr, "mote %s: %s\n", verb, err.message);
    *rc = MOTE_EXIT_IO;
    return NULL;
  }
  return s;
}

static int store_exit(mote_store_status st) {
  switch (st) {
  case MOTE_STORE_OK: return 0;
  case MOTE_STORE_NOT_FOUND: return MOTE_EXIT_NOT_FOUND;
  case MOTE_STORE_INVALID: return MOTE_EXIT_USAGE;
  default: return MOTE_EXIT_IO;
  }
}

/* The cluster's records, or NULL after a message. */
static mote_cluster_admin *open_cluster(const char *verb, const char *url, int *rc) {
  mote_cluster_error err;
  mote_cluster_admin *a = mote_cluster_admin_new(url, &err);
  if (!a) {
    fprintf(stderr, "mote %s: %s\n", verb, err.message);
    *rc = MOTE_EXIT_USAGE;
  }
  return a;
}

static int cluster_exit(const char *verb, const mote_cluster_error *err) {
  fprintf(stderr, "mote %s: %s\n", verb, err->message);
  switch (err->status) {
  case MOTE_CLUSTER_OK: return 0;
  case MOTE_CLUSTER_NOT_FOUND: return MOTE_EXIT_NOT_FOUND;
  case MOTE_CLUSTER_INVALID: return MOTE_EXIT_USAGE;
  case MOTE_CLUSTER_UNAVAILABLE: return MOTE_EXIT_UNREACHABLE;
  default: return MOTE_EXIT_IO;
  }
}

/* Unix milliseconds as "2024-05-01 12:00:00" (UTC). */
static void utc_time(char *buf, size_t cap, int64_t ms) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (!gmtime_r(&t, &tm) || !strftime(buf, cap, "%Y-%m-%d %H:%M:%S", &tm))
    snprintf(buf, cap, "-");
}

static int keys_create(const char *dir, const char *cluster, const char *ns) {
  int rc = 0;
  if (!mote_store_valid_name(ns)) {
    fprintf(stderr, "mote keys create: invalid namespace \"%s\": use 1 to 64 characters of "
            "A-Z a-z 0-9 _ . -, not starting with '.' or '-'\n", ns);
    return MOTE_EXIT_USAGE;
  }
  char uuid[MOTE_STORE_UUID_LEN + 1], key[MOTE_STORE_KEY_LEN + 1];
  if (cluster) {
    mote_cluster_admin *a = open_cluster("keys create", cluster, &rc);
    if (!a) return rc;
    mote_cluster_error cerr;
    mote_cluster_status cst = mote_cluster_key_create(a, ns, uuid, key, &cerr);
    mote_cluster_admin_free(a);
    if (cst != MOTE_CLUSTER_OK) return cluster_exit("keys create", &cerr);
  } else {
    mote_store *s = open_store("keys create", dir, true, &rc);
    if (!s) return rc;
    mote_store_error err;
    mote_store_status st = mote_store_key_create(s, ns, NULL, NULL, uuid, key, &err);
    mote_store_close(s);
    if (st != MOTE_STORE_OK) {
      fprintf(stderr, "mote keys create: %s\n", err.message);
      return store_exit(st);
    }
  }
  printf("%s:%s\n", uuid, key);
  fflush(stdout);
  if (isatty(STDERR_FILENO))
    fprintf(stderr, "mote keys: a key of namespace %s; this is the only time it is shown\n", ns);
  return 0;
}

static int keys_list(const char *dir, const char *cluster, const char *ns) {
  int rc = 0;
  if (ns && !mote_store_valid_name(ns)) {
    fprintf(stderr, "mote keys list: invalid namespace \"%s\"\n", ns);
    return MOTE_EXIT_USAGE;
  }
  mote_key_info *keys = NULL;
  size_t n = 0;
  if (cluster) {
    mote_cluster_admin *a = open_cluster("keys list", cluster, &rc);
    if (!a) return rc;
    mote_cluster_error cerr;
    mote_cluster_status cst = mote_cluster_key_list(a, ns, &keys, &n, &cerr);
    mote_cluster_admin_free(a);
    if (cst != MOTE_CLUSTER_OK) return cluster_exit("keys list", &cerr);
  } else {
    mote_store *s = open_store("keys list", dir, false, &rc);
    if (!s) return rc;
    mote_store_error err;
    mote_store_status st = mote_store_key_list(s, ns, &keys, &n, &err);
    mote_store_close(s);
    if (st != MOTE_STORE_OK) {
      fprintf(stderr, "mote keys list: %s\n", err.message);
      return store_exit(st);
    }
  }
  static const char *const header[] = {"UUID", "NAMESPACE", "CREATED (UTC)"};
  mote_table *t = mote_table_new(3, header);
  for (size_t i = 0; i < n; i++) {
    char when[32];
    utc_time(when, sizeof when, keys[i].created_ms);
    const char *row[] = {keys[i].uuid, keys[i].ns, when};
    mote_table_add(t, row);
  }
  mote_table_print(t, stdout);
  mote_table_free(t);
  if (n == 0 && isatty(STDERR_FILENO))
    fprintf(stderr, "mote keys list: no keys%s%s (mote keys create NS)\n", ns ? " in " : "",
            ns ? ns : "");
  free(keys);
  return 0;
}

static int keys_delete(const char *dir, const char *cluster, const char *uuid) {
  int rc = 0;
  if (cluster) {
    mote_cluster_admin *a = open_cluster("keys delete", cluster, &rc);
    if (!a) return rc;
    mote_cluster_error cerr;
    mote_cluster_status cst = mote_cluster_key_delete(a, uuid, &cerr);
    mote_cluster_admin_free(a);
    if (cst != MOTE_CLUSTER_OK) return cluster_exit("keys delete", &cerr);
    printf("deleted key %s\n", uuid);
    return 0;
  }
  mote_store *s = open_store("keys delete", dir, false, &rc);
  if (!s) return rc;
  mote_store_error err;
  mote_store_status st = mote_store_key_delete(s, uuid, &err);
  mote_store_close(s);
  if (st != MOTE_STORE_OK) {
    fprintf(stderr, "mote keys delete: %s (see mote keys list)\n", err.message);
    return store_exit(st);
  }
  printf("deleted key %s\n", uuid);
  return 0;
}

int mote_cmd_keys(int argc, char **argv) {
  const char *dir = MOTE_DEFAULT_DATA_DIR, *cluster = NULL;
  const char *pos[2];
  int npos;
  int rc = parse("keys", argc, argv, &dir, &cluster, pos, 2, &npos, keys_usage);
  if (rc >= 0) return rc;
  const char *sub = npos > 0 ? pos[0] : "";
  if (!strcmp(sub, "create") && npos == 2) return keys_create(dir, cluster, pos[1]);
  if (!strcmp(sub, "list")) return keys_list(dir, cluster, npos == 2 ? pos[1] : NULL);
  if (!strcmp(sub, "delete") && npos == 2) return keys_delete(dir, cluster, pos[1]);
  if (!strcmp(sub, "create") || !strcmp(sub, "delete"))
    fprintf(stderr, "mote keys %s: needs %s (see mote keys --help)\n", sub,
            sub[0] == 'c' ? "the namespace NS" : "the UUID of a key");
  else if (npos == 0)
    fprintf(stderr, "mote keys: needs create, list or delete (see mote keys --help)\n");
  else
    fprintf(stderr, "mote keys: unknown subcommand \"%s\" (create, list or delete)\n", sub);
  return MOTE_EXIT_USAGE;
}

/* Prints a limit: its value, or "default". */
static void limit_text(uint32_t v, char *buf, size_t cap) {
  if (v) snprintf(buf, cap, "%u", v);
  else snprintf(buf, cap, "default");
}

/* `mote namespaces limits NS [--per-minute N] [--concurrent N]`. */
static int namespace_limits(int argc, char **argv) {
  const char *dir = MOTE_DEFAULT_DATA_DIR, *ns = NULL, *cluster = NULL;
  long per_minute = -1, concurrent = -1; /* -1: unchanged */
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      namespaces_usage(stdout);
      return 0;
    }
    bool pm = !strcmp(a, "--per-minute"), cc = !strcmp(a, "--concurrent");
    bool cl = !strcmp(a, "--cluster");
    if (pm || cc || cl || !strcmp(a, "--data")) {
      if (i + 1 >= argc || !argv[i + 1][0]) {
        fprintf(stderr, "mote namespaces limits: %s needs a value\n", a);
        return MOTE_EXIT_USAGE;
      }
      const char *v = argv[++i];
      if (cl) {
        cluster = v;
        continue;
      }
      if (!pm && !cc) {
        dir = v;
        continue;
      }
      char *end;
      errno = 0;
      long n = strtol(v, &end, 10);
      if (errno || end == v || *end || n < 0 || n > 100000000) {
        fprintf(stderr, "mote namespaces limits: %s takes a count between 0 (the server's "
                "default) and 100000000\n", a);
        return MOTE_EXIT_USAGE;
      }
      if (pm) per_minute = n;
      else concurrent = n;
      continue;
    }
    if (a[0] == '-' || ns) {
      fprintf(stderr, "mote namespaces limits: %s \"%s\"\n",
              a[0] == '-' ? "unknown option" : "extra word", a);
      return MOTE_EXIT_USAGE;
    }
    ns = a;
  }
  if (!ns) {
    fprintf(stderr, "mote namespaces limits: which namespace? (mote namespaces lists them)\n");
    return MOTE_EXIT_USAGE;
  }
  int rc = 0;
  mote_namespace_limits lim;
  if (cluster) {
    mote_cluster_admin *a = open_cluster("namespaces limits", cluster, &rc);
    if (!a) return rc;
    mote_cluster_error cerr;
    mote_cluster_status cst = mote_cluster_limits_get(a, ns, &lim, &cerr);
    if (cst == MOTE_CLUSTER_OK && (per_minute >= 0 || concurrent >= 0)) {
      if (per_minute >= 0) lim.invocations_per_minute = (uint32_t)per_minute;
      if (concurrent >= 0) lim.concurrent = (uint32_t)concurrent;
      cst = mote_cluster_limits_set(a, ns, &lim, &cerr);
    }
    mote_cluster_admin_free(a);
    if (cst != MOTE_CLUSTER_OK) return cluster_exit("namespaces limits", &cerr);
    char x[24], y[24];
    limit_text(lim.invocations_per_minute, x, sizeof x);
    limit_text(lim.concurrent, y, sizeof y);
    printf("%s: invocations per minute %s, concurrent %s (for the whole cluster)\n", ns, x, y);
    return 0;
  }
  mote_store *s = open_store("namespaces limits", dir, false, &rc);
  if (!s) return rc;
  mote_store_error err;
  mote_store_status st = mote_store_namespace_limits_get(s, ns, &lim, &err);
  if (st == MOTE_STORE_OK && (per_minute >= 0 || concurrent >= 0)) {
    if (per_minute >= 0) lim.invocations_per_minute = (uint32_t)per_minute;
    if (concurrent >= 0) lim.concurrent = (uint32_t)concurrent;
    st = mote_store_namespace_limits_set(s, ns, &lim, &err);
  }
  mote_store_close(s);
  if (st != MOTE_STORE_OK) {
    fprintf(stderr, "mote namespaces limits: %s\n", err.message);
    return store_exit(st);
  }
  char a[24], b[24];
  limit_text(lim.invocations_per_minute, a, sizeof a);
  limit_text(lim.concurrent, b, sizeof b);
  printf("%s: invocations per minute %s, concurrent %s\n", ns, a, b);
  return 0;
}

/* The table of `mote namespaces`, one row a namespace. */
static void namespace_row(mote_table *t, const char *name, size_t keys,
                          const mote_namespace_limits *lim, int64_t created_ms) {
  char when[32], num[24], pm[24], cc[24];
  utc_time(when, sizeof when, created_ms);
  snprintf(num, sizeof num, "%zu", keys);
  limit_text(lim->invocations_per_minute, pm, sizeof pm);
  limit_text(lim->concurrent, cc, sizeof cc);
  const char *row[] = {name, num, pm, cc, when};
  mote_table_add(t, row);
}

static const char *const namespace_header[] = {"NAME", "KEYS", "PER MINUTE", "CONCURRENT",
                                               "CREATED (UTC)"};

static int namespaces_of_cluster(const char *cluster) {
  int rc = 0;
  mote_cluster_admin *a = open_cluster("namespaces", cluster, &rc);
  if (!a) return rc;
  mote_cluster_ns *list = NULL;
  size_t n = 0;
  mote_cluster_error cerr;
  mote_cluster_status cst = mote_cluster_namespace_list(a, &list, &n, &cerr);
  mote_cluster_admin_free(a);
  if (cst != MOTE_CLUSTER_OK) return cluster_exit("namespaces", &cerr);
  mote_table *t = mote_table_new(5, namespace_header);
  for (size_t i = 0; i < n; i++)
    namespace_row(t, list[i].ns.name, list[i].keys, &list[i].limits, list[i].ns.created_ms);
  mote_table_print(t, stdout);
  mote_table_free(t);
  free(list);
  return 0;
}

int mote_cmd_namespaces(int argc, char **argv) {
  if (argc > 1 && !strcmp(argv[1], "limits")) return namespace_limits(argc, argv);
  const char *dir = MOTE_DEFAULT_DATA_DIR, *cluster = NULL;
  const char *pos[1];
  int npos;
  int rc = parse("namespaces", argc, argv, &dir, &cluster, pos, 0, &npos, namespaces_usage);
  if (rc >= 0) return rc;
  if (cluster) return namespaces_of_cluster(cluster);
  mote_store *s = open_store("namespaces", dir, false, &rc);
  if (!s) return rc;
  mote_namespace *nss = NULL;
  mote_key_info *keys = NULL;
  size_t n = 0, nkeys = 0;
  mote_store_error err;
  mote_store_status st = mote_store_namespace_list(s, &nss, &n, &err);
  if (st == MOTE_STORE_OK) st = mote_store_key_list(s, NULL, &keys, &nkeys, &err);
  if (st != MOTE_STORE_OK) {
    mote_store_close(s);
    fprintf(stderr, "mote namespaces: %s\n", err.message);
    free(nss);
    return store_exit(st);
  }
  mote_table *t = mote_table_new(5, namespace_header);
  for (size_t i = 0; i < n; i++) {
    size_t count = 0;
    for (size_t k = 0; k < nkeys; k++) count += strcmp(keys[k].ns, nss[i].name) == 0;
    mote_namespace_limits lim = {0};
    if (mote_store_namespace_limits_get(s, nss[i].name, &lim, &err) != MOTE_STORE_OK)
      memset(&lim, 0, sizeof lim);
    namespace_row(t, nss[i].name, count, &lim, nss[i].created_ms);
  }
  mote_store_close(s);
  mote_table_print(t, stdout);
  mote_table_free(t);
  if (n == 0 && isatty(STDERR_FILENO))
    fprintf(stderr, "mote namespaces: none yet (mote keys create NS)\n");
  free(nss);
  free(keys);
  return 0;
}
