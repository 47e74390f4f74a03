/* The implementation of stb_image (Debian's libstb-dev), compiled once for the functions that
 * decode images (resize, recognize). Only the formats they take: JPEG, PNG, PGM/PPM.
 * STBI_NO_SIMD: the wasm build has no SSE2, and the native build uses the same scalar code so
 * that both decode to identical pixels and the native-vs-wasm comparison is like for like.
 * Reading from files is left out: the functions decode request bodies from memory. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_SIMD
#define STBI_NO_STDIO
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_PNM
#include <stb/stb_image.h>
