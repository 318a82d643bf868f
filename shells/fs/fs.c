/*
 * fs (shells): the read-write filesystem shell (Twisted's FTPShell). Every path
 * is opened beneath the root fd through fs_resolve; nothing follows a link out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/fs.h"
#include "fs/resolve.h"
#include "fs/write_file.h"
#include "shell/registry.h"
#include "util/attributes.h"

/* The process umask applies, as it does for any program creating directories. */
#define NEW_DIRECTORY_MODE 0755

/* Distinct owners in one listing are few; a small cache saves most lookups. */
#define NAME_CACHE_SIZE 8
#define NAME_LOOKUP_BUFFER_MAX (1024 * 1024)

/* Permission bits SITE CHMOD may set: no set-user-ID or set-group-ID. */
#define CHMOD_ALLOWED_BITS (07777 & ~(S_ISUID | S_ISGID))

#define OWNER_NAME_SIZE sizeof(((struct ftpd_stat *)NULL)->owner)

struct shell_fs {
	struct ftpd_shell base;
	int root_fd;
	int read_only;
	struct ftpd_host *host;	/* runs upload commits off the event loop, if set */
};

struct name_cache_entry {
	int valid;
	unsigned long id;
	char name[OWNER_NAME_SIZE];
};

struct name_cache {
	struct name_cache_entry users[NAME_CACHE_SIZE];
	struct name_cache_entry groups[NAME_CACHE_SIZE];
	size_t next_user;
	size_t next_group;
};

struct fs_directory {
	struct ftpd_directory base;
	DIR *stream;
	struct name_cache names;
};

struct fs_read_file {
	struct ftpd_read_file base;
};

static struct shell_fs *
shell_fs_of(struct ftpd_shell *shell)
{
	return (struct shell_fs *)shell;
}

/* Leaves name empty when there is no such id or the name does not fit. */
static void
lookup_name(int is_group, unsigned long id, char *name, size_t size)
{
	size_t buffer_size = 1024;

	name[0] = '\0';
	for (;;) {
		const char *found = NULL;
		char *buffer;
		int error;

		buffer = malloc(buffer_size);
		if (buffer == NULL)
			return;
		if (is_group) {
			struct group entry, *result = NULL;

			error = getgrgid_r((gid_t)id, &entry, buffer, buffer_size,
			    &result);
			if (error == 0 && result != NULL)
				found = result->gr_name;
		} else {
			struct passwd entry, *result = NULL;

			error = getpwuid_r((uid_t)id, &entry, buffer, buffer_size,
			    &result);
			if (error == 0 && result != NULL)
				found = result->pw_name;
		}
		if (found != NULL && strlen(found) < size)
			memcpy(name, found, strlen(found) + 1);
		free(buffer);
		if (error != ERANGE || buffer_size >= NAME_LOOKUP_BUFFER_MAX)
			return;
		buffer_size *= 2;
	}
}

static const char *
cached_name(struct name_cache_entry *entries, size_t *next, int is_group,
    unsigned long id)
{
	struct name_cache_entry *entry;
	size_t i;

	for (i = 0; i < NAME_CACHE_SIZE; i++)
		if (entries[i].valid && entries[i].id == id)
			return entries[i].name;
	entry = &entries[*next];
	*next = (*next + 1) % NAME_CACHE_SIZE;
	entry->valid = 1;
	entry->id = id;
	lookup_name(is_group, id, entry->name, sizeof(entry->name));
	return entry->name;
}

static void
fill_stat(const struct stat *status, struct name_cache *names, struct ftpd_stat *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = status->st_mode;
	out->size = status->st_size > 0 ? (uint64_t)status->st_size : 0;
	out->mtime = status->st_mtim.tv_sec;
	out->nlink = status->st_nlink;
	out->uid = status->st_uid;
	out->gid = status->st_gid;
	out->device = (uint64_t)status->st_dev;
	out->inode = (uint64_t)status->st_ino;
	memcpy(out->owner, cached_name(names->users, &names->next_user, 0,
	    status->st_uid), sizeof(out->owner));
	memcpy(out->group, cached_name(names->groups, &names->next_group, 1,
	    status->st_gid), sizeof(out->group));
}

int
fs_clear_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1)
		return -errno;
	return 0;
}

/*
 * Opens a directory or regular file for reading, filling *status. Other
 * types are refused before the real open (opening a device can have side
 * effects), and O_NONBLOCK keeps a FIFO swapped in meanwhile from blocking.
 */
static int
open_readable(struct shell_fs *fs, const struct ftpd_path *path, struct stat *status)
{
	int fd, error;

	fd = fs_resolve_open(fs->root_fd, path, O_PATH, 0);
	if (fd < 0)
		return fd;
	error = fstat(fd, status) == -1 ? -errno : 0;
	close(fd);
	if (error != 0)
		return error;
	if (S_ISDIR(status->st_mode))
		fd = fs_resolve_open(fs->root_fd, path, O_RDONLY | O_DIRECTORY, 0);
	else if (S_ISREG(status->st_mode))
		fd = fs_resolve_open(fs->root_fd, path,
		    O_RDONLY | O_NONBLOCK | O_NOCTTY, 0);
	else
		return -EACCES;
	if (fd < 0)
		return fd;
	if (fstat(fd, status) == -1)
		error = -errno;
	else if (!S_ISDIR(status->st_mode) && !S_ISREG(status->st_mode))
		error = -EACCES;
	else
		error = fs_clear_nonblocking(fd);
	if (error != 0) {
		close(fd);
		return error;
	}
	return fd;
}

/* The directory holding path's last segment, or the root itself as "." for the root. */
static int
open_containing_directory(struct shell_fs *fs, const struct ftpd_path *path,
    const char **name)
{
	int fd;

	if (path->count > 0)
		return fs_resolve_open_parent(fs->root_fd, path, name);
	fd = fcntl(fs->root_fd, F_DUPFD_CLOEXEC, 0);
	if (fd == -1)
		return -errno;
	*name = ".";
	return fd;
}

static void
fs_access(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_access access, ftpd_done_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	struct stat status;
	int fd, error = 0;

	if (access & FTPD_ACCESS_ENTER) {
		fd = fs_resolve_open(fs->root_fd, path, O_PATH | O_DIRECTORY, 0);
		if (fd < 0) {
			done(arg, fd);
			return;
		}
		/* Looking up "." needs search permission on the directory. */
		if (fstatat(fd, ".", &status, 0) == -1)
			error = -errno;
		close(fd);
	}
	if (error == 0 && (access & FTPD_ACCESS_READ)) {
		fd = open_readable(fs, path, &status);
		if (fd < 0)
			error = fd;
		else
			close(fd);
	}
	done(arg, error);
}

static void
fs_stat(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_stat_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	struct name_cache names;
	struct ftpd_stat result;
	struct stat status;
	int fd;

	fd = fs_resolve_open(fs->root_fd, path, O_PATH, 0);
	if (fd < 0) {
		done(arg, fd, NULL);
		return;
	}
	if (fstat(fd, &status) == -1) {
		int error = -errno;

		close(fd);
		done(arg, error, NULL);
		return;
	}
	close(fd);
	memset(&names, 0, sizeof(names));
	fill_stat(&status, &names, &result);
	done(arg, 0, &result);
}

static int
fs_directory_read(struct ftpd_directory *base, struct ftpd_directory_entry *entry)
{
	struct fs_directory *directory = (struct fs_directory *)base;
	struct dirent *found;
	struct stat status;

	for (;;) {
		errno = 0;
		found = readdir(directory->stream);
		if (found == NULL)
			return errno != 0 ? -errno : 0;
		if (strcmp(found->d_name, ".") == 0 || strcmp(found->d_name, "..") == 0)
			continue;
		break;
	}
	entry->name = found->d_name;
	/* Never follows: a symlink is listed as itself, wherever it points. */
	if (fstatat(dirfd(directory->stream), found->d_name, &status,
	    AT_SYMLINK_NOFOLLOW) == 0) {
		entry->has_stat = 1;
		fill_stat(&status, &directory->names, &entry->stat);
	} else {
		entry->has_stat = 0;
		memset(&entry->stat, 0, sizeof(entry->stat));
	}
	return 1;
}

static void
fs_directory_close(struct ftpd_directory *base)
{
	struct fs_directory *directory = (struct fs_directory *)base;

	closedir(directory->stream);
	free(directory);
}

static const struct ftpd_directory_ops fs_directory_ops = {
	.read = fs_directory_read,
	.close = fs_directory_close,
};

static void
fs_open_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_open_directory_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	struct fs_directory *directory;
	int fd;

	fd = fs_resolve_open(fs->root_fd, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		done(arg, fd, NULL);
		return;
	}
	directory = calloc(1, sizeof(*directory));
	if (directory == NULL) {
		close(fd);
		done(arg, -ENOMEM, NULL);
		return;
	}
	directory->stream = fdopendir(fd);
	if (directory->stream == NULL) {
		int error = -errno;

		close(fd);
		free(directory);
		done(arg, error, NULL);
		return;
	}
	directory->base.ops = &fs_directory_ops;
	done(arg, 0, &directory->base);
}

/* One change to the entry name in directory_fd; returns 0 or -errno. */
typedef int entry_change_fn(int directory_fd, const char *name, const void *context);

/*
 * What every change to the tree shares: a read-only shell refuses it before
 * anything else, then refusal (when not 0) answers for an argument the
 * operation rejects by itself, then change runs in the directory holding
 * path's last segment, which stays unresolved so no link is followed out.
 */
static void
change_in_parent(struct shell_fs *fs, const struct ftpd_path *path, int refusal,
    entry_change_fn *change, const void *context, ftpd_done_fn done, void *arg)
{
	const char *name;
	int directory_fd, error;

	if (fs->read_only) {
		done(arg, -EROFS);
		return;
	}
	if (refusal != 0) {
		done(arg, refusal);
		return;
	}
	directory_fd = open_containing_directory(fs, path, &name);
	if (directory_fd < 0) {
		done(arg, directory_fd);
		return;
	}
	error = change(directory_fd, name, context);
	close(directory_fd);
	done(arg, error);
}

static int
make_directory_entry(int directory_fd, const char *name, const void *context UNUSED)
{
	return mkdirat(directory_fd, name, NEW_DIRECTORY_MODE) == -1 ? -errno : 0;
}

static void
fs_make_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	/* The root always exists. */
	change_in_parent(shell_fs_of(shell), path, path->count == 0 ? -EEXIST : 0,
	    make_directory_entry, NULL, done, arg);
}

/* context: AT_REMOVEDIR to remove a directory, 0 for anything else. */
static int
remove_entry(int directory_fd, const char *name, const void *context)
{
	const int *flags = context;
	struct stat status;

	if (*flags == 0) {
		/* POSIX allows unlink() of a directory to mean EPERM; say what it is. */
		if (fstatat(directory_fd, name, &status, AT_SYMLINK_NOFOLLOW) == -1)
			return -errno;
		if (S_ISDIR(status.st_mode))
			return -EISDIR;
	}
	return unlinkat(directory_fd, name, *flags) == -1 ? -errno : 0;
}

static void
fs_remove_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	static const int flags = AT_REMOVEDIR;

	/* The root is in use as the shell's root and has no parent to leave. */
	change_in_parent(shell_fs_of(shell), path, path->count == 0 ? -EBUSY : 0,
	    remove_entry, &flags, done, arg);
}

static void
fs_remove_file(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	static const int flags = 0;

	change_in_parent(shell_fs_of(shell), path, path->count == 0 ? -EISDIR : 0,
	    remove_entry, &flags, done, arg);
}

struct rename_target {
	int root_fd;
	const struct ftpd_path *path;
};

static int
rename_entry(int from_directory, const char *from_name, const void *context)
{
	const struct rename_target *to = context;
	const char *to_name;
	int to_directory, error = 0;

	to_directory = fs_resolve_open_parent(to->root_fd, to->path, &to_name);
	if (to_directory < 0)
		return to_directory;
	if (renameat(from_directory, from_name, to_directory, to_name) == -1)
		error = -errno;
	close(to_directory);
	return error;
}

static void
fs_rename(struct ftpd_shell *shell, const struct ftpd_path *from,
    const struct ftpd_path *to, ftpd_done_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	struct rename_target target = { fs->root_fd, to };

	/* The root has no parent to move it out of (nor, below, into). */
	change_in_parent(fs, from, from->count == 0 ? -EBUSY : 0, rename_entry,
	    &target, done, arg);
}

static ssize_t
fs_read_file_read(struct ftpd_read_file *file, void *buffer, size_t length)
{
	ssize_t count;

	do
		count = read(file->fd, buffer, length);
	while (count == -1 && errno == EINTR);
	return count >= 0 ? count : -errno;
}

static void
fs_read_file_close(struct ftpd_read_file *file)
{
	close(file->fd);
	free((struct fs_read_file *)file);
}

static const struct ftpd_read_file_ops fs_read_file_ops = {
	.read = fs_read_file_read,
	.close = fs_read_file_close,
};

static void
fs_open_for_reading(struct ftpd_shell *shell, const struct ftpd_path *path,
    uint64_t offset, ftpd_open_read_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	struct fs_read_file *file = NULL;
	struct stat status;
	int fd, error = 0;

	if (offset > INT64_MAX) {
		done(arg, -EINVAL, NULL);
		return;
	}
	fd = open_readable(fs, path, &status);
	if (fd < 0) {
		done(arg, fd, NULL);
		return;
	}
	if (S_ISDIR(status.st_mode))
		error = -EISDIR;
	else if (lseek(fd, (off_t)offset, SEEK_SET) == -1)
		error = -errno;
	else if ((file = calloc(1, sizeof(*file))) == NULL)
		error = -ENOMEM;
	if (error != 0) {
		close(fd);
		done(arg, error, NULL);
		return;
	}
	file->base.ops = &fs_read_file_ops;
	file->base.fd = fd;
	file->base.size = (uint64_t)status.st_size;
	done(arg, 0, &file->base);
}

static void
fs_open_for_writing(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	struct ftpd_write_file *file = NULL;
	int error;

	if (fs->read_only) {
		done(arg, -EROFS, NULL);
		return;
	}
	error = fs_write_file_open(fs->root_fd, fs->host, path, mode, offset, &file);
	done(arg, error, error == 0 ? file : NULL);
}

static int
set_entry_mtime(int directory_fd, const char *name, const void *context)
{
	const time_t *mtime = context;
	struct timespec times[2];

	times[0].tv_sec = 0;
	times[0].tv_nsec = UTIME_OMIT;
	times[1].tv_sec = *mtime;
	times[1].tv_nsec = 0;
	/* A symlink gets its own time set; its target, maybe outside, is untouched. */
	if (utimensat(directory_fd, name, times, AT_SYMLINK_NOFOLLOW) == -1)
		return -errno;
	return 0;
}

static void
fs_set_mtime(struct ftpd_shell *shell, const struct ftpd_path *path,
    time_t mtime, ftpd_done_fn done, void *arg)
{
	change_in_parent(shell_fs_of(shell), path, 0, set_entry_mtime, &mtime,
	    done, arg);
}

static int
chmod_without_following(int directory_fd, const char *name, mode_t mode)
{
	struct stat status;
	int fd, error = 0;

	if (fstatat(directory_fd, name, &status, AT_SYMLINK_NOFOLLOW) == -1)
		return -errno;
	if (S_ISLNK(status.st_mode))
		return -EPERM;
	if (fchmodat(directory_fd, name, mode, AT_SYMLINK_NOFOLLOW) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	/*
	 * Without fchmodat2 the C library needs /proc, missing in a chroot.
	 * An fd opened without following is as safe; only the two types that
	 * have no side effects on open are tried.
	 */
	if (!S_ISREG(status.st_mode) && !S_ISDIR(status.st_mode))
		return -EPERM;
	fd = openat(directory_fd, name,
	    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return errno == ELOOP ? -EPERM : -errno;
	if (fchmod(fd, mode) == -1)
		error = -errno;
	close(fd);
	return error;
}

static int
chmod_entry(int directory_fd, const char *name, const void *context)
{
	const mode_t *mode = context;

	return chmod_without_following(directory_fd, name, *mode);
}

/* A mode SITE CHMOD refuses before touching the tree: 0 if it may be set. */
static int
chmod_mode_error(mode_t mode)
{
	if (mode & ~(mode_t)07777)
		return -EINVAL;
	if (mode & ~(mode_t)CHMOD_ALLOWED_BITS)
		return -EPERM;
	return 0;
}

static void
fs_chmod(struct ftpd_shell *shell, const struct ftpd_path *path, mode_t mode,
    ftpd_done_fn done, void *arg)
{
	change_in_parent(shell_fs_of(shell), path, chmod_mode_error(mode),
	    chmod_entry, &mode, done, arg);
}

static void
fs_destroy(struct ftpd_shell *shell)
{
	struct shell_fs *fs = shell_fs_of(shell);

	close(fs->root_fd);
	free(fs);
}

static const struct ftpd_shell_ops shell_fs_ops = {
	.access = fs_access,
	.stat = fs_stat,
	.open_directory = fs_open_directory,
	.make_directory = fs_make_directory,
	.remove_directory = fs_remove_directory,
	.remove_file = fs_remove_file,
	.rename = fs_rename,
	.open_for_reading = fs_open_for_reading,
	.open_for_writing = fs_open_for_writing,
	.set_mtime = fs_set_mtime,
	.chmod = fs_chmod,
	.destroy = fs_destroy,
};

int
shell_fs_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	struct shell_fs *fs;

	if (config->root == NULL || config->root[0] == '\0')
		return -EINVAL;
	if (config->options != NULL && config->options[0] != '\0')
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (fs == NULL)
		return -ENOMEM;
	fs->root_fd = open(config->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fs->root_fd == -1) {
		int error = -errno;

		free(fs);
		return error;
	}
	fs->base.ops = &shell_fs_ops;
	fs->read_only = config->read_only != 0;
	fs->host = config->host;
	*shell = &fs->base;
	return 0;
}

const struct ftpd_shell_module shell_fs_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.name = "fs",
	.create = shell_fs_create,
};
