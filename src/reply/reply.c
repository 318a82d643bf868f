/*
 * reply: FTP reply texts and multi-line formatting.
 * Texts follow Twisted's RESPONSE table where it is sensible, vsftpd's where clearer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "reply/reply.h"

struct reply_text {
	int code;
	const char *text;
};

static const struct reply_text reply_texts[REPLY_COUNT] = {
	[REPLY_WELCOME] = { 220, "%s" },
	[REPLY_COMMAND_OK] = { 200, "Command okay." },
	[REPLY_NOOP_OK] = { 200, "NOOP ok." },
	[REPLY_TYPE_ASCII] = { 200, "Switching to ASCII mode." },
	[REPLY_TYPE_BINARY] = { 200, "Switching to Binary mode." },
	[REPLY_MODE_OK] = { 200, "Mode set to S." },
	[REPLY_STRUCTURE_OK] = { 200, "Structure set to F." },
	[REPLY_UTF8_ALWAYS] = { 200, "Always in UTF8 mode." },
	[REPLY_ALLO_IGNORED] = { 202, "ALLO command ignored." },
	[REPLY_FILE_STATUS] = { 213, "%s" },
	[REPLY_SYSTEM_TYPE] = { 215, "UNIX Type: L8" },
	[REPLY_GOODBYE] = { 221, "Goodbye." },
	[REPLY_USER_LOGGED_IN] = { 230, "User logged in, proceed." },
	[REPLY_GUEST_LOGGED_IN] = { 230, "Anonymous login ok, access restrictions apply." },
	[REPLY_FILE_ACTION_OK] = { 250, "Requested file action okay, completed." },
	[REPLY_DIRECTORY_CHANGED] = { 250, "Directory successfully changed." },
	[REPLY_PWD] = { 257, "\"%s\" is the current directory." },
	[REPLY_MKD] = { 257, "\"%s\" created." },
	[REPLY_PASSWORD_REQUIRED] = { 331, "Password required for %s." },
	[REPLY_GUEST_PASSWORD] = { 331, "Guest login ok, type your email address as password." },
	[REPLY_RENAME_PENDING] = { 350, "Ready for RNTO." },
	[REPLY_TOO_MANY_USERS] = { 421, "Too many users right now, try again in a few minutes." },
	[REPLY_TOO_MANY_FROM_ADDRESS] = { 421, "Too many connections from your address "
	    "(max_clients_per_ip), close one and try again." },
	[REPLY_TOO_MANY_NOT_LOGGED_IN] = { 421, "Too many connections from your address that have "
	    "not logged in (max_prelogin_per_ip), log in or close one and try again." },
	[REPLY_ADDRESS_BANNED] = { 421, "Too many failed logins from your address "
	    "(ban_after_failures), try again in %s seconds." },
	[REPLY_LOGIN_BANNED] = { 421, "Too many failed logins from your address "
	    "(ban_after_failures), closing control connection." },
	[REPLY_TOO_MANY_FOR_USER] = { 421, "Too many sessions of %s (max_sessions_per_user), "
	    "closing control connection." },
	[REPLY_TIMEOUT] = { 421, "Timeout: no command for %s seconds, closing control connection." },
	[REPLY_DATA_NEEDS_TCP] = { 425, "No data connections: this control connection is not TCP/IP." },
	[REPLY_LOGIN_TIMEOUT] = { 421, "Timeout: no login within %s seconds, closing control connection." },
	[REPLY_TOO_MANY_FAILURES] = { 421, "Too many login failures, closing control connection." },
	[REPLY_SHUTTING_DOWN] = { 421, "Server shutting down, closing control connection." },
	[REPLY_STORE_UNAVAILABLE] = { 421, "Service not available: the file store for %s cannot be reached, closing control connection." },
	[REPLY_USERS_UNREACHABLE] = { 421, "Service not available: the user database cannot be reached, closing control connection." },
	[REPLY_SESSION_UNAVAILABLE] = { 421, "Cannot start a session process, closing control connection." },
	[REPLY_LOCAL_ERROR] = { 451, "%s: Requested action aborted, local error in processing." },
	[REPLY_INSUFFICIENT_STORAGE] = { 452, "%s: Requested action not taken, insufficient storage." },
	[REPLY_UNKNOWN_COMMAND] = { 500, "Unknown command '%s'." },
	[REPLY_LINE_TOO_LONG] = { 500, "Command line too long, discarded." },
	[REPLY_NUL_IN_COMMAND] = { 500, "Syntax error: NUL byte in command." },
	[REPLY_ARGUMENT_REQUIRED] = { 501, "%s requires an argument." },
	[REPLY_NO_ARGUMENT_ALLOWED] = { 501, "%s takes no argument." },
	[REPLY_SYNTAX_ERROR_IN_ARGUMENT] = { 501, "Syntax error in argument: %s." },
	[REPLY_NOT_IMPLEMENTED] = { 502, "Command '%s' not implemented." },
	[REPLY_OPTION_NOT_IMPLEMENTED] = { 502, "Option '%s' not implemented." },
	[REPLY_USER_FIRST] = { 503, "Login with USER first." },
	[REPLY_PASS_REQUIRED] = { 503, "PASS required after USER." },
	[REPLY_RNTO_REQUIRED] = { 503, "RNTO required after RNFR; rename cancelled." },
	[REPLY_RNFR_FIRST] = { 503, "RNFR required before RNTO." },
	[REPLY_BAD_SEQUENCE] = { 503, "Bad sequence of commands: %s." },
	[REPLY_NOT_IMPLEMENTED_FOR_PARAMETER] = { 504, "Not implemented for parameter '%s'." },
	[REPLY_NOT_LOGGED_IN] = { 530, "Please login with USER and PASS." },
	[REPLY_LOGIN_INCORRECT] = { 530, "Login incorrect." },
	[REPLY_CANNOT_CHANGE_USER] = { 530, "Cannot change to another user in this session; reconnect." },
	[REPLY_HOME_UNAVAILABLE] = { 530, "Login refused: home directory unavailable." },
	[REPLY_FILE_NOT_FOUND] = { 550, "%s: No such file or directory." },
	[REPLY_PERMISSION_DENIED] = { 550, "%s: Permission denied." },
	[REPLY_READ_ONLY] = { 550, "%s: Permission denied, this share is read-only." },
	[REPLY_NOT_A_DIRECTORY] = { 550, "%s: Not a directory." },
	[REPLY_IS_A_DIRECTORY] = { 550, "%s: Is a directory." },
	[REPLY_FILE_EXISTS] = { 550, "%s: File exists." },
	[REPLY_DIRECTORY_NOT_EMPTY] = { 550, "%s: Directory not empty." },
	[REPLY_NOT_A_PLAIN_FILE] = { 550, "%s: Not a regular file." },
	[REPLY_STORAGE_EXCEEDED] = { 552, "%s: Requested file action aborted, exceeded storage allocation." },
	[REPLY_NAME_NOT_ALLOWED] = { 553, "%s: Requested action not taken, file name not allowed." },
	[REPLY_OPENING_DATA] = { 150, "Opening %s mode data connection for %s." },
	[REPLY_OPENING_LISTING] = { 150, "Here comes the directory listing." },
	[REPLY_OPENING_UPLOAD] = { 150, "Ok to send data." },
	[REPLY_STOU_NAME] = { 150, "FILE: %s" },
	[REPLY_EPSV_ALL_OK] = { 200, "EPSV ALL ok." },
	[REPLY_PORT_OK] = { 200, "PORT command successful. Consider using PASV." },
	[REPLY_MLST_OPTS] = { 200, "MLST OPTS %s" },
	[REPLY_SITE_CHMOD_OK] = { 200, "SITE CHMOD command ok." },
	[REPLY_SITE_SYMLINK_OK] = { 200, "SITE SYMLINK command ok." },
	[REPLY_MFMT_OK] = { 213, "Modify=%s; %s" },
	[REPLY_NOTHING_TO_ABORT] = { 225, "No transfer to abort." },
	[REPLY_TRANSFER_COMPLETE] = { 226, "Transfer complete." },
	[REPLY_ABORT_OK] = { 226, "ABOR successful." },
	[REPLY_ENTERING_PASSIVE] = { 227, "Entering Passive Mode (%s)." },
	[REPLY_ENTERING_EXTENDED_PASSIVE] = { 229, "Entering Extended Passive Mode (|||%s|)." },
	[REPLY_RESTART_AT] = { 350, "Restarting at %s. Send STOR or RETR to continue." },
	[REPLY_NO_DATA_CONNECTION_PREPARED] = { 425, "Use PORT, PASV, EPRT or EPSV first." },
	[REPLY_DATA_CONNECTION_FAILED] = { 425, "Failed to establish data connection." },
	[REPLY_CANNOT_OPEN_PASSIVE] = { 425, "Cannot open a passive port, try again later." },
	[REPLY_PASV_NEEDS_IPV4] = { 425, "PASV works over IPv4 only; use EPSV." },
	[REPLY_CONNECTION_LOST] = { 426, "Connection closed; transfer aborted." },
	[REPLY_TRANSFER_ABORTED] = { 426, "Transfer aborted." },
	[REPLY_FOREIGN_DATA_ADDRESS] = { 500, "Illegal PORT command: data connections go only to the control connection's host." },
	[REPLY_UNKNOWN_SITE_COMMAND] = { 500, "Unknown SITE command '%s'." },
	[REPLY_PRIVILEGED_DATA_PORT] = { 504, "Illegal PORT command: ports below 1024 are refused." },
	[REPLY_PROTOCOL_NOT_SUPPORTED] = { 522, "Network protocol not supported, use (1,2)." },
	[REPLY_SIZE_ASCII_TOO_LARGE] = { 550, "%s: SIZE in ASCII mode is only offered for files up to 10 MiB." },
	[REPLY_NOT_A_DIRECTORY_LISTING] = { 501, "%s: Not a directory; use MLST for a single file." },
	[REPLY_INVALID_RESTART] = { 554, "Invalid REST offset %s: beyond the end of the file." },
	[REPLY_PBSZ_OK] = { 200, "PBSZ=0" },
	[REPLY_PROT_PRIVATE] = { 200, "PROT now Private." },
	[REPLY_PROT_CLEAR] = { 200, "PROT now Clear." },
	[REPLY_AUTH_TLS_OK] = { 234, "AUTH TLS successful." },
	[REPLY_DATA_TLS_NOT_RESUMED] = { 425, "Refused: the data connection did not resume the control connection's TLS session." },
	[REPLY_TLS_NOT_CONFIGURED] = { 502, "AUTH not available: TLS is not configured on this server." },
	[REPLY_PROTECTED_DATA_REQUIRED] = { 521, "Data connections must be protected: use PBSZ 0 and PROT P." },
	[REPLY_TLS_REQUIRED_FOR_LOGIN] = { 530, "TLS required: use AUTH TLS before logging in." },
	[REPLY_CCC_REFUSED] = { 533, "CCC refused: the control connection stays protected." },
	[REPLY_PROTECTION_LEVEL_NOT_SUPPORTED] = { 536, "PROT S and E are not supported; use P or C." },
	[REPLY_FEATURES] = { 211, "Features:" },
	[REPLY_STATUS] = { 211, "FTP server status:" },
	[REPLY_HELP] = { 214, "The following commands are recognized (* = not implemented):" },
	[REPLY_SITE_HELP] = { 214, "SITE commands:" },
	[REPLY_COMMAND_SYNTAX] = { 214, "Syntax: %s" },
	[REPLY_FACTS] = { 250, "Listing" },
};

/* The closing lines of the multi-line replies; others end with "End.". */
static const char *const reply_closings[REPLY_COUNT] = {
	[REPLY_FEATURES] = "End",
	[REPLY_STATUS] = "End of status.",
	[REPLY_HELP] = "Help OK.",
	[REPLY_SITE_HELP] = "End of SITE help.",
	[REPLY_FACTS] = "End.",
};

int
reply_code(enum reply_id id)
{
	return reply_texts[id].code;
}

/*
 * Where a reply's text goes: an evbuffer, or a fixed line (for a reply
 * sent in one write, or before any session exists) that notes when the
 * text does not fit.
 */
struct reply_sink {
	struct evbuffer *buffer;
	char *line;
	size_t size;
	size_t length;
	int overflow;
};

static void
sink_add(struct reply_sink *sink, const char *text, size_t length)
{
	if (sink->buffer != NULL) {
		evbuffer_add(sink->buffer, text, length);
		return;
	}
	if (sink->overflow || length > sink->size - sink->length) {
		sink->overflow = 1;
		return;
	}
	memcpy(sink->line + sink->length, text, length);
	sink->length += length;
}

/* "CODE" and the separator: ' ' ends a reply, '-' begins a multi-line one. */
static void
sink_add_code(struct reply_sink *sink, int code, char separator)
{
	char text[4] = { (char)('0' + code / 100 % 10), (char)('0' + code / 10 % 10),
		(char)('0' + code % 10), separator };

	sink_add(sink, text, sizeof(text));
}

/* Appends text with CR, LF and NUL turned into spaces. */
static void
add_sanitised(struct reply_sink *sink, const char *text, size_t length)
{
	size_t start = 0, i;

	for (i = 0; i < length; i++) {
		if (text[i] == '\r' || text[i] == '\n' || text[i] == '\0') {
			sink_add(sink, text + start, i - start);
			sink_add(sink, " ", 1);
			start = i + 1;
		}
	}
	sink_add(sink, text + start, length - start);
}

/*
 * Expands a reply text: only "%s" is recognised, each taking one argument,
 * so a table text can never be misused as an arbitrary format.
 */
static void
add_expanded(struct reply_sink *sink, const char *text, va_list arguments)
{
	const char *percent;

	while ((percent = strstr(text, "%s")) != NULL) {
		const char *argument = va_arg(arguments, const char *);

		sink_add(sink, text, (size_t)(percent - text));
		if (argument == NULL)
			argument = "";
		add_sanitised(sink, argument, strlen(argument));
		text = percent + 2;
	}
	sink_add(sink, text, strlen(text));
}

static void
add_reply(struct reply_sink *sink, enum reply_id id, va_list arguments)
{
	sink_add_code(sink, reply_texts[id].code, ' ');
	add_expanded(sink, reply_texts[id].text, arguments);
	sink_add(sink, "\r\n", 2);
}

size_t
reply_format_va(char *out, size_t size, enum reply_id id, va_list arguments)
{
	struct reply_sink sink = { NULL, out, size, 0, 0 };

	add_reply(&sink, id, arguments);
	return sink.overflow ? 0 : sink.length;
}

void
reply_write_va(struct evbuffer *out, enum reply_id id, va_list arguments)
{
	struct reply_sink sink = { out, NULL, 0, 0, 0 };
	char line[REPLY_LINE_MAX];
	size_t length;
	va_list copy;

	/* Most replies fit a line: one evbuffer_add, not one per piece. */
	va_copy(copy, arguments);
	length = reply_format_va(line, sizeof(line), id, copy);
	va_end(copy);
	if (length > 0)
		evbuffer_add(out, line, length);
	else
		add_reply(&sink, id, arguments);
}

size_t
reply_format(char *out, size_t size, enum reply_id id, ...)
{
	va_list arguments;
	size_t length;

	if (size == 0)
		return 0;
	va_start(arguments, id);
	length = reply_format_va(out, size - 1, id, arguments);
	va_end(arguments);
	out[length] = '\0';
	return length;
}

void
reply_begin(struct evbuffer *out, enum reply_id id, ...)
{
	struct reply_sink sink = { out, NULL, 0, 0, 0 };
	va_list arguments;

	sink_add_code(&sink, reply_texts[id].code, '-');
	va_start(arguments, id);
	add_expanded(&sink, reply_texts[id].text, arguments);
	va_end(arguments);
	sink_add(&sink, "\r\n", 2);
}

void
reply_continue(struct evbuffer *out, const char *format, ...)
{
	struct reply_sink sink = { out, NULL, 0, 0, 0 };
	char line[1024];
	va_list arguments;
	int length;

	va_start(arguments, format);
	length = vsnprintf(line, sizeof(line), format, arguments);
	va_end(arguments);
	if (length < 0)
		return;
	if ((size_t)length >= sizeof(line))
		length = sizeof(line) - 1;
	/* A leading space keeps a line that starts with digits from ending the reply. */
	evbuffer_add(out, " ", 1);
	add_sanitised(&sink, line, (size_t)length);
	evbuffer_add(out, "\r\n", 2);
}

void
reply_end(struct evbuffer *out, enum reply_id id)
{
	const char *last = reply_closings[id] != NULL ? reply_closings[id] : "End.";

	evbuffer_add_printf(out, "%03d %s\r\n", reply_texts[id].code, last);
}

int
reply_error_ends_session(int error)
{
	switch (error < 0 ? -error : error) {
	case ENOTCONN:
	case ECONNRESET:
	case EHOSTDOWN:
	case ESHUTDOWN:
	case ETIMEDOUT:
		return 1;
	default:
		return 0;
	}
}

enum reply_id
reply_for_errno(int error)
{
	if (reply_error_ends_session(error))
		return REPLY_STORE_UNAVAILABLE;
	switch (error < 0 ? -error : error) {
	case ENOENT:
		return REPLY_FILE_NOT_FOUND;
	case EACCES:
	case EPERM:
	case ELOOP:
	case EXDEV:
		return REPLY_PERMISSION_DENIED;
	case EROFS:
		return REPLY_READ_ONLY;
	case ENOTDIR:
		return REPLY_NOT_A_DIRECTORY;
	case EISDIR:
		return REPLY_IS_A_DIRECTORY;
	case EEXIST:
		return REPLY_FILE_EXISTS;
	case ENOTEMPTY:
		return REPLY_DIRECTORY_NOT_EMPTY;
	case ENOSPC:
		return REPLY_INSUFFICIENT_STORAGE;
	case EDQUOT:
	case EFBIG:
		return REPLY_STORAGE_EXCEEDED;
	case ENAMETOOLONG:
	case EINVAL:
		return REPLY_NAME_NOT_ALLOWED;
	default:
		return REPLY_LOCAL_ERROR;
	}
}

enum reply_id
reply_for_argument_error(int error)
{
	return error == -EAFNOSUPPORT ? REPLY_PROTOCOL_NOT_SUPPORTED : REPLY_SYNTAX_ERROR_IN_ARGUMENT;
}

enum reply_id
reply_for_data_connection_error(int error)
{
	return error == -EPERM ? REPLY_DATA_TLS_NOT_RESUMED : REPLY_DATA_CONNECTION_FAILED;
}

int
reply_quote_path(char *out, size_t size, const char *name)
{
	size_t used = 0;

	for (; *name != '\0'; name++) {
		size_t need = *name == '"' ? 2 : 1;

		if (used + need >= size)
			return -ENAMETOOLONG;
		out[used++] = *name;
		if (*name == '"')
			out[used++] = '"';
	}
	if (used >= size)
		return -ENAMETOOLONG;
	out[used] = '\0';
	return 0;
}
