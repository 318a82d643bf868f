/*
 * portal/checkers/anonymous: lets guests ("anonymous", "ftp") in with any password
 * when the config allows anonymous logins (Twisted's AllowAnonymousAccess).
 */
#include <errno.h>
#include <stdlib.h>

#include "portal/checkers/checkers.h"
#include "util/attributes.h"
#include "portal/portal.h"

struct checker_anonymous {
	struct checker base;
	const struct config *config;
};

static struct checker_request *
anonymous_check(struct checker *checker, const char *user, const char *password,
    const struct sockaddr *peer UNUSED,
    checker_done_fn done, void *arg)
{
	struct checker_anonymous *anonymous = (struct checker_anonymous *)checker;
	struct avatar_id *id = NULL;
	int error;

	(void)password;
	if (!anonymous->config->anonymous || !portal_is_anonymous_user(user))
		error = -EACCES;
	else
		error = avatar_id_new("anonymous", NULL, 1, &id);
	/* Nothing to wait for, so the answer is given at once. */
	done(arg, error, id);
	return NULL;
}

static void
anonymous_cancel(struct checker_request *request)
{
	/* check() never returns a request, so there is never one to cancel. */
	(void)request;
}

static const struct checker_ops anonymous_ops = {
	.check = anonymous_check,
	.cancel = anonymous_cancel,
};

struct checker *
checker_anonymous_new(const struct config *config)
{
	struct checker_anonymous *anonymous;

	anonymous = calloc(1, sizeof(*anonymous));
	if (anonymous == NULL)
		return NULL;
	anonymous->base.ops = &anonymous_ops;
	anonymous->config = config;
	return &anonymous->base;
}
