/*
 * server/user_process: a system account's session, in a process forked by
 * the monitor that becomes the account before it reads a byte, so that the
 * kernel checks every file operation the session makes.
 */
#ifndef FTPD_USER_PROCESS_H
#define FTPD_USER_PROCESS_H

#include <sys/types.h>

#include <event2/event.h>

#include "monitor/message.h"
#include "portal/checkers/checkers.h"

struct settings;
struct xferlog;

/* What the monitor prepared before the fork. */
struct user_start {
	struct event_base *monitor_base;	/* let go of at once */
	pid_t monitor_pid;
	int connection_fd;			/* the client's socket, or a relay to it */
	const struct message_hand_off *hand_off;	/* the session's state */
	const struct avatar_id *id;		/* whom the monitor checked: name, home, account */
	struct settings *settings;		/* the generation of the worker that had it */
	struct xferlog *xferlog;		/* may be NULL */
};

/* In the child, right after fork: serves the session, then exits. */
void user_process_run(const struct user_start *start) __attribute__((noreturn));

#endif
