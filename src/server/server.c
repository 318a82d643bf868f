/*
 * server: accepts control connections and enforces the connection limits.
 * Over-limit clients get 421 (naming the limit they hit) and are closed without a session.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/settings.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "monitor/limits.h"
#include "monitor/link.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"
#include "reply/reply.h"
#include "server/server.h"
#include "server/admission.h"
#include "server/hand_off.h"
#include "server/proxied.h"
#include "server/relay.h"
#include "server/worker_process.h"
#include "session/session.h"
#include "shell/host.h"
#include "shell/registry.h"
#include "tls/tls.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

/* Threads for what must not block the loop: fsync before 226, a shell's slow calls. */
#define SERVER_THREADS 2
/* How long accepting pauses when the process is out of file descriptors. */
#define ACCEPT_BACKOFF_MS 200

/* A system user's TLS control connection, relayed to its user process. */
struct relay_record {
	struct relay *relay;
	LIST_ENTRY(relay_record) link;
};

/* A connection waiting for the monitor's word on the limits. */
struct pending_connection {
	struct server *server;
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_length;
	int implicit_tls;
	struct sockaddr_storage front;	/* behind a balancer: the address the client sees */
	socklen_t front_length;		/* 0: none, the socket's own */
	struct monitor_request *request;
	LIST_ENTRY(pending_connection) link;
};

/* Nobody is served any more, here or in a session process, and nobody waits. */
int
server_is_idle(const struct server *server)
{
	return server->session_count == 0 && LIST_EMPTY(&server->relays) &&
	    LIST_EMPTY(&server->pending) && LIST_EMPTY(&server->proxied) &&
	    !admission_logins_pending(server);
}

/* The session services: what sessions may ask of the server. */
static void
session_started(void *owner, struct session *session)
{
	struct server *server = owner;

	LIST_INSERT_HEAD(&server->sessions, session, link);
	server->session_count++;
}

static void
session_ended(void *owner, struct session *session)
{
	struct server *server = owner;

	LIST_REMOVE(session, link);
	server->session_count--;
	admission_session_ended(server, session);
	if (server->exit_when_idle && server_is_idle(server))
		event_base_loopexit(server->base, NULL);
}

static unsigned
session_count(void *owner)
{
	return ((struct server *)owner)->session_count;
}

static void
hand_off(void *owner, struct session *session, struct avatar *avatar)
{
	hand_off_start(owner, session, avatar);
}

/* hand_off: NULL in a process that serves one session already handed off. */
static void
init_services(struct server *server, int can_hand_off)
{
	struct session_services *services = &server->services;

	services->base = server->base;
	services->xferlog = server->xferlog;
	services->owner = server;
	services->session_started = session_started;
	services->session_ended = session_ended;
	services->session_count = session_count;
	services->admit_login = admission_login;
	services->login_failed = admission_login_failed;
	services->logged_out = admission_logged_out;
	services->hand_off = can_hand_off ? hand_off : NULL;
}

void
server_relay_started(struct server *server, struct relay *relay)
{
	struct relay_record *record;

	if (relay == NULL)
		return;
	record = calloc(1, sizeof(*record));
	if (record == NULL) {
		relay_free(relay);
		return;
	}
	record->relay = relay;
	LIST_INSERT_HEAD(&server->relays, record, link);
}

void
server_relay_ended(struct server *server, struct relay *relay)
{
	struct relay_record *record;

	LIST_FOREACH(record, &server->relays, link)
		if (record->relay == relay)
			break;
	if (record != NULL) {
		LIST_REMOVE(record, link);
		free(record);
	}
	if (server->exit_when_idle && server_is_idle(server))
		event_base_loopexit(server->base, NULL);
}

/* Answers 421 and closes: no session, no buffering, nothing to free later. */
static void
refuse_connection(int fd, enum reply_id why)
{
	char reply[128];
	size_t length = reply_format(reply, sizeof(reply), why);
	ssize_t ignored = send(fd, reply, length, MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)ignored;
	close(fd);
}

static void
start_session(struct server *server, int fd, const struct sockaddr *peer, socklen_t peer_length,
    int implicit_tls, const struct sockaddr *front)
{
	struct message_address address;
	struct session *session;

	session = session_new(&server->services, server->settings, fd, peer, peer_length,
	    implicit_tls);
	if (session != NULL) {
		if (front != NULL)
			session_set_front(session, front);
		log_info("%s: connected%s%s", session->peer_text,
		    implicit_tls ? " (implicit TLS)" : "", front != NULL ? " (through a balancer)" : "");
		return;
	}
	message_address_from(peer, &address);
	admission_release_connection(server, &address);
}

static void
refuse_admission(int fd, enum message_verdict verdict, unsigned retry_after)
{
	char reply[160], seconds[16];
	size_t length;
	ssize_t ignored;

	switch (verdict) {
	case MESSAGE_ADMIT_TOO_MANY_USERS:
		log_info("refused a connection: too many users (max_clients)");
		refuse_connection(fd, REPLY_TOO_MANY_USERS);
		break;
	case MESSAGE_ADMIT_TOO_MANY_FROM_ADDRESS:
		log_info("refused a connection: too many from its address (max_clients_per_ip)");
		refuse_connection(fd, REPLY_TOO_MANY_FROM_ADDRESS);
		break;
	case MESSAGE_ADMIT_TOO_MANY_NOT_LOGGED_IN:
		log_info("refused a connection: too many from its address not logged in "
		    "(max_prelogin_per_ip)");
		refuse_connection(fd, REPLY_TOO_MANY_NOT_LOGGED_IN);
		break;
	default:
		log_info("refused a connection: its address is banned for %u s more", retry_after);
		snprintf(seconds, sizeof(seconds), "%u", retry_after);
		length = reply_format(reply, sizeof(reply), REPLY_ADDRESS_BANNED, seconds);
		ignored = send(fd, reply, length, MSG_DONTWAIT | MSG_NOSIGNAL);
		(void)ignored;
		close(fd);
		break;
	}
}

static void
admitted(struct pending_connection *pending, enum message_verdict verdict, unsigned retry_after)
{
	struct server *server = pending->server;

	LIST_REMOVE(pending, link);
	if (verdict == MESSAGE_ADMIT_OK)
		start_session(server, pending->fd, (const struct sockaddr *)&pending->peer,
		    pending->peer_length, pending->implicit_tls, pending->front_length == 0 ? NULL :
		    (const struct sockaddr *)&pending->front);
	else
		refuse_admission(pending->fd, verdict, retry_after);
	free(pending);
	if (server->exit_when_idle && server_is_idle(server))
		event_base_loopexit(server->base, NULL);
}

static void
monitor_answered_admit(void *arg, const struct message *answer)
{
	struct pending_connection *pending = arg;

	pending->request = NULL;
	if (answer == NULL) {
		struct server *server = pending->server;

		LIST_REMOVE(pending, link);
		refuse_connection(pending->fd, REPLY_SESSION_UNAVAILABLE);
		free(pending);
		if (server->exit_when_idle && server_is_idle(server))
			event_base_loopexit(server->base, NULL);
		return;
	}
	admitted(pending, (enum message_verdict)answer->body.admitted.verdict,
	    answer->body.admitted.retry_after);
}

/*
 * The limits hold across every worker, so the monitor counts; a server on
 * its own counts itself. The connection waits for the verdict unread.
 */
void
server_admit(struct server *server, int fd, const struct sockaddr *peer,
    socklen_t peer_length, int implicit_tls, const struct sockaddr *front)
{
	const struct config *config = server->config;
	struct pending_connection *pending;
	struct message_admit admit;

	message_address_from(peer, &admit.address);
	pending = calloc(1, sizeof(*pending));
	if (pending == NULL) {
		refuse_connection(fd, REPLY_SESSION_UNAVAILABLE);
		return;
	}
	pending->server = server;
	pending->fd = fd;
	if (peer_length > sizeof(pending->peer))
		peer_length = sizeof(pending->peer);
	memcpy(&pending->peer, peer, peer_length);
	pending->peer_length = peer_length;
	pending->implicit_tls = implicit_tls;
	if (front != NULL && (front->sa_family == AF_INET || front->sa_family == AF_INET6)) {
		pending->front_length = front->sa_family == AF_INET ?
		    sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
		memcpy(&pending->front, front, pending->front_length);
	}
	LIST_INSERT_HEAD(&server->pending, pending, link);
	if (server->link == NULL) {
		admitted(pending, limits_admit(&server->limits, &admit.address, config), 0);
		return;
	}
	pending->request = monitor_link_request(server->link, MESSAGE_ADMIT, &admit,
	    monitor_answered_admit, pending);
}

static void
accepted(struct evconnlistener *listener UNUSED, evutil_socket_t fd, struct sockaddr *peer,
    int peer_length, void *arg)
{
	const struct listener_kind *kind = arg;

	if (kind->proxy)
		proxied_connection_start(kind->server, fd, peer, (socklen_t)peer_length,
		    kind->implicit_tls);
	else
		server_admit(kind->server, fd, peer, (socklen_t)peer_length, kind->implicit_tls,
		    NULL);
}

static void
resume_accepting(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *server = arg;
	unsigned i;

	if (server->spare_fd < 0)
		server->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (i = 0; i < server->listener_count; i++)
		evconnlistener_enable(server->listeners[i]);
}

/*
 * accept() failed. Out of descriptors, the pending connection would make the
 * loop spin (libevent #71): give up the spare fd to answer it 421, then stop
 * listening for a moment.
 */
static void
accept_failed(struct evconnlistener *listener, void *arg)
{
	/* libevent hands the error callback the accept callback's argument. */
	const struct listener_kind *kind = arg;
	struct server *server = kind->server;
	struct timeval backoff = { 0, ACCEPT_BACKOFF_MS * 1000 };
	int error = EVUTIL_SOCKET_ERROR();
	unsigned i;

	if (error != EMFILE && error != ENFILE && error != ENOBUFS && error != ENOMEM) {
		log_warning("accept: %s", strerror(error));
		return;
	}
	if (server->spare_fd >= 0) {
		int fd;

		close(server->spare_fd);
		server->spare_fd = -1;
		fd = accept(evconnlistener_get_fd(listener), NULL, NULL);
		if (fd >= 0)
			refuse_connection(fd, REPLY_TOO_MANY_USERS);
	}
	log_warning("accept: %s; pausing for %d ms", strerror(error), ACCEPT_BACKOFF_MS);
	for (i = 0; i < server->listener_count; i++)
		evconnlistener_disable(server->listeners[i]);
	evtimer_add(server->accept_resume_timer, &backoff);
}

/* The monitor asks this worker to stop taking connections. */
static void
monitor_drain(void *owner, unsigned reason)
{
	struct server *server = owner;

	if (reason == MESSAGE_DRAIN_RELOAD)
		server_drain(server);
	else if (!server->shutting_down)
		server_shutdown(server);
}

/* Without the monitor no login can be checked: the worker winds down. */
static void
monitor_lost(void *owner)
{
	struct server *server = owner;

	if (!server->shutting_down)
		server_shutdown(server);
}

/* login = shell: the shell module checks passwords, here in the worker. */
static int
open_shell_login_portal(struct server *server, struct settings *settings, char *error,
    size_t size)
{
	const struct config *config = &settings->config;
	const struct ftpd_shell_module *module;
	struct checker *checker;

	module = shell_registry_find(config->shell, config->shell_dir, error, size);
	if (module == NULL)
		return -1;
	if (!shell_module_authenticates(module)) {
		snprintf(error, size, "login = shell, but shell %s has no authenticate and "
		    "release_login to check passwords with", module->name);
		return -1;
	}
	checker = checker_shell_new(config, module, server->host);
	if (checker == NULL) {
		snprintf(error, size, "cannot set up logins: out of memory");
		return -1;
	}
	settings->portal = portal_new(config, checker, server->host);
	if (settings->portal == NULL) {
		snprintf(error, size, "cannot set up logins (see the messages above)");
		return -1;
	}
	return 0;
}

static int
open_portal(struct server *server, struct settings *settings, char *error, size_t size)
{
	struct checker *password_checker = NULL;

	if (settings->portal != NULL)
		return 0;
	if (settings->config.login == LOGIN_SHELL)
		return open_shell_login_portal(server, settings, error, size);
	if (server->link != NULL)
		password_checker = checker_monitor_new(server->link);
	else if (portal_password_checker_new(&settings->config, server->workers,
	    &password_checker) != 0) {
		snprintf(error, size, "cannot set up logins (see the messages above)");
		return -1;
	}
	if (server->link != NULL && password_checker == NULL) {
		snprintf(error, size, "cannot set up logins: out of memory");
		return -1;
	}
	settings->portal = portal_new(&settings->config, password_checker, server->host);
	if (settings->portal == NULL) {
		snprintf(error, size, "cannot set up logins (see the messages above)");
		return -1;
	}
	return 0;
}

struct server *
server_new(struct event_base *base, struct settings *settings, struct xferlog *xferlog,
    int monitor_fd)
{
	static const struct monitor_link_events no_events;
	struct monitor_link_events events = no_events;
	struct server *server = calloc(1, sizeof(*server));
	char error[512];

	if (server == NULL) {
		log_error("cannot set up the server: out of memory");
		settings_release(settings);
		xferlog_close(xferlog);
		return NULL;
	}
	server->base = base;
	server->settings = settings;
	server->config = &settings->config;
	server->xferlog = xferlog;
	server->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	server->hand_off_fd = -1;
	LIST_INIT(&server->sessions);
	LIST_INIT(&server->relays);
	LIST_INIT(&server->pending);
	LIST_INIT(&server->proxied);
	LIST_INIT(&server->logins);
	LIST_INIT(&server->failures);
	limits_init(&server->limits);
	server->accept_resume_timer = evtimer_new(base, resume_accepting, server);
	if (monitor_fd >= 0) {
		events.owner = server;
		events.drain = monitor_drain;
		events.lost = monitor_lost;
		server->link = monitor_link_new(base, monitor_fd, &events);
		if (server->link == NULL) {
			close(monitor_fd);
			log_error("cannot set up the server: out of memory");
			server_free(server);
			return NULL;
		}
	}
	server->workers = worker_pool_new(base, SERVER_THREADS);
	if (server->workers != NULL)
		server->host = host_new(base, server->workers);
	if (server->accept_resume_timer == NULL || server->host == NULL) {
		log_error("cannot set up the server: out of memory");
		server_free(server);
		return NULL;
	}
	if (open_portal(server, settings, error, sizeof(error)) != 0) {
		log_error("%s", error);
		server_free(server);
		return NULL;
	}
	init_services(server, 1);
	return server;
}

struct server *
server_new_from_config(struct event_base *base, struct config *config)
{
	struct xferlog *xferlog = NULL;
	struct settings *settings;
	char error[512];

	if (config->xferlog != NULL) {
		xferlog = xferlog_open(config->xferlog);
		if (xferlog == NULL) {
			log_error("xferlog %s: %s", config->xferlog, strerror(errno));
			config_free(config);
			return NULL;
		}
	}
	settings = settings_new(config, error, sizeof(error));
	if (settings == NULL) {
		log_error("%s", error);
		xferlog_close(xferlog);
		return NULL;
	}
	return server_new(base, settings, xferlog, -1);
}

int
server_ready(struct server *server)
{
	struct message_ready ready;

	if (server->link == NULL)
		return 0;
	ready.listeners = server->listener_count;
	return monitor_link_tell(server->link, MESSAGE_READY, &ready);
}

int
server_accept_on(struct server *server, const struct worker_listener *listener)
{
	struct listener_kind *kind;
	struct evconnlistener *accepting;

	if (server->listener_count == sizeof(server->listeners) / sizeof(server->listeners[0]))
		return -EMFILE;
	/* Accepting goes on until EAGAIN: a blocking socket (systemd's) would hang there. */
	evutil_make_socket_nonblocking(listener->fd);
	/* Closing this copy leaves the socket open in the monitor and other workers. */
	kind = &server->listener_kinds[server->listener_count];
	kind->server = server;
	kind->implicit_tls = listener->implicit_tls;
	kind->proxy = listener->proxy;
	accepting = evconnlistener_new(server->base, accepted, kind,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, listener->fd);
	if (accepting == NULL) {
		log_error("cannot accept on socket %d: %s", listener->fd, strerror(errno));
		return -errno;
	}
	evconnlistener_set_error_cb(accepting, accept_failed);
	server->listeners[server->listener_count++] = accepting;
	return 0;
}

static void
grace_over(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *server = arg;

	log_info("shutdown grace period over: closing %u session(s)", server->session_count);
	event_base_loopexit(server->base, NULL);
}

static void
stop_listening(struct server *server)
{
	unsigned i;

	for (i = 0; i < server->listener_count; i++)
		evconnlistener_free(server->listeners[i]);
	server->listener_count = 0;
	if (server->accept_resume_timer != NULL)
		evtimer_del(server->accept_resume_timer);
}

void
server_drain(struct server *server)
{
	if (server->draining || server->shutting_down)
		return;
	server->draining = 1;
	stop_listening(server);
	server->exit_when_idle = 1;
	log_info("draining: %u session(s) go on with the old configuration",
	    server->session_count);
	if (server_is_idle(server))
		event_base_loopexit(server->base, NULL);
}

void
server_shutdown(struct server *server)
{
	struct timeval grace = { (time_t)server->config->shutdown_grace, 0 };
	struct session *session, *next;

	stop_listening(server);
	server->exit_when_idle = 1;
	server->shutting_down = 1;
	for (session = LIST_FIRST(&server->sessions); session != NULL; session = next) {
		next = LIST_NEXT(session, link);
		session_shutdown(session);
	}
	/* Relays end with their user processes, which the monitor stops too. */
	if (server_is_idle(server)) {
		event_base_loopexit(server->base, NULL);
		return;
	}
	log_info("waiting up to %u s for %u session(s) to finish",
	    server->config->shutdown_grace, server->session_count);
	server->grace_timer = evtimer_new(server->base, grace_over, server);
	if (server->grace_timer == NULL || evtimer_add(server->grace_timer, &grace) != 0)
		event_base_loopexit(server->base, NULL);
}

int
server_adopt(struct server *server, int fd)
{
	struct sockaddr_storage peer;
	socklen_t length = sizeof(peer);

	memset(&peer, 0, sizeof(peer));
	if (getpeername(fd, (struct sockaddr *)&peer, &length) != 0) {
		/* Not a socket (a test on a pipe): count it as a local client. */
		peer.ss_family = AF_UNIX;
		length = sizeof(sa_family_t);
	}
	server->exit_when_idle = 1;
	if (server->config->proxy_protocol)
		proxied_connection_start(server, fd, (struct sockaddr *)&peer, length, 0);
	else
		server_admit(server, fd, (struct sockaddr *)&peer, length, 0, NULL);
	return 0;
}

void
server_free(struct server *server)
{
	unsigned i;

	for (i = 0; i < server->listener_count; i++)
		evconnlistener_free(server->listeners[i]);
	server->exit_when_idle = 0;
	proxied_connection_free_all(server);
	while (!LIST_EMPTY(&server->pending)) {
		struct pending_connection *pending = LIST_FIRST(&server->pending);

		LIST_REMOVE(pending, link);
		monitor_request_cancel(pending->request);
		close(pending->fd);
		free(pending);
	}
	while (!LIST_EMPTY(&server->sessions))
		session_free(LIST_FIRST(&server->sessions));
	admission_free_all(server);
	/* The sessions are gone: this releases the last generation. */
	settings_release(server->settings);
	if (server->workers != NULL)
		worker_pool_free(server->workers);
	host_free(server->host);
	if (server->accept_resume_timer != NULL)
		event_free(server->accept_resume_timer);
	xferlog_close(server->xferlog);
	if (server->grace_timer != NULL)
		event_free(server->grace_timer);
	if (server->spare_fd >= 0)
		close(server->spare_fd);
	for (i = 0; i < 2; i++)
		if (server->stop_signals[i] != NULL)
			event_free(server->stop_signals[i]);
	while (!LIST_EMPTY(&server->relays)) {
		struct relay_record *record = LIST_FIRST(&server->relays);

		LIST_REMOVE(record, link);
		relay_free(record->relay);
		free(record);
	}
	limits_clear(&server->limits);
	monitor_link_free(server->link);
	free(server);
}

static void
stop_on_signal(evutil_socket_t signal_number, short what UNUSED, void *arg)
{
	struct server *server = arg;

	/* A second signal: stop now. */
	if (server->shutting_down) {
		log_info("signal %d again: stopping now", (int)signal_number);
		event_base_loopexit(server->base, NULL);
		return;
	}
	log_info("signal %d: stopping", (int)signal_number);
	server_shutdown(server);
}

int
server_stop_on_signals(struct server *server)
{
	static const int stop_signals[2] = { SIGTERM, SIGINT };
	unsigned i;

	for (i = 0; i < 2; i++) {
		server->stop_signals[i] = evsignal_new(server->base, stop_signals[i],
		    stop_on_signal, server);
		if (server->stop_signals[i] == NULL ||
		    evsignal_add(server->stop_signals[i], NULL) != 0)
			return -ENOMEM;
	}
	/* A reload is the monitor's: it starts new workers with the new configuration. */
	signal(SIGHUP, SIG_IGN);
	return 0;
}

struct server *
server_new_for_session_process(struct event_base *base, struct settings *settings,
    struct xferlog *xferlog)
{
	struct server *server = calloc(1, sizeof(*server));

	if (server == NULL) {
		log_error("session process: out of memory");
		return NULL;
	}
	server->base = base;
	server->spare_fd = -1;
	server->hand_off_fd = -1;
	LIST_INIT(&server->sessions);
	LIST_INIT(&server->relays);
	LIST_INIT(&server->pending);
	LIST_INIT(&server->proxied);
	LIST_INIT(&server->logins);
	LIST_INIT(&server->failures);
	limits_init(&server->limits);
	server->settings = settings;
	server->config = &settings->config;
	server->xferlog = xferlog;
	/* The session is all this process is for. */
	server->exit_when_idle = 1;
	/* One session's uploads to make durable: one thread is plenty. */
	server->workers = worker_pool_new(base, 1);
	if (server->workers != NULL)
		server->host = host_new(base, server->workers);
	if (server->host == NULL || server_stop_on_signals(server) != 0) {
		log_error("session process: cannot set up: out of memory");
		server_free(server);
		return NULL;
	}
	init_services(server, 0);
	return server;
}
