/*
 * portal: credentials -> checkers -> avatar id -> realm -> (shell, logout).
 * Asynchronous for every checker: a login never blocks the event loop.
 */
#ifndef FTPD_PORTAL_H
#define FTPD_PORTAL_H

#include <event2/event.h>

#include "config/config.h"
#include "ftpd/shell.h"
#include "portal/checkers/checkers.h"

struct portal;
struct portal_request;
struct worker_pool;
struct checker;

struct system_account;
struct avatar_id;

/* What a successful login yields: the user's shell and who they are. */
struct avatar {
	struct ftpd_shell *shell;	/* NULL until portal_open_shell, with system_users */
	char *name;		/* login name; "anonymous" for guests */
	int anonymous;
	int read_only;		/* its shell refuses every change (guests, read_only users) */
	struct user_settings settings;	/* the user store's shell and limits (passwd_db) */
	char *home;		/* the directory the shell serves */
	struct system_account *account;	/* system_users logins: whom to become; else NULL */
	/* login = shell: authenticate's login until create takes it over. */
	void *shell_login;
	void (*release_shell_login)(void *login);
	/* The shell's session_start let the session in: session_end is owed. */
	int session_started;
	struct ftpd_session_info session_info;	/* for the shell's session hooks */
	char client_address[64];
};

/*
 * error is 0 with avatar set (the callee now owns it: avatar_logout), or
 * -EACCES for wrong credentials / unknown user / anonymous not allowed, or
 * another -errno when the realm could not build the shell (bad home...).
 */
typedef void (*portal_login_fn)(void *arg, int error, struct avatar *avatar);

/*
 * The checker for config's password logins, run on workers' threads:
 * system accounts (PAM) with system_users, else passwd_db or passwd_file
 * users; *checker is NULL when config has none. 0 or -ENOMEM (logged).
 */
int portal_password_checker_new(const struct config *config, struct worker_pool *workers,
    struct checker **checker);

/*
 * A portal for guests (config->anonymous) and for password logins through
 * password_checker (taken over; NULL: none). config and host (offered to
 * every shell; may be NULL) must outlive the portal. NULL on failure (logged).
 */
struct portal *portal_new(const struct config *config, struct checker *password_checker,
    struct ftpd_host *host);
void portal_free(struct portal *portal);

/* Users "anonymous" and "ftp" (any case) are guests. */
int portal_is_anonymous_user(const char *user);

/*
 * Starts a login. done() runs exactly once, possibly before this returns,
 * unless the request is cancelled first. Returns the request handle, or NULL
 * when done() already ran.
 */
struct portal_request *portal_login(struct portal *portal, const char *user,
    const char *password, const struct sockaddr *peer, portal_login_fn done, void *arg);

/* The session went away: done() will not be called. */
void portal_cancel(struct portal_request *request);

/*
 * With system_users the portal hands out avatars without a shell: the
 * session's own process opens it once it runs as the user, with its own
 * host. 0 or the shell's -errno.
 */
int portal_open_shell(struct portal *portal, struct avatar *avatar, struct ftpd_host *host);

/*
 * The avatar for a login checked elsewhere (the monitor, for a user
 * process), taking over id->account: 0 with *avatar set, or -errno.
 */
int portal_avatar(struct portal *portal, struct avatar_id *id, struct avatar **avatar);

/* Ends the session's use of the shell and frees the avatar. */
void avatar_logout(struct avatar *avatar);

#endif
