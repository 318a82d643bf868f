/*
 * util/tcp: socket options every FTP connection gets.
 */
#ifndef FTPD_TCP_H
#define FTPD_TCP_H

/*
 * Sends small writes at once (TCP_NODELAY). FTP is a conversation of small
 * replies: with Nagle's algorithm a reply that follows another unacknowledged
 * one (the 226 after a 150) waits for the client's delayed ACK, 40 ms on
 * Linux, and every small transfer took 44 ms. Replies are whole lines written
 * in one go, so no tiny segments come of it. Not a TCP socket (inetd's pipe
 * in tests): nothing happens.
 */
void tcp_send_at_once(int fd);

#endif
