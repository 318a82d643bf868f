/*
 * test_server: the listening server with real TCP clients on loopback — greeting, the
 * max_clients and per-address limits, shutdown, inetd-style adoption and reload.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "config/config.h"
#include "server/server.h"
#include "server/worker_process.h"
#include "suites.h"
#include "support/control_client.h"
#include "util/attributes.h"

#define MAX_CLIENTS 8
#define GREETING "220 ftpd ready.\r\n"
#define TOO_MANY "421 Too many users"
#define TOO_MANY_FROM_ADDRESS "421 Too many connections from your address (max_clients_per_ip)"

static struct event_base *base;
static struct server *server;
static char root[64];
static char other_root[64];
static struct sockaddr_in server_address;
static int clients[MAX_CLIENTS];
static int listening_fd = -1;

static void
write_file(const char *directory, const char *name, const char *content)
{
	char path[PATH_MAX];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", directory, name);
	file = fopen(path, "w");
	ck_assert_ptr_nonnull(file);
	fputs(content, file);
	ck_assert_int_eq(fclose(file), 0);
}

/* A default configuration serving root anonymously on 127.0.0.1, port chosen by the kernel. */
static void
make_config(struct config *config, const char *anonymous_root)
{
	struct sockaddr_in *address = (struct sockaddr_in *)&config->listen[0].address;

	ck_assert_int_eq(config_init(config), 0);
	free(config->anonymous_root);
	config->anonymous_root = strdup(anonymous_root);
	ck_assert_ptr_nonnull(config->anonymous_root);
	config->login_failure_delay_ms = 0;
	/* The listen key refuses port 0, so the address is set by hand. */
	memset(&config->listen[0], 0, sizeof(config->listen[0]));
	address->sin_family = AF_INET;
	address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	address->sin_port = 0;
	config->listen[0].length = sizeof(*address);
	strcpy(config->listen[0].text, "127.0.0.1:0");
	config->listen_count = 1;
}

static void
setup(void)
{
	size_t i;

	/* As main.c does: a client gone before its reply must not kill the server. */
	signal(SIGPIPE, SIG_IGN);
	strcpy(root, "/tmp/ftpd-server-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	strcpy(other_root, "/tmp/ftpd-server-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(other_root));
	write_file(root, "where.txt", "first\n");
	write_file(other_root, "where.txt", "the second root\n");
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i] = -1;
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	server = NULL;
}

static void
teardown(void)
{
	char command[2 * PATH_MAX + 16];
	size_t i;

	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i] >= 0)
			close(clients[i]);
	if (server != NULL)
		server_free(server);
	if (listening_fd >= 0)
		close(listening_fd);
	listening_fd = -1;
	event_base_free(base);
	snprintf(command, sizeof(command), "rm -rf '%s' '%s'", root, other_root);
	ck_assert_int_eq(system(command), 0);
}

/* A listening server with these limits (0: unlimited). */
static void
start_server(unsigned max_clients, unsigned max_clients_per_ip)
{
	struct config config;
	socklen_t length = sizeof(server_address);

	struct worker_listener listener = { .fd = -1 };

	make_config(&config, root);
	config.max_clients = max_clients;
	config.max_clients_per_ip = max_clients_per_ip;
	server = server_new_from_config(base, &config);
	ck_assert_ptr_nonnull(server);
	/* The socket a monitor would have bound. */
	listening_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(listening_fd, 0);
	server_address.sin_family = AF_INET;
	server_address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	server_address.sin_port = 0;
	ck_assert_int_eq(bind(listening_fd, (struct sockaddr *)&server_address,
	    sizeof(server_address)), 0);
	ck_assert_int_eq(listen(listening_fd, 16), 0);
	ck_assert_int_eq(getsockname(listening_fd, (struct sockaddr *)&server_address, &length),
	    0);
	listener.fd = listening_fd;
	listening_fd = -1;		/* the server's now */
	ck_assert_int_eq(server_accept_on(server, &listener), 0);
	ck_assert_uint_eq(server->listener_count, 1);
	ck_assert_uint_ne(ntohs(server_address.sin_port), 0);
}

/* Client number n connects from source (a loopback address). */
static int
connect_from(size_t n, const char *source)
{
	struct sockaddr_in local = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(n, MAX_CLIENTS);
	ck_assert_int_eq(clients[n], -1);
	clients[n] = fd;
	ck_assert_int_eq(inet_pton(AF_INET, source, &local.sin_addr), 1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&local, sizeof(local)), 0);
	/* On loopback the kernel completes the connection before the server accepts it. */
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&server_address, sizeof(server_address)),
	    0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	return fd;
}

static int
connect_client(size_t n)
{
	return connect_from(n, "127.0.0.1");
}

static void
disconnect(size_t n)
{
	ck_assert_int_eq(close(clients[n]), 0);
	clients[n] = -1;
}

static const char *
read_reply(int fd)
{
	return control_read_reply(base, fd);
}

static const char *
converse(int fd, const char *line)
{
	return control_converse(base, fd, line);
}

#define ck_assert_prefix(text, prefix) do {					\
	const char *text_ = (text);						\
	ck_assert_msg(strncmp(text_, prefix, strlen(prefix)) == 0,		\
	    "got '%s', expected '%s...'", text_, prefix);			\
} while (0)

/* The server closed fd: the next read sees EOF once the loop has run. */
static void
ck_assert_closed(int fd)
{
	ck_assert_str_eq(read_reply(fd), "");
}

/* Runs the loop until the server counts that many sessions. */
static void
wait_for_sessions(unsigned count)
{
	time_t deadline = time(NULL) + 5;

	while (server->session_count != count && time(NULL) <= deadline) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		usleep(1000);
	}
	ck_assert_uint_eq(server->session_count, count);
}

static void
give_up(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	*(int *)arg = 1;
	event_base_loopbreak(base);
}

/* event_base_dispatch, but a loop that does not end by itself fails the test. */
static void
dispatch_until_server_stops(void)
{
	struct timeval limit = { 2, 0 };
	int gave_up = 0;
	struct event *timer = evtimer_new(base, give_up, &gave_up);

	ck_assert_ptr_nonnull(timer);
	ck_assert_int_eq(evtimer_add(timer, &limit), 0);
	ck_assert_int_eq(event_base_dispatch(base), 0);
	event_free(timer);
	ck_assert_msg(!gave_up, "the loop did not end by itself");
	ck_assert(event_base_got_exit(base));
}

START_TEST(test_greeting)
{
	int fd;

	start_server(0, 0);
	fd = connect_client(0);
	ck_assert_str_eq(read_reply(fd), GREETING);
	ck_assert_uint_eq(server->session_count, 1);
	ck_assert_prefix(converse(fd, "USER anonymous\r\n"), "331 ");
	ck_assert_prefix(converse(fd, "PASS guest@\r\n"), "230 ");
	ck_assert_prefix(converse(fd, "SIZE where.txt\r\n"), "213 6\r\n");
	ck_assert_prefix(converse(fd, "QUIT\r\n"), "221 ");
	ck_assert_closed(fd);
	ck_assert_uint_eq(server->session_count, 0);
}
END_TEST

START_TEST(test_max_clients)
{
	start_server(2, 0);
	ck_assert_str_eq(read_reply(connect_client(0)), GREETING);
	ck_assert_str_eq(read_reply(connect_from(1, "127.0.0.2")), GREETING);
	/* The limit is on all clients, whatever their address. */
	ck_assert_prefix(read_reply(connect_from(2, "127.0.0.3")), TOO_MANY);
	ck_assert_closed(clients[2]);
	ck_assert_uint_eq(server->session_count, 2);

	/* A session that ends gives its slot back. */
	disconnect(0);
	wait_for_sessions(1);
	ck_assert_str_eq(read_reply(connect_client(3)), GREETING);
	ck_assert_prefix(read_reply(connect_client(4)), TOO_MANY);
	ck_assert_closed(clients[4]);
	/* The refused ones never held a slot: the running sessions still work. */
	ck_assert_prefix(converse(clients[1], "NOOP\r\n"), "200 ");
	ck_assert_prefix(converse(clients[3], "NOOP\r\n"), "200 ");
}
END_TEST

START_TEST(test_max_clients_per_ip)
{
	start_server(0, 2);
	ck_assert_str_eq(read_reply(connect_client(0)), GREETING);
	ck_assert_str_eq(read_reply(connect_client(1)), GREETING);
	ck_assert_prefix(read_reply(connect_client(2)), TOO_MANY_FROM_ADDRESS);
	ck_assert_closed(clients[2]);
	/* Another address has its own count. */
	ck_assert_str_eq(read_reply(connect_from(3, "127.0.0.2")), GREETING);
	ck_assert_str_eq(read_reply(connect_from(4, "127.0.0.2")), GREETING);
	ck_assert_prefix(read_reply(connect_from(5, "127.0.0.2")), TOO_MANY_FROM_ADDRESS);
	ck_assert_uint_eq(server->session_count, 4);

	/* Quitting frees the slot of that address only. */
	ck_assert_prefix(converse(clients[1], "QUIT\r\n"), "221 ");
	ck_assert_closed(clients[1]);
	wait_for_sessions(3);
	ck_assert_prefix(read_reply(connect_from(6, "127.0.0.2")), TOO_MANY_FROM_ADDRESS);
	ck_assert_str_eq(read_reply(connect_client(7)), GREETING);
}
END_TEST

START_TEST(test_shutdown_closes_idle_sessions)
{
	int fd;

	start_server(0, 0);
	ck_assert_str_eq(read_reply(connect_client(0)), GREETING);
	ck_assert_str_eq(read_reply(connect_client(1)), GREETING);
	ck_assert_prefix(converse(clients[1], "USER anonymous\r\n"), "331 ");
	ck_assert_prefix(converse(clients[1], "PASS guest@\r\n"), "230 ");

	server_shutdown(server);
	dispatch_until_server_stops();
	ck_assert_uint_eq(server->session_count, 0);
	ck_assert_prefix(read_reply(clients[0]), "421 ");
	ck_assert_closed(clients[0]);
	ck_assert_prefix(read_reply(clients[1]), "421 ");
	ck_assert_closed(clients[1]);

	/* Nobody listens any more. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	clients[2] = fd;
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&server_address, sizeof(server_address)),
	    -1);
	ck_assert_int_eq(errno, ECONNREFUSED);
}
END_TEST

START_TEST(test_shutdown_without_sessions_ends_loop)
{
	start_server(0, 0);
	server_shutdown(server);
	dispatch_until_server_stops();
}
END_TEST

START_TEST(test_adopt_serves_until_quit)
{
	static const char commands[] = "USER anonymous\r\nPASS guest@\r\nSIZE where.txt\r\nQUIT\r\n";
	char replies[1024];
	size_t used = 0;
	ssize_t got;
	int pair[2];

	start_server(0, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	clients[0] = pair[1];
	ck_assert_int_eq(server_adopt(server, pair[0]), 0);
	ck_assert_uint_eq(server->session_count, 1);
	/* The whole conversation waits in the socket; the loop must end after QUIT. */
	ck_assert_int_eq(write(pair[1], commands, sizeof(commands) - 1),
	    (ssize_t)(sizeof(commands) - 1));
	dispatch_until_server_stops();
	ck_assert_uint_eq(server->session_count, 0);

	while ((got = read(pair[1], replies + used, sizeof(replies) - 1 - used)) > 0)
		used += (size_t)got;
	ck_assert_int_eq(got, 0);
	replies[used] = '\0';
	ck_assert_prefix(replies, GREETING "331 ");
	ck_assert_msg(strstr(replies, "\r\n230 ") != NULL, "no login in '%s'", replies);
	ck_assert_msg(strstr(replies, "\r\n213 6\r\n221 ") != NULL, "no SIZE/QUIT in '%s'",
	    replies);
}
END_TEST

START_TEST(test_adopt_ends_when_client_leaves)
{
	int pair[2];

	start_server(0, 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	ck_assert_int_eq(server_adopt(server, pair[0]), 0);
	ck_assert_int_eq(close(pair[1]), 0);
	dispatch_until_server_stops();
	ck_assert_uint_eq(server->session_count, 0);
}
END_TEST

Suite *
server_suite(void)
{
	Suite *suite = suite_create("server");
	TCase *tcase = tcase_create("server");

	tcase_add_checked_fixture(tcase, setup, teardown);
	tcase_add_test(tcase, test_greeting);
	tcase_add_test(tcase, test_max_clients);
	tcase_add_test(tcase, test_max_clients_per_ip);
	tcase_add_test(tcase, test_shutdown_closes_idle_sessions);
	tcase_add_test(tcase, test_shutdown_without_sessions_ends_loop);
	tcase_add_test(tcase, test_adopt_serves_until_quit);
	tcase_add_test(tcase, test_adopt_ends_when_client_leaves);
	suite_add_tcase(suite, tcase);
	return suite;
}
