/*
 * util/tcp: socket options every FTP connection gets.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "util/tcp.h"

void
tcp_send_at_once(int fd)
{
	int one = 1;

	/* ENOTSUP or ENOPROTOOPT on a socket that is not TCP: harmless. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}
