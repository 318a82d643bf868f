/*
 * fuzz/listing: the listing formatters (src/listing): LIST lines, NLST
 * names, MLSx facts, the MLST feature line and fact selection, globbing,
 * and the stream that formats a directory a budget at a time.
 *
 * Input: a fixed header (an entry's stat, the clock, the options), then a
 * glob pattern and the directory's names, separated by NUL bytes. Whatever
 * the names hold, every line written must be one CRLF line: a CR or LF in a
 * name would let it pose as another entry, or end a reply early.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "listing/listing.h"
#include "listing/listing_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NAMES_MAX 64

/* The input, read field by field; what runs out reads as zeros. */
struct reader {
	const uint8_t *data;
	size_t size;
};

static void
fail(const char *what)
{
	fprintf(stderr, "listing: %s\n", what);
	abort();
}

static void
take(struct reader *reader, void *out, size_t length)
{
	size_t available = reader->size < length ? reader->size : length;

	memset(out, 0, length);
	memcpy(out, reader->data, available);
	reader->data += available;
	reader->size -= available;
}

static uint64_t
take_number(struct reader *reader, size_t length)
{
	uint64_t value = 0;

	take(reader, &value, length);
	return value;
}

/* A directory whose entries are the input's names. */
struct fake_directory {
	struct ftpd_directory base;
	const char *const *names;
	size_t count, next;
	struct ftpd_stat stat;
	unsigned without_stat;		/* bit i: entry i has no stat */
	size_t failing_at;		/* the read that answers -EIO; past the end: none */
	unsigned later;			/* bit i: read i answers later, as a network store */
	ftpd_result_fn done;		/* a read that answers later, until it does */
	void *done_arg;
	ssize_t result;
	int closed;
};

static ssize_t
fake_answer(struct fake_directory *fake, struct ftpd_directory_entry *entry)
{
	if (fake->next == fake->failing_at)
		return -EIO;
	if (fake->next == fake->count)
		return 0;
	entry->struct_size = sizeof(*entry);
	entry->name = fake->names[fake->next];
	entry->has_stat = !(fake->without_stat & (1u << (fake->next % 32)));
	entry->stat = fake->stat;
	/* Entries of every type, from one stat; a link points at the next name. */
	entry->stat.mode ^= (mode_t)(fake->next * 010000) & S_IFMT;
	entry->stat.inode += fake->next;
	if (S_ISLNK(entry->stat.mode))
		entry->link_target = fake->names[(fake->next + 1) % fake->count];
	fake->next++;
	return 1;
}

static ssize_t
fake_read(struct ftpd_directory *directory, struct ftpd_directory_entry *entry,
    ftpd_result_fn done, void *arg)
{
	struct fake_directory *fake = (struct fake_directory *)directory;
	ssize_t result;

	if (fake->closed)
		fail("read after close");
	if (fake->done != NULL)
		fail("a second read while one waits for its answer");
	result = fake_answer(fake, entry);
	if (!(fake->later & (1u << (fake->next % 32))))
		return result;
	fake->done = done;
	fake->done_arg = arg;
	fake->result = result;
	return FTPD_PENDING;
}

/* The awaited answer arrives; 0 when no read waited. */
static int
fake_answer_later(struct fake_directory *fake)
{
	ftpd_result_fn done = fake->done;

	if (done == NULL)
		return 0;
	fake->done = NULL;
	done(fake->done_arg, fake->result);
	return 1;
}

static void
resumed(void *arg)
{
	(*(int *)arg)++;
}

static void
fake_close(struct ftpd_directory *directory)
{
	struct fake_directory *fake = (struct fake_directory *)directory;

	if (fake->closed)
		fail("closed twice");
	fake->closed = 1;
}

static const struct ftpd_directory_ops fake_ops = {
	.struct_size = sizeof(struct ftpd_directory_ops),
	.read = fake_read,
	.close = fake_close,
};

/* Every byte of out must form CRLF-terminated lines without a bare CR or LF. */
static size_t
check_lines(struct evbuffer *out)
{
	size_t length = evbuffer_get_length(out), lines = 0, i;
	const char *text;

	if (length == 0)
		return 0;
	text = (const char *)evbuffer_pullup(out, -1);
	if (length < 2 || text[length - 2] != '\r' || text[length - 1] != '\n')
		fail("output that does not end with CRLF");
	for (i = 0; i < length; i++) {
		if (text[i] == '\r' && (i + 1 == length || text[i + 1] != '\n'))
			fail("a bare CR");
		if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
			fail("a bare LF");
		if (text[i] == '\n')
			lines++;
	}
	return lines;
}

static void
check_mode(mode_t mode)
{
	char text[11];
	size_t i;

	memset(text, 'X', sizeof(text));
	listing_file_mode(mode, text);
	if (text[10] != '\0' || strchr("-dlcbps?", text[0]) == NULL)
		fail("listing_file_mode");
	for (i = 1; i < 10; i++)
		if (strchr("rwxsStT-", text[i]) == NULL)
			fail("listing_file_mode");
}

/* The facts end at the first space; the name after it may say anything. */
static int
has_size_fact(struct evbuffer *out)
{
	const char *text = (const char *)evbuffer_pullup(out, -1);
	const char *space = memchr(text, ' ', evbuffer_get_length(out));

	return space != NULL && memmem(text, (size_t)(space - text), "size=", 5) != NULL;
}

/* One entry through each formatter, alone. */
static void
check_entry(const char *name, const struct ftpd_stat *stat, time_t now, unsigned facts,
    int writable)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL)
		fail("out of memory");
	listing_write_long(out, name, stat, name, now);
	if (check_lines(out) != 1)
		fail("a LIST entry that is not one line");
	evbuffer_drain(out, evbuffer_get_length(out));
	listing_write_name(out, name);
	if (check_lines(out) != 1 || evbuffer_get_length(out) != strlen(name) + 2)
		fail("an NLST entry that is not the name on one line");
	evbuffer_drain(out, evbuffer_get_length(out));
	listing_write_facts(out, name, stat, facts, writable);
	if (check_lines(out) != 1)
		fail("an MLSx entry that is not one line");
	if (!(facts & FACT_SIZE) && has_size_fact(out))
		fail("a size fact that was not asked for");
	evbuffer_free(out);
}

/* A directory listed by the stream, a budget at a time, as a data connection drains it. */
static void
check_stream(struct fake_directory *directory, const struct listing_options *options,
    size_t budget)
{
	struct transfer_source source;
	struct evbuffer *out = evbuffer_new();
	int result, rounds = 0, resumes = 0, answers = 0;

	if (out == NULL)
		fail("out of memory");
	if (listing_stream_directory(&directory->base, options, &source) != 0)
		fail("listing_stream_directory");
	do {
		result = source.produce(source.context, out, budget, resumed, &resumes);
		if (result == TRANSFER_SOURCE_PENDING) {
			if (!fake_answer_later(directory))
				fail("waiting for an answer no read awaits");
			if (resumes != ++answers)
				fail("an answer that did not wake the transfer once");
			continue;
		}
		if (++rounds > NAMES_MAX + 2)
			fail("the stream does not end");
	} while (result == 1 || result == TRANSFER_SOURCE_PENDING);
	source.close(source.context);
	if (!directory->closed)
		fail("the directory was left open");
	if (check_lines(out) > directory->count)
		fail("more lines than entries");
	evbuffer_free(out);
}

/* LIST or NLST of one file. */
static void
check_single(const char *name, const struct ftpd_stat *stat,
    const struct listing_options *options, size_t budget)
{
	struct transfer_source source;
	struct evbuffer *out = evbuffer_new();

	if (out == NULL || listing_stream_single(name, stat, name, options, &source) != 0)
		fail("listing_stream_single");
	if (source.produce(source.context, out, budget, NULL, NULL) != 0 ||
	    check_lines(out) != 1)
		fail("a single entry that is not one line");
	source.close(source.context);
	evbuffer_free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader reader = { data, size };
	struct fake_directory directory;
	struct listing_options options;
	struct ftpd_stat stat;
	const char *names[NAMES_MAX];
	char *text, *cursor, *end, feature[64];
	const char *pattern;
	size_t count = 0, budget, feature_size;
	time_t now;
	unsigned facts;

	memset(&stat, 0, sizeof(stat));
	stat.mode = (mode_t)take_number(&reader, 4);
	stat.size = take_number(&reader, 8);
	stat.mtime = (time_t)take_number(&reader, 8);
	stat.nlink = (nlink_t)take_number(&reader, 8);
	stat.uid = (uid_t)take_number(&reader, 4);
	stat.gid = (gid_t)take_number(&reader, 4);
	stat.device = take_number(&reader, 8);
	stat.inode = take_number(&reader, 8);
	/* The shell's perm answer, from bits the input has anyway. */
	stat.struct_size = sizeof(stat);
	stat.perm = (unsigned)(stat.device & 0x7ff);
	/* Not NUL-terminated when all 32 bytes are used: the formatter must cope. */
	take(&reader, stat.owner, sizeof(stat.owner));
	take(&reader, stat.group, sizeof(stat.group));
	now = (time_t)take_number(&reader, 8);
	facts = (unsigned)take_number(&reader, 1) & FACT_ALL;
	memset(&options, 0, sizeof(options));
	options.style = (enum listing_style)(take_number(&reader, 1) % 3);
	options.show_hidden = (int)take_number(&reader, 1) & 1;
	options.facts = facts;
	options.writable = (int)take_number(&reader, 1) & 1;
	budget = (size_t)take_number(&reader, 2) % 4096 + 1;
	feature_size = (size_t)take_number(&reader, 1) % sizeof(feature);

	memset(&directory, 0, sizeof(directory));
	directory.without_stat = (unsigned)take_number(&reader, 4);
	directory.failing_at = (size_t)take_number(&reader, 1);
	directory.later = directory.without_stat >> 16;

	/* The rest: the pattern, then the names, NUL-separated. */
	text = malloc(reader.size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, reader.data, reader.size);
	text[reader.size] = '\0';
	end = text + reader.size;
	pattern = text;
	for (cursor = text + strlen(text) + 1; cursor < end && count < NAMES_MAX;
	    cursor += strlen(cursor) + 1)
		names[count++] = cursor;

	check_mode(stat.mode);
	check_entry(pattern, &stat, now, facts, options.writable);
	if ((listing_parse_fact_selection(pattern) & ~(unsigned)FACT_ALL) != 0)
		fail("a fact selection with unknown bits");
	memset(feature, 'X', sizeof(feature));
	listing_write_mlst_feature(feature, feature_size, facts);
	if (feature_size > 0 && memchr(feature, '\0', feature_size) == NULL)
		fail("the MLST feature line is not terminated within its size");

	directory.base.ops = &fake_ops;
	directory.names = names;
	directory.count = count;
	directory.stat = stat;
	options.pattern = listing_is_glob(pattern) ? pattern : NULL;
	check_stream(&directory, &options, budget);

	check_single(pattern, &stat, &options, budget);
	free(text);
	return 0;
}
