/*
 * smb (shells): the FTP-to-SMB gateway module, built as smb.so. One SMB
 * context per session; every libsmbclient call runs on a worker thread of
 * ftpd's (host->run_blocking), one at a time per session, in the order the
 * calls were queued, and completes on the event loop. libsmbclient itself
 * is entered by one thread at a time per process (smb_library_lock).
 */
#ifndef FTPD_SMB_H
#define FTPD_SMB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <libsmbclient.h>

#include <ftpd/shell.h>

/* What the shell_option lines say. */
struct smb_options {
	char *server;		/* host name or address, as in the url */
	unsigned port;		/* 0: libsmbclient's default (445, then 139) */
	char *share_url;	/* smb://server/share[/subdir], encoded, no trailing '/' */
	char *user;		/* fixed credentials, or NULL: the FTP user's own */
	char *password;
	char *workgroup;
	char *smb_conf;		/* an smb.conf of the administrator's, or NULL */
	unsigned timeout_ms;
};

/* Credentials an SMB context logs on with; libsmbclient asks again on reconnect. */
struct smb_credentials {
	char workgroup[256];
	char user[256];
	char password[256];
};

/* An open SMB context with the credentials it logs on with (the login object). */
struct smb_connection {
	SMBCCTX *ctx;
	struct smb_credentials *credentials;
	struct ftpd_host *host;	/* for release_login: frees off the loop */
};

struct smb_session;
struct smb_job;

/*
 * One queued call. work runs on a worker thread and may use the session's
 * context; complete runs on the loop afterwards and frees the job.
 */
struct smb_job {
	struct smb_job *next;
	struct smb_session *session;
	void (*work)(struct smb_job *job);
	void (*complete)(struct smb_job *job);
	int error;		/* set by work: 0 or -errno */
	int last;		/* the job that frees the session */
	int standalone;		/* runs without a connected context */
};

struct smb_session {
	struct ftpd_shell base;		/* first member */
	struct ftpd_host *host;		/* NULL under ftpd -t */
	struct smb_options options;
	struct smb_connection connection;
	int read_only;
	char owner[32];
	struct smb_job *head, *tail;	/* queued, not yet running */
	int running;			/* a job is on a worker thread */
	int broken;			/* the server went away: every call fails */
	int connect_error;		/* set on a worker when logging on failed */
	int destroyed;
};

/* options.c */
int smb_options_parse(const struct ftpd_shell_config *config, struct smb_options *options);
void smb_options_free(struct smb_options *options);
char *smb_url(const struct smb_options *options, const struct ftpd_path *path, size_t count,
    const char *last);
void smb_wipe(void *buffer, size_t length);

/* connection.c: all but smb_error and smb_is_connection_error with the lock held */
void smb_library_lock(void);
void smb_library_unlock(void);
int smb_connect(const struct smb_options *options, const char *user, const char *password,
    struct smb_connection *connection);
void smb_disconnect(struct smb_connection *connection);
int smb_error(int error);
int smb_is_connection_error(int error);

/* queue.c */
void smb_submit(struct smb_session *session, struct smb_job *job);

/* files.c */
void smb_open_for_reading(struct ftpd_shell *shell, const struct ftpd_path *path,
    uint64_t offset, ftpd_open_read_fn done, void *arg);
void smb_open_for_writing(struct ftpd_shell *shell, const struct ftpd_path *path,
    enum ftpd_write_mode mode, uint64_t offset, ftpd_open_write_fn done, void *arg);

/* shell.c */
void smb_stat_from(const struct smb_session *session, int is_directory, int read_only,
    uint64_t size, time_t mtime, uint64_t inode, struct ftpd_stat *stat);

#endif
