/*
 * server/worker_process: a worker, from the monitor's fork on. It serves
 * sessions on its own loop, unprivileged, and asks the monitor for what
 * only the monitor may do (checking passwords, counting the limits).
 */
#ifndef FTPD_WORKER_PROCESS_H
#define FTPD_WORKER_PROCESS_H

#include <sys/types.h>

#include <event2/event.h>

#include "config/config.h"
#include "server/daemon.h"

struct settings;
struct xferlog;

/* A listening socket a worker accepts on. */
struct worker_listener {
	int fd;
	int implicit_tls;	/* the implicit-TLS port (listen_implicit) */
	int proxy;		/* a PROXY protocol header comes first */
	int inherited;		/* made by the service manager, not by ftpd */
};

/* Everything a worker needs, prepared by the monitor before the fork. */
struct worker_start {
	struct event_base *monitor_base;	/* the monitor's loop, let go of at once */
	pid_t monitor_pid;
	unsigned number;			/* 1..workers, for the process title and logs */
	int monitor_fd;				/* the worker's end of its socketpair */
	int hand_off_fd;			/* its end of the hand-off socket (system_users) */
	const struct worker_listener *listeners;
	unsigned listener_count;
	int connection_fd;			/* inetd or Accept=yes: the one connection; else -1 */
	struct settings *settings;		/* the generation it serves (held for it) */
	struct xferlog *xferlog;		/* shared with the monitor; may be NULL */
	const struct daemon_identity *identity;	/* whom to become; NULL: stay */
	const char *chroot_directory;		/* NULL: none */
};

/* In the child, right after fork: serves until told to stop, then exits. */
void worker_process_run(const struct worker_start *start) __attribute__((noreturn));

#endif
