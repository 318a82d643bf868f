/* failing: a shell module whose create() always fails, saying why on stderr. */
#include <errno.h>
#include <stdio.h>

#include <ftpd/shell.h>

static int
failing_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	(void)shell;
	fprintf(stderr, "failing: no storage behind %s\n", config->root);
	return -ENETUNREACH;
}

const struct ftpd_shell_module ftpd_shell_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "failing",
	.create = failing_create,
};
