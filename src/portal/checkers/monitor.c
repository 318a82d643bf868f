/*
 * portal/checkers/monitor: a worker's password checker. It asks the monitor,
 * which alone reads the credential stores, and never blocks the worker's loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/link.h"
#include "monitor/message.h"
#include "portal/checkers/checkers.h"
#include "util/attributes.h"

struct checker_monitor {
	struct checker base;
	struct monitor_link *link;
};

struct checker_request {
	struct monitor_request *request;
	checker_done_fn done;
	void *arg;
};

/* The avatar id the monitor's answer describes. 0 or -errno. */
static int
id_from_answer(const struct message_authenticated *answer, struct avatar_id **id)
{
	struct system_account *account;
	uint32_t i;
	int error;

	if (answer->error != 0)
		return answer->error;
	error = avatar_id_new(answer->name, answer->home[0] != '\0' ? answer->home : NULL, 0, id);
	if (error != 0)
		return error;
	(*id)->read_only = answer->read_only != 0;
	strcpy((*id)->settings.shell, answer->shell);
	(*id)->settings.quota_bytes = answer->quota_bytes;
	(*id)->settings.quota_files = answer->quota_files;
	(*id)->settings.max_rate_down = answer->max_rate_down;
	(*id)->settings.max_rate_up = answer->max_rate_up;
	if (!answer->has_account)
		return 0;
	account = calloc(1, sizeof(*account));
	if (account == NULL) {
		avatar_id_free(*id);
		*id = NULL;
		return -ENOMEM;
	}
	account->uid = answer->uid;
	account->gid = answer->gid;
	account->group_count = (int)answer->group_count;
	for (i = 0; i < answer->group_count; i++)
		account->groups[i] = answer->groups[i];
	memcpy(account->hand_off_ticket, answer->ticket, sizeof(account->hand_off_ticket));
	(*id)->account = account;
	return 0;
}

static void
monitor_answered(void *arg, const struct message *answer)
{
	struct checker_request *request = arg;
	checker_done_fn done = request->done;
	void *done_arg = request->arg;
	struct avatar_id *id = NULL;
	int error;

	free(request);
	/* The monitor went away: the check could not be made. */
	if (answer == NULL) {
		done(done_arg, -ECANCELED, NULL);
		return;
	}
	error = id_from_answer(&answer->body.authenticated, &id);
	done(done_arg, error, error == 0 ? id : NULL);
}

static struct checker_request *
monitor_check(struct checker *checker, const char *user, const char *password,
    const struct sockaddr *peer,
    checker_done_fn done, void *arg)
{
	struct checker_monitor *self = (struct checker_monitor *)checker;
	struct message_authenticate body;
	struct checker_request *request;
	struct monitor_request *pending;

	/* No store has such a name or password: the monitor need not be asked. */
	if (!checker_user_name_is_valid(user) || strlen(password) >= sizeof(body.password)) {
		done(arg, -EACCES, NULL);
		return NULL;
	}
	request = calloc(1, sizeof(*request));
	if (request == NULL) {
		done(arg, -ENOMEM, NULL);
		return NULL;
	}
	request->done = done;
	request->arg = arg;
	memset(&body, 0, sizeof(body));
	strcpy(body.user, user);
	strcpy(body.password, password);
	if (peer != NULL)
		message_address_from(peer, &body.address);
	pending = monitor_link_request(self->link, MESSAGE_AUTHENTICATE, &body, monitor_answered,
	    request);
	explicit_bzero(body.password, sizeof(body.password));
	if (pending == NULL)
		return NULL;	/* monitor_answered ran and freed request */
	request->request = pending;
	return request;
}

static void
monitor_cancel(struct checker_request *request)
{
	monitor_request_cancel(request->request);
	free(request);
}

static const struct checker_ops monitor_ops = {
	.check = monitor_check,
	.cancel = monitor_cancel,
	.free = NULL,
};

struct checker *
checker_monitor_new(struct monitor_link *link)
{
	struct checker_monitor *checker = calloc(1, sizeof(*checker));

	if (checker == NULL)
		return NULL;
	checker->base.ops = &monitor_ops;
	checker->link = link;
	return &checker->base;
}
