/*
 * session/commands/transfer: the commands that move data over a data connection:
 * RETR, STOR, APPE, STOU, LIST, NLST, MLSD.
 *
 * Each opens what the shell serves first (so a missing file is a plain 550,
 * not a half-opened data connection), then answers 150, hands the file and
 * the prepared data connection to a transfer, and answers 226/425/426/45x
 * when the transfer reports back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "session/commands/commands.h"
#include "config/config.h"
#include "dtp/dtp.h"
#include "listing/listing.h"
#include "listing/listing_stream.h"
#include "log/log.h"
#include "portal/portal.h"
#include "server/server.h"
#include "session/session.h"
#include "config/settings.h"
#include "dtp/transfer.h"
#include "log/xferlog.h"

/* Tries for a free STOU name before giving up. */
#define UNIQUE_NAME_TRIES 8

static struct ftpd_shell *
shell_of(struct session *session)
{
	return session->avatar->shell;
}

static struct transfer_options
options_for(struct session *session, int ascii)
{
	const struct config *config = session->config;
	struct transfer_options options = {
		.connect_timeout = config->data_timeout,
		.stall_timeout = config->data_timeout,
		.ascii = ascii,
	};

	if (session->protect_data) {
		options.tls = session->settings->tls;
		options.tls_control = session->tls;
	}
	return options;
}

/* Transfers need a data connection prepared first: 425 without one. */
static int
have_data_connection(struct session *session)
{
	if (!session_tls_allows_transfer(session)) {
		session->restart_offset = 0;
		return 0;
	}
	if (session->dtp != NULL)
		return 1;
	session->restart_offset = 0;
	session_reply(session, REPLY_NO_DATA_CONNECTION_PREPARED);
	return 0;
}

/* One xferlog line per file transfer, complete or not (listings are not logged). */
static void
log_transfer(struct session *session, enum transfer_status status, uint64_t bytes)
{
	struct xferlog_entry entry = {
		.started = session->transfer_log.started,
		.remote_host = session->peer_text,
		.bytes = bytes,
		.path = session->transfer_log.path,
		.ascii = !session->binary,
		.incoming = session->transfer_log.incoming,
		.anonymous = session->avatar->anonymous,
		.user = session->avatar->name,
		.complete = status == TRANSFER_COMPLETE,
	};

	if (session->transfer_log.path == NULL)
		return;
	if (session->transfer_log.incoming)
		session->bytes_in += bytes;
	else
		session->bytes_out += bytes;
	xferlog_write(session->server->xferlog, &entry);
}

static void
transfer_done(void *arg, enum transfer_status status, int error, uint64_t bytes)
{
	struct session *session = arg;

	log_transfer(session, status, bytes);
	switch (status) {
	case TRANSFER_COMPLETE:
		session_reply(session, REPLY_TRANSFER_COMPLETE);
		break;
	case TRANSFER_NO_CONNECTION:
		session_reply(session, error == -EPERM ? REPLY_DATA_TLS_NOT_RESUMED :
		    REPLY_DATA_CONNECTION_FAILED);
		break;
	case TRANSFER_CONNECTION_LOST:
		session_reply(session, REPLY_CONNECTION_LOST);
		break;
	case TRANSFER_ABORTED:
		session_reply(session, REPLY_TRANSFER_ABORTED);
		break;
	case TRANSFER_LOCAL_ERROR:
		session_reply(session, reply_for_errno(error),
		    session->transfer_log.path != NULL ? session->transfer_log.path : "listing");
		break;
	}
	free(session->transfer_log.path);
	session->transfer_log.path = NULL;
	session_transfer_finished(session);
}

/* The transfer is running: answer 150 and let ABOR and STAT through. */
static void
started(struct session *session, struct transfer *transfer, enum reply_id id, const char *first,
    const char *second)
{
	if (transfer == NULL) {
		session_reply(session, REPLY_LOCAL_ERROR, "transfer");
		session_resume(session);
		return;
	}
	session_reply(session, id, first, second);
	session_transfer_started(session, transfer);
	session_resume(session);
}

/* Remembers what the xferlog line of a file transfer will say. */
static void
note_file_transfer(struct session *session, int incoming)
{
	free(session->transfer_log.path);
	session->transfer_log.path = path_to_string(&session->operation_path);
	session->transfer_log.incoming = incoming;
	gettimeofday(&session->transfer_log.started, NULL);
}

static struct dtp *
take_dtp(struct session *session)
{
	struct dtp *dtp = session->dtp;

	session->dtp = NULL;
	return dtp;
}

/* RETR */

static void
opened_for_reading(void *arg, int error, struct ftpd_read_file *file)
{
	struct session *session = arg;
	uint64_t offset = session->restart_offset;
	struct transfer_options options;
	struct transfer *transfer;
	char description[PATH_MAX_LENGTH + 64];

	if (session_end_operation(session)) {
		if (error == 0)
			file->ops->close(file);
		return;
	}
	session->restart_offset = 0;
	if (error != 0) {
		session_reply_error(session, error, &session->operation_path);
		session_resume(session);
		return;
	}
	if (offset > file->size) {
		char text[32];

		file->ops->close(file);
		snprintf(text, sizeof(text), "%" PRIu64, offset);
		session_reply(session, REPLY_INVALID_RESTART, text);
		session_resume(session);
		return;
	}
	snprintf(description, sizeof(description), "%s (%" PRIu64 " bytes)",
	    path_basename(&session->operation_path), file->size - offset);
	note_file_transfer(session, 0);
	options = options_for(session, !session->binary);
	transfer = transfer_send_file(session->server->base, take_dtp(session), &options, file,
	    offset, transfer_done, session);
	started(session, transfer, REPLY_OPENING_DATA, session->binary ? "BINARY" : "ASCII",
	    description);
}

void
command_retr(struct session *session, const char *argument)
{
	struct ftpd_path view;

	if (session_resolve_argument(session, argument) != 0 || !have_data_connection(session))
		return;
	view = path_view(&session->operation_path);
	session_begin_operation(session);
	shell_of(session)->ops->open_for_reading(shell_of(session), &view, session->restart_offset,
	    opened_for_reading, session);
}

/* STOR, APPE, STOU */

static void open_for_writing(struct session *session, enum ftpd_write_mode mode,
    uint64_t offset);

/* STOU: a fresh name in the working directory, told to the client in the 150. */
static int
choose_unique_name(struct session *session)
{
	char name[FTPD_NAME_MAX + 1];

	snprintf(name, sizeof(name), "ftpd.%08x", (unsigned)random());
	return session_resolve_argument(session, name);
}

static void
opened_for_writing(void *arg, int error, struct ftpd_write_file *file)
{
	struct session *session = arg;
	struct transfer_options options;
	struct transfer *transfer;
	char *name;

	if (session_end_operation(session)) {
		if (error == 0)
			file->ops->abort(file);
		return;
	}
	if (error == -EEXIST && session->storing_unique &&
	    ++session->unique_name_tries < UNIQUE_NAME_TRIES) {
		/* STOU's random name was taken: draw another. */
		if (choose_unique_name(session) == 0)
			open_for_writing(session, FTPD_WRITE_UNIQUE, 0);
		else
			session_resume(session);
		return;
	}
	session->restart_offset = 0;
	if (error != 0) {
		session_reply_error(session, error, &session->operation_path);
		session_resume(session);
		return;
	}
	note_file_transfer(session, 1);
	options = options_for(session, !session->binary);
	transfer = transfer_receive_file(session->server->base, take_dtp(session), &options, file,
	    transfer_done, session);
	if (!session->storing_unique) {
		started(session, transfer, REPLY_OPENING_UPLOAD, NULL, NULL);
		return;
	}
	name = path_to_string(&session->operation_path);
	started(session, transfer, REPLY_STOU_NAME, name != NULL ? name : "?", NULL);
	free(name);
}

static void
open_for_writing(struct session *session, enum ftpd_write_mode mode, uint64_t offset)
{
	struct ftpd_path view = path_view(&session->operation_path);

	session->storing_unique = mode == FTPD_WRITE_UNIQUE;
	session_begin_operation(session);
	shell_of(session)->ops->open_for_writing(shell_of(session), &view, mode, offset,
	    opened_for_writing, session);
}

static void
store(struct session *session, const char *argument, int append)
{
	enum ftpd_write_mode mode = FTPD_WRITE_REPLACE;
	uint64_t offset = session->restart_offset;

	if (session_resolve_argument(session, argument) != 0 || !have_data_connection(session))
		return;
	if (append)
		mode = FTPD_WRITE_APPEND;
	else if (offset > 0)
		mode = FTPD_WRITE_AT_OFFSET;
	open_for_writing(session, mode, offset);
}

void
command_stor(struct session *session, const char *argument)
{
	store(session, argument, 0);
}

void
command_appe(struct session *session, const char *argument)
{
	store(session, argument, 1);
}

void
command_stou(struct session *session, const char *argument)
{
	if (!have_data_connection(session))
		return;
	session->restart_offset = 0;
	session->unique_name_tries = 0;
	if (choose_unique_name(session) == 0)
		open_for_writing(session, FTPD_WRITE_UNIQUE, 0);
}

/* LIST, NLST, MLSD */

/* What a listing command asked for, kept while the shell answers. */
struct listing_request {
	struct session *session;
	struct listing_options options;
	char pattern[FTPD_NAME_MAX + 1];
};

/* Skips ls-style flags ("-la", "-a -l") that clients send; notes -a. */
static const char *
skip_flags(const char *argument, int *show_hidden)
{
	while (argument != NULL && argument[0] == '-') {
		const char *end = strchr(argument, ' ');

		if (strchr(argument, 'a') != NULL && (end == NULL || strchr(argument, 'a') < end))
			*show_hidden = 1;
		argument = end == NULL ? "" : end + 1;
		while (*argument == ' ')
			argument++;
	}
	return argument;
}

static void
start_listing(struct listing_request *request, struct transfer_source source)
{
	struct session *session = request->session;
	struct transfer_options options = options_for(session, 0);
	struct transfer *transfer;

	transfer = transfer_send_source(session->server->base, take_dtp(session), &options, source,
	    transfer_done, session);
	started(session, transfer, REPLY_OPENING_LISTING, NULL, NULL);
}

static void
directory_opened(void *arg, int error, struct ftpd_directory *directory)
{
	struct listing_request *request = arg;
	struct session *session = request->session;
	struct transfer_source source;

	if (session_end_operation(session)) {
		if (error == 0)
			directory->ops->close(directory);
		free(request);
		return;
	}
	if (error == 0)
		error = listing_stream_directory(directory, &request->options, &source);
	if (error != 0) {
		session_reply_error(session, error, &session->operation_path);
		session_resume(session);
	} else
		start_listing(request, source);
	free(request);
}

static void
listing_target_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct listing_request *request = arg;
	struct session *session = request->session;
	struct transfer_source source;
	struct ftpd_path view;

	if (session_end_operation(session)) {
		free(request);
		return;
	}
	if (error == 0 && S_ISDIR(stat->mode)) {
		view = path_view(&session->operation_path);
		session_begin_operation(session);
		shell_of(session)->ops->open_directory(shell_of(session), &view, directory_opened,
		    request);
		return;
	}
	if (error == 0 && request->options.style == LISTING_FACTS) {
		session_reply(session, REPLY_NOT_A_DIRECTORY_LISTING,
		    path_basename(&session->operation_path));
		session_resume(session);
	} else {
		if (error == 0)
			error = listing_stream_single(path_basename(&session->operation_path), stat,
			    &request->options, &source);
		if (error != 0) {
			session_reply_error(session, error, &session->operation_path);
			session_resume(session);
		} else
			start_listing(request, source);
	}
	free(request);
}

static void
list(struct session *session, const char *argument, enum listing_style style)
{
	struct listing_request *request;
	struct ftpd_path view;
	const char *last;

	if (!have_data_connection(session))
		return;
	session->restart_offset = 0;
	request = calloc(1, sizeof(*request));
	if (request == NULL) {
		session_reply(session, REPLY_LOCAL_ERROR, "LIST");
		return;
	}
	request->session = session;
	request->options.style = style;
	request->options.facts = session->mlst_facts;
	request->options.writable = !session->avatar->anonymous;
	if (style != LISTING_FACTS)
		argument = skip_flags(argument, &request->options.show_hidden);
	if (session_resolve_argument(session, argument != NULL ? argument : "") != 0) {
		free(request);
		return;
	}
	/* A glob in the last segment lists the matching names of its directory. */
	last = session->operation_path.count > 0 ? path_basename(&session->operation_path) : NULL;
	if (style != LISTING_FACTS && last != NULL && listing_is_glob(last)) {
		struct path parent;

		snprintf(request->pattern, sizeof(request->pattern), "%s", last);
		request->options.pattern = request->pattern;
		if (path_parent(&session->operation_path, &parent) != 0) {
			free(request);
			session_reply(session, REPLY_LOCAL_ERROR, "LIST");
			return;
		}
		path_free(&session->operation_path);
		session->operation_path = parent;
	}
	view = path_view(&session->operation_path);
	session_begin_operation(session);
	shell_of(session)->ops->stat(shell_of(session), &view, listing_target_known, request);
}

void
command_list(struct session *session, const char *argument)
{
	list(session, argument, LISTING_LONG);
}

void
command_nlst(struct session *session, const char *argument)
{
	list(session, argument, LISTING_NAMES);
}

void
command_mlsd(struct session *session, const char *argument)
{
	list(session, argument, LISTING_FACTS);
}
