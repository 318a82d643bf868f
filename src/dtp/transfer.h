/*
 * transfer: moves the bytes of one RETR, STOR or listing over a data
 * connection, with flow control both ways, zero-copy sends of plain files,
 * TYPE A conversion, stall timeouts, and ABOR.
 */
#ifndef FTPD_TRANSFER_H
#define FTPD_TRANSFER_H

#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "ftpd/shell.h"

struct dtp;
struct transfer;
struct tls_context;
struct ssl_st;

enum transfer_status {
	TRANSFER_COMPLETE,		/* 226 */
	TRANSFER_NO_CONNECTION,		/* 425: the data connection never came (-EPERM: */
					/* its TLS did not resume the control session) */
	TRANSFER_CONNECTION_LOST,	/* 426: reset or stalled */
	TRANSFER_ABORTED,		/* 426 by ABOR */
	TRANSFER_LOCAL_ERROR		/* the file could not be read, written or stored */
};

/* How a transfer ended. */
struct transfer_result {
	enum transfer_status status;
	int error;			/* -errno for TRANSFER_LOCAL_ERROR */
	uint64_t bytes;			/* crossed the data connection */
	/* Uploads: */
	uint64_t stored;		/* bytes written to the file */
	int kept;			/* the file took them: committed whole, or kept partial */
};

/*
 * Runs once when the transfer is over, after its data connection is closed
 * and its file closed (an upload committed or discarded; a partial upload
 * kept may still be being made durable). The transfer is freed before it runs.
 */
typedef void (*transfer_done_fn)(void *arg, const struct transfer_result *result);

/* produce's answer when it waits for something (a shell's directory read). */
#define TRANSFER_SOURCE_PENDING 2

/* Something that produces bytes to send (a listing). */
struct transfer_source {
	/*
	 * Appends about budget bytes to out: 1 more to come, 0 finished, -errno,
	 * or TRANSFER_SOURCE_PENDING: then it calls resume(resume_arg) once,
	 * later from the loop (never after close), and is asked again.
	 */
	int (*produce)(void *context, struct evbuffer *out, size_t budget,
	    void (*resume)(void *resume_arg), void *resume_arg);
	void (*close)(void *context);
	void *context;
};

struct transfer_options {
	unsigned connect_timeout;	/* seconds to wait for the data connection */
	unsigned stall_timeout;		/* seconds without progress before giving up */
	int ascii;			/* TYPE A: convert line ends */
	struct tls_context *tls;	/* PROT P: TLS on the data connection; NULL: clear */
	struct ssl_st *tls_control;	/* the control connection's SSL it must resume */
	uint64_t max_rate;		/* bytes per second either way; 0: unlimited */
	/*
	 * An upload cut off (connection lost, stalled, ABOR) after some bytes
	 * arrived keeps them: its file is finished instead of aborted. Only for
	 * files written in place: finishing a REPLACE would put the partial
	 * file in the place of the old one.
	 */
	int keep_partial;
	/* An upload that would write more than store_limit bytes fails with -EDQUOT (quota). */
	int store_limited;
	uint64_t store_limit;
	/*
	 * Uploads to be made durable (upload_sync): when ftpd writes the file
	 * itself (splice), it starts their write-back as the bytes arrive.
	 */
	int start_writeback;
};

/*
 * Each takes ownership of dtp and of the file or source, even on failure
 * (then NULL is returned and done is not called).
 */
struct transfer *transfer_send_file(struct event_base *base, struct dtp *dtp,
    const struct transfer_options *options, struct ftpd_read_file *file, uint64_t offset,
    transfer_done_fn done, void *arg);
struct transfer *transfer_send_source(struct event_base *base, struct dtp *dtp,
    const struct transfer_options *options, struct transfer_source source,
    transfer_done_fn done, void *arg);
struct transfer *transfer_receive_file(struct event_base *base, struct dtp *dtp,
    const struct transfer_options *options, struct ftpd_write_file *file,
    transfer_done_fn done, void *arg);

/* Bytes that crossed the data connection so far. */
uint64_t transfer_bytes(const struct transfer *transfer);
/* Bytes a download will send in all, from its REST offset on (0: unknown, or an upload). */
uint64_t transfer_expected_bytes(const struct transfer *transfer);

/*
 * ABOR: stops now; done() runs with TRANSFER_ABORTED before this returns.
 * An upload already complete and being stored is not stopped: it finishes
 * and reports as it would have (nothing half-stored is left either way).
 */
void transfer_abort(struct transfer *transfer);

/*
 * The session is going away: stops now, done() is not called. An upload
 * under keep_partial keeps what arrived, as if its connection was lost.
 */
void transfer_free(struct transfer *transfer);

#endif
