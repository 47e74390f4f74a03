/* Trains recognize's network on Fashion-MNIST (Debian's dataset-fashion-mnist), natively, at
 * build time: plain stochastic gradient descent on cross-entropy, one sample at a time, a fixed
 * seed and a fixed number of epochs, so the same toolchain always writes the same weights.
 *
 *   train DATA_DIR WEIGHTS_OUT SAMPLES_DIR [EPOCHS [HIDDEN]]
 *
 * DATA_DIR holds the four uncompressed IDX files (train-images-idx3-ubyte, ...). Writes the
 * weights file, then SAMPLES_DIR/sample-N.pgm for the first SAMPLE_COUNT test images with
 * SAMPLES_DIR/labels.txt ("sample-N.pgm LABEL PREDICTED" per line) for the function's tests,
 * and prints the held-out test accuracy and the training time on stdout. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlp.h"

#define SAMPLE_COUNT 10
#define DEFAULT_EPOCHS 5
#define DEFAULT_HIDDEN 128
#define LEARNING_RATE 0.01f
#define LEARNING_RATE_DECAY 0.7f

struct dataset {
    int count;
    unsigned char *pixels; /* count x MLP_INPUTS, from malloc */
    unsigned char *labels; /* count, from malloc */
};

static uint64_t rng_state = 0x2545f4914f6cdd1du;

static uint32_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Uniform in [-a, a]. */
static float rng_uniform(float a)
{
    return a * (2.0f * (float)rng_next() / 4294967296.0f - 1.0f);
}

static uint32_t read_be32(const unsigned char b[4])
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads a whole IDX file whose header is header_words big-endian words starting with magic.
 * Returns the data after the header (from malloc) and the header words, or NULL. */
static unsigned char *read_idx(const char *dir, const char *name, uint32_t magic,
                               int header_words, uint32_t header[4], size_t expect_per_item)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return NULL;
    }
    unsigned char raw[16];
    unsigned char *data = NULL;
    if (fread(raw, 4, (size_t)header_words, f) != (size_t)header_words)
        goto bad;
    for (int i = 0; i < header_words; i++)
        header[i] = read_be32(raw + 4 * i);
    if (header[0] != magic || header[1] == 0 || header[1] > 1000000)
        goto bad;
    size_t bytes = (size_t)header[1] * expect_per_item;
    data = malloc(bytes);
    if (!data || fread(data, 1, bytes, f) != bytes)
        goto bad;
    fclose(f);
    return data;
bad:
    fprintf(stderr, "train: %s is not the IDX file expected (magic 0x%08x)\n", path, magic);
    free(data);
    fclose(f);
    return NULL;
}

static int load_dataset(const char *dir, const char *images, const char *labels,
                        struct dataset *out)
{
    uint32_t ih[4], lh[4];
    out->pixels = read_idx(dir, images, 0x803, 4, ih, MLP_INPUTS);
    out->labels = read_idx(dir, labels, 0x801, 2, lh, 1);
    if (!out->pixels || !out->labels)
        return -1;
    if (ih[2] != MLP_SIDE || ih[3] != MLP_SIDE || ih[1] != lh[1]) {
        fprintf(stderr, "train: %s and %s do not match (%u images of %ux%u, %u labels)\n",
                images, labels, ih[1], ih[2], ih[3], lh[1]);
        return -1;
    }
    for (uint32_t i = 0; i < lh[1]; i++)
        if (out->labels[i] >= MLP_CLASSES) {
            fprintf(stderr, "train: %s has label %u, beyond the 10 classes\n", labels,
                    out->labels[i]);
            return -1;
        }
    out->count = (int)lh[1];
    return 0;
}

/* One step of gradient descent on sample `in` with label `label`. */
static void train_step(struct mlp *net, const float *in, int label, float lr, float *hidden,
                       float *hidden_grad)
{
    float probs[MLP_CLASSES];
    mlp_forward(net, in, hidden, probs);
    /* d loss / d output = softmax - one-hot */
    probs[label] -= 1.0f;
    for (int j = 0; j < net->hidden; j++) {
        float g = 0.0f;
        if (hidden[j] > 0.0f)
            for (int k = 0; k < MLP_CLASSES; k++)
                g += net->w2[(size_t)k * net->hidden + j] * probs[k];
        hidden_grad[j] = g;
    }
    for (int k = 0; k < MLP_CLASSES; k++) {
        float *row = net->w2 + (size_t)k * net->hidden;
        float step = lr * probs[k];
        for (int j = 0; j < net->hidden; j++)
            row[j] -= step * hidden[j];
        net->b2[k] -= step;
    }
    for (int j = 0; j < net->hidden; j++) {
        if (hidden_grad[j] == 0.0f)
            continue;
        float *row = net->w1 + (size_t)j * MLP_INPUTS;
        float step = lr * hidden_grad[j];
        for (int i = 0; i < MLP_INPUTS; i++)
            row[i] -= step * in[i];
        net->b1[j] -= step;
    }
}

static int predict(const struct mlp *net, const unsigned char *px, float *hidden)
{
    float in[MLP_INPUTS], probs[MLP_CLASSES];
    mlp_input_from_pixels(px, in);
    mlp_forward(net, in, hidden, probs);
    int best = 0;
    for (int k = 1; k < MLP_CLASSES; k++)
        if (probs[k] > probs[best])
            best = k;
    return best;
}

static int write_samples(const struct mlp *net, const struct dataset *test, const char *dir,
                         float *hidden)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/labels.txt", dir);
    FILE *list = fopen(path, "w");
    if (!list) {
        perror(path);
        return -1;
    }
    for (int n = 0; n < SAMPLE_COUNT; n++) {
        const unsigned char *px = test->pixels + (size_t)n * MLP_INPUTS;
        snprintf(path, sizeof path, "%s/sample-%d.pgm", dir, n);
        FILE *f = fopen(path, "wb");
        if (!f || fprintf(f, "P5\n%d %d\n255\n", MLP_SIDE, MLP_SIDE) < 0
            || fwrite(px, 1, MLP_INPUTS, f) != MLP_INPUTS || fclose(f) != 0) {
            perror(path);
            fclose(list);
            return -1;
        }
        fprintf(list, "sample-%d.pgm %d %d\n", n, test->labels[n], predict(net, px, hidden));
    }
    return fclose(list) == 0 ? 0 : -1;
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: train DATA_DIR WEIGHTS_OUT SAMPLES_DIR [EPOCHS [HIDDEN]]\n");
        return 64;
    }
    int epochs = argc > 4 ? atoi(argv[4]) : DEFAULT_EPOCHS;
    int hidden_units = argc > 5 ? atoi(argv[5]) : DEFAULT_HIDDEN;
    if (epochs < 1 || epochs > 100 || hidden_units < 1 || hidden_units > MLP_HIDDEN_MAX) {
        fprintf(stderr, "train: EPOCHS is 1 to 100, HIDDEN 1 to %d\n", MLP_HIDDEN_MAX);
        return 64;
    }
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);

    struct dataset train = { 0 }, test = { 0 };
    if (load_dataset(argv[1], "train-images-idx3-ubyte", "train-labels-idx1-ubyte", &train) != 0
        || load_dataset(argv[1], "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", &test) != 0)
        return 1;

    struct mlp net;
    float *inputs = malloc((size_t)train.count * MLP_INPUTS * sizeof(float));
    int *order = malloc((size_t)train.count * sizeof(int));
    float *hidden = malloc((size_t)hidden_units * sizeof(float));
    float *hidden_grad = malloc((size_t)hidden_units * sizeof(float));
    if (!inputs || !order || !hidden || !hidden_grad || mlp_alloc(&net, hidden_units) != 0) {
        fprintf(stderr, "train: out of memory\n");
        return 1;
    }
    /* He-style uniform initialisation for the ReLU layer, Glorot-style for the output. */
    for (size_t i = 0; i < (size_t)hidden_units * MLP_INPUTS; i++)
        net.w1[i] = rng_uniform(0.087f); /* sqrt(6 / 784) */
    for (int j = 0; j < hidden_units; j++)
        net.b1[j] = 0.0f;
    float a2 = sqrtf(6.0f / (float)(hidden_units + MLP_CLASSES));
    for (size_t i = 0; i < (size_t)MLP_CLASSES * hidden_units; i++)
        net.w2[i] = rng_uniform(a2);
    for (int k = 0; k < MLP_CLASSES; k++)
        net.b2[k] = 0.0f;

    for (int n = 0; n < train.count; n++) {
        mlp_input_from_pixels(train.pixels + (size_t)n * MLP_INPUTS,
                              inputs + (size_t)n * MLP_INPUTS);
        order[n] = n;
    }
    float lr = LEARNING_RATE;
    for (int e = 0; e < epochs; e++) {
        for (int n = train.count - 1; n > 0; n--) { /* Fisher-Yates shuffle */
            int m = (int)(rng_next() % (uint32_t)(n + 1));
            int t = order[n];
            order[n] = order[m];
            order[m] = t;
        }
        for (int n = 0; n < train.count; n++)
            train_step(&net, inputs + (size_t)order[n] * MLP_INPUTS, train.labels[order[n]], lr,
                       hidden, hidden_grad);
        lr *= LEARNING_RATE_DECAY;
        fprintf(stderr, "train: epoch %d/%d done at %.1f s\n", e + 1, epochs, seconds_since(&start));
    }

    int correct = 0;
    for (int n = 0; n < test.count; n++)
        correct += predict(&net, test.pixels + (size_t)n * MLP_INPUTS, hidden) == test.labels[n];
    if (mlp_save(&net, argv[2]) != 0) {
        perror(argv[2]);
        return 1;
    }
    if (write_samples(&net, &test, argv[3], hidden) != 0)
        return 1;
    printf("network 784-%d-10, %d epochs, %d training images: test accuracy %.2f%% "
           "(%d/%d held-out images), trained in %.1f s\n", hidden_units, epochs, train.count,
           100.0 * correct / test.count, correct, test.count, seconds_since(&start));
    return 0;
}
