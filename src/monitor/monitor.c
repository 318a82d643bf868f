/*
 * monitor: the privileged process's life: start (detach, keys, logs,
 * sockets, workers), SIGHUP (a new generation of workers; the old ones
 * drain), SIGTERM (every worker drains within shutdown_grace), exit.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/settings.h"
#include "dtp/data_address.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "monitor/monitor.h"
#include "monitor/state.h"
#include "portal/checkers/checkers.h"
#include "portal/portal.h"
#include "server/daemon.h"
#include "server/systemd.h"
#include "shared_state/shared_state.h"
#include "util/attributes.h"
#include "util/process_title.h"
#include "util/worker_pool.h"

#ifndef FTPD_VERSION
#define FTPD_VERSION "unknown"
#endif

/* Threads for password checks: crypt(3) and PAM are slow on purpose. */
#define MONITOR_CHECK_THREADS 2
/* Pending connections per listening socket. */
#define LISTEN_BACKLOG 128
/* After shutdown_grace, how long workers get to exit before they are killed. */
#define STOP_MARGIN_SECONDS 5

void
monitor_cut_off(struct worker_record *worker, const char *why)
{
	log_error("worker %u (process %ld) broke the protocol: %s; stopping it",
	    worker->slot + 1, (long)worker->pid, why);
	if (worker->channel != NULL) {
		bufferevent_free(worker->channel);
		worker->channel = NULL;
	}
	requests_cancel_all(worker);
	if (worker->pid > 0)
		kill(worker->pid, SIGKILL);
}

void
monitor_worker_ready(struct monitor *monitor, struct worker_record *worker)
{
	struct worker_record *other;
	struct message_drain drain = { MESSAGE_DRAIN_RELOAD };

	if (worker->generation != monitor->generation)
		return;
	/* The new worker accepts now: the one it replaces stops taking connections. */
	LIST_FOREACH(other, &monitor->workers, link)
		if (other->slot == worker->slot && other->generation != worker->generation &&
		    !other->draining) {
			other->draining = 1;
			if (other->channel != NULL)
				message_send(other->channel, MESSAGE_DRAIN, 0,
				    &drain);
		}
	if (monitor->announced_ready)
		return;
	LIST_FOREACH(other, &monitor->workers, link)
		if (other->generation == monitor->generation && !other->ready)
			return;
	monitor->announced_ready = 1;
	if (!monitor->options->inetd)
		log_info("ftpd %s ready (%u worker%s)", FTPD_VERSION, monitor->slot_count,
		    monitor->slot_count == 1 ? "" : "s");
	daemon_ready();
	systemd_notify("READY=1");
}

/*
 * One listening socket; with several workers each has its own (SO_REUSEPORT).
 * The first of a group is bound once without SO_REUSEPORT beforehand: any
 * process of the same user may join a group, and a second ftpd started on
 * the address (an old one still running) would silently share its
 * connections instead of being told the address is in use.
 */
static int
bind_listener(const struct listen_address *address, int reuse_port, int first, int *fd_out)
{
	int one = 1, error;
	int fd = socket(address->address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		goto fail;
	if (reuse_port && first) {
		error = bind_listener(address, 0, 0, fd_out);
		if (error != 0) {
			close(fd);
			return error;
		}
		close(*fd_out);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) ||
	    (address->address.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) ||
	    bind(fd, (const struct sockaddr *)&address->address, address->length) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0)
		goto fail;
	*fd_out = fd;
	return 0;
fail:
	error = errno;
	log_error("cannot listen on %s: %s", address->text, strerror(error));
	if (fd >= 0)
		close(fd);
	return -error;
}

/* 1 when clients beyond private networks may connect to address (a wildcard counts). */
static int
listens_publicly(const struct listen_address *address)
{
	const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)&address->address;

	if (address->address.ss_family != AF_INET)
		return 1;
	return ipv4->sin_addr.s_addr == htonl(INADDR_ANY) ||
	    !data_address_ipv4_is_private(ipv4->sin_addr);
}

/*
 * The classic NAT mistake: a private pasv_address announced to clients who
 * reach the server from the Internet cannot be connected to.
 */
static void
warn_about_private_pasv_address(const struct config *config)
{
	char text[INET_ADDRSTRLEN];
	unsigned i;

	if (config->pasv_address == NULL ||
	    !data_address_ipv4_is_private(config->pasv_announced))
		return;
	for (i = 0; i < config->listen_count; i++)
		if (listens_publicly(&config->listen[i]))
			break;
	if (i == config->listen_count)
		return;
	inet_ntop(AF_INET, &config->pasv_announced, text, sizeof(text));
	log_warning("pasv_address %s is %s, a private address, but %s accepts clients from "
	    "anywhere: clients outside that network cannot open passive data connections",
	    config->pasv_address, text, config->listen[i].text);
}

/* The i-th listener of a slot (after the listen addresses: the implicit-TLS one). */
static int
row_expects_proxy(const struct config *config, unsigned i)
{
	return config->proxy_protocol || (i < config->listen_count && config->listen[i].proxy);
}

static int
bind_listeners(struct monitor *monitor)
{
	const struct config *config = &monitor->settings->config;
	struct listen_address implicit;
	unsigned per_slot = config->listen_count, slot, i;
	int has_implicit = monitor->settings->tls != NULL && config->listen_implicit != NULL;
	int error;

	if (has_implicit) {
		if (config_parse_listen_address(config->listen_implicit, &implicit) != 0)
			return -EINVAL;
		per_slot++;
	}
	monitor->listeners = calloc((size_t)monitor->slot_count * per_slot,
	    sizeof(*monitor->listeners));
	if (monitor->listeners == NULL)
		return -ENOMEM;
	monitor->listeners_per_slot = per_slot;
	for (i = 0; i < monitor->slot_count * per_slot; i++)
		monitor->listeners[i].fd = -1;
	for (slot = 0; slot < monitor->slot_count; slot++) {
		struct worker_listener *row = monitor->listeners + (size_t)slot * per_slot;

		for (i = 0; i < per_slot; i++) {
			const struct listen_address *address = i < config->listen_count ?
			    &config->listen[i] : &implicit;

			row[i].implicit_tls = i >= config->listen_count;
			row[i].proxy = row_expects_proxy(config, i);
			error = bind_listener(address, monitor->slot_count > 1, slot == 0,
			    &row[i].fd);
			if (error != 0)
				return error;
		}
	}
	warn_about_private_pasv_address(config);
	for (i = 0; i < per_slot; i++)
		log_info("listening on %s%s%s", i < config->listen_count ? config->listen[i].text :
		    implicit.text, i < config->listen_count ? "" : " (implicit TLS)",
		    row_expects_proxy(config, i) ? " (PROXY protocol)" : "");
	return 0;
}

/* The same address and port (a wildcard matches only a wildcard). */
static int
same_socket_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)b;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr)) == 0;
	return 0;
}

/*
 * A socket systemd passed takes the flags of the listen line with its
 * address: "listen = ADDRESS proxy" expects PROXY headers on it, and
 * listen_implicit's address speaks TLS at once, as when ftpd binds them.
 * text gets what the log says of it.
 */
static void
describe_inherited(const struct monitor *monitor, struct worker_listener *listener,
    char *text, size_t size)
{
	const struct config *config = &monitor->settings->config;
	struct listen_address implicit;
	struct sockaddr_storage bound;
	socklen_t length = sizeof(bound);
	unsigned i;

	listener->proxy = config->proxy_protocol;
	text[0] = '\0';
	if (getsockname(listener->fd, (struct sockaddr *)&bound, &length) != 0)
		return;
	for (i = 0; i < config->listen_count; i++)
		if (same_socket_address(&bound, &config->listen[i].address)) {
			listener->proxy = row_expects_proxy(config, i);
			snprintf(text, size, " (%s)", config->listen[i].text);
			return;
		}
	if (monitor->settings->tls != NULL && config->listen_implicit != NULL &&
	    config_parse_listen_address(config->listen_implicit, &implicit) == 0 &&
	    same_socket_address(&bound, &implicit.address)) {
		listener->implicit_tls = 1;
		snprintf(text, size, " (%s)", implicit.text);
	}
}

/*
 * Where connections come from: the inetd socket, sockets systemd passed
 * (listening ones for Accept=no, shared by every worker; one connection for
 * Accept=yes), or the configured addresses.
 */
static int
open_connections(struct monitor *monitor)
{
	int count = systemd_listen_fds();
	unsigned slot, i;
	char where[80];

	monitor->connection_fd = -1;
	if (monitor->options->inetd) {
		monitor->connection_fd = STDIN_FILENO;
		monitor->slot_count = 1;
		return 0;
	}
	if (count == 0)
		return bind_listeners(monitor);
	if (count == 1 && !systemd_fd_is_listening(SYSTEMD_FIRST_FD)) {
		monitor->connection_fd = SYSTEMD_FIRST_FD;
		monitor->slot_count = 1;
		return 0;
	}
	monitor->listeners = calloc((size_t)monitor->slot_count * (size_t)count,
	    sizeof(*monitor->listeners));
	if (monitor->listeners == NULL)
		return -ENOMEM;
	monitor->listeners_per_slot = (unsigned)count;
	for (slot = 0; slot < monitor->slot_count; slot++)
		for (i = 0; i < (unsigned)count; i++) {
			struct worker_listener *listener =
			    monitor->listeners + (size_t)slot * (unsigned)count + i;

			listener->fd = SYSTEMD_FIRST_FD + (int)i;
			listener->inherited = 1;
			if (!systemd_fd_is_listening(listener->fd)) {
				log_error("socket %d from the service manager is a connection among "
				    "listening sockets; use Accept=yes with one socket", listener->fd);
				return -EINVAL;
			}
			describe_inherited(monitor, listener, where, sizeof(where));
			if (slot == 0)
				log_info("accepting on socket %d from the service manager%s%s%s",
				    listener->fd, where, listener->implicit_tls ? " (implicit TLS)" : "",
				    listener->proxy ? " (PROXY protocol)" : "");
		}
	return 0;
}

unsigned
monitor_worker_count(const struct config *config)
{
	long cpus;

	if (config->workers != 0)
		return config->workers;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	return cpus < 1 ? 1 : cpus > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (unsigned)cpus;
}

/* Whom workers run as. Root with a user set: that user; otherwise whoever started ftpd. */
static int
resolve_identity(const struct config *config, struct daemon_identity *identity,
    int *drop_privileges)
{
	*drop_privileges = 0;
	if (geteuid() != 0 || config->user == NULL)
		return 0;
	if (daemon_identity_lookup(config->user, identity) != 0) {
		log_error("user %s: no such user (create it, or set user in ftpd.conf)",
		    config->user);
		return -ENOENT;
	}
	*drop_privileges = 1;
	return 0;
}

static int
start_generation(struct monitor *monitor)
{
	unsigned slot;
	int error;

	for (slot = 0; slot < monitor->slot_count; slot++) {
		error = supervisor_start_worker(monitor, slot);
		if (error != 0)
			return error;
	}
	return 0;
}

/* A reload that names another Redis (or none, or a new one) moves the connection. */
static void
reconnect_shared_state(struct monitor *monitor)
{
	const struct config *config = &monitor->settings->config;
	int failed;

	if (monitor->shared != NULL && shared_state_is_for(monitor->shared, config))
		return;
	shared_state_free(monitor->shared);
	monitor->shared = shared_state_new(monitor->base, monitor->threads, config,
	    &monitor->limits, requests_shared_ban, monitor, &failed);
	if (failed)
		log_error("reload: shared_state: out of memory; limits are this instance's own");
}

static void
reload(struct monitor *monitor)
{
	const struct config *running = &monitor->settings->config;
	struct daemon_identity identity;
	struct checker *password_checker;
	struct settings *settings;
	char error[CONFIG_ERROR_SIZE];
	struct config config;
	unsigned i, level;
	int drop;

	if (monitor->connection_fd >= 0) {
		log_info("reload: this server has one connection; nothing to reload");
		return;
	}
	if (monitor->options->load(monitor->options->load_arg, &config, error) != 0) {
		log_error("reload: %s; keeping the running configuration", error);
		config_free(&config);
		return;
	}
	if (config.listen_count != running->listen_count)
		log_warning("reload: listen addresses change only with a restart");
	for (i = 0; i < config.listen_count && i < running->listen_count; i++)
		if (strcmp(config.listen[i].text, running->listen[i].text) != 0)
			log_warning("reload: listen addresses change only with a restart");
	if (monitor_worker_count(&config) != monitor->slot_count)
		log_warning("reload: the number of workers changes only with a restart");
	if (config.system_users != running->system_users) {
		log_error("reload: system_users changes only with a restart; keeping the "
		    "running configuration");
		config_free(&config);
		return;
	}
	if (resolve_identity(&config, &identity, &drop) != 0 ||
	    portal_password_checker_new(&config, monitor->threads, &password_checker) != 0) {
		log_error("reload: keeping the running configuration");
		config_free(&config);
		return;
	}
	level = config.log_level;
	settings = settings_new(&config, error, sizeof(error));
	if (settings == NULL) {
		log_error("reload: %s; keeping the running configuration", error);
		checker_free(password_checker);
		return;
	}
	settings_release(monitor->settings);
	monitor->settings = settings;
	checker_free(monitor->password_checker);
	monitor->password_checker = password_checker;
	reconnect_shared_state(monitor);
	monitor->identity = identity;
	monitor->drop_privileges = drop;
	monitor->generation++;
	log_set_level(level);
	log_info("configuration reloaded: new workers take new sessions; the old ones "
	    "finish theirs");
	start_generation(monitor);
}

static void
close_listeners(struct monitor *monitor)
{
	size_t count = (size_t)monitor->slot_count * monitor->listeners_per_slot, i;

	for (i = 0; i < count && monitor->listeners != NULL; i++)
		if (monitor->listeners[i].fd >= 0 && !monitor->listeners[i].inherited) {
			close(monitor->listeners[i].fd);
			monitor->listeners[i].fd = -1;
		}
}

static void
stop_deadline_passed(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct monitor *monitor = arg;

	log_warning("workers still running %d s after shutdown_grace: killing them",
	    STOP_MARGIN_SECONDS);
	supervisor_signal_all(monitor, SIGKILL);
	user_sessions_signal_all(monitor, SIGKILL);
	event_base_loopexit(monitor->base, NULL);
}

static void
stop(struct monitor *monitor, int signal_number)
{
	struct timeval deadline = { 0, 0 };

	if (monitor->stopping) {
		log_info("signal %d again: stopping now", signal_number);
		/* A worker that is already stopping takes a second SIGTERM as "now". */
		supervisor_signal_all(monitor, SIGTERM);
		user_sessions_signal_all(monitor, SIGTERM);
		return;
	}
	monitor->stopping = 1;
	log_info("signal %d: stopping", signal_number);
	systemd_notify("STOPPING=1");
	/* Once the workers stop accepting too, new clients are refused, not left waiting. */
	close_listeners(monitor);
	supervisor_drain_all(monitor, MESSAGE_DRAIN_STOP);
	/* A user process stops the way a worker does: idle sessions now, transfers in grace. */
	user_sessions_signal_all(monitor, SIGTERM);
	if (LIST_EMPTY(&monitor->workers) && LIST_EMPTY(&monitor->user_processes)) {
		event_base_loopexit(monitor->base, NULL);
		return;
	}
	deadline.tv_sec = (time_t)monitor->settings->config.shutdown_grace + STOP_MARGIN_SECONDS;
	monitor->stop_deadline = evtimer_new(monitor->base, stop_deadline_passed, monitor);
	if (monitor->stop_deadline != NULL)
		evtimer_add(monitor->stop_deadline, &deadline);
}

static void
signalled(evutil_socket_t signal_number, short what UNUSED, void *arg)
{
	struct monitor *monitor = arg;

	switch (signal_number) {
	case SIGCHLD:
		supervisor_reap(monitor);
		break;
	case SIGHUP:
		log_info("signal %d: reloading the configuration", (int)signal_number);
		if (!monitor->stopping)
			reload(monitor);
		break;
	default:
		stop(monitor, (int)signal_number);
		break;
	}
}

static int
watch_signals(struct monitor *monitor)
{
	static const int numbers[4] = { SIGCHLD, SIGHUP, SIGTERM, SIGINT };
	unsigned i;

	for (i = 0; i < 4; i++) {
		monitor->signals[i] = evsignal_new(monitor->base, numbers[i], signalled, monitor);
		if (monitor->signals[i] == NULL || evsignal_add(monitor->signals[i], NULL) != 0)
			return -ENOMEM;
	}
	return 0;
}

static void
monitor_free(struct monitor *monitor)
{
	unsigned i;

	supervisor_free_all(monitor);
	user_sessions_free_all(monitor);
	for (i = 0; i < 4; i++)
		if (monitor->signals[i] != NULL)
			event_free(monitor->signals[i]);
	if (monitor->stop_deadline != NULL)
		event_free(monitor->stop_deadline);
	if (monitor->restart_timer != NULL)
		event_free(monitor->restart_timer);
	checker_free(monitor->password_checker);
	/* Before the threads: a lookup of its Redis host may still be on one. */
	shared_state_free(monitor->shared);
	if (monitor->threads != NULL)
		worker_pool_free(monitor->threads);
	close_listeners(monitor);
	free(monitor->listeners);
	limits_clear(&monitor->limits);
	login_failures_free(monitor->login_failures);
	xferlog_close(monitor->xferlog);
	settings_release(monitor->settings);
	if (monitor->base != NULL)
		event_base_free(monitor->base);
}

/* Everything but the workers, as root while root is there. 0, or -1 (logged). */
static int
set_up(struct monitor *monitor, struct config *config)
{
	char error[CONFIG_ERROR_SIZE];
	int failed;

	monitor->base = event_base_new();
	if (monitor->base == NULL) {
		log_error("cannot create the event loop");
		config_free(config);
		return -1;
	}
	monitor->slot_count = monitor_worker_count(config);
	if (resolve_identity(config, &monitor->identity, &monitor->drop_privileges) != 0) {
		config_free(config);
		return -1;
	}
	if (config->system_users && geteuid() != 0) {
		log_error("system_users needs ftpd to be started as root");
		config_free(config);
		return -1;
	}
	monitor->settings = settings_new(config, error, sizeof(error));
	if (monitor->settings == NULL) {
		log_error("%s", error);
		return -1;
	}
	config = &monitor->settings->config;
	/* Opened once, before any worker exists; a reload does not move it. */
	if (config->xferlog != NULL) {
		monitor->xferlog = xferlog_open(config->xferlog);
		if (monitor->xferlog == NULL) {
			log_error("xferlog %s: %s", config->xferlog, strerror(errno));
			return -1;
		}
	}
	monitor->threads = worker_pool_new(monitor->base, MONITOR_CHECK_THREADS);
	monitor->restart_timer = supervisor_restart_timer_new(monitor);
	monitor->login_failures = login_failures_new(LOGIN_FAILURES_CAPACITY);
	monitor->shared = shared_state_new(monitor->base, monitor->threads, config,
	    &monitor->limits, requests_shared_ban, monitor, &failed);
	if (monitor->threads == NULL || monitor->restart_timer == NULL ||
	    monitor->login_failures == NULL || failed ||
	    portal_password_checker_new(config, monitor->threads,
	    &monitor->password_checker) != 0 || watch_signals(monitor) != 0) {
		log_error("cannot set up the monitor: out of memory");
		return -1;
	}
	if (open_connections(monitor) != 0)
		return -1;
	return 0;
}

int
monitor_run(struct config *config, const struct monitor_options *options)
{
	struct monitor monitor;
	char *pid_file = NULL;
	int status = 1;

	memset(&monitor, 0, sizeof(monitor));
	monitor.options = options;
	monitor.connection_fd = -1;
	LIST_INIT(&monitor.workers);
	LIST_INIT(&monitor.user_processes);
	LIST_INIT(&monitor.spawns);
	limits_init(&monitor.limits);
	signal(SIGPIPE, SIG_IGN);
	/* A file-size limit must fail the write (EFBIG -> 552), not kill the worker. */
	signal(SIGXFSZ, SIG_IGN);
	/*
	 * Transfer buffers come and go in 64-128 KiB pieces, right at glibc's
	 * default thresholds, which made the heap grow and shrink (page faults)
	 * with every chunk of a protected download. Keep freed memory instead.
	 */
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	/*
	 * Detach before any thread or event queue exists (neither survives a
	 * fork); the starting process waits until the workers accept, so its
	 * exit status still tells whether the server came up.
	 */
	if (!options->foreground && !options->inetd && daemon_detach() != 0) {
		log_error("cannot detach: %s", strerror(errno));
		config_free(config);
		return 1;
	}
	process_title_set("monitor");
	if (set_up(&monitor, config) != 0)
		goto out;
	/* The pid file first: it is there by the time anyone can connect. */
	if (monitor.settings->config.pid_file != NULL) {
		if (daemon_write_pid_file(monitor.settings->config.pid_file,
		    &monitor.settings->config) != 0)
			goto out;
		pid_file = strdup(monitor.settings->config.pid_file);
	}
	if (start_generation(&monitor) != 0)
		goto out;
	event_base_dispatch(monitor.base);
	status = monitor.failed ? 1 : 0;
out:
	monitor_free(&monitor);
	if (pid_file != NULL)
		daemon_remove_pid_file(pid_file);
	free(pid_file);
	return status;
}
