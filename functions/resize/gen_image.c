/* Writes the large test image of resize on stdout: a WIDTHxHEIGHT JPEG (default 4000x3000,
 * quality 90), deterministic, with the smooth areas, edges and texture of a photo so that the
 * decoder and encoder do realistic work: a sky gradient, overlapping discs and a noise grain.
 *
 *   gen_image [WIDTH HEIGHT] > big.jpg */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <stb/stb_image_write.h>

static uint32_t rng_state = 2463534242u;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static unsigned char clamp_byte(int v)
{
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

static void write_stdout(void *failed, void *data, int size)
{
    if (fwrite(data, 1, (size_t)size, stdout) != (size_t)size)
        *(int *)failed = 1;
}

struct disc { int x, y, r; unsigned char rgb[3]; };

int main(int argc, char **argv)
{
    int w = 4000, h = 3000;
    if (argc == 3) {
        w = atoi(argv[1]);
        h = atoi(argv[2]);
    }
    if ((argc != 1 && argc != 3) || w < 16 || h < 16 || (long)w * h > 100L * 1000 * 1000) {
        fprintf(stderr, "usage: gen_image [WIDTH HEIGHT] (16 to 100 Mpixel)\n");
        return 64;
    }
    unsigned char *px = malloc((size_t)w * h * 3);
    if (!px) {
        fprintf(stderr, "gen_image: out of memory\n");
        return 1;
    }
    enum { DISCS = 40 };
    struct disc discs[DISCS];
    for (int i = 0; i < DISCS; i++) {
        discs[i].x = (int)(rng_next() % (uint32_t)w);
        discs[i].y = (int)(rng_next() % (uint32_t)h);
        discs[i].r = h / 40 + (int)(rng_next() % (uint32_t)(h / 6));
        for (int c = 0; c < 3; c++)
            discs[i].rgb[c] = (unsigned char)(rng_next() % 256);
    }
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned char *p = px + ((size_t)y * w + x) * 3;
            /* sky: blue at the top to pale at the bottom */
            p[0] = (unsigned char)(80 + 150 * y / h);
            p[1] = (unsigned char)(120 + 110 * y / h);
            p[2] = (unsigned char)(230 - 40 * y / h);
            for (int i = 0; i < DISCS; i++) {
                long dx = x - discs[i].x, dy = y - discs[i].y;
                if (dx * dx + dy * dy <= (long)discs[i].r * discs[i].r) {
                    /* shaded towards the rim */
                    int shade = (int)((dx * dx + dy * dy) * 60 / ((long)discs[i].r * discs[i].r));
                    for (int c = 0; c < 3; c++)
                        p[c] = clamp_byte(discs[i].rgb[c] - shade);
                }
            }
            int grain = (int)(rng_next() % 17) - 8;
            for (int c = 0; c < 3; c++)
                p[c] = clamp_byte(p[c] + grain);
        }
    }
    int failed = 0;
    int ok = stbi_write_jpg_to_func(write_stdout, &failed, w, h, 3, px, 90);
    free(px);
    if (!ok || failed || fflush(stdout) != 0) {
        fprintf(stderr, "gen_image: writing the JPEG failed\n");
        return 1;
    }
    return 0;
}
