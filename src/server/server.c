/*
 * server: accepts control connections and enforces the connection limits.
 * Over-limit clients get "421 Too many users" and are closed without a session.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/settings.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "portal/portal.h"
#include "reply/reply.h"
#include "server/server.h"
#include "server/session_process.h"
#include "session/session.h"
#include "shell/host.h"
#include "tls/tls.h"
#include "util/attributes.h"
#include "util/worker_pool.h"

/* Threads for crypt(3): slow on purpose, so never on the event loop. */
#define SERVER_AUTH_THREADS 2
/* How long accepting pauses when the process is out of file descriptors. */
#define ACCEPT_BACKOFF_MS 200

/* How many sessions one client address has. */
struct client_count {
	struct client_count *next;
	unsigned char address[16];
	size_t address_length;
	unsigned sessions;
};

/* A logged-in session that went on in a process of its own. */
struct session_process_record {
	pid_t pid;
	struct sockaddr_storage peer;		/* counted in client_counts until it exits */
	char peer_text[64];
	LIST_ENTRY(session_process_record) link;
};


/* The address bytes that identify a client (IPv4-mapped IPv6 counts as IPv4). */
static size_t
client_address(const struct sockaddr *peer, unsigned char out[16])
{
	if (peer->sa_family == AF_INET) {
		memcpy(out, &((const struct sockaddr_in *)peer)->sin_addr, 4);
		return 4;
	}
	if (peer->sa_family == AF_INET6) {
		const struct in6_addr *address = &((const struct sockaddr_in6 *)peer)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(address)) {
			memcpy(out, &address->s6_addr[12], 4);
			return 4;
		}
		memcpy(out, address, 16);
		return 16;
	}
	return 0;
}

static unsigned
client_bucket(const unsigned char *address, size_t length)
{
	uint32_t hash = 2166136261u;
	size_t i;

	for (i = 0; i < length; i++)
		hash = (hash ^ address[i]) * 16777619u;
	return hash % SERVER_CLIENT_BUCKETS;
}

static struct client_count **
client_count_slot(struct server *server, const struct sockaddr *peer, unsigned char address[16],
    size_t *length)
{
	struct client_count **slot;

	*length = client_address(peer, address);
	slot = &server->client_counts[client_bucket(address, *length)];
	while (*slot != NULL && ((*slot)->address_length != *length ||
	    memcmp((*slot)->address, address, *length) != 0))
		slot = &(*slot)->next;
	return slot;
}

static unsigned
sessions_from(struct server *server, const struct sockaddr *peer)
{
	unsigned char address[16];
	size_t length;
	struct client_count **slot = client_count_slot(server, peer, address, &length);

	return *slot == NULL ? 0 : (*slot)->sessions;
}

/* NULL when out of memory: that client goes uncounted (the limit is best effort). */
static struct client_count *
client_count_add(struct server *server, const struct sockaddr *peer)
{
	unsigned char address[16];
	size_t length;
	struct client_count **slot = client_count_slot(server, peer, address, &length);

	if (*slot == NULL) {
		*slot = calloc(1, sizeof(**slot));
		if (*slot == NULL)
			return NULL;
		memcpy((*slot)->address, address, length);
		(*slot)->address_length = length;
	}
	(*slot)->sessions++;
	return *slot;
}

static void
client_count_remove(struct server *server, const struct sockaddr *peer)
{
	unsigned char address[16];
	size_t length;
	struct client_count **slot = client_count_slot(server, peer, address, &length);

	if (*slot != NULL && --(*slot)->sessions == 0) {
		struct client_count *gone = *slot;

		*slot = gone->next;
		free(gone);
	}
}

/* Nobody is served any more, here or in a session process. */
static int
server_idle(const struct server *server)
{
	return server->session_count == 0 && server->process_count == 0;
}

/* The session services: what sessions may ask of the server. */
static void
session_started(void *owner, struct session *session)
{
	struct server *server = owner;

	LIST_INSERT_HEAD(&server->sessions, session, link);
	server->session_count++;
	session->client_count = client_count_add(server, (const struct sockaddr *)&session->peer);
}

static void
session_ended(void *owner, struct session *session)
{
	struct server *server = owner;

	LIST_REMOVE(session, link);
	server->session_count--;
	if (session->client_count != NULL)
		client_count_remove(server, (const struct sockaddr *)&session->peer);
	if (server->exit_when_idle && server_idle(server))
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
	session_process_start(owner, session, avatar);
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
	services->hand_off = can_hand_off ? hand_off : NULL;
}

void
server_session_moved(struct server *server, struct session *session, pid_t pid)
{
	struct session_process_record *record;

	record = calloc(1, sizeof(*record));
	if (record == NULL) {
		/* Unrecorded: its exit is reaped all the same, only the limits miss it. */
		log_warning("%s: session process %ld is not counted: out of memory",
		    session->peer_text, (long)pid);
		return;
	}
	record->pid = pid;
	memcpy(&record->peer, &session->peer, sizeof(record->peer));
	memcpy(record->peer_text, session->peer_text, sizeof(record->peer_text));
	LIST_INSERT_HEAD(&server->processes, record, link);
	server->process_count++;
	client_count_add(server, (const struct sockaddr *)&record->peer);
	/* A login that finished while the server was stopping ends with the rest. */
	if (server->shutting_down)
		kill(pid, SIGTERM);
}

/* SIGCHLD: session processes that ended no longer count. */
static void
children_exited(evutil_socket_t signal_number UNUSED, short what UNUSED, void *arg)
{
	struct server *server = arg;
	struct session_process_record *record;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		LIST_FOREACH(record, &server->processes, link)
			if (record->pid == pid)
				break;
		if (WIFSIGNALED(status))
			log_warning("session process %ld killed by signal %d", (long)pid,
			    WTERMSIG(status));
		else if (WEXITSTATUS(status) != 0)
			log_warning("session process %ld exited with status %d", (long)pid,
			    WEXITSTATUS(status));
		if (record == NULL)
			continue;
		LIST_REMOVE(record, link);
		server->process_count--;
		client_count_remove(server, (const struct sockaddr *)&record->peer);
		free(record);
	}
	if (server->exit_when_idle && server_idle(server))
		event_base_loopexit(server->base, NULL);
}

/* Answers 421 and closes: no session, no buffering, nothing to free later. */
static void
refuse_connection(int fd)
{
	char reply[128];
	size_t length = reply_format(reply, sizeof(reply), REPLY_TOO_MANY_USERS);
	ssize_t ignored = send(fd, reply, length, MSG_DONTWAIT | MSG_NOSIGNAL);

	(void)ignored;
	close(fd);
}

static int
over_limits(struct server *server, const struct sockaddr *peer)
{
	const struct config *config = server->config;

	if (config->max_clients != 0 &&
	    server->session_count + server->process_count >= config->max_clients)
		return 1;
	if (config->max_clients_per_ip != 0 &&
	    sessions_from(server, peer) >= config->max_clients_per_ip)
		return 1;
	return 0;
}

static void
accept_session(struct server *server, evutil_socket_t fd, struct sockaddr *peer,
    int peer_length, int implicit_tls)
{
	if (over_limits(server, peer)) {
		log_info("refused a connection: too many users");
		refuse_connection(fd);
		return;
	}
	if (session_new(&server->services, server->settings, fd, peer, (socklen_t)peer_length,
	    implicit_tls) != NULL)
		log_info("%s: connected%s", server->sessions.lh_first->peer_text,
		    implicit_tls ? " (implicit TLS)" : "");
}

static void
accepted(struct evconnlistener *listener UNUSED, evutil_socket_t fd, struct sockaddr *peer,
    int peer_length, void *arg)
{
	accept_session(arg, fd, peer, peer_length, 0);
}

static void
accepted_implicit(struct evconnlistener *listener UNUSED, evutil_socket_t fd, struct sockaddr *peer,
    int peer_length, void *arg)
{
	accept_session(arg, fd, peer, peer_length, 1);
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
	struct server *server = arg;
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
			refuse_connection(fd);
	}
	log_warning("accept: %s; pausing for %d ms", strerror(error), ACCEPT_BACKOFF_MS);
	for (i = 0; i < server->listener_count; i++)
		evconnlistener_disable(server->listeners[i]);
	evtimer_add(server->accept_resume_timer, &backoff);
}

struct server *
server_new(struct event_base *base, struct config *config)
{
	struct server *server = calloc(1, sizeof(*server));
	char error[512];

	if (server == NULL) {
		config_free(config);
		return NULL;
	}
	server->base = base;
	server->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	LIST_INIT(&server->sessions);
	LIST_INIT(&server->processes);
	server->accept_resume_timer = evtimer_new(base, resume_accepting, server);
	if (config->system_users) {
		server->child_exited = evsignal_new(base, SIGCHLD, children_exited, server);
		if (server->child_exited == NULL || evsignal_add(server->child_exited, NULL) != 0) {
			log_error("cannot watch session processes: out of memory");
			config_free(config);
			server_free(server);
			return NULL;
		}
	}
	/* Opened once, before privileges go; a reload does not move it. */
	if (config->xferlog != NULL) {
		server->xferlog = xferlog_open(config->xferlog);
		if (server->xferlog == NULL) {
			log_error("xferlog %s: %s", config->xferlog, strerror(errno));
			config_free(config);
			server_free(server);
			return NULL;
		}
	}
	server->workers = worker_pool_new(base, SERVER_AUTH_THREADS);
	if (server->workers != NULL)
		server->host = host_new(base, server->workers);
	if (server->accept_resume_timer == NULL || server->host == NULL) {
		log_error("cannot set up the server: out of memory");
		config_free(config);
		server_free(server);
		return NULL;
	}
	server->settings = settings_new(config, server->workers, server->host, error,
	    sizeof(error));
	if (server->settings == NULL) {
		log_error("%s", error);
		server_free(server);
		return NULL;
	}
	server->config = &server->settings->config;
	init_services(server, 1);
	return server;
}

int
server_reload(struct server *server, struct config *config)
{
	struct settings *settings;
	char error[512];
	unsigned i;

	if (config->listen_count != server->config->listen_count)
		log_warning("reload: listen addresses change only with a restart");
	for (i = 0; i < config->listen_count && i < server->config->listen_count; i++)
		if (strcmp(config->listen[i].text, server->config->listen[i].text) != 0)
			log_warning("reload: listen addresses change only with a restart");
	if (config->system_users != server->config->system_users) {
		log_error("reload: system_users changes only with a restart; keeping the "
		    "running configuration");
		return -EINVAL;
	}
	settings = settings_new(config, server->workers, server->host, error, sizeof(error));
	if (settings == NULL) {
		log_error("reload: %s; keeping the running configuration", error);
		return -EINVAL;
	}
	settings_release(server->settings);
	server->settings = settings;
	server->config = &settings->config;
	log_info("configuration reloaded; it applies to new sessions");
	return 0;
}

/* Opens one listening socket; the server speaks first, so never LEV_OPT_DEFERRED_ACCEPT. */
static int
listen_on(struct server *server, const struct listen_address *address,
    evconnlistener_cb accept_callback)
{
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE;
	struct evconnlistener *listener;

	if (address->address.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	listener = evconnlistener_new_bind(server->base, accept_callback, server, flags, 128,
	    (const struct sockaddr *)&address->address, (int)address->length);
	if (listener == NULL) {
		int error = errno;

		log_error("cannot listen on %s: %s", address->text, strerror(error));
		return -error;
	}
	evconnlistener_set_error_cb(listener, accept_failed);
	server->listeners[server->listener_count++] = listener;
	log_info("listening on %s%s", address->text,
	    accept_callback == accepted_implicit ? " (implicit TLS)" : "");
	return 0;
}

int
server_listen(struct server *server)
{
	const struct config *config = server->config;
	struct listen_address implicit;
	unsigned i;
	int error;

	for (i = 0; i < config->listen_count; i++) {
		error = listen_on(server, &config->listen[i], accepted);
		if (error != 0)
			return error;
	}
	if (server->settings->tls != NULL && config->listen_implicit != NULL) {
		if (config_parse_listen_address(config->listen_implicit, &implicit) != 0)
			return -EINVAL;
		return listen_on(server, &implicit, accepted_implicit);
	}
	return 0;
}

int
server_listen_inherited(struct server *server, int fd)
{
	struct evconnlistener *listener;

	if (server->listener_count == sizeof(server->listeners) / sizeof(server->listeners[0]))
		return -EMFILE;
	evutil_make_socket_nonblocking(fd);
	listener = evconnlistener_new(server->base, accepted, server,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (listener == NULL) {
		log_error("cannot accept on inherited socket %d: %s", fd, strerror(errno));
		return -errno;
	}
	evconnlistener_set_error_cb(listener, accept_failed);
	server->listeners[server->listener_count++] = listener;
	log_info("accepting on socket %d from the service manager", fd);
	return 0;
}

static void
grace_over(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct server *server = arg;

	log_info("shutdown grace period over: closing %u session(s)",
	    server->session_count + server->process_count);
	event_base_loopexit(server->base, NULL);
}

void
server_shutdown(struct server *server)
{
	struct timeval grace = { (time_t)server->config->shutdown_grace, 0 };
	struct session_process_record *record;
	struct session *session, *next;
	unsigned i;

	for (i = 0; i < server->listener_count; i++)
		evconnlistener_free(server->listeners[i]);
	server->listener_count = 0;
	server->exit_when_idle = 1;
	server->shutting_down = 1;
	for (session = LIST_FIRST(&server->sessions); session != NULL; session = next) {
		next = LIST_NEXT(session, link);
		session_shutdown(session);
	}
	/* Each session process winds down the same way, within the same grace. */
	LIST_FOREACH(record, &server->processes, link)
		kill(record->pid, SIGTERM);
	if (server_idle(server)) {
		event_base_loopexit(server->base, NULL);
		return;
	}
	log_info("waiting up to %u s for %u session(s) to finish",
	    server->config->shutdown_grace, server->session_count + server->process_count);
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
	if (session_new(&server->services, server->settings, fd, (struct sockaddr *)&peer, length,
	    0) == NULL)
		return -ENOMEM;
	return 0;
}

void
server_free(struct server *server)
{
	unsigned i;

	for (i = 0; i < server->listener_count; i++)
		evconnlistener_free(server->listeners[i]);
	server->exit_when_idle = 0;
	while (!LIST_EMPTY(&server->sessions))
		session_free(LIST_FIRST(&server->sessions));
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
	if (server->child_exited != NULL)
		event_free(server->child_exited);
	for (i = 0; i < 2; i++)
		if (server->stop_signals[i] != NULL)
			event_free(server->stop_signals[i]);
	while (!LIST_EMPTY(&server->processes)) {
		struct session_process_record *record = LIST_FIRST(&server->processes);

		LIST_REMOVE(record, link);
		free(record);
	}
	for (i = 0; i < SERVER_CLIENT_BUCKETS; i++)
		while (server->client_counts[i] != NULL) {
			struct client_count *next = server->client_counts[i]->next;

			free(server->client_counts[i]);
			server->client_counts[i] = next;
		}
	free(server);
}

static void
session_process_stop(evutil_socket_t signal_number, short what UNUSED, void *arg)
{
	struct server *server = arg;

	/* A second signal: stop now, as the daemon does. */
	if (server->shutting_down) {
		event_base_loopexit(server->base, NULL);
		return;
	}
	log_info("signal %d: stopping the session", (int)signal_number);
	server_shutdown(server);
}

struct server *
server_new_for_session_process(struct event_base *base, struct settings *settings,
    struct xferlog *xferlog)
{
	static const int stop_signals[2] = { SIGTERM, SIGINT };
	struct server *server = calloc(1, sizeof(*server));
	unsigned i;

	if (server == NULL) {
		log_error("session process: out of memory");
		return NULL;
	}
	server->base = base;
	server->spare_fd = -1;
	LIST_INIT(&server->sessions);
	LIST_INIT(&server->processes);
	server->settings = settings;
	server->config = &settings->config;
	server->xferlog = xferlog;
	/* The session is all this process is for. */
	server->exit_when_idle = 1;
	/* One session's uploads to make durable: one thread is plenty. */
	server->workers = worker_pool_new(base, 1);
	if (server->workers != NULL)
		server->host = host_new(base, server->workers);
	for (i = 0; i < 2; i++) {
		server->stop_signals[i] = evsignal_new(base, stop_signals[i], session_process_stop,
		    server);
		if (server->stop_signals[i] == NULL ||
		    evsignal_add(server->stop_signals[i], NULL) != 0)
			break;
	}
	if (server->host == NULL || i < 2) {
		log_error("session process: cannot set up: out of memory");
		server_free(server);
		return NULL;
	}
	init_services(server, 0);
	/* A reload concerns the listening process; this session keeps its configuration. */
	signal(SIGHUP, SIG_IGN);
	return server;
}
