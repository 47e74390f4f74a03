/* resize, the image resizer of the paper's section 4: a JPEG in, the same picture scaled by a
 * percentage out.
 *
 *   resize PERCENT < in.jpg > out.jpg        PERCENT is an integer, 1 to 400
 *
 * Width and height are each scaled by PERCENT/100, rounded to the nearest pixel (at least 1).
 * The body may also be a PNG or PGM/PPM (stb_image decodes all three); the answer is always a
 * baseline JPEG, quality 90, with the input's colour channels (grey stays grey). Exit 0 on an
 * answer, 1 with a message on stderr for bad arguments or an image that cannot be decoded,
 * 2 when the result would be too large or memory runs out. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>

#include "../common/body.h"
#include "../common/heap.h"

#define PERCENT_MIN 1
#define PERCENT_MAX 400
#define JPEG_QUALITY 90
/* Input and output each stay under this many pixels: 50 Mpixel RGB is 150 MB, which with the
 * body and the other image still fits the server's default 256 MiB memory cap. */
#define PIXELS_MAX (50L * 1000 * 1000)

#ifdef __wasm__
#define MOTE_EXPORT(name) __attribute__((export_name(name)))
#else
#define MOTE_EXPORT(name)
#endif
/* Heap grown by mote_init (heap.c): a photo of about 1 Mpixel in and out at 200% fits, so
 * the usual call grows no memory; bigger ones grow it as they go. (32 MiB made Node 20
 * segfault in tests/functions/run-node.mjs, which calls mote_init before _start.) */
#define RESIZE_HEAP_RESERVE ((size_t)16 << 20)

/* Run once by the platform before it snapshots the memory (functions/README.md). Only
 * prepares the heap: a call does not need it to have run. */
void mote_init(void) MOTE_EXPORT("mote_init");
void mote_init(void)
{
    heap_reserve(RESIZE_HEAP_RESERVE);
}

static int parse_percent(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < PERCENT_MIN || v > PERCENT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* The scaled length of one side: round(side * percent / 100), at least 1. */
static int scaled(int side, int percent)
{
    long v = ((long)side * percent + 50) / 100;
    return v < 1 ? 1 : (int)v;
}

/* stbi_write_jpg_to_func's sink: the encoder hands us chunks of the file. */
static void write_stdout(void *failed, void *data, int size)
{
    if (fwrite(data, 1, (size_t)size, stdout) != (size_t)size)
        *(int *)failed = 1;
}

int main(int argc, char **argv)
{
    int percent;
    if (argc != 2 || parse_percent(argv[1], &percent) != 0) {
        fprintf(stderr, "resize: give the scale as one argument, an integer percentage from %d "
                "to %d (e.g. 50), and the JPEG as the body\n", PERCENT_MIN, PERCENT_MAX);
        return 1;
    }

    size_t len;
    unsigned char *body = body_read_stdin("resize", &len);
    if (!body)
        return 1;
    int status = 1;
    unsigned char *in = NULL, *out = NULL;
    int w, h, channels;
    if (len == 0) {
        fprintf(stderr, "resize: the body is empty; send a JPEG image\n");
        goto done;
    }
    if (!stbi_info_from_memory(body, (int)len, &w, &h, &channels)) {
        fprintf(stderr, "resize: the body is not an image stb_image can read (%s); "
                "send a JPEG, PNG or PGM/PPM\n", stbi_failure_reason());
        goto done;
    }
    int ow = scaled(w, percent), oh = scaled(h, percent);
    if ((long)w * h > PIXELS_MAX || (long)ow * oh > PIXELS_MAX) {
        fprintf(stderr, "resize: %dx%d scaled by %d%% is %dx%d; images over %ld pixels are "
                "refused, use a smaller image or percentage\n", w, h, percent, ow, oh, PIXELS_MAX);
        status = 2;
        goto done;
    }
    /* Grey and RGB pass through; alpha is dropped because JPEG has none. */
    int out_channels = channels <= 2 ? 1 : 3;
    in = stbi_load_from_memory(body, (int)len, &w, &h, &channels, out_channels);
    if (!in) {
        fprintf(stderr, "resize: cannot decode the image: %s\n", stbi_failure_reason());
        goto done;
    }
    free(body);
    body = NULL;

    out = malloc((size_t)ow * oh * out_channels);
    if (!out) {
        fprintf(stderr, "resize: out of memory for a %dx%d result\n", ow, oh);
        status = 2;
        goto done;
    }
    if (!stbir_resize_uint8(in, w, h, 0, out, ow, oh, 0, out_channels)) {
        fprintf(stderr, "resize: resizing %dx%d to %dx%d failed (out of memory)\n", w, h, ow, oh);
        status = 2;
        goto done;
    }
    int write_failed = 0;
    if (!stbi_write_jpg_to_func(write_stdout, &write_failed, ow, oh, out_channels, out,
                                JPEG_QUALITY) || write_failed || fflush(stdout) != 0) {
        fprintf(stderr, "resize: writing the JPEG to stdout failed\n");
        status = 2;
        goto done;
    }
    status = 0;

done:
    free(body);
    stbi_image_free(in);
    free(out);
    return status;
}
