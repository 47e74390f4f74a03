/* Validation and canonical spelling of license plates (see plate.h). */
#include "plate.h"

#include <stdio.h>

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int plate_canonical(const char *raw, size_t raw_len, char out[PLATE_MAX_LEN + 1],
                    char *err, size_t err_size)
{
    size_t start = 0, end = raw_len;
    while (start < end && is_space(raw[start]))
        start++;
    while (end > start && is_space(raw[end - 1]))
        end--;
    size_t len = end - start;
    if (len < PLATE_MIN_LEN || len > PLATE_MAX_LEN) {
        snprintf(err, err_size, "a plate has %d to %d characters, this one has %zu; "
                 "send the plate alone, e.g. ABC1234", PLATE_MIN_LEN, PLATE_MAX_LEN, len);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = raw[start + i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) {
            unsigned char byte = (unsigned char)c;
            if (byte >= 0x20 && byte < 0x7f)
                snprintf(err, err_size, "character '%c' at position %zu is not allowed; "
                         "plates are letters A-Z and digits 0-9 only", c, i + 1);
            else
                snprintf(err, err_size, "byte 0x%02x at position %zu is not allowed; "
                         "plates are letters A-Z and digits 0-9 only", byte, i + 1);
            return -1;
        }
        out[i] = c;
    }
    out[len] = 0;
    return 0;
}
