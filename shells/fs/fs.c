/*
 * fs (shells): the read-write filesystem shell (Twisted's FTPShell). Every path
 * is opened beneath the root fd through fs_resolve; nothing follows a link out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs/directory.h"
#include "fs/fs.h"
#include "fs/random_access.h"
#include "fs/resolve.h"
#include "fs/write_file.h"
#include "shell/registry.h"
#include "util/attributes.h"

/* The process umask applies, as it does for any program creating directories. */
#define NEW_DIRECTORY_MODE 0755

#define NAME_LOOKUP_BUFFER_MAX (1024 * 1024)

/* Permission bits SITE CHMOD may set: no set-user-ID or set-group-ID. */
#define CHMOD_ALLOWED_BITS (07777 & ~(S_ISUID | S_ISGID))

struct shell_fs {
	struct ftpd_shell base;
	int root_fd;
	int read_only;
	struct ftpd_host *host;	/* runs upload commits off the event loop, if set */
	int sync_uploads;	/* upload_sync: fsync before an upload's 226 */
	uid_t uid;		/* whom the kernel checks: for the perm facts */
	gid_t gid;
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
cached_name(struct fs_name_cache_entry *entries, size_t *next, int is_group,
    unsigned long id)
{
	struct fs_name_cache_entry *entry;
	size_t i;

	for (i = 0; i < FS_NAME_CACHE_SIZE; i++)
		if (entries[i].valid && entries[i].id == id)
			return entries[i].name;
	entry = &entries[*next];
	*next = (*next + 1) % FS_NAME_CACHE_SIZE;
	entry->valid = 1;
	entry->id = id;
	lookup_name(is_group, id, entry->name, sizeof(entry->name));
	return entry->name;
}

/* The rwx bits of mode that apply to this process, as 04/02/01. */
static unsigned
own_permission_bits(const struct shell_fs *fs, const struct stat *status)
{
	if (fs->uid == 0)
		return 07;
	if (status->st_uid == fs->uid)
		return (status->st_mode >> 6) & 07;
	if (status->st_gid == fs->gid)
		return (status->st_mode >> 3) & 07;
	return status->st_mode & 07;
}

/*
 * The MLSD perm facts: what the mode bits let this process do, and no change
 * at all in a read-only shell. Deleting and renaming depend on the directory
 * holding the entry; they are offered when the shell is writable and the
 * kernel has the last word.
 */
static unsigned
perm_facts(const struct shell_fs *fs, const struct stat *status)
{
	unsigned bits = own_permission_bits(fs, status);
	unsigned perm = FTPD_PERM_KNOWN;

	if (S_ISDIR(status->st_mode)) {
		if (bits & 01)
			perm |= FTPD_PERM_ENTER;
		if (bits & 04)
			perm |= FTPD_PERM_LIST;
		if (!fs->read_only && (bits & 03) == 03)
			perm |= FTPD_PERM_CREATE | FTPD_PERM_MKDIR | FTPD_PERM_PURGE;
	} else if (S_ISREG(status->st_mode)) {
		if (bits & 04)
			perm |= FTPD_PERM_READ;
		if (!fs->read_only && (bits & 02))
			perm |= FTPD_PERM_APPEND | FTPD_PERM_WRITE;
	}
	if (!fs->read_only)
		perm |= FTPD_PERM_DELETE | FTPD_PERM_RENAME;
	return perm;
}

void
fs_fill_stat(const struct shell_fs *fs, const struct stat *status, struct fs_name_cache *names,
    struct ftpd_stat *out)
{
	memset(out, 0, sizeof(*out));
	out->struct_size = sizeof(*out);
	out->perm = perm_facts(fs, status);
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

/* stat of path, following a final link (inside the root) unless lstat. */
static void
stat_path(struct shell_fs *fs, const struct ftpd_path *path, int lstat,
    ftpd_stat_fn done, void *arg)
{
	struct fs_name_cache names;
	struct ftpd_stat result = FTPD_STAT_INIT;
	struct stat status;
	const char *name;
	int fd, error = 0;

	if (lstat && path->count > 0) {
		fd = fs_resolve_open_parent(fs->root_fd, path, &name);
		if (fd >= 0 && fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) == -1)
			error = -errno;
	} else {
		fd = fs_resolve_open(fs->root_fd, path, O_PATH, 0);
		if (fd >= 0 && fstat(fd, &status) == -1)
			error = -errno;
	}
	if (fd < 0) {
		done(arg, fd, NULL);
		return;
	}
	close(fd);
	if (error != 0) {
		done(arg, error, NULL);
		return;
	}
	memset(&names, 0, sizeof(names));
	fs_fill_stat(fs, &status, &names, &result);
	done(arg, 0, &result);
}

static void
fs_stat(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_stat_fn done, void *arg)
{
	stat_path(shell_fs_of(shell), path, 0, done, arg);
}

static void
fs_lstat(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_stat_fn done, void *arg)
{
	stat_path(shell_fs_of(shell), path, 1, done, arg);
}

static void
fs_readlink(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_readlink_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	char target[PATH_MAX];
	const char *name;
	ssize_t length;
	int fd;

	if (path->count == 0) {
		done(arg, -EINVAL, NULL);
		return;
	}
	fd = fs_resolve_open_parent(fs->root_fd, path, &name);
	if (fd < 0) {
		done(arg, fd, NULL);
		return;
	}
	length = readlinkat(fd, name, target, sizeof(target) - 1);
	close(fd);
	if (length < 0) {
		done(arg, -errno, NULL);
		return;
	}
	target[length] = '\0';
	done(arg, 0, target);
}

static void
fs_open_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_open_directory_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);
	struct ftpd_directory *directory;
	int fd, error;

	fd = fs_resolve_open(fs->root_fd, path, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0) {
		done(arg, fd, NULL);
		return;
	}
	error = fs_directory_open(fs, fs->host, fd, &directory);
	done(arg, error, error == 0 ? directory : NULL);
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
fs_read_file_read(struct ftpd_read_file *file, void *buffer, size_t length,
    ftpd_result_fn done UNUSED, void *arg UNUSED)
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
	.struct_size = sizeof(struct ftpd_read_file_ops),
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
	else if (offset > 0 && lseek(fd, (off_t)offset, SEEK_SET) == -1)
		error = -errno;
	else if ((file = calloc(1, sizeof(*file))) == NULL)
		error = -ENOMEM;
	if (error != 0) {
		close(fd);
		done(arg, error, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
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
	error = fs_write_file_open(fs->root_fd, fs->host, fs->sync_uploads, path, mode, offset,
	    &file);
	done(arg, error, error == 0 ? file : NULL);
}

static int
set_entry_times(int directory_fd, const char *name, const struct ftpd_attributes *change)
{
	struct timespec times[2];

	times[0].tv_sec = change->mask & FTPD_ATTR_ATIME ? change->atime : 0;
	times[0].tv_nsec = change->mask & FTPD_ATTR_ATIME ? 0 : UTIME_OMIT;
	times[1].tv_sec = change->mask & FTPD_ATTR_MTIME ? change->mtime : 0;
	times[1].tv_nsec = change->mask & FTPD_ATTR_MTIME ? 0 : UTIME_OMIT;
	/* A symlink gets its own time set; its target, maybe outside, is untouched. */
	if (utimensat(directory_fd, name, times, AT_SYMLINK_NOFOLLOW) == -1)
		return -errno;
	return 0;
}

/* Only a regular file has a size to set; a link is not followed to one. */
static int
set_entry_size(int directory_fd, const char *name, uint64_t size)
{
	int fd, error = 0;

	if (size > INT64_MAX)
		return -EFBIG;
	fd = openat(directory_fd, name,
	    O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1)
		return errno == ELOOP ? -EPERM : -errno;
	if (fs_clear_nonblocking(fd) != 0 || ftruncate(fd, (off_t)size) == -1)
		error = errno == EINVAL ? -EINVAL : -errno;
	close(fd);
	return error;
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

/* Each change in the order mode, size, times; the first failure stops the rest. */
static int
change_attributes(int directory_fd, const char *name, const void *context)
{
	const struct ftpd_attributes *change = context;
	int error = 0;

	if (change->mask & FTPD_ATTR_MODE)
		error = chmod_without_following(directory_fd, name, change->mode);
	if (error == 0 && (change->mask & FTPD_ATTR_SIZE))
		error = set_entry_size(directory_fd, name, change->size);
	if (error == 0 && (change->mask & (FTPD_ATTR_MTIME | FTPD_ATTR_ATIME)))
		error = set_entry_times(directory_fd, name, change);
	return error;
}

static void
fs_chattr(struct ftpd_shell *shell, const struct ftpd_path *path,
    const struct ftpd_attributes *attributes, ftpd_done_fn done, void *arg)
{
	struct ftpd_attributes change = { .struct_size = sizeof(change) };
	int refusal = 0;

	/* Fields ftpd did not know it could set stay unset. */
	change.mask = attributes->mask;
	change.mode = attributes->mode;
	change.mtime = attributes->mtime;
	change.atime = attributes->atime;
	if (FTPD_HAS(attributes, struct ftpd_attributes, size))
		change.size = attributes->size;
	else
		change.mask &= ~(unsigned)FTPD_ATTR_SIZE;
	if (change.mask & ~(unsigned)(FTPD_ATTR_MODE | FTPD_ATTR_MTIME | FTPD_ATTR_ATIME |
	    FTPD_ATTR_SIZE))
		refusal = -EINVAL;
	else if (change.mask & FTPD_ATTR_MODE)
		refusal = chmod_mode_error(change.mode);
	change_in_parent(shell_fs_of(shell), path, refusal, change_attributes, &change,
	    done, arg);
}

/*
 * The target as a path relative to link's directory: "../" up to where the
 * two share a directory, then down. Resolved from where the link sits, it
 * can only name something inside the root.
 */
static int
relative_target(const struct ftpd_path *target, const struct ftpd_path *link,
    char *out, size_t size)
{
	size_t common = 0, used = 0, i;

	while (common < target->count && common + 1 < link->count &&
	    strcmp(target->segments[common], link->segments[common]) == 0)
		common++;
	out[0] = '\0';
	for (i = common; i + 1 < link->count; i++) {
		if (used + 3 >= size)
			return -ENAMETOOLONG;
		memcpy(out + used, "../", 4);
		used += 3;
	}
	for (i = common; i < target->count; i++) {
		size_t length = strlen(target->segments[i]);

		if (used + length + 2 >= size)
			return -ENAMETOOLONG;
		memcpy(out + used, target->segments[i], length);
		used += length;
		out[used++] = i + 1 < target->count ? '/' : '\0';
	}
	if (used == 0)
		memcpy(out, ".", 2);	/* the root itself, from a link in the root */
	else if (out[used - 1] == '/')
		out[used - 1] = '\0';	/* only "../" steps: drop the last slash */
	else
		out[used] = '\0';
	return 0;
}

static int
make_symlink_entry(int directory_fd, const char *name, const void *context)
{
	return symlinkat(context, directory_fd, name) == -1 ? -errno : 0;
}

static void
fs_symlink(struct ftpd_shell *shell, const struct ftpd_path *target,
    const struct ftpd_path *link, ftpd_done_fn done, void *arg)
{
	char relative[PATH_MAX];
	int refusal;

	refusal = link->count == 0 ? -EEXIST :
	    relative_target(target, link, relative, sizeof(relative));
	change_in_parent(shell_fs_of(shell), link, refusal, make_symlink_entry, relative,
	    done, arg);
}

static void
fs_open_file(struct ftpd_shell *shell, const struct ftpd_path *path, unsigned flags,
    ftpd_open_file_fn done, void *arg)
{
	struct shell_fs *fs = shell_fs_of(shell);

	fs_random_access_open(fs->root_fd, fs->read_only, path, flags, done, arg);
}

static void
fs_destroy(struct ftpd_shell *shell)
{
	struct shell_fs *fs = shell_fs_of(shell);

	close(fs->root_fd);
	free(fs);
}

static const struct ftpd_shell_ops shell_fs_ops = {
	.struct_size = sizeof(struct ftpd_shell_ops),
	.access = fs_access,
	.stat = fs_stat,
	.open_directory = fs_open_directory,
	.make_directory = fs_make_directory,
	.remove_directory = fs_remove_directory,
	.remove_file = fs_remove_file,
	.rename = fs_rename,
	.open_for_reading = fs_open_for_reading,
	.open_for_writing = fs_open_for_writing,
	.destroy = fs_destroy,
	.chattr = fs_chattr,
	.lstat = fs_lstat,
	.readlink = fs_readlink,
	.symlink = fs_symlink,
	.open_file = fs_open_file,
};

int
shell_fs_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	struct shell_fs *fs;

	if (config->root == NULL || config->root[0] == '\0')
		return -EINVAL;
	/* The fs shell takes no options. */
	if (config->option_count > 0)
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
	/* A host built before the field: uploads stay durable. */
	fs->sync_uploads = FTPD_HAS(config, struct ftpd_shell_config, sync_uploads) ?
	    config->sync_uploads : 1;
	fs->uid = geteuid();
	fs->gid = getegid();
	*shell = &fs->base;
	return 0;
}

const struct ftpd_shell_module shell_fs_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "fs",
	.create = shell_fs_create,
};
