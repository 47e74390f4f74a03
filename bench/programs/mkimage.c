/*
 * Makes the benchmark's input image (native helper): a W x H JPEG of smooth
 * gradients and detail, deterministic, on stdout.
 */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stdio.h>
#include <stdlib.h>

static void write_stdout(void *ctx, void *data, int size) {
  (void)ctx;
  fwrite(data, 1, (size_t)size, stdout);
}

int main(int argc, char **argv) {
  int w = argc > 1 ? atoi(argv[1]) : 1920, h = argc > 2 ? atoi(argv[2]) : 1080;
  unsigned char *px = malloc((size_t)w * h * 3);
  if (!px) return 1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      unsigned char *p = px + ((size_t)y * w + x) * 3;
      p[0] = (unsigned char)(x * 255 / w);
      p[1] = (unsigned char)(y * 255 / h);
      p[2] = (unsigned char)(((x ^ y) & 31) * 8);
    }
  return stbi_write_jpg_to_func(write_stdout, NULL, w, h, 3, px, 90) ? 0 : 1;
}
