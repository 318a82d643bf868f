/*
 * listing_stream: a directory listing as a transfer source, formatted entry by
 * entry as the data connection drains, so a huge directory is never held whole.
 */
#ifndef FTPD_LISTING_STREAM_H
#define FTPD_LISTING_STREAM_H

#include "dtp/transfer.h"
#include "ftpd/shell.h"

enum listing_style { LISTING_LONG, LISTING_NAMES, LISTING_FACTS };

struct listing_options {
	enum listing_style style;
	int show_hidden;	/* LIST -a: names starting with '.' too */
	const char *pattern;	/* glob for the names, or NULL (copied) */
	unsigned facts;		/* MLSD facts */
	int writable;		/* MLSD perm guess, for a shell that does not answer */
};

/* Streams directory's entries (it is closed with the source). 0 or -ENOMEM. */
int listing_stream_directory(struct ftpd_directory *directory,
    const struct listing_options *options, struct transfer_source *source);

/* One entry: LIST or NLST naming a single file (a symlink: with its target). 0 or -ENOMEM. */
int listing_stream_single(const char *name, const struct ftpd_stat *stat, const char *link_target,
    const struct listing_options *options, struct transfer_source *source);

#endif
