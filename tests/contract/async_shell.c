/*
 * async_shell: a test shell module that does what a shell in front of a
 * network store does. It wraps the fs shell and completes every operation
 * later, from a host timer: nothing ever answers before the call returns.
 * Reads and writes answer FTPD_PENDING; read files have no descriptor, so
 * downloads go through read() rather than sendfile.
 *
 * Options (shell_option lines): delay_ms=N waits N ms before each answer
 * (default 0: the next turn of the loop); refuse_user=NAME makes
 * session_start refuse that login with -EACCES; password=SECRET is the one
 * password its authenticate takes (login = shell), for any user, and the
 * login it gives create says whose it is; store_down=1 makes authenticate
 * answer that the store cannot be reached. Other options are an error.
 * With host NULL (ftpd -t) the shell is created and destroyed only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fs.h"

/* The module's symbol; defined here, not in any header. */
extern const struct ftpd_shell_module ftpd_shell_module;

struct async_shell {
	struct ftpd_shell base;
	struct ftpd_shell *fs;
	struct ftpd_host *host;
	unsigned delay_ms;
	char *refuse_user;
	char *password;			/* for authenticate */
	char *login;			/* from authenticate, through create */
	int store_down;			/* authenticate: -ECONNRESET */
};

/* A path copied out of the caller's, which is valid only during the call. */
struct owned_path {
	char **segments;
	size_t count;
	struct ftpd_path view;
};

enum job_kind {
	JOB_ACCESS, JOB_STAT, JOB_LSTAT, JOB_OPEN_DIRECTORY, JOB_MAKE_DIRECTORY,
	JOB_REMOVE_DIRECTORY, JOB_REMOVE_FILE, JOB_RENAME, JOB_OPEN_READ, JOB_OPEN_WRITE,
	JOB_CHATTR, JOB_READLINK, JOB_SYMLINK, JOB_SESSION_START
};

/* One shell operation waiting for its timer. */
struct job {
	enum job_kind kind;
	struct async_shell *shell;
	struct owned_path path, other;
	enum ftpd_access access;
	enum ftpd_write_mode mode;
	uint64_t offset;
	struct ftpd_attributes attributes;
	int refuse;
	void (*callback)(void);	/* the caller's done, cast back by kind */
	void *arg;
};

static int
own_path(struct owned_path *owned, const struct ftpd_path *path)
{
	size_t i;

	owned->count = 0;
	owned->segments = calloc(path->count + 1, sizeof(char *));
	if (owned->segments == NULL)
		return -ENOMEM;
	for (i = 0; i < path->count; i++) {
		if ((owned->segments[i] = strdup(path->segments[i])) == NULL)
			return -ENOMEM;
		owned->count++;
	}
	owned->view.segments = (const char *const *)owned->segments;
	owned->view.count = owned->count;
	return 0;
}

static void
free_path(struct owned_path *owned)
{
	size_t i;

	for (i = 0; i < owned->count; i++)
		free(owned->segments[i]);
	free(owned->segments);
}

static void
free_job(struct job *job)
{
	free_path(&job->path);
	free_path(&job->other);
	free(job);
}

static void run_job(void *arg);

/*
 * Answers job later: 0, or -ENOMEM when it cannot (the caller answers at
 * once then, which only an out-of-memory test would see).
 */
static int
schedule(struct job *job)
{
	struct ftpd_host *host = job->shell->host;

	if (host == NULL || host->timer_start(host, job->shell->delay_ms, run_job, job) == NULL)
		return -ENOMEM;
	return 0;
}

static struct job *
new_job(struct async_shell *shell, enum job_kind kind, const struct ftpd_path *path,
    const struct ftpd_path *other, void (*callback)(void), void *arg)
{
	struct job *job = calloc(1, sizeof(*job));

	if (job == NULL)
		return NULL;
	job->kind = kind;
	job->shell = shell;
	job->callback = callback;
	job->arg = arg;
	if ((path != NULL && own_path(&job->path, path) != 0) ||
	    (other != NULL && own_path(&job->other, other) != 0)) {
		free_job(job);
		return NULL;
	}
	return job;
}

/* --- directories: entries read from fs at once, handed over later --- */

struct async_directory {
	struct ftpd_directory base;
	struct async_shell *shell;
	struct ftpd_directory *fs;
	struct ftpd_timer *timer;	/* a read waiting for its answer */
	struct ftpd_directory_entry *entry;
	struct ftpd_directory_entry read;
	char name[FTPD_NAME_MAX + 1];
	char *target;
	ssize_t result;
	ftpd_result_fn done;
	void *arg;
};

static void
directory_answer(void *arg)
{
	struct async_directory *directory = arg;
	ftpd_result_fn done = directory->done;

	directory->timer = NULL;
	directory->done = NULL;
	if (directory->result == 1) {
		*directory->entry = directory->read;
		directory->entry->name = directory->name;
		directory->entry->link_target = directory->target;
	}
	done(directory->arg, directory->result);
}

/* fs's answer to a read, at once or later (fs stats big directories on threads). */
static int
directory_fs_answered(struct async_directory *directory, ssize_t result)
{
	struct ftpd_host *host = directory->shell->host;

	directory->result = result;
	if (result == 1) {
		/* Copied now: fs's entry lasts only until its next read. */
		strncpy(directory->name, directory->read.name, sizeof(directory->name) - 1);
		directory->name[sizeof(directory->name) - 1] = '\0';
		if (directory->read.link_target != NULL &&
		    (directory->target = strdup(directory->read.link_target)) == NULL)
			directory->result = -ENOMEM;
	}
	directory->timer = host->timer_start(host, directory->shell->delay_ms,
	    directory_answer, directory);
	return directory->timer != NULL ? 0 : -ENOMEM;
}

static void
directory_fs_answered_later(void *arg, ssize_t result)
{
	struct async_directory *directory = arg;
	ftpd_result_fn done = directory->done;

	if (directory_fs_answered(directory, result) != 0) {
		directory->done = NULL;
		done(directory->arg, -ENOMEM);
	}
}

static ssize_t
directory_read(struct ftpd_directory *base, struct ftpd_directory_entry *entry,
    ftpd_result_fn done, void *arg)
{
	struct async_directory *directory = (struct async_directory *)base;
	ssize_t result;

	free(directory->target);
	directory->target = NULL;
	memset(&directory->read, 0, sizeof(directory->read));
	directory->entry = entry;
	directory->done = done;
	directory->arg = arg;
	result = directory->fs->ops->read(directory->fs, &directory->read,
	    directory_fs_answered_later, directory);
	if (result == FTPD_PENDING)
		return FTPD_PENDING;
	if (directory_fs_answered(directory, result) != 0) {
		directory->done = NULL;
		return -ENOMEM;
	}
	return FTPD_PENDING;
}

static void
directory_close(struct ftpd_directory *base)
{
	struct async_directory *directory = (struct async_directory *)base;

	/* A pending read is cancelled: its done never runs. */
	if (directory->timer != NULL)
		directory->shell->host->timer_cancel(directory->shell->host, directory->timer);
	directory->fs->ops->close(directory->fs);
	free(directory->target);
	free(directory);
}

static const struct ftpd_directory_ops directory_ops = {
	.struct_size = sizeof(struct ftpd_directory_ops),
	.read = directory_read,
	.close = directory_close,
};

/* --- files being read: fs reads into a buffer of our own, copied later --- */

struct async_read_file {
	struct ftpd_read_file base;
	struct async_shell *shell;
	struct ftpd_read_file *fs;
	struct ftpd_timer *timer;
	char *buffer;			/* what fs read, until it is handed over */
	void *destination;
	ssize_t result;
	ftpd_result_fn done;
	void *arg;
};

static void
read_answer(void *arg)
{
	struct async_read_file *file = arg;
	ftpd_result_fn done = file->done;

	file->timer = NULL;
	file->done = NULL;
	if (file->result > 0)
		memcpy(file->destination, file->buffer, (size_t)file->result);
	free(file->buffer);
	file->buffer = NULL;
	done(file->arg, file->result);
}

static ssize_t
read_file_read(struct ftpd_read_file *base, void *buffer, size_t length,
    ftpd_result_fn done, void *arg)
{
	struct async_read_file *file = (struct async_read_file *)base;
	struct ftpd_host *host = file->shell->host;

	if ((file->buffer = malloc(length > 0 ? length : 1)) == NULL)
		return -ENOMEM;
	file->result = file->fs->ops->read(file->fs, file->buffer, length, NULL, NULL);
	file->destination = buffer;
	file->done = done;
	file->arg = arg;
	file->timer = host->timer_start(host, file->shell->delay_ms, read_answer, file);
	if (file->timer == NULL) {
		free(file->buffer);
		file->buffer = NULL;
		return -ENOMEM;
	}
	return FTPD_PENDING;
}

static void
read_file_close(struct ftpd_read_file *base)
{
	struct async_read_file *file = (struct async_read_file *)base;

	if (file->timer != NULL)
		file->shell->host->timer_cancel(file->shell->host, file->timer);
	free(file->buffer);
	file->fs->ops->close(file->fs);
	free(file);
}

static const struct ftpd_read_file_ops read_file_ops = {
	.struct_size = sizeof(struct ftpd_read_file_ops),
	.read = read_file_read,
	.close = read_file_close,
};

/* --- files being written: the write itself runs when the timer fires --- */

struct async_write_file {
	struct ftpd_write_file base;
	struct async_shell *shell;
	struct ftpd_write_file *fs;
	struct ftpd_timer *timer;
	const void *source;		/* the caller's bytes: valid until done */
	size_t length;
	ftpd_result_fn done;
	ftpd_done_fn finished;
	void *arg;
};

static void
write_answer(void *arg)
{
	struct async_write_file *file = arg;
	ftpd_result_fn done = file->done;
	ssize_t wrote;

	file->timer = NULL;
	file->done = NULL;
	wrote = file->fs->ops->write(file->fs, file->source, file->length, NULL, NULL);
	done(file->arg, wrote);
}

static ssize_t
write_file_write(struct ftpd_write_file *base, const void *buffer, size_t length,
    ftpd_result_fn done, void *arg)
{
	struct async_write_file *file = (struct async_write_file *)base;
	struct ftpd_host *host = file->shell->host;

	file->source = buffer;
	file->length = length;
	file->done = done;
	file->arg = arg;
	file->timer = host->timer_start(host, file->shell->delay_ms, write_answer, file);
	if (file->timer == NULL)
		return -ENOMEM;
	return FTPD_PENDING;
}

static void
finish_answer(void *arg)
{
	struct async_write_file *file = arg;
	ftpd_done_fn finished = file->finished;
	void *finished_arg = file->arg;
	struct ftpd_write_file *fs = file->fs;

	/* fs's finish frees its file and may answer later itself. */
	free(file);
	fs->ops->finish(fs, finished, finished_arg);
}

static void
write_file_finish(struct ftpd_write_file *base, ftpd_done_fn done, void *arg)
{
	struct async_write_file *file = (struct async_write_file *)base;
	struct ftpd_host *host = file->shell->host;

	file->finished = done;
	file->arg = arg;
	file->timer = host->timer_start(host, file->shell->delay_ms, finish_answer, file);
	if (file->timer == NULL)
		finish_answer(file);
}

static void
write_file_abort(struct ftpd_write_file *base)
{
	struct async_write_file *file = (struct async_write_file *)base;

	/* A pending write is cancelled: its bytes are never written. */
	if (file->timer != NULL)
		file->shell->host->timer_cancel(file->shell->host, file->timer);
	file->fs->ops->abort(file->fs);
	free(file);
}

static const struct ftpd_write_file_ops write_file_ops = {
	.struct_size = sizeof(struct ftpd_write_file_ops),
	.write = write_file_write,
	.finish = write_file_finish,
	.abort = write_file_abort,
};

/* --- the answers of shell operations, each delivered from run_job --- */

static void
answer_done(void *arg, int error)
{
	struct job *job = arg;

	((ftpd_done_fn)job->callback)(job->arg, error);
}

static void
answer_stat(void *arg, int error, const struct ftpd_stat *stat)
{
	struct job *job = arg;

	((ftpd_stat_fn)job->callback)(job->arg, error, stat);
}

static void
answer_readlink(void *arg, int error, const char *target)
{
	struct job *job = arg;

	((ftpd_readlink_fn)job->callback)(job->arg, error, target);
}

static void
answer_directory(void *arg, int error, struct ftpd_directory *fs)
{
	struct job *job = arg;
	struct async_directory *directory = NULL;

	if (error == 0 && (directory = calloc(1, sizeof(*directory))) == NULL) {
		fs->ops->close(fs);
		error = -ENOMEM;
	}
	if (error != 0) {
		((ftpd_open_directory_fn)job->callback)(job->arg, error, NULL);
		return;
	}
	directory->base.ops = &directory_ops;
	directory->shell = job->shell;
	directory->fs = fs;
	((ftpd_open_directory_fn)job->callback)(job->arg, 0, &directory->base);
}

static void
answer_read_file(void *arg, int error, struct ftpd_read_file *fs)
{
	struct job *job = arg;
	struct async_read_file *file = NULL;

	if (error == 0 && (file = calloc(1, sizeof(*file))) == NULL) {
		fs->ops->close(fs);
		error = -ENOMEM;
	}
	if (error != 0) {
		((ftpd_open_read_fn)job->callback)(job->arg, error, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &read_file_ops;
	file->base.fd = -1;	/* as a network store: every byte through read() */
	file->base.size = fs->size;
	file->shell = job->shell;
	file->fs = fs;
	((ftpd_open_read_fn)job->callback)(job->arg, 0, &file->base);
}

static void
answer_write_file(void *arg, int error, struct ftpd_write_file *fs)
{
	struct job *job = arg;
	struct async_write_file *file = NULL;

	if (error == 0 && (file = calloc(1, sizeof(*file))) == NULL) {
		fs->ops->abort(fs);
		error = -ENOMEM;
	}
	if (error != 0) {
		((ftpd_open_write_fn)job->callback)(job->arg, error, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &write_file_ops;
	file->base.fd = -1;
	file->shell = job->shell;
	file->fs = fs;
	((ftpd_open_write_fn)job->callback)(job->arg, 0, &file->base);
}

/* The timer fired: do the operation on fs; its answer goes to the caller. */
static void
run_job(void *arg)
{
	struct job *job = arg;
	struct ftpd_shell *fs = job->shell->fs;
	const struct ftpd_path *path = &job->path.view;

	switch (job->kind) {
	case JOB_ACCESS:
		fs->ops->access(fs, path, job->access, answer_done, job);
		break;
	case JOB_STAT:
		fs->ops->stat(fs, path, answer_stat, job);
		break;
	case JOB_LSTAT:
		fs->ops->lstat(fs, path, answer_stat, job);
		break;
	case JOB_OPEN_DIRECTORY:
		fs->ops->open_directory(fs, path, answer_directory, job);
		break;
	case JOB_MAKE_DIRECTORY:
		fs->ops->make_directory(fs, path, answer_done, job);
		break;
	case JOB_REMOVE_DIRECTORY:
		fs->ops->remove_directory(fs, path, answer_done, job);
		break;
	case JOB_REMOVE_FILE:
		fs->ops->remove_file(fs, path, answer_done, job);
		break;
	case JOB_RENAME:
		fs->ops->rename(fs, path, &job->other.view, answer_done, job);
		break;
	case JOB_OPEN_READ:
		fs->ops->open_for_reading(fs, path, job->offset, answer_read_file, job);
		break;
	case JOB_OPEN_WRITE:
		fs->ops->open_for_writing(fs, path, job->mode, job->offset, answer_write_file, job);
		break;
	case JOB_CHATTR:
		fs->ops->chattr(fs, path, &job->attributes, answer_done, job);
		break;
	case JOB_READLINK:
		fs->ops->readlink(fs, path, answer_readlink, job);
		break;
	case JOB_SYMLINK:
		/* path: the target; other: the link. */
		fs->ops->symlink(fs, path, &job->other.view, answer_done, job);
		break;
	case JOB_SESSION_START:
		answer_done(job, job->refuse ? -EACCES : 0);
		break;
	}
	/* fs answers at once: the job is done with. */
	free_job(job);
}

/*
 * Starts an operation later; when it cannot, answers -ENOMEM now through
 * answer_now (the only way an operation here completes before returning).
 */
#define LATER(job, answer_now) do {					\
		if ((job) == NULL || schedule(job) != 0) {		\
			if ((job) != NULL)				\
				free_job(job);				\
			answer_now;					\
		}							\
	} while (0)

static struct async_shell *
async_of(struct ftpd_shell *shell)
{
	return (struct async_shell *)shell;
}

static void
async_access(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_access access, ftpd_done_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_ACCESS, path, NULL,
	    (void (*)(void))done, arg);

	if (job != NULL)
		job->access = access;
	LATER(job, done(arg, -ENOMEM));
}

static void
async_stat(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_stat_fn done,
    void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_STAT, path, NULL,
	    (void (*)(void))done, arg);

	LATER(job, done(arg, -ENOMEM, NULL));
}

static void
async_lstat(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_stat_fn done,
    void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_LSTAT, path, NULL,
	    (void (*)(void))done, arg);

	LATER(job, done(arg, -ENOMEM, NULL));
}

static void
async_open_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_open_directory_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_OPEN_DIRECTORY, path, NULL,
	    (void (*)(void))done, arg);

	LATER(job, done(arg, -ENOMEM, NULL));
}

static void
path_job(struct ftpd_shell *shell, enum job_kind kind, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), kind, path, NULL, (void (*)(void))done, arg);

	LATER(job, done(arg, -ENOMEM));
}

static void
async_make_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	path_job(shell, JOB_MAKE_DIRECTORY, path, done, arg);
}

static void
async_remove_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	path_job(shell, JOB_REMOVE_DIRECTORY, path, done, arg);
}

static void
async_remove_file(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	path_job(shell, JOB_REMOVE_FILE, path, done, arg);
}

static void
async_rename(struct ftpd_shell *shell, const struct ftpd_path *from,
    const struct ftpd_path *to, ftpd_done_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_RENAME, from, to,
	    (void (*)(void))done, arg);

	LATER(job, done(arg, -ENOMEM));
}

static void
async_open_for_reading(struct ftpd_shell *shell, const struct ftpd_path *path,
    uint64_t offset, ftpd_open_read_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_OPEN_READ, path, NULL,
	    (void (*)(void))done, arg);

	if (job != NULL)
		job->offset = offset;
	LATER(job, done(arg, -ENOMEM, NULL));
}

static void
async_open_for_writing(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_OPEN_WRITE, path, NULL,
	    (void (*)(void))done, arg);

	if (job != NULL) {
		job->mode = mode;
		job->offset = offset;
	}
	LATER(job, done(arg, -ENOMEM, NULL));
}

static void
async_chattr(struct ftpd_shell *shell, const struct ftpd_path *path,
    const struct ftpd_attributes *attributes, ftpd_done_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_CHATTR, path, NULL,
	    (void (*)(void))done, arg);

	if (job != NULL) {
		/* Only the fields the caller's struct has. */
		memcpy(&job->attributes, attributes,
		    attributes->struct_size < sizeof(job->attributes) ?
		    attributes->struct_size : sizeof(job->attributes));
		job->attributes.struct_size = sizeof(job->attributes);
	}
	LATER(job, done(arg, -ENOMEM));
}

static void
async_readlink(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_readlink_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_READLINK, path, NULL,
	    (void (*)(void))done, arg);

	LATER(job, done(arg, -ENOMEM, NULL));
}

static void
async_symlink(struct ftpd_shell *shell, const struct ftpd_path *target,
    const struct ftpd_path *link, ftpd_done_fn done, void *arg)
{
	struct job *job = new_job(async_of(shell), JOB_SYMLINK, target, link,
	    (void (*)(void))done, arg);

	LATER(job, done(arg, -ENOMEM));
}

static void
async_session_start(struct ftpd_shell *shell, const struct ftpd_session_info *info,
    ftpd_done_fn done, void *arg)
{
	struct async_shell *async = async_of(shell);
	struct job *job = new_job(async, JOB_SESSION_START, NULL, NULL,
	    (void (*)(void))done, arg);

	if (job != NULL)
		job->refuse = async->refuse_user != NULL &&
		    strcmp(async->refuse_user, info->user) == 0;
	LATER(job, done(arg, -ENOMEM));
}

static void
async_session_end(struct ftpd_shell *shell, const struct ftpd_session_info *info)
{
	struct async_shell *async = async_of(shell);

	if (async->host != NULL)
		async->host->log(async->host, FTPD_LOG_INFO,
		    "async shell: session of %s from %s ended: %llu bytes in, %llu out",
		    info->user, info->client_address,
		    (unsigned long long)info->bytes_received,
		    (unsigned long long)info->bytes_sent);
}

static void
async_destroy(struct ftpd_shell *shell)
{
	struct async_shell *async = async_of(shell);

	async->fs->ops->destroy(async->fs);
	free(async->refuse_user);
	free(async->password);
	free(async->login);
	free(async);
}

static const struct ftpd_shell_ops async_ops = {
	.struct_size = sizeof(struct ftpd_shell_ops),
	.access = async_access,
	.stat = async_stat,
	.open_directory = async_open_directory,
	.make_directory = async_make_directory,
	.remove_directory = async_remove_directory,
	.remove_file = async_remove_file,
	.rename = async_rename,
	.open_for_reading = async_open_for_reading,
	.open_for_writing = async_open_for_writing,
	.destroy = async_destroy,
	.chattr = async_chattr,
	.lstat = async_lstat,
	.readlink = async_readlink,
	.symlink = async_symlink,
	.session_start = async_session_start,
	.session_end = async_session_end,
};

static int
parse_options(struct async_shell *async, const struct ftpd_shell_config *config)
{
	size_t i;

	for (i = 0; i < config->option_count; i++) {
		const char *option = config->options[i];
		char *end;

		if (strncmp(option, "delay_ms=", 9) == 0) {
			unsigned long value = strtoul(option + 9, &end, 10);

			if (end == option + 9 || *end != '\0' || value > 60000)
				return -EINVAL;
			async->delay_ms = (unsigned)value;
		} else if (strncmp(option, "refuse_user=", 12) == 0) {
			free(async->refuse_user);
			if ((async->refuse_user = strdup(option + 12)) == NULL)
				return -ENOMEM;
		} else if (strcmp(option, "store_down=1") == 0) {
			async->store_down = 1;
		} else if (strncmp(option, "password=", 9) == 0) {
			free(async->password);
			if ((async->password = strdup(option + 9)) == NULL)
				return -ENOMEM;
		} else
			return -EINVAL;
	}
	return 0;
}

static int
async_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	struct ftpd_shell_config fs_config = *config;
	struct async_shell *async = calloc(1, sizeof(*async));
	int error;

	if (async == NULL) {
		free(config->login);
		return -ENOMEM;
	}
	/* Taken over whatever happens; "login of USER" says whose it is. */
	async->login = config->login;
	if (async->login != NULL && (strncmp(async->login, "login of ", 9) != 0 ||
	    strcmp(async->login + 9, config->user) != 0)) {
		free(async->login);
		free(async);
		return -EINVAL;
	}
	error = parse_options(async, config);
	/* The options are this shell's; fs takes none. */
	fs_config.options = NULL;
	fs_config.option_count = 0;
	if (error == 0)
		error = shell_fs_create(&fs_config, &async->fs);
	if (error != 0) {
		free(async->refuse_user);
		free(async->password);
		free(async->login);
		free(async);
		return error;
	}
	async->base.ops = &async_ops;
	async->host = config->host;
	*shell = &async->base;
	return 0;
}

/* A password check that answers later, as a network store's logon does. */
struct logon {
	struct ftpd_host *host;
	int accepted;
	int store_down;
	char *login;
	ftpd_authenticated_fn done;
	void *arg;
};

static void
logon_answer(void *arg)
{
	struct logon *logon = arg;
	ftpd_authenticated_fn done = logon->done;
	void *done_arg = logon->arg;
	char *login = logon->login;
	int accepted = logon->accepted;
	int error = logon->store_down ? -ECONNRESET : accepted ? 0 : -EACCES;

	free(logon);
	done(done_arg, error, error == 0 ? login : NULL);
	if (error != 0)
		free(login);
}

static void
async_authenticate(const struct ftpd_shell_config *config, const char *user,
    const char *password, ftpd_authenticated_fn done, void *arg)
{
	struct async_shell options = { .delay_ms = 0 };
	struct logon *logon = calloc(1, sizeof(*logon));
	int error = parse_options(&options, config);

	free(options.refuse_user);
	if (logon == NULL || error != 0 || config->host == NULL ||
	    (logon->login = malloc(strlen(user) + 10)) == NULL) {
		free(options.password);
		if (logon != NULL)
			free(logon->login);
		free(logon);
		done(arg, error != 0 ? error : -ENOMEM, NULL);
		return;
	}
	snprintf(logon->login, strlen(user) + 10, "login of %s", user);
	/* The password is compared now: it is not kept past this call. */
	logon->accepted = options.password != NULL && strcmp(options.password, password) == 0;
	logon->store_down = options.store_down;
	free(options.password);
	logon->host = config->host;
	logon->done = done;
	logon->arg = arg;
	if (config->host->timer_start(config->host, options.delay_ms, logon_answer,
	    logon) == NULL) {
		free(logon->login);
		free(logon);
		done(arg, -ENOMEM, NULL);
	}
}

static void
async_release_login(void *login)
{
	free(login);
}

const struct ftpd_shell_module ftpd_shell_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "async",
	.create = async_create,
	.authenticate = async_authenticate,
	.release_login = async_release_login,
};
