/*
 * test_reply: reply formatting, multi-line replies, errno mapping, path quoting.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "reply/reply.h"
#include "session/command_table.h"
#include "suites.h"

/* The buffer's contents as a NUL-terminated string (static storage). */
static const char *
text_of(struct evbuffer *buffer)
{
	static char text[4096];
	size_t length = evbuffer_get_length(buffer);

	ck_assert_uint_lt(length, sizeof(text));
	evbuffer_copyout(buffer, text, length);
	text[length] = '\0';
	return text;
}

/* One reply line, as session_reply writes it. */
static void
reply_write(struct evbuffer *out, enum reply_id id, ...)
{
	va_list arguments;

	va_start(arguments, id);
	reply_write_va(out, id, arguments);
	va_end(arguments);
}

START_TEST(test_single_line)
{
	struct evbuffer *out = evbuffer_new();

	reply_write(out, REPLY_SYSTEM_TYPE);
	reply_write(out, REPLY_FILE_NOT_FOUND, "/a b");
	ck_assert_str_eq(text_of(out),
	    "215 UNIX Type: L8\r\n550 /a b: No such file or directory.\r\n");
	evbuffer_free(out);
}
END_TEST

/* reply_format_va through a variadic front, as session_reply sends a line. */
static size_t
format_line(char *out, size_t size, enum reply_id id, ...)
{
	va_list arguments;
	size_t length;

	va_start(arguments, id);
	length = reply_format_va(out, size, id, arguments);
	va_end(arguments);
	return length;
}

START_TEST(test_line_format_matches_the_buffer)
{
	struct evbuffer *out = evbuffer_new();
	char line[REPLY_LINE_MAX], name[2000];
	size_t length;

	/* The line sent at once and the line queued are the same bytes. */
	length = format_line(line, sizeof(line), REPLY_FILE_NOT_FOUND, "/a\r\nb");
	reply_write(out, REPLY_FILE_NOT_FOUND, "/a\r\nb");
	ck_assert_uint_eq(length, evbuffer_get_length(out));
	ck_assert_int_eq(memcmp(line, text_of(out), length), 0);
	ck_assert_int_eq(memcmp(line, "550 /a  b: No such", 18), 0);
	/* Not NUL-terminated: exactly the reply, CRLF last. */
	ck_assert_int_eq(memcmp(line + length - 2, "\r\n", 2), 0);
	/* Too long for a line: 0, and the buffer still takes all of it. */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_uint_eq(format_line(line, sizeof(line), REPLY_FILE_NOT_FOUND, name), 0);
	evbuffer_drain(out, evbuffer_get_length(out));
	reply_write(out, REPLY_FILE_NOT_FOUND, name);
	ck_assert_uint_eq(evbuffer_get_length(out), 4 + strlen(name) + strlen(": No such file or directory.\r\n"));
	/* A line that fills the space exactly fits; one byte less does not. */
	length = format_line(line, sizeof(line), REPLY_SYSTEM_TYPE);
	ck_assert_uint_eq(format_line(line, length, REPLY_SYSTEM_TYPE), length);
	ck_assert_uint_eq(format_line(line, length - 1, REPLY_SYSTEM_TYPE), 0);
	evbuffer_free(out);
}
END_TEST

START_TEST(test_arguments_cannot_forge_lines)
{
	struct evbuffer *out = evbuffer_new();

	reply_write(out, REPLY_PASSWORD_REQUIRED, "x\r\n230 fake");
	ck_assert_str_eq(text_of(out), "331 Password required for x  230 fake.\r\n");
	evbuffer_free(out);
}
END_TEST

START_TEST(test_percent_in_argument_is_literal)
{
	struct evbuffer *out = evbuffer_new();

	reply_write(out, REPLY_UNKNOWN_COMMAND, "%s%n");
	ck_assert_str_eq(text_of(out), "500 Unknown command '%s%n'.\r\n");
	evbuffer_free(out);
}
END_TEST

START_TEST(test_multiline)
{
	struct evbuffer *out = evbuffer_new();

	reply_begin(out, REPLY_FEATURES);
	reply_continue(out, "%s", "UTF8");
	reply_continue(out, "%s", "211 lookalike");
	reply_end(out, REPLY_FEATURES);
	ck_assert_str_eq(text_of(out),
	    "211-Features:\r\n UTF8\r\n 211 lookalike\r\n211 End\r\n");
	evbuffer_free(out);
}
END_TEST

START_TEST(test_multiline_first_line_takes_arguments)
{
	struct evbuffer *out = evbuffer_new();

	reply_begin(out, REPLY_COMMAND_SYNTAX, "SITE\r\n200 x");
	reply_end(out, REPLY_SITE_HELP);
	ck_assert_str_eq(text_of(out), "214-Syntax: SITE  200 x\r\n214 End of SITE help.\r\n");
	evbuffer_free(out);
}
END_TEST

START_TEST(test_format_without_a_session)
{
	char line[128];

	ck_assert_uint_eq(reply_format(line, sizeof(line), REPLY_TOO_MANY_USERS), strlen(line));
	ck_assert_str_eq(line, "421 Too many users right now, try again in a few minutes.\r\n");
	ck_assert_uint_eq(reply_format(line, 10, REPLY_TOO_MANY_USERS), 0);
	ck_assert_uint_gt(reply_format(line, sizeof(line), REPLY_TOO_MANY_FROM_ADDRESS), 0);
	ck_assert_msg(strstr(line, "max_clients_per_ip") != NULL, "421 does not name the limit: %s",
	    line);
}
END_TEST

START_TEST(test_argument_errors)
{
	ck_assert_int_eq(reply_code(reply_for_argument_error(-EINVAL)), 501);
	ck_assert_int_eq(reply_code(reply_for_argument_error(-EAFNOSUPPORT)), 522);
	ck_assert_int_eq(reply_code(reply_for_data_connection_error(-ETIMEDOUT)), 425);
	ck_assert_int_eq(reply_for_data_connection_error(-EPERM), REPLY_DATA_TLS_NOT_RESUMED);
}
END_TEST

static const struct {
	int error;
	int code;
} errno_cases[] = {
	{ -ENOENT, 550 }, { -EACCES, 550 }, { -EPERM, 550 }, { -EROFS, 550 },
	{ -ENOTDIR, 550 }, { -EISDIR, 550 }, { -EEXIST, 550 }, { -ENOTEMPTY, 550 },
	{ -ELOOP, 550 }, { -ENOSPC, 452 }, { -EDQUOT, 552 }, { -ENAMETOOLONG, 553 },
	{ -EIO, 451 }, { -ENOMEM, 451 },
};

START_TEST(test_errno_mapping)
{
	ck_assert_int_eq(reply_code(reply_for_errno(errno_cases[_i].error)), errno_cases[_i].code);
	/* positive and negative errno are the same */
	ck_assert_int_eq(reply_for_errno(errno_cases[_i].error),
	    reply_for_errno(-errno_cases[_i].error));
}
END_TEST

START_TEST(test_quote_path)
{
	char out[16];

	ck_assert_int_eq(reply_quote_path(out, sizeof(out), "/a\"b"), 0);
	ck_assert_str_eq(out, "/a\"\"b");
	ck_assert_int_eq(reply_quote_path(out, sizeof(out), "/plain"), 0);
	ck_assert_str_eq(out, "/plain");
	ck_assert_int_eq(reply_quote_path(out, 6, "/abcde"), -ENAMETOOLONG);
	ck_assert_int_eq(reply_quote_path(out, 7, "/\"\"\""), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_features_from_table)
{
	struct evbuffer *out = evbuffer_new();
	const char *text;

	command_write_features(out, NULL, 0);
	text = text_of(out);
	ck_assert(strncmp(text, "211-Features:\r\n", 15) == 0);
	ck_assert_ptr_nonnull(strstr(text, "\r\n UTF8\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\n SIZE\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\n MDTM\r\n"));
	ck_assert(strcmp(text + strlen(text) - 9, "211 End\r\n") == 0);
	evbuffer_free(out);
}
END_TEST

Suite *
reply_suite(void)
{
	Suite *suite = suite_create("reply");
	TCase *tcase = tcase_create("reply");

	tcase_add_test(tcase, test_single_line);
	tcase_add_test(tcase, test_line_format_matches_the_buffer);
	tcase_add_test(tcase, test_arguments_cannot_forge_lines);
	tcase_add_test(tcase, test_percent_in_argument_is_literal);
	tcase_add_test(tcase, test_multiline);
	tcase_add_test(tcase, test_multiline_first_line_takes_arguments);
	tcase_add_test(tcase, test_argument_errors);
	tcase_add_test(tcase, test_format_without_a_session);
	tcase_add_loop_test(tcase, test_errno_mapping, 0,
	    (int)(sizeof(errno_cases) / sizeof(errno_cases[0])));
	tcase_add_test(tcase, test_quote_path);
	tcase_add_test(tcase, test_features_from_table);
	suite_add_tcase(suite, tcase);
	return suite;
}
