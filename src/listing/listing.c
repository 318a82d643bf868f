/*
 * listing: the text of directory listings: LIST lines (ls -l style), NLST
 * names and globbing, MLSD/MLST facts (RFC 3659). Pure formatting, no I/O.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "listing/listing.h"

/*
 * GNU ls calls a date recent when it lies within half an average Gregorian
 * year; a little future is tolerated so that a client whose clock runs ahead
 * of ours, or a file just written over NFS, still shows a time.
 */
#define RECENT_PAST_SECONDS	(31556952 / 2)
#define RECENT_FUTURE_SECONDS	3600

/* Fixed English names: a listing must not change with the server's locale. */
static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* The fact names in the order RFC 3659 lists them and we write them. */
static const struct {
	const char *name;
	unsigned bit;
} fact_names[] = {
	{ "type", FACT_TYPE },
	{ "size", FACT_SIZE },
	{ "modify", FACT_MODIFY },
	{ "perm", FACT_PERM },
	{ "unique", FACT_UNIQUE },
	{ "unix.mode", FACT_UNIX_MODE },
};

/*
 * How the first column of a LIST line and MLSx's type fact name each type
 * of file, from one table so the two cannot disagree. RFC 3659 7.5.1: types
 * other than file and dir are named "OS.<system>=<type>".
 */
struct file_type {
	mode_t format;		/* its S_IFMT bits */
	char character;
	const char *fact;
};

static const struct file_type file_types[] = {
	{ S_IFREG, '-', "file" },
	{ S_IFDIR, 'd', "dir" },
	{ S_IFLNK, 'l', "OS.unix=slink" },
	{ S_IFCHR, 'c', "OS.unix=chr" },
	{ S_IFBLK, 'b', "OS.unix=blk" },
	{ S_IFIFO, 'p', "OS.unix=fifo" },
	{ S_IFSOCK, 's', "OS.unix=socket" },
};

/* Python's C filemode() also answers '?' for a type it does not know. */
static const struct file_type unknown_file_type = { 0, '?', "OS.unix=unknown" };

static const struct file_type *
file_type_of(mode_t mode)
{
	size_t i;

	for (i = 0; i < sizeof(file_types) / sizeof(file_types[0]); i++)
		if ((mode & S_IFMT) == file_types[i].format)
			return &file_types[i];
	return &unknown_file_type;
}

/*
 * The execute column of one rwx triplet: a special bit (setuid, setgid,
 * sticky) shows as lower case over execute and upper case without it.
 */
static char
execute_character(mode_t mode, mode_t execute_bit, mode_t special_bit, char special)
{
	if (mode & special_bit)
		return (mode & execute_bit) ? special : (char)(special - 'a' + 'A');
	return (mode & execute_bit) ? 'x' : '-';
}

void
listing_file_mode(mode_t mode, char out[11])
{
	out[0] = file_type_of(mode)->character;
	out[1] = (mode & S_IRUSR) ? 'r' : '-';
	out[2] = (mode & S_IWUSR) ? 'w' : '-';
	out[3] = execute_character(mode, S_IXUSR, S_ISUID, 's');
	out[4] = (mode & S_IRGRP) ? 'r' : '-';
	out[5] = (mode & S_IWGRP) ? 'w' : '-';
	out[6] = execute_character(mode, S_IXGRP, S_ISGID, 's');
	out[7] = (mode & S_IROTH) ? 'r' : '-';
	out[8] = (mode & S_IWOTH) ? 'w' : '-';
	out[9] = execute_character(mode, S_IXOTH, S_ISVTX, 't');
	out[10] = '\0';
}

/*
 * Appends text with CR and LF written as '?': a file name may contain them,
 * and written as they are they would end the listing line early and let the
 * rest of the name pose as another entry (or, in MLST, as a control reply).
 */
static void
add_sanitised(struct evbuffer *out, const char *text, size_t length)
{
	size_t start = 0, i;

	for (i = 0; i < length; i++) {
		if (text[i] != '\r' && text[i] != '\n')
			continue;
		if (i > start)
			evbuffer_add(out, text + start, i - start);
		evbuffer_add(out, "?", 1);
		start = i + 1;
	}
	if (length > start)
		evbuffer_add(out, text + start, length - start);
}

/* Owner or group: the name when the shell gave one, else the number. */
static void
format_owner(char *out, size_t size, const char *name, size_t name_size, uintmax_t id)
{
	size_t length = strnlen(name, name_size);
	size_t i;

	if (length == 0) {
		snprintf(out, size, "%ju", id);
		return;
	}
	if (length >= size)
		length = size - 1;
	for (i = 0; i < length; i++)
		out[i] = (name[i] == '\r' || name[i] == '\n') ? '?' : name[i];
	out[length] = '\0';
}

static int
is_recent(time_t mtime, time_t now)
{
	/* Unsigned differences stay exact where time_t subtraction could overflow. */
	if (mtime <= now)
		return (uint64_t)now - (uint64_t)mtime < RECENT_PAST_SECONDS;
	return (uint64_t)mtime - (uint64_t)now <= RECENT_FUTURE_SECONDS;
}

/*
 * A LIST line is built in one buffer and added to the output at once: with
 * printf and an evbuffer call per field, formatting cost more than the
 * fstatat that fetched the entry. Fields never overflow it (the widest is a
 * 20-digit number); a name that does not fit, or holds CR or LF, goes
 * through add_sanitised instead.
 */
#define LINE_BUFFER_SIZE 512

struct line {
	char text[LINE_BUFFER_SIZE];
	size_t used;
};

static void
put(struct line *line, const char *text, size_t length)
{
	memcpy(line->text + line->used, text, length);
	line->used += length;
}

static void
put_spaces(struct line *line, size_t count)
{
	memset(line->text + line->used, ' ', count);
	line->used += count;
}

/* value in decimal, right-aligned in width columns with pad before it. */
static void
put_number(struct line *line, uintmax_t value, size_t width, char pad)
{
	char digits[24];
	size_t length = 0;

	do {
		digits[sizeof(digits) - ++length] = (char)('0' + value % 10);
		value /= 10;
	} while (value != 0);
	while (length < width)
		digits[sizeof(digits) - ++length] = pad;
	put(line, digits + sizeof(digits) - length, length);
}

/* text left-aligned in width columns (a longer one pushes the rest, as ls does). */
static void
put_left(struct line *line, const char *text, size_t width)
{
	size_t length = strlen(text);

	put(line, text, length);
	if (length < width)
		put_spaces(line, width - length);
}

/*
 * Appends before and text if both fit with the CRLF still to come, and text
 * needs no sanitising; else 0 and nothing done.
 */
static int
put_name(struct line *line, const char *before, const char *text, size_t length)
{
	size_t room = sizeof(line->text) - line->used;
	size_t before_length = strlen(before);

	if (room < 2 || length > room - 2 || before_length > room - 2 - length ||
	    memchr(text, '\r', length) != NULL || memchr(text, '\n', length) != NULL)
		return 0;
	put(line, before, before_length);
	put(line, text, length);
	return 1;
}

/*
 * Times are shown in UTC, not the server's local zone: a daemon's zone is an
 * accident of its host (and of a chroot lacking zoneinfo), while UTC is what
 * MLSD's modify fact and MDTM use, so all of a client's views agree.
 */
static void
put_date(struct line *line, time_t mtime, time_t now)
{
	struct tm tm;
	long long year;

	if (gmtime_r(&mtime, &tm) == NULL) {
		/* Only years beyond int's range fail; show the epoch rather than garbage. */
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = 1;
		tm.tm_year = 70;
	}
	put(line, month_names[tm.tm_mon], 3);
	put_spaces(line, 1);
	put_number(line, (uintmax_t)tm.tm_mday, 2, '0');
	put_spaces(line, 1);
	if (is_recent(mtime, now)) {
		put_number(line, (uintmax_t)tm.tm_hour, 2, '0');
		put(line, ":", 1);
		put_number(line, (uintmax_t)tm.tm_min, 2, '0');
		return;
	}
	/* The year padded to five columns lines up with "HH:MM". */
	year = (long long)tm.tm_year + 1900;
	if (year >= 0) {
		put_number(line, (uintmax_t)year, 5, ' ');
	} else {
		char text[24];
		int length = snprintf(text, sizeof(text), "%5lld", year);

		put(line, text, (size_t)length);
	}
}

void
listing_write_long(struct evbuffer *out, const char *name, const struct ftpd_stat *stat,
    const char *link_target, time_t now)
{
	char mode[11], owner[sizeof(stat->owner) + 1], group[sizeof(stat->group) + 1];
	struct line line;
	int whole, name_written;

	line.used = 0;
	listing_file_mode(stat->mode, mode);
	format_owner(owner, sizeof(owner), stat->owner, sizeof(stat->owner),
	    (uintmax_t)stat->uid);
	format_owner(group, sizeof(group), stat->group, sizeof(stat->group),
	    (uintmax_t)stat->gid);
	put(&line, mode, 10);
	put_spaces(&line, 1);
	put_number(&line, (uintmax_t)stat->nlink, 4, ' ');
	put_spaces(&line, 1);
	put_left(&line, owner, 8);
	put_spaces(&line, 1);
	put_left(&line, group, 8);
	put_spaces(&line, 1);
	put_number(&line, stat->size, 12, ' ');
	put_spaces(&line, 1);
	put_date(&line, stat->mtime, now);
	put_spaces(&line, 1);
	whole = name_written = put_name(&line, "", name, strlen(name));
	/* As ls -l shows a link; clients that mirror links read the target from it. */
	if (whole && link_target != NULL && S_ISLNK(stat->mode))
		whole = put_name(&line, " -> ", link_target, strlen(link_target));
	if (whole) {
		put(&line, "\r\n", 2);
		evbuffer_add(out, line.text, line.used);
		return;
	}
	/* A long name, or one with CR or LF: field by field, sanitised. */
	evbuffer_add(out, line.text, line.used);
	if (!name_written)
		add_sanitised(out, name, strlen(name));
	if (link_target != NULL && S_ISLNK(stat->mode)) {
		evbuffer_add(out, " -> ", 4);
		add_sanitised(out, link_target, strlen(link_target));
	}
	evbuffer_add(out, "\r\n", 2);
}

void
listing_write_name(struct evbuffer *out, const char *name)
{
	add_sanitised(out, name, strlen(name));
	evbuffer_add(out, "\r\n", 2);
}

static const char *
fact_type(const char *name, mode_t mode)
{
	if (strcmp(name, ".") == 0)
		return "cdir";
	if (strcmp(name, "..") == 0)
		return "pdir";
	return file_type_of(mode)->fact;
}

/*
 * A guess for a shell that does not say: a directory can be entered and
 * listed (e, l); written, files can be created in it (c), it can be deleted
 * (d), renamed (f), get subdirectories (m) and be purged (p). Anything else
 * can be read (r); written, it can be appended to (a), deleted (d), renamed
 * (f) and overwritten (w).
 */
static unsigned
guessed_perm(mode_t mode, int writable)
{
	if (S_ISDIR(mode))
		return FTPD_PERM_ENTER | FTPD_PERM_LIST | (writable ? FTPD_PERM_CREATE |
		    FTPD_PERM_DELETE | FTPD_PERM_RENAME | FTPD_PERM_MKDIR | FTPD_PERM_PURGE : 0);
	return FTPD_PERM_READ | (writable ? FTPD_PERM_APPEND | FTPD_PERM_DELETE |
	    FTPD_PERM_RENAME | FTPD_PERM_WRITE : 0);
}

/* RFC 3659 7.5.5 perm letters, in alphabetical order: what the shell answered. */
static void
fact_perm(const struct ftpd_stat *stat, int writable, char out[11])
{
	static const struct {
		unsigned bit;
		char letter;
	} letters[] = {
		{ FTPD_PERM_APPEND, 'a' }, { FTPD_PERM_CREATE, 'c' },
		{ FTPD_PERM_DELETE, 'd' }, { FTPD_PERM_ENTER, 'e' },
		{ FTPD_PERM_RENAME, 'f' }, { FTPD_PERM_LIST, 'l' },
		{ FTPD_PERM_MKDIR, 'm' }, { FTPD_PERM_PURGE, 'p' },
		{ FTPD_PERM_READ, 'r' }, { FTPD_PERM_WRITE, 'w' },
	};
	unsigned perm = 0;
	size_t i, used = 0;

	if (FTPD_HAS(stat, struct ftpd_stat, perm) && (stat->perm & FTPD_PERM_KNOWN))
		perm = stat->perm;
	else
		perm = guessed_perm(stat->mode, writable);
	for (i = 0; i < sizeof(letters) / sizeof(letters[0]); i++)
		if (perm & letters[i].bit)
			out[used++] = letters[i].letter;
	out[used] = '\0';
}

void
listing_write_facts(struct evbuffer *out, const char *name, const struct ftpd_stat *stat,
    unsigned facts, int writable)
{
	struct tm tm;

	if (facts & FACT_TYPE)
		evbuffer_add_printf(out, "type=%s;", fact_type(name, stat->mode));
	/* A directory's size says nothing useful to a client; RFC 3659 makes it optional. */
	if ((facts & FACT_SIZE) && S_ISREG(stat->mode))
		evbuffer_add_printf(out, "size=%" PRIu64 ";", stat->size);
	/* time-val has exactly four year digits: a date outside them is left out. */
	if ((facts & FACT_MODIFY) && gmtime_r(&stat->mtime, &tm) != NULL &&
	    tm.tm_year >= 0 - 1900 && tm.tm_year <= 9999 - 1900)
		evbuffer_add_printf(out, "modify=%04d%02d%02d%02d%02d%02d;",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
	if (facts & FACT_PERM) {
		char perm[11];

		fact_perm(stat, writable, perm);
		evbuffer_add_printf(out, "perm=%s;", perm);
	}
	if (facts & FACT_UNIQUE)
		evbuffer_add_printf(out, "unique=%" PRIx64 "g%" PRIx64 ";", stat->device,
		    stat->inode);
	if (facts & FACT_UNIX_MODE)
		evbuffer_add_printf(out, "unix.mode=%04o;", (unsigned)(stat->mode & 07777));
	/* The space comes even with no facts: RFC 3659 7.2 entry = [facts] SP pathname. */
	evbuffer_add(out, " ", 1);
	add_sanitised(out, name, strlen(name));
	evbuffer_add(out, "\r\n", 2);
}

void
listing_write_mlst_feature(char *out, size_t size, unsigned selected)
{
	size_t used, i;
	int written;

	if (size == 0)
		return;
	written = snprintf(out, size, "MLST ");
	used = written < 0 ? 0 : (size_t)written;
	for (i = 0; i < sizeof(fact_names) / sizeof(fact_names[0]) && used < size; i++) {
		written = snprintf(out + used, size - used, "%s%s;", fact_names[i].name,
		    (selected & fact_names[i].bit) ? "*" : "");
		if (written < 0)
			break;
		used += (size_t)written;
	}
}

unsigned
listing_parse_fact_selection(const char *argument)
{
	unsigned selected = 0;
	const char *start = argument, *end;
	size_t length, i;

	if (argument == NULL)
		return 0;
	while (*start != '\0') {
		end = strchr(start, ';');
		length = end != NULL ? (size_t)(end - start) : strlen(start);
		for (i = 0; i < sizeof(fact_names) / sizeof(fact_names[0]); i++) {
			if (strlen(fact_names[i].name) == length &&
			    strncasecmp(fact_names[i].name, start, length) == 0)
				selected |= fact_names[i].bit;
		}
		start += length;
		if (*start == ';')
			start++;
	}
	return selected;
}

int
listing_is_glob(const char *segment)
{
	return strpbrk(segment, "*?[") != NULL;
}

int
listing_glob_matches(const char *pattern, const char *name)
{
	/* FNM_PERIOD: "*" must not reveal dot files, as in a shell. */
	return fnmatch(pattern, name, FNM_PERIOD) == 0;
}
