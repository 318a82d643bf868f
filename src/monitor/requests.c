/*
 * monitor/requests: the monitor's answers to a worker. Anything malformed
 * costs that worker its life (monitor_cut_off), never the monitor.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "config/settings.h"
#include "log/log.h"
#include "monitor/message.h"
#include "monitor/state.h"
#include "portal/checkers/checkers.h"
#include "shared_state/shared_state.h"
#include "util/attributes.h"

/* A worker's own table counts what it was given, whatever the limits. */
static const struct config no_limits;

/* One password check for a worker, running on the monitor's threads. */
struct authentication {
	struct authentication *previous;
	struct authentication *next;
	struct worker_record *worker;
	uint32_t id;
	struct checker *checker;
	struct checker_request *check;	/* NULL until check() returned, and once it answered */
	struct message_address address;	/* the client's, for its failures */
	struct event *delay;		/* a failure's answer held back (growing delay) */
};

/* A session this instance's limits admitted, waiting for Redis (shared_state). */
struct pending_admission {
	struct pending_admission *previous;
	struct pending_admission *next;
	struct worker_record *worker;
	uint32_t id;
	struct message_address address;
	struct shared_admission *shared;
};

/* A login this instance's limits let in, waiting for Redis (max_sessions_per_user). */
struct pending_login {
	struct pending_login *previous;
	struct pending_login *next;
	struct worker_record *worker;
	uint32_t id;
	struct message_address address;
	char user[CHECKER_USER_MAX + 1];
	struct shared_login *shared;
};

static time_t
monotonic_seconds(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec;
}

static void
unlink_check(struct authentication *check)
{
	struct worker_record *worker = check->worker;

	if (check->previous != NULL)
		check->previous->next = check->next;
	else
		worker->checks = check->next;
	if (check->next != NULL)
		check->next->previous = check->previous;
	worker->check_count--;
}

static void
answer(struct worker_record *worker, uint32_t type, uint32_t id, const void *body)
{
	if (worker->channel == NULL)
		return;
	if (message_send(worker->channel, type, id, body) != 0)
		monitor_cut_off(worker, "out of memory for its answer");
}

static void
answer_authentication(struct worker_record *worker, uint32_t id, int error,
    const struct avatar_id *avatar_id)
{
	struct message_authenticated body;
	int i;

	memset(&body, 0, sizeof(body));
	body.error = error;
	if (error == 0 && avatar_id != NULL) {
		if (strlen(avatar_id->name) >= sizeof(body.name) ||
		    (avatar_id->home != NULL && strlen(avatar_id->home) >= sizeof(body.home)))
			body.error = -ENAMETOOLONG;
		else {
			strcpy(body.name, avatar_id->name);
			if (avatar_id->home != NULL)
				strcpy(body.home, avatar_id->home);
			body.read_only = avatar_id->read_only != 0;
			strcpy(body.shell, avatar_id->settings.shell);
			body.quota_bytes = avatar_id->settings.quota_bytes;
			body.quota_files = avatar_id->settings.quota_files;
			body.max_rate_down = avatar_id->settings.max_rate_down;
			body.max_rate_up = avatar_id->settings.max_rate_up;
		}
		if (body.error == 0 && avatar_id->account != NULL) {
			const struct system_account *account = avatar_id->account;

			/* The worker may hand this login off once: the monitor keeps whom it is. */
			body.error = user_sessions_grant(worker, avatar_id, body.ticket);
			body.has_account = 1;
			body.uid = account->uid;
			body.gid = account->gid;
			body.group_count = (uint32_t)account->group_count;
			for (i = 0; i < account->group_count; i++)
				body.groups[i] = account->groups[i];
		}
	}
	answer(worker, MESSAGE_AUTHENTICATED, id, &body);
}

static void
free_check(struct authentication *check)
{
	if (check->delay != NULL)
		event_free(check->delay);
	free(check);
}

static void
answer_failure_now(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct authentication *check = arg;
	struct worker_record *worker = check->worker;

	unlink_check(check);
	answer_authentication(worker, check->id, -EACCES, NULL);
	free_check(check);
}

/*
 * A wrong password or user from address: it counts across every connection
 * (and every instance), and may ban the address. Returns the extra delay
 * before the failure is answered; *banned_for is the ban this failure
 * started, 0 for none.
 */
static unsigned
record_failure(struct monitor *monitor, const struct message_address *address,
    unsigned *banned_for)
{
	const struct config *config = &monitor->settings->config;
	struct login_failure_policy policy;
	unsigned delay_ms;
	char text[64];

	policy.ban_after_failures = config->ban_after_failures;
	policy.ban_time = config->ban_time;
	policy.base_delay_ms = config->login_failure_delay_ms;
	delay_ms = login_failures_record(monitor->login_failures, address, monotonic_seconds(),
	    &policy, banned_for);
	if (*banned_for != 0) {
		message_address_text(address, text, sizeof(text));
		log_warning("%s%s banned for %u s after %u failed logins (ban_after_failures)",
		    text, address->length == 16 ? "/64" : "", *banned_for,
		    config->ban_after_failures);
	}
	/* Counted with every instance's failures too; a ban there comes back through requests_shared_ban. */
	shared_state_login_failed(monitor->shared, address, config->ban_after_failures,
	    config->ban_time);
	return delay_ms;
}

/* A failure the monitor checked: 1 when its answer waits on the growing delay. */
static int
failure_delayed(struct authentication *check)
{
	struct monitor *monitor = check->worker->monitor;
	struct timeval delay;
	unsigned delay_ms, banned_for;

	delay_ms = record_failure(monitor, &check->address, &banned_for);
	if (delay_ms == 0)
		return 0;
	check->delay = evtimer_new(monitor->base, answer_failure_now, check);
	if (check->delay == NULL)
		return 0;
	delay.tv_sec = delay_ms / 1000;
	delay.tv_usec = (delay_ms % 1000) * 1000;
	evtimer_add(check->delay, &delay);
	return 1;
}

static void
checked(void *arg, int error, struct avatar_id *avatar_id)
{
	struct authentication *check = arg;
	struct worker_record *worker = check->worker;

	check->check = NULL;
	if (error == -EACCES && failure_delayed(check))
		return;
	unlink_check(check);
	answer_authentication(worker, check->id, error, avatar_id);
	avatar_id_free(avatar_id);
	free_check(check);
}

static void
authenticate(struct worker_record *worker, const struct message *message)
{
	const struct message_authenticate *body = &message->body.authenticate;
	struct checker *checker = worker->monitor->password_checker;
	struct authentication *check;
	struct checker_request *started;

	if (checker == NULL) {
		answer_authentication(worker, message->header.id, -EACCES, NULL);
		return;
	}
	/* A banned address learns nothing about its guesses. */
	if (login_failures_banned(worker->monitor->login_failures, &body->address,
	    monotonic_seconds()) != 0) {
		answer_authentication(worker, message->header.id, MESSAGE_AUTHENTICATE_BANNED, NULL);
		return;
	}
	if (worker->check_count >= MONITOR_CHECKS_PER_WORKER) {
		log_warning("worker %u: %u password checks at once; refusing more",
		    worker->slot + 1, worker->check_count);
		answer_authentication(worker, message->header.id, -EBUSY, NULL);
		return;
	}
	check = calloc(1, sizeof(*check));
	if (check == NULL) {
		answer_authentication(worker, message->header.id, -ENOMEM, NULL);
		return;
	}
	check->worker = worker;
	check->id = message->header.id;
	check->checker = checker;
	check->address = body->address;
	check->next = worker->checks;
	if (check->next != NULL)
		check->next->previous = check;
	worker->checks = check;
	worker->check_count++;
	/* The checker copies the password; the message is zeroed by the caller. */
	started = checker->ops->check(checker, body->user, body->password, NULL, checked,
	    check);
	/* Unless it answered already: then check is freed, or waits on its delay. */
	if (started != NULL)
		check->check = started;
}

static void
unlink_admission(struct pending_admission *pending)
{
	if (pending->previous != NULL)
		pending->previous->next = pending->next;
	else
		pending->worker->admissions = pending->next;
	if (pending->next != NULL)
		pending->next->previous = pending->previous;
}

void
requests_shared_ban(void *owner, const struct message_address *address, unsigned seconds)
{
	struct monitor *monitor = owner;
	time_t now = monotonic_seconds();
	char text[64];

	if (login_failures_banned(monitor->login_failures, address, now) >= seconds)
		return;
	login_failures_ban(monitor->login_failures, address, now, seconds);
	message_address_text(address, text, sizeof(text));
	log_warning("%s%s banned for %u s: failed logins on every instance together reached "
	    "ban_after_failures (shared_state)", text, address->length == 16 ? "/64" : "",
	    seconds);
}

static void
unlink_login(struct pending_login *pending)
{
	if (pending->previous != NULL)
		pending->previous->next = pending->next;
	else
		pending->worker->logins = pending->next;
	if (pending->next != NULL)
		pending->next->previous = pending->previous;
}

void
requests_cancel_all(struct worker_record *worker)
{
	/* Counted as logged in here and in the worker's table: its end takes both away. */
	while (worker->logins != NULL) {
		struct pending_login *pending = worker->logins;

		unlink_login(pending);
		shared_state_login_cancel(pending->shared);
		free(pending);
	}
	while (worker->admissions != NULL) {
		struct pending_admission *pending = worker->admissions;

		unlink_admission(pending);
		shared_state_admission_cancel(pending->shared);
		free(pending);
	}
	while (worker->checks != NULL) {
		struct authentication *check = worker->checks;

		unlink_check(check);
		if (check->check != NULL)
			check->checker->ops->cancel(check->check);
		free_check(check);
	}
}

/* Redis's word on a session this instance admitted: it may still be refused. */
static void
shared_state_answered(void *arg, enum shared_admit_verdict verdict, unsigned retry_after)
{
	struct pending_admission *pending = arg;
	struct worker_record *worker = pending->worker;
	struct monitor *monitor = worker->monitor;
	struct message_admitted body;

	memset(&body, 0, sizeof(body));
	unlink_admission(pending);
	if (verdict == SHARED_ADMIT_TOO_MANY_FROM_ADDRESS || verdict == SHARED_ADMIT_BANNED) {
		limits_remove(&monitor->limits, &pending->address, 0, NULL);
		limits_remove(&worker->counted, &pending->address, 0, NULL);
		body.verdict = MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS;
		if (verdict == SHARED_ADMIT_BANNED) {
			body.verdict = MESSAGE_ADMIT_BANNED;
			body.retry_after = retry_after;
			requests_shared_ban(monitor, &pending->address, retry_after);
		}
	}
	answer(worker, MESSAGE_ADMITTED, pending->id, &body);
	free(pending);
}

/* Asks Redis about a session the local limits admitted. 1 when the answer waits for it. */
static int
ask_shared_state(struct worker_record *worker, uint32_t id,
    const struct message_address *address)
{
	struct monitor *monitor = worker->monitor;
	struct pending_admission *pending;

	if (monitor->shared == NULL || (pending = calloc(1, sizeof(*pending))) == NULL)
		return 0;
	pending->worker = worker;
	pending->id = id;
	pending->address = *address;
	pending->shared = shared_state_admit(monitor->shared, address,
	    monitor->settings->config.max_clients_per_ip, shared_state_answered, pending);
	if (pending->shared == NULL) {
		free(pending);	/* Redis unreachable: the local verdict stands */
		return 0;
	}
	pending->next = worker->admissions;
	if (pending->next != NULL)
		pending->next->previous = pending;
	worker->admissions = pending;
	return 1;
}

static void
admit(struct worker_record *worker, const struct message *message)
{
	struct monitor *monitor = worker->monitor;
	const struct config *config = &monitor->settings->config;
	const struct message_address *address = &message->body.admit.address;
	struct message_admitted body;

	memset(&body, 0, sizeof(body));
	body.retry_after = login_failures_banned(monitor->login_failures, address,
	    monotonic_seconds());
	if (body.retry_after != 0)
		body.verdict = MESSAGE_ADMIT_BANNED;
	else
		body.verdict = limits_admit(&monitor->limits, address, config);
	if (body.verdict == MESSAGE_ADMIT_OK) {
		limits_add(&worker->counted, address, 0, NULL);
		if (ask_shared_state(worker, message->header.id, address))
			return;
	}
	answer(worker, MESSAGE_ADMITTED, message->header.id, &body);
}

/* Redis's word on a login this instance let in: it may still be refused. */
static void
shared_login_answered(void *arg, enum shared_login_verdict verdict)
{
	struct pending_login *pending = arg;
	struct worker_record *worker = pending->worker;
	struct message_logged_in body;

	unlink_login(pending);
	memset(&body, 0, sizeof(body));
	body.verdict = MESSAGE_LOGIN_OK;
	if (verdict == SHARED_LOGIN_TOO_MANY_FOR_USER) {
		/* Back to "not logged in" in both tables, as the worker will count it. */
		limits_logout(&worker->monitor->limits, &pending->address, pending->user);
		limits_logout(&worker->counted, &pending->address, pending->user);
		body.verdict = MESSAGE_LOGIN_TOO_MANY_FOR_USER;
	}
	answer(worker, MESSAGE_LOGGED_IN, pending->id, &body);
	free(pending);
}

/* Asks Redis about a named login the local limits let in. 1 when the answer waits for it. */
static int
ask_shared_login(struct worker_record *worker, uint32_t id,
    const struct message_address *address, const char *user)
{
	struct monitor *monitor = worker->monitor;
	struct pending_login *pending;

	if (monitor->shared == NULL || user == NULL ||
	    (pending = calloc(1, sizeof(*pending))) == NULL)
		return 0;
	pending->worker = worker;
	pending->id = id;
	pending->address = *address;
	snprintf(pending->user, sizeof(pending->user), "%s", user);
	pending->shared = shared_state_login(monitor->shared, user,
	    monitor->settings->config.max_sessions_per_user, shared_login_answered, pending);
	if (pending->shared == NULL) {
		free(pending);	/* Redis unreachable: the local verdict stands */
		return 0;
	}
	pending->next = worker->logins;
	if (pending->next != NULL)
		pending->next->previous = pending;
	worker->logins = pending;
	return 1;
}

static void
login(struct worker_record *worker, const struct message *message)
{
	struct monitor *monitor = worker->monitor;
	const struct message_login *body = &message->body.login;
	const char *user = body->anonymous ? NULL : body->user;
	struct message_logged_in answer_body;

	/* Only a session the worker was given, and has not logged in, can log in. */
	if (limits_not_logged_in_from(&worker->counted, &body->address) == 0) {
		monitor_cut_off(worker, "it logged in a session it never had");
		return;
	}
	memset(&answer_body, 0, sizeof(answer_body));
	if (login_failures_banned(monitor->login_failures, &body->address,
	    monotonic_seconds()) != 0)
		answer_body.verdict = MESSAGE_LOGIN_BANNED;
	else
		answer_body.verdict = limits_login(&monitor->limits, &body->address, user,
		    &monitor->settings->config);
	if (answer_body.verdict != MESSAGE_LOGIN_OK) {
		answer(worker, MESSAGE_LOGGED_IN, message->header.id, &answer_body);
		return;
	}
	/* Counted as logged in at once: a refresh meanwhile writes it to Redis too. */
	limits_login(&worker->counted, &body->address, user, &no_limits);
	if (!ask_shared_login(worker, message->header.id, &body->address, user))
		answer(worker, MESSAGE_LOGGED_IN, message->header.id, &answer_body);
}

/*
 * login = shell: the worker's module refused a password. It counts as a
 * failure the monitor checked would; the worker holds the 530 back itself.
 */
static void
login_failed(struct worker_record *worker, const struct message *message)
{
	struct monitor *monitor = worker->monitor;
	const struct message_address *address = &message->body.login_failed.address;
	struct message_failure_counted counted;
	unsigned banned_for, already;

	/* Only for a session of its own: a worker cannot get another address banned. */
	if (limits_sessions_from(&worker->counted, address) == 0) {
		monitor_cut_off(worker, "it reported a failed login of a session it never had");
		return;
	}
	memset(&counted, 0, sizeof(counted));
	counted.delay_ms = record_failure(monitor, address, &banned_for);
	if (counted.delay_ms > LOGIN_FAILURES_MAX_DELAY_MS)
		counted.delay_ms = LOGIN_FAILURES_MAX_DELAY_MS;
	already = login_failures_banned(monitor->login_failures, address, monotonic_seconds());
	counted.banned_for = banned_for > already ? banned_for : already;
	if (counted.banned_for > MESSAGE_BAN_SECONDS_MAX)
		counted.banned_for = MESSAGE_BAN_SECONDS_MAX;
	answer(worker, MESSAGE_FAILURE_COUNTED, message->header.id, &counted);
}

static void
session_ended(struct worker_record *worker, const struct message *message)
{
	const struct message_session_ended *body = &message->body.session_ended;
	const char *user = body->anonymous ? NULL : body->user;

	/* A worker can give back only what it was given. */
	if (limits_remove(&worker->counted, &body->address, (int)body->logged_in, user) != 0) {
		monitor_cut_off(worker, "it ended a session it never had");
		return;
	}
	limits_remove(&worker->monitor->limits, &body->address, (int)body->logged_in, user);
	shared_state_session_ended(worker->monitor->shared, &body->address);
	if (body->logged_in)
		shared_state_logged_out(worker->monitor->shared, user);
}

static void
logout(struct worker_record *worker, const struct message *message)
{
	const struct message_session_ended *body = &message->body.session_ended;
	const char *user = body->anonymous ? NULL : body->user;

	if (!body->logged_in || limits_logout(&worker->counted, &body->address, user) != 0) {
		monitor_cut_off(worker, "it logged out a session not logged in");
		return;
	}
	limits_logout(&worker->monitor->limits, &body->address, user);
	shared_state_logged_out(worker->monitor->shared, user);
}

static void
handle(struct worker_record *worker, struct message *message)
{
	switch (message->header.type) {
	case MESSAGE_AUTHENTICATE:
		authenticate(worker, message);
		explicit_bzero(message->body.authenticate.password,
		    sizeof(message->body.authenticate.password));
		break;
	case MESSAGE_ADMIT:
		admit(worker, message);
		break;
	case MESSAGE_SESSION_ENDED:
		session_ended(worker, message);
		break;
	case MESSAGE_LOGIN:
		login(worker, message);
		break;
	case MESSAGE_LOGOUT:
		logout(worker, message);
		break;
	case MESSAGE_LOGIN_FAILED:
		login_failed(worker, message);
		break;
	case MESSAGE_READY:
		if (!worker->ready) {
			worker->ready = 1;
			monitor_worker_ready(worker->monitor, worker);
		}
		break;
	default:
		monitor_cut_off(worker, "it sent an answer, not a request");
		break;
	}
}

void
requests_readable(struct bufferevent *channel, void *arg)
{
	struct worker_record *worker = arg;
	struct evbuffer *input = bufferevent_get_input(channel);
	struct message message;
	int status;

	while (worker->channel != NULL && (status = message_take(input, &message)) != 0) {
		if (status < 0) {
			monitor_cut_off(worker, status == -EPROTO ? "unknown request type" :
			    status == -EMSGSIZE ? "request of the wrong length" :
			    "request with a field out of range");
			return;
		}
		handle(worker, &message);
	}
}
