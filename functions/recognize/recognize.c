/* recognize, the image recogniser of the paper's section 4: an image in, the Fashion-MNIST
 * class the network sees in it out.
 *
 *   recognize < image          a PGM, PNG or JPEG of any size
 *
 * Answers one JSON line, {"class":"Sneaker","index":7,"confidence":0.9312}. Exit 0 on an
 * answer, 1 with a message on stderr for a body that is not an image, 2 when the weights
 * cannot be loaded.
 *
 * Preprocessing, to meet Fashion-MNIST's convention (a light object on a black background,
 * the object filling the 28x28 frame): the image is read as grey; when its border is mostly
 * light (mean over 127, as in a photo of an object on a white table) it is inverted; it is then
 * scaled so that its longer side is 28 pixels, aspect kept, and centred on black. A 28x28
 * image is taken as it is (only the inversion rule applies), so the dataset's own images are
 * classified exactly as the trainer measured them.
 *
 * The weights (weights.bin, relative path: the function's files directory) are loaded by
 * mote_init, which the platform runs once per deployed version before snapshotting memory, so
 * calls start with the network in place. main() loads them itself when nobody called
 * mote_init (a native run, `mote run`, Node). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>

#include "../common/body.h"
#include "../common/heap.h"
#include "mlp.h"

#define WEIGHTS_PATH "weights.bin"
/* Decoding a bigger image would take more memory than the answer is worth. */
#define PIXELS_MAX (50L * 1000 * 1000)

#ifdef __wasm__
#define MOTE_EXPORT(name) __attribute__((export_name(name)))
#else
#define MOTE_EXPORT(name)
#endif

/* Heap grown by mote_init: decoding a 1 Mpixel RGB photo and its grey copy fits. */
#define RECOGNIZE_HEAP_RESERVE ((size_t)8 << 20)

/* The state mote_init leaves for every call: the network, or why it could not be loaded. */
static int initialized;
static struct mlp network;
static char init_error[256];

void mote_init(void) MOTE_EXPORT("mote_init");

void mote_init(void)
{
    if (initialized)
        return;
    if (mlp_load(&network, WEIGHTS_PATH, init_error, sizeof init_error) == 0)
        init_error[0] = 0;
    /* A photo's decode and scale buffers, ready in the snapshot (heap.c). */
    heap_reserve(RECOGNIZE_HEAP_RESERVE);
    initialized = 1;
}

/* Mean of the pixels on the image's outer edge. */
static int border_mean(const unsigned char *px, int w, int h)
{
    long sum = 0, n = 0;
    for (int x = 0; x < w; x++) {
        sum += px[x] + px[(size_t)(h - 1) * w + x];
        n += 2;
    }
    for (int y = 1; y < h - 1; y++) {
        sum += px[(size_t)y * w] + px[(size_t)y * w + w - 1];
        n += 2;
    }
    return (int)(sum / n);
}

/* grey (w x h, may be inverted in place) -> the network's 28x28 frame. 0 or -1. */
static int to_frame(unsigned char *grey, int w, int h, unsigned char frame[MLP_INPUTS])
{
    if (border_mean(grey, w, h) > 127)
        for (size_t i = 0; i < (size_t)w * h; i++)
            grey[i] = (unsigned char)(255 - grey[i]);
    if (w == MLP_SIDE && h == MLP_SIDE) {
        memcpy(frame, grey, MLP_INPUTS);
        return 0;
    }
    int fw = w >= h ? MLP_SIDE : (int)(((long)w * MLP_SIDE + h / 2) / h);
    int fh = h >= w ? MLP_SIDE : (int)(((long)h * MLP_SIDE + w / 2) / w);
    if (fw < 1)
        fw = 1;
    if (fh < 1)
        fh = 1;
    memset(frame, 0, MLP_INPUTS);
    unsigned char *at = frame + ((MLP_SIDE - fh) / 2) * MLP_SIDE + (MLP_SIDE - fw) / 2;
    return stbir_resize_uint8(grey, w, h, 0, at, fw, fh, MLP_SIDE, 1) ? 0 : -1;
}

int main(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "recognize: takes no arguments; send the image (PGM, PNG or JPEG) as the "
                "body\n");
        return 1;
    }
    if (!initialized)
        mote_init();
    if (init_error[0]) {
        fprintf(stderr, "recognize: cannot load the network: %s\n", init_error);
        return 2;
    }

    size_t len;
    unsigned char *body = body_read_stdin("recognize", &len);
    if (!body)
        return 1;
    int w, h, channels, status = 1;
    unsigned char *grey = NULL;
    if (len == 0) {
        fprintf(stderr, "recognize: the body is empty; send an image (PGM, PNG or JPEG)\n");
        goto done;
    }
    if (!stbi_info_from_memory(body, (int)len, &w, &h, &channels)) {
        fprintf(stderr, "recognize: the body is not an image stb_image can read (%s); send a "
                "PGM, PNG or JPEG\n", stbi_failure_reason());
        goto done;
    }
    if ((long)w * h > PIXELS_MAX) {
        fprintf(stderr, "recognize: the image is %dx%d, over %ld pixels; send a smaller one\n",
                w, h, PIXELS_MAX);
        goto done;
    }
    grey = stbi_load_from_memory(body, (int)len, &w, &h, &channels, 1);
    if (!grey) {
        fprintf(stderr, "recognize: cannot decode the image: %s\n", stbi_failure_reason());
        goto done;
    }
    unsigned char frame[MLP_INPUTS];
    if (to_frame(grey, w, h, frame) != 0) {
        fprintf(stderr, "recognize: out of memory scaling the %dx%d image\n", w, h);
        status = 2;
        goto done;
    }

    float in[MLP_INPUTS], probs[MLP_CLASSES];
    float *hidden = malloc((size_t)network.hidden * sizeof(float));
    if (!hidden) {
        fprintf(stderr, "recognize: out of memory\n");
        status = 2;
        goto done;
    }
    mlp_input_from_pixels(frame, in);
    mlp_forward(&network, in, hidden, probs);
    free(hidden);
    int best = 0;
    for (int k = 1; k < MLP_CLASSES; k++)
        if (probs[k] > probs[best])
            best = k;
    printf("{\"class\":\"%s\",\"index\":%d,\"confidence\":%.4f}\n", mlp_class_names[best], best,
           (double)probs[best]);
    status = 0;

done:
    free(body);
    stbi_image_free(grey);
    return status;
}
