/*
 * xferlog: "Mon Nov 22 04:20:00 2026 1 10.0.0.1 4 /pub/f b _ o a anonymous ftp 0 * c".
 * Fields are separated by single spaces, so white space in names is written as '_'.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log/log.h"
#include "log/xferlog.h"

struct xferlog {
	int fd;
};

int
xferlog_fd(const struct xferlog *log)
{
	return log != NULL ? log->fd : -1;
}

struct xferlog *
xferlog_open(const char *path)
{
	struct xferlog *log = malloc(sizeof(*log));

	if (log == NULL)
		return NULL;
	log->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (log->fd < 0) {
		int error = errno;

		free(log);
		errno = error;
		return NULL;
	}
	return log;
}

void
xferlog_close(struct xferlog *log)
{
	if (log == NULL)
		return;
	close(log->fd);
	free(log);
}

/* Copies a field, with white space and control characters as '_' so it stays one field. */
static void
copy_field(char *out, size_t size, const char *in)
{
	size_t i;

	if (in == NULL || *in == '\0')
		in = "*";
	for (i = 0; i + 1 < size && in[i] != '\0'; i++)
		out[i] = ((unsigned char)in[i] <= ' ' || in[i] == 0x7f) ? '_' : in[i];
	out[i] = '\0';
}

size_t
xferlog_format(char *out, size_t size, const struct xferlog_entry *entry,
    const struct timeval *now)
{
	char when[32], path[4096], user[128], host[64];
	struct tm local;
	time_t seconds = now->tv_sec;
	long elapsed = (long)(now->tv_sec - entry->started.tv_sec);
	int length;

	/* Rounded to whole seconds; analysers divide by it, so never 0. */
	if (now->tv_usec >= entry->started.tv_usec + 500000)
		elapsed++;
	if (elapsed < 1)
		elapsed = 1;
	localtime_r(&seconds, &local);
	strftime(when, sizeof(when), "%a %b %e %H:%M:%S %Y", &local);
	copy_field(path, sizeof(path), entry->path);
	copy_field(user, sizeof(user), entry->user);
	copy_field(host, sizeof(host), entry->remote_host);
	length = snprintf(out, size, "%s %ld %s %llu %s %c _ %c %c %s ftp 0 * %c\n", when, elapsed,
	    host, (unsigned long long)entry->bytes, path, entry->ascii ? 'a' : 'b',
	    entry->incoming ? 'i' : 'o', entry->anonymous ? 'a' : 'r', user,
	    entry->complete ? 'c' : 'i');
	if (length < 0)
		return 0;
	return (size_t)length < size ? (size_t)length : size - 1;
}

void
xferlog_write(struct xferlog *log, const struct xferlog_entry *entry)
{
	char line[4608];
	struct timeval now;
	size_t length;

	if (log == NULL)
		return;
	gettimeofday(&now, NULL);
	length = xferlog_format(line, sizeof(line), entry, &now);
	if (length > 0 && line[length - 1] != '\n')
		line[length - 1] = '\n';
	if (write(log->fd, line, length) != (ssize_t)length)
		log_warning("xferlog: %s", strerror(errno));
}
