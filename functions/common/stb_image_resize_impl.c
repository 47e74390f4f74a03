/* The implementation of stb_image_resize (Debian's libstb-dev, the v1 API: this package ships
 * stb_image_resize.h, not stb_image_resize2.h), compiled once for resize and recognize. */
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>
