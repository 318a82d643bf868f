/*
 * portal: runs the checker for the credentials, then asks the realm for the
 * user's shell (Twisted's Portal.login), without ever blocking the event loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "log/log.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"
#include "portal/realm.h"

struct portal {
	const struct config *config;
	struct checker *anonymous_checker;
	/* passwd_file, passwd_db, system_users (PAM) or the monitor asked for one; NULL: none */
	struct checker *password_checker;
	struct realm *realm;
	/* Logins in flight, so portal_free can cancel what sessions left behind. */
	struct portal_request *requests;
};

struct portal_request {
	struct portal *portal;
	struct portal_request *previous;
	struct portal_request *next;
	struct checker *checker;
	struct checker_request *check;	/* NULL until check() returned */
	portal_login_fn done;
	void *arg;
};

int
portal_is_anonymous_user(const char *user)
{
	return strcasecmp(user, "anonymous") == 0 || strcasecmp(user, "ftp") == 0;
}

int
portal_password_checker_new(const struct config *config, struct worker_pool *workers,
    struct checker **checker)
{
	*checker = NULL;
	if (config->login == LOGIN_SHELL)
		return 0;	/* the workers' shell module checks, never the monitor */
	if (config->system_users)
		*checker = checker_system_new(workers);
	else if (config->passwd_db != NULL)
		*checker = checker_postgresql_new(config, workers);
	else if (config->passwd_file != NULL)
		*checker = checker_passwd_new(config, workers);
	else
		return 0;
	return *checker == NULL ? -ENOMEM : 0;
}

struct portal *
portal_new(const struct config *config, struct checker *password_checker, struct ftpd_host *host)
{
	struct portal *portal;

	portal = calloc(1, sizeof(*portal));
	if (portal == NULL) {
		log_error("portal: out of memory");
		checker_free(password_checker);
		return NULL;
	}
	portal->config = config;
	portal->password_checker = password_checker;
	portal->anonymous_checker = checker_anonymous_new(config);
	if (portal->anonymous_checker == NULL)
		goto fail;
	portal->realm = realm_new(config, host);
	if (portal->realm == NULL)
		goto fail;
	return portal;
fail:
	log_error("portal: cannot set up logins");
	portal_free(portal);
	return NULL;
}

static void
request_unlink(struct portal_request *request)
{
	if (request->previous != NULL)
		request->previous->next = request->next;
	else
		request->portal->requests = request->next;
	if (request->next != NULL)
		request->next->previous = request->previous;
}

void
checker_free(struct checker *checker)
{
	if (checker == NULL)
		return;
	if (checker->ops->free != NULL)
		checker->ops->free(checker);
	else
		free(checker);
}

void
portal_free(struct portal *portal)
{
	if (portal == NULL)
		return;
	while (portal->requests != NULL)
		portal_cancel(portal->requests);
	checker_free(portal->anonymous_checker);
	checker_free(portal->password_checker);
	realm_free(portal->realm);
	free(portal);
}

/* The checker answered: build the shell and tell the session. */
static void
portal_checked(void *context, int error, struct avatar_id *id)
{
	struct portal_request *request = context;
	struct portal *portal = request->portal;
	portal_login_fn done = request->done;
	void *arg = request->arg;
	struct avatar *avatar = NULL;

	request_unlink(request);
	free(request);

	if (error == CHECKER_BANNED || error == CHECKER_STORE_GONE ||
	    error == CHECKER_USERS_UNREACHABLE) {
		/*
		 * The address may not log in at all for now, or the shell's store
		 * or the user database cannot be reached: the session says so and
		 * closes.
		 */
	} else if (error != 0) {
		/* Wrong password, unknown user or an unreadable file look the same to a client. */
		error = -EACCES;
	} else {
		error = realm_request_avatar(portal->realm, id, &avatar);
		if (error != 0)
			avatar = NULL;
	}
	avatar_id_free(id);
	done(arg, error, avatar);
}

struct portal_request *
portal_login(struct portal *portal, const char *user, const char *password,
    const struct sockaddr *peer, portal_login_fn done, void *arg)
{
	struct portal_request *request;
	struct checker_request *check;
	struct checker *checker;

	/* Guests only ever meet the anonymous checker, like Twisted's Anonymous credentials. */
	if (portal_is_anonymous_user(user))
		checker = portal->anonymous_checker;
	else
		checker = portal->password_checker;
	if (checker == NULL) {
		done(arg, -EACCES, NULL);
		return NULL;
	}

	request = calloc(1, sizeof(*request));
	if (request == NULL) {
		done(arg, -ENOMEM, NULL);
		return NULL;
	}
	request->portal = portal;
	request->checker = checker;
	request->done = done;
	request->arg = arg;
	request->next = portal->requests;
	if (request->next != NULL)
		request->next->previous = request;
	portal->requests = request;

	/* check() copies the password and zeroes its copy, so the caller's buffer may go now. */
	check = checker->ops->check(checker, user, password, peer, portal_checked, request);
	if (check == NULL)
		return NULL;	/* portal_checked already ran and freed request */
	request->check = check;
	return request;
}

void
portal_cancel(struct portal_request *request)
{
	if (request == NULL)
		return;
	request_unlink(request);
	if (request->check != NULL)
		request->checker->ops->cancel(request->check);
	free(request);
}

int
portal_avatar(struct portal *portal, struct avatar_id *id, struct avatar **avatar)
{
	return realm_request_avatar(portal->realm, id, avatar);
}

int
portal_open_shell(struct portal *portal, struct avatar *avatar, struct ftpd_host *host)
{
	return realm_open_shell(portal->realm, avatar, host);
}

void
avatar_logout(struct avatar *avatar)
{
	if (avatar == NULL)
		return;
	if (avatar->shell != NULL && avatar->session_started &&
	    FTPD_SHELL_OP(avatar->shell, session_end) != NULL)
		avatar->shell->ops->session_end(avatar->shell, &avatar->session_info);
	if (avatar->shell != NULL)
		avatar->shell->ops->destroy(avatar->shell);
	if (avatar->shell_login != NULL && avatar->release_shell_login != NULL)
		avatar->release_shell_login(avatar->shell_login);
	free(avatar->name);
	free(avatar->home);
	free(avatar->account);
	free(avatar);
}
