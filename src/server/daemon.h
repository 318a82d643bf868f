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

/*
 * Started as root with config->user set: optional chroot, then the user's
 * groups, gid and uid, for good. Not root: nothing. 0, or -errno with a
 * message logged (an unknown user is an error, never a silent stay-root).
 */
int daemon_drop_privileges(const struct config *config);

/*
 * For good, in a session process: the given supplementary groups, gid and
 * uid (never 0), with no way back. 0 or -errno (logged).
 */
int daemon_become(const char *name, uid_t uid, gid_t gid, const gid_t *groups,
    int group_count);

#endif
