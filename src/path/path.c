/*
 * path: turns a client's path argument and the working directory into
 * normalised segments below the shell root (Twisted's toSegments).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "path/path.h"

/* A piece of a segment not yet copied: either in cwd or in the client's argument. */
struct segment_span {
	const char *start;
	size_t length;
};

static int
duplicate_segments(struct path *out, const struct segment_span *spans, size_t count)
{
	size_t i;

	out->segments = NULL;
	out->count = 0;
	if (count == 0)
		return 0;
	out->segments = calloc(count, sizeof(*out->segments));
	if (out->segments == NULL)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		out->segments[i] = strndup(spans[i].start, spans[i].length);
		if (out->segments[i] == NULL) {
			out->count = i;
			path_free(out);
			return -ENOMEM;
		}
	}
	out->count = count;
	return 0;
}

int
path_resolve(const struct path *cwd, const char *client_path, size_t length,
    struct path *out)
{
	struct segment_span *spans;
	struct path result;
	size_t capacity, count = 0, position, i;
	int error = 0;

	if (length > PATH_MAX_LENGTH) {
		out->segments = NULL;
		out->count = 0;
		return -ENAMETOOLONG;
	}
	if (length > 0 && memchr(client_path, '\0', length) != NULL) {
		out->segments = NULL;
		out->count = 0;
		return -EINVAL;
	}

	/* Every client segment needs at least one byte plus a separator. */
	capacity = (length > 0 && client_path[0] == '/' ? 0 : cwd->count) +
	    length / 2 + 1;
	spans = calloc(capacity, sizeof(*spans));
	if (spans == NULL) {
		out->segments = NULL;
		out->count = 0;
		return -ENOMEM;
	}
	if (length == 0 || client_path[0] != '/') {
		for (i = 0; i < cwd->count; i++) {
			spans[count].start = cwd->segments[i];
			spans[count].length = strlen(cwd->segments[i]);
			count++;
		}
	}

	position = 0;
	while (position < length) {
		const char *start = client_path + position;
		const char *slash = memchr(start, '/', length - position);
		size_t segment_length = slash != NULL ? (size_t)(slash - start) :
		    length - position;

		position += segment_length + 1;
		if (segment_length == 0 ||
		    (segment_length == 1 && start[0] == '.'))
			continue;
		if (segment_length == 2 && start[0] == '.' && start[1] == '.') {
			/* ".." at the root stays at the root, as "cd .." does in "/". */
			if (count > 0)
				count--;
			continue;
		}
		if (segment_length > FTPD_NAME_MAX) {
			error = -ENAMETOOLONG;
			break;
		}
		spans[count].start = start;
		spans[count].length = segment_length;
		count++;
	}

	/* Depth is judged on the result, so "a/b/.." may pass through the limit. */
	if (error == 0 && count > PATH_MAX_SEGMENTS)
		error = -ENAMETOOLONG;
	if (error == 0)
		error = duplicate_segments(&result, spans, count);
	free(spans);
	if (error != 0) {
		out->segments = NULL;
		out->count = 0;
		return error;
	}
	*out = result;
	return 0;
}

int
path_copy(struct path *destination, const struct path *source)
{
	struct path copy = { NULL, 0 };
	size_t i;

	destination->segments = NULL;
	destination->count = 0;
	if (source->count == 0)
		return 0;
	copy.segments = calloc(source->count, sizeof(*copy.segments));
	if (copy.segments == NULL)
		return -ENOMEM;
	for (i = 0; i < source->count; i++) {
		copy.segments[i] = strdup(source->segments[i]);
		if (copy.segments[i] == NULL) {
			copy.count = i;
			path_free(&copy);
			return -ENOMEM;
		}
	}
	copy.count = source->count;
	*destination = copy;
	return 0;
}

int
path_parent(const struct path *path, struct path *out)
{
	struct path shortened;

	if (path->count == 0) {
		out->segments = NULL;
		out->count = 0;
		return 0;
	}
	shortened.segments = path->segments;
	shortened.count = path->count - 1;
	return path_copy(out, &shortened);
}

void
path_free(struct path *path)
{
	size_t i;

	if (path == NULL)
		return;
	for (i = 0; i < path->count; i++)
		free(path->segments[i]);
	free(path->segments);
	path->segments = NULL;
	path->count = 0;
}

char *
path_to_string(const struct path *path)
{
	size_t total = 1, i, position = 0;
	char *string;

	for (i = 0; i < path->count; i++)
		total += 1 + strlen(path->segments[i]);
	string = malloc(total + 1);
	if (string == NULL)
		return NULL;
	if (path->count == 0) {
		memcpy(string, "/", 2);
		return string;
	}
	for (i = 0; i < path->count; i++) {
		size_t length = strlen(path->segments[i]);

		string[position++] = '/';
		memcpy(string + position, path->segments[i], length);
		position += length;
	}
	string[position] = '\0';
	return string;
}

const char *
path_basename(const struct path *path)
{
	if (path->count == 0)
		return "/";
	return path->segments[path->count - 1];
}

struct ftpd_path
path_view(const struct path *path)
{
	struct ftpd_path view;

	view.segments = (const char *const *)path->segments;
	view.count = path->count;
	return view;
}
