/*
 * test_listing_stream: directory listings as transfer sources, read from a
 * real fs shell on a temporary directory of a few hundred entries.
 */
#include <errno.h>
#include <fnmatch.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>

#include "fs/fs.h"
#include "listing/listing.h"
#include "listing/listing_stream.h"
#include "suites.h"
#include "util/attributes.h"

#define FILES 300
#define HIDDEN 5
/* Every name in the tree: the files, the hidden files, "sub" and "link". */
#define NAMES (FILES + HIDDEN + 2)
/* No LIST or MLSD line of this tree is longer. */
#define LONGEST_LINE 200

static char root[64];
static char names[NAMES][32];
static struct ftpd_shell *shell;

static int
is_hidden(const char *name)
{
	return name[0] == '.';
}

static void
make_file(const char *name, size_t size)
{
	char path[128], content[FILES];
	FILE *file;

	ck_assert_uint_le(size, sizeof(content));
	snprintf(path, sizeof(path), "%s/%s", root, name);
	file = fopen(path, "w");
	ck_assert_ptr_nonnull(file);
	memset(content, 'x', size);
	ck_assert_uint_eq(fwrite(content, 1, size, file), size);
	ck_assert_int_eq(fclose(file), 0);
}

static void
setup(void)
{
	struct ftpd_shell_config config = { 0 };
	char path[128];
	int i, count = 0;

	strcpy(root, "/tmp/ftpd-listing-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	/* file-NNN holds NNN bytes, so each line's size can be checked. */
	for (i = 0; i < FILES; i++) {
		snprintf(names[count], sizeof(names[count]), "file-%03d", i);
		make_file(names[count++], (size_t)i);
	}
	for (i = 0; i < HIDDEN; i++) {
		snprintf(names[count], sizeof(names[count]), ".hidden-%d", i);
		make_file(names[count++], 1);
	}
	strcpy(names[count++], "sub");
	snprintf(path, sizeof(path), "%s/sub", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	strcpy(names[count++], "link");
	snprintf(path, sizeof(path), "%s/link", root);
	ck_assert_int_eq(symlink("file-000", path), 0);
	ck_assert_int_eq(count, NAMES);

	config.root = root;
	config.user = "tester";
	ck_assert_int_eq(shell_fs_create(&config, &shell), 0);
}

static int
remove_entry(const char *path, const struct stat *status UNUSED, int type UNUSED, struct FTW *walk UNUSED)
{
	return remove(path);
}

static void
teardown(void)
{
	shell->ops->destroy(shell);
	ck_assert_int_eq(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/*
 * The shell's directory, wrapped only to count its closes (and, if asked,
 * to fail a read as a broken disk would).
 */
struct watched_directory {
	struct ftpd_directory base;
	struct ftpd_directory *real;
	int *closes;
	int fail_on_read;		/* 0: never; else -EIO on that read */
	int reads;
	int later;			/* answer every read later, as a network store */
	ftpd_result_fn done;		/* with later: the read waiting for its answer */
	void *done_arg;
	ssize_t result;
};

/* The directory open_directory made last. */
static struct watched_directory *last_watched;

/* The transfer's resume callback: counts how often the stream woke it. */
static int resumes;

static void
resumed(void *arg)
{
	(*(int *)arg)++;
}

static ssize_t
watched_read(struct ftpd_directory *directory, struct ftpd_directory_entry *entry,
    ftpd_result_fn done, void *arg)
{
	struct watched_directory *watched = (struct watched_directory *)directory;
	ssize_t result;

	ck_assert_ptr_null(watched->done);	/* one read at a time */
	if (++watched->reads == watched->fail_on_read)
		result = -EIO;
	else
		result = watched->real->ops->read(watched->real, entry, NULL, NULL);
	if (!watched->later)
		return result;
	watched->done = done;
	watched->done_arg = arg;
	watched->result = result;
	return FTPD_PENDING;
}

/* Answers the pending read; 0 when none was pending. */
static int
answer_read(struct watched_directory *watched)
{
	ftpd_result_fn done = watched->done;

	if (done == NULL)
		return 0;
	watched->done = NULL;
	done(watched->done_arg, watched->result);
	return 1;
}

static void
watched_close(struct ftpd_directory *directory)
{
	struct watched_directory *watched = (struct watched_directory *)directory;

	watched->real->ops->close(watched->real);
	(*watched->closes)++;
	free(watched);
}

static const struct ftpd_directory_ops watched_ops = {
	sizeof(struct ftpd_directory_ops), watched_read, watched_close
};

static void
opened_directory(void *arg, int error, struct ftpd_directory *directory)
{
	ck_assert_int_eq(error, 0);
	*(struct ftpd_directory **)arg = directory;
}

static struct ftpd_directory *
open_directory(const char *name, int *closes, int fail_on_read)
{
	const char *segments[] = { name };
	struct ftpd_path path = { segments, name != NULL ? 1 : 0 };
	struct watched_directory *watched = calloc(1, sizeof(*watched));

	ck_assert_ptr_nonnull(watched);
	shell->ops->open_directory(shell, &path, opened_directory, &watched->real);
	ck_assert_ptr_nonnull(watched->real);
	watched->base.ops = &watched_ops;
	watched->closes = closes;
	watched->fail_on_read = fail_on_read;
	last_watched = watched;
	return &watched->base;
}

static struct transfer_source
stream_of(const char *directory, const struct listing_options *options, int *closes)
{
	struct transfer_source source;

	ck_assert_int_eq(listing_stream_directory(open_directory(directory, closes, 0), options,
	    &source), 0);
	ck_assert_int_eq(*closes, 0);
	return source;
}

/*
 * Pulls the whole text budget bytes at a time, as the transfer does; checks
 * that no call overshoots by more than a line. Returns the text (malloc'd).
 */
static char *
produce_all(struct transfer_source *source, size_t budget, unsigned *calls)
{
	struct evbuffer *out = evbuffer_new();
	size_t length;
	char *text;
	int more;

	ck_assert_ptr_nonnull(out);
	*calls = 0;
	do {
		size_t before = evbuffer_get_length(out);

		more = source->produce(source->context, out, budget, resumed, &resumes);
		ck_assert_msg(more == 0 || more == 1, "produce returned %d", more);
		ck_assert_uint_lt(evbuffer_get_length(out) - before, budget + LONGEST_LINE);
		(*calls)++;
		ck_assert_uint_le(*calls, NAMES + 2);
	} while (more);
	length = evbuffer_get_length(out);
	text = malloc(length + 1);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(evbuffer_remove(out, text, length), (int)length);
	text[length] = '\0';
	evbuffer_free(out);
	return text;
}

/* The lines of text without their CRLF; count in *count. Edits text. */
static char **
split_lines(char *text, size_t *count)
{
	char **lines = calloc(NAMES + 1, sizeof(*lines));
	char *at = text, *end;

	ck_assert_ptr_nonnull(lines);
	*count = 0;
	while (*at != '\0') {
		end = strstr(at, "\r\n");
		ck_assert_msg(end != NULL, "a line without CRLF: '%s'", at);
		ck_assert_uint_lt(*count, NAMES + 1);
		*end = '\0';
		lines[(*count)++] = at;
		at = end + 2;
	}
	return lines;
}

static int
name_index(const char *name)
{
	int i;

	for (i = 0; i < NAMES; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	ck_abort_msg("unknown name '%s' listed", name);
	return -1;
}

/* Every name for which wanted() holds is listed exactly once, and no other. */
static void
assert_names(const char *const *listed, size_t count, int (*wanted)(const char *))
{
	int seen[NAMES] = { 0 };
	size_t i, expected = 0;

	for (i = 0; i < count; i++) {
		int index = name_index(listed[i]);

		ck_assert_msg(wanted(listed[i]), "'%s' should not be listed", listed[i]);
		ck_assert_msg(seen[index] == 0, "'%s' listed twice", listed[i]);
		seen[index] = 1;
	}
	for (i = 0; i < NAMES; i++)
		expected += wanted(names[i]) != 0;
	ck_assert_uint_eq(count, expected);
}

static int
visible(const char *name)
{
	return !is_hidden(name);
}

static int
any(const char *name UNUSED)
{
	return 1;
}

static const size_t budgets[] = { 1, 100, 4096, 1024 * 1024 };

START_TEST(test_names_every_entry_once)
{
	struct listing_options options = { .style = LISTING_NAMES };
	struct transfer_source source;
	size_t count;
	unsigned calls;
	int closes = 0;
	char *text, **lines;

	source = stream_of(NULL, &options, &closes);
	text = produce_all(&source, budgets[_i], &calls);
	lines = split_lines(text, &count);
	assert_names((const char *const *)lines, count, visible);
	if (budgets[_i] == 1)
		/* A line per call, and one more call that finds the end. */
		ck_assert_uint_eq(calls, count + 1);
	else if (budgets[_i] >= 1024 * 1024)
		ck_assert_uint_eq(calls, 1);
	/* Read to the end, the directory was closed already; close does not again. */
	ck_assert_int_eq(closes, 1);
	source.close(source.context);
	ck_assert_int_eq(closes, 1);
	free(lines);
	free(text);
}
END_TEST

START_TEST(test_show_hidden)
{
	struct listing_options options = { .style = _i ? LISTING_LONG : LISTING_NAMES,
	    .show_hidden = 1 };
	struct transfer_source source;
	size_t count, i;
	unsigned calls;
	int closes = 0;
	char *text, **lines;

	source = stream_of(NULL, &options, &closes);
	text = produce_all(&source, 100, &calls);
	lines = split_lines(text, &count);
	for (i = 0; i < count; i++) {
		char *arrow = strstr(lines[i], " -> "), *name;

		/* "link -> file-000": the name is before the arrow, the target after. */
		if (arrow != NULL) {
			ck_assert_str_eq(arrow, " -> file-000");
			*arrow = '\0';
		}
		name = strrchr(lines[i], ' ');

		if (name != NULL)
			lines[i] = name + 1;
		/* "." and ".." are never listed, hidden as they are. */
		ck_assert_str_ne(lines[i], ".");
		ck_assert_str_ne(lines[i], "..");
	}
	assert_names((const char *const *)lines, count, any);
	source.close(source.context);
	free(lines);
	free(text);
}
END_TEST

START_TEST(test_long_lines_describe_each_entry)
{
	struct listing_options options = { .style = LISTING_LONG };
	struct transfer_source source;
	size_t count, i;
	unsigned calls;
	int closes = 0;
	char *text, **lines, *names_listed[NAMES + 1];

	source = stream_of(NULL, &options, &closes);
	text = produce_all(&source, 100, &calls);
	lines = split_lines(text, &count);
	for (i = 0; i < count; i++) {
		char mode[16], owner[40], group[40];
		unsigned long long size;
		unsigned links;
		char *arrow = strstr(lines[i], " -> "), *name;

		/* "link -> file-000": the name is before the arrow, the target after. */
		if (arrow != NULL) {
			ck_assert_str_eq(arrow, " -> file-000");
			*arrow = '\0';
		}
		name = strrchr(lines[i], ' ');

		ck_assert_ptr_nonnull(name);
		names_listed[i] = name + 1;
		ck_assert_int_eq(sscanf(lines[i], "%15s %u %39s %39s %llu", mode, &links, owner,
		    group, &size), 5);
		ck_assert_uint_eq(strlen(mode), 10);
		if (strcmp(name + 1, "sub") == 0)
			ck_assert_int_eq(mode[0], 'd');
		else if (strcmp(name + 1, "link") == 0)
			ck_assert_int_eq(mode[0], 'l');
		else {
			ck_assert_int_eq(mode[0], '-');
			ck_assert_uint_eq(size, strtoull(name + 1 + 5, NULL, 10));
		}
	}
	assert_names((const char *const *)names_listed, count, visible);
	source.close(source.context);
	free(lines);
	free(text);
}
END_TEST

START_TEST(test_facts_include_hidden_files)
{
	struct listing_options options = { .style = LISTING_FACTS, .show_hidden = 0,
	    .facts = FACT_TYPE | FACT_SIZE };
	struct transfer_source source;
	size_t count, i;
	unsigned calls;
	int closes = 0;
	char *text, **lines, *names_listed[NAMES + 1], expected[64];

	source = stream_of(NULL, &options, &closes);
	text = produce_all(&source, 1, &calls);
	lines = split_lines(text, &count);
	for (i = 0; i < count; i++) {
		char *name = strchr(lines[i], ' ');

		ck_assert_ptr_nonnull(name);
		*name = '\0';
		names_listed[i] = name + 1;
		if (strcmp(name + 1, "sub") == 0)
			strcpy(expected, "type=dir;");
		else if (strcmp(name + 1, "link") == 0)
			strcpy(expected, "type=OS.unix=slink;");
		else if (is_hidden(name + 1))
			strcpy(expected, "type=file;size=1;");
		else
			snprintf(expected, sizeof(expected), "type=file;size=%lu;",
			    strtoul(name + 1 + 5, NULL, 10));
		ck_assert_str_eq(lines[i], expected);
	}
	/* MLSD is for programs: it shows dot files whatever show_hidden says. */
	assert_names((const char *const *)names_listed, count, any);
	source.close(source.context);
	free(lines);
	free(text);
}
END_TEST

static const char *const patterns[] = { "file-1*", "*", ".h*", "file-00?", "[fl]i*", "none*" };
static const char *pattern;

static int
matches_pattern(const char *name)
{
	return fnmatch(pattern, name, FNM_PERIOD) == 0;
}

START_TEST(test_pattern_filters)
{
	char copy[32];
	struct listing_options options = { .style = LISTING_NAMES, .pattern = copy };
	struct transfer_source source;
	size_t count;
	unsigned calls;
	int closes = 0;
	char *text, **lines;

	pattern = patterns[_i];
	strcpy(copy, pattern);
	source = stream_of(NULL, &options, &closes);
	/* The stream keeps its own copy of the pattern. */
	memset(copy, '?', sizeof(copy) - 1);
	copy[sizeof(copy) - 1] = '\0';
	text = produce_all(&source, 100, &calls);
	lines = split_lines(text, &count);
	assert_names((const char *const *)lines, count, matches_pattern);
	source.close(source.context);
	free(lines);
	free(text);
}
END_TEST

static const char *vanished;

static int
not_vanished(const char *name)
{
	return visible(name) && strcmp(name, vanished) != 0;
}

START_TEST(test_vanished_entry_is_left_out)
{
	struct listing_options options = { .style = LISTING_NAMES };
	struct transfer_source source;
	struct evbuffer *out = evbuffer_new();
	char path[128], first[64], *text, **lines;
	size_t count, length;
	int closes = 0, i, more;

	ck_assert_ptr_nonnull(out);
	source = stream_of(NULL, &options, &closes);
	ck_assert_int_eq(source.produce(source.context, out, 1, resumed, &resumes), 1);
	/* One line so far; readdir has the other names already. */
	length = evbuffer_get_length(out);
	ck_assert_uint_lt(length, sizeof(first));
	evbuffer_copyout(out, first, length);
	first[length] = '\0';
	/* A name not listed yet goes before it is stat'ed. */
	i = strncmp(first, names[0], strlen(names[0])) == 0 ? 1 : 0;
	vanished = names[i];
	snprintf(path, sizeof(path), "%s/%.31s", root, vanished);
	ck_assert_int_eq(unlink(path), 0);
	do
		more = source.produce(source.context, out, 100, resumed, &resumes);
	while (more == 1);
	ck_assert_int_eq(more, 0);
	length = evbuffer_get_length(out);
	text = calloc(1, length + 1);
	ck_assert_ptr_nonnull(text);
	evbuffer_remove(out, text, length);
	lines = split_lines(text, &count);
	assert_names((const char *const *)lines, count, not_vanished);
	source.close(source.context);
	evbuffer_free(out);
	free(lines);
	free(text);
}
END_TEST

START_TEST(test_close_midway_closes_the_directory)
{
	struct listing_options options = { .style = LISTING_LONG, .pattern = "file-*" };
	struct transfer_source source;
	struct evbuffer *out = evbuffer_new();
	int closes = 0;

	ck_assert_ptr_nonnull(out);
	/* Closed before anything was produced (the transfer never connected). */
	source = stream_of(NULL, &options, &closes);
	source.close(source.context);
	ck_assert_int_eq(closes, 1);

	/* Closed halfway (ABOR). */
	closes = 0;
	source = stream_of(NULL, &options, &closes);
	ck_assert_int_eq(source.produce(source.context, out, 100, resumed, &resumes), 1);
	ck_assert_uint_gt(evbuffer_get_length(out), 0);
	ck_assert_int_eq(closes, 0);
	source.close(source.context);
	ck_assert_int_eq(closes, 1);
	evbuffer_free(out);
}
END_TEST

START_TEST(test_read_error_ends_the_stream)
{
	struct listing_options options = { .style = LISTING_NAMES };
	struct transfer_source source;
	struct evbuffer *out = evbuffer_new();
	int closes = 0, more;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(listing_stream_directory(open_directory(NULL, &closes, 20), &options,
	    &source), 0);
	do
		more = source.produce(source.context, out, 1, resumed, &resumes);
	while (more == 1);
	ck_assert_int_eq(more, -EIO);
	/* Entries before the failure were produced; the rest never will be. */
	ck_assert_uint_gt(evbuffer_get_length(out), 0);
	source.close(source.context);
	ck_assert_int_eq(closes, 1);
	evbuffer_free(out);
}
END_TEST

START_TEST(test_empty_directory)
{
	struct listing_options options = { .style = LISTING_LONG, .show_hidden = 1 };
	struct transfer_source source;
	struct evbuffer *out = evbuffer_new();
	int closes = 0;

	ck_assert_ptr_nonnull(out);
	source = stream_of("sub", &options, &closes);
	ck_assert_int_eq(source.produce(source.context, out, 1, resumed, &resumes), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), 0);
	ck_assert_int_eq(closes, 1);
	source.close(source.context);
	ck_assert_int_eq(closes, 1);
	evbuffer_free(out);
}
END_TEST

static void
got_stat(void *arg, int error, const struct ftpd_stat *stat)
{
	ck_assert_int_eq(error, 0);
	*(struct ftpd_stat *)arg = *stat;
}

START_TEST(test_single_entry)
{
	const char *segments[] = { "file-042" };
	struct ftpd_path path = { segments, 1 };
	struct listing_options options = { .style = _i ? LISTING_LONG : LISTING_NAMES };
	struct transfer_source source;
	struct evbuffer *out = evbuffer_new();
	struct ftpd_stat stat;
	size_t length;
	char *text;

	ck_assert_ptr_nonnull(out);
	shell->ops->stat(shell, &path, got_stat, &stat);
	ck_assert_int_eq(listing_stream_single("file-042", &stat, NULL, &options, &source), 0);
	/* All of it in the first call, whatever the budget, and then the end. */
	ck_assert_int_eq(source.produce(source.context, out, 1, resumed, &resumes), 0);
	length = evbuffer_get_length(out);
	ck_assert_int_eq(source.produce(source.context, out, 1, resumed, &resumes), 0);
	ck_assert_uint_eq(evbuffer_get_length(out), length);
	text = calloc(1, length + 1);
	ck_assert_ptr_nonnull(text);
	evbuffer_remove(out, text, length);
	if (_i) {
		ck_assert_int_eq(text[0], '-');
		ck_assert_ptr_nonnull(strstr(text, " 42 "));
		ck_assert_str_eq(text + length - strlen(" file-042\r\n"), " file-042\r\n");
		ck_assert_ptr_eq(strchr(text, '\n'), text + length - 1);
	} else
		ck_assert_str_eq(text, "file-042\r\n");
	source.close(source.context);
	evbuffer_free(out);
	free(text);
}
END_TEST

/*
 * A shell that answers every read later: produce says it waits, wakes the
 * transfer once per answer, and the text is the same as read at once.
 */
START_TEST(test_entries_read_later_are_listed_the_same)
{
	struct listing_options options = { .style = LISTING_NAMES, .show_hidden = 1 };
	struct transfer_source now, later;
	struct watched_directory *watched;
	struct evbuffer *out = evbuffer_new();
	char *sync_text, *text;
	unsigned calls;
	size_t length;
	int closes = 0, more, answered = 0;

	ck_assert_ptr_nonnull(out);
	now = stream_of(NULL, &options, &closes);
	sync_text = produce_all(&now, 100, &calls);
	now.close(now.context);
	ck_assert_int_eq(listing_stream_directory(open_directory(NULL, &closes, 0), &options,
	    &later), 0);
	watched = last_watched;
	watched->later = 1;
	resumes = 0;
	for (;;) {
		more = later.produce(later.context, out, 100, resumed, &resumes);
		if (more != TRANSFER_SOURCE_PENDING) {
			ck_assert_int_ge(more, 0);
			if (more == 0)
				break;
			continue;
		}
		/* Asked again only once woken: nothing happens until the answer. */
		ck_assert_int_eq(resumes, answered);
		ck_assert_int_eq(answer_read(watched), 1);
		answered++;
		ck_assert_int_eq(resumes, answered);
	}
	ck_assert_int_gt(answered, NAMES);
	length = evbuffer_get_length(out);
	text = calloc(1, length + 1);
	ck_assert_ptr_nonnull(text);
	evbuffer_remove(out, text, length);
	ck_assert_str_eq(text, sync_text);
	later.close(later.context);
	ck_assert_int_eq(closes, 2);
	free(text);
	free(sync_text);
	evbuffer_free(out);
}
END_TEST

/* Closed while a read waits for its answer: the directory is closed, never woken. */
START_TEST(test_close_while_a_read_waits)
{
	struct listing_options options = { .style = LISTING_NAMES };
	struct transfer_source source;
	struct watched_directory *watched;
	struct evbuffer *out = evbuffer_new();
	int closes = 0;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(listing_stream_directory(open_directory(NULL, &closes, 0), &options,
	    &source), 0);
	watched = last_watched;
	watched->later = 1;
	resumes = 0;
	ck_assert_int_eq(source.produce(source.context, out, 100, resumed, &resumes),
	    TRANSFER_SOURCE_PENDING);
	ck_assert_ptr_nonnull(watched->done);
	/* watched_close frees it: what a real shell's close does to its pending read. */
	source.close(source.context);
	ck_assert_int_eq(closes, 1);
	ck_assert_int_eq(resumes, 0);
	evbuffer_free(out);
}
END_TEST

Suite *
listing_stream_suite(void)
{
	Suite *suite = suite_create("listing_stream");
	TCase *directory = tcase_create("directory");
	TCase *lifetime = tcase_create("lifetime");

	tcase_add_checked_fixture(directory, setup, teardown);
	tcase_add_loop_test(directory, test_names_every_entry_once, 0,
	    sizeof(budgets) / sizeof(budgets[0]));
	tcase_add_loop_test(directory, test_show_hidden, 0, 2);
	tcase_add_test(directory, test_long_lines_describe_each_entry);
	tcase_add_test(directory, test_facts_include_hidden_files);
	tcase_add_loop_test(directory, test_pattern_filters, 0,
	    sizeof(patterns) / sizeof(patterns[0]));
	tcase_add_test(directory, test_vanished_entry_is_left_out);
	tcase_add_loop_test(directory, test_single_entry, 0, 2);
	suite_add_tcase(suite, directory);

	tcase_add_checked_fixture(lifetime, setup, teardown);
	tcase_add_test(lifetime, test_close_midway_closes_the_directory);
	tcase_add_test(lifetime, test_read_error_ends_the_stream);
	tcase_add_test(lifetime, test_empty_directory);
	tcase_add_test(lifetime, test_entries_read_later_are_listed_the_same);
	tcase_add_test(lifetime, test_close_while_a_read_waits);
	suite_add_tcase(suite, lifetime);
	return suite;
}
