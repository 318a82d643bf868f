/*
 * session/commands/login: USER, PASS and QUIT.
 * A failed PASS is answered only after a delay, without blocking other sessions.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "config/settings.h"
#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"
#include "session/commands/commands.h"
#include "session/session.h"
#include "util/attributes.h"

void
command_user(struct session *session, const char *argument)
{
	const struct config *config = session->config;

	if (session->identity_fixed) {
		/* This process runs with one account's uid; another login needs a new connection. */
		session_reply(session, REPLY_CANNOT_CHANGE_USER);
		return;
	}
	session_expect_password(session, argument);
	if (config->anonymous && portal_is_anonymous_user(session->user))
		session_reply(session, REPLY_GUEST_PASSWORD);
	else
		session_reply(session, REPLY_PASSWORD_REQUIRED, session->user);
}

static void
login_failure_delay_over(evutil_socket_t fd UNUSED,
    short what UNUSED, void *arg)
{
	struct session *session = arg;
	const struct config *config = session->config;

	session->login_failures++;
	if (session->login_failures >= config->max_login_failures) {
		session_reply(session, REPLY_LOGIN_INCORRECT);
		session_reply(session, REPLY_TOO_MANY_FAILURES);
		session_close_after_flush(session);
		return;
	}
	session_reply(session, REPLY_LOGIN_INCORRECT);
	session_resume(session);
}

/* The login is in: 230 here, or the session goes on in a process of its own. */
static void
login_complete(struct session *session, struct avatar *avatar)
{
	if (avatar->shell == NULL && session->services->hand_off != NULL) {
		/* system_users: the session goes on in a process of the user's own. */
		session->services->hand_off(session->services->owner, session, avatar);
		return;
	}
	if (avatar->shell == NULL) {
		log_error("%s: login of %s needs a process of its own, which this one cannot start",
		    session->peer_text, avatar->name);
		avatar_logout(avatar);
		session_reply(session, REPLY_SESSION_UNAVAILABLE);
		session_close_after_flush(session);
		return;
	}
	session_logged_in(session, avatar);
}

static void
login_admitted(struct session *session, enum login_admission verdict)
{
	struct avatar *avatar = session->admitting;

	session->admitting = NULL;
	if (session->closing || session->dead) {
		avatar_logout(avatar);
		return;
	}
	switch (verdict) {
	case LOGIN_ADMITTED:
		login_complete(session, avatar);
		return;
	case LOGIN_TOO_MANY_FOR_USER:
		log_info("%s: login of %s refused: max_sessions_per_user reached", session->peer_text,
		    avatar->name);
		session_reply(session, REPLY_TOO_MANY_FOR_USER, avatar->name);
		break;
	case LOGIN_BANNED:
		log_info("%s: login of %s refused: the address is banned", session->peer_text,
		    avatar->name);
		session_reply(session, REPLY_LOGIN_BANNED);
		break;
	default:
		session_reply(session, REPLY_SESSION_UNAVAILABLE);
		break;
	}
	avatar_logout(avatar);
	session_close_after_flush(session);
}

/* 530 after login_failure_delay and extra_ms more, without holding other sessions up. */
static void
answer_failure_later(struct session *session, unsigned extra_ms)
{
	unsigned delay_ms = session->config->login_failure_delay_ms + extra_ms;
	struct timeval delay;

	delay.tv_sec = delay_ms / 1000;
	delay.tv_usec = (delay_ms % 1000) * 1000;
	if (session->login_failure_timer == NULL)
		session->login_failure_timer = evtimer_new(session->services->base,
		    login_failure_delay_over, session);
	if (session->login_failure_timer == NULL) {
		login_failure_delay_over(-1, 0, session);
		return;
	}
	evtimer_add(session->login_failure_timer, &delay);
}

/* login = shell: the monitor counted the failure; the session answers as told. */
static void
shell_failure_counted(struct session *session, unsigned delay_ms, unsigned banned_for)
{
	if (session->closing || session->dead)
		return;
	if (banned_for != 0) {
		log_info("%s: login of %s refused: the address is banned", session->peer_text,
		    session->user);
		session_reply(session, REPLY_LOGIN_BANNED);
		session_close_after_flush(session);
		return;
	}
	answer_failure_later(session, delay_ms);
}

static void
login_finished(void *arg, int error, struct avatar *avatar)
{
	struct session *session = arg;
	const struct config *config = session->config;

	session->login_request = NULL;
	if (error == 0 && session->closing) {
		/* The server is stopping (421 sent): the login comes too late. */
		avatar_logout(avatar);
		return;
	}
	if (error == 0 && session->services->admit_login != NULL) {
		/* max_sessions_per_user and bans count across every process. */
		session->admitting = avatar;
		session->services->admit_login(session->services->owner, session, avatar,
		    login_admitted);
		return;
	}
	if (error == 0) {
		login_complete(session, avatar);
		return;
	}
	if (error == CHECKER_STORE_GONE) {
		log_info("%s: login of %s: the shell's store cannot be reached", session->peer_text,
		    session->user);
		session_reply(session, REPLY_STORE_UNAVAILABLE, session->user);
		session_close_after_flush(session);
		return;
	}
	if (error == CHECKER_USERS_UNREACHABLE) {
		/* Not the client's mistake: no failure counted, no delay; it may retry later. */
		log_info("%s: login of %s: the user database cannot be reached", session->peer_text,
		    session->user);
		session_reply(session, REPLY_USERS_UNREACHABLE);
		session_close_after_flush(session);
		return;
	}
	if (error == CHECKER_BANNED) {
		log_info("%s: login of %s refused: the address is banned", session->peer_text,
		    session->user);
		session_reply(session, REPLY_LOGIN_BANNED);
		session_close_after_flush(session);
		return;
	}
	log_info("%s: login failed: %s (%s)", session->peer_text, session->user,
	    error == -EACCES ? "bad credentials" : strerror(-error));
	session_login_refused(session);
	/*
	 * The monitor counted the failures of the passwords it checked; those
	 * the shell module checked here are counted now, as they must be for
	 * bans to hold against guessing through an SMB gateway.
	 */
	if (config->login == LOGIN_SHELL && error == -EACCES &&
	    !portal_is_anonymous_user(session->user) && session->services->login_failed != NULL) {
		session->services->login_failed(session->services->owner, session,
		    shell_failure_counted);
		return;
	}
	answer_failure_later(session, 0);
}

void
command_pass(struct session *session, const char *argument)
{
	struct portal_request *request;

	/* Nothing else is read until the portal has answered. */
	session_pause(session);
	request = portal_login(session->settings->portal, session->user,
	    argument != NULL ? argument : "", (const struct sockaddr *)&session->peer,
	    login_finished, session);
	/* login_finished may already have run (and even resumed the session). */
	if (request != NULL)
		session->login_request = request;
}

void
command_quit(struct session *session, const char *argument UNUSED)
{
	if (session->transfer != NULL) {
		/* RFC 959: the transfer's result comes first, then the goodbye. */
		session->quit_after_transfer = 1;
		return;
	}
	session_reply(session, REPLY_GOODBYE);
	session_close_after_flush(session);
}
