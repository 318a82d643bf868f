/*
 * test_reply_parser: ftpload's reading of server replies, single- and
 * multi-line, and of lines that cannot be replies.
 */
#include <string.h>

#include <check.h>

#include "ftpload/reply_parser.h"
#include "suites.h"

static struct reply_parser parser;

static int
feed(const char *line)
{
	return reply_parser_line(&parser, line, strlen(line));
}

START_TEST(test_single_line)
{
	reply_parser_init(&parser);
	ck_assert_int_eq(feed("220 ready"), 1);
	ck_assert_int_eq(parser.code, 220);
	ck_assert_str_eq(parser.text, "220 ready");
	ck_assert_int_eq(feed("200"), 1);
	ck_assert_int_eq(parser.code, 200);
}
END_TEST

START_TEST(test_multiline)
{
	reply_parser_init(&parser);
	ck_assert_int_eq(feed("211-Features:"), 0);
	ck_assert_int_eq(feed(" UTF8"), 0);
	/* Another code, or the same code with a dash, does not end it. */
	ck_assert_int_eq(feed("220 not the end"), 0);
	ck_assert_int_eq(feed("211-still not"), 0);
	ck_assert_int_eq(feed(""), 0);
	ck_assert_int_eq(feed("211 End"), 1);
	ck_assert_int_eq(parser.code, 211);
	ck_assert_str_eq(parser.text, "211 End");
	/* The next reply starts afresh. */
	ck_assert_int_eq(feed("230 ok"), 1);
	ck_assert_int_eq(parser.code, 230);
}
END_TEST

START_TEST(test_not_replies)
{
	reply_parser_init(&parser);
	ck_assert_int_eq(feed(""), -1);
	ck_assert_int_eq(feed("22"), -1);
	ck_assert_int_eq(feed("hello"), -1);
	ck_assert_int_eq(feed("620 six hundred"), -1);
	ck_assert_int_eq(feed("220x"), -1);
}
END_TEST

START_TEST(test_long_text_is_truncated)
{
	char line[3000];

	memset(line, 'a', sizeof(line));
	memcpy(line, "250 ", 4);
	reply_parser_init(&parser);
	ck_assert_int_eq(reply_parser_line(&parser, line, sizeof(line)), 1);
	ck_assert_uint_eq(strlen(parser.text), REPLY_TEXT_MAX - 1);
}
END_TEST

Suite *
ftpload_reply_parser_suite(void)
{
	Suite *suite = suite_create("ftpload_reply_parser");
	TCase *tcase = tcase_create("ftpload_reply_parser");

	tcase_add_test(tcase, test_single_line);
	tcase_add_test(tcase, test_multiline);
	tcase_add_test(tcase, test_not_replies);
	tcase_add_test(tcase, test_long_text_is_truncated);
	suite_add_tcase(suite, tcase);
	return suite;
}
