/*
 * `mote serve`: the HTTP server (src/server/server.h) in the foreground.
 *
 * SIGINT and SIGTERM are blocked in every thread and taken by sigwait here,
 * so no server thread is interrupted by them; on either, the server stops
 * accepting, lets calls in flight finish and exits 0.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "server/server.h"

/* The operator's address by default: loopback, where a Prometheus on the
 * host (or an agent beside it) scrapes it, on OpenTelemetry's Prometheus
 * exporter port. */
#define SERVE_METRICS_DEFAULT_HOST "127.0.0.1"
#define SERVE_METRICS_DEFAULT_PORT 9464
#define SERVE_METRICS_DEFAULT_PORT_TEXT "9464"

static void usage(FILE *out) {
  fputs("usage: mote serve [--listen HOST:PORT] [--metrics-listen HOST:PORT|off]\n"
        "                  [--data DIR] [--workers N] [--queue N]\n"
        "                  [--queue-timeout MS] [--access-log FILE|-] [--dev]\n"
        "                  [--ns-invocations-per-minute N] [--ns-concurrent N]\n"
        "                  [--images auto|copy|map|map-drop] [--no-kept-snapshots]\n"
        "                  [--max-connections N] [--max-connections-per-client N]\n"
        "                  [--head-timeout MS] [--instances N] [--cpu-quantum MS]\n"
        "                  [--response-budget MIB]\n"
        "                  [--init-memory MIB]\n"
        "                  [--cluster http://E1[,http://E2...] --node NAME [--advertise URL]\n"
        "                   [--no-peer-objects]]\n"
        "\n"
        "Serves functions over HTTP/1.1 (keep-alive):\n"
        "  PUT    /v1/functions/NAME?memory=MIB&timeout=MS&env=K=V&concurrency=N&max_queue=N\n"
        "         &public=true&cgi=true\n"
        "         body: the .wasm module, Content-Type: application/wasm, or a bundle\n"
        "         (application/gzip, x-tar, zip) holding main.wasm and the function's own\n"
        "         files, which its calls read at \"/\" (read-only)\n"
        "  GET    /v1/functions, /v1/functions/NAME     DELETE /v1/functions/NAME\n"
        "  GET|POST /faas/NAME?arg=A&arg=B   body -> stdin, stdout -> response; NAME of the\n"
        "         key's namespace, of guest without a key; /faas/NS/NAME: one of namespace NS\n"
        "  GET    /v1/activations?function=NAME&limit=N&since=MS, /v1/activations/ID\n"
        "  GET    /v1/usage, /v1/metrics (Prometheus text): the key's namespace's figures\n"
        "  GET    /healthz\n"
        "  GET    /metrics on the operator's address (--metrics-listen) only\n"
        "\n"
        "  --listen HOST:PORT  address to listen on (default 127.0.0.1:8080; port 0: any;\n"
        "                      [::1]:PORT for IPv6)\n"
        "  --metrics-listen HOST:PORT\n"
        "                      the operator's address: GET /metrics (every namespace's\n"
        "                      figures) and /healthz with the function count, never served\n"
        "                      on --listen (default " SERVE_METRICS_DEFAULT_HOST ":"
        SERVE_METRICS_DEFAULT_PORT_TEXT ", loopback;\n"
        "                      " SERVE_METRICS_DEFAULT_HOST ":0 when --listen's port is 0; off: none)\n"
        "  --data DIR          functions, activations, API keys and the compile cache\n"
        "                      (default ./" MOTE_DEFAULT_DATA_DIR ")\n"
        "  --workers N         function calls run at once (default: the number of CPUs);\n"
        "                      more calls wait for a slot (X-Mote-Wait-Us)\n"
        "  --queue N           calls that may wait for a slot (default 8 per worker); one\n"
        "                      function may fill half of it (its max_queue changes that);\n"
        "                      slots go round-robin between functions. A call past a full\n"
        "                      queue gets 429 with Retry-After\n"
        "  --queue-timeout MS  longest wait for a slot, then 429 (default 5000)\n"
        "  --instances N       calls alive at once: computing, sleeping, or past their first\n"
        "                      quantum (default 16 per worker, at least 32)\n"
        "  --cpu-quantum MS    a call keeps its slot (--workers) this long while others wait,\n"
        "                      then runs on without one; a call that sleeps gives it back at\n"
        "                      once (default 20; 0: slots are held to the end, sleeping or not)\n"
        "  --init-memory MIB   memory for initialised functions (their snapshots after\n"
        "                      mote_init), node-wide (default: half the machine's memory); a\n"
        "                      deploy whose mote_init may not fit (its memory limit) gets 507\n"
        "  --max-connections N connections open at once (default 10000, within the open-file\n"
        "                      limit); past it the oldest idle connection is closed for a\n"
        "                      newcomer\n"
        "  --max-connections-per-client N\n"
        "                      connections of one client address (default a tenth of\n"
        "                      --max-connections); past it its new connections are closed\n"
        "  --head-timeout MS   a request's line and headers must arrive within MS of their\n"
        "                      first byte, and its body at 1 KiB/s on average after MS,\n"
        "                      or the connection is closed (default 10000)\n"
        "  --response-budget MIB\n"
        "                      response bytes held for clients that read slowly, at most\n"
        "                      (default 512), a quarter of it for one client address; past\n"
        "                      either a call waits up to 1 s for them, then gets 503 with\n"
        "                      Retry-After\n"
        "  --access-log FILE   one JSON line per request, appended to FILE (- for stderr;\n"
        "                      default: no access log)\n"
        "  --ns-invocations-per-minute N, --ns-concurrent N\n"
        "                      limits of every namespace that has none of its own (`mote\n"
        "                      namespaces limits NS`): calls admitted in the last minute, calls\n"
        "                      running or waiting at once; past them, 429 (default: no limit)\n"
        "  --images MODE       how a call's memory is made from its snapshot: auto (default:\n"
        "                      by the image's size), copy (copy the image in), map (map it\n"
        "                      copy-on-write, reset by copying back what a call wrote),\n"
        "                      map-drop (the same, reset by madvise); for benchmarks\n"
        "  --no-kept-snapshots neither load nor keep functions' snapshots in the data\n"
        "                      directory: every start runs every mote_init (for benchmarks)\n"
        "  --dev               development: make namespace " MOTE_DEV_NAMESPACE " with OpenWhisk's\n"
        "                      well-known key if it is missing (a public secret: loopback only;\n"
        "                      with --cluster, in the cluster's records)\n"
        "  --cluster URLS      join the cluster whose etcd answers at these endpoints: its\n"
        "                      functions, keys, namespaces and limits are the cluster's (this\n"
        "                      data directory becomes a replica of what this node serves);\n"
        "                      without it, this server is a single node\n"
        "  --node NAME         this node's name in the cluster (unique; with --cluster)\n"
        "  --advertise URL     the URL other nodes reach this one at (default http://HOST:PORT\n"
        "                      of --listen)\n"
        "  --no-peer-objects   compile every object here instead of fetching the one a peer\n"
        "                      with the same toolchain built (benchmarks; a node that should\n"
        "                      load no other node's native code)\n"
        "\n"
        "Keys: every /v1 route needs `Authorization: Basic UUID:KEY` (curl -u UUID:KEY)\n"
        "and works on the functions and activations of the key's namespace only. Names\n"
        "are per namespace: two namespaces may each have a function NAME. A call needs a\n"
        "key of the function's namespace unless it was deployed with public=true; a\n"
        "function a call may not run is a 404, as one that does not exist.\n"
        "/healthz is open. Make keys with\n"
        "`mote keys create NS --data DIR` (beside a running server too), or use --dev.\n"
        "A key deleted beside a running server may still open it for up to 5 s.\n",
        out);
}

static bool parse_listen(char *spec, const char **host, uint16_t *port) {
  char *colon = strrchr(spec, ':');
  if (!colon) return false;
  *colon = '\0';
  char *end;
  errno = 0;
  unsigned long p = strtoul(colon + 1, &end, 10);
  if (errno || end == colon + 1 || *end || p > 65535) return false;
  *port = (uint16_t)p;
  if (spec[0] == '[') { /* [::1] */
    size_t n = strlen(spec);
    if (n < 3 || spec[n - 1] != ']') return false;
    spec[n - 1] = '\0';
    spec++;
  }
  *host = spec[0] ? spec : "0.0.0.0";
  return true;
}

int mote_cmd_serve(int argc, char **argv) {
  mote_server_config cfg = {.host = "127.0.0.1", .port = 8080, .data_dir = MOTE_DEFAULT_DATA_DIR};
  char listen_spec[300]; /* --listen, split in place: cfg.host points into it */
  char metrics_spec[300]; /* --metrics-listen, likewise for cfg.metrics_host */
  bool metrics_set = false;
  for (int i = 1; i < argc; i++) {
    const char *opt = argv[i];
    if (!strcmp(opt, "--help") || !strcmp(opt, "-h")) {
      usage(stdout);
      return 0;
    }
    if (!strcmp(opt, "--dev")) {
      cfg.dev = true;
      continue;
    }
    if (!strcmp(opt, "--no-kept-snapshots")) {
      cfg.no_kept_snapshots = true;
      continue;
    }
    if (!strcmp(opt, "--no-peer-objects")) {
      cfg.no_peer_objects = true;
      continue;
    }
    if (i + 1 >= argc) {
      fprintf(stderr, "mote serve: %s needs a value (see mote serve --help)\n", opt);
      return MOTE_EXIT_USAGE;
    }
    const char *val = argv[++i];
    if (!strcmp(opt, "--listen")) {
      snprintf(listen_spec, sizeof listen_spec, "%s", val);
      if (strlen(val) >= sizeof listen_spec || !parse_listen(listen_spec, &cfg.host, &cfg.port)) {
        fprintf(stderr, "mote serve: --listen takes HOST:PORT, not \"%s\"\n", val);
        return MOTE_EXIT_USAGE;
      }
    } else if (!strcmp(opt, "--metrics-listen")) {
      metrics_set = true;
      cfg.metrics_host = NULL;
      if (strcmp(val, "off") != 0) {
        snprintf(metrics_spec, sizeof metrics_spec, "%s", val);
        if (strlen(val) >= sizeof metrics_spec ||
            !parse_listen(metrics_spec, &cfg.metrics_host, &cfg.metrics_port)) {
          fprintf(stderr, "mote serve: --metrics-listen takes HOST:PORT or off, not \"%s\"\n",
                  val);
          return MOTE_EXIT_USAGE;
        }
      }
    } else if (!strcmp(opt, "--data")) {
      cfg.data_dir = val;
    } else if (!strcmp(opt, "--workers")) {
      char *end;
      errno = 0;
      unsigned long n = strtoul(val, &end, 10);
      if (errno || end == val || *end || n < 1 || n > 4096) {
        fprintf(stderr, "mote serve: --workers takes a count between 1 and 4096\n");
        return MOTE_EXIT_USAGE;
      }
      cfg.workers = (unsigned)n;
    } else if (!strcmp(opt, "--queue") || !strcmp(opt, "--queue-timeout")) {
      bool queue = !strcmp(opt, "--queue");
      unsigned long max = queue ? 1000000 : 3600000;
      char *end;
      errno = 0;
      unsigned long n = strtoul(val, &end, 10);
      if (errno || end == val || *end || val[0] == '-' || n < 1 || n > max) {
        fprintf(stderr, "mote serve: %s takes %s between 1 and %lu\n", opt,
                queue ? "a count of calls" : "milliseconds", max);
        return MOTE_EXIT_USAGE;
      }
      if (queue) cfg.queue = (unsigned)n;
      else cfg.queue_timeout_ms = (unsigned)n;
    } else if (!strcmp(opt, "--init-memory")) {
      char *end;
      errno = 0;
      unsigned long long n = strtoull(val, &end, 10);
      if (errno || end == val || *end || val[0] == '-' || n < 1 || n > (1ull << 30)) {
        fprintf(stderr, "mote serve: --init-memory takes MiB between 1 and 1073741824\n");
        return MOTE_EXIT_USAGE;
      }
      cfg.init_memory_mib = n;
    } else if (!strcmp(opt, "--instances") || !strcmp(opt, "--cpu-quantum")) {
      bool inst = !strcmp(opt, "--instances");
      char *end;
      errno = 0;
      unsigned long n = strtoul(val, &end, 10);
      if (errno || end == val || *end || val[0] == '-' || n > (inst ? 4096 : 3600000) || (inst && !n)) {
        fprintf(stderr, "mote serve: %s takes %s\n", opt,
                inst ? "a count between 1 and 4096"
                     : "milliseconds up to 3600000 (0: slots held to the end)");
        return MOTE_EXIT_USAGE;
      }
      if (inst) cfg.max_alive = (unsigned)n;
      else cfg.cpu_quantum_ms = n ? (unsigned)n : MOTE_SERVER_QUANTUM_OFF;
    } else if (!strcmp(opt, "--max-connections") || !strcmp(opt, "--max-connections-per-client") ||
               !strcmp(opt, "--head-timeout") || !strcmp(opt, "--response-budget")) {
      char *end;
      errno = 0;
      unsigned long n = strtoul(val, &end, 10);
      if (errno || end == val || *end || val[0] == '-' || n < 1 || n > 10000000) {
        fprintf(stderr, "mote serve: %s takes %s between 1 and 10000000\n", opt,
                !strcmp(opt, "--head-timeout")      ? "milliseconds"
                : !strcmp(opt, "--response-budget") ? "MiB"
                                                    : "a count");
        return MOTE_EXIT_USAGE;
      }
      if (!strcmp(opt, "--max-connections")) cfg.max_connections = (unsigned)n;
      else if (!strcmp(opt, "--head-timeout")) cfg.head_timeout_ms = (unsigned)n;
      else if (!strcmp(opt, "--response-budget")) cfg.response_budget_mib = (unsigned)n;
      else cfg.max_connections_per_client = (unsigned)n;
    } else if (!strcmp(opt, "--ns-invocations-per-minute") || !strcmp(opt, "--ns-concurrent")) {
      char *end;
      errno = 0;
      unsigned long n = strtoul(val, &end, 10);
      if (errno || end == val || *end || val[0] == '-' || n > 100000000) {
        fprintf(stderr, "mote serve: %s takes a count between 0 (no limit) and 100000000\n",
                opt);
        return MOTE_EXIT_USAGE;
      }
      if (!strcmp(opt, "--ns-concurrent")) cfg.ns_concurrent = (unsigned)n;
      else cfg.ns_invocations_per_minute = (unsigned)n;
    } else if (!strcmp(opt, "--images")) {
      static const mote_rt_image_mode modes[] = {MOTE_RT_IMAGE_AUTO, MOTE_RT_IMAGE_COPY,
                                                 MOTE_RT_IMAGE_MAP, MOTE_RT_IMAGE_MAP_DROP};
      size_t k = 0;
      while (k < sizeof modes / sizeof modes[0] && strcmp(val, mote_rt_image_mode_name(modes[k])))
        k++;
      if (k == sizeof modes / sizeof modes[0]) {
        fprintf(stderr, "mote serve: --images takes auto, copy, map or map-drop\n");
        return MOTE_EXIT_USAGE;
      }
      cfg.images = modes[k];
    } else if (!strcmp(opt, "--cluster")) {
      cfg.cluster = val;
    } else if (!strcmp(opt, "--node")) {
      cfg.node = val;
    } else if (!strcmp(opt, "--advertise")) {
      cfg.advertise = val;
    } else if (!strcmp(opt, "--access-log")) {
      if (!*val) {
        fprintf(stderr, "mote serve: --access-log takes a file, or - for stderr\n");
        return MOTE_EXIT_USAGE;
      }
      cfg.access_log = val;
    } else {
      fprintf(stderr, "mote serve: unknown option %s\n", opt);
      usage(stderr);
      return MOTE_EXIT_USAGE;
    }
  }

  if (!cfg.cluster && (cfg.node || cfg.advertise || cfg.no_peer_objects)) {
    fprintf(stderr, "mote serve: --node, --advertise and --no-peer-objects are for a node of a "
            "cluster: give --cluster too\n");
    return MOTE_EXIT_USAGE;
  }
  if (cfg.cluster && !cfg.node) {
    fprintf(stderr, "mote serve: --cluster needs --node NAME, this node's name in the cluster\n");
    return MOTE_EXIT_USAGE;
  }
  /* A server asked for any public port (tests, several at once) gets any
   * operator port too, not a fixed one that a second such server would find
   * taken. */
  if (!metrics_set) {
    cfg.metrics_host = SERVE_METRICS_DEFAULT_HOST;
    cfg.metrics_port = cfg.port == 0 ? 0 : SERVE_METRICS_DEFAULT_PORT;
  }

  /* Before any thread exists: every thread inherits this mask. */
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, NULL);
  signal(SIGPIPE, SIG_IGN); /* a client that hangs up is not the end of the server */
  /* glibc gives threads up to 8 malloc arenas per CPU. With a thread per
   * connection, calls spread their allocations over all of them and each
   * arena keeps its own high-water mark: RSS crept by ~1 byte a call over
   * 3M calls (+3.3 MB). With one arena per CPU it levelled off within 350k
   * calls, 3 MB lower. Only `workers` calls run at once, so contention stays
   * as low as the CPUs allow. */
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  mallopt(M_ARENA_MAX, cpus > 0 ? (int)cpus : 1);

  mote_server *srv = NULL;
  mote_server_error err;
  if (mote_server_start(&cfg, &srv, &err) != MOTE_SERVER_OK) {
    fprintf(stderr, "mote serve: %s\n", err.message);
    if (err.status == MOTE_SERVER_LISTEN_METRICS && !metrics_set)
      fprintf(stderr, "mote serve: that is the default; a second server on this host needs its "
                      "own: --metrics-listen HOST:PORT (port 0: any free one), or off\n");
    return err.status == MOTE_SERVER_INVALID ? MOTE_EXIT_USAGE : MOTE_EXIT_IO;
  }
  bool v6 = strchr(cfg.host, ':') != NULL;
  char metrics[340] = "metrics off";
  if (cfg.metrics_host) {
    bool mv6 = strchr(cfg.metrics_host, ':') != NULL;
    snprintf(metrics, sizeof metrics, "metrics http://%s%s%s:%u/metrics", mv6 ? "[" : "",
             cfg.metrics_host, mv6 ? "]" : "", mote_server_metrics_port(srv));
  }
  printf("mote: listening on http://%s%s%s:%u (%s, data %s, %u function(s))\n", v6 ? "[" : "",
         cfg.host, v6 ? "]" : "", mote_server_port(srv), metrics, cfg.data_dir,
         mote_server_function_count(srv));
  if (cfg.cluster)
    printf("mote: node %s of the cluster at %s\n", cfg.node, cfg.cluster);
  if (cfg.dev)
    printf("mote: --dev: namespace %s %s the well-known key %s:%s\n", MOTE_DEV_NAMESPACE,
           mote_server_dev_key_created(srv) ? "created with" : "has", MOTE_DEV_UUID,
           MOTE_DEV_KEY);
  if (cfg.dev)
    printf("mote: --dev: client verbs: export MOTE_AUTH=%s:%s; curl: -u %s:%s\n", MOTE_DEV_UUID,
           MOTE_DEV_KEY, MOTE_DEV_UUID, MOTE_DEV_KEY);
  else
    printf("mote: every /v1 route needs a key: mote keys create NS --data %s\n", cfg.data_dir);
  fflush(stdout);

  int sig = 0;
  while (sigwait(&stop, &sig) != 0) {
  }
  fprintf(stderr, "mote serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  mote_server_stop(srv);
  return 0;
}
