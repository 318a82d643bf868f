/*
 * fs (shells): files opened for random access (the shell's open_file).
 */
#ifndef FTPD_SHELL_FS_RANDOM_ACCESS_H
#define FTPD_SHELL_FS_RANDOM_ACCESS_H

#include "ftpd/shell.h"

/* Opens path beneath root_fd with enum ftpd_open_flags; answers through done. */
void fs_random_access_open(int root_fd, int read_only, const struct ftpd_path *path,
    unsigned flags, ftpd_open_file_fn done, void *arg);

#endif
