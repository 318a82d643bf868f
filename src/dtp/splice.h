/*
 * dtp/splice: an upload moved from the data socket to its file inside the
 * kernel, through a pipe (splice(2)), when the shell gives the file's
 * descriptor: no copy through ftpd's memory.
 */
#ifndef FTPD_DTP_SPLICE_H
#define FTPD_DTP_SPLICE_H

#include <stddef.h>
#include <sys/types.h>

struct splice_pipe {
	int read_end;
	int write_end;
	size_t capacity;	/* what the pipe holds */
	size_t buffered;	/* bytes in it now, not yet in the file */
};

/* A pipe as large as the kernel lets this user have (1 MiB at most). 0 or -errno. */
int splice_pipe_open(struct splice_pipe *pipe);
void splice_pipe_close(struct splice_pipe *pipe);

/*
 * Moves up to at_most bytes (no more than the pipe has room for) from the
 * socket into the pipe without blocking: bytes moved, 0 at the end of the
 * upload, or -errno (-EAGAIN: nothing there yet).
 */
ssize_t splice_from_socket(struct splice_pipe *pipe, int socket, size_t at_most);

/* Moves everything in the pipe into the file at its position: 0 or -errno. */
int splice_to_file(struct splice_pipe *pipe, int file);

#endif
