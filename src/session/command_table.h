/*
 * session/command_table: one row per FTP command: its handler, the states
 * it may run in, its argument rule and its policy flags. Every check is made
 * here, once, before any handler runs, and every refusal comes from here;
 * HELP and FEAT are generated from the same rows. SITE and OPTS have
 * tables of their own, checked and documented the same way.
 */
#ifndef FTPD_COMMAND_TABLE_H
#define FTPD_COMMAND_TABLE_H

#include <stddef.h>

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
	COMMAND_DURING_TRANSFER = 1 << 1,	/* answered while a transfer runs (else it waits) */
	COMMAND_HIDE_ARGUMENT = 1 << 2,		/* never log the argument (PASS) */
	COMMAND_TLS_FEATURE = 1 << 3,		/* in FEAT only when TLS is configured */
	COMMAND_WRITES = 1 << 4,		/* changes files: 550 on a read-only share */
	COMMAND_NEEDS_DATA_CONNECTION = 1 << 5,	/* 425 unless PASV/EPSV/PORT/EPRT came first */
	COMMAND_NEEDS_TLS_CONTROL = 1 << 6,	/* tls = required: 530 before AUTH TLS */
	COMMAND_NEEDS_TLS_DATA = 1 << 7		/* tls = required: 521 without PROT P */
};

typedef void (*command_handler)(struct session *session, const char *argument);

struct command_table;

struct command {
	const char *name;
	command_handler handler;	/* NULL: known but not implemented (502), */
					/* unless subcommands does the work */
	unsigned states;		/* enum session_state bits it may run in */
	enum argument_rule argument;
	unsigned flags;			/* enum command_flag bits */
	const char *feature;		/* FEAT line this command adds, or NULL */
	const char *help;		/* its syntax, for HELP */
	/* Sent in the state early_state instead of the state's usual refusal (PASS before USER). */
	unsigned early_state;
	enum reply_id early_refusal;
	const struct command_table *subcommands; /* SITE, OPTS: the word after the name */
};

struct command_table {
	const struct command *rows;
	size_t count;
	enum reply_id unknown;		/* the refusal of a name not in the table */
};

/* What the checks need to know of the session a command arrives in. */
struct command_context {
	unsigned state;			/* one enum session_state bit */
	int tls_demanded;		/* tls = required applies to this user */
	int control_protected;		/* the control connection speaks TLS */
	int data_protected;		/* PROT P */
	int has_data_connection;	/* PASV/EPSV/PORT/EPRT done */
	int read_only;			/* the logged-in user's shell refuses every change */
};

/* Runs in a session, or is only known (502). */
int command_is_implemented(const struct command *command);

/* Finds a command by name in table, case-insensitively; NULL if unknown. */
const struct command *command_find_in(const struct command_table *table, const char *name);
/* command_find_in(&command_table, name) */
const struct command *command_find(const char *name);

/*
 * Decides whether command may run now with argument (NULL: none given).
 * Returns REPLY_COUNT when it may, or the reply that refuses it.
 */
enum reply_id command_check(const struct command *command,
    const struct command_context *context, const char *argument);

/*
 * "211-Features:" ... "211 End" from the table, plus one extra line (or
 * NULL); the TLS features only when tls_available.
 */
void command_write_features(struct evbuffer *out, const char *extra, int tls_available);

/* "214-" list of commands, implemented ones plain, others marked '*'. */
void command_write_help(struct evbuffer *out);

/* "214-" list of a sub-table's commands, one syntax a line (SITE HELP). */
void command_write_subcommand_help(struct evbuffer *out, const struct command_table *table,
    enum reply_id id);

/*
 * The syntax HELP CMD shows: the row's own, or for SITE and OPTS every
 * subcommand's joined by " | ". 0, or -ENAMETOOLONG.
 */
int command_syntax(const struct command *command, char *out, size_t size);

#endif
