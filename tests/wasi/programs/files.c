/* Files: create, write, read, append, O_TRUNC, ftruncate (shrink and grow),
 * pread/pwrite (which leave the offset alone), writev/readv across iovecs,
 * O_EXCL, and a 64 KiB file written in pieces. */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"

static void show_file(const char *path) {
  char buf[256];
  int fd = open(path, O_RDONLY);
  if (fd < 0) { printf("  %s: open %s\n", path, errname(errno)); return; }
  ssize_t n = read(fd, buf, sizeof buf);
  printf("  %s (%zd bytes):", path, n);
  for (ssize_t i = 0; i < n; i++) {
    if (buf[i] >= 0x20 && buf[i] < 0x7f) printf("%c", buf[i]);
    else printf("\\x%02x", (unsigned char)buf[i]);
  }
  printf("\n");
  close(fd);
}

int main(void) {
  const char *p = "/sandbox/new.txt";
  int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  printf("create: %s\n", fd >= 0 ? "OK" : errname(errno));
  printf("write: %zd\n", write(fd, "0123456789", 10));
  printf("close: %d\n", close(fd));
  show_file(p);

  fd = open(p, O_RDONLY);
  char buf[64];
  printf("read 4: %zd\n", read(fd, buf, 4));
  printf("read 100: %zd\n", read(fd, buf, 100));
  printf("read at eof: %zd\n", read(fd, buf, 100));
  errno = 0;
  printf("write to O_RDONLY: %zd %s\n", write(fd, "x", 1), errname(errno));
  close(fd);

  /* O_APPEND: every write goes to the end, whatever the offset. */
  fd = open(p, O_WRONLY | O_APPEND);
  lseek(fd, 0, SEEK_SET);
  printf("append: %zd\n", write(fd, "ABC", 3));
  printf("append: %zd\n", write(fd, "DE", 2));
  close(fd);
  show_file(p);

  /* The open file's flags report O_APPEND. */
  fd = open(p, O_WRONLY | O_APPEND);
  int fl = fcntl(fd, F_GETFL);
  printf("F_GETFL append: %s\n", (fl & O_APPEND) ? "yes" : "no");
  close(fd);

  /* ftruncate: shrink, then grow (zero-filled). */
  fd = open(p, O_RDWR);
  SHOW("ftruncate 4", ftruncate(fd, 4));
  show_file(p);
  SHOW("ftruncate 8", ftruncate(fd, 8));
  show_file(p);

  /* pwrite / pread do not move the offset. */
  printf("lseek to 1: %lld\n", (long long)lseek(fd, 1, SEEK_SET));
  printf("pwrite at 5: %zd\n", pwrite(fd, "xy", 2, 5));
  printf("offset after pwrite: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  memset(buf, 0, sizeof buf);
  printf("pread 3 at 0: %zd '%.3s'\n", pread(fd, buf, 3, 0), buf);
  printf("offset after pread: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  printf("pread past end: %zd\n", pread(fd, buf, 3, 100));
  printf("pwrite past end: %zd\n", pwrite(fd, "Z", 1, 10));
  close(fd);
  show_file(p);

  /* O_TRUNC on an existing file empties it. */
  fd = open(p, O_WRONLY | O_TRUNC);
  struct stat st;
  fstat(fd, &st);
  printf("after O_TRUNC size: %lld\n", (long long)st.st_size);
  close(fd);

  /* O_CREAT|O_EXCL on an existing file. */
  errno = 0;
  fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
  printf("O_EXCL existing: %s\n", fd < 0 ? errname(errno) : "opened");

  /* writev / readv over several iovecs, one of them empty. */
  fd = open("/sandbox/vec.txt", O_CREAT | O_RDWR, 0644);
  struct iovec wv[3] = {{"alpha-", 6}, {"", 0}, {"beta", 4}};
  printf("writev: %zd\n", writev(fd, wv, 3));
  lseek(fd, 0, SEEK_SET);
  char a[3] = {0}, b[16] = {0};
  struct iovec rv[2] = {{a, 3}, {b, sizeof b}};
  printf("readv: %zd '%.3s' '%s'\n", readv(fd, rv, 2), a, b);
  close(fd);

  /* 64 KiB in 1000-byte pieces, read back in 4093-byte pieces. */
  fd = open("/sandbox/big.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  static unsigned char blk[4096];
  unsigned h = FNV_INIT;
  size_t total = 0;
  for (int i = 0; total < 65536; i++) {
    size_t n = 65536 - total < 1000 ? 65536 - total : 1000;
    for (size_t j = 0; j < n; j++) blk[j] = (unsigned char)((total + j) * 7 + i);
    h = fnv1a(blk, n, h);
    ssize_t w = write(fd, blk, n);
    if (w != (ssize_t)n) { printf("short write %zd\n", w); break; }
    total += n;
  }
  close(fd);
  printf("big written: %zu fnv %08x\n", total, h);
  fd = open("/sandbox/big.bin", O_RDONLY);
  unsigned h2 = FNV_INIT;
  size_t got = 0;
  ssize_t r;
  while ((r = read(fd, blk, 4093)) > 0) { h2 = fnv1a(blk, (size_t)r, h2); got += (size_t)r; }
  close(fd);
  printf("big read: %zu fnv %08x\n", got, h2);

  /* stdio on top of the same calls. */
  FILE *f = fopen("/sandbox/stdio.txt", "w");
  fprintf(f, "line %d\n", 1);
  fputs("line 2\n", f);
  fclose(f);
  f = fopen("/sandbox/stdio.txt", "a+");
  fputs("line 3\n", f);
  rewind(f);
  char line[32];
  while (fgets(line, sizeof line, f)) printf("stdio: %s", line);
  fclose(f);
  return 0;
}
