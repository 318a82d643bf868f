/*
 * test_listing: the listing part: file mode strings, LIST lines, NLST names,
 * MLSD/MLST facts and their selection, and NLST globbing.
 */
#include <check.h>

#include "suites.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>

#include "listing/listing.h"


/* 2023-11-14 22:13:20 UTC: every date case is relative to this "now". */
#define NOW ((time_t)1700000000)
/* Half an average Gregorian year, as GNU ls counts "six months". */
#define SIX_MONTHS ((time_t)15778476)

/* Takes everything out of buffer as a NUL-terminated string (freed by the caller). */
static char *
take_string(struct evbuffer *buffer)
{
	size_t length = evbuffer_get_length(buffer);
	char *text = malloc(length + 1);

	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(evbuffer_remove(buffer, text, length), (int)length);
	text[length] = '\0';
	return text;
}

static struct ftpd_stat
make_stat(mode_t mode, uint64_t size, time_t mtime, const char *owner, const char *group)
{
	struct ftpd_stat stat;

	memset(&stat, 0, sizeof(stat));
	stat.mode = mode;
	stat.size = size;
	stat.mtime = mtime;
	stat.nlink = 1;
	stat.uid = 1000;
	stat.gid = 100;
	stat.device = 0x801;
	stat.inode = 0x1a2b;
	snprintf(stat.owner, sizeof(stat.owner), "%s", owner);
	snprintf(stat.group, sizeof(stat.group), "%s", group);
	return stat;
}

/* --- file mode ---------------------------------------------------------- */

struct mode_case {
	mode_t mode;
	const char *expected;
};

/* Expected strings checked against Python's stat.filemode(). */
static const struct mode_case mode_cases[] = {
	{ S_IFREG | 0644, "-rw-r--r--" },
	{ S_IFDIR | 0755, "drwxr-xr-x" },
	{ S_IFLNK | 0777, "lrwxrwxrwx" },
	{ S_IFCHR | 0620, "crw--w----" },
	{ S_IFBLK | 0660, "brw-rw----" },
	{ S_IFIFO | 0600, "prw-------" },
	{ S_IFSOCK | 0755, "srwxr-xr-x" },
	{ S_IFREG | 0, "----------" },
	{ S_IFREG | 0777, "-rwxrwxrwx" },
	{ S_IFREG | 04755, "-rwsr-xr-x" },
	{ S_IFREG | 04644, "-rwSr--r--" },
	{ S_IFREG | 02755, "-rwxr-sr-x" },
	{ S_IFREG | 02644, "-rw-r-Sr--" },
	{ S_IFDIR | 01777, "drwxrwxrwt" },
	{ S_IFDIR | 01776, "drwxrwxrwT" },
	{ S_IFREG | 07777, "-rwsrwsrwt" },
	{ S_IFREG | 07000, "---S--S--T" },
	{ S_IFDIR | 03770, "drwxrws--T" },
	{ 0, "?---------" },
};

START_TEST(test_file_mode)
{
	const struct mode_case *c = &mode_cases[_i];
	char out[11];

	memset(out, 'X', sizeof(out));
	listing_file_mode(c->mode, out);
	ck_assert_str_eq(out, c->expected);
}
END_TEST

/* --- LIST lines ------------------------------------------------------- */

struct long_case {
	mode_t mode;
	uint64_t size;
	time_t mtime;
	const char *owner;
	const char *group;
	const char *name;
	const char *expected;
};

static const struct long_case long_cases[] = {
	/* recent: time of day */
	{ S_IFREG | 0644, 1234, NOW - 86400, "alice", "staff", "notes.txt",
	  "-rw-r--r--    1 alice    staff            1234 Nov 13 22:13 notes.txt\r\n" },
	/* old: the year, two spaces keeping the column */
	{ S_IFREG | 0644, 0, 946684800, "alice", "staff", "y2k",
	  "-rw-r--r--    1 alice    staff               0 Jan 01  2000 y2k\r\n" },
	{ S_IFDIR | 0755, 4096, 0, "root", "root", "epoch",
	  "drwxr-xr-x    1 root     root             4096 Jan 01  1970 epoch\r\n" },
	{ S_IFREG | 0644, 1, -1, "a", "b", "before-epoch",
	  "-rw-r--r--    1 a        b                   1 Dec 31  1969 before-epoch\r\n" },
	/* six-month boundary: exactly six months old is no longer recent */
	{ S_IFREG | 0644, 7, NOW - SIX_MONTHS, "a", "b", "edge",
	  "-rw-r--r--    1 a        b                   7 May 16  2023 edge\r\n" },
	{ S_IFREG | 0644, 7, NOW - SIX_MONTHS + 1, "a", "b", "edge",
	  "-rw-r--r--    1 a        b                   7 May 16 07:18 edge\r\n" },
	/* now itself, and the future: up to an hour ahead still shows the time */
	{ S_IFREG | 0644, 7, NOW, "a", "b", "now",
	  "-rw-r--r--    1 a        b                   7 Nov 14 22:13 now\r\n" },
	{ S_IFREG | 0644, 7, NOW + 3600, "a", "b", "soon",
	  "-rw-r--r--    1 a        b                   7 Nov 14 23:13 soon\r\n" },
	{ S_IFREG | 0644, 7, NOW + 3601, "a", "b", "future",
	  "-rw-r--r--    1 a        b                   7 Nov 14  2023 future\r\n" },
	{ S_IFREG | 0644, 7, NOW + 400 * 86400, "a", "b", "far-future",
	  "-rw-r--r--    1 a        b                   7 Dec 18  2024 far-future\r\n" },
	/* the largest size there is */
	{ S_IFREG | 0644, UINT64_MAX, NOW, "a", "b", "huge",
	  "-rw-r--r--    1 a        b        18446744073709551615 Nov 14 22:13 huge\r\n" },
	/* no names: the numbers */
	{ S_IFREG | 0600, 5, NOW, "", "", "numbers",
	  "-rw-------    1 1000     100                 5 Nov 14 22:13 numbers\r\n" },
	/* names as they are: spaces and UTF-8 */
	{ S_IFREG | 0644, 5, NOW, "a", "b", "with two  spaces ",
	  "-rw-r--r--    1 a        b                   5 Nov 14 22:13 with two  spaces \r\n" },
	{ S_IFREG | 0644, 5, NOW, "a", "b", "na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac.txt",
	  "-rw-r--r--    1 a        b                   5 Nov 14 22:13 "
	  "na\xc3\xafve \xe6\x97\xa5\xe6\x9c\xac.txt\r\n" },
	/* CR and LF must not break the line structure */
	{ S_IFREG | 0644, 5, NOW, "a", "b", "evil\r\n226 done",
	  "-rw-r--r--    1 a        b                   5 Nov 14 22:13 evil??226 done\r\n" },
	{ S_IFREG | 0644, 5, NOW, "a", "b", "\nleading",
	  "-rw-r--r--    1 a        b                   5 Nov 14 22:13 ?leading\r\n" },
	{ S_IFREG | 0644, 5, NOW, "a", "b", "trailing\r",
	  "-rw-r--r--    1 a        b                   5 Nov 14 22:13 trailing?\r\n" },
	/* every other file type */
	{ S_IFLNK | 0777, 11, NOW, "a", "b", "link",
	  "lrwxrwxrwx    1 a        b                  11 Nov 14 22:13 link\r\n" },
	{ S_IFCHR | 0666, 0, NOW, "root", "root", "null",
	  "crw-rw-rw-    1 root     root                0 Nov 14 22:13 null\r\n" },
	{ S_IFBLK | 0660, 0, NOW, "root", "disk", "sda",
	  "brw-rw----    1 root     disk                0 Nov 14 22:13 sda\r\n" },
	{ S_IFIFO | 0644, 0, NOW, "a", "b", "pipe",
	  "prw-r--r--    1 a        b                   0 Nov 14 22:13 pipe\r\n" },
	{ S_IFSOCK | 0755, 0, NOW, "a", "b", "socket",
	  "srwxr-xr-x    1 a        b                   0 Nov 14 22:13 socket\r\n" },
	{ S_IFDIR | 01777, 4096, NOW, "root", "root", "tmp",
	  "drwxrwxrwt    1 root     root             4096 Nov 14 22:13 tmp\r\n" },
	/* names longer than the column push it, as ls does */
	{ S_IFREG | 0644, 5, NOW, "a-long-owner", "a-long-group", "x",
	  "-rw-r--r--    1 a-long-owner a-long-group            5 Nov 14 22:13 x\r\n" },
};

START_TEST(test_write_long)
{
	const struct long_case *c = &long_cases[_i];
	struct ftpd_stat stat = make_stat(c->mode, c->size, c->mtime, c->owner, c->group);
	struct evbuffer *out = evbuffer_new();
	char *line;

	ck_assert_ptr_nonnull(out);
	listing_write_long(out, c->name, &stat, NULL, NOW);
	line = take_string(out);
	ck_assert_str_eq(line, c->expected);
	free(line);
	evbuffer_free(out);
}
END_TEST

/* A symlink shows its target as ls -l does; other types never do. */
START_TEST(test_write_long_link_target)
{
	struct ftpd_stat link = make_stat(S_IFLNK | 0777, 7, NOW, "a", "b");
	struct ftpd_stat file = make_stat(S_IFREG | 0644, 7, NOW, "a", "b");
	struct evbuffer *out = evbuffer_new();
	char *line;

	ck_assert_ptr_nonnull(out);
	listing_write_long(out, "current", &link, "v2/data\r", NOW);
	listing_write_long(out, "plain", &file, "ignored", NOW);
	line = take_string(out);
	ck_assert_str_eq(line,
	    "lrwxrwxrwx    1 a        b                   7 Nov 14 22:13 current -> v2/data?\r\n"
	    "-rw-r--r--    1 a        b                   7 Nov 14 22:13 plain\r\n");
	free(line);
	evbuffer_free(out);
}
END_TEST

/* Names and targets too long for the line buffer come out whole all the same. */
START_TEST(test_write_long_long_names)
{
	struct ftpd_stat link = make_stat(S_IFLNK | 0777, 7, NOW, "a", "b");
	struct evbuffer *out = evbuffer_new();
	char name[256], target[1200], expected[1600];
	char *line;

	ck_assert_ptr_nonnull(out);
	memset(name, 'n', sizeof(name) - 2);
	name[sizeof(name) - 2] = ' ';	/* a name may end with a blank */
	name[sizeof(name) - 1] = '\0';
	memset(target, 't', sizeof(target) - 1);
	target[sizeof(target) - 1] = '\0';
	listing_write_long(out, name, &link, target, NOW);
	line = take_string(out);
	snprintf(expected, sizeof(expected),
	    "lrwxrwxrwx    1 a        b                   7 Nov 14 22:13 %s -> %s\r\n",
	    name, target);
	ck_assert_str_eq(line, expected);
	free(line);
	evbuffer_free(out);
}
END_TEST

/* A name that nearly fills the line buffer leaves no room for " -> target". */
START_TEST(test_write_long_name_filling_the_buffer)
{
	struct ftpd_stat link = make_stat(S_IFLNK | 0777, 7, NOW, "a", "b");
	struct evbuffer *out = evbuffer_new();
	char name[460], expected[600];
	size_t length;
	char *line;

	ck_assert_ptr_nonnull(out);
	for (length = 440; length < sizeof(name); length++) {
		memset(name, 'n', length);
		name[length] = '\0';
		listing_write_long(out, name, &link, "target", NOW);
		line = take_string(out);
		snprintf(expected, sizeof(expected),
		    "lrwxrwxrwx    1 a        b                   7 Nov 14 22:13 %s -> target\r\n",
		    name);
		ck_assert_str_eq(line, expected);
		free(line);
	}
	evbuffer_free(out);
}
END_TEST

/* Every month's name is the fixed English one, whatever the locale. */
START_TEST(test_write_long_month_names)
{
	static const char *const expected[12] = {
		"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
	};
	/* The 15th of each month of 2001, 12:00 UTC. */
	static const time_t mid_month[12] = {
		979560000, 982238400, 984657600, 987336000, 989928000, 992606400,
		995198400, 997876800, 1000555200, 1003147200, 1005825600, 1008417600
	};
	struct evbuffer *out = evbuffer_new();
	struct ftpd_stat stat;
	char *line, date[16];
	size_t month;

	ck_assert_ptr_nonnull(out);
	for (month = 0; month < 12; month++) {
		stat = make_stat(S_IFREG | 0644, 1, mid_month[month], "a", "b");
		listing_write_long(out, "f", &stat, NULL, NOW);
		line = take_string(out);
		snprintf(date, sizeof(date), "%s 15  2001", expected[month]);
		ck_assert_msg(strstr(line, date) != NULL, "month %zu: %s", month, line);
		free(line);
	}
	evbuffer_free(out);
}
END_TEST

/* An owner name filling the whole field (no NUL) is printed, not overrun. */
START_TEST(test_write_long_full_owner_field)
{
	struct ftpd_stat stat = make_stat(S_IFREG | 0644, 3, NOW, "", "g");
	struct evbuffer *out = evbuffer_new();
	char expected[128], *line;

	ck_assert_ptr_nonnull(out);
	memset(stat.owner, 'o', sizeof(stat.owner));
	stat.nlink = 12345;
	listing_write_long(out, "f", &stat, NULL, NOW);
	line = take_string(out);
	snprintf(expected, sizeof(expected), "-rw-r--r-- 12345 %.*s g                   3 "
	    "Nov 14 22:13 f\r\n", (int)sizeof(stat.owner), "oooooooooooooooooooooooooooooooooooooooo");
	ck_assert_str_eq(line, expected);
	free(line);
	evbuffer_free(out);
}
END_TEST

/* Lines written one after another stay separate lines. */
START_TEST(test_write_long_lines_accumulate)
{
	struct ftpd_stat stat = make_stat(S_IFREG | 0644, 3, NOW, "a", "b");
	struct evbuffer *out = evbuffer_new();
	char *text;

	ck_assert_ptr_nonnull(out);
	listing_write_long(out, "one", &stat, NULL, NOW);
	listing_write_long(out, "two\nthree", &stat, NULL, NOW);
	text = take_string(out);
	ck_assert_str_eq(text,
	    "-rw-r--r--    1 a        b                   3 Nov 14 22:13 one\r\n"
	    "-rw-r--r--    1 a        b                   3 Nov 14 22:13 two?three\r\n");
	free(text);
	evbuffer_free(out);
}
END_TEST

/* --- NLST names --------------------------------------------------------- */

struct name_case {
	const char *name;
	const char *expected;
};

static const struct name_case name_cases[] = {
	{ "file.txt", "file.txt\r\n" },
	{ "with space", "with space\r\n" },
	{ "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac\r\n" },
	{ "a\r\nb", "a??b\r\n" },
	{ "\n", "?\r\n" },
	{ "\r\r", "??\r\n" },
};

START_TEST(test_write_name)
{
	const struct name_case *c = &name_cases[_i];
	struct evbuffer *out = evbuffer_new();
	char *line;

	ck_assert_ptr_nonnull(out);
	listing_write_name(out, c->name);
	line = take_string(out);
	ck_assert_str_eq(line, c->expected);
	free(line);
	evbuffer_free(out);
}
END_TEST

/* --- MLSD/MLST facts ---------------------------------------------------- */

struct facts_case {
	mode_t mode;
	uint64_t size;
	time_t mtime;
	uint64_t device;
	uint64_t inode;
	const char *name;
	unsigned facts;
	int writable;
	const char *expected;
};

static const struct facts_case facts_cases[] = {
	/* every fact, read-only and writable file */
	{ S_IFREG | 0644, 1234, NOW, 0x801, 0x1a2b, "notes.txt", FACT_ALL, 0,
	  "type=file;size=1234;modify=20231114221320;perm=r;unique=801g1a2b;"
	  "unix.mode=0644; notes.txt\r\n" },
	{ S_IFREG | 0644, 1234, NOW, 0x801, 0x1a2b, "notes.txt", FACT_ALL, 1,
	  "type=file;size=1234;modify=20231114221320;perm=adfrw;unique=801g1a2b;"
	  "unix.mode=0644; notes.txt\r\n" },
	/* directories: no size; e and l, with cdfmp when writable */
	{ S_IFDIR | 0755, 4096, 946684800, 0x10, 0x2, "sub", FACT_ALL, 0,
	  "type=dir;modify=20000101000000;perm=el;unique=10g2;unix.mode=0755; sub\r\n" },
	{ S_IFDIR | 0755, 4096, 946684800, 0x10, 0x2, "sub", FACT_ALL, 1,
	  "type=dir;modify=20000101000000;perm=cdeflmp;unique=10g2;unix.mode=0755; sub\r\n" },
	{ S_IFDIR | 0755, 4096, 0, 0, 0, ".", FACT_ALL, 0,
	  "type=cdir;modify=19700101000000;perm=el;unique=0g0;unix.mode=0755; .\r\n" },
	{ S_IFDIR | 0700, 4096, 0, 0, 0, "..", FACT_ALL, 1,
	  "type=pdir;modify=19700101000000;perm=cdeflmp;unique=0g0;unix.mode=0700; ..\r\n" },
	/* other types */
	{ S_IFLNK | 0777, 11, NOW, 1, 2, "link", FACT_TYPE, 0,
	  "type=OS.unix=slink; link\r\n" },
	{ S_IFCHR | 0666, 0, NOW, 1, 2, "null", FACT_TYPE, 0,
	  "type=OS.unix=chr; null\r\n" },
	{ S_IFBLK | 0660, 0, NOW, 1, 2, "sda", FACT_TYPE, 0,
	  "type=OS.unix=blk; sda\r\n" },
	{ S_IFIFO | 0600, 0, NOW, 1, 2, "pipe", FACT_TYPE, 0,
	  "type=OS.unix=fifo; pipe\r\n" },
	{ S_IFSOCK | 0600, 0, NOW, 1, 2, "sock", FACT_TYPE, 0,
	  "type=OS.unix=socket; sock\r\n" },
	/* each fact alone */
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", FACT_TYPE, 0, "type=file; f\r\n" },
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", FACT_SIZE, 0, "size=42; f\r\n" },
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", FACT_MODIFY, 0, "modify=20231114221320; f\r\n" },
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", FACT_PERM, 0, "perm=r; f\r\n" },
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", FACT_UNIQUE, 0, "unique=1g2; f\r\n" },
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", FACT_UNIX_MODE, 0, "unix.mode=0644; f\r\n" },
	/* no facts at all: still the space before the name */
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", 0, 0, " f\r\n" },
	/* a subset keeps the fixed order */
	{ S_IFREG | 0644, 42, NOW, 1, 2, "f", FACT_UNIX_MODE | FACT_TYPE | FACT_SIZE, 0,
	  "type=file;size=42;unix.mode=0644; f\r\n" },
	/* the directory's size is left out even when asked for */
	{ S_IFDIR | 0755, 4096, NOW, 1, 2, "d", FACT_SIZE, 0, " d\r\n" },
	/* special bits in unix.mode, four octal digits */
	{ S_IFREG | 04755, 1, NOW, 1, 2, "suid", FACT_UNIX_MODE, 0, "unix.mode=4755; suid\r\n" },
	{ S_IFDIR | 01777, 1, NOW, 1, 2, "tmp", FACT_UNIX_MODE, 0, "unix.mode=1777; tmp\r\n" },
	{ S_IFREG | 0, 1, NOW, 1, 2, "none", FACT_UNIX_MODE, 0, "unix.mode=0000; none\r\n" },
	/* huge values */
	{ S_IFREG | 0644, UINT64_MAX, NOW, UINT64_MAX, UINT64_MAX, "huge",
	  FACT_SIZE | FACT_UNIQUE, 0,
	  "size=18446744073709551615;unique=ffffffffffffffffgffffffffffffffff; huge\r\n" },
	/* the last second with four year digits, and one past it (left out) */
	{ S_IFREG | 0644, 1, 253402300799, 1, 2, "last", FACT_MODIFY, 0,
	  "modify=99991231235959; last\r\n" },
	{ S_IFREG | 0644, 1, 253402300800, 1, 2, "beyond", FACT_TYPE | FACT_MODIFY, 0,
	  "type=file; beyond\r\n" },
	/* names: spaces kept (MLSD names run to the line end), CR/LF replaced */
	{ S_IFREG | 0644, 1, NOW, 1, 2, " leading space", FACT_TYPE, 0,
	  "type=file;  leading space\r\n" },
	{ S_IFREG | 0644, 1, NOW, 1, 2, "na\xc3\xafve", FACT_TYPE, 0,
	  "type=file; na\xc3\xafve\r\n" },
	{ S_IFREG | 0644, 1, NOW, 1, 2, "a\r\nb\nc\r", FACT_TYPE, 0,
	  "type=file; a??b?c?\r\n" },
};

/* perm is what the shell answered, whatever the session could do otherwise. */
static const struct {
	mode_t mode;
	unsigned perm;
	int writable;
	const char *expected;
} answered_perm_cases[] = {
	/* a read-only shell's file, in a session that could write */
	{ S_IFREG | 0666, FTPD_PERM_KNOWN | FTPD_PERM_READ, 1, "perm=r; x\r\n" },
	{ S_IFDIR | 0777, FTPD_PERM_KNOWN | FTPD_PERM_ENTER | FTPD_PERM_LIST, 1,
	  "perm=el; x\r\n" },
	/* a shell that lets a guest's share take uploads */
	{ S_IFDIR | 0755, FTPD_PERM_KNOWN | FTPD_PERM_CREATE | FTPD_PERM_ENTER |
	  FTPD_PERM_LIST, 0, "perm=cel; x\r\n" },
	/* every letter, in RFC 3659's alphabetical order */
	{ S_IFREG | 0, FTPD_PERM_KNOWN | FTPD_PERM_APPEND | FTPD_PERM_CREATE |
	  FTPD_PERM_DELETE | FTPD_PERM_ENTER | FTPD_PERM_RENAME | FTPD_PERM_LIST |
	  FTPD_PERM_MKDIR | FTPD_PERM_PURGE | FTPD_PERM_READ | FTPD_PERM_WRITE, 0,
	  "perm=acdeflmprw; x\r\n" },
	/* known and nothing allowed: an empty perm, not a guess */
	{ S_IFREG | 0644, FTPD_PERM_KNOWN, 1, "perm=; x\r\n" },
	/* bits without KNOWN are not an answer: the guess stands */
	{ S_IFREG | 0644, FTPD_PERM_READ, 1, "perm=adfrw; x\r\n" },
};

START_TEST(test_write_facts_answered_perm)
{
	struct ftpd_stat stat = make_stat(answered_perm_cases[_i].mode, 1, NOW, "a", "b");
	struct evbuffer *out = evbuffer_new();
	char *line;

	ck_assert_ptr_nonnull(out);
	stat.struct_size = sizeof(stat);
	stat.perm = answered_perm_cases[_i].perm;
	listing_write_facts(out, "x", &stat, FACT_PERM, answered_perm_cases[_i].writable);
	line = take_string(out);
	ck_assert_str_eq(line, answered_perm_cases[_i].expected);
	free(line);
	evbuffer_free(out);
}
END_TEST

/* A stat from a shell built before perm existed (a smaller struct) is guessed for. */
START_TEST(test_write_facts_perm_unknown_to_an_older_shell)
{
	struct ftpd_stat stat = make_stat(S_IFREG | 0644, 1, NOW, "a", "b");
	struct evbuffer *out = evbuffer_new();
	char *line;

	ck_assert_ptr_nonnull(out);
	stat.struct_size = offsetof(struct ftpd_stat, perm);
	stat.perm = FTPD_PERM_KNOWN;	/* past its struct: must not be read */
	listing_write_facts(out, "x", &stat, FACT_PERM, 0);
	line = take_string(out);
	ck_assert_str_eq(line, "perm=r; x\r\n");
	free(line);
	evbuffer_free(out);
}
END_TEST

START_TEST(test_write_facts)
{
	const struct facts_case *c = &facts_cases[_i];
	struct ftpd_stat stat = make_stat(c->mode, c->size, c->mtime, "a", "b");
	struct evbuffer *out = evbuffer_new();
	char *line;

	ck_assert_ptr_nonnull(out);
	stat.device = c->device;
	stat.inode = c->inode;
	listing_write_facts(out, c->name, &stat, c->facts, c->writable);
	line = take_string(out);
	ck_assert_str_eq(line, c->expected);
	free(line);
	evbuffer_free(out);
}
END_TEST

/* --- FEAT line and OPTS MLST ------------------------------------------ */

struct feature_case {
	unsigned selected;
	const char *expected;
};

static const struct feature_case feature_cases[] = {
	{ FACT_ALL, "MLST type*;size*;modify*;perm*;unique*;unix.mode*;" },
	{ 0, "MLST type;size;modify;perm;unique;unix.mode;" },
	{ FACT_TYPE | FACT_PERM, "MLST type*;size;modify;perm*;unique;unix.mode;" },
	{ FACT_SIZE, "MLST type;size*;modify;perm;unique;unix.mode;" },
	{ FACT_MODIFY, "MLST type;size;modify*;perm;unique;unix.mode;" },
	{ FACT_UNIQUE, "MLST type;size;modify;perm;unique*;unix.mode;" },
	{ FACT_UNIX_MODE, "MLST type;size;modify;perm;unique;unix.mode*;" },
};

START_TEST(test_mlst_feature)
{
	const struct feature_case *c = &feature_cases[_i];
	char out[128];

	listing_write_mlst_feature(out, sizeof(out), c->selected);
	ck_assert_str_eq(out, c->expected);
}
END_TEST

/* A short buffer gets a NUL-terminated prefix, and nothing past its end. */
START_TEST(test_mlst_feature_truncated)
{
	const char *full = "MLST type*;size*;modify*;perm*;unique*;unix.mode*;";
	char out[64];
	size_t size;

	for (size = 1; size <= strlen(full) + 1; size++) {
		memset(out, 'X', sizeof(out));
		listing_write_mlst_feature(out, size, FACT_ALL);
		ck_assert_uint_eq(strlen(out), size - 1);
		ck_assert_int_eq(strncmp(out, full, size - 1), 0);
		ck_assert_int_eq(out[size], 'X');
	}
	memset(out, 'X', sizeof(out));
	listing_write_mlst_feature(out, 0, FACT_ALL);
	ck_assert_int_eq(out[0], 'X');
}
END_TEST

struct selection_case {
	const char *argument;
	unsigned expected;
};

static const struct selection_case selection_cases[] = {
	{ "", 0 },
	{ "type;size;", FACT_TYPE | FACT_SIZE },
	{ "TYPE;Size;", FACT_TYPE | FACT_SIZE },
	{ "type", FACT_TYPE },
	{ "modify;", FACT_MODIFY },
	{ "perm;", FACT_PERM },
	{ "unique;", FACT_UNIQUE },
	{ "unix.mode;", FACT_UNIX_MODE },
	{ "UNIX.MODE;UnIqUe;", FACT_UNIX_MODE | FACT_UNIQUE },
	{ "type;size;modify;perm;unique;unix.mode;", FACT_ALL },
	{ "unix.mode;unique;perm;modify;size;type;", FACT_ALL },
	{ "lang;perm;media-type;", FACT_PERM },
	{ "typ;sizes;unix;mode;", 0 },
	{ ";;modify;;", FACT_MODIFY },
	{ "type;type;", FACT_TYPE },
	{ "unix.group;unix.owner;create;charset;", 0 },
};

START_TEST(test_parse_fact_selection)
{
	const struct selection_case *c = &selection_cases[_i];

	ck_assert_uint_eq(listing_parse_fact_selection(c->argument), c->expected);
}
END_TEST

/* The selection parsed back matches the FEAT line written from it. */
START_TEST(test_selection_round_trip)
{
	unsigned selected;
	char feature[128], argument[128], *out = argument;
	const char *cursor;

	for (selected = 0; selected <= FACT_ALL; selected++) {
		listing_write_mlst_feature(feature, sizeof(feature), selected);
		/* "MLST type*;size;" -> "type;" : the starred facts as OPTS MLST would send */
		out = argument;
		for (cursor = feature + strlen("MLST "); *cursor != '\0';) {
			const char *end = strchr(cursor, ';');
			size_t length = (size_t)(end - cursor);

			if (cursor[length - 1] == '*') {
				memcpy(out, cursor, length - 1);
				out += length - 1;
				*out++ = ';';
			}
			cursor = end + 1;
		}
		*out = '\0';
		ck_assert_uint_eq(listing_parse_fact_selection(argument), selected);
	}
}
END_TEST

/* --- globbing ----------------------------------------------------------- */

struct is_glob_case {
	const char *segment;
	int expected;
};

static const struct is_glob_case is_glob_cases[] = {
	{ "*.txt", 1 },
	{ "a?c", 1 },
	{ "[ab]", 1 },
	{ "file[", 1 },
	{ "plain", 0 },
	{ "", 0 },
	{ "dot.file", 0 },
	{ "with space", 0 },
	{ "-la", 0 },
	{ "\xe6\x97\xa5*", 1 },
};

START_TEST(test_is_glob)
{
	const struct is_glob_case *c = &is_glob_cases[_i];

	ck_assert_int_eq(listing_is_glob(c->segment), c->expected);
}
END_TEST

struct glob_case {
	const char *pattern;
	const char *name;
	int expected;
};

static const struct glob_case glob_cases[] = {
	{ "*.txt", "a.txt", 1 },
	{ "*.txt", "a.txt.gz", 0 },
	{ "*.TXT", "a.txt", 0 },
	{ "*", "visible", 1 },
	{ "*", ".hidden", 0 },
	{ "?hidden", ".hidden", 0 },
	{ "[.]hidden", ".hidden", 0 },
	{ ".*", ".hidden", 1 },
	{ ".h*", ".hidden", 1 },
	{ "a*", "a.b", 1 },
	{ "?", "a", 1 },
	{ "?", "ab", 0 },
	{ "a?c", "abc", 1 },
	{ "[ab]*", "beta", 1 },
	{ "[!a]*", "alpha", 0 },
	{ "[!a]*", "beta", 1 },
	{ "[a-c]x", "bx", 1 },
	{ "[a-c]x", "dx", 0 },
	{ "\\*", "*", 1 },
	{ "\\*", "x", 0 },
	{ "file[", "file[", 1 },
	{ "* *", "with space", 1 },
	{ "\xe6\x97\xa5*", "\xe6\x97\xa5\xe6\x9c\xac.txt", 1 },
	{ "plain", "plain", 1 },
	{ "plain", "plainer", 0 },
};

START_TEST(test_glob_matches)
{
	const struct glob_case *c = &glob_cases[_i];

	ck_assert_msg(listing_glob_matches(c->pattern, c->name) == c->expected,
	    "pattern '%s' name '%s': expected %d", c->pattern, c->name, c->expected);
}
END_TEST

#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

Suite *
listing_suite(void)
{
	Suite *suite = suite_create("listing");
	TCase *tcase;

	tcase = tcase_create("file_mode");
	tcase_add_loop_test(tcase, test_file_mode, 0, COUNT(mode_cases));
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("long");
	tcase_add_loop_test(tcase, test_write_long, 0, COUNT(long_cases));
	tcase_add_test(tcase, test_write_long_month_names);
	tcase_add_test(tcase, test_write_long_link_target);
	tcase_add_test(tcase, test_write_long_long_names);
	tcase_add_test(tcase, test_write_long_name_filling_the_buffer);
	tcase_add_test(tcase, test_write_long_full_owner_field);
	tcase_add_test(tcase, test_write_long_lines_accumulate);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("name");
	tcase_add_loop_test(tcase, test_write_name, 0, COUNT(name_cases));
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("facts");
	tcase_add_loop_test(tcase, test_write_facts, 0, COUNT(facts_cases));
	tcase_add_loop_test(tcase, test_write_facts_answered_perm, 0,
	    COUNT(answered_perm_cases));
	tcase_add_test(tcase, test_write_facts_perm_unknown_to_an_older_shell);
	tcase_add_loop_test(tcase, test_mlst_feature, 0, COUNT(feature_cases));
	tcase_add_test(tcase, test_mlst_feature_truncated);
	tcase_add_loop_test(tcase, test_parse_fact_selection, 0, COUNT(selection_cases));
	tcase_add_test(tcase, test_selection_round_trip);
	suite_add_tcase(suite, tcase);

	tcase = tcase_create("glob");
	tcase_add_loop_test(tcase, test_is_glob, 0, COUNT(is_glob_cases));
	tcase_add_loop_test(tcase, test_glob_matches, 0, COUNT(glob_cases));
	suite_add_tcase(suite, tcase);

	return suite;
}
