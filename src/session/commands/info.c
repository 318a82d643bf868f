/*
 * session/commands/info: commands that only talk about the session or the server:
 * NOOP, SYST, FEAT, HELP, OPTS, STAT, and the transfer parameters TYPE, MODE, STRU, ALLO.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "config/settings.h"
#include "dtp/transfer.h"
#include "listing/listing.h"
#include "portal/portal.h"
#include "session/commands/commands.h"
#include "session/session.h"
#include "util/attributes.h"

#ifndef FTPD_VERSION
#define FTPD_VERSION "unknown"
#endif

void
command_noop(struct session *session, const char *argument UNUSED)
{
	session_reply(session, REPLY_NOOP_OK);
}

void
command_syst(struct session *session, const char *argument UNUSED)
{
	session_reply(session, REPLY_SYSTEM_TYPE);
}

void
command_feat(struct session *session, const char *argument UNUSED)
{
	char mlst[128];

	listing_write_mlst_feature(mlst, sizeof(mlst), session->mlst_facts);
	command_write_features(session_output(session), mlst, session->settings->tls != NULL);
}

void
command_help(struct session *session, const char *argument)
{
	const struct command *command;
	char syntax[256];
	size_t length;

	if (argument == NULL || *argument == '\0') {
		command_write_help(session_output(session));
		return;
	}
	command = strlen(argument) <= 8 ? command_find(argument) : NULL;
	if (command == NULL) {
		session_reply(session, REPLY_UNKNOWN_COMMAND, argument);
		return;
	}
	if (command_syntax(command, syntax, sizeof(syntax)) != 0)
		syntax[0] = '\0';
	length = strlen(syntax);
	if (!command_is_implemented(command))
		snprintf(syntax + length, sizeof(syntax) - length, " (not implemented)");
	session_reply(session, REPLY_COMMAND_SYNTAX, syntax);
}

/* Splits "word rest" into an upper-cased word (bounded) and the rest. */
static const char *
first_word(const char *argument, char *word, size_t size)
{
	size_t length = 0;

	while (*argument == ' ')
		argument++;
	while (*argument != '\0' && *argument != ' ') {
		if (length + 1 < size)
			word[length++] = (char)toupper((unsigned char)*argument);
		argument++;
	}
	word[length] = '\0';
	while (*argument == ' ')
		argument++;
	return argument;
}

/* OPTS UTF8 [ON | OFF]: names are always UTF-8, so either answer is yes. */
void
command_opts_utf8(struct session *session, const char *argument)
{
	if (argument == NULL || strcasecmp(argument, "ON") == 0 || strcasecmp(argument, "OFF") == 0)
		session_reply(session, REPLY_UTF8_ALWAYS);
	else
		session_reply(session, reply_for_argument_error(-EINVAL), argument);
}

/* OPTS MLST fact;fact;... */
void
command_opts_mlst(struct session *session, const char *argument)
{
	char feature[128], selected[128] = "", *fact, *next;

	session->mlst_facts = listing_parse_fact_selection(argument != NULL ? argument : "");
	/* The reply names the facts now selected: the starred ones of the FEAT line. */
	listing_write_mlst_feature(feature, sizeof(feature), session->mlst_facts);
	for (fact = feature + strlen("MLST "); (next = strchr(fact, ';')) != NULL; fact = next + 1) {
		*next = '\0';
		if (next > fact && next[-1] == '*') {
			next[-1] = '\0';
			strncat(selected, fact, sizeof(selected) - strlen(selected) - 2);
			strcat(selected, ";");
		}
	}
	session_reply(session, REPLY_MLST_OPTS, selected);
}

void
command_stat(struct session *session, const char *argument)
{
	const struct config *config = session->config;
	struct evbuffer *out = session_output(session);

	if (argument != NULL && *argument != '\0') {
		session_reply(session, REPLY_NOT_IMPLEMENTED_FOR_PARAMETER, argument);
		return;
	}
	reply_begin(out, REPLY_STATUS);
	reply_continue(out, "Connected to %s", session->peer_text);
	reply_continue(out, "Logged in as %s%s", session->avatar->name,
	    session->avatar->anonymous ? " (anonymous)" : "");
	reply_continue(out, "TYPE: %s, STRUcture: File, MODE: Stream",
	    session->binary ? "BINARY" : "ASCII");
	reply_continue(out, "Session timeout in seconds is %u", config->idle_timeout);
	reply_continue(out, "%u session(s) connected to this server",
	    session->services->session_count(session->services->owner));
	if (session->transfer != NULL) {
		uint64_t expected = transfer_expected_bytes(session->transfer);

		if (expected != 0)
			reply_continue(out, "Transfer in progress: %" PRIu64 " of %" PRIu64 " bytes",
			    transfer_bytes(session->transfer), expected);
		else
			reply_continue(out, "Transfer in progress: %" PRIu64 " bytes",
			    transfer_bytes(session->transfer));
	}
	reply_continue(out, "ftpd %s", FTPD_VERSION);
	reply_end(out, REPLY_STATUS);
}

void
command_type(struct session *session, const char *argument)
{
	char type[4], format[4];
	const char *rest = first_word(argument, type, sizeof(type));

	rest = first_word(rest, format, sizeof(format));
	if (*rest != '\0' || strlen(type) != 1) {
		session_reply(session, reply_for_argument_error(-EINVAL), argument);
		return;
	}
	/* ASCII non-print and 8-bit local bytes are what every client means. */
	if (type[0] == 'A' && (format[0] == '\0' || strcmp(format, "N") == 0)) {
		session->binary = 0;
		session_reply(session, REPLY_TYPE_ASCII);
	} else if ((type[0] == 'I' && format[0] == '\0') ||
	    (type[0] == 'L' && strcmp(format, "8") == 0)) {
		session->binary = 1;
		session_reply(session, REPLY_TYPE_BINARY);
	} else if (strchr("AEIL", type[0]) != NULL)
		session_reply(session, REPLY_NOT_IMPLEMENTED_FOR_PARAMETER, argument);
	else
		session_reply(session, reply_for_argument_error(-EINVAL), argument);
}

/* MODE and STRU: one letter each, and only one of them is supported. */
static void
single_letter_parameter(struct session *session, const char *argument, char supported,
    const char *known, enum reply_id ok)
{
	if (strlen(argument) != 1 || strchr(known, toupper((unsigned char)argument[0])) == NULL)
		session_reply(session, reply_for_argument_error(-EINVAL), argument);
	else if (toupper((unsigned char)argument[0]) == supported)
		session_reply(session, ok);
	else
		session_reply(session, REPLY_NOT_IMPLEMENTED_FOR_PARAMETER, argument);
}

void
command_mode(struct session *session, const char *argument)
{
	single_letter_parameter(session, argument, 'S', "SBC", REPLY_MODE_OK);
}

void
command_stru(struct session *session, const char *argument)
{
	single_letter_parameter(session, argument, 'F', "FRP", REPLY_STRUCTURE_OK);
}

void
command_allo(struct session *session, const char *argument UNUSED)
{
	session_reply(session, REPLY_ALLO_IGNORED);
}
