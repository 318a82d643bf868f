/*
 * session/commands/files: commands that ask the shell about or change files
 * and directories: PWD, CWD, CDUP, SIZE, MDTM, MLST, MFMT, MKD, RMD, DELE, RNFR, RNTO.
 *
 * Each handler starts an operation (session/operation.h) on its argument,
 * asks the shell once, and answers from the completion callback, which may
 * run before the handler returns or later from the event loop.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dtp/ascii.h"
#include "listing/listing.h"
#include "path/path.h"
#include "portal/portal.h"
#include "quota/usage.h"
#include "session/commands/commands.h"
#include "session/home_usage.h"
#include "session/operation.h"
#include "session/session.h"
#include "util/attributes.h"

/* In TYPE A the size is what the transfer sends: every bare LF becomes CRLF. */
#define ASCII_SIZE_LIMIT (10 * 1024 * 1024)

/* MFMT remembers the time it was given, for its reply. */
struct mfmt_operation {
	struct operation base;
	char time[15];
};

/* DELE under a quota remembers what the file held, to give it back. */
struct removal_operation {
	struct operation base;
	int regular_file;
	uint64_t size;
};

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

/* Starts an operation on a path argument; NULL when it was refused (and answered). */
static struct operation *
start_on(struct session *session, const char *argument, const char *command)
{
	struct operation *operation = operation_start(session, sizeof(*operation), command);

	if (operation == NULL || operation_resolve(operation, argument) != 0)
		return NULL;
	return operation;
}

void
command_pwd(struct session *session, const char *argument UNUSED)
{
	reply_with_path(session, REPLY_PWD, &session->working_directory);
}

/* The common ending of operations that answer 250 or the mapped error. */
static void
finish_with_250(void *arg, int error)
{
	if (!operation_arrived(arg))
		operation_finish(arg, error, REPLY_FILE_ACTION_OK);
}

static void
directory_entered(void *arg, int error)
{
	struct operation *operation = arg;
	struct session *session = operation->session;
	struct path entered;

	if (operation_arrived(operation))
		return;
	if (error == 0) {
		entered = operation->path;
		operation->path = session->working_directory;
		session->working_directory = entered;
	}
	operation_finish(operation, error, REPLY_DIRECTORY_CHANGED);
}

static void
change_directory(struct operation *operation)
{
	struct ftpd_path view = operation_shell_path(operation);
	struct ftpd_shell *shell = operation_shell(operation);

	shell->ops->access(shell, &view, FTPD_ACCESS_ENTER, directory_entered, operation);
}

void
command_cwd(struct session *session, const char *argument)
{
	struct operation *operation;

	if (argument == NULL || *argument == '\0')
		argument = "/";
	if ((operation = start_on(session, argument, "CWD")) != NULL)
		change_directory(operation);
}

void
command_cdup(struct session *session, const char *argument UNUSED)
{
	struct operation *operation = operation_start(session, sizeof(*operation), "CDUP");

	if (operation == NULL)
		return;
	if (path_parent(&session->working_directory, &operation->path) != 0) {
		session_release(session);
		operation_finish(operation, -ENOMEM, REPLY_COUNT);
		return;
	}
	change_directory(operation);
}

/* SIZE and MDTM speak of plain files only. */
static int
plain_file(struct operation *operation, int error, const struct ftpd_stat *stat)
{
	if (error != 0) {
		operation_finish(operation, error, REPLY_COUNT);
		return 0;
	}
	if (!S_ISREG(stat->mode)) {
		session_reply(operation->session, REPLY_NOT_A_PLAIN_FILE,
		    path_basename(&operation->path));
		operation_end(operation);
		return 0;
	}
	return 1;
}

static void
size_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct operation *operation = arg;
	char size[32];

	if (operation_arrived(operation) || !plain_file(operation, error, stat))
		return;
	snprintf(size, sizeof(size), "%" PRIu64, stat->size);
	operation_finish(operation, 0, REPLY_FILE_STATUS, size);
}

static void
mtime_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct operation *operation = arg;
	char when[32];
	struct tm utc;

	if (operation_arrived(operation) || !plain_file(operation, error, stat))
		return;
	if (gmtime_r(&stat->mtime, &utc) == NULL ||
	    strftime(when, sizeof(when), "%Y%m%d%H%M%S", &utc) == 0)
		operation_finish(operation, -EOVERFLOW, REPLY_COUNT);
	else
		operation_finish(operation, 0, REPLY_FILE_STATUS, when);
}

/* Starts an operation on argument and asks the shell for its status. */
static void
stat_argument(struct session *session, const char *argument, const char *command,
    ftpd_stat_fn done)
{
	struct operation *operation = start_on(session, argument, command);
	struct ftpd_path view;

	if (operation == NULL)
		return;
	view = operation_shell_path(operation);
	operation_shell(operation)->ops->stat(operation_shell(operation), &view, done, operation);
}

/* SIZE in TYPE A: the file is read through to count what its lines become. */
struct ascii_size_operation {
	struct operation base;
	struct ftpd_read_file *file;
	struct ascii_state state;
	uint64_t size;
	char chunk[64 * 1024];
};

static void
release_ascii_size(struct operation *operation)
{
	struct ascii_size_operation *counting = (struct ascii_size_operation *)operation;

	if (counting->file != NULL)
		counting->file->ops->close(counting->file);
	counting->file = NULL;
}

static void count_ascii(struct ascii_size_operation *counting);

static void
ascii_read_later(void *arg, ssize_t got)
{
	struct ascii_size_operation *counting = arg;
	char text[32];

	if (operation_arrived(&counting->base))
		return;
	if (got > 0) {
		counting->size += ascii_network_size(&counting->state, counting->chunk,
		    (size_t)got);
		count_ascii(counting);
		return;
	}
	snprintf(text, sizeof(text), "%" PRIu64, counting->size);
	operation_finish(&counting->base, (int)got, REPLY_FILE_STATUS, text);
}

/* Reads on until the end, or until the shell answers later. */
static void
count_ascii(struct ascii_size_operation *counting)
{
	ssize_t got;

	for (;;) {
		operation_continue(&counting->base);
		got = counting->file->ops->read(counting->file, counting->chunk,
		    sizeof(counting->chunk), ascii_read_later, counting);
		if (got == FTPD_PENDING)
			return;
		if (got <= 0 || (size_t)got > sizeof(counting->chunk))
			break;
		if (operation_arrived(&counting->base))
			return;
		counting->size += ascii_network_size(&counting->state, counting->chunk,
		    (size_t)got);
	}
	ascii_read_later(counting, got > 0 ? -EIO : got);
}

static void
opened_for_ascii_size(void *arg, int error, struct ftpd_read_file *file)
{
	struct ascii_size_operation *counting = arg;

	if (operation_arrived(&counting->base)) {
		if (error == 0)
			file->ops->close(file);
		return;
	}
	if (error != 0) {
		operation_finish(&counting->base, error, REPLY_COUNT);
		return;
	}
	if (file->size > ASCII_SIZE_LIMIT) {
		file->ops->close(file);
		session_reply(counting->base.session, REPLY_SIZE_ASCII_TOO_LARGE,
		    path_basename(&counting->base.path));
		operation_end(&counting->base);
		return;
	}
	counting->file = file;
	ascii_init(&counting->state);
	count_ascii(counting);
}

static void
size_known_ascii(void *arg, int error, const struct ftpd_stat *stat)
{
	struct operation *operation = arg;
	struct ftpd_path view;

	if (operation_arrived(operation) || !plain_file(operation, error, stat))
		return;
	view = operation_shell_path(operation);
	operation_continue(operation);
	operation_shell(operation)->ops->open_for_reading(operation_shell(operation), &view, 0,
	    opened_for_ascii_size, operation);
}

void
command_size(struct session *session, const char *argument)
{
	struct ascii_size_operation *counting;
	struct ftpd_path view;

	if (session->binary) {
		stat_argument(session, argument, "SIZE", size_known);
		return;
	}
	counting = operation_start(session, sizeof(*counting), "SIZE");
	if (counting == NULL || operation_resolve(&counting->base, argument) != 0)
		return;
	counting->base.release = release_ascii_size;
	view = operation_shell_path(&counting->base);
	operation_shell(&counting->base)->ops->stat(operation_shell(&counting->base), &view,
	    size_known_ascii, &counting->base);
}

void
command_mdtm(struct session *session, const char *argument)
{
	stat_argument(session, argument, "MDTM", mtime_known);
}

static void
facts_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct operation *operation = arg;
	struct session *session = operation->session;
	struct evbuffer *out;
	char *name;

	if (operation_arrived(operation))
		return;
	if (error != 0) {
		operation_finish(operation, error, REPLY_COUNT);
		return;
	}
	name = path_to_string(&operation->path);
	if (name == NULL) {
		operation_finish(operation, -ENOMEM, REPLY_COUNT);
		return;
	}
	out = session_output(session);
	reply_begin(out, REPLY_FACTS);
	/* The fact line starts with a space (RFC 3659 7.2). */
	evbuffer_add(out, " ", 1);
	listing_write_facts(out, name, stat, session->mlst_facts,
	    !session->avatar->anonymous && !session->avatar->read_only);
	reply_end(out, REPLY_FACTS);
	free(name);
	operation_end(operation);
}

void
command_mlst(struct session *session, const char *argument)
{
	stat_argument(session, argument != NULL ? argument : "", "MLST", facts_known);
}

static void
mtime_set(void *arg, int error)
{
	struct mfmt_operation *mfmt = arg;
	char *name;

	if (operation_arrived(&mfmt->base))
		return;
	name = path_to_string(&mfmt->base.path);
	operation_finish(&mfmt->base, error, REPLY_MFMT_OK, mfmt->time, name != NULL ? name : "?");
	free(name);
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
	struct ftpd_shell *shell = session->avatar->shell;
	struct ftpd_attributes change = { .struct_size = sizeof(change) };
	struct mfmt_operation *mfmt;
	struct ftpd_path view;
	time_t mtime = parse_timeval(argument);

	if (mtime == (time_t)-1 || argument[14] != ' ' || argument[15] == '\0') {
		session_reply(session, reply_for_argument_error(-EINVAL), argument);
		return;
	}
	mfmt = operation_start_optional(session, FTPD_SHELL_OP(shell, chattr) != NULL,
	    sizeof(*mfmt), "MFMT", argument + 15);
	if (mfmt == NULL)
		return;
	memcpy(mfmt->time, argument, 14);
	view = operation_shell_path(&mfmt->base);
	change.mask = FTPD_ATTR_MTIME;
	change.mtime = mtime;
	shell->ops->chattr(shell, &view, &change, mtime_set, mfmt);
}

static void
directory_made(void *arg, int error)
{
	struct operation *operation = arg;
	struct quota_usage *usage;

	if (operation_arrived(operation))
		return;
	if (error != 0) {
		operation_finish(operation, error, REPLY_COUNT);
		return;
	}
	if ((usage = home_usage_counted(operation->session)) != NULL)
		quota_count_directory(usage);
	reply_with_path(operation->session, REPLY_MKD, &operation->path);
	operation_end(operation);
}

static void
make_directory(struct operation *operation)
{
	struct ftpd_path view = operation_shell_path(operation);
	struct ftpd_shell *shell = operation_shell(operation);

	shell->ops->make_directory(shell, &view, directory_made, operation);
}

/* quota_files counts directories too: a full home takes no new one (552). */
static void
make_directory_if_room(struct operation *operation)
{
	struct session *session = operation->session;

	if (!quota_admits_entry(&session->home_usage, session->limits.quota_files)) {
		/* Nothing asynchronous began: the hold ends here. */
		session_release(session);
		operation_finish(operation, -EDQUOT, REPLY_COUNT);
		return;
	}
	make_directory(operation);
}

void
command_mkd(struct session *session, const char *argument)
{
	struct operation *operation = start_on(session, argument, "MKD");

	if (operation == NULL)
		return;
	if (session->limits.quota_files != 0)
		home_usage_ensure(operation, make_directory_if_room);
	else
		make_directory(operation);
}

static void
directory_removed(void *arg, int error)
{
	struct operation *operation = arg;
	struct quota_usage *usage;

	if (operation_arrived(operation))
		return;
	if (error == 0 && (usage = home_usage_counted(operation->session)) != NULL)
		quota_count_removal(usage, 0, 0);
	operation_finish(operation, error, REPLY_FILE_ACTION_OK);
}

void
command_rmd(struct session *session, const char *argument)
{
	struct operation *operation = start_on(session, argument, "RMD");
	struct ftpd_path view;

	if (operation == NULL)
		return;
	view = operation_shell_path(operation);
	operation_shell(operation)->ops->remove_directory(operation_shell(operation), &view,
	    directory_removed, operation);
}

static void
file_removed(void *arg, int error)
{
	struct removal_operation *removal = arg;
	struct quota_usage *usage;

	if (operation_arrived(&removal->base))
		return;
	if (error == 0 && (usage = home_usage_counted(removal->base.session)) != NULL)
		quota_count_removal(usage, removal->regular_file, removal->size);
	operation_finish(&removal->base, error, REPLY_FILE_ACTION_OK);
}

static void
remove_file(struct removal_operation *removal)
{
	struct ftpd_path view = operation_shell_path(&removal->base);
	struct ftpd_shell *shell = operation_shell(&removal->base);

	shell->ops->remove_file(shell, &view, file_removed, removal);
}

/* Under a quota the file's size is looked at first: its removal frees that much. */
static void
removed_file_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct removal_operation *removal = arg;

	if (operation_arrived(&removal->base))
		return;
	/* Without a status (a dangling symlink) it frees an entry, and no bytes. */
	removal->regular_file = error == 0 && S_ISREG(stat->mode);
	removal->size = removal->regular_file ? stat->size : 0;
	operation_continue(&removal->base);
	remove_file(removal);
}

void
command_dele(struct session *session, const char *argument)
{
	struct removal_operation *removal = operation_start(session, sizeof(*removal), "DELE");
	struct ftpd_path view;

	if (removal == NULL || operation_resolve(&removal->base, argument) != 0)
		return;
	if (home_usage_counted(session) == NULL) {
		remove_file(removal);
		return;
	}
	view = operation_shell_path(&removal->base);
	operation_shell(&removal->base)->ops->stat(operation_shell(&removal->base), &view,
	    removed_file_known, removal);
}

static void
rename_source_found(void *arg, int error, const struct ftpd_stat *stat UNUSED)
{
	struct operation *operation = arg;
	struct session *session = operation->session;

	if (operation_arrived(operation))
		return;
	/* The source path outlives this operation: it waits for RNTO. */
	if (error == 0)
		session_begin_rename(session, &operation->path);
	operation_finish(operation, error, REPLY_RENAME_PENDING);
}

void
command_rnfr(struct session *session, const char *argument)
{
	stat_argument(session, argument, "RNFR", rename_source_found);
}

/* RNTO: the rename is used up whatever happens, so its source moves into the operation. */
struct rename_operation {
	struct operation base;
	struct path from;
};

static void
release_rename(struct operation *operation)
{
	path_free(&((struct rename_operation *)operation)->from);
}

void
command_rnto(struct session *session, const char *argument)
{
	struct path source = session_end_rename(session);
	struct rename_operation *rename;
	struct ftpd_path from, to;

	rename = operation_start(session, sizeof(*rename), "RNTO");
	if (rename == NULL) {
		path_free(&source);
		return;
	}
	rename->from = source;
	rename->base.release = release_rename;
	if (operation_resolve(&rename->base, argument) != 0)
		return;
	from = path_view(&rename->from);
	to = operation_shell_path(&rename->base);
	operation_shell(&rename->base)->ops->rename(operation_shell(&rename->base), &from, &to,
	    finish_with_250, rename);
}
