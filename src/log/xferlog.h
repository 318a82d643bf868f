/*
 * xferlog: the transfer log in the classic wu-ftpd xferlog(5) format, one
 * line per file transfer, readable by existing xferlog analysers.
 */
#ifndef FTPD_XFERLOG_H
#define FTPD_XFERLOG_H

#include <stdint.h>
#include <sys/time.h>

struct xferlog;

struct xferlog_entry {
	struct timeval started;
	const char *remote_host;
	uint64_t bytes;
	const char *path;	/* as the client sees it, absolute */
	int ascii;		/* TYPE A */
	int incoming;		/* an upload */
	int anonymous;
	const char *user;
	int complete;
};

/* Opens path for appending (created 0640). NULL with errno set. */
struct xferlog *xferlog_open(const char *path);
void xferlog_close(struct xferlog *log);
/* The descriptor, which a session process keeps when it closes the rest; -1 for NULL. */
int xferlog_fd(const struct xferlog *log);

/* Appends one line, in one write(2) so concurrent writers never interleave. */
void xferlog_write(struct xferlog *log, const struct xferlog_entry *entry);

/* Formats the line (with its newline) into out; exposed for the unit tests. */
size_t xferlog_format(char *out, size_t size, const struct xferlog_entry *entry,
    const struct timeval *now);

#endif
