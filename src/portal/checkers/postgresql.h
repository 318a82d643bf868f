/*
 * portal/checkers/postgresql: the parts of the passwd_db checker, shared by
 * postgresql*.c only: where to connect (target) and one connection on the loop.
 */
#ifndef FTPD_CHECKER_POSTGRESQL_H
#define FTPD_CHECKER_POSTGRESQL_H

#include <crypt.h>

#include <event2/event.h>

#include "portal/checkers/checkers.h"

struct worker_pool;

/* Connections to the database at most; checks beyond them wait in a queue. */
#define POSTGRESQL_CONNECTIONS_MAX 4
/* Checks waiting for a connection at most; more are answered unreachable at once. */
#define POSTGRESQL_QUEUE_MAX 256
/*
 * How long a check may wait for the database (queue, connecting and the
 * query together), and a connection for an answer: the client's 421 comes
 * within about this.
 */
#define POSTGRESQL_ANSWER_MS 1000
#define POSTGRESQL_ANSWER_TEXT "1 s"	/* POSTGRESQL_ANSWER_MS, as the log says it */
/* After a failed connection attempt, checks fail at once for this long (none left alive). */
#define POSTGRESQL_RETRY_MS 500
/* How long the addresses of the URI's host names are used before being looked up again. */
#define POSTGRESQL_ADDRESSES_SECONDS 60
/* The part of libpq's messages the log keeps (their first line). */
#define POSTGRESQL_MESSAGE_SIZE 256

/* --- target: the URI's parameters, host names looked up off the loop --- */

struct postgresql_target;

/* The lookup started by postgresql_target_parameters finished; error 0 or -errno (logged). */
typedef void (*postgresql_looked_up_fn)(void *owner, int error);

/*
 * The parameters of uri (a postgresql:// URI) for PQconnectStartParams.
 * Host names in it are looked up in a thread of workers, since libpq would
 * look them up on the loop. NULL when uri does not parse or out of memory
 * (logged, never with the URI: it may hold a password).
 */
struct postgresql_target *postgresql_target_new(const char *uri, struct worker_pool *workers,
    postgresql_looked_up_fn looked_up, void *owner);

/*
 * For the next connection attempt: 0 with keywords and values (NULL-ended,
 * valid until the next call on target); -EINPROGRESS while names are looked
 * up (looked_up() follows); another -errno when none could be (logged).
 */
int postgresql_target_parameters(struct postgresql_target *target,
    const char *const **keywords, const char *const **values);

/* 1 while a lookup runs. */
int postgresql_target_looking_up(const struct postgresql_target *target);

/* A connection attempt failed: the names are looked up again before the next. */
void postgresql_target_forget_addresses(struct postgresql_target *target);

/* A running lookup is dropped when it finishes. */
void postgresql_target_free(struct postgresql_target *target);

/*
 * For a lookup's thread, and tests: from libpq's host and port lists
 * (comma-separated; ports: none, one, or one per host), the lists to
 * connect with and a hostaddr list, a numeric address for each host name
 * (empty for a socket directory or an address, which need no lookup).
 * Names that do not resolve are left out. 0 with the three lists
 * allocated, -EHOSTUNREACH when no host is left, or -ENOMEM.
 */
int postgresql_target_resolve(const char *hosts, const char *ports, char **resolved_hosts,
    char **resolved_ports, char **addresses);

/* 1 when host (one entry of a host list) is a name that needs a lookup. */
int postgresql_target_host_is_name(const char *host);

/* --- connection: one libpq connection driven by libevent --- */

struct postgresql_connection;

enum postgresql_connection_state {
	POSTGRESQL_DISCONNECTED,
	POSTGRESQL_CONNECTING,
	POSTGRESQL_IDLE,		/* connected, no query */
	POSTGRESQL_ASKING,		/* the query sent, its answer not complete */
};

enum postgresql_event {
	POSTGRESQL_CONNECTED,		/* now idle */
	POSTGRESQL_CONNECT_FAILED,	/* refused, silent, authentication failed: disconnected */
	POSTGRESQL_ANSWERED,		/* the query's answer; idle again */
	POSTGRESQL_BROKEN,		/* it was up, then broke or fell silent: disconnected */
};

/* What the database said of one user. */
enum postgresql_verdict {
	POSTGRESQL_USER_FOUND,
	POSTGRESQL_USER_UNKNOWN,	/* no row */
	POSTGRESQL_USER_UNUSABLE,	/* a row ftpd cannot use (relative home...), logged */
	POSTGRESQL_NAME_REFUSED,	/* the database cannot hold such a name (bad encoding) */
	POSTGRESQL_QUERY_FAILED,	/* the table or a column is missing, no right...: logged */
};

struct postgresql_user {
	enum postgresql_verdict verdict;
	/* With POSTGRESQL_USER_FOUND: */
	char hash[CRYPT_OUTPUT_SIZE];	/* "" when NULL: no password opens it */
	char *home;			/* NULL: home_root/name; owned by the connection */
	int read_only;
	struct user_settings settings;	/* the optional columns; unset where NULL or absent */
};

/*
 * event happened; user is the answer with POSTGRESQL_ANSWERED (valid during
 * the call only), else NULL. The callback may start the connection's next
 * step, close it, but never free it.
 */
typedef void (*postgresql_connection_fn)(void *owner, struct postgresql_connection *connection,
    enum postgresql_event event, const struct postgresql_user *user);

/* Disconnected. NULL when out of memory. */
struct postgresql_connection *postgresql_connection_new(struct event_base *base,
    postgresql_connection_fn changed, void *owner);

/*
 * Starts connecting (disconnected only): changed() says how it went, never
 * before this returns. 0, or -errno when it could not even start
 * (postgresql_connection_error says why).
 */
int postgresql_connection_connect(struct postgresql_connection *connection,
    const char *const *keywords, const char *const *values);

/*
 * Sends the query for user (idle only): changed() follows with the answer,
 * never before this returns. 0, or -EPIPE when the connection turned out
 * broken (now disconnected).
 */
int postgresql_connection_ask(struct postgresql_connection *connection, const char *user);

/* Drops the connection whatever it was doing; changed() is not called. */
void postgresql_connection_close(struct postgresql_connection *connection);

enum postgresql_connection_state postgresql_connection_state(
    const struct postgresql_connection *connection);

/* Why the last attempt failed or the connection broke: one line of libpq's, for the log. */
const char *postgresql_connection_error(const struct postgresql_connection *connection);

void postgresql_connection_free(struct postgresql_connection *connection);

#endif
