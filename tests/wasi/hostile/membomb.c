/* malloc 1 MiB at a time (touching every page) until it fails. Under
 * --memory 64 the module must see malloc return NULL (memory.grow -1), say
 * so and exit 0; the host must stay up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
  size_t mib = 0;
  void **list = NULL; /* kept reachable, so the compiler cannot drop a malloc */
  for (;;) {
    void **p = malloc(1 << 20);
    if (!p) break;
    memset(p, 0xab, 1 << 20);
    *p = list;
    list = p;
    mib++;
    if (mib > 100000) break;
  }
  size_t walked = 0;
  for (void **p = list; p; p = *p) walked++;
  printf("malloc returned NULL after %zu MiB\n", mib);
  if (walked != mib) printf("list broken: %zu of %zu\n", walked, mib);
  return 0;
}
