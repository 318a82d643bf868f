/*
 * dtp/splice: socket -> pipe -> file inside the kernel. The socket's pages
 * are moved into the pipe, and the file takes them from there: ftpd never
 * copies an upload's bytes into its own memory and out again.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "dtp/splice.h"

#define SPLICE_PIPE_SIZE (1024 * 1024)

int
splice_pipe_open(struct splice_pipe *pipe)
{
	int ends[2], size;

	if (pipe2(ends, O_NONBLOCK | O_CLOEXEC) != 0)
		return -errno;
	pipe->read_end = ends[0];
	pipe->write_end = ends[1];
	pipe->buffered = 0;
	/*
	 * Larger than the default 64 KiB when the kernel allows: fewer trips.
	 * Past the user's share of pipe memory (pipe-user-pages-soft) it
	 * refuses, and the pipe stays as it is.
	 */
	fcntl(pipe->write_end, F_SETPIPE_SZ, SPLICE_PIPE_SIZE);
	size = fcntl(pipe->write_end, F_GETPIPE_SZ);
	pipe->capacity = size > 0 ? (size_t)size : 4096;
	return 0;
}

void
splice_pipe_close(struct splice_pipe *pipe)
{
	if (pipe->read_end >= 0)
		close(pipe->read_end);
	if (pipe->write_end >= 0)
		close(pipe->write_end);
	pipe->read_end = pipe->write_end = -1;
	pipe->buffered = 0;
}

ssize_t
splice_from_socket(struct splice_pipe *pipe, int socket, size_t at_most)
{
	size_t room = pipe->capacity - pipe->buffered;
	ssize_t moved;

	if (at_most > room)
		at_most = room;
	if (at_most == 0)
		return -EAGAIN;
	do
		moved = splice(socket, NULL, pipe->write_end, NULL, at_most,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (moved < 0 && errno == EINTR);
	if (moved < 0)
		return -errno;
	pipe->buffered += (size_t)moved;
	return moved;
}

int
splice_to_file(struct splice_pipe *pipe, int file)
{
	while (pipe->buffered > 0) {
		/* The file is a regular one: this never waits for anyone but the disk. */
		ssize_t moved = splice(pipe->read_end, NULL, file, NULL, pipe->buffered,
		    SPLICE_F_MOVE);

		if (moved < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (moved == 0)
			return -EIO;
		pipe->buffered -= (size_t)moved;
	}
	return 0;
}
