/*
 * server/session_process: with system_users, a logged-in session goes on in a
 * process of its own that runs as the user (vsftpd's model, for one event loop).
 */
#ifndef FTPD_SESSION_PROCESS_H
#define FTPD_SESSION_PROCESS_H

struct server;
struct session;
struct avatar;

/*
 * The portal accepted the login (avatar has no shell yet). Forks once no
 * worker thread is busy: the listening process forgets the session without
 * a word; the child keeps the control connection, becomes the account
 * (avatar->account, or the configured user for guests), opens the shell as
 * that user and answers 230. Takes over avatar. On failure the client gets
 * 421 and the connection closes.
 */
void session_process_start(struct server *server, struct session *session, struct avatar *avatar);

#endif
