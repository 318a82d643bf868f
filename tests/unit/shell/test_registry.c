/*
 * test_registry: how shell/registry finds a module: the built-in names
 * first, then a path (it has a '/'), else NAME.so in the shell directory.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shell/registry.h"
#include "suites.h"

static char scratch[PATH_MAX];
/* A real shared object that exports no shell module: the C library. */
static const char *libc_file;

static void
scratch_path(char *buffer, size_t size, const char *name)
{
	ck_assert_int_lt(snprintf(buffer, size, "%s/%s", scratch, name), (int)size);
}

/* name in the scratch directory, as a link to the C library. */
static void
link_libc_as(const char *name)
{
	char path[PATH_MAX];

	scratch_path(path, sizeof(path), name);
	ck_assert_int_eq(symlink(libc_file, path), 0);
}

static void
make_scratch(void)
{
	static Dl_info info;

	snprintf(scratch, sizeof(scratch), "%s/ftpd-registry-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(scratch));
	/* A glibc-only function finds it even when sanitizers wrap the usual ones. */
	ck_assert_int_ne(dladdr((void *)&gnu_get_libc_version, &info), 0);
	libc_file = info.dli_fname;
}

static void
remove_scratch(void)
{
	static const char *const names[] = { "libc.so", "fs.so", "nosymbol.so", "text.so" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		scratch_path(path, sizeof(path), names[i]);
		unlink(path);
	}
	rmdir(scratch);
}

START_TEST(test_built_ins)
{
	char error[256];

	ck_assert_ptr_eq(shell_registry_find("fs", NULL, error, sizeof(error)), &shell_fs_module);
	ck_assert_ptr_eq(shell_registry_find("anon", scratch, error, sizeof(error)),
	    &shell_anon_module);
	ck_assert_str_eq(shell_fs_module.name, "fs");
	ck_assert_str_eq(shell_anon_module.name, "anon");
	ck_assert_uint_eq(shell_fs_module.abi_version, FTPD_SHELL_ABI_VERSION);
	ck_assert_uint_eq(shell_anon_module.abi_version, FTPD_SHELL_ABI_VERSION);
}
END_TEST

/* An fs.so in the shell directory never replaces the built-in fs. */
START_TEST(test_built_in_names_win)
{
	char error[512];

	link_libc_as("fs.so");
	ck_assert_ptr_eq(shell_registry_find("fs", scratch, error, sizeof(error)),
	    &shell_fs_module);
}
END_TEST

START_TEST(test_unknown_name)
{
	char error[512], expected[PATH_MAX];

	ck_assert_ptr_null(shell_registry_find("nope", scratch, error, sizeof(error)));
	scratch_path(expected, sizeof(expected), "nope.so");
	ck_assert_msg(strstr(error, "unknown shell \"nope\"") != NULL, "%s", error);
	ck_assert_msg(strstr(error, expected) != NULL, "%s", error);
	ck_assert_ptr_null(shell_registry_find("", scratch, error, sizeof(error)));
	ck_assert_str_ne(error, "");
	ck_assert_ptr_null(shell_registry_find("FS", scratch, error, sizeof(error)));
	ck_assert_ptr_nonnull(strstr(error, "FS"));
	/* Without a shell directory only the built-ins and paths are found. */
	ck_assert_ptr_null(shell_registry_find("nope", NULL, error, sizeof(error)));
	ck_assert_msg(strstr(error, "shell_dir") != NULL, "%s", error);
}
END_TEST

/* A NAME is a plain file name: nothing hidden, nothing above the directory. */
START_TEST(test_name_must_be_a_plain_file_name)
{
	char error[512];

	link_libc_as("libc.so");
	ck_assert_ptr_null(shell_registry_find(".hidden", scratch, error, sizeof(error)));
	ck_assert_msg(strstr(error, "plain file name") != NULL, "%s", error);
	ck_assert_ptr_null(shell_registry_find("..", scratch, error, sizeof(error)));
	ck_assert_msg(strstr(error, "plain file name") != NULL, "%s", error);
}
END_TEST

/* The name is looked up as NAME.so in the directory, and loaded from there. */
START_TEST(test_name_found_in_shell_dir)
{
	char error[512], expected[PATH_MAX];

	link_libc_as("nosymbol.so");
	ck_assert_ptr_null(shell_registry_find("nosymbol", scratch, error, sizeof(error)));
	scratch_path(expected, sizeof(expected), "nosymbol.so");
	ck_assert_msg(strstr(error, expected) != NULL, "%s", error);
	ck_assert_msg(strstr(error, "does not export the symbol " FTPD_SHELL_MODULE_SYMBOL)
	    != NULL, "%s", error);
	/* NAME.so names the same file, never NAME.so.so. */
	ck_assert_ptr_null(shell_registry_find("nosymbol.so", scratch, error, sizeof(error)));
	ck_assert_msg(strstr(error, expected) != NULL && strstr(error, ".so.so") == NULL,
	    "%s", error);
	ck_assert_msg(strstr(error, "does not export the symbol") != NULL, "%s", error);
}
END_TEST

/* A path (it has a '/') is loaded as it is, whatever shell_dir says. */
START_TEST(test_path_is_loaded_as_given)
{
	char error[512], path[PATH_MAX];

	scratch_path(path, sizeof(path), "no-such-module.so");
	ck_assert_ptr_null(shell_registry_find(path, scratch, error, sizeof(error)));
	ck_assert_msg(strstr(error, "cannot load shell module") != NULL, "%s", error);
	ck_assert_ptr_nonnull(strstr(error, "no-such-module.so"));
	ck_assert_ptr_null(shell_registry_find("./no-such-module.so", scratch, error,
	    sizeof(error)));
	ck_assert_ptr_nonnull(strstr(error, "cannot load"));
	if (strchr(libc_file, '/') == NULL)
		return;
	ck_assert_ptr_null(shell_registry_find(libc_file, "/nonexistent", error, sizeof(error)));
	ck_assert_msg(strstr(error, FTPD_SHELL_MODULE_SYMBOL) != NULL, "%s", error);
}
END_TEST

/* A file that is no shared object at all, found by name. */
START_TEST(test_not_a_shared_object)
{
	char error[512], path[PATH_MAX];
	FILE *file;

	scratch_path(path, sizeof(path), "text.so");
	ck_assert_ptr_nonnull(file = fopen(path, "w"));
	fputs("not an ELF file\n", file);
	fclose(file);
	ck_assert_ptr_null(shell_registry_find("text", scratch, error, sizeof(error)));
	ck_assert_msg(strstr(error, "cannot load shell module") != NULL, "%s", error);
}
END_TEST

Suite *
registry_suite(void)
{
	Suite *suite = suite_create("registry");
	TCase *lookup = tcase_create("lookup");

	tcase_add_checked_fixture(lookup, make_scratch, remove_scratch);
	tcase_add_test(lookup, test_built_ins);
	tcase_add_test(lookup, test_built_in_names_win);
	tcase_add_test(lookup, test_unknown_name);
	tcase_add_test(lookup, test_name_must_be_a_plain_file_name);
	tcase_add_test(lookup, test_name_found_in_shell_dir);
	tcase_add_test(lookup, test_path_is_loaded_as_given);
	tcase_add_test(lookup, test_not_a_shared_object);
	suite_add_tcase(suite, lookup);
	return suite;
}
