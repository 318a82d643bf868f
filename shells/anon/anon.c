/*
 * anon (shells):  the anonymous shell (Twisted's FTPAnonymousShell): the
 * filesystem shell with every change refused with -EROFS before it touches anything.
 */
#include "fs/fs.h"
#include "shell/registry.h"

static int
shell_anon_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	struct ftpd_shell_config read_only_config = *config;

	read_only_config.read_only = 1;
	return shell_fs_create(&read_only_config, shell);
}

const struct ftpd_shell_module shell_anon_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "anon",
	.create = shell_anon_create,
};
