/* Arguments: argc and every argument (argv[0] by its last path component,
 * which runtimes are free to choose). */
//! run exit=0 | @WASM
//! run exit=0 | @WASM one two
//! run exit=0 | @WASM 'with space' '' 'ünïcödé ✓' --dir -x
//! run exit=0 | @WASM a=b 'quote"s' "back\\slash" '$HOME'
#include <string.h>

#include "common.h"

int main(int argc, char **argv) {
  const char *base = strrchr(argv[0], '/');
  printf("argc %d\n", argc);
  printf("argv[0] %s\n", base ? base + 1 : argv[0]);
  for (int i = 1; i < argc; i++) printf("argv[%d] [%s] (%zu bytes)\n", i, argv[i], strlen(argv[i]));
  printf("argv[argc] is NULL: %s\n", argv[argc] == NULL ? "yes" : "no");
  return 0;
}
