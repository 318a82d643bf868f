/*
 * portal/checkers/postgresql_connection: one libpq connection driven by
 * libevent (PQconnectPoll, PQsendQueryParams, PQconsumeInput), never blocking.
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "config/config.h"
#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "portal/checkers/postgresql.h"
#include "util/attributes.h"

/*
 * The one query ftpd sends, the name its parameter (never spliced into the
 * text). conf/sql/schema.sql documents the table, which may as well be a
 * view over an application's own tables. The per-user settings are read
 * through the row as JSON, so a table or view without those columns still
 * works: a column that is not there reads as NULL, the config's value.
 */
static const char user_query[] =
    "SELECT password_hash, home, read_only, settings->>'shell', "
    "settings->>'quota_bytes', settings->>'quota_files', "
    "settings->>'max_rate_down', settings->>'max_rate_up' "
    "FROM ftp_users AS u, to_jsonb(u) AS settings WHERE name = $1";

/* The columns of user_query's answer, in order. */
enum user_column {
	COLUMN_HASH, COLUMN_HOME, COLUMN_READ_ONLY, COLUMN_SHELL,
	COLUMN_QUOTA_BYTES, COLUMN_QUOTA_FILES, COLUMN_MAX_RATE_DOWN, COLUMN_MAX_RATE_UP,
	COLUMN_COUNT
};

/* The optional limit columns, where their values go in struct user_settings. */
static const struct {
	enum user_column column;
	const char *name;
	size_t offset;
} limit_columns[] = {
	{ COLUMN_QUOTA_BYTES, "quota_bytes", offsetof(struct user_settings, quota_bytes) },
	{ COLUMN_QUOTA_FILES, "quota_files", offsetof(struct user_settings, quota_files) },
	{ COLUMN_MAX_RATE_DOWN, "max_rate_down", offsetof(struct user_settings, max_rate_down) },
	{ COLUMN_MAX_RATE_UP, "max_rate_up", offsetof(struct user_settings, max_rate_up) },
};

/* SQLSTATE class 22, data exception: a parameter the database refused (bad encoding). */
#define SQLSTATE_DATA_EXCEPTION "22"

struct postgresql_connection {
	struct event_base *base;
	postgresql_connection_fn changed;
	void *owner;
	PGconn *database;		/* NULL when disconnected */
	enum postgresql_connection_state state;
	/* The socket, for the way libpq waits now; a new event whenever that changes. */
	struct event *watch;
	/* Connecting or asking: POSTGRESQL_ANSWER_MS for the database to answer. */
	struct event *timer;
	struct postgresql_user answer;	/* while asking: what the results said */
	int answer_seen;
	int flushing;			/* part of the query waits for room in the socket */
	char error[POSTGRESQL_MESSAGE_SIZE];
};

static void connecting(evutil_socket_t fd, short what, void *arg);
static void asking(evutil_socket_t fd, short what, void *arg);
static void idle_readable(evutil_socket_t fd, short what, void *arg);

/* Keeps the first line of libpq's message (they end in newlines, some have hints after). */
static void
remember_error(struct postgresql_connection *connection, const char *message)
{
	size_t length;

	if (message == NULL || message[0] == '\0')
		message = "unknown error";
	length = strcspn(message, "\n");
	if (length >= sizeof(connection->error))
		length = sizeof(connection->error) - 1;
	memcpy(connection->error, message, length);
	connection->error[length] = '\0';
}

/* Server notices (and the FATAL of a server shutting down) go to the log, not stderr. */
static void
log_notice(void *arg UNUSED, const char *message)
{
	char line[POSTGRESQL_MESSAGE_SIZE];
	size_t length = strcspn(message, "\n");

	if (length >= sizeof(line))
		length = sizeof(line) - 1;
	memcpy(line, message, length);
	line[length] = '\0';
	log_info("passwd_db: the database says: %s", line);
}

static void
forget_answer(struct postgresql_connection *connection)
{
	free(connection->answer.home);
	explicit_bzero(&connection->answer, sizeof(connection->answer));
	connection->answer_seen = 0;
	connection->flushing = 0;
}

/* Waits for what (EV_READ, EV_WRITE, maybe EV_PERSIST) on libpq's socket now. 0 or -errno. */
static int
watch_socket(struct postgresql_connection *connection, short what, event_callback_fn callback)
{
	int socket = PQsocket(connection->database);

	if (connection->watch != NULL) {
		event_free(connection->watch);
		connection->watch = NULL;
	}
	if (socket < 0)
		return -EBADF;
	connection->watch = event_new(connection->base, socket, what, callback, connection);
	if (connection->watch == NULL || event_add(connection->watch, NULL) != 0)
		return -ENOMEM;
	return 0;
}

static void
start_timer(struct postgresql_connection *connection)
{
	struct timeval limit = {
		POSTGRESQL_ANSWER_MS / 1000, (POSTGRESQL_ANSWER_MS % 1000) * 1000
	};

	evtimer_add(connection->timer, &limit);
}

void
postgresql_connection_close(struct postgresql_connection *connection)
{
	if (connection->watch != NULL) {
		event_free(connection->watch);
		connection->watch = NULL;
	}
	evtimer_del(connection->timer);
	/* Non-blocking by now, so the goodbye PQfinish sends cannot hold up the loop. */
	if (connection->database != NULL)
		PQfinish(connection->database);
	connection->database = NULL;
	connection->state = POSTGRESQL_DISCONNECTED;
	forget_answer(connection);
}

/* The connection is gone: says so with event. */
static void
fail(struct postgresql_connection *connection, enum postgresql_event event, const char *why)
{
	remember_error(connection, why);
	postgresql_connection_close(connection);
	connection->changed(connection->owner, connection, event, NULL);
}

static void
become_idle(struct postgresql_connection *connection)
{
	evtimer_del(connection->timer);
	connection->state = POSTGRESQL_IDLE;
	/* Watched while idle too: a server going away is noticed before the next login. */
	if (watch_socket(connection, EV_READ | EV_PERSIST, idle_readable) != 0)
		postgresql_connection_close(connection);
}

static void
timed_out(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct postgresql_connection *connection = arg;

	if (connection->state == POSTGRESQL_CONNECTING)
		fail(connection, POSTGRESQL_CONNECT_FAILED,
		    "no answer within " POSTGRESQL_ANSWER_TEXT);
	else
		fail(connection, POSTGRESQL_BROKEN, "no answer within " POSTGRESQL_ANSWER_TEXT);
}

/* One PQconnectPoll step, then waits for what it asks for. */
static void
connecting(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct postgresql_connection *connection = arg;
	short wanted;

	switch (PQconnectPoll(connection->database)) {
	case PGRES_POLLING_READING:
		wanted = EV_READ;
		break;
	case PGRES_POLLING_WRITING:
		wanted = EV_WRITE;
		break;
	case PGRES_POLLING_OK:
		if (PQsetnonblocking(connection->database, 1) != 0) {
			fail(connection, POSTGRESQL_CONNECT_FAILED,
			    PQerrorMessage(connection->database));
			return;
		}
		become_idle(connection);
		if (connection->state != POSTGRESQL_IDLE) {
			remember_error(connection, "cannot watch the socket");
			connection->changed(connection->owner, connection,
			    POSTGRESQL_CONNECT_FAILED, NULL);
			return;
		}
		connection->changed(connection->owner, connection, POSTGRESQL_CONNECTED, NULL);
		return;
	default:
		fail(connection, POSTGRESQL_CONNECT_FAILED, PQerrorMessage(connection->database));
		return;
	}
	/* The socket may be another one now (libpq tries the next address or host). */
	if (watch_socket(connection, wanted, connecting) != 0)
		fail(connection, POSTGRESQL_CONNECT_FAILED, "cannot watch the socket");
}

int
postgresql_connection_connect(struct postgresql_connection *connection,
    const char *const *keywords, const char *const *values)
{
	if (connection->state != POSTGRESQL_DISCONNECTED)
		return -EALREADY;
	connection->database = PQconnectStartParams(keywords, values, 0);
	if (connection->database == NULL) {
		remember_error(connection, "out of memory");
		return -ENOMEM;
	}
	if (PQstatus(connection->database) == CONNECTION_BAD) {
		remember_error(connection, PQerrorMessage(connection->database));
		postgresql_connection_close(connection);
		return -ECONNREFUSED;
	}
	PQsetNoticeProcessor(connection->database, log_notice, NULL);
	connection->state = POSTGRESQL_CONNECTING;
	start_timer(connection);
	/* libpq's rule: start as if PQconnectPoll had asked to wait for writing. */
	if (watch_socket(connection, EV_WRITE, connecting) != 0) {
		remember_error(connection, "cannot watch the socket");
		postgresql_connection_close(connection);
		return -ENOMEM;
	}
	return 0;
}

/*
 * The optional columns of the row into settings: a shell name, limits as
 * the config writes sizes (a bigint, or text such as "10G"). 0, or -EINVAL
 * with the column and its value logged (they hold no secret).
 */
static int
read_settings(const PGresult *result, struct user_settings *settings)
{
	const char *value;
	uint64_t *field;
	size_t i;

	user_settings_init(settings);
	if (!PQgetisnull(result, 0, COLUMN_SHELL)) {
		value = PQgetvalue(result, 0, COLUMN_SHELL);
		if (!user_shell_name_is_valid(value)) {
			log_warning("passwd_db: shell \"%.*s\" is not a shell name (letters, digits, "
			    "'.', '_' and '-', at most %d); refused", CHECKER_SHELL_NAME_MAX + 1,
			    value, CHECKER_SHELL_NAME_MAX);
			return -EINVAL;
		}
		strcpy(settings->shell, value);
	}
	for (i = 0; i < sizeof(limit_columns) / sizeof(limit_columns[0]); i++) {
		if (PQgetisnull(result, 0, limit_columns[i].column))
			continue;
		value = PQgetvalue(result, 0, limit_columns[i].column);
		field = (uint64_t *)((char *)settings + limit_columns[i].offset);
		if (config_parse_size(value, field) != 0) {
			log_warning("passwd_db: %s \"%.32s\" is not a size (digits, with K, M or G "
			    "after them or not); refused", limit_columns[i].name, value);
			return -EINVAL;
		}
	}
	return 0;
}

/* Reads the row of a successful query into connection->answer. */
static void
read_row(struct postgresql_connection *connection, const PGresult *result)
{
	struct postgresql_user *answer = &connection->answer;
	const char *hash, *home, *read_only;

	if (PQntuples(result) == 0) {
		answer->verdict = POSTGRESQL_USER_UNKNOWN;
		return;
	}
	if (PQntuples(result) > 1 || PQnfields(result) != COLUMN_COUNT) {
		/* A view that yields a name twice: which row is meant cannot be known. */
		log_warning("passwd_db: %d rows of %d columns for one name; refused",
		    PQntuples(result), PQnfields(result));
		answer->verdict = POSTGRESQL_USER_UNUSABLE;
		return;
	}
	hash = PQgetisnull(result, 0, COLUMN_HASH) ? "" : PQgetvalue(result, 0, COLUMN_HASH);
	home = PQgetisnull(result, 0, COLUMN_HOME) ? "" : PQgetvalue(result, 0, COLUMN_HOME);
	read_only = PQgetisnull(result, 0, COLUMN_READ_ONLY) ? "f" :
	    PQgetvalue(result, 0, COLUMN_READ_ONLY);
	if (strlen(hash) >= sizeof(answer->hash) || strlen(home) >= PATH_MAX ||
	    (home[0] != '\0' && home[0] != '/')) {
		/* Nothing of the row is logged: it may hold a hash. */
		log_warning("passwd_db: a row with a password_hash too long for crypt(3) or a "
		    "home that is not an absolute path; refused");
		answer->verdict = POSTGRESQL_USER_UNUSABLE;
		return;
	}
	/* A limit that cannot be read would otherwise be no limit at all. */
	if (read_settings(result, &answer->settings) != 0) {
		answer->verdict = POSTGRESQL_USER_UNUSABLE;
		return;
	}
	if (home[0] != '\0') {
		answer->home = strdup(home);
		if (answer->home == NULL) {
			log_error("passwd_db: out of memory");
			answer->verdict = POSTGRESQL_QUERY_FAILED;
			return;
		}
	}
	strcpy(answer->hash, hash);
	answer->read_only = strcmp(read_only, "t") == 0;
	answer->verdict = POSTGRESQL_USER_FOUND;
}

/* The first result of the query decides; the others (there are none) are read and dropped. */
static void
read_result(struct postgresql_connection *connection, const PGresult *result)
{
	const char *state;

	if (connection->answer_seen)
		return;
	connection->answer_seen = 1;
	if (PQresultStatus(result) == PGRES_TUPLES_OK) {
		read_row(connection, result);
		return;
	}
	state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
	if (state != NULL && strncmp(state, SQLSTATE_DATA_EXCEPTION, 2) == 0) {
		connection->answer.verdict = POSTGRESQL_NAME_REFUSED;
		return;
	}
	remember_error(connection, PQresultErrorMessage(result));
	connection->answer.verdict = POSTGRESQL_QUERY_FAILED;
}

/* The socket is ready while the query runs: send what is left, read what came. */
static void
asking(evutil_socket_t fd UNUSED, short what, void *arg)
{
	struct postgresql_connection *connection = arg;
	PGconn *database = connection->database;
	PGresult *result;
	int unsent;

	if ((what & EV_READ) && !PQconsumeInput(database)) {
		fail(connection, POSTGRESQL_BROKEN, PQerrorMessage(database));
		return;
	}
	/* libpq's rule when non-blocking: flush after reading, until nothing is left. */
	if (connection->flushing) {
		unsent = PQflush(database);
		if (unsent < 0) {
			fail(connection, POSTGRESQL_BROKEN, PQerrorMessage(database));
			return;
		}
		connection->flushing = unsent > 0;
	}
	/* PQgetResult blocks unless PQisBusy said the next result is all there. */
	while (!PQisBusy(database)) {
		result = PQgetResult(database);
		if (result == NULL) {
			struct postgresql_user answer = connection->answer;

			if (!connection->answer_seen) {
				fail(connection, POSTGRESQL_BROKEN, "no result for the query");
				return;
			}
			/* The callback may ask anew: the answer is handed over first. */
			connection->answer.home = NULL;
			forget_answer(connection);
			become_idle(connection);
			if (connection->state != POSTGRESQL_IDLE)
				remember_error(connection, "cannot watch the socket");
			connection->changed(connection->owner, connection, POSTGRESQL_ANSWERED,
			    &answer);
			free(answer.home);
			explicit_bzero(&answer, sizeof(answer));
			return;
		}
		read_result(connection, result);
		PQclear(result);
	}
	if (PQstatus(database) == CONNECTION_BAD) {
		fail(connection, POSTGRESQL_BROKEN, PQerrorMessage(database));
		return;
	}
	if (watch_socket(connection, EV_READ | (connection->flushing ? EV_WRITE : 0), asking) != 0)
		fail(connection, POSTGRESQL_BROKEN, "cannot watch the socket");
}

int
postgresql_connection_ask(struct postgresql_connection *connection, const char *user)
{
	const char *parameters[1] = { user };
	int unsent;

	if (connection->state != POSTGRESQL_IDLE)
		return -EALREADY;
	forget_answer(connection);
	if (!PQsendQueryParams(connection->database, user_query, 1, NULL, parameters, NULL,
	    NULL, 0) || (unsent = PQflush(connection->database)) < 0) {
		remember_error(connection, PQerrorMessage(connection->database));
		postgresql_connection_close(connection);
		return -EPIPE;
	}
	connection->state = POSTGRESQL_ASKING;
	connection->flushing = unsent > 0;
	start_timer(connection);
	if (watch_socket(connection, EV_READ | (connection->flushing ? EV_WRITE : 0), asking) != 0) {
		remember_error(connection, "cannot watch the socket");
		postgresql_connection_close(connection);
		return -EPIPE;
	}
	return 0;
}

/* Idle, yet the socket is readable: a notice, or the server closing the connection. */
static void
idle_readable(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct postgresql_connection *connection = arg;
	PGnotify *notification;

	if (!PQconsumeInput(connection->database) ||
	    PQstatus(connection->database) == CONNECTION_BAD) {
		fail(connection, POSTGRESQL_BROKEN, PQerrorMessage(connection->database));
		return;
	}
	while ((notification = PQnotifies(connection->database)) != NULL)
		PQfreemem(notification);
}

struct postgresql_connection *
postgresql_connection_new(struct event_base *base, postgresql_connection_fn changed, void *owner)
{
	struct postgresql_connection *connection = calloc(1, sizeof(*connection));

	if (connection == NULL)
		return NULL;
	connection->base = base;
	connection->changed = changed;
	connection->owner = owner;
	connection->state = POSTGRESQL_DISCONNECTED;
	connection->timer = evtimer_new(base, timed_out, connection);
	if (connection->timer == NULL) {
		free(connection);
		return NULL;
	}
	return connection;
}

enum postgresql_connection_state
postgresql_connection_state(const struct postgresql_connection *connection)
{
	return connection->state;
}

const char *
postgresql_connection_error(const struct postgresql_connection *connection)
{
	return connection->error[0] != '\0' ? connection->error : "unknown error";
}

void
postgresql_connection_free(struct postgresql_connection *connection)
{
	if (connection == NULL)
		return;
	postgresql_connection_close(connection);
	event_free(connection->timer);
	free(connection);
}
