/*
 * session/command_table: every command ftpd knows, and the checks made before a handler runs.
 * Rows without a handler are known commands answered 502, so clients learn they are unsupported.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "session/command_table.h"
#include "session/commands/commands.h"

/* Short names, so that a row reads as one line: name, handler, states, argument, flags, FEAT, HELP. */
#define ANY SESSION_ANY_STATE
#define UNAUTH SESSION_UNAUTH
#define INAUTH SESSION_INAUTH
#define LOGGED_IN SESSION_AUTHED
#define RENAMING SESSION_RENAMING
#define NONE ARGUMENT_NONE
#define OPTIONAL ARGUMENT_OPTIONAL
#define REQUIRED ARGUMENT_REQUIRED
#define PUBLIC COMMAND_PUBLIC
#define DURING_TRANSFER COMMAND_DURING_TRANSFER
#define HIDE_ARGUMENT COMMAND_HIDE_ARGUMENT
#define WRITES COMMAND_WRITES
#define NEEDS_TLS_CONTROL COMMAND_NEEDS_TLS_CONTROL
#define TRANSFER (COMMAND_NEEDS_DATA_CONNECTION | COMMAND_NEEDS_TLS_DATA)
#define TLS_COMMAND (COMMAND_PUBLIC | COMMAND_TLS_FEATURE)
#define ROWS(array) (array), sizeof(array) / sizeof((array)[0])
/* A row with the usual refusals and no subcommands. */
#define ROW(name, handler, states, argument, flags, feature, help) \
	{ name, handler, states, argument, flags, feature, help, 0, REPLY_COUNT, NULL }

/* SITE <subcommand> */
static const struct command site_rows[] = {
	ROW("CHMOD", command_site_chmod, LOGGED_IN, REQUIRED, WRITES, NULL, "CHMOD <octal mode> <path>"),
	ROW("HELP", command_site_help, LOGGED_IN, OPTIONAL, 0, NULL, "HELP"),
	ROW("SYMLINK", command_site_symlink, LOGGED_IN, REQUIRED, WRITES, NULL,
	    "SYMLINK <target> <link>"),
};
static const struct command_table site_commands = { ROWS(site_rows), REPLY_UNKNOWN_SITE_COMMAND };

/* OPTS <option>; names are always UTF-8, so clients asking either way get a yes. */
static const struct command opts_rows[] = {
	ROW("UTF8", command_opts_utf8, ANY, OPTIONAL, PUBLIC, NULL, "UTF8 [ON | OFF]"),
	ROW("UTF-8", command_opts_utf8, ANY, OPTIONAL, PUBLIC, NULL, "UTF-8 [ON | OFF]"),
	ROW("MLST", command_opts_mlst, ANY, OPTIONAL, PUBLIC, NULL, "MLST [<fact>;...]"),
};
static const struct command_table opts_commands = { ROWS(opts_rows), REPLY_OPTION_NOT_IMPLEMENTED };

static const struct command rows[] = {
	/* login and session */
	ROW("USER", command_user, UNAUTH | LOGGED_IN, REQUIRED, NEEDS_TLS_CONTROL, NULL, "USER <name>"),
	{ "PASS", command_pass, INAUTH, OPTIONAL, HIDE_ARGUMENT, NULL, "PASS <password>",
	  .early_state = UNAUTH, .early_refusal = REPLY_USER_FIRST },
	ROW("QUIT", command_quit, ANY, NONE, PUBLIC | DURING_TRANSFER, NULL, "QUIT"),
	ROW("ACCT", NULL, LOGGED_IN, REQUIRED, 0, NULL, "ACCT <account>"),
	ROW("REIN", NULL, ANY, NONE, 0, NULL, "REIN"),
	ROW("SMNT", NULL, LOGGED_IN, REQUIRED, 0, NULL, "SMNT <path>"),
	/* information */
	ROW("NOOP", command_noop, ANY, NONE, PUBLIC | DURING_TRANSFER, NULL, "NOOP"),
	ROW("SYST", command_syst, ANY, NONE, PUBLIC, NULL, "SYST"),
	ROW("FEAT", command_feat, ANY, NONE, PUBLIC, NULL, "FEAT"),
	ROW("HELP", command_help, ANY, OPTIONAL, PUBLIC, NULL, "HELP [<command>]"),
	{ "OPTS", NULL, ANY, REQUIRED, PUBLIC, "UTF8", NULL, .subcommands = &opts_commands },
	ROW("STAT", command_stat, LOGGED_IN, OPTIONAL, DURING_TRANSFER, NULL, "STAT"),
	/* transfer parameters */
	ROW("TYPE", command_type, LOGGED_IN, REQUIRED, 0, NULL, "TYPE A | A N | I | L 8"),
	ROW("MODE", command_mode, LOGGED_IN, REQUIRED, 0, NULL, "MODE S"),
	ROW("STRU", command_stru, LOGGED_IN, REQUIRED, 0, NULL, "STRU F"),
	ROW("ALLO", command_allo, LOGGED_IN, OPTIONAL, 0, NULL, "ALLO <size>"),
	/* directories and files */
	ROW("PWD", command_pwd, LOGGED_IN, NONE, 0, NULL, "PWD"),
	ROW("XPWD", command_pwd, LOGGED_IN, NONE, 0, NULL, "XPWD"),
	ROW("CWD", command_cwd, LOGGED_IN, OPTIONAL, 0, "TVFS", "CWD <path>"),
	ROW("XCWD", command_cwd, LOGGED_IN, OPTIONAL, 0, NULL, "XCWD <path>"),
	ROW("CDUP", command_cdup, LOGGED_IN, NONE, 0, NULL, "CDUP"),
	ROW("XCUP", command_cdup, LOGGED_IN, NONE, 0, NULL, "XCUP"),
	ROW("SIZE", command_size, LOGGED_IN, REQUIRED, 0, "SIZE", "SIZE <path>"),
	ROW("MDTM", command_mdtm, LOGGED_IN, REQUIRED, 0, "MDTM", "MDTM <path>"),
	ROW("MKD", command_mkd, LOGGED_IN, REQUIRED, WRITES, NULL, "MKD <path>"),
	ROW("XMKD", command_mkd, LOGGED_IN, REQUIRED, WRITES, NULL, "XMKD <path>"),
	ROW("RMD", command_rmd, LOGGED_IN, REQUIRED, WRITES, NULL, "RMD <path>"),
	ROW("XRMD", command_rmd, LOGGED_IN, REQUIRED, WRITES, NULL, "XRMD <path>"),
	ROW("DELE", command_dele, LOGGED_IN, REQUIRED, WRITES, NULL, "DELE <path>"),
	ROW("RNFR", command_rnfr, LOGGED_IN, REQUIRED, 0, NULL, "RNFR <path>"),
	{ "RNTO", command_rnto, RENAMING, REQUIRED, WRITES, NULL, "RNTO <path>",
	  .early_state = LOGGED_IN, .early_refusal = REPLY_RNFR_FIRST },
	/* data connections and transfers */
	ROW("PASV", command_pasv, LOGGED_IN, NONE, 0, "PASV", "PASV"),
	ROW("EPSV", command_epsv, LOGGED_IN, OPTIONAL, 0, "EPSV", "EPSV [<protocol> | ALL]"),
	ROW("PORT", command_port, LOGGED_IN, REQUIRED, 0, NULL, "PORT <h1,h2,h3,h4,p1,p2>"),
	ROW("EPRT", command_eprt, LOGGED_IN, REQUIRED, 0, "EPRT", "EPRT |<protocol>|<address>|<port>|"),
	ROW("LIST", command_list, LOGGED_IN, OPTIONAL, TRANSFER, NULL, "LIST [<path>]"),
	ROW("NLST", command_nlst, LOGGED_IN, OPTIONAL, TRANSFER, NULL, "NLST [<path>]"),
	ROW("MLSD", command_mlsd, LOGGED_IN, OPTIONAL, TRANSFER, NULL, "MLSD [<path>]"),
	ROW("MLST", command_mlst, LOGGED_IN, OPTIONAL, 0, NULL, "MLST [<path>]"),
	ROW("RETR", command_retr, LOGGED_IN, REQUIRED, TRANSFER, NULL, "RETR <path>"),
	ROW("STOR", command_stor, LOGGED_IN, REQUIRED, TRANSFER | WRITES, NULL, "STOR <path>"),
	ROW("STOU", command_stou, LOGGED_IN, OPTIONAL, TRANSFER | WRITES, NULL, "STOU"),
	ROW("APPE", command_appe, LOGGED_IN, REQUIRED, TRANSFER | WRITES, NULL, "APPE <path>"),
	ROW("REST", command_rest, LOGGED_IN, REQUIRED, 0, "REST STREAM", "REST <offset>"),
	ROW("ABOR", command_abor, LOGGED_IN, NONE, DURING_TRANSFER, NULL, "ABOR"),
	ROW("MFMT", command_mfmt, LOGGED_IN, REQUIRED, WRITES, "MFMT", "MFMT <YYYYMMDDHHMMSS> <path>"),
	{ "SITE", NULL, LOGGED_IN, REQUIRED, 0, NULL, NULL, .subcommands = &site_commands },
	/* security extensions (RFC 2228, 4217) */
	ROW("AUTH", command_auth, ANY, REQUIRED, TLS_COMMAND, "AUTH TLS", "AUTH TLS"),
	ROW("PBSZ", command_pbsz, ANY, REQUIRED, TLS_COMMAND, "PBSZ", "PBSZ 0"),
	ROW("PROT", command_prot, ANY, REQUIRED, TLS_COMMAND, "PROT", "PROT C | P"),
	ROW("CCC", command_ccc, ANY, NONE, PUBLIC, NULL, "CCC"),
};

static const struct command_table command_table = { ROWS(rows), REPLY_UNKNOWN_COMMAND };

const struct command *
command_find_in(const struct command_table *table, const char *name)
{
	size_t i;

	for (i = 0; i < table->count; i++)
		if (strcasecmp(table->rows[i].name, name) == 0)
			return &table->rows[i];
	return NULL;
}

/* SITE and OPTS have no handler of their own: their table is what they do. */
int
command_is_implemented(const struct command *command)
{
	return command->handler != NULL || command->subcommands != NULL;
}

const struct command *
command_find(const char *name)
{
	return command_find_in(&command_table, name);
}

/* The refusal for a command that exists but not in this state (Twisted's rules). */
static enum reply_id
refusal_for_state(const struct command *command, unsigned state)
{
	if (command->early_state != 0 && state == command->early_state)
		return command->early_refusal;
	switch (state) {
	case SESSION_UNAUTH:
		return REPLY_NOT_LOGGED_IN;
	case SESSION_INAUTH:
		return REPLY_PASS_REQUIRED;
	case SESSION_RENAMING:
		return REPLY_RNTO_REQUIRED;
	default:
		return REPLY_BAD_SEQUENCE;
	}
}

enum reply_id
command_check(const struct command *command, const struct command_context *context,
    const char *argument)
{
	unsigned flags = command->flags;

	if (!(flags & COMMAND_PUBLIC) && !(command->states & context->state))
		return refusal_for_state(command, context->state);
	if (!command_is_implemented(command))
		return REPLY_NOT_IMPLEMENTED;
	if (command->argument == ARGUMENT_REQUIRED && (argument == NULL || *argument == '\0'))
		return REPLY_ARGUMENT_REQUIRED;
	if (command->argument == ARGUMENT_NONE && argument != NULL && *argument != '\0')
		return REPLY_NO_ARGUMENT_ALLOWED;
	if ((flags & COMMAND_NEEDS_TLS_CONTROL) && context->tls_demanded &&
	    !context->control_protected)
		return REPLY_TLS_REQUIRED_FOR_LOGIN;
	if ((flags & COMMAND_NEEDS_TLS_DATA) && context->tls_demanded && !context->data_protected)
		return REPLY_PROTECTED_DATA_REQUIRED;
	if ((flags & COMMAND_WRITES) && context->read_only)
		return REPLY_READ_ONLY;
	if ((flags & COMMAND_NEEDS_DATA_CONNECTION) && !context->has_data_connection)
		return REPLY_NO_DATA_CONNECTION_PREPARED;
	return REPLY_COUNT;
}

void
command_write_features(struct evbuffer *out, const char *extra, int tls_available)
{
	size_t i;

	reply_begin(out, REPLY_FEATURES);
	for (i = 0; i < command_table.count; i++)
		if (rows[i].feature != NULL && command_is_implemented(&rows[i]) &&
		    (tls_available || !(rows[i].flags & COMMAND_TLS_FEATURE)))
			reply_continue(out, "%s", rows[i].feature);
	if (extra != NULL)
		reply_continue(out, "%s", extra);
	reply_end(out, REPLY_FEATURES);
}

void
command_write_help(struct evbuffer *out)
{
	char line[128], cell[16];
	size_t i, used = 0;

	reply_begin(out, REPLY_HELP);
	for (i = 0; i < command_table.count; i++) {
		snprintf(cell, sizeof(cell), "%s%s", rows[i].name,
		    command_is_implemented(&rows[i]) ? "" : "*");
		used += (size_t)snprintf(line + used, sizeof(line) - used, "%-6s ", cell);
		if ((i + 1) % 8 == 0 || i + 1 == command_table.count) {
			reply_continue(out, "%s", line);
			used = 0;
		}
	}
	reply_end(out, REPLY_HELP);
}

void
command_write_subcommand_help(struct evbuffer *out, const struct command_table *table,
    enum reply_id id)
{
	size_t i;

	reply_begin(out, id);
	for (i = 0; i < table->count; i++)
		reply_continue(out, "%s", table->rows[i].help);
	reply_end(out, id);
}

int
command_syntax(const struct command *command, char *out, size_t size)
{
	const struct command_table *table = command->subcommands;
	size_t i, used = 0;
	int length;

	if (table == NULL) {
		length = snprintf(out, size, "%s", command->help);
		return length < 0 || (size_t)length >= size ? -ENAMETOOLONG : 0;
	}
	out[0] = '\0';
	for (i = 0; i < table->count; i++) {
		length = snprintf(out + used, size - used, "%s%s %s", i == 0 ? "" : " | ",
		    command->name, table->rows[i].help);
		if (length < 0 || (size_t)length >= size - used)
			return -ENAMETOOLONG;
		used += (size_t)length;
	}
	return 0;
}
