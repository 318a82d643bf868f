/*
 * reply_parser: gathers a server's reply lines into whole replies (RFC 959
 * 4.2): "123 text", or "123-first" ... "123 last" with any lines between.
 */
#ifndef FTPLOAD_REPLY_PARSER_H
#define FTPLOAD_REPLY_PARSER_H

#include <stddef.h>

#define REPLY_TEXT_MAX 1024

struct reply_parser {
	int code;		/* the reply's code once complete; while in a multi-line reply, its code */
	int in_multiline;
	char text[REPLY_TEXT_MAX];	/* the last line, code and all (truncated) */
};

void reply_parser_init(struct reply_parser *parser);

/*
 * Feeds one line without its CRLF. Returns 1 when it completes a reply
 * (parser->code and text hold it), 0 when more lines are needed, -1 when
 * the line cannot start a reply.
 */
int reply_parser_line(struct reply_parser *parser, const char *line, size_t length);

#endif
