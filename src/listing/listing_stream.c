/*
 * listing_stream: produces LIST, NLST and MLSD text a budget at a time.
 * Dot files are left out of LIST/NLST unless asked for (-a), as ls does; MLSD shows all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "listing/listing.h"
#include "listing/listing_stream.h"

struct listing_stream {
	struct ftpd_directory *directory;	/* NULL once read to the end */
	struct evbuffer *ready;			/* text produced before streaming starts */
	struct listing_options options;
	char *pattern;
	time_t now;
	struct ftpd_directory_entry entry;	/* the shell fills it, maybe later */
	int pending;			/* a read will complete later */
	int completed;			/* it did: result is its answer */
	ssize_t result;
	void (*resume)(void *arg);	/* the transfer's, while pending */
	void *resume_arg;
};

static void
write_entry(struct listing_stream *stream, struct evbuffer *out, const char *name,
    const struct ftpd_stat *stat, const char *link_target)
{
	switch (stream->options.style) {
	case LISTING_LONG:
		listing_write_long(out, name, stat, link_target, stream->now);
		break;
	case LISTING_NAMES:
		listing_write_name(out, name);
		break;
	case LISTING_FACTS:
		listing_write_facts(out, name, stat, stream->options.facts, stream->options.writable);
		break;
	}
}

static int
wanted(const struct listing_stream *stream, const char *name)
{
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (stream->pattern != NULL)
		return listing_glob_matches(stream->pattern, name);
	if (name[0] == '.' && stream->options.style != LISTING_FACTS)
		return stream->options.show_hidden;
	return 1;
}

/* The shell completed a read later: keep its answer for the next produce. */
static void
read_later(void *arg, ssize_t result)
{
	struct listing_stream *stream = arg;
	void (*resume)(void *) = stream->resume;

	stream->pending = 0;
	stream->completed = 1;
	stream->result = result;
	stream->resume = NULL;
	resume(stream->resume_arg);
}

/* Writes a read's entry, or closes the directory at its end. 0 or -errno. */
static int
take_entry(struct listing_stream *stream, struct evbuffer *out, ssize_t result)
{
	if (result < 0)
		return (int)result;
	if (result == 0) {
		stream->directory->ops->close(stream->directory);
		stream->directory = NULL;
		return 0;
	}
	/* An entry that vanished between readdir and stat is left out. */
	if (stream->entry.has_stat && stream->entry.name != NULL &&
	    wanted(stream, stream->entry.name))
		write_entry(stream, out, stream->entry.name, &stream->entry.stat,
		    FTPD_HAS(&stream->entry, struct ftpd_directory_entry, link_target) ?
		    stream->entry.link_target : NULL);
	return 0;
}

static int
produce(void *context, struct evbuffer *out, size_t budget,
    void (*resume)(void *resume_arg), void *resume_arg)
{
	struct listing_stream *stream = context;
	size_t before = evbuffer_get_length(out);
	int error;

	evbuffer_add_buffer(out, stream->ready);
	if (stream->pending) {
		/* Never a second read while one waits: the answer wakes the transfer. */
		stream->resume = resume;
		stream->resume_arg = resume_arg;
		return TRANSFER_SOURCE_PENDING;
	}
	if (stream->completed) {
		stream->completed = 0;
		error = take_entry(stream, out, stream->result);
		if (error != 0)
			return error;
	}
	while (stream->directory != NULL && evbuffer_get_length(out) - before < budget) {
		ssize_t result;

		memset(&stream->entry, 0, sizeof(stream->entry));
		result = stream->directory->ops->read(stream->directory, &stream->entry,
		    read_later, stream);
		if (result == FTPD_PENDING) {
			stream->pending = 1;
			stream->resume = resume;
			stream->resume_arg = resume_arg;
			/* What is ready goes out meanwhile; no call until resumed. */
			return TRANSFER_SOURCE_PENDING;
		}
		error = take_entry(stream, out, result);
		if (error != 0)
			return error;
	}
	return stream->directory != NULL ? 1 : 0;
}

static void
close_stream(void *context)
{
	struct listing_stream *stream = context;

	if (stream->directory != NULL)
		stream->directory->ops->close(stream->directory);
	evbuffer_free(stream->ready);
	free(stream->pattern);
	free(stream);
}

static struct listing_stream *
stream_new(const struct listing_options *options, struct transfer_source *source)
{
	struct listing_stream *stream = calloc(1, sizeof(*stream));

	if (stream == NULL)
		return NULL;
	stream->options = *options;
	stream->now = time(NULL);
	stream->ready = evbuffer_new();
	if (options->pattern != NULL)
		stream->pattern = strdup(options->pattern);
	if (stream->ready == NULL || (options->pattern != NULL && stream->pattern == NULL)) {
		close_stream(stream);
		return NULL;
	}
	stream->options.pattern = NULL;
	source->produce = produce;
	source->close = close_stream;
	source->context = stream;
	return stream;
}

int
listing_stream_directory(struct ftpd_directory *directory, const struct listing_options *options,
    struct transfer_source *source)
{
	struct listing_stream *stream = stream_new(options, source);

	if (stream == NULL) {
		directory->ops->close(directory);
		return -ENOMEM;
	}
	stream->directory = directory;
	return 0;
}

int
listing_stream_single(const char *name, const struct ftpd_stat *stat, const char *link_target,
    const struct listing_options *options, struct transfer_source *source)
{
	struct listing_stream *stream = stream_new(options, source);

	if (stream == NULL)
		return -ENOMEM;
	write_entry(stream, stream->ready, name, stat, link_target);
	return 0;
}
