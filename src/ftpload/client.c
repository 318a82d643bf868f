/*
 * client: a request runs through steps: REPLY (a command waits for its
 * reply), PASSIVE (a transfer waits for PASV/EPSV's port), TRANSFER (the
 * data connection and the final reply both have to end, in either order).
 * A request queued without a callback breaks the client when it fails, so
 * a chain such as the login reports once, at its end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>

#include "ftpload/client.h"
#include "ftpload/reply_parser.h"

/* What STOR sends, handed to libevent by reference rather than copied. */
#define PAYLOAD_CHUNK (64 * 1024)
/* Queued ahead of the socket: enough to keep it busy, little enough to stay small. */
#define PAYLOAD_QUEUE (4 * PAYLOAD_CHUNK)
/* The most one read of a data connection takes. */
#define DATA_READ_MAX (1024 * 1024)
/* What one session's download may drop per turn of the loop. */
#define DISCARD_BUDGET (8 * DATA_READ_MAX)

enum request_kind {
	REQUEST_GREETING,
	REQUEST_COMMAND,
	REQUEST_TRANSFER
};

enum step {
	STEP_IDLE,
	STEP_REPLY,
	STEP_PASSIVE,
	STEP_TRANSFER
};

struct request {
	TAILQ_ENTRY(request) link;
	enum request_kind kind;
	enum ftp_transfer transfer;
	char *line;
	uint64_t size;
	ftp_done_fn *done;
	void *arg;
};

TAILQ_HEAD(request_queue, request);

struct ftp_client {
	struct ftp_client_config config;
	struct bufferevent *control;
	evutil_socket_t plain_fd;	/* closed by us until TLS owns it */
	SSL *control_ssl;
	struct event *timer;
	struct reply_parser parser;
	struct request_queue queue;
	struct request *current;
	enum step step;
	struct timespec started;
	/* The running transfer. */
	struct bufferevent *data;
	struct event *discard;		/* a plain download: its bytes dropped in the kernel */
	int upload_ending;		/* a TLS upload said close_notify: the server's end comes */
	int data_done;
	int data_failed;
	int final_code;
	uint64_t bytes;
	uint64_t to_send;
	struct evbuffer *listing;
	/* Callbacks may free the client: the free waits until they return. */
	int depth;
	int dead;
	int broken;
};

static unsigned char payload[PAYLOAD_CHUNK];

static void start_next(struct ftp_client *client);
static void fail_all(struct ftp_client *client, const char *why);

static double
seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	    (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void
request_free(struct request *request)
{
	free(request->line);
	free(request);
}

static void
close_data(struct ftp_client *client)
{
	SSL *ssl;

	if (client->discard != NULL) {
		event_free(client->discard);
		client->discard = NULL;
	}
	if (client->data == NULL)
		return;
	/* A protected upload ends with close_notify, or the server may call it truncated. */
	ssl = bufferevent_openssl_get_ssl(client->data);
	if (ssl != NULL)
		SSL_shutdown(ssl);
	bufferevent_free(client->data);
	client->data = NULL;
}

static void
really_free(struct ftp_client *client)
{
	struct request *request;

	close_data(client);
	if (client->control != NULL)
		bufferevent_free(client->control);
	if (client->plain_fd >= 0)
		evutil_closesocket(client->plain_fd);
	if (client->current != NULL)
		request_free(client->current);
	while ((request = TAILQ_FIRST(&client->queue)) != NULL) {
		TAILQ_REMOVE(&client->queue, request, link);
		request_free(request);
	}
	if (client->timer != NULL)
		event_free(client->timer);
	if (client->listing != NULL)
		evbuffer_free(client->listing);
	free(client);
}

void
ftp_client_free(struct ftp_client *client)
{
	if (client == NULL)
		return;
	if (client->depth > 0) {
		client->dead = 1;
		return;
	}
	really_free(client);
}

/* No progress for timeout_seconds: each read or write pushes this back. */
static void
arm_timer(struct ftp_client *client)
{
	struct timeval timeout = { client->config.timeout_seconds, 0 };

	if (client->step == STEP_IDLE)
		event_del(client->timer);
	else
		evtimer_add(client->timer, &timeout);
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	fail_all(arg, "timed out");
}

/* Runs done with the outcome; returns 0 if the client was freed meanwhile. */
static int
report(struct ftp_client *client, struct request *request, const struct ftp_outcome *outcome)
{
	if (request->done != NULL) {
		client->depth++;
		request->done(client, outcome, request->arg);
		client->depth--;
	}
	request_free(request);
	if (client->dead && client->depth == 0) {
		really_free(client);
		return 0;
	}
	return !client->dead;
}

static void
finish(struct ftp_client *client, int ok, int code)
{
	struct request *request = client->current;
	struct ftp_outcome outcome;

	memset(&outcome, 0, sizeof(outcome));
	outcome.ok = ok;
	outcome.code = code;
	outcome.text = client->parser.text;
	outcome.bytes = client->bytes;
	outcome.data = client->listing;
	outcome.seconds = seconds_since(&client->started);
	close_data(client);
	client->current = NULL;
	client->step = STEP_IDLE;
	event_del(client->timer);
	if (!ok && request->done == NULL) {
		client->current = request;
		fail_all(client, client->parser.text);
		return;
	}
	if (!report(client, request, &outcome))
		return;
	if (client->listing != NULL)
		evbuffer_drain(client->listing, evbuffer_get_length(client->listing));
	if (client->current == NULL)
		start_next(client);
}

/* Every request fails, the running one first; the connection is gone. */
static void
fail_all(struct ftp_client *client, const char *why)
{
	struct ftp_outcome outcome;
	struct request *request;

	memset(&outcome, 0, sizeof(outcome));
	outcome.text = why;
	client->broken = 1;
	client->step = STEP_IDLE;
	event_del(client->timer);
	close_data(client);
	if (client->control != NULL) {
		bufferevent_free(client->control);
		client->control = NULL;
	}
	if (client->plain_fd >= 0) {
		evutil_closesocket(client->plain_fd);
		client->plain_fd = -1;
	}
	client->depth++;
	while (!client->dead) {
		request = client->current;
		if (request != NULL)
			client->current = NULL;
		else if ((request = TAILQ_FIRST(&client->queue)) != NULL)
			TAILQ_REMOVE(&client->queue, request, link);
		else
			break;
		outcome.seconds = seconds_since(&client->started);
		report(client, request, &outcome);
	}
	client->depth--;
	if (client->dead && client->depth == 0)
		really_free(client);
}

static void
send_line(struct ftp_client *client, const char *line)
{
	evbuffer_add_printf(bufferevent_get_output(client->control), "%s\r\n", line);
}

static void
start_next(struct ftp_client *client)
{
	struct request *request = TAILQ_FIRST(&client->queue);

	if (request == NULL || client->broken || client->current != NULL)
		return;
	TAILQ_REMOVE(&client->queue, request, link);
	client->current = request;
	clock_gettime(CLOCK_MONOTONIC, &client->started);
	client->bytes = 0;
	if (request->kind == REQUEST_TRANSFER) {
		client->step = STEP_PASSIVE;
		send_line(client, client->config.epsv ? "EPSV" : "PASV");
	} else {
		client->step = STEP_REPLY;
		send_line(client, request->line);
	}
	arm_timer(client);
}

static void
enqueue(struct ftp_client *client, enum request_kind kind, char *line, ftp_done_fn *done,
    void *arg, enum ftp_transfer transfer, uint64_t size)
{
	struct request *request = calloc(1, sizeof(*request));
	struct ftp_outcome outcome;

	if (request == NULL || line == NULL) {
		/* Out of memory: fail this one request, the way a broken client would. */
		free(request);
		free(line);
		memset(&outcome, 0, sizeof(outcome));
		outcome.text = "out of memory";
		if (done != NULL)
			done(client, &outcome, arg);
		return;
	}
	request->kind = kind;
	request->line = line;
	request->done = done;
	request->arg = arg;
	request->transfer = transfer;
	request->size = size;
	TAILQ_INSERT_TAIL(&client->queue, request, link);
	if (client->broken)
		fail_all(client, "connection lost");
	else
		start_next(client);
}

/* The data port from a 227 or 229 reply; 0 if there is none. */
static unsigned
passive_port(const char *text, int code)
{
	unsigned h1, h2, h3, h4, p1, p2;
	unsigned long port;
	const char *p;
	char delimiter, *end;

	if (code == 227) {
		for (p = text + 3; *p != '\0' && (*p < '0' || *p > '9'); p++)
			continue;
		if (sscanf(p, "%u,%u,%u,%u,%u,%u", &h1, &h2, &h3, &h4, &p1, &p2) != 6 ||
		    p1 > 255 || p2 > 255)
			return 0;
		return p1 * 256 + p2;
	}
	p = strchr(text, '(');
	if (code != 229 || p == NULL || p[1] == '\0')
		return 0;
	delimiter = p[1];
	if (p[2] != delimiter || p[3] != delimiter)
		return 0;
	port = strtoul(p + 4, &end, 10);
	if (end == p + 4 || *end != delimiter || port == 0 || port > 65535)
		return 0;
	return (unsigned)port;
}

static void
check_transfer_done(struct ftp_client *client)
{
	if (client->final_code != 0 && client->data_done)
		finish(client, !client->data_failed, client->final_code);
}

static void
fill_upload(struct ftp_client *client)
{
	struct evbuffer *out = bufferevent_get_output(client->data);
	size_t chunk;

	while (client->to_send > 0 && evbuffer_get_length(out) < PAYLOAD_QUEUE) {
		chunk = client->to_send < PAYLOAD_CHUNK ? (size_t)client->to_send : PAYLOAD_CHUNK;
		evbuffer_add_reference(out, payload, chunk, NULL, NULL);
		client->to_send -= chunk;
		client->bytes += chunk;
	}
}

static void
data_read(struct bufferevent *bev, void *arg)
{
	struct ftp_client *client = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t length = evbuffer_get_length(in);

	client->bytes += length;
	if (client->listing != NULL && (client->current->transfer == FTP_LIST ||
	    client->current->transfer == FTP_NLST))
		evbuffer_add_buffer(client->listing, in);
	else
		evbuffer_drain(in, length);
	arm_timer(client);
}

static void
data_write(struct bufferevent *bev, void *arg)
{
	struct ftp_client *client = arg;

	(void)bev;
	if (client->current == NULL || client->current->transfer != FTP_STOR)
		return;
	arm_timer(client);
	if (client->to_send > 0) {
		fill_upload(client);
		return;
	}
	if (client->upload_ending)
		return;
	if (bufferevent_openssl_get_ssl(client->data) != NULL) {
		/*
		 * close_notify, then the end of our side; the connection closes
		 * when the server ends its side. Closing at once would reset it
		 * with the server's close_notify unread, and some servers (vsftpd)
		 * then fail the upload.
		 */
		client->upload_ending = 1;
		SSL_shutdown(bufferevent_openssl_get_ssl(client->data));
		shutdown(bufferevent_getfd(client->data), SHUT_WR);
		bufferevent_enable(client->data, EV_READ);
		return;
	}
	/* All sent and flushed: closing the connection is what ends an upload. */
	close_data(client);
	client->data_done = 1;
	check_transfer_done(client);
}

/*
 * A plain download's bytes are counted and dropped in the kernel
 * (recv with MSG_TRUNC, no copy): the load generator measures the
 * server, not its own copying. A budget per call keeps sessions fair.
 */
static void
discard_ready(evutil_socket_t fd, short what, void *arg)
{
	struct ftp_client *client = arg;
	uint64_t budget = DISCARD_BUDGET;

	(void)what;
	while (budget > 0) {
		ssize_t got = recv(fd, NULL, DATA_READ_MAX, MSG_TRUNC | MSG_DONTWAIT);

		if (got > 0) {
			client->bytes += (uint64_t)got;
			budget = (uint64_t)got < budget ? budget - (uint64_t)got : 0;
			continue;
		}
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (got < 0)
			client->data_failed = 1;
		close_data(client);
		client->data_done = 1;
		check_transfer_done(client);
		return;
	}
	arm_timer(client);
}

static int
start_discarding(struct ftp_client *client)
{
	client->discard = event_new(client->config.base, bufferevent_getfd(client->data),
	    EV_READ | EV_PERSIST, discard_ready, client);
	if (client->discard == NULL || event_add(client->discard, NULL) != 0)
		return -1;
	bufferevent_disable(client->data, EV_READ);
	return 0;
}

static void
data_event(struct bufferevent *bev, short what, void *arg)
{
	struct ftp_client *client = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (client->current->transfer == FTP_RETR && client->control_ssl == NULL) {
			/* What libevent read already counts too. */
			data_read(client->data, client);
			if (start_discarding(client) != 0) {
				client->data_failed = 1;
				close_data(client);
				client->data_done = 1;
				check_transfer_done(client);
			}
			return;
		}
		if (client->current->transfer != FTP_STOR)
			return;
		fill_upload(client);
		if (evbuffer_get_length(bufferevent_get_output(client->data)) == 0) {
			/* An empty file: nothing will ever call data_write. */
			data_write(client->data, client);
			return;
		}
		bufferevent_enable(client->data, EV_WRITE);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		/* What libevent still holds is data too. */
		data_read(client->data, client);
	} else if (!client->upload_ending) {
		/* Once all is sent, how the server closes is for its reply to tell. */
		client->data_failed = 1;
	}
	close_data(client);
	client->data_done = 1;
	check_transfer_done(client);
}

static int
open_data(struct ftp_client *client, unsigned port)
{
	struct sockaddr_storage address = client->config.address;
	SSL *ssl;

	/* The control connection's address: what a server behind NAT says may be wrong. */
	if (address.ss_family == AF_INET)
		((struct sockaddr_in *)&address)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&address)->sin6_port = htons((uint16_t)port);
	if (client->control_ssl != NULL) {
		ssl = SSL_new(client->config.tls);
		if (ssl == NULL)
			return -1;
		/* ftpd (and vsftpd) refuse a data connection that does not resume the control's session. */
		SSL_set_session(ssl, SSL_get_session(client->control_ssl));
		client->data = bufferevent_openssl_socket_new(client->config.base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (client->data != NULL)
			bufferevent_openssl_set_allow_dirty_shutdown(client->data, 1);
		else
			SSL_free(ssl);
	} else {
		client->data = bufferevent_socket_new(client->config.base, -1, BEV_OPT_CLOSE_ON_FREE);
	}
	if (client->data == NULL)
		return -1;
	client->data_done = 0;
	client->data_failed = 0;
	client->upload_ending = 0;
	client->final_code = 0;
	client->to_send = client->current->transfer == FTP_STOR ? client->current->size : 0;
	bufferevent_setcb(client->data, data_read, data_write, data_event, client);
	/* libevent reads 16 KiB at a time by default: the client would measure itself. */
	bufferevent_set_max_single_read(client->data, DATA_READ_MAX);
	if (client->current->transfer == FTP_STOR)
		bufferevent_disable(client->data, EV_READ);
	else
		bufferevent_enable(client->data, EV_READ);
	if (bufferevent_socket_connect(client->data, (struct sockaddr *)&address,
	    (int)client->config.address_length) != 0) {
		close_data(client);
		return -1;
	}
	return 0;
}

/* 234 to AUTH TLS: the same socket goes on under TLS. */
static int
start_tls(struct ftp_client *client);

static void
handle_reply(struct ftp_client *client, int code)
{
	unsigned port;

	if (client->current == NULL) {
		/* Unasked: a 421 (timeout, shutdown) ends the session; others are noise. */
		if (code == 421)
			fail_all(client, client->parser.text);
		return;
	}
	switch (client->step) {
	case STEP_REPLY:
		if (code == 234 && client->current->line != NULL && strcmp(client->current->line, "AUTH TLS") == 0 &&
		    start_tls(client) != 0) {
			fail_all(client, "TLS setup failed");
			return;
		}
		finish(client, code < 400, code);
		return;
	case STEP_PASSIVE:
		port = code == 227 || code == 229 ? passive_port(client->parser.text, code) : 0;
		if (port == 0 || open_data(client, port) != 0) {
			finish(client, 0, code);
			return;
		}
		client->step = STEP_TRANSFER;
		send_line(client, client->current->line);
		return;
	case STEP_TRANSFER:
		if (code < 200)
			return;
		client->final_code = code;
		if (code >= 400) {
			client->data_failed = 1;
			close_data(client);
			client->data_done = 1;
		}
		check_transfer_done(client);
		return;
	case STEP_IDLE:
		break;
	}
}

static void
control_read(struct bufferevent *bev, void *arg)
{
	struct ftp_client *client = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t length;
	char *line;
	int result;

	arm_timer(client);
	while ((line = evbuffer_readln(in, &length, EVBUFFER_EOL_CRLF)) != NULL) {
		result = reply_parser_line(&client->parser, line, length);
		free(line);
		if (result < 0) {
			fail_all(client, "malformed reply");
			return;
		}
		if (result == 0)
			continue;
		/* The reply may end, free or upgrade the client: start again from it. */
		client->depth++;
		handle_reply(client, client->parser.code);
		client->depth--;
		if (client->dead) {
			if (client->depth == 0)
				really_free(client);
			return;
		}
		if (client->broken || client->control != bev)
			return;
	}
}

static void
control_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & BEV_EVENT_CONNECTED)
		return;
	fail_all(arg, (what & BEV_EVENT_EOF) ? "connection closed" : "connection failed");
}

static int
start_tls(struct ftp_client *client)
{
	evutil_socket_t fd = client->plain_fd;
	SSL *ssl = SSL_new(client->config.tls);

	if (ssl == NULL)
		return -1;
	bufferevent_free(client->control);
	client->control = bufferevent_openssl_socket_new(client->config.base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	if (client->control == NULL) {
		SSL_free(ssl);
		return -1;
	}
	client->plain_fd = -1;
	client->control_ssl = ssl;
	bufferevent_setcb(client->control, control_read, NULL, control_event, client);
	bufferevent_enable(client->control, EV_READ | EV_WRITE);
	return 0;
}

struct ftp_client *
ftp_client_new(const struct ftp_client_config *config)
{
	struct ftp_client *client = calloc(1, sizeof(*client));

	if (client == NULL)
		return NULL;
	client->config = *config;
	client->plain_fd = -1;
	TAILQ_INIT(&client->queue);
	reply_parser_init(&client->parser);
	client->timer = evtimer_new(config->base, timer_fired, client);
	client->listing = evbuffer_new();
	if (client->timer == NULL || client->listing == NULL) {
		really_free(client);
		return NULL;
	}
	return client;
}

int
ftp_client_connect(struct ftp_client *client, ftp_done_fn *done, void *arg)
{
	struct request *request = calloc(1, sizeof(*request));

	/* Not closed on free: AUTH TLS hands the socket over to a TLS bufferevent. */
	client->control = bufferevent_socket_new(client->config.base, -1, 0);
	if (request == NULL || client->control == NULL) {
		free(request);
		return -1;
	}
	bufferevent_setcb(client->control, control_read, NULL, control_event, client);
	bufferevent_enable(client->control, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(client->control, (struct sockaddr *)&client->config.address,
	    (int)client->config.address_length) != 0) {
		free(request);
		return -1;
	}
	client->plain_fd = bufferevent_getfd(client->control);
	request->kind = REQUEST_GREETING;
	request->done = done;
	request->arg = arg;
	client->current = request;
	client->step = STEP_REPLY;
	clock_gettime(CLOCK_MONOTONIC, &client->started);
	arm_timer(client);
	return 0;
}

void
ftp_client_command(struct ftp_client *client, const char *line, ftp_done_fn *done, void *arg)
{
	enqueue(client, REQUEST_COMMAND, strdup(line), done, arg, FTP_RETR, 0);
}

void
ftp_client_transfer(struct ftp_client *client, enum ftp_transfer kind, const char *path,
    uint64_t size, ftp_done_fn *done, void *arg)
{
	static const char *const verbs[] = { "RETR", "STOR", "LIST", "NLST" };
	char *line;

	if (asprintf(&line, "%s%s%s", verbs[kind], path[0] != '\0' ? " " : "", path) < 0)
		line = NULL;
	enqueue(client, REQUEST_TRANSFER, line, done, arg, kind, size);
}

void
ftp_client_login(struct ftp_client *client, const char *user, const char *password,
    ftp_done_fn *done, void *arg)
{
	char line[512];

	if (client->config.tls != NULL) {
		ftp_client_command(client, "AUTH TLS", NULL, NULL);
		ftp_client_command(client, "PBSZ 0", NULL, NULL);
		ftp_client_command(client, "PROT P", NULL, NULL);
	}
	snprintf(line, sizeof(line), "USER %s", user);
	ftp_client_command(client, line, NULL, NULL);
	snprintf(line, sizeof(line), "PASS %s", password);
	ftp_client_command(client, line, NULL, NULL);
	ftp_client_command(client, "TYPE I", done, arg);
}

int
ftp_client_alive(const struct ftp_client *client)
{
	return !client->broken;
}

int
ftp_client_busy(const struct ftp_client *client)
{
	return client->current != NULL || !TAILQ_EMPTY(&client->queue);
}
