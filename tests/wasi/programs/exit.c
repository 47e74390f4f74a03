/* Exit statuses: exit(0), exit(3), return 7 from main, _Exit (stdio not
 * flushed), and abort(), which in wasi-libc is the trap `unreachable`. */
//! run exit=0 | @WASM exit0
//! run exit=3 | @WASM exit3
//! run exit=7 | @WASM ret7
//! run exit=5 | @WASM _Exit5
//! run exit=trap | @WASM abort
//! run exit=42 | @WASM proc_exit42
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wasi/api.h>

#include "common.h"

int main(int argc, char **argv) {
  const char *m = argc > 1 ? argv[1] : "";
  printf("mode %s\n", m);
  fflush(stdout);
  printf("buffered line\n");
  if (!strcmp(m, "exit0")) exit(0);
  if (!strcmp(m, "exit3")) exit(3);
  if (!strcmp(m, "ret7")) return 7;
  if (!strcmp(m, "_Exit5")) _Exit(5);
  if (!strcmp(m, "abort")) abort();
  if (!strcmp(m, "proc_exit42")) __wasi_proc_exit(42);
  return 99;
}
