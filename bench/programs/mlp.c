/*
 * Neural-network inference: a 784-256-128-10 multilayer perceptron with
 * ReLU, weights from a fixed-seed generator, run over a batch of
 * pseudo-random 28x28 inputs. Prints the class histogram (the same on every
 * platform) and the compute time on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"

enum { IN = 784, H1 = 256, H2 = 128, OUT = 10 };

static uint32_t rng_state = 12345;
static float rnd(void) { /* xorshift32 in [-0.5, 0.5) */
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (float)(rng_state >> 8) / 16777216.0f - 0.5f;
}

static void layer(const float *w, const float *b, const float *x, float *y, int n_in, int n_out,
                  int relu) {
  for (int o = 0; o < n_out; o++) {
    float s = b[o];
    const float *row = w + (size_t)o * n_in;
    for (int i = 0; i < n_in; i++) s += row[i] * x[i];
    y[o] = relu && s < 0 ? 0 : s;
  }
}

int main(int argc, char **argv) {
  int batch = argc > 1 ? atoi(argv[1]) : 2000;
  float *w1 = malloc(sizeof(float) * IN * H1), *w2 = malloc(sizeof(float) * H1 * H2);
  float *w3 = malloc(sizeof(float) * H2 * OUT);
  float b1[H1], b2[H2], b3[OUT], x[IN], h1[H1], h2[H2], y[OUT];
  for (int i = 0; i < IN * H1; i++) w1[i] = rnd() * 0.1f;
  for (int i = 0; i < H1 * H2; i++) w2[i] = rnd() * 0.1f;
  for (int i = 0; i < H2 * OUT; i++) w3[i] = rnd() * 0.1f;
  for (int i = 0; i < H1; i++) b1[i] = rnd() * 0.01f;
  for (int i = 0; i < H2; i++) b2[i] = rnd() * 0.01f;
  for (int i = 0; i < OUT; i++) b3[i] = rnd() * 0.01f;

  int histogram[OUT] = {0};
  double start = bench_now_us();
  for (int n = 0; n < batch; n++) {
    for (int i = 0; i < IN; i++) x[i] = rnd() + 0.5f;
    layer(w1, b1, x, h1, IN, H1, 1);
    layer(w2, b2, h1, h2, H1, H2, 1);
    layer(w3, b3, h2, y, H2, OUT, 0);
    int best = 0;
    for (int o = 1; o < OUT; o++)
      if (y[o] > y[best]) best = o;
    histogram[best]++;
  }
  bench_report(start);
  for (int o = 0; o < OUT; o++) printf("%d%c", histogram[o], o + 1 < OUT ? ' ' : '\n');
  return 0;
}
