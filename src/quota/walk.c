/*
 * quota/walk: a depth-first walk over the shell interface, one open
 * directory per level, in batches scheduled on the event loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log/log.h"
#include "path/path.h"
#include "quota/walk.h"
#include "util/attributes.h"

/* Entries read per turn of the event loop. */
#define WALK_BATCH 256

struct walk_level {
	struct path path;
	struct ftpd_directory *directory;	/* NULL while it is being opened */
};

struct quota_walk {
	struct quota_walk_request request;
	struct event *next_batch;
	struct walk_level levels[QUOTA_WALK_MAX_DEPTH + 1];
	size_t depth;				/* levels in use */
	int in_batch;				/* a shell that answers at once answers here */
	struct ftpd_directory_entry entry;	/* the shell fills it, maybe later */
	struct quota_usage usage;
};

static void
leave_level(struct quota_walk *walk)
{
	struct walk_level *level = &walk->levels[--walk->depth];

	if (level->directory != NULL)
		level->directory->ops->close(level->directory);
	level->directory = NULL;
	path_free(&level->path);
}

static void
end_walk(struct quota_walk *walk, int error)
{
	quota_walk_done_fn done = walk->request.done;
	void *arg = walk->request.arg;
	struct quota_usage usage = walk->usage;

	while (walk->depth > 0)
		leave_level(walk);
	event_free(walk->next_batch);
	free(walk);
	usage.known = 1;
	done(arg, error, &usage);
}

/*
 * A timer, not event_active: libevent runs events activated by a callback
 * in the same turn, before it looks at any socket again.
 */
static int
schedule(struct quota_walk *walk)
{
	static const struct timeval now = { 0, 0 };

	return evtimer_add(walk->next_batch, &now) == 0 ? 0 : -ENOMEM;
}

static void
opened(void *arg, int error, struct ftpd_directory *directory)
{
	struct quota_walk *walk = arg;
	struct walk_level *level = &walk->levels[walk->depth - 1];

	if (error != 0) {
		char *name = path_to_string(&level->path);

		log_debug("quota: %s not counted: %s", name != NULL ? name : "?", strerror(-error));
		free(name);
		leave_level(walk);
	} else
		level->directory = directory;
	if (!walk->in_batch && schedule(walk) != 0)
		end_walk(walk, -ENOMEM);
}

/* Enters path (taken over); opened() says how that went. */
static void
enter(struct quota_walk *walk, struct path *path)
{
	struct walk_level *level = &walk->levels[walk->depth++];
	struct ftpd_path view;

	level->path = *path;
	*path = PATH_ROOT;
	level->directory = NULL;
	view = path_view(&level->path);
	walk->request.shell->ops->open_directory(walk->request.shell, &view, opened, walk);
}

/* parent + name: 0, or -ENOMEM. */
static int
child_path(const struct path *parent, const char *name, struct path *child)
{
	size_t i;

	child->count = 0;
	child->segments = calloc(parent->count + 1, sizeof(*child->segments));
	if (child->segments == NULL)
		return -ENOMEM;
	for (i = 0; i <= parent->count; i++) {
		child->segments[i] = strdup(i < parent->count ? parent->segments[i] : name);
		if (child->segments[i] == NULL) {
			path_free(child);
			return -ENOMEM;
		}
		child->count++;
	}
	return 0;
}

/* Counts one entry, and enters it if it is a directory: 0, or -ENOMEM. */
static int
count(struct quota_walk *walk, const struct ftpd_directory_entry *entry)
{
	struct path child;

	walk->usage.files++;
	if (!entry->has_stat)
		return 0;
	if (S_ISREG(entry->stat.mode))
		walk->usage.bytes += entry->stat.size;
	if (!S_ISDIR(entry->stat.mode))
		return 0;
	if (walk->depth > QUOTA_WALK_MAX_DEPTH) {
		log_debug("quota: deeper than %d directories: %s not entered",
		    QUOTA_WALK_MAX_DEPTH, entry->name);
		return 0;
	}
	if (child_path(&walk->levels[walk->depth - 1].path, entry->name, &child) != 0)
		return -ENOMEM;
	enter(walk, &child);
	return 0;
}

/*
 * Takes a read's answer: leaves the level at its end (or on an error), or
 * counts the entry. 1 to go on, 0 when the walk has ended.
 */
static int
take_read(struct quota_walk *walk, ssize_t got)
{
	if (got <= 0) {
		leave_level(walk);
		return 1;
	}
	if (walk->entry.name == NULL || count(walk, &walk->entry) != 0) {
		walk->in_batch = 0;
		end_walk(walk, -ENOMEM);
		return 0;
	}
	if (walk->usage.files >= QUOTA_WALK_MAX_ENTRIES) {
		log_warning("quota: more than %d entries in a home: counted that far",
		    QUOTA_WALK_MAX_ENTRIES);
		walk->in_batch = 0;
		end_walk(walk, 0);
		return 0;
	}
	return 1;
}

/* Ends the walk when nothing is left, else comes back in the next batch. */
static void
go_on(struct quota_walk *walk)
{
	if (walk->depth == 0)
		end_walk(walk, 0);
	else if (walk->levels[walk->depth - 1].directory != NULL && schedule(walk) != 0)
		end_walk(walk, -ENOMEM);
}

/* A read the shell completed later. */
static void
read_later(void *arg, ssize_t got)
{
	struct quota_walk *walk = arg;

	if (take_read(walk, got))
		go_on(walk);
}

static void
run_batch(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct quota_walk *walk = arg;
	unsigned budget = WALK_BATCH;

	if (!walk->request.wanted(walk->request.arg)) {
		end_walk(walk, -ECANCELED);
		return;
	}
	walk->in_batch = 1;
	while (budget-- > 0 && walk->depth > 0) {
		struct walk_level *level = &walk->levels[walk->depth - 1];
		ssize_t got;

		if (level->directory == NULL) {
			/* Still being opened: opened() schedules the next batch. */
			walk->in_batch = 0;
			return;
		}
		memset(&walk->entry, 0, sizeof(walk->entry));
		got = level->directory->ops->read(level->directory, &walk->entry,
		    read_later, walk);
		if (got == FTPD_PENDING) {
			/* read_later() goes on. */
			walk->in_batch = 0;
			return;
		}
		if (!take_read(walk, got))
			return;
	}
	walk->in_batch = 0;
	go_on(walk);
}

int
quota_walk_start(const struct quota_walk_request *request)
{
	struct quota_walk *walk = calloc(1, sizeof(*walk));
	struct path root = PATH_ROOT;

	if (walk == NULL)
		return -ENOMEM;
	walk->request = *request;
	walk->next_batch = evtimer_new(request->base, run_batch, walk);
	if (walk->next_batch == NULL) {
		free(walk);
		return -ENOMEM;
	}
	/* Counting starts in the first batch: done() never runs before this returns. */
	walk->in_batch = 1;
	enter(walk, &root);
	walk->in_batch = 0;
	if (schedule(walk) != 0) {
		while (walk->depth > 0)
			leave_level(walk);
		event_free(walk->next_batch);
		free(walk);
		return -ENOMEM;
	}
	return 0;
}
