/*
 * monitor/requests: the monitor's answers to a worker. Anything malformed
 * costs that worker its life (monitor_cut_off), never the monitor.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "config/settings.h"
#include "log/log.h"
#include "monitor/message.h"
#include "monitor/state.h"
#include "portal/checkers/checkers.h"

/* One password check for a worker, running on the monitor's threads. */
struct authentication {
	struct authentication *previous;
	struct authentication *next;
	struct worker_record *worker;
	uint32_t id;
	struct checker *checker;
	struct checker_request *check;	/* NULL until check() returned */
};

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
	if (message_put(bufferevent_get_output(worker->channel), type, id, body) != 0)
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
checked(void *arg, int error, struct avatar_id *avatar_id)
{
	struct authentication *check = arg;
	struct worker_record *worker = check->worker;

	unlink_check(check);
	answer_authentication(worker, check->id, error, avatar_id);
	avatar_id_free(avatar_id);
	free(check);
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
	check->next = worker->checks;
	if (check->next != NULL)
		check->next->previous = check;
	worker->checks = check;
	worker->check_count++;
	/* The checker copies the password; the message is zeroed by the caller. */
	started = checker->ops->check(checker, body->user, body->password, checked, check);
	if (started != NULL)
		check->check = started;
}

void
requests_cancel_all(struct worker_record *worker)
{
	while (worker->checks != NULL) {
		struct authentication *check = worker->checks;

		unlink_check(check);
		if (check->check != NULL)
			check->checker->ops->cancel(check->check);
		free(check);
	}
}

static void
admit(struct worker_record *worker, const struct message *message)
{
	struct monitor *monitor = worker->monitor;
	const struct config *config = &monitor->settings->config;
	const struct message_address *address = &message->body.admit.address;
	struct message_admitted body;

	body.verdict = limits_admit(&monitor->limits, address, config->max_clients,
	    config->max_clients_per_ip);
	if (body.verdict == MESSAGE_ADMIT_OK)
		limits_add(&worker->counted, address);
	answer(worker, MESSAGE_ADMITTED, message->header.id, &body);
}

static void
session_ended(struct worker_record *worker, const struct message *message)
{
	const struct message_address *address = &message->body.session_ended.address;

	/* A worker can give back only what it was given. */
	if (limits_sessions_from(&worker->counted, address) == 0) {
		monitor_cut_off(worker, "it ended a session it never had");
		return;
	}
	limits_remove(&worker->counted, address);
	limits_remove(&worker->monitor->limits, address);
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
