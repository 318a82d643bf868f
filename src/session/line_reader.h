/*
 * line_reader: control-connection framing. Splits the byte stream into command
 * lines (CRLF or bare LF), strips Telnet IAC sequences, and bounds line length.
 */
#ifndef FTPD_LINE_READER_H
#define FTPD_LINE_READER_H

#include <stddef.h>

#include <event2/buffer.h>

/* Longest command line kept: a maximal path plus the command word. */
#define LINE_MAX_LENGTH 4608

enum line_result {
	LINE_NONE,	/* input used up without completing a line */
	LINE_READY,	/* a whole line is in reader->line */
	LINE_TOO_LONG	/* a line over the bound ended; it was discarded */
};

enum telnet_state { TELNET_DATA, TELNET_IAC, TELNET_OPTION };

/*
 * The line lives on the heap only while a command is being read: an idle
 * session holds no buffer (thousands of them would otherwise keep 4.5 KiB
 * each). It grows by doubling from LINE_INITIAL_SIZE up to the bound.
 */
#define LINE_INITIAL_SIZE 128

struct line_reader {
	char *line;			/* NUL-terminated when LINE_READY; NULL when idle */
	size_t capacity;
	size_t length;
	int discarding;			/* the current line overflowed */
	int complete;			/* line holds a finished line */
	enum telnet_state telnet;
};

void line_reader_init(struct line_reader *reader);

/*
 * Consumes bytes from input up to and including the end of one line. On
 * LINE_READY the line (without CR/LF, may contain NUL bytes) is in
 * reader->line with reader->length bytes. Bytes after the line stay in input.
 */
enum line_result line_reader_next(struct line_reader *reader, struct evbuffer *input);

/*
 * Forgets the current line, wipes it (it may have held a password) and
 * frees its buffer; the reader stays usable. Also what frees a reader.
 */
void line_reader_clear(struct line_reader *reader);

#endif
