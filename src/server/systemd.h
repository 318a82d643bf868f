/*
 * systemd: socket activation (LISTEN_FDS/LISTEN_PID) and readiness
 * notification (NOTIFY_SOCKET), spoken directly, without libsystemd.
 */
#ifndef FTPD_SYSTEMD_H
#define FTPD_SYSTEMD_H

#define SYSTEMD_FIRST_FD 3

/*
 * The number of sockets systemd passed to this process (fds 3, 4, ...), or
 * 0. The variables are removed from the environment so children do not see them.
 */
int systemd_listen_fds(void);

/* 1 when fd is a listening socket (Accept=no), 0 for a connection (Accept=yes). */
int systemd_fd_is_listening(int fd);

/* Sends a state such as "READY=1" to the service manager, if there is one. */
void systemd_notify(const char *state);

#endif
