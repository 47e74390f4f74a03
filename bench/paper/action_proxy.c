/* The action proxy inside each benchmark container (OpenWhisk's blackbox model): a tiny HTTP
 * server that runs the function as a child process per call.
 *
 *   action_proxy PORT PROGRAM DIR
 *
 * Listens on 127.0.0.1:PORT (the container shares the host's network). Each request
 * `POST /run?arg=A&arg=B` runs PROGRAM A B with DIR as its working directory and the request
 * body as stdin, and answers 200 with its stdout (502 if it exited non-zero), with the child's
 * wall time in `X-Exec-Us`. `GET /ready` answers 200: the driver polls it after `docker run`.
 * One call at a time, one request per connection (Connection: close), as OpenWhisk gives a
 * container one activation at a time. Built with gcc -static: the image holds nothing else. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HEADER_MAX 16384
#define ARGS_MAX 16

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void reply(int fd, int status, const char *reason, long long exec_us, const char *body,
                  size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nX-Exec-Us: %lld\r\n"
                     "Connection: close\r\n\r\n", status, reason, len, exec_us);
    if (write_all(fd, head, (size_t)n) == 0 && len > 0)
        write_all(fd, body, len);
}

static int hex(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes %XX and '+' in place. */
static void url_decode(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (*s == '%' && hex(s[1]) >= 0 && hex(s[2]) >= 0) {
            *out++ = (char)(hex(s[1]) * 16 + hex(s[2]));
            s += 2;
        } else {
            *out++ = *s == '+' ? ' ' : *s;
        }
    }
    *out = 0;
}

/* Splits "arg=A&arg=B" into argv[1..]; returns the count of arguments. */
static int parse_args(char *query, char **argv)
{
    int argc = 0;
    for (char *pair = strtok(query, "&"); pair && argc < ARGS_MAX; pair = strtok(NULL, "&")) {
        if (strncmp(pair, "arg=", 4) != 0)
            continue;
        url_decode(pair + 4);
        argv[argc++] = pair + 4;
    }
    return argc;
}

/* Runs the program with the body as stdin (a memfd: no pipe to deadlock on) and collects its
 * stdout into *out (from malloc, caller frees). Returns the exit status, -1 on a failure here. */
static int run_child(const char *program, const char *dir, char **args, int nargs,
                     const char *body, size_t body_len, char **out, size_t *out_len)
{
    int in = memfd_create("body", 0);
    int pipe_fds[2];
    if (in < 0 || write_all(in, body, body_len) < 0 || lseek(in, 0, SEEK_SET) < 0 ||
        pipe(pipe_fds) < 0)
        return -1;
    char *argv[ARGS_MAX + 2];
    argv[0] = (char *)program;
    for (int i = 0; i < nargs; i++)
        argv[i + 1] = args[i];
    argv[nargs + 1] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", 1);
        if (chdir(dir) < 0)
            _exit(126);
        dup2(in, 0);
        dup2(pipe_fds[1], 1);
        if (devnull >= 0)
            dup2(devnull, 2);
        execv(program, argv);
        _exit(127);
    }
    close(in);
    close(pipe_fds[1]);
    if (pid < 0) {
        close(pipe_fds[0]);
        return -1;
    }
    size_t cap = 65536, used = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf && used == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                buf = NULL;
            } else {
                buf = bigger;
                cap *= 2;
            }
        }
        char sink[4096];
        ssize_t n = buf ? read(pipe_fds[0], buf + used, cap - used) : read(pipe_fds[0], sink, sizeof sink);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (buf)
            used += (size_t)n;
    }
    close(pipe_fds[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    *out = buf;
    *out_len = used;
    if (!buf)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void serve(int fd, const char *program, const char *dir)
{
    char *req = malloc(HEADER_MAX);
    size_t used = 0;
    char *end = NULL;
    if (!req)
        return;
    while (!end && used < HEADER_MAX - 1) {
        ssize_t n = read(fd, req + used, HEADER_MAX - 1 - used);
        if (n <= 0)
            goto done;
        used += (size_t)n;
        req[used] = 0;
        end = strstr(req, "\r\n\r\n");
    }
    if (!end) {
        reply(fd, 431, "Request Header Fields Too Large", 0, "", 0);
        goto done;
    }
    *end = 0;
    size_t have = used - (size_t)(end + 4 - req);
    size_t content_length = 0;
    for (char *line = strstr(req, "\r\n"); line; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            content_length = strtoul(line + 17, NULL, 10);
    char *body = malloc(content_length + 1);
    if (!body)
        goto done;
    memcpy(body, end + 4, have < content_length ? have : content_length);
    while (have < content_length) {
        ssize_t n = read(fd, body + have, content_length - have);
        if (n <= 0) {
            free(body);
            goto done;
        }
        have += (size_t)n;
    }
    char *target = strchr(req, ' ');
    char *space = target ? strchr(target + 1, ' ') : NULL;
    if (!space) {
        reply(fd, 400, "Bad Request", 0, "", 0);
        free(body);
        goto done;
    }
    *space = 0;
    target++;
    if (strcmp(target, "/ready") == 0) {
        reply(fd, 200, "OK", 0, "", 0);
        free(body);
        goto done;
    }
    char *query = strchr(target, '?');
    char *args[ARGS_MAX];
    int nargs = query ? parse_args(query + 1, args) : 0;
    char *out = NULL;
    size_t out_len = 0;
    long long start = now_us();
    int status = run_child(program, dir, args, nargs, body, content_length, &out, &out_len);
    long long exec_us = now_us() - start;
    if (status == 0)
        reply(fd, 200, "OK", exec_us, out, out_len);
    else
        reply(fd, 502, "Bad Gateway", exec_us, out ? out : "", out ? out_len : 0);
    free(out);
    free(body);
done:
    free(req);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: action_proxy PORT PROGRAM DIR\n");
        return 64;
    }
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])) };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 64) < 0) {
        fprintf(stderr, "action_proxy: cannot listen on 127.0.0.1:%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    for (;;) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            continue;
        serve(fd, argv[2], argv[3]);
        close(fd);
    }
}
