/*
 * fs (shells, internal): the filesystem shell's constructor, shared with the
 * anonymous shell, which is the same shell with every change refused.
 */
#ifndef FTPD_SHELL_FS_H
#define FTPD_SHELL_FS_H

#include "ftpd/shell.h"

/*
 * Opens config->root once and returns a shell serving it; with
 * config->read_only every change fails with -EROFS before touching
 * anything. config->options must be NULL or empty (fs takes none).
 * Returns 0 or -errno (-ENOENT, -ENOTDIR, -EACCES for a bad root).
 */
int shell_fs_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell);

/* Makes fd blocking again after an open with O_NONBLOCK (FIFOs): 0 or -errno. */
int fs_clear_nonblocking(int fd);

#endif
