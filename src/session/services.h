/*
 * session/services: everything a session and its commands may ask of the
 * process that runs them, and nothing more. The server fills one in; the
 * session part never sees the server itself.
 */
#ifndef FTPD_SESSION_SERVICES_H
#define FTPD_SESSION_SERVICES_H

#include <event2/event.h>

struct session;
struct avatar;
struct xferlog;

/* What the limits on logged-in sessions say of a login the portal accepted. */
enum login_admission {
	LOGIN_ADMITTED,			/* counted as logged in from now on */
	LOGIN_TOO_MANY_FOR_USER,	/* max_sessions_per_user */
	LOGIN_BANNED,			/* its address failed too often (ban_after_failures) */
	LOGIN_UNAVAILABLE,		/* nobody could decide (the monitor is gone) */
};

typedef void (*login_decided_fn)(struct session *session, enum login_admission verdict);

/*
 * A failed login counted: hold the 530 back delay_ms more than
 * login_failure_delay, or, with banned_for, the address is banned now.
 */
typedef void (*failure_counted_fn)(struct session *session, unsigned delay_ms,
    unsigned banned_for);

struct session_services {
	struct event_base *base;	/* the loop every session event runs on */
	struct xferlog *xferlog;	/* the transfer log; NULL: none is kept */
	void *owner;			/* passed back to every call below */

	/*
	 * A session starts or ends: it counts against max_clients and
	 * max_clients_per_ip in between. Its peer address is set when
	 * started runs, and the session is still intact when ended runs.
	 */
	void (*session_started)(void *owner, struct session *session);
	void (*session_ended)(void *owner, struct session *session);

	/*
	 * The portal accepted a login as avatar: the limits on logged-in
	 * sessions have the last word before 230. decided runs once, maybe
	 * before this returns, never after the session ended. After
	 * LOGIN_ADMITTED the session counts as logged in until logged_out or
	 * its end.
	 */
	void (*admit_login)(void *owner, struct session *session, const struct avatar *avatar,
	    login_decided_fn decided);
	/* A logged-in session logs out (USER again): it counts as not logged in. */
	void (*logged_out)(void *owner, struct session *session);

	/*
	 * login = shell: the module refused a password this process checked;
	 * it counts for ban_after_failures like one the monitor checked.
	 * counted runs once, maybe before this returns, never after the
	 * session ended. NULL: nothing counts failures (one session alone).
	 */
	void (*login_failed)(void *owner, struct session *session, failure_counted_fn counted);

	/* Sessions served by this server now, for STAT. */
	unsigned (*session_count)(void *owner);

	/*
	 * The portal logged in a system account (avatar->shell is NULL): the
	 * session goes on in a process of the account's own. NULL when this
	 * process cannot hand sessions off (the session is refused then).
	 */
	void (*hand_off)(void *owner, struct session *session, struct avatar *avatar);
};

#endif
