/*
 * reply_parser: a line ends a reply when it starts with the code followed by
 * a blank; in a multi-line reply only the opening code counts, so a
 * continuation line that happens to start with other digits does not.
 */
#include <string.h>

#include "ftpload/reply_parser.h"

void
reply_parser_init(struct reply_parser *parser)
{
	memset(parser, 0, sizeof(*parser));
}

/* The code at the start of line, or -1. */
static int
leading_code(const char *line, size_t length)
{
	if (length < 3 || line[0] < '1' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9')
		return -1;
	return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

static void
keep_text(struct reply_parser *parser, const char *line, size_t length)
{
	if (length >= sizeof(parser->text))
		length = sizeof(parser->text) - 1;
	memcpy(parser->text, line, length);
	parser->text[length] = '\0';
}

int
reply_parser_line(struct reply_parser *parser, const char *line, size_t length)
{
	int code = leading_code(line, length);

	if (parser->in_multiline) {
		if (code == parser->code && (length == 3 || line[3] == ' ')) {
			parser->in_multiline = 0;
			keep_text(parser, line, length);
			return 1;
		}
		return 0;
	}
	if (code < 0 || (length > 3 && line[3] != ' ' && line[3] != '-'))
		return -1;
	parser->code = code;
	keep_text(parser, line, length);
	if (length > 3 && line[3] == '-') {
		parser->in_multiline = 1;
		return 0;
	}
	return 1;
}
