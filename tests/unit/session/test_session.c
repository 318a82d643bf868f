/*
 * test_session: the protocol interpreter driven over a socketpair with a real
 * event loop, server, portal and anonymous shell on a temporary directory.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>

#include "config/config.h"
#include "server/server.h"
#include "session/session.h"
#include "suites.h"
#include "support/control_client.h"

static struct event_base *base;
static struct server *server;
static struct config config;
static char root[64];
static int client = -1;

static void
write_file(const char *name, const char *content)
{
	char path[256];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	file = fopen(path, "w");
	ck_assert_ptr_nonnull(file);
	fputs(content, file);
	fclose(file);
}

static void
start_session(void)
{
	struct sockaddr peer = { .sa_family = AF_UNIX };
	int pair[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	client = pair[1];
	fcntl(client, F_SETFL, O_NONBLOCK);
	ck_assert_ptr_nonnull(session_new(&server->services, server->settings, pair[0], &peer,
	    sizeof(peer.sa_family), 0));
}

static void
setup_with(unsigned idle_timeout)
{
	char path[128];

	strcpy(root, "/tmp/ftpd-session-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/dir", root);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	write_file("file.txt", "hello\n");

	ck_assert_int_eq(config_init(&config), 0);
	free(config.anonymous_root);
	config.anonymous_root = strdup(root);
	config.login_failure_delay_ms = 0;
	config.idle_timeout = idle_timeout;
	base = event_base_new();
	server = server_new_from_config(base, &config);
	ck_assert_ptr_nonnull(server);
	start_session();
}

static void
setup(void)
{
	setup_with(600);
}

static void
teardown(void)
{
	char command[128];

	if (client >= 0)
		close(client);
	client = -1;
	server_free(server);
	event_base_free(base);
	config_free(&config);
	snprintf(command, sizeof(command), "rm -rf '%s'", root);
	ck_assert_int_eq(system(command), 0);
}

static const char *
read_reply(void)
{
	return control_read_reply(base, client);
}

static const char *
converse(const char *line)
{
	return control_converse(base, client, line);
}

#define ck_assert_reply(line, prefix) do {					\
	const char *reply_ = converse(line);					\
	ck_assert_msg(strncmp(reply_, prefix, strlen(prefix)) == 0,		\
	    "%s -> '%s', expected '%s...'", line, reply_, prefix);		\
} while (0)

static void
login(void)
{
	ck_assert_reply("USER anonymous\r\n", "331 ");
	ck_assert_reply("PASS guest@\r\n", "230 ");
}

START_TEST(test_greeting)
{
	ck_assert_str_eq(read_reply(), "220 ftpd ready.\r\n");
}
END_TEST

START_TEST(test_state_machine)
{
	read_reply();
	ck_assert_reply("PASS x\r\n", "503 ");
	ck_assert_reply("PWD\r\n", "530 ");
	ck_assert_reply("USER anonymous\r\n", "331 ");
	ck_assert_reply("PWD\r\n", "503 ");
	ck_assert_reply("USER again\r\n", "503 ");
	ck_assert_reply("FEAT\r\n", "211-");
	ck_assert_reply("PASS guest@\r\n", "230 ");
	ck_assert_reply("PWD\r\n", "257 \"/\"");
	ck_assert_reply("RNFR file.txt\r\n", "350 ");
	ck_assert_reply("NOOP\r\n", "200 ");
	ck_assert_reply("PWD\r\n", "503 ");
	/* the rename was forgotten */
	ck_assert_reply("RNTO other\r\n", "503 ");
	ck_assert_reply("RNFR missing\r\n", "550 ");
	ck_assert_reply("BOGUS\r\n", "500 ");
	ck_assert_reply("REIN\r\n", "502 ");
	ck_assert_reply("MKD\r\n", "501 ");
}
END_TEST

START_TEST(test_anonymous_cannot_change)
{
	struct stat before, after;
	char path[128];

	read_reply();
	login();
	snprintf(path, sizeof(path), "%s/file.txt", root);
	ck_assert_int_eq(stat(path, &before), 0);
	ck_assert_reply("MKD new\r\n", "550 ");
	ck_assert_reply("RMD dir\r\n", "550 ");
	ck_assert_reply("DELE file.txt\r\n", "550 ");
	ck_assert_reply("RNFR file.txt\r\n", "350 ");
	ck_assert_reply("RNTO moved.txt\r\n", "550 ");
	ck_assert_int_eq(stat(path, &after), 0);
	ck_assert_int_eq(before.st_ino, after.st_ino);
	snprintf(path, sizeof(path), "%s/new", root);
	ck_assert_int_eq(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/dir", root);
	ck_assert_int_eq(access(path, F_OK), 0);
}
END_TEST

START_TEST(test_directories)
{
	read_reply();
	login();
	ck_assert_reply("CWD dir\r\n", "250 ");
	ck_assert_reply("PWD\r\n", "257 \"/dir\"");
	ck_assert_reply("CDUP\r\n", "250 ");
	ck_assert_reply("XPWD\r\n", "257 \"/\"");
	ck_assert_reply("CWD ../../..\r\n", "250 ");
	ck_assert_reply("PWD\r\n", "257 \"/\"");
	ck_assert_reply("CWD file.txt\r\n", "550 ");
	ck_assert_reply("CWD nowhere\r\n", "550 ");
	ck_assert_reply("SIZE file.txt\r\n", "213 6\r\n");
	ck_assert_reply("SIZE dir\r\n", "550 ");
	ck_assert_reply("SIZE ../../etc/passwd\r\n", "550 ");
	ck_assert_reply("MDTM file.txt\r\n", "213 ");
}
END_TEST

START_TEST(test_pipelined_commands_answer_in_order)
{
	const char *line = "NOOP\r\nSYST\r\nUSER anonymous\r\nPASS x\r\nPWD\r\n";
	const char *expected[] = { "200 ", "215 ", "331 ", "230 ", "257 \"/\"" };
	char replies[4096] = "";
	const char *at;
	size_t i, lines = 0;

	read_reply();
	ck_assert_int_eq(write(client, line, strlen(line)), (ssize_t)strlen(line));
	while (lines < 5) {
		const char *reply = read_reply();

		ck_assert_msg(reply[0] != '\0', "only got '%s'", replies);
		strncat(replies, reply, sizeof(replies) - strlen(replies) - 1);
		for (lines = 0, at = replies; (at = strstr(at, "\r\n")) != NULL; at += 2)
			lines++;
	}
	for (i = 0, at = replies; i < 5; i++) {
		ck_assert_msg(strncmp(at, expected[i], strlen(expected[i])) == 0,
		    "reply %zu: '%s'", i, at);
		at = strstr(at, "\r\n") + 2;
	}
}
END_TEST

START_TEST(test_long_line_keeps_session)
{
	static char line[100 * 1024 + 8];
	size_t sent = 0, length;

	read_reply();
	strcpy(line, "NOOP ");
	memset(line + 5, 'a', 100 * 1024);
	strcpy(line + 5 + 100 * 1024, "\r\n");
	length = strlen(line);
	while (sent < length) {
		ssize_t wrote = write(client, line + sent, length - sent);

		if (wrote < 0) {
			ck_assert_int_eq(errno, EAGAIN);
			event_base_loop(base, EVLOOP_NONBLOCK);
			continue;
		}
		sent += (size_t)wrote;
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert(strncmp(read_reply(), "500 ", 4) == 0);
	ck_assert_reply("NOOP\r\n", "200 ");
}
END_TEST

START_TEST(test_quit_closes)
{
	char byte;

	read_reply();
	ck_assert_reply("QUIT\r\n", "221 ");
	ck_assert_str_eq(read_reply(), "");
	ck_assert_int_eq(read(client, &byte, 1), 0);
	ck_assert_uint_eq(server->session_count, 0);
}
END_TEST

START_TEST(test_client_disconnect_frees_session)
{
	read_reply();
	login();
	ck_assert_uint_eq(server->session_count, 1);
	close(client);
	client = -1;
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(server->session_count, 0);
}
END_TEST

START_TEST(test_idle_timeout)
{
	const char *reply;

	read_reply();
	reply = read_reply();
	if (reply[0] == '\0')	/* the 5 s read window can end first */
		reply = read_reply();
	ck_assert_msg(strncmp(reply, "421 ", 4) == 0, "got '%s'", reply);
	ck_assert_str_eq(read_reply(), "");
	ck_assert_uint_eq(server->session_count, 0);
}
END_TEST

static void
setup_short_idle(void)
{
	setup_with(1);
}

Suite *
session_suite(void)
{
	Suite *suite = suite_create("session");
	TCase *tcase = tcase_create("protocol");
	TCase *timeouts = tcase_create("timeouts");

	tcase_add_checked_fixture(tcase, setup, teardown);
	tcase_add_test(tcase, test_greeting);
	tcase_add_test(tcase, test_state_machine);
	tcase_add_test(tcase, test_anonymous_cannot_change);
	tcase_add_test(tcase, test_directories);
	tcase_add_test(tcase, test_pipelined_commands_answer_in_order);
	tcase_add_test(tcase, test_long_line_keeps_session);
	tcase_add_test(tcase, test_quit_closes);
	tcase_add_test(tcase, test_client_disconnect_frees_session);
	suite_add_tcase(suite, tcase);

	tcase_add_checked_fixture(timeouts, setup_short_idle, teardown);
	tcase_add_test(timeouts, test_idle_timeout);
	suite_add_tcase(suite, timeouts);
	return suite;
}
