/* Seek and tell: lseek SET/CUR/END, a negative result, seeking past the end
 * and writing (the gap reads as zeros), ftell/fseek through stdio, and lseek
 * on a directory and on stdin. */
//! run exit=0 | --dir @SB:/sandbox:rw @WASM
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int main(void) {
  int fd = open("/sandbox/seek.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
  write(fd, "abcdefghij", 10);
  printf("tell after write: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  printf("SEEK_SET 3: %lld\n", (long long)lseek(fd, 3, SEEK_SET));
  char c = 0;
  read(fd, &c, 1);
  printf("read: %c\n", c);
  printf("SEEK_CUR +2: %lld\n", (long long)lseek(fd, 2, SEEK_CUR));
  read(fd, &c, 1);
  printf("read: %c\n", c);
  printf("SEEK_CUR -3: %lld\n", (long long)lseek(fd, -3, SEEK_CUR));
  printf("SEEK_END 0: %lld\n", (long long)lseek(fd, 0, SEEK_END));
  printf("SEEK_END -1: %lld\n", (long long)lseek(fd, -1, SEEK_END));
  read(fd, &c, 1);
  printf("read: %c\n", c);
  errno = 0;
  off_t r = lseek(fd, -100, SEEK_CUR);
  printf("negative: %lld %s\n", (long long)r, errname(errno));
  printf("offset kept: %lld\n", (long long)lseek(fd, 0, SEEK_CUR));
  errno = 0;
  r = lseek(fd, 0, 42);
  printf("bad whence: %lld %s\n", (long long)r, errname(errno));

  /* Past the end: the file grows only on write, the gap reads as zeros. */
  printf("SEEK_SET 20: %lld\n", (long long)lseek(fd, 20, SEEK_SET));
  struct stat st;
  fstat(fd, &st);
  printf("size before write: %lld\n", (long long)st.st_size);
  write(fd, "Z", 1);
  fstat(fd, &st);
  printf("size after write: %lld\n", (long long)st.st_size);
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof buf, 8);
  printf("tail:");
  for (ssize_t i = 0; i < n; i++) printf(" %02x", (unsigned char)buf[i]);
  printf("\n");
  close(fd);
  errno = 0;
  printf("lseek closed fd: %lld %s\n", (long long)lseek(fd, 0, SEEK_SET), errname(errno));

  FILE *f = fopen("/sandbox/seek.bin", "r+");
  fseek(f, 0, SEEK_END);
  printf("ftell end: %ld\n", ftell(f));
  fseek(f, 2, SEEK_SET);
  printf("ftell 2: %ld getc: %c\n", ftell(f), fgetc(f));
  printf("ftell after getc: %ld\n", ftell(f));
  fseek(f, -2, SEEK_CUR);
  fputc('Q', f);
  fflush(f);
  printf("ftell after putc: %ld\n", ftell(f));
  rewind(f);
  printf("ftell after rewind: %ld\n", ftell(f));
  fclose(f);
  return 0;
}
