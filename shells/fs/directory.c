/*
 * fs/directory (shells): the filesystem shell's directory listings.
 *
 * Names come from readdir (getdents64) on the loop; every entry then needs
 * an fstatat, which is most of what a listing costs. The first entries are
 * statted on the loop, so a small directory never waits for a thread. Past
 * them, names go in batches to the host's threads, two batches at a time:
 * a big listing stats on every core while the loop formats and sends what
 * is ready. Entries keep readdir's order; a batch is memory for a few
 * hundred entries, reused, never an allocation per entry. The threads also
 * read symlinks' targets, as far as a batch has room for them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/directory.h"
#include "fs/fs.h"

/* Entries statted on the loop before batches start. */
#define INLINE_ENTRIES 64
#define BATCH_ENTRIES 512
/* A batch ends early once its names fill this much (one more always fits). */
#define BATCH_NAME_BYTES (16 * 1024)
/* One batch being listed, two being statted. */
#define BATCHES_AHEAD 3
/* Room for symlink targets per batch; the ones past it are read on the loop. */
#define BATCH_TARGET_BYTES (16 * 1024)

/* batch_entry.target of a symlink the batch had no room for (or could not read). */
#define TARGET_UNREAD UINT32_MAX

struct batch_entry {
	uint32_t name;		/* offset of the name in names */
	uint32_t target;	/* a symlink's: offset of its target in targets, or TARGET_UNREAD */
	int error;		/* the fstatat's errno; 0: status holds */
	struct stat status;
};

struct batch {
	struct batch *next;
	struct fs_directory *directory;
	unsigned count;
	unsigned listed;	/* entries handed out */
	int statted;		/* set on the loop when the stats are in */
	size_t names_used;
	struct batch_entry entries[BATCH_ENTRIES];
	char names[BATCH_NAME_BYTES + NAME_MAX + 1];
	char targets[BATCH_TARGET_BYTES];
};

struct fs_directory {
	struct ftpd_directory base;
	struct shell_fs *fs;
	struct ftpd_host *host;
	DIR *stream;
	int fd;			/* the stream's: what the threads stat in */
	struct fs_name_cache names;
	char link_target[PATH_MAX];
	unsigned inline_left;
	int ended;		/* readdir has nothing more */
	int read_error;		/* why, when it failed (-errno) */
	struct batch *first;	/* queued batches, in readdir order */
	struct batch *last;
	unsigned queued;
	unsigned working;	/* batches on a thread now */
	struct batch *spare;
	int closed;		/* close() came while batches were on threads */
	/* a read that waits for the first batch's stats */
	struct ftpd_directory_entry *waiting_entry;
	ftpd_result_fn waiting_done;
	void *waiting_arg;
};

/* The next name but "." and "..": NULL at the end or on an error (noted). */
static const char *
next_name(struct fs_directory *directory)
{
	struct dirent *found;

	if (directory->ended)
		return NULL;
	for (;;) {
		errno = 0;
		found = readdir(directory->stream);
		if (found == NULL) {
			directory->ended = 1;
			directory->read_error = errno != 0 ? -errno : 0;
			return NULL;
		}
		if (strcmp(found->d_name, ".") != 0 && strcmp(found->d_name, "..") != 0)
			return found->d_name;
	}
}

/*
 * Fills entry for name; error (an errno) says its stat failed: it vanished.
 * A symlink's target is target, or read now when target is NULL.
 */
static void
fill_entry(struct fs_directory *directory, struct ftpd_directory_entry *entry,
    const char *name, int error, const struct stat *status, const char *target)
{
	memset(entry, 0, sizeof(*entry));
	entry->struct_size = sizeof(*entry);
	entry->name = name;
	if (error == 0) {
		entry->has_stat = 1;
		fs_fill_stat(directory->fs, status, &directory->names, &entry->stat);
	} else
		entry->stat.struct_size = sizeof(entry->stat);
	entry->link_target = NULL;
	/* Never follows: a symlink is listed as itself, wherever it points. */
	if (error == 0 && S_ISLNK(status->st_mode) && target != NULL)
		entry->link_target = target;
	else if (error == 0 && S_ISLNK(status->st_mode)) {
		ssize_t length = readlinkat(directory->fd, name, directory->link_target,
		    sizeof(directory->link_target) - 1);

		if (length >= 0) {
			directory->link_target[length] = '\0';
			entry->link_target = directory->link_target;
		}
	}
}

static ssize_t
read_inline(struct fs_directory *directory, struct ftpd_directory_entry *entry)
{
	const char *name = next_name(directory);
	struct stat status;
	int error;

	if (name == NULL)
		return directory->read_error;
	error = fstatat(directory->fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
	fill_entry(directory, entry, name, error, &status, NULL);
	return 1;
}

/* On a thread: entry's symlink target into the batch's targets, if it fits. */
static void
read_target(struct batch *batch, struct batch_entry *entry, int fd, size_t *used)
{
	size_t room = sizeof(batch->targets) - *used;
	ssize_t length;

	if (room < 2) {
		entry->target = TARGET_UNREAD;
		return;
	}
	length = readlinkat(fd, batch->names + entry->name, batch->targets + *used, room - 1);
	if (length < 0 || (size_t)length >= room - 1) {
		/* Unreadable, or maybe cut: the loop reads it (again), whole. */
		entry->target = TARGET_UNREAD;
		return;
	}
	batch->targets[*used + (size_t)length] = '\0';
	entry->target = (uint32_t)*used;
	*used += (size_t)length + 1;
}

/* On a thread: the stats of a batch's names. Touches nothing but the batch. */
static void
stat_batch(void *arg)
{
	struct batch *batch = arg;
	int fd = batch->directory->fd;
	size_t targets_used = 0;
	unsigned i;

	for (i = 0; i < batch->count; i++) {
		struct batch_entry *entry = &batch->entries[i];

		entry->error = fstatat(fd, batch->names + entry->name, &entry->status,
		    AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
		entry->target = TARGET_UNREAD;
		if (entry->error == 0 && S_ISLNK(entry->status.st_mode))
			read_target(batch, entry, fd, &targets_used);
	}
}

static void
free_directory(struct fs_directory *directory)
{
	struct batch *batch, *next;

	for (batch = directory->first; batch != NULL; batch = next) {
		next = batch->next;
		free(batch);
	}
	for (batch = directory->spare; batch != NULL; batch = next) {
		next = batch->next;
		free(batch);
	}
	closedir(directory->stream);
	free(directory);
}

/* Hands out the first batch's next entry. */
static ssize_t
list_next(struct fs_directory *directory, struct ftpd_directory_entry *entry)
{
	struct batch *batch = directory->first;
	struct batch_entry *listed = &batch->entries[batch->listed++];
	const char *target = listed->target == TARGET_UNREAD ? NULL :
	    batch->targets + listed->target;

	fill_entry(directory, entry, batch->names + listed->name, listed->error,
	    &listed->status, target);
	return 1;
}

static void
batch_statted(void *arg)
{
	struct batch *batch = arg;
	struct fs_directory *directory = batch->directory;
	ftpd_result_fn done = directory->waiting_done;

	batch->statted = 1;
	directory->working--;
	if (directory->closed) {
		if (directory->working == 0)
			free_directory(directory);
		return;
	}
	if (done != NULL && directory->first == batch) {
		directory->waiting_done = NULL;
		done(directory->waiting_arg, list_next(directory, directory->waiting_entry));
	}
}

/* A batch of the next names; NULL at the end, or out of memory (noted). */
static struct batch *
read_batch(struct fs_directory *directory)
{
	struct batch *batch = directory->spare;
	const char *name;

	if (batch != NULL)
		directory->spare = batch->next;
	else if ((batch = malloc(sizeof(*batch))) == NULL) {
		directory->ended = 1;
		directory->read_error = -ENOMEM;
		return NULL;
	}
	batch->next = NULL;
	batch->directory = directory;
	batch->count = 0;
	batch->listed = 0;
	batch->statted = 0;
	batch->names_used = 0;
	while (batch->count < BATCH_ENTRIES && batch->names_used < BATCH_NAME_BYTES &&
	    (name = next_name(directory)) != NULL) {
		size_t size = strlen(name) + 1;

		batch->entries[batch->count++].name = (uint32_t)batch->names_used;
		memcpy(batch->names + batch->names_used, name, size);
		batch->names_used += size;
	}
	if (batch->count == 0) {
		batch->next = directory->spare;
		directory->spare = batch;
		return NULL;
	}
	return batch;
}

/* Keeps BATCHES_AHEAD batches queued, their stats under way. */
static void
queue_batches(struct fs_directory *directory)
{
	struct ftpd_host *host = directory->host;
	struct batch *batch;

	while (directory->queued < BATCHES_AHEAD && (batch = read_batch(directory)) != NULL) {
		if (directory->last != NULL)
			directory->last->next = batch;
		else
			directory->first = batch;
		directory->last = batch;
		directory->queued++;
		if (host != NULL && host->run_blocking(host, stat_batch, batch_statted, batch) == 0) {
			directory->working++;
			continue;
		}
		stat_batch(batch);
		batch->statted = 1;
	}
}

/* The first batch is all handed out: its memory serves the next one. */
static void
drop_listed_batch(struct fs_directory *directory)
{
	struct batch *batch = directory->first;

	if (batch == NULL || batch->listed < batch->count)
		return;
	directory->first = batch->next;
	if (directory->first == NULL)
		directory->last = NULL;
	directory->queued--;
	batch->next = directory->spare;
	directory->spare = batch;
}

static ssize_t
fs_directory_read(struct ftpd_directory *base, struct ftpd_directory_entry *entry,
    ftpd_result_fn done, void *arg)
{
	struct fs_directory *directory = (struct fs_directory *)base;

	if (directory->first == NULL && directory->inline_left > 0 && !directory->ended) {
		directory->inline_left--;
		return read_inline(directory, entry);
	}
	/* Only now: the entry handed out last pointed into it. */
	drop_listed_batch(directory);
	queue_batches(directory);
	if (directory->first == NULL)
		return directory->read_error;
	if (!directory->first->statted) {
		directory->waiting_entry = entry;
		directory->waiting_done = done;
		directory->waiting_arg = arg;
		return FTPD_PENDING;
	}
	return list_next(directory, entry);
}

static void
fs_directory_close(struct ftpd_directory *base)
{
	struct fs_directory *directory = (struct fs_directory *)base;

	directory->waiting_done = NULL;
	if (directory->working > 0) {
		/* The threads' batches are freed with the directory, when the last is back. */
		directory->closed = 1;
		return;
	}
	free_directory(directory);
}

static const struct ftpd_directory_ops fs_directory_ops = {
	.struct_size = sizeof(struct ftpd_directory_ops),
	.read = fs_directory_read,
	.close = fs_directory_close,
};

int
fs_directory_open(struct shell_fs *fs, struct ftpd_host *host, int fd,
    struct ftpd_directory **result)
{
	struct fs_directory *directory = calloc(1, sizeof(*directory));
	int error;

	if (directory == NULL) {
		close(fd);
		return -ENOMEM;
	}
	directory->stream = fdopendir(fd);
	if (directory->stream == NULL) {
		error = -errno;
		close(fd);
		free(directory);
		return error;
	}
	directory->base.ops = &fs_directory_ops;
	directory->fs = fs;
	directory->host = host;
	directory->fd = fd;
	directory->inline_left = INLINE_ENTRIES;
	*result = &directory->base;
	return 0;
}
