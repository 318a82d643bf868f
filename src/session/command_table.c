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

#define LOGGED_IN (SESSION_AUTHED)
#define TRANSFER (COMMAND_NEEDS_DATA_CONNECTION | COMMAND_NEEDS_TLS_DATA)
#define TLS_COMMAND (COMMAND_PUBLIC | COMMAND_TLS_FEATURE)
#define ROWS(array) (array), sizeof(array) / sizeof((array)[0])

/* SITE <subcommand> */
static const struct command site_rows[] = {
	{ .name = "CHMOD", .handler = command_site_chmod, .states = LOGGED_IN,
	  .argument = ARGUMENT_REQUIRED, .flags = COMMAND_WRITES, .help = "CHMOD <octal mode> <path>" },
	{ .name = "HELP", .handler = command_site_help, .states = LOGGED_IN,
	  .argument = ARGUMENT_OPTIONAL, .help = "HELP" },
};
static const struct command_table site_commands = { ROWS(site_rows), REPLY_UNKNOWN_SITE_COMMAND };

/* OPTS <option>; names are always UTF-8, so clients asking either way get a yes. */
static const struct command opts_rows[] = {
	{ .name = "UTF8", .handler = command_opts_utf8, .states = SESSION_ANY_STATE,
	  .argument = ARGUMENT_OPTIONAL, .flags = COMMAND_PUBLIC, .help = "UTF8 [ON | OFF]" },
	{ .name = "UTF-8", .handler = command_opts_utf8, .states = SESSION_ANY_STATE,
	  .argument = ARGUMENT_OPTIONAL, .flags = COMMAND_PUBLIC, .help = "UTF-8 [ON | OFF]" },
	{ .name = "MLST", .handler = command_opts_mlst, .states = SESSION_ANY_STATE,
	  .argument = ARGUMENT_OPTIONAL, .flags = COMMAND_PUBLIC, .help = "MLST [<fact>;...]" },
};
static const struct command_table opts_commands = { ROWS(opts_rows), REPLY_OPTION_NOT_IMPLEMENTED };

static const struct command rows[] = {
	/* login and session */
	{ "USER", command_user, SESSION_UNAUTH | SESSION_AUTHED, ARGUMENT_REQUIRED,
	  COMMAND_NEEDS_TLS_CONTROL, NULL, "USER <name>", 0, 0, NULL },
	{ "PASS", command_pass, SESSION_INAUTH, ARGUMENT_OPTIONAL, COMMAND_HIDE_ARGUMENT, NULL,
	  "PASS <password>", SESSION_UNAUTH, REPLY_USER_FIRST, NULL },
	{ "QUIT", command_quit, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC | COMMAND_DURING_TRANSFER,
	  NULL, "QUIT", 0, 0, NULL },
	{ "ACCT", NULL, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "ACCT <account>", 0, 0, NULL },
	{ "REIN", NULL, SESSION_ANY_STATE, ARGUMENT_NONE, 0, NULL, "REIN", 0, 0, NULL },
	{ "SMNT", NULL, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "SMNT <path>", 0, 0, NULL },
	/* information */
	{ "NOOP", command_noop, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC | COMMAND_DURING_TRANSFER,
	  NULL, "NOOP", 0, 0, NULL },
	{ "SYST", command_syst, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC, NULL, "SYST", 0, 0, NULL },
	{ "FEAT", command_feat, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC, NULL, "FEAT", 0, 0, NULL },
	{ "HELP", command_help, SESSION_ANY_STATE, ARGUMENT_OPTIONAL, COMMAND_PUBLIC, NULL,
	  "HELP [<command>]", 0, 0, NULL },
	{ "OPTS", NULL, SESSION_ANY_STATE, ARGUMENT_REQUIRED, COMMAND_PUBLIC, "UTF8",
	  NULL, 0, 0, &opts_commands },
	{ "STAT", command_stat, LOGGED_IN, ARGUMENT_OPTIONAL, COMMAND_DURING_TRANSFER, NULL, "STAT", 0, 0, NULL },
	/* transfer parameters */
	{ "TYPE", command_type, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "TYPE A | A N | I | L 8", 0, 0, NULL },
	{ "MODE", command_mode, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "MODE S", 0, 0, NULL },
	{ "STRU", command_stru, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "STRU F", 0, 0, NULL },
	{ "ALLO", command_allo, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "ALLO <size>", 0, 0, NULL },
	/* directories and files */
	{ "PWD", command_pwd, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "PWD", 0, 0, NULL },
	{ "XPWD", command_pwd, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "XPWD", 0, 0, NULL },
	{ "CWD", command_cwd, LOGGED_IN, ARGUMENT_OPTIONAL, 0, "TVFS", "CWD <path>", 0, 0, NULL },
	{ "XCWD", command_cwd, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "XCWD <path>", 0, 0, NULL },
	{ "CDUP", command_cdup, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "CDUP", 0, 0, NULL },
	{ "XCUP", command_cdup, LOGGED_IN, ARGUMENT_NONE, 0, NULL, "XCUP", 0, 0, NULL },
	{ "SIZE", command_size, LOGGED_IN, ARGUMENT_REQUIRED, 0, "SIZE", "SIZE <path>", 0, 0, NULL },
	{ "MDTM", command_mdtm, LOGGED_IN, ARGUMENT_REQUIRED, 0, "MDTM", "MDTM <path>", 0, 0, NULL },
	{ "MKD", command_mkd, LOGGED_IN, ARGUMENT_REQUIRED, COMMAND_WRITES, NULL, "MKD <path>", 0, 0, NULL },
	{ "XMKD", command_mkd, LOGGED_IN, ARGUMENT_REQUIRED, COMMAND_WRITES, NULL, "XMKD <path>", 0, 0, NULL },
	{ "RMD", command_rmd, LOGGED_IN, ARGUMENT_REQUIRED, COMMAND_WRITES, NULL, "RMD <path>", 0, 0, NULL },
	{ "XRMD", command_rmd, LOGGED_IN, ARGUMENT_REQUIRED, COMMAND_WRITES, NULL, "XRMD <path>", 0, 0, NULL },
	{ "DELE", command_dele, LOGGED_IN, ARGUMENT_REQUIRED, COMMAND_WRITES, NULL, "DELE <path>", 0, 0, NULL },
	{ "RNFR", command_rnfr, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "RNFR <path>", 0, 0, NULL },
	{ "RNTO", command_rnto, SESSION_RENAMING, ARGUMENT_REQUIRED, COMMAND_WRITES, NULL, "RNTO <path>",
	  SESSION_AUTHED, REPLY_RNFR_FIRST, NULL },
	/* data connections and transfers */
	{ "PASV", command_pasv, LOGGED_IN, ARGUMENT_NONE, 0, "PASV", "PASV", 0, 0, NULL },
	{ "EPSV", command_epsv, LOGGED_IN, ARGUMENT_OPTIONAL, 0, "EPSV", "EPSV [<protocol> | ALL]", 0, 0, NULL },
	{ "PORT", command_port, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, "PORT <h1,h2,h3,h4,p1,p2>", 0, 0, NULL },
	{ "EPRT", command_eprt, LOGGED_IN, ARGUMENT_REQUIRED, 0, "EPRT", "EPRT |<protocol>|<address>|<port>|",
	  0, 0, NULL },
	{ "LIST", command_list, LOGGED_IN, ARGUMENT_OPTIONAL, TRANSFER, NULL, "LIST [<path>]", 0, 0, NULL },
	{ "NLST", command_nlst, LOGGED_IN, ARGUMENT_OPTIONAL, TRANSFER, NULL, "NLST [<path>]", 0, 0, NULL },
	{ "MLSD", command_mlsd, LOGGED_IN, ARGUMENT_OPTIONAL, TRANSFER, NULL, "MLSD [<path>]", 0, 0, NULL },
	{ "MLST", command_mlst, LOGGED_IN, ARGUMENT_OPTIONAL, 0, NULL, "MLST [<path>]", 0, 0, NULL },
	{ "RETR", command_retr, LOGGED_IN, ARGUMENT_REQUIRED, TRANSFER, NULL, "RETR <path>", 0, 0, NULL },
	{ "STOR", command_stor, LOGGED_IN, ARGUMENT_REQUIRED, TRANSFER | COMMAND_WRITES, NULL, "STOR <path>",
	  0, 0, NULL },
	{ "STOU", command_stou, LOGGED_IN, ARGUMENT_OPTIONAL, TRANSFER | COMMAND_WRITES, NULL, "STOU",
	  0, 0, NULL },
	{ "APPE", command_appe, LOGGED_IN, ARGUMENT_REQUIRED, TRANSFER | COMMAND_WRITES, NULL, "APPE <path>",
	  0, 0, NULL },
	{ "REST", command_rest, LOGGED_IN, ARGUMENT_REQUIRED, 0, "REST STREAM", "REST <offset>", 0, 0, NULL },
	{ "ABOR", command_abor, LOGGED_IN, ARGUMENT_NONE, COMMAND_DURING_TRANSFER, NULL, "ABOR", 0, 0, NULL },
	{ "MFMT", command_mfmt, LOGGED_IN, ARGUMENT_REQUIRED, COMMAND_WRITES, "MFMT",
	  "MFMT <YYYYMMDDHHMMSS> <path>", 0, 0, NULL },
	{ "SITE", NULL, LOGGED_IN, ARGUMENT_REQUIRED, 0, NULL, NULL, 0, 0, &site_commands },
	/* security extensions (RFC 2228, 4217) */
	{ "AUTH", command_auth, SESSION_ANY_STATE, ARGUMENT_REQUIRED, TLS_COMMAND, "AUTH TLS", "AUTH TLS",
	  0, 0, NULL },
	{ "PBSZ", command_pbsz, SESSION_ANY_STATE, ARGUMENT_REQUIRED, TLS_COMMAND, "PBSZ", "PBSZ 0", 0, 0, NULL },
	{ "PROT", command_prot, SESSION_ANY_STATE, ARGUMENT_REQUIRED, TLS_COMMAND, "PROT", "PROT C | P",
	  0, 0, NULL },
	{ "CCC", command_ccc, SESSION_ANY_STATE, ARGUMENT_NONE, COMMAND_PUBLIC, NULL, "CCC", 0, 0, NULL },
};

const struct command_table command_table = { ROWS(rows), REPLY_UNKNOWN_COMMAND };

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
		snprintf(cell, sizeof(cell), "%s%s", rows[i].name, command_is_implemented(&rows[i]) ? "" : "*");
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
