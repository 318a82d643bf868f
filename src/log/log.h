/*
 * log: one place every message goes through, to stderr or syslog.
 * Never pass a password or other secret to these functions.
 */
#ifndef FTPD_LOG_H
#define FTPD_LOG_H

#include <stdarg.h>

#include <stddef.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* destination: "stderr", "syslog" or "syslog:FACILITY" (e.g. syslog:ftp). 0 or -EINVAL. */
int log_open(const char *destination, enum log_level level);
void log_close(void);
/* A reload's log_level. */
void log_set_level(enum log_level level);
/* Whether messages of level are written (to skip preparing them otherwise). */
int log_enabled(enum log_level level);
/*
 * In a child process whose descriptors were closed after fork: connects to
 * syslog afresh (the old socket's number may belong to something else now).
 */
void log_reopen_after_fork(void);

/* Every level goes through log_at; call sites name theirs, as in log_info(...). */
void log_at(enum log_level level, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* log_at with the arguments already gathered (a shell's host->log). */
void log_atv(enum log_level level, const char *format, va_list arguments)
    __attribute__((format(printf, 2, 0)));

#define log_error(...) log_at(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_at(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_at(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LEVEL_DEBUG, __VA_ARGS__)

/*
 * One message per window for an event a scan repeats by the thousand (a
 * refused source): the first is logged, the rest counted, and the next
 * logged one says how many were held back. Zeroed: nothing seen yet.
 */
struct log_throttle {
	long long window_end_ms;	/* on the caller's monotonic clock */
	unsigned held_back;
};

/*
 * An event at now_ms: 1 to log it (*held_back: how many were not since the
 * last one logged), 0 to stay quiet (counted).
 */
int log_throttle_pass(struct log_throttle *throttle, long long now_ms, unsigned window_ms,
    unsigned *held_back);

/* 1 if destination is one log_open accepts, else 0. */
int log_destination_valid(const char *destination);

/*
 * Copies in to out (size bytes, always NUL-terminated when size > 0) with
 * control characters (CR, LF, ESC, DEL...) as \xHH and a backslash doubled,
 * so a client cannot forge log lines. Never cuts an escape in half. Returns
 * the length the whole escaped text needs, like snprintf: a result >= size
 * means out was truncated.
 */
size_t log_escape(char *out, size_t size, const char *in);

#endif
