/*
 * test_shell_options: the shell keys of config: shell_option and
 * anonymous_shell_option lines (repeatable, in order, joined for ABI 1's
 * options field), and where shell and anonymous_shell were set.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config.h"
#include "suites.h"

static char scratch[PATH_MAX - 16];
static char config_path[PATH_MAX];

static void
make_scratch(void)
{
	snprintf(scratch, sizeof(scratch), "%s/ftpd-shell-options-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(scratch));
	snprintf(config_path, sizeof(config_path), "%s/ftpd.conf", scratch);
}

static void
remove_scratch(void)
{
	unlink(config_path);
	rmdir(scratch);
}

static void
write_config(const char *content)
{
	FILE *file = fopen(config_path, "w");

	ck_assert_ptr_nonnull(file);
	fputs(content, file);
	fclose(file);
}

static void
override_or_fail(struct config *config, const char *assignment)
{
	char error[CONFIG_ERROR_SIZE] = "";

	ck_assert_msg(config_apply_override(config, assignment, error) == 0, "%s: %s",
	    assignment, error);
}

static char *
printed(const struct config *config)
{
	char *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);

	ck_assert_ptr_nonnull(out);
	config_print(config, out);
	fclose(out);
	return text;
}

START_TEST(test_lines_are_kept_in_order)
{
	struct config config;

	ck_assert_int_eq(config_init(&config), 0);
	write_config("shell_option = greeting=hello\n"
	    "anonymous_shell_option = bucket = public\n"
	    "shell_option = greeting=again\n"
	    "shell_option = \"padded= two \"\n");
	{
		char error[CONFIG_ERROR_SIZE] = "";

		ck_assert_msg(config_load_file(&config, config_path, error) == 0, "%s", error);
	}
	/* -o lines come after the file's. */
	override_or_fail(&config, "shell_option=from=override");
	ck_assert_uint_eq(config.shell_options.count, 4);
	ck_assert_str_eq(config.shell_options.lines[0], "greeting=hello");
	ck_assert_str_eq(config.shell_options.lines[1], "greeting=again");
	ck_assert_str_eq(config.shell_options.lines[2], "padded=two ");
	ck_assert_str_eq(config.shell_options.lines[3], "from=override");
	ck_assert_uint_eq(config.anonymous_shell_options.count, 1);
	ck_assert_str_eq(config.anonymous_shell_options.lines[0], "bucket=public");
	config_free(&config);
}
END_TEST

START_TEST(test_none_forgets_the_lines_before)
{
	struct config config;

	ck_assert_int_eq(config_init(&config), 0);
	override_or_fail(&config, "shell_option=a=1");
	override_or_fail(&config, "shell_option=none");
	ck_assert_uint_eq(config.shell_options.count, 0);
	override_or_fail(&config, "shell_option=b=2");
	ck_assert_uint_eq(config.shell_options.count, 1);
	ck_assert_str_eq(config.shell_options.lines[0], "b=2");
	config_free(&config);
}
END_TEST

START_TEST(test_too_many_lines)
{
	char assignment[64], error[CONFIG_ERROR_SIZE] = "";
	struct config config;
	unsigned i;

	ck_assert_int_eq(config_init(&config), 0);
	for (i = 0; i < CONFIG_MAX_SHELL_OPTIONS; i++) {
		snprintf(assignment, sizeof(assignment), "anonymous_shell_option=k%u=%u", i, i);
		override_or_fail(&config, assignment);
	}
	ck_assert_int_eq(config_apply_override(&config, "anonymous_shell_option=one=more",
	    error), -EINVAL);
	ck_assert_msg(strstr(error, "too many anonymous_shell_option lines") != NULL, "%s",
	    error);
	ck_assert_uint_eq(config.anonymous_shell_options.count, CONFIG_MAX_SHELL_OPTIONS);
	config_free(&config);
}
END_TEST

/* What a module gets in its options array: each line as given, in order. */
START_TEST(test_lines_kept_in_order_for_the_module)
{
	struct config config;

	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_uint_eq(config.shell_options.count, 0);
	override_or_fail(&config, "shell_option=a=1");
	override_or_fail(&config, "shell_option=b = 2 and more");
	override_or_fail(&config, "shell_option=c=");
	ck_assert_uint_eq(config.shell_options.count, 3);
	ck_assert_str_eq(config.shell_options.lines[0], "a=1");
	ck_assert_str_eq(config.shell_options.lines[1], "b=2 and more");
	ck_assert_str_eq(config.shell_options.lines[2], "c=");
	config_free(&config);
}
END_TEST

/* Each line prints as a line of its own, and reads back the same. */
START_TEST(test_lines_print_and_read_back)
{
	struct config config, again;
	char error[CONFIG_ERROR_SIZE] = "", *text, *text_again;

	ck_assert_int_eq(config_init(&config), 0);
	text = printed(&config);
	ck_assert_ptr_nonnull(strstr(text, "\nshell_option = none\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nanonymous_shell_option = none\n"));
	free(text);
	override_or_fail(&config, "shell_option=x=1");
	override_or_fail(&config, "shell_option=\"y= 2 \"");
	override_or_fail(&config, "anonymous_shell_option=z=#3");
	text = printed(&config);
	ck_assert_ptr_nonnull(strstr(text, "\nshell_option = x=1\nshell_option = \"y=2 \"\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nanonymous_shell_option = z=#3\n"));
	write_config(text);
	ck_assert_int_eq(config_init(&again), 0);
	/* The defaults' none comes first in the file too: read back, the lines stay. */
	ck_assert_msg(config_load_file(&again, config_path, error) == 0, "%s", error);
	text_again = printed(&again);
	ck_assert_str_eq(text_again, text);
	free(text);
	free(text_again);
	config_free(&config);
	config_free(&again);
}
END_TEST

/* -t names where shell and anonymous_shell were set when their module fails. */
START_TEST(test_places_are_recorded)
{
	char error[CONFIG_ERROR_SIZE] = "", expected[PATH_MAX + 16];
	struct config config;

	ck_assert_int_eq(config_init(&config), 0);
	ck_assert_str_eq(config.shell_place, "built-in default");
	ck_assert_str_eq(config.anonymous_shell_place, "built-in default");
	write_config("# shells\n\nshell = mine\nanonymous_shell = guest\n");
	ck_assert_msg(config_load_file(&config, config_path, error) == 0, "%s", error);
	snprintf(expected, sizeof(expected), "%s:3", config_path);
	ck_assert_str_eq(config.shell_place, expected);
	snprintf(expected, sizeof(expected), "%s:4", config_path);
	ck_assert_str_eq(config.anonymous_shell_place, expected);
	override_or_fail(&config, "shell=other");
	ck_assert_str_eq(config.shell_place, "-o shell=other");
	ck_assert_str_eq(config.anonymous_shell_place, expected);
	/* A refused value leaves the place of the value that stays. */
	ck_assert_int_eq(config_apply_override(&config, "shell=.bad", error), -EINVAL);
	ck_assert_str_eq(config.shell, "other");
	ck_assert_str_eq(config.shell_place, "-o shell=other");
	config_free(&config);
}
END_TEST

Suite *
config_shells_suite(void)
{
	Suite *suite = suite_create("config_shells");
	TCase *tcase = tcase_create("shell keys");

	tcase_add_checked_fixture(tcase, make_scratch, remove_scratch);
	tcase_add_test(tcase, test_lines_are_kept_in_order);
	tcase_add_test(tcase, test_none_forgets_the_lines_before);
	tcase_add_test(tcase, test_too_many_lines);
	tcase_add_test(tcase, test_lines_kept_in_order_for_the_module);
	tcase_add_test(tcase, test_lines_print_and_read_back);
	tcase_add_test(tcase, test_places_are_recorded);
	suite_add_tcase(suite, tcase);
	return suite;
}
