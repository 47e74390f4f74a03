/*
 * Image resize with stb (Debian's libstb-dev): JPEG on stdin, JPEG on
 * stdout, scaled by the percentage in argv[1] (default 50). The decode,
 * resize and encode are timed (stderr).
 */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image.h>
#include <stb/stb_image_resize.h>
#include <stb/stb_image_write.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_clock.h"

static void write_stdout(void *ctx, void *data, int size) {
  (void)ctx;
  fwrite(data, 1, (size_t)size, stdout);
}

int main(int argc, char **argv) {
  int w, h, channels;
  /* Read all of stdin first: decoding is timed, reading the pipe is not. */
  size_t len = 0, cap = 1 << 20;
  unsigned char *input = malloc(cap);
  for (size_t n; input && (n = fread(input + len, 1, cap - len, stdin)) > 0;) {
    len += n;
    if (len == cap) input = realloc(input, cap *= 2);
  }
  double start = bench_now_us();
  unsigned char *img = input ? stbi_load_from_memory(input, (int)len, &w, &h, &channels, 3) : NULL;
  if (!img) {
    fprintf(stderr, "resize: cannot decode the image: %s\n", stbi_failure_reason());
    return 1;
  }
  int pct = argc > 1 ? atoi(argv[1]) : 50;
  if (pct < 1 || pct > 400) {
    fprintf(stderr, "resize: the percentage must be between 1 and 400\n");
    return 2;
  }
  int nw = w * pct / 100 > 0 ? w * pct / 100 : 1, nh = h * pct / 100 > 0 ? h * pct / 100 : 1;
  unsigned char *out = malloc((size_t)nw * (size_t)nh * 3);
  if (!out || !stbir_resize_uint8(img, w, h, 0, out, nw, nh, 0, 3)) return 3;
  int ok = stbi_write_jpg_to_func(write_stdout, NULL, nw, nh, 3, out, 90);
  bench_report(start);
  return ok ? 0 : 4;
}
