/*
 * server/hand_off: the worker's side of a system user's move into a process
 * of the account's own. The replies sent so far leave first (a TLS write must
 * be finished by the SSL object that began it); the session's state and its
 * control connection then go to the monitor in one datagram on the hand-off
 * socket, and the monitor's answer comes back on the link.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log/log.h"
#include "monitor/link.h"
#include "monitor/message.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"
#include "reply/reply.h"
#include "server/hand_off.h"
#include "server/relay.h"
#include "server/server.h"
#include "session/session.h"
#include "tls/tls.h"
#include "util/attributes.h"

/* How long to wait for earlier replies to leave before handing off. */
#define FLUSH_RETRY_MS 10

struct hand_off {
	struct server *server;
	struct session *session;
	struct avatar *avatar;
	struct event *retry;
	struct monitor_request *request;
	int relay_fd;			/* TLS: the worker's end of the relay; else -1 */
};

static void
hand_off_free(struct hand_off *hand_off)
{
	if (hand_off->retry != NULL)
		event_free(hand_off->retry);
	monitor_request_cancel(hand_off->request);
	if (hand_off->relay_fd >= 0)
		close(hand_off->relay_fd);
	avatar_logout(hand_off->avatar);
	free(hand_off);
}

/* The session stays here just long enough to say it cannot go on. */
static void
give_up(struct hand_off *hand_off, const char *reason)
{
	struct session *session = hand_off->session;

	log_error("%s: cannot start a session process for %s: %s", session->peer_text,
	    hand_off->avatar->name, reason);
	hand_off_free(hand_off);
	session_reply(session, REPLY_SESSION_UNAVAILABLE);
	session_close_after_flush(session);
}

static void
relay_over(void *owner, struct relay *relay)
{
	server_relay_ended(owner, relay);
}

static void
handed_off(void *arg, const struct message *answer)
{
	struct hand_off *hand_off = arg;
	struct session *session = hand_off->session;
	struct server *server = hand_off->server;
	struct bufferevent *control;
	int relay_fd = hand_off->relay_fd;

	hand_off->request = NULL;
	/*
	 * Once the user process has it, the session counts there (the monitor
	 * moved it), even when the client has gone meanwhile: its end here must
	 * not be reported as the end of a session of this worker's.
	 */
	if (answer != NULL && answer->body.handed_off.error == 0)
		session->moved = 1;
	if (session_release(session)) {
		hand_off_free(hand_off);	/* the client went away meanwhile */
		return;
	}
	if (answer == NULL || answer->body.handed_off.error != 0) {
		give_up(hand_off, answer == NULL ? "the monitor is gone" :
		    strerror(-answer->body.handed_off.error));
		return;
	}
	log_info("%s: session of %s goes on in process %ld", session->peer_text,
	    hand_off->avatar->name, (long)answer->body.handed_off.pid);
	hand_off->relay_fd = -1;
	hand_off_free(hand_off);
	control = session_hand_over(session);
	if (control != NULL)
		server_relay_started(server, relay_new(server->base, control, relay_fd, relay_over,
		    server));
}

static uint32_t
session_flags(const struct session *session)
{
	uint32_t flags = 0;

	if (session->tls != NULL)
		flags |= MESSAGE_SESSION_TLS;
	if (session->protection_size_set)
		flags |= MESSAGE_SESSION_PBSZ;
	if (session->protect_data)
		flags |= MESSAGE_SESSION_PROTECT_DATA;
	if (!session->binary)
		flags |= MESSAGE_SESSION_ASCII;
	if (session->epsv_all)
		flags |= MESSAGE_SESSION_EPSV_ALL;
	return flags;
}

/* Fills body; -EMSGSIZE when the client sent more after PASS than a hand-off carries. */
static int
describe(struct session *session, const struct avatar *avatar, struct message_hand_off *body)
{
	struct evbuffer *input = bufferevent_get_input(session->control);
	size_t pending = evbuffer_get_length(input);

	memset(body, 0, sizeof(*body));
	memcpy(body->ticket, avatar->account->hand_off_ticket, sizeof(body->ticket));
	memcpy(&body->peer, &session->peer, session->peer_length);
	body->peer_length = session->peer_length;
	memcpy(&body->local, &session->local, session->local_length);
	body->local_length = session->local_length;
	body->front_length = session_front(session, &body->front);
	body->flags = session_flags(session);
	body->mlst_facts = session->mlst_facts;
	if (session->tls != NULL) {
		/* The relay forwards what is waiting; the token binds the data connections. */
		return tls_control_token(session->tls, body->tls_token) == 0 ? 0 : -EINVAL;
	}
	if (pending > sizeof(body->input))
		return -EMSGSIZE;
	body->input_length = (uint32_t)pending;
	evbuffer_copyout(input, body->input, pending);
	return 0;
}

/* One datagram: header, body and the descriptor. 0 or -errno. */
static int
send_hand_off(int socket_fd, uint32_t id, const struct message_hand_off *body, int fd)
{
	struct message_header header = { MESSAGE_HAND_OFF, sizeof(*body), id };
	union {
		struct cmsghdr header;
		char space[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec parts[2] = {
		{ &header, sizeof(header) },
		{ (void *)body, sizeof(*body) },
	};
	struct msghdr message = { .msg_iov = parts, .msg_iovlen = 2,
	    .msg_control = control.space, .msg_controllen = sizeof(control.space) };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&message);

	memset(&control, 0, sizeof(control));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(socket_fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return -errno;
	return 0;
}

static void request_hand_off(struct hand_off *hand_off);

static void
retry(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct hand_off *hand_off = arg;

	if (session_release(hand_off->session)) {
		hand_off_free(hand_off);
		return;
	}
	request_hand_off(hand_off);
}

static void
request_hand_off(struct hand_off *hand_off)
{
	struct session *session = hand_off->session;
	struct server *server = hand_off->server;
	struct message_hand_off body;
	int pair[2], fd, error;
	uint32_t id;

	if (evbuffer_get_length(session_output(session)) != 0) {
		struct timeval later = { 0, FLUSH_RETRY_MS * 1000 };

		if (hand_off->retry == NULL)
			hand_off->retry = evtimer_new(server->base, retry, hand_off);
		if (hand_off->retry == NULL || evtimer_add(hand_off->retry, &later) != 0) {
			give_up(hand_off, "out of memory");
			return;
		}
		session_hold(session);
		return;
	}
	error = describe(session, hand_off->avatar, &body);
	if (error != 0) {
		give_up(hand_off, error == -EMSGSIZE ? "too many commands sent after PASS" :
		    "no TLS session token");
		return;
	}
	fd = session_control_fd(session);
	/*
	 * From now on the user process reads the socket: what this process
	 * read after describe() would be lost with the session (the client's
	 * next command, sent as soon as the 230 arrives). With TLS the relay
	 * passes on whatever is read.
	 */
	if (session->tls == NULL)
		bufferevent_disable(session->control, EV_READ);
	if (session->tls != NULL) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
			give_up(hand_off, strerror(errno));
			return;
		}
		hand_off->relay_fd = pair[0];
		fd = pair[1];
	}
	/* Held until the answer; handed_off releases (at once when the link is gone). */
	session_hold(session);
	hand_off->request = monitor_link_expect(server->link, &id, handed_off, hand_off);
	if (hand_off->request == NULL) {
		if (session->tls != NULL)
			close(pair[1]);
		return;
	}
	error = send_hand_off(server->hand_off_fd, id, &body, fd);
	explicit_bzero(&body, sizeof(body));
	if (session->tls != NULL)
		close(pair[1]);
	if (error != 0) {
		monitor_request_cancel(hand_off->request);
		hand_off->request = NULL;
		session_release(session);
		give_up(hand_off, strerror(-error));
	}
}

void
hand_off_start(struct server *server, struct session *session, struct avatar *avatar)
{
	struct hand_off *hand_off;

	if (server->link == NULL || server->hand_off_fd < 0 || avatar->account == NULL) {
		log_error("%s: login of %s needs a process of its own, which this one cannot "
		    "start", session->peer_text, avatar->name);
		avatar_logout(avatar);
		session_reply(session, REPLY_SESSION_UNAVAILABLE);
		session_close_after_flush(session);
		return;
	}
	hand_off = calloc(1, sizeof(*hand_off));
	if (hand_off == NULL) {
		log_error("%s: cannot start a session process: out of memory", session->peer_text);
		avatar_logout(avatar);
		session_reply(session, REPLY_SESSION_UNAVAILABLE);
		session_close_after_flush(session);
		return;
	}
	hand_off->server = server;
	hand_off->session = session;
	hand_off->avatar = avatar;
	hand_off->relay_fd = -1;
	request_hand_off(hand_off);
}
