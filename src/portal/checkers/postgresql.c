/*
 * portal/checkers/postgresql: passwd_db. Looks users up in PostgreSQL over a few
 * connections on the loop, and checks their crypt(3) hash in a worker thread.
 */
#include <sys/queue.h>

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "portal/checkers/crypt_check.h"
#include "portal/checkers/postgresql.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

/* Stands in until the database has shown a hash to borrow a setting from. */
#define POSTGRESQL_DEFAULT_SCHEME "$y$"

struct checker_postgresql;

/* A connection and the check it runs the query for. */
struct connection_slot {
	struct checker_postgresql *checker;
	struct postgresql_connection *connection;
	struct checker_request *request;	/* NULL: none, or its caller left */
};

enum request_stage {
	REQUEST_WAITING,	/* in the queue, for an idle connection */
	REQUEST_ASKING,		/* its query runs on slot */
	REQUEST_VERIFYING,	/* its hash is computed in a worker thread */
};

/* One login being checked. */
struct checker_request {
	struct checker_postgresql *checker;
	TAILQ_ENTRY(checker_request) queue_link;
	enum request_stage stage;
	struct connection_slot *slot;	/* asking */
	struct event *deadline;		/* waiting, asking: POSTGRESQL_ANSWER_MS from check() */
	struct worker_job *job;		/* verifying */
	int retried;			/* asked again once after its connection broke */
	int caller_left;		/* verifying: cancelled; the job's done frees it */
	checker_done_fn done;
	void *arg;

	/* What the worker thread reads, and writes back (match, error). */
	char user[CHECKER_USER_MAX + 1];
	char password[CRYPT_MAX_PASSPHRASE_SIZE];	/* zeroed once hashed */
	char hash[CRYPT_OUTPUT_SIZE];	/* "": unknown, locked or unusable */
	char stand_in[CRYPT_OUTPUT_SIZE];	/* the setting hashed instead, at the same cost */
	char *home;
	int read_only;
	struct user_settings settings;
	int match;
	int error;
};

TAILQ_HEAD(request_queue, checker_request);

struct checker_postgresql {
	struct checker base;
	struct event_base *loop;
	struct worker_pool *workers;
	struct postgresql_target *target;
	struct connection_slot slots[POSTGRESQL_CONNECTIONS_MAX];
	struct request_queue queue;	/* waiting, oldest first */
	unsigned queued;
	unsigned alive;			/* checks whose caller still waits for done() */
	/*
	 * Everything that starts work on a connection runs from here, on the
	 * next turn of the loop, so that no call answers a check midway.
	 */
	struct event *dispatch;
	int down;			/* the last connection attempt failed */
	struct timespec retry_at;	/* until then no new attempt (monotonic) */
	int retired;			/* freed by its owner: gone once alive is 0 */
	/* The setting of the last hash seen, for the stand-in of an unknown name. */
	char stand_in[CRYPT_OUTPUT_SIZE];
};

static int
now_is_before(const struct timespec *moment)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec < moment->tv_sec ||
	    (now.tv_sec == moment->tv_sec && now.tv_nsec < moment->tv_nsec);
}

static void
schedule_dispatch(struct checker_postgresql *checker)
{
	event_active(checker->dispatch, EV_TIMEOUT, 1);
}

static void
request_free(struct checker_request *request)
{
	if (request->deadline != NULL)
		event_free(request->deadline);
	explicit_bzero(request->password, sizeof(request->password));
	explicit_bzero(request->hash, sizeof(request->hash));
	free(request->home);
	free(request);
}

/* The caller no longer waits: the checker may go once nobody does. */
static void
forget_caller(struct checker_postgresql *checker)
{
	checker->alive--;
	if (checker->retired && checker->alive == 0)
		schedule_dispatch(checker);
}

/* Answers the caller and frees request. */
static void
complete(struct checker_request *request, int error, struct avatar_id *id)
{
	struct checker_postgresql *checker = request->checker;
	checker_done_fn done = request->done;
	void *arg = request->arg;

	request_free(request);
	forget_caller(checker);
	done(arg, error, id);
}

static int
slot_is_alive(const struct connection_slot *slot)
{
	return postgresql_connection_state(slot->connection) != POSTGRESQL_DISCONNECTED;
}

/* Something may still answer the queue: a connection, or a host lookup. */
static int
anything_alive(const struct checker_postgresql *checker)
{
	unsigned i;

	for (i = 0; i < POSTGRESQL_CONNECTIONS_MAX; i++)
		if (slot_is_alive(&checker->slots[i]))
			return 1;
	return postgresql_target_looking_up(checker->target);
}

/* Checks fail at once: the last attempt failed a moment ago and nothing is up. */
static int
database_is_down(const struct checker_postgresql *checker)
{
	return checker->down && now_is_before(&checker->retry_at) && !anything_alive(checker);
}

static void
database_unreachable(struct checker_postgresql *checker, const char *why)
{
	if (!checker->down)
		log_warning("passwd_db: the database cannot be reached (%s); logins are "
		    "answered 421 until it can", why);
	else
		log_debug("passwd_db: still unreachable: %s", why);
	checker->down = 1;
	clock_gettime(CLOCK_MONOTONIC, &checker->retry_at);
	checker->retry_at.tv_nsec += (long)POSTGRESQL_RETRY_MS * 1000000;
	checker->retry_at.tv_sec += checker->retry_at.tv_nsec / 1000000000;
	checker->retry_at.tv_nsec %= 1000000000;
	/* The address may have moved: look the names up again before the next attempt. */
	postgresql_target_forget_addresses(checker->target);
}

static void
leave_queue(struct checker_request *request)
{
	TAILQ_REMOVE(&request->checker->queue, request, queue_link);
	request->checker->queued--;
}

/* Worker thread: one crypt per attempt, of the user's hash or the stand-in. */
static void
verify_work(void *arg)
{
	struct checker_request *request = arg;
	const char *setting = request->hash[0] != '\0' ? request->hash : request->stand_in;
	int match;

	match = crypt_check(request->password, setting,
	    request->hash[0] != '\0' ? request->hash : NULL);
	if (match < 0)
		request->error = match;
	else
		request->match = match;
	explicit_bzero(request->password, sizeof(request->password));
}

/* Loop thread: the hash is checked, or the pool is going away. */
static void
verify_done(void *arg, int cancelled)
{
	struct checker_request *request = arg;
	struct avatar_id *id = NULL;
	int error;

	if (request->caller_left) {
		request_free(request);
		return;
	}
	if (cancelled)
		error = -ECANCELED;
	else if (request->error != 0)
		error = request->error;
	else if (!request->match)
		error = -EACCES;
	else if ((error = avatar_id_new(request->user, request->home, 0, &id)) == 0) {
		id->read_only = request->read_only;
		id->settings = request->settings;
	}
	complete(request, error, id);
}

/* The database answered for request: its hash is checked next, off the loop. */
static void
verify(struct checker_request *request, const struct postgresql_user *user)
{
	struct checker_postgresql *checker = request->checker;
	const char *setting;

	event_free(request->deadline);
	request->deadline = NULL;
	request->stage = REQUEST_VERIFYING;
	request->slot = NULL;
	if (user->verdict == POSTGRESQL_USER_FOUND) {
		/* A locked hash still names the scheme and cost after its marker. */
		setting = user->hash + strspn(user->hash, "!*");
		if (setting[0] == '$')
			strcpy(checker->stand_in, setting);
		if (!crypt_hash_is_locked(user->hash))
			strcpy(request->hash, user->hash);
		request->read_only = user->read_only;
		request->settings = user->settings;
		if (user->home != NULL && (request->home = strdup(user->home)) == NULL) {
			complete(request, -ENOMEM, NULL);
			return;
		}
	}
	/* Unknown, locked and refused names cost one crypt too, so timing tells nothing. */
	strcpy(request->stand_in, checker->stand_in);
	request->job = worker_pool_submit(checker->workers, verify_work, verify_done, request);
	if (request->job == NULL)
		complete(request, -ENOMEM, NULL);
}

static void
answered(struct checker_request *request, struct postgresql_connection *connection,
    const struct postgresql_user *user)
{
	if (user->verdict == POSTGRESQL_QUERY_FAILED) {
		/* The table, a column or a right is missing: nobody can log in, say why. */
		log_error("passwd_db: the lookup failed (see conf/sql/schema.sql): %s",
		    postgresql_connection_error(connection));
		complete(request, CHECKER_USERS_UNREACHABLE, NULL);
		return;
	}
	verify(request, user);
}

static void
connection_changed(void *owner, struct postgresql_connection *connection,
    enum postgresql_event event, const struct postgresql_user *user)
{
	struct connection_slot *slot = owner;
	struct checker_postgresql *checker = slot->checker;
	struct checker_request *request = slot->request;

	slot->request = NULL;
	switch (event) {
	case POSTGRESQL_CONNECTED:
		if (checker->down)
			log_info("passwd_db: the database can be reached again");
		checker->down = 0;
		break;
	case POSTGRESQL_CONNECT_FAILED:
		database_unreachable(checker, postgresql_connection_error(connection));
		break;
	case POSTGRESQL_ANSWERED:
		if (request != NULL)
			answered(request, connection, user);
		break;
	case POSTGRESQL_BROKEN:
		if (request == NULL) {
			log_info("passwd_db: a connection closed: %s",
			    postgresql_connection_error(connection));
			break;
		}
		log_warning("passwd_db: a connection broke during a lookup: %s",
		    postgresql_connection_error(connection));
		request->slot = NULL;
		if (request->retried) {
			complete(request, CHECKER_USERS_UNREACHABLE, NULL);
			break;
		}
		/* Perhaps only this connection went stale: once more, first in line. */
		request->retried = 1;
		request->stage = REQUEST_WAITING;
		TAILQ_INSERT_HEAD(&checker->queue, request, queue_link);
		checker->queued++;
		break;
	}
	schedule_dispatch(checker);
}

static void
looked_up(void *owner, int error)
{
	struct checker_postgresql *checker = owner;

	if (error != 0)
		database_unreachable(checker, error == -EHOSTUNREACH ?
		    "no host has an address" : strerror(-error));
	schedule_dispatch(checker);
}

static struct connection_slot *
slot_in_state(struct checker_postgresql *checker, enum postgresql_connection_state state)
{
	unsigned i;

	for (i = 0; i < POSTGRESQL_CONNECTIONS_MAX; i++)
		if (postgresql_connection_state(checker->slots[i].connection) == state)
			return &checker->slots[i];
	return NULL;
}

/* Starts one more connection when the queue needs it and the pool has room. 1 if started. */
static int
connect_one_more(struct checker_postgresql *checker)
{
	const char *const *keywords, *const *values;
	struct connection_slot *slot;
	unsigned connecting = 0, i;
	int error;

	if (checker->down && now_is_before(&checker->retry_at))
		return 0;
	for (i = 0; i < POSTGRESQL_CONNECTIONS_MAX; i++)
		connecting += postgresql_connection_state(checker->slots[i].connection) ==
		    POSTGRESQL_CONNECTING;
	if (connecting >= checker->queued)
		return 0;
	slot = slot_in_state(checker, POSTGRESQL_DISCONNECTED);
	if (slot == NULL)
		return 0;
	error = postgresql_target_parameters(checker->target, &keywords, &values);
	if (error == -EINPROGRESS)
		return 0;
	if (error != 0) {
		database_unreachable(checker, strerror(-error));
		return 0;
	}
	if (postgresql_connection_connect(slot->connection, keywords, values) != 0) {
		database_unreachable(checker, postgresql_connection_error(slot->connection));
		return 0;
	}
	return 1;
}

static void
ask(struct connection_slot *slot, struct checker_request *request)
{
	leave_queue(request);
	if (postgresql_connection_ask(slot->connection, request->user) != 0) {
		/* The connection is closed now; the request stays first in line. */
		log_info("passwd_db: a connection was found broken: %s",
		    postgresql_connection_error(slot->connection));
		TAILQ_INSERT_HEAD(&slot->checker->queue, request, queue_link);
		slot->checker->queued++;
		return;
	}
	request->stage = REQUEST_ASKING;
	request->slot = slot;
	slot->request = request;
}

static void
release(struct checker_postgresql *checker)
{
	unsigned i;

	for (i = 0; i < POSTGRESQL_CONNECTIONS_MAX; i++)
		postgresql_connection_free(checker->slots[i].connection);
	postgresql_target_free(checker->target);
	if (checker->dispatch != NULL)
		event_free(checker->dispatch);
	free(checker);
}

static void
dispatch(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct checker_postgresql *checker = arg;
	struct checker_request *request;
	struct connection_slot *slot;

	if (checker->retired && checker->alive == 0) {
		release(checker);
		return;
	}
	while ((request = TAILQ_FIRST(&checker->queue)) != NULL) {
		slot = slot_in_state(checker, POSTGRESQL_IDLE);
		if (slot != NULL)
			ask(slot, request);
		else if (!connect_one_more(checker))
			break;
	}
	/* Nothing could answer the queue now: a clear 421 beats waiting out the second. */
	while (!anything_alive(checker) && (request = TAILQ_FIRST(&checker->queue)) != NULL) {
		leave_queue(request);
		complete(request, CHECKER_USERS_UNREACHABLE, NULL);
	}
}

static void
deadline_passed(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct checker_request *request = arg;
	struct checker_postgresql *checker = request->checker;

	if (request->stage == REQUEST_WAITING) {
		log_info("passwd_db: no connection to the database within "
		    POSTGRESQL_ANSWER_TEXT " for a login");
		leave_queue(request);
	} else {
		/* A connection that does not answer in time is not trusted with another login. */
		log_warning("passwd_db: no answer from the database within "
		    POSTGRESQL_ANSWER_TEXT "; connection dropped");
		request->slot->request = NULL;
		postgresql_connection_close(request->slot->connection);
	}
	complete(request, CHECKER_USERS_UNREACHABLE, NULL);
	schedule_dispatch(checker);
}

static struct checker_request *
postgresql_check(struct checker *base, const char *user, const char *password,
    const struct sockaddr *peer UNUSED, checker_done_fn done, void *arg)
{
	struct checker_postgresql *checker = (struct checker_postgresql *)base;
	const struct timeval limit = {
		POSTGRESQL_ANSWER_MS / 1000, (POSTGRESQL_ANSWER_MS % 1000) * 1000
	};
	struct checker_request *request;

	/* No user has such a name; answering now leaks nothing about the database. */
	if (!checker_user_name_is_valid(user) || strlen(password) >= CRYPT_MAX_PASSPHRASE_SIZE) {
		done(arg, -EACCES, NULL);
		return NULL;
	}
	if (checker->queued >= POSTGRESQL_QUEUE_MAX) {
		log_warning("passwd_db: %u logins wait for a connection already; refusing more",
		    checker->queued);
		done(arg, CHECKER_USERS_UNREACHABLE, NULL);
		return NULL;
	}
	if (database_is_down(checker)) {
		done(arg, CHECKER_USERS_UNREACHABLE, NULL);
		return NULL;
	}
	request = calloc(1, sizeof(*request));
	if (request == NULL) {
		done(arg, -ENOMEM, NULL);
		return NULL;
	}
	request->deadline = evtimer_new(checker->loop, deadline_passed, request);
	if (request->deadline == NULL || evtimer_add(request->deadline, &limit) != 0) {
		request_free(request);
		done(arg, -ENOMEM, NULL);
		return NULL;
	}
	request->checker = checker;
	request->done = done;
	request->arg = arg;
	request->stage = REQUEST_WAITING;
	strcpy(request->user, user);
	strcpy(request->password, password);
	TAILQ_INSERT_TAIL(&checker->queue, request, queue_link);
	checker->queued++;
	checker->alive++;
	schedule_dispatch(checker);
	return request;
}

static void
postgresql_cancel(struct checker_request *request)
{
	struct checker_postgresql *checker = request->checker;

	switch (request->stage) {
	case REQUEST_WAITING:
		leave_queue(request);
		request_free(request);
		break;
	case REQUEST_ASKING:
		/* The connection finishes the query; its answer is dropped. */
		request->slot->request = NULL;
		request_free(request);
		break;
	case REQUEST_VERIFYING:
		/* verify_done still runs once and frees it. */
		request->caller_left = 1;
		worker_job_cancel(request->job);
		break;
	}
	forget_caller(checker);
}

/* Checks still running go on; the checker goes with the last of them. */
static void
postgresql_free(struct checker *base)
{
	struct checker_postgresql *checker = (struct checker_postgresql *)base;

	checker->retired = 1;
	if (checker->alive == 0)
		release(checker);
}

static const struct checker_ops postgresql_ops = {
	.check = postgresql_check,
	.cancel = postgresql_cancel,
	.free = postgresql_free,
};

struct checker *
checker_postgresql_new(const struct config *config, struct worker_pool *workers)
{
	struct checker_postgresql *checker;
	unsigned i;

	if (config->passwd_db == NULL)
		return NULL;
	checker = calloc(1, sizeof(*checker));
	if (checker == NULL) {
		log_error("passwd_db: out of memory");
		return NULL;
	}
	checker->base.ops = &postgresql_ops;
	checker->loop = worker_pool_event_base(workers);
	checker->workers = workers;
	TAILQ_INIT(&checker->queue);
	for (i = 0; i < POSTGRESQL_CONNECTIONS_MAX; i++) {
		checker->slots[i].checker = checker;
		checker->slots[i].connection = postgresql_connection_new(checker->loop,
		    connection_changed, &checker->slots[i]);
		if (checker->slots[i].connection == NULL)
			goto out_of_memory;
	}
	checker->dispatch = event_new(checker->loop, -1, 0, dispatch, checker);
	if (checker->dispatch == NULL)
		goto out_of_memory;
	if (crypt_gensalt_rn(POSTGRESQL_DEFAULT_SCHEME, 0, NULL, 0, checker->stand_in,
	    sizeof(checker->stand_in)) == NULL) {
		log_error("passwd_db: crypt_gensalt_rn(%s) failed", POSTGRESQL_DEFAULT_SCHEME);
		release(checker);
		return NULL;
	}
	checker->target = postgresql_target_new(config->passwd_db, workers, looked_up, checker);
	if (checker->target == NULL) {
		release(checker);
		return NULL;
	}
	return &checker->base;
out_of_memory:
	log_error("passwd_db: out of memory");
	release(checker);
	return NULL;
}
