/*
 * dtp: the data connection of a session (Twisted's DTP/DTPFactory): a
 * passive listener (PASV/EPSV) or an active target (PORT/EPRT), connected on
 * demand, only ever to or from the control connection's peer.
 */
#ifndef FTPD_DTP_H
#define FTPD_DTP_H

#include <sys/socket.h>

#include <event2/event.h>

#include "config/config.h"

struct dtp;

/* error 0 and a connected socket (now the callee's), or -ETIMEDOUT / -errno. */
typedef void (*dtp_connected_fn)(void *arg, int error, evutil_socket_t fd);

/*
 * Listens for one passive connection on the control connection's local
 * address (family AF_INET or AF_INET6; port from pasv_ports or the kernel).
 * Only a connection from peer's host is accepted; others are closed and
 * logged. NULL with *error set (-EADDRINUSE when the range is exhausted).
 */
struct dtp *dtp_new_passive(struct event_base *base, const struct config *config,
    const struct sockaddr *control_local, const struct sockaddr *peer, int *error);

/* Remembers where to connect to when a transfer starts (PORT/EPRT). */
struct dtp *dtp_new_active(struct event_base *base, const struct sockaddr *control_local,
    const struct sockaddr *target, socklen_t length);

/* The address a passive dtp listens on (for the 227/229 reply). */
const struct sockaddr *dtp_listen_address(const struct dtp *dtp);

/*
 * Gets the connection: already accepted, accepted later, or connected now
 * (active). done() runs once, never before this returns; -ETIMEDOUT after
 * timeout_seconds. The dtp may be freed from done().
 */
void dtp_connect(struct dtp *dtp, unsigned timeout_seconds, dtp_connected_fn done, void *arg);

/*
 * 1 when the connection came from a proxy_trusted balancer without a PROXY
 * header, starting with TLS: it is the client's only if its TLS handshake
 * resumes the control connection's session, which the transfer must check.
 */
int dtp_must_resume_tls(const struct dtp *dtp);

/* Closes whatever is open; a pending done() is not called. */
void dtp_free(struct dtp *dtp);

#endif
