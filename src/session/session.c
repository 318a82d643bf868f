/*
 * session: the protocol interpreter for one control connection.
 * Reads lines, validates them against the command table, runs one command at a time.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "config/config.h"
#include "config/settings.h"
#include "dtp/dtp.h"
#include "dtp/transfer.h"
#include "listing/listing.h"
#include "log/log.h"
#include "portal/portal.h"
#include "session/command_table.h"
#include "session/operation.h"
#include "session/session.h"
#include "tls/tls.h"
#include "util/attributes.h"
#include "util/tcp.h"

/* Input kept unread while a command is busy; beyond it the socket is not read. */
#define SESSION_INPUT_HIGH_WATERMARK (64 * 1024)
/* Longest command word worth looking up; longer ones are unknown. */
#define COMMAND_NAME_MAX 8

static void session_read(struct bufferevent *control, void *arg);
static void session_written(struct bufferevent *control, void *arg);
static void session_event(struct bufferevent *control UNUSED, short what, void *arg);
static void session_process_input(struct session *session);
static void run_subcommand(struct session *session, const struct command *parent,
    const char *argument);

static void
format_peer(struct session *session)
{
	const struct sockaddr *peer = (const struct sockaddr *)&session->peer;
	char address[INET6_ADDRSTRLEN] = "?";

	if (peer->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr,
		    address, sizeof(address));
	else if (peer->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr,
		    address, sizeof(address));
	else if (peer->sa_family == AF_UNIX)
		snprintf(address, sizeof(address), "local");
	snprintf(session->peer_text, sizeof(session->peer_text), "%s", address);
}

/*
 * Session timers. Any byte used to reset the idle timeout and a TLS
 * handshake had none, so a client could hold a connection forever by
 * trickling bytes or by never finishing a handshake. Now each deadline has
 * one owner: the handshake (tls_handshake_timeout), a complete command
 * (idle_timeout, counted only while the server waits for the client), the
 * whole login (login_timeout), and after a timeout reply the close itself,
 * so a client that never reads cannot keep the connection either.
 */
#define SESSION_CLOSE_GRACE_SECONDS 10

static void session_close_now(struct session *session);

static void
arm_command_timer(struct session *session, unsigned seconds)
{
	struct timeval deadline = { (time_t)seconds, 0 };

	if (session->command_timer != NULL)
		evtimer_add(session->command_timer, &deadline);
}

/* The client is expected to send a command now: idle_timeout counts. */
static void
expect_command(struct session *session)
{
	if (session->command_timer == NULL || session->tls_handshaking || session->timed_out ||
	    session->dead)
		return;
	if (session->transfer != NULL) {
		/* A long transfer is not idleness: the data connection has its stall timeout. */
		evtimer_del(session->command_timer);
		return;
	}
	arm_command_timer(session, session->config->idle_timeout);
}

/* A timeout was said: the connection ends once the reply is out, or soon anyway. */
static void
time_out(struct session *session, enum reply_id reply, unsigned seconds)
{
	char text[16];

	snprintf(text, sizeof(text), "%u", seconds);
	session_reply(session, reply, text);
	session_close_after_flush(session);
	session->timed_out = 1;
	arm_command_timer(session, SESSION_CLOSE_GRACE_SECONDS);
	if (session->control != NULL)
		bufferevent_enable(session->control, EV_WRITE);
}

static void
login_timer_start(struct session *session)
{
	struct timeval deadline = { (time_t)session->config->login_timeout, 0 };

	evtimer_add(session->login_timer, &deadline);
}

static void
command_deadline(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct session *session = arg;

	if (session->dead)
		return;
	if (session->tls_handshaking) {
		/* No reply can go out over an unfinished handshake. */
		log_info("%s: TLS handshake timeout", session->peer_text);
		session_close_now(session);
		return;
	}
	if (session->timed_out) {
		log_info("%s: closed: the timeout reply was not read", session->peer_text);
		session_close_now(session);
		return;
	}
	/* The server is working on a command (or a transfer runs): nobody is idle. */
	if (session->busy || session->transfer != NULL) {
		expect_command(session);
		return;
	}
	log_info("%s: idle timeout", session->peer_text);
	time_out(session, REPLY_TIMEOUT, session->config->idle_timeout);
}

static void
login_deadline(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct session *session = arg;

	if (session->dead || session->state == SESSION_AUTHED || session->timed_out)
		return;
	log_info("%s: login timeout", session->peer_text);
	if (session->tls_handshaking) {
		session_close_now(session);
		return;
	}
	time_out(session, REPLY_LOGIN_TIMEOUT, session->config->login_timeout);
}

/*
 * Puts a bufferevent on the control socket: plain, or (ssl set) TLS with the
 * handshake still to come, or already done (ssl_state). NULL on failure (the
 * fd stays open).
 */
static struct bufferevent *
control_bufferevent(struct session *session, int fd, SSL *ssl,
    enum bufferevent_ssl_state ssl_state)
{
	struct bufferevent *control;

	if (ssl == NULL)
		control = bufferevent_socket_new(session->services->base, fd, BEV_OPT_CLOSE_ON_FREE);
	else
		control = bufferevent_openssl_socket_new(session->services->base, fd, ssl,
		    ssl_state, BEV_OPT_CLOSE_ON_FREE);
	if (control == NULL)
		return NULL;
	if (ssl != NULL)
		bufferevent_openssl_set_allow_dirty_shutdown(control, 1);
	bufferevent_setcb(control, session_read, session_written, session_event, session);
	bufferevent_setwatermark(control, EV_READ, 0, SESSION_INPUT_HIGH_WATERMARK);
	/*
	 * A new bufferevent has writing enabled but no write event: one is
	 * added only when output waits. Enabling it again would add one now,
	 * and wake the loop for an empty buffer.
	 */
	bufferevent_enable(control, ssl != NULL ? EV_READ | EV_WRITE : EV_READ);
	return control;
}

struct session *
session_new(const struct session_services *services, struct settings *settings, int fd,
    const struct sockaddr *peer, socklen_t peer_length, int implicit_tls)
{
	const struct config *config;
	struct session *session;
	SSL *ssl = NULL;
	int one = 1;

	session = calloc(1, sizeof(*session));
	if (session == NULL) {
		close(fd);
		return NULL;
	}
	session->services = services;
	session->settings = settings_hold(settings);
	session->config = config = &session->settings->config;
	session->state = SESSION_UNAUTH;
	session->binary = 1;
	session->working_directory = PATH_ROOT;
	session->rename_from = PATH_ROOT;
	session->mlst_facts = FACT_DEFAULT;
	line_reader_init(&session->line_reader);
	if (peer_length > sizeof(session->peer))
		peer_length = sizeof(session->peer);
	memcpy(&session->peer, peer, peer_length);
	session->peer_length = peer_length;
	session->local_length = sizeof(session->local);
	if (getsockname(fd, (struct sockaddr *)&session->local, &session->local_length) != 0)
		session->local_length = 0;
	format_peer(session);
	services->session_started(services->owner, session);

	/* Telnet "Synch" puts urgent data on the wire; keep it in the stream. */
	setsockopt(fd, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one));
	evutil_make_socket_nonblocking(fd);
	tcp_send_at_once(fd);
	if (implicit_tls) {
		ssl = tls_control_new(session->settings->tls);
		session->tls = ssl;
	}
	if (!implicit_tls || ssl != NULL)
		session->control = control_bufferevent(session, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING);
	session->command_timer = evtimer_new(services->base, command_deadline, session);
	session->login_timer = evtimer_new(services->base, login_deadline, session);
	if (session->control == NULL ||
	    session->command_timer == NULL || session->login_timer == NULL) {
		if (session->control == NULL) {
			if (ssl != NULL)
				SSL_free(ssl);
			close(fd);
		}
		session->tls = NULL;
		session_free(session);
		return NULL;
	}
	/* With implicit TLS the greeting waits in the buffer for the handshake. */
	session_reply(session, REPLY_WELCOME, config->banner);
	session->tls_handshaking = implicit_tls;
	arm_command_timer(session, implicit_tls ? config->tls_handshake_timeout :
	    config->idle_timeout);
	login_timer_start(session);
	return session;
}

static void
session_destroy(struct session *session)
{
	if (session->transfer != NULL)
		transfer_free(session->transfer);
	if (session->transfer_operation != NULL)
		operation_discard(session->transfer_operation);
	dtp_free(session->dtp);
	free(session->deferred_line);
	if (session->login_request != NULL)
		portal_cancel(session->login_request);
	if (session->avatar != NULL) {
		session->avatar->session_info.bytes_received = session->bytes_in;
		session->avatar->session_info.bytes_sent = session->bytes_out;
		avatar_logout(session->avatar);
	}
	if (session->admitting != NULL)
		avatar_logout(session->admitting);
	if (session->login_failure_timer != NULL)
		event_free(session->login_failure_timer);
	if (session->command_timer != NULL)
		event_free(session->command_timer);
	if (session->login_timer != NULL)
		event_free(session->login_timer);
	if (session->dtp_timer != NULL)
		event_free(session->dtp_timer);
	if (session->control != NULL)
		bufferevent_free(session->control);
	/* A stand-in for the worker's connection is the session's own (see tls_relayed). */
	if (session->tls_relayed && session->tls != NULL)
		SSL_free(session->tls);
	path_free(&session->working_directory);
	path_free(&session->rename_from);
	line_reader_clear(&session->line_reader);
	session->services->session_ended(session->services->owner, session);
	settings_release(session->settings);
	free(session);
}

void
session_set_front(struct session *session, const struct sockaddr *front)
{
	size_t length = front->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
	    front->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;

	memset(&session->front, 0, sizeof(session->front));
	memcpy(&session->front, front, length);
}

socklen_t
session_front(const struct session *session, struct sockaddr_storage *out)
{
	socklen_t length = session->front.sin6_family == AF_INET ? sizeof(struct sockaddr_in) :
	    session->front.sin6_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;

	memset(out, 0, sizeof(*out));
	memcpy(out, &session->front, length);
	return length;
}

void
session_free(struct session *session)
{
	log_info("%s: disconnected (%llu bytes in, %llu bytes out)", session->peer_text,
	    (unsigned long long)session->bytes_in, (unsigned long long)session->bytes_out);
	session_destroy(session);
}

struct bufferevent *
session_hand_over(struct session *session)
{
	struct bufferevent *control = NULL;

	session->moved = 1;
	if (session->tls != NULL) {
		control = session->control;
		session->control = NULL;
		session->tls = NULL;
	}
	session_destroy(session);
	return control;
}

int
session_control_fd(const struct session *session)
{
	return session->control != NULL ? (int)bufferevent_getfd(session->control) : -1;
}

/* Puts what the client already sent in front of what the control connection will read. */
static int
prefill_input(struct session *session, const void *input, size_t length)
{
	struct evbuffer *destination = bufferevent_get_input(session->control);
	int error;

	if (length == 0)
		return 0;
	/* A socket bufferevent keeps its input frozen but for its own reads: thaw it once. */
	evbuffer_unfreeze(destination, 0);
	error = evbuffer_add(destination, input, length);
	evbuffer_freeze(destination, 0);
	return error != 0 ? -ENOMEM : 0;
}

struct session *
session_new_handed_over(const struct session_services *services, struct settings *settings,
    int fd, const struct session_handover *handover)
{
	struct session *session;

	session = calloc(1, sizeof(*session));
	if (session == NULL) {
		close(fd);
		return NULL;
	}
	session->services = services;
	session->settings = settings_hold(settings);
	session->config = &session->settings->config;
	session->state = SESSION_INAUTH;
	session->identity_fixed = 1;
	snprintf(session->user, sizeof(session->user), "%s", handover->user);
	session->binary = handover->binary;
	session->protection_size_set = handover->protection_size_set;
	session->protect_data = handover->protect_data;
	session->epsv_all = handover->epsv_all;
	session->mlst_facts = handover->mlst_facts;
	session->working_directory = PATH_ROOT;
	session->rename_from = PATH_ROOT;
	line_reader_init(&session->line_reader);
	session->peer_length = handover->peer_length <= sizeof(session->peer) ?
	    handover->peer_length : sizeof(session->peer);
	memcpy(&session->peer, handover->peer, session->peer_length);
	session->local_length = sizeof(session->local);
	if (handover->local_length > 0 && handover->local_length <= sizeof(session->local)) {
		memcpy(&session->local, handover->local, handover->local_length);
		session->local_length = handover->local_length;
	} else if (getsockname(fd, (struct sockaddr *)&session->local,
	    &session->local_length) != 0)
		session->local_length = 0;
	/* Behind a balancer PASV still announces the balancer, not this host. */
	if (handover->front != NULL)
		session_set_front(session, handover->front);
	format_peer(session);
	services->session_started(services->owner, session);
	evutil_make_socket_nonblocking(fd);
	tcp_send_at_once(fd);
	if (handover->tls_relayed && session->settings->tls != NULL) {
		session->tls = tls_token_holder_new(session->settings->tls, handover->tls_token);
		session->tls_relayed = 1;
	}
	/* The worker speaks TLS with the client; this side of the relay is plain. */
	session->control = control_bufferevent(session, fd, NULL, BUFFEREVENT_SSL_OPEN);
	session->command_timer = evtimer_new(services->base, command_deadline, session);
	if (session->control == NULL)
		close(fd);
	if (session->control == NULL ||
	    session->command_timer == NULL ||
	    (handover->tls_relayed && session->tls == NULL) ||
	    prefill_input(session, handover->input, handover->input_length) != 0) {
		session_free(session);
		return NULL;
	}
	/* Nothing is read until the login is complete. */
	session_pause(session);
	return session;
}

static void
enter_logged_in(struct session *session, struct avatar *avatar)
{
	log_info("%s: login ok: %s%s", session->peer_text, avatar->name,
	    avatar->anonymous ? " (anonymous)" : "");
	session->avatar = avatar;
	session_limits_from_config(&session->limits, session->config, avatar->anonymous,
	    &avatar->settings);
	memset(&session->home_usage, 0, sizeof(session->home_usage));
	session->state = SESSION_AUTHED;
	session->login_failures = 0;
	/* Never armed again: an idle session keeps no timer it will not use. */
	if (session->login_timer != NULL)
		event_free(session->login_timer);
	session->login_timer = NULL;
	if (session->login_failure_timer != NULL)
		event_free(session->login_failure_timer);
	session->login_failure_timer = NULL;
	path_free(&session->working_directory);
	session_reply(session, avatar->anonymous ? REPLY_GUEST_LOGGED_IN : REPLY_USER_LOGGED_IN);
	session_resume(session);
}

struct shell_start {
	struct session *session;
	struct avatar *avatar;
};

static void
shell_session_started(void *arg, int error)
{
	struct shell_start *start = arg;
	struct session *session = start->session;
	struct avatar *avatar = start->avatar;

	free(start);
	if (session_release(session)) {
		avatar_logout(avatar);
		return;
	}
	if (error == 0 && !session->closing) {
		avatar->session_started = 1;
		enter_logged_in(session, avatar);
		return;
	}
	avatar_logout(avatar);
	if (session->closing)
		return;
	log_info("%s: login of %s refused by its shell: %s", session->peer_text,
	    session->user != NULL ? session->user : "?", strerror(-error));
	if (error == -EACCES) {
		session_login_refused(session);
		session_reply(session, REPLY_LOGIN_INCORRECT);
		session_resume(session);
		return;
	}
	session_reply(session, REPLY_SESSION_UNAVAILABLE);
	session_close_after_flush(session);
}

/* Who the session is, as the shell's session hooks see it. */
static void
fill_session_info(struct session *session, struct avatar *avatar)
{
	struct ftpd_session_info *info = &avatar->session_info;
	const struct sockaddr *peer = (const struct sockaddr *)&session->peer;

	memset(info, 0, sizeof(*info));
	info->struct_size = sizeof(*info);
	info->user = avatar->name;
	snprintf(avatar->client_address, sizeof(avatar->client_address), "%s",
	    session->peer_text);
	info->client_address = avatar->client_address;
	if (peer->sa_family == AF_INET)
		info->client_port = ntohs(((const struct sockaddr_in *)peer)->sin_port);
	else if (peer->sa_family == AF_INET6)
		info->client_port = ntohs(((const struct sockaddr_in6 *)peer)->sin6_port);
	info->tls = session->tls != NULL;
}

void
session_logged_in(struct session *session, struct avatar *avatar)
{
	struct ftpd_shell *shell = avatar->shell;
	struct shell_start *start;

	fill_session_info(session, avatar);
	if (shell == NULL || FTPD_SHELL_OP(shell, session_start) == NULL) {
		avatar->session_started = 1;
		enter_logged_in(session, avatar);
		return;
	}
	start = malloc(sizeof(*start));
	if (start == NULL) {
		avatar_logout(avatar);
		session_reply(session, REPLY_SESSION_UNAVAILABLE);
		session_close_after_flush(session);
		return;
	}
	start->session = session;
	start->avatar = avatar;
	/* The shell may answer later: the session waits, paused, as for PASS. */
	session_hold(session);
	shell->ops->session_start(shell, &avatar->session_info, shell_session_started, start);
}

/*
 * The connection is gone or must go now. With operations still pending the
 * memory stays until their callbacks have run (session_end_operation frees).
 */
static void
session_close_now(struct session *session)
{
	if (session->references == 0) {
		/* A TLS peer is told the session ends; then everything goes. */
		if (!session->tls_relayed)
			tls_send_close_notify(session->tls);
		session_free(session);
		return;
	}
	session->dead = 1;
	if (session->command_timer != NULL)
		evtimer_del(session->command_timer);
	if (session->login_timer != NULL)
		evtimer_del(session->login_timer);
	if (session->dtp_timer != NULL)
		evtimer_del(session->dtp_timer);
	if (session->control != NULL) {
		if (!session->tls_relayed)
			tls_send_close_notify(session->tls);
		bufferevent_free(session->control);
		session->control = NULL;
		if (!session->tls_relayed)
			session->tls = NULL;
	}
}

struct evbuffer *
session_output(struct session *session)
{
	return bufferevent_get_output(session->control);
}

/* A command error gets a debug line: the reply as the client saw it. */
static void
log_error_reply(struct session *session, enum reply_id id, va_list arguments)
{
	struct evbuffer *text = evbuffer_new();
	char line[256];
	ev_ssize_t length;

	if (text == NULL)
		return;
	reply_write_va(text, id, arguments);
	length = evbuffer_copyout(text, line, sizeof(line) - 1);
	evbuffer_free(text);
	if (length <= 0)
		return;
	line[length] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	log_debug("%s: %s", session->peer_text, line);
}

/*
 * A reply with nothing queued before it goes out at once, from here: the
 * bufferevent would wait a turn of the loop for the socket to be writable
 * (three system calls, and the client's next command later). Not over TLS,
 * and not when the write callback has a close or the TLS upgrade to do.
 */
static int
can_send_directly(struct session *session)
{
	return session->tls == NULL && !session->closing && !session->tls_upgrading &&
	    evbuffer_get_length(session_output(session)) == 0;
}

/* What the socket does not take now waits in the bufferevent, as any reply. */
static void
send_directly(struct session *session, const char *line, size_t length)
{
	ssize_t sent = send((int)bufferevent_getfd(session->control), line, length,
	    MSG_DONTWAIT | MSG_NOSIGNAL);

	if (sent < 0)
		sent = 0;	/* full, or broken: the bufferevent finds out which */
	if ((size_t)sent < length)
		evbuffer_add(session_output(session), line + sent, length - (size_t)sent);
}

void
session_reply_va(struct session *session, enum reply_id id, va_list arguments)
{
	va_list copy;

	if (session->control == NULL)
		return;
	if (reply_code(id) >= 400 && log_enabled(LOG_LEVEL_DEBUG)) {
		va_copy(copy, arguments);
		log_error_reply(session, id, copy);
		va_end(copy);
	}
	if (can_send_directly(session)) {
		char line[REPLY_LINE_MAX];
		size_t length;

		va_copy(copy, arguments);
		length = reply_format_va(line, sizeof(line), id, copy);
		va_end(copy);
		if (length > 0) {
			send_directly(session, line, length);
			return;
		}
	}
	reply_write_va(session_output(session), id, arguments);
}

void
session_reply(struct session *session, enum reply_id id, ...)
{
	va_list arguments;

	va_start(arguments, id);
	session_reply_va(session, id, arguments);
	va_end(arguments);
}

void
session_reply_error(struct session *session, int error, const struct path *path)
{
	char *text = path_to_string(path);

	session_reply(session, reply_for_errno(error), text != NULL ? text : "?");
	free(text);
	if (reply_error_ends_session(error)) {
		log_info("%s: the shell's store is gone (%s): session ended", session->peer_text,
		    strerror(error < 0 ? -error : error));
		session_close_after_flush(session);
	}
}

void
session_close_after_flush(struct session *session)
{
	if (session->closing || session->control == NULL)
		return;
	session->closing = 1;
	bufferevent_disable(session->control, EV_READ);
	/*
	 * Nothing left to send: close from the write callback all the same,
	 * deferred to the loop, so that no caller sees the session freed under
	 * it (and no idle session keeps an event just for this).
	 */
	if (evbuffer_get_length(session_output(session)) == 0)
		bufferevent_trigger(session->control, EV_WRITE,
		    BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}

void
session_pause(struct session *session)
{
	session->busy = 1;
}

void
session_hold(struct session *session)
{
	session->busy = 1;
	session->references++;
}

int
session_release(struct session *session)
{
	session->references--;
	if (session->dead) {
		if (session->references == 0)
			session_free(session);
		return 1;
	}
	return 0;
}

void
session_resume(struct session *session)
{
	session->busy = 0;
	expect_command(session);
	/* A synchronous completion returns into the input loop, which goes on by itself. */
	if (!session->processing)
		session_process_input(session);
}

/* Leaves the logged-in state: shell logout, working directory reset. */
static void
session_logout(struct session *session)
{
	if (session->avatar != NULL) {
		log_info("%s: logout %s", session->peer_text, session->avatar->name);
		session->avatar->session_info.bytes_received = session->bytes_in;
		session->avatar->session_info.bytes_sent = session->bytes_out;
		avatar_logout(session->avatar);
		session->avatar = NULL;
	}
	path_free(&session->working_directory);
	path_free(&session->rename_from);
	session->state = SESSION_UNAUTH;
}

void
session_expect_password(struct session *session, const char *user)
{
	if (session->state == SESSION_AUTHED)
		session_logout(session);
	if (session->counted_logged_in && session->services->logged_out != NULL)
		session->services->logged_out(session->services->owner, session);
	/* Over-long names cannot match anything; keep them for the 331 text only. */
	snprintf(session->user, sizeof(session->user), "%s", user);
	session->state = SESSION_INAUTH;
}

void
session_login_refused(struct session *session)
{
	session->state = SESSION_UNAUTH;
}

void
session_begin_rename(struct session *session, struct path *from)
{
	path_free(&session->rename_from);
	session->rename_from = *from;
	*from = PATH_ROOT;
	session->state = SESSION_RENAMING;
}

struct path
session_end_rename(struct session *session)
{
	struct path from = session->rename_from;

	session->rename_from = PATH_ROOT;
	session->state = SESSION_AUTHED;
	return from;
}

void
session_shutdown(struct session *session)
{
	if (session->transfer != NULL) {
		/* Its transfer may finish; then the session says goodbye. */
		session->quit_after_transfer = 1;
		return;
	}
	/* Nothing can be said over a handshake that has not finished. */
	if (session->tls_handshaking) {
		session_close_now(session);
		return;
	}
	session_reply(session, REPLY_SHUTTING_DOWN);
	session_close_after_flush(session);
	/* A client that does not read must not hold the stop up for the whole grace. */
	session->timed_out = 1;
	arm_command_timer(session, SESSION_CLOSE_GRACE_SECONDS);
}

/* A passive port nobody used within data_timeout goes back to the range. */
static void
dtp_unused(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct session *session = arg;

	if (session->dtp == NULL)
		return;
	log_info("%s: data connection closed: no transfer command within %u s",
	    session->peer_text, session->config->data_timeout);
	dtp_free(session->dtp);
	session->dtp = NULL;
}

void
session_set_dtp(struct session *session, struct dtp *dtp)
{
	struct timeval deadline = { (time_t)session->config->data_timeout, 0 };

	dtp_free(session->dtp);
	session->dtp = dtp;
	if (session->dtp_timer == NULL)
		session->dtp_timer = evtimer_new(session->services->base, dtp_unused, session);
	if (session->dtp_timer == NULL)
		return;
	if (dtp != NULL)
		evtimer_add(session->dtp_timer, &deadline);
	else
		evtimer_del(session->dtp_timer);
}

struct dtp *
session_take_dtp(struct session *session)
{
	struct dtp *dtp = session->dtp;

	session->dtp = NULL;
	if (session->dtp_timer != NULL)
		evtimer_del(session->dtp_timer);
	return dtp;
}

void
session_transfer_started(struct session *session, struct transfer *transfer,
    struct operation *operation)
{
	session->transfer = transfer;
	session->transfer_operation = operation;
	expect_command(session);
}

void
session_transfer_finished(struct session *session)
{
	session->transfer = NULL;
	if (session->transfer_operation != NULL) {
		operation_discard(session->transfer_operation);
		session->transfer_operation = NULL;
	}
	if (session->quit_after_transfer) {
		session_reply(session, REPLY_GOODBYE);
		session_close_after_flush(session);
		return;
	}
	session_resume(session);
}

/* What the command table's checks need to know of this session now. */
static void
describe_session(struct session *session, const struct command *command, const char *argument,
    struct command_context *context)
{
	const struct config *config = session->config;
	int anonymous, tls_policy;

	/* A login is judged by the user it names; anything else by who is logged in. */
	if (command->flags & COMMAND_NEEDS_TLS_CONTROL)
		anonymous = argument != NULL && portal_is_anonymous_user(argument);
	else
		anonymous = session->avatar != NULL && session->avatar->anonymous;
	/* The plain port of tls = implicit is held to tls = required. */
	tls_policy = config->tls == TLS_REQUIRED || config->tls == TLS_IMPLICIT;
	context->state = session->state;
	context->tls_demanded = tls_policy &&
	    !(anonymous && strcmp(config->tls_anonymous, "optional") == 0);
	context->control_protected = session->tls != NULL;
	context->data_protected = session->protect_data;
	context->has_data_connection = session->dtp != NULL;
	context->read_only = session->avatar != NULL && session->avatar->read_only;
}

/*
 * Runs command after the table's checks, or answers the refusal they give.
 * parent: SITE or OPTS when command is one of theirs, else NULL.
 */
static void
run_command(struct session *session, const struct command *parent,
    const struct command *command, const char *argument)
{
	struct command_context context;
	enum reply_id refusal;
	char shown[2 * COMMAND_NAME_MAX + 2];

	describe_session(session, command, argument, &context);
	refusal = command_check(command, &context, argument);
	if (refusal == REPLY_COUNT) {
		if (command->subcommands != NULL)
			run_subcommand(session, command, argument);
		else
			command->handler(session, argument);
		return;
	}
	/* A refused command uses the rename up, as a failed RNTO does; a bare RNTO may try again. */
	if (session->state == SESSION_RENAMING && refusal != REPLY_ARGUMENT_REQUIRED) {
		struct path forgotten = session_end_rename(session);

		path_free(&forgotten);
	}
	/* A refused transfer uses up its REST, as a failed one does. */
	if (command->flags & COMMAND_NEEDS_DATA_CONNECTION)
		session->restart_offset = 0;
	/* Refusals name the command ("SITE CHMOD"), a read-only share the path it was given. */
	snprintf(shown, sizeof(shown), "%s%s%s", parent != NULL ? parent->name : "",
	    parent != NULL ? " " : "", command->name);
	if (refusal == REPLY_READ_ONLY && parent == NULL && argument != NULL && *argument != '\0')
		session_reply(session, refusal, argument);
	else
		session_reply(session, refusal, shown);
}

/* SITE and OPTS: the first word names a row of their own table, checked the same way. */
static void
run_subcommand(struct session *session, const struct command *parent, const char *argument)
{
	const struct command_table *table = parent->subcommands;
	char name[COMMAND_NAME_MAX + 1];
	size_t length = strcspn(argument, " ");
	const struct command *command;
	const char *rest = argument + length;

	while (*rest == ' ')
		rest++;
	snprintf(name, sizeof(name), "%.*s", (int)length, argument);
	command = length <= COMMAND_NAME_MAX ? command_find_in(table, name) : NULL;
	if (command == NULL) {
		session_reply(session, table->unknown, name);
		return;
	}
	run_command(session, parent, command, *rest != '\0' ? rest : NULL);
}

/* Splits "CMD argument" in place; returns the argument or NULL. */
static char *
split_command(char *line)
{
	char *space = strchr(line, ' ');

	if (space == NULL)
		return NULL;
	*space = '\0';
	return space + 1;
}

static void
dispatch_line(struct session *session, char *line, size_t length)
{
	const struct command *command;
	char *argument;

	if (memchr(line, '\0', length) != NULL) {
		session_reply(session, REPLY_NUL_IN_COMMAND);
		return;
	}
	if (length == 0)
		return;
	argument = split_command(line);
	command = strlen(line) <= COMMAND_NAME_MAX ? command_find(line) : NULL;
	if (command == NULL) {
		char shown[COMMAND_NAME_MAX + 4];

		snprintf(shown, sizeof(shown), "%s%s", line,
		    strlen(line) > COMMAND_NAME_MAX ? "..." : "");
		session_reply(session, REPLY_UNKNOWN_COMMAND, shown);
		return;
	}
	log_debug("%s: %s%s%s", session->peer_text, command->name, argument == NULL ? "" : " ",
	    argument == NULL ? "" : (command->flags & COMMAND_HIDE_ARGUMENT) ? "<hidden>" : argument);

	if (session->transfer != NULL && !(command->flags & COMMAND_DURING_TRANSFER)) {
		/* Answer it after the transfer's final reply, keeping replies in order. */
		if (argument != NULL)
			argument[-1] = ' ';
		session->deferred_line = malloc(length + 1);
		if (session->deferred_line == NULL) {
			session_reply(session, REPLY_LOCAL_ERROR, command->name);
			return;
		}
		memcpy(session->deferred_line, line, length + 1);
		session->deferred_length = length;
		return;
	}
	run_command(session, NULL, command, argument);
}

static void
session_process_input(struct session *session)
{
	struct evbuffer *input;

	if (session->control == NULL)
		return;
	input = bufferevent_get_input(session->control);
	session->processing = 1;
	while (!session->busy && !session->closing && session->control != NULL) {
		enum line_result result;

		if (session->deferred_line != NULL) {
			char *line = session->deferred_line;

			if (session->transfer != NULL)
				break;
			session->deferred_line = NULL;
			dispatch_line(session, line, session->deferred_length);
			explicit_bzero(line, session->deferred_length);
			free(line);
			continue;
		}
		result = line_reader_next(&session->line_reader, input);

		if (result == LINE_NONE)
			break;
		if (result == LINE_TOO_LONG) {
			session_reply(session, REPLY_LINE_TOO_LONG);
			continue;
		}
		/* A complete command: the client is not idle (a stray byte is not enough). */
		expect_command(session);
		dispatch_line(session, session->line_reader.line, session->line_reader.length);
		/* The line may have held a password: wipe it now. */
		line_reader_clear(&session->line_reader);
	}
	session->processing = 0;
}

static void
session_read(struct bufferevent *control UNUSED, void *arg)
{
	session_process_input(arg);
}

/*
 * AUTH TLS was answered and the 234 has left: the same socket now speaks
 * TLS. Plaintext that came after the AUTH command is thrown away unread, so
 * nobody can inject commands into the protected session (CVE-2011-0411).
 */
static void
start_control_tls(struct session *session)
{
	struct bufferevent *plain = session->control;
	evutil_socket_t fd = bufferevent_getfd(plain);
	SSL *ssl = tls_control_new(session->settings->tls);

	session->tls_upgrading = 0;
	line_reader_clear(&session->line_reader);
	evbuffer_drain(bufferevent_get_input(plain), evbuffer_get_length(bufferevent_get_input(plain)));
	if (ssl == NULL) {
		log_error("%s: cannot start TLS: out of memory", session->peer_text);
		session_close_now(session);
		return;
	}
	/* The plain bufferevent lets go of the socket without closing it. */
	bufferevent_disable(plain, EV_READ | EV_WRITE);
	bufferevent_setfd(plain, -1);
	bufferevent_free(plain);
	session->control = control_bufferevent(session, fd, ssl, BUFFEREVENT_SSL_ACCEPTING);
	if (session->control == NULL) {
		SSL_free(ssl);
		close(fd);
		session_close_now(session);
		return;
	}
	session->tls = ssl;
	session->busy = 0;
	session->tls_handshaking = 1;
	arm_command_timer(session, session->config->tls_handshake_timeout);
}

static void
session_written(struct bufferevent *control UNUSED, void *arg)
{
	struct session *session = arg;

	if (session->closing)
		session_close_now(session);
	else if (session->tls_upgrading)
		start_control_tls(session);
}

static void
session_event(struct bufferevent *control UNUSED, short what, void *arg)
{
	struct session *session = arg;

	if (what & BEV_EVENT_CONNECTED) {
		/* The TLS handshake finished. */
		session->tls_handshaking = 0;
		expect_command(session);
		tls_control_established(session->tls);
		log_info("%s: TLS established (%s, %s)", session->peer_text,
		    SSL_get_version(session->tls), SSL_get_cipher_name(session->tls));
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (session->tls != NULL && !SSL_is_init_finished(session->tls))
			log_info("%s: TLS handshake failed", session->peer_text);
		/* Nothing more to say to a peer that is gone or broke the protocol. */
		session->tls = NULL;
		session_close_now(session);
	}
}
