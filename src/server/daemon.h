/*
 * daemon: becoming a service process: detaching from the terminal, the pid
 * file, and dropping root privileges once the ports are bound.
 */
#ifndef FTPD_DAEMON_H
#define FTPD_DAEMON_H

#include <sys/types.h>

#include "config/config.h"

/*
 * Forks into the background before anything is set up. The parent waits
 * until the child calls daemon_ready() and exits 0, or exits 1 when the
 * child dies first (its errors are in the log). The child returns
 * 0 as a session leader. -errno when fork fails.
 */
int daemon_detach(void);

/* The child is serving: release the waiting parent, stdio to /dev/null. */
void daemon_ready(void);

/* Whether daemon_detach ran in this process or in the one it was forked from. */
int daemon_is_detached(void);

/* Standard input, output and error to /dev/null (what a detached process must not hold). */
void daemon_stdio_to_null(void);

struct event_base;

/*
 * In a child the monitor just forked (a worker, a user process): ends with
 * the monitor (PR_SET_PDEATHSIG), lets go of its loop without touching the
 * kernel objects they share, closes every descriptor but those in keep
 * (stdio, when detached, goes to /dev/null) and reopens the log. Exits the
 * process when the monitor is already gone.
 */
void daemon_leave_monitor(struct event_base *monitor_base, pid_t monitor_pid, int *keep,
    int keep_count);

/*
 * Writes the process id to path (created 0644, owned by config->user when
 * privileges will be dropped). 0 or -errno (logged).
 */
int daemon_write_pid_file(const char *path, const struct config *config);

/*
 * Removes the pid file at exit; where the unprivileged user may not remove
 * it, empties it so no stale process id stays behind.
 */
void daemon_remove_pid_file(const char *path);

/* Most supplementary groups an identity brings along; more are cut to the primary group. */
#define DAEMON_GROUPS_MAX 64

/* Whom a process becomes: looked up once, by a process that may use NSS. */
struct daemon_identity {
	char name[64];
	uid_t uid;
	gid_t gid;
	gid_t groups[DAEMON_GROUPS_MAX];
	int group_count;
};

/*
 * Looks up user name with its groups. 0, -ENOENT for no such user,
 * -ENAMETOOLONG, -ENOMEM (the caller says what it means).
 */
int daemon_identity_lookup(const char *name, struct daemon_identity *identity);

/*
 * For good: chroot to chroot_directory (NULL: none), then identity's groups,
 * gid and uid (0 refused), with no way back. Only system calls: safe in a
 * child forked from a threaded process. 0 or -errno (logged).
 */
int daemon_take_identity(const struct daemon_identity *identity,
    const char *chroot_directory);

/*
 * For good, in a session process: the given supplementary groups, gid and
 * uid (never 0), with no way back. 0 or -errno (logged).
 */
int daemon_become(const char *name, uid_t uid, gid_t gid, const gid_t *groups,
    int group_count);

#endif
