/* base: directories made with their parents, as `mkdir -p` does; a whole
 * file read into memory; a lock file held for a process's life. */
#ifndef MOTE_BASE_FS_H
#define MOTE_BASE_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Makes `path` and every missing parent with `mode`; an existing directory
 * is fine. 0, or -1 with errno (ENOTDIR when a part is a file, ENAMETOOLONG
 * past PATH_MAX). */
int mote_mkdirs(const char *path, mode_t mode);

/* The bytes of the regular file at `path` (malloc, the caller frees; one
 * byte is allocated for an empty file), *len their count. NULL with errno
 * on failure (EINVAL: not a regular file; EIO: it shrank while read). */
uint8_t *mote_read_file(const char *path, size_t *len);

/* Takes the lock file at `path` (made if missing) for the caller alone:
 * an exclusive flock that no other open of the file, in this process or
 * another, can take while the returned descriptor is open; the file then
 * holds the caller's pid. -1 with errno: EWOULDBLOCK when someone holds it,
 * and *holder (may be NULL) is the pid the file names (0 if unreadable). */
int mote_lock_file(const char *path, pid_t *holder);

#endif
