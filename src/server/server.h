/*
 * server: the factory. Listening sockets, total and per-address limits (the
 * overflow connection gets 421), inetd mode, the sessions it owns.
 */
#ifndef FTPD_SERVER_H
#define FTPD_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "config/config.h"
#include "session/services.h"

struct session;
struct portal;
struct worker_pool;
struct ftpd_host;
struct settings;
struct client_count;
struct session_process_record;

#define SERVER_CLIENT_BUCKETS 256

struct server {
	struct event_base *base;
	struct settings *settings;		/* the configuration new sessions get */
	const struct config *config;		/* settings->config */
	struct worker_pool *workers;
	struct ftpd_host *host;			/* what shells may use */

	struct xferlog *xferlog;		/* NULL without xferlog */
	struct session_services services;	/* what its sessions see of it */

	struct evconnlistener *listeners[CONFIG_MAX_LISTEN + 1];
	unsigned listener_count;
	struct event *accept_resume_timer;	/* after EMFILE: listen again later */
	int spare_fd;				/* given up to answer 421 when out of fds */

	LIST_HEAD(, session) sessions;
	unsigned session_count;
	struct client_count *client_counts[SERVER_CLIENT_BUCKETS];
	int exit_when_idle;			/* inetd mode: stop after the last session */
	int shutting_down;			/* SIGTERM came: nothing new starts */
	struct event *grace_timer;		/* shutting down: the deadline */

	/* system_users: logged-in sessions live in processes of their own. */
	LIST_HEAD(, session_process_record) processes;
	unsigned process_count;
	struct event *child_exited;		/* SIGCHLD */
	struct event *stop_signals[2];		/* in a session process: SIGTERM, SIGINT */
};

/* Takes over config's contents (left empty). NULL on failure (logged). */
struct server *server_new(struct event_base *base, struct config *config);

/*
 * SIGHUP: new sessions get config; running ones keep theirs. A config
 * whose keys or certificate cannot be used is logged, and the running
 * configuration stays. 0 or -EINVAL. Either way the caller frees config
 * (left empty when its contents were taken over).
 */
int server_reload(struct server *server, struct config *config);

/* Opens every config->listen address. 0, or -errno (logged). */
int server_listen(struct server *server);

/* Accepts on a listening socket made by someone else (systemd, Accept=no). 0 or -errno. */
int server_listen_inherited(struct server *server, int fd);

/*
 * Serves one already-connected socket (inetd mode, systemd Accept=yes); the
 * loop ends with that session. 0 or -errno.
 */
int server_adopt(struct server *server, int fd);

/*
 * SIGTERM: stops accepting, closes idle sessions with 421, lets running
 * transfers finish, and ends the loop when none is left or after
 * config->shutdown_grace seconds.
 */
void server_shutdown(struct server *server);

/*
 * In the listening process: session now lives in process pid, which still
 * counts against max_clients and max_clients_per_ip until it exits.
 */
void server_session_moved(struct server *server, struct session *session, pid_t pid);

/*
 * In a session process: a server for the one session it serves, on base,
 * with the configuration generation settings and the xferlog (both taken
 * over from the listening process's copy). Stops on SIGTERM/SIGINT like the
 * daemon, after the session ends. NULL on failure (logged).
 */
struct server *server_new_for_session_process(struct event_base *base,
    struct settings *settings, struct xferlog *xferlog);

/* Closes listeners and every session; frees. */
void server_free(struct server *server);

#endif
