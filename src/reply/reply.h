/*
 * reply: the table of FTP reply codes and texts, multi-line replies (RFC 959
 * 4.2), and the one place where an errno becomes a reply (errnoToFailure).
 */
#ifndef FTPD_REPLY_H
#define FTPD_REPLY_H

#include <stdarg.h>
#include <stddef.h>

#include <event2/buffer.h>

/* Each id names one reply text; the texts live in reply.c. */
enum reply_id {
	REPLY_WELCOME,			/* 220 %s */
	REPLY_COMMAND_OK,		/* 200 */
	REPLY_NOOP_OK,
	REPLY_TYPE_ASCII,
	REPLY_TYPE_BINARY,
	REPLY_MODE_OK,
	REPLY_STRUCTURE_OK,
	REPLY_UTF8_ALWAYS,
	REPLY_ALLO_IGNORED,		/* 202 */
	REPLY_FILE_STATUS,		/* 213 %s */
	REPLY_SYSTEM_TYPE,		/* 215 */
	REPLY_GOODBYE,			/* 221 */
	REPLY_USER_LOGGED_IN,		/* 230 */
	REPLY_GUEST_LOGGED_IN,
	REPLY_FILE_ACTION_OK,		/* 250 */
	REPLY_DIRECTORY_CHANGED,
	REPLY_PWD,			/* 257 "%s" */
	REPLY_MKD,
	REPLY_PASSWORD_REQUIRED,	/* 331 */
	REPLY_GUEST_PASSWORD,
	REPLY_RENAME_PENDING,		/* 350 */
	REPLY_TOO_MANY_USERS,		/* 421 */
	REPLY_TOO_MANY_FROM_ADDRESS,	/* 421: max_clients_per_ip */
	REPLY_TOO_MANY_NOT_LOGGED_IN,	/* 421: max_prelogin_per_ip */
	REPLY_ADDRESS_BANNED,		/* 421: ban_after_failures, at connection */
	REPLY_LOGIN_BANNED,		/* 421: ban_after_failures, at login */
	REPLY_TOO_MANY_FOR_USER,	/* 421: max_sessions_per_user */
	REPLY_TIMEOUT,
	REPLY_LOGIN_TIMEOUT,
	REPLY_DATA_NEEDS_TCP,
	REPLY_TOO_MANY_FAILURES,
	REPLY_SHUTTING_DOWN,
	REPLY_SESSION_UNAVAILABLE,
	REPLY_STORE_UNAVAILABLE,		/* 421 */
	REPLY_USERS_UNREACHABLE,		/* 421: passwd_db does not answer */
	REPLY_LOCAL_ERROR,		/* 451 */
	REPLY_INSUFFICIENT_STORAGE,	/* 452 */
	REPLY_UNKNOWN_COMMAND,		/* 500 */
	REPLY_LINE_TOO_LONG,
	REPLY_NUL_IN_COMMAND,
	REPLY_ARGUMENT_REQUIRED,	/* 501 */
	REPLY_NO_ARGUMENT_ALLOWED,
	REPLY_SYNTAX_ERROR_IN_ARGUMENT,
	REPLY_NOT_IMPLEMENTED,		/* 502 */
	REPLY_OPTION_NOT_IMPLEMENTED,
	REPLY_USER_FIRST,		/* 503 */
	REPLY_PASS_REQUIRED,
	REPLY_RNTO_REQUIRED,
	REPLY_RNFR_FIRST,
	REPLY_BAD_SEQUENCE,
	REPLY_NOT_IMPLEMENTED_FOR_PARAMETER, /* 504 */
	REPLY_NOT_LOGGED_IN,		/* 530 */
	REPLY_LOGIN_INCORRECT,
	REPLY_CANNOT_CHANGE_USER,
	REPLY_HOME_UNAVAILABLE,
	REPLY_FILE_NOT_FOUND,		/* 550 */
	REPLY_PERMISSION_DENIED,
	REPLY_READ_ONLY,
	REPLY_NOT_A_DIRECTORY,
	REPLY_IS_A_DIRECTORY,
	REPLY_FILE_EXISTS,
	REPLY_DIRECTORY_NOT_EMPTY,
	REPLY_NOT_A_PLAIN_FILE,
	REPLY_STORAGE_EXCEEDED,		/* 552 */
	REPLY_NAME_NOT_ALLOWED,		/* 553 */
	/* data channel */
	REPLY_OPENING_DATA,		/* 150 */
	REPLY_OPENING_LISTING,
	REPLY_OPENING_UPLOAD,
	REPLY_STOU_NAME,
	REPLY_EPSV_ALL_OK,		/* 200 */
	REPLY_PORT_OK,
	REPLY_MLST_OPTS,
	REPLY_SITE_CHMOD_OK,
	REPLY_SITE_SYMLINK_OK,
	REPLY_MFMT_OK,			/* 213 */
	REPLY_NOTHING_TO_ABORT,		/* 225 */
	REPLY_TRANSFER_COMPLETE,	/* 226 */
	REPLY_ABORT_OK,
	REPLY_ENTERING_PASSIVE,		/* 227 */
	REPLY_ENTERING_EXTENDED_PASSIVE, /* 229 */
	REPLY_RESTART_AT,		/* 350 */
	REPLY_NO_DATA_CONNECTION_PREPARED, /* 425 */
	REPLY_DATA_CONNECTION_FAILED,
	REPLY_CANNOT_OPEN_PASSIVE,
	REPLY_PASV_NEEDS_IPV4,
	REPLY_CONNECTION_LOST,		/* 426 */
	REPLY_TRANSFER_ABORTED,
	REPLY_FOREIGN_DATA_ADDRESS,	/* 500 */
	REPLY_UNKNOWN_SITE_COMMAND,
	REPLY_PRIVILEGED_DATA_PORT,	/* 504 */
	REPLY_PROTOCOL_NOT_SUPPORTED,	/* 522 */
	REPLY_SIZE_ASCII_TOO_LARGE,	/* 550 */
	REPLY_NOT_A_DIRECTORY_LISTING,	/* 501 */
	REPLY_INVALID_RESTART,		/* 554 */
	/* TLS */
	REPLY_PBSZ_OK,			/* 200 */
	REPLY_PROT_PRIVATE,
	REPLY_PROT_CLEAR,
	REPLY_AUTH_TLS_OK,		/* 234 */
	REPLY_DATA_TLS_NOT_RESUMED,	/* 425 */
	REPLY_TLS_NOT_CONFIGURED,	/* 502 */
	REPLY_PROTECTED_DATA_REQUIRED,	/* 521 */
	REPLY_TLS_REQUIRED_FOR_LOGIN,	/* 530 */
	REPLY_CCC_REFUSED,		/* 533 */
	REPLY_PROTECTION_LEVEL_NOT_SUPPORTED, /* 536 */
	/* multi-line replies: a first and a last line around reply_continue lines */
	REPLY_FEATURES,			/* 211 */
	REPLY_STATUS,
	REPLY_HELP,			/* 214 */
	REPLY_SITE_HELP,
	REPLY_COMMAND_SYNTAX,		/* 214 Syntax: %s (one line) */
	REPLY_FACTS,			/* 250 */
	REPLY_COUNT
};

/* The numeric code of a reply. */
int reply_code(enum reply_id id);

/*
 * Appends one reply line "CODE text\r\n". The text's %s take the arguments;
 * CR, LF and NUL inside arguments become spaces so a name cannot forge a reply.
 */
void reply_write_va(struct evbuffer *out, enum reply_id id, va_list arguments);

/* Room for any reply line with a path of ordinary length in it. */
#define REPLY_LINE_MAX 512

/*
 * Formats one reply line, "CODE text\r\n", into out (not NUL-terminated):
 * its length, or 0 when it does not fit in size bytes.
 */
size_t reply_format_va(char *out, size_t size, enum reply_id id, va_list arguments);

/*
 * Formats a reply (its %s taking the string arguments) into out, for the
 * 421 sent before any session exists, NUL-terminated. Its length (0 when
 * it does not fit).
 */
size_t reply_format(char *out, size_t size, enum reply_id id, ...);

/*
 * A multi-line reply (RFC 959 4.2): "CODE-first" (its %s taking the
 * arguments), lines indented by a space, then "CODE last".
 */
void reply_begin(struct evbuffer *out, enum reply_id id, ...);
void reply_continue(struct evbuffer *out, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void reply_end(struct evbuffer *out, enum reply_id id);

/*
 * Errors carry their reply: these are the one place a -errno becomes one.
 * A failed file operation (errnoToFailure; texts take the path as %s):
 */
enum reply_id reply_for_errno(int error);
/*
 * 1 for the errors that say a shell's store is gone (a network share that
 * went down): their reply is 421 and the session ends, others go on.
 */
int reply_error_ends_session(int error);
/* A command argument a parser refused (-EAFNOSUPPORT: 522, else 501; texts take it as %s). */
enum reply_id reply_for_argument_error(int error);
/* A data connection that never came (-EPERM: its TLS did not resume the control session). */
enum reply_id reply_for_data_connection_error(int error);

/*
 * Copies name into out (size bytes) as the inside of a quoted pathname
 * (RFC 959 appendix II): each '"' doubled. Returns 0, or -ENAMETOOLONG.
 */
int reply_quote_path(char *out, size_t size, const char *name);

#endif
