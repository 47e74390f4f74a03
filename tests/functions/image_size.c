/* Test helper of tests/functions/functions.sh: decodes an image file completely with stb_image
 * and prints "FORMAT WIDTH HEIGHT CHANNELS" (FORMAT is jpeg when the file starts with a JPEG
 * SOI marker, else other). Exit 1 with a message when the file cannot be read or decoded. */
#include <stdio.h>
#include <stdlib.h>

#include <stb/stb_image.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: image_size FILE\n");
        return 64;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    size_t cap = 1 << 20, len = 0;
    unsigned char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            unsigned char *bigger = realloc(buf, cap *= 2);
            if (!bigger)
                free(buf);
            buf = bigger;
        }
    }
    fclose(f);
    if (!buf) {
        fprintf(stderr, "image_size: out of memory\n");
        return 1;
    }
    int w, h, c;
    unsigned char *px = stbi_load_from_memory(buf, (int)len, &w, &h, &c, 0);
    if (!px) {
        fprintf(stderr, "image_size: %s: %s\n", argv[1], stbi_failure_reason());
        free(buf);
        return 1;
    }
    int jpeg = len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff;
    printf("%s %d %d %d\n", jpeg ? "jpeg" : "other", w, h, c);
    stbi_image_free(px);
    free(buf);
    return 0;
}
