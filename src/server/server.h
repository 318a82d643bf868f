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
#include "log/log.h"
#include "monitor/limits.h"
#include "session/services.h"

struct session;
struct portal;
struct worker_pool;
struct ftpd_host;
struct settings;
struct monitor_link;
struct pending_connection;
struct proxied_connection;
struct pending_login;
struct relay;
struct relay_record;
struct worker_listener;

struct server {
	struct event_base *base;
	struct settings *settings;		/* the configuration new sessions get */
	const struct config *config;		/* settings->config */
	struct worker_pool *workers;
	struct ftpd_host *host;			/* what shells may use */

	struct xferlog *xferlog;		/* NULL without xferlog */
	struct session_services services;	/* what its sessions see of it */

	struct evconnlistener *listeners[CONFIG_MAX_LISTEN + 1];
	struct listener_kind {			/* what each listener's connections start with */
		struct server *server;
		int implicit_tls;
		int proxy;
	} listener_kinds[CONFIG_MAX_LISTEN + 1];
	unsigned listener_count;
	struct event *accept_resume_timer;	/* after EMFILE: listen again later */
	int spare_fd;				/* given up to answer 421 when out of fds */

	/* The monitor (NULL: a server on its own, counting its own limits). */
	struct monitor_link *link;
	struct limits limits;			/* without a monitor */
	LIST_HEAD(, proxied_connection) proxied;	/* waiting for their PROXY header */
	struct log_throttle untrusted_logged;		/* refusals of sources not in proxy_trusted */
	LIST_HEAD(, pending_connection) pending;	/* waiting for admission */
	LIST_HEAD(, pending_login) logins;		/* waiting for the monitor's word */
	LIST_HEAD(, pending_failure) failures;		/* login = shell failures being counted */

	LIST_HEAD(, session) sessions;
	unsigned session_count;
	int exit_when_idle;			/* inetd mode: stop after the last session */
	int draining;				/* a newer worker took over: no new sessions */
	int shutting_down;			/* SIGTERM came: nothing new starts */
	struct event *grace_timer;		/* shutting down: the deadline */

	/* system_users: logins go on in user processes the monitor starts. */
	int hand_off_fd;			/* the worker's hand-off socket; -1: none */
	LIST_HEAD(, relay_record) relays;	/* their TLS control connections */
	struct event *stop_signals[2];		/* SIGTERM, SIGINT */
};

/*
 * A server for settings (a generation it takes over, with its portal built
 * here if it has none yet) and xferlog (taken over; may be NULL). In a
 * worker, monitor_fd is its socket to the monitor (taken over): the monitor
 * checks passwords and counts the limits across workers. With -1 the server
 * stands alone and does both itself. NULL on failure (logged).
 */
struct server *server_new(struct event_base *base, struct settings *settings,
    struct xferlog *xferlog, int monitor_fd);

/* A server on its own for config (taken over): its xferlog opened, its generation built. */
struct server *server_new_from_config(struct event_base *base, struct config *config);

/* SIGTERM and SIGINT stop the server gently, a second one at once; SIGHUP is ignored. */
int server_stop_on_signals(struct server *server);

/* Nobody is served any more, here or in a session process, and nobody waits. */
int server_is_idle(const struct server *server);

/* Tells the monitor that this worker accepts connections now. 0 or -errno. */
int server_ready(struct server *server);

/*
 * Accepts connections on a listening socket the monitor opened (or the
 * service manager passed); listener->fd is the server's to close (a copy:
 * the monitor and other workers keep theirs). 0 or -errno (logged).
 */
int server_accept_on(struct server *server, const struct worker_listener *listener);

/*
 * Serves one already-connected socket (inetd mode, systemd Accept=yes); the
 * loop ends with that session. 0 or -errno.
 */
int server_adopt(struct server *server, int fd);

/*
 * A newer worker took over: stops accepting and ends the loop after the
 * last session, however long that takes (the sessions keep their generation).
 */
void server_drain(struct server *server);

/*
 * SIGTERM: stops accepting, closes idle sessions with 421, lets running
 * transfers finish, and ends the loop when none is left or after
 * config->shutdown_grace seconds.
 */
void server_shutdown(struct server *server);

/* A relay (NULL: none, it failed) now runs; the server stays up while it does. */
void server_relay_started(struct server *server, struct relay *relay);
/* A relay ended (it frees itself right after). */
void server_relay_ended(struct server *server, struct relay *relay);

/*
 * In a user process: a server for the one session it serves, on base,
 * with the configuration generation settings and the xferlog (both taken
 * over from the monitor's copy). Stops on SIGTERM/SIGINT like the
 * daemon, after the session ends. NULL on failure (logged).
 */
struct server *server_new_for_session_process(struct event_base *base,
    struct settings *settings, struct xferlog *xferlog);

/* Closes listeners and every session; frees. */
void server_free(struct server *server);

#endif
