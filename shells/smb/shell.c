/*
 * smb/shell: the module (create, destroy, authenticate, release_login) and
 * the operations on paths and directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "smb.h"

/* Entries read per trip to the server while listing. */
#define DIRECTORY_BATCH 256

/* DOS attributes as readdirplus reports them. */
#define DOS_READONLY 0x01
#define DOS_DIRECTORY 0x10

static struct smb_session *
session_of(struct ftpd_shell *shell)
{
	return (struct smb_session *)shell;
}

void
smb_stat_from(const struct smb_session *session, int is_directory, int read_only,
    uint64_t size, time_t mtime, uint64_t inode, struct ftpd_stat *stat)
{
	int writable = !read_only && !session->read_only;

	memset(stat, 0, sizeof(*stat));
	stat->struct_size = sizeof(*stat);
	stat->mode = is_directory ? S_IFDIR | 0755 : S_IFREG | 0644;
	if (read_only)
		stat->mode &= ~(mode_t)0222;
	stat->size = is_directory ? 0 : size;
	stat->mtime = mtime;
	stat->nlink = 1;
	stat->inode = inode;
	snprintf(stat->owner, sizeof(stat->owner), "%s", session->owner);
	snprintf(stat->group, sizeof(stat->group), "smb");
	stat->perm = FTPD_PERM_KNOWN;
	if (is_directory) {
		stat->perm |= FTPD_PERM_ENTER | FTPD_PERM_LIST;
		if (writable)
			stat->perm |= FTPD_PERM_CREATE | FTPD_PERM_MKDIR | FTPD_PERM_PURGE |
			    FTPD_PERM_DELETE | FTPD_PERM_RENAME;
	} else {
		stat->perm |= FTPD_PERM_READ;
		if (writable)
			stat->perm |= FTPD_PERM_APPEND | FTPD_PERM_WRITE | FTPD_PERM_DELETE |
			    FTPD_PERM_RENAME;
	}
}

static void
stat_from_struct(const struct smb_session *session, const struct stat *st, struct ftpd_stat *stat)
{
	/* libsmbclient sets S_IWUSR unless the read-only attribute is set. */
	smb_stat_from(session, S_ISDIR(st->st_mode), !(st->st_mode & S_IWUSR),
	    (uint64_t)st->st_size, st->st_mtime, (uint64_t)st->st_ino, stat);
}

/* --- Operations on paths. --- */

enum path_call {
	CALL_ACCESS, CALL_STAT, CALL_MKDIR, CALL_RMDIR, CALL_UNLINK, CALL_RENAME, CALL_CHATTR
};

struct path_job {
	struct smb_job job;	/* first member */
	enum path_call call;
	char *url;
	char *url2;		/* rename's new name */
	enum ftpd_access access;
	struct ftpd_attributes attributes;
	struct stat st;
	ftpd_done_fn done;
	ftpd_stat_fn stat_done;
	void *arg;
};

static void
path_work(struct smb_job *job)
{
	struct path_job *p = (struct path_job *)job;
	SMBCCTX *ctx = job->session->connection.ctx;
	struct timeval times[2];
	int result = 0;

	errno = 0;
	switch (p->call) {
	case CALL_ACCESS:
	case CALL_STAT:
		result = smbc_getFunctionStat(ctx)(ctx, p->url, &p->st);
		break;
	case CALL_MKDIR:
		result = smbc_getFunctionMkdir(ctx)(ctx, p->url, 0755);
		break;
	case CALL_RMDIR:
		result = smbc_getFunctionRmdir(ctx)(ctx, p->url);
		break;
	case CALL_UNLINK:
		/* SMB deletes an empty directory as readily as a file. */
		result = smbc_getFunctionStat(ctx)(ctx, p->url, &p->st);
		if (result == 0 && S_ISDIR(p->st.st_mode)) {
			job->error = -EISDIR;
			return;
		}
		/* The read-only attribute forbids deleting, as on Windows. */
		if (result == 0 && !(p->st.st_mode & S_IWUSR)) {
			job->error = -EACCES;
			return;
		}
		if (result == 0) {
			errno = 0;
			result = smbc_getFunctionUnlink(ctx)(ctx, p->url);
			/* The name was good a moment ago: a refusal, not a bad name. */
			if (result != 0 && errno == EINVAL)
				errno = EACCES;
		}
		break;
	case CALL_RENAME:
		result = smbc_getFunctionRename(ctx)(ctx, p->url, ctx, p->url2);
		break;
	case CALL_CHATTR:
		/* utimes sets both times: keep the one not asked for. */
		result = smbc_getFunctionStat(ctx)(ctx, p->url, &p->st);
		if (result != 0)
			break;
		/* SMB has no permission bits, and truncation is not offered here. */
		if (p->attributes.mask & ~(unsigned)(FTPD_ATTR_MTIME | FTPD_ATTR_ATIME)) {
			job->error = -EPERM;
			return;
		}
		times[0].tv_sec = p->attributes.mask & FTPD_ATTR_ATIME ? p->attributes.atime :
		    p->st.st_atime;
		times[0].tv_usec = 0;
		times[1].tv_sec = p->attributes.mask & FTPD_ATTR_MTIME ? p->attributes.mtime :
		    p->st.st_mtime;
		times[1].tv_usec = 0;
		errno = 0;
		result = smbc_getFunctionUtimes(ctx)(ctx, p->url, times);
		break;
	}
	job->error = result < 0 ? smb_error(errno) : 0;
}

static void
path_complete(struct smb_job *job)
{
	struct path_job *p = (struct path_job *)job;
	struct smb_session *session = job->session;
	int error = job->error;

	if (p->call == CALL_STAT) {
		struct ftpd_stat stat;

		if (error == 0)
			stat_from_struct(session, &p->st, &stat);
		p->stat_done(p->arg, error, error == 0 ? &stat : NULL);
	} else {
		if (error == 0 && p->call == CALL_ACCESS && p->access == FTPD_ACCESS_ENTER &&
		    !S_ISDIR(p->st.st_mode))
			error = -ENOTDIR;
		p->done(p->arg, error);
	}
	free(p->url);
	free(p->url2);
	free(p);
}

/* A path job, or NULL with the error to answer with in *error. */
static struct path_job *
path_job_new(struct smb_session *session, enum path_call call, const struct ftpd_path *path,
    int *error)
{
	struct path_job *p;

	if (session->broken) {
		*error = -ECONNRESET;
		return NULL;
	}
	if (call != CALL_ACCESS && call != CALL_STAT && session->read_only) {
		*error = -EROFS;
		return NULL;
	}
	/* The share's root itself cannot be removed or renamed. */
	if (path->count == 0 && (call == CALL_RMDIR || call == CALL_UNLINK ||
	    call == CALL_RENAME || call == CALL_MKDIR)) {
		*error = call == CALL_MKDIR ? -EEXIST : -EACCES;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (p != NULL)
		p->url = smb_url(&session->options, path, path->count, NULL);
	if (p == NULL || p->url == NULL) {
		free(p);
		*error = -ENOMEM;
		return NULL;
	}
	p->call = call;
	p->job.work = path_work;
	p->job.complete = path_complete;
	return p;
}

static void
path_call(struct ftpd_shell *shell, enum path_call call, const struct ftpd_path *path,
    ftpd_done_fn done, void *arg)
{
	int error = 0;
	struct path_job *p = path_job_new(session_of(shell), call, path, &error);

	if (p == NULL) {
		done(arg, error);
		return;
	}
	p->done = done;
	p->arg = arg;
	smb_submit(session_of(shell), &p->job);
}

static void
smb_access(struct ftpd_shell *shell, const struct ftpd_path *path, enum ftpd_access access,
    ftpd_done_fn done, void *arg)
{
	int error = 0;
	struct path_job *p = path_job_new(session_of(shell), CALL_ACCESS, path, &error);

	if (p == NULL) {
		done(arg, error);
		return;
	}
	p->access = access;
	p->done = done;
	p->arg = arg;
	smb_submit(session_of(shell), &p->job);
}

static void
smb_stat(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_stat_fn done, void *arg)
{
	int error = 0;
	struct path_job *p = path_job_new(session_of(shell), CALL_STAT, path, &error);

	if (p == NULL) {
		done(arg, error, NULL);
		return;
	}
	p->stat_done = done;
	p->arg = arg;
	smb_submit(session_of(shell), &p->job);
}

static void
smb_make_directory(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_done_fn done,
    void *arg)
{
	path_call(shell, CALL_MKDIR, path, done, arg);
}

static void
smb_remove_directory(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_done_fn done,
    void *arg)
{
	path_call(shell, CALL_RMDIR, path, done, arg);
}

static void
smb_remove_file(struct ftpd_shell *shell, const struct ftpd_path *path, ftpd_done_fn done,
    void *arg)
{
	path_call(shell, CALL_UNLINK, path, done, arg);
}

static void
smb_rename(struct ftpd_shell *shell, const struct ftpd_path *from, const struct ftpd_path *to,
    ftpd_done_fn done, void *arg)
{
	struct smb_session *session = session_of(shell);
	int error = 0;
	struct path_job *p;

	if (to->count == 0) {
		done(arg, session->broken ? -ECONNRESET : -EACCES);
		return;
	}
	p = path_job_new(session, CALL_RENAME, from, &error);
	if (p == NULL) {
		done(arg, error);
		return;
	}
	p->url2 = smb_url(&session->options, to, to->count, NULL);
	if (p->url2 == NULL) {
		free(p->url);
		free(p);
		done(arg, -ENOMEM);
		return;
	}
	p->done = done;
	p->arg = arg;
	smb_submit(session, &p->job);
}

static void
smb_chattr(struct ftpd_shell *shell, const struct ftpd_path *path,
    const struct ftpd_attributes *attributes, ftpd_done_fn done, void *arg)
{
	int error = 0;
	struct path_job *p;

	p = path_job_new(session_of(shell), CALL_CHATTR, path, &error);
	if (p == NULL) {
		done(arg, error);
		return;
	}
	p->attributes = *attributes;
	p->done = done;
	p->arg = arg;
	smb_submit(session_of(shell), &p->job);
}

/* --- Directories: opened and read on a worker in batches, handed out one by one. --- */

struct smb_entry {
	char *name;
	uint64_t size;
	uint16_t attrs;
	time_t mtime;
};

struct smb_directory {
	struct ftpd_directory base;	/* first member */
	struct smb_session *session;
	SMBCFILE *handle;
	struct smb_entry *entries;	/* the current batch */
	size_t count, next;
	int end;			/* the server has no more */
	int error;			/* a batch failed */
	int closed;			/* ftpd closed it; the last job frees it */
	int busy;			/* a batch is being read */
	struct ftpd_directory_entry *pending_entry;
	ftpd_result_fn pending_done;
	void *pending_arg;
	ftpd_open_directory_fn open_done;
	void *open_arg;
	char *url;
};

struct directory_job {
	struct smb_job job;	/* first member */
	struct smb_directory *directory;
	int close;		/* closedir rather than read */
	struct smb_entry *entries;
	size_t count;
	int end;
};

static const struct ftpd_directory_ops directory_ops;

static void
free_entries(struct smb_entry *entries, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(entries[i].name);
	free(entries);
}

static void
directory_work(struct smb_job *job)
{
	struct directory_job *d = (struct directory_job *)job;
	struct smb_directory *directory = d->directory;
	SMBCCTX *ctx = job->session->connection.ctx;

	if (d->close) {
		if (directory->handle != NULL)
			smbc_getFunctionClosedir(ctx)(ctx, directory->handle);
		directory->handle = NULL;
		return;
	}
	if (directory->handle == NULL) {
		errno = 0;
		directory->handle = smbc_getFunctionOpendir(ctx)(ctx, directory->url);
		if (directory->handle == NULL) {
			job->error = smb_error(errno);
			return;
		}
	}
	d->entries = calloc(DIRECTORY_BATCH, sizeof(*d->entries));
	if (d->entries == NULL) {
		job->error = -ENOMEM;
		return;
	}
	while (d->count < DIRECTORY_BATCH) {
		const struct libsmb_file_info *info;

		errno = 0;
		info = smbc_getFunctionReaddirPlus(ctx)(ctx, directory->handle);
		if (info == NULL) {
			/* readdirplus gives NULL with errno 0 at the end. */
			if (errno != 0 && errno != ENOENT)
				job->error = smb_error(errno);
			d->end = 1;
			return;
		}
		if (info->name == NULL || strcmp(info->name, ".") == 0 ||
		    strcmp(info->name, "..") == 0)
			continue;
		d->entries[d->count].name = strdup(info->name);
		if (d->entries[d->count].name == NULL) {
			job->error = -ENOMEM;
			return;
		}
		d->entries[d->count].size = info->size;
		d->entries[d->count].attrs = info->attrs;
		d->entries[d->count].mtime = info->mtime_ts.tv_sec;
		d->count++;
	}
}

static void fill_entry(struct smb_directory *directory, struct ftpd_directory_entry *entry);

static void
directory_complete(struct smb_job *job)
{
	struct directory_job *d = (struct directory_job *)job;
	struct smb_directory *directory = d->directory;
	int opening = directory->open_done != NULL;

	if (d->close) {
		free_entries(directory->entries, directory->count);
		free(directory->url);
		free(directory);
		free(d);
		return;
	}
	directory->busy = 0;
	free_entries(directory->entries, directory->count);
	directory->entries = d->entries;
	directory->count = d->count;
	directory->next = 0;
	directory->end = d->end;
	directory->error = job->error;
	free(d);
	if (directory->closed)
		return;
	if (opening) {
		ftpd_open_directory_fn done = directory->open_done;
		int error = directory->error;

		directory->open_done = NULL;
		directory->error = 0;	/* entries read before a failure still count */
		if (error != 0 && directory->handle == NULL) {
			void *arg = directory->open_arg;

			/* Opening failed: nothing to close on the server. */
			free_entries(directory->entries, directory->count);
			free(directory->url);
			free(directory);
			done(arg, error, NULL);
			return;
		}
		directory->error = error;
		done(directory->open_arg, 0, &directory->base);
		return;
	}
	if (directory->pending_done != NULL) {
		ftpd_result_fn done = directory->pending_done;
		struct ftpd_directory_entry *entry = directory->pending_entry;
		ssize_t result;

		directory->pending_done = NULL;
		directory->pending_entry = NULL;
		if (directory->next < directory->count) {
			fill_entry(directory, entry);
			result = 1;
		} else if (directory->error != 0) {
			result = directory->error;
		} else {
			result = 0;
		}
		done(directory->pending_arg, result);
	}
}

static void
fill_entry(struct smb_directory *directory, struct ftpd_directory_entry *entry)
{
	const struct smb_entry *e = &directory->entries[directory->next++];

	entry->struct_size = sizeof(*entry);
	entry->name = e->name;
	entry->has_stat = 1;
	smb_stat_from(directory->session, (e->attrs & DOS_DIRECTORY) != 0,
	    (e->attrs & DOS_READONLY) != 0, e->size, e->mtime, 0, &entry->stat);
	entry->link_target = NULL;
}

static int
directory_read_batch(struct smb_directory *directory)
{
	struct directory_job *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -ENOMEM;
	d->directory = directory;
	d->job.work = directory_work;
	d->job.complete = directory_complete;
	directory->busy = 1;
	smb_submit(directory->session, &d->job);
	return 0;
}

static ssize_t
directory_read(struct ftpd_directory *base, struct ftpd_directory_entry *entry,
    ftpd_result_fn done, void *arg)
{
	struct smb_directory *directory = (struct smb_directory *)base;
	int error;

	if (directory->next < directory->count) {
		fill_entry(directory, entry);
		return 1;
	}
	if (directory->error != 0)
		return directory->error;
	if (directory->end)
		return 0;
	if (directory->session->broken)
		return -ECONNRESET;
	if (!directory->busy) {
		error = directory_read_batch(directory);
		if (error != 0)
			return error;
		/* It may have completed at once (see smb_submit). */
		if (directory->next < directory->count) {
			fill_entry(directory, entry);
			return 1;
		}
		if (!directory->busy)
			return directory->error != 0 ? directory->error : 0;
	}
	directory->pending_entry = entry;
	directory->pending_done = done;
	directory->pending_arg = arg;
	return FTPD_PENDING;
}

static void
directory_close(struct ftpd_directory *base)
{
	struct smb_directory *directory = (struct smb_directory *)base;
	struct directory_job *d = calloc(1, sizeof(*d));

	directory->closed = 1;
	directory->pending_done = NULL;
	if (d == NULL) {
		/* Leave the handle to smbc_free_context at logout. */
		if (!directory->busy) {
			free_entries(directory->entries, directory->count);
			free(directory->url);
			free(directory);
		}
		return;
	}
	d->directory = directory;
	d->close = 1;
	d->job.work = directory_work;
	d->job.complete = directory_complete;
	smb_submit(directory->session, &d->job);
}

static const struct ftpd_directory_ops directory_ops = {
	.struct_size = sizeof(struct ftpd_directory_ops),
	.read = directory_read,
	.close = directory_close,
};

static void
smb_open_directory(struct ftpd_shell *shell, const struct ftpd_path *path,
    ftpd_open_directory_fn done, void *arg)
{
	struct smb_session *session = session_of(shell);
	struct smb_directory *directory;
	int error;

	if (session->broken) {
		done(arg, -ECONNRESET, NULL);
		return;
	}
	directory = calloc(1, sizeof(*directory));
	if (directory != NULL)
		directory->url = smb_url(&session->options, path, path->count, NULL);
	if (directory == NULL || directory->url == NULL) {
		free(directory);
		done(arg, -ENOMEM, NULL);
		return;
	}
	directory->base.ops = &directory_ops;
	directory->session = session;
	directory->open_done = done;
	directory->open_arg = arg;
	error = directory_read_batch(directory);
	if (error != 0) {
		free(directory->url);
		free(directory);
		done(arg, error, NULL);
	}
}

/* --- The module. --- */

static void
session_free(struct smb_session *session)
{
	smb_options_free(&session->options);
	free(session);
}

static void
final_work(struct smb_job *job)
{
	smb_disconnect(&job->session->connection);
}

static void
final_complete(struct smb_job *job)
{
	struct smb_session *session = job->session;

	free(job);
	session_free(session);
}

static void
smb_destroy(struct ftpd_shell *shell)
{
	struct smb_session *session = session_of(shell);
	struct smb_job *job;

	session->destroyed = 1;
	if (session->host == NULL) {
		/* ftpd -t: never connected (unless handed a login). */
		if (session->connection.ctx != NULL) {
			smb_library_lock();
			smb_disconnect(&session->connection);
			smb_library_unlock();
		}
		session_free(session);
		return;
	}
	job = calloc(1, sizeof(*job));
	if (job == NULL) {
		/* Blocks the loop for a moment, but leaks nothing. */
		if (!session->running && session->head == NULL) {
			smb_library_lock();
			smb_disconnect(&session->connection);
			smb_library_unlock();
			session_free(session);
		}
		return;
	}
	/* Behind whatever closes are still queued: the context goes last. */
	job->work = final_work;
	job->complete = final_complete;
	job->last = 1;
	job->standalone = 1;
	smb_submit(session, job);
}

static const struct ftpd_shell_ops smb_ops = {
	.struct_size = sizeof(struct ftpd_shell_ops),
	.access = smb_access,
	.stat = smb_stat,
	.open_directory = smb_open_directory,
	.make_directory = smb_make_directory,
	.remove_directory = smb_remove_directory,
	.remove_file = smb_remove_file,
	.rename = smb_rename,
	.open_for_reading = smb_open_for_reading,
	.open_for_writing = smb_open_for_writing,
	.destroy = smb_destroy,
	.chattr = smb_chattr,
	.lstat = smb_stat,	/* SMB shows no links: the server follows them */
};

static void
release_login(void *login)
{
	struct smb_connection *connection = login;

	if (connection == NULL)
		return;
	smb_disconnect(connection);
	free(connection);
}

static void
release_work(void *arg)
{
	smb_library_lock();
	release_login(arg);
	smb_library_unlock();
}

static void
release_done(void *arg)
{
	(void)arg;
}

static void
smb_release_login(void *login)
{
	struct smb_connection *connection = login;

	if (connection == NULL)
		return;
	if (connection->host != NULL &&
	    connection->host->run_blocking(connection->host, release_work, release_done,
	    connection) == 0)
		return;
	release_work(connection);
}

/* The first job of a session with fixed credentials: makes its context. */
static void
connect_work(struct smb_job *job)
{
	struct smb_session *session = job->session;
	const struct smb_options *options = &session->options;

	job->error = smb_connect(options, options->user,
	    options->password != NULL ? options->password : "", &session->connection);
	/* Every later call fails the way a lost server does: 421. */
	session->connect_error = job->error != 0 ? -ENOTCONN : 0;
}

static void
connect_complete(struct smb_job *job)
{
	struct smb_session *session = job->session;

	if (job->error != 0 && !session->destroyed)
		session->host->log(session->host, FTPD_LOG_ERROR, "smb: cannot log on to %s "
		    "as %s: %s", session->options.share_url, session->options.user,
		    strerror(-job->error));
	free(job);
}

static int
smb_create(const struct ftpd_shell_config *config, struct ftpd_shell **shell)
{
	struct smb_session *session = calloc(1, sizeof(*session));
	struct smb_connection *login = FTPD_HAS(config, struct ftpd_shell_config, login) ?
	    config->login : NULL;
	struct ftpd_host *host = FTPD_HAS(config, struct ftpd_shell_config, host) ?
	    config->host : NULL;
	struct smb_job *job;
	int error;

	if (session == NULL) {
		smb_release_login(login);
		return -ENOMEM;
	}
	error = smb_options_parse(config, &session->options);
	if (error != 0) {
		free(session);
		smb_release_login(login);
		return error;
	}
	session->base.ops = &smb_ops;
	session->host = host;
	session->read_only = config->read_only;
	snprintf(session->owner, sizeof(session->owner), "%s",
	    session->options.user != NULL ? session->options.user :
	    config->user != NULL ? config->user : "smb");
	if (login != NULL) {
		session->connection = *login;
		session->connection.host = NULL;
		free(login);
	} else if (host != NULL) {
		/*
		 * Logged in by ftpd (a passwd_file, say): only fixed credentials
		 * can reach the share. The connection is made by the first call
		 * (libsmbclient connects on demand); here it must not block.
		 */
		if (session->options.user == NULL) {
			host->log(host, FTPD_LOG_ERROR, "smb: no credentials for the share: "
			    "set shell_option user= and password=, or login = shell");
			session_free(session);
			return -EACCES;
		}
		job = calloc(1, sizeof(*job));
		if (job == NULL) {
			session_free(session);
			return -ENOMEM;
		}
		job->work = connect_work;
		job->complete = connect_complete;
		job->standalone = 1;
		smb_submit(session, job);
	}
	/* Under ftpd -t (host NULL) the options are all that is checked. */
	*shell = &session->base;
	return 0;
}

/* --- authenticate: "login = shell". --- */

struct authenticate_job {
	struct smb_options options;
	struct ftpd_host *host;
	char user[256];
	char password[256];
	int error;
	struct smb_connection *connection;
	ftpd_authenticated_fn done;
	void *arg;
};

static void
authenticate_work(void *arg)
{
	struct authenticate_job *a = arg;

	a->connection = calloc(1, sizeof(*a->connection));
	if (a->connection == NULL) {
		a->error = -ENOMEM;
	} else {
		smb_library_lock();
		a->error = smb_connect(&a->options, a->user, a->password, a->connection);
		smb_library_unlock();
		if (a->error != 0) {
			free(a->connection);
			a->connection = NULL;
		}
	}
	/* The context keeps its own copy for reconnecting; this one goes now. */
	smb_wipe(a->password, sizeof(a->password));
}

static void
authenticate_done(void *arg)
{
	struct authenticate_job *a = arg;
	int error = a->error;

	if (a->connection != NULL)
		a->connection->host = a->host;
	if (error != 0 && error != -EACCES && a->host != NULL)
		a->host->log(a->host, FTPD_LOG_WARNING, "smb: cannot reach %s: %s",
		    a->options.share_url, strerror(-error));
	a->done(a->arg, error, error == 0 ? a->connection : NULL);
	smb_options_free(&a->options);
	smb_wipe(a, sizeof(*a));
	free(a);
}

static void
smb_authenticate(const struct ftpd_shell_config *config, const char *user, const char *password,
    ftpd_authenticated_fn done, void *arg)
{
	struct authenticate_job *a = calloc(1, sizeof(*a));
	int error;

	if (a == NULL) {
		done(arg, -ENOMEM, NULL);
		return;
	}
	error = smb_options_parse(config, &a->options);
	if (error == 0 && a->options.user != NULL)
		error = -EINVAL;	/* fixed credentials: the FTP password proves nothing */
	if (error == 0 && (strlen(user) >= sizeof(a->user) ||
	    strlen(password) >= sizeof(a->password) || user[0] == '\0'))
		error = -EACCES;
	if (error != 0) {
		if (error == -EINVAL && config->host != NULL)
			config->host->log(config->host, FTPD_LOG_ERROR, "smb: login = shell needs "
			    "the url= option and no fixed user=");
		smb_options_free(&a->options);
		free(a);
		done(arg, error, NULL);
		return;
	}
	snprintf(a->user, sizeof(a->user), "%s", user);
	snprintf(a->password, sizeof(a->password), "%s", password);
	a->host = config->host;
	a->done = done;
	a->arg = arg;
	if (a->host == NULL || a->host->run_blocking(a->host, authenticate_work,
	    authenticate_done, a) != 0) {
		authenticate_work(a);
		authenticate_done(a);
	}
}

__attribute__((visibility("default")))
const struct ftpd_shell_module ftpd_shell_module = {
	.abi_version = FTPD_SHELL_ABI_VERSION,
	.struct_size = sizeof(struct ftpd_shell_module),
	.name = "smb",
	.create = smb_create,
	.authenticate = smb_authenticate,
	.release_login = smb_release_login,
};
