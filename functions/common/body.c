/* Reads a function's request body from stdin (see body.h). */
#include "body.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned char *body_read_stdin(const char *name, size_t *len)
{
    size_t cap = 1 << 16, used = 0;
    unsigned char *buf = malloc(cap + 1);
    if (!buf)
        goto out_of_memory;
    for (;;) {
        if (used == cap) {
            if (cap >= BODY_MAX_BYTES) {
                /* Exactly BODY_MAX_BYTES is allowed: refuse only when more follows. */
                char probe;
                ssize_t more;
                while ((more = read(STDIN_FILENO, &probe, 1)) < 0 && errno == EINTR)
                    ;
                if (more == 0)
                    break;
                fprintf(stderr, "%s: the input is larger than %zu MiB; send a smaller one\n",
                        name, BODY_MAX_BYTES >> 20);
                free(buf);
                return NULL;
            }
            cap *= 2;
            unsigned char *bigger = realloc(buf, cap + 1);
            if (!bigger)
                goto out_of_memory;
            buf = bigger;
        }
        ssize_t n = read(STDIN_FILENO, buf + used, cap - used);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "%s: cannot read the input from stdin: %s\n", name, strerror(errno));
            free(buf);
            return NULL;
        }
        used += (size_t)n;
    }
    buf[used] = 0;
    *len = used;
    return buf;

out_of_memory:
    fprintf(stderr, "%s: out of memory while reading the input\n", name);
    free(buf);
    return NULL;
}
