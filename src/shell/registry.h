/*
 * shell/registry: finds a shell module by name ("anon", "fs", or NAME.so in
 * the shell directory) or loads a custom one from a shared object path with dlopen.
 */
#ifndef FTPD_SHELL_REGISTRY_H
#define FTPD_SHELL_REGISTRY_H

#include <stddef.h>

#include "ftpd/shell.h"

/* The built-in modules (shells/). */
extern const struct ftpd_shell_module shell_anon_module;
extern const struct ftpd_shell_module shell_fs_module;

/*
 * name is a built-in name (these win), a path containing '/', or a NAME
 * loaded from shell_dir/NAME.so (a plain file name, not starting with '.').
 * Returns the module, or NULL with a message in error (unknown name, no such
 * file, dlopen failed, no module symbol, wrong ABI version). Loaded objects
 * stay loaded for the life of the process. Only processes that serve
 * sessions call this: the monitor never loads a module.
 */
const struct ftpd_shell_module *shell_registry_find(const char *name, const char *shell_dir,
    char *error, size_t error_size);

/* Whether module can check passwords itself (login = shell). */
int shell_module_authenticates(const struct ftpd_shell_module *module);

/*
 * module->create(config), checked: 0 and *shell, or -errno from create, or
 * -EPROTO when the shell's ops struct is too small for ABI 2 or lacks a
 * required operation (the shell is destroyed if it can be).
 */
int shell_registry_create(const struct ftpd_shell_module *module,
    const struct ftpd_shell_config *config, struct ftpd_shell **shell);

#endif
