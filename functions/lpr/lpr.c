/* lpr, the license plate reader of the paper's section 4: is this plate on the watch list?
 *
 *   lpr [PLATE]        the plate is argv[1], or the request body on stdin when there is none
 *
 * Answers one JSON line on stdout, {"plate":"ABC1234","listed":true,"reason":"stolen vehicle"}
 * ("reason" only when listed). The watch list is watchlist.txt, opened by relative path: the
 * function's own files directory is the working directory natively and the preopen "/" that
 * wasi-libc resolves relative paths against under mote. Exit 0 on an answer, 1 with a message
 * on stderr for a malformed plate, 2 when the watch list cannot be read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/body.h"
#include "plate.h"

#define WATCHLIST_PATH "watchlist.txt"

/* Longest watch-list line we accept: "PLATE REASON\n" with a short reason. */
#define LINE_MAX_BYTES 256

/* Looks plate up in the open watch list, one "PLATE REASON" per line. Returns 1 and copies
 * the reason when listed, 0 when not, -1 (message printed) on a malformed list. */
static int watchlist_find(FILE *list, const char *plate, char reason[LINE_MAX_BYTES])
{
    char line[LINE_MAX_BYTES];
    size_t plate_len = strlen(plate);
    unsigned long line_no = 0;
    while (fgets(line, sizeof line, list)) {
        line_no++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') {
            fprintf(stderr, "lpr: %s line %lu is too long or unterminated; "
                    "regenerate the watch list\n", WATCHLIST_PATH, line_no);
            return -1;
        }
        line[len - 1] = 0;
        if (strncmp(line, plate, plate_len) == 0 && line[plate_len] == ' ') {
            strcpy(reason, line + plate_len + 1);
            return 1;
        }
    }
    if (ferror(list)) {
        fprintf(stderr, "lpr: reading %s failed\n", WATCHLIST_PATH);
        return -1;
    }
    return 0;
}

/* Prints s as a JSON string: quotes and backslashes escaped, control bytes dropped. */
static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        if ((unsigned char)*s >= 0x20)
            putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    unsigned char *body = NULL;
    const char *raw;
    size_t raw_len;
    if (argc > 2) {
        fprintf(stderr, "lpr: give one plate (argument or body), not %d arguments\n", argc - 1);
        return 1;
    }
    if (argc == 2) {
        raw = argv[1];
        raw_len = strlen(raw);
    } else {
        body = body_read_stdin("lpr", &raw_len);
        if (!body)
            return 1;
        raw = (const char *)body;
    }

    char plate[PLATE_MAX_LEN + 1], err[160];
    int status = plate_canonical(raw, raw_len, plate, err, sizeof err);
    free(body);
    if (status != 0) {
        fprintf(stderr, "lpr: bad plate: %s\n", err);
        return 1;
    }

    FILE *list = fopen(WATCHLIST_PATH, "r");
    if (!list) {
        perror("lpr: cannot open the watch list " WATCHLIST_PATH
               " (run from the function's files directory)");
        return 2;
    }
    /* Read the list in large blocks: stdio's default buffer is 1 KiB in wasi-libc (musl's
     * BUFSIZ) and 4 KiB in glibc, i.e. 250 or 63 reads of the 255 KB list, each a system call
     * (and under WASI a host call too). */
    static char list_buf[64 * 1024];
    setvbuf(list, list_buf, _IOFBF, sizeof list_buf);
    char reason[LINE_MAX_BYTES];
    int found = watchlist_find(list, plate, reason);
    fclose(list);
    if (found < 0)
        return 2;

    /* plate is [A-Z0-9]: nothing to escape. The reason comes from a file. */
    if (found) {
        printf("{\"plate\":\"%s\",\"listed\":true,\"reason\":", plate);
        print_json_string(reason);
        printf("}\n");
    } else
        printf("{\"plate\":\"%s\",\"listed\":false}\n", plate);
    return 0;
}
