/*
 * session/commands/security: FTPS (RFC 2228, RFC 4217): AUTH, PBSZ, PROT, CCC, and the
 * policy checks of tls = required.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "session/commands/commands.h"
#include "config/config.h"
#include "portal/portal.h"
#include "server/server.h"
#include "session/session.h"
#include "config/settings.h"

void
command_auth(struct session *session, const char *argument)
{
	if (session->settings->tls == NULL) {
		session_reply(session, REPLY_TLS_NOT_CONFIGURED);
		return;
	}
	if (session->tls != NULL) {
		session_reply(session, REPLY_BAD_SEQUENCE, "TLS is already active");
		return;
	}
	/* "SSL" is what old clients send for the same thing (RFC 4217 appendix). */
	if (strcasecmp(argument, "TLS") != 0 && strcasecmp(argument, "SSL") != 0 &&
	    strcasecmp(argument, "TLS-C") != 0) {
		session_reply(session, REPLY_NOT_IMPLEMENTED_FOR_PARAMETER, argument);
		return;
	}
	session_reply(session, REPLY_AUTH_TLS_OK);
	/* Nothing more is read until the 234 is out and the socket speaks TLS. */
	session->busy = 1;
	session->tls_upgrading = 1;
}

void
command_pbsz(struct session *session, const char *argument)
{
	if (session->tls == NULL) {
		session_reply(session, REPLY_BAD_SEQUENCE, "PBSZ needs AUTH TLS first");
		return;
	}
	/* TLS needs no buffer size: the answer is always 0 (RFC 4217 9). */
	session->protection_size_set = 1;
	session_reply(session, REPLY_PBSZ_OK);
}

void
command_prot(struct session *session, const char *argument)
{
	char level = (char)toupper((unsigned char)argument[0]);

	if (!session->protection_size_set) {
		session_reply(session, REPLY_BAD_SEQUENCE, "PROT needs PBSZ first");
		return;
	}
	if (argument[1] != '\0' || strchr("CSEP", level) == NULL) {
		session_reply(session, REPLY_NOT_IMPLEMENTED_FOR_PARAMETER, argument);
		return;
	}
	if (level == 'S' || level == 'E') {
		session_reply(session, REPLY_PROTECTION_LEVEL_NOT_SUPPORTED);
		return;
	}
	session->protect_data = level == 'P';
	session_reply(session, level == 'P' ? REPLY_PROT_PRIVATE : REPLY_PROT_CLEAR);
}

void
command_ccc(struct session *session, const char *argument)
{
	session_reply(session, REPLY_CCC_REFUSED);
}

/* tls = required (and the plain port of tls = implicit): may this user skip TLS? */
static int
tls_demanded(struct session *session, int anonymous)
{
	const struct config *config = session->config;

	if (config->tls != TLS_REQUIRED && config->tls != TLS_IMPLICIT)
		return 0;
	return !(anonymous && strcmp(config->tls_anonymous, "optional") == 0);
}

int
session_tls_allows_login(struct session *session, const char *user)
{
	if (session->tls != NULL || !tls_demanded(session, portal_is_anonymous_user(user)))
		return 1;
	session_reply(session, REPLY_TLS_REQUIRED_FOR_LOGIN);
	return 0;
}

int
session_tls_allows_transfer(struct session *session)
{
	if (session->protect_data || !tls_demanded(session, session->avatar->anonymous))
		return 1;
	session_reply(session, REPLY_PROTECTED_DATA_REQUIRED);
	return 0;
}
