/*
 * fs (shells): files opened for random access (open_file): pread and pwrite
 * at any offset, beneath the root like every other open.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/random_access.h"
#include "fs/resolve.h"
#include "util/attributes.h"

/* The process umask applies, as it does for any program creating files. */
#define NEW_FILE_MODE 0666

struct fs_file {
	struct ftpd_file base;
};

static ssize_t
fs_file_pread(struct ftpd_file *file, void *buffer, size_t length, uint64_t offset,
    ftpd_result_fn done UNUSED, void *arg UNUSED)
{
	ssize_t count;

	if (offset > INT64_MAX)
		return -EINVAL;
	do
		count = pread(file->fd, buffer, length, (off_t)offset);
	while (count == -1 && errno == EINTR);
	return count >= 0 ? count : -errno;
}

static ssize_t
fs_file_pwrite(struct ftpd_file *file, const void *buffer, size_t length, uint64_t offset,
    ftpd_result_fn done UNUSED, void *arg UNUSED)
{
	ssize_t count;

	if (offset > INT64_MAX)
		return -EINVAL;
	do
		count = pwrite(file->fd, buffer, length, (off_t)offset);
	while (count == -1 && errno == EINTR);
	return count >= 0 ? count : -errno;
}

static void
fs_file_close(struct ftpd_file *file, ftpd_done_fn done, void *arg)
{
	int error = 0;

	if (fsync(file->fd) == -1 && errno != EINVAL && errno != EBADF)
		error = -errno;
	if (close(file->fd) == -1 && error == 0 && errno != EINTR)
		error = -errno;
	free(file);
	done(arg, error);
}

static const struct ftpd_file_ops fs_file_ops = {
	.struct_size = sizeof(struct ftpd_file_ops),
	.pread = fs_file_pread,
	.pwrite = fs_file_pwrite,
	.close = fs_file_close,
};

static int
open_file_flags(int read_only, unsigned flags, int *open_flags)
{
	int writes = (flags & (FTPD_OPEN_WRITE | FTPD_OPEN_CREATE | FTPD_OPEN_TRUNCATE)) != 0;

	if (flags & ~(unsigned)(FTPD_OPEN_READ | FTPD_OPEN_WRITE | FTPD_OPEN_CREATE |
	    FTPD_OPEN_EXCLUSIVE | FTPD_OPEN_TRUNCATE) || (flags & (FTPD_OPEN_READ |
	    FTPD_OPEN_WRITE)) == 0)
		return -EINVAL;
	if (writes && read_only)
		return -EROFS;
	*open_flags = (flags & FTPD_OPEN_WRITE) ?
	    ((flags & FTPD_OPEN_READ) ? O_RDWR : O_WRONLY) : O_RDONLY;
	if (flags & FTPD_OPEN_CREATE)
		*open_flags |= O_CREAT;
	if ((flags & (FTPD_OPEN_CREATE | FTPD_OPEN_EXCLUSIVE)) ==
	    (FTPD_OPEN_CREATE | FTPD_OPEN_EXCLUSIVE))
		*open_flags |= O_EXCL;
	if (flags & FTPD_OPEN_TRUNCATE)
		*open_flags |= O_TRUNC;
	return 0;
}

void
fs_random_access_open(int root_fd, int read_only, const struct ftpd_path *path,
    unsigned flags, ftpd_open_file_fn done, void *arg)
{
	struct fs_file *file = NULL;
	struct stat status;
	int open_flags = 0, fd, error;

	error = open_file_flags(read_only, flags, &open_flags);
	if (error == 0 && path->count == 0)
		error = -EISDIR;
	if (error != 0) {
		done(arg, error, NULL);
		return;
	}
	/* O_NONBLOCK: a FIFO swapped in cannot block the loop; cleared below. */
	fd = fs_resolve_open(root_fd, path, open_flags | O_NONBLOCK | O_NOCTTY,
	    NEW_FILE_MODE);
	if (fd < 0) {
		done(arg, fd, NULL);
		return;
	}
	if (fstat(fd, &status) == -1)
		error = -errno;
	else if (S_ISDIR(status.st_mode))
		error = -EISDIR;
	else if (!S_ISREG(status.st_mode))
		error = -EACCES;
	else if ((error = fs_clear_nonblocking(fd)) == 0 &&
	    (file = calloc(1, sizeof(*file))) == NULL)
		error = -ENOMEM;
	if (error != 0) {
		close(fd);
		done(arg, error, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &fs_file_ops;
	file->base.fd = fd;
	done(arg, 0, &file->base);
}
