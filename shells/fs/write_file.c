/*
 * fs/write_file (shells): the filesystem shell's uploads: a replacement is
 * written to a temporary next to its target and renamed over it on finish;
 * the other modes write in place, and an abort undoes what they wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/resolve.h"
#include "fs/write_file.h"
#include "util/attributes.h"

/* The process umask applies, as it does for any program creating files. */
#define NEW_FILE_MODE 0666

/* An upload in progress is written here, next to its target, then renamed over it. */
#define TEMPORARY_PREFIX ".ftpd-upload."
#define TEMPORARY_SUFFIX_LENGTH 6
#define TEMPORARY_ATTEMPTS 100

struct fs_write_file {
	struct ftpd_write_file base;
	int fd;
	/*
	 * REPLACE (replacing): the directory holding the temporary and the
	 * target. In place: the directory of a file the upload created (else -1).
	 */
	int directory_fd;
	int replacing;
	char temporary_name[sizeof(TEMPORARY_PREFIX) + TEMPORARY_SUFFIX_LENGTH];
	char *target_name;
	off_t original_size;	/* in place: the length an abort cuts the file back to */
	off_t written;		/* bytes written through this file */
	off_t flushed;		/* bytes whose write-back has been started */
	struct ftpd_host *host;
	int sync;		/* fsync before finish reports (upload_sync) */
	/* finish(): what to call, and the commit's outcome */
	ftpd_done_fn done;
	void *done_arg;
	int commit_error;
};

/*
 * Start writing an upload back to disk every this many bytes, so that the
 * fsync before the 226 waits only for the tail, not for the whole file.
 */
#define WRITEBACK_STEP (8 * 1024 * 1024)

static ssize_t
fs_write_file_write(struct ftpd_write_file *base, const void *buffer, size_t length,
    ftpd_result_fn done UNUSED, void *arg UNUSED)
{
	struct fs_write_file *file = (struct fs_write_file *)base;
	size_t written = 0;

	while (written < length) {
		ssize_t count = write(file->fd, (const char *)buffer + written,
		    length - written);

		if (count == -1) {
			if (errno == EINTR)
				continue;
			/* Report what did land; the error shows on the next call. */
			return written > 0 ? (ssize_t)written : -errno;
		}
		written += (size_t)count;
	}
	file->written += (off_t)written;
	if (file->sync && file->written - file->flushed >= WRITEBACK_STEP) {
		/* Asynchronous: queues the pages for writing, does not wait. */
		sync_file_range(file->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		file->flushed = file->written;
	}
	return (ssize_t)written;
}

static void
fs_write_file_free(struct fs_write_file *file)
{
	if (file->directory_fd >= 0)
		close(file->directory_fd);
	free(file->target_name);
	free(file);
}

/* Makes the rename itself durable; best effort, since it already happened. */
static void
sync_directory(int directory_fd)
{
	int fd = openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/*
 * Makes the upload durable and puts it in place: fsync, then (REPLACE) the
 * rename over the target. Blocking, so it runs on a worker thread when the
 * host offers one.
 */
static void
commit_work(void *arg)
{
	struct fs_write_file *file = arg;
	int error = 0;

	if (file->sync && fsync(file->fd) == -1)
		error = -errno;
	if (close(file->fd) == -1 && error == 0)
		error = -errno;
	file->fd = -1;
	if (file->replacing) {
		if (error == 0 && renameat(file->directory_fd, file->temporary_name,
		    file->directory_fd, file->target_name) == -1)
			error = -errno;
		if (error != 0)
			unlinkat(file->directory_fd, file->temporary_name, 0);
		else if (file->sync)
			sync_directory(file->directory_fd);
	}
	file->commit_error = error;
}

static void
commit_done(void *arg)
{
	struct fs_write_file *file = arg;
	ftpd_done_fn done = file->done;
	void *done_arg = file->done_arg;
	int error = file->commit_error;

	fs_write_file_free(file);
	done(done_arg, error);
}

/*
 * tmpfs and ramfs keep files only in memory: fsync has nothing to write
 * there, and the upload is as stored as it will ever be once written.
 */
static int
in_memory_only(int fd)
{
	struct statfs status;

	if (fstatfs(fd, &status) != 0)
		return 0;
	return status.f_type == TMPFS_MAGIC || status.f_type == RAMFS_MAGIC;
}

static void
fs_write_file_finish(struct ftpd_write_file *base, ftpd_done_fn done, void *arg)
{
	struct fs_write_file *file = (struct fs_write_file *)base;

	file->done = done;
	file->done_arg = arg;
	if (file->sync && in_memory_only(file->fd))
		file->sync = 0;
	/* Without fsync nothing here blocks for long: no trip to a thread. */
	if (file->sync && file->host != NULL &&
	    file->host->run_blocking(file->host, commit_work, commit_done, file) == 0)
		return;
	commit_work(file);
	commit_done(file);
}

/* Removes the file an in-place upload created, unless someone has put another in its place. */
static void
remove_created(struct fs_write_file *file)
{
	struct stat ours, named;

	if (fstat(file->fd, &ours) == 0 &&
	    fstatat(file->directory_fd, file->target_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
	    ours.st_dev == named.st_dev && ours.st_ino == named.st_ino)
		unlinkat(file->directory_fd, file->target_name, 0);
}

/*
 * Discards the upload: a replacement's temporary goes; in place, a file the
 * upload created goes, and one it grew is cut back to its old length (bytes
 * it overwrote below that length, REST + STOR into the middle, stay
 * overwritten).
 */
static void
fs_write_file_abort(struct ftpd_write_file *base)
{
	struct fs_write_file *file = (struct fs_write_file *)base;
	struct stat status;

	if (file->replacing)
		unlinkat(file->directory_fd, file->temporary_name, 0);
	else if (file->directory_fd >= 0)
		remove_created(file);
	else if (fstat(file->fd, &status) == 0 && status.st_size > file->original_size)
		/* Best effort: nothing more can be done about a failure here. */
		(void)!ftruncate(file->fd, file->original_size);
	close(file->fd);
	fs_write_file_free(file);
}

static const struct ftpd_write_file_ops fs_write_file_ops = {
	.struct_size = sizeof(struct ftpd_write_file_ops),
	.write = fs_write_file_write,
	.finish = fs_write_file_finish,
	.abort = fs_write_file_abort,
};

static void
fill_temporary_suffix(char *suffix, size_t length)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
	static _Atomic unsigned long counter;
	unsigned char random_bytes[TEMPORARY_SUFFIX_LENGTH];
	size_t i;

	if (getrandom(random_bytes, sizeof(random_bytes), GRND_NONBLOCK) !=
	    (ssize_t)sizeof(random_bytes)) {
		/* Without entropy a unique-enough mix will do: O_EXCL decides. */
		unsigned long mix = atomic_fetch_add(&counter, 1) * 2654435761UL ^
		    (unsigned long)getpid() ^ (unsigned long)time(NULL);

		for (i = 0; i < sizeof(random_bytes); i++) {
			random_bytes[i] = (unsigned char)mix;
			mix = mix >> 8 | mix << (sizeof(mix) * 8 - 8);
		}
	}
	for (i = 0; i < length; i++)
		suffix[i] = alphabet[random_bytes[i] % (sizeof(alphabet) - 1)];
}

static int
create_temporary(int directory_fd, char *name)
{
	size_t prefix_length = sizeof(TEMPORARY_PREFIX) - 1;
	int attempt, fd;

	memcpy(name, TEMPORARY_PREFIX, prefix_length);
	for (attempt = 0; attempt < TEMPORARY_ATTEMPTS; attempt++) {
		fill_temporary_suffix(name + prefix_length, TEMPORARY_SUFFIX_LENGTH);
		name[prefix_length + TEMPORARY_SUFFIX_LENGTH] = '\0';
		fd = openat(directory_fd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    NEW_FILE_MODE);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/*
 * REPLACE: the data goes to a temporary next to the target, renamed over it
 * on finish, so a failed or aborted upload leaves the old file as it was.
 * The rename replaces the directory entry: a symlink there is replaced, not
 * written through.
 */
static int
open_replacement(int root_fd, const struct ftpd_path *path,
    struct fs_write_file *file)
{
	struct stat status;
	const char *name;
	int error;

	if (path->count == 0)
		return -EISDIR;
	file->replacing = 1;
	file->directory_fd = fs_resolve_open_parent(root_fd, path, &name);
	if (file->directory_fd < 0)
		return file->directory_fd;
	if (fstatat(file->directory_fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(status.st_mode))
			return -EISDIR;
	} else if (errno != ENOENT) {
		return -errno;
	} else {
		status.st_mode = 0;
	}
	file->target_name = strdup(name);
	if (file->target_name == NULL)
		return -ENOMEM;
	file->fd = create_temporary(file->directory_fd, file->temporary_name);
	if (file->fd < 0)
		return file->fd;
	/* A new version keeps the permissions of the one it replaces. */
	if (S_ISREG(status.st_mode) &&
	    fchmod(file->fd, status.st_mode & 0777) == -1) {
		error = -errno;
		close(file->fd);
		file->fd = -1;
		unlinkat(file->directory_fd, file->temporary_name, 0);
		return error;
	}
	return 0;
}

/*
 * Creates path's file, which must not exist yet (O_EXCL: not even as a
 * symlink), keeping its directory so that an abort can remove it again.
 * Returns the fd or -errno.
 */
static int
create_in_place(int root_fd, const struct ftpd_path *path, int flags,
    struct fs_write_file *file)
{
	const char *name;
	int fd;

	file->directory_fd = fs_resolve_open_parent(root_fd, path, &name);
	if (file->directory_fd < 0)
		return file->directory_fd;
	fd = openat(file->directory_fd, name, flags | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    NEW_FILE_MODE);
	if (fd >= 0 && (file->target_name = strdup(name)) == NULL) {
		unlinkat(file->directory_fd, name, 0);
		close(fd);
		fd = -ENOMEM;
	} else if (fd < 0)
		fd = -errno;
	if (fd < 0) {
		close(file->directory_fd);
		file->directory_fd = -1;
	}
	return fd;
}

/*
 * APPEND, AT_OFFSET, UNIQUE: the file itself, never truncated. A file that
 * does not exist yet is created as such (UNIQUE insists on it), so that an
 * abort knows to remove it; an existing one may be reached through a
 * symlink below the root, and an abort cuts it back to original_size.
 */
static int
open_in_place(int root_fd, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, struct fs_write_file *file)
{
	struct stat status;
	int flags = O_WRONLY | O_NONBLOCK | O_NOCTTY, error = 0, may_create;

	if (mode == FTPD_WRITE_APPEND)
		flags |= O_APPEND;
	may_create = mode != FTPD_WRITE_AT_OFFSET || offset == 0;
	if (offset > INT64_MAX)
		return -EINVAL;
	if (path->count == 0)
		return -EISDIR;
	/* O_NONBLOCK: a FIFO without a reader fails instead of blocking. */
	file->fd = may_create ? create_in_place(root_fd, path, flags, file) : -EEXIST;
	if (file->fd == -EEXIST && mode != FTPD_WRITE_UNIQUE)
		file->fd = fs_resolve_open(root_fd, path, may_create ? flags | O_CREAT : flags,
		    NEW_FILE_MODE);
	if (file->fd < 0)
		return file->fd;
	if (fstat(file->fd, &status) == -1)
		error = -errno;
	else if (S_ISDIR(status.st_mode))
		error = -EISDIR;
	else if (!S_ISREG(status.st_mode))
		error = -EACCES;
	else
		error = fs_clear_nonblocking(file->fd);
	if (error == 0)
		file->original_size = status.st_size;
	if (error == 0 && mode == FTPD_WRITE_AT_OFFSET &&
	    lseek(file->fd, (off_t)offset, SEEK_SET) == -1)
		error = -errno;
	if (error != 0) {
		if (file->directory_fd >= 0)
			remove_created(file);
		close(file->fd);
		file->fd = -1;
	}
	return error;
}

int
fs_write_file_open(int root_fd, struct ftpd_host *host, int sync, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, struct ftpd_write_file **opened)
{
	struct fs_write_file *file;
	int error;

	file = calloc(1, sizeof(*file));
	if (file == NULL)
		return -ENOMEM;
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &fs_write_file_ops;
	file->base.fd = -1;
	file->fd = -1;
	file->directory_fd = -1;
	file->host = host;
	file->sync = sync;
	switch (mode) {
	case FTPD_WRITE_REPLACE:
		error = open_replacement(root_fd, path, file);
		break;
	case FTPD_WRITE_APPEND:
	case FTPD_WRITE_AT_OFFSET:
	case FTPD_WRITE_UNIQUE:
		error = open_in_place(root_fd, path, mode, offset, file);
		break;
	default:
		error = -EINVAL;
		break;
	}
	if (error != 0) {
		fs_write_file_free(file);
		return error;
	}
	/*
	 * ftpd may splice the upload into the file: nothing here counts on
	 * seeing the bytes (ftpd starts the write-back itself). Not in append
	 * mode, which splice(2) refuses.
	 */
	if (mode != FTPD_WRITE_APPEND)
		file->base.fd = file->fd;
	*opened = &file->base;
	return 0;
}
