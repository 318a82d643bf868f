/*
 * server/relay: copies a TLS control connection's plain bytes to the user
 * process and back. It also watches the client's commands for the ones
 * that open a data connection: on TLS 1.3 the client needs a fresh ticket
 * to resume the control session there, and only this process can send it.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "server/relay.h"
#include "tls/tls.h"
#include "util/attributes.h"

/* Output one side may queue before the other is read no more (control traffic is small). */
#define RELAY_BACKLOG (256 * 1024)

struct relay {
	struct bufferevent *client;	/* TLS */
	struct bufferevent *process;	/* plain, to the user process */
	relay_done_fn done;
	void *owner;
	int closing;			/* one side ended: flush to the client, then end */
	char command[4];		/* the start of the client's current line */
	size_t command_length;
};

static void
relay_end(struct relay *relay)
{
	/* The owner forgets it first; then it goes. */
	relay->done(relay->owner, relay);
	relay_free(relay);
}

/* Commands after which the client opens a data connection (RFC 959, 2428). */
static int
opens_data_connection(const char command[4])
{
	return memcmp(command, "PASV", 4) == 0 || memcmp(command, "EPSV", 4) == 0 ||
	    memcmp(command, "PORT", 4) == 0 || memcmp(command, "EPRT", 4) == 0;
}

static void
watch_commands(struct relay *relay, const unsigned char *bytes, size_t length)
{
	size_t i;

	for (i = 0; i < length; i++) {
		if (bytes[i] == '\n') {
			relay->command_length = 0;
			continue;
		}
		if (relay->command_length >= 4)
			continue;
		relay->command[relay->command_length++] = (char)toupper(bytes[i]);
		if (relay->command_length == 4 && opens_data_connection(relay->command))
			tls_prepare_data_connection(bufferevent_openssl_get_ssl(relay->client));
	}
}

static void
from_client(struct bufferevent *client, void *arg)
{
	struct relay *relay = arg;
	struct evbuffer *input = bufferevent_get_input(client);
	struct evbuffer_iovec pieces[8];
	int count, i;

	count = evbuffer_peek(input, -1, NULL, pieces, 8);
	for (i = 0; i < count && i < 8; i++)
		watch_commands(relay, pieces[i].iov_base, pieces[i].iov_len);
	bufferevent_write_buffer(relay->process, input);
	if (evbuffer_get_length(bufferevent_get_output(relay->process)) > RELAY_BACKLOG)
		bufferevent_disable(client, EV_READ);
}

static void
from_process(struct bufferevent *process, void *arg)
{
	struct relay *relay = arg;

	bufferevent_write_buffer(relay->client, bufferevent_get_input(process));
	if (evbuffer_get_length(bufferevent_get_output(relay->client)) > RELAY_BACKLOG)
		bufferevent_disable(process, EV_READ);
}

static void
process_drained(struct bufferevent *process UNUSED, void *arg)
{
	struct relay *relay = arg;

	if (!relay->closing)
		bufferevent_enable(relay->client, EV_READ);
}

static void
client_drained(struct bufferevent *client UNUSED, void *arg)
{
	struct relay *relay = arg;

	if (relay->closing) {
		tls_send_close_notify(bufferevent_openssl_get_ssl(relay->client));
		relay_end(relay);
		return;
	}
	bufferevent_enable(relay->process, EV_READ);
}

static void
client_event(struct bufferevent *client UNUSED, short what, void *arg)
{
	/* The client is gone: the user process sees its end of the relay close. */
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		relay_end(arg);
}

static void
process_event(struct bufferevent *process, short what, void *arg)
{
	struct relay *relay = arg;

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	/* The session ended: what it said last still goes out, then the connection. */
	relay->closing = 1;
	bufferevent_write_buffer(relay->client, bufferevent_get_input(process));
	bufferevent_disable(process, EV_READ | EV_WRITE);
	bufferevent_disable(relay->client, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(relay->client)) == 0)
		client_drained(relay->client, relay);
}

struct relay *
relay_new(struct event_base *base, struct bufferevent *client, int process_fd,
    relay_done_fn done, void *owner)
{
	struct relay *relay = calloc(1, sizeof(*relay));

	if (relay != NULL)
		relay->process = bufferevent_socket_new(base, process_fd, BEV_OPT_CLOSE_ON_FREE);
	if (relay == NULL || relay->process == NULL) {
		free(relay);
		close(process_fd);
		bufferevent_free(client);
		return NULL;
	}
	relay->client = client;
	relay->done = done;
	relay->owner = owner;
	/* The user process keeps the idle timeout; the relay waits as long as it does. */
	bufferevent_set_timeouts(client, NULL, NULL);
	bufferevent_setcb(client, from_client, client_drained, client_event, relay);
	bufferevent_setcb(relay->process, from_process, process_drained, process_event, relay);
	bufferevent_enable(client, EV_READ | EV_WRITE);
	bufferevent_enable(relay->process, EV_READ | EV_WRITE);
	/* Bytes the client sent while the hand-off ran are already in client's input. */
	if (evbuffer_get_length(bufferevent_get_input(client)) > 0)
		from_client(client, relay);
	return relay;
}

void
relay_free(struct relay *relay)
{
	if (relay == NULL)
		return;
	bufferevent_free(relay->client);
	bufferevent_free(relay->process);
	free(relay);
}
