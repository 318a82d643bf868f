/*
 * transfer: one data transfer over a bufferevent.
 * Downloads are pulled from the file only as the socket drains; uploads go to the file as they arrive.
 * A shell may complete a read or write later (FTPD_PENDING): a download then
 * waits with its block lent to the shell, an upload stops reading its data
 * connection until the shell has taken what arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "dtp/ascii.h"
#include "dtp/dtp.h"
#include "dtp/rate.h"
#include "dtp/splice.h"
#include "dtp/transfer.h"
#include "log/log.h"
#include "tls/tls.h"
#include "util/attributes.h"

/* Refill a download when less than this is queued; read this much per step. */
#define SEND_LOW_WATERMARK (128 * 1024)
#define SEND_BUDGET (256 * 1024)
#define READ_CHUNK (64 * 1024)
/*
 * Uploads bypass bufferevents: libevent 2.1 reads at most 4 KiB per system
 * call (EVBUFFER_MAX_READ), far too little for bulk data. They read into
 * their own buffer instead, and give other sessions a turn after a budget.
 */
#define RECEIVE_BUFFER_SIZE (256 * 1024)
#define RECEIVE_BUDGET (4 * 1024 * 1024)
/* With start_writeback: write-back of an upload begins every this many bytes. */
#define WRITEBACK_STEP (8 * 1024 * 1024)
/* An upload is spliced once this much of it came through read() and write(). */
#define SPLICE_AFTER RECEIVE_BUFFER_SIZE
/* libevent writes 16 KiB per call by default; let sendfile move far more. */
#define MAX_SINGLE_WRITE (16 * 1024 * 1024)

enum transfer_kind { SEND_FILE, SEND_SOURCE, RECEIVE_FILE };

struct transfer {
	struct event_base *base;
	enum transfer_kind kind;
	struct transfer_options options;
	struct dtp *dtp;		/* until connected */
	int must_resume_tls;		/* dtp_must_resume_tls: a balancer's, no header */
	struct bufferevent *data;

	struct ftpd_read_file *read_file;
	struct evbuffer_file_segment *segment;	/* zero-copy send of read_file */
	uint64_t position;		/* next file offset to read */
	uint64_t start;			/* the offset it started at (REST) */
	uint64_t end;			/* file size when opened */
	struct transfer_source source;
	struct ftpd_write_file *write_file;
	struct ascii_state ascii;
	struct event *ktls_event;	/* kernel-TLS download: the socket is writable */
	evutil_socket_t upload_fd;	/* an upload's data connection */
	struct event *upload_event;	/* readable, or stalled */
	struct splice_pipe splice;	/* an upload moved in the kernel, when splicing */
	int splice_wanted;		/* the shell lent the file's descriptor */
	int splicing;
	uint64_t writeback_started;	/* stored bytes whose write-back has been started */
	/* Upload bytes that arrived (converted, for TYPE A), not yet written. */
	struct evbuffer *to_store;
	char *read_block;		/* lent to the shell by a pending read */
	char *raw;			/* TYPE A raw upload: bytes before conversion */
	int source_pending;		/* the source resumes the download itself */
	/* max_rate: libevent paces the bufferevent, upload_pacer the raw upload path */
	struct ev_token_bucket_cfg *rate_bucket;
	struct rate_pacer upload_pacer;
	struct event *upload_pause;	/* the raw upload waits for its pacer */

	int exhausted;			/* a download has queued its last byte */
	int committing;			/* an upload's finish() is running */
	int write_pending;		/* the shell has the head of to_store */
	int input_ended;		/* the whole upload arrived; store, then commit */
	int keep_when_written;		/* cut off: keep what arrived once it is written */
	uint64_t queued;		/* download bytes handed to the socket buffer */
	uint64_t received;		/* upload bytes read from the socket */
	uint64_t stored;		/* upload bytes written to the file */
	transfer_done_fn done;
	void *arg;
};

static struct transfer *
transfer_new(struct event_base *base, struct dtp *dtp, const struct transfer_options *options,
    enum transfer_kind kind, transfer_done_fn done, void *arg)
{
	struct transfer *transfer = calloc(1, sizeof(*transfer));

	if (transfer == NULL)
		return NULL;
	transfer->base = base;
	transfer->kind = kind;
	transfer->options = *options;
	transfer->dtp = dtp;
	transfer->done = done;
	transfer->arg = arg;
	transfer->upload_fd = -1;
	transfer->splice.read_end = transfer->splice.write_end = -1;
	ascii_init(&transfer->ascii);
	return transfer;
}

/*
 * Kernel-TLS downloads write to the data socket and plain uploads read from
 * it past any bufferevent: their events, and an upload's socket, which has
 * no bufferevent to close it. Ended before the bufferevent closes the socket
 * the events watch.
 */
static void
end_direct_io(struct transfer *transfer)
{
	if (transfer->ktls_event != NULL)
		event_free(transfer->ktls_event);
	transfer->ktls_event = NULL;
	if (transfer->upload_event != NULL)
		event_free(transfer->upload_event);
	transfer->upload_event = NULL;
	if (transfer->upload_pause != NULL)
		event_free(transfer->upload_pause);
	transfer->upload_pause = NULL;
	if (transfer->upload_fd >= 0)
		close(transfer->upload_fd);
	transfer->upload_fd = -1;
	splice_pipe_close(&transfer->splice);
	transfer->splicing = 0;
}

/*
 * Closes the data connection, without close_notify: a TLS peer can tell a
 * cut-off transfer from a whole one.
 */
static void
release_connection(struct transfer *transfer)
{
	end_direct_io(transfer);
	if (transfer->data != NULL)
		bufferevent_free(transfer->data);
	transfer->data = NULL;
	/* Only now: the bufferevent used it until it was freed. */
	if (transfer->rate_bucket != NULL)
		ev_token_bucket_cfg_free(transfer->rate_bucket);
	transfer->rate_bucket = NULL;
	dtp_free(transfer->dtp);
	transfer->dtp = NULL;
}

/* Closes everything; an upload not yet committed is discarded (the old file stays). */
static void
release(struct transfer *transfer)
{
	release_connection(transfer);
	free(transfer->raw);
	transfer->raw = NULL;
	/* The socket buffer may still reference the segment: free it after the socket. */
	if (transfer->segment != NULL)
		evbuffer_file_segment_free(transfer->segment);
	transfer->segment = NULL;
	if (transfer->read_file != NULL)
		transfer->read_file->ops->close(transfer->read_file);
	transfer->read_file = NULL;
	/* Only after close: a pending read had it until then. */
	free(transfer->read_block);
	transfer->read_block = NULL;
	if (transfer->source.close != NULL)
		transfer->source.close(transfer->source.context);
	transfer->source.close = NULL;
	if (transfer->write_file != NULL)
		transfer->write_file->ops->abort(transfer->write_file);
	transfer->write_file = NULL;
	if (transfer->to_store != NULL)
		evbuffer_free(transfer->to_store);
	transfer->to_store = NULL;
}

static void committed(void *arg, int error);
static void read_later(void *arg, ssize_t result);
static void source_resumed(void *arg);
static void written_later(void *arg, ssize_t result);

/* keep_partial: whether an upload ending with status keeps what arrived. */
static int
keeps_partial_upload(const struct transfer *transfer, enum transfer_status status)
{
	return transfer->write_file != NULL && transfer->options.keep_partial &&
	    (transfer->stored > 0 || transfer->write_pending) &&
	    (status == TRANSFER_CONNECTION_LOST || status == TRANSFER_ABORTED);
}

/*
 * Finishes the upload's file with what arrived, instead of aborting it; the
 * transfer frees itself once the file is finished, and reports to nobody.
 */
static void
keep_partial_upload(struct transfer *transfer)
{
	struct ftpd_write_file *file = transfer->write_file;

	log_info("upload cut off after %llu bytes: keeping them",
	    (unsigned long long)transfer->received);
	release_connection(transfer);
	transfer->done = NULL;
	transfer->committing = 1;
	if (transfer->write_pending) {
		/* finish() must wait for the write: written_later() calls it. */
		transfer->keep_when_written = 1;
		return;
	}
	transfer->write_file = NULL;
	file->ops->finish(file, committed, transfer);
}

static void
finish(struct transfer *transfer, enum transfer_status status, int error)
{
	transfer_done_fn done = transfer->done;
	void *arg = transfer->arg;
	struct transfer_result result = {
		.status = status,
		.error = error,
		.bytes = transfer_bytes(transfer),
		.stored = transfer->stored,
		.kept = transfer->kind == RECEIVE_FILE && status == TRANSFER_COMPLETE,
	};

	if (keeps_partial_upload(transfer, status)) {
		/* Reported now, before the file is durable: ABOR's 426 comes before its 226. */
		result.kept = 1;
		keep_partial_upload(transfer);
	} else {
		release(transfer);
		free(transfer);
	}
	if (done != NULL)
		done(arg, &result);
}

uint64_t
transfer_bytes(const struct transfer *transfer)
{
	if (transfer->kind == RECEIVE_FILE)
		return transfer->received;
	/* Without a bufferevent (closed, or kernel TLS) everything queued has gone. */
	if (transfer->data == NULL || transfer->ktls_event != NULL)
		return transfer->queued;
	return transfer->queued - evbuffer_get_length(bufferevent_get_output(transfer->data));
}

uint64_t
transfer_expected_bytes(const struct transfer *transfer)
{
	if (transfer->kind != SEND_FILE || transfer->options.ascii)
		return 0;
	return transfer->end - transfer->start;
}

/* What a read into a lent block gives back: the output buffer owns it then. */
static void
free_block(const void *data, size_t length UNUSED, void *extra UNUSED)
{
	free((void *)data);
}

/*
 * Queues what a read put in block (TYPE A converted), and takes block. 1:
 * more to read; 0: the end; -errno.
 */
static int
take_read(struct transfer *transfer, struct evbuffer *out, char *block, ssize_t got)
{
	if (got <= 0) {
		free(block);
		if (got < 0)
			return (int)got;
		/*
		 * The end came before the size the file had when opened: it
		 * shrank underneath. Reporting 226 would pass a truncated
		 * copy off as complete (TYPE A has no byte count to check).
		 */
		if (transfer->position < transfer->end) {
			log_warning("download failed: the file shrank from %llu to %llu "
			    "bytes while it was sent", (unsigned long long)transfer->end,
			    (unsigned long long)transfer->position);
			return -EIO;
		}
		return 0;
	}
	if ((size_t)got > READ_CHUNK)
		got = READ_CHUNK;	/* a shell that claims more than it was given */
	if (transfer->options.ascii) {
		ascii_to_network(&transfer->ascii, block, (size_t)got, out);
		free(block);
	} else if (evbuffer_add_reference(out, block, (size_t)got, free_block, NULL) != 0) {
		/* No copy: the output buffer sends from the block itself. */
		free(block);
		return -ENOMEM;
	}
	transfer->position += (uint64_t)got;
	return 1;
}

#define READ_PENDING 2

/*
 * Reads the next pieces of a file that cannot be sent zero-copy: 1 more,
 * 0 the end, READ_PENDING when the shell completes the read later, -errno.
 */
static int
produce_from_file(struct transfer *transfer, struct evbuffer *out)
{
	size_t before = evbuffer_get_length(out);

	while (evbuffer_get_length(out) - before < SEND_BUDGET) {
		char *block = malloc(READ_CHUNK);
		ssize_t got;
		int more;

		if (block == NULL)
			return -ENOMEM;
		got = transfer->read_file->ops->read(transfer->read_file, block, READ_CHUNK,
		    read_later, transfer);
		if (got == FTPD_PENDING) {
			transfer->read_block = block;
			return READ_PENDING;
		}
		more = take_read(transfer, out, block, got);
		if (more <= 0)
			return more;
	}
	return 1;
}

/* Queues more download bytes; marks the end when there are no more. */
static int
refill(struct transfer *transfer)
{
	struct evbuffer *out = bufferevent_get_output(transfer->data);
	size_t before = evbuffer_get_length(out);
	int more;

	if (transfer->read_block != NULL || transfer->source_pending)
		return 0;	/* read_later() or source_resumed() goes on */
	if (transfer->segment != NULL) {
		uint64_t piece = transfer->end - transfer->position;

		/*
		 * Unlimited, all of it at once: sendfile(2) moves it as the socket
		 * drains. Paced, a tick's worth at a time: libevent hands a file
		 * segment to sendfile whole, whatever its bucket allows.
		 */
		if (transfer->options.max_rate != 0 &&
		    piece > rate_bytes_per_tick(transfer->options.max_rate))
			piece = rate_bytes_per_tick(transfer->options.max_rate);
		if (piece > 0 && evbuffer_add_file_segment(out, transfer->segment,
		    (ev_off_t)(transfer->position - transfer->start), (ev_off_t)piece) != 0)
			return -ENOMEM;
		transfer->position += piece;
		more = transfer->position < transfer->end;
	} else if (transfer->kind == SEND_FILE)
		more = produce_from_file(transfer, out);
	else
		more = transfer->source.produce(transfer->source.context, out, SEND_BUDGET,
		    source_resumed, transfer);
	if (more < 0)
		return more;
	transfer->queued += evbuffer_get_length(out) - before;
	if (more == READ_PENDING && transfer->kind == SEND_FILE)
		return 0;	/* read_block says so */
	if (more == TRANSFER_SOURCE_PENDING) {
		transfer->source_pending = 1;
		return 0;
	}
	if (more == 0) {
		transfer->exhausted = 1;
		/* From now on be told only when everything has gone out. */
		bufferevent_setwatermark(transfer->data, EV_WRITE, 0, 0);
	}
	return 0;
}

/* Closes the data connection, telling a TLS peer with close_notify first. */
static void
close_data_connection(struct transfer *transfer)
{
	evutil_socket_t fd = -1;

	end_direct_io(transfer);
	if (transfer->data == NULL)
		return;
	if (transfer->options.tls != NULL)
		tls_send_close_notify(bufferevent_openssl_get_ssl(transfer->data));
	else {
		/*
		 * A plain socket closes now, not when libevent finalizes the
		 * bufferevent: the end of the data comes before the 226.
		 */
		fd = bufferevent_getfd(transfer->data);
		bufferevent_setfd(transfer->data, -1);
	}
	bufferevent_free(transfer->data);
	transfer->data = NULL;
	if (fd >= 0)
		close(fd);
}

static void
download_complete(struct transfer *transfer)
{
	close_data_connection(transfer);
	finish(transfer, TRANSFER_COMPLETE, 0);
}

static void
send_more(struct bufferevent *data, void *arg)
{
	struct transfer *transfer = arg;
	int error;

	if (transfer->exhausted) {
		if (evbuffer_get_length(bufferevent_get_output(data)) == 0)
			download_complete(transfer);
		return;
	}
	error = refill(transfer);
	if (error != 0) {
		log_warning("download failed: %s", strerror(-error));
		finish(transfer, TRANSFER_LOCAL_ERROR, error);
		return;
	}
	if (transfer->exhausted && evbuffer_get_length(bufferevent_get_output(data)) == 0)
		download_complete(transfer);
}

/* A read the shell completed later. */
static void
read_later(void *arg, ssize_t result)
{
	struct transfer *transfer = arg;
	struct evbuffer *out = bufferevent_get_output(transfer->data);
	size_t before = evbuffer_get_length(out);
	char *block = transfer->read_block;
	int more;

	transfer->read_block = NULL;
	more = take_read(transfer, out, block, result);
	transfer->queued += evbuffer_get_length(out) - before;
	if (more < 0) {
		log_warning("download failed: %s", strerror(-more));
		finish(transfer, TRANSFER_LOCAL_ERROR, more);
		return;
	}
	if (more == 0) {
		transfer->exhausted = 1;
		bufferevent_setwatermark(transfer->data, EV_WRITE, 0, 0);
	}
	/* Above the watermark, the socket's draining calls send_more. */
	if (evbuffer_get_length(out) <= SEND_LOW_WATERMARK)
		send_more(transfer->data, transfer);
}

/* The source has what it waited for: ask it again if the socket wants more. */
static void
source_resumed(void *arg)
{
	struct transfer *transfer = arg;

	transfer->source_pending = 0;
	if (evbuffer_get_length(bufferevent_get_output(transfer->data)) <= SEND_LOW_WATERMARK)
		send_more(transfer->data, transfer);
}

/* The shell wrote wrote bytes of to_store's head: drop them. 0 or -errno. */
static int
take_written(struct transfer *transfer, ssize_t wrote, size_t offered)
{
	if (wrote < 0)
		return (int)wrote;
	if (wrote == 0 || (size_t)wrote > offered)
		return -EIO;
	transfer->stored += (uint64_t)wrote;
	evbuffer_drain(transfer->to_store, (size_t)wrote);
	return 0;
}

/* 1 (said in the log) when storing bytes more would pass the quota's store limit. */
static int
passes_store_limit(const struct transfer *transfer, uint64_t bytes)
{
	if (!transfer->options.store_limited ||
	    bytes <= transfer->options.store_limit - transfer->stored)
		return 0;
	log_info("upload stopped: %llu bytes would pass the %llu its quota allows",
	    (unsigned long long)(transfer->stored + bytes),
	    (unsigned long long)transfer->options.store_limit);
	return 1;
}

/*
 * Hands what arrived to the shell, a contiguous piece at a time, until it
 * is all written or one write is pending; 0 or -errno. Bytes past the store
 * limit fail the upload as they arrive, not after the whole file.
 */
static int
store_arrived(struct transfer *transfer)
{
	while (!transfer->write_pending && evbuffer_get_length(transfer->to_store) > 0) {
		size_t piece = evbuffer_get_contiguous_space(transfer->to_store);
		const char *bytes;
		ssize_t wrote;
		int error;

		if (passes_store_limit(transfer, piece))
			return -EDQUOT;
		bytes = (const char *)evbuffer_pullup(transfer->to_store, (ev_ssize_t)piece);
		wrote = transfer->write_file->ops->write(transfer->write_file, bytes, piece,
		    written_later, transfer);
		if (wrote == FTPD_PENDING) {
			/* Nothing may touch to_store now: stop taking more. */
			transfer->write_pending = 1;
			if (transfer->upload_event != NULL)
				event_del(transfer->upload_event);
			if (transfer->data != NULL)
				bufferevent_disable(transfer->data, EV_READ);
			return 0;
		}
		error = take_written(transfer, wrote, piece);
		if (error != 0)
			return error;
	}
	return 0;
}

static void
committed(void *arg, int error)
{
	struct transfer *transfer = arg;

	transfer->committing = 0;
	if (error != 0)
		log_warning("upload could not be stored: %s", strerror(-error));
	finish(transfer, error == 0 ? TRANSFER_COMPLETE : TRANSFER_LOCAL_ERROR, error);
}

/* Everything arrived and is written: store it. */
static void
commit_written(struct transfer *transfer)
{
	struct ftpd_write_file *file = transfer->write_file;

	close_data_connection(transfer);
	transfer->write_file = NULL;	/* finish() now owns it */
	transfer->committing = 1;
	file->ops->finish(file, committed, transfer);
}

/* The client closed its side: the upload is whole. Store it once written. */
static void
commit_upload(struct transfer *transfer)
{
	int error;

	if (transfer->options.ascii)
		ascii_network_finish(&transfer->ascii, transfer->to_store);
	error = store_arrived(transfer);
	if (error != 0) {
		log_warning("upload failed: %s", strerror(-error));
		finish(transfer, TRANSFER_LOCAL_ERROR, error);
		return;
	}
	if (transfer->write_pending) {
		transfer->input_ended = 1;	/* written_later() commits */
		return;
	}
	commit_written(transfer);
}

static void receive_decrypted(struct bufferevent *data, void *arg);

/* The shell is ready for more: read the data connection again. */
static void
resume_receiving(struct transfer *transfer)
{
	struct timeval stall = { (time_t)transfer->options.stall_timeout, 0 };

	if (transfer->data != NULL) {
		bufferevent_enable(transfer->data, EV_READ);
		/* What was decrypted meanwhile raises no new event: take it now. */
		if (evbuffer_get_length(bufferevent_get_input(transfer->data)) > 0)
			receive_decrypted(transfer->data, transfer);
		return;
	}
	/* A paced upload waiting for its pacer is resumed by resume_upload(). */
	if (transfer->upload_pause != NULL && evtimer_pending(transfer->upload_pause, NULL))
		return;
	if (event_add(transfer->upload_event, &stall) != 0) {
		log_warning("upload failed: %s", strerror(ENOMEM));
		finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
	}
}

/* A write the shell completed later. */
static void
written_later(void *arg, ssize_t result)
{
	struct transfer *transfer = arg;
	size_t offered = evbuffer_get_contiguous_space(transfer->to_store);
	int error;

	transfer->write_pending = 0;
	error = take_written(transfer, result, offered);
	if (error == 0)
		error = store_arrived(transfer);
	if (error != 0) {
		log_warning("upload failed: %s", strerror(-error));
		/* Cut off and keeping: nobody waits for a report. */
		transfer->committing = 0;
		finish(transfer, TRANSFER_LOCAL_ERROR, error);
		return;
	}
	if (transfer->write_pending)
		return;
	if (transfer->keep_when_written) {
		struct ftpd_write_file *file = transfer->write_file;

		transfer->write_file = NULL;
		file->ops->finish(file, committed, transfer);
	} else if (transfer->input_ended)
		commit_written(transfer);
	else
		resume_receiving(transfer);
}

/* How much the next read of a raw upload may take: 0 when it must pause. */
static size_t
upload_read_size(struct transfer *transfer)
{
	size_t allowed;

	if (transfer->options.max_rate == 0)
		return RECEIVE_BUFFER_SIZE;
	allowed = rate_pacer_allowance(&transfer->upload_pacer, rate_now());
	return allowed < RECEIVE_BUFFER_SIZE ? allowed : RECEIVE_BUFFER_SIZE;
}

/*
 * Stops reading until the pacer has refilled: the client's data waits in
 * the socket buffers, and TCP slows the client down.
 */
static int
pause_upload(struct transfer *transfer)
{
	uint64_t pause = rate_pacer_pause(&transfer->upload_pacer);
	struct timeval until = { (time_t)(pause / 1000000), (suseconds_t)(pause % 1000000) };

	event_del(transfer->upload_event);
	return evtimer_add(transfer->upload_pause, &until) == 0 ? 0 : -ENOMEM;
}

static void
resume_upload(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct transfer *transfer = arg;
	struct timeval stall = { (time_t)transfer->options.stall_timeout, 0 };

	if (transfer->write_pending)
		return;		/* written_later() resumes */
	if (event_add(transfer->upload_event, &stall) != 0) {
		log_warning("upload failed: %s", strerror(ENOMEM));
		finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
	}
}

/*
 * Reads up to size bytes of a raw upload into to_store (TYPE A: converted
 * on the way). Bytes read, 0 at the end, or -1 with errno.
 */
static ssize_t
read_upload(struct transfer *transfer, evutil_socket_t fd, size_t size)
{
	struct evbuffer_iovec space;
	ssize_t got;

	if (transfer->options.ascii) {
		if (transfer->raw == NULL &&
		    (transfer->raw = malloc(RECEIVE_BUFFER_SIZE)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
		got = read(fd, transfer->raw, size);
		if (got > 0)
			ascii_from_network(&transfer->ascii, transfer->raw, (size_t)got,
			    transfer->to_store);
		return got;
	}
	/* One contiguous piece: read(2) straight into the buffer's own memory. */
	if (evbuffer_reserve_space(transfer->to_store, (ev_ssize_t)size, &space, 1) < 1) {
		errno = ENOMEM;
		return -1;
	}
	got = read(fd, space.iov_base, size);
	space.iov_len = got > 0 ? (size_t)got : 0;
	evbuffer_commit_space(transfer->to_store, &space, 1);
	return got;
}

/*
 * With upload_sync, write-back of a big upload starts as it arrives, so
 * that the fsync before the 226 waits only for the tail.
 */
static void
start_writeback(struct transfer *transfer)
{
	if (transfer->options.start_writeback &&
	    transfer->stored - transfer->writeback_started >= WRITEBACK_STEP) {
		sync_file_range(transfer->write_file->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		transfer->writeback_started = transfer->stored;
	}
}

/*
 * A big upload to a file with a descriptor goes on through a pipe, once
 * everything read so far is written. Its first bytes come through read()
 * and write(): for a small file a pipe costs more than the copy.
 */
static int
switch_to_splice(struct transfer *transfer)
{
	if (!transfer->splice_wanted || transfer->received < SPLICE_AFTER ||
	    transfer->write_pending || evbuffer_get_length(transfer->to_store) > 0)
		return 0;
	transfer->splice_wanted = 0;
	if (splice_pipe_open(&transfer->splice) == 0)
		transfer->splicing = 1;
	return transfer->splicing;
}

/* A raw upload to a file with a descriptor: socket to pipe to file, in the kernel. */
static void
receive_spliced(struct transfer *transfer, evutil_socket_t fd)
{
	size_t budget = RECEIVE_BUDGET;

	while (budget > 0) {
		/* Unpaced, as much as the pipe holds. */
		size_t size = transfer->options.max_rate != 0 ? upload_read_size(transfer) :
		    transfer->splice.capacity;
		ssize_t moved;
		int error;

		if (size == 0) {
			if (pause_upload(transfer) != 0)
				finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
			return;
		}
		moved = splice_from_socket(&transfer->splice, fd, size);
		if (moved == 0) {
			commit_upload(transfer);
			return;
		}
		if (moved == -EAGAIN)
			return;
		if (moved < 0) {
			log_info("data connection lost during the upload: %s", strerror((int)-moved));
			finish(transfer, TRANSFER_CONNECTION_LOST, 0);
			return;
		}
		if (transfer->options.max_rate != 0)
			rate_pacer_spend(&transfer->upload_pacer, (size_t)moved);
		transfer->received += (uint64_t)moved;
		if (passes_store_limit(transfer, (uint64_t)moved)) {
			finish(transfer, TRANSFER_LOCAL_ERROR, -EDQUOT);
			return;
		}
		error = splice_to_file(&transfer->splice, transfer->write_file->fd);
		if (error != 0) {
			log_warning("upload failed: %s", strerror(-error));
			finish(transfer, TRANSFER_LOCAL_ERROR, error);
			return;
		}
		transfer->stored += (uint64_t)moved;
		start_writeback(transfer);
		budget = (size_t)moved < budget ? budget - (size_t)moved : 0;
	}
}

static void
receive_more(evutil_socket_t fd, short what, void *arg)
{
	struct transfer *transfer = arg;
	size_t budget = RECEIVE_BUDGET;

	if (what & EV_TIMEOUT) {
		log_info("data connection stalled for %u s: upload aborted",
		    transfer->options.stall_timeout);
		finish(transfer, TRANSFER_CONNECTION_LOST, 0);
		return;
	}
	if (transfer->splicing) {
		receive_spliced(transfer, fd);
		return;
	}
	while (budget > 0 && !transfer->write_pending) {
		size_t size = upload_read_size(transfer);
		ssize_t got;
		int error;

		if (size == 0) {
			if (pause_upload(transfer) != 0)
				finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
			return;
		}
		got = read_upload(transfer, fd, size);
		if (got == 0) {
			commit_upload(transfer);
			return;
		}
		if (got < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			if (errno == ENOMEM) {
				finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
				return;
			}
			log_info("data connection lost during the upload: %s", strerror(errno));
			finish(transfer, TRANSFER_CONNECTION_LOST, 0);
			return;
		}
		if (transfer->options.max_rate != 0)
			rate_pacer_spend(&transfer->upload_pacer, (size_t)got);
		transfer->received += (uint64_t)got;
		error = store_arrived(transfer);
		if (error != 0) {
			log_warning("upload failed: %s", strerror(-error));
			finish(transfer, TRANSFER_LOCAL_ERROR, error);
			return;
		}
		if (switch_to_splice(transfer)) {
			receive_spliced(transfer, fd);
			return;
		}
		budget = (size_t)got < budget ? budget - (size_t)got : 0;
	}
}

/* Reads an upload straight from the socket; its persistent timeout is the stall limit. */
static int
start_receiving(struct transfer *transfer, evutil_socket_t fd)
{
	struct timeval stall = { (time_t)transfer->options.stall_timeout, 0 };

	transfer->upload_fd = fd;
	/* The shell lends the file's descriptor: the bytes need not pass through here. */
	transfer->splice_wanted = !transfer->options.ascii && transfer->write_file->fd >= 0;
	transfer->upload_event = event_new(transfer->base, fd, EV_READ | EV_PERSIST,
	    receive_more, transfer);
	if (transfer->options.max_rate != 0) {
		rate_pacer_init(&transfer->upload_pacer, transfer->options.max_rate, rate_now());
		transfer->upload_pause = evtimer_new(transfer->base, resume_upload, transfer);
		if (transfer->upload_pause == NULL)
			return -ENOMEM;
	}
	if (transfer->upload_event == NULL || event_add(transfer->upload_event, &stall) != 0)
		return -ENOMEM;
	return 0;
}

/* Takes the decrypted bytes of a TLS upload to the shell; 0 or -errno. */
static int
take_decrypted(struct transfer *transfer)
{
	struct evbuffer *input = bufferevent_get_input(transfer->data);
	size_t before = evbuffer_get_length(input);

	if (transfer->write_pending)
		return 0;	/* to_store is lent out; written_later() comes back */
	if (!transfer->options.ascii) {
		/* Moves the buffer's chains: no copy. */
		if (evbuffer_add_buffer(transfer->to_store, input) != 0)
			return -ENOMEM;
	} else {
		while (evbuffer_get_length(input) > 0) {
			size_t piece = evbuffer_get_contiguous_space(input);

			ascii_from_network(&transfer->ascii,
			    (const char *)evbuffer_pullup(input, (ev_ssize_t)piece), piece,
			    transfer->to_store);
			evbuffer_drain(input, piece);
		}
	}
	transfer->received += before - evbuffer_get_length(input);
	return store_arrived(transfer);
}

/* TLS uploads arrive through the bufferevent, already decrypted. */
static void
receive_decrypted(struct bufferevent *data UNUSED, void *arg)
{
	struct transfer *transfer = arg;
	int error = take_decrypted(transfer);

	if (error != 0) {
		log_warning("upload failed: %s", strerror(-error));
		finish(transfer, TRANSFER_LOCAL_ERROR, error);
	}
}

/*
 * The TLS stream of an upload ended. With or without close_notify the upload
 * is whole when it ended on a record boundary; bytes of a partial record
 * left over mean it was cut off.
 */
static void
tls_upload_ended(struct transfer *transfer)
{
	SSL *ssl = bufferevent_openssl_get_ssl(transfer->data);
	int error = take_decrypted(transfer);

	if (error != 0) {
		log_warning("upload failed: %s", strerror(-error));
		finish(transfer, TRANSFER_LOCAL_ERROR, error);
		return;
	}
	if (ssl != NULL && SSL_has_pending(ssl)) {
		log_info("TLS upload cut off in the middle of a record");
		finish(transfer, TRANSFER_CONNECTION_LOST, 0);
		return;
	}
	commit_upload(transfer);
}

static void start_sending(struct transfer *transfer);

/*
 * Kernel TLS: the kernel encrypts, so SSL_sendfile moves the file without
 * copying it through user space, as plain downloads do.
 */
static void
ktls_send_more(evutil_socket_t fd UNUSED, short what, void *arg)
{
	struct transfer *transfer = arg;
	SSL *ssl = bufferevent_openssl_get_ssl(transfer->data);

	if (what & EV_TIMEOUT) {
		log_info("data connection stalled for %u s: transfer aborted",
		    transfer->options.stall_timeout);
		finish(transfer, TRANSFER_CONNECTION_LOST, 0);
		return;
	}
	while (transfer->position < transfer->end) {
		uint64_t left = transfer->end - transfer->position;
		ossl_ssize_t sent = SSL_sendfile(ssl, transfer->read_file->fd,
		    (off_t)transfer->position, left < MAX_SINGLE_WRITE ? left : MAX_SINGLE_WRITE, 0);

		if (sent <= 0) {
			int error = SSL_get_error(ssl, (int)sent);

			if (error == SSL_ERROR_WANT_WRITE)
				return;
			log_info("kernel TLS download failed (SSL error %d)", error);
			finish(transfer, TRANSFER_CONNECTION_LOST, 0);
			return;
		}
		transfer->position += (uint64_t)sent;
		transfer->queued += (uint64_t)sent;
	}
	download_complete(transfer);
}

/* 1 when the download went over to kernel TLS; 0 to use the usual path. */
static int
try_kernel_tls(struct transfer *transfer)
{
	struct timeval stall = { (time_t)transfer->options.stall_timeout, 0 };
	SSL *ssl = bufferevent_openssl_get_ssl(transfer->data);

	/* SSL_sendfile passes the bufferevent by, and with it the rate limit. */
	if (transfer->kind != SEND_FILE || transfer->options.ascii ||
	    transfer->options.max_rate != 0 ||
	    transfer->read_file->fd < 0 || !BIO_get_ktls_send(SSL_get_wbio(ssl)))
		return 0;
	transfer->ktls_event = event_new(transfer->base, bufferevent_getfd(transfer->data),
	    EV_WRITE | EV_PERSIST, ktls_send_more, transfer);
	if (transfer->ktls_event == NULL || event_add(transfer->ktls_event, &stall) != 0) {
		if (transfer->ktls_event != NULL)
			event_free(transfer->ktls_event);
		transfer->ktls_event = NULL;
		return 0;
	}
	bufferevent_disable(transfer->data, EV_READ | EV_WRITE);
	transfer->exhausted = 1;
	log_debug("download over kernel TLS");
	return 1;
}

/* The data connection's TLS handshake finished: is it really our client? */
static void
tls_data_ready(struct transfer *transfer)
{
	SSL *ssl = bufferevent_openssl_get_ssl(transfer->data);

	if (tls_data_check(transfer->options.tls, ssl, transfer->must_resume_tls) != 0) {
		finish(transfer, TRANSFER_NO_CONNECTION, -EPERM);
		return;
	}
	if (transfer->kind == RECEIVE_FILE)
		bufferevent_enable(transfer->data, EV_READ);
	else if (!try_kernel_tls(transfer))
		start_sending(transfer);
}

static void
data_event(struct bufferevent *data, short what, void *arg)
{
	struct transfer *transfer = arg;

	if (what & BEV_EVENT_CONNECTED) {
		tls_data_ready(transfer);
		return;
	}
	if (transfer->kind == RECEIVE_FILE && (what & BEV_EVENT_EOF)) {
		tls_upload_ended(transfer);
		return;
	}
	if (transfer->options.tls != NULL &&
	    !SSL_is_init_finished(bufferevent_openssl_get_ssl(data))) {
		log_info("TLS handshake on the data connection failed");
		finish(transfer, TRANSFER_NO_CONNECTION, -EPROTO);
		return;
	}

	if (what & BEV_EVENT_TIMEOUT)
		log_info("data connection stalled for %u s: transfer aborted",
		    transfer->options.stall_timeout);
	else
		log_info("data connection lost during the transfer");
	finish(transfer, TRANSFER_CONNECTION_LOST, 0);
}

static void
start_sending(struct transfer *transfer)
{
	bufferevent_setwatermark(transfer->data, EV_WRITE, SEND_LOW_WATERMARK, 0);
	bufferevent_enable(transfer->data, EV_WRITE);
	send_more(transfer->data, transfer);
}

/*
 * A fresh plain data connection has room: when the whole file is queued
 * (sendfile, no pacing), the first piece goes out now instead of after a
 * turn of the loop, and a small file is done before the client's next
 * command. What the socket does not take goes out as the bufferevent
 * finds room; an error there is the bufferevent's to meet.
 */
static void
start_sending_plain(struct transfer *transfer)
{
	struct evbuffer *out = bufferevent_get_output(transfer->data);
	int error;

	bufferevent_setwatermark(transfer->data, EV_WRITE, SEND_LOW_WATERMARK, 0);
	error = refill(transfer);
	if (error != 0) {
		log_warning("download failed: %s", strerror(-error));
		finish(transfer, TRANSFER_LOCAL_ERROR, error);
		return;
	}
	if (transfer->exhausted && transfer->options.max_rate == 0 &&
	    evbuffer_get_length(out) > 0) {
		/* The bufferevent keeps the front of its output frozen but for itself. */
		evbuffer_unfreeze(out, 1);
		evbuffer_write_atmost(out, bufferevent_getfd(transfer->data), MAX_SINGLE_WRITE);
		evbuffer_freeze(out, 1);
	}
	if (transfer->exhausted && evbuffer_get_length(out) == 0) {
		download_complete(transfer);
		return;
	}
	bufferevent_enable(transfer->data, EV_WRITE);
}

/* A TLS data connection: the server side of the handshake comes first. */
static int
start_tls(struct transfer *transfer, evutil_socket_t fd)
{
	SSL *ssl = tls_data_new(transfer->options.tls, transfer->options.tls_control);

	if (ssl == NULL)
		return -ENOMEM;
	transfer->data = bufferevent_openssl_socket_new(transfer->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (transfer->data == NULL) {
		SSL_free(ssl);
		return -ENOMEM;
	}
	/*
	 * No dirty shutdowns: a peer that just closes is a clean end of file
	 * already (SSL_OP_IGNORE_UNEXPECTED_EOF in tls_data_new), so what
	 * libevent would call dirty is a reset, and a reset is an abort.
	 */
	bufferevent_setcb(transfer->data,
	    transfer->kind == RECEIVE_FILE ? receive_decrypted : NULL,
	    transfer->kind == RECEIVE_FILE ? NULL : send_more, data_event, transfer);
	/* Reading stays on for the handshake; an upload's data waits for the check. */
	bufferevent_setwatermark(transfer->data, EV_READ, 0, RECEIVE_BUFFER_SIZE);
	return 0;
}

/* max_rate: libevent paces the data connection's bufferevent. 0 or -ENOMEM. */
static int
limit_rate(struct transfer *transfer)
{
	if (transfer->options.max_rate == 0)
		return 0;
	transfer->rate_bucket = rate_bucket_new(transfer->options.max_rate);
	if (transfer->rate_bucket == NULL ||
	    bufferevent_set_rate_limit(transfer->data, transfer->rate_bucket) != 0)
		return -ENOMEM;
	return 0;
}

static void
connected(void *arg, int error, evutil_socket_t fd)
{
	struct transfer *transfer = arg;
	struct timeval stall = { (time_t)transfer->options.stall_timeout, 0 };

	transfer->must_resume_tls = error == 0 && dtp_must_resume_tls(transfer->dtp);
	dtp_free(transfer->dtp);
	transfer->dtp = NULL;
	if (error != 0) {
		log_info("no data connection: %s", strerror(-error));
		finish(transfer, TRANSFER_NO_CONNECTION, error);
		return;
	}
	if (transfer->must_resume_tls && transfer->options.tls == NULL) {
		log_warning("refused a passive data connection through a balancer: no PROXY "
		    "header, and without PROT P no TLS session can show it is the client's");
		close(fd);
		finish(transfer, TRANSFER_NO_CONNECTION, -EPERM);
		return;
	}
	if (transfer->options.tls != NULL) {
		error = start_tls(transfer, fd);
		if (error != 0) {
			close(fd);
			finish(transfer, TRANSFER_LOCAL_ERROR, error);
			return;
		}
		if (limit_rate(transfer) != 0) {
			finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
			return;
		}
		bufferevent_set_timeouts(transfer->data, &stall, &stall);
		bufferevent_enable(transfer->data, EV_READ | EV_WRITE);
		return;
	}
	if (transfer->kind == RECEIVE_FILE) {
		error = start_receiving(transfer, fd);
		if (error != 0)
			finish(transfer, TRANSFER_LOCAL_ERROR, error);
		return;
	}
	transfer->data = bufferevent_socket_new(transfer->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (transfer->data == NULL) {
		close(fd);
		finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
		return;
	}
	if (limit_rate(transfer) != 0) {
		finish(transfer, TRANSFER_LOCAL_ERROR, -ENOMEM);
		return;
	}
	bufferevent_set_timeouts(transfer->data, &stall, &stall);
	bufferevent_set_max_single_write(transfer->data, MAX_SINGLE_WRITE);
	bufferevent_setcb(transfer->data, NULL, send_more, data_event, transfer);
	/* Writing is enabled only if the socket does not take everything at once. */
	bufferevent_disable(transfer->data, EV_READ | EV_WRITE);
	start_sending_plain(transfer);
}

static struct transfer *
start(struct transfer *transfer)
{
	dtp_connect(transfer->dtp, transfer->options.connect_timeout, connected, transfer);
	return transfer;
}

struct transfer *
transfer_send_file(struct event_base *base, struct dtp *dtp,
    const struct transfer_options *options, struct ftpd_read_file *file, uint64_t offset,
    transfer_done_fn done, void *arg)
{
	struct transfer *transfer = transfer_new(base, dtp, options, SEND_FILE, done, arg);

	if (transfer == NULL) {
		dtp_free(dtp);
		file->ops->close(file);
		return NULL;
	}
	transfer->read_file = file;
	transfer->position = offset;
	transfer->start = offset;
	transfer->end = file->size > offset ? file->size : offset;
	/* sendfile(2) would bypass TLS: protected downloads are read and encrypted. */
	if (file->fd >= 0 && !options->ascii && options->tls == NULL && transfer->end > offset) {
		transfer->segment = evbuffer_file_segment_new(file->fd, (ev_off_t)offset,
		    (ev_off_t)(transfer->end - offset), 0);
		/* Without a segment the read path below still works. */
	}
	return start(transfer);
}

struct transfer *
transfer_send_source(struct event_base *base, struct dtp *dtp,
    const struct transfer_options *options, struct transfer_source source,
    transfer_done_fn done, void *arg)
{
	struct transfer *transfer = transfer_new(base, dtp, options, SEND_SOURCE, done, arg);

	if (transfer == NULL) {
		dtp_free(dtp);
		source.close(source.context);
		return NULL;
	}
	transfer->source = source;
	return start(transfer);
}

struct transfer *
transfer_receive_file(struct event_base *base, struct dtp *dtp,
    const struct transfer_options *options, struct ftpd_write_file *file,
    transfer_done_fn done, void *arg)
{
	struct transfer *transfer = transfer_new(base, dtp, options, RECEIVE_FILE, done, arg);

	if (transfer != NULL)
		transfer->to_store = evbuffer_new();
	if (transfer == NULL || transfer->to_store == NULL) {
		if (transfer != NULL && transfer->to_store != NULL)
			evbuffer_free(transfer->to_store);
		free(transfer);
		dtp_free(dtp);
		file->ops->abort(file);
		return NULL;
	}
	transfer->write_file = file;
	return start(transfer);
}

void
transfer_abort(struct transfer *transfer)
{
	if (transfer->committing) {
		/* The upload is complete and being stored; let that finish and report. */
		return;
	}
	finish(transfer, TRANSFER_ABORTED, 0);
}

void
transfer_free(struct transfer *transfer)
{
	if (transfer->committing) {
		/* committed() will still run: make it report to nobody. */
		transfer->done = NULL;
		return;
	}
	/* A client that drops the control connection first has cut the upload off too. */
	if (keeps_partial_upload(transfer, TRANSFER_CONNECTION_LOST)) {
		keep_partial_upload(transfer);
		return;
	}
	release(transfer);
	free(transfer);
}
