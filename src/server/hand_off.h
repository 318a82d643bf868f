/*
 * server/hand_off: in a worker, a system account's login goes on in a user
 * process the monitor starts; the worker hands it the control connection
 * (its socket, or with TLS a relay the worker keeps).
 */
#ifndef FTPD_HAND_OFF_H
#define FTPD_HAND_OFF_H

struct server;
struct session;
struct avatar;

/*
 * Moves session, whose login avatar (taken over) is a system account, into
 * a user process. On failure the client gets 421 and the session closes.
 */
void hand_off_start(struct server *server, struct session *session, struct avatar *avatar);

#endif
