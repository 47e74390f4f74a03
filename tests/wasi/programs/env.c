/* The environment: exactly the --env pairs, no more (the host's environment
 * does not leak in), sorted here. */
//! run exit=0 | @WASM
//! run exit=0 | --env A=1 --env EMPTY= --env 'EQ=x=y=z' --env 'SP=a b' --env U=ü @WASM
#include <stdlib.h>
#include <string.h>

#include "common.h"

extern char **environ;

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
  size_t n = 0;
  while (environ && environ[n]) n++;
  char **v = malloc((n + 1) * sizeof *v);
  for (size_t i = 0; i < n; i++) v[i] = environ[i];
  qsort(v, n, sizeof *v, cmp);
  printf("%zu variables\n", n);
  for (size_t i = 0; i < n; i++) printf("[%s]\n", v[i]);
  const char *e = getenv("EQ");
  printf("getenv EQ: %s\n", e ? e : "(null)");
  e = getenv("PATH");
  printf("getenv PATH: %s\n", e ? "set" : "(null)");
  e = getenv("HOME");
  printf("getenv HOME: %s\n", e ? "set" : "(null)");
  return 0;
}
