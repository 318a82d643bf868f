/*
 * test_transfer: the data channel's transfer engine over real loopback TCP,
 * passive and active dtps, with real files in a temporary fs shell.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "config/config.h"
#include "dtp/dtp.h"
#include "dtp/transfer.h"
#include "fs/fs.h"
#include "shell/host.h"
#include "suites.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

/* Large enough for many sendfile and read steps, small enough to be quick. */
#define PAYLOAD_SIZE (3 * 1024 * 1024 + 17)
/* Larger than every socket buffer of the loopback connection together. */
#define HUGE_SIZE ((off_t)256 * 1024 * 1024)
#define TEMPORARY_PREFIX ".ftpd-upload."

enum client_end { END_KEEP, END_CLOSE, END_SHUTDOWN };

/* The test's end of a data connection, driven by the same event loop. */
struct client {
	int fd;
	struct event *read_event;
	struct event *write_event;
	int want_read;
	struct evbuffer *received;
	int eof;			/* read 0, or a read failed */
	int read_errno;
	const char *payload;
	size_t length;
	size_t sent;
	enum client_end end;
};

static struct {
	struct event_base *base;
	struct event *tick;
	struct config config;
	char root[64];
	struct ftpd_shell *shell;
	struct client client;
	int listener;			/* active mode: where the dtp connects to */
	struct event *listener_event;
	struct transfer *transfer;
	int read_closes;		/* closes of counted read files */
	int done_calls;
	enum transfer_status status;
	int error;
	uint64_t bytes;
	uint64_t stored;
	int kept;
} fixture;

enum { PASSIVE = 0, ACTIVE = 1 };

static void
tick(evutil_socket_t fd UNUSED, short what UNUSED, void *arg UNUSED)
{
	/* Only here so that one loop iteration never waits long. */
}

static void
client_init(struct client *client)
{
	memset(client, 0, sizeof(*client));
	client->fd = -1;
	client->received = evbuffer_new();
	ck_assert_ptr_nonnull(client->received);
}

static void
client_close(struct client *client)
{
	if (client->read_event != NULL)
		event_free(client->read_event);
	client->read_event = NULL;
	if (client->write_event != NULL)
		event_free(client->write_event);
	client->write_event = NULL;
	if (client->fd >= 0)
		close(client->fd);
	client->fd = -1;
}

/* Closes with a RST instead of a FIN: SO_LINGER with a zero timeout. */
static void
client_reset(struct client *client)
{
	struct linger linger = { 1, 0 };

	ck_assert_int_eq(setsockopt(client->fd, SOL_SOCKET, SO_LINGER, &linger,
	    sizeof(linger)), 0);
	client_close(client);
}

static void
client_free(struct client *client)
{
	client_close(client);
	if (client->received != NULL)
		evbuffer_free(client->received);
	client->received = NULL;
}

static void
client_readable(evutil_socket_t fd, short what UNUSED, void *arg)
{
	struct client *client = arg;
	char chunk[64 * 1024];

	for (;;) {
		ssize_t got = read(fd, chunk, sizeof(chunk));

		if (got > 0) {
			ck_assert_int_eq(evbuffer_add(client->received, chunk, (size_t)got), 0);
			continue;
		}
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client->read_errno = got < 0 ? errno : 0;
		client->eof = 1;
		event_del(client->read_event);
		return;
	}
}

static void
client_writable(evutil_socket_t fd, short what UNUSED, void *arg)
{
	struct client *client = arg;

	while (client->sent < client->length) {
		ssize_t wrote = write(fd, client->payload + client->sent,
		    client->length - client->sent);

		if (wrote < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			ck_abort_msg("client write: %s", strerror(errno));
		}
		client->sent += (size_t)wrote;
	}
	event_del(client->write_event);
	if (client->end == END_CLOSE)
		client_close(client);
	else if (client->end == END_SHUTDOWN)
		ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
}

/* Starts whatever the client was asked to do once it has a connection. */
static void
client_start(struct client *client)
{
	if (client->fd < 0)
		return;
	if (client->want_read && client->read_event == NULL) {
		client->read_event = event_new(fixture.base, client->fd, EV_READ | EV_PERSIST,
		    client_readable, client);
		ck_assert_ptr_nonnull(client->read_event);
		ck_assert_int_eq(event_add(client->read_event, NULL), 0);
	}
	if (client->payload != NULL && client->write_event == NULL) {
		client->write_event = event_new(fixture.base, client->fd, EV_WRITE | EV_PERSIST,
		    client_writable, client);
		ck_assert_ptr_nonnull(client->write_event);
		ck_assert_int_eq(event_add(client->write_event, NULL), 0);
	}
}

static void
client_read(struct client *client)
{
	client->want_read = 1;
	client_start(client);
}

static void
client_send(struct client *client, const char *payload, size_t length, enum client_end end)
{
	client->payload = payload;
	client->length = length;
	client->sent = 0;
	client->end = end;
	client_start(client);
}

static void
client_attach(struct client *client, int fd)
{
	ck_assert_int_eq(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	client->fd = fd;
	client_start(client);
}

static struct sockaddr_in
loopback(const char *text, unsigned port)
{
	struct sockaddr_in address;

	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_port = htons((uint16_t)port);
	ck_assert_int_eq(inet_pton(AF_INET, text, &address.sin_addr), 1);
	return address;
}

/* A client socket connected to a passive dtp, from source (NULL: any address). */
static int
connect_to(const struct sockaddr *target, const char *source)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	if (source != NULL) {
		struct sockaddr_in from = loopback(source, 0);

		ck_assert_int_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
	}
	ck_assert_int_eq(connect(fd, target, sizeof(struct sockaddr_in)), 0);
	return fd;
}

static void
listener_acceptable(evutil_socket_t listener, short what UNUSED, void *arg UNUSED)
{
	int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_lt(fixture.client.fd, 0);
	client_attach(&fixture.client, fd);
}

/*
 * The dtp of a transfer: passive with the client connected to it at once
 * (as after PASV), or active towards a socket the test listens on (PORT).
 */
static struct dtp *
open_dtp(int mode)
{
	struct sockaddr_in local = loopback("127.0.0.1", 0);
	struct sockaddr_in peer = loopback("127.0.0.1", 40000);
	struct dtp *dtp;
	int error = 1;

	if (mode == PASSIVE) {
		dtp = dtp_new_passive(fixture.base, &fixture.config, (struct sockaddr *)&local,
		    (struct sockaddr *)&peer, &error);
		ck_assert_ptr_nonnull(dtp);
		ck_assert_int_eq(error, 0);
		client_attach(&fixture.client, connect_to(dtp_listen_address(dtp), NULL));
		return dtp;
	} else {
		struct sockaddr_in target = loopback("127.0.0.1", 0);
		socklen_t length = sizeof(target);

		fixture.listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(fixture.listener, 0);
		ck_assert_int_eq(bind(fixture.listener, (struct sockaddr *)&target,
		    sizeof(target)), 0);
		ck_assert_int_eq(listen(fixture.listener, 4), 0);
		ck_assert_int_eq(getsockname(fixture.listener, (struct sockaddr *)&target,
		    &length), 0);
		fixture.listener_event = event_new(fixture.base, fixture.listener,
		    EV_READ | EV_PERSIST, listener_acceptable, NULL);
		ck_assert_ptr_nonnull(fixture.listener_event);
		ck_assert_int_eq(event_add(fixture.listener_event, NULL), 0);
		dtp = dtp_new_active(fixture.base, (struct sockaddr *)&local,
		    (struct sockaddr *)&target, sizeof(target));
		ck_assert_ptr_nonnull(dtp);
		return dtp;
	}
}

static double
now(void)
{
	struct timespec time;

	clock_gettime(CLOCK_MONOTONIC, &time);
	return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

/* Runs the loop until holds() or the time is up; returns whether it holds. */
static int
run_until(int (*holds)(void), double seconds)
{
	double deadline = now() + seconds;

	while (!holds() && now() < deadline)
		ck_assert_int_ge(event_base_loop(fixture.base, EVLOOP_ONCE), 0);
	return holds();
}

static int
transfer_finished(void)
{
	return fixture.done_calls > 0;
}

static int
client_at_eof(void)
{
	return fixture.client.eof;
}

static int
finished_and_client_at_eof(void)
{
	return transfer_finished() && client_at_eof();
}

static void
transfer_done(void *arg, const struct transfer_result *result)
{
	ck_assert_ptr_eq(arg, &fixture);
	fixture.done_calls++;
	fixture.status = result->status;
	fixture.error = result->error;
	fixture.bytes = result->bytes;
	fixture.stored = result->stored;
	fixture.kept = result->kept;
	fixture.transfer = NULL;
}

static struct transfer_options
options_with(int ascii)
{
	struct transfer_options options = {
		.connect_timeout = 1,
		.stall_timeout = 5,
		.ascii = ascii,
		.tls = NULL,
		.tls_control = NULL,
	};

	return options;
}

static void
root_path(char *buffer, size_t size, const char *name)
{
	int length = snprintf(buffer, size, "%s/%s", fixture.root, name);

	ck_assert(length > 0 && (size_t)length < size);
}

static void
write_whole(const char *name, const char *content, size_t length)
{
	char path[256];
	FILE *file;

	root_path(path, sizeof(path), name);
	file = fopen(path, "w");
	ck_assert_ptr_nonnull(file);
	ck_assert_uint_eq(fwrite(content, 1, length, file), length);
	ck_assert_int_eq(fclose(file), 0);
}

/* The content of a file under the root (malloc'd, NUL-terminated), or NULL. */
static char *
read_whole(const char *name, size_t *length)
{
	char path[256], *content;
	struct stat status;
	FILE *file;

	root_path(path, sizeof(path), name);
	file = fopen(path, "r");
	if (file == NULL)
		return NULL;
	ck_assert_int_eq(fstat(fileno(file), &status), 0);
	content = malloc((size_t)status.st_size + 1);
	ck_assert_ptr_nonnull(content);
	ck_assert_uint_eq(fread(content, 1, (size_t)status.st_size, file),
	    (size_t)status.st_size);
	content[status.st_size] = '\0';
	fclose(file);
	*length = (size_t)status.st_size;
	return content;
}

/* Upload temporaries left in the root: an aborted upload must leave none. */
static int
temporaries_left(void)
{
	DIR *directory = opendir(fixture.root);
	struct dirent *entry;
	int count = 0;

	ck_assert_ptr_nonnull(directory);
	while ((entry = readdir(directory)) != NULL)
		count += strncmp(entry->d_name, TEMPORARY_PREFIX, strlen(TEMPORARY_PREFIX)) == 0;
	closedir(directory);
	return count;
}

/* Deterministic bytes of every value, so a lost or moved byte shows. */
static char *
make_payload(size_t length, unsigned seed)
{
	char *payload = malloc(length);
	unsigned state = seed | 1;
	size_t i;

	ck_assert_ptr_nonnull(payload);
	for (i = 0; i < length; i++) {
		state ^= state << 13;
		state ^= state >> 17;
		state ^= state << 5;
		payload[i] = (char)(state >> 24);
	}
	return payload;
}

static void
received_equals(const struct client *client, const char *expected, size_t length)
{
	size_t got = evbuffer_get_length(client->received);
	const char *bytes = (const char *)evbuffer_pullup(client->received, -1);

	ck_assert_msg(got == length, "client received %zu bytes, expected %zu", got, length);
	ck_assert_msg(length == 0 || memcmp(bytes, expected, length) == 0,
	    "client received other bytes than expected");
}

/* --- files ---------------------------------------------------------------- */

static void
opened_for_reading(void *arg, int error, struct ftpd_read_file *file)
{
	ck_assert_int_eq(error, 0);
	*(struct ftpd_read_file **)arg = file;
}

/* A file of the fs shell, as RETR opens it (the shell completes at once). */
static struct ftpd_read_file *
shell_read_file(const char *name, uint64_t offset)
{
	const char *segments[] = { name };
	struct ftpd_path path = { segments, 1 };
	struct ftpd_read_file *file = NULL;

	fixture.shell->ops->open_for_reading(fixture.shell, &path, offset, opened_for_reading,
	    &file);
	ck_assert_ptr_nonnull(file);
	return file;
}

static void
opened_for_writing(void *arg, int error, struct ftpd_write_file *file)
{
	ck_assert_int_eq(error, 0);
	*(struct ftpd_write_file **)arg = file;
}

static struct ftpd_write_file *
shell_write_file(struct ftpd_shell *shell, const char *name)
{
	const char *segments[] = { name };
	struct ftpd_path path = { segments, 1 };
	struct ftpd_write_file *file = NULL;

	shell->ops->open_for_writing(shell, &path, FTPD_WRITE_REPLACE, 0, opened_for_writing,
	    &file);
	ck_assert_ptr_nonnull(file);
	return file;
}

/*
 * A read file over a real descriptor that counts its closes, and that can
 * hide its fd (as a shell in front of a network store would) so the
 * transfer has to pull the bytes through read() instead of sendfile.
 */
struct counted_file {
	struct ftpd_read_file base;
	int real_fd;
};

static ssize_t
counted_read(struct ftpd_read_file *file, void *buffer, size_t length,
    ftpd_result_fn done UNUSED, void *arg UNUSED)
{
	ssize_t got = read(((struct counted_file *)file)->real_fd, buffer, length);

	return got >= 0 ? got : -errno;
}

static void
counted_close(struct ftpd_read_file *file)
{
	struct counted_file *counted = (struct counted_file *)file;

	close(counted->real_fd);
	fixture.read_closes++;
	free(counted);
}

static const struct ftpd_read_file_ops counted_ops = {
	sizeof(struct ftpd_read_file_ops), counted_read, counted_close
};

static struct ftpd_read_file *
counted_file(const char *name, uint64_t offset, int expose_fd)
{
	struct counted_file *file = calloc(1, sizeof(*file));
	char path[256];
	struct stat status;

	ck_assert_ptr_nonnull(file);
	root_path(path, sizeof(path), name);
	file->real_fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(file->real_fd, 0);
	ck_assert_int_eq(fstat(file->real_fd, &status), 0);
	ck_assert_int_eq(lseek(file->real_fd, (off_t)offset, SEEK_SET), (off_t)offset);
	file->base.ops = &counted_ops;
	file->base.fd = expose_fd ? file->real_fd : -1;
	file->base.size = (uint64_t)status.st_size;
	return &file->base;
}

/* Variant bits of the download loop tests. */
#define VARIANT_MODE(i) ((i) & 1)
#define VARIANT_READ_PATH(i) (((i) & 2) != 0)
#define DOWNLOAD_VARIANTS 4

static struct ftpd_read_file *
variant_file(int variant, const char *name, uint64_t offset)
{
	/* The fs shell's file has an fd: sent zero-copy. The other is read. */
	if (VARIANT_READ_PATH(variant))
		return counted_file(name, offset, 0);
	return shell_read_file(name, offset);
}

/* --- fixture -------------------------------------------------------------- */

static void
setup(void)
{
	struct ftpd_shell_config shell_config = { 0 };
	struct timeval interval = { 0, 10 * 1000 };

	memset(&fixture, 0, sizeof(fixture));
	fixture.listener = -1;
	strcpy(fixture.root, "/tmp/ftpd-transfer-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(fixture.root));
	ck_assert_int_eq(config_init(&fixture.config), 0);
	fixture.base = event_base_new();
	ck_assert_ptr_nonnull(fixture.base);
	fixture.tick = event_new(fixture.base, -1, EV_PERSIST, tick, NULL);
	ck_assert_ptr_nonnull(fixture.tick);
	ck_assert_int_eq(event_add(fixture.tick, &interval), 0);
	shell_config.root = fixture.root;
	shell_config.user = "tester";
	ck_assert_int_eq(shell_fs_create(&shell_config, &fixture.shell), 0);
	client_init(&fixture.client);
}

static void
teardown(void)
{
	char command[128];

	if (fixture.transfer != NULL)
		transfer_free(fixture.transfer);
	client_free(&fixture.client);
	if (fixture.listener_event != NULL)
		event_free(fixture.listener_event);
	if (fixture.listener >= 0)
		close(fixture.listener);
	fixture.shell->ops->destroy(fixture.shell);
	event_free(fixture.tick);
	event_base_free(fixture.base);
	config_free(&fixture.config);
	snprintf(command, sizeof(command), "rm -rf '%s'", fixture.root);
	ck_assert_int_eq(system(command), 0);
}

/* --- downloads ------------------------------------------------------------ */

static void
download(int variant, const char *name, uint64_t offset, int ascii)
{
	struct transfer_options options = options_with(ascii);
	struct dtp *dtp = open_dtp(VARIANT_MODE(variant));

	client_read(&fixture.client);
	fixture.transfer = transfer_send_file(fixture.base, dtp, &options,
	    variant_file(variant, name, offset), offset, transfer_done, &fixture);
	ck_assert_ptr_nonnull(fixture.transfer);
	ck_assert_int_eq(fixture.done_calls, 0);
	ck_assert(run_until(finished_and_client_at_eof, 10));
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.client.read_errno, 0);
}

START_TEST(test_download_whole_file)
{
	char *payload = make_payload(PAYLOAD_SIZE, 7);

	write_whole("data.bin", payload, PAYLOAD_SIZE);
	download(_i, "data.bin", 0, 0);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_int_eq(fixture.error, 0);
	ck_assert_uint_eq(fixture.bytes, PAYLOAD_SIZE);
	received_equals(&fixture.client, payload, PAYLOAD_SIZE);
	if (VARIANT_READ_PATH(_i))
		ck_assert_int_eq(fixture.read_closes, 1);
	free(payload);
}
END_TEST

START_TEST(test_download_from_offset)
{
	const size_t offset = 1000 * 1000 + 3;
	char *payload = make_payload(PAYLOAD_SIZE, 11);

	write_whole("data.bin", payload, PAYLOAD_SIZE);
	download(_i, "data.bin", offset, 0);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.bytes, PAYLOAD_SIZE - offset);
	received_equals(&fixture.client, payload + offset, PAYLOAD_SIZE - offset);
	free(payload);
}
END_TEST

START_TEST(test_download_empty_file)
{

	write_whole("empty", "", 0);
	download(_i, "empty", 0, 0);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.bytes, 0);
	received_equals(&fixture.client, "", 0);
}
END_TEST

START_TEST(test_download_offset_past_end)
{

	/* REST beyond the end: nothing to send, and that is a complete transfer. */
	write_whole("short", "12345", 5);
	download(_i, "short", 100, 0);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.bytes, 0);
	received_equals(&fixture.client, "", 0);
}
END_TEST

/* Local LF line ends as the network's CRLF, computed apart from ascii.c. */
static char *
to_network(const char *in, size_t length, size_t *out_length)
{
	char *out = malloc(length * 2 + 1);
	size_t i, used = 0;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i < length; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			out[used++] = '\r';
		out[used++] = in[i];
	}
	*out_length = used;
	return out;
}

/* Text of many lines, with CRLF, bare CR and LF placed across 64 KiB boundaries. */
static char *
make_text(size_t length)
{
	char *text = malloc(length);
	size_t i;

	ck_assert_ptr_nonnull(text);
	for (i = 0; i < length; i++)
		text[i] = (char)('a' + i % 26);
	for (i = 37; i < length; i += 41)
		text[i] = '\n';
	for (i = 100; i + 1 < length; i += 997) {
		text[i] = '\r';
		text[i + 1] = '\n';
	}
	for (i = 555; i < length; i += 4099)
		text[i] = '\r';
	for (i = 65535; i + 1 < length; i += 65536) {
		text[i] = '\r';
		text[i + 1] = '\n';
	}
	text[0] = '\n';
	return text;
}

START_TEST(test_download_ascii)
{
	const char *small = "one\ntwo\r\nthree\n\nfour\r";
	const char *small_expected = "one\r\ntwo\r\nthree\r\n\r\nfour\r";
	size_t length = 300 * 1000, expected_length;
	char *text = make_text(length), *expected = to_network(text, length, &expected_length);

	write_whole("small.txt", small, strlen(small));
	download(_i, "small.txt", 0, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.bytes, strlen(small_expected));
	received_equals(&fixture.client, small_expected, strlen(small_expected));

	/* Again, a file of many reads: conversion state carries over chunks. */
	client_free(&fixture.client);
	client_init(&fixture.client);
	if (fixture.listener_event != NULL)
		event_free(fixture.listener_event);
	fixture.listener_event = NULL;
	if (fixture.listener >= 0)
		close(fixture.listener);
	fixture.listener = -1;
	fixture.done_calls = 0;
	write_whole("big.txt", text, length);
	download(_i, "big.txt", 0, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert(expected_length > length);
	ck_assert_uint_eq(fixture.bytes, expected_length);
	received_equals(&fixture.client, expected, expected_length);
	free(text);
	free(expected);
}
END_TEST

static void
start_download(int mode, struct ftpd_read_file *file, uint64_t offset)
{
	struct transfer_options options = options_with(0);

	fixture.transfer = transfer_send_file(fixture.base, open_dtp(mode), &options, file,
	    offset, transfer_done, &fixture);
	ck_assert_ptr_nonnull(fixture.transfer);
}

static int
some_bytes_sent(void)
{
	return fixture.transfer != NULL && transfer_bytes(fixture.transfer) > 0;
}

START_TEST(test_expected_bytes)
{
	char *payload = make_payload(PAYLOAD_SIZE, 5);

	/* STAT shows "bytes of expected": what this download will send in all. */
	write_whole("data.bin", payload, PAYLOAD_SIZE);
	free(payload);
	start_download(PASSIVE, counted_file("data.bin", 0, 1), 0);
	ck_assert_uint_eq(transfer_expected_bytes(fixture.transfer), PAYLOAD_SIZE);
	transfer_free(fixture.transfer);
	fixture.transfer = NULL;
	client_close(&fixture.client);

	/* After REST only the rest is sent. */
	start_download(PASSIVE, counted_file("data.bin", 1000, 1), 1000);
	ck_assert_uint_eq(transfer_expected_bytes(fixture.transfer), PAYLOAD_SIZE - 1000);
}
END_TEST

/* --- pacing (max_rate) ---------------------------------------------------- */

/*
 * 600 KiB at 1 MiB/s: six ticks, the first one or two at once, so 0.4 to
 * 0.5 s; unpaced, it takes milliseconds.
 */
#define PACED_SIZE (600 * 1024)
#define PACED_RATE (1024 * 1024)
#define PACED_SECONDS_MIN 0.3
#define PACED_SECONDS_MAX 2.0

START_TEST(test_download_is_paced)
{
	struct transfer_options options = options_with(0);
	char *payload = make_payload(PACED_SIZE, 17);
	double started, took;

	write_whole("paced.bin", payload, PACED_SIZE);
	options.max_rate = PACED_RATE;
	client_read(&fixture.client);
	started = now();
	fixture.transfer = transfer_send_file(fixture.base, open_dtp(VARIANT_MODE(_i)), &options,
	    variant_file(_i, "paced.bin", 0), 0, transfer_done, &fixture);
	ck_assert_ptr_nonnull(fixture.transfer);
	ck_assert(run_until(finished_and_client_at_eof, 10));
	took = now() - started;
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	received_equals(&fixture.client, payload, PACED_SIZE);
	ck_assert_msg(took >= PACED_SECONDS_MIN && took <= PACED_SECONDS_MAX,
	    "600 KiB at 1 MiB/s took %.2f s", took);
	free(payload);
}
END_TEST

/* --- uploads -------------------------------------------------------------- */

static void
upload(int mode, struct ftpd_write_file *file, int ascii, const char *payload, size_t length,
    enum client_end end)
{
	struct transfer_options options = options_with(ascii);
	struct dtp *dtp = open_dtp(mode);

	client_send(&fixture.client, payload, length, end);
	fixture.transfer = transfer_receive_file(fixture.base, dtp, &options, file,
	    transfer_done, &fixture);
	ck_assert_ptr_nonnull(fixture.transfer);
}

START_TEST(test_upload_replaces_file)
{
	char *payload = make_payload(PAYLOAD_SIZE, 13), *stored;
	size_t length;

	write_whole("upload.bin", "old content", 11);
	upload(_i, shell_write_file(fixture.shell, "upload.bin"), 0, payload, PAYLOAD_SIZE,
	    END_CLOSE);
	ck_assert(run_until(transfer_finished, 10));
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_int_eq(fixture.error, 0);
	ck_assert_uint_eq(fixture.bytes, PAYLOAD_SIZE);
	stored = read_whole("upload.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_uint_eq(length, PAYLOAD_SIZE);
	ck_assert(memcmp(stored, payload, PAYLOAD_SIZE) == 0);
	ck_assert_int_eq(temporaries_left(), 0);
	free(stored);
	free(payload);
}
END_TEST

START_TEST(test_upload_is_paced)
{
	struct transfer_options options = options_with(0);
	char *payload = make_payload(PACED_SIZE, 19), *stored;
	double started, took;
	size_t length;

	options.max_rate = PACED_RATE;
	client_send(&fixture.client, payload, PACED_SIZE, END_CLOSE);
	started = now();
	fixture.transfer = transfer_receive_file(fixture.base, open_dtp(_i), &options,
	    shell_write_file(fixture.shell, "paced.bin"), transfer_done, &fixture);
	ck_assert_ptr_nonnull(fixture.transfer);
	ck_assert(run_until(transfer_finished, 10));
	took = now() - started;
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	stored = read_whole("paced.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_uint_eq(length, PACED_SIZE);
	ck_assert(memcmp(stored, payload, PACED_SIZE) == 0);
	ck_assert_msg(took >= PACED_SECONDS_MIN && took <= PACED_SECONDS_MAX,
	    "600 KiB at 1 MiB/s took %.2f s", took);
	free(stored);
	free(payload);
}
END_TEST

/*
 * A store limit (quota) fails the upload once a write would pass it, and
 * nothing stays. The payload fits the socket buffers, so the client has
 * sent it all before the server closes (no write into a closed socket).
 */
START_TEST(test_upload_stops_at_store_limit)
{
	struct transfer_options options = options_with(0);
	const size_t length = 300 * 1000;
	char *payload = make_payload(length, 41), *stored;
	size_t stored_length;

	write_whole("upload.bin", "old content", 11);
	options.store_limited = 1;
	options.store_limit = 100 * 1000;
	client_send(&fixture.client, payload, length, END_KEEP);
	fixture.transfer = transfer_receive_file(fixture.base, open_dtp(_i), &options,
	    shell_write_file(fixture.shell, "upload.bin"), transfer_done, &fixture);
	ck_assert(run_until(transfer_finished, 10));
	ck_assert_int_eq(fixture.status, TRANSFER_LOCAL_ERROR);
	ck_assert_int_eq(fixture.error, -EDQUOT);
	ck_assert_int_eq(fixture.kept, 0);
	ck_assert_uint_le(fixture.stored, 100 * 1000);
	stored = read_whole("upload.bin", &stored_length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored, "old content");
	ck_assert_int_eq(temporaries_left(), 0);
	free(stored);
	free(payload);
}
END_TEST

/* The limit counts bytes as stored: TYPE A's CRLF -> LF makes a file smaller than its transfer. */
START_TEST(test_ascii_upload_limit_counts_stored_bytes)
{
	struct transfer_options options = options_with(1);
	static const char text[] = "one\r\ntwo\r\nthree\r\n";
	char *stored;
	size_t length;

	options.store_limited = 1;
	options.store_limit = strlen("one\ntwo\nthree\n");
	client_send(&fixture.client, text, strlen(text), END_CLOSE);
	fixture.transfer = transfer_receive_file(fixture.base, open_dtp(PASSIVE), &options,
	    shell_write_file(fixture.shell, "text.txt"), transfer_done, &fixture);
	ck_assert(run_until(transfer_finished, 10));
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.stored, options.store_limit);
	stored = read_whole("text.txt", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored, "one\ntwo\nthree\n");
	free(stored);
}
END_TEST

/* Network CRLF line ends as local LF, computed apart from ascii.c. */
static char *
from_network(const char *in, size_t length, size_t *out_length)
{
	char *out = malloc(length + 1);
	size_t i, used = 0;

	ck_assert_ptr_nonnull(out);
	for (i = 0; i < length; i++) {
		if (in[i] == '\r' && i + 1 < length && in[i + 1] == '\n')
			continue;
		out[used++] = in[i];
	}
	*out_length = used;
	return out;
}

START_TEST(test_upload_ascii)
{
	const char *small = "one\r\ntwo\r\n\r\nbare\rcr\nend\r";
	const char *small_expected = "one\ntwo\n\nbare\rcr\nend\r";
	size_t length = 300 * 1000, expected_length, stored_length;
	char *text = make_text(length), *expected = from_network(text, length, &expected_length);
	char *stored;

	upload(_i, shell_write_file(fixture.shell, "small.txt"), 1, small, strlen(small),
	    END_CLOSE);
	ck_assert(run_until(transfer_finished, 10));
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	/* Counted as they crossed the connection, before conversion. */
	ck_assert_uint_eq(fixture.bytes, strlen(small));
	stored = read_whole("small.txt", &stored_length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored, small_expected);
	free(stored);

	client_free(&fixture.client);
	client_init(&fixture.client);
	if (fixture.listener_event != NULL)
		event_free(fixture.listener_event);
	fixture.listener_event = NULL;
	if (fixture.listener >= 0)
		close(fixture.listener);
	fixture.listener = -1;
	fixture.done_calls = 0;
	upload(_i, shell_write_file(fixture.shell, "big.txt"), 1, text, length, END_CLOSE);
	ck_assert(run_until(transfer_finished, 10));
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.bytes, length);
	stored = read_whole("big.txt", &stored_length);
	ck_assert_ptr_nonnull(stored);
	ck_assert(expected_length < length);
	ck_assert_uint_eq(stored_length, expected_length);
	ck_assert(memcmp(stored, expected, expected_length) == 0);
	free(stored);
	free(text);
	free(expected);
}
END_TEST

/* --- sources -------------------------------------------------------------- */

/* A listing-like producer: numbered lines, a budget at a time. */
struct line_source {
	unsigned lines;		/* how many to produce in all */
	unsigned next;
	unsigned calls;
	unsigned fail_on_call;	/* 0: never; else -EIO on that call */
	int closes;
};

static int
line_source_produce(void *context, struct evbuffer *out, size_t budget,
    void (*resume)(void *) UNUSED, void *resume_arg UNUSED)
{
	struct line_source *source = context;
	size_t before = evbuffer_get_length(out);

	ck_assert_uint_gt(budget, 0);
	source->calls++;
	if (source->calls == source->fail_on_call)
		return -EIO;
	while (source->next < source->lines && evbuffer_get_length(out) - before < budget)
		evbuffer_add_printf(out, "entry %06u\r\n", source->next++);
	return source->next < source->lines ? 1 : 0;
}

static void
line_source_close(void *context)
{
	((struct line_source *)context)->closes++;
}

static struct transfer_source
make_source(struct line_source *lines)
{
	struct transfer_source source = { line_source_produce, line_source_close, lines };

	return source;
}

START_TEST(test_source_streams_in_pieces)
{
	/* Static: the transfer outlives this frame when an assertion fails. */
	static struct line_source lines;
	struct transfer_options options = options_with(0);
	struct evbuffer *expected = evbuffer_new();
	unsigned i;

	lines = (struct line_source){ .lines = 100 * 1000 };
	ck_assert_ptr_nonnull(expected);
	for (i = 0; i < lines.lines; i++)
		evbuffer_add_printf(expected, "entry %06u\r\n", i);
	client_read(&fixture.client);
	fixture.transfer = transfer_send_source(fixture.base, open_dtp(_i), &options,
	    make_source(&lines), transfer_done, &fixture);
	ck_assert_ptr_nonnull(fixture.transfer);
	/* Nothing is produced before the data connection is there. */
	ck_assert_uint_eq(lines.calls, 0);
	ck_assert(run_until(finished_and_client_at_eof, 10));
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.bytes, evbuffer_get_length(expected));
	received_equals(&fixture.client, (const char *)evbuffer_pullup(expected, -1),
	    evbuffer_get_length(expected));
	/* Pulled as the socket drained, not all at once; closed once. */
	ck_assert_uint_gt(lines.calls, 2);
	ck_assert_int_eq(lines.closes, 1);
	evbuffer_free(expected);
}
END_TEST

START_TEST(test_source_error_is_local_error)
{
	static struct line_source lines;
	struct transfer_options options = options_with(0);

	lines = (struct line_source){ .lines = 100 * 1000, .fail_on_call = 3 };
	client_read(&fixture.client);
	fixture.transfer = transfer_send_source(fixture.base, open_dtp(PASSIVE), &options,
	    make_source(&lines), transfer_done, &fixture);
	ck_assert(run_until(finished_and_client_at_eof, 10));
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_LOCAL_ERROR);
	ck_assert_int_eq(fixture.error, -EIO);
	ck_assert_int_eq(lines.closes, 1);
	/* The client got a short listing, never the whole one. */
	ck_assert_uint_lt(evbuffer_get_length(fixture.client.received), 13 * lines.lines);
}
END_TEST

/* --- stopping ------------------------------------------------------------- */

/* A sparse file far larger than the loopback connection can hold unread. */
static void
make_huge_file(const char *name)
{
	char path[256];
	int fd;

	root_path(path, sizeof(path), name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, HUGE_SIZE), 0);
	close(fd);
}

START_TEST(test_abort_during_download)
{
	uint64_t received;

	make_huge_file("huge");
	/* The client does not read yet: the download stops when the buffers are full. */
	start_download(_i, counted_file("huge", 0, 1), 0);
	ck_assert(run_until(some_bytes_sent, 5));
	transfer_abort(fixture.transfer);
	/* Reported before transfer_abort returned, without the loop. */
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_ABORTED);
	ck_assert_int_eq(fixture.read_closes, 1);
	ck_assert_uint_gt(fixture.bytes, 0);
	ck_assert_uint_lt(fixture.bytes, (uint64_t)HUGE_SIZE);

	/* What was handed to the socket still arrives, then the connection ends. */
	client_read(&fixture.client);
	ck_assert(run_until(client_at_eof, 5));
	received = evbuffer_get_length(fixture.client.received);
	ck_assert_uint_eq(received, fixture.bytes);
	ck_assert_int_eq(fixture.done_calls, 1);
}
END_TEST

START_TEST(test_abort_before_connection)
{
	struct sockaddr_in local = loopback("127.0.0.1", 0);
	struct sockaddr_in peer = loopback("127.0.0.1", 40000);
	struct sockaddr_in listened;
	struct transfer_options options = options_with(0);
	struct dtp *dtp;
	int error, fd;

	write_whole("data.bin", "data", 4);
	dtp = dtp_new_passive(fixture.base, &fixture.config, (struct sockaddr *)&local,
	    (struct sockaddr *)&peer, &error);
	ck_assert_ptr_nonnull(dtp);
	memcpy(&listened, dtp_listen_address(dtp), sizeof(listened));
	fixture.transfer = transfer_send_file(fixture.base, dtp, &options,
	    counted_file("data.bin", 0, 1), 0, transfer_done, &fixture);
	event_base_loop(fixture.base, EVLOOP_NONBLOCK);
	transfer_abort(fixture.transfer);
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_ABORTED);
	ck_assert_uint_eq(fixture.bytes, 0);
	ck_assert_int_eq(fixture.read_closes, 1);
	/* The passive port is closed with it. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&listened, sizeof(listened)), -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
	close(fd);
	/* The timeout that was pending never reports again. */
	usleep(1100 * 1000);
	event_base_loop(fixture.base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(fixture.done_calls, 1);
}
END_TEST

START_TEST(test_free_during_download)
{

	make_huge_file("huge");
	start_download(_i, counted_file("huge", 0, 1), 0);
	ck_assert(run_until(some_bytes_sent, 5));
	transfer_free(fixture.transfer);
	fixture.transfer = NULL;
	ck_assert_int_eq(fixture.read_closes, 1);
	client_read(&fixture.client);
	ck_assert(run_until(client_at_eof, 5));
	/* The session went away: nobody is told. */
	ck_assert_int_eq(fixture.done_calls, 0);
}
END_TEST

static int
upload_all_received(void)
{
	return fixture.transfer != NULL &&
	    transfer_bytes(fixture.transfer) == fixture.client.length;
}

START_TEST(test_free_during_upload)
{
	char *payload = make_payload(PAYLOAD_SIZE, 17), *stored;
	size_t length;

	write_whole("upload.bin", "old content", 11);
	upload(_i, shell_write_file(fixture.shell, "upload.bin"), 0, payload, PAYLOAD_SIZE,
	    END_KEEP);
	ck_assert(run_until(upload_all_received, 10));
	ck_assert_int_eq(temporaries_left(), 1);
	transfer_free(fixture.transfer);
	fixture.transfer = NULL;
	ck_assert_int_eq(fixture.done_calls, 0);
	/* Discarded: the old file stays, the temporary is gone. */
	stored = read_whole("upload.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored, "old content");
	ck_assert_int_eq(temporaries_left(), 0);
	client_read(&fixture.client);
	ck_assert(run_until(client_at_eof, 5));
	free(stored);
	free(payload);
}
END_TEST

/*
 * An upload being stored: the fs shell commits (fsync, rename) on a worker
 * thread. The only worker is held by a gate job so the commit waits in the
 * queue for as long as the test likes.
 */
struct storing {
	struct worker_pool *pool;
	struct ftpd_host *host;
	struct ftpd_shell *shell;
	int gate[2];
};

/* Not on a test's stack: a worker holds on to it. */
static struct storing fixture_storing;

static void
gate_work(void *arg)
{
	char byte;

	/* No Check assertion here: this is not the test's thread. */
	while (read(((struct storing *)arg)->gate[0], &byte, 1) < 0 && errno == EINTR)
		continue;
}

static void
gate_done(void *arg UNUSED, int cancelled UNUSED)
{
}

static void
storing_start(struct storing *storing)
{
	struct ftpd_shell_config shell_config = { 0 };

	storing->pool = worker_pool_new(fixture.base, 1);
	ck_assert_ptr_nonnull(storing->pool);
	storing->host = host_new(fixture.base, storing->pool);
	ck_assert_ptr_nonnull(storing->host);
	shell_config.root = fixture.root;
	shell_config.user = "tester";
	shell_config.host = storing->host;
	ck_assert_int_eq(shell_fs_create(&shell_config, &storing->shell), 0);
	ck_assert_int_eq(pipe(storing->gate), 0);
	ck_assert_ptr_nonnull(worker_pool_submit(storing->pool, gate_work, gate_done, storing));
}

static void
storing_release(struct storing *storing)
{
	ck_assert_int_eq(write(storing->gate[1], "x", 1), 1);
}

static void
storing_stop(struct storing *storing)
{
	worker_pool_free(storing->pool);
	host_free(storing->host);
	storing->shell->ops->destroy(storing->shell);
	close(storing->gate[0]);
	close(storing->gate[1]);
}

static int
upload_stored(void)
{
	size_t length;
	char *stored = read_whole("upload.bin", &length);
	int done = stored != NULL && strcmp(stored, "new content") == 0;

	free(stored);
	return done;
}

/* Uploads "new content"; returns once the transfer is waiting for the commit. */
static void
upload_until_storing(struct storing *storing)
{
	write_whole("upload.bin", "old content", 11);
	storing_start(storing);
	upload(PASSIVE, shell_write_file(storing->shell, "upload.bin"), 0, "new content", 11,
	    END_SHUTDOWN);
	/* The data connection is closed just before the commit starts. */
	client_read(&fixture.client);
	ck_assert(run_until(client_at_eof, 5));
	ck_assert_int_eq(fixture.done_calls, 0);
	ck_assert(!upload_stored());
}

START_TEST(test_abort_while_upload_is_stored)
{
	struct storing *storing = &fixture_storing;

	upload_until_storing(storing);
	/* Too late to abort: the upload is whole and will be reported as stored. */
	transfer_abort(fixture.transfer);
	ck_assert_int_eq(fixture.done_calls, 0);
	storing_release(storing);
	ck_assert(run_until(transfer_finished, 5));
	ck_assert(upload_stored());
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	ck_assert_uint_eq(fixture.bytes, 11);
	storing_stop(storing);
}
END_TEST

START_TEST(test_free_while_upload_is_stored)
{
	struct storing *storing = &fixture_storing;

	upload_until_storing(storing);
	transfer_free(fixture.transfer);
	fixture.transfer = NULL;
	storing_release(storing);
	ck_assert(run_until(upload_stored, 5));
	ck_assert_int_eq(temporaries_left(), 0);
	/* The commit's completion has run by now, if not on the loop then here. */
	storing_stop(storing);
	/* Stored all the same, and reported to nobody. */
	ck_assert_int_eq(fixture.done_calls, 0);
}
END_TEST

/* --- failures ------------------------------------------------------------- */

START_TEST(test_reset_during_upload)
{
	char *payload = make_payload(PAYLOAD_SIZE, 19), *stored;
	size_t length;

	write_whole("upload.bin", "old content", 11);
	upload(_i, shell_write_file(fixture.shell, "upload.bin"), 0, payload, PAYLOAD_SIZE,
	    END_KEEP);
	ck_assert(run_until(upload_all_received, 10));
	client_reset(&fixture.client);
	ck_assert(run_until(transfer_finished, 5));
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_CONNECTION_LOST);
	ck_assert_uint_eq(fixture.bytes, PAYLOAD_SIZE);
	/* Not committed: a cut-off upload never replaces the file. */
	stored = read_whole("upload.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored, "old content");
	ck_assert_int_eq(temporaries_left(), 0);
	free(stored);
	free(payload);
}
END_TEST

/* A file of the fs shell written in place, as a new-file STOR under keep_partial_uploads. */
static struct ftpd_write_file *
shell_new_file(const char *name)
{
	const char *segments[] = { name };
	struct ftpd_path path = { segments, 1 };
	struct ftpd_write_file *file = NULL;

	fixture.shell->ops->open_for_writing(fixture.shell, &path, FTPD_WRITE_UNIQUE, 0,
	    opened_for_writing, &file);
	ck_assert_ptr_nonnull(file);
	return file;
}

/* keep_partial: a reset upload keeps what arrived, and says how much. */
START_TEST(test_reset_upload_keeps_partial)
{
	struct transfer_options options = options_with(0);
	char *payload = make_payload(PAYLOAD_SIZE, 23), *stored;
	size_t length;

	options.keep_partial = 1;
	client_send(&fixture.client, payload, PAYLOAD_SIZE, END_KEEP);
	fixture.transfer = transfer_receive_file(fixture.base, open_dtp(_i), &options,
	    shell_new_file("partial.bin"), transfer_done, &fixture);
	ck_assert_ptr_nonnull(fixture.transfer);
	ck_assert(run_until(upload_all_received, 10));
	client_reset(&fixture.client);
	ck_assert(run_until(transfer_finished, 5));
	ck_assert_int_eq(fixture.status, TRANSFER_CONNECTION_LOST);
	ck_assert_int_eq(fixture.kept, 1);
	ck_assert_uint_eq(fixture.stored, PAYLOAD_SIZE);
	stored = read_whole("partial.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_uint_eq(length, PAYLOAD_SIZE);
	ck_assert(memcmp(stored, payload, PAYLOAD_SIZE) == 0);
	free(stored);
	free(payload);
}
END_TEST

/* Without keep_partial the same upload is undone: the file it created goes. */
START_TEST(test_reset_upload_discards_partial)
{
	char *payload = make_payload(PAYLOAD_SIZE, 29);
	size_t length;

	upload(_i, shell_new_file("partial.bin"), 0, payload, PAYLOAD_SIZE, END_KEEP);
	ck_assert(run_until(upload_all_received, 10));
	client_reset(&fixture.client);
	ck_assert(run_until(transfer_finished, 5));
	ck_assert_int_eq(fixture.status, TRANSFER_CONNECTION_LOST);
	ck_assert_int_eq(fixture.kept, 0);
	ck_assert_ptr_null(read_whole("partial.bin", &length));
	free(payload);
}
END_TEST

/* ABOR under keep_partial: 426 at once (done() before transfer_abort returns), bytes kept. */
START_TEST(test_abort_upload_keeps_partial)
{
	struct transfer_options options = options_with(0);
	char *payload = make_payload(PAYLOAD_SIZE, 31), *stored;
	size_t length;

	options.keep_partial = 1;
	client_send(&fixture.client, payload, PAYLOAD_SIZE, END_KEEP);
	fixture.transfer = transfer_receive_file(fixture.base, open_dtp(PASSIVE), &options,
	    shell_new_file("partial.bin"), transfer_done, &fixture);
	ck_assert(run_until(upload_all_received, 10));
	transfer_abort(fixture.transfer);
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_ABORTED);
	ck_assert_int_eq(fixture.kept, 1);
	stored = read_whole("partial.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_uint_eq(length, PAYLOAD_SIZE);
	free(stored);
	free(payload);
}
END_TEST

/* The session goes away (control connection dropped) under keep_partial: bytes kept, no report. */
START_TEST(test_free_upload_keeps_partial)
{
	struct transfer_options options = options_with(0);
	char *payload = make_payload(PAYLOAD_SIZE, 37), *stored;
	size_t length;

	options.keep_partial = 1;
	client_send(&fixture.client, payload, PAYLOAD_SIZE, END_KEEP);
	fixture.transfer = transfer_receive_file(fixture.base, open_dtp(PASSIVE), &options,
	    shell_new_file("partial.bin"), transfer_done, &fixture);
	ck_assert(run_until(upload_all_received, 10));
	transfer_free(fixture.transfer);
	fixture.transfer = NULL;
	ck_assert_int_eq(fixture.done_calls, 0);
	stored = read_whole("partial.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_uint_eq(length, PAYLOAD_SIZE);
	ck_assert(memcmp(stored, payload, PAYLOAD_SIZE) == 0);
	free(stored);
	free(payload);
}
END_TEST

/* Nothing arrived, nothing is kept: a connection that never came leaves no empty file. */
START_TEST(test_keep_partial_keeps_nothing_empty)
{
	struct transfer_options options = options_with(0);
	struct dtp *dtp = open_dtp(PASSIVE);
	size_t length;

	options.keep_partial = 1;
	fixture.transfer = transfer_receive_file(fixture.base, dtp, &options,
	    shell_new_file("never.bin"), transfer_done, &fixture);
	transfer_abort(fixture.transfer);
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.kept, 0);
	ck_assert_ptr_null(read_whole("never.bin", &length));
}
END_TEST

START_TEST(test_reset_during_download)
{
	void (*previous)(int) = signal(SIGPIPE, SIG_IGN);

	/* As ftpd's main() does: a write to a reset connection must not kill it. */
	ck_assert(previous != SIG_ERR);
	make_huge_file("huge");
	start_download(PASSIVE, counted_file("huge", 0, 1), 0);
	ck_assert(run_until(some_bytes_sent, 5));
	client_reset(&fixture.client);
	ck_assert(run_until(transfer_finished, 5));
	ck_assert_int_eq(fixture.done_calls, 1);
	ck_assert_int_eq(fixture.status, TRANSFER_CONNECTION_LOST);
	ck_assert_uint_lt(fixture.bytes, (uint64_t)HUGE_SIZE);
	ck_assert_int_eq(fixture.read_closes, 1);
	signal(SIGPIPE, previous);
}
END_TEST

START_TEST(test_upload_stalls)
{
	struct transfer_options options = options_with(0);
	size_t length;
	char *stored;
	double started;

	options.stall_timeout = 1;
	write_whole("upload.bin", "old content", 11);
	client_send(&fixture.client, "partial", 7, END_KEEP);
	fixture.transfer = transfer_receive_file(fixture.base, open_dtp(PASSIVE), &options,
	    shell_write_file(fixture.shell, "upload.bin"), transfer_done, &fixture);
	started = now();
	ck_assert(run_until(transfer_finished, 5));
	ck_assert(now() - started >= 0.9);
	ck_assert_int_eq(fixture.status, TRANSFER_CONNECTION_LOST);
	ck_assert_uint_eq(fixture.bytes, 7);
	stored = read_whole("upload.bin", &length);
	ck_assert_ptr_nonnull(stored);
	ck_assert_str_eq(stored, "old content");
	ck_assert_int_eq(temporaries_left(), 0);
	free(stored);
}
END_TEST

START_TEST(test_download_stalls)
{
	struct transfer_options options = options_with(0);
	double started;

	options.stall_timeout = 1;
	make_huge_file("huge");
	/* The client never reads. */
	fixture.transfer = transfer_send_file(fixture.base, open_dtp(PASSIVE), &options,
	    counted_file("huge", 0, 1), 0, transfer_done, &fixture);
	started = now();
	ck_assert(run_until(transfer_finished, 5));
	ck_assert(now() - started >= 0.9);
	ck_assert_int_eq(fixture.status, TRANSFER_CONNECTION_LOST);
	ck_assert_uint_lt(fixture.bytes, (uint64_t)HUGE_SIZE);
	ck_assert_int_eq(fixture.read_closes, 1);
}
END_TEST

START_TEST(test_no_connection_times_out)
{
	struct sockaddr_in local = loopback("127.0.0.1", 0);
	struct sockaddr_in peer = loopback("127.0.0.1", 40000);
	struct transfer_options options = options_with(0);
	struct dtp *dtp;
	size_t length;
	double started;
	int error;

	dtp = dtp_new_passive(fixture.base, &fixture.config, (struct sockaddr *)&local,
	    (struct sockaddr *)&peer, &error);
	ck_assert_ptr_nonnull(dtp);
	fixture.transfer = transfer_receive_file(fixture.base, dtp, &options,
	    shell_write_file(fixture.shell, "never.bin"), transfer_done, &fixture);
	started = now();
	ck_assert(run_until(transfer_finished, 5));
	ck_assert(now() - started >= 0.9);
	ck_assert(now() - started < 3);
	ck_assert_int_eq(fixture.status, TRANSFER_NO_CONNECTION);
	ck_assert_int_eq(fixture.error, -ETIMEDOUT);
	ck_assert_uint_eq(fixture.bytes, 0);
	/* The upload was discarded: no file, no temporary. */
	ck_assert_ptr_null(read_whole("never.bin", &length));
	ck_assert_int_eq(temporaries_left(), 0);
}
END_TEST

START_TEST(test_active_connection_refused)
{
	struct sockaddr_in local = loopback("127.0.0.1", 0);
	struct sockaddr_in target = loopback("127.0.0.1", 0);
	socklen_t length = sizeof(target);
	struct transfer_options options = options_with(0);
	struct dtp *dtp;
	int fd;

	/* A port nobody listens on: bound, then closed. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&target, sizeof(target)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&target, &length), 0);
	close(fd);
	write_whole("data.bin", "data", 4);
	options.connect_timeout = 5;
	dtp = dtp_new_active(fixture.base, (struct sockaddr *)&local,
	    (struct sockaddr *)&target, sizeof(target));
	ck_assert_ptr_nonnull(dtp);
	fixture.transfer = transfer_send_file(fixture.base, dtp, &options,
	    counted_file("data.bin", 0, 1), 0, transfer_done, &fixture);
	/* done() never runs inside the call that starts the transfer. */
	ck_assert_int_eq(fixture.done_calls, 0);
	/* Refused at once, long before the 5 s connect timeout. */
	ck_assert(run_until(transfer_finished, 2));
	ck_assert_int_eq(fixture.status, TRANSFER_NO_CONNECTION);
	ck_assert_int_eq(fixture.error, -ECONNREFUSED);
	ck_assert_int_eq(fixture.read_closes, 1);
}
END_TEST

START_TEST(test_active_connection_fails_at_once)
{
	struct sockaddr_in local = loopback("127.0.0.1", 0);
	/* TCP to a multicast group: connect(2) refuses it on the spot. */
	struct sockaddr_in target = loopback("224.0.0.1", 9);
	struct transfer_options options = options_with(0);
	struct dtp *dtp;
	double started;

	write_whole("data.bin", "data", 4);
	options.connect_timeout = 5;
	dtp = dtp_new_active(fixture.base, (struct sockaddr *)&local,
	    (struct sockaddr *)&target, sizeof(target));
	ck_assert_ptr_nonnull(dtp);
	started = now();
	fixture.transfer = transfer_send_file(fixture.base, dtp, &options,
	    counted_file("data.bin", 0, 1), 0, transfer_done, &fixture);
	ck_assert_int_eq(fixture.done_calls, 0);
	ck_assert(run_until(transfer_finished, 2));
	ck_assert(now() - started < 1);
	ck_assert_int_eq(fixture.status, TRANSFER_NO_CONNECTION);
	/* The real reason, not a timeout that never happened. */
	ck_assert_int_lt(fixture.error, 0);
	ck_assert_int_ne(fixture.error, -ETIMEDOUT);
	ck_assert_int_eq(fixture.read_closes, 1);
}
END_TEST

static struct client intruder;

static int
intruder_at_eof(void)
{
	return intruder.eof;
}

START_TEST(test_passive_refuses_other_host)
{
	struct sockaddr_in local = loopback("127.0.0.1", 0);
	struct sockaddr_in peer = loopback("127.0.0.1", 40000);
	struct transfer_options options = options_with(0);
	struct dtp *dtp;
	int error;

	write_whole("data.bin", "for the client only", 19);
	dtp = dtp_new_passive(fixture.base, &fixture.config, (struct sockaddr *)&local,
	    (struct sockaddr *)&peer, &error);
	ck_assert_ptr_nonnull(dtp);
	fixture.transfer = transfer_send_file(fixture.base, dtp, &options,
	    counted_file("data.bin", 0, 1), 0, transfer_done, &fixture);

	/* 127.0.0.2 is another host to the dtp, though it is this machine. */
	client_init(&intruder);
	client_attach(&intruder, connect_to(dtp_listen_address(dtp), "127.0.0.2"));
	client_read(&intruder);
	ck_assert(run_until(intruder_at_eof, 5));
	ck_assert_uint_eq(evbuffer_get_length(intruder.received), 0);
	ck_assert_int_eq(fixture.done_calls, 0);
	client_free(&intruder);

	/* The control connection's host is still welcome on the same port. */
	client_attach(&fixture.client, connect_to(dtp_listen_address(dtp), "127.0.0.1"));
	client_read(&fixture.client);
	ck_assert(run_until(finished_and_client_at_eof, 5));
	ck_assert_int_eq(fixture.status, TRANSFER_COMPLETE);
	received_equals(&fixture.client, "for the client only", 19);
}
END_TEST

Suite *
transfer_suite(void)
{
	Suite *suite = suite_create("transfer");
	TCase *downloads = tcase_create("download");
	TCase *uploads = tcase_create("upload");
	TCase *sources = tcase_create("source");
	TCase *stopping = tcase_create("stopping");
	TCase *failures = tcase_create("failures");
	TCase *all[] = { downloads, uploads, sources, stopping, failures };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		/* Timeouts of 1 s are waited for; ASan on a busy machine is slow. */
		tcase_set_timeout(all[i], 30);
		tcase_add_checked_fixture(all[i], setup, teardown);
		suite_add_tcase(suite, all[i]);
	}

	tcase_add_loop_test(downloads, test_download_whole_file, 0, DOWNLOAD_VARIANTS);
	tcase_add_loop_test(downloads, test_download_from_offset, 0, DOWNLOAD_VARIANTS);
	tcase_add_loop_test(downloads, test_download_empty_file, 0, DOWNLOAD_VARIANTS);
	tcase_add_loop_test(downloads, test_download_offset_past_end, 0, DOWNLOAD_VARIANTS);
	tcase_add_loop_test(downloads, test_download_ascii, 0, DOWNLOAD_VARIANTS);
	tcase_add_test(downloads, test_expected_bytes);
	tcase_add_loop_test(downloads, test_download_is_paced, 0, DOWNLOAD_VARIANTS);

	tcase_add_loop_test(uploads, test_upload_replaces_file, PASSIVE, ACTIVE + 1);
	tcase_add_loop_test(uploads, test_upload_ascii, PASSIVE, ACTIVE + 1);
	tcase_add_loop_test(uploads, test_upload_is_paced, PASSIVE, ACTIVE + 1);
	tcase_add_loop_test(uploads, test_upload_stops_at_store_limit, PASSIVE, ACTIVE + 1);
	tcase_add_test(uploads, test_ascii_upload_limit_counts_stored_bytes);

	tcase_add_loop_test(sources, test_source_streams_in_pieces, PASSIVE, ACTIVE + 1);
	tcase_add_test(sources, test_source_error_is_local_error);

	tcase_add_loop_test(stopping, test_abort_during_download, PASSIVE, ACTIVE + 1);
	tcase_add_test(stopping, test_abort_before_connection);
	tcase_add_loop_test(stopping, test_free_during_download, PASSIVE, ACTIVE + 1);
	tcase_add_loop_test(stopping, test_free_during_upload, PASSIVE, ACTIVE + 1);
	tcase_add_test(stopping, test_abort_while_upload_is_stored);
	tcase_add_test(stopping, test_free_while_upload_is_stored);

	tcase_add_loop_test(failures, test_reset_during_upload, PASSIVE, ACTIVE + 1);
	tcase_add_test(failures, test_reset_during_download);
	tcase_add_loop_test(failures, test_reset_upload_keeps_partial, PASSIVE, ACTIVE + 1);
	tcase_add_loop_test(failures, test_reset_upload_discards_partial, PASSIVE, ACTIVE + 1);
	tcase_add_test(failures, test_abort_upload_keeps_partial);
	tcase_add_test(failures, test_free_upload_keeps_partial);
	tcase_add_test(failures, test_keep_partial_keeps_nothing_empty);
	tcase_add_test(failures, test_upload_stalls);
	tcase_add_test(failures, test_download_stalls);
	tcase_add_test(failures, test_no_connection_times_out);
	tcase_add_test(failures, test_active_connection_refused);
	tcase_add_test(failures, test_active_connection_fails_at_once);
	tcase_add_test(failures, test_passive_refuses_other_host);
	return suite;
}
