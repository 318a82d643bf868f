/*
 * monitor/user_sessions: system_users sessions in processes of the account's
 * own. A worker may hand off only a login the monitor itself checked for it
 * (a one-time ticket): whom the process becomes is the monitor's record,
 * never the worker's word. The process is forked from the monitor (never
 * from a worker, which has read client bytes) and drops to the account
 * before it reads anything.
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include "config/settings.h"
#include "log/log.h"
#include "monitor/state.h"
#include "server/user_process.h"
#include "shared_state/shared_state.h"
#include "util/worker_pool.h"

/* How long a ticket stays good: the worker hands off right after the login. */
#define TICKET_LIFETIME_SECONDS 30

struct hand_off_ticket {
	struct hand_off_ticket *next;
	unsigned char ticket[MESSAGE_TICKET_SIZE];
	struct avatar_id *id;
	time_t expires;
};

/* A user process: its session counts against the limits until it exits. */
struct user_process {
	LIST_ENTRY(user_process) link;
	pid_t pid;
	struct message_address address;
	char name[CHECKER_USER_MAX + 1];
};

/* A hand-off accepted, waiting for the threads to let the fork happen. */
struct pending_spawn {
	LIST_ENTRY(pending_spawn) link;
	struct monitor *monitor;
	struct worker_record *worker;	/* NULL once the worker is gone */
	uint32_t id;
	int connection_fd;
	struct avatar_id *id_record;
	struct settings *settings;	/* the worker's generation (held) */
	struct message_hand_off hand_off;
};

static time_t
now_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

static struct avatar_id *
copy_id(const struct avatar_id *id)
{
	struct avatar_id *copy;

	if (avatar_id_new(id->name, id->home, id->anonymous, &copy) != 0)
		return NULL;
	copy->read_only = id->read_only;
	copy->settings = id->settings;
	copy->account = malloc(sizeof(*copy->account));
	if (copy->account == NULL) {
		avatar_id_free(copy);
		return NULL;
	}
	*copy->account = *id->account;
	return copy;
}

static void
ticket_free(struct hand_off_ticket *ticket)
{
	avatar_id_free(ticket->id);
	explicit_bzero(ticket->ticket, sizeof(ticket->ticket));
	free(ticket);
}

/* Drops expired tickets, and the oldest when the worker has too many. */
static void
prune_tickets(struct worker_record *worker)
{
	struct hand_off_ticket **slot = &worker->tickets;
	time_t now = now_seconds();
	unsigned kept = 0;

	while (*slot != NULL) {
		struct hand_off_ticket *ticket = *slot;

		if (ticket->expires > now && kept < MONITOR_CHECKS_PER_WORKER) {
			kept++;
			slot = &ticket->next;
			continue;
		}
		*slot = ticket->next;
		ticket_free(ticket);
		worker->ticket_count--;
	}
}

int
user_sessions_grant(struct worker_record *worker, const struct avatar_id *id,
    unsigned char ticket_out[MESSAGE_TICKET_SIZE])
{
	struct hand_off_ticket *ticket = calloc(1, sizeof(*ticket));

	if (ticket == NULL)
		return -ENOMEM;
	ticket->id = copy_id(id);
	if (ticket->id == NULL ||
	    getrandom(ticket->ticket, sizeof(ticket->ticket), 0) != sizeof(ticket->ticket)) {
		avatar_id_free(ticket->id);
		free(ticket);
		return -ENOMEM;
	}
	ticket->expires = now_seconds() + TICKET_LIFETIME_SECONDS;
	/* Newest first: pruning keeps the newest. */
	ticket->next = worker->tickets;
	worker->tickets = ticket;
	worker->ticket_count++;
	prune_tickets(worker);
	memcpy(ticket_out, ticket->ticket, MESSAGE_TICKET_SIZE);
	return 0;
}

/* The login the ticket stands for, taken (tickets are good once). NULL: none. */
static struct avatar_id *
redeem(struct worker_record *worker, const unsigned char ticket[MESSAGE_TICKET_SIZE])
{
	struct hand_off_ticket **slot;
	struct avatar_id *id;

	prune_tickets(worker);
	for (slot = &worker->tickets; *slot != NULL; slot = &(*slot)->next)
		if (CRYPTO_memcmp((*slot)->ticket, ticket, MESSAGE_TICKET_SIZE) == 0)
			break;
	if (*slot == NULL)
		return NULL;
	id = (*slot)->id;
	(*slot)->id = NULL;
	{
		struct hand_off_ticket *used = *slot;

		*slot = used->next;
		ticket_free(used);
		worker->ticket_count--;
	}
	return id;
}

static void
answer_hand_off(struct worker_record *worker, uint32_t id, int error, pid_t pid)
{
	struct message_handed_off body = { error, (int32_t)pid };

	if (worker != NULL && worker->channel != NULL &&
	    message_send(worker->channel, MESSAGE_HANDED_OFF, id,
	    &body) != 0)
		monitor_cut_off(worker, "out of memory for its answer");
}

static void
pending_spawn_free(struct pending_spawn *spawn)
{
	LIST_REMOVE(spawn, link);
	if (spawn->connection_fd >= 0)
		close(spawn->connection_fd);
	avatar_id_free(spawn->id_record);
	settings_release(spawn->settings);
	explicit_bzero(&spawn->hand_off, sizeof(spawn->hand_off));
	free(spawn);
}

static void
forked(struct pending_spawn *spawn)
{
	struct monitor *monitor = spawn->monitor;
	struct user_start start;

	memset(&start, 0, sizeof(start));
	start.monitor_base = monitor->base;
	start.monitor_pid = getppid();
	start.connection_fd = spawn->connection_fd;
	start.hand_off = &spawn->hand_off;
	start.id = spawn->id_record;
	start.settings = spawn->settings;
	start.xferlog = monitor->xferlog;
	user_process_run(&start);
}

static void
fork_now(void *arg, int cancelled)
{
	struct pending_spawn *spawn = arg;
	struct monitor *monitor = spawn->monitor;
	struct worker_record *worker = spawn->worker;
	struct message_address address;
	struct user_process *process;
	pid_t pid;

	/* The worker died meanwhile: its client is gone with it. */
	if (cancelled || worker == NULL || monitor->stopping) {
		answer_hand_off(worker, spawn->id, -ECANCELED, 0);
		pending_spawn_free(spawn);
		return;
	}
	process = calloc(1, sizeof(*process));
	pid = process != NULL ? fork() : -1;
	if (pid < 0) {
		log_error("cannot start a session process for %s: %s", spawn->id_record->name,
		    process == NULL ? "out of memory" : strerror(errno));
		free(process);
		answer_hand_off(worker, spawn->id, -EAGAIN, 0);
		pending_spawn_free(spawn);
		return;
	}
	if (pid == 0)
		forked(spawn);
	/* The session counts here now, until that process exits. */
	message_address_from((const struct sockaddr *)&spawn->hand_off.peer, &address);
	process->pid = pid;
	process->address = address;
	snprintf(process->name, sizeof(process->name), "%s", spawn->id_record->name);
	LIST_INSERT_HEAD(&monitor->user_processes, process, link);
	if (limits_remove(&worker->counted, &address, 1, process->name) != 0)
		limits_add(&monitor->limits, &address, 1, process->name);	/* count it anyway */
	answer_hand_off(worker, spawn->id, 0, pid);
	pending_spawn_free(spawn);
}

/* One datagram: the message and the control connection's descriptor. -errno if malformed. */
static int
receive_hand_off(int socket_fd, struct message *message, int *connection_fd)
{
	union {
		struct cmsghdr header;
		char space[CMSG_SPACE(sizeof(int)) * 2];
	} control;
	struct message_header header;
	struct iovec parts[2] = {
		{ &header, sizeof(header) },
		{ &message->body, sizeof(message->body) },
	};
	struct msghdr received = { .msg_iov = parts, .msg_iovlen = 2,
	    .msg_control = control.space, .msg_controllen = sizeof(control.space) };
	struct cmsghdr *cmsg;
	struct evbuffer *buffer;
	ssize_t length;
	int status, fds = 0;

	*connection_fd = -1;
	length = recvmsg(socket_fd, &received, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (length < 0)
		return errno == EAGAIN || errno == EINTR ? -EAGAIN : -errno;
	if (length == 0)
		return -EPIPE;
	for (cmsg = CMSG_FIRSTHDR(&received); cmsg != NULL; cmsg = CMSG_NXTHDR(&received, cmsg))
		if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
			int *passed = (int *)CMSG_DATA(cmsg);
			size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int), i;

			for (i = 0; i < count; i++) {
				if (fds++ == 0)
					*connection_fd = passed[i];
				else
					close(passed[i]);
			}
		}
	if (fds != 1 || (received.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0)
		return -EPROTO;
	/* The same checks as on the other socket: header, length, fields. */
	buffer = evbuffer_new();
	if (buffer == NULL)
		return -ENOMEM;
	evbuffer_add(buffer, &header, sizeof(header));
	evbuffer_add(buffer, &message->body, (size_t)length - sizeof(header) <=
	    sizeof(message->body) && (size_t)length >= sizeof(header) ?
	    (size_t)length - sizeof(header) : 0);
	status = message_take(buffer, message);
	if (status == 1 && evbuffer_get_length(buffer) != 0)
		status = -EMSGSIZE;
	evbuffer_free(buffer);
	if (status == 0)
		return -EMSGSIZE;
	if (status < 0)
		return status;
	return message->header.type == MESSAGE_HAND_OFF ? 0 : -EPROTO;
}

void
user_sessions_readable(evutil_socket_t fd, short what, void *arg)
{
	struct worker_record *worker = arg;
	struct monitor *monitor = worker->monitor;
	struct pending_spawn *spawn;
	struct message message;
	struct avatar_id *id;
	int connection_fd, status;

	(void)what;
	status = receive_hand_off((int)fd, &message, &connection_fd);
	if (status == -EAGAIN)
		return;
	if (status != 0) {
		if (connection_fd >= 0)
			close(connection_fd);
		if (status == -EPIPE) {
			event_del(worker->hand_off_event);
			return;
		}
		monitor_cut_off(worker, "malformed hand-off");
		return;
	}
	id = redeem(worker, message.body.hand_off.ticket);
	if (id == NULL) {
		close(connection_fd);
		monitor_cut_off(worker, "it handed off a session nobody logged in");
		return;
	}
	spawn = calloc(1, sizeof(*spawn));
	if (spawn == NULL) {
		close(connection_fd);
		avatar_id_free(id);
		answer_hand_off(worker, message.header.id, -ENOMEM, 0);
		return;
	}
	spawn->monitor = monitor;
	spawn->worker = worker;
	spawn->id = message.header.id;
	spawn->connection_fd = connection_fd;
	spawn->id_record = id;
	spawn->settings = settings_hold(worker->settings);
	spawn->hand_off = message.body.hand_off;
	explicit_bzero(&message, sizeof(message));
	LIST_INSERT_HEAD(&monitor->spawns, spawn, link);
	if (worker_pool_run_exclusive(monitor->threads, fork_now, spawn) != 0) {
		answer_hand_off(worker, spawn->id, -ECANCELED, 0);
		pending_spawn_free(spawn);
	}
}

int
user_sessions_reap(struct monitor *monitor, pid_t pid, int status)
{
	struct user_process *process;

	LIST_FOREACH(process, &monitor->user_processes, link)
		if (process->pid == pid)
			break;
	if (process == NULL)
		return 0;
	if (WIFSIGNALED(status))
		log_warning("session process %ld of %s killed by signal %d", (long)pid,
		    process->name, WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		log_warning("session process %ld of %s exited with status %d", (long)pid,
		    process->name, WEXITSTATUS(status));
	limits_remove(&monitor->limits, &process->address, 1, process->name);
	shared_state_session_ended(monitor->shared, &process->address);
	shared_state_logged_out(monitor->shared, process->name);
	LIST_REMOVE(process, link);
	free(process);
	return 1;
}

void
user_sessions_signal_all(struct monitor *monitor, int signal_number)
{
	struct user_process *process;

	LIST_FOREACH(process, &monitor->user_processes, link)
		kill(process->pid, signal_number);
}

void
user_sessions_forget_worker(struct worker_record *worker)
{
	struct pending_spawn *spawn;

	LIST_FOREACH(spawn, &worker->monitor->spawns, link)
		if (spawn->worker == worker)
			spawn->worker = NULL;
	while (worker->tickets != NULL) {
		struct hand_off_ticket *ticket = worker->tickets;

		worker->tickets = ticket->next;
		ticket_free(ticket);
	}
	worker->ticket_count = 0;
}

void
user_sessions_free_all(struct monitor *monitor)
{
	while (!LIST_EMPTY(&monitor->user_processes)) {
		struct user_process *process = LIST_FIRST(&monitor->user_processes);

		LIST_REMOVE(process, link);
		free(process);
	}
	while (!LIST_EMPTY(&monitor->spawns))
		pending_spawn_free(LIST_FIRST(&monitor->spawns));
}
