/*
 * monitor/supervisor: forking workers, watching them, and starting a new
 * one when one dies. Forks run while no password check is in a thread
 * (worker_pool_run_exclusive), so the child inherits no lock held by a
 * thread it does not have (syslog, NSS, PAM modules).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/settings.h"
#include "log/log.h"
#include "monitor/state.h"
#include "shared_state/shared_state.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

/* A worker that dies sooner than this after its start is restarted only after this long. */
#define QUICK_DEATH_MS 1000

static void
channel_event(struct bufferevent *channel UNUSED, short what, void *arg)
{
	struct worker_record *worker = arg;

	/* The worker closed its end: it is ending; SIGCHLD does the rest. */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		bufferevent_free(worker->channel);
		worker->channel = NULL;
	}
}

static void
worker_record_free(struct worker_record *worker)
{
	requests_cancel_all(worker);
	user_sessions_forget_worker(worker);
	if (worker->hand_off_event != NULL)
		event_free(worker->hand_off_event);
	if (worker->hand_off_fd >= 0)
		close(worker->hand_off_fd);
	if (worker->child_hand_off_fd >= 0)
		close(worker->child_hand_off_fd);
	if (worker->channel != NULL)
		bufferevent_free(worker->channel);
	if (worker->child_fd >= 0)
		close(worker->child_fd);
	limits_clear(&worker->counted);
	settings_release(worker->settings);
	free(worker);
}

static void
forked(struct worker_record *worker)
{
	struct monitor *monitor = worker->monitor;
	struct worker_start start;

	memset(&start, 0, sizeof(start));
	start.monitor_base = monitor->base;
	start.monitor_pid = getppid();
	start.number = worker->slot + 1;
	start.monitor_fd = worker->child_fd;
	start.hand_off_fd = worker->child_hand_off_fd;
	start.listeners = monitor_slot_listeners(monitor, worker->slot);
	start.listener_count = monitor->listeners_per_slot;
	start.connection_fd = monitor->connection_fd;
	start.settings = worker->settings;
	start.xferlog = monitor->xferlog;
	start.identity = monitor->drop_privileges ? &monitor->identity : NULL;
	start.chroot_directory = worker->settings->config.chroot;
	worker_process_run(&start);
}

/*
 * The worker has the connection now: the client must see it close with the
 * worker, so the monitor keeps no copy (inetd puts it on 0, 1 and 2).
 */
static void
let_go_of_connection(int fd)
{
	struct stat connection, other;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC), i;

	if (null < 0)
		return;
	if (fstat(fd, &connection) == 0)
		for (i = STDIN_FILENO; i <= STDERR_FILENO; i++)
			if (i != fd && fstat(i, &other) == 0 && other.st_dev == connection.st_dev &&
			    other.st_ino == connection.st_ino)
				dup2(null, i);
	dup2(null, fd);
	close(null);
}

/* Called by the thread pool once no check runs: the fork itself. */
static void
fork_now(void *arg, int cancelled)
{
	struct worker_record *worker = arg;
	struct monitor *monitor = worker->monitor;
	pid_t pid;

	if (cancelled) {
		LIST_REMOVE(worker, link);
		worker_record_free(worker);
		return;
	}
	pid = fork();
	if (pid < 0) {
		log_error("cannot start worker %u: %s", worker->slot + 1, strerror(errno));
		LIST_REMOVE(worker, link);
		worker_record_free(worker);
		return;
	}
	if (pid == 0)
		forked(worker);
	worker->pid = pid;
	close(worker->child_fd);
	worker->child_fd = -1;
	close(worker->child_hand_off_fd);
	worker->child_hand_off_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &worker->started);
	log_info("worker %u started (process %ld)", worker->slot + 1, (long)pid);
	if (monitor->connection_fd >= 0)
		let_go_of_connection(monitor->connection_fd);
}

int
supervisor_start_worker(struct monitor *monitor, unsigned slot)
{
	struct worker_record *worker = calloc(1, sizeof(*worker));
	int pair[2] = { -1, -1 }, hand_off[2] = { -1, -1 };

	if (worker == NULL) {
		log_error("cannot start worker %u: out of memory", slot + 1);
		return -ENOMEM;
	}
	/* Requests and answers; and hand-offs, each one datagram with a descriptor. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, hand_off) != 0) {
		int error = errno;

		log_error("cannot start worker %u: %s", slot + 1, strerror(error));
		if (hand_off[0] < 0 && pair[0] >= 0) {
			close(pair[0]);
			close(pair[1]);
		}
		free(worker);
		return -error;
	}
	worker->hand_off_fd = hand_off[0];
	worker->child_hand_off_fd = hand_off[1];
	worker->monitor = monitor;
	worker->slot = slot;
	worker->generation = monitor->generation;
	worker->child_fd = pair[1];
	worker->settings = settings_hold(monitor->settings);
	limits_init(&worker->counted);
	worker->channel = bufferevent_socket_new(monitor->base, pair[0], BEV_OPT_CLOSE_ON_FREE);
	if (worker->channel == NULL) {
		close(pair[0]);
		worker_record_free(worker);
		log_error("cannot start worker %u: out of memory", slot + 1);
		return -ENOMEM;
	}
	bufferevent_setcb(worker->channel, requests_readable, NULL, channel_event, worker);
	bufferevent_enable(worker->channel, EV_READ);	/* writing is on from the start */
	worker->hand_off_event = event_new(monitor->base, worker->hand_off_fd, EV_READ | EV_PERSIST,
	    user_sessions_readable, worker);
	if (worker->hand_off_event == NULL || event_add(worker->hand_off_event, NULL) != 0) {
		worker_record_free(worker);
		log_error("cannot start worker %u: out of memory", slot + 1);
		return -ENOMEM;
	}
	LIST_INSERT_HEAD(&monitor->workers, worker, link);
	if (worker_pool_run_exclusive(monitor->threads, fork_now, worker) != 0) {
		LIST_REMOVE(worker, link);
		worker_record_free(worker);
		log_error("cannot start worker %u: the monitor is stopping", slot + 1);
		return -ECANCELED;
	}
	return 0;
}

static long
milliseconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* A slot whose worker of the current generation is gone gets a new one. */
static void
restart_missing(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct monitor *monitor = arg;
	struct worker_record *worker;
	unsigned slot;

	if (monitor->stopping)
		return;
	for (slot = 0; slot < monitor->slot_count; slot++) {
		LIST_FOREACH(worker, &monitor->workers, link)
			if (worker->slot == slot && worker->generation == monitor->generation &&
			    !worker->draining)
				break;
		if (worker == NULL)
			supervisor_start_worker(monitor, slot);
	}
}

static void
worker_exited(struct monitor *monitor, struct worker_record *worker, int status)
{
	struct timeval later = { QUICK_DEATH_MS / 1000, (QUICK_DEATH_MS % 1000) * 1000 };
	int expected = monitor->stopping || worker->draining;
	unsigned slot = worker->slot;
	int quick = milliseconds_since(&worker->started) < QUICK_DEATH_MS;

	if (WIFSIGNALED(status))
		log_warning("worker %u (process %ld) killed by signal %d%s", worker->slot + 1,
		    (long)worker->pid, WTERMSIG(status),
		    expected || monitor->connection_fd >= 0 ? "" : "; starting another");
	else if (WEXITSTATUS(status) != 0 || !expected)
		log_warning("worker %u (process %ld) exited with status %d%s", worker->slot + 1,
		    (long)worker->pid, WEXITSTATUS(status),
		    expected || monitor->connection_fd >= 0 ? "" : "; starting another");
	else
		log_info("worker %u (process %ld) finished", worker->slot + 1, (long)worker->pid);
	/* Its sessions are gone with it, here and, at once, for every instance. */
	limits_subtract(&monitor->limits, &worker->counted);
	shared_state_sessions_changed(monitor->shared);
	LIST_REMOVE(worker, link);
	worker_record_free(worker);
	if (expected || monitor->connection_fd >= 0)
		return;
	/* The first workers cannot start (their messages say why): no server to run. */
	if (!monitor->announced_ready) {
		log_error("worker %u could not start; stopping", slot + 1);
		monitor->failed = 1;
		monitor->stopping = 1;
		supervisor_signal_all(monitor, SIGTERM);
		if (LIST_EMPTY(&monitor->workers))
			event_base_loopexit(monitor->base, NULL);
		return;
	}
	if (!quick) {
		restart_missing(-1, 0, monitor);
		return;
	}
	/* Dying at once again and again must not become a fork loop. */
	if (!evtimer_pending(monitor->restart_timer, NULL))
		evtimer_add(monitor->restart_timer, &later);
}

void
supervisor_reap(struct monitor *monitor)
{
	struct worker_record *worker;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (user_sessions_reap(monitor, pid, status))
			continue;
		LIST_FOREACH(worker, &monitor->workers, link)
			if (worker->pid == pid)
				break;
		if (worker != NULL)
			worker_exited(monitor, worker, status);
	}
	if ((monitor->stopping || monitor->connection_fd >= 0) && LIST_EMPTY(&monitor->workers) &&
	    LIST_EMPTY(&monitor->user_processes))
		event_base_loopexit(monitor->base, NULL);
}

void
supervisor_drain_all(struct monitor *monitor, unsigned reason)
{
	struct worker_record *worker;
	struct message_drain body;

	body.reason = reason;
	LIST_FOREACH(worker, &monitor->workers, link) {
		worker->draining = 1;
		if (worker->channel != NULL)
			message_send(worker->channel, MESSAGE_DRAIN, 0, &body);
	}
}

void
supervisor_signal_all(struct monitor *monitor, int signal_number)
{
	struct worker_record *worker;

	LIST_FOREACH(worker, &monitor->workers, link)
		if (worker->pid > 0)
			kill(worker->pid, signal_number);
}

void
supervisor_free_all(struct monitor *monitor)
{
	while (!LIST_EMPTY(&monitor->workers)) {
		struct worker_record *worker = LIST_FIRST(&monitor->workers);

		LIST_REMOVE(worker, link);
		worker_record_free(worker);
	}
}

struct event *
supervisor_restart_timer_new(struct monitor *monitor)
{
	return evtimer_new(monitor->base, restart_missing, monitor);
}
