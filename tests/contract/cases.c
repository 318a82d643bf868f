/*
 * contract/cases: what every shell must do, checked through the ABI alone.
 * "tree" cases set their tree up from outside and check it from outside;
 * "any tree" cases hold for whatever the shell serves.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "contract.h"

static struct ftpd_shell *shell;

/* Errors a shell may answer for one condition, as -errno values, 0-terminated. */
static int
one_of(int error, const int *allowed)
{
	for (; *allowed != 0; allowed++)
		if (error == *allowed)
			return 1;
	return 0;
}

#define ASSERT_ONE_OF(error, ...) do {						\
		static const int allowed_[] = { __VA_ARGS__, 0 };		\
		int error_ = (error);						\
		ck_assert_msg(one_of(error_, allowed_), "%s answered %d (%s)",	\
		    #error, error_, error_ < 0 ? strerror(-error_) : "no error");	\
	} while (0)

#define WRITE_PERM_BITS (FTPD_PERM_APPEND | FTPD_PERM_CREATE | FTPD_PERM_DELETE |	\
	FTPD_PERM_RENAME | FTPD_PERM_MKDIR | FTPD_PERM_PURGE | FTPD_PERM_WRITE)

static void
setup_tree(void)
{
	tree_clear();
	shell = contract_shell(0);
}

static void
teardown(void)
{
	contract_shell_free(shell);
	shell = NULL;
}

static char *
read_path(const char *path, uint64_t offset, size_t *length)
{
	struct ftpd_read_file *file;
	char *content;
	int error;

	error = contract_open_read(shell, path, offset, &file);
	ck_assert_msg(error == 0, "open %s for reading: %s", path, strerror(-error));
	content = contract_read_all(file, length, &error);
	ck_assert_msg(content != NULL, "read %s: %s", path, strerror(-error));
	file->ops->close(file);
	return content;
}

static void
assert_tree_content(const char *path, const char *expected)
{
	char *content = tree_get(path);

	ck_assert_msg(content != NULL, "%s is not in the tree", path);
	ck_assert_str_eq(content, expected);
	free(content);
}

/* --- tree cases --- */

START_TEST(test_stat_root_file_and_missing)
{
	struct ftpd_stat stat;
	time_t now = time(NULL);

	tree_put("a.txt", "hello");
	ck_assert_int_eq(contract_stat(shell, "", &stat), 0);
	ck_assert(S_ISDIR(stat.mode));
	ck_assert_int_eq(contract_stat(shell, "a.txt", &stat), 0);
	ck_assert(S_ISREG(stat.mode));
	ck_assert_uint_eq(stat.size, 5);
	ck_assert_msg(stat.mtime > now - 3600 && stat.mtime < now + 3600,
	    "mtime %lld is not about now", (long long)stat.mtime);
	ck_assert_int_eq(contract_stat(shell, "missing", NULL), -ENOENT);
	ASSERT_ONE_OF(contract_stat(shell, "a.txt/below", NULL), -ENOTDIR, -ENOENT);
}
END_TEST

START_TEST(test_access)
{
	tree_put("f", "x");
	tree_mkdir("d");
	ck_assert_int_eq(contract_access(shell, "d", FTPD_ACCESS_ENTER), 0);
	ck_assert_int_eq(contract_access(shell, "d", FTPD_ACCESS_READ), 0);
	ck_assert_int_eq(contract_access(shell, "f", FTPD_ACCESS_READ), 0);
	ASSERT_ONE_OF(contract_access(shell, "f", FTPD_ACCESS_ENTER), -ENOTDIR, -ENOENT);
	ck_assert_int_eq(contract_access(shell, "missing", FTPD_ACCESS_READ), -ENOENT);
}
END_TEST

START_TEST(test_listing_names_types_and_sizes)
{
	static const struct {
		const char *name;
		int directory;
		uint64_t size;
	} expected[] = {
		{ "a", 0, 3 }, { "b", 1, 0 }, { "c", 0, 0 }, { ".hidden", 0, 1 },
	};
	struct ftpd_directory *directory;
	struct ftpd_directory_entry entry;
	int seen[4] = { 0 };
	char name[FTPD_NAME_MAX + 1];
	size_t i;
	ssize_t result;

	tree_put("a", "abc");
	tree_mkdir("b");
	tree_put("c", "");
	tree_put(".hidden", "h");
	ck_assert_int_eq(contract_open_directory(shell, "", &directory), 0);
	while ((result = contract_read_entry(directory, &entry, name, sizeof(name))) == 1) {
		for (i = 0; i < 4 && strcmp(expected[i].name, name) != 0; i++)
			;
		ck_assert_msg(i < 4, "unexpected entry \"%s\"", name);
		ck_assert_msg(!seen[i], "\"%s\" listed twice", name);
		seen[i] = 1;
		ck_assert_msg(entry.has_stat, "\"%s\" has no stat", name);
		if (expected[i].directory)
			ck_assert(S_ISDIR(entry.stat.mode));
		else {
			ck_assert(S_ISREG(entry.stat.mode));
			ck_assert_uint_eq(entry.stat.size, expected[i].size);
		}
	}
	ck_assert_int_eq(result, 0);
	for (i = 0; i < 4; i++)
		ck_assert_msg(seen[i], "\"%s\" not listed", expected[i].name);
	/* Past the end it stays at the end. */
	ck_assert_int_eq(contract_read_entry(directory, &entry, name, sizeof(name)), 0);
	directory->ops->close(directory);
}
END_TEST

START_TEST(test_listing_what_is_not_a_directory)
{
	struct ftpd_directory *directory;

	tree_put("f", "x");
	ck_assert_int_eq(contract_open_directory(shell, "missing", &directory), -ENOENT);
	ASSERT_ONE_OF(contract_open_directory(shell, "f", &directory), -ENOTDIR, -ENOENT);
}
END_TEST

START_TEST(test_read_whole_and_from_offsets)
{
	size_t size = 100000, length, i;
	char *content = malloc(size + 1), *got;
	struct ftpd_read_file *file;

	ck_assert_ptr_nonnull(content);
	for (i = 0; i < size; i++)
		content[i] = (char)('a' + (i * 7 + i / 251) % 26);
	content[size] = '\0';
	tree_put("big", content);
	ck_assert_int_eq(contract_open_read(shell, "big", 0, &file), 0);
	ck_assert_uint_eq(file->size, size);
	file->ops->close(file);
	got = read_path("big", 0, &length);
	ck_assert_uint_eq(length, size);
	ck_assert(memcmp(got, content, size) == 0);
	free(got);
	got = read_path("big", 12345, &length);
	ck_assert_uint_eq(length, size - 12345);
	ck_assert(memcmp(got, content + 12345, length) == 0);
	free(got);
	got = read_path("big", size, &length);
	ck_assert_uint_eq(length, 0);
	free(got);
	free(content);
}
END_TEST

START_TEST(test_read_what_is_not_a_file)
{
	struct ftpd_read_file *file;

	tree_mkdir("d");
	ASSERT_ONE_OF(contract_open_read(shell, "d", 0, &file), -EISDIR, -EACCES);
	ck_assert_int_eq(contract_open_read(shell, "missing", 0, &file), -ENOENT);
}
END_TEST

START_TEST(test_replace_keeps_the_old_file_until_finish)
{
	struct ftpd_write_file *file;

	tree_put("f", "old");
	ck_assert_int_eq(contract_open_write(shell, "f", FTPD_WRITE_REPLACE, 0, &file), 0);
	ck_assert_int_eq(contract_write_all(file, "brand new", 9), 0);
	assert_tree_content("f", "old");
	ck_assert_int_eq(contract_finish(file), 0);
	assert_tree_content("f", "brand new");
}
END_TEST

/* The entries of the tree's directory, other than those named. */
static int
others_in_root(void)
{
	struct ftpd_directory *directory;
	struct ftpd_directory_entry entry;
	char name[FTPD_NAME_MAX + 1];
	int count = 0;

	ck_assert_int_eq(contract_open_directory(shell, "", &directory), 0);
	while (contract_read_entry(directory, &entry, name, sizeof(name)) == 1)
		count++;
	directory->ops->close(directory);
	return count;
}

START_TEST(test_abort_leaves_the_old_file_and_nothing_else)
{
	struct ftpd_write_file *file;

	tree_put("f", "old");
	ck_assert_int_eq(contract_open_write(shell, "f", FTPD_WRITE_REPLACE, 0, &file), 0);
	ck_assert_int_eq(contract_write_all(file, "partial", 7), 0);
	file->ops->abort(file);
	assert_tree_content("f", "old");
	ck_assert_int_eq(contract_open_write(shell, "new", FTPD_WRITE_REPLACE, 0, &file), 0);
	ck_assert_int_eq(contract_write_all(file, "partial", 7), 0);
	file->ops->abort(file);
	contract_idle(50);
	ck_assert_int_eq(tree_type("new"), 0);
	ck_assert_int_eq(others_in_root(), 1);
}
END_TEST

START_TEST(test_append_and_write_at_offset)
{
	char *content;

	tree_put("f", "abc");
	ck_assert_int_eq(contract_store(shell, "f", FTPD_WRITE_APPEND, 0, "def"), 0);
	assert_tree_content("f", "abcdef");
	ck_assert_int_eq(contract_store(shell, "m", FTPD_WRITE_APPEND, 0, "made"), 0);
	assert_tree_content("m", "made");
	ck_assert_int_eq(contract_store(shell, "f", FTPD_WRITE_AT_OFFSET, 3, "XY"), 0);
	content = tree_get("f");
	ck_assert_ptr_nonnull(content);
	ck_assert_msg(strncmp(content, "abcXY", 5) == 0, "after writing at 3: \"%s\"", content);
	free(content);
}
END_TEST

START_TEST(test_unique_never_replaces)
{
	tree_put("u", "first");
	ck_assert_int_eq(contract_store(shell, "u", FTPD_WRITE_UNIQUE, 0, "second"), -EEXIST);
	assert_tree_content("u", "first");
	ck_assert_int_eq(contract_store(shell, "v", FTPD_WRITE_UNIQUE, 0, "new"), 0);
	assert_tree_content("v", "new");
}
END_TEST

START_TEST(test_directories)
{
	ck_assert_int_eq(contract_change(shell, "mkdir", "d", NULL), 0);
	ck_assert_int_eq(tree_type("d"), 'd');
	ck_assert_int_eq(contract_change(shell, "mkdir", "d", NULL), -EEXIST);
	ck_assert_int_eq(contract_change(shell, "mkdir", "missing/d", NULL), -ENOENT);
	tree_put("d/f", "x");
	ASSERT_ONE_OF(contract_change(shell, "rmdir", "d", NULL), -ENOTEMPTY, -EEXIST);
	ck_assert_int_eq(tree_type("d/f"), 'f');
	ck_assert_int_eq(contract_change(shell, "unlink", "d/f", NULL), 0);
	ck_assert_int_eq(contract_change(shell, "rmdir", "d", NULL), 0);
	ck_assert_int_eq(tree_type("d"), 0);
	ck_assert_int_eq(contract_change(shell, "rmdir", "d", NULL), -ENOENT);
}
END_TEST

START_TEST(test_remove_file)
{
	tree_put("f", "x");
	tree_mkdir("d");
	ck_assert_int_eq(contract_change(shell, "unlink", "f", NULL), 0);
	ck_assert_int_eq(tree_type("f"), 0);
	ck_assert_int_eq(contract_change(shell, "unlink", "f", NULL), -ENOENT);
	ASSERT_ONE_OF(contract_change(shell, "unlink", "d", NULL), -EISDIR, -EPERM, -EACCES);
	ck_assert_int_eq(tree_type("d"), 'd');
}
END_TEST

START_TEST(test_rename)
{
	tree_put("a", "one");
	tree_mkdir("sub");
	ck_assert_int_eq(contract_change(shell, "rename", "a", "sub/b"), 0);
	ck_assert_int_eq(tree_type("a"), 0);
	assert_tree_content("sub/b", "one");
	ck_assert_int_eq(contract_change(shell, "rename", "a", "c"), -ENOENT);
	ck_assert_int_eq(contract_change(shell, "rename", "sub/b", "missing/b"), -ENOENT);
	assert_tree_content("sub/b", "one");
	ck_assert_int_eq(contract_change(shell, "rename", "sub", "moved"), 0);
	assert_tree_content("moved/b", "one");
}
END_TEST

START_TEST(test_names_as_clients_send_them)
{
	static const char *const names[] = {
		"with space", "na\xc3\xafve \xe2\x82\xac", "semi;colon", "-dash",
	};
	char long_name[FTPD_NAME_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_int_eq(contract_store(shell, names[i], FTPD_WRITE_REPLACE, 0, names[i]), 0);
		assert_tree_content(names[i], names[i]);
		ck_assert_int_eq(contract_stat(shell, names[i], NULL), 0);
	}
	/* SMB's limit is 255 UTF-16 units: 200 ASCII characters fit every store. */
	memset(long_name, 'n', 200);
	long_name[200] = '\0';
	ck_assert_int_eq(contract_store(shell, long_name, FTPD_WRITE_REPLACE, 0, "long"), 0);
	assert_tree_content(long_name, "long");
}
END_TEST

/* Every change answers -EROFS, and the tree stays as it was. */
static void
assert_refuses_changes(void)
{
	struct ftpd_write_file *file;
	struct ftpd_stat stat;

	tree_put("f", "x");
	tree_mkdir("d");
	ck_assert_int_eq(contract_change(shell, "mkdir", "new", NULL), -EROFS);
	ck_assert_int_eq(contract_change(shell, "rmdir", "d", NULL), -EROFS);
	ck_assert_int_eq(contract_change(shell, "unlink", "f", NULL), -EROFS);
	ck_assert_int_eq(contract_change(shell, "rename", "f", "g"), -EROFS);
	ck_assert_int_eq(contract_open_write(shell, "f", FTPD_WRITE_REPLACE, 0, &file), -EROFS);
	ck_assert_int_eq(contract_open_write(shell, "n", FTPD_WRITE_UNIQUE, 0, &file), -EROFS);
	assert_tree_content("f", "x");
	ck_assert_int_eq(tree_type("d"), 'd');
	ck_assert_int_eq(tree_type("new"), 0);
	ck_assert_int_eq(contract_stat(shell, "f", &stat), 0);
	if (stat.perm & FTPD_PERM_KNOWN)
		ck_assert_uint_eq(stat.perm & WRITE_PERM_BITS, 0);
	ck_assert_int_eq(contract_stat(shell, "", &stat), 0);
	if (stat.perm & FTPD_PERM_KNOWN)
		ck_assert_uint_eq(stat.perm & WRITE_PERM_BITS, 0);
}

START_TEST(test_read_only_refuses_every_change)
{
	struct ftpd_shell *writable = shell;

	shell = contract_shell(1);
	assert_refuses_changes();
	contract_shell_free(shell);
	shell = writable;
}
END_TEST

/* A shell that is read-only by nature refuses changes even when it may write. */
START_TEST(test_read_only_shell_refuses_every_change)
{
	assert_refuses_changes();
}
END_TEST

START_TEST(test_perm_facts_of_a_writable_tree)
{
	struct ftpd_stat stat;

	tree_put("f", "x");
	ck_assert_int_eq(contract_stat(shell, "f", &stat), 0);
	if (!(stat.perm & FTPD_PERM_KNOWN))
		return;		/* ftpd guesses for a shell that does not say */
	ck_assert_uint_ne(stat.perm & FTPD_PERM_READ, 0);
	ck_assert_int_eq(contract_stat(shell, "", &stat), 0);
	ck_assert_uint_ne(stat.perm & FTPD_PERM_LIST, 0);
	ck_assert_uint_ne(stat.perm & FTPD_PERM_ENTER, 0);
}
END_TEST

static int late_answers;

static void
count_answer(void *arg, ssize_t result)
{
	(void)arg;
	(void)result;
	late_answers++;
}

START_TEST(test_close_and_abort_cancel_what_waits)
{
	struct ftpd_read_file *reading;
	struct ftpd_write_file *writing;
	static char buffer[4096];
	ssize_t result;

	tree_put("f", "some content");
	late_answers = 0;
	ck_assert_int_eq(contract_open_read(shell, "f", 0, &reading), 0);
	result = reading->ops->read(reading, buffer, sizeof(buffer), count_answer, NULL);
	reading->ops->close(reading);
	if (result != FTPD_PENDING)
		ck_assert_int_eq(result, 12);
	ck_assert_int_eq(contract_open_write(shell, "g", FTPD_WRITE_REPLACE, 0, &writing), 0);
	result = writing->ops->write(writing, "abc", 3, count_answer, NULL);
	writing->ops->abort(writing);
	if (result != FTPD_PENDING)
		ck_assert_int_eq(result, 3);
	/* Whatever was pending was cancelled: no answer comes after close or abort. */
	contract_idle(200);
	ck_assert_int_eq(late_answers, 0);
	ck_assert_int_eq(tree_type("g"), 0);
}
END_TEST

START_TEST(test_symlinks)
{
	struct ftpd_directory *directory;
	struct ftpd_directory_entry entry;
	struct ftpd_stat stat;
	char name[FTPD_NAME_MAX + 1], target[256];
	int found = 0;

	if (!contract_fixture.symlinks || FTPD_SHELL_OP(shell, symlink) == NULL ||
	    FTPD_SHELL_OP(shell, lstat) == NULL || FTPD_SHELL_OP(shell, readlink) == NULL)
		return;		/* a shell without symlinks answers SITE SYMLINK 502 */
	tree_mkdir("v2");
	tree_put("v2/data.txt", "data");
	ck_assert_int_eq(contract_change(shell, "symlink", "current", "v2/data.txt"), 0);
	ck_assert_int_eq(tree_type("current"), 'l');
	ck_assert_int_eq(contract_lstat(shell, "current", &stat), 0);
	ck_assert(S_ISLNK(stat.mode));
	ck_assert_int_eq(contract_stat(shell, "current", &stat), 0);
	ck_assert(S_ISREG(stat.mode));
	ck_assert_int_eq(contract_readlink(shell, "current", target, sizeof(target)), 0);
	ck_assert_str_eq(target, "v2/data.txt");
	ck_assert_int_eq(contract_open_directory(shell, "", &directory), 0);
	while (contract_read_entry(directory, &entry, name, sizeof(name)) == 1)
		if (strcmp(name, "current") == 0) {
			found = 1;
			ck_assert(S_ISLNK(entry.stat.mode));
			ck_assert_ptr_nonnull(entry.link_target);
			ck_assert_str_eq(entry.link_target, "v2/data.txt");
		}
	directory->ops->close(directory);
	ck_assert(found);
	/* A link to the root from below is stored so it cannot climb out. */
	ck_assert_int_eq(contract_change(shell, "symlink", "v2/up", ""), 0);
	ck_assert_int_eq(contract_readlink(shell, "v2/up", target, sizeof(target)), 0);
	ck_assert_str_eq(target, "..");
	ck_assert_int_eq(contract_change(shell, "symlink", "current", "v2"), -EEXIST);
}
END_TEST

START_TEST(test_chattr)
{
	struct ftpd_attributes change = { .struct_size = sizeof(change) };
	struct ftpd_stat stat;
	int error;

	if (FTPD_SHELL_OP(shell, chattr) == NULL)
		return;		/* MFMT and SITE CHMOD answer 502 */
	tree_put("f", "abcdef");
	change.mask = FTPD_ATTR_MTIME;
	change.mtime = 1577934245;	/* 2020-01-02 03:04:05 UTC */
	ck_assert_int_eq(contract_chattr(shell, "f", &change), 0);
	ck_assert_int_eq(contract_stat(shell, "f", &stat), 0);
	ck_assert_int_eq(stat.mtime, 1577934245);
	change.mask = FTPD_ATTR_SIZE;
	change.size = 3;
	error = contract_chattr(shell, "f", &change);
	if (error == 0)
		assert_tree_content("f", "abc");
	else
		ASSERT_ONE_OF(error, -EOPNOTSUPP, -EINVAL, -EPERM);
	change.mask = FTPD_ATTR_MODE;
	change.mode = 0600;
	error = contract_chattr(shell, "f", &change);
	if (error == 0) {
		ck_assert_int_eq(contract_stat(shell, "f", &stat), 0);
		ck_assert_uint_eq(stat.mode & 0777, 0600);
	} else
		ASSERT_ONE_OF(error, -EPERM, -EOPNOTSUPP, -EINVAL);
	ck_assert_int_eq(contract_chattr(shell, "missing", &change), -ENOENT);
}
END_TEST

START_TEST(test_open_file)
{
	struct ftpd_file *file;
	char buffer[16];
	char *content;

	if (FTPD_SHELL_OP(shell, open_file) == NULL)
		return;		/* no random access: nothing in FTP needs it */
	ck_assert_int_eq(contract_open_file(shell, "r.bin", FTPD_OPEN_READ | FTPD_OPEN_WRITE |
	    FTPD_OPEN_CREATE | FTPD_OPEN_EXCLUSIVE, &file), 0);
	ck_assert_int_eq(contract_pwrite(file, "hello", 5, 0), 5);
	ck_assert_int_eq(contract_pwrite(file, "x", 1, 9), 1);
	ck_assert_int_eq(contract_pread(file, buffer, 5, 0), 5);
	ck_assert(memcmp(buffer, "hello", 5) == 0);
	ck_assert_int_eq(contract_pread(file, buffer, sizeof(buffer), 9), 1);
	ck_assert_int_eq(contract_pread(file, buffer, sizeof(buffer), 10), 0);
	ck_assert_int_eq(contract_close_file(file), 0);
	content = tree_get("r.bin");
	ck_assert_ptr_nonnull(content);
	ck_assert(memcmp(content, "hello\0\0\0\0x", 10) == 0);
	free(content);
	ck_assert_int_eq(contract_open_file(shell, "r.bin", FTPD_OPEN_WRITE | FTPD_OPEN_CREATE |
	    FTPD_OPEN_EXCLUSIVE, &file), -EEXIST);
	ck_assert_int_eq(contract_open_file(shell, "missing", FTPD_OPEN_READ, &file), -ENOENT);
	ck_assert_int_eq(contract_open_file(shell, "r.bin", FTPD_OPEN_WRITE | FTPD_OPEN_TRUNCATE,
	    &file), 0);
	ck_assert_int_eq(contract_close_file(file), 0);
	content = tree_get("r.bin");
	ck_assert_ptr_nonnull(content);
	ck_assert_str_eq(content, "");
	free(content);
}
END_TEST

START_TEST(test_session_hooks)
{
	struct ftpd_session_info info = { .struct_size = sizeof(info), .user = "contract",
	    .client_address = "127.0.0.1", .client_port = 40000 };

	if (FTPD_SHELL_OP(shell, session_start) == NULL)
		return;
	ck_assert_int_eq(contract_session_start(shell, &info), 0);
	if (FTPD_SHELL_OP(shell, session_end) != NULL)
		shell->ops->session_end(shell, &info);
}
END_TEST

/* --- any tree --- */

static void
setup_any(void)
{
	shell = contract_shell(0);
}

/* Every entry of directory agrees with stat of its path; files read to their size. */
static void
check_directory(const char *path, int depth)
{
	struct ftpd_directory *directory;
	struct ftpd_directory_entry entry;
	char name[FTPD_NAME_MAX + 1], child[1024], *content;
	struct ftpd_stat stat;
	size_t length;
	int entries = 0;

	ck_assert_int_eq(contract_open_directory(shell, path, &directory), 0);
	while (contract_read_entry(directory, &entry, name, sizeof(name)) == 1 && entries++ < 50) {
		ck_assert_str_ne(name, ".");
		ck_assert_str_ne(name, "..");
		ck_assert_ptr_null(strchr(name, '/'));
		snprintf(child, sizeof(child), "%s%s%s", path, path[0] != '\0' ? "/" : "", name);
		if (!entry.has_stat || S_ISLNK(entry.stat.mode))
			continue;
		ck_assert_int_eq(contract_stat(shell, child, &stat), 0);
		ck_assert_uint_eq(stat.mode & S_IFMT, entry.stat.mode & S_IFMT);
		if (S_ISREG(stat.mode)) {
			ck_assert_uint_eq(stat.size, entry.stat.size);
			content = read_path(child, 0, &length);
			ck_assert_uint_eq(length, stat.size);
			free(content);
			content = read_path(child, stat.size / 2, &length);
			ck_assert_uint_eq(length, stat.size - stat.size / 2);
			free(content);
		} else if (S_ISDIR(stat.mode) && depth > 0)
			check_directory(child, depth - 1);
	}
	directory->ops->close(directory);
}

START_TEST(test_any_root_and_missing)
{
	struct ftpd_stat stat;

	ck_assert_int_eq(contract_stat(shell, "", &stat), 0);
	ck_assert(S_ISDIR(stat.mode));
	ck_assert_int_eq(contract_access(shell, "", FTPD_ACCESS_ENTER), 0);
	ck_assert_int_eq(contract_stat(shell, "no-such-name-anywhere", NULL), -ENOENT);
	ck_assert_int_eq(contract_access(shell, "no-such-name-anywhere", FTPD_ACCESS_READ),
	    -ENOENT);
}
END_TEST

START_TEST(test_any_listing_agrees_with_stat_and_reads)
{
	check_directory("", 1);
}
END_TEST

START_TEST(test_any_read_only_refuses_changes)
{
	struct ftpd_shell *read_only = contract_shell(1);
	struct ftpd_write_file *file;
	struct ftpd_stat stat;

	contract_shell_free(shell);
	shell = read_only;
	ASSERT_ONE_OF(contract_change(shell, "mkdir", "contract-new", NULL), -EROFS, -EACCES,
	    -EPERM);
	ASSERT_ONE_OF(contract_open_write(shell, "contract-new", FTPD_WRITE_REPLACE, 0, &file),
	    -EROFS, -EACCES, -EPERM);
	ck_assert_int_eq(contract_stat(shell, "contract-new", NULL), -ENOENT);
	ck_assert_int_eq(contract_stat(shell, "", &stat), 0);
	if (stat.perm & FTPD_PERM_KNOWN)
		ck_assert_uint_eq(stat.perm & WRITE_PERM_BITS, 0);
}
END_TEST

Suite *
contract_suite(void)
{
	Suite *suite = suite_create("contract");
	TCase *any = tcase_create("any tree");
	TCase *tree;

	tcase_add_checked_fixture(any, setup_any, teardown);
	tcase_add_test(any, test_any_root_and_missing);
	tcase_add_test(any, test_any_listing_agrees_with_stat_and_reads);
	tcase_add_test(any, test_any_read_only_refuses_changes);
	tcase_set_timeout(any, 60);
	suite_add_tcase(suite, any);
	if (contract_fixture.tree == NULL)
		return suite;
	tree = tcase_create("tree");
	tcase_add_checked_fixture(tree, setup_tree, teardown);
	tcase_add_test(tree, test_stat_root_file_and_missing);
	tcase_add_test(tree, test_access);
	tcase_add_test(tree, test_listing_names_types_and_sizes);
	tcase_add_test(tree, test_listing_what_is_not_a_directory);
	tcase_add_test(tree, test_read_whole_and_from_offsets);
	tcase_add_test(tree, test_read_what_is_not_a_file);
	tcase_add_test(tree, test_read_only_refuses_every_change);
	tcase_add_test(tree, test_session_hooks);
	tcase_set_timeout(tree, 60);
	suite_add_tcase(suite, tree);
	if (contract_fixture.read_only_shell) {
		tcase_add_test(tree, test_read_only_shell_refuses_every_change);
		return suite;
	}
	tcase_add_test(tree, test_replace_keeps_the_old_file_until_finish);
	tcase_add_test(tree, test_abort_leaves_the_old_file_and_nothing_else);
	tcase_add_test(tree, test_append_and_write_at_offset);
	tcase_add_test(tree, test_unique_never_replaces);
	tcase_add_test(tree, test_directories);
	tcase_add_test(tree, test_remove_file);
	tcase_add_test(tree, test_rename);
	tcase_add_test(tree, test_names_as_clients_send_them);
	tcase_add_test(tree, test_perm_facts_of_a_writable_tree);
	tcase_add_test(tree, test_close_and_abort_cancel_what_waits);
	tcase_add_test(tree, test_symlinks);
	tcase_add_test(tree, test_chattr);
	tcase_add_test(tree, test_open_file);
	return suite;
}
