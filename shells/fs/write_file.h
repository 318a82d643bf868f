/*
 * fs/write_file (shells, internal): files the filesystem shell opens for
 * writing, with their commit (finish) and their discard (abort).
 */
#ifndef FTPD_SHELL_FS_WRITE_FILE_H
#define FTPD_SHELL_FS_WRITE_FILE_H

#include <stdint.h>

#include "ftpd/shell.h"

/*
 * Opens path below root_fd for an upload in mode (shell.h), committing on
 * host's threads when host is set. 0 and *file set, or -errno.
 */
/* sync: fsync before finish reports (upload_sync). */
int fs_write_file_open(int root_fd, struct ftpd_host *host, int sync, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, struct ftpd_write_file **file);

#endif
