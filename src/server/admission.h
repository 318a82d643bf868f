/*
 * server/admission: what the limits count of each session, as it moves from
 * connected to logged in (max_prelogin_per_ip, max_sessions_per_user, bans)
 * and ends. In a worker the monitor counts across every worker; a server on
 * its own counts in its own table.
 */
#ifndef FTPD_SERVER_ADMISSION_H
#define FTPD_SERVER_ADMISSION_H

#include "session/services.h"

struct server;
struct session;
struct avatar;
struct message_address;

/* The session services' admit_login and logged_out (owner: the server). */
void admission_login(void *owner, struct session *session, const struct avatar *avatar,
    login_decided_fn decided);
void admission_logged_out(void *owner, struct session *session);
/* The session services' login_failed (owner: the server). */
void admission_login_failed(void *owner, struct session *session, failure_counted_fn counted);

/* session ended: it counts no longer (unless it moved, or its login is still being decided). */
void admission_session_ended(struct server *server, struct session *session);

/* A connection admitted but never made a session counts no longer. */
void admission_release_connection(struct server *server, const struct message_address *address);

/* Logins still waiting for the monitor (a stopping server must wait for them too). */
int admission_logins_pending(const struct server *server);

/* Drops the logins waiting (the server is freed). */
void admission_free_all(struct server *server);

#endif
