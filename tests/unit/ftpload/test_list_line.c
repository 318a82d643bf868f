/*
 * test_list_line: ftpload's reader of `ls -l` LIST lines: every file type,
 * both date forms, names with blanks, links, devices, and lines it refuses.
 */
#include <string.h>

#include <check.h>

#include "ftpload/list_line.h"
#include "suites.h"

static struct list_entry entry;

static int
parse(const char *line)
{
	return list_line_parse(line, strlen(line), &entry);
}

static void
assert_name(const char *name)
{
	ck_assert_uint_eq(entry.name_length, strlen(name));
	ck_assert(memcmp(entry.name, name, entry.name_length) == 0);
}

static void
assert_field(const char *field, size_t length, const char *expected)
{
	ck_assert_uint_eq(length, strlen(expected));
	ck_assert(memcmp(field, expected, length) == 0);
}

START_TEST(test_regular_file_with_time)
{
	ck_assert_int_eq(parse("-rw-r--r--    1 alice    staff        1234 Nov 14 22:13 a.txt\r\n"), 0);
	ck_assert_int_eq(entry.type, LIST_TYPE_FILE);
	ck_assert_str_eq(entry.mode, "-rw-r--r--");
	ck_assert_uint_eq(entry.links, 1);
	assert_field(entry.owner, entry.owner_length, "alice");
	assert_field(entry.group, entry.group_length, "staff");
	ck_assert_uint_eq(entry.size, 1234);
	ck_assert_int_eq(entry.month, 11);
	ck_assert_int_eq(entry.day, 14);
	ck_assert_int_eq(entry.hour, 22);
	ck_assert_int_eq(entry.minute, 13);
	ck_assert_int_eq(entry.year, 0);
	assert_name("a.txt");
	ck_assert_ptr_null(entry.target);
}
END_TEST

START_TEST(test_year_form)
{
	ck_assert_int_eq(parse("-rw-------    2 0        1001   18446744073709551615 Nov 14  2023 big"), 0);
	ck_assert_int_eq(entry.year, 2023);
	ck_assert_int_eq(entry.hour, -1);
	ck_assert_int_eq(entry.minute, -1);
	ck_assert_uint_eq(entry.size, UINT64_MAX);
	assert_field(entry.owner, entry.owner_length, "0");
	assert_field(entry.group, entry.group_length, "1001");
	assert_name("big");
}
END_TEST

/* Each type letter, with the type it reads as. */
static const struct {
	const char *line;
	enum list_type type;
} type_cases[] = {
	{ "-rw-r--r-- 1 u g 0 Jan 01 00:00 f", LIST_TYPE_FILE },
	{ "drwxr-xr-x 3 u g 4096 Feb 28 12:00 d", LIST_TYPE_DIRECTORY },
	{ "lrwxrwxrwx 1 u g 4 Mar 03  2001 l -> f", LIST_TYPE_LINK },
	{ "crw-rw-rw- 1 root root 1, 3 Apr 10 09:15 null", LIST_TYPE_CHARACTER },
	{ "brw-rw---- 1 root disk 8,0 May 05 10:00 sda", LIST_TYPE_BLOCK },
	{ "prw-r--r-- 1 u g 0 Jun 30 23:59 fifo", LIST_TYPE_FIFO },
	{ "srwxrwxrwx 1 u g 0 Jul 04 07:07 sock", LIST_TYPE_SOCKET },
	{ "Drwxr-xr-x 1 u g 0 Aug 15  1999 door", LIST_TYPE_UNKNOWN },
	{ "?--------- 1 u g 0 Dec 31  2024 odd", LIST_TYPE_UNKNOWN },
};

START_TEST(test_file_types)
{
	ck_assert_int_eq(parse(type_cases[_i].line), 0);
	ck_assert_int_eq(entry.type, type_cases[_i].type);
}
END_TEST

START_TEST(test_devices_show_numbers)
{
	ck_assert_int_eq(parse("crw-rw-rw- 1 root root 1, 3 Apr 10 09:15 null"), 0);
	ck_assert_uint_eq(entry.major, 1);
	ck_assert_uint_eq(entry.minor, 3);
	ck_assert_uint_eq(entry.size, 0);
	assert_name("null");
	ck_assert_int_eq(parse("brw-rw---- 1 root disk 8,16 May 05 10:00 sdb"), 0);
	ck_assert_uint_eq(entry.major, 8);
	ck_assert_uint_eq(entry.minor, 16);
}
END_TEST

START_TEST(test_special_mode_bits_and_acl_marker)
{
	ck_assert_int_eq(parse("-rwsr-sr-T+ 1 u g 5 Jan 02 03:04 suid"), 0);
	ck_assert_str_eq(entry.mode, "-rwsr-sr-T");
	ck_assert_int_eq(parse("drwxrwxrwt. 9 u g 5 Jan 02 03:04 tmp"), 0);
	ck_assert_str_eq(entry.mode, "drwxrwxrwt");
}
END_TEST

START_TEST(test_names_with_blanks)
{
	ck_assert_int_eq(parse("-rw-r--r-- 1 u g 7 Nov 14 22:13 my  file .txt "), 0);
	assert_name("my  file .txt ");
	ck_assert_int_eq(parse("-rw-r--r-- 1 u g 7 Nov 14  2023  leading"), 0);
	assert_name(" leading");
	/* Only a link's name is split at an arrow. */
	ck_assert_int_eq(parse("-rw-r--r-- 1 u g 7 Nov 14 22:13 a -> b"), 0);
	assert_name("a -> b");
	ck_assert_ptr_null(entry.target);
}
END_TEST

START_TEST(test_symlink_target)
{
	ck_assert_int_eq(parse("lrwxrwxrwx 1 u g 11 Nov 14 22:13 my link -> ../a target\r\n"), 0);
	ck_assert_int_eq(entry.type, LIST_TYPE_LINK);
	assert_name("my link");
	ck_assert_ptr_nonnull(entry.target);
	assert_field(entry.target, entry.target_length, "../a target");
	/* A link shown without its target is still an entry. */
	ck_assert_int_eq(parse("lrwxrwxrwx 1 u g 11 Nov 14 22:13 dangling"), 0);
	assert_name("dangling");
	ck_assert_ptr_null(entry.target);
}
END_TEST

static const char *const malformed[] = {
	"",
	"\r\n",
	"total 24",
	" -rw-r--r-- 1 u g 7 Nov 14 22:13 indented",
	"-rw-r--r- 1 u g 7 Nov 14 22:13 short-mode",
	"-rw-r--r--x 1 u g 7 Nov 14 22:13 long-mode",
	"-rwxrwxrwq 1 u g 7 Nov 14 22:13 bad-permission",
	"1rw-r--r-- 1 u g 7 Nov 14 22:13 digit-type",
	"-rw-r--r-- x u g 7 Nov 14 22:13 bad-links",
	"-rw-r--r-- 1 u g -7 Nov 14 22:13 negative-size",
	"-rw-r--r-- 1 u g 18446744073709551616 Nov 14 22:13 overflow",
	"-rw-r--r-- 1 u g 7 Now 14 22:13 bad-month",
	"-rw-r--r-- 1 u g 7 Nov 32 22:13 bad-day",
	"-rw-r--r-- 1 u g 7 Nov 0 22:13 zero-day",
	"-rw-r--r-- 1 u g 7 Nov 14 24:00 bad-hour",
	"-rw-r--r-- 1 u g 7 Nov 14 22:60 bad-minute",
	"-rw-r--r-- 1 u g 7 Nov 14 223 bad-year",
	"-rw-r--r-- 1 u g 7 Nov 14 22:13",
	"-rw-r--r-- 1 u g 7 Nov 14 22:13 ",
	"-rw-r--r-- 1 u g Nov 14 22:13 no-size",
	"crw-rw-rw- 1 root root 13 Apr 10 09:15 device-without-comma",
	"-rw-r--r-- 1 u g 7",
	"just some words",
};

START_TEST(test_malformed_lines_refused)
{
	ck_assert_int_eq(parse(malformed[_i]), -1);
}
END_TEST

START_TEST(test_count_entries_skips_other_lines)
{
	const char *text =
	    "total 12\r\n"
	    "drwxr-xr-x 2 u g 4096 Nov 14 22:13 .\r\n"
	    "-rw-r--r-- 1 u g 7 Nov 14  2023 a b\r\n"
	    "garbage\r\n"
	    "lrwxrwxrwx 1 u g 1 Nov 14 22:13 l -> a b";

	ck_assert_uint_eq(list_count_entries(text, strlen(text)), 3);
	ck_assert_uint_eq(list_count_entries("", 0), 0);
}
END_TEST

Suite *
list_line_suite(void)
{
	Suite *suite = suite_create("list_line");
	TCase *tcase = tcase_create("list_line");

	tcase_add_test(tcase, test_regular_file_with_time);
	tcase_add_test(tcase, test_year_form);
	tcase_add_loop_test(tcase, test_file_types, 0,
	    (int)(sizeof(type_cases) / sizeof(type_cases[0])));
	tcase_add_test(tcase, test_devices_show_numbers);
	tcase_add_test(tcase, test_special_mode_bits_and_acl_marker);
	tcase_add_test(tcase, test_names_with_blanks);
	tcase_add_test(tcase, test_symlink_target);
	tcase_add_loop_test(tcase, test_malformed_lines_refused, 0,
	    (int)(sizeof(malformed) / sizeof(malformed[0])));
	tcase_add_test(tcase, test_count_entries_skips_other_lines);
	suite_add_tcase(suite, tcase);
	return suite;
}
