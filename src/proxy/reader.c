/*
 * proxy/reader: reads a PROXY header without reading past it.
 *
 * The bytes are peeked first and taken only when they are known to be the
 * header's: all of them while the parser wants more (a prefix of a header
 * is all header), exactly the rest of it once it is complete. So no byte
 * of the client's own (pipelined commands, a ClientHello) is ever taken,
 * and nothing has to be handed on to the session.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/reader.h"

struct proxy_reader {
	int fd;
	struct event *event;
	struct event *deadline;			/* the whole header's, however it trickles in */
	proxy_read_fn done;
	void *arg;
	size_t have;				/* bytes of the header taken so far */
	int allow_tls;
	unsigned char buffer[PROXY_HEADER_MAX];
};

static void
finish(struct proxy_reader *reader, int result, const struct proxy_header *header,
    const char *why)
{
	proxy_read_fn done = reader->done;
	void *arg = reader->arg;

	proxy_reader_cancel(reader);
	done(arg, result, header, why);
}

/* Takes count bytes the peek showed: 0, or -errno. */
static int
take(struct proxy_reader *reader, size_t count)
{
	unsigned char discard[PROXY_HEADER_MAX];
	ssize_t got = recv(reader->fd, discard, count, MSG_DONTWAIT);

	if (got < 0)
		return -errno;
	/* A peek's bytes do not go away: anything else is the kernel's surprise. */
	if ((size_t)got != count)
		return -EIO;
	return 0;
}

static void
too_late(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish(arg, -ETIMEDOUT, NULL, "no complete PROXY header in time");
}

static void
readable(evutil_socket_t fd, short what, void *arg)
{
	struct proxy_reader *reader = arg;
	struct proxy_header header;
	const char *why = NULL;
	ssize_t got;
	size_t total;
	int result;

	(void)what;
	got = recv(fd, reader->buffer + reader->have, sizeof(reader->buffer) - reader->have,
	    MSG_PEEK | MSG_DONTWAIT);
	if (got < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		finish(reader, -errno, NULL, strerror(errno));
		return;
	}
	if (got == 0) {
		finish(reader, -ECONNRESET, NULL, "closed before its PROXY header ended");
		return;
	}
	total = reader->have + (size_t)got;
	/* 22: a TLS handshake record; neither PROXY form starts so (v1 'P', v2 '\r'). */
	if (reader->allow_tls && reader->have == 0 && reader->buffer[0] == 0x16) {
		finish(reader, PROXY_READ_TLS, NULL, NULL);
		return;
	}
	memset(&header, 0, sizeof(header));
	result = proxy_header_parse(reader->buffer, total, &header, &why);
	if (result == PROXY_NEED_MORE) {
		if (total == sizeof(reader->buffer)) {
			finish(reader, -EPROTO, NULL, "PROXY header too long");
			return;
		}
		if ((result = take(reader, (size_t)got)) < 0) {
			finish(reader, result, NULL, strerror(-result));
			return;
		}
		reader->have = total;
		return;
	}
	if (result < 0) {
		finish(reader, result, NULL, why != NULL ? why : "malformed PROXY header");
		return;
	}
	if ((result = take(reader, header.length - reader->have)) < 0) {
		finish(reader, result, NULL, strerror(-result));
		return;
	}
	finish(reader, 0, &header, NULL);
}

struct proxy_reader *
proxy_reader_start(struct event_base *base, int fd, unsigned timeout_seconds, int allow_tls,
    proxy_read_fn done, void *arg)
{
	struct timeval timeout = { .tv_sec = timeout_seconds, .tv_usec = 0 };
	struct proxy_reader *reader = malloc(sizeof(*reader));

	if (reader == NULL)
		return NULL;
	reader->fd = fd;
	reader->done = done;
	reader->arg = arg;
	reader->have = 0;
	reader->allow_tls = allow_tls;
	reader->event = event_new(base, fd, EV_READ | EV_PERSIST, readable, reader);
	reader->deadline = evtimer_new(base, too_late, reader);
	if (reader->event == NULL || reader->deadline == NULL ||
	    event_add(reader->event, NULL) != 0 || evtimer_add(reader->deadline, &timeout) != 0) {
		proxy_reader_cancel(reader);
		return NULL;
	}
	return reader;
}

void
proxy_reader_cancel(struct proxy_reader *reader)
{
	if (reader == NULL)
		return;
	if (reader->event != NULL)
		event_free(reader->event);
	if (reader->deadline != NULL)
		event_free(reader->deadline);
	free(reader);
}
