/*
 * test_log: the log part with stderr redirected to a real file: level
 * filtering, the line format, escaping, and lines written whole by threads.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "log/log.h"
#include "suites.h"

static const char *const level_names[] = { "error", "warning", "info", "debug" };
#define LEVELS 4

static char directory[64];
static char capture_path[128];
static int saved_stderr = -1;

static void
setup(void)
{
	strcpy(directory, "/tmp/ftpd-log-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(directory));
	snprintf(capture_path, sizeof(capture_path), "%s/stderr", directory);
}

static void
teardown(void)
{
	if (saved_stderr >= 0) {
		dup2(saved_stderr, STDERR_FILENO);
		close(saved_stderr);
		saved_stderr = -1;
	}
	unlink(capture_path);
	rmdir(directory);
	/* What the runner set up, for whatever runs next without a fork. */
	log_open("stderr", LOG_LEVEL_ERROR);
}

/* From now on stderr goes to a fresh file (appended to: threads share it). */
static void
capture_start(void)
{
	int fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	saved_stderr = dup(STDERR_FILENO);
	ck_assert_int_ge(saved_stderr, 0);
	ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
	close(fd);
}

/* Puts stderr back and returns what was written to it (malloc'd). */
static char *
capture_end(size_t *length)
{
	struct stat status;
	char *text;
	int fd;

	ck_assert_int_ge(dup2(saved_stderr, STDERR_FILENO), 0);
	close(saved_stderr);
	saved_stderr = -1;
	fd = open(capture_path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &status), 0);
	text = malloc((size_t)status.st_size + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(read(fd, text, (size_t)status.st_size), status.st_size);
	text[status.st_size] = '\0';
	close(fd);
	if (length != NULL)
		*length = (size_t)status.st_size;
	return text;
}

static char prefix[64];

/* "ftpd[PID]: LEVEL: " as every stderr line starts. */
static const char *
line_prefix(enum log_level level)
{
	snprintf(prefix, sizeof(prefix), "ftpd[%ld]: %s: ", (long)getpid(), level_names[level]);
	return prefix;
}

START_TEST(test_enabled_follows_the_threshold)
{
	enum log_level threshold = (enum log_level)_i, level;

	ck_assert_int_eq(log_open("stderr", threshold), 0);
	for (level = LOG_LEVEL_ERROR; level <= LOG_LEVEL_DEBUG; level++)
		ck_assert_int_eq(log_enabled(level), level <= threshold);
}
END_TEST

START_TEST(test_threshold_filters_output)
{
	enum log_level threshold = (enum log_level)_i, level;
	char expected[1024] = "", line[128], *text;

	ck_assert_int_eq(log_open("stderr", threshold), 0);
	capture_start();
	for (level = LOG_LEVEL_DEBUG + 1; level-- > LOG_LEVEL_ERROR;) {
		snprintf(line, sizeof(line), "message at %s", level_names[level]);
		log_at(level, "%s", line);
		if (level <= threshold) {
			strcat(expected, line_prefix(level));
			strcat(expected, line);
			strcat(expected, "\n");
		}
	}
	text = capture_end(NULL);
	ck_assert_str_eq(text, expected);
	free(text);
}
END_TEST

START_TEST(test_set_level_applies_at_once)
{
	char expected[256], *text;

	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_ERROR), 0);
	capture_start();
	log_debug("hidden");
	log_set_level(LOG_LEVEL_DEBUG);
	ck_assert(log_enabled(LOG_LEVEL_DEBUG));
	log_debug("shown");
	log_set_level(LOG_LEVEL_WARNING);
	/* A level that does not exist changes nothing. */
	log_set_level((enum log_level)7);
	ck_assert(!log_enabled(LOG_LEVEL_INFO));
	log_info("hidden again");
	log_warning("still shown");
	text = capture_end(NULL);
	snprintf(expected, sizeof(expected), "%sshown\n", line_prefix(LOG_LEVEL_DEBUG));
	strcat(expected, line_prefix(LOG_LEVEL_WARNING));
	strcat(expected, "still shown\n");
	ck_assert_str_eq(text, expected);
	free(text);
}
END_TEST

START_TEST(test_refused_open_keeps_the_old_settings)
{
	char *text;

	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_WARNING), 0);
	ck_assert_int_eq(log_open("stderr", (enum log_level)4), -EINVAL);
	ck_assert_int_eq(log_open("nowhere", LOG_LEVEL_DEBUG), -EINVAL);
	ck_assert_int_eq(log_open("syslog:nowhere", LOG_LEVEL_DEBUG), -EINVAL);
	ck_assert(log_enabled(LOG_LEVEL_WARNING));
	ck_assert(!log_enabled(LOG_LEVEL_INFO));
	capture_start();
	log_warning("to stderr still");
	text = capture_end(NULL);
	ck_assert_ptr_nonnull(strstr(text, "to stderr still\n"));
	free(text);
}
END_TEST

START_TEST(test_syslog_leaves_stderr_alone_until_closed)
{
	char *text;

	capture_start();
	ck_assert_int_eq(log_open("syslog:local7", LOG_LEVEL_DEBUG), 0);
	log_error("ftpd unit test: to syslog");
	log_close();
	/* After log_close messages fall back to stderr, at the same level. */
	log_debug("after close");
	text = capture_end(NULL);
	ck_assert_ptr_null(strstr(text, "to syslog"));
	ck_assert_ptr_nonnull(strstr(text, "after close\n"));
	free(text);
}
END_TEST

START_TEST(test_every_control_character_is_escaped)
{
	char message[64], expected[256], *text, *at;
	size_t used = 0;
	int byte;

	/* 0x01-0x1f and DEL, among text and bytes above 0x7f, which stay as they are. */
	for (byte = 1; byte < 0x20; byte++)
		message[used++] = (char)byte;
	message[used++] = 0x7f;
	message[used++] = '\\';
	message[used++] = (char)0xc3;
	message[used++] = (char)0xa9;
	message[used++] = '~';
	message[used] = '\0';
	strcpy(expected, line_prefix(LOG_LEVEL_WARNING));
	at = expected + strlen(expected);
	for (byte = 1; byte < 0x20; byte++)
		at += sprintf(at, "\\x%02x", byte);
	strcpy(at, "\\x7f\\\\\xc3\xa9~\n");

	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_DEBUG), 0);
	capture_start();
	log_warning("%s", message);
	text = capture_end(NULL);
	ck_assert_str_eq(text, expected);
	free(text);
}
END_TEST

START_TEST(test_format_text_is_escaped_too)
{
	char expected[256], *text;

	/* Not only arguments: a line end in the format itself cannot start a line. */
	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_INFO), 0);
	capture_start();
	log_info("first\nftpd[1]: error: %d\r", 42);
	text = capture_end(NULL);
	snprintf(expected, sizeof(expected), "%sfirst\\x0aftpd[1]: error: 42\\x0d\n",
	    line_prefix(LOG_LEVEL_INFO));
	ck_assert_str_eq(text, expected);
	free(text);
}
END_TEST

START_TEST(test_longest_message_of_escapes_is_one_whole_line)
{
	static char message[4000];
	size_t length, escapes = 0;
	char *text, *at;

	/* Each byte grows fourfold: the line buffer must hold the longest message so. */
	memset(message, '\n', sizeof(message) - 1);
	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_ERROR), 0);
	capture_start();
	log_error("%s", message);
	text = capture_end(&length);
	ck_assert_ptr_eq(strstr(text, line_prefix(LOG_LEVEL_ERROR)), text);
	for (at = text; (at = strstr(at, "\\x0a")) != NULL; at += 4)
		escapes++;
	/* The message is cut at 2047 bytes and ends in "..." in place of the last 3. */
	ck_assert_uint_eq(escapes, 2047 - 3);
	ck_assert_uint_eq(length, strlen(line_prefix(LOG_LEVEL_ERROR)) + escapes * 4 + 4);
	ck_assert_str_eq(text + length - 4, "...\n");
	free(text);
}
END_TEST

START_TEST(test_errno_survives_every_level)
{
	enum log_level level;

	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_INFO), 0);
	capture_start();
	for (level = LOG_LEVEL_ERROR; level <= LOG_LEVEL_DEBUG; level++) {
		errno = EPIPE;
		log_at(level, "%s", "keep errno");
		ck_assert_int_eq(errno, EPIPE);
	}
	free(capture_end(NULL));
}
END_TEST

#define THREADS 4
#define LINES_PER_THREAD 300
#define LINE_LENGTH 1500

static void *
log_many_lines(void *arg)
{
	char line[LINE_LENGTH + 1];
	int i;

	memset(line, 'a' + (int)(long)arg, LINE_LENGTH);
	line[LINE_LENGTH] = '\0';
	for (i = 0; i < LINES_PER_THREAD; i++)
		log_info("%s", line);
	return NULL;
}

START_TEST(test_threads_never_interleave_lines)
{
	pthread_t threads[THREADS];
	size_t prefix_length, lines = 0, length;
	char *text, *at, *end;
	long i;

	ck_assert_int_eq(log_open("stderr", LOG_LEVEL_INFO), 0);
	capture_start();
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_create(&threads[i], NULL, log_many_lines, (void *)i), 0);
	for (i = 0; i < THREADS; i++)
		ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
	text = capture_end(&length);
	prefix_length = strlen(line_prefix(LOG_LEVEL_INFO));
	/* Every line is a prefix and one thread's letters only. */
	for (at = text; at < text + length; at = end + 1) {
		end = strchr(at, '\n');
		ck_assert_ptr_nonnull(end);
		ck_assert_uint_eq((size_t)(end - at), prefix_length + LINE_LENGTH);
		ck_assert(strncmp(at, prefix, prefix_length) == 0);
		ck_assert(at[prefix_length] >= 'a' && at[prefix_length] < 'a' + THREADS);
		ck_assert_uint_eq(strspn(at + prefix_length, (char[]){ at[prefix_length], 0 }),
		    LINE_LENGTH);
		lines++;
	}
	ck_assert_uint_eq(lines, THREADS * LINES_PER_THREAD);
	free(text);
}
END_TEST

START_TEST(test_throttle_logs_one_per_window_and_counts_the_rest)
{
	struct log_throttle throttle = { 0, 0 };
	unsigned held_back = 99, i;

	ck_assert_int_eq(log_throttle_pass(&throttle, 1000, 10000, &held_back), 1);
	ck_assert_uint_eq(held_back, 0);
	for (i = 0; i < 500; i++)
		ck_assert_int_eq(log_throttle_pass(&throttle, 1000 + i * 10, 10000, &held_back), 0);
	/* The window ends 10 s after the message logged, not after the last event. */
	ck_assert_int_eq(log_throttle_pass(&throttle, 10999, 10000, &held_back), 0);
	ck_assert_int_eq(log_throttle_pass(&throttle, 11000, 10000, &held_back), 1);
	ck_assert_uint_eq(held_back, 501);
	ck_assert_int_eq(log_throttle_pass(&throttle, 30000, 10000, &held_back), 1);
	ck_assert_uint_eq(held_back, 0);
}
END_TEST

Suite *
log_suite(void)
{
	Suite *suite = suite_create("log");
	TCase *levels = tcase_create("levels");
	TCase *text = tcase_create("text");

	tcase_add_checked_fixture(levels, setup, teardown);
	tcase_add_loop_test(levels, test_enabled_follows_the_threshold, 0, LEVELS);
	tcase_add_loop_test(levels, test_threshold_filters_output, 0, LEVELS);
	tcase_add_test(levels, test_set_level_applies_at_once);
	tcase_add_test(levels, test_refused_open_keeps_the_old_settings);
	tcase_add_test(levels, test_syslog_leaves_stderr_alone_until_closed);
	suite_add_tcase(suite, levels);

	tcase_add_checked_fixture(text, setup, teardown);
	tcase_add_test(text, test_every_control_character_is_escaped);
	tcase_add_test(text, test_format_text_is_escaped_too);
	tcase_add_test(text, test_longest_message_of_escapes_is_one_whole_line);
	tcase_add_test(text, test_errno_survives_every_level);
	tcase_add_test(text, test_threads_never_interleave_lines);
	tcase_add_test(text, test_throttle_logs_one_per_window_and_counts_the_rest);
	suite_add_tcase(suite, text);
	return suite;
}
