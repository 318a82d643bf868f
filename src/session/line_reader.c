/*
 * line_reader: control-connection framing.
 * Byte-at-a-time state machine so that Telnet sequences and CR/LF may be split across reads.
 */
#include <stdlib.h>
#include <string.h>

#include "session/line_reader.h"

#define BYTE_IAC 255
#define BYTE_WILL 251
#define BYTE_DONT 254

void
line_reader_init(struct line_reader *reader)
{
	reader->line = NULL;
	reader->capacity = 0;
	reader->length = 0;
	reader->discarding = 0;
	reader->complete = 0;
	reader->telnet = TELNET_DATA;
}

void
line_reader_clear(struct line_reader *reader)
{
	if (reader->line != NULL) {
		explicit_bzero(reader->line, reader->capacity);
		free(reader->line);
	}
	reader->line = NULL;
	reader->capacity = 0;
	reader->length = 0;
	reader->discarding = 0;
	reader->complete = 0;
}

/*
 * Room for needed bytes in all: 0, or -1 when memory ran out (the line is
 * then treated as too long, and the session says so).
 */
static int
make_room(struct line_reader *reader, size_t needed)
{
	size_t capacity;
	char *grown;

	if (needed <= reader->capacity)
		return 0;
	capacity = reader->capacity == 0 ? LINE_INITIAL_SIZE : reader->capacity * 2;
	if (capacity > LINE_MAX_LENGTH + 1)
		capacity = LINE_MAX_LENGTH + 1;
	if (capacity < needed)
		return -1;
	grown = malloc(capacity);
	if (grown == NULL)
		return -1;
	if (reader->line != NULL) {
		/* Copied and wiped by hand: realloc would leave a password behind. */
		memcpy(grown, reader->line, reader->length);
		explicit_bzero(reader->line, reader->capacity);
		free(reader->line);
	}
	reader->line = grown;
	reader->capacity = capacity;
	return 0;
}

/* Adds one data byte to the line, or notes the overflow. */
static void
append_byte(struct line_reader *reader, unsigned char byte)
{
	if (reader->discarding)
		return;
	/* The byte, and the NUL a finished line gets. */
	if (reader->length >= LINE_MAX_LENGTH || make_room(reader, reader->length + 2) != 0) {
		reader->discarding = 1;
		return;
	}
	reader->line[reader->length++] = (char)byte;
}

/* Ends the line at a LF: drops the CR before it and reports the result. */
static enum line_result
finish_line(struct line_reader *reader)
{
	if (reader->discarding) {
		line_reader_clear(reader);
		return LINE_TOO_LONG;
	}
	if (make_room(reader, reader->length + 1) != 0) {
		line_reader_clear(reader);
		return LINE_TOO_LONG;
	}
	if (reader->length > 0 && reader->line[reader->length - 1] == '\r')
		reader->length--;
	reader->line[reader->length] = '\0';
	reader->complete = 1;
	return LINE_READY;
}

/* How many chunks of the input one look at it takes. */
#define LINE_READER_CHUNKS 8

/* Reads the first chunks of input up to the end of a line; drains what it used. */
static enum line_result
scan_chunks(struct line_reader *reader, struct evbuffer *input)
{
	struct evbuffer_iovec chunks[LINE_READER_CHUNKS];
	enum line_result result = LINE_NONE;
	size_t consumed = 0;
	int count, i;

	count = evbuffer_peek(input, -1, NULL, chunks, LINE_READER_CHUNKS);
	if (count > LINE_READER_CHUNKS)
		count = LINE_READER_CHUNKS;
	for (i = 0; i < count && result == LINE_NONE; i++) {
		const unsigned char *bytes = chunks[i].iov_base;
		size_t j;

		for (j = 0; j < chunks[i].iov_len; j++) {
			unsigned char byte = bytes[j];

			switch (reader->telnet) {
			case TELNET_IAC:
				if (byte == BYTE_IAC) {
					append_byte(reader, byte);
					reader->telnet = TELNET_DATA;
				} else if (byte >= BYTE_WILL && byte <= BYTE_DONT)
					reader->telnet = TELNET_OPTION;
				else
					reader->telnet = TELNET_DATA;
				continue;
			case TELNET_OPTION:
				reader->telnet = TELNET_DATA;
				continue;
			case TELNET_DATA:
				break;
			}
			if (byte == BYTE_IAC)
				reader->telnet = TELNET_IAC;
			else if (byte == '\n') {
				result = finish_line(reader);
				j++;
				consumed += j;
				break;
			} else
				append_byte(reader, byte);
		}
		if (result == LINE_NONE)
			consumed += chunks[i].iov_len;
	}
	evbuffer_drain(input, consumed);
	return result;
}

enum line_result
line_reader_next(struct line_reader *reader, struct evbuffer *input)
{
	enum line_result result = LINE_NONE;

	if (reader->complete) {
		/* the caller is done with the previous line */
		reader->length = 0;
		reader->complete = 0;
	}
	/*
	 * A line may lie across more chunks than one look takes (small reads
	 * pile up while a command is busy): a LINE_NONE with input left would
	 * leave the rest unread until the client sent more, maybe never.
	 */
	while (result == LINE_NONE && evbuffer_get_length(input) > 0) {
		size_t before = evbuffer_get_length(input);

		result = scan_chunks(reader, input);
		/* Only empty chunks in reach (never seen): one chunk of it all, or give up. */
		if (result == LINE_NONE && evbuffer_get_length(input) == before &&
		    evbuffer_pullup(input, -1) == NULL)
			break;
	}
	return result;
}
