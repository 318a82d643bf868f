/*
 * server/admission: a session's count in the limits, from admission through
 * login to its end. Every change the monitor must know is one message on the
 * link, in order, so the monitor's tables and the worker's agree.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "config/settings.h"
#include "log/log.h"
#include "monitor/limits.h"
#include "monitor/link.h"
#include "portal/portal.h"
#include "server/admission.h"
#include "server/server.h"
#include "session/session.h"

/* A login waiting for the monitor's word. */
struct pending_login {
	struct server *server;
	struct session *session;	/* NULL once the session ended: only the count remains */
	struct message_login body;
	login_decided_fn decided;
	struct monitor_request *request;
	LIST_ENTRY(pending_login) link;
};

/* login = shell: a failed login waiting to be counted by the monitor. */
struct pending_failure {
	struct session *session;	/* NULL once the session ended */
	failure_counted_fn counted;
	struct monitor_request *request;
	LIST_ENTRY(pending_failure) link;
};

static void
describe(const struct session *session, int logged_in, struct message_session_ended *body)
{
	memset(body, 0, sizeof(*body));
	message_address_from((const struct sockaddr *)&session->peer, &body->address);
	body->logged_in = (uint32_t)logged_in;
	body->anonymous = logged_in && session->counted_user[0] == '\0';
	strcpy(body->user, session->counted_user);
}

static void
tell_ended(struct server *server, const struct message_session_ended *body)
{
	if (server->link != NULL)
		monitor_link_tell(server->link, MESSAGE_SESSION_ENDED, body);
	else
		limits_remove(&server->limits, &body->address, (int)body->logged_in,
		    body->anonymous ? NULL : body->user);
}

void
admission_release_connection(struct server *server, const struct message_address *address)
{
	struct message_session_ended body;

	memset(&body, 0, sizeof(body));
	body.address = *address;
	tell_ended(server, &body);
}

static void
stop_if_idle(struct server *server)
{
	if (server->exit_when_idle && server_is_idle(server))
		event_base_loopexit(server->base, NULL);
}

static void
decide(struct pending_login *login, enum login_admission verdict)
{
	struct server *server = login->server;
	struct session *session = login->session;

	LIST_REMOVE(login, link);
	if (session == NULL) {
		/* The session ended first: give back what the monitor counted for it. */
		struct message_session_ended body;

		if (verdict != LOGIN_UNAVAILABLE) {
			memset(&body, 0, sizeof(body));
			body.address = login->body.address;
			body.logged_in = verdict == LOGIN_ADMITTED;
			body.anonymous = body.logged_in && login->body.anonymous;
			if (body.logged_in && !login->body.anonymous)
				strcpy(body.user, login->body.user);
			tell_ended(server, &body);
		}
		free(login);
		stop_if_idle(server);
		return;
	}
	if (verdict == LOGIN_ADMITTED) {
		session->counted_logged_in = 1;
		strcpy(session->counted_user, login->body.anonymous ? "" : login->body.user);
	}
	login->decided(session, verdict);
	free(login);
}

static void
monitor_answered_login(void *arg, const struct message *answer)
{
	struct pending_login *login = arg;

	login->request = NULL;
	if (answer == NULL)
		decide(login, LOGIN_UNAVAILABLE);
	else if (answer->body.logged_in.verdict == MESSAGE_LOGIN_OK)
		decide(login, LOGIN_ADMITTED);
	else
		decide(login, answer->body.logged_in.verdict == MESSAGE_LOGIN_BANNED ?
		    LOGIN_BANNED : LOGIN_TOO_MANY_FOR_USER);
}

void
admission_login(void *owner, struct session *session, const struct avatar *avatar,
    login_decided_fn decided)
{
	struct server *server = owner;
	struct pending_login *login = calloc(1, sizeof(*login));

	if (login == NULL || strlen(avatar->name) >= sizeof(login->body.user) ||
	    strlen(avatar->name) >= sizeof(session->counted_user)) {
		free(login);
		decided(session, LOGIN_UNAVAILABLE);
		return;
	}
	login->server = server;
	login->session = session;
	login->decided = decided;
	message_address_from((const struct sockaddr *)&session->peer, &login->body.address);
	login->body.anonymous = avatar->anonymous != 0;
	strcpy(login->body.user, avatar->name);
	LIST_INSERT_HEAD(&server->logins, login, link);
	if (server->link == NULL) {
		decide(login, limits_login(&server->limits, &login->body.address,
		    avatar->anonymous ? NULL : avatar->name, server->config) == MESSAGE_LOGIN_OK ?
		    LOGIN_ADMITTED : LOGIN_TOO_MANY_FOR_USER);
		return;
	}
	login->request = monitor_link_request(server->link, MESSAGE_LOGIN, &login->body,
	    monitor_answered_login, login);
}

static void
monitor_counted_failure(void *arg, const struct message *answer)
{
	struct pending_failure *failure = arg;
	struct session *session = failure->session;
	failure_counted_fn counted = failure->counted;

	LIST_REMOVE(failure, link);
	free(failure);
	if (session == NULL)
		return;
	/* No answer (the monitor is gone): the session's own delay, no ban. */
	if (answer == NULL)
		counted(session, 0, 0);
	else
		counted(session, answer->body.failure_counted.delay_ms,
		    answer->body.failure_counted.banned_for);
}

void
admission_login_failed(void *owner, struct session *session, failure_counted_fn counted)
{
	struct server *server = owner;
	struct message_login_failed body;
	struct pending_failure *failure;

	/* A server on its own (inetd) serves one session: nothing to count across. */
	if (server->link == NULL || (failure = calloc(1, sizeof(*failure))) == NULL) {
		counted(session, 0, 0);
		return;
	}
	memset(&body, 0, sizeof(body));
	message_address_from((const struct sockaddr *)&session->peer, &body.address);
	failure->session = session;
	failure->counted = counted;
	LIST_INSERT_HEAD(&server->failures, failure, link);
	failure->request = monitor_link_request(server->link, MESSAGE_LOGIN_FAILED, &body,
	    monitor_counted_failure, failure);
}

void
admission_logged_out(void *owner, struct session *session)
{
	struct server *server = owner;
	struct message_session_ended body;

	if (!session->counted_logged_in)
		return;
	describe(session, 1, &body);
	session->counted_logged_in = 0;
	session->counted_user[0] = '\0';
	if (server->link != NULL)
		monitor_link_tell(server->link, MESSAGE_LOGOUT, &body);
	else
		limits_logout(&server->limits, &body.address, body.anonymous ? NULL : body.user);
}

void
admission_session_ended(struct server *server, struct session *session)
{
	struct message_session_ended body;
	struct pending_login *login;
	struct pending_failure *failure;

	LIST_FOREACH(failure, &server->failures, link)
		if (failure->session == session)
			failure->session = NULL;
	/* A session that moved to a user process counts there (the monitor moved it). */
	if (session->moved)
		return;
	LIST_FOREACH(login, &server->logins, link)
		if (login->session == session) {
			/* The answer decides what it counts as: see decide(). */
			login->session = NULL;
			return;
		}
	describe(session, session->counted_logged_in, &body);
	tell_ended(server, &body);
}

int
admission_logins_pending(const struct server *server)
{
	return !LIST_EMPTY(&server->logins);
}

void
admission_free_all(struct server *server)
{
	while (!LIST_EMPTY(&server->logins)) {
		struct pending_login *login = LIST_FIRST(&server->logins);

		LIST_REMOVE(login, link);
		if (login->request != NULL)
			monitor_request_cancel(login->request);
		free(login);
	}
	while (!LIST_EMPTY(&server->failures)) {
		struct pending_failure *failure = LIST_FIRST(&server->failures);

		LIST_REMOVE(failure, link);
		if (failure->request != NULL)
			monitor_request_cancel(failure->request);
		free(failure);
	}
}
