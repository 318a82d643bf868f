/*
 * session/operation: the life of one asynchronous command: it holds the
 * session, keeps its own state, and completes one way (operation_finish).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "portal/portal.h"
#include "session/operation.h"
#include "session/session.h"

void *
operation_start(struct session *session, size_t size, const char *command)
{
	struct operation *operation = calloc(1, size);

	if (operation == NULL) {
		session_reply(session, REPLY_LOCAL_ERROR, command);
		return NULL;
	}
	operation->session = session;
	operation->command = command;
	operation->path = PATH_ROOT;
	session_hold(session);
	return operation;
}

void
operation_discard(struct operation *operation)
{
	if (operation->release != NULL)
		operation->release(operation);
	path_free(&operation->path);
	free(operation);
}

int
operation_resolve(struct operation *operation, const char *argument)
{
	struct session *session = operation->session;

	path_free(&operation->path);
	if (path_resolve(&session->working_directory, argument,
	    argument != NULL ? strlen(argument) : 0, &operation->path) == 0)
		return 0;
	session_reply(session, REPLY_NAME_NOT_ALLOWED, argument);
	/* Nothing asynchronous began: the hold ends here. */
	session_release(session);
	operation_end(operation);
	return -1;
}

void *
operation_start_optional(struct session *session, int supported, size_t size,
    const char *command, const char *path)
{
	struct operation *operation;

	if (!supported) {
		session_reply(session, REPLY_NOT_IMPLEMENTED, command);
		return NULL;
	}
	operation = operation_start(session, size, command);
	if (operation == NULL || operation_resolve(operation, path) != 0)
		return NULL;
	return operation;
}

struct ftpd_path
operation_shell_path(const struct operation *operation)
{
	return path_view(&operation->path);
}

struct ftpd_shell *
operation_shell(const struct operation *operation)
{
	return operation->session->avatar->shell;
}

int
operation_arrived(struct operation *operation)
{
	if (session_release(operation->session)) {
		operation_discard(operation);
		return 1;
	}
	return 0;
}

void
operation_continue(struct operation *operation)
{
	session_hold(operation->session);
}

void
operation_end(struct operation *operation)
{
	struct session *session = operation->session;

	operation_discard(operation);
	session_resume(session);
}

void
operation_finish(struct operation *operation, int error, enum reply_id success, ...)
{
	va_list arguments;

	if (error != 0)
		session_reply_error(operation->session, error, &operation->path);
	else {
		va_start(arguments, success);
		session_reply_va(operation->session, success, arguments);
		va_end(arguments);
	}
	operation_end(operation);
}
