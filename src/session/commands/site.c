/*
 * session/commands/site: the SITE subcommands (CHMOD, SYMLINK, HELP). Their rows,
 * policy and help text are in the command table's SITE table.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
	struct ftpd_attributes change = { .struct_size = sizeof(change) };
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
	operation = operation_start_optional(session, FTPD_SHELL_OP(shell, chattr) != NULL,
	    sizeof(*operation), "SITE CHMOD", end + 1);
	if (operation == NULL)
		return;
	view = operation_shell_path(operation);
	change.mask = FTPD_ATTR_MODE;
	change.mode = (mode_t)mode;
	shell->ops->chattr(shell, &view, &change, mode_changed, operation);
}

struct symlink_operation {
	struct operation base;		/* its path: the link */
	struct path target;
};

static void
release_symlink(struct operation *operation)
{
	path_free(&((struct symlink_operation *)operation)->target);
}

static void
symlink_made(void *arg, int error)
{
	if (!operation_arrived(arg))
		operation_finish(arg, error, REPLY_SITE_SYMLINK_OK);
}

/*
 * SITE SYMLINK <target> <link>: the target is a path in the shell like any
 * other (so it cannot name anything outside), without blanks; the link may
 * have them, as it takes the rest of the line.
 */
void
command_site_symlink(struct session *session, const char *arguments)
{
	struct ftpd_shell *shell = session->avatar->shell;
	struct symlink_operation *operation;
	struct ftpd_path target, link;
	const char *blank = strchr(arguments, ' ');
	struct path resolved;

	if (blank == NULL || blank == arguments || blank[1] == '\0') {
		session_reply(session, reply_for_argument_error(-EINVAL), arguments);
		return;
	}
	if (path_resolve(&session->working_directory, arguments, (size_t)(blank - arguments),
	    &resolved) != 0) {
		session_reply(session, REPLY_NAME_NOT_ALLOWED, arguments);
		return;
	}
	operation = operation_start_optional(session, FTPD_SHELL_OP(shell, symlink) != NULL,
	    sizeof(*operation), "SITE SYMLINK", blank + 1);
	if (operation == NULL) {
		path_free(&resolved);
		return;
	}
	operation->target = resolved;
	operation->base.release = release_symlink;
	target = path_view(&operation->target);
	link = operation_shell_path(&operation->base);
	shell->ops->symlink(shell, &target, &link, symlink_made, operation);
}

void
command_site_help(struct session *session, const char *argument UNUSED)
{
	command_write_subcommand_help(session_output(session), command_find("SITE")->subcommands,
	    REPLY_SITE_HELP);
}
