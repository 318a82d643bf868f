/*
 * shell/registry: finds a shell module by name among the built-ins or in the
 * shell directory, or loads a custom one from a shared object's path with dlopen.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "shell/registry.h"

static const struct ftpd_shell_module *const built_in_modules[] = {
	&shell_anon_module,
	&shell_fs_module,
};

static const struct ftpd_shell_module *
load_module(const char *file, char *error, size_t error_size)
{
	const struct ftpd_shell_module *module;
	const char *reason;
	void *handle;

	handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
	if (handle == NULL) {
		reason = dlerror();
		snprintf(error, error_size, "cannot load shell module %s: %s",
		    file, reason != NULL ? reason : "unknown error");
		return NULL;
	}
	dlerror();
	module = dlsym(handle, FTPD_SHELL_MODULE_SYMBOL);
	if (module == NULL) {
		reason = dlerror();
		snprintf(error, error_size,
		    "shell module %s does not export the symbol %s: %s", file,
		    FTPD_SHELL_MODULE_SYMBOL,
		    reason != NULL ? reason : "it is NULL");
		dlclose(handle);
		return NULL;
	}
	if (module->abi_version != FTPD_SHELL_ABI_VERSION) {
		snprintf(error, error_size,
		    "shell module %s has ABI version %u, this ftpd needs %u "
		    "(rebuild it against this ftpd/shell.h)", file,
		    module->abi_version, (unsigned)FTPD_SHELL_ABI_VERSION);
		dlclose(handle);
		return NULL;
	}
	if (!FTPD_HAS(module, struct ftpd_shell_module, create)) {
		snprintf(error, error_size,
		    "shell module %s has a struct_size of %zu, too small for ABI %u's "
		    "module (set it to sizeof(struct ftpd_shell_module))", file,
		    module->struct_size, (unsigned)FTPD_SHELL_ABI_VERSION);
		dlclose(handle);
		return NULL;
	}
	if (module->name == NULL || module->create == NULL) {
		snprintf(error, error_size,
		    "shell module %s has no name or no create function", file);
		dlclose(handle);
		return NULL;
	}
	/* Never dlclose'd: shells created from it may live until the process ends. */
	return module;
}

/* A NAME in shell_dir: not a path, and no hidden file or ".." either. */
static int
is_plain_file_name(const char *name)
{
	return strchr(name, '/') == NULL && name[0] != '.';
}

static const struct ftpd_shell_module *
load_from_directory(const char *name, const char *shell_dir, char *error, size_t error_size)
{
	char file[PATH_MAX];
	int length;

	if (!is_plain_file_name(name)) {
		snprintf(error, error_size, "shell name \"%s\" is not a plain file name "
		    "(a NAME must not start with '.')", name);
		return NULL;
	}
	if (shell_dir == NULL || shell_dir[0] == '\0') {
		snprintf(error, error_size, "unknown shell \"%s\": the built-in shells are "
		    "\"anon\" and \"fs\", and no shell_dir is set to look for %s.so in", name,
		    name);
		return NULL;
	}
	/* "smb.so" means the file smb.so, not smb.so.so: the suffix is written out of habit. */
	length = snprintf(file, sizeof(file), "%s/%s%s", shell_dir, name,
	    strlen(name) > 3 && strcmp(name + strlen(name) - 3, ".so") == 0 ? "" : ".so");
	if (length < 0 || (size_t)length >= sizeof(file)) {
		snprintf(error, error_size, "shell \"%s\": the path in shell_dir is too long",
		    name);
		return NULL;
	}
	/* Said here in words: dlopen's own message for a missing file is less clear. */
	if (access(file, F_OK) != 0) {
		snprintf(error, error_size, "unknown shell \"%s\": not a built-in one "
		    "(\"anon\", \"fs\"), and %s: %s", name, file, strerror(errno));
		return NULL;
	}
	return load_module(file, error, error_size);
}

const struct ftpd_shell_module *
shell_registry_find(const char *name, const char *shell_dir, char *error, size_t error_size)
{
	size_t i;

	if (error_size > 0)
		error[0] = '\0';
	if (name == NULL || name[0] == '\0') {
		snprintf(error, error_size, "no shell name given");
		return NULL;
	}
	for (i = 0; i < sizeof(built_in_modules) / sizeof(built_in_modules[0]); i++)
		if (strcmp(built_in_modules[i]->name, name) == 0)
			return built_in_modules[i];
	if (strchr(name, '/') != NULL)
		return load_module(name, error, error_size);
	return load_from_directory(name, shell_dir, error, error_size);
}

/* The operations every shell must have, all present in ABI 2's first ops. */
static int
has_required_ops(const struct ftpd_shell_ops *ops)
{
	return ops != NULL && FTPD_HAS(ops, struct ftpd_shell_ops, destroy) &&
	    ops->access != NULL && ops->stat != NULL && ops->open_directory != NULL &&
	    ops->make_directory != NULL && ops->remove_directory != NULL &&
	    ops->remove_file != NULL && ops->rename != NULL &&
	    ops->open_for_reading != NULL && ops->open_for_writing != NULL &&
	    ops->destroy != NULL;
}

int
shell_registry_create(const struct ftpd_shell_module *module,
    const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	struct ftpd_shell *created = NULL;
	int error;

	error = module->create(config, &created);
	if (error > 0 || (error == 0 && created == NULL))
		error = -EIO;
	if (error != 0)
		return error;
	if (!has_required_ops(created->ops)) {
		/* Without a known destroy nothing can free it: better leaked than crashed. */
		if (created->ops != NULL && FTPD_HAS(created->ops, struct ftpd_shell_ops,
		    destroy) && created->ops->destroy != NULL)
			created->ops->destroy(created);
		return -EPROTO;
	}
	*shell = created;
	return 0;
}

int
shell_module_authenticates(const struct ftpd_shell_module *module)
{
	return FTPD_HAS(module, struct ftpd_shell_module, release_login) &&
	    module->authenticate != NULL && module->release_login != NULL;
}
