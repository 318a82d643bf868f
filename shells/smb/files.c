/*
 * smb/files: downloads and uploads. Data moves in chunks of CHUNK_SIZE
 * bytes through private buffers: a worker reads the next chunk ahead while
 * the loop hands out the last one (two at most are held), and an upload
 * gathers one chunk while a worker writes the one before; a write that
 * finds both busy is PENDING until the worker is done (back-pressure).
 * ftpd's own buffers are touched only on the loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "smb.h"

#define CHUNK_SIZE (1024 * 1024)
#define READ_AHEAD_CHUNKS 2
#define TEMPORARY_ATTEMPTS 8

struct chunk {
	struct chunk *next;
	size_t length, position;
	char data[];
};

static struct chunk *
chunk_new(void)
{
	struct chunk *chunk = malloc(sizeof(*chunk) + CHUNK_SIZE);

	if (chunk != NULL) {
		chunk->next = NULL;
		chunk->length = 0;
		chunk->position = 0;
	}
	return chunk;
}

static struct smb_session *
session_of(struct ftpd_shell *shell)
{
	return (struct smb_session *)shell;
}

/* --- Reading. --- */

struct smb_read_file {
	struct ftpd_read_file base;	/* first member */
	struct smb_session *session;
	SMBCFILE *handle;		/* used on workers only */
	char *url;
	uint64_t offset;
	struct chunk *ready, *ready_tail;	/* read ahead, in order */
	unsigned ready_count;
	int busy;			/* a chunk is being read */
	int end, error, closed;
	void *pending_buffer;
	size_t pending_length;
	ftpd_result_fn pending_done;
	void *pending_arg;
	ftpd_open_read_fn open_done;
	void *open_arg;
};

enum read_call { READ_OPEN, READ_FILL, READ_CLOSE };

struct read_job {
	struct smb_job job;	/* first member */
	struct smb_read_file *file;
	enum read_call call;
	struct chunk *chunk;
};

static const struct ftpd_read_file_ops read_file_ops;

static void
read_work(struct smb_job *job)
{
	struct read_job *r = (struct read_job *)job;
	struct smb_read_file *file = r->file;
	SMBCCTX *ctx = job->session->connection.ctx;
	struct stat st;
	ssize_t n;

	errno = 0;
	switch (r->call) {
	case READ_OPEN:
		file->handle = smbc_getFunctionOpen(ctx)(ctx, file->url, O_RDONLY, 0);
		if (file->handle == NULL) {
			job->error = smb_error(errno);
			return;
		}
		errno = 0;
		if (smbc_getFunctionFstat(ctx)(ctx, file->handle, &st) != 0)
			job->error = smb_error(errno);
		else if (S_ISDIR(st.st_mode))
			job->error = -EISDIR;
		else if (file->offset > 0 && smbc_getFunctionLseek(ctx)(ctx, file->handle,
		    (off_t)file->offset, SEEK_SET) < 0)
			job->error = smb_error(errno);
		if (job->error != 0) {
			smbc_getFunctionClose(ctx)(ctx, file->handle);
			file->handle = NULL;
			return;
		}
		file->base.size = (uint64_t)st.st_size;
		break;
	case READ_FILL:
		r->chunk = chunk_new();
		if (r->chunk == NULL) {
			job->error = -ENOMEM;
			return;
		}
		while (r->chunk->length < CHUNK_SIZE) {
			errno = 0;
			n = smbc_getFunctionRead(ctx)(ctx, file->handle,
			    r->chunk->data + r->chunk->length, CHUNK_SIZE - r->chunk->length);
			if (n < 0) {
				job->error = smb_error(errno);
				return;
			}
			if (n == 0)
				break;
			r->chunk->length += (size_t)n;
		}
		break;
	case READ_CLOSE:
		if (file->handle != NULL)
			smbc_getFunctionClose(ctx)(ctx, file->handle);
		file->handle = NULL;
		break;
	}
}

static void
free_chunks(struct chunk *chunk)
{
	while (chunk != NULL) {
		struct chunk *next = chunk->next;

		free(chunk);
		chunk = next;
	}
}

static void
read_file_free(struct smb_read_file *file)
{
	free_chunks(file->ready);
	free(file->url);
	free(file);
}

/* Copies what is read ahead into buffer: the byte count, 0 if none. */
static size_t
take(struct smb_read_file *file, void *buffer, size_t length)
{
	struct chunk *chunk = file->ready;
	size_t n;

	if (chunk == NULL)
		return 0;
	n = chunk->length - chunk->position;
	if (n > length)
		n = length;
	memcpy(buffer, chunk->data + chunk->position, n);
	chunk->position += n;
	if (chunk->position == chunk->length) {
		file->ready = chunk->next;
		if (file->ready == NULL)
			file->ready_tail = NULL;
		file->ready_count--;
		free(chunk);
	}
	return n;
}

static int submit_read(struct smb_read_file *file, enum read_call call);

static void
read_ahead(struct smb_read_file *file)
{
	if (!file->busy && !file->end && file->error == 0 && !file->closed &&
	    file->ready_count < READ_AHEAD_CHUNKS && !file->session->broken) {
		int error = submit_read(file, READ_FILL);

		if (error != 0 && file->error == 0 && !file->busy)
			file->error = error;
	}
}

static void
read_complete(struct smb_job *job)
{
	struct read_job *r = (struct read_job *)job;
	struct smb_read_file *file = r->file;
	int error = job->error;

	switch (r->call) {
	case READ_OPEN: {
		ftpd_open_read_fn done = file->open_done;
		void *arg = file->open_arg;

		free(r);
		if (error != 0) {
			read_file_free(file);
			done(arg, error, NULL);
			return;
		}
		read_ahead(file);
		done(arg, 0, &file->base);
		return;
	}
	case READ_CLOSE:
		free(r);
		read_file_free(file);
		return;
	case READ_FILL:
		break;
	}
	file->busy = 0;
	if (file->closed) {
		free(r->chunk);
		free(r);
		return;
	}
	if (error != 0) {
		free(r->chunk);
		file->error = error;
	} else if (r->chunk->length == 0) {
		free(r->chunk);
		file->end = 1;
	} else {
		if (r->chunk->length < CHUNK_SIZE)
			file->end = 1;	/* a short read is the end of the file */
		if (file->ready_tail != NULL)
			file->ready_tail->next = r->chunk;
		else
			file->ready = r->chunk;
		file->ready_tail = r->chunk;
		file->ready_count++;
	}
	free(r);
	if (file->pending_done != NULL) {
		ftpd_result_fn done = file->pending_done;
		void *arg = file->pending_arg;
		ssize_t result = (ssize_t)take(file, file->pending_buffer, file->pending_length);

		if (result == 0)
			result = file->error != 0 ? file->error : 0;
		file->pending_done = NULL;
		file->pending_buffer = NULL;
		read_ahead(file);
		done(arg, result);	/* may read again, or close: file is not touched after */
		return;
	}
	read_ahead(file);
}

static int
submit_read(struct smb_read_file *file, enum read_call call)
{
	struct read_job *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	r->file = file;
	r->call = call;
	r->job.work = read_work;
	r->job.complete = read_complete;
	if (call == READ_FILL)
		file->busy = 1;
	smb_submit(file->session, &r->job);
	return 0;
}

static ssize_t
read_file_read(struct ftpd_read_file *base, void *buffer, size_t length, ftpd_result_fn done,
    void *arg)
{
	struct smb_read_file *file = (struct smb_read_file *)base;
	size_t n;

	if (length == 0)
		return 0;
	n = take(file, buffer, length);
	if (n > 0) {
		read_ahead(file);
		return (ssize_t)n;
	}
	if (file->error != 0)
		return file->error;
	if (file->end)
		return 0;
	if (file->session->broken)
		return -ECONNRESET;
	read_ahead(file);
	/* The chunk may have come at once (see smb_submit). */
	n = take(file, buffer, length);
	if (n > 0)
		return (ssize_t)n;
	if (!file->busy)
		return file->error != 0 ? file->error : 0;
	file->pending_buffer = buffer;
	file->pending_length = length;
	file->pending_done = done;
	file->pending_arg = arg;
	return FTPD_PENDING;
}

static void
read_file_close(struct ftpd_read_file *base)
{
	struct smb_read_file *file = (struct smb_read_file *)base;

	file->closed = 1;
	file->pending_done = NULL;
	file->pending_buffer = NULL;
	free_chunks(file->ready);
	file->ready = file->ready_tail = NULL;
	file->ready_count = 0;
	/* Queued behind a read in flight; its completion frees the file. */
	if (submit_read(file, READ_CLOSE) != 0 && !file->busy)
		read_file_free(file);	/* the handle goes with the context */
}

static const struct ftpd_read_file_ops read_file_ops = {
	.struct_size = sizeof(struct ftpd_read_file_ops),
	.read = read_file_read,
	.close = read_file_close,
};

void
smb_open_for_reading(struct ftpd_shell *shell, const struct ftpd_path *path, uint64_t offset,
    ftpd_open_read_fn done, void *arg)
{
	struct smb_session *session = session_of(shell);
	struct smb_read_file *file;

	if (session->broken) {
		done(arg, -ECONNRESET, NULL);
		return;
	}
	if (path->count == 0) {
		done(arg, -EISDIR, NULL);
		return;
	}
	file = calloc(1, sizeof(*file));
	if (file != NULL)
		file->url = smb_url(&session->options, path, path->count, NULL);
	if (file == NULL || file->url == NULL) {
		free(file);
		done(arg, -ENOMEM, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &read_file_ops;
	file->base.fd = -1;
	file->session = session;
	file->offset = offset;
	file->open_done = done;
	file->open_arg = arg;
	if (submit_read(file, READ_OPEN) != 0) {
		read_file_free(file);
		done(arg, -ENOMEM, NULL);
	}
}

/* --- Writing. --- */

struct smb_write_file {
	struct ftpd_write_file base;	/* first member */
	struct smb_session *session;
	SMBCFILE *handle;		/* used on workers only */
	enum ftpd_write_mode mode;
	uint64_t offset;
	char *url;			/* the file asked for */
	char *temporary_url;		/* REPLACE: where the upload goes until finish */
	char *directory_url;		/* REPLACE: the directory of both */
	int existed;			/* APPEND, AT_OFFSET: the file was there */
	uint64_t old_size;
	struct chunk *fill;		/* gathering the next write */
	int flushing;			/* a chunk is being written */
	int error;			/* the first write that failed */
	int closed;			/* finish or abort was called */
	int aborted;			/* read by a worker writing a chunk: atomic */
	const void *pending_buffer;
	size_t pending_length;
	ftpd_result_fn pending_done;
	void *pending_arg;
	ftpd_open_write_fn open_done;
	ftpd_done_fn finish_done;
	void *arg;			/* of open_done, then of finish_done */
};

enum write_call { WRITE_OPEN, WRITE_FLUSH, WRITE_FINISH, WRITE_ABORT };

struct write_job {
	struct smb_job job;	/* first member */
	struct smb_write_file *file;
	enum write_call call;
	struct chunk *chunk;
};

static const struct ftpd_write_file_ops write_file_ops;

static SMBCFILE *
open_url(SMBCCTX *ctx, const char *url, int flags, int *error)
{
	SMBCFILE *handle;

	errno = 0;
	handle = smbc_getFunctionOpen(ctx)(ctx, url, flags, 0644);
	*error = handle == NULL ? smb_error(errno) : 0;
	return handle;
}

static void
open_for_writing_work(struct smb_write_file *file, SMBCCTX *ctx, int *error)
{
	struct stat st;
	int attempt;

	switch (file->mode) {
	case FTPD_WRITE_REPLACE:
		/* The old file stays until finish renames the upload over it. */
		errno = 0;
		if (smbc_getFunctionStat(ctx)(ctx, file->url, &st) == 0) {
			/* Refused now rather than after the whole upload. */
			if (S_ISDIR(st.st_mode) || !(st.st_mode & S_IWUSR)) {
				*error = S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
				return;
			}
		} else if (errno != ENOENT) {
			*error = smb_error(errno);
			return;
		}
		for (attempt = 0; attempt < TEMPORARY_ATTEMPTS; attempt++) {
			uint32_t random_bits = 0;
			char name[32];

			if (getrandom(&random_bits, sizeof(random_bits), 0) < 0)
				random_bits ^= (uint32_t)getpid() * 2654435761u + (uint32_t)attempt;
			snprintf(name, sizeof(name), ".ftpd-upload-%08x", (unsigned)random_bits);
			free(file->temporary_url);
			file->temporary_url = malloc(strlen(file->directory_url) + 1 + strlen(name) + 1);
			if (file->temporary_url == NULL) {
				*error = -ENOMEM;
				return;
			}
			sprintf(file->temporary_url, "%s/%s", file->directory_url, name);
			file->handle = open_url(ctx, file->temporary_url,
			    O_WRONLY | O_CREAT | O_EXCL, error);
			if (*error != -EEXIST)
				break;
		}
		if (*error != 0) {
			free(file->temporary_url);
			file->temporary_url = NULL;
		}
		return;
	case FTPD_WRITE_UNIQUE:
		file->handle = open_url(ctx, file->url, O_WRONLY | O_CREAT | O_EXCL, error);
		return;
	case FTPD_WRITE_APPEND:
	case FTPD_WRITE_AT_OFFSET:
		break;
	}
	/* A handle open for writing only cannot be stat'ed: the path is. */
	errno = 0;
	if (smbc_getFunctionStat(ctx)(ctx, file->url, &st) == 0) {
		if (S_ISDIR(st.st_mode) || !(st.st_mode & S_IWUSR)) {
			*error = S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
			return;
		}
		file->existed = 1;
		file->old_size = (uint64_t)st.st_size;
		file->handle = open_url(ctx, file->url, O_WRONLY, error);
	} else if (errno == ENOENT) {
		file->handle = open_url(ctx, file->url, O_WRONLY | O_CREAT | O_EXCL, error);
	} else {
		*error = smb_error(errno);
	}
	if (*error != 0)
		return;
	errno = 0;
	if (smbc_getFunctionLseek(ctx)(ctx, file->handle, (off_t)(file->mode == FTPD_WRITE_APPEND ?
	    file->old_size : file->offset), SEEK_SET) < 0) {
		*error = smb_error(errno);
		smbc_getFunctionClose(ctx)(ctx, file->handle);
		file->handle = NULL;
		if (!file->existed)
			smbc_getFunctionUnlink(ctx)(ctx, file->url);
	}
}

/* Undoes the upload as abort() promises: the old file as it was, or none. */
static void
undo_upload(struct smb_write_file *file, SMBCCTX *ctx)
{
	struct stat st;

	if (file->handle != NULL && file->existed && (file->mode == FTPD_WRITE_APPEND ||
	    file->mode == FTPD_WRITE_AT_OFFSET) &&
	    smbc_getFunctionStat(ctx)(ctx, file->url, &st) == 0 &&
	    (uint64_t)st.st_size > file->old_size)
		smbc_getFunctionFtruncate(ctx)(ctx, file->handle, (off_t)file->old_size);
	if (file->handle != NULL)
		smbc_getFunctionClose(ctx)(ctx, file->handle);
	file->handle = NULL;
	if (file->temporary_url != NULL)
		smbc_getFunctionUnlink(ctx)(ctx, file->temporary_url);
	else if (!file->existed)
		smbc_getFunctionUnlink(ctx)(ctx, file->url);
}

static void
write_work(struct smb_job *job)
{
	struct write_job *w = (struct write_job *)job;
	struct smb_write_file *file = w->file;
	SMBCCTX *ctx = job->session->connection.ctx;
	size_t done = 0;
	ssize_t n;

	switch (w->call) {
	case WRITE_OPEN:
		open_for_writing_work(file, ctx, &job->error);
		break;
	case WRITE_FLUSH:
		if (file->error != 0 || __atomic_load_n(&file->aborted, __ATOMIC_RELAXED))
			break;	/* an earlier chunk failed: what follows is not written */
		while (done < w->chunk->length) {
			errno = 0;
			n = smbc_getFunctionWrite(ctx)(ctx, file->handle, w->chunk->data + done,
			    w->chunk->length - done);
			if (n <= 0) {
				job->error = smb_error(errno);
				break;
			}
			done += (size_t)n;
		}
		break;
	case WRITE_FINISH:
		if (file->error != 0 && file->temporary_url != NULL) {
			undo_upload(file, ctx);
			break;
		}
		/* With keep_partial_uploads, what was written in place stays. */
		errno = 0;
		if (smbc_getFunctionClose(ctx)(ctx, file->handle) != 0 && job->error == 0)
			job->error = smb_error(errno);
		file->handle = NULL;
		if (job->error == 0 && file->error == 0 && file->temporary_url != NULL) {
			errno = 0;
			if (smbc_getFunctionRename(ctx)(ctx, file->temporary_url, ctx,
			    file->url) != 0)
				job->error = smb_error(errno);
		}
		if (job->error != 0 && file->temporary_url != NULL)
			smbc_getFunctionUnlink(ctx)(ctx, file->temporary_url);
		break;
	case WRITE_ABORT:
		undo_upload(file, ctx);
		break;
	}
}

static void
write_file_free(struct smb_write_file *file)
{
	free(file->fill);
	free(file->url);
	free(file->temporary_url);
	free(file->directory_url);
	free(file);
}

static int submit_write(struct smb_write_file *file, enum write_call call);

static void
write_complete(struct smb_job *job)
{
	struct write_job *w = (struct write_job *)job;
	struct smb_write_file *file = w->file;
	enum write_call call = w->call;
	int error = job->error;

	free(w->chunk);
	free(w);
	switch (call) {
	case WRITE_OPEN: {
		ftpd_open_write_fn done = file->open_done;
		void *arg = file->arg;

		if (error != 0) {
			write_file_free(file);
			done(arg, error, NULL);
		} else {
			done(arg, 0, &file->base);
		}
		return;
	}
	case WRITE_FINISH: {
		ftpd_done_fn done = file->finish_done;
		void *arg = file->arg;

		if (error == 0)
			error = file->error;
		write_file_free(file);
		done(arg, error);
		return;
	}
	case WRITE_ABORT:
		write_file_free(file);
		return;
	case WRITE_FLUSH:
		break;
	}
	file->flushing = 0;
	if (error != 0 && file->error == 0)
		file->error = error;
	if (file->closed || file->pending_done == NULL)
		return;
	{
		ftpd_result_fn done = file->pending_done;
		void *arg = file->pending_arg;
		ssize_t result = file->error;

		file->pending_done = NULL;
		if (result == 0) {
			/* The chunk gathered is full: send it on, take the waiting bytes. */
			result = submit_write(file, WRITE_FLUSH);
			if (result == 0)
				file->fill = chunk_new();
			if (result == 0 && file->fill == NULL)
				result = -ENOMEM;
			if (result == 0) {
				size_t n = file->pending_length < CHUNK_SIZE ? file->pending_length :
				    CHUNK_SIZE;

				memcpy(file->fill->data, file->pending_buffer, n);
				file->fill->length = n;
				result = (ssize_t)n;
			}
		}
		file->pending_buffer = NULL;
		done(arg, result);
	}
}

static int
submit_write(struct smb_write_file *file, enum write_call call)
{
	struct write_job *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return -ENOMEM;
	w->file = file;
	w->call = call;
	w->job.work = write_work;
	w->job.complete = write_complete;
	if (call == WRITE_FLUSH) {
		w->chunk = file->fill;
		file->fill = NULL;
		file->flushing = 1;
	}
	smb_submit(file->session, &w->job);
	return 0;
}

static ssize_t
write_file_write(struct ftpd_write_file *base, const void *buffer, size_t length,
    ftpd_result_fn done, void *arg)
{
	struct smb_write_file *file = (struct smb_write_file *)base;
	size_t n;

	if (file->error != 0)
		return file->error;
	if (file->session->broken)
		return -ECONNRESET;
	if (length == 0)
		return 0;
	if (file->fill == NULL) {
		file->fill = chunk_new();
		if (file->fill == NULL)
			return -ENOMEM;
	}
	if (file->fill->length == CHUNK_SIZE && !file->flushing) {
		int error = submit_write(file, WRITE_FLUSH);

		if (error != 0)
			return error;
		if (file->error != 0)	/* it failed at once (see smb_submit) */
			return file->error;
		file->fill = chunk_new();
		if (file->fill == NULL)
			return -ENOMEM;
	}
	if (file->fill->length < CHUNK_SIZE) {
		n = CHUNK_SIZE - file->fill->length;
		if (n > length)
			n = length;
		memcpy(file->fill->data + file->fill->length, buffer, n);
		file->fill->length += n;
		if (file->fill->length == CHUNK_SIZE && !file->flushing) {
			int error = submit_write(file, WRITE_FLUSH);

			if (error != 0)
				return error;
		}
		return (ssize_t)n;
	}
	/* Both chunks are full: wait for the worker. */
	file->pending_buffer = buffer;
	file->pending_length = length;
	file->pending_done = done;
	file->pending_arg = arg;
	return FTPD_PENDING;
}

static void
write_file_finish(struct ftpd_write_file *base, ftpd_done_fn done, void *arg)
{
	struct smb_write_file *file = (struct smb_write_file *)base;
	int error = 0;

	file->closed = 1;
	file->finish_done = done;
	file->arg = arg;
	if (file->fill != NULL && file->fill->length > 0)
		error = submit_write(file, WRITE_FLUSH);
	if (error == 0)
		error = submit_write(file, WRITE_FINISH);
	if (error != 0) {
		/* No memory to finish with: the upload is lost, the old file is not. */
		file->error = error;
		__atomic_store_n(&file->aborted, 1, __ATOMIC_RELAXED);
		if (submit_write(file, WRITE_ABORT) != 0 && !file->flushing)
			write_file_free(file);
		done(arg, error);
	}
}

static void
write_file_abort(struct ftpd_write_file *base)
{
	struct smb_write_file *file = (struct smb_write_file *)base;

	file->closed = 1;
	__atomic_store_n(&file->aborted, 1, __ATOMIC_RELAXED);
	file->pending_done = NULL;
	file->pending_buffer = NULL;
	free(file->fill);
	file->fill = NULL;
	if (submit_write(file, WRITE_ABORT) != 0 && !file->flushing)
		write_file_free(file);	/* the handle goes with the context */
}

static const struct ftpd_write_file_ops write_file_ops = {
	.struct_size = sizeof(struct ftpd_write_file_ops),
	.write = write_file_write,
	.finish = write_file_finish,
	.abort = write_file_abort,
};

void
smb_open_for_writing(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg)
{
	struct smb_session *session = session_of(shell);
	struct smb_write_file *file;

	if (session->broken) {
		done(arg, -ECONNRESET, NULL);
		return;
	}
	if (session->read_only) {
		done(arg, -EROFS, NULL);
		return;
	}
	if (path->count == 0) {
		done(arg, -EISDIR, NULL);
		return;
	}
	file = calloc(1, sizeof(*file));
	if (file == NULL) {
		done(arg, -ENOMEM, NULL);
		return;
	}
	file->url = smb_url(&session->options, path, path->count, NULL);
	file->directory_url = smb_url(&session->options, path, path->count - 1, NULL);
	if (file->url == NULL || file->directory_url == NULL) {
		write_file_free(file);
		done(arg, -ENOMEM, NULL);
		return;
	}
	file->base.struct_size = sizeof(file->base);
	file->base.ops = &write_file_ops;
	file->base.fd = -1;
	file->session = session;
	file->mode = mode;
	file->offset = offset;
	file->open_done = done;
	file->arg = arg;
	if (submit_write(file, WRITE_OPEN) != 0) {
		write_file_free(file);
		done(arg, -ENOMEM, NULL);
	}
}
