/*
 * log: one place every message goes through, to stderr or syslog.
 * Messages are escaped here, so text a client sent can never start a line of its own.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log/log.h"

/* Longer messages are cut (and marked), never split over several lines. */
#define LOG_MESSAGE_SIZE 2048
/* Every byte may become "\xHH". */
#define LOG_ESCAPED_SIZE (LOG_MESSAGE_SIZE * 4 + 8)

static const struct {
	const char *name;
	int facility;
} syslog_facilities[] = {
	{ "ftp", LOG_FTP },
	{ "daemon", LOG_DAEMON },
	{ "auth", LOG_AUTH },
	{ "authpriv", LOG_AUTHPRIV },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
};

static const char *const level_names[] = {
	[LOG_LEVEL_ERROR] = "error",
	[LOG_LEVEL_WARNING] = "warning",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_DEBUG] = "debug",
};

static const int level_priorities[] = {
	[LOG_LEVEL_ERROR] = LOG_ERR,
	[LOG_LEVEL_WARNING] = LOG_WARNING,
	[LOG_LEVEL_INFO] = LOG_INFO,
	[LOG_LEVEL_DEBUG] = LOG_DEBUG,
};

/*
 * Set by log_open before any worker thread or process exists, read-only after
 * (but for the level, which a reload may change: accessed atomically):
 * until then, messages go to stderr so early errors are never lost.
 */
static int log_to_syslog;
static int log_facility;
static enum log_level log_threshold = LOG_LEVEL_INFO;

/* 0 and the facility (-1 for stderr), or -EINVAL. */
static int
parse_destination(const char *destination, int *facility)
{
	const char *name;
	size_t i;

	if (destination == NULL)
		return -EINVAL;
	if (strcmp(destination, "stderr") == 0) {
		*facility = -1;
		return 0;
	}
	if (strcmp(destination, "syslog") == 0) {
		*facility = LOG_FTP;
		return 0;
	}
	if (strncmp(destination, "syslog:", 7) != 0)
		return -EINVAL;
	name = destination + 7;
	for (i = 0; i < sizeof(syslog_facilities) / sizeof(syslog_facilities[0]); i++) {
		if (strcasecmp(name, syslog_facilities[i].name) == 0) {
			*facility = syslog_facilities[i].facility;
			return 0;
		}
	}
	return -EINVAL;
}

int
log_destination_valid(const char *destination)
{
	int facility;

	return parse_destination(destination, &facility) == 0;
}

int
log_open(const char *destination, enum log_level level)
{
	int facility;

	if (parse_destination(destination, &facility) < 0)
		return -EINVAL;
	if ((unsigned)level > LOG_LEVEL_DEBUG)
		return -EINVAL;
	if (log_to_syslog)
		closelog();
	log_threshold = level;
	log_to_syslog = facility >= 0;
	log_facility = facility;
	if (log_to_syslog)
		openlog("ftpd", LOG_PID | LOG_NDELAY, facility);
	return 0;
}

void
log_set_level(enum log_level level)
{
	if ((unsigned)level <= LOG_LEVEL_DEBUG)
		__atomic_store_n(&log_threshold, level, __ATOMIC_RELAXED);
}

int
log_enabled(enum log_level level)
{
	return level <= __atomic_load_n(&log_threshold, __ATOMIC_RELAXED);
}

void
log_reopen_after_fork(void)
{
	if (!log_to_syslog)
		return;
	closelog();
	openlog("ftpd", LOG_PID | LOG_NDELAY, log_facility);
}

void
log_close(void)
{
	if (log_to_syslog)
		closelog();
	log_to_syslog = 0;
}

size_t
log_escape(char *out, size_t size, const char *in)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *byte;
	size_t needed = 0, written = 0, piece_length;
	char piece[4];
	int truncated = 0;

	if (in == NULL)
		in = "(null)";
	for (byte = (const unsigned char *)in; *byte != '\0'; byte++) {
		if (*byte < 0x20 || *byte == 0x7f) {
			piece[0] = '\\';
			piece[1] = 'x';
			piece[2] = hex[*byte >> 4];
			piece[3] = hex[*byte & 0xf];
			piece_length = 4;
		} else if (*byte == '\\') {
			piece[0] = '\\';
			piece[1] = '\\';
			piece_length = 2;
		} else {
			piece[0] = (char)*byte;
			piece_length = 1;
		}
		needed += piece_length;
		/* Once one piece did not fit, later smaller ones must not either. */
		if (!truncated && size > 0 && written + piece_length < size) {
			memcpy(out + written, piece, piece_length);
			written += piece_length;
		} else
			truncated = 1;
	}
	if (size > 0)
		out[written] = '\0';
	return needed;
}

/* One write(2), so lines of concurrent threads or worker processes never interleave. */
static void
write_stderr_line(enum log_level level, const char *escaped)
{
	char line[LOG_ESCAPED_SIZE + 64];
	ssize_t written;
	size_t length, offset = 0;
	int formatted;

	formatted = snprintf(line, sizeof(line), "ftpd[%ld]: %s: %s\n", (long)getpid(),
	    level_names[level], escaped);
	if (formatted < 0)
		return;
	length = (size_t)formatted < sizeof(line) ? (size_t)formatted : sizeof(line) - 1;
	while (offset < length) {
		written = write(STDERR_FILENO, line + offset, length - offset);
		if (written < 0 && errno == EINTR)
			continue;
		if (written <= 0)
			return;
		offset += (size_t)written;
	}
}

static void
log_message(enum log_level level, const char *format, va_list arguments)
{
	char message[LOG_MESSAGE_SIZE];
	char escaped[LOG_ESCAPED_SIZE];
	int length;
	int saved_errno = errno;

	if (!log_enabled(level))
		return;
	if (format == NULL)
		format = "(null)";
	length = vsnprintf(message, sizeof(message), format, arguments);
	if (length < 0)
		snprintf(message, sizeof(message), "(unformattable message: %s)", format);
	else if ((size_t)length >= sizeof(message))
		memcpy(message + sizeof(message) - 4, "...", 4);
	log_escape(escaped, sizeof(escaped), message);

	if (log_to_syslog)
		syslog(level_priorities[level], "%s", escaped);
	else
		write_stderr_line(level, escaped);
	/* Callers log between a failing call and their use of errno. */
	errno = saved_errno;
}

void
log_atv(enum log_level level, const char *format, va_list arguments)
{
	log_message(level, format, arguments);
}

void
log_at(enum log_level level, const char *format, ...)
{
	va_list arguments;

	va_start(arguments, format);
	log_message(level, format, arguments);
	va_end(arguments);
}

int
log_throttle_pass(struct log_throttle *throttle, long long now_ms, unsigned window_ms,
    unsigned *held_back)
{
	if (now_ms < throttle->window_end_ms) {
		throttle->held_back++;
		return 0;
	}
	*held_back = throttle->held_back;
	throttle->held_back = 0;
	throttle->window_end_ms = now_ms + window_ms;
	return 1;
}
