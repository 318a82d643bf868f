/*
 * fuzz/path: path resolution, from a client's argument to an open file:
 * path_resolve (src/path) and fs_resolve (shells/fs/resolve.c).
 *
 * Input: one byte choosing how to open, the working directory up to the
 * first LF, then the client's path (anything, NUL included). The result of
 * path_resolve must be normalised and stable (resolving its own text gives
 * it back). fs_resolve then opens it in a small tree with links that stay
 * inside and links that lead out, once with openat2 and once by the walk:
 * both must agree, and whatever opens must lie below the root.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/resolve.h"
#include "path/path.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[4096];
static int root_fd = -1;

/* Only ways of opening that change nothing: the fuzzer must not write in the tree. */
static const int open_flags[] = {
	O_RDONLY,
	O_RDONLY | O_DIRECTORY,
	O_RDONLY | O_NOFOLLOW,
	O_PATH,
	O_PATH | O_NOFOLLOW,
	O_PATH | O_DIRECTORY,
};

static void
fail(const char *what)
{
	fprintf(stderr, "path: %s\n", what);
	abort();
}

static void
make_entry(const char *name, const char *link_target, int directory)
{
	char path[sizeof(root) + 64];
	int error;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if (link_target != NULL)
		error = symlink(link_target, path);
	else if (directory)
		error = mkdir(path, 0755);
	else {
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);

		error = fd < 0 ? -1 : close(fd);
	}
	if (error != 0)
		fail("cannot create the tree");
}

static int
remove_entry(const char *path, const struct stat *status, int type, struct FTW *ftw)
{
	(void)status;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void
remove_tree(void)
{
	if (root_fd >= 0)
		close(root_fd);
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *directory = getenv("TMPDIR");
	char *real;

	(void)argc;
	(void)argv;
	snprintf(root, sizeof(root), "%s/ftpd-fuzz-path.XXXXXX",
	    directory != NULL && directory[0] != '\0' ? directory : "/tmp");
	if (mkdtemp(root) == NULL)
		fail("cannot create the root");
	/* /proc names the opened files by their real path: compare with the root's. */
	if ((real = realpath(root, NULL)) == NULL)
		fail("realpath");
	snprintf(root, sizeof(root), "%s", real);
	free(real);
	atexit(remove_tree);
	make_entry("a", NULL, 1);
	make_entry("a/b", NULL, 1);
	make_entry("a/b/file", NULL, 0);
	make_entry("file", NULL, 0);
	make_entry("a/up", "..", 0);		/* the root again */
	make_entry("a/b/upup", "../..", 0);	/* the root again */
	make_entry("a/b/out", "../../..", 0);	/* above the root */
	make_entry("out", "..", 0);
	make_entry("absolute", "/", 0);
	make_entry("inside", "a/b/file", 0);
	make_entry("chain", "a/up/a/up/inside", 0);
	make_entry("dangling", "nothing", 0);
	make_entry("loop", "loop", 0);
	make_entry("through", "a/b/out/tmp", 0);
	if ((root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		fail("cannot open the root");
	return 0;
}

/* What path_resolve promises about every path it returns. */
static void
check_normalised(const struct path *path)
{
	size_t i;

	if (path->count > PATH_MAX_SEGMENTS)
		fail("deeper than PATH_MAX_SEGMENTS");
	for (i = 0; i < path->count; i++) {
		const char *segment = path->segments[i];

		if (segment == NULL || segment[0] == '\0' || strchr(segment, '/') != NULL ||
		    strcmp(segment, ".") == 0 || strcmp(segment, "..") == 0)
			fail("a segment that is empty, . or .., or holds a slash");
		if (strlen(segment) > FTPD_NAME_MAX)
			fail("a segment longer than FTPD_NAME_MAX");
	}
}

static int
same_path(const struct path *a, const struct path *b)
{
	size_t i;

	if (a->count != b->count)
		return 0;
	for (i = 0; i < a->count; i++)
		if (strcmp(a->segments[i], b->segments[i]) != 0)
			return 0;
	return 1;
}

/* Resolving the text of a resolved path gives the same path, from anywhere. */
static void
check_stable(const struct path *path, const struct path *cwd)
{
	struct path again;
	char *text = path_to_string(path);

	if (text == NULL)
		fail("out of memory");
	if (strlen(text) > PATH_MAX_LENGTH) {
		/* Deep paths may print longer than a client could send; nothing to compare. */
		free(text);
		return;
	}
	if (path_resolve(cwd, text, strlen(text), &again) != 0)
		fail("a resolved path's text does not resolve");
	if (!same_path(path, &again))
		fail("a resolved path's text resolves elsewhere");
	path_free(&again);
	free(text);
}

/* An opened file must be the root or below it. */
static void
check_below_root(int fd)
{
	char link[64], target[sizeof(root) + 8192];
	size_t root_length = strlen(root);
	ssize_t length;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	length = readlink(link, target, sizeof(target) - 1);
	if (length < 0)
		fail("readlink /proc/self/fd");
	target[length] = '\0';
	if (strncmp(target, root, root_length) != 0 ||
	    (target[root_length] != '\0' && target[root_length] != '/'))
		fail("fs_resolve opened a file outside the root");
}

/* Opens path both ways; returns the fd of the first (closing the other), or -errno. */
static int
open_both_ways(const struct ftpd_path *view, int flags)
{
	struct stat first_status, second_status;
	int first, second;

	fs_resolve_set_method(FS_RESOLVE_AUTOMATIC);
	first = fs_resolve_open(root_fd, view, flags, 0);
	fs_resolve_set_method(FS_RESOLVE_WALK);
	second = fs_resolve_open(root_fd, view, flags, 0);
	fs_resolve_set_method(FS_RESOLVE_AUTOMATIC);
	if ((first >= 0) != (second >= 0)) {
		fprintf(stderr, "path: openat2 %d, walk %d\n", first, second);
		fail("openat2 and the walk disagree");
	}
	if (first < 0)
		return first;
	if (fstat(first, &first_status) != 0 || fstat(second, &second_status) != 0)
		fail("fstat");
	if (first_status.st_dev != second_status.st_dev ||
	    first_status.st_ino != second_status.st_ino)
		fail("openat2 and the walk opened different files");
	check_below_root(first);
	check_below_root(second);
	close(second);
	return first;
}

static void
open_in_tree(const struct path *path, int flags)
{
	struct ftpd_path view = path_view(path);
	const char *name = NULL;
	int fd;

	fd = open_both_ways(&view, flags);
	if (fd >= 0)
		close(fd);
	fd = fs_resolve_open_parent(root_fd, &view, &name);
	if (fd >= 0) {
		if (name == NULL || strcmp(name, path_basename(path)) != 0)
			fail("fs_resolve_open_parent named another segment");
		check_below_root(fd);
		close(fd);
	} else if (path->count == 0 && fd != -EBUSY)
		fail("the root's parent did not answer EBUSY");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct path cwd, resolved, parent, copy;
	const char *text, *newline;
	size_t text_size;
	int flags, error;

	if (size < 1)
		return 0;
	flags = open_flags[data[0] % (sizeof(open_flags) / sizeof(open_flags[0]))];
	text = (const char *)data + 1;
	text_size = size - 1;
	newline = memchr(text, '\n', text_size);
	if (newline == NULL)
		return 0;

	/* The working directory: itself the resolution of a client's CWD from the root. */
	if (path_resolve(&PATH_ROOT, text, (size_t)(newline - text), &cwd) != 0)
		return 0;
	check_normalised(&cwd);
	text_size -= (size_t)(newline + 1 - text);
	text = newline + 1;

	error = path_resolve(&cwd, text, text_size, &resolved);
	if (error == 0) {
		check_normalised(&resolved);
		check_stable(&resolved, &cwd);
		check_stable(&resolved, &PATH_ROOT);
		if (path_parent(&resolved, &parent) != 0 || path_copy(&copy, &resolved) != 0)
			fail("out of memory");
		if (!same_path(&copy, &resolved))
			fail("path_copy differs");
		if (resolved.count > 0 && parent.count + 1 != resolved.count)
			fail("path_parent is not one segment up");
		open_in_tree(&resolved, flags);
		path_free(&parent);
		path_free(&copy);
		path_free(&resolved);
	} else if (error != -EINVAL && error != -ENAMETOOLONG) {
		fail("path_resolve failed in a way it does not promise");
	} else if (error == -EINVAL && memchr(text, '\0', text_size) == NULL) {
		fail("-EINVAL without a NUL byte");
	}
	path_free(&cwd);
	return 0;
}
