/*
 * session/commands/security: FTPS (RFC 2228, RFC 4217): AUTH, PBSZ, PROT, CCC.
 * What tls = required refuses is in the command table.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "config/settings.h"
#include "session/commands/commands.h"
#include "session/session.h"
#include "util/attributes.h"

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
	/*
	 * Nothing more is read until the 234 is out and the socket speaks TLS;
	 * upgrading first keeps the 234 in the bufferevent, whose write
	 * callback then starts TLS.
	 */
	session_pause(session);
	session->tls_upgrading = 1;
	session_reply(session, REPLY_AUTH_TLS_OK);
}

void
command_pbsz(struct session *session, const char *argument UNUSED)
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
command_ccc(struct session *session, const char *argument UNUSED)
{
	session_reply(session, REPLY_CCC_REFUSED);
}
