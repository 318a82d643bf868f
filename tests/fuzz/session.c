/*
 * fuzz/session: a whole control connection fed one byte stream in-process:
 * the real server's session over a socketpair, anonymous read-only shell.
 *
 * The input is exactly what a client sends, so a failing input replays
 * against a running ftpd as it is (nc, socat). The seeds log in as
 * anonymous first, so the fuzzer starts past the login. The shell serves a
 * small read-only tree in a temporary directory. A socketpair has no
 * address a data connection could use, so PASV, PORT and the transfers
 * answer 425 and nothing touches the network; the data channel's parsers
 * have a target of their own (data_address).
 *
 * Every reply must be well formed, whatever the client sent: CRLF lines,
 * each a "ddd " or "ddd-" reply or a line inside a multi-line one. The
 * session must end and be freed once the client has closed its side.
 *
 * FUZZ_SHOW_REPLIES=1 build/fuzz/targets/session FILE shows the replies to FILE.
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config/config.h"
#include "log/log.h"
#include "server/server.h"
#include "session/session.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Far more than any input needs; a session still there then is stuck. */
#define SESSION_SECONDS_MAX 10

static struct event_base *base;
static struct server *server;
static char root[4096];

/* What the client has read but not yet checked: a reply line may come in pieces. */
static struct evbuffer *replies;
static char multi_line_code[4];		/* inside a "ddd-" reply: its code, else "" */
static int show_replies;

static void
fail(const char *what)
{
	fprintf(stderr, "session: %s\n", what);
	abort();
}

static void
make_file(const char *name, const char *content)
{
	char path[sizeof(root) + 64];
	FILE *file;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	if ((file = fopen(path, "w")) == NULL)
		fail("cannot create the shell's files");
	fputs(content, file);
	fclose(file);
}

static void
make_entry(const char *name, const char *link_target)
{
	char path[sizeof(root) + 64];
	int error;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	error = link_target != NULL ? symlink(link_target, path) : mkdir(path, 0755);
	if (error != 0)
		fail("cannot create the shell's files");
}

static int
remove_entry(const char *path, const struct stat *status, int type, struct FTW *ftw)
{
	(void)status;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void
remove_root(void)
{
	if (server != NULL)
		server_free(server);
	if (base != NULL)
		event_base_free(base);
	evbuffer_free(replies);
	nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A tree with something for CWD, SIZE, MDTM, STAT and MLST to find, and links to refuse. */
static void
make_tree(void)
{
	const char *directory = getenv("TMPDIR");

	snprintf(root, sizeof(root), "%s/ftpd-fuzz-session.XXXXXX",
	    directory != NULL && directory[0] != '\0' ? directory : "/tmp");
	if (mkdtemp(root) == NULL)
		fail("cannot create the shell's root");
	make_entry("pub", NULL);
	make_entry("pub/empty", NULL);
	make_file("pub/hello.txt", "hello\n");
	make_file("readme", "A file at the root.\r\nWith two lines.\r\n");
	make_file(".hidden", "");
	make_entry("link-in", "pub/hello.txt");
	make_entry("link-out", "../..");
	make_entry("link-absolute", "/etc");
	make_entry("link-dangling", "nowhere");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct config config;
	char error[CONFIG_ERROR_SIZE];
	char assignment[sizeof(root) + 32];
	static const char *const settings[] = {
		/* A failed login is answered at once, not after a second. */
		"login_failure_delay = 0",
		"max_login_failures = 5",
	};
	size_t i;

	(void)argc;
	(void)argv;
	/* The client may close while replies are on their way. */
	signal(SIGPIPE, SIG_IGN);
	/* Only what is wrong is worth a line: a session says a lot at info. */
	log_open("stderr", LOG_LEVEL_WARNING);
	make_tree();
	if (config_init(&config) != 0)
		fail("config_init");
	snprintf(assignment, sizeof(assignment), "anonymous_root = %s", root);
	if (config_apply_override(&config, assignment, error) != 0)
		fail(error);
	for (i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
		if (config_apply_override(&config, settings[i], error) != 0)
			fail(error);
	base = event_base_new();
	replies = evbuffer_new();
	if (base == NULL || replies == NULL)
		fail("out of memory");
	server = server_new_from_config(base, &config);
	if (server == NULL)
		fail("server_new_from_config");
	atexit(remove_root);
	show_replies = getenv("FUZZ_SHOW_REPLIES") != NULL;
	return 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One CRLF line of the server's output (without the CRLF). */
static void
check_reply_line(const char *line, size_t length)
{
	if (memchr(line, '\r', length) != NULL || memchr(line, '\n', length) != NULL)
		fail("a bare CR or LF in a reply");
	if (multi_line_code[0] != '\0') {
		/* Only "ddd End" with the same code closes a multi-line reply. */
		if (length >= 4 && memcmp(line, multi_line_code, 3) == 0 && line[3] == ' ')
			multi_line_code[0] = '\0';
		return;
	}
	if (length < 4 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2]) ||
	    (line[3] != ' ' && line[3] != '-') || line[0] < '1' || line[0] > '5')
		fail("a reply line that is not \"ddd text\" or \"ddd-text\"");
	if (line[3] == '-') {
		memcpy(multi_line_code, line, 3);
		multi_line_code[3] = '\0';
	}
}

/* Reads what the server sent so far and checks the complete lines. */
static void
read_replies(int client)
{
	char buffer[16384];
	ssize_t got;
	struct evbuffer_ptr end;

	while ((got = recv(client, buffer, sizeof(buffer), MSG_DONTWAIT)) > 0) {
		evbuffer_add(replies, buffer, (size_t)got);
		if (show_replies)
			fwrite(buffer, 1, (size_t)got, stderr);
	}
	for (;;) {
		end = evbuffer_search(replies, "\r\n", 2, NULL);
		if (end.pos < 0)
			break;
		check_reply_line((const char *)evbuffer_pullup(replies, end.pos + 2),
		    (size_t)end.pos);
		evbuffer_drain(replies, (size_t)end.pos + 2);
	}
	/* A line too long to be a reply is no reply. */
	if (evbuffer_get_length(replies) > 8192)
		fail("a reply line without an end");
}

/*
 * The session has taken in everything sent and waits for more: then the
 * client may close, without cutting short what the input asked for.
 */
static int
session_waits(struct session *session)
{
	int unread = 0;

	if (session->busy || session->control == NULL ||
	    evbuffer_get_length(bufferevent_get_input(session->control)) > 0)
		return 0;
	if (ioctl(bufferevent_getfd(session->control), FIONREAD, &unread) != 0)
		return 0;
	return unread == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr peer = { .sa_family = AF_UNIX };
	struct session *session;
	size_t sent = 0;
	int pair[2], closed = 0;
	time_t deadline = time(NULL) + SESSION_SECONDS_MAX;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
		fail("socketpair");
	fcntl(pair[1], F_SETFL, O_NONBLOCK);
	session = session_new(&server->services, server->settings, pair[0], &peer,
	    sizeof(peer.sa_family), 0);
	if (session == NULL)
		fail("session_new");
	multi_line_code[0] = '\0';

	while (server->session_count > 0) {
		if (time(NULL) > deadline)
			fail("the session is still there long after the client closed");
		if (sent < size) {
			ssize_t written = send(pair[1], data + sent, size - sent, MSG_NOSIGNAL);

			if (written > 0)
				sent += (size_t)written;
		} else if (!closed && session_waits(session)) {
			/* The session ends at end of file: that is the last of the input. */
			shutdown(pair[1], SHUT_WR);
			closed = 1;
		}
		read_replies(pair[1]);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	read_replies(pair[1]);
	/* A reply cut short when the session closed is no fault of its own. */
	evbuffer_drain(replies, evbuffer_get_length(replies));
	close(pair[1]);
	return 0;
}
