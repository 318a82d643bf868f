/*
 * proxy/reader: reads the PROXY protocol header a balancer sends first on a
 * connection, and not one byte more: what follows (an FTP command, a TLS
 * ClientHello) stays in the socket for whoever serves the connection.
 */
#ifndef FTPD_PROXY_READER_H
#define FTPD_PROXY_READER_H

#include <event2/event.h>

#include "proxy/header.h"

struct proxy_reader;

/* Result of a read that allows TLS: no header, a TLS handshake record comes first. */
#define PROXY_READ_TLS 1

/*
 * The end of a read: result 0 with the header, PROXY_READ_TLS (see
 * proxy_reader_start), or -EPROTO (malformed, why says how), -ENOTSUP (well
 * formed, not usable: AF_UNIX, UDP), -ETIMEDOUT, -ECONNRESET (closed first)
 * or another -errno. The reader is gone by then; the fd stays open and the
 * caller's, with every byte after the header (or all of them) still unread.
 */
typedef void (*proxy_read_fn)(void *arg, int result, const struct proxy_header *header,
    const char *why);

/*
 * Starts reading fd's header within timeout_seconds. allow_tls: a connection
 * that starts with a TLS handshake record instead ends the read with
 * PROXY_READ_TLS (a balancer that forwards TLS data connections without a
 * header). NULL when out of memory.
 */
struct proxy_reader *proxy_reader_start(struct event_base *base, int fd,
    unsigned timeout_seconds, int allow_tls, proxy_read_fn done, void *arg);

/* Stops a read that has not ended (its callback never comes); NULL is fine. */
void proxy_reader_cancel(struct proxy_reader *reader);

#endif
