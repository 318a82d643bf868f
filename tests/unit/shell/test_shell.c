/*
 * test_shell: the shell contract (Twisted's IFTPShellTestsMixin) run against
 * the fs and anon shells on a real temporary tree, and what their create() takes
 * (the registry that finds modules: test_registry.c).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/resolve.h"
#include "path/path.h"
#include "shell/registry.h"
#include "util/attributes.h"

Suite *shell_suite(void);

#define FILE_CONTENT "hello world\n"
#define NESTED_CONTENT "nested\n"
#define SECRET_CONTENT "secret\n"
#define SPACED_NAME "name with spaces \xc3\xa9.txt"
#define TEMPORARY_PREFIX ".ftpd-upload."

/* The tree every test starts from: base/root is the shell's root. */
static char base_directory[PATH_MAX];
static char root_directory[PATH_MAX];

/*
 * Loop index of the contract tests: which shell, and whether paths go
 * through openat2 or the fallback walk (forced, so both are exercised).
 */
#define VARIANT_COUNT 4

static int
variant_is_anon(int variant)
{
	return variant % 2 == 1;
}

static enum fs_resolve_method
variant_method(int variant)
{
	return variant / 2 == 0 ? FS_RESOLVE_AUTOMATIC : FS_RESOLVE_WALK;
}

static void
tree_path(char *buffer, size_t size, const char *relative)
{
	int length = snprintf(buffer, size, "%s/%s", base_directory, relative);

	ck_assert(length > 0 && (size_t)length < size);
}

static void
tree_write(const char *relative, const char *content)
{
	char path[PATH_MAX];
	FILE *file;

	tree_path(path, sizeof(path), relative);
	file = fopen(path, "w");
	ck_assert_ptr_nonnull(file);
	ck_assert_uint_eq(fwrite(content, 1, strlen(content), file), strlen(content));
	ck_assert_int_eq(fclose(file), 0);
}

static void
tree_mkdir(const char *relative)
{
	char path[PATH_MAX];

	tree_path(path, sizeof(path), relative);
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void
tree_symlink(const char *target, const char *relative)
{
	char path[PATH_MAX];

	tree_path(path, sizeof(path), relative);
	ck_assert_int_eq(symlink(target, path), 0);
}

/* The content of a file in the tree, malloc'd, or NULL when it does not exist. */
static char *
tree_read(const char *relative)
{
	char path[PATH_MAX], *content;
	struct stat status;
	FILE *file;

	tree_path(path, sizeof(path), relative);
	file = fopen(path, "r");
	if (file == NULL)
		return NULL;
	ck_assert_int_eq(fstat(fileno(file), &status), 0);
	content = calloc(1, (size_t)status.st_size + 1);
	ck_assert_ptr_nonnull(content);
	ck_assert_uint_eq(fread(content, 1, (size_t)status.st_size, file),
	    (size_t)status.st_size);
	fclose(file);
	return content;
}

static void
assert_tree_content(const char *relative, const char *expected)
{
	char *content = tree_read(relative);

	ck_assert_msg(content != NULL, "%s is missing", relative);
	ck_assert_str_eq(content, expected);
	free(content);
}

static int
tree_lstat(const char *relative, struct stat *status)
{
	char path[PATH_MAX];

	tree_path(path, sizeof(path), relative);
	return lstat(path, status);
}

static int
tree_exists(const char *relative)
{
	struct stat status;

	return tree_lstat(relative, &status) == 0;
}

static int
count_temporaries(const char *relative_directory)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *directory;
	int count = 0;

	tree_path(path, sizeof(path), relative_directory);
	directory = opendir(path);
	ck_assert_ptr_nonnull(directory);
	while ((entry = readdir(directory)) != NULL)
		if (strncmp(entry->d_name, TEMPORARY_PREFIX,
		    strlen(TEMPORARY_PREFIX)) == 0)
			count++;
	closedir(directory);
	return count;
}

/* Everything observable about the tree, to show that refused changes touched nothing. */
static char *snapshot_text;
static size_t snapshot_length;

static void
snapshot_append(const char *text, size_t length)
{
	char *grown = realloc(snapshot_text, snapshot_length + length + 1);

	ck_assert_ptr_nonnull(grown);
	snapshot_text = grown;
	memcpy(snapshot_text + snapshot_length, text, length);
	snapshot_length += length;
	snapshot_text[snapshot_length] = '\0';
}

static int
snapshot_entry(const char *path, const struct stat *status, int type UNUSED,
    struct FTW *position UNUSED)
{
	char line[PATH_MAX + 200], link_text[PATH_MAX];
	int length;

	length = snprintf(line, sizeof(line), "%s %o %lld %lld.%ld %llu\n", path,
	    (unsigned)status->st_mode, (long long)status->st_size,
	    (long long)status->st_mtim.tv_sec, status->st_mtim.tv_nsec,
	    (unsigned long long)status->st_ino);
	snapshot_append(line, (size_t)length);
	if (S_ISLNK(status->st_mode)) {
		ssize_t link_length = readlink(path, link_text, sizeof(link_text));

		ck_assert(link_length >= 0);
		snapshot_append(link_text, (size_t)link_length);
	} else if (S_ISREG(status->st_mode)) {
		char *content = tree_read(path + strlen(base_directory) + 1);

		ck_assert_ptr_nonnull(content);
		snapshot_append(content, strlen(content));
		free(content);
	}
	return 0;
}

static char *
tree_snapshot(void)
{
	snapshot_text = NULL;
	snapshot_length = 0;
	snapshot_append("", 0);
	ck_assert_int_eq(nftw(base_directory, snapshot_entry, 16, FTW_PHYS), 0);
	return snapshot_text;
}

static void
make_tree(void)
{
	const char *temporary = getenv("TMPDIR");
	int length;

	if (temporary == NULL || temporary[0] == '\0')
		temporary = "/tmp";
	length = snprintf(base_directory, sizeof(base_directory),
	    "%s/ftpd-shell-test-XXXXXX", temporary);
	ck_assert(length > 0 && (size_t)length < sizeof(base_directory));
	ck_assert_ptr_nonnull(mkdtemp(base_directory));
	length = snprintf(root_directory, sizeof(root_directory), "%s/root",
	    base_directory);
	ck_assert(length > 0 && (size_t)length < sizeof(root_directory));

	tree_mkdir("root");
	tree_mkdir("outside");
	tree_write("outside/secret", SECRET_CONTENT);
	tree_write("root/file.txt", FILE_CONTENT);
	tree_write("root/empty", "");
	tree_write("root/" SPACED_NAME, "x");
	tree_mkdir("root/dir");
	tree_write("root/dir/nested.txt", NESTED_CONTENT);
	tree_mkdir("root/dir/sub");
	tree_symlink("..", "root/dir/up");
	tree_symlink("../../outside", "root/dir/escape");
	tree_symlink("file.txt", "root/link-inside");
	tree_symlink("dir", "root/link-dir-inside");
	tree_symlink("/etc", "root/link-etc");
	tree_symlink("../outside", "root/link-outside");
	tree_symlink("../outside/secret", "root/link-outside-file");
	tree_symlink("missing", "root/link-dangling");
	tree_symlink("link-loop", "root/link-loop");
}

static int
remove_entry(const char *path, const struct stat *status UNUSED, int type,
    struct FTW *position UNUSED)
{
	if (type == FTW_DP)
		chmod(path, 0700);
	return remove(path);
}

static void
remove_tree(void)
{
	if (base_directory[0] != '\0')
		nftw(base_directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	base_directory[0] = '\0';
	fs_resolve_set_method(FS_RESOLVE_AUTOMATIC);
}

/* One operation's completion, recorded by the callbacks below. */
struct outcome {
	int calls;
	int error;
	struct ftpd_stat stat;
	struct ftpd_directory *directory;
	struct ftpd_read_file *read_file;
	struct ftpd_write_file *write_file;
};

static void
on_done(void *arg, int error)
{
	struct outcome *outcome = arg;

	outcome->calls++;
	outcome->error = error;
}

static void
on_stat(void *arg, int error, const struct ftpd_stat *stat)
{
	struct outcome *outcome = arg;

	outcome->calls++;
	outcome->error = error;
	if (error == 0) {
		ck_assert_ptr_nonnull(stat);
		outcome->stat = *stat;
	}
}

static void
on_directory(void *arg, int error, struct ftpd_directory *directory)
{
	struct outcome *outcome = arg;

	outcome->calls++;
	outcome->error = error;
	outcome->directory = directory;
	ck_assert((error == 0) == (directory != NULL));
}

static void
on_read_file(void *arg, int error, struct ftpd_read_file *file)
{
	struct outcome *outcome = arg;

	outcome->calls++;
	outcome->error = error;
	outcome->read_file = file;
	ck_assert((error == 0) == (file != NULL));
}

static void
on_write_file(void *arg, int error, struct ftpd_write_file *file)
{
	struct outcome *outcome = arg;

	outcome->calls++;
	outcome->error = error;
	outcome->write_file = file;
	ck_assert((error == 0) == (file != NULL));
}

/* The built-in shells complete before returning, exactly once. */
static void
assert_completed(const struct outcome *outcome)
{
	ck_assert_int_eq(outcome->calls, 1);
}

/* Segments for "a/b", through the path part, as the session would make them. */
struct test_path {
	struct path path;
	struct ftpd_path view;
};

static struct test_path
test_path(const char *client_path)
{
	struct path root = PATH_ROOT;
	struct test_path result;

	ck_assert_int_eq(path_resolve(&root, client_path, strlen(client_path),
	    &result.path), 0);
	result.view = path_view(&result.path);
	return result;
}

static struct ftpd_shell *
create_shell(const struct ftpd_shell_module *module, int read_only)
{
	struct ftpd_shell_config config = { .struct_size = sizeof(config),
	    .root = root_directory, .user = "tester", .read_only = read_only,
	    .sync_uploads = 1 };
	struct ftpd_shell *shell = NULL;

	ck_assert_int_eq(module->create(&config, &shell), 0);
	ck_assert_ptr_nonnull(shell);
	return shell;
}

static struct ftpd_shell *
variant_shell(int variant)
{
	fs_resolve_set_method(variant_method(variant));
	return create_shell(variant_is_anon(variant) ? &shell_anon_module :
	    &shell_fs_module, 0);
}

static int
shell_stat(struct ftpd_shell *shell, const char *client_path, struct ftpd_stat *stat)
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	shell->ops->stat(shell, &path.view, on_stat, &outcome);
	assert_completed(&outcome);
	if (stat != NULL)
		*stat = outcome.stat;
	path_free(&path.path);
	return outcome.error;
}

static int
shell_access(struct ftpd_shell *shell, const char *client_path, enum ftpd_access access)
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	shell->ops->access(shell, &path.view, access, on_done, &outcome);
	assert_completed(&outcome);
	path_free(&path.path);
	return outcome.error;
}

static int
shell_open_directory(struct ftpd_shell *shell, const char *client_path,
    struct ftpd_directory **directory)
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	shell->ops->open_directory(shell, &path.view, on_directory, &outcome);
	assert_completed(&outcome);
	path_free(&path.path);
	*directory = outcome.directory;
	return outcome.error;
}

static int
shell_open_read(struct ftpd_shell *shell, const char *client_path, uint64_t offset,
    struct ftpd_read_file **file)
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	shell->ops->open_for_reading(shell, &path.view, offset, on_read_file, &outcome);
	assert_completed(&outcome);
	path_free(&path.path);
	*file = outcome.read_file;
	return outcome.error;
}

static int
shell_open_write(struct ftpd_shell *shell, const char *client_path,
    enum ftpd_write_mode mode, uint64_t offset, struct ftpd_write_file **file)
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	shell->ops->open_for_writing(shell, &path.view, mode, offset, on_write_file,
	    &outcome);
	assert_completed(&outcome);
	path_free(&path.path);
	*file = outcome.write_file;
	return outcome.error;
}

static void
write_all(struct ftpd_write_file *file, const char *content)
{
	ck_assert_int_eq(file->ops->write(file, content, strlen(content), NULL, NULL),
	    (ssize_t)strlen(content));
}

static int
finish_write(struct ftpd_write_file *file)
{
	struct outcome outcome = { 0 };

	file->ops->finish(file, on_done, &outcome);
	assert_completed(&outcome);
	return outcome.error;
}

/* Opens, writes content and finishes: the whole of one upload. */
static int
shell_upload(struct ftpd_shell *shell, const char *client_path,
    enum ftpd_write_mode mode, uint64_t offset, const char *content)
{
	struct ftpd_write_file *file;
	int error;

	error = shell_open_write(shell, client_path, mode, offset, &file);
	if (error != 0)
		return error;
	write_all(file, content);
	return finish_write(file);
}

static int
shell_path_operation(struct ftpd_shell *shell, const char *client_path,
    void (*operation)(struct ftpd_shell *, const struct ftpd_path *,
    ftpd_done_fn, void *))
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	operation(shell, &path.view, on_done, &outcome);
	assert_completed(&outcome);
	path_free(&path.path);
	return outcome.error;
}

static int
shell_make_directory(struct ftpd_shell *shell, const char *client_path)
{
	return shell_path_operation(shell, client_path, shell->ops->make_directory);
}

static int
shell_remove_directory(struct ftpd_shell *shell, const char *client_path)
{
	return shell_path_operation(shell, client_path, shell->ops->remove_directory);
}

static int
shell_remove_file(struct ftpd_shell *shell, const char *client_path)
{
	return shell_path_operation(shell, client_path, shell->ops->remove_file);
}

static int
shell_rename(struct ftpd_shell *shell, const char *from, const char *to)
{
	struct test_path from_path = test_path(from), to_path = test_path(to);
	struct outcome outcome = { 0 };

	shell->ops->rename(shell, &from_path.view, &to_path.view, on_done, &outcome);
	assert_completed(&outcome);
	path_free(&from_path.path);
	path_free(&to_path.path);
	return outcome.error;
}

static int
shell_set_mtime(struct ftpd_shell *shell, const char *client_path, time_t mtime)
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	struct ftpd_attributes change = { .struct_size = sizeof(change),
	    .mask = FTPD_ATTR_MTIME, .mtime = mtime };

	ck_assert_ptr_nonnull(FTPD_SHELL_OP(shell, chattr));
	shell->ops->chattr(shell, &path.view, &change, on_done, &outcome);
	assert_completed(&outcome);
	path_free(&path.path);
	return outcome.error;
}

static int
shell_chmod(struct ftpd_shell *shell, const char *client_path, mode_t mode)
{
	struct test_path path = test_path(client_path);
	struct outcome outcome = { 0 };

	struct ftpd_attributes change = { .struct_size = sizeof(change),
	    .mask = FTPD_ATTR_MODE, .mode = mode };

	ck_assert_ptr_nonnull(FTPD_SHELL_OP(shell, chattr));
	shell->ops->chattr(shell, &path.view, &change, on_done, &outcome);
	assert_completed(&outcome);
	path_free(&path.path);
	return outcome.error;
}

/* Reads a read file to its end through ops->read. */
static char *
read_to_end(struct ftpd_read_file *file)
{
	char *content = NULL;
	size_t length = 0;

	for (;;) {
		char buffer[5];
		ssize_t count = file->ops->read(file, buffer, sizeof(buffer), NULL, NULL);
		char *grown;

		ck_assert(count >= 0);
		if (count == 0)
			break;
		grown = realloc(content, length + (size_t)count + 1);
		ck_assert_ptr_nonnull(grown);
		content = grown;
		memcpy(content + length, buffer, (size_t)count);
		length += (size_t)count;
	}
	if (content == NULL)
		content = calloc(1, 1);
	ck_assert_ptr_nonnull(content);
	content[length] = '\0';
	return content;
}

static mode_t
current_umask(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return mask;
}

/* ---- reading: the same answers from fs and anon, by openat2 and by the walk ---- */

START_TEST(test_stat_files_and_directories)
{
	struct ftpd_shell *shell = variant_shell(_i);
	struct ftpd_stat stat;
	struct stat expected;
	struct passwd *owner;

	ck_assert_int_eq(shell_stat(shell, "file.txt", &stat), 0);
	ck_assert(S_ISREG(stat.mode));
	ck_assert_uint_eq(stat.size, strlen(FILE_CONTENT));
	ck_assert_int_eq(tree_lstat("root/file.txt", &expected), 0);
	ck_assert_uint_eq(stat.inode, (uint64_t)expected.st_ino);
	ck_assert_uint_eq(stat.device, (uint64_t)expected.st_dev);
	ck_assert_int_eq(stat.mtime, expected.st_mtim.tv_sec);
	ck_assert_uint_eq(stat.nlink, 1);
	ck_assert_uint_eq(stat.uid, expected.st_uid);
	owner = getpwuid(expected.st_uid);
	if (owner != NULL && strlen(owner->pw_name) < sizeof(stat.owner))
		ck_assert_str_eq(stat.owner, owner->pw_name);

	ck_assert_int_eq(shell_stat(shell, "empty", &stat), 0);
	ck_assert_uint_eq(stat.size, 0);
	ck_assert_int_eq(shell_stat(shell, SPACED_NAME, &stat), 0);
	ck_assert_uint_eq(stat.size, 1);
	ck_assert_int_eq(shell_stat(shell, "dir", &stat), 0);
	ck_assert(S_ISDIR(stat.mode));
	ck_assert_int_eq(shell_stat(shell, "/", &stat), 0);
	ck_assert(S_ISDIR(stat.mode));
	ck_assert_int_eq(shell_stat(shell, "dir/nested.txt", &stat), 0);
	ck_assert_uint_eq(stat.size, strlen(NESTED_CONTENT));

	ck_assert_int_eq(shell_stat(shell, "missing", NULL), -ENOENT);
	ck_assert_int_eq(shell_stat(shell, "dir/missing/deeper", NULL), -ENOENT);
	ck_assert_int_eq(shell_stat(shell, "file.txt/below", NULL), -ENOTDIR);
	ck_assert_int_eq(shell_stat(shell, "link-dangling", NULL), -ENOENT);
	ck_assert_int_eq(shell_stat(shell, "link-loop", NULL), -ELOOP);
	shell->ops->destroy(shell);
}
END_TEST

struct listed_entry {
	const char *name;
	mode_t type;
	uint64_t size;		/* checked for regular files only */
};

static const struct listed_entry root_listing[] = {
	{ "file.txt", S_IFREG, sizeof(FILE_CONTENT) - 1 },
	{ "empty", S_IFREG, 0 },
	{ SPACED_NAME, S_IFREG, 1 },
	{ "dir", S_IFDIR, 0 },
	{ "link-inside", S_IFLNK, 0 },
	{ "link-dir-inside", S_IFLNK, 0 },
	{ "link-etc", S_IFLNK, 0 },
	{ "link-outside", S_IFLNK, 0 },
	{ "link-outside-file", S_IFLNK, 0 },
	{ "link-dangling", S_IFLNK, 0 },
	{ "link-loop", S_IFLNK, 0 },
};

static const struct listed_entry dir_listing[] = {
	{ "nested.txt", S_IFREG, sizeof(NESTED_CONTENT) - 1 },
	{ "sub", S_IFDIR, 0 },
	{ "up", S_IFLNK, 0 },
	{ "escape", S_IFLNK, 0 },
};

static void
assert_listing(struct ftpd_shell *shell, const char *client_path,
    const struct listed_entry *expected, size_t expected_count)
{
	struct ftpd_directory *directory;
	struct ftpd_directory_entry entry;
	int seen[16] = { 0 }, result;
	size_t i, count = 0;

	ck_assert_uint_le(expected_count, sizeof(seen) / sizeof(seen[0]));
	ck_assert_int_eq(shell_open_directory(shell, client_path, &directory), 0);
	while ((result = directory->ops->read(directory, &entry, NULL, NULL)) == 1) {
		count++;
		ck_assert_str_ne(entry.name, ".");
		ck_assert_str_ne(entry.name, "..");
		for (i = 0; i < expected_count; i++)
			if (strcmp(entry.name, expected[i].name) == 0)
				break;
		ck_assert_msg(i < expected_count, "unexpected entry %s", entry.name);
		ck_assert_msg(!seen[i], "%s listed twice", entry.name);
		seen[i] = 1;
		/* Symlinks are listed as themselves (lstat), never followed out. */
		ck_assert_msg(entry.has_stat, "%s has no stat", entry.name);
		ck_assert_msg((entry.stat.mode & S_IFMT) == expected[i].type,
		    "%s has mode %o", entry.name, (unsigned)entry.stat.mode);
		if (expected[i].type == S_IFREG)
			ck_assert_uint_eq(entry.stat.size, expected[i].size);
	}
	ck_assert_int_eq(result, 0);
	ck_assert_uint_eq(count, expected_count);
	/* Reading past the end keeps saying so. */
	ck_assert_int_eq(directory->ops->read(directory, &entry, NULL, NULL), 0);
	directory->ops->close(directory);
}

START_TEST(test_listing_streams_all_entries)
{
	struct ftpd_shell *shell = variant_shell(_i);
	struct ftpd_directory *directory;

	assert_listing(shell, "/", root_listing,
	    sizeof(root_listing) / sizeof(root_listing[0]));
	assert_listing(shell, "dir", dir_listing,
	    sizeof(dir_listing) / sizeof(dir_listing[0]));
	assert_listing(shell, "link-dir-inside", dir_listing,
	    sizeof(dir_listing) / sizeof(dir_listing[0]));
	assert_listing(shell, "dir/up", root_listing,
	    sizeof(root_listing) / sizeof(root_listing[0]));
	assert_listing(shell, "dir/sub", NULL, 0);

	ck_assert_int_eq(shell_open_directory(shell, "file.txt", &directory),
	    -ENOTDIR);
	ck_assert_int_eq(shell_open_directory(shell, "missing", &directory),
	    -ENOENT);
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_read_at_offset)
{
	struct ftpd_shell *shell = variant_shell(_i);
	struct ftpd_read_file *file;
	char *content;

	ck_assert_int_eq(shell_open_read(shell, "file.txt", 0, &file), 0);
	ck_assert_int_ge(file->fd, 0);
	ck_assert_uint_eq(file->size, strlen(FILE_CONTENT));
	content = read_to_end(file);
	ck_assert_str_eq(content, FILE_CONTENT);
	free(content);
	file->ops->close(file);

	ck_assert_int_eq(shell_open_read(shell, "file.txt", 6, &file), 0);
	/* The fd itself is positioned, for a sendfile from it. */
	ck_assert_int_eq(lseek(file->fd, 0, SEEK_CUR), 6);
	ck_assert_uint_eq(file->size, strlen(FILE_CONTENT));
	content = read_to_end(file);
	ck_assert_str_eq(content, "world\n");
	free(content);
	file->ops->close(file);

	ck_assert_int_eq(shell_open_read(shell, "file.txt", 100, &file), 0);
	content = read_to_end(file);
	ck_assert_str_eq(content, "");
	free(content);
	file->ops->close(file);

	ck_assert_int_eq(shell_open_read(shell, "empty", 0, &file), 0);
	ck_assert_uint_eq(file->size, 0);
	file->ops->close(file);

	ck_assert_int_eq(shell_open_read(shell, "dir", 0, &file), -EISDIR);
	ck_assert_int_eq(shell_open_read(shell, "/", 0, &file), -EISDIR);
	ck_assert_int_eq(shell_open_read(shell, "missing", 0, &file), -ENOENT);
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_access)
{
	struct ftpd_shell *shell = variant_shell(_i);

	ck_assert_int_eq(shell_access(shell, "file.txt", FTPD_ACCESS_READ), 0);
	ck_assert_int_eq(shell_access(shell, "dir", FTPD_ACCESS_READ), 0);
	ck_assert_int_eq(shell_access(shell, "/", FTPD_ACCESS_ENTER), 0);
	ck_assert_int_eq(shell_access(shell, "dir", FTPD_ACCESS_ENTER), 0);
	ck_assert_int_eq(shell_access(shell, "dir",
	    FTPD_ACCESS_ENTER | FTPD_ACCESS_READ), 0);
	ck_assert_int_eq(shell_access(shell, "link-dir-inside", FTPD_ACCESS_ENTER), 0);
	ck_assert_int_eq(shell_access(shell, "dir/up", FTPD_ACCESS_ENTER), 0);
	ck_assert_int_eq(shell_access(shell, "file.txt", FTPD_ACCESS_ENTER), -ENOTDIR);
	ck_assert_int_eq(shell_access(shell, "link-inside", FTPD_ACCESS_ENTER),
	    -ENOTDIR);
	ck_assert_int_eq(shell_access(shell, "missing", FTPD_ACCESS_ENTER), -ENOENT);
	ck_assert_int_eq(shell_access(shell, "missing", FTPD_ACCESS_READ), -ENOENT);

	if (geteuid() != 0) {
		char path[PATH_MAX];

		/* Permission bits are not checked for root, so only others test them. */
		tree_path(path, sizeof(path), "root/dir/sub");
		ck_assert_int_eq(chmod(path, 0600), 0);
		ck_assert_int_eq(shell_access(shell, "dir/sub", FTPD_ACCESS_ENTER),
		    -EACCES);
		ck_assert_int_eq(chmod(path, 0300), 0);
		ck_assert_int_eq(shell_access(shell, "dir/sub", FTPD_ACCESS_READ),
		    -EACCES);
		tree_path(path, sizeof(path), "root/file.txt");
		ck_assert_int_eq(chmod(path, 0200), 0);
		ck_assert_int_eq(shell_access(shell, "file.txt", FTPD_ACCESS_READ),
		    -EACCES);
	}
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_symlink_inside_root_works)
{
	struct ftpd_shell *shell = variant_shell(_i);
	struct ftpd_read_file *file;
	struct ftpd_stat stat;
	char *content;

	ck_assert_int_eq(shell_stat(shell, "link-inside", &stat), 0);
	ck_assert(S_ISREG(stat.mode));
	ck_assert_uint_eq(stat.size, strlen(FILE_CONTENT));
	ck_assert_int_eq(shell_stat(shell, "link-dir-inside/nested.txt", &stat), 0);
	ck_assert_uint_eq(stat.size, strlen(NESTED_CONTENT));
	ck_assert_int_eq(shell_stat(shell, "dir/up/dir/up/file.txt", &stat), 0);
	ck_assert_uint_eq(stat.size, strlen(FILE_CONTENT));

	ck_assert_int_eq(shell_open_read(shell, "link-inside", 6, &file), 0);
	content = read_to_end(file);
	ck_assert_str_eq(content, "world\n");
	free(content);
	file->ops->close(file);
	ck_assert_int_eq(shell_open_read(shell, "dir/up/link-dir-inside/nested.txt",
	    0, &file), 0);
	content = read_to_end(file);
	ck_assert_str_eq(content, NESTED_CONTENT);
	free(content);
	file->ops->close(file);
	shell->ops->destroy(shell);
}
END_TEST

/* Paths that lead through a symlink out of the root. */
struct escaping_path {
	const char *path;
	int parent_escapes;	/* else the last segment is the link, itself inside */
};

static const struct escaping_path escaping_paths[] = {
	{ "link-etc", 0 },
	{ "link-etc/passwd", 1 },
	{ "link-outside", 0 },
	{ "link-outside/secret", 1 },
	{ "link-outside-file", 0 },
	{ "dir/escape", 0 },
	{ "dir/escape/secret", 1 },
	{ "link-dir-inside/escape/secret", 1 },
};

START_TEST(test_symlink_escape_is_refused)
{
	struct ftpd_shell *shell = variant_shell(_i);
	const size_t count = sizeof(escaping_paths) / sizeof(escaping_paths[0]);
	char *before = tree_snapshot(), *after;
	size_t i;

	for (i = 0; i < count; i++) {
		const char *path = escaping_paths[i].path;
		struct ftpd_directory *directory;
		struct ftpd_read_file *read_file;
		struct ftpd_write_file *write_file;
		struct ftpd_stat stat;
		int readonly_error = variant_is_anon(_i) ? -EROFS : -EACCES;
		char target[PATH_MAX];

		ck_assert_msg(shell_stat(shell, path, &stat) == -EACCES,
		    "stat %s", path);
		ck_assert_msg(shell_access(shell, path, FTPD_ACCESS_ENTER) == -EACCES,
		    "enter %s", path);
		ck_assert_msg(shell_access(shell, path, FTPD_ACCESS_READ) == -EACCES,
		    "read access %s", path);
		ck_assert_msg(shell_open_directory(shell, path, &directory) == -EACCES,
		    "list %s", path);
		ck_assert_msg(shell_open_read(shell, path, 0, &read_file) == -EACCES,
		    "read %s", path);
		ck_assert_msg(shell_open_write(shell, path, FTPD_WRITE_APPEND, 0,
		    &write_file) == readonly_error, "append %s", path);
		ck_assert_msg(shell_open_write(shell, path, FTPD_WRITE_AT_OFFSET, 0,
		    &write_file) == readonly_error, "write at offset %s", path);
		snprintf(target, sizeof(target), "%s/new", path);
		ck_assert_msg(shell_make_directory(shell, target) == readonly_error,
		    "mkdir %s", target);
		ck_assert_msg(shell_open_write(shell, target, FTPD_WRITE_REPLACE, 0,
		    &write_file) == readonly_error, "replace %s", target);
		ck_assert_msg(shell_open_write(shell, target, FTPD_WRITE_UNIQUE, 0,
		    &write_file) == readonly_error, "unique %s", target);
		ck_assert_msg(shell_rename(shell, "file.txt", target) == readonly_error,
		    "rename to %s", target);
		if (escaping_paths[i].parent_escapes) {
			ck_assert_msg(shell_remove_file(shell, path) == readonly_error,
			    "delete %s", path);
			ck_assert_msg(shell_chmod(shell, path, 0600) == readonly_error,
			    "chmod %s", path);
			ck_assert_msg(shell_set_mtime(shell, path, 1000) ==
			    readonly_error, "set mtime %s", path);
		}
	}
	after = tree_snapshot();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	assert_tree_content("outside/secret", SECRET_CONTENT);
	shell->ops->destroy(shell);
}
END_TEST

/* ---- changes: done by fs, refused by anon with -EROFS and the tree untouched ---- */

struct change_case {
	const char *description;
	int (*run)(struct ftpd_shell *shell);
	int fs_error;
	void (*check)(void);	/* after fs ran it; may be NULL */
};

static int
run_make_directory(struct ftpd_shell *shell)
{
	return shell_make_directory(shell, "new dir");
}

static void
check_make_directory(void)
{
	struct stat status;

	ck_assert_int_eq(tree_lstat("root/new dir", &status), 0);
	ck_assert(S_ISDIR(status.st_mode));
	ck_assert_uint_eq(status.st_mode & 07777, 0755 & ~current_umask());
}

static int
run_make_existing_directory(struct ftpd_shell *shell)
{
	return shell_make_directory(shell, "dir");
}

static int
run_make_root(struct ftpd_shell *shell)
{
	return shell_make_directory(shell, "/");
}

static int
run_make_directory_in_missing(struct ftpd_shell *shell)
{
	return shell_make_directory(shell, "missing/new");
}

static int
run_remove_directory(struct ftpd_shell *shell)
{
	return shell_remove_directory(shell, "dir/sub");
}

static void
check_remove_directory(void)
{
	ck_assert(!tree_exists("root/dir/sub"));
}

static int
run_remove_full_directory(struct ftpd_shell *shell)
{
	return shell_remove_directory(shell, "dir");
}

static int
run_remove_root(struct ftpd_shell *shell)
{
	return shell_remove_directory(shell, "/");
}

static int
run_remove_directory_on_file(struct ftpd_shell *shell)
{
	return shell_remove_directory(shell, "file.txt");
}

static int
run_remove_file(struct ftpd_shell *shell)
{
	return shell_remove_file(shell, "file.txt");
}

static void
check_remove_file(void)
{
	ck_assert(!tree_exists("root/file.txt"));
}

static int
run_remove_file_on_directory(struct ftpd_shell *shell)
{
	return shell_remove_file(shell, "dir");
}

static void
check_directory_still_there(void)
{
	ck_assert(tree_exists("root/dir/nested.txt"));
}

static int
run_remove_escaping_link(struct ftpd_shell *shell)
{
	return shell_remove_file(shell, "link-outside");
}

static void
check_remove_escaping_link(void)
{
	/* The link goes; what it pointed at does not. */
	ck_assert(!tree_exists("root/link-outside"));
	assert_tree_content("outside/secret", SECRET_CONTENT);
}

static int
run_remove_missing_file(struct ftpd_shell *shell)
{
	return shell_remove_file(shell, "missing");
}

static int
run_rename(struct ftpd_shell *shell)
{
	return shell_rename(shell, "file.txt", "dir/moved.txt");
}

static void
check_rename(void)
{
	ck_assert(!tree_exists("root/file.txt"));
	assert_tree_content("root/dir/moved.txt", FILE_CONTENT);
}

static int
run_rename_directory(struct ftpd_shell *shell)
{
	return shell_rename(shell, "dir", SPACED_NAME " dir");
}

static void
check_rename_directory(void)
{
	assert_tree_content("root/" SPACED_NAME " dir/nested.txt", NESTED_CONTENT);
}

static int
run_rename_missing(struct ftpd_shell *shell)
{
	return shell_rename(shell, "missing", "other");
}

static int
run_rename_root(struct ftpd_shell *shell)
{
	return shell_rename(shell, "/", "other");
}

static int
run_upload(struct ftpd_shell *shell)
{
	return shell_upload(shell, "uploaded.txt", FTPD_WRITE_REPLACE, 0, "data");
}

static void
check_upload(void)
{
	assert_tree_content("root/uploaded.txt", "data");
}

static int
run_append(struct ftpd_shell *shell)
{
	return shell_upload(shell, "file.txt", FTPD_WRITE_APPEND, 0, "more");
}

static int
run_unique(struct ftpd_shell *shell)
{
	return shell_upload(shell, "unique.txt", FTPD_WRITE_UNIQUE, 0, "u");
}

static int
run_set_mtime(struct ftpd_shell *shell)
{
	return shell_set_mtime(shell, "file.txt", 1000000000);
}

static void
check_set_mtime(void)
{
	struct stat status;

	ck_assert_int_eq(tree_lstat("root/file.txt", &status), 0);
	ck_assert_int_eq(status.st_mtim.tv_sec, 1000000000);
}

static int
run_chmod(struct ftpd_shell *shell)
{
	return shell_chmod(shell, "file.txt", 0604);
}

static void
check_chmod(void)
{
	struct stat status;

	ck_assert_int_eq(tree_lstat("root/file.txt", &status), 0);
	ck_assert_uint_eq(status.st_mode & 07777, 0604);
}

static int
run_chmod_directory(struct ftpd_shell *shell)
{
	return shell_chmod(shell, "dir", 01750);
}

static void
check_chmod_directory(void)
{
	struct stat status;

	ck_assert_int_eq(tree_lstat("root/dir", &status), 0);
	ck_assert_uint_eq(status.st_mode & 07777, 01750);
}

static int
run_chmod_setuid(struct ftpd_shell *shell)
{
	return shell_chmod(shell, "file.txt", 04755);
}

static int
run_chmod_through_link(struct ftpd_shell *shell)
{
	return shell_chmod(shell, "link-inside", 0600);
}

static int
run_chmod_not_permission_bits(struct ftpd_shell *shell)
{
	return shell_chmod(shell, "file.txt", S_IFREG | 0644);
}

static const struct change_case change_cases[] = {
	{ "mkdir", run_make_directory, 0, check_make_directory },
	{ "mkdir existing", run_make_existing_directory, -EEXIST, NULL },
	{ "mkdir root", run_make_root, -EEXIST, NULL },
	{ "mkdir in missing", run_make_directory_in_missing, -ENOENT, NULL },
	{ "rmdir", run_remove_directory, 0, check_remove_directory },
	{ "rmdir not empty", run_remove_full_directory, -ENOTEMPTY,
	    check_directory_still_there },
	{ "rmdir root", run_remove_root, -EBUSY, NULL },
	{ "rmdir on a file", run_remove_directory_on_file, -ENOTDIR, NULL },
	{ "delete", run_remove_file, 0, check_remove_file },
	{ "delete a directory", run_remove_file_on_directory, -EISDIR,
	    check_directory_still_there },
	{ "delete an escaping link", run_remove_escaping_link, 0,
	    check_remove_escaping_link },
	{ "delete missing", run_remove_missing_file, -ENOENT, NULL },
	{ "rename", run_rename, 0, check_rename },
	{ "rename directory", run_rename_directory, 0, check_rename_directory },
	{ "rename missing", run_rename_missing, -ENOENT, NULL },
	{ "rename root", run_rename_root, -EBUSY, NULL },
	{ "upload", run_upload, 0, check_upload },
	{ "append", run_append, 0, NULL },
	{ "unique", run_unique, 0, NULL },
	{ "set mtime", run_set_mtime, 0, check_set_mtime },
	{ "chmod", run_chmod, 0, check_chmod },
	{ "chmod directory", run_chmod_directory, 0, check_chmod_directory },
	{ "chmod setuid", run_chmod_setuid, -EPERM, NULL },
	{ "chmod a symlink", run_chmod_through_link, -EPERM, NULL },
	{ "chmod file type bits", run_chmod_not_permission_bits, -EINVAL, NULL },
};

#define CHANGE_CASE_COUNT (sizeof(change_cases) / sizeof(change_cases[0]))

START_TEST(test_change)
{
	const struct change_case *test = &change_cases[_i / VARIANT_COUNT];
	int variant = _i % VARIANT_COUNT;
	struct ftpd_shell *shell = variant_shell(variant);
	char *before = tree_snapshot(), *after;
	int error;

	error = test->run(shell);
	after = tree_snapshot();
	if (variant_is_anon(variant)) {
		ck_assert_msg(error == -EROFS, "anon %s: %d", test->description, error);
		ck_assert_msg(strcmp(before, after) == 0, "anon %s changed the tree",
		    test->description);
	} else {
		ck_assert_msg(error == test->fs_error, "fs %s: got %d, expected %d",
		    test->description, error, test->fs_error);
		if (test->fs_error != 0)
			ck_assert_msg(strcmp(before, after) == 0,
			    "failed %s changed the tree", test->description);
		if (test->check != NULL)
			test->check();
		ck_assert_int_eq(count_temporaries("root"), 0);
	}
	free(before);
	free(after);
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_fs_read_only_config)
{
	struct ftpd_shell *shell;
	char *before = tree_snapshot(), *after;
	size_t i;

	fs_resolve_set_method(variant_method(_i * 2));
	shell = create_shell(&shell_fs_module, 1);
	for (i = 0; i < CHANGE_CASE_COUNT; i++)
		ck_assert_msg(change_cases[i].run(shell) == -EROFS, "%s",
		    change_cases[i].description);
	after = tree_snapshot();
	ck_assert_str_eq(before, after);
	free(before);
	free(after);
	shell->ops->destroy(shell);
}
END_TEST

/* ---- uploads (fs), by openat2 and by the walk ---- */

static struct ftpd_shell *
writable_shell(int method_index)
{
	fs_resolve_set_method(variant_method(method_index * 2));
	return create_shell(&shell_fs_module, 0);
}

START_TEST(test_replace_abort_keeps_old_file)
{
	struct ftpd_shell *shell = writable_shell(_i);
	struct ftpd_write_file *file;

	ck_assert_int_eq(shell_open_write(shell, "file.txt", FTPD_WRITE_REPLACE, 0,
	    &file), 0);
	write_all(file, "replacement that never lands");
	assert_tree_content("root/file.txt", FILE_CONTENT);
	ck_assert_int_eq(count_temporaries("root"), 1);
	file->ops->abort(file);
	assert_tree_content("root/file.txt", FILE_CONTENT);
	ck_assert_int_eq(count_temporaries("root"), 0);

	/* An aborted upload of a new file leaves nothing either. */
	ck_assert_int_eq(shell_open_write(shell, "dir/new.txt", FTPD_WRITE_REPLACE, 0,
	    &file), 0);
	write_all(file, "x");
	file->ops->abort(file);
	ck_assert(!tree_exists("root/dir/new.txt"));
	ck_assert_int_eq(count_temporaries("root/dir"), 0);
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_replace_finish_is_atomic)
{
	struct ftpd_shell *shell = writable_shell(_i);
	struct ftpd_write_file *file;
	struct stat before, after;
	char path[PATH_MAX];

	tree_path(path, sizeof(path), "root/file.txt");
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(tree_lstat("root/file.txt", &before), 0);
	ck_assert_int_eq(shell_open_write(shell, "file.txt", FTPD_WRITE_REPLACE, 0,
	    &file), 0);
	write_all(file, "new ");
	write_all(file, "content");
	assert_tree_content("root/file.txt", FILE_CONTENT);
	ck_assert_int_eq(finish_write(file), 0);
	assert_tree_content("root/file.txt", "new content");
	ck_assert_int_eq(tree_lstat("root/file.txt", &after), 0);
	/* A new inode renamed over the old one, with the old permissions. */
	ck_assert_uint_ne(after.st_ino, before.st_ino);
	ck_assert_uint_eq(after.st_mode & 07777, 0640);
	ck_assert_int_eq(count_temporaries("root"), 0);

	/* A new file appears only when finished. */
	ck_assert_int_eq(shell_open_write(shell, "dir/fresh.txt", FTPD_WRITE_REPLACE,
	    0, &file), 0);
	write_all(file, "fresh");
	ck_assert(!tree_exists("root/dir/fresh.txt"));
	ck_assert_int_eq(finish_write(file), 0);
	assert_tree_content("root/dir/fresh.txt", "fresh");

	/* An empty upload is a valid, empty file. */
	ck_assert_int_eq(shell_open_write(shell, "file.txt", FTPD_WRITE_REPLACE, 0,
	    &file), 0);
	ck_assert_int_eq(finish_write(file), 0);
	assert_tree_content("root/file.txt", "");
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_replace_refusals)
{
	struct ftpd_shell *shell = writable_shell(_i);
	struct ftpd_write_file *file;

	ck_assert_int_eq(shell_open_write(shell, "dir", FTPD_WRITE_REPLACE, 0, &file),
	    -EISDIR);
	ck_assert_int_eq(shell_open_write(shell, "/", FTPD_WRITE_REPLACE, 0, &file),
	    -EISDIR);
	ck_assert_int_eq(shell_open_write(shell, "missing/x", FTPD_WRITE_REPLACE, 0,
	    &file), -ENOENT);
	ck_assert_int_eq(shell_open_write(shell, "file.txt/x", FTPD_WRITE_REPLACE, 0,
	    &file), -ENOTDIR);
	ck_assert_int_eq(count_temporaries("root"), 0);
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_replace_over_escaping_link_stays_inside)
{
	struct ftpd_shell *shell = writable_shell(_i);
	struct stat status;

	ck_assert_int_eq(shell_upload(shell, "link-outside-file", FTPD_WRITE_REPLACE,
	    0, "inside"), 0);
	/* The link itself was replaced; the file it pointed at is untouched. */
	ck_assert_int_eq(tree_lstat("root/link-outside-file", &status), 0);
	ck_assert(S_ISREG(status.st_mode));
	assert_tree_content("root/link-outside-file", "inside");
	assert_tree_content("outside/secret", SECRET_CONTENT);
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_append)
{
	struct ftpd_shell *shell = writable_shell(_i);

	ck_assert_int_eq(shell_upload(shell, "file.txt", FTPD_WRITE_APPEND, 0,
	    "more"), 0);
	assert_tree_content("root/file.txt", FILE_CONTENT "more");
	ck_assert_int_eq(shell_upload(shell, "link-inside", FTPD_WRITE_APPEND, 0,
	    "!"), 0);
	assert_tree_content("root/file.txt", FILE_CONTENT "more!");
	ck_assert_int_eq(shell_upload(shell, "dir/appended", FTPD_WRITE_APPEND, 0,
	    "created"), 0);
	assert_tree_content("root/dir/appended", "created");
	ck_assert_int_eq(shell_upload(shell, "dir", FTPD_WRITE_APPEND, 0, "x"),
	    -EISDIR);
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_write_at_offset)
{
	struct ftpd_shell *shell = writable_shell(_i);

	ck_assert_int_eq(shell_upload(shell, "file.txt", FTPD_WRITE_AT_OFFSET, 6,
	    "WORLD"), 0);
	assert_tree_content("root/file.txt", "hello WORLD\n");
	ck_assert_int_eq(shell_upload(shell, "file.txt", FTPD_WRITE_AT_OFFSET, 12,
	    " and more"), 0);
	assert_tree_content("root/file.txt", "hello WORLD\n and more");
	ck_assert_int_eq(shell_upload(shell, "missing", FTPD_WRITE_AT_OFFSET, 5,
	    "x"), -ENOENT);
	ck_assert(!tree_exists("root/missing"));
	ck_assert_int_eq(shell_upload(shell, "created", FTPD_WRITE_AT_OFFSET, 0,
	    "from zero"), 0);
	assert_tree_content("root/created", "from zero");
	shell->ops->destroy(shell);
}
END_TEST

/* An aborted upload in place leaves the file as it was: created ones go, grown ones shrink. */
START_TEST(test_in_place_abort_undoes_the_upload)
{
	struct ftpd_shell *shell = writable_shell(_i);
	struct ftpd_write_file *file;

	ck_assert_int_eq(shell_open_write(shell, "file.txt", FTPD_WRITE_APPEND, 0, &file), 0);
	write_all(file, "appended, then aborted");
	assert_tree_content("root/file.txt", FILE_CONTENT "appended, then aborted");
	file->ops->abort(file);
	assert_tree_content("root/file.txt", FILE_CONTENT);

	ck_assert_int_eq(shell_open_write(shell, "dir/new.txt", FTPD_WRITE_APPEND, 0, &file), 0);
	write_all(file, "x");
	file->ops->abort(file);
	ck_assert(!tree_exists("root/dir/new.txt"));

	ck_assert_int_eq(shell_open_write(shell, "dir/unique.txt", FTPD_WRITE_UNIQUE, 0, &file),
	    0);
	write_all(file, "x");
	file->ops->abort(file);
	ck_assert(!tree_exists("root/dir/unique.txt"));

	/* REST + STOR: the growth goes; bytes overwritten below the old end cannot come back. */
	ck_assert_int_eq(shell_open_write(shell, "file.txt", FTPD_WRITE_AT_OFFSET, 6, &file), 0);
	write_all(file, "WORLD and beyond");
	file->ops->abort(file);
	assert_tree_content("root/file.txt", "hello WORLD ");

	/* Through a symlink below the root: the target is cut back, the link stays. */
	ck_assert_int_eq(shell_open_write(shell, "link-inside", FTPD_WRITE_APPEND, 0, &file), 0);
	write_all(file, "more");
	file->ops->abort(file);
	assert_tree_content("root/file.txt", "hello WORLD ");
	ck_assert(tree_exists("root/link-inside"));
	shell->ops->destroy(shell);
}
END_TEST

/* finish() keeps what an in-place upload wrote: how a partial upload is kept. */
START_TEST(test_in_place_finish_keeps_the_upload)
{
	struct ftpd_shell *shell = writable_shell(_i);
	struct ftpd_write_file *file;

	ck_assert_int_eq(shell_open_write(shell, "dir/partial.bin", FTPD_WRITE_UNIQUE, 0, &file),
	    0);
	write_all(file, "first half");
	assert_tree_content("root/dir/partial.bin", "first half");
	ck_assert_int_eq(finish_write(file), 0);
	assert_tree_content("root/dir/partial.bin", "first half");
	ck_assert_int_eq(shell_open_write(shell, "dir/partial.bin", FTPD_WRITE_AT_OFFSET, 10,
	    &file), 0);
	write_all(file, ", second half");
	ck_assert_int_eq(finish_write(file), 0);
	assert_tree_content("root/dir/partial.bin", "first half, second half");
	shell->ops->destroy(shell);
}
END_TEST

/* A file the upload created but someone replaced meanwhile is not the upload's to remove. */
START_TEST(test_in_place_abort_spares_a_replaced_name)
{
	struct ftpd_shell *shell = writable_shell(_i);
	struct ftpd_write_file *file;
	char path[PATH_MAX], moved[PATH_MAX];

	ck_assert_int_eq(shell_open_write(shell, "dir/new.txt", FTPD_WRITE_UNIQUE, 0, &file), 0);
	write_all(file, "upload");
	tree_path(path, sizeof(path), "root/dir/new.txt");
	tree_path(moved, sizeof(moved), "root/dir/moved.txt");
	ck_assert_int_eq(rename(path, moved), 0);
	tree_write("root/dir/new.txt", "someone else's");
	file->ops->abort(file);
	assert_tree_content("root/dir/new.txt", "someone else's");
	shell->ops->destroy(shell);
}
END_TEST

START_TEST(test_unique)
{
	struct ftpd_shell *shell = writable_shell(_i);

	ck_assert_int_eq(shell_upload(shell, "file.txt", FTPD_WRITE_UNIQUE, 0, "x"),
	    -EEXIST);
	assert_tree_content("root/file.txt", FILE_CONTENT);
	/* O_EXCL does not follow a final symlink, even a dangling one. */
	ck_assert_int_eq(shell_upload(shell, "link-dangling", FTPD_WRITE_UNIQUE, 0,
	    "x"), -EEXIST);
	ck_assert(!tree_exists("root/missing"));
	ck_assert_int_eq(shell_upload(shell, "unique.txt", FTPD_WRITE_UNIQUE, 0,
	    "u"), 0);
	assert_tree_content("root/unique.txt", "u");
	shell->ops->destroy(shell);
}
END_TEST

/* ---- creating shells and finding modules ---- */

struct create_case {
	const char *root;	/* relative to the tree */
	const char *options;
	int error;
};

static const struct create_case create_cases[] = {
	{ "root", NULL, 0 },
	{ "no-such-root", NULL, -ENOENT },
	{ "root/file.txt", NULL, -ENOTDIR },
	{ "root", "unknown=option", -EINVAL },
};

START_TEST(test_create)
{
	const struct create_case *test = &create_cases[_i / 2];
	const struct ftpd_shell_module *module = _i % 2 ? &shell_anon_module :
	    &shell_fs_module;
	struct ftpd_shell_config config = { .struct_size = sizeof(config), .user = "tester" };
	struct ftpd_shell *shell = NULL;
	char root[PATH_MAX];
	int error;

	tree_path(root, sizeof(root), test->root);
	config.root = root;
	if (test->options != NULL) {
		config.options = &test->options;
		config.option_count = 1;
	}
	error = module->create(&config, &shell);
	ck_assert_int_eq(error, test->error);
	if (error == 0) {
		ck_assert_ptr_nonnull(shell);
		ck_assert_ptr_nonnull(shell->ops->destroy);
		shell->ops->destroy(shell);
	}
}
END_TEST

Suite *
shell_suite(void)
{
	Suite *suite = suite_create("shell");
	TCase *reading = tcase_create("reading");
	TCase *changes = tcase_create("changes");
	TCase *uploads = tcase_create("uploads");
	TCase *creation = tcase_create("create");

	tcase_add_checked_fixture(reading, make_tree, remove_tree);
	tcase_add_loop_test(reading, test_stat_files_and_directories, 0, VARIANT_COUNT);
	tcase_add_loop_test(reading, test_listing_streams_all_entries, 0, VARIANT_COUNT);
	tcase_add_loop_test(reading, test_read_at_offset, 0, VARIANT_COUNT);
	tcase_add_loop_test(reading, test_access, 0, VARIANT_COUNT);
	tcase_add_loop_test(reading, test_symlink_inside_root_works, 0, VARIANT_COUNT);
	tcase_add_loop_test(reading, test_symlink_escape_is_refused, 0, VARIANT_COUNT);
	suite_add_tcase(suite, reading);

	tcase_add_checked_fixture(changes, make_tree, remove_tree);
	tcase_add_loop_test(changes, test_change, 0,
	    (int)CHANGE_CASE_COUNT * VARIANT_COUNT);
	tcase_add_loop_test(changes, test_fs_read_only_config, 0, 2);
	suite_add_tcase(suite, changes);

	tcase_add_checked_fixture(uploads, make_tree, remove_tree);
	tcase_add_loop_test(uploads, test_replace_abort_keeps_old_file, 0, 2);
	tcase_add_loop_test(uploads, test_in_place_abort_undoes_the_upload, 0, 2);
	tcase_add_loop_test(uploads, test_in_place_finish_keeps_the_upload, 0, 2);
	tcase_add_loop_test(uploads, test_in_place_abort_spares_a_replaced_name, 0, 2);
	tcase_add_loop_test(uploads, test_replace_finish_is_atomic, 0, 2);
	tcase_add_loop_test(uploads, test_replace_refusals, 0, 2);
	tcase_add_loop_test(uploads, test_replace_over_escaping_link_stays_inside, 0, 2);
	tcase_add_loop_test(uploads, test_append, 0, 2);
	tcase_add_loop_test(uploads, test_write_at_offset, 0, 2);
	tcase_add_loop_test(uploads, test_unique, 0, 2);
	suite_add_tcase(suite, uploads);

	tcase_add_checked_fixture(creation, make_tree, remove_tree);
	tcase_add_loop_test(creation, test_create, 0,
	    (int)(sizeof(create_cases) / sizeof(create_cases[0])) * 2);
	suite_add_tcase(suite, creation);
	return suite;
}
