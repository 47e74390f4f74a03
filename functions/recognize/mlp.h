/* The network of recognize: a multilayer perceptron 784 -> HIDDEN (ReLU) -> 10 (softmax), its
 * weights file, and the classes it answers. Shared by the function (recognize.c) and its
 * trainer (train.c), so both read pixels, weights and classes the same way. */
#ifndef RECOGNIZE_MLP_H
#define RECOGNIZE_MLP_H

#include <stddef.h>

#define MLP_SIDE 28
#define MLP_INPUTS (MLP_SIDE * MLP_SIDE)
#define MLP_CLASSES 10
#define MLP_HIDDEN_MAX 4096

/* Fashion-MNIST's labels, in label order. */
extern const char *const mlp_class_names[MLP_CLASSES];

struct mlp {
    int hidden;
    float *w1; /* hidden x MLP_INPUTS, row per hidden unit; all four arrays from one malloc */
    float *b1; /* hidden */
    float *w2; /* MLP_CLASSES x hidden */
    float *b2; /* MLP_CLASSES */
};

/* Allocates the weights of a network with `hidden` units (contents undefined). 0 or -1. */
int mlp_alloc(struct mlp *net, int hidden);
void mlp_free(struct mlp *net);

/* Reads a weights file written by mlp_save. Returns 0, or -1 with a message in err. */
int mlp_load(struct mlp *net, const char *path, char *err, size_t err_size);

/* Writes the weights file: "MOTEMLP1", then uint32 inputs, hidden, classes, then the float32
 * arrays w1, b1, w2, b2, all little-endian (the byte order of x86-64 and of wasm). */
int mlp_save(const struct mlp *net, const char *path);

/* Pixels to network input: grey bytes in Fashion-MNIST's convention (white object on black)
 * to floats in [0, 1]. */
void mlp_input_from_pixels(const unsigned char px[MLP_INPUTS], float in[MLP_INPUTS]);

/* Runs the network. hidden_out (net->hidden floats) receives the hidden activations, for the
 * trainer's backward pass; probs the softmax of the outputs. */
void mlp_forward(const struct mlp *net, const float in[MLP_INPUTS], float *hidden_out,
                 float probs[MLP_CLASSES]);

#endif
