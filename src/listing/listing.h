/*
 * listing: the text of directory listings: LIST lines (ls -l style), NLST
 * names and globbing, MLSD/MLST facts (RFC 3659). Pure formatting, no I/O.
 */
#ifndef FTPD_LISTING_H
#define FTPD_LISTING_H

#include <time.h>

#include <event2/buffer.h>

#include "ftpd/shell.h"

/* MLST facts (RFC 3659 7.5), as bits for OPTS MLST selection. */
enum listing_fact {
	FACT_TYPE = 1 << 0,
	FACT_SIZE = 1 << 1,
	FACT_MODIFY = 1 << 2,
	FACT_PERM = 1 << 3,
	FACT_UNIQUE = 1 << 4,
	FACT_UNIX_MODE = 1 << 5
};
#define FACT_ALL (FACT_TYPE | FACT_SIZE | FACT_MODIFY | FACT_PERM | FACT_UNIQUE | FACT_UNIX_MODE)
#define FACT_DEFAULT FACT_ALL

/* "drwxr-xr-x" style: 10 characters and a NUL, every file type (seed 003 filemode). */
void listing_file_mode(mode_t mode, char out[11]);

/*
 * One LIST line "-rw-r--r--    1 owner    group        1234 Jan 02 15:04 name\r\n"
 * (a symlink with its link_target: "name -> target").
 * Dates within six months of now show the time (UTC), older ones or ones more
 * than an hour ahead the year. Owner/group names come from stat (numbers when
 * empty). In this and every other line here, CR or LF in a name is written '?'.
 */
void listing_write_long(struct evbuffer *out, const char *name, const struct ftpd_stat *stat,
    const char *link_target, time_t now);

/* One NLST line "name\r\n". */
void listing_write_name(struct evbuffer *out, const char *name);

/*
 * One MLSD/MLST fact line "type=file;size=3;modify=20240102150405;perm=r; name\r\n"
 * with the facts selected; perm is what the shell answered in stat->perm,
 * or a guess from the mode and writable (0: read-only share) if it did not.
 * type is "cdir"/"pdir" when name is "."/"..".
 */
void listing_write_facts(struct evbuffer *out, const char *name, const struct ftpd_stat *stat,
    unsigned facts, int writable);

/* The FEAT line "MLST type*;size*;..." marking the selected facts. */
void listing_write_mlst_feature(char *out, size_t size, unsigned selected);

/* OPTS MLST argument "type;size;" -> fact bits (unknown facts ignored, RFC 3659 7.9). */
unsigned listing_parse_fact_selection(const char *argument);

/* 1 when segment has glob characters (* ? [) that NLST/LIST should expand. */
int listing_is_glob(const char *segment);

/* fnmatch(3) of name against pattern, without matching a leading '.' by wildcards. */
int listing_glob_matches(const char *pattern, const char *name);

#endif
