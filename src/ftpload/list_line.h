/*
 * list_line: reads one line of an `ls -l` style LIST reply into its fields,
 * the way a client that mirrors a server must (Twisted's FTPFileListProtocol).
 * Only the line is parsed; nothing is copied, the entry points into it.
 */
#ifndef FTPLOAD_LIST_LINE_H
#define FTPLOAD_LIST_LINE_H

#include <stddef.h>
#include <stdint.h>

/* The first character of the mode string. */
enum list_type {
	LIST_TYPE_FILE,		/* - */
	LIST_TYPE_DIRECTORY,	/* d */
	LIST_TYPE_LINK,		/* l */
	LIST_TYPE_CHARACTER,	/* c */
	LIST_TYPE_BLOCK,	/* b */
	LIST_TYPE_FIFO,		/* p */
	LIST_TYPE_SOCKET,	/* s */
	LIST_TYPE_UNKNOWN	/* anything else a server may show (D, ?, ...) */
};

struct list_entry {
	enum list_type type;
	char mode[11];		/* the ten mode characters, NUL-terminated */
	unsigned long links;
	const char *owner;
	size_t owner_length;
	const char *group;	/* may be a number: a gid without a name */
	size_t group_length;
	uint64_t size;		/* devices: 0, see major and minor */
	unsigned major, minor;
	int month;		/* 1 to 12 */
	int day;
	int hour, minute;	/* -1 when the line shows a year */
	int year;		/* 0 when the line shows a time */
	const char *name;
	size_t name_length;
	const char *target;	/* links: what "name -> target" points at; else NULL */
	size_t target_length;
};

/*
 * Parses line[0..length) (a trailing CR or LF is ignored). Returns 0 and fills
 * entry, or -1 for a line that is not a listing entry ("total 8", garbage).
 */
int list_line_parse(const char *line, size_t length, struct list_entry *entry);

/* The entries a whole LIST reply holds; lines that are not entries are skipped. */
size_t list_count_entries(const char *text, size_t length);

#endif
