/*
 * shell/registry: finds a shell module by name ("anon", "fs") or loads a
 * custom one from a shared object path with dlopen.
 */
#ifndef FTPD_SHELL_REGISTRY_H
#define FTPD_SHELL_REGISTRY_H

#include <stddef.h>

#include "ftpd/shell.h"

/* The built-in modules (shells/). */
extern const struct ftpd_shell_module shell_anon_module;
extern const struct ftpd_shell_module shell_fs_module;

/*
 * name is a built-in name or a path containing '/'. Returns the module, or
 * NULL with a message in error (not found, dlopen failed, wrong ABI version).
 * Loaded objects stay loaded for the life of the process.
 */
const struct ftpd_shell_module *shell_registry_find(const char *name, char *error,
    size_t error_size);

#endif
