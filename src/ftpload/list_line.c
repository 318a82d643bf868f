/*
 * list_line: an `ls -l` line is a sequence of blank-separated fields up to
 * the date; the name is everything after the single blank that follows it,
 * so names with blanks (even leading ones) survive. Fields are parsed with a
 * cursor over a length-bounded line, never past its end: the line comes from
 * the network.
 */
#include <string.h>

#include "ftpload/list_line.h"

struct cursor {
	const char *at;
	const char *end;
};

static const char *const months[] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static void
skip_blanks(struct cursor *cursor)
{
	while (cursor->at < cursor->end && *cursor->at == ' ')
		cursor->at++;
}

/* The next blank-separated field; -1 when there is none. */
static int
next_field(struct cursor *cursor, const char **field, size_t *length)
{
	const char *start;

	skip_blanks(cursor);
	start = cursor->at;
	while (cursor->at < cursor->end && *cursor->at != ' ')
		cursor->at++;
	if (cursor->at == start)
		return -1;
	*field = start;
	*length = (size_t)(cursor->at - start);
	return 0;
}

/* Digits only, no sign, no overflow. */
static int
parse_number(const char *text, size_t length, uint64_t *value)
{
	uint64_t result = 0;
	size_t i;

	if (length == 0)
		return -1;
	for (i = 0; i < length; i++) {
		if (!is_digit(text[i]))
			return -1;
		if (result > (UINT64_MAX - (uint64_t)(text[i] - '0')) / 10)
			return -1;
		result = result * 10 + (uint64_t)(text[i] - '0');
	}
	*value = result;
	return 0;
}

static enum list_type
type_of(char c)
{
	switch (c) {
	case '-':
		return LIST_TYPE_FILE;
	case 'd':
		return LIST_TYPE_DIRECTORY;
	case 'l':
		return LIST_TYPE_LINK;
	case 'c':
		return LIST_TYPE_CHARACTER;
	case 'b':
		return LIST_TYPE_BLOCK;
	case 'p':
		return LIST_TYPE_FIFO;
	case 's':
		return LIST_TYPE_SOCKET;
	default:
		return LIST_TYPE_UNKNOWN;
	}
}

/*
 * "rwxr-xr-x" after the type, with setuid/setgid/sticky letters, and an
 * optional ACL or SELinux marker (+ . @) that GNU ls and macOS append.
 */
static int
parse_mode(const char *text, size_t length, struct list_entry *entry)
{
	static const char *const allowed[9] = {
		"-r", "-w", "-xsS", "-r", "-w", "-xsS", "-r", "-w", "-xtT"
	};
	size_t i;

	if (length != 10 && !(length == 11 && strchr("+.@", text[10]) != NULL))
		return -1;
	/* An unknown type is still a type letter, never a digit or a blank. */
	if (is_digit(text[0]) || text[0] == '\t')
		return -1;
	for (i = 0; i < 9; i++)
		if (strchr(allowed[i], text[i + 1]) == NULL || text[i + 1] == '\0')
			return -1;
	memcpy(entry->mode, text, 10);
	entry->mode[10] = '\0';
	entry->type = type_of(text[0]);
	return 0;
}

/* "1, 3" or "1,3": a device's numbers stand where the size would. */
static int
parse_device(struct cursor *cursor, const char *field, size_t length, struct list_entry *entry)
{
	const char *comma = memchr(field, ',', length);
	uint64_t major, minor;
	const char *minor_text;
	size_t minor_length;

	if (comma == NULL || parse_number(field, (size_t)(comma - field), &major) != 0)
		return -1;
	if (comma + 1 < field + length) {
		minor_text = comma + 1;
		minor_length = (size_t)(field + length - minor_text);
	} else if (next_field(cursor, &minor_text, &minor_length) != 0) {
		return -1;
	}
	if (parse_number(minor_text, minor_length, &minor) != 0 ||
	    major > 0xffffffffu || minor > 0xffffffffu)
		return -1;
	entry->major = (unsigned)major;
	entry->minor = (unsigned)minor;
	entry->size = 0;
	return 0;
}

/* "22:13" or "2023". */
static int
parse_time_or_year(const char *text, size_t length, struct list_entry *entry)
{
	uint64_t value, minute;

	if (length == 5 && text[2] == ':') {
		if (parse_number(text, 2, &value) != 0 || parse_number(text + 3, 2, &minute) != 0 ||
		    value > 23 || minute > 59)
			return -1;
		entry->hour = (int)value;
		entry->minute = (int)minute;
		entry->year = 0;
		return 0;
	}
	if (length != 4 || parse_number(text, 4, &value) != 0 || value < 1900)
		return -1;
	entry->year = (int)value;
	entry->hour = entry->minute = -1;
	return 0;
}

static int
parse_date(struct cursor *cursor, struct list_entry *entry)
{
	const char *field;
	size_t length;
	uint64_t day;
	int i;

	if (next_field(cursor, &field, &length) != 0 || length != 3)
		return -1;
	entry->month = 0;
	for (i = 0; i < 12; i++)
		if (memcmp(field, months[i], 3) == 0)
			entry->month = i + 1;
	if (entry->month == 0)
		return -1;
	if (next_field(cursor, &field, &length) != 0 || length > 2 ||
	    parse_number(field, length, &day) != 0 || day < 1 || day > 31)
		return -1;
	entry->day = (int)day;
	if (next_field(cursor, &field, &length) != 0)
		return -1;
	return parse_time_or_year(field, length, entry);
}

/* The rest after one blank; a link's " -> " splits it. */
static int
parse_name(struct cursor *cursor, struct list_entry *entry)
{
	const char *arrow = NULL, *p;

	if (cursor->at >= cursor->end || *cursor->at != ' ' || cursor->at + 1 >= cursor->end)
		return -1;
	entry->name = cursor->at + 1;
	entry->name_length = (size_t)(cursor->end - entry->name);
	entry->target = NULL;
	entry->target_length = 0;
	if (entry->type != LIST_TYPE_LINK)
		return 0;
	for (p = entry->name; p + 4 <= cursor->end; p++)
		if (memcmp(p, " -> ", 4) == 0) {
			arrow = p;
			break;
		}
	if (arrow == NULL || arrow == entry->name)
		return 0;
	entry->name_length = (size_t)(arrow - entry->name);
	entry->target = arrow + 4;
	entry->target_length = (size_t)(cursor->end - entry->target);
	return 0;
}

int
list_line_parse(const char *line, size_t length, struct list_entry *entry)
{
	struct cursor cursor;
	const char *field;
	size_t field_length;
	uint64_t number;

	while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r'))
		length--;
	memset(entry, 0, sizeof(*entry));
	cursor.at = line;
	cursor.end = line + length;
	/* The mode is the line's first column: a leading blank is something else. */
	if (length == 0 || line[0] == ' ')
		return -1;
	if (next_field(&cursor, &field, &field_length) != 0 ||
	    parse_mode(field, field_length, entry) != 0)
		return -1;
	if (next_field(&cursor, &field, &field_length) != 0 ||
	    parse_number(field, field_length, &number) != 0 || number > 0xffffffffu)
		return -1;
	entry->links = (unsigned long)number;
	if (next_field(&cursor, &entry->owner, &entry->owner_length) != 0 ||
	    next_field(&cursor, &entry->group, &entry->group_length) != 0 ||
	    next_field(&cursor, &field, &field_length) != 0)
		return -1;
	if (entry->type == LIST_TYPE_CHARACTER || entry->type == LIST_TYPE_BLOCK) {
		if (parse_device(&cursor, field, field_length, entry) != 0)
			return -1;
	} else if (parse_number(field, field_length, &entry->size) != 0) {
		return -1;
	}
	if (parse_date(&cursor, entry) != 0)
		return -1;
	return parse_name(&cursor, entry);
}

size_t
list_count_entries(const char *text, size_t length)
{
	const char *end = text + length, *line = text, *newline;
	struct list_entry entry;
	size_t count = 0;

	while (line < end) {
		newline = memchr(line, '\n', (size_t)(end - line));
		if (newline == NULL)
			newline = end;
		if (list_line_parse(line, (size_t)(newline - line), &entry) == 0)
			count++;
		line = newline + 1;
	}
	return count;
}
