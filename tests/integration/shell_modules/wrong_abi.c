/* wrong_abi: a shell module built for an ABI version this ftpd does not have. */
#include <errno.h>

#include <ftpd/shell.h>

static int
wrong_abi_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	(void)config;
	(void)shell;
	return -ENOSYS;
}

const struct ftpd_shell_module ftpd_shell_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION + 98,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "wrong_abi",
	.create = wrong_abi_create,
};
