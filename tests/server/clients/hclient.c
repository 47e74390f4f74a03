/*
 * hclient: the hostile and measuring clients of tests/server/test_hostile_clients.sh
 * and bench/hostile.sh, built natively by them (gcc -O2 -pthread hclient.c).
 * Every mode talks to HOST:PORT; --src ADDR binds the client's side to a
 * local address first (127.0.0.2, ...: another client as the server sees it).
 *
 *   hclient hold HOST PORT N [--src A | --spread K] [--head TEXT] [--trickle MS]
 *               [--at-once K] [--probe]
 *       Opens N connections, then (--head) sends TEXT (C escapes: \r \n \0
 *       \xHH) on each, a byte every MS ms when --trickle is given (a
 *       slowloris; --at-once K: its first K bytes at once, a head before a
 *       trickled body), else at once. Prints `connected K` once all connect
 *       attempts are done, then waits: each line read on stdin asks for a
 *       report, `open K closed C` (closed: the server ended the connection:
 *       EOF or an error on read or write); EOF on stdin ends it. --probe sends
 *       "GET /healthz" on every connection first and counts those answered
 *       200 (`answered K`): a connection the server accepted and then closed
 *       over a cap is not answered. --spread K: connection i comes from
 *       127.0.0.(10 + i % K), as K clients.
 *   hclient send HOST PORT TEXT [--src A] [--wait MS]
 *       Sends TEXT (escapes as above) on one connection, reads until EOF
 *       or MS ms (default 20000)
 *       and prints what was read (the raw reply), or `(no reply)` and, after
 *       the deadline, `(timeout)`.
 *   hclient latency HOST PORT N PATH
 *       N sequential GETs of PATH on one keep-alive connection: prints
 *       `ok K p50_us X p99_us Y max_us Z`.
 *   hclient openloop HOST PORT RATE SECONDS PATH [--timeout MS]
 *       Open loop: a GET of PATH every 1/RATE s, each on its own
 *       connection, whatever the answers; latency counted from the moment a
 *       request was due. Prints `sent N ok K (P%) p50_us X p99_us Y` where ok
 *       is a 200 within the timeout (default 10000 ms).
 *   hclient slowread HOST PORT N PATH [--src ADDR | --spread K]
 *       N connections (from ADDR, or 127.0.0.(10 + i % K)) each send GET
 *       PATH and do not read. Prints `sent N`,
 *       then waits for EOF on stdin; then reads every reply to its end and
 *       prints `complete K other M bytes B` (K replies 200 read whole:
 *       nothing lost; M other replies read whole).
 *
 * Exit status: 0, or 2 for a usage error or a failed setup.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host, *src;
static int port;
static int spread; /* hold: connection i from 127.0.0.(10 + i % spread) */

static uint64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* A socket connected to host:port (blocking unless nonblock), or -1. */
static int dial(bool nonblock);
static int dial_from(int i) {
  char addr[32];
  if (!spread) return dial(false);
  snprintf(addr, sizeof addr, "127.0.0.%d", 10 + i % spread);
  const char *was = src;
  src = addr;
  int fd = dial(false);
  src = was;
  return fd;
}

/* SO_RCVBUF of the sockets dial makes (0: the system's), set before the
 * connection is made: the window offered then fits the buffer. Set after
 * the handshake, a smaller buffer than the window already offered makes
 * this side's kernel drop data it said it had room for; the server's TCP
 * then resends them on its backed-off retransmission timer (13 s, 26 s, ...
 * after ~15 s without reading), and a reply arrived only after MHD's 60 s
 * without progress had closed the connection: the lost replies of the
 * first slow-reader test were this client's doing. */
static int rcvbuf;

static int dial(bool nonblock) {
  int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (src) {
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, src, &sa.sin_addr);
    setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      close(fd);
      return -1;
    }
  }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, host, &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

/* C escapes of the command line: \r \n \t \0 \\ \xHH. */
static size_t unescape(const char *s, char *out) {
  size_t n = 0;
  for (; *s; s++) {
    if (*s != '\\' || !s[1]) {
      out[n++] = *s;
      continue;
    }
    s++;
    switch (*s) {
      case 'r': out[n++] = '\r'; break;
      case 'n': out[n++] = '\n'; break;
      case 't': out[n++] = '\t'; break;
      case '0': out[n++] = '\0'; break;
      case 'x': {
        unsigned v = 0;
        for (int i = 0; i < 2 && s[1]; i++) {
          char c = s[1];
          int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
          if (d < 0) break;
          v = v * 16 + (unsigned)d;
          s++;
        }
        out[n++] = (char)v;
        break;
      }
      default: out[n++] = *s;
    }
  }
  return n;
}

static bool write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

/* Reads one HTTP/1.1 reply (Content-Length framed) from a blocking socket:
 * its status, or 0 when the connection ended first. */
static int read_reply(int fd, char *buf, size_t cap) {
  size_t have = 0;
  for (;;) {
    ssize_t r = recv(fd, buf + have, cap - 1 - have, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 0;
    have += (size_t)r;
    buf[have] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (!end) {
      if (have == cap - 1) return 0;
      continue;
    }
    size_t head = (size_t)(end + 4 - buf);
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t len = cl ? strtoul(cl + 17, NULL, 10) : 0;
    while (have < head + len) {
      size_t room = cap - 1 - have;
      if (!room) { /* a long body: drop what was read */
        memmove(buf + head, buf + have - 1, 1);
        len -= have - 1 - head;
        have = head + 1;
        room = cap - 1 - have;
      }
      r = recv(fd, buf + have, room, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return 0;
      have += (size_t)r;
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) return 0;
    return status;
  }
}

/* ---- hold ------------------------------------------------------------------------ */

typedef struct held {
  int fd;
  bool closed;
  size_t sent; /* bytes of the head sent */
} held;

static held *conns;

/* Whether the server ended fd: EOF or an error, without blocking. */
static bool ended(int fd) {
  char b[4096];
  for (;;) {
    ssize_t r = recv(fd, b, sizeof b, MSG_DONTWAIT);
    if (r > 0) continue; /* a reply (an error page): read on */
    if (r == 0) return true;
    return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
  }
}

static int cmd_hold(int argc, char **argv) {
  if (argc < 3) return 2;
  int n = atoi(argv[2]);
  const char *head = NULL;
  int trickle_ms = 0, at_once = 0;
  bool probe = false;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--src") && i + 1 < argc) src = argv[++i];
    else if (!strcmp(argv[i], "--head") && i + 1 < argc) head = argv[++i];
    else if (!strcmp(argv[i], "--trickle") && i + 1 < argc) trickle_ms = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--at-once") && i + 1 < argc) at_once = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--probe")) probe = true;
    else if (!strcmp(argv[i], "--spread") && i + 1 < argc) spread = atoi(argv[++i]);
    else return 2;
  }
  char *text = NULL;
  size_t tlen = 0;
  if (head) {
    text = malloc(strlen(head) + 1);
    tlen = unescape(head, text);
  }
  conns = calloc((size_t)n, sizeof *conns);
  int connected = 0;
  for (int i = 0; i < n; i++) {
    conns[i].fd = dial_from(i);
    if (conns[i].fd < 0) {
      conns[i].closed = true;
      continue;
    }
    connected++;
  }

  printf("connected %d\n", connected);
  if (probe) {
    static const char get[] = "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n";
    int answered = 0;
    char buf[8192];
    for (int i = 0; i < n; i++) {
      if (conns[i].closed) continue;
      if (write_all(conns[i].fd, get, sizeof get - 1) && read_reply(conns[i].fd, buf, sizeof buf) == 200)
        answered++;
      else
        conns[i].closed = true;
    }
    printf("answered %d\n", answered);
  }
  if (text && !trickle_ms)
    for (int i = 0; i < n; i++)
      if (!conns[i].closed && !write_all(conns[i].fd, text, tlen)) conns[i].closed = true;
  if (text && trickle_ms && at_once > 0) {
    size_t k = (size_t)at_once < tlen ? (size_t)at_once : tlen;
    for (int i = 0; i < n; i++) {
      if (conns[i].closed) continue;
      if (!write_all(conns[i].fd, text, k)) conns[i].closed = true;
      else conns[i].sent = k;
    }
  }
  fflush(stdout);
  /* Reports on request; trickling in between. */
  struct pollfd in = {.fd = 0, .events = POLLIN};
  char line[256];
  size_t pos = 0;
  for (;;) {
    int pr = poll(&in, 1, trickle_ms ? trickle_ms : -1);
    if (pr > 0) {
      ssize_t r = read(0, line + pos, sizeof line - 1 - pos);
      if (r <= 0) break;
      pos += (size_t)r;
      while (memchr(line, '\n', pos)) {
        char *nl = memchr(line, '\n', pos);
        size_t used = (size_t)(nl - line) + 1;
        memmove(line, line + used, pos - used);
        pos -= used;
        int open = 0, closed = 0;
        for (int i = 0; i < n; i++) {
          if (!conns[i].closed && ended(conns[i].fd)) conns[i].closed = true;
          if (conns[i].closed) closed++;
          else open++;
        }
        printf("open %d closed %d\n", open, closed);
        fflush(stdout);
      }
      if (pos == sizeof line - 1) pos = 0;
    }
    if (trickle_ms && text)
      for (int i = 0; i < n; i++) {
        if (conns[i].closed || conns[i].sent >= tlen) continue;
        if (!write_all(conns[i].fd, text + conns[i].sent, 1)) conns[i].closed = true;
        else conns[i].sent++;
      }
  }
  for (int i = 0; i < n; i++)
    if (conns[i].fd >= 0) close(conns[i].fd);
  return 0;
}

/* ---- send ------------------------------------------------------------------------- */

static int cmd_send(int argc, char **argv) {
  if (argc < 3) return 2;
  int wait_ms = 20000;
  for (int i = 3; i < argc; i++) {
    if (!strcmp(argv[i], "--src") && i + 1 < argc) src = argv[++i];
    else if (!strcmp(argv[i], "--wait") && i + 1 < argc) wait_ms = atoi(argv[++i]);
    else return 2;
  }
  char *text = malloc(strlen(argv[2]) + 1);
  size_t n = unescape(argv[2], text);
  int fd = dial(false);
  if (fd < 0) {
    perror("connect");
    return 2;
  }
  if (!write_all(fd, text, n)) {
    /* the server may have answered and closed already: read on */
  }
  uint64_t until = now_us() + (uint64_t)wait_ms * 1000;
  size_t total = 0;
  char buf[65536];
  for (;;) {
    uint64_t now = now_us();
    if (now >= until) {
      if (!total) printf("(no reply)\n");
      printf("(timeout)\n");
      return 0;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)((until - now) / 1000) + 1) <= 0) continue;
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    fwrite(buf, 1, (size_t)r, stdout);
    total += (size_t)r;
  }
  if (!total) printf("(no reply)\n");
  return 0;
}

/* ---- latency ----------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, size_t n, double p) {
  if (!n) return 0;
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i];
}

static int cmd_latency(int argc, char **argv) {
  if (argc < 4) return 2;
  int n = atoi(argv[2]);
  const char *path = argv[3];
  char req[1024], buf[65536];
  int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path);
  uint64_t *lat = calloc((size_t)n, sizeof *lat);
  int ok = 0, fd = dial(false);
  for (int i = 0; i < n; i++) {
    if (fd < 0) fd = dial(false);
    uint64_t t0 = now_us();
    if (fd >= 0 && write_all(fd, req, (size_t)rl) && read_reply(fd, buf, sizeof buf) == 200) {
      lat[ok++] = now_us() - t0;
    } else if (fd >= 0) {
      close(fd);
      fd = -1;
    }
  }
  qsort(lat, (size_t)ok, sizeof *lat, cmp_u64);
  printf("ok %d p50_us %llu p99_us %llu max_us %llu\n", ok,
         (unsigned long long)pct(lat, (size_t)ok, 0.5), (unsigned long long)pct(lat, (size_t)ok, 0.99),
         (unsigned long long)(ok ? lat[ok - 1] : 0));
  return 0;
}

/* ---- openloop --------------------------------------------------------------------- */

typedef struct olreq {
  int fd;
  uint64_t due_us;
  size_t sent, have;
  char buf[8192];
  bool done;
} olreq;

static int cmd_openloop(int argc, char **argv) {
  if (argc < 5) return 2;
  double rate = atof(argv[2]);
  double secs = atof(argv[3]);
  const char *path = argv[4];
  int timeout_ms = 10000;
  for (int i = 5; i < argc; i++) {
    if (!strcmp(argv[i], "--timeout") && i + 1 < argc) timeout_ms = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--src") && i + 1 < argc) src = argv[++i];
    else return 2;
  }
  size_t total = (size_t)(rate * secs);
  char req[1024];
  int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", path);
  olreq *rs = calloc(total, sizeof *rs);
  uint64_t *lat = calloc(total, sizeof *lat);
  int ep = epoll_create1(0);
  uint64_t start = now_us(), step = (uint64_t)(1e6 / rate);
  size_t next = 0, finished = 0, ok = 0;
  while (finished < total) {
    uint64_t now = now_us();
    while (next < total && start + next * step <= now) {
      olreq *q = &rs[next];
      q->due_us = start + next * step;
      q->fd = dial(true);
      if (q->fd < 0) {
        q->done = true;
        finished++;
      } else {
        struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = q};
        epoll_ctl(ep, EPOLL_CTL_ADD, q->fd, &ev);
      }
      next++;
    }
    /* requests past their timeout fail */
    for (size_t i = 0; i < next; i++) {
      olreq *q = &rs[i];
      if (q->done || now < q->due_us + (uint64_t)timeout_ms * 1000) continue;
      close(q->fd);
      q->done = true;
      finished++;
    }
    uint64_t wake = next < total ? start + next * step : now + 1000;
    int wait_ms = wake > now ? (int)((wake - now) / 1000) : 0;
    if (wait_ms > 10) wait_ms = 10;
    struct epoll_event evs[256];
    int k = epoll_wait(ep, evs, 256, wait_ms);
    for (int e = 0; e < k; e++) {
      olreq *q = evs[e].data.ptr;
      if (q->done) continue;
      if (q->sent < (size_t)rl && (evs[e].events & EPOLLOUT)) {
        ssize_t w = send(q->fd, req + q->sent, (size_t)rl - q->sent, MSG_NOSIGNAL);
        if (w > 0) q->sent += (size_t)w;
        if (q->sent == (size_t)rl) {
          struct epoll_event ev = {.events = EPOLLIN, .data.ptr = q};
          epoll_ctl(ep, EPOLL_CTL_MOD, q->fd, &ev);
        }
      }
      if (evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        ssize_t r;
        while ((r = recv(q->fd, q->buf + q->have, sizeof q->buf - 1 - q->have, 0)) > 0) {
          q->have += (size_t)r;
          if (q->have == sizeof q->buf - 1) q->have = 64; /* keep the status line */
        }
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          q->buf[q->have] = '\0';
          int status = 0;
          sscanf(q->buf, "HTTP/1.%*d %d", &status);
          if (status == 200) lat[ok++] = now_us() - q->due_us;
          close(q->fd);
          q->done = true;
          finished++;
        }
      }
    }
  }
  qsort(lat, ok, sizeof *lat, cmp_u64);
  printf("sent %zu ok %zu (%.1f%%) p50_us %llu p99_us %llu\n", total, ok,
         total ? 100.0 * (double)ok / (double)total : 0.0,
         (unsigned long long)pct(lat, ok, 0.5), (unsigned long long)pct(lat, ok, 0.99));
  return 0;
}

/* ---- slowread --------------------------------------------------------------------- */

static int cmd_slowread(int argc, char **argv) {
  if (argc < 4) return 2;
  int n = atoi(argv[2]);
  const char *path = argv[3];
  for (int i = 4; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--src")) src = argv[i + 1];
    else if (!strcmp(argv[i], "--spread")) spread = atoi(argv[i + 1]);
    else return 2;
  }
  char req[1024];
  int rl = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", path);
  int *fds = calloc((size_t)n, sizeof *fds);
  int sent = 0;
  rcvbuf = 4096; /* a small window: the server holds what we do not read */
  for (int i = 0; i < n; i++) {
    fds[i] = dial_from(i);
    if (fds[i] < 0) continue;
    if (write_all(fds[i], req, (size_t)rl)) sent++;
  }
  printf("sent %d\n", sent);
  fflush(stdout);
  char buf[65536];
  while (read(0, buf, sizeof buf) > 0) {
  }
  int complete = 0, other = 0;
  unsigned long long bytes = 0;
  for (int i = 0; i < n; i++) {
    if (fds[i] < 0) continue;
    size_t have = 0, head = 0, len = 0;
    bool ok = false, whole = false;
    char *h = malloc(65536);
    for (;;) {
      ssize_t r = recv(fds[i], head ? buf : h + have, head ? sizeof buf : 65535 - have, 0);
      if (r <= 0) break;
      bytes += (unsigned long long)r;
      if (!head) {
        have += (size_t)r;
        h[have] = '\0';
        char *end = strstr(h, "\r\n\r\n");
        if (!end) continue;
        head = (size_t)(end + 4 - h);
        const char *cl = strcasestr(h, "\r\nContent-Length:");
        len = cl ? strtoul(cl + 17, NULL, 10) : 0;
        have -= head;
      } else {
        have += (size_t)r;
      }
      if (have >= len) {
        ok = strncmp(h, "HTTP/1.1 200", 12) == 0;
        whole = true;
        break;
      }
    }
    free(h);
    if (ok) complete++;
    else if (whole) other++;
    close(fds[i]);
  }
  printf("complete %d other %d bytes %llu\n", complete, other, bytes);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: hclient hold|send|latency|openloop|slowread HOST PORT ...\n");
    return 2;
  }
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  host = argv[2];
  port = atoi(argv[3]);
  const char *mode = argv[1];
  argv += 2;
  argc -= 2;
  argv[0] = (char *)mode;
  int rc = !strcmp(mode, "hold")       ? cmd_hold(argc, argv)
           : !strcmp(mode, "send")     ? cmd_send(argc, argv)
           : !strcmp(mode, "latency")  ? cmd_latency(argc, argv)
           : !strcmp(mode, "openloop") ? cmd_openloop(argc, argv)
           : !strcmp(mode, "slowread") ? cmd_slowread(argc, argv)
                                       : 2;
  if (rc == 2) fprintf(stderr, "hclient: bad arguments for %s\n", mode);
  return rc;
}
