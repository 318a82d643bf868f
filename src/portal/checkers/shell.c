/*
 * portal/checkers/shell: login = shell. The shell module's authenticate
 * checks the password itself (an SMB gateway asks its server), so ftpd keeps
 * no user list; what it gives back (an open connection) goes with the avatar
 * id to the module's create. Runs in the worker, where modules are loaded.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "reply/reply.h"
#include "util/attributes.h"

struct checker_shell {
	struct checker base;
	const struct config *config;
	const struct ftpd_shell_module *module;
	struct ftpd_host *host;
};

struct checker_request {
	struct checker_shell *checker;
	char *user;
	checker_done_fn done;
	void *arg;
	int cancelled;		/* the caller left: the answer is dropped */
	int *answered_now;	/* while authenticate runs: set when it answers */
};

static void
request_free(struct checker_request *request)
{
	free(request->user);
	free(request);
}

static void
authenticated(void *arg, int error, void *login)
{
	struct checker_request *request = arg;
	const struct ftpd_shell_module *module = request->checker->module;
	struct avatar_id *id = NULL;

	if (request->answered_now != NULL)
		*request->answered_now = 1;
	if (request->cancelled) {
		if (error == 0 && login != NULL)
			module->release_login(login);
		request_free(request);
		return;
	}
	if (error > 0)
		error = -EIO;
	if (error == 0 && (error = avatar_id_new(request->user, NULL, 0, &id)) == 0) {
		id->shell_login = login;
		id->release_shell_login = module->release_login;
	} else if (error == 0 || login != NULL) {
		if (login != NULL)
			module->release_login(login);
	}
	if (error != 0 && error != -EACCES) {
		log_warning("login %s: shell %s cannot check the password: %s", request->user,
		    module->name, strerror(-error));
		/* Not a wrong password: the client is told the store is gone. */
		if (reply_error_ends_session(error))
			error = CHECKER_STORE_GONE;
	}
	request->done(request->arg, error, id);
	request_free(request);
}

static struct checker_request *
shell_check(struct checker *base, const char *user, const char *password,
    const struct sockaddr *peer UNUSED, checker_done_fn done, void *arg)
{
	struct checker_shell *checker = (struct checker_shell *)base;
	struct ftpd_shell_config config = { .struct_size = sizeof(config) };
	struct checker_request *request;
	char root[PATH_MAX];
	int answered_now = 0;

	if (!checker_user_name_is_valid(user)) {
		done(arg, -EACCES, NULL);
		return NULL;
	}
	request = calloc(1, sizeof(*request));
	if (request == NULL || (request->user = strdup(user)) == NULL) {
		free(request);
		done(arg, -ENOMEM, NULL);
		return NULL;
	}
	request->checker = checker;
	request->done = done;
	request->arg = arg;
	/* What create will be given, but the login: the module may need its options. */
	snprintf(root, sizeof(root), "%s/%s", checker->config->home_root, user);
	config.root = root;
	config.user = user;
	config.options = (const char *const *)checker->config->shell_options.lines;
	config.option_count = checker->config->shell_options.count;
	config.host = checker->host;
	config.sync_uploads = checker->config->upload_sync;
	request->answered_now = &answered_now;
	checker->module->authenticate(&config, user, password, authenticated, request);
	if (answered_now)
		return NULL;	/* done ran and the request is gone */
	request->answered_now = NULL;
	return request;
}

static void
shell_cancel(struct checker_request *request)
{
	/* authenticate cannot be stopped: its answer is dropped when it comes. */
	request->cancelled = 1;
}

static const struct checker_ops shell_ops = {
	.check = shell_check,
	.cancel = shell_cancel,
};

struct checker *
checker_shell_new(const struct config *config, const struct ftpd_shell_module *module,
    struct ftpd_host *host)
{
	struct checker_shell *checker = calloc(1, sizeof(*checker));

	if (checker == NULL)
		return NULL;
	checker->base.ops = &shell_ops;
	checker->config = config;
	checker->module = module;
	checker->host = host;
	return &checker->base;
}
