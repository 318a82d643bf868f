/*
 * smb/connection: SMB contexts. Runs on worker threads only (it blocks).
 *
 * libsmbclient keeps its settings process-wide. The first context in a
 * process loads a private smb.conf that points the lock, state, cache,
 * private and ncalrpc directories to $TMPDIR/ftpd-smb-UID (/tmp without
 * TMPDIR or when it is not writable; mode 0700, owned by the user the process runs as, and shared by
 * all its processes, which leave nothing behind as ftpd's workers end with
 * _exit), so that the gateway runs as any unprivileged user whatever $HOME
 * and /var are like. smb_conf= names an administrator's own file instead.
 *
 * libsmbclient as packaged is not safe to call from two threads at once,
 * even on different contexts (no smbc_thread_posix): every call into it,
 * from any session of this process, is made holding library_lock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smb.h"

static pthread_mutex_t library_lock = PTHREAD_MUTEX_INITIALIZER;
/* The longest private directory path. */
#define DIRECTORY_SIZE 4096

static int configuration_loaded;

void
smb_library_lock(void)
{
	pthread_mutex_lock(&library_lock);
}

void
smb_library_unlock(void)
{
	pthread_mutex_unlock(&library_lock);
}

/* Whether path is a directory only the user this process runs as can use. */
static int
private_directory_ok(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
	    (st.st_mode & 077) == 0;
}

/*
 * Makes (or finds) the private directory in tmp: ftpd-smb-UID, or, when
 * that is someone else's or not a directory, a fresh ftpd-smb-UID-XXXXXX.
 */
static int
make_private_directory(const char *tmp, char *directory, size_t size)
{
	int length = snprintf(directory, size, "%s/ftpd-smb-%lu", tmp, (unsigned long)geteuid());

	if (length < 0 || (size_t)length >= size - 64)
		return -ENAMETOOLONG;
	if (mkdir(directory, 0700) == 0 || (errno == EEXIST && private_directory_ok(directory)))
		return 0;
	snprintf(directory, size, "%s/ftpd-smb-%lu-XXXXXX", tmp, (unsigned long)geteuid());
	return mkdtemp(directory) != NULL ? 0 : -errno;
}

/* The private smb.conf: directories of this user's only, quiet logs. */
static int
write_private_configuration(char *path, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char directory[DIRECTORY_SIZE], temporary[DIRECTORY_SIZE + 32];
	int fd;
	FILE *f;

	/* TMPDIR may be root's, inherited by workers that run as someone else. */
	if (tmp == NULL || tmp[0] != '/' ||
	    make_private_directory(tmp, directory, sizeof(directory)) != 0) {
		int error = make_private_directory("/tmp", directory, sizeof(directory));

		if (error != 0)
			return error;
	}
	snprintf(path, size, "%s/smb.conf", directory);
	/* Written whole, then renamed: other processes may be reading it. */
	snprintf(temporary, sizeof(temporary), "%s/smb.conf.XXXXXX", directory);
	fd = mkstemp(temporary);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (f == NULL) {
		close(fd);
		unlink(temporary);
		return -ENOMEM;
	}
	fprintf(f, "# written by ftpd's smb gateway for its own use\n"
	    "[global]\n"
	    "\tlock directory = %s\n"
	    "\tstate directory = %s\n"
	    "\tcache directory = %s\n"
	    "\tprivate dir = %s\n"
	    "\tncalrpc dir = %s\n"
	    "\tlog level = 0\n"
	    "\tclient use kerberos = off\n",
	    directory, directory, directory, directory, directory);
	if (fclose(f) != 0 || rename(temporary, path) != 0) {
		int error = -errno;

		unlink(temporary);
		return error;
	}
	return 0;
}

static void
authenticate_callback(SMBCCTX *ctx, const char *server, const char *share,
    char *workgroup, int workgroup_size, char *user, int user_size,
    char *password, int password_size)
{
	const struct smb_credentials *credentials = smbc_getOptionUserData(ctx);

	(void)server;
	(void)share;
	if (credentials == NULL)
		return;
	if (credentials->workgroup[0] != '\0')
		snprintf(workgroup, (size_t)workgroup_size, "%s", credentials->workgroup);
	snprintf(user, (size_t)user_size, "%s", credentials->user);
	snprintf(password, (size_t)password_size, "%s", credentials->password);
}

static void
free_credentials(struct smb_credentials *credentials)
{
	if (credentials != NULL) {
		smb_wipe(credentials, sizeof(*credentials));
		free(credentials);
	}
}

/* Creates and initialises a context. */
static SMBCCTX *
new_context(const struct smb_options *options, struct smb_credentials *credentials, int *error)
{
	char path[DIRECTORY_SIZE + 16];
	SMBCCTX *ctx = smbc_new_context();

	if (ctx == NULL) {
		*error = -ENOMEM;
		return NULL;
	}
	if (!configuration_loaded) {
		const char *file = options->smb_conf;

		if (file == NULL) {
			/* Not the user's fault: never -EACCES, which would be a 530. */
			if (write_private_configuration(path, sizeof(path)) != 0) {
				*error = -EIO;
				goto fail;
			}
			file = path;
		}
		if (smbc_setConfiguration(ctx, file) != 0) {
			*error = -ENOENT;
			goto fail;
		}
		configuration_loaded = 1;
	}
	smbc_setDebug(ctx, 0);
	smbc_setOptionDebugToStderr(ctx, 1);
	smbc_setOptionUseKerberos(ctx, 0);
	smbc_setOptionFallbackAfterKerberos(ctx, 0);
	smbc_setOptionUseCCache(ctx, 0);
	smbc_setOptionNoAutoAnonymousLogin(ctx, 1);
	smbc_setOptionUserData(ctx, credentials);
	smbc_setFunctionAuthDataWithContext(ctx, authenticate_callback);
	smbc_setTimeout(ctx, (int)options->timeout_ms);
	if (options->port != 0)
		smbc_setPort(ctx, (uint16_t)options->port);
	if (options->workgroup != NULL)
		smbc_setWorkgroup(ctx, options->workgroup);
	if (smbc_init_context(ctx) == NULL) {
		*error = errno != 0 ? -errno : -ENOMEM;
		goto fail;
	}
	return ctx;
fail:
	smbc_free_context(ctx, 1);
	return NULL;
}

int
smb_connect(const struct smb_options *options, const char *user, const char *password,
    struct smb_connection *connection)
{
	struct smb_credentials *credentials = calloc(1, sizeof(*credentials));
	struct stat st;
	SMBCCTX *ctx;
	int error = 0;

	memset(connection, 0, sizeof(*connection));
	if (credentials == NULL)
		return -ENOMEM;
	if (strlen(user) >= sizeof(credentials->user) ||
	    strlen(password) >= sizeof(credentials->password)) {
		free_credentials(credentials);
		return -EACCES;
	}
	snprintf(credentials->user, sizeof(credentials->user), "%s", user);
	snprintf(credentials->password, sizeof(credentials->password), "%s", password);
	if (options->workgroup != NULL)
		snprintf(credentials->workgroup, sizeof(credentials->workgroup), "%s",
		    options->workgroup);
	ctx = new_context(options, credentials, &error);
	if (ctx == NULL) {
		free_credentials(credentials);
		return error;
	}
	connection->ctx = ctx;
	connection->credentials = credentials;
	/* Logs on and connects to the share now, so that a refusal is seen here. */
	errno = 0;
	if (smbc_getFunctionStat(ctx)(ctx, options->share_url, &st) != 0) {
		error = smb_error(errno);
		/* A logon the server refused, however it words it. */
		if (error == -EPERM)
			error = -EACCES;
	} else if (!S_ISDIR(st.st_mode)) {
		error = -ENOTDIR;
	}
	if (error != 0)
		smb_disconnect(connection);
	return error;
}

void
smb_disconnect(struct smb_connection *connection)
{
	if (connection->ctx != NULL) {
		/* Closes what is still open and logs off (blocks). */
		smbc_free_context(connection->ctx, 1);
	}
	free_credentials(connection->credentials);
	connection->ctx = NULL;
	connection->credentials = NULL;
}

int
smb_is_connection_error(int error)
{
	switch (-error) {
	case ECONNRESET:
	case ENOTCONN:
	case EHOSTDOWN:
	case ESHUTDOWN:
	case ETIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

/* errno from libsmbclient as the -errno ftpd maps to a reply. */
int
smb_error(int error)
{
	switch (error) {
	case 0:
		return -EIO;	/* libsmbclient failed without saying why */
	/* The server or the path to it is gone: 421, this session only. */
	case ECONNRESET:
	case ECONNABORTED:
	case ECONNREFUSED:
	case EPIPE:
	case ENETDOWN:
	case ENETUNREACH:
	case ENETRESET:
	case EHOSTUNREACH:
		return -ECONNRESET;
	case EHOSTDOWN:
	case ENOTCONN:
	case ESHUTDOWN:
	case ETIMEDOUT:
		return -error;
	case EDQUOT:
	case ENOSPC:
		return -error;
	default:
		return -error;
	}
}
