/* rename: a file, over an existing file, a directory (with its contents),
 * into a subdirectory, and the error cases. */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static void mk(const char *p, const char *text) {
  int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  write(fd, text, strlen(text));
  close(fd);
}

static void exists(const char *p) {
  struct stat s;
  printf("  %s: %s\n", p, lstat(p, &s) == 0 ? (S_ISDIR(s.st_mode) ? "dir" : "file") : errname(errno));
}

int main(void) {
  mk("/sandbox/r1", "one\n");
  mk("/sandbox/r2", "two\n");
  SHOW("rename r1 -> r3", rename("/sandbox/r1", "/sandbox/r3"));
  exists("/sandbox/r1");
  exists("/sandbox/r3");
  SHOW("rename r3 -> r2 (replaces)", rename("/sandbox/r3", "/sandbox/r2"));
  exists("/sandbox/r3");
  SHOW("rename r2 -> r2 (same)", rename("/sandbox/r2", "/sandbox/r2"));
  SHOW("rename missing", rename("/sandbox/nothere", "/sandbox/x"));
  SHOW("rename r2 -> sub/r2", rename("/sandbox/r2", "/sandbox/sub/r2"));
  exists("/sandbox/sub/r2");
  SHOW("rename r2 -> missing/r2", rename("/sandbox/sub/r2", "/sandbox/missing/r2"));

  mkdir("/sandbox/da", 0755);
  mk("/sandbox/da/f", "in da\n");
  SHOW("rename dir da -> db", rename("/sandbox/da", "/sandbox/db"));
  exists("/sandbox/db/f");
  mkdir("/sandbox/empty", 0755);
  SHOW("rename dir db -> empty dir", rename("/sandbox/db", "/sandbox/empty"));
  exists("/sandbox/empty/f");
  SHOW("rename dir onto non-empty dir", rename("/sandbox/sub", "/sandbox/empty"));
  SHOW("rename file onto dir", rename("/sandbox/hello.txt", "/sandbox/empty"));
  SHOW("rename dir onto file", rename("/sandbox/empty", "/sandbox/hello.txt"));
  SHOW("rename dir into itself", rename("/sandbox/empty", "/sandbox/empty/inside"));
  SHOW("rename link.txt -> link2.txt", rename("/sandbox/link.txt", "/sandbox/link2.txt"));
  return 0;
}
