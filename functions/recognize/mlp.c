/* The multilayer perceptron of recognize (see mlp.h). */
#include "mlp.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char weights_magic[8] = { 'M', 'O', 'T', 'E', 'M', 'L', 'P', '1' };

const char *const mlp_class_names[MLP_CLASSES] = {
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

static size_t weight_count(int hidden)
{
    return (size_t)hidden * MLP_INPUTS + (size_t)hidden + (size_t)MLP_CLASSES * hidden + MLP_CLASSES;
}

int mlp_alloc(struct mlp *net, int hidden)
{
    float *all = malloc(weight_count(hidden) * sizeof(float));
    if (!all)
        return -1;
    net->hidden = hidden;
    net->w1 = all;
    net->b1 = net->w1 + (size_t)hidden * MLP_INPUTS;
    net->w2 = net->b1 + hidden;
    net->b2 = net->w2 + (size_t)MLP_CLASSES * hidden;
    return 0;
}

void mlp_free(struct mlp *net)
{
    free(net->w1);
    memset(net, 0, sizeof *net);
}

int mlp_load(struct mlp *net, const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_size, "cannot open %s; run the function from its files directory", path);
        return -1;
    }
    char magic[8];
    uint32_t dims[3];
    if (fread(magic, 1, sizeof magic, f) != sizeof magic || memcmp(magic, weights_magic, 8) != 0
        || fread(dims, sizeof dims[0], 3, f) != 3) {
        snprintf(err, err_size, "%s is not a weights file of this network; rebuild it with "
                 "make functions", path);
        fclose(f);
        return -1;
    }
    if (dims[0] != MLP_INPUTS || dims[2] != MLP_CLASSES || dims[1] < 1 || dims[1] > MLP_HIDDEN_MAX) {
        snprintf(err, err_size, "%s has shape %u-%u-%u, expected %d-N-%d", path,
                 dims[0], dims[1], dims[2], MLP_INPUTS, MLP_CLASSES);
        fclose(f);
        return -1;
    }
    if (mlp_alloc(net, (int)dims[1]) != 0) {
        snprintf(err, err_size, "out of memory for the weights in %s", path);
        fclose(f);
        return -1;
    }
    size_t n = weight_count(net->hidden);
    int extra = 0;
    if (fread(net->w1, sizeof(float), n, f) != n || (extra = fgetc(f)) != EOF) {
        snprintf(err, err_size, "%s is %s; rebuild it with make functions", path,
                 extra != EOF ? "longer than its shape says" : "truncated");
        mlp_free(net);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

int mlp_save(const struct mlp *net, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    uint32_t dims[3] = { MLP_INPUTS, (uint32_t)net->hidden, MLP_CLASSES };
    size_t n = weight_count(net->hidden);
    int ok = fwrite(weights_magic, 1, 8, f) == 8 && fwrite(dims, sizeof dims[0], 3, f) == 3
             && fwrite(net->w1, sizeof(float), n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

void mlp_input_from_pixels(const unsigned char px[MLP_INPUTS], float in[MLP_INPUTS])
{
    for (int i = 0; i < MLP_INPUTS; i++)
        in[i] = (float)px[i] * (1.0f / 255.0f);
}

void mlp_forward(const struct mlp *net, const float in[MLP_INPUTS], float *hidden_out,
                 float probs[MLP_CLASSES])
{
    for (int j = 0; j < net->hidden; j++) {
        const float *row = net->w1 + (size_t)j * MLP_INPUTS;
        float sum = net->b1[j];
        for (int i = 0; i < MLP_INPUTS; i++)
            sum += row[i] * in[i];
        hidden_out[j] = sum > 0.0f ? sum : 0.0f;
    }
    float max = -INFINITY;
    for (int k = 0; k < MLP_CLASSES; k++) {
        const float *row = net->w2 + (size_t)k * net->hidden;
        float sum = net->b2[k];
        for (int j = 0; j < net->hidden; j++)
            sum += row[j] * hidden_out[j];
        probs[k] = sum;
        if (sum > max)
            max = sum;
    }
    float total = 0.0f;
    for (int k = 0; k < MLP_CLASSES; k++) {
        probs[k] = expf(probs[k] - max);
        total += probs[k];
    }
    for (int k = 0; k < MLP_CLASSES; k++)
        probs[k] /= total;
}
