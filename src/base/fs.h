/* base: directories made with their parents, as `mkdir -p` does. */
#ifndef MOTE_BASE_FS_H
#define MOTE_BASE_FS_H

#include <sys/types.h>

/* Makes `path` and every missing parent with `mode`; an existing directory
 * is fine. 0, or -1 with errno (ENOTDIR when a part is a file, ENAMETOOLONG
 * past PATH_MAX). */
int mote_mkdirs(const char *path, mode_t mode);

#endif
