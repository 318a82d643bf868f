/*
 * session/commands/site: SITE and its subcommands (CHMOD, HELP), each through the
 * shell's optional operations.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "session/commands/commands.h"
#include "portal/portal.h"
#include "session/session.h"

static void
mode_changed(void *arg, int error)
{
	session_complete_operation(arg, error, REPLY_SITE_CHMOD_OK);
}

/* SITE CHMOD <octal mode> <path> */
static void
site_chmod(struct session *session, const char *arguments)
{
	struct ftpd_shell *shell = session->avatar->shell;
	struct ftpd_path view;
	unsigned long mode;
	char *end;

	mode = strtoul(arguments, &end, 8);
	if (end == arguments || *end != ' ' || end[1] == '\0' || mode > 07777 ||
	    !isdigit((unsigned char)arguments[0])) {
		session_reply(session, REPLY_SYNTAX_ERROR_IN_ARGUMENT, arguments);
		return;
	}
	if (shell->ops->chmod == NULL) {
		session_reply(session, REPLY_NOT_IMPLEMENTED, "SITE CHMOD");
		return;
	}
	if (session_begin_path_operation(session, end + 1, &view) == 0)
		shell->ops->chmod(shell, &view, (mode_t)mode, mode_changed, session);
}

void
command_site(struct session *session, const char *argument)
{
	char subcommand[16];
	size_t length = strcspn(argument, " ");
	const char *rest = argument + length;

	while (*rest == ' ')
		rest++;
	if (length >= sizeof(subcommand)) {
		session_reply(session, REPLY_UNKNOWN_SITE_COMMAND, "?");
		return;
	}
	memcpy(subcommand, argument, length);
	subcommand[length] = '\0';
	if (strcasecmp(subcommand, "CHMOD") == 0)
		site_chmod(session, rest);
	else if (strcasecmp(subcommand, "HELP") == 0) {
		const char *lines[] = { "SITE commands:", "CHMOD <octal mode> <path>", "HELP",
		    "End of SITE help." };

		reply_write_lines(session_output(session), 214, lines, 4);
	} else
		session_reply(session, REPLY_UNKNOWN_SITE_COMMAND, subcommand);
}
