/*
 * server/relay: a system user's TLS control connection after the hand-off.
 * OpenSSL cannot move a connection to another process, so the worker keeps
 * it and copies plain bytes to and from the user process (as vsftpd does).
 */
#ifndef FTPD_RELAY_H
#define FTPD_RELAY_H

#include <event2/bufferevent.h>

struct relay;

/* Called once when the relay is over (either side closed), just before it is freed. */
typedef void (*relay_done_fn)(void *owner, struct relay *relay);

/*
 * Relays between client (the TLS control connection, taken over) and
 * process_fd (the worker's end of a socketpair to the user process, taken
 * over). NULL (both closed) when out of memory.
 */
struct relay *relay_new(struct event_base *base, struct bufferevent *client, int process_fd,
    relay_done_fn done, void *owner);

/* Closes both sides now, without calling done. */
void relay_free(struct relay *relay);

#endif
