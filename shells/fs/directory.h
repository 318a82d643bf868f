/*
 * fs/directory (shells, internal): the filesystem shell's directory
 * listings, with the stat of every entry, on the host's threads for a big
 * directory.
 */
#ifndef FTPD_SHELL_FS_DIRECTORY_H
#define FTPD_SHELL_FS_DIRECTORY_H

#include "ftpd/shell.h"

struct shell_fs;

/*
 * Lists the open directory fd (taken over, closed in any case on failure)
 * for fs. host runs the stats of big directories off the loop; NULL: all
 * on the loop. 0 and *directory, or -errno.
 */
int fs_directory_open(struct shell_fs *fs, struct ftpd_host *host, int fd,
    struct ftpd_directory **directory);

#endif
