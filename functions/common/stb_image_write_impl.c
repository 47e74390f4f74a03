/* The implementation of stb_image_write (Debian's libstb-dev), for resize and the generator of
 * its large test image. Output goes through callbacks (stbi_write_jpg_to_func), never a path. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
