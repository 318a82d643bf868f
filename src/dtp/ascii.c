/*
 * ascii: TYPE A conversion between the local LF line ends and the network's
 * CRLF, correct when a line end is split across two buffers.
 */
#include <string.h>

#include "dtp/ascii.h"

void
ascii_init(struct ascii_state *state)
{
	state->last_was_cr = 0;
}

/*
 * Walks the LFs of one outgoing chunk. A file that already has CRLF line
 * ends must not gain a second CR, so an LF counts as bare only when the byte
 * before it, possibly the last one of the previous chunk, is not a CR.
 * Appends the converted chunk to out unless out is NULL, and returns the
 * number of bytes the chunk becomes.
 */
static size_t
convert_to_network(struct ascii_state *state, const char *in, size_t length,
    struct evbuffer *out)
{
	size_t start = 0, search = 0, size = length;
	const char *line_feed;
	int previous_is_cr;

	while (search < length &&
	    (line_feed = memchr(in + search, '\n', length - search)) != NULL) {
		size_t position = (size_t)(line_feed - in);

		search = position + 1;
		previous_is_cr = position > 0 ? in[position - 1] == '\r' : state->last_was_cr;
		if (previous_is_cr)
			continue;
		if (out != NULL) {
			evbuffer_add(out, in + start, position - start);
			evbuffer_add(out, "\r\n", 2);
		}
		size++;
		start = position + 1;
	}
	if (out != NULL && start < length)
		evbuffer_add(out, in + start, length - start);
	if (length > 0)
		state->last_was_cr = in[length - 1] == '\r';
	return size;
}

void
ascii_to_network(struct ascii_state *state, const char *in, size_t length,
    struct evbuffer *out)
{
	convert_to_network(state, in, length, out);
}

void
ascii_from_network(struct ascii_state *state, const char *in, size_t length,
    struct evbuffer *out)
{
	size_t start = 0, search = 0;
	const char *carriage_return;

	if (length == 0)
		return;
	if (state->last_was_cr) {
		state->last_was_cr = 0;
		/* A CR alone is data (old Mac text, binary sent as ASCII): keep it. */
		if (in[0] != '\n')
			evbuffer_add(out, "\r", 1);
	}
	while (search < length &&
	    (carriage_return = memchr(in + search, '\r', length - search)) != NULL) {
		size_t position = (size_t)(carriage_return - in);

		search = position + 1;
		if (position + 1 == length) {
			/* Only the next chunk can tell whether this CR ends a line. */
			evbuffer_add(out, in + start, position - start);
			state->last_was_cr = 1;
			return;
		}
		if (in[position + 1] == '\n') {
			/* Drop the CR; the LF begins the next run. */
			evbuffer_add(out, in + start, position - start);
			start = position + 1;
		}
	}
	evbuffer_add(out, in + start, length - start);
}

void
ascii_network_finish(struct ascii_state *state, struct evbuffer *out)
{
	if (state->last_was_cr)
		evbuffer_add(out, "\r", 1);
	state->last_was_cr = 0;
}

/* Advances state exactly as ascii_to_network would, so chunks can be summed. */
size_t
ascii_network_size(struct ascii_state *state, const char *in, size_t length)
{
	return convert_to_network(state, in, length, NULL);
}
