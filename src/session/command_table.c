/*
 * command_table: every command ftpd knows, and the checks made before a handler runs.
 * Rows without a handler are known commands answered 502, so clients learn they are unsupported.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "session/command_table.h"
#include "session/commands/commands.h"

#define LOGGED_IN (SESSION_AUTHED)

static const struct command commands[] = {
	/* login and session */
	{ "USER", command_user, SESSION_UNAUTH | SESSION_AUTHED, ARGUMENT_REQUIRED, 0, NULL, "USER <name>" },
	{ "PASS", command_pass, SESSION_INAUTH, ARGUMENT_OPTIONAL, COMMAND_HIDE_ARGUMENT, NULL, "PASS <password>" },
	{ "QUIT", command_quit, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC | COMMAND_DURING_TRANSFER, NULL, "QUIT" },
	{ "ACCT", NULL, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "ACCT <account>" },
	{ "REIN", NULL, SESSION_ANY_STATE, ARGUMENT_NONE, 0, NULL, "REIN" },
	{ "SMNT", NULL, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "SMNT <path>" },
	/* information */
	{ "NOOP", command_noop, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC | COMMAND_DURING_TRANSFER, NULL, "NOOP" },
	{ "SYST", command_syst, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC, NULL, "SYST" },
	{ "FEAT", command_feat, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC, NULL, "FEAT" },
	{ "HELP", command_help, SESSION_ANY_STATE, ARGUMENT_OPTIONAL, COMMAND_PUBLIC, NULL, "HELP [<command>]" },
	{ "OPTS", command_opts, SESSION_ANY_STATE, ARGUMENT_REQUIRED, COMMAND_PUBLIC, "UTF8", "OPTS <option> [<value>]" },
	{ "STAT", command_stat, LOGGED_IN, ARGUMENT_OPTIONAL, COMMAND_DURING_TRANSFER, NULL, "STAT" },
	/* transfer parameters */
	{ "TYPE", command_type, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "TYPE A | A N | I | L 8" },
	{ "MODE", command_mode, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "MODE S" },
	{ "STRU", command_stru, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "STRU F" },
	{ "ALLO", command_allo, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "ALLO <size>" },
	/* directories and files */
	{ "PWD", command_pwd, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "PWD" },
	{ "XPWD", command_pwd, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "XPWD" },
	{ "CWD", command_cwd, LOGGED_IN, ARGUMENT_OPTIONAL, 0, "TVFS", "CWD <path>" },
	{ "XCWD", command_cwd, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "XCWD <path>" },
	{ "CDUP", command_cdup, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "CDUP" },
	{ "XCUP", command_cdup, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "XCUP" },
	{ "SIZE", command_size, LOGGED_IN, ARGUMENT_REQUIRED, 0, "SIZE", "SIZE <path>" },
	{ "MDTM", command_mdtm, LOGGED_IN, ARGUMENT_REQUIRED, 0, "MDTM", "MDTM <path>" },
	{ "MKD", command_mkd, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "MKD <path>" },
	{ "XMKD", command_mkd, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "XMKD <path>" },
	{ "RMD", command_rmd, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "RMD <path>" },
	{ "XRMD", command_rmd, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "XRMD <path>" },
	{ "DELE", command_dele, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "DELE <path>" },
	{ "RNFR", command_rnfr, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "RNFR <path>" },
	{ "RNTO", command_rnto, SESSION_RENAMING, ARGUMENT_REQUIRED, 0, NULL, "RNTO <path>" },
	/* data connections and transfers */
	{ "PASV", command_pasv, LOGGED_IN, ARGUMENT_NONE, 0, "PASV", "PASV" },
	{ "EPSV", command_epsv, LOGGED_IN, ARGUMENT_OPTIONAL, 0, "EPSV", "EPSV [<protocol> | ALL]" },
	{ "PORT", command_port, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "PORT <h1,h2,h3,h4,p1,p2>" },
	{ "EPRT", command_eprt, LOGGED_IN, ARGUMENT_REQUIRED, 0, "EPRT", "EPRT |<protocol>|<address>|<port>|" },
	{ "LIST", command_list, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "LIST [<path>]" },
	{ "NLST", command_nlst, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "NLST [<path>]" },
	{ "MLSD", command_mlsd, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "MLSD [<path>]" },
	{ "MLST", command_mlst, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "MLST [<path>]" },
	{ "RETR", command_retr, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "RETR <path>" },
	{ "STOR", command_stor, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "STOR <path>" },
	{ "STOU", command_stou, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "STOU" },
	{ "APPE", command_appe, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "APPE <path>" },
	{ "REST", command_rest, LOGGED_IN, ARGUMENT_REQUIRED, 0, "REST STREAM", "REST <offset>" },
	{ "ABOR", command_abor, LOGGED_IN, ARGUMENT_NONE, COMMAND_DURING_TRANSFER, NULL, "ABOR" },
	{ "MFMT", command_mfmt, LOGGED_IN, ARGUMENT_REQUIRED, 0, "MFMT", "MFMT <YYYYMMDDHHMMSS> <path>" },
	{ "SITE", command_site, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "SITE CHMOD <mode> <path> | SITE HELP" },
	/* security extensions (RFC 2228, 4217) */
	{ "AUTH", command_auth, SESSION_ANY_STATE, ARGUMENT_REQUIRED, COMMAND_PUBLIC | COMMAND_TLS_FEATURE, "AUTH TLS", "AUTH TLS" },
	{ "PBSZ", command_pbsz, SESSION_ANY_STATE, ARGUMENT_REQUIRED, COMMAND_PUBLIC | COMMAND_TLS_FEATURE, "PBSZ", "PBSZ 0" },
	{ "PROT", command_prot, SESSION_ANY_STATE, ARGUMENT_REQUIRED, COMMAND_PUBLIC | COMMAND_TLS_FEATURE, "PROT", "PROT C | P" },
	{ "CCC", command_ccc, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC, NULL, "CCC" },
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < COMMAND_COUNT; i++)
		if (strcasecmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* The refusal for a command that exists but not in this state (Twisted's rules). */
static enum reply_id
refusal_for_state(const struct command *command, unsigned state)
{
	switch (state) {
	case SESSION_UNAUTH:
		return command->handler == command_pass ? REPLY_USER_FIRST : REPLY_NOT_LOGGED_IN;
	case SESSION_INAUTH:
		return REPLY_PASS_REQUIRED;
	case SESSION_RENAMING:
		return REPLY_RNTO_REQUIRED;
	default:
		return command->handler == command_rnto ? REPLY_RNFR_FIRST : REPLY_BAD_SEQUENCE;
	}
}

enum reply_id
command_check(const struct command *command, unsigned state, const char *argument)
{
	if (!(command->flags & COMMAND_PUBLIC) && !(command->states & state))
		return refusal_for_state(command, state);
	if (command->handler == NULL)
		return REPLY_NOT_IMPLEMENTED;
	if (command->argument == ARGUMENT_REQUIRED && (argument == NULL || *argument == '\0'))
		return REPLY_ARGUMENT_REQUIRED;
	if (command->argument == ARGUMENT_NONE && argument != NULL && *argument != '\0')
		return REPLY_NO_ARGUMENT_ALLOWED;
	return REPLY_COUNT;
}

void
command_write_features(struct evbuffer *out, const char *extra, int tls_available)
{
	size_t i;

	reply_begin(out, 211, "Features:");
	for (i = 0; i < COMMAND_COUNT; i++)
		if (commands[i].feature != NULL && commands[i].handler != NULL &&
		    (tls_available || !(commands[i].flags & COMMAND_TLS_FEATURE)))
			reply_continue(out, "%s", commands[i].feature);
	if (extra != NULL)
		reply_continue(out, "%s", extra);
	reply_end(out, 211, "End");
}

void
command_write_help(struct evbuffer *out)
{
	char line[128], cell[16];
	size_t i, used = 0;

	reply_begin(out, 214, "The following commands are recognized (* = not implemented):");
	for (i = 0; i < COMMAND_COUNT; i++) {
		snprintf(cell, sizeof(cell), "%s%s", commands[i].name,
		    commands[i].handler == NULL ? "*" : "");
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%-6s ", cell);
		if ((i + 1) % 8 == 0 || i + 1 == COMMAND_COUNT) {
			reply_continue(out, "%s", line);
			used = 0;
		}
	}
	reply_end(out, 214, "Help OK.");
}
