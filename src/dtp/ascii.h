/*
 * ascii: TYPE A conversion between the local LF line ends and the network's
 * CRLF, correct when a line end is split across two buffers.
 */
#ifndef FTPD_ASCII_H
#define FTPD_ASCII_H

#include <stddef.h>

#include <event2/buffer.h>

struct ascii_state {
	int last_was_cr;	/* the previous chunk ended in a CR */
};

void ascii_init(struct ascii_state *state);

/* Appends in to out with every LF not already preceded by CR sent as CRLF. */
void ascii_to_network(struct ascii_state *state, const char *in, size_t length,
    struct evbuffer *out);

/*
 * Appends in to out with CRLF turned into LF. A CR at the end of a chunk is
 * held back until the next chunk (or ascii_network_finish) shows what follows.
 */
void ascii_from_network(struct ascii_state *state, const char *in, size_t length,
    struct evbuffer *out);

/* End of upload: emits a CR still held back. */
void ascii_network_finish(struct ascii_state *state, struct evbuffer *out);

/*
 * The size a file of these bytes has once sent in TYPE A (each bare LF counts
 * twice). Advances state as ascii_to_network does, so chunks can be summed.
 */
size_t ascii_network_size(struct ascii_state *state, const char *in, size_t length);

#endif
