/* The in-program native floor of Table 2: a function's own main (renamed function_main by
 * objcopy, linked with its native objects) called RUNS times in this one process, each call
 * timed from entry to return; no process creation, as mote's exec time has none.
 *
 *   native_loop RUNS DIR INPUT [ARGS...]
 *
 * Each call gets INPUT as a fresh stdin and /dev/null as stdout, in DIR. One call runs first,
 * untimed: it loads what the function keeps in globals (recognize's weights), which mote does
 * once at deploy (its snapshot); its answer goes to the file $NATIVE_LOOP_ANSWER names, if
 * set. Prints one line per timed call: "WALL_US" on stdout. Exits 1 if a call
 * returns non-zero. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int function_main(int argc, char **argv);

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int call_once(const char *input, int argc, char **argv, long long *ns)
{
    int in = open(input, O_RDONLY);
    if (in < 0 || dup2(in, STDIN_FILENO) < 0) {
        perror(input);
        exit(1);
    }
    close(in);
    long long start = now_ns();
    int status = function_main(argc, argv);
    fflush(stdout);
    *ns = now_ns() - start;
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: native_loop RUNS DIR INPUT [ARGS...]\n");
        return 64;
    }
    int runs = atoi(argv[1]);
    const char *input = argv[3];
    if (chdir(argv[2]) < 0) {
        perror(argv[2]);
        return 1;
    }
    /* The timings go to the original stdout; the function's answers to /dev/null, but the
     * first (untimed) call's to $NATIVE_LOOP_ANSWER when it is set (a file; relative to DIR,
     * where the loop runs), so that a caller can compare it. */
    FILE *results = fdopen(dup(STDOUT_FILENO), "w");
    int devnull = open("/dev/null", O_WRONLY);
    const char *answer_path = getenv("NATIVE_LOOP_ANSWER");
    int answer = answer_path ? open(answer_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : devnull;
    if (!results || devnull < 0 || answer < 0 || dup2(answer, STDOUT_FILENO) < 0)
        return 1;
    /* argv for the function: its name, then ARGS. */
    char **fargv = argv + 3;
    int fargc = argc - 3;
    long long ns;
    for (int i = 0; i <= runs; i++) {
        if (call_once(input, fargc, fargv, &ns) != 0) {
            fprintf(stderr, "native_loop: the function failed on call %d\n", i);
            return 1;
        }
        if (i == 0 && answer != devnull && (dup2(devnull, STDOUT_FILENO) < 0 || close(answer) != 0))
            return 1;
        if (i > 0)
            fprintf(results, "%lld\n", ns / 1000);
    }
    fclose(results);
    return 0;
}
