/*
 * monitor/message: the requests a worker sends the monitor and the answers,
 * as fixed-size records with a length-checked header (one binary, one machine).
 */
#ifndef FTPD_MONITOR_MESSAGE_H
#define FTPD_MONITOR_MESSAGE_H

#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>

#include <stddef.h>
#include <stdint.h>

#include "portal/checkers/checkers.h"

struct evbuffer;

#define MESSAGE_PASSWORD_SIZE 512	/* CRYPT_MAX_PASSPHRASE_SIZE */
#define MESSAGE_HOME_SIZE 4096		/* PATH_MAX */
#define MESSAGE_ADDRESS_SIZE 16
#define MESSAGE_TICKET_SIZE 16		/* a system_users login's right to a user session */
_Static_assert(MESSAGE_TICKET_SIZE == sizeof(((struct system_account *)0)->hand_off_ticket),
    "the ticket fits the account");
#define MESSAGE_TLS_TOKEN_SIZE 32	/* binds TLS data connections to the control's */
#define MESSAGE_PENDING_INPUT_SIZE 2048	/* what the client sent after PASS, not read yet */

enum message_type {
	/* worker -> monitor */
	MESSAGE_AUTHENTICATE = 1,	/* check a password; answered by AUTHENTICATED */
	MESSAGE_ADMIT,			/* a connection arrived; answered by ADMITTED */
	MESSAGE_SESSION_ENDED,		/* an admitted session ended; no answer */
	MESSAGE_READY,			/* the worker accepts connections; no answer */
	MESSAGE_HAND_OFF,		/* a system user's session, with its socket; HANDED_OFF */
	MESSAGE_LOGIN,			/* a session's login was accepted; answered by LOGGED_IN */
	MESSAGE_LOGOUT,			/* a logged-in session logs in anew (USER); no answer */
	MESSAGE_LOGIN_FAILED,		/* login = shell refused a password; FAILURE_COUNTED */
	/* monitor -> worker */
	MESSAGE_AUTHENTICATED,
	MESSAGE_ADMITTED,
	MESSAGE_DRAIN,			/* stop accepting; end with the last session */
	MESSAGE_HANDED_OFF,
	MESSAGE_LOGGED_IN,
	MESSAGE_FAILURE_COUNTED,
	MESSAGE_TYPE_END
};

struct message_header {
	uint32_t type;		/* enum message_type */
	uint32_t length;	/* of the body that follows: exactly its type's size */
	uint32_t id;		/* a request's number, repeated in its answer */
};

/* A client address: 4 bytes (IPv4, also IPv4-mapped IPv6), 16 (IPv6) or 0 (local). */
struct message_address {
	uint32_t length;
	unsigned char bytes[MESSAGE_ADDRESS_SIZE];
};

/* Strings are NUL-terminated inside their arrays; the decoder checks it. */
struct message_authenticate {
	char user[CHECKER_USER_MAX + 1];
	char password[MESSAGE_PASSWORD_SIZE];
	struct message_address address;	/* whose failures count (ban_after_failures) */
};

/* The error of a login refused because its address is banned. */
#define MESSAGE_AUTHENTICATE_BANNED CHECKER_BANNED

struct message_authenticated {
	int32_t error;		/* 0, the checker's -errno, or MESSAGE_AUTHENTICATE_BANNED */
	char name[CHECKER_USER_MAX + 1];
	char home[MESSAGE_HOME_SIZE];	/* "" when the store names none */
	uint32_t read_only;	/* the store allows the user to read only */
	/* The store's shell and limits for the user (struct user_settings). */
	char shell[CHECKER_SHELL_NAME_MAX + 1];	/* "": the config's shell */
	uint64_t quota_bytes;	/* USER_LIMIT_UNSET: the config's, as below */
	uint64_t quota_files;
	uint64_t max_rate_down;
	uint64_t max_rate_up;
	uint32_t has_account;	/* system_users: account below is whom to become */
	uint32_t uid;
	uint32_t gid;
	uint32_t group_count;	/* at most CHECKER_GROUPS_MAX */
	uint32_t groups[CHECKER_GROUPS_MAX];
	/* With an account: what MESSAGE_HAND_OFF shows to have the session started. */
	unsigned char ticket[MESSAGE_TICKET_SIZE];
};

struct message_admit {
	struct message_address address;
};

enum message_verdict {
	MESSAGE_ADMIT_OK = 0,
	MESSAGE_ADMIT_TOO_MANY_USERS,		/* max_clients */
	MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS,	/* max_clients_per_ip */
	MESSAGE_ADMIT_TOO_MANY_NOT_LOGGED_IN,	/* max_prelogin_per_ip */
	MESSAGE_ADMIT_BANNED,			/* ban_after_failures */
	MESSAGE_VERDICT_END
};

struct message_admitted {
	uint32_t verdict;	/* enum message_verdict */
	uint32_t retry_after;	/* MESSAGE_ADMIT_BANNED: seconds the ban lasts */
};

/* A session logged in (USER and PASS, or anonymous): it counts as logged in from now on. */
struct message_login {
	struct message_address address;
	uint32_t anonymous;	/* not counted for max_sessions_per_user */
	char user[CHECKER_USER_MAX + 1];
};

enum message_login_verdict {
	MESSAGE_LOGIN_OK = 0,
	MESSAGE_LOGIN_TOO_MANY_FOR_USER,	/* max_sessions_per_user */
	MESSAGE_LOGIN_BANNED,			/* ban_after_failures */
	MESSAGE_LOGIN_VERDICT_END
};

struct message_logged_in {
	uint32_t verdict;	/* enum message_login_verdict; only OK counted it */
};

/*
 * A password the worker checked itself (login = shell) was wrong: it counts
 * for ban_after_failures as one the monitor checked would.
 */
struct message_login_failed {
	struct message_address address;
};

/* ban_time's largest value. */
#define MESSAGE_BAN_SECONDS_MAX 604800

struct message_failure_counted {
	uint32_t delay_ms;	/* how long to hold the 530 back (it grows with failures) */
	uint32_t banned_for;	/* seconds: the address is banned now; 0: it is not */
};

/*
 * As the session was counted: logged in (by MESSAGE_LOGIN) or not. Also the
 * body of MESSAGE_LOGOUT (logged_in is 1 there).
 */
struct message_session_ended {
	struct message_address address;
	uint32_t logged_in;
	uint32_t anonymous;
	char user[CHECKER_USER_MAX + 1];
};

struct message_ready {
	uint32_t listeners;	/* how many sockets it accepts on */
};

struct message_drain {
	uint32_t reason;	/* enum message_drain_reason */
};

enum message_drain_reason {
	MESSAGE_DRAIN_RELOAD = 0,	/* a new generation took over */
	MESSAGE_DRAIN_STOP,		/* the server stops: shutdown_grace applies */
	MESSAGE_DRAIN_REASON_END
};

/* What a session brings along into its user process. */
enum message_session_flags {
	MESSAGE_SESSION_TLS = 1 << 0,		/* the control connection is TLS (relayed) */
	MESSAGE_SESSION_PBSZ = 1 << 1,		/* PBSZ done */
	MESSAGE_SESSION_PROTECT_DATA = 1 << 2,	/* PROT P */
	MESSAGE_SESSION_ASCII = 1 << 3,		/* TYPE A */
	MESSAGE_SESSION_EPSV_ALL = 1 << 4,
	MESSAGE_SESSION_FLAGS_ALL = (1 << 5) - 1
};

/*
 * Sent on the hand-off socket (one datagram) with the control connection's
 * descriptor: the client's own socket, or with MESSAGE_SESSION_TLS the
 * worker's end of a relay (the worker keeps the TLS connection).
 */
struct message_hand_off {
	unsigned char ticket[MESSAGE_TICKET_SIZE];
	struct sockaddr_storage peer;		/* the client */
	uint32_t peer_length;
	struct sockaddr_storage local;		/* the server's address the client reached */
	uint32_t local_length;
	/* Behind a balancer: the address the client reached on it (PASV shows it). */
	struct sockaddr_storage front;
	uint32_t front_length;			/* 0: no balancer */
	uint32_t flags;				/* enum message_session_flags */
	uint32_t mlst_facts;
	unsigned char tls_token[MESSAGE_TLS_TOKEN_SIZE];
	uint32_t input_length;
	unsigned char input[MESSAGE_PENDING_INPUT_SIZE];
};

struct message_handed_off {
	int32_t error;		/* 0: the session runs in process pid; else -errno */
	int32_t pid;
};

/* The biggest body, for buffers that hold any message. */
union message_body {
	struct message_authenticate authenticate;
	struct message_authenticated authenticated;
	struct message_admit admit;
	struct message_admitted admitted;
	struct message_session_ended session_ended;
	struct message_ready ready;
	struct message_drain drain;
	struct message_hand_off hand_off;
	struct message_handed_off handed_off;
	struct message_login login;
	struct message_logged_in logged_in;
	struct message_login_failed login_failed;
	struct message_failure_counted failure_counted;
};

struct message {
	struct message_header header;
	union message_body body;
};

/* The body size of type, or 0 for a type that does not exist. */
size_t message_body_size(uint32_t type);

/*
 * Appends one message to output. body must be the struct of type. 0, or
 * -EINVAL for an unknown type, -ENOMEM.
 */
struct bufferevent;

int message_put(struct evbuffer *output, uint32_t type, uint32_t id, const void *body);
/*
 * The same on a channel's bufferevent, sent at once when nothing waits
 * before it: through the bufferevent it would wait a turn of the loop for
 * the socket to be writable. What the socket does not take is queued.
 */
int message_send(struct bufferevent *channel, uint32_t type, uint32_t id, const void *body);

/*
 * Takes the next message from input into out. 1 when one was taken, 0 when
 * more bytes are needed, or a negative errno when input is not a valid
 * message (decided as soon as the header is there, for a wrong type or
 * length): -EPROTO for an unknown type, -EMSGSIZE for a length not its
 * type's, -EINVAL for a field out of range. Nothing is consumed on error.
 */
int message_take(struct evbuffer *input, struct message *out);

/*
 * Checks the fields of a complete message whose header is already valid:
 * strings terminated, counts and enumerations in range. 0 or -EINVAL.
 */
int message_validate(const struct message *message);

/* The address bytes that identify a client (IPv4-mapped IPv6 counts as IPv4). */
void message_address_from(const struct sockaddr *peer, struct message_address *out);

/* address as text for the log ("local" for a connection without an IP address). */
void message_address_text(const struct message_address *address, char *text, size_t size);

#endif
