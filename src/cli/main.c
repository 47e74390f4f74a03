/* The mote command: dispatches to the verbs. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *out) {
  fputs("usage: mote <command> [options]\n"
        "\n"
        "commands:\n"
        "  run [options] FILE.wasm [ARGS...]   run a WebAssembly command module once\n"
        "  compile [--tier opt|quick] FILE.wasm  compile a module into the cache, print timings\n"
        "  serve [--listen HOST:PORT] [--data DIR] [--workers N] [--dev]  serve functions over HTTP\n"
        "\n"
        "commands on a data directory (--data DIR, default ./mote-data), beside a server or not:\n"
        "  keys create NS                       make an API key of namespace NS, print UUID:KEY\n"
        "  keys list [NS] | keys delete UUID    the keys (never their secrets); remove one\n"
        "  namespaces                           list the namespaces and their limits\n"
        "  namespaces limits NS [--per-minute N] [--concurrent N]  a namespace's call limits\n"
        "  (with --cluster URL instead: the records of a cluster, in its etcd)\n"
        "\n"
        "commands on a cluster (--cluster URL, its etcd; mote serve --cluster URL --node NAME):\n"
        "  cluster status                       its nodes and functions, where each is placed\n"
        "  cluster drain NODE | undrain NODE    move a node's functions and calls off it, or back\n"
        "  cluster haproxy-config | haproxy-sync  HAProxy in front of the live nodes\n"
        "\n"
        "commands that talk to a running server (--server URL, else $MOTE_URL, else\n"
        "http://127.0.0.1:8080; --auth UUID:KEY, else $MOTE_AUTH; --json for the server's JSON):\n"
        "  deploy NAME FILE [settings]          deploy a .wasm module or a bundle, print the version\n"
        "  invoke NAME [ARGS...] [--data FILE|-]  call a function, its stdout to ours\n"
        "  ls                                   list the deployed functions\n"
        "  rm NAME                              remove a function\n"
        "  logs NAME                            the last calls of a function with their output\n"
        "  activations [--function NAME] [ID]   records of calls\n"
        "  usage [--function NAME]              accounting: calls, errors, time, GB-seconds\n"
        "\n"
        "API keys: the server asks for one (HTTP basic, OpenWhisk's UUID:KEY) on every\n"
        "/v1 route and for calls of functions not deployed --public; each key belongs to\n"
        "a namespace, which sees only its own functions and activations. Give it with\n"
        "--auth UUID:KEY or MOTE_AUTH=UUID:KEY. Make one with `mote keys create NS --data\n"
        "DIR` on the server's data directory; `mote serve --dev` has a development key\n"
        "(it prints it). Without a valid key the client verbs exit 77.\n"
        "\n"
        "`mote <command> --help` (or `mote help <command>`) tells more.\n",
        out);
}

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
} verbs[] = {
    {"run", mote_cmd_run},       {"compile", mote_cmd_compile}, {"serve", mote_cmd_serve},
    {"deploy", mote_cmd_deploy}, {"invoke", mote_cmd_invoke},   {"ls", mote_cmd_ls},
    {"rm", mote_cmd_rm},         {"logs", mote_cmd_logs},       {"activations", mote_cmd_activations},
    {"keys", mote_cmd_keys},     {"namespaces", mote_cmd_namespaces}, {"usage", mote_cmd_usage},
    {"cluster", mote_cmd_cluster},
};

static int dispatch(const char *verb, int argc, char **argv) {
  for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
    if (!strcmp(verb, verbs[i].name)) return verbs[i].run(argc, argv);
  return -1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return MOTE_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    if (argc > 2 && strcmp(argv[1], "help") == 0) { /* mote help VERB = mote VERB --help */
      char *help_argv[] = {argv[2], "--help", NULL};
      int rc = dispatch(argv[2], 2, help_argv);
      if (rc >= 0) return rc;
      fprintf(stderr, "mote: unknown command \"%s\"\n", argv[2]);
      usage(stderr);
      return MOTE_EXIT_USAGE;
    }
    usage(stdout);
    return 0;
  }
  int rc = dispatch(argv[1], argc - 1, argv + 1);
  if (rc >= 0) return rc;
  fprintf(stderr, "mote: unknown command \"%s\"\n", argv[1]);
  usage(stderr);
  return MOTE_EXIT_USAGE;
}
