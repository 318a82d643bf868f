/*
 * support/control_client: the client side of a control connection in unit
 * tests that run a real server or session on their own event loop.
 */
#ifndef FTPD_TEST_CONTROL_CLIENT_H
#define FTPD_TEST_CONTROL_CLIENT_H

#include <event2/event.h>

/*
 * Runs base until fd (non-blocking) holds a complete reply, its last line
 * "ddd text\r\n", or EOF, for at most 5 s. Returns what came ("" on EOF
 * before any byte), in a buffer the next call reuses.
 */
const char *control_read_reply(struct event_base *base, int fd);

/* Sends line (with its CRLF) and returns the reply. */
const char *control_converse(struct event_base *base, int fd, const char *line);

#endif
