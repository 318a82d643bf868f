/*
 * daemon: becoming a service process: detaching from the terminal, the pid
 * file, and dropping root privileges once the ports are bound.
 */
#ifndef FTPD_DAEMON_H
#define FTPD_DAEMON_H

#include "config.h"

/*
 * Forks into the background: the parent exits 0, the child returns 0 as a
 * session leader with stdin/stdout/stderr on /dev/null. -errno on failure.
 */
int daemon_detach(void);

/* Writes the process id to path (created 0644). 0 or -errno (logged). */
int daemon_write_pid_file(const char *path);

/*
 * Started as root with config->user set: optional chroot, then the user's
 * groups, gid and uid, for good. Not root: nothing. 0, or -errno with a
 * message logged (an unknown user is an error, never a silent stay-root).
 */
int daemon_drop_privileges(const struct config *config);

#endif
