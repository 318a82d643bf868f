/*
 * monitor/preflight_shells: loads the configured shells and tries each on its
 * root, as the worker's user, so -t finds a bad module before a login does.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "monitor/preflight_shells.h"
#include "shell/registry.h"

/* The login name a shell created by -t is given: no user logs in. */
#define PREFLIGHT_USER "(ftpd -t)"

struct shell_trial {
	const char *key;		/* "shell" or "anonymous_shell" */
	const char *name;
	const char *place;		/* where the key was set */
	const struct config_lines *options;
	const char *root;		/* NULL: load only */
	const char *root_key;		/* the key root comes from */
	const char *user;
	int read_only;
	int checks_passwords;	/* login = shell: it must have authenticate */
};

/* Writes "PLACE: KEY = NAME: what" to message; returns 1. */
static int
fail(const struct shell_trial *trial, char *message, size_t size, const char *what)
{
	snprintf(message, size, "%s: %s = %s: %s",
	    trial->place != NULL ? trial->place : "built-in default", trial->key, trial->name,
	    what);
	return 1;
}

static int
try_shell(const struct config *config, const struct shell_trial *trial, char *message,
    size_t size)
{
	const struct ftpd_shell_module *module;
	struct ftpd_shell_config shell_config;
	struct ftpd_shell *shell = NULL;
	char error[PATH_MAX + 256];
	int result;

	module = shell_registry_find(trial->name, config->shell_dir, error, sizeof(error));
	if (module == NULL)
		return fail(trial, message, size, error);
	if (trial->checks_passwords && !shell_module_authenticates(module))
		return fail(trial, message, size, "login = shell, but the module has no "
		    "authenticate and release_login to check passwords with");
	if (trial->root == NULL)
		return 0;
	memset(&shell_config, 0, sizeof(shell_config));
	shell_config.struct_size = sizeof(shell_config);
	shell_config.root = trial->root;
	shell_config.user = trial->user;
	shell_config.read_only = trial->read_only;
	shell_config.options = (const char *const *)trial->options->lines;
	shell_config.option_count = trial->options->count;
	shell_config.host = NULL;	/* the ABI's "nothing may complete later" */
	shell_config.sync_uploads = config->upload_sync;
	result = shell_registry_create(module, &shell_config, &shell);
	if (result == -EPROTO) {
		snprintf(error, sizeof(error), "module %s made a shell without every "
		    "required operation, or with an ops struct_size too small for ABI %u",
		    module->name, (unsigned)FTPD_SHELL_ABI_VERSION);
		return fail(trial, message, size, error);
	}
	if (result != 0) {
		snprintf(error, sizeof(error), "module %s cannot create a shell on %s %s: %s",
		    module->name, trial->root_key, trial->root, strerror(-result));
		return fail(trial, message, size, error);
	}
	shell->ops->destroy(shell);
	return 0;
}

int
preflight_try_shells(const struct config *config, char *message, size_t size)
{
	struct shell_trial anonymous = {
		.key = "anonymous_shell", .name = config->anonymous_shell,
		.place = config->anonymous_shell_place,
		.options = &config->anonymous_shell_options,
		.root = config->anonymous_root, .root_key = "anonymous_root",
		.user = "anonymous", .read_only = 1,
	};
	struct shell_trial users = {
		.key = "shell", .name = config->shell, .place = config->shell_place,
		.options = &config->shell_options,
		/* Each home is below home_root: the nearest root -t can try. */
		.root = config->passwd_file != NULL || config->passwd_db != NULL ||
		    config->login == LOGIN_SHELL ?
		    config->home_root : NULL,
		.root_key = "home_root", .user = PREFLIGHT_USER, .read_only = 0,
		.checks_passwords = config->login == LOGIN_SHELL,
	};

	if (config->anonymous && try_shell(config, &anonymous, message, size) != 0)
		return 1;
	return try_shell(config, &users, message, size);
}

void
preflight_describe_shells(const struct config *config, FILE *out)
{
	/* A database that is down is no configuration error: -t only parses its URI. */
	if (config->passwd_db != NULL)
		fprintf(out, "# passwd_db: not connected to by ftpd -t; the monitor connects "
		    "at the first login\n");
	if (config->shared_state != NULL && config->shared_state_uri.address[0] == '\0')
		fprintf(out, "# shared_state: host %s does not resolve now; the monitor looks "
		    "it up again before each attempt, counting on its own until then\n",
		    config->shared_state_uri.host);
	if (config->passwd_file != NULL || config->passwd_db != NULL)
		return;
	if (config->login == LOGIN_SHELL)
		fprintf(out, "# shell %s: checks the passwords (login = shell)\n", config->shell);
	else if (config->system_users)
		fprintf(out, "# shell %s: loaded; not created here: each system account's "
		    "process creates it as the account, on the account's home\n", config->shell);
	else
		fprintf(out, "# shell %s: loaded; not created: no password logins "
		    "(passwd_file = none)\n", config->shell);
}
