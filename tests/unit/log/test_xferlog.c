/*
 * test_xferlog: the transfer log line in wu-ftpd xferlog(5) format.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "log/xferlog.h"
#include "suites.h"

static struct xferlog_entry
entry_at(time_t started)
{
	struct xferlog_entry entry = {
		.started = { started, 0 },
		.remote_host = "192.0.2.7",
		.bytes = 1048576,
		.path = "/pub/big file.iso",
		.ascii = 0,
		.incoming = 0,
		.anonymous = 1,
		.user = "anonymous",
		.complete = 1,
	};

	return entry;
}

/* Splits line at spaces into fields; returns their count. */
static int
split(char *line, char *fields[], int most)
{
	int count = 0;
	char *field;

	for (field = strtok(line, " \n"); field != NULL && count < most;
	    field = strtok(NULL, " \n"))
		fields[count++] = field;
	return count;
}

START_TEST(test_fields)
{
	struct xferlog_entry entry = entry_at(1700000000);
	struct timeval now = { 1700000003, 600000 };
	char line[512], *fields[32];
	size_t length;

	setenv("TZ", "UTC", 1);
	tzset();
	length = xferlog_format(line, sizeof(line), &entry, &now);
	ck_assert_uint_gt(length, 0);
	ck_assert_int_eq(line[length - 1], '\n');
	ck_assert_int_eq(split(line, fields, 32), 18);
	/* current-time is ctime's five tokens */
	ck_assert_str_eq(fields[0], "Tue");
	ck_assert_str_eq(fields[1], "Nov");
	ck_assert_str_eq(fields[2], "14");
	ck_assert_str_eq(fields[3], "22:13:23");
	ck_assert_str_eq(fields[4], "2023");
	ck_assert_str_eq(fields[5], "4");		/* 3.6 s rounds to 4 */
	ck_assert_str_eq(fields[6], "192.0.2.7");
	ck_assert_str_eq(fields[7], "1048576");
	ck_assert_str_eq(fields[8], "/pub/big_file.iso");
	ck_assert_str_eq(fields[9], "b");
	ck_assert_str_eq(fields[10], "_");
	ck_assert_str_eq(fields[11], "o");
	ck_assert_str_eq(fields[12], "a");
	ck_assert_str_eq(fields[13], "anonymous");
	ck_assert_str_eq(fields[14], "ftp");
	ck_assert_str_eq(fields[15], "0");
	ck_assert_str_eq(fields[16], "*");
	ck_assert_str_eq(fields[17], "c");
}
END_TEST

START_TEST(test_upload_incomplete_ascii_user)
{
	struct xferlog_entry entry = entry_at(1700000000);
	struct timeval now = { 1700000000, 1000 };
	char line[512], *fields[32];

	entry.incoming = 1;
	entry.ascii = 1;
	entry.anonymous = 0;
	entry.user = "alice";
	entry.complete = 0;
	entry.path = "/in\tbox/new\nline";
	xferlog_format(line, sizeof(line), &entry, &now);
	ck_assert_int_eq(split(line, fields, 32), 18);
	ck_assert_str_eq(fields[5], "1");		/* never 0 seconds */
	ck_assert_str_eq(fields[8], "/in_box/new_line");
	ck_assert_str_eq(fields[9], "a");
	ck_assert_str_eq(fields[11], "i");
	ck_assert_str_eq(fields[12], "r");
	ck_assert_str_eq(fields[13], "alice");
	ck_assert_str_eq(fields[17], "i");
}
END_TEST

START_TEST(test_written_to_file)
{
	char path[] = "/tmp/ftpd-xferlog-XXXXXX", line[512];
	struct xferlog_entry entry = entry_at(time(NULL));
	struct xferlog *log;
	FILE *file;
	int fd = mkstemp(path), lines = 0;

	ck_assert_int_ge(fd, 0);
	log = xferlog_open(path);
	ck_assert_ptr_nonnull(log);
	xferlog_write(log, &entry);
	xferlog_write(log, &entry);
	xferlog_close(log);
	file = fdopen(fd, "r");
	while (fgets(line, sizeof(line), file) != NULL) {
		ck_assert(strstr(line, " /pub/big_file.iso b _ o a anonymous ftp 0 * c\n") != NULL);
		lines++;
	}
	fclose(file);
	unlink(path);
	ck_assert_int_eq(lines, 2);
}
END_TEST

Suite *
xferlog_suite(void)
{
	Suite *suite = suite_create("xferlog");
	TCase *tcase = tcase_create("format");

	tcase_add_test(tcase, test_fields);
	tcase_add_test(tcase, test_upload_incomplete_ascii_user);
	tcase_add_test(tcase, test_written_to_file);
	suite_add_tcase(suite, tcase);
	return suite;
}
