/*
 * systemd: the few lines of the sd_listen_fds/sd_notify protocols ftpd needs.
 * See sd_listen_fds(3) and sd_notify(3) for the contracts followed here.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log/log.h"
#include "server/systemd.h"

/* Parses a whole decimal number; -1 when it is not one. */
static long
parse_number(const char *text)
{
	char *end;
	long value;

	if (text == NULL || *text == '\0')
		return -1;
	errno = 0;
	value = strtol(text, &end, 10);
	if (errno != 0 || *end != '\0' || value < 0)
		return -1;
	return value;
}

int
systemd_listen_fds(void)
{
	long pid = parse_number(getenv("LISTEN_PID"));
	long count = parse_number(getenv("LISTEN_FDS"));
	long i;

	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	/* The sockets are for the process systemd started, not for a parent or child. */
	if (pid != (long)getpid() || count <= 0)
		return 0;
	if (count > 64)
		count = 64;
	for (i = 0; i < count; i++)
		fcntl(SYSTEMD_FIRST_FD + (int)i, F_SETFD, FD_CLOEXEC);
	return (int)count;
}

int
systemd_fd_is_listening(int fd)
{
	int listening = 0;
	socklen_t length = sizeof(listening);

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) != 0)
		return 0;
	return listening != 0;
}

void
systemd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un address;
	socklen_t length;
	int fd;

	if (path == NULL || (path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof(address.sun_path))
		return;
	memset(&address, 0, sizeof(address));
	address.sun_family = AF_UNIX;
	memcpy(address.sun_path, path, strlen(path));
	if (path[0] == '@')
		address.sun_path[0] = '\0';	/* abstract namespace */
	length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&address, length) < 0)
		log_warning("cannot notify the service manager: %s", strerror(errno));
	close(fd);
}
