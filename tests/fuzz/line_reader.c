/*
 * fuzz/line_reader: control-connection framing and its Telnet handling, fed
 * one input whole, as one buffer of many pieces, and piece by piece.
 *
 * The bytes are what a client sends. How they arrive must not matter: the
 * three feedings have to yield the same lines, every line has to be bounded
 * and free of LF, and LINE_NONE has to mean the input was used up.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "session/line_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The pieces' lengths cycle through 1..PIECE_CYCLE, so a Telnet sequence or CRLF falls across them. */
#define PIECE_CYCLE 5

static void
fail(const char *what)
{
	fprintf(stderr, "line_reader: %s\n", what);
	abort();
}

/* Appends one result to the record: '!' for too long, else the line and its length. */
static void
record(struct evbuffer *lines, const struct line_reader *reader, enum line_result result)
{
	uint64_t length = reader->length;

	if (result == LINE_TOO_LONG) {
		evbuffer_add(lines, "!", 1);
		return;
	}
	if (reader->length > LINE_MAX_LENGTH)
		fail("line over LINE_MAX_LENGTH");
	if (reader->line[reader->length] != '\0')
		fail("line not NUL-terminated");
	if (memchr(reader->line, '\n', reader->length) != NULL)
		fail("LF inside a line");
	evbuffer_add(lines, "+", 1);
	evbuffer_add(lines, &length, sizeof(length));
	evbuffer_add(lines, reader->line, reader->length);
}

/* Takes every line input holds now, as the session does after a read. */
static void
drain(struct line_reader *reader, struct evbuffer *input, struct evbuffer *lines)
{
	enum line_result result;

	while ((result = line_reader_next(reader, input)) != LINE_NONE) {
		record(lines, reader, result);
		/* The session wipes each line once it has run it. */
		line_reader_clear(reader);
	}
	if (evbuffer_get_length(input) != 0)
		fail("LINE_NONE with input left over");
}

static int
same_lines(struct evbuffer *a, struct evbuffer *b)
{
	size_t length = evbuffer_get_length(a);

	if (length != evbuffer_get_length(b))
		return 0;
	return length == 0 ||
	    memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), length) == 0;
}

static size_t
piece_length(size_t index, size_t left)
{
	size_t length = index % PIECE_CYCLE + 1;

	return length < left ? length : left;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct evbuffer *whole_lines = evbuffer_new(), *split_lines = evbuffer_new();
	struct evbuffer *trickled_lines = evbuffer_new(), *input = evbuffer_new();
	struct line_reader reader;
	size_t offset, index;

	if (whole_lines == NULL || split_lines == NULL || trickled_lines == NULL ||
	    input == NULL)
		fail("out of memory");

	/* Everything at once, in one contiguous chunk. */
	line_reader_init(&reader);
	evbuffer_add(input, data, size);
	drain(&reader, input, whole_lines);

	/* Everything at once, but as many small chunks (references: no copies). */
	line_reader_clear(&reader);
	line_reader_init(&reader);
	for (offset = 0, index = 0; offset < size; index++) {
		size_t length = piece_length(index, size - offset);

		evbuffer_add_reference(input, data + offset, length, NULL, NULL);
		offset += length;
	}
	drain(&reader, input, split_lines);

	/* A piece at a time, reading after each as the session does. */
	line_reader_clear(&reader);
	line_reader_init(&reader);
	for (offset = 0, index = 0; offset < size; index++) {
		size_t length = piece_length(index, size - offset);

		evbuffer_add(input, data + offset, length);
		offset += length;
		drain(&reader, input, trickled_lines);
	}

	/* A last line without its LF is still held: free it, as the session does. */
	line_reader_clear(&reader);
	if (!same_lines(whole_lines, split_lines) || !same_lines(whole_lines, trickled_lines))
		fail("the lines depend on how the input was split");

	evbuffer_free(whole_lines);
	evbuffer_free(split_lines);
	evbuffer_free(trickled_lines);
	evbuffer_free(input);
	return 0;
}
