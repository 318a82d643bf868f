/*
 * monitor: the one privileged process. It reads the configuration, binds the
 * listeners, opens the logs, loads the TLS key, checks passwords (passwd
 * file, PAM) on its own threads, counts the limits across workers, and
 * forks and supervises the workers. It never reads a byte from a client.
 */
#ifndef FTPD_MONITOR_H
#define FTPD_MONITOR_H

#include "config/config.h"

struct monitor_options {
	int inetd;		/* serve the connection on descriptor 0 */
	int foreground;		/* do not detach */
	/* Reads the configuration again for SIGHUP: 0, or -1 with error set. */
	int (*load)(const void *arg, struct config *config, char error[CONFIG_ERROR_SIZE]);
	const void *load_arg;
};

/* How many workers config asks for (workers = 0: one per CPU). */
unsigned monitor_worker_count(const struct config *config);

/*
 * Runs the server with config (taken over) until it is stopped: the
 * monitor here, the workers in processes of their own. Returns the exit
 * status.
 */
int monitor_run(struct config *config, const struct monitor_options *options);

#endif
