/*
 * incomplete: a module whose shell lacks a required operation (it cannot
 * open files for writing): ftpd must refuse it when it is created, not crash
 * on the first STOR.
 */
#include <errno.h>
#include <stdlib.h>

#include <ftpd/shell.h>

static void
incomplete_destroy(struct ftpd_shell *shell)
{
	free(shell);
}

static void
incomplete_done(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_done_fn done,
    void *arg)
{
	(void)shell;
	(void)path;
	done(arg, -EROFS);
}

/* Everything but open_for_writing, which a shell must have. */
static const struct ftpd_shell_ops incomplete_ops = {
	.struct_size = sizeof(struct ftpd_shell_ops),
	.make_directory = incomplete_done,
	.remove_directory = incomplete_done,
	.remove_file = incomplete_done,
	.destroy = incomplete_destroy,
};

static int
incomplete_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	(void)config;
	if ((*shell = calloc(1, sizeof(**shell))) == NULL)
		return -ENOMEM;
	(*shell)->ops = &incomplete_ops;
	return 0;
}

const struct ftpd_shell_module ftpd_shell_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "incomplete",
	.create = incomplete_create,
};
