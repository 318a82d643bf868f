/*
 * support/control_client: reads FTP replies off a socket while the event
 * loop under test runs, so a test can talk to a server like a client.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>

#include "support/control_client.h"

const char *
control_read_reply(struct event_base *base, int fd)
{
	static char reply[8192];
	size_t used = 0;
	time_t deadline = time(NULL) + 5;

	reply[0] = '\0';
	while (time(NULL) <= deadline) {
		ssize_t got;
		char *last;

		event_base_loop(base, EVLOOP_NONBLOCK);
		got = read(fd, reply + used, sizeof(reply) - 1 - used);
		if (got == 0)
			break;
		if (got < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			usleep(1000);
			continue;
		}
		used += (size_t)got;
		reply[used] = '\0';
		/* complete when the last line is "ddd text\r\n" */
		if (used >= 2 && reply[used - 2] == '\r' && reply[used - 1] == '\n') {
			reply[used - 2] = '\0';
			last = strrchr(reply, '\n');
			last = last == NULL ? reply : last + 1;
			reply[used - 2] = '\r';
			if (strlen(last) >= 4 && last[3] == ' ')
				return reply;
		}
	}
	return reply;
}

const char *
control_converse(struct event_base *base, int fd, const char *line)
{
	size_t length = strlen(line);

	ck_assert_int_eq(write(fd, line, length), (ssize_t)length);
	return control_read_reply(base, fd);
}
