/*
 * server/proxied: a balancer's connection, until its PROXY header names the
 * client.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dtp/data_address.h"
#include "log/log.h"
#include "proxy/reader.h"
#include "proxy/trusted.h"
#include "reply/reply.h"
#include "server/proxied.h"
#include "server/server.h"

/* At most one warning per window about sources outside proxy_trusted. */
#define UNTRUSTED_LOG_WINDOW_MS 10000

struct proxied_connection {
	struct server *server;
	int fd;
	int implicit_tls;
	struct sockaddr_storage balancer;	/* who connected */
	char via[INET6_ADDRSTRLEN];		/* the balancer, for the log */
	struct proxy_reader *reader;
	LIST_ENTRY(proxied_connection) link;
};

static long long
monotonic_ms(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void
address_text(const struct sockaddr *address, char *text, size_t size)
{
	const void *bytes = NULL;

	if (address->sa_family == AF_INET)
		bytes = &((const struct sockaddr_in *)address)->sin_addr;
	else if (address->sa_family == AF_INET6)
		bytes = &((const struct sockaddr_in6 *)address)->sin6_addr;
	if (bytes == NULL || inet_ntop(address->sa_family, bytes, text, (socklen_t)size) == NULL)
		snprintf(text, size, "%s", address->sa_family == AF_UNIX ? "local" : "?");
}

/* A line, then the connection is gone: nothing was built for it yet. */
static void
answer_and_close(int fd, const char *line)
{
	ssize_t ignored = send(fd, line, strlen(line), MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)ignored;
	close(fd);
}

static void
end(struct proxied_connection *connection)
{
	struct server *server = connection->server;

	LIST_REMOVE(connection, link);
	free(connection);
	if (server->exit_when_idle && server_is_idle(server))
		event_base_loopexit(server->base, NULL);
}

static void
header_read(void *arg, int result, const struct proxy_header *header, const char *why)
{
	struct proxied_connection *connection = arg;
	struct server *server = connection->server;
	int fd = connection->fd, implicit_tls = connection->implicit_tls;
	char client[INET6_ADDRSTRLEN];

	connection->reader = NULL;
	if (result != 0) {
		if (result == -ETIMEDOUT)
			log_info("%s: refused: no PROXY header within %u s", connection->via,
			    server->config->proxy_timeout);
		else
			log_info("%s: refused: bad PROXY header (%s)", connection->via, why);
		answer_and_close(fd, "421 Service not available: no valid PROXY header.\r\n");
		end(connection);
		return;
	}
	/*
	 * LOCAL (v2), UNKNOWN (v1), or a header naming the balancer itself
	 * (HAProxy's v1 checks): the balancer's own health check.
	 */
	if (header->address_length == 0 ||
	    data_address_same_host((const struct sockaddr *)&header->source,
	    (const struct sockaddr *)&connection->balancer)) {
		log_debug("%s: health check (PROXY v%d %s)", connection->via, header->version,
		    header->address_length == 0 ? (header->version == 2 ? "LOCAL" : "UNKNOWN") :
		    "naming the balancer");
		answer_and_close(fd, "220 Service ready.\r\n");
		end(connection);
		return;
	}
	address_text((const struct sockaddr *)&header->source, client, sizeof(client));
	log_debug("%s: client %s (PROXY v%d)", connection->via, client, header->version);
	end(connection);
	if (server->shutting_down || server->draining) {
		answer_and_close(fd, "421 Server shutting down, closing control connection.\r\n");
		return;
	}
	server_admit(server, fd, (const struct sockaddr *)&header->source, header->address_length,
	    implicit_tls, (const struct sockaddr *)&header->destination);
}

void
proxied_connection_start(struct server *server, int fd, const struct sockaddr *peer,
    socklen_t peer_length, int implicit_tls)
{
	const struct config *config = server->config;
	struct proxied_connection *connection;
	char via[INET6_ADDRSTRLEN];

	address_text(peer, via, sizeof(via));
	if (!proxy_trusted_contains(&config->proxy_networks, peer)) {
		unsigned held_back;

		/* Its header would say whatever it liked about who it is. A scan logs little. */
		if (log_throttle_pass(&server->untrusted_logged, monotonic_ms(),
		    UNTRUSTED_LOG_WINDOW_MS, &held_back)) {
			if (held_back > 0)
				log_warning("%s: refused: not in proxy_trusted, on a listener that "
				    "expects a PROXY header (and %u more refused since the last "
				    "such message)", via, held_back);
			else
				log_warning("%s: refused: not in proxy_trusted, on a listener that "
				    "expects a PROXY header", via);
		}
		answer_and_close(fd, "421 Service not available: connect through the balancer.\r\n");
		return;
	}
	connection = calloc(1, sizeof(*connection));
	if (connection == NULL) {
		answer_and_close(fd, "421 Service not available: out of memory.\r\n");
		return;
	}
	connection->server = server;
	connection->fd = fd;
	connection->implicit_tls = implicit_tls;
	if (peer_length > sizeof(connection->balancer))
		peer_length = sizeof(connection->balancer);
	memcpy(&connection->balancer, peer, peer_length);
	memcpy(connection->via, via, sizeof(via));
	connection->reader = proxy_reader_start(server->base, fd, config->proxy_timeout, 0,
	    header_read, connection);
	if (connection->reader == NULL) {
		free(connection);
		answer_and_close(fd, "421 Service not available: out of memory.\r\n");
		return;
	}
	LIST_INSERT_HEAD(&server->proxied, connection, link);
}

void
proxied_connection_free_all(struct server *server)
{
	while (!LIST_EMPTY(&server->proxied)) {
		struct proxied_connection *connection = LIST_FIRST(&server->proxied);

		LIST_REMOVE(connection, link);
		proxy_reader_cancel(connection->reader);
		close(connection->fd);
		free(connection);
	}
}
