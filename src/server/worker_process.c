/*
 * server/worker_process: becoming a worker. The monitor's loop and every
 * descriptor the worker has no business with go first (other workers'
 * sockets to the monitor included, so a worker's death is seen at once),
 * then root, then the worker runs a server of its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "config/settings.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "server/server.h"
#include "server/worker_process.h"
#include "util/process_title.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#ifdef FTPD_TEST_HOOKS
#include <sys/socket.h>

#include <fcntl.h>
#include <string.h>

#include "monitor/message.h"
#endif

/* Listeners, the connection, the monitor socket, the xferlog, stdio. */
#define KEEP_MAX (CONFIG_MAX_LISTEN + 8)

static void
leave_monitor(const struct worker_start *start)
{
	int keep[KEEP_MAX];
	int count = 0;
	unsigned i;

	keep[count++] = STDIN_FILENO;
	keep[count++] = STDOUT_FILENO;
	keep[count++] = STDERR_FILENO;
	keep[count++] = start->monitor_fd;
	keep[count++] = start->hand_off_fd;
	keep[count++] = start->connection_fd;
	keep[count++] = start->xferlog != NULL ? xferlog_fd(start->xferlog) : -1;
	for (i = 0; i < start->listener_count && count < KEEP_MAX; i++)
		keep[count++] = start->listeners[i].fd;
	daemon_leave_monitor(start->monitor_base, start->monitor_pid, keep, count);
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

#ifdef FTPD_TEST_HOOKS
/*
 * Test builds only (make check's ftpd-test-hooks, never installed):
 * FTPD_TEST_HOOK=KIND:FILE makes the one worker that finds FILE remove it
 * and then send the monitor what a compromised worker could, to show that
 * this costs the worker and never the monitor.
 */
static void
misbehave_now(evutil_socket_t fd, short what, void *arg)
{
	const struct worker_start *start = arg;
	const char *hook = getenv("FTPD_TEST_HOOK"), *file;
	struct message_header header = { 0, 0, 1 };
	struct message_admit admit;
	unsigned char bytes[sizeof(header) + sizeof(union message_body)];
	size_t length = sizeof(header);
	ssize_t ignored;

	if (hook == NULL || (file = strchr(hook, ':')) == NULL || unlink(file + 1) != 0)
		return;
	memset(bytes, 0, sizeof(bytes));
	memset(&admit, 0, sizeof(admit));
	if (strncmp(hook, "unknown-type:", 13) == 0) {
		header.type = 999;
		header.length = 4;
		length += 4;
	} else if (strncmp(hook, "oversized:", 10) == 0) {
		header.type = MESSAGE_AUTHENTICATE;
		header.length = 0x7fffffff;
	} else if (strncmp(hook, "bad-field:", 10) == 0) {
		header.type = MESSAGE_ADMIT;
		header.length = sizeof(admit);
		admit.address.length = 5;
		memcpy(bytes + sizeof(header), &admit, sizeof(admit));
		length += sizeof(admit);
	} else if (strncmp(hook, "foreign-session:", 16) == 0) {
		struct message_session_ended ended;

		memset(&ended, 0, sizeof(ended));
		header.type = MESSAGE_SESSION_ENDED;
		header.length = sizeof(ended);
		ended.address.length = 4;
		memcpy(bytes + sizeof(header), &ended, sizeof(ended));
		length += sizeof(ended);
	} else if (strncmp(hook, "foreign-login:", 14) == 0) {
		struct message_login login;

		memset(&login, 0, sizeof(login));
		header.type = MESSAGE_LOGIN;
		header.length = sizeof(login);
		login.address.length = 4;
		strcpy(login.user, "root");
		memcpy(bytes + sizeof(header), &login, sizeof(login));
		length += sizeof(login);
	} else if (strncmp(hook, "forged-hand-off:", 16) == 0) {
		struct message_hand_off body;
		union {
			struct cmsghdr header;
			char space[CMSG_SPACE(sizeof(int))];
		} control;
		struct iovec parts[2] = { { &header, sizeof(header) }, { &body, sizeof(body) } };
		struct msghdr message = { .msg_iov = parts, .msg_iovlen = 2,
		    .msg_control = control.space, .msg_controllen = sizeof(control.space) };
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);
		int null = open("/dev/null", O_RDWR);

		memset(&body, 0, sizeof(body));
		memset(&control, 0, sizeof(control));
		body.peer.ss_family = AF_UNIX;
		body.peer_length = sizeof(sa_family_t);
		header.type = MESSAGE_HAND_OFF;
		header.length = sizeof(body);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &null, sizeof(int));
		ignored = sendmsg(start->hand_off_fd, &message, MSG_NOSIGNAL);
		(void)ignored;
		return;
	} else
		return;
	memcpy(bytes, &header, sizeof(header));
	ignored = write(start->monitor_fd, bytes, length);
	(void)ignored;
	(void)fd;
	(void)what;
}

/* Once the worker is up (its READY sent): a start that fails is another story. */
static void
misbehave_once(struct event_base *base, const struct worker_start *start)
{
	static struct worker_start copy;
	struct timeval later = { 0, 300 * 1000 };

	copy = *start;
	event_base_once(base, -1, EV_TIMEOUT, misbehave_now, &copy, &later);
}
#endif

void
worker_process_run(const struct worker_start *start)
{
	struct event_base *base;
	struct server *server;
	char title[32];

	leave_monitor(start);
	snprintf(title, sizeof(title), "worker %u", start->number);
	process_title_set(title);

	if (start->identity != NULL) {
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
	if (server != NULL)
		server->hand_off_fd = start->hand_off_fd;
	if (server == NULL || server_stop_on_signals(server) != 0 ||
	    open_connections(server, start) != 0 || server_ready(server) != 0)
		_exit(1);
#ifdef FTPD_TEST_HOOKS
	misbehave_once(base, start);
#endif
	event_base_dispatch(base);
	server_free(server);
	event_base_free(base);
	log_close();
#ifdef __SANITIZE_ADDRESS__
	/* _exit skips LeakSanitizer's check at exit: sanitizer builds look here. */
	__lsan_do_leak_check();
#endif
	/* The monitor's structures came along with the fork and are never freed here. */
	_exit(0);
}
