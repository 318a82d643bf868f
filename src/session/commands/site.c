/*
 * session/commands/site: the SITE subcommands (CHMOD, HELP). Their rows,
 * policy and help text are in the command table's SITE table.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "portal/portal.h"
#include "session/command_table.h"
#include "session/commands/commands.h"
#include "session/operation.h"
#include "session/session.h"
#include "util/attributes.h"

static void
mode_changed(void *arg, int error)
{
	if (!operation_arrived(arg))
		operation_finish(arg, error, REPLY_SITE_CHMOD_OK);
}

/* SITE CHMOD <octal mode> <path> */
void
command_site_chmod(struct session *session, const char *arguments)
{
	struct ftpd_shell *shell = session->avatar->shell;
	struct operation *operation;
	struct ftpd_path view;
	unsigned long mode;
	char *end;

	mode = strtoul(arguments, &end, 8);
	if (end == arguments || *end != ' ' || end[1] == '\0' || mode > 07777 ||
	    !isdigit((unsigned char)arguments[0])) {
		session_reply(session, reply_for_argument_error(-EINVAL), arguments);
		return;
	}
	operation = operation_start_optional(session, shell->ops->chmod != NULL,
	    sizeof(*operation), "SITE CHMOD", end + 1);
	if (operation == NULL)
		return;
	view = operation_shell_path(operation);
	shell->ops->chmod(shell, &view, (mode_t)mode, mode_changed, operation);
}

void
command_site_help(struct session *session, const char *argument UNUSED)
{
	command_write_subcommand_help(session_output(session), command_find("SITE")->subcommands,
	    REPLY_SITE_HELP);
}
