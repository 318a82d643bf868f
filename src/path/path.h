/*
 * path: client path + working directory -> normalised segments under a shell root.
 * ".." never climbs above the root, "." and "//" fold away, NUL and over-long names are refused.
 */
#ifndef FTPD_PATH_H
#define FTPD_PATH_H

#include <stddef.h>

#include "ftpd/shell.h"

/* Bounds on what a client may ask for; longer input is refused, not truncated. */
#define PATH_MAX_LENGTH 4096	/* bytes of a client path argument */
#define PATH_MAX_SEGMENTS 256	/* depth below the root */

/* A normalised path: an owned array of owned segment strings. */
struct path {
	char **segments;
	size_t count;
};

/* The root path (no segments); needs no freeing. */
#define PATH_ROOT ((struct path){ NULL, 0 })

/*
 * Resolves client_path (length bytes, may contain anything) against cwd.
 * An absolute client path starts from the root. Returns 0 and fills *out
 * (caller frees with path_free), -EINVAL for an embedded NUL, or
 * -ENAMETOOLONG for a too-long path, segment or depth.
 */
int path_resolve(const struct path *cwd, const char *client_path, size_t length,
    struct path *out);

/* Deep copy: 0 or -ENOMEM. */
int path_copy(struct path *destination, const struct path *source);

/* The parent of path ("/" stays "/"): 0 or -ENOMEM. */
int path_parent(const struct path *path, struct path *out);

void path_free(struct path *path);

/* "/a/b" (or "/"), malloc'd; NULL on out of memory. */
char *path_to_string(const struct path *path);

/* The last segment, or "/" for the root. */
const char *path_basename(const struct path *path);

/* The view shells take: valid while path lives and is unchanged. */
struct ftpd_path path_view(const struct path *path);

#endif
