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
        "  serve [--listen HOST:PORT] [--data DIR] [--workers N]  serve functions over HTTP\n"
        "\n"
        "`mote <command> --help` tells more.\n",
        out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return MOTE_EXIT_USAGE;
  }
  if (!strcmp(argv[1], "run")) return mote_cmd_run(argc - 1, argv + 1);
  if (!strcmp(argv[1], "compile")) return mote_cmd_compile(argc - 1, argv + 1);
  if (!strcmp(argv[1], "serve")) return mote_cmd_serve(argc - 1, argv + 1);
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "mote: unknown command \"%s\"\n", argv[1]);
  usage(stderr);
  return MOTE_EXIT_USAGE;
}
