/*
 * session: one control connection (protocol interpreter): framing, the state
 * machine UNAUTH -> INAUTH -> AUTHED <-> RENAMING, dispatch through the
 * command table, replies, idle timeout, and everything the session owns.
 */
#ifndef FTPD_SESSION_H
#define FTPD_SESSION_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdarg.h>
#include <stdint.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "path/path.h"
#include "quota/usage.h"
#include "reply/reply.h"
#include "session/command_table.h"
#include "session/limits.h"
#include "session/line_reader.h"
#include "session/services.h"

struct settings;
struct config;
struct avatar;
struct ssl_st;
struct dtp;
struct transfer;
struct portal_request;
struct operation;

#define SESSION_USER_MAX 64

/* Only what lives as long as the session; a command's own state is in its operation. */
struct session {
	const struct session_services *services;
	struct settings *settings;	/* the configuration generation it started with */
	const struct config *config;	/* settings->config */
	struct bufferevent *control;
	struct sockaddr_storage peer;
	socklen_t peer_length;
	struct sockaddr_storage local;
	socklen_t local_length;
	/* Behind a balancer: the address the client connected to (AF_UNSPEC: local's). */
	struct sockaddr_in6 front;
	char peer_text[64];		/* "ADDRESS" for logs */
	int moved;			/* went on in a process of its own (system_users) */
	/* How the limits count it: not logged in, or logged in as counted_user ("": anonymous). */
	int counted_logged_in;
	char counted_user[SESSION_USER_MAX + 1];

	unsigned state;			/* one enum session_state bit */
	char user[SESSION_USER_MAX + 1]; /* from USER, until PASS */
	struct avatar *avatar;		/* set while logged in */
	struct session_limits limits;	/* the logged-in user's */
	struct quota_usage home_usage;	/* for limits' quotas: session/home_usage.h */
	int identity_fixed;		/* a session process: no USER for someone else */
	struct path working_directory;
	struct path rename_from;
	int binary;			/* TYPE I (1) or A (0) */
	unsigned login_failures;

	/* TLS (RFC 4217) */
	struct ssl_st *tls;		/* the control connection's, owned by control */
	int tls_relayed;		/* tls only stands for the worker's connection */
	int tls_upgrading;		/* AUTH TLS answered; switch once it is sent */
	int protection_size_set;	/* PBSZ done */
	int protect_data;		/* PROT P */

	/* Data channel */
	struct dtp *dtp;		/* prepared by PASV/EPSV/PORT/EPRT */
	struct transfer *transfer;	/* running RETR/STOR/LIST... */
	struct operation *transfer_operation; /* the command that runs it, owned here */
	uint64_t restart_offset;	/* from REST, for the next transfer */
	int epsv_all;			/* EPSV ALL: only EPSV from now on */
	unsigned mlst_facts;		/* OPTS MLST selection */
	int quit_after_transfer;	/* QUIT came during a transfer */
	uint64_t bytes_in, bytes_out;	/* file bytes, for the disconnect log line */
	char *deferred_line;		/* a command that waits for the transfer to end */
	size_t deferred_length;

	/* Asynchronous work: commands run one at a time, in order. */
	int busy;			/* a command's completion is pending */
	int processing;			/* inside the input loop (no recursion) */
	int closing;			/* close once the output is flushed */
	int dead;			/* connection gone; freed when references drop */
	unsigned references;		/* operations whose callbacks are pending */
	struct portal_request *login_request;
	struct avatar *admitting;	/* a login accepted, waiting for the limits' word */
	struct event *login_failure_timer;
	/*
	 * Deadlines (see session_timers in session.c): command_timer is the TLS
	 * handshake's, then idle_timeout's, then, once the timeout reply is
	 * sent, the close's; login_timer is login_timeout's.
	 */
	struct event *command_timer;
	struct event *login_timer;
	struct event *dtp_timer;	/* data_timeout for a prepared dtp no command used */
	int tls_handshaking;		/* a handshake runs on the control connection */
	int timed_out;			/* a timeout reply is on its way out */

	struct line_reader line_reader;
	LIST_ENTRY(session) link;
};

/*
 * Takes over a connected socket: greets and starts reading, under the
 * configuration generation settings (held) and with what services offers
 * (which must outlive the session). NULL (and the fd closed) on failure.
 */
struct session *session_new(const struct session_services *services, struct settings *settings,
    int fd, const struct sockaddr *peer, socklen_t peer_length, int implicit_tls);

/*
 * The client reached this server through a balancer at front (its PROXY
 * header's destination): passive replies announce that address, unless
 * pasv_address says otherwise.
 */
void session_set_front(struct session *session, const struct sockaddr *front);

/* The front session_set_front gave, copied to out: its length, or 0 when there is none. */
socklen_t session_front(const struct session *session, struct sockaddr_storage *out);

/* Frees at once whatever state it is in (server shutdown). */
void session_free(struct session *session);

/* The server stops: 421 and close now, or after a running transfer's reply. */
void session_shutdown(struct session *session);

/* Reply helpers: every reply goes through these. */
void session_reply(struct session *session, enum reply_id id, ...);
void session_reply_va(struct session *session, enum reply_id id, va_list arguments);
struct evbuffer *session_output(struct session *session);

/* Replies for a failed shell operation on path, errno mapped in reply.c. */
void session_reply_error(struct session *session, int error, const struct path *path);

/* Sends what is queued, then closes. */
void session_close_after_flush(struct session *session);

/*
 * Reading commands stops until session_resume (a login being checked, a
 * TLS upgrade under way); pipelined input waits in the buffer.
 */
void session_pause(struct session *session);
/* The command is fully answered: run the next pipelined command. */
void session_resume(struct session *session);

/*
 * Work whose callback may come later holds the session: paused, and its
 * memory kept even if the client goes away meanwhile (operation.h uses
 * these; so does the hand-off to a session process).
 */
void session_hold(struct session *session);
/*
 * Call first when the held-for callback runs. Returns 1 when the session
 * went away meanwhile (it may be freed now: touch nothing), else 0.
 */
int session_release(struct session *session);

/* The portal answered yes (and the shell is open): 230, then the next command. */
void session_logged_in(struct session *session, struct avatar *avatar);

/*
 * system_users: a logged-in session goes on in a user process of its own.
 * What it brings along from the worker that served its login:
 */
struct session_handover {
	const struct sockaddr *peer;	/* the client */
	socklen_t peer_length;
	const struct sockaddr *local;	/* the server address the client reached */
	socklen_t local_length;		/* 0: ask the socket */
	const struct sockaddr *front;	/* behind a balancer: session_set_front's; else NULL */
	const char *user;
	/* The control connection is TLS, kept by the worker, which relays it: fd is plain. */
	int tls_relayed;
	const unsigned char *tls_token;	/* with tls_relayed: TLS_TOKEN_SIZE bytes */
	int protection_size_set;
	int protect_data;
	int binary;
	int epsv_all;
	unsigned mlst_facts;
	const void *input;		/* what the client sent after PASS */
	size_t input_length;
};

/*
 * In the user process: the session on fd, waiting for its login to end
 * (session_logged_in, or session_login_refused and a reply). No greeting;
 * USER for someone else is refused. NULL (fd closed) on failure.
 */
struct session *session_new_handed_over(const struct session_services *services,
    struct settings *settings, int fd, const struct session_handover *handover);

/*
 * In the worker, once the user process has the session: frees the session
 * without a word to the client. Returns its control connection when the
 * worker must go on relaying it (TLS: the caller owns it now), else NULL
 * (the connection is closed here; the user process has its own copy).
 */
struct bufferevent *session_hand_over(struct session *session);

/* Its control connection's socket. */
int session_control_fd(const struct session *session);

/*
 * The moves of the state machine UNAUTH -> INAUTH -> AUTHED <-> RENAMING,
 * made only through these and session_logged_in. USER named someone
 * (logging out whoever was in): INAUTH.
 */
void session_expect_password(struct session *session, const char *user);
/* The login failed: UNAUTH. */
void session_login_refused(struct session *session);
/* RNFR found its source (taken over; *from is left empty): RENAMING. */
void session_begin_rename(struct session *session, struct path *from);
/* RNTO or anything else ends the rename: AUTHED, and the caller owns the source. */
struct path session_end_rename(struct session *session);

/* Replaces the prepared data connection (NULL: none). */
void session_set_dtp(struct session *session, struct dtp *dtp);
/* Takes the prepared data connection for a transfer (NULL: none). */
struct dtp *session_take_dtp(struct session *session);

/*
 * A transfer starts, run by operation (now the session's, freed when the
 * transfer is over or the session ends): the control connection's idle
 * timeout pauses meanwhile, and ABOR, STAT, NOOP and QUIT are answered.
 */
void session_transfer_started(struct session *session, struct transfer *transfer,
    struct operation *operation);
/* The transfer has been answered: its operation goes, idle timeout back, waiting commands run. */
void session_transfer_finished(struct session *session);

#endif
