/*
 * test_splice: an upload moved from a TCP socket into a file through a
 * pipe, over loopback: every byte arrives in order, at the file's
 * position, the pipe never takes more than it holds, and the end of the
 * upload and an empty socket are told apart.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtp/splice.h"
#include "suites.h"

/* A connected TCP pair on loopback (splice needs a real socket, not a socketpair). */
static void
tcp_pair(int *sender, int *receiver)
{
	struct sockaddr_in address = { .sin_family = AF_INET };
	socklen_t length = sizeof(address);
	int listener = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(listener, 0);
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(listener, (struct sockaddr *)&address, sizeof(address)), 0);
	ck_assert_int_eq(listen(listener, 1), 0);
	ck_assert_int_eq(getsockname(listener, (struct sockaddr *)&address, &length), 0);
	*sender = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(*sender, (struct sockaddr *)&address, sizeof(address)), 0);
	*receiver = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
	ck_assert_int_ge(*receiver, 0);
	close(listener);
}

static int
temporary_file(void)
{
	char name[] = "/tmp/ftpd-test-splice-XXXXXX";
	int fd = mkstemp(name);

	ck_assert_int_ge(fd, 0);
	unlink(name);
	return fd;
}

START_TEST(test_bytes_reach_the_file_in_order)
{
	enum { SIZE = 3 * 1024 * 1024 + 17 };
	unsigned char *sent = malloc(SIZE), *stored = malloc(SIZE);
	struct splice_pipe pipe;
	int sender, receiver, file = temporary_file();
	size_t total = 0, offset = 0;
	ssize_t moved;
	size_t i;

	ck_assert_ptr_nonnull(sent);
	ck_assert_ptr_nonnull(stored);
	for (i = 0; i < SIZE; i++)
		sent[i] = (unsigned char)(i * 7 + i / 4096);
	tcp_pair(&sender, &receiver);
	ck_assert_int_eq(splice_pipe_open(&pipe), 0);
	ck_assert_uint_ge(pipe.capacity, 4096);
	/* The upload goes in at the file's position, here after a header. */
	ck_assert_int_eq(write(file, "head", 4), 4);
	for (;;) {
		if (offset < SIZE) {
			ssize_t wrote = send(sender, sent + offset, SIZE - offset, MSG_DONTWAIT);

			if (wrote > 0)
				offset += (size_t)wrote;
			if (offset == SIZE)
				shutdown(sender, SHUT_WR);
		}
		moved = splice_from_socket(&pipe, receiver, SIZE);
		if (moved == -EAGAIN)
			continue;
		ck_assert_int_ge(moved, 0);
		ck_assert_uint_le((size_t)moved, pipe.capacity);
		if (moved == 0)
			break;
		ck_assert_uint_eq(pipe.buffered, (size_t)moved);
		ck_assert_int_eq(splice_to_file(&pipe, file), 0);
		ck_assert_uint_eq(pipe.buffered, 0);
		total += (size_t)moved;
	}
	ck_assert_uint_eq(total, SIZE);
	ck_assert_int_eq(pread(file, stored, 4, 0), 4);
	ck_assert_int_eq(memcmp(stored, "head", 4), 0);
	ck_assert_int_eq(pread(file, stored, SIZE, 4), SIZE);
	ck_assert_int_eq(memcmp(sent, stored, SIZE), 0);
	splice_pipe_close(&pipe);
	ck_assert_int_eq(pipe.read_end, -1);
	close(sender);
	close(receiver);
	close(file);
	free(sent);
	free(stored);
}
END_TEST

START_TEST(test_at_most_and_an_empty_socket)
{
	struct splice_pipe pipe;
	int sender, receiver, file = temporary_file();
	char back[10];

	tcp_pair(&sender, &receiver);
	ck_assert_int_eq(splice_pipe_open(&pipe), 0);
	ck_assert_int_eq(splice_from_socket(&pipe, receiver, 100), -EAGAIN);
	ck_assert_int_eq(send(sender, "0123456789", 10, 0), 10);
	/* A paced upload takes only what its rate allows. */
	while (splice_from_socket(&pipe, receiver, 4) == -EAGAIN)
		;
	ck_assert_uint_eq(pipe.buffered, 4);
	ck_assert_int_eq(splice_from_socket(&pipe, receiver, 100), 6);
	ck_assert_int_eq(splice_to_file(&pipe, file), 0);
	ck_assert_int_eq(pread(file, back, sizeof(back), 0), 10);
	ck_assert_int_eq(memcmp(back, "0123456789", 10), 0);
	close(sender);
	ck_assert_int_eq(splice_from_socket(&pipe, receiver, 100), 0);
	splice_pipe_close(&pipe);
	close(receiver);
	close(file);
}
END_TEST

START_TEST(test_a_file_in_append_mode_is_refused)
{
	struct splice_pipe pipe;
	int sender, receiver, file = temporary_file();

	ck_assert_int_eq(fcntl(file, F_SETFL, O_APPEND), 0);
	tcp_pair(&sender, &receiver);
	ck_assert_int_eq(splice_pipe_open(&pipe), 0);
	ck_assert_int_eq(send(sender, "abc", 3, 0), 3);
	while (splice_from_socket(&pipe, receiver, 100) == -EAGAIN)
		;
	/* Why the fs shell lends no descriptor for APPE. */
	ck_assert_int_eq(splice_to_file(&pipe, file), -EINVAL);
	splice_pipe_close(&pipe);
	close(sender);
	close(receiver);
	close(file);
}
END_TEST

Suite *
splice_suite(void)
{
	Suite *suite = suite_create("splice");
	TCase *tcase = tcase_create("socket to file");

	tcase_add_test(tcase, test_bytes_reach_the_file_in_order);
	tcase_add_test(tcase, test_at_most_and_an_empty_socket);
	tcase_add_test(tcase, test_a_file_in_append_mode_is_refused);
	suite_add_tcase(suite, tcase);
	return suite;
}
