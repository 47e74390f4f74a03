/* The native baseline of Table 2: runs a program as a process per call, the way a container's
 * action proxy does, and prints each call's wall time from fork to exit.
 *
 *   spawn_time RUNS DIR INPUT PROGRAM [ARGS...]
 *
 * Every run gets INPUT as stdin and DIR as its working directory; stdout and stderr go to
 * /dev/null. Prints one line per run: "WALL_US CPU_US" (CPU = the child's user + system time).
 * Exits 1 if any run exits non-zero (a wrong input would measure an error path). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: spawn_time RUNS DIR INPUT PROGRAM [ARGS...]\n");
        return 64;
    }
    int runs = atoi(argv[1]);
    for (int i = 0; i < runs; i++) {
        int in = open(argv[3], O_RDONLY);
        if (in < 0) {
            perror(argv[3]);
            return 1;
        }
        long long start = now_us();
        pid_t pid = fork();
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            if (chdir(argv[2]) < 0)
                _exit(126);
            dup2(in, 0);
            dup2(devnull, 1);
            dup2(devnull, 2);
            execv(argv[4], argv + 4);
            _exit(127);
        }
        int status;
        struct rusage usage;
        while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR)
            ;
        long long wall = now_us() - start;
        close(in);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_time: %s failed (status %d)\n", argv[4], status);
            return 1;
        }
        long long cpu = usage.ru_utime.tv_sec * 1000000LL + usage.ru_utime.tv_usec +
                        usage.ru_stime.tv_sec * 1000000LL + usage.ru_stime.tv_usec;
        printf("%lld %lld\n", wall, cpu);
    }
    return 0;
}
