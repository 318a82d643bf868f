/*
 * session/commands/transfer: the commands that move data over a data
 * connection: RETR, STOR, APPE, STOU, LIST, NLST, MLSD.
 *
 * Each opens what the shell serves first (so a missing file is a plain 550,
 * not a half-opened data connection), then answers 150, hands the file and
 * the prepared data connection to a transfer, and answers 226/425/426/45x
 * when the transfer reports back. The command table has already refused
 * them without a data connection (425) or, under tls = required, without
 * PROT P (521).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "config/config.h"
#include "config/settings.h"
#include "dtp/transfer.h"
#include "listing/listing.h"
#include "listing/listing_stream.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "portal/portal.h"
#include "quota/usage.h"
#include "session/commands/commands.h"
#include "session/home_usage.h"
#include "session/operation.h"
#include "session/session.h"
#include "util/attributes.h"

/* Tries for a free STOU name before giving up. */
#define UNIQUE_NAME_TRIES 8

/* One RETR, STOR, APPE, STOU or listing, from its command to its final reply. */
struct transfer_operation {
	struct operation base;
	/* the upload being opened */
	enum ftpd_write_mode mode;
	uint64_t offset;
	int unique_name;		/* STOU: the name is ours to choose */
	unsigned unique_name_tries;	/* STOU names found taken so far */
	/*
	 * keep_partial_uploads: a new file is created and written in place, so
	 * that a cut-off upload can keep what arrived; an existing one is still
	 * replaced whole or not at all.
	 */
	int created_in_place;
	/* quotas: the file as it was before, and the most the upload may write */
	struct quota_target target;
	int store_limited;
	uint64_t store_limit;
	/* the listing being opened */
	struct listing_options listing;
	char pattern[FTPD_NAME_MAX + 1];
	struct ftpd_stat link_stat;	/* LIST of one symlink: the link itself */
	/* what its xferlog line will say */
	char *logged_path;		/* the file transferred; NULL: a listing */
	int incoming;
	struct timeval started;
};

static void
release_transfer(struct operation *operation)
{
	free(((struct transfer_operation *)operation)->logged_path);
}

static struct transfer_operation *
start_transfer_operation(struct session *session, const char *command)
{
	struct transfer_operation *transfer = operation_start(session, sizeof(*transfer), command);

	if (transfer != NULL)
		transfer->base.release = release_transfer;
	return transfer;
}

/* max_rate: bytes per second for a file transfer, 0 for a listing (never paced). */
static struct transfer_options
options_for(struct session *session, int ascii, uint64_t max_rate)
{
	const struct config *config = session->config;
	struct transfer_options options = {
		.connect_timeout = config->data_timeout,
		.stall_timeout = config->data_timeout,
		.ascii = ascii,
		.max_rate = max_rate,
	};

	if (session->protect_data) {
		options.tls = session->settings->tls;
		options.tls_control = session->tls;
	}
	return options;
}

/* One xferlog line per file transfer, complete or not (listings are not logged). */
static void
log_transfer(struct transfer_operation *transfer, const struct transfer_result *result)
{
	struct session *session = transfer->base.session;
	struct xferlog_entry entry = {
		.started = transfer->started,
		.remote_host = session->peer_text,
		.bytes = result->bytes,
		.path = transfer->logged_path,
		.ascii = !session->binary,
		.incoming = transfer->incoming,
		.anonymous = session->avatar->anonymous,
		.user = session->avatar->name,
		.complete = result->status == TRANSFER_COMPLETE,
	};

	if (transfer->logged_path == NULL)
		return;
	if (transfer->incoming)
		session->bytes_in += result->bytes;
	else
		session->bytes_out += result->bytes;
	xferlog_write(session->services->xferlog, &entry);
}

/* How a transfer that ended is answered: the one place its outcome becomes a reply. */
static enum reply_id
reply_for_transfer(enum transfer_status status, int error)
{
	switch (status) {
	case TRANSFER_COMPLETE:
		return REPLY_TRANSFER_COMPLETE;
	case TRANSFER_NO_CONNECTION:
		return reply_for_data_connection_error(error);
	case TRANSFER_CONNECTION_LOST:
		return REPLY_CONNECTION_LOST;
	case TRANSFER_ABORTED:
		return REPLY_TRANSFER_ABORTED;
	case TRANSFER_LOCAL_ERROR:
	default:
		return reply_for_errno(error);
	}
}

static void
transfer_done(void *arg, const struct transfer_result *result)
{
	struct transfer_operation *transfer = arg;
	struct session *session = transfer->base.session;

	struct quota_usage *usage = home_usage_counted(session);

	log_transfer(transfer, result);
	if (usage != NULL && transfer->incoming && result->kept)
		quota_count_upload(usage, &transfer->target, transfer->mode, transfer->offset,
		    result->stored);
	session_reply(session, reply_for_transfer(result->status, result->error),
	    transfer->logged_path != NULL ? transfer->logged_path : "listing");
	if (result->status == TRANSFER_LOCAL_ERROR && reply_error_ends_session(result->error)) {
		log_info("%s: the shell's store is gone: session ended", session->peer_text);
		session_close_after_flush(session);
	}
	/* This frees the operation. */
	session_transfer_finished(session);
}

/* The transfer is running: answer 150 and let ABOR and STAT through. */
static void
started(struct transfer_operation *operation, struct transfer *transfer, enum reply_id id,
    const char *first, const char *second)
{
	struct session *session = operation->base.session;

	if (transfer == NULL) {
		session_reply(session, REPLY_LOCAL_ERROR, "transfer");
		operation_end(&operation->base);
		return;
	}
	session_reply(session, id, first, second);
	session_transfer_started(session, transfer, &operation->base);
	session_resume(session);
}

/* Remembers what the xferlog line of a file transfer will say. */
static void
note_file_transfer(struct transfer_operation *transfer, int incoming)
{
	free(transfer->logged_path);
	transfer->logged_path = path_to_string(&transfer->base.path);
	transfer->incoming = incoming;
	gettimeofday(&transfer->started, NULL);
}

/* RETR */

static void
opened_for_reading(void *arg, int error, struct ftpd_read_file *file)
{
	struct transfer_operation *operation = arg;
	struct session *session = operation->base.session;
	uint64_t offset = session->restart_offset;
	struct transfer_options options;
	struct transfer *transfer;
	char description[PATH_MAX_LENGTH + 64];

	if (operation_arrived(&operation->base)) {
		if (error == 0)
			file->ops->close(file);
		return;
	}
	session->restart_offset = 0;
	if (error != 0) {
		operation_finish(&operation->base, error, REPLY_COUNT);
		return;
	}
	if (offset > file->size) {
		char text[32];

		file->ops->close(file);
		snprintf(text, sizeof(text), "%" PRIu64, offset);
		session_reply(session, REPLY_INVALID_RESTART, text);
		operation_end(&operation->base);
		return;
	}
	snprintf(description, sizeof(description), "%s (%" PRIu64 " bytes)",
	    path_basename(&operation->base.path), file->size - offset);
	note_file_transfer(operation, 0);
	options = options_for(session, !session->binary, session->limits.max_rate_down);
	transfer = transfer_send_file(session->services->base, session_take_dtp(session), &options,
	    file, offset, transfer_done, operation);
	started(operation, transfer, REPLY_OPENING_DATA, session->binary ? "BINARY" : "ASCII",
	    description);
}

void
command_retr(struct session *session, const char *argument)
{
	struct transfer_operation *operation = start_transfer_operation(session, "RETR");
	struct ftpd_path view;

	if (operation == NULL || operation_resolve(&operation->base, argument) != 0) {
		session->restart_offset = 0;
		return;
	}
	view = operation_shell_path(&operation->base);
	operation_shell(&operation->base)->ops->open_for_reading(operation_shell(&operation->base),
	    &view, session->restart_offset, opened_for_reading, operation);
}

/* STOR, APPE, STOU */

static void open_for_writing(struct transfer_operation *operation);

/* STOU: a fresh name in the working directory, told to the client in the 150. */
static int
choose_unique_name(struct transfer_operation *operation)
{
	char name[FTPD_NAME_MAX + 1];
	uint64_t draw;

	/*
	 * 64 bits from the kernel: names nobody can foresee and create first
	 * in a shared directory (random() starts alike in every process).
	 */
	if (getrandom(&draw, sizeof(draw), GRND_NONBLOCK) != (ssize_t)sizeof(draw))
		draw = ((uint64_t)random() << 32) ^ (uint64_t)random() ^ (uint64_t)getpid();
	snprintf(name, sizeof(name), "ftpd.%016llx", (unsigned long long)draw);
	return operation_resolve(&operation->base, name);
}

static void
opened_for_writing(void *arg, int error, struct ftpd_write_file *file)
{
	struct transfer_operation *operation = arg;
	struct session *session = operation->base.session;
	struct transfer_options options;
	struct transfer *transfer;
	char *name;

	if (operation_arrived(&operation->base)) {
		if (error == 0)
			file->ops->abort(file);
		return;
	}
	if (error == -EEXIST && operation->unique_name &&
	    ++operation->unique_name_tries < UNIQUE_NAME_TRIES) {
		/* STOU's random name was taken: draw another. */
		operation_continue(&operation->base);
		if (choose_unique_name(operation) == 0)
			open_for_writing(operation);
		return;
	}
	if (error == -EEXIST && operation->created_in_place) {
		/* The file exists after all: it is replaced, whole or not at all. */
		operation->created_in_place = 0;
		operation->mode = FTPD_WRITE_REPLACE;
		operation_continue(&operation->base);
		open_for_writing(operation);
		return;
	}
	session->restart_offset = 0;
	if (error != 0) {
		operation_finish(&operation->base, error, REPLY_COUNT);
		return;
	}
	note_file_transfer(operation, 1);
	options = options_for(session, !session->binary, session->limits.max_rate_up);
	options.keep_partial = session->config->keep_partial_uploads &&
	    operation->mode != FTPD_WRITE_REPLACE;
	options.store_limited = operation->store_limited;
	options.store_limit = operation->store_limit;
	options.start_writeback = session->config->upload_sync;
	transfer = transfer_receive_file(session->services->base, session_take_dtp(session),
	    &options, file, transfer_done, operation);
	if (!operation->unique_name) {
		started(operation, transfer, REPLY_OPENING_UPLOAD, NULL, NULL);
		return;
	}
	name = path_to_string(&operation->base.path);
	started(operation, transfer, REPLY_STOU_NAME, name != NULL ? name : "?", NULL);
	free(name);
}

static void
open_for_writing(struct transfer_operation *operation)
{
	struct ftpd_path view = operation_shell_path(&operation->base);
	struct ftpd_shell *shell = operation_shell(&operation->base);

	shell->ops->open_for_writing(shell, &view, operation->mode, operation->offset,
	    opened_for_writing, operation);
}

/*
 * Quotas: the upload starts only if the home has room for the entry it
 * creates; its bytes are checked as they arrive, against what is left.
 */
static void
open_if_room(struct transfer_operation *operation)
{
	struct session *session = operation->base.session;
	const struct quota_usage *usage = &session->home_usage;

	if (!operation->target.exists && !quota_admits_entry(usage, session->limits.quota_files)) {
		session->restart_offset = 0;
		/* Nothing asynchronous began: the hold ends here. */
		session_release(session);
		operation_finish(&operation->base, -EDQUOT, REPLY_COUNT);
		return;
	}
	operation->store_limit = quota_upload_allowance(usage, session->limits.quota_bytes,
	    &operation->target, operation->mode, operation->offset);
	operation->store_limited = operation->store_limit != QUOTA_UNLIMITED;
	open_for_writing(operation);
}

static void
upload_target_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct transfer_operation *operation = arg;

	if (operation_arrived(&operation->base))
		return;
	/* Missing: a new file. Other errors are for the open to report. */
	operation->target.exists = error == 0;
	operation->target.size = error == 0 && S_ISREG(stat->mode) ? stat->size : 0;
	operation_continue(&operation->base);
	open_if_room(operation);
}

/* Quotas: the home's count is known; now the file the upload replaces or extends. */
static void
look_at_upload_target(struct operation *base)
{
	struct transfer_operation *operation = (struct transfer_operation *)base;
	struct ftpd_path view;

	if (operation->unique_name) {
		open_if_room(operation);
		return;
	}
	view = operation_shell_path(base);
	operation_shell(base)->ops->stat(operation_shell(base), &view, upload_target_known,
	    operation);
}

/* Opens the upload's file, after the quota checks if the user has a quota. */
static void
start_upload(struct transfer_operation *operation)
{
	if (home_usage_limited(operation->base.session))
		home_usage_ensure(&operation->base, look_at_upload_target);
	else
		open_for_writing(operation);
}

static void
store(struct session *session, const char *argument, const char *command, int append)
{
	struct transfer_operation *operation = start_transfer_operation(session, command);

	if (operation == NULL || operation_resolve(&operation->base, argument) != 0) {
		session->restart_offset = 0;
		return;
	}
	operation->offset = session->restart_offset;
	if (append)
		operation->mode = FTPD_WRITE_APPEND;
	else if (operation->offset > 0)
		operation->mode = FTPD_WRITE_AT_OFFSET;
	else if (session->config->keep_partial_uploads) {
		operation->mode = FTPD_WRITE_UNIQUE;
		operation->created_in_place = 1;
	} else
		operation->mode = FTPD_WRITE_REPLACE;
	start_upload(operation);
}

void
command_stor(struct session *session, const char *argument)
{
	store(session, argument, "STOR", 0);
}

void
command_appe(struct session *session, const char *argument)
{
	store(session, argument, "APPE", 1);
}

void
command_stou(struct session *session, const char *argument UNUSED)
{
	struct transfer_operation *operation;

	session->restart_offset = 0;
	operation = start_transfer_operation(session, "STOU");
	if (operation == NULL)
		return;
	operation->mode = FTPD_WRITE_UNIQUE;
	operation->unique_name = 1;
	if (choose_unique_name(operation) == 0)
		start_upload(operation);
}

/* LIST, NLST, MLSD */

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

/* The listing's text is ready to stream, or error says why not. */
static void
start_listing(struct transfer_operation *operation, int error, struct transfer_source source)
{
	struct session *session = operation->base.session;
	struct transfer_options options;
	struct transfer *transfer;

	if (error != 0) {
		operation_finish(&operation->base, error, REPLY_COUNT);
		return;
	}
	options = options_for(session, 0, 0);
	transfer = transfer_send_source(session->services->base, session_take_dtp(session),
	    &options, source, transfer_done, operation);
	started(operation, transfer, REPLY_OPENING_LISTING, NULL, NULL);
}

static void
directory_opened(void *arg, int error, struct ftpd_directory *directory)
{
	struct transfer_operation *operation = arg;
	/* Passed on (by value) even when an error leaves it unused. */
	struct transfer_source source = { NULL, NULL, NULL };

	if (operation_arrived(&operation->base)) {
		if (error == 0)
			directory->ops->close(directory);
		return;
	}
	if (error == 0)
		error = listing_stream_directory(directory, &operation->listing, &source);
	start_listing(operation, error, source);
}

static void
link_target_known(void *arg, int error, const char *target)
{
	struct transfer_operation *operation = arg;
	/* Passed on (by value) even when an error leaves it unused. */
	struct transfer_source source = { NULL, NULL, NULL };

	if (operation_arrived(&operation->base))
		return;
	if (error == 0)
		error = listing_stream_single(path_basename(&operation->base.path),
		    &operation->link_stat, target, &operation->listing, &source);
	start_listing(operation, error, source);
}

/* LIST of one name that is a symlink shows "name -> target", as ls -l does. */
static void
link_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct transfer_operation *operation = arg;
	struct ftpd_shell *shell = operation_shell(&operation->base);
	struct transfer_source source = { NULL, NULL, NULL };
	struct ftpd_path view;

	if (operation_arrived(&operation->base))
		return;
	if (error == 0 && S_ISLNK(stat->mode)) {
		operation->link_stat = *stat;
		view = operation_shell_path(&operation->base);
		operation_continue(&operation->base);
		shell->ops->readlink(shell, &view, link_target_known, operation);
		return;
	}
	if (error == 0)
		error = listing_stream_single(path_basename(&operation->base.path), stat, NULL,
		    &operation->listing, &source);
	start_listing(operation, error, source);
}

static void
listing_target_known(void *arg, int error, const struct ftpd_stat *stat)
{
	struct transfer_operation *operation = arg;
	const char *name = path_basename(&operation->base.path);
	/* Passed on (by value) even when an error leaves it unused. */
	struct transfer_source source = { NULL, NULL, NULL };
	struct ftpd_path view;

	if (operation_arrived(&operation->base))
		return;
	if (error == 0 && S_ISDIR(stat->mode)) {
		view = operation_shell_path(&operation->base);
		operation_continue(&operation->base);
		operation_shell(&operation->base)->ops->open_directory(
		    operation_shell(&operation->base), &view, directory_opened, operation);
		return;
	}
	if (error == 0 && operation->listing.style == LISTING_FACTS) {
		session_reply(operation->base.session, REPLY_NOT_A_DIRECTORY_LISTING, name);
		operation_end(&operation->base);
		return;
	}
	if (error == 0 && operation->listing.style == LISTING_LONG &&
	    operation->base.path.count > 0 && operation->listing.pattern == NULL &&
	    FTPD_SHELL_OP(operation_shell(&operation->base), lstat) != NULL &&
	    FTPD_SHELL_OP(operation_shell(&operation->base), readlink) != NULL) {
		view = operation_shell_path(&operation->base);
		operation_continue(&operation->base);
		operation_shell(&operation->base)->ops->lstat(operation_shell(&operation->base),
		    &view, link_known, operation);
		return;
	}
	if (error == 0)
		error = listing_stream_single(name, stat, NULL, &operation->listing, &source);
	start_listing(operation, error, source);
}

static void
list(struct session *session, const char *argument, const char *command,
    enum listing_style style)
{
	struct transfer_operation *operation;
	struct ftpd_path view;
	const char *last;

	session->restart_offset = 0;
	operation = start_transfer_operation(session, command);
	if (operation == NULL)
		return;
	operation->listing.style = style;
	operation->listing.facts = session->mlst_facts;
	operation->listing.writable = !session->avatar->anonymous && !session->avatar->read_only;
	if (style != LISTING_FACTS)
		argument = skip_flags(argument, &operation->listing.show_hidden);
	if (operation_resolve(&operation->base, argument != NULL ? argument : "") != 0)
		return;
	/* A glob in the last segment lists the matching names of its directory. */
	last = operation->base.path.count > 0 ? path_basename(&operation->base.path) : NULL;
	if (style != LISTING_FACTS && last != NULL && listing_is_glob(last)) {
		struct path parent;

		snprintf(operation->pattern, sizeof(operation->pattern), "%s", last);
		operation->listing.pattern = operation->pattern;
		if (path_parent(&operation->base.path, &parent) != 0) {
			session_release(session);
			operation_finish(&operation->base, -ENOMEM, REPLY_COUNT);
			return;
		}
		path_free(&operation->base.path);
		operation->base.path = parent;
	}
	view = operation_shell_path(&operation->base);
	operation_shell(&operation->base)->ops->stat(operation_shell(&operation->base), &view,
	    listing_target_known, operation);
}

void
command_list(struct session *session, const char *argument)
{
	list(session, argument, "LIST", LISTING_LONG);
}

void
command_nlst(struct session *session, const char *argument)
{
	list(session, argument, "NLST", LISTING_NAMES);
}

void
command_mlsd(struct session *session, const char *argument)
{
	list(session, argument, "MLSD", LISTING_FACTS);
}
