/*
 * quota/walk: counts what a shell holds below its root, a few hundred
 * entries per turn of the event loop, so that a large home never stalls
 * the other sessions of a worker.
 */
#ifndef FTPD_QUOTA_WALK_H
#define FTPD_QUOTA_WALK_H

#include <event2/event.h>

#include "ftpd/shell.h"
#include "quota/usage.h"

/*
 * The walk stops counting at this many entries (a home larger than that is
 * taken to hold what was counted), and does not descend deeper than this
 * many directories (each level holds a directory open).
 */
#define QUOTA_WALK_MAX_ENTRIES 1000000
#define QUOTA_WALK_MAX_DEPTH 32

/* usage (known) on success; -ECANCELED when wanted() said no, -ENOMEM. */
typedef void (*quota_walk_done_fn)(void *arg, int error, const struct quota_usage *usage);

struct quota_walk_request {
	struct event_base *base;
	struct ftpd_shell *shell;
	/* Asked before each batch: 0 stops the walk (the session went away). */
	int (*wanted)(void *arg);
	quota_walk_done_fn done;
	void *arg;
};

/*
 * Starts counting: the sizes of regular files and every entry below the
 * root, directories included, never following a symlink (entries are
 * taken as the shell lists them, and only directories are entered).
 * Directories that cannot be read are skipped. done() runs once, from the
 * event loop, never before this returns. 0, or -ENOMEM (done() never runs).
 */
int quota_walk_start(const struct quota_walk_request *request);

#endif
