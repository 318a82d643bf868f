/*
 * session/home_usage: the home's count for quotas, per session. Sessions do
 * not share it: each counts when it first needs to and then sees only its
 * own changes (see ftpd.conf(5), quota_bytes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "log/log.h"
#include "portal/portal.h"
#include "quota/walk.h"
#include "session/home_usage.h"
#include "session/operation.h"
#include "session/session.h"

/* A walk under way for one command. */
struct usage_request {
	struct operation *operation;
	void (*then)(struct operation *operation);
};

int
home_usage_limited(const struct session *session)
{
	return session->limits.quota_bytes != 0 || session->limits.quota_files != 0;
}

struct quota_usage *
home_usage_counted(struct session *session)
{
	return home_usage_limited(session) && session->home_usage.known ?
	    &session->home_usage : NULL;
}

/* A walk for a client that has gone is not worth finishing. */
static int
still_wanted(void *arg)
{
	struct usage_request *request = arg;

	return !request->operation->session->dead;
}

static void
counted(void *arg, int error, const struct quota_usage *usage)
{
	struct usage_request *request = arg;
	struct operation *operation = request->operation;
	void (*then)(struct operation *operation) = request->then;
	struct session *session = operation->session;

	free(request);
	if (operation_arrived(operation))
		return;
	if (error != 0) {
		operation_finish(operation, error, REPLY_COUNT);
		return;
	}
	session->home_usage = *usage;
	log_info("%s: the home of %s holds %" PRIu64 " bytes in %" PRIu64 " files and directories",
	    session->peer_text, session->avatar->name, usage->bytes, usage->files);
	operation_continue(operation);
	then(operation);
}

void
home_usage_ensure(struct operation *operation, void (*then)(struct operation *operation))
{
	struct session *session = operation->session;
	struct usage_request *request;
	struct quota_walk_request walk;

	if (session->home_usage.known) {
		then(operation);
		return;
	}
	request = malloc(sizeof(*request));
	if (request != NULL) {
		request->operation = operation;
		request->then = then;
		walk = (struct quota_walk_request){
			.base = session->services->base,
			.shell = operation_shell(operation),
			.wanted = still_wanted,
			.done = counted,
			.arg = request,
		};
	}
	if (request == NULL || quota_walk_start(&walk) != 0) {
		free(request);
		/* Nothing asynchronous began: the hold ends here. */
		session_release(session);
		operation_finish(operation, -ENOMEM, REPLY_COUNT);
	}
}
