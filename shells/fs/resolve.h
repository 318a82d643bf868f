/*
 * fs/resolve (shells): opens normalised paths below a root directory fd without ever
 * leaving it, for the filesystem shells (openat2 RESOLVE_BENEATH, or a walk).
 */
#ifndef FTPD_FS_RESOLVE_H
#define FTPD_FS_RESOLVE_H

#include <sys/types.h>

#include "ftpd/shell.h"

/*
 * How paths are resolved. AUTOMATIC uses openat2(2) and falls back to the
 * component walk for good once the kernel answers ENOSYS; WALK forces the
 * walk so that it is tested on kernels that have openat2.
 */
enum fs_resolve_method {
	FS_RESOLVE_AUTOMATIC,
	FS_RESOLVE_WALK
};

void fs_resolve_set_method(enum fs_resolve_method method);

/*
 * Opens path below root_fd with open(2) flags and mode (O_CLOEXEC is added).
 * Symlinks are followed only while they stay below the root, as
 * RESOLVE_BENEATH does: an absolute symlink target, or one whose ".." climbs
 * above the root, fails with -EACCES. O_NOFOLLOW applies to the last
 * segment only. The root itself (no segments) is opened as ".".
 * Returns the new fd or -errno.
 */
int fs_resolve_open(int root_fd, const struct ftpd_path *path, int flags, mode_t mode);

/*
 * Opens the directory that holds path's last segment (O_PATH|O_DIRECTORY,
 * good as the dirfd of the *at calls) and points *name at that segment,
 * which stays unresolved: the caller decides whether to follow it. The root
 * has no parent: -EBUSY. Returns the fd or -errno.
 */
int fs_resolve_open_parent(int root_fd, const struct ftpd_path *path, const char **name);

#endif
