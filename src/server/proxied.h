/*
 * server/proxied: connections on a listener behind a balancer (listen ...
 * proxy, proxy_protocol = yes). Only a proxy_trusted address may connect;
 * its PROXY header names the real client, whom every limit, log line and
 * data-channel check then applies to. Health checks (LOCAL, UNKNOWN, or a
 * header naming the balancer itself) get a 220 and are closed, neither
 * refused nor counted.
 */
#ifndef FTPD_SERVER_PROXIED_H
#define FTPD_SERVER_PROXIED_H

#include <sys/socket.h>

struct server;
struct proxied_connection;

/* fd came from peer on a PROXY listener: checks, reads the header, then server_admit. */
void proxied_connection_start(struct server *server, int fd, const struct sockaddr *peer,
    socklen_t peer_length, int implicit_tls);

/* Drops every connection whose header has not come yet (the server is freed). */
void proxied_connection_free_all(struct server *server);

/*
 * server.c: a connection from the client at peer (connected to front, the
 * address it sees; NULL: the socket's own) goes on to admission.
 */
void server_admit(struct server *server, int fd, const struct sockaddr *peer,
    socklen_t peer_length, int implicit_tls, const struct sockaddr *front);

#endif
