/*
 * The test action of tests/openwhisk/roundtrip.js: an OpenWhisk native
 * action (parameters as a JSON object on stdin and in argv[1], the result as
 * the last line of stdout, everything else logs).
 *
 * It answers {"params": <stdin>, "argv1": <argv[1]>} after one line on
 * stdout and one on stderr, unless a parameter asks for something else
 * (true or "true", so that a web action's query can ask too):
 *
 *   fail      {"error": "failed on request"}: an application error
 *   spin      loops until its time limit
 *   crash     traps
 *   sleep_ms  sleeps that long first (N, a number)
 *   gate      waits first until the test opens the gate of that name (a
 *             string; ../../server/programs/gate.h): a zip action only
 *   file      {"file": <the text of /greeting.txt>}: a zip action's file
 *   http      a web action's .http response: 201, two headers, a text body
 *   nodict    prints no JSON object
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../server/programs/gate.h"

static char input[1 << 16];

/* True when the parameters set `name` to true or "true". */
static int flag(const char *name) {
  char a[64], b[64];
  snprintf(a, sizeof a, "\"%s\":true", name);
  snprintf(b, sizeof b, "\"%s\":\"true\"", name);
  return strstr(input, a) || strstr(input, b);
}

int main(int argc, char **argv) {
  size_t n = fread(input, 1, sizeof input - 1, stdin);
  input[n] = '\0';
  while (n && (input[n - 1] == '\n' || input[n - 1] == ' ')) input[--n] = '\0';
  printf("hello from stdout\n");
  fprintf(stderr, "hello from stderr\n");
  fflush(stderr);

  const char *s = strstr(input, "\"sleep_ms\":");
  if (s) {
    long ms = strtol(s + 11, NULL, 10);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  const char *g = strstr(input, "\"gate\":\"");
  char gate[64];
  if (g && sscanf(g + 8, "%63[^\"]", gate) == 1 && gate_wait(gate) != 0) {
    printf("{\"error\":\"the gate never opened\"}\n");
    return 0;
  }
  if (flag("fail")) {
    printf("{\"error\":\"failed on request\"}\n");
    return 0;
  }
  if (flag("spin")) {
    volatile unsigned long x = 0;
    for (;;) x++;
  }
  if (flag("crash")) __builtin_trap();
  if (flag("nodict")) {
    printf("not a dictionary\n");
    return 0;
  }
  if (flag("file")) {
    char text[256] = "";
    FILE *f = fopen("/greeting.txt", "r");
    size_t k = f ? fread(text, 1, sizeof text - 1, f) : 0;
    text[k] = '\0';
    if (f) fclose(f);
    while (k && text[k - 1] == '\n') text[--k] = '\0';
    printf("{\"file\":\"%s\"}\n", text); /* the test's file holds no quotes */
    return 0;
  }
  if (flag("http")) {
    printf("{\"statusCode\":201,\"headers\":{\"content-type\":\"text/plain\",\"x-mote\":\"web\"},"
           "\"body\":\"hello web\"}\n");
    return 0;
  }
  printf("{\"params\":%s,\"argv1\":%s}\n", n ? input : "{}", argc > 1 ? argv[1] : "null");
  return 0;
}
