/*
 * test_usage: the quota/usage part: room for entries, what each kind of
 * upload may write, and how uploads and removals change a home's count.
 */
#include <check.h>

#include "quota/usage.h"
#include "suites.h"

static const struct quota_target nothing = { 0, 0 };

START_TEST(test_entries)
{
	struct quota_usage usage = { 1, 0, 2 };

	ck_assert(quota_admits_entry(&usage, 0));
	ck_assert(quota_admits_entry(&usage, 3));
	ck_assert(!quota_admits_entry(&usage, 2));
	/* Over the limit already (another session, or an administrator): still no room. */
	usage.files = 7;
	ck_assert(!quota_admits_entry(&usage, 2));
}
END_TEST

START_TEST(test_no_byte_limit)
{
	struct quota_usage usage = { 1, 1000, 5 };

	ck_assert_uint_eq(quota_upload_allowance(&usage, 0, &nothing, FTPD_WRITE_REPLACE, 0),
	    QUOTA_UNLIMITED);
}
END_TEST

START_TEST(test_new_file_gets_the_room_left)
{
	struct quota_usage usage = { 1, 700, 5 };

	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &nothing, FTPD_WRITE_REPLACE, 0),
	    300);
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &nothing, FTPD_WRITE_UNIQUE, 0),
	    300);
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &nothing, FTPD_WRITE_APPEND, 0),
	    300);
	usage.bytes = 1000;
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &nothing, FTPD_WRITE_REPLACE, 0),
	    0);
	usage.bytes = 5000;
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &nothing, FTPD_WRITE_REPLACE, 0),
	    0);
}
END_TEST

/* What a file held before is freed when the upload takes its place. */
START_TEST(test_existing_file)
{
	struct quota_usage usage = { 1, 700, 5 };
	const struct quota_target file = { 1, 200 };

	/* The other files hold 500: the new version may be 500 long. */
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &file, FTPD_WRITE_REPLACE, 0), 500);
	/* Appending: 300 more. */
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &file, FTPD_WRITE_APPEND, 0), 300);
	/* REST 50 + STOR: bytes 50..199 are rewritten, then 300 more. */
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &file, FTPD_WRITE_AT_OFFSET, 50),
	    450);
	/* REST past the end: the hole counts too. */
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &file, FTPD_WRITE_AT_OFFSET, 400),
	    100);
	ck_assert_uint_eq(quota_upload_allowance(&usage, 1000, &file, FTPD_WRITE_AT_OFFSET, 900),
	    0);
}
END_TEST

START_TEST(test_count_uploads)
{
	struct quota_usage usage = { 1, 700, 5 };
	const struct quota_target file = { 1, 200 };

	quota_count_upload(&usage, &nothing, FTPD_WRITE_REPLACE, 0, 100);
	ck_assert_uint_eq(usage.bytes, 800);
	ck_assert_uint_eq(usage.files, 6);
	quota_count_upload(&usage, &file, FTPD_WRITE_REPLACE, 0, 50);
	ck_assert_uint_eq(usage.bytes, 650);
	ck_assert_uint_eq(usage.files, 6);
	quota_count_upload(&usage, &file, FTPD_WRITE_APPEND, 0, 50);
	ck_assert_uint_eq(usage.bytes, 700);
	/* Inside the old length the file does not grow. */
	quota_count_upload(&usage, &file, FTPD_WRITE_AT_OFFSET, 20, 100);
	ck_assert_uint_eq(usage.bytes, 700);
	quota_count_upload(&usage, &file, FTPD_WRITE_AT_OFFSET, 150, 100);
	ck_assert_uint_eq(usage.bytes, 750);
	quota_count_upload(&usage, &nothing, FTPD_WRITE_UNIQUE, 0, 0);
	ck_assert_uint_eq(usage.files, 7);
}
END_TEST

START_TEST(test_count_removals)
{
	struct quota_usage usage = { 1, 700, 2 };

	quota_count_removal(&usage, 1, 300);
	ck_assert_uint_eq(usage.bytes, 400);
	ck_assert_uint_eq(usage.files, 1);
	quota_count_directory(&usage);
	ck_assert_uint_eq(usage.files, 2);
	quota_count_removal(&usage, 0, 4096);
	ck_assert_uint_eq(usage.bytes, 400);
	/* Files this session never counted (made by another meanwhile) take it to zero, not below. */
	quota_count_removal(&usage, 1, 1000);
	quota_count_removal(&usage, 1, 1000);
	quota_count_removal(&usage, 1, 1000);
	ck_assert_uint_eq(usage.bytes, 0);
	ck_assert_uint_eq(usage.files, 0);
}
END_TEST

Suite *
quota_usage_suite(void)
{
	Suite *suite = suite_create("quota_usage");
	TCase *tcase = tcase_create("arithmetic");

	tcase_add_test(tcase, test_entries);
	tcase_add_test(tcase, test_no_byte_limit);
	tcase_add_test(tcase, test_new_file_gets_the_room_left);
	tcase_add_test(tcase, test_existing_file);
	tcase_add_test(tcase, test_count_uploads);
	tcase_add_test(tcase, test_count_removals);
	suite_add_tcase(suite, tcase);
	return suite;
}
