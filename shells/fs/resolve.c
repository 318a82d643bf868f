/*
 * fs/resolve (shells): opens normalised paths below a root directory fd for the
 * filesystem shells; symlinks are followed only while they stay below it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#include "fs/resolve.h"

/* The kernel's own limit on symlinks followed in one lookup. */
#define FS_RESOLVE_MAX_SYMLINKS 40

/* openat2 may answer EAGAIN when a rename races with its ".." checks. */
#define FS_RESOLVE_MAX_RETRIES 8

static _Atomic int forced_walk;
static _Atomic int openat2_missing;

void
fs_resolve_set_method(enum fs_resolve_method method)
{
	atomic_store(&forced_walk, method == FS_RESOLVE_WALK);
}

/* Shells are handed normalised segments; anything else is a caller's bug, refused. */
static int
check_segments(const struct ftpd_path *path)
{
	size_t i, length;

	for (i = 0; i < path->count; i++) {
		const char *segment = path->segments[i];

		if (segment == NULL || segment[0] == '\0' ||
		    strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0 ||
		    strchr(segment, '/') != NULL)
			return -EINVAL;
		length = strlen(segment);
		if (length > FTPD_NAME_MAX)
			return -ENAMETOOLONG;
	}
	return 0;
}

static int
follows_last_segment(int flags)
{
	if (flags & O_NOFOLLOW)
		return 0;
	/* O_CREAT|O_EXCL never follows a final symlink, in open(2) either. */
	return (flags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL);
}

static int
uses_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#ifdef SYS_openat2
/* "a/b/c" for openat2, or NULL when out of memory or longer than the kernel takes. */
static char *
join_segments(const struct ftpd_path *path, int *error)
{
	size_t total = 0, position = 0, i;
	char *joined;

	if (path->count == 0) {
		joined = strdup(".");
		*error = joined == NULL ? -ENOMEM : 0;
		return joined;
	}
	for (i = 0; i < path->count; i++)
		total += strlen(path->segments[i]) + 1;
	if (total > PATH_MAX) {
		*error = -ENAMETOOLONG;
		return NULL;
	}
	joined = malloc(total);
	if (joined == NULL) {
		*error = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < path->count; i++) {
		size_t length = strlen(path->segments[i]);

		if (i > 0)
			joined[position++] = '/';
		memcpy(joined + position, path->segments[i], length);
		position += length;
	}
	joined[position] = '\0';
	*error = 0;
	return joined;
}

/* -ENOSYS when the kernel has no openat2; -ENAMETOOLONG when only the walk can do it. */
static int
open_with_openat2(int root_fd, const struct ftpd_path *path, int flags, mode_t mode)
{
	struct open_how how;
	char *joined;
	int error, attempt;
	long fd = -1;

	joined = join_segments(path, &error);
	if (joined == NULL)
		return error;
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(unsigned)(flags | O_CLOEXEC);
	how.mode = uses_mode(flags) ? mode : 0;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	error = 0;
	for (attempt = 0; attempt < FS_RESOLVE_MAX_RETRIES; attempt++) {
		fd = syscall(SYS_openat2, root_fd, joined, &how, sizeof(how));
		if (fd >= 0)
			break;
		error = errno;
		if (error != EAGAIN)
			break;
	}
	free(joined);
	if (fd >= 0)
		return (int)fd;
	/* EXDEV is openat2's word for "would leave the root". */
	return error == EXDEV ? -EACCES : -error;
}
#endif

/* A segment still to be resolved; it points into the path or a symlink's text. */
struct walk_span {
	const char *start;
	size_t length;
};

struct walk {
	struct walk_span *spans;
	size_t count;
	char *link_texts[FS_RESOLVE_MAX_SYMLINKS];
	size_t link_count;
};

static void
walk_free(struct walk *walk)
{
	size_t i;

	for (i = 0; i < walk->link_count; i++)
		free(walk->link_texts[i]);
	free(walk->spans);
}

static int
read_link_text(int link_fd, char **text)
{
	char *buffer;
	ssize_t length;

	buffer = malloc(PATH_MAX);
	if (buffer == NULL)
		return -ENOMEM;
	length = readlinkat(link_fd, "", buffer, PATH_MAX);
	if (length < 0) {
		int error = errno;

		free(buffer);
		return -error;
	}
	if (length >= PATH_MAX) {
		free(buffer);
		return -ENAMETOOLONG;
	}
	buffer[length] = '\0';
	*text = buffer;
	return 0;
}

/*
 * Replaces span `at` (a symlink) by its text, resolved against the spans
 * before it. Those are plain directory names already walked, so ".." can be
 * folded here and the walk restarts from the root with plain names only.
 */
static int
walk_expand_link(struct walk *walk, size_t at, char *text)
{
	struct walk_span *spans;
	size_t text_length = strlen(text), count, position = 0, i;

	if (walk->link_count == FS_RESOLVE_MAX_SYMLINKS) {
		free(text);
		return -ELOOP;
	}
	walk->link_texts[walk->link_count++] = text;
	if (text_length == 0)
		return -ENOENT;
	if (text[0] == '/')
		return -EACCES;

	spans = calloc(at + text_length / 2 + 1 + (walk->count - at - 1),
	    sizeof(*spans));
	if (spans == NULL)
		return -ENOMEM;
	memcpy(spans, walk->spans, at * sizeof(*spans));
	count = at;
	while (position < text_length) {
		const char *start = text + position;
		const char *slash = strchr(start, '/');
		size_t length = slash != NULL ? (size_t)(slash - start) :
		    text_length - position;

		position += length + 1;
		if (length == 0 || (length == 1 && start[0] == '.'))
			continue;
		if (length == 2 && start[0] == '.' && start[1] == '.') {
			if (count == 0) {
				free(spans);
				return -EACCES;
			}
			count--;
			continue;
		}
		if (length > FTPD_NAME_MAX) {
			free(spans);
			return -ENAMETOOLONG;
		}
		spans[count].start = start;
		spans[count].length = length;
		count++;
	}
	for (i = at + 1; i < walk->count; i++)
		spans[count++] = walk->spans[i];
	free(walk->spans);
	walk->spans = spans;
	walk->count = count;
	return 0;
}

/*
 * One pass from the root. Returns an fd, -errno, or 1 with the walk
 * rewritten when a symlink was met and the caller must start again.
 */
static int
walk_once(int root_fd, struct walk *walk, int flags, mode_t mode)
{
	char name[FTPD_NAME_MAX + 1];
	struct stat status;
	size_t i;
	int directory_fd, next_fd, fd, error;

	flags |= O_CLOEXEC;
	if (walk->count == 0) {
		fd = openat(root_fd, ".", flags, mode);
		return fd >= 0 ? fd : -errno;
	}
	directory_fd = openat(root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (directory_fd < 0)
		return -errno;
	for (i = 0; i < walk->count; i++) {
		int last = i + 1 == walk->count;

		memcpy(name, walk->spans[i].start, walk->spans[i].length);
		name[walk->spans[i].length] = '\0';
		if (last && !follows_last_segment(flags)) {
			fd = openat(directory_fd, name, flags | O_NOFOLLOW, mode);
			error = fd >= 0 ? fd : -errno;
			close(directory_fd);
			return error;
		}
		next_fd = openat(directory_fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next_fd < 0) {
			error = -errno;
			if (last && error == -ENOENT && (flags & O_CREAT)) {
				fd = openat(directory_fd, name, flags | O_NOFOLLOW,
				    mode);
				error = fd >= 0 ? fd : -errno;
			}
			close(directory_fd);
			return error;
		}
		if (fstat(next_fd, &status) == -1) {
			error = -errno;
			close(next_fd);
			close(directory_fd);
			return error;
		}
		if (S_ISLNK(status.st_mode)) {
			char *text = NULL;

			error = read_link_text(next_fd, &text);
			close(next_fd);
			close(directory_fd);
			if (error == 0)
				error = walk_expand_link(walk, i, text);
			return error == 0 ? 1 : error;
		}
		if (last) {
			/*
			 * Not a symlink a moment ago; O_NOFOLLOW makes a
			 * swap in between fail instead of being followed.
			 */
			close(next_fd);
			fd = openat(directory_fd, name, flags | O_NOFOLLOW, mode);
			error = fd >= 0 ? fd : -errno;
			close(directory_fd);
			return error;
		}
		close(directory_fd);
		if (!S_ISDIR(status.st_mode)) {
			close(next_fd);
			return -ENOTDIR;
		}
		directory_fd = next_fd;
	}
	/* Not reached: the last segment returns inside the loop. */
	close(directory_fd);
	return -EINVAL;
}

static int
open_by_walk(int root_fd, const struct ftpd_path *path, int flags, mode_t mode)
{
	struct walk walk;
	size_t i;
	int result;

	memset(&walk, 0, sizeof(walk));
	if (path->count > 0) {
		walk.spans = calloc(path->count, sizeof(*walk.spans));
		if (walk.spans == NULL)
			return -ENOMEM;
	}
	for (i = 0; i < path->count; i++) {
		walk.spans[i].start = path->segments[i];
		walk.spans[i].length = strlen(path->segments[i]);
	}
	walk.count = path->count;
	do
		result = walk_once(root_fd, &walk, flags, mode);
	while (result == 1);
	walk_free(&walk);
	return result;
}

int
fs_resolve_open(int root_fd, const struct ftpd_path *path, int flags, mode_t mode)
{
	int error;

	error = check_segments(path);
	if (error != 0)
		return error;
	if (!uses_mode(flags))
		mode = 0;
#ifdef SYS_openat2
	if (!atomic_load(&forced_walk) && !atomic_load(&openat2_missing)) {
		int fd = open_with_openat2(root_fd, path, flags, mode);

		if (fd == -ENOSYS)
			atomic_store(&openat2_missing, 1);
		else if (fd != -ENAMETOOLONG)
			return fd;
	}
#endif
	return open_by_walk(root_fd, path, flags, mode);
}

int
fs_resolve_open_parent(int root_fd, const struct ftpd_path *path, const char **name)
{
	struct ftpd_path parent;
	int error;

	if (path->count == 0)
		return -EBUSY;
	error = check_segments(path);
	if (error != 0)
		return error;
	parent.segments = path->segments;
	parent.count = path->count - 1;
	*name = path->segments[path->count - 1];
	return fs_resolve_open(root_fd, &parent, O_PATH | O_DIRECTORY, 0);
}
