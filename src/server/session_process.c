/*
 * session_process: moves a logged-in session into a process of its own that
 * runs with the account's uid and groups, so the kernel checks every file
 * operation it makes. The listening process stays root (PAM needs it) but
 * never opens a user's file.
 *
 * The fork happens on the loop thread while no worker thread runs a job
 * (worker_pool_run_exclusive), so no lock the child may need is held by a
 * thread that does not exist there. The child stops the listening process's
 * event loop without touching the kernel objects it shares with the parent
 * (event_reinit before event_base_free), closes every descriptor but its own
 * connection and the xferlog, becomes the user, and runs a loop of its own.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config/settings.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"
#include "server/daemon.h"
#include "server/server.h"
#include "server/session_process.h"
#include "session/session.h"
#include "util/attributes.h"
#include "util/descriptors.h"
#include "util/worker_pool.h"

/* How long to wait for earlier replies to leave before forking (TLS writes must not move). */
#define FLUSH_RETRY_MS 10

struct handoff {
	struct server *server;		/* the listening process's */
	struct session *session;
	struct avatar *avatar;
	struct event *retry;
};

static void request_fork(struct handoff *handoff);

static void
retry_fork(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	request_fork(arg);
}

static void
handoff_free(struct handoff *handoff)
{
	if (handoff->retry != NULL)
		event_free(handoff->retry);
	avatar_logout(handoff->avatar);
	free(handoff);
}

/* The session stays in this process just long enough to say it cannot go on. */
static void
give_up(struct handoff *handoff, const char *reason)
{
	struct session *session = handoff->session;

	log_error("%s: cannot start a session process for %s: %s", session->peer_text,
	    handoff->avatar->name, reason);
	handoff_free(handoff);
	session_reply(session, REPLY_SESSION_UNAVAILABLE);
	session_close_after_flush(session);
}

/* Guests run as the configured user, with that user's groups. */
static int
become_configured_user(const char *name)
{
	struct daemon_identity identity;
	int error;

	if (name == NULL) {
		log_error("no user is configured for guest sessions");
		return -EPERM;
	}
	error = daemon_identity_lookup(name, &identity);
	if (error != 0)
		return error;
	return daemon_take_identity(&identity, NULL);
}

static int
become(const struct avatar *avatar, const struct config *config)
{
	const struct system_account *account = avatar->account;

	if (account == NULL)
		return become_configured_user(config->user);
	return daemon_become(avatar->name, account->uid, account->gid, account->groups,
	    account->group_count);
}

/* In the child, from the fork on: never returns. */
static void __attribute__((noreturn))
run_session_process(struct server *listening, struct session *session, struct avatar *avatar)
{
	struct event_base *base;
	struct xferlog *xferlog = listening->xferlog;
	struct settings *settings = settings_hold(session->settings);
	struct evbuffer *input = evbuffer_new();
	struct server *server;
	int keep[5], error;

	/* What the client sent after PASS is already read; it moves along. */
	if (input == NULL ||
	    evbuffer_add_buffer(input, bufferevent_get_input(session->control)) != 0)
		_exit(1);
	/*
	 * The epoll instance is shared with the parent: removing the parent's
	 * events from it here would stop them there. Give this process its own
	 * first, then free the loop with everything on it.
	 */
	event_reinit(listening->base);
	event_base_free(listening->base);

	keep[0] = 0;
	keep[1] = 1;
	keep[2] = 2;
	keep[3] = session_control_fd(session);
	keep[4] = xferlog_fd(xferlog);
	descriptors_close_except(keep, 5);
	log_reopen_after_fork();

	error = become(avatar, session->config);

	base = event_base_new();
	if (base == NULL)
		_exit(1);
	server = server_new_for_session_process(base, settings, xferlog);
	if (server == NULL || session_move_to(session, &server->services, input) != 0)
		_exit(1);
	evbuffer_free(input);
	session->identity_fixed = 1;

	if (error != 0) {
		avatar_logout(avatar);
		session_reply(session, REPLY_SESSION_UNAVAILABLE);
		session_close_after_flush(session);
	} else if (portal_open_shell(session->settings->portal, avatar, server->host) != 0) {
		log_info("%s: login refused: %s: home directory unavailable", session->peer_text,
		    avatar->name);
		avatar_logout(avatar);
		session_login_refused(session);
		session_reply(session, REPLY_HOME_UNAVAILABLE);
		session_close_after_flush(session);
	} else
		session_logged_in(session, avatar);

	event_base_dispatch(base);
	server_free(server);
	event_base_free(base);
	log_close();
	/*
	 * _exit: the listening process's structures came along with the fork
	 * and are deliberately never freed here; nothing is buffered in stdio.
	 */
	_exit(0);
}

/*
 * inetd mode: stdout is the connection too. Once the child has it, the
 * client must see the end of the connection when the child closes it.
 */
static void
release_inetd_socket(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (null < 0)
		return;
	dup2(null, STDIN_FILENO);
	dup2(null, STDOUT_FILENO);
	if (null > STDOUT_FILENO)
		close(null);
}

static void
fork_when_quiet(void *arg, int cancelled)
{
	struct handoff *handoff = arg;
	struct session *session = handoff->session;
	struct server *server;
	struct avatar *avatar;
	int inetd;
	pid_t pid;

	if (session_release(session)) {
		handoff_free(handoff);		/* the client went away meanwhile */
		return;
	}
	if (cancelled) {
		give_up(handoff, "the server is stopping");
		return;
	}
	/*
	 * An unfinished TLS write must be retried with the same bytes by the
	 * same SSL object; let earlier replies leave first.
	 */
	if (evbuffer_get_length(session_output(session)) != 0) {
		struct timeval later = { 0, FLUSH_RETRY_MS * 1000 };

		if (handoff->retry == NULL)
			handoff->retry = evtimer_new(handoff->server->base, retry_fork, handoff);
		session_hold(session);
		if (handoff->retry == NULL || evtimer_add(handoff->retry, &later) != 0) {
			session_release(session);
			give_up(handoff, "out of memory");
		}
		return;
	}
	pid = fork();
	if (pid < 0) {
		give_up(handoff, strerror(errno));
		return;
	}
	avatar = handoff->avatar;
	server = handoff->server;
	if (pid == 0) {
		handoff->avatar = NULL;
		handoff->retry = NULL;		/* belongs to the loop the child drops */
		free(handoff);
		run_session_process(server, session, avatar);
	}
	log_info("%s: session of %s goes on in process %ld", session->peer_text, avatar->name,
	    (long)pid);
	handoff_free(handoff);
	inetd = session_control_fd(session) == STDIN_FILENO;
	server_session_moved(server, session, pid);
	session_free_moved(session);
	if (inetd)
		release_inetd_socket();
}

static void
request_fork(struct handoff *handoff)
{
	struct session *session = handoff->session;

	if (worker_pool_run_exclusive(handoff->server->workers, fork_when_quiet, handoff) != 0) {
		if (session_release(session))
			handoff_free(handoff);
		else
			give_up(handoff, "the server is stopping");
	}
}

void
session_process_start(struct server *server, struct session *session, struct avatar *avatar)
{
	struct handoff *handoff;

	handoff = calloc(1, sizeof(*handoff));
	if (handoff == NULL) {
		log_error("%s: cannot start a session process: out of memory",
		    session->peer_text);
		avatar_logout(avatar);
		session_reply(session, REPLY_SESSION_UNAVAILABLE);
		session_close_after_flush(session);
		return;
	}
	handoff->server = server;
	handoff->session = session;
	handoff->avatar = avatar;
	/* The session waits (held) until it has moved or given up. */
	session_hold(session);
	request_fork(handoff);
}
