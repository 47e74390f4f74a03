/* Directories: mkdir (and EEXIST, missing parent), rmdir (non-empty, on a file),
 * opendir/readdir with d_type (listing sorted here), a directory large enough
 * that fd_readdir needs several calls, rewinddir, and opendir errors. */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *tname(unsigned char t) {
  switch (t) {
  case DT_REG: return "file";
  case DT_DIR: return "dir";
  case DT_LNK: return "link";
  case DT_UNKNOWN: return "unknown";
  default: return "other";
  }
}

/* Prints the entries of path (without . and ..), sorted, or only their count. */
static void list(const char *path, int names) {
  DIR *d = opendir(path);
  if (!d) { printf("opendir %s: %s\n", path, errname(errno)); return; }
  char **v = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    v = realloc(v, (n + 1) * sizeof *v);
    size_t l = strlen(e->d_name);
    v[n] = malloc(l + 16);
    snprintf(v[n], l + 16, "%s %s", e->d_name, tname(e->d_type));
    n++;
  }
  qsort(v, n, sizeof *v, cmp);
  printf("%s: %zu entries\n", path, n);
  if (names)
    for (size_t i = 0; i < n; i++) printf("  %s\n", v[i]);
  for (size_t i = 0; i < n; i++) free(v[i]);
  free(v);
  closedir(d);
}

int main(void) {
  list("/sandbox", 1);
  list("/sandbox/sub", 1);
  list("/sandbox/sub/inner", 1);
  SHOW("mkdir d1", mkdir("/sandbox/d1", 0755));
  SHOW("mkdir d1 again", mkdir("/sandbox/d1", 0755));
  SHOW("mkdir d1/d2", mkdir("/sandbox/d1/d2", 0755));
  SHOW("mkdir missing/x", mkdir("/sandbox/missing/x", 0755));
  SHOW("mkdir hello.txt/x", mkdir("/sandbox/hello.txt/x", 0755));
  close(open("/sandbox/d1/f1", O_CREAT | O_WRONLY, 0644));
  close(open("/sandbox/d1/f2", O_CREAT | O_WRONLY, 0644));
  close(open("/sandbox/d1/d2/x", O_CREAT | O_WRONLY, 0644));
  symlink("f1", "/sandbox/d1/l1");
  list("/sandbox/d1", 1);
  SHOW("rmdir d1 (not empty)", rmdir("/sandbox/d1"));
  SHOW("rmdir d1/f1 (a file)", rmdir("/sandbox/d1/f1"));
  SHOW("rmdir missing", rmdir("/sandbox/nothere"));
  SHOW("unlink d1/d2/x", unlink("/sandbox/d1/d2/x"));
  SHOW("rmdir d1/d2", rmdir("/sandbox/d1/d2"));
  list("/sandbox/d1", 1);

  /* 600 entries with long names: more than one fd_readdir buffer. */
  mkdir("/sandbox/many", 0755);
  char name[128];
  for (int i = 0; i < 600; i++) {
    snprintf(name, sizeof name, "/sandbox/many/entry-with-a-fairly-long-name-%04d", i);
    close(open(name, O_CREAT | O_WRONLY, 0644));
  }
  list("/sandbox/many", 0);
  DIR *d = opendir("/sandbox/many");
  int first = 0, second = 0;
  while (readdir(d)) first++;
  rewinddir(d);
  while (readdir(d)) second++;
  closedir(d);
  printf("rewinddir same count: %s\n", first == second ? "yes" : "no");
  for (int i = 0; i < 600; i += 2) {
    snprintf(name, sizeof name, "/sandbox/many/entry-with-a-fairly-long-name-%04d", i);
    unlink(name);
  }
  list("/sandbox/many", 0);

  /* fdopendir on an fd opened with O_DIRECTORY. */
  int fd = open("/sandbox/sub", O_RDONLY | O_DIRECTORY);
  printf("open O_DIRECTORY: %s\n", fd >= 0 ? "OK" : errname(errno));
  d = fdopendir(fd);
  int cnt = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) cnt++;
  printf("fdopendir entries: %d\n", cnt);
  closedir(d);

  errno = 0;
  d = opendir("/sandbox/hello.txt");
  printf("opendir file: %s\n", d ? "opened" : errname(errno));
  errno = 0;
  d = opendir("/sandbox/nothere");
  printf("opendir missing: %s\n", d ? "opened" : errname(errno));
  return 0;
}
