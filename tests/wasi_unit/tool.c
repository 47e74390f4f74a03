/*
 * The guest of tests/wasi_unit: a WASI command (clang-19 --target=wasm32-wasi)
 * that test_wasi.c compiles at test time and runs with subcommands:
 *
 *   args                 prints argv and environ, one per line
 *   files                create/write/seek/tell/read/readdir/rename/unlink/mkdir/
 *                        rmdir/symlink/readlink/stat inside the writable /sb
 *   readonly             tries every change in the read-only /sb
 *   escape               tries to leave /sb every way it can
 *   edges                the answers the WASI test suite checks: sockets,
 *                        fd_prestat_dir_name, "." and ".." in fd_readdir,
 *                        trailing slashes of symlink and link (writable /sb)
 *   exit N               proc_exit(N)
 *   clock                monotonic clock never goes back, realtime is sane
 *   random               random_get fills buffers
 *   spam N               writes N bytes to stdout in 1000-byte writes
 *   openmany N           opens /sb/f N times without closing
 *   sleep MS             sleeps (poll_oneoff)
 *   cat                  copies stdin to stdout
 *
 * Results are lines "what: OK" or "what: ENAME" (errno names, see errname).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasi/api.h>

static const char *errname(int e) {
  switch (e) {
    case 0: return "OK";
#define E(x) case x: return #x;
    E(EACCES) E(EBADF) E(EEXIST) E(EFAULT) E(EINVAL) E(EIO) E(EISDIR) E(ELOOP) E(EMFILE)
    E(ENOENT) E(ENOTDIR) E(ENOTEMPTY) E(ENOTSUP) E(EPERM) E(EROFS) E(EXDEV) E(ENOTCAPABLE)
    E(ENOSYS) E(ENOTSOCK) E(ENAMETOOLONG)
#undef E
    default: return "E?";
  }
}

#define SHOW(what, call)                                              \
  do {                                                                \
    errno = 0;                                                        \
    long r_ = (long)(call);                                           \
    printf("%s: %s\n", (what), r_ < 0 ? errname(errno) : "OK");       \
  } while (0)

/* Direct preview1 calls: the errno straight from the host. */
static const char *werr(__wasi_errno_t e) {
  return errname(e == __WASI_ERRNO_NOTCAPABLE ? ENOTCAPABLE : e == 0 ? 0 : (int)e);
}

static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

static void files(void) {
  char buf[64];
  SHOW("create", write_file("/sb/a.txt", "hello world"));
  int fd = open("/sb/a.txt", O_RDWR);
  SHOW("open rw", fd);
  printf("seek end: %ld\n", (long)lseek(fd, 0, SEEK_END));
  printf("seek 6: %ld\n", (long)lseek(fd, 6, SEEK_SET));
  ssize_t n = read(fd, buf, sizeof buf);
  printf("read: %.*s\n", (int)n, buf);
  printf("tell: %ld\n", (long)lseek(fd, 0, SEEK_CUR));
  SHOW("pwrite", pwrite(fd, "HELLO", 5, 0));
  n = pread(fd, buf, 5, 0);
  printf("pread: %.*s\n", (int)n, buf);
  struct stat st;
  SHOW("fstat", fstat(fd, &st));
  printf("size: %lld regular: %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
  SHOW("ftruncate", ftruncate(fd, 3));
  SHOW("stat", stat("/sb/a.txt", &st));
  printf("size after truncate: %lld\n", (long long)st.st_size);
  close(fd);
  SHOW("mkdir d", mkdir("/sb/d", 0755));
  SHOW("mkdir d again", mkdir("/sb/d", 0755));
  SHOW("rename a.txt d/b.txt", rename("/sb/a.txt", "/sb/d/b.txt"));
  SHOW("stat a.txt", stat("/sb/a.txt", &st));
  SHOW("symlink d/link -> b.txt", symlink("b.txt", "/sb/d/link"));
  n = readlink("/sb/d/link", buf, sizeof buf);
  printf("readlink: %.*s\n", (int)(n > 0 ? n : 0), buf);
  SHOW("lstat link", lstat("/sb/d/link", &st));
  printf("link is symlink: %d\n", S_ISLNK(st.st_mode));
  SHOW("stat via link", stat("/sb/d/link", &st));
  printf("target size: %lld\n", (long long)st.st_size);
  SHOW("link d/hard", link("/sb/d/b.txt", "/sb/d/hard"));
  DIR *dir = opendir("/sb/d");
  int count = 0;
  for (struct dirent *e; dir && (e = readdir(dir));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) count++;
  if (dir) closedir(dir);
  printf("readdir d: %d entries\n", count);
  SHOW("rmdir d (not empty)", rmdir("/sb/d"));
  SHOW("unlink d/link", unlink("/sb/d/link"));
  SHOW("unlink d/hard", unlink("/sb/d/hard"));
  SHOW("unlink d/b.txt", unlink("/sb/d/b.txt"));
  SHOW("unlink d (a dir)", unlink("/sb/d"));
  SHOW("rmdir d", rmdir("/sb/d"));
  SHOW("rmdir d again", rmdir("/sb/d"));
}

static void readonly(void) {
  char buf[32];
  int fd = open("/sb/existing.txt", O_RDONLY);
  SHOW("open ro", fd);
  ssize_t n = read(fd, buf, sizeof buf);
  printf("read: %.*s\n", (int)(n > 0 ? n : 0), buf);
  SHOW("write to ro fd", write(fd, "x", 1));
  close(fd);
  SHOW("open for write", open("/sb/existing.txt", O_WRONLY));
  SHOW("create", open("/sb/new.txt", O_WRONLY | O_CREAT, 0644));
  SHOW("truncate", truncate("/sb/existing.txt", 0));
  SHOW("unlink", unlink("/sb/existing.txt"));
  SHOW("mkdir", mkdir("/sb/newdir", 0755));
  SHOW("rmdir", rmdir("/sb/subdir"));
  SHOW("rename", rename("/sb/existing.txt", "/sb/moved.txt"));
  SHOW("symlink", symlink("existing.txt", "/sb/sl"));
  SHOW("link", link("/sb/existing.txt", "/sb/hl"));
  /* Refusals that are not EROFS, as on a read-only mount: the write-open of
   * a directory, of a missing file, of a path leading out. */
  __wasi_fd_t wfd;
  const __wasi_rights_t rw = __WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE;
  printf("write-open subdir: %s\n",
         werr(__wasi_path_open(3, 0, "subdir", __WASI_OFLAGS_DIRECTORY, rw, 0, 0, &wfd)));
  printf("write-open missing: %s\n", werr(__wasi_path_open(3, 0, "missing", 0, rw, 0, 0, &wfd)));
  printf("write-open ../x: %s\n", werr(__wasi_path_open(3, 0, "../x", 0, rw, 0, 0, &wfd)));
  printf("create-open subdir/new: %s\n",
         werr(__wasi_path_open(3, 0, "subdir/new", __WASI_OFLAGS_CREAT, rw, 0, 0, &wfd)));
  printf("symlink to subdir/: %s\n", werr(__wasi_path_symlink("x", 3, "subdir/")));
  printf("link to subdir/: %s\n", werr(__wasi_path_link(3, 0, "existing.txt", 3, "subdir/")));
  struct stat st;
  SHOW("stat still there", stat("/sb/existing.txt", &st));
}

static void try_open(int dirfd, const char *path, __wasi_lookupflags_t follow) {
  __wasi_fd_t fd;
  __wasi_errno_t e = __wasi_path_open(dirfd, follow, path, 0, __WASI_RIGHTS_FD_READ, 0, 0, &fd);
  printf("open %s: %s\n", path, werr(e));
  if (!e) (void)!__wasi_fd_close(fd);
}

static void try_stat(int dirfd, const char *path) {
  __wasi_filestat_t st;
  __wasi_errno_t e = __wasi_path_filestat_get(dirfd, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, &st);
  printf("stat %s: %s\n", path, werr(e));
}

static void escape(void) {
  const int sb = 3; /* the only preopen */
  const __wasi_lookupflags_t F = __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW;
  try_open(sb, "inside.txt", F);
  try_open(sb, "sub/../inside.txt", F);
  try_open(sb, "../outside.txt", F);
  try_open(sb, "sub/../../outside.txt", F);
  try_open(sb, "/etc/passwd", F);
  try_open(sb, "/proc/self/environ", F);
  try_open(sb, "abs/passwd", F);     /* symlink -> /etc */
  try_open(sb, "up/outside.txt", F); /* symlink -> .. */
  try_open(sb, "proc/environ", F);   /* symlink -> /proc/self */
  try_open(sb, "fdlink", F);         /* symlink -> /proc/self/fd/0 */
  try_stat(sb, "../outside.txt");
  try_stat(sb, "up");
  try_stat(sb, "abs/passwd");
  __wasi_errno_t e = __wasi_path_create_directory(sb, "../made");
  printf("mkdir ../made: %s\n", werr(e));
  e = __wasi_path_create_directory(sb, "up/made");
  printf("mkdir up/made: %s\n", werr(e));
  e = __wasi_path_unlink_file(sb, "up/outside.txt");
  printf("unlink up/outside.txt: %s\n", werr(e));
  e = __wasi_path_rename(sb, "inside.txt", sb, "../stolen.txt");
  printf("rename to ../stolen.txt: %s\n", werr(e));
  e = __wasi_path_rename(sb, "up/outside.txt", sb, "stolen.txt");
  printf("rename from up/outside.txt: %s\n", werr(e));
  e = __wasi_path_link(sb, F, "up/outside.txt", sb, "hard");
  printf("link up/outside.txt: %s\n", werr(e));
  e = __wasi_path_remove_directory(sb, "..");
  printf("rmdir ..: %s\n", werr(e));
  e = __wasi_path_symlink("/etc/passwd", sb, "mine");
  printf("symlink mine -> /etc/passwd: %s\n", werr(e));
  try_open(sb, "mine", F);
  char buf[64];
  __wasi_size_t used = 0;
  e = __wasi_path_readlink(sb, "mine", (uint8_t *)buf, sizeof buf, &used);
  printf("readlink mine: %s %.*s\n", werr(e), (int)used, buf);
  __wasi_fd_t d;
  e = __wasi_path_open(sb, F, "sub", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_PATH_OPEN,
                       __WASI_RIGHTS_FD_READ, 0, &d);
  printf("open sub: %s\n", werr(e));
  if (!e) try_open(d, "../inside.txt", F);
  if (!e) try_open(d, "../../outside.txt", F);
  e = __wasi_path_open(99, F, "x", 0, __WASI_RIGHTS_FD_READ, 0, 0, &d);
  printf("open on fd 99: %s\n", werr(e));
}

/* The names in a directory fd's fd_readdir listing (read 64 bytes at a time:
 * several calls and cookies), "name:type:ino" each, ino as "self" when it
 * is the directory's own inode, "parent" when it is the sandbox's (fd 3:
 * the directories listed are directly beneath it). */
static void list_dir(const char *what, __wasi_fd_t d) {
  __wasi_filestat_t self, parent;
  (void)!__wasi_fd_filestat_get(d, &self);
  (void)!__wasi_fd_filestat_get(3, &parent);
  __wasi_dircookie_t cookie = 0;
  char line[512] = "";
  int count = 0;
  for (int calls = 0; calls < 100; calls++) {
    uint8_t buf[64];
    __wasi_size_t used = 0;
    __wasi_errno_t e = __wasi_fd_readdir(d, buf, sizeof buf, cookie, &used);
    if (e) {
      printf("%s: %s\n", what, werr(e));
      return;
    }
    __wasi_size_t at = 0;
    int whole = 0;
    while (at + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t de;
      memcpy(&de, buf + at, sizeof de);
      if (at + sizeof de + de.d_namlen > used) break;
      char ent[96];
      snprintf(ent, sizeof ent, " %.*s:%d:%s", (int)de.d_namlen, (char *)buf + at + sizeof de,
               de.d_type,
               de.d_ino == self.ino     ? "self"
               : de.d_ino == parent.ino ? "parent"
               : de.d_ino == 0          ? "0"
                                        : "other");
      strncat(line, ent, sizeof line - strlen(line) - 1);
      cookie = de.d_next;
      at += sizeof de + de.d_namlen;
      whole++;
      count++;
    }
    if (used < sizeof buf) break;
    if (!whole) {
      printf("%s: an entry does not fit in 64 bytes\n", what);
      return;
    }
  }
  printf("%s: %d entries:%s\n", what, count, line);
}

static void edges(void) {
  const int sb = 3;
  int file = open("/sb/file", O_RDWR | O_CREAT, 0644);
  printf("sock_shutdown bad fd: %s\n", werr(__wasi_sock_shutdown(99, __WASI_SDFLAGS_RD)));
  printf("sock_shutdown file: %s\n", werr(__wasi_sock_shutdown(file, __WASI_SDFLAGS_WR)));
  __wasi_size_t n;
  __wasi_roflags_t rof;
  __wasi_iovec_t iov = {(uint8_t *)&n, 1};
  printf("sock_recv file: %s\n", werr(__wasi_sock_recv(file, &iov, 1, 0, &n, &rof)));
  __wasi_fd_t acc;
  printf("sock_accept dir: %s\n", werr(__wasi_sock_accept(sb, 0, &acc)));
  char name[8];
  printf("prestat_dir_name 0 bytes: %s\n", werr(__wasi_fd_prestat_dir_name(sb, (uint8_t *)name, 0)));
  printf("prestat_dir_name 2 bytes: %s\n", werr(__wasi_fd_prestat_dir_name(sb, (uint8_t *)name, 2)));
  __wasi_errno_t e = __wasi_fd_prestat_dir_name(sb, (uint8_t *)name, 4);
  printf("prestat_dir_name 4 bytes: %s %.3s\n", werr(e), name);
  SHOW("mkdir empty", mkdir("/sb/empty", 0755));
  __wasi_fd_t d;
  e = __wasi_path_open(sb, 0, "empty", __WASI_OFLAGS_DIRECTORY,
                       __WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_FD_FILESTAT_GET, 0, 0, &d);
  printf("open empty: %s\n", werr(e));
  list_dir("readdir empty", d);
  for (int i = 0; i < 5; i++) {
    char p[64];
    snprintf(p, sizeof p, "/sb/empty/entry-%d", i);
    close(open(p, O_WRONLY | O_CREAT, 0644));
  }
  list_dir("readdir five", d); /* in the kernel's order: the test sorts */
  (void)!__wasi_fd_close(d);
  /* Trailing slashes: a path ending in '/' names a directory. */
  printf("symlink to t/ (absent): %s\n", werr(__wasi_path_symlink("source", sb, "t/")));
  struct stat st;
  SHOW("nothing made: lstat t", lstat("/sb/t", &st));
  mkdir("/sb/t", 0755);
  printf("symlink to t/ (a dir): %s\n", werr(__wasi_path_symlink("source", sb, "t/")));
  printf("link file to t/ (a dir): %s\n", werr(__wasi_path_link(sb, 0, "file", sb, "t/")));
  printf("link t/ (a dir) to u: %s\n", werr(__wasi_path_link(sb, 0, "t/", sb, "u")));
  rmdir("/sb/t");
  close(open("/sb/t", O_WRONLY | O_CREAT, 0644));
  printf("symlink to t/ (a file): %s\n", werr(__wasi_path_symlink("source", sb, "t/")));
  printf("link file to t/ (a file): %s\n", werr(__wasi_path_link(sb, 0, "file", sb, "t/")));
  printf("link file to u/ (absent): %s\n", werr(__wasi_path_link(sb, 0, "file", sb, "u/")));
  printf("link file/ to u: %s\n", werr(__wasi_path_link(sb, 0, "file/", sb, "u")));
  printf("link file/ to u, following: %s\n",
         werr(__wasi_path_link(sb, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "file/", sb, "u")));
  printf("symlink up -> ..: %s\n", werr(__wasi_path_symlink("..", sb, "up")));
  printf("symlink to up/ (leads out): %s\n", werr(__wasi_path_symlink("source", sb, "up/")));
  printf("link file to up/ (leads out): %s\n", werr(__wasi_path_link(sb, 0, "file", sb, "up/")));
  SHOW("nothing made: lstat u", lstat("/sb/u", &st));
  close(file);
}

static void clocks(void) {
  struct timespec a, b;
  int ok = 1;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < 10000; i++) {
    clock_gettime(CLOCK_MONOTONIC, &b);
    if (b.tv_sec < a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec < a.tv_nsec)) ok = 0;
    a = b;
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  usleep(20000);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long slept = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  clock_gettime(CLOCK_REALTIME, &a);
  printf("monotonic: %s\n", ok ? "increasing" : "WENT BACK");
  printf("slept >= 20ms: %d\n", slept >= 20000000LL);
  printf("realtime after 2020: %d\n", a.tv_sec > 1577836800);
  __wasi_timestamp_t res = 0;
  printf("res monotonic: %s %d\n", werr(__wasi_clock_res_get(__WASI_CLOCKID_MONOTONIC, &res)),
         res > 0);
  __wasi_timestamp_t t;
  printf("cputime: %s\n", werr(__wasi_clock_time_get(__WASI_CLOCKID_PROCESS_CPUTIME_ID, 1, &t)));
  printf("bad clock: %s\n", werr(__wasi_clock_time_get(99, 1, &t)));
}

static void randoms(void) {
  unsigned char a[256], b[256];
  memset(a, 0, sizeof a);
  memset(b, 0, sizeof b);
  __wasi_errno_t e1 = __wasi_random_get(a, sizeof a), e2 = __wasi_random_get(b, sizeof b);
  int zeros = 0;
  for (size_t i = 0; i < sizeof a; i++) zeros += a[i] == 0;
  printf("random: %s %s filled: %d differ: %d\n", werr(e1), werr(e2), zeros < 16,
         memcmp(a, b, sizeof a) != 0);
}

int main(int argc, char **argv) {
  if (argc < 2) return 100;
  const char *cmd = argv[1];
  if (!strcmp(cmd, "args")) {
    extern char **environ;
    for (int i = 0; i < argc; i++) printf("argv[%d]=%s\n", i, argv[i]);
    for (char **e = environ; *e; e++) printf("env %s\n", *e);
  } else if (!strcmp(cmd, "files")) {
    files();
  } else if (!strcmp(cmd, "readonly")) {
    readonly();
  } else if (!strcmp(cmd, "escape")) {
    escape();
  } else if (!strcmp(cmd, "edges")) {
    edges();
  } else if (!strcmp(cmd, "exit") && argc > 2) {
    fflush(stdout);
    __wasi_proc_exit((__wasi_exitcode_t)atoi(argv[2]));
  } else if (!strcmp(cmd, "clock")) {
    clocks();
  } else if (!strcmp(cmd, "random")) {
    randoms();
  } else if (!strcmp(cmd, "spam") && argc > 2) {
    static char chunk[1000];
    memset(chunk, 'x', sizeof chunk);
    long n = atol(argv[2]);
    for (long done = 0; done < n; done += 1000) write(1, chunk, sizeof chunk);
    printf("spam done\n");
  } else if (!strcmp(cmd, "openmany") && argc > 2) {
    long n = atol(argv[2]), opened = 0, failed = 0;
    int first = 0, last = -1;
    for (long i = 0; i < n; i++) {
      int fd = open("/sb/f", O_RDONLY);
      if (fd >= 0) {
        opened++;
        last = fd;
      } else {
        if (!failed) first = errno;
        failed++;
      }
    }
    printf("opened %ld failed %ld first %s\n", opened, failed, errname(first));
    if (last >= 0) close(last);
    SHOW("open after a close", open("/sb/f", O_RDONLY));
  } else if (!strcmp(cmd, "sleep") && argc > 2) {
    usleep((useconds_t)atol(argv[2]) * 1000);
    printf("woke\n");
  } else if (!strcmp(cmd, "cat")) {
    char buf[7];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) fwrite(buf, 1, n, stdout);
  } else {
    return 101;
  }
  return 0;
}
