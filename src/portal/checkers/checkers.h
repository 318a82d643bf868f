/*
 * portal/checkers: credentials in, avatar id out, completing asynchronously (Twisted's
 * ICredentialsChecker): guests, the passwd_file users, users in PostgreSQL
 * (passwd_db) and system accounts (PAM).
 */
#ifndef FTPD_CHECKERS_H
#define FTPD_CHECKERS_H

#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "ftpd/shell.h"

struct worker_pool;
struct monitor_link;
struct checker;
struct checker_request;

/* Longest login name a checker accepts; longer ones fail without a lookup. */
/* A check refused unmade: the client's address is banned (ban_after_failures). */
#define CHECKER_BANNED (-EKEYREJECTED)
/* A check that could not be made: the store behind the shell is gone (421). */
#define CHECKER_STORE_GONE (-EHOSTDOWN)
/* A check that could not be made: the user database (passwd_db) does not answer (421). */
#define CHECKER_USERS_UNREACHABLE (-ENOLINK)
#define CHECKER_USER_MAX 64

/* Most supplementary groups a system account brings along; more are refused. */
#define CHECKER_GROUPS_MAX 64

/*
 * A system account (system_users): the identity its session process takes
 * after login, so that the kernel checks every file operation.
 */
struct system_account {
	uid_t uid;
	gid_t gid;
	gid_t groups[CHECKER_GROUPS_MAX];	/* supplementary groups, gid among them */
	int group_count;
	/* From the monitor: what the worker shows to have the account's process started. */
	unsigned char hand_off_ticket[16];
};

/* Longest shell name a user store may give a user ("fs", "anon", a module's name). */
#define CHECKER_SHELL_NAME_MAX 63

/* A per-user limit the user store leaves to the config. */
#define USER_LIMIT_UNSET UINT64_MAX

/*
 * What a user store sets for one user (passwd_db's optional columns); what
 * it leaves unset follows the config. Limits are bytes and bytes per second;
 * 0 lifts the config's limit for that user.
 */
struct user_settings {
	char shell[CHECKER_SHELL_NAME_MAX + 1];	/* a shell the server runs; "": shell */
	uint64_t quota_bytes;			/* USER_LIMIT_UNSET: quota_bytes */
	uint64_t quota_files;			/* USER_LIMIT_UNSET: quota_files */
	uint64_t max_rate_down;			/* USER_LIMIT_UNSET: max_rate_down */
	uint64_t max_rate_up;			/* USER_LIMIT_UNSET: max_rate_up */
};

/* Nothing set: the config decides everything. */
static inline void
user_settings_init(struct user_settings *settings)
{
	settings->shell[0] = '\0';
	settings->quota_bytes = USER_LIMIT_UNSET;
	settings->quota_files = USER_LIMIT_UNSET;
	settings->max_rate_down = USER_LIMIT_UNSET;
	settings->max_rate_up = USER_LIMIT_UNSET;
}

/* A shell name a store may give: letters, digits, '.', '_', '-', not starting with '.'. */
static inline int
user_shell_name_is_valid(const char *name)
{
	const char *cursor;

	if (name[0] == '\0' || name[0] == '.' || strlen(name) > CHECKER_SHELL_NAME_MAX)
		return 0;
	for (cursor = name; *cursor != '\0'; cursor++)
		if (!((*cursor >= 'a' && *cursor <= 'z') || (*cursor >= 'A' && *cursor <= 'Z') ||
		    (*cursor >= '0' && *cursor <= '9') || *cursor == '.' || *cursor == '_' ||
		    *cursor == '-'))
			return 0;
	return 1;
}

/* Who the credentials proved the user to be: what the realm builds a shell for. */
struct avatar_id {
	char *name;		/* login name; "anonymous" for guests */
	char *home;		/* home given by the password file or the account, or NULL */
	int anonymous;
	int read_only;		/* the store allows this user to read only (passwd_db) */
	struct user_settings settings;	/* the store's shell and limits for this user */
	struct system_account *account;	/* system_users logins only, else NULL */
	/* login = shell: what the module's authenticate gave, for its create. */
	void *shell_login;
	void (*release_shell_login)(void *login);
};

/*
 * error is 0 with id set (the callee owns it: avatar_id_free), or -EACCES
 * for credentials that do not match, or another -errno when checking
 * itself failed (out of memory, the worker pool went away: -ECANCELED).
 */
typedef void (*checker_done_fn)(void *arg, int error, struct avatar_id *id);

struct checker_ops {
	/*
	 * Starts checking user and password; both are copied, so the caller's
	 * buffers may go away at once. peer is the client's address (NULL:
	 * unknown), for a checker that counts failures per address. done()
	 * runs exactly once on the loop thread, possibly before this returns,
	 * unless the request is cancelled. Returns the request, or NULL when
	 * done() already ran.
	 */
	struct checker_request *(*check)(struct checker *checker, const char *user,
	    const char *password, const struct sockaddr *peer, checker_done_fn done, void *arg);
	/* The caller went away: done() will not run, and the request is freed. */
	void (*cancel)(struct checker_request *request);
	/*
	 * Requests still running must have completed or been cancelled. NULL
	 * for a checker that owns nothing but its own struct (freed with free).
	 */
	void (*free)(struct checker *checker);
};

struct checker {
	const struct checker_ops *ops;
};

/* Frees checker (NULL: nothing) through its ops, or plainly when it owns nothing else. */
void checker_free(struct checker *checker);

/* Guests: "anonymous" or "ftp" in any case, any password, if config->anonymous. */
struct checker *checker_anonymous_new(const struct config *config);

/*
 * Users of config->passwd_file ("name:hash[:home]" lines), reread at every
 * login in a worker thread so that edits apply at once. NULL on failure.
 */
struct checker *checker_passwd_new(const struct config *config, struct worker_pool *workers);

/*
 * Users of the PostgreSQL database config->passwd_db, looked up with
 * libpq's asynchronous API on the loop of workers (a few connections, made
 * when first needed and again after a break), hashes checked in a worker
 * thread. While the database does not answer, checks complete with
 * CHECKER_USERS_UNREACHABLE within a second. The query and the table are
 * in conf/sql/schema.sql. NULL on failure (logged).
 */
struct checker *checker_postgresql_new(const struct config *config, struct worker_pool *workers);

/*
 * System accounts through PAM (service "ftpd") in a worker thread: the id
 * carries the account's home and identity. Accounts whose login shell is not
 * in /etc/shells (nologin, false) and uid 0 are refused. NULL on failure.
 */
struct checker *checker_system_new(struct worker_pool *workers);

/*
 * login = shell: module's authenticate checks the password (an SMB gateway
 * asks its server), in the worker that will run the session; the id carries
 * what it gave, for the module's create. NULL when out of memory.
 */
struct checker *checker_shell_new(const struct config *config,
    const struct ftpd_shell_module *module, struct ftpd_host *host);

/*
 * In a worker: passwords are the monitor's to check (it alone may read the
 * passwd file or run PAM); the answer comes back over link. NULL when out
 * of memory.
 */
struct checker *checker_monitor_new(struct monitor_link *link);

/*
 * Names no checker looks up: empty, longer than CHECKER_USER_MAX, or with
 * control characters, ':' (the passwd field separator) or '/'.
 */
static inline int
checker_user_name_is_valid(const char *name)
{
	const unsigned char *cursor;
	size_t length = 0;

	for (cursor = (const unsigned char *)name; *cursor != '\0'; cursor++) {
		if (*cursor < 0x20 || *cursor == 0x7f || *cursor == ':' || *cursor == '/')
			return 0;
		if (++length > CHECKER_USER_MAX)
			return 0;
	}
	return length > 0;
}

/* 0 with *id allocated, or -ENOMEM. home may be NULL. */
static inline int
avatar_id_new(const char *name, const char *home, int anonymous, struct avatar_id **id)
{
	struct avatar_id *created;

	created = calloc(1, sizeof(*created));
	if (created == NULL)
		return -ENOMEM;
	created->anonymous = anonymous;
	user_settings_init(&created->settings);
	created->name = strdup(name);
	created->home = home != NULL ? strdup(home) : NULL;
	if (created->name == NULL || (home != NULL && created->home == NULL)) {
		free(created->name);
		free(created->home);
		free(created);
		return -ENOMEM;
	}
	*id = created;
	return 0;
}

static inline void
avatar_id_free(struct avatar_id *id)
{
	if (id == NULL)
		return;
	if (id->shell_login != NULL && id->release_shell_login != NULL)
		id->release_shell_login(id->shell_login);
	free(id->name);
	free(id->home);
	free(id->account);
	free(id);
}

#endif
