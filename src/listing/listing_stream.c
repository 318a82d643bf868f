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
};

static void
write_entry(struct listing_stream *stream, struct evbuffer *out, const char *name,
    const struct ftpd_stat *stat)
{
	switch (stream->options.style) {
	case LISTING_LONG:
		listing_write_long(out, name, stat, stream->now);
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

static int
produce(void *context, struct evbuffer *out, size_t budget)
{
	struct listing_stream *stream = context;
	size_t before = evbuffer_get_length(out);

	evbuffer_add_buffer(out, stream->ready);
	while (stream->directory != NULL && evbuffer_get_length(out) - before < budget) {
		struct ftpd_directory_entry entry;
		int result = stream->directory->ops->read(stream->directory, &entry);

		if (result < 0)
			return result;
		if (result == 0) {
			stream->directory->ops->close(stream->directory);
			stream->directory = NULL;
			break;
		}
		/* An entry that vanished between readdir and stat is left out. */
		if (entry.has_stat && wanted(stream, entry.name))
			write_entry(stream, out, entry.name, &entry.stat);
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
listing_stream_single(const char *name, const struct ftpd_stat *stat,
    const struct listing_options *options, struct transfer_source *source)
{
	struct listing_stream *stream = stream_new(options, source);

	if (stream == NULL)
		return -ENOMEM;
	write_entry(stream, stream->ready, name, stat);
	return 0;
}
