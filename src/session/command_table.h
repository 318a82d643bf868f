/*
 * command_table: one row per FTP command (handler, states, argument rule,
 * flags). Validation happens here once, before any handler runs; HELP and
 * FEAT are generated from the same rows.
 */
#ifndef FTPD_COMMAND_TABLE_H
#define FTPD_COMMAND_TABLE_H

#include <event2/buffer.h>

#include "reply/reply.h"

struct session;

enum session_state {
	SESSION_UNAUTH = 1 << 0,	/* nobody logged in */
	SESSION_INAUTH = 1 << 1,	/* USER given, PASS expected */
	SESSION_AUTHED = 1 << 2,	/* logged in */
	SESSION_RENAMING = 1 << 3	/* RNFR done, RNTO expected */
};
#define SESSION_ANY_STATE (SESSION_UNAUTH | SESSION_INAUTH | SESSION_AUTHED | SESSION_RENAMING)

enum argument_rule { ARGUMENT_NONE, ARGUMENT_OPTIONAL, ARGUMENT_REQUIRED };

enum command_flag {
	COMMAND_PUBLIC = 1 << 0,		/* allowed in every state (FEAT, QUIT...) */
	COMMAND_DURING_TRANSFER = 1 << 1,	/* may run while a transfer is active */
	COMMAND_HIDE_ARGUMENT = 1 << 2,		/* never log the argument (PASS) */
	COMMAND_TLS_FEATURE = 1 << 3		/* in FEAT only when TLS is configured */
};

typedef void (*command_handler)(struct session *session, const char *argument);

struct command {
	const char *name;
	command_handler handler;	/* NULL: known but not implemented (502) */
	unsigned states;		/* enum session_state bits it may run in */
	enum argument_rule argument;
	unsigned flags;
	const char *feature;		/* FEAT line this command adds, or NULL */
	const char *help;		/* "Syntax: ..." text for HELP CMD */
};

/* Finds a command by name, case-insensitively; NULL if unknown. */
const struct command *command_find(const char *name);

/*
 * Decides whether command may run in state with argument (NULL: none given).
 * Returns REPLY_COUNT when it may, or the reply that refuses it.
 */
enum reply_id command_check(const struct command *command, unsigned state,
    const char *argument);

/*
 * "211-Features:" ... "211 End" from the table, plus one extra line (or
 * NULL); the TLS features only when tls_available.
 */
void command_write_features(struct evbuffer *out, const char *extra, int tls_available);

/* "214-" list of commands, implemented ones plain, others marked '*'. */
void command_write_help(struct evbuffer *out);

#endif
