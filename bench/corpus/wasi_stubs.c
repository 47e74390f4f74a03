/* What Lua's io and os libraries call and WASI does not have: io.tmpfile and
 * os.execute fail (bench/corpus.sh links this into lua.wasm). */
#include <errno.h>
#include <stdio.h>

FILE *tmpfile(void) {
  errno = ENOTSUP;
  return NULL;
}

int system(const char *cmd) {
  (void)cmd;
  return -1;
}
