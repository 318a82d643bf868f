/*
 * realm: turns the avatar id a checker proved into a shell for that user
 * (Twisted's BaseFTPRealm/FTPRealm), through the shell registry.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "portal/realm.h"
#include "shell/registry.h"

struct realm {
	const struct config *config;
	struct ftpd_host *host;		/* handed to every shell */
	const struct ftpd_shell_module *anonymous_module;	/* NULL with anonymous = no */
	const struct ftpd_shell_module *user_module;
};

static const struct ftpd_shell_module *
find_module(const struct config *config, const char *key, const char *name,
    const char *place)
{
	const struct ftpd_shell_module *module;
	char error[PATH_MAX + 256];

	error[0] = '\0';
	module = shell_registry_find(name, config->shell_dir, error, sizeof(error));
	if (module == NULL)
		log_error("%s (%s): %s", key, place != NULL ? place : "built-in default",
		    error[0] != '\0' ? error : "shell module not found");
	return module;
}

struct realm *
realm_new(const struct config *config, struct ftpd_host *host)
{
	struct realm *realm;

	realm = calloc(1, sizeof(*realm));
	if (realm == NULL) {
		log_error("realm: out of memory");
		return NULL;
	}
	realm->config = config;
	realm->host = host;
	if (config->anonymous) {
		realm->anonymous_module = find_module(config, "anonymous_shell",
		    config->anonymous_shell, config->anonymous_shell_place);
		if (realm->anonymous_module == NULL)
			goto fail;
	}
	realm->user_module = find_module(config, "shell", config->shell, config->shell_place);
	if (realm->user_module == NULL)
		goto fail;
	return realm;
fail:
	realm_free(realm);
	return NULL;
}

void
realm_free(struct realm *realm)
{
	if (realm == NULL)
		return;
	free(realm);
}

int
realm_home_directory(const struct realm *realm, const struct avatar_id *id,
    char *buffer, size_t size)
{
	const struct config *config = realm->config;
	int length;

	if (id->anonymous) {
		if (config->anonymous_root == NULL)
			return -ENOENT;
		length = snprintf(buffer, size, "%s", config->anonymous_root);
	} else if (id->home != NULL) {
		length = snprintf(buffer, size, "%s", id->home);
	} else {
		/* FTPRealm's userHome.child(avatarId): exactly one segment below home_root. */
		if (id->name[0] == '\0' || strchr(id->name, '/') != NULL ||
		    strcmp(id->name, ".") == 0 || strcmp(id->name, "..") == 0)
			return -EACCES;
		if (config->home_root == NULL)
			return -ENOENT;
		length = snprintf(buffer, size, "%s/%s", config->home_root, id->name);
	}
	if (length < 0 || (size_t)length >= size)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * The shell a user store names for one user: one this server already runs,
 * never a module loaded on the store's word. The shell module and the
 * anonymous_shell module come with their option lines, the built-in fs and
 * anon with none. NULL (logged) for any other name.
 */
static const struct ftpd_shell_module *
user_shell_module(const struct realm *realm, const char *name,
    const struct config_lines **options)
{
	static const struct config_lines no_options;
	const struct ftpd_shell_module *module;
	char error[256];

	if (strcmp(name, realm->user_module->name) == 0) {
		*options = &realm->config->shell_options;
		return realm->user_module;
	}
	if (realm->anonymous_module != NULL && strcmp(name, realm->anonymous_module->name) == 0) {
		*options = &realm->config->anonymous_shell_options;
		return realm->anonymous_module;
	}
	if (strcmp(name, "fs") == 0 || strcmp(name, "anon") == 0) {
		/* Built in: found without a file, whatever shell_dir holds. */
		module = shell_registry_find(name, NULL, error, sizeof(error));
		*options = &no_options;
		return module;
	}
	log_error("the user store gives shell \"%s\", which this server does not run: it "
	    "may name \"fs\", \"anon\", or the module of shell (%s) or of anonymous_shell",
	    name, realm->user_module->name);
	return NULL;
}

int
realm_open_shell(const struct realm *realm, struct avatar *avatar, struct ftpd_host *host)
{
	const struct ftpd_shell_module *module;
	struct ftpd_shell_config shell_config;
	const struct config_lines *options = NULL;
	struct ftpd_shell *shell = NULL;
	int error;

	memset(&shell_config, 0, sizeof(shell_config));
	shell_config.struct_size = sizeof(shell_config);
	shell_config.root = avatar->home;
	shell_config.user = avatar->name;
	shell_config.host = host;
	shell_config.sync_uploads = realm->config->upload_sync;
	if (avatar->anonymous) {
		/* Guests stay read-only whatever anonymous_shell is. */
		module = realm->anonymous_module;
		shell_config.read_only = 1;
		options = &realm->config->anonymous_shell_options;
	} else if (avatar->settings.shell[0] != '\0') {
		/* A shell of the user's own (passwd_db's shell column). */
		module = user_shell_module(realm, avatar->settings.shell, &options);
		/* anon refuses every change: the session says so before asking it. */
		shell_config.read_only = avatar->read_only ||
		    strcmp(avatar->settings.shell, "anon") == 0;
	} else {
		module = realm->user_module;
		/* A user the store allows to read only (passwd_db's read_only column). */
		shell_config.read_only = avatar->read_only;
		options = &realm->config->shell_options;
	}
	if (module == NULL)
		return -EACCES;
	shell_config.options = (const char *const *)options->lines;
	shell_config.option_count = options->count;
	/* Taken over by create, whatever it answers. */
	shell_config.login = avatar->shell_login;
	avatar->shell_login = NULL;
	error = shell_registry_create(module, &shell_config, &shell);
	if (error != 0) {
		log_error("login %s: shell %s on %s: %s", avatar->name, module->name,
		    avatar->home, strerror(-error));
		return error;
	}
	avatar->shell = shell;
	/* The session refuses every change itself then, before the shell is asked. */
	avatar->read_only = shell_config.read_only;
	return 0;
}

int
realm_request_avatar(struct realm *realm, struct avatar_id *id, struct avatar **avatar)
{
	struct avatar *created;
	char root[PATH_MAX];
	int error;

	error = realm_home_directory(realm, id, root, sizeof(root));
	if (error != 0) {
		log_error("login %s: no usable home directory: %s", id->name, strerror(-error));
		return error;
	}
	created = calloc(1, sizeof(*created));
	if (created == NULL)
		return -ENOMEM;
	created->anonymous = id->anonymous;
	created->read_only = id->read_only;
	created->settings = id->settings;
	created->name = strdup(id->name);
	created->home = strdup(root);
	if (created->name == NULL || created->home == NULL) {
		avatar_logout(created);
		return -ENOMEM;
	}
	created->account = id->account;
	id->account = NULL;
	/* login = shell: what authenticate gave goes to the module's create. */
	created->shell_login = id->shell_login;
	created->release_shell_login = id->release_shell_login;
	id->shell_login = NULL;
	/* A system account's files are opened only by its own process, as the account. */
	if (created->account == NULL) {
		error = realm_open_shell(realm, created, realm->host);
		if (error != 0) {
			avatar_logout(created);
			return error;
		}
	}
	*avatar = created;
	return 0;
}
