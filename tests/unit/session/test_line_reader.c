/*
 * test_line_reader: control-connection framing: CRLF and LF, split input,
 * Telnet IAC stripping, the line-length bound.
 */
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "session/line_reader.h"
#include "suites.h"

/* Feeds text one chunk at a time and collects the lines as "a|b|" with "!" for too long. */
static void
collect(const char *text, size_t length, size_t chunk, char *out, size_t out_size)
{
	struct line_reader reader;
	struct evbuffer *input = evbuffer_new();
	size_t fed = 0;

	line_reader_init(&reader);
	out[0] = '\0';
	while (fed < length) {
		size_t piece = length - fed < chunk ? length - fed : chunk;
		enum line_result result;

		evbuffer_add(input, text + fed, piece);
		fed += piece;
		while ((result = line_reader_next(&reader, input)) != LINE_NONE) {
			if (result == LINE_TOO_LONG)
				strncat(out, "!", out_size - strlen(out) - 1);
			else
				strncat(out, reader.line, out_size - strlen(out) - 1);
			strncat(out, "|", out_size - strlen(out) - 1);
		}
	}
	ck_assert_uint_eq(evbuffer_get_length(input), 0);
	line_reader_clear(&reader);
	evbuffer_free(input);
}

static const struct {
	const char *input;
	const char *lines;
} framing_cases[] = {
	{ "NOOP\r\n", "NOOP|" },
	{ "NOOP\n", "NOOP|" },
	{ "USER a\r\nPASS b\r\nPWD\n", "USER a|PASS b|PWD|" },
	{ "\r\n", "|" },
	{ "NO\rOP\r\n", "NO\rOP|" },			/* a lone CR is data */
	{ "partial", "" },				/* no line yet */
	{ "\xff\xf4\xff\xf2" "ABOR\r\n", "ABOR|" },	/* Telnet IP + DM */
	{ "\xff\xfb\x01NOOP\r\n", "NOOP|" },		/* IAC WILL ECHO */
	{ "\xff\xfd\x03QUIT\r\n", "QUIT|" },		/* IAC DO SGA */
	{ "a\xff\xff" "b\r\n", "a\xff" "b|" },		/* IAC IAC is a 0xff byte */
};

START_TEST(test_framing)
{
	size_t chunk;

	for (chunk = 1; chunk <= 7; chunk++) {
		char lines[256];

		collect(framing_cases[_i].input, strlen(framing_cases[_i].input), chunk,
		    lines, sizeof(lines));
		ck_assert_msg(strcmp(lines, framing_cases[_i].lines) == 0,
		    "case %d chunk %zu: got '%s'", _i, chunk, lines);
	}
}
END_TEST

START_TEST(test_nul_is_kept_with_length)
{
	struct line_reader reader;
	struct evbuffer *input = evbuffer_new();

	line_reader_init(&reader);
	evbuffer_add(input, "US\0ER\r\n", 7);
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_READY);
	ck_assert_uint_eq(reader.length, 5);
	ck_assert(memcmp(reader.line, "US\0ER", 5) == 0);
	line_reader_clear(&reader);
	evbuffer_free(input);
}
END_TEST

START_TEST(test_overlong_line_is_discarded)
{
	static char text[100 * 1024 + 32];
	char lines[64];
	size_t length;

	strcpy(text, "NOOP ");
	memset(text + 5, 'a', 100 * 1024);
	length = 5 + 100 * 1024;
	memcpy(text + length, "\r\nNOOP\r\n", 8);
	length += 8;
	collect(text, length, 4096, lines, sizeof(lines));
	ck_assert_str_eq(lines, "!|NOOP|");
}
END_TEST

START_TEST(test_longest_line_fits)
{
	static char text[LINE_MAX_LENGTH + 2];
	struct line_reader reader;
	struct evbuffer *input = evbuffer_new();

	memset(text, 'x', LINE_MAX_LENGTH);
	text[LINE_MAX_LENGTH] = '\n';
	line_reader_init(&reader);
	evbuffer_add(input, text, LINE_MAX_LENGTH + 1);
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_READY);
	ck_assert_uint_eq(reader.length, LINE_MAX_LENGTH);
	/* one more byte and it is too long */
	evbuffer_add(input, text, LINE_MAX_LENGTH);
	evbuffer_add(input, "x\n", 2);
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_TOO_LONG);
	line_reader_clear(&reader);
	evbuffer_free(input);
}
END_TEST

/* The fuzzer's first find: the end of a line past the eighth chunk stayed unread. */
START_TEST(test_line_across_many_chunks)
{
	static const char text[] = "RETR a-name-in-many-pieces\r\nNOOP\r\n";
	struct line_reader reader;
	struct evbuffer *input = evbuffer_new();
	size_t i;

	line_reader_init(&reader);
	for (i = 0; i < sizeof(text) - 1; i++)
		evbuffer_add_reference(input, text + i, 1, NULL, NULL);
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_READY);
	ck_assert_str_eq(reader.line, "RETR a-name-in-many-pieces");
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_READY);
	ck_assert_str_eq(reader.line, "NOOP");
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_NONE);
	ck_assert_uint_eq(evbuffer_get_length(input), 0);
	line_reader_clear(&reader);
	evbuffer_free(input);
}
END_TEST

/* Lines grow the buffer as they need; the next command starts small again. */
START_TEST(test_buffer_grows_and_goes)
{
	static char text[3000];
	struct line_reader reader;
	struct evbuffer *input = evbuffer_new();

	memset(text, 'y', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\n';
	line_reader_init(&reader);
	ck_assert_ptr_null(reader.line);
	evbuffer_add(input, text, sizeof(text));
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_READY);
	ck_assert_uint_eq(reader.length, sizeof(text) - 1);
	ck_assert_uint_ge(reader.capacity, sizeof(text));
	ck_assert_uint_le(reader.capacity, LINE_MAX_LENGTH + 1);
	line_reader_clear(&reader);
	evbuffer_add(input, "NOOP\r\n", 6);
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_READY);
	ck_assert_str_eq(reader.line, "NOOP");
	ck_assert_uint_eq(reader.capacity, LINE_INITIAL_SIZE);
	line_reader_clear(&reader);
	evbuffer_free(input);
}
END_TEST

START_TEST(test_clear_wipes)
{
	struct line_reader reader;
	struct evbuffer *input = evbuffer_new();

	line_reader_init(&reader);
	evbuffer_add(input, "PASS secret\r\n", 13);
	ck_assert_int_eq(line_reader_next(&reader, input), LINE_READY);
	line_reader_clear(&reader);
	/* Wiped and freed: an idle reader holds no buffer at all. */
	ck_assert_ptr_null(reader.line);
	ck_assert_uint_eq(reader.capacity, 0);
	evbuffer_free(input);
}
END_TEST

Suite *
line_reader_suite(void)
{
	Suite *suite = suite_create("line_reader");
	TCase *tcase = tcase_create("framing");

	tcase_add_loop_test(tcase, test_framing, 0,
	    (int)(sizeof(framing_cases) / sizeof(framing_cases[0])));
	tcase_add_test(tcase, test_nul_is_kept_with_length);
	tcase_add_test(tcase, test_overlong_line_is_discarded);
	tcase_add_test(tcase, test_longest_line_fits);
	tcase_add_test(tcase, test_line_across_many_chunks);
	tcase_add_test(tcase, test_clear_wipes);
	tcase_add_test(tcase, test_buffer_grows_and_goes);
	suite_add_tcase(suite, tcase);
	return suite;
}
