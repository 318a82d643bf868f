/*
 * session/commands/files: commands that ask the shell about or change files and
 * directories: PWD, CWD, CDUP, SIZE, MDTM, MLST, MFMT, MKD, RMD, DELE, RNFR, RNTO.
 *
 * Each handler resolves its argument into session->operation_path, starts one
 * shell operation and answers from the completion callback, which may run
 * before the handler returns or later from the event loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dtp/ascii.h"
#include "session/commands/commands.h"
#include "listing/listing.h"
#include "path/path.h"
#include "portal/portal.h"
#include "session/session.h"

static struct ftpd_shell *
shell_of(struct session *session)
{
	return session->avatar->shell;
}

/* Answers 257 with path quoted as RFC 959 asks. */
static void
reply_with_path(struct session *session, enum reply_id id, const struct path *path)
{
	char *text = path_to_string(path);
	char quoted[2 * PATH_MAX_LENGTH + 2];

	if (text == NULL || reply_quote_path(quoted, sizeof(quoted), text) != 0)
		session_reply(session, REPLY_LOCAL_ERROR, "PWD");
	else
		session_reply(session, id, quoted);
	free(text);
}

void
command_pwd(struct session *session, const char *argument)
{
	reply_with_path(session, REPLY_PWD, &session->working_directory);
}

/* The common ending of operations that answer 250 or the mapped error. */
static void
finish_with_250(void *arg, int error)
{
	session_complete_operation(arg, error, REPLY_FILE_ACTION_OK);
}

static void
directory_entered(void *arg, int error)
{
	struct session *session = arg;
	struct path entered;

	if (session_end_operation(session))
		return;
	if (error != 0)
		session_reply_error(session, error, &session->operation_path);
	else {
		entered = session->operation_path;
		session->operation_path = session->working_directory;
		session->working_directory = entered;
		session_reply(session, REPLY_DIRECTORY_CHANGED);
	}
	session_resume(session);
}

static void
change_directory(struct session *session)
{
	struct ftpd_path view = path_view(&session->operation_path);

	session_begin_operation(session);
	shell_of(session)->ops->access(shell_of(session), &view, FTPD_ACCESS_ENTER,
	    directory_entered, session);
}

void
command_cwd(struct session *session, const char *argument)
{
	if (argument == NULL || *argument == '\0')
		argument = "/";
	if (session_resolve_argument(session, argument) == 0)
		change_directory(session);
}

void
command_cdup(struct session *session, const char *argument)
{
	path_free(&session->operation_path);
	if (path_parent(&session->working_directory, &session->operation_path) != 0) {
		session_reply(session, REPLY_LOCAL_ERROR, "CDUP");
		return;
	}
	change_directory(session);
}

static void
size_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct session *session = arg;
	char size[32];

	if (session_end_operation(session))
		return;
	if (error != 0)
		session_reply_error(session, error, &session->operation_path);
	else if (!S_ISREG(stat->mode))
		session_reply(session, REPLY_NOT_A_PLAIN_FILE, path_basename(&session->operation_path));
	else {
		snprintf(size, sizeof(size), "%" PRIu64, stat->size);
		session_reply(session, REPLY_FILE_STATUS, size);
	}
	session_resume(session);
}

static void
mtime_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct session *session = arg;
	char when[32];
	struct tm utc;

	if (session_end_operation(session))
		return;
	if (error != 0)
		session_reply_error(session, error, &session->operation_path);
	else if (!S_ISREG(stat->mode))
		session_reply(session, REPLY_NOT_A_PLAIN_FILE, path_basename(&session->operation_path));
	else if (gmtime_r(&stat->mtime, &utc) == NULL ||
	    strftime(when, sizeof(when), "%Y%m%d%H%M%S", &utc) == 0)
		session_reply(session, REPLY_LOCAL_ERROR, "MDTM");
	else
		session_reply(session, REPLY_FILE_STATUS, when);
	session_resume(session);
}

static void
stat_argument(struct session *session, const char *argument, ftpd_stat_fn done)
{
	struct ftpd_path view;

	if (session_begin_path_operation(session, argument, &view) == 0)
		shell_of(session)->ops->stat(shell_of(session), &view, done, session);
}

/* In TYPE A the size is what the transfer sends: every bare LF becomes CRLF. */
#define ASCII_SIZE_LIMIT (10 * 1024 * 1024)

static void
opened_for_ascii_size(void *arg, int error, struct ftpd_read_file *file)
{
	struct session *session = arg;
	struct ascii_state state;
	uint64_t size = 0;
	char chunk[64 * 1024], text[32];
	ssize_t got;

	if (session_end_operation(session)) {
		if (error == 0)
			file->ops->close(file);
		return;
	}
	if (error != 0) {
		session_reply_error(session, error, &session->operation_path);
		session_resume(session);
		return;
	}
	if (file->size > ASCII_SIZE_LIMIT) {
		file->ops->close(file);
		session_reply(session, REPLY_SIZE_ASCII_TOO_LARGE, path_basename(&session->operation_path));
		session_resume(session);
		return;
	}
	ascii_init(&state);
	while ((got = file->ops->read(file, chunk, sizeof(chunk))) > 0)
		size += ascii_network_size(&state, chunk, (size_t)got);
	file->ops->close(file);
	if (got < 0)
		session_reply_error(session, (int)got, &session->operation_path);
	else {
		snprintf(text, sizeof(text), "%" PRIu64, size);
		session_reply(session, REPLY_FILE_STATUS, text);
	}
	session_resume(session);
}

static void
size_known_ascii(void *arg, int error, const struct ftpd_stat *stat)
{
	struct session *session = arg;
	struct ftpd_path view;

	if (error != 0 || !S_ISREG(stat->mode)) {
		size_known(arg, error, stat);
		return;
	}
	if (session_end_operation(session))
		return;
	view = path_view(&session->operation_path);
	session_begin_operation(session);
	shell_of(session)->ops->open_for_reading(shell_of(session), &view, 0,
	    opened_for_ascii_size, session);
}

void
command_size(struct session *session, const char *argument)
{
	stat_argument(session, argument, session->binary ? size_known : size_known_ascii);
}

static void
facts_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct session *session = arg;
	struct evbuffer *out;
	char *name;

	if (session_end_operation(session))
		return;
	name = path_to_string(&session->operation_path);
	if (error != 0)
		session_reply_error(session, error, &session->operation_path);
	else if (name == NULL)
		session_reply(session, REPLY_LOCAL_ERROR, "MLST");
	else {
		out = session_output(session);
		reply_begin(out, 250, "Listing");
		/* The fact line starts with a space (RFC 3659 7.2). */
		evbuffer_add(out, " ", 1);
		listing_write_facts(out, name, stat, session->mlst_facts, !session->avatar->anonymous);
		reply_end(out, 250, "End.");
	}
	free(name);
	session_resume(session);
}

void
command_mlst(struct session *session, const char *argument)
{
	stat_argument(session, argument != NULL ? argument : "", facts_known);
}

static void
mtime_set(void *arg, int error)
{
	struct session *session = arg;
	char *name;

	if (session_end_operation(session))
		return;
	name = path_to_string(&session->operation_path);
	if (error != 0)
		session_reply_error(session, error, &session->operation_path);
	else
		session_reply(session, REPLY_MFMT_OK, session->mfmt_time, name != NULL ? name : "?");
	free(name);
	session_resume(session);
}

/* "YYYYMMDDHHMMSS" (UTC) -> time; -1 when malformed. */
static time_t
parse_timeval(const char *text)
{
	struct tm when;
	const char *end;

	if (strspn(text, "0123456789") != 14)
		return -1;
	memset(&when, 0, sizeof(when));
	end = strptime(text, "%Y%m%d%H%M%S", &when);
	if (end == NULL || end != text + 14)
		return -1;
	return timegm(&when);
}

void
command_mfmt(struct session *session, const char *argument)
{
	struct ftpd_path view;
	time_t mtime = parse_timeval(argument);

	if (mtime == (time_t)-1 || argument[14] != ' ' || argument[15] == '\0') {
		session_reply(session, REPLY_SYNTAX_ERROR_IN_ARGUMENT, argument);
		return;
	}
	if (shell_of(session)->ops->set_mtime == NULL) {
		session_reply(session, REPLY_NOT_IMPLEMENTED, "MFMT");
		return;
	}
	memcpy(session->mfmt_time, argument, 14);
	session->mfmt_time[14] = '\0';
	if (session_begin_path_operation(session, argument + 15, &view) == 0)
		shell_of(session)->ops->set_mtime(shell_of(session), &view, mtime, mtime_set, session);
}

void
command_mdtm(struct session *session, const char *argument)
{
	stat_argument(session, argument, mtime_known);
}

static void
directory_made(void *arg, int error)
{
	struct session *session = arg;

	if (session_end_operation(session))
		return;
	if (error != 0)
		session_reply_error(session, error, &session->operation_path);
	else
		reply_with_path(session, REPLY_MKD, &session->operation_path);
	session_resume(session);
}

void
command_mkd(struct session *session, const char *argument)
{
	struct ftpd_path view;

	if (session_begin_path_operation(session, argument, &view) == 0)
		shell_of(session)->ops->make_directory(shell_of(session), &view, directory_made, session);
}

void
command_rmd(struct session *session, const char *argument)
{
	struct ftpd_path view;

	if (session_begin_path_operation(session, argument, &view) == 0)
		shell_of(session)->ops->remove_directory(shell_of(session), &view, finish_with_250, session);
}

void
command_dele(struct session *session, const char *argument)
{
	struct ftpd_path view;

	if (session_begin_path_operation(session, argument, &view) == 0)
		shell_of(session)->ops->remove_file(shell_of(session), &view, finish_with_250, session);
}

static void
rename_source_found(void *arg, int error, const struct ftpd_stat *stat)
{
	struct session *session = arg;

	if (session_end_operation(session))
		return;
	if (error != 0)
		session_reply_error(session, error, &session->operation_path);
	else {
		path_free(&session->rename_from);
		session->rename_from = session->operation_path;
		session->operation_path = PATH_ROOT;
		session->state = SESSION_RENAMING;
		session_reply(session, REPLY_RENAME_PENDING);
	}
	session_resume(session);
}

void
command_rnfr(struct session *session, const char *argument)
{
	stat_argument(session, argument, rename_source_found);
}

static void
renamed(void *arg, int error)
{
	struct session *session = arg;

	if (!session->dead)
		path_free(&session->rename_from);
	finish_with_250(session, error);
}

void
command_rnto(struct session *session, const char *argument)
{
	struct ftpd_path from, to;

	/* Whatever happens now, the rename is used up. */
	session->state = SESSION_AUTHED;
	if (session_resolve_argument(session, argument) != 0) {
		path_free(&session->rename_from);
		return;
	}
	from = path_view(&session->rename_from);
	to = path_view(&session->operation_path);
	session_begin_operation(session);
	shell_of(session)->ops->rename(shell_of(session), &from, &to, renamed, session);
}
