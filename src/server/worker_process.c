/*
 * server/worker_process: becoming a worker. The monitor's loop and every
 * descriptor the worker has no business with go first (other workers'
 * sockets to the monitor included, so a worker's death is seen at once),
 * then root, then the worker runs a server of its own.
 */
#include <sys/prctl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/settings.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "server/server.h"
#include "server/worker_process.h"
#include "util/descriptors.h"
#include "util/process_title.h"

/* Listeners, the connection, the monitor socket, the xferlog, stdio. */
#define KEEP_MAX (CONFIG_MAX_LISTEN + 8)

static void
close_what_is_not_ours(const struct worker_start *start)
{
	int keep[KEEP_MAX];
	int count = 0;
	unsigned i;

	keep[count++] = STDIN_FILENO;
	keep[count++] = STDOUT_FILENO;
	keep[count++] = STDERR_FILENO;
	keep[count++] = start->monitor_fd;
	keep[count++] = start->connection_fd;
	keep[count++] = start->xferlog != NULL ? xferlog_fd(start->xferlog) : -1;
	for (i = 0; i < start->listener_count && count < KEEP_MAX; i++)
		keep[count++] = start->listeners[i].fd;
	descriptors_close_except(keep, count);
}

static int
open_connections(struct server *server, const struct worker_start *start)
{
	unsigned i;
	int error;

	if (start->connection_fd >= 0)
		return server_adopt(server, start->connection_fd);
	for (i = 0; i < start->listener_count; i++) {
		error = server_accept_on(server, &start->listeners[i]);
		if (error != 0)
			return error;
	}
	return 0;
}

void
worker_process_run(const struct worker_start *start)
{
	struct event_base *base;
	struct server *server;
	char title[32];

	/* A worker must not outlive its monitor (checked after, as it may already be gone). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != start->monitor_pid)
		_exit(1);
	/*
	 * The epoll instance is shared with the monitor: removing its events
	 * here would remove them there. Give this process its own, then free.
	 */
	event_reinit(start->monitor_base);
	event_base_free(start->monitor_base);
	close_what_is_not_ours(start);
	/* The starting process waits for the end of its output: a worker must not hold it. */
	if (daemon_is_detached())
		daemon_stdio_to_null();
	log_reopen_after_fork();
	snprintf(title, sizeof(title), "worker %u", start->number);
	process_title_set(title);

	if (start->identity != NULL && !start->stay_privileged) {
		if (daemon_take_identity(start->identity, start->chroot_directory) != 0)
			_exit(1);
		log_info("worker %u running as %s (uid %ld)%s%s", start->number,
		    start->identity->name, (long)start->identity->uid,
		    start->chroot_directory != NULL ? ", chrooted to " : "",
		    start->chroot_directory != NULL ? start->chroot_directory : "");
	}
	base = event_base_new();
	if (base == NULL)
		_exit(1);
	server = server_new(base, start->settings, start->xferlog, start->monitor_fd);
	if (server == NULL || server_stop_on_signals(server) != 0 ||
	    open_connections(server, start) != 0 || server_ready(server) != 0)
		_exit(1);
	event_base_dispatch(base);
	server_free(server);
	event_base_free(base);
	log_close();
	/* The monitor's structures came along with the fork and are never freed here. */
	_exit(0);
}
