/*
 * dtp: establishing data connections, passive or active.
 * Every connection is checked against the control peer's host (no FTP bounce, no data theft).
 */
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dtp/data_address.h"
#include "dtp/dtp.h"
#include "log/log.h"
#include "proxy/reader.h"
#include "proxy/trusted.h"
#include "util/attributes.h"
#include "util/tcp.h"

struct dtp {
	struct event_base *base;
	int passive;
	evutil_socket_t listener;	/* passive, until a connection is accepted */
	struct event *listen_event;
	evutil_socket_t connection;	/* accepted or connecting socket */
	struct event *connect_event;	/* active: the connect completing */
	struct event *timer;		/* the timeout, and delivery of a ready connection */
	int ready;			/* connection is established */
	int failure;			/* why an active connect failed at once (-errno) */
	struct sockaddr_storage remote;	/* passive: the allowed host; active: the target */
	socklen_t remote_length;
	struct sockaddr_storage local;	/* passive: where we listen; active: where we bind */
	socklen_t local_length;
	dtp_connected_fn done;
	void *arg;
	/*
	 * Behind a balancer that forwards the passive ports: the balancers
	 * whose PROXY header may name the client (NULL: none), and the one
	 * connection whose header is awaited while the listener rests.
	 */
	const struct proxy_trusted *trusted;
	unsigned proxy_timeout;
	struct proxy_reader *vetting;
	evutil_socket_t vetting_fd;
	int listener_rests;		/* unwatched while vetting; watch it again after */
	int must_resume_tls;		/* a balancer's, without a header: TLS must prove it */
};

static void timer_fired(evutil_socket_t fd, short what, void *arg);

static struct dtp *
dtp_alloc(struct event_base *base, const struct sockaddr *control_local)
{
	struct dtp *dtp = calloc(1, sizeof(*dtp));

	if (dtp == NULL)
		return NULL;
	dtp->base = base;
	dtp->listener = -1;
	dtp->connection = -1;
	dtp->vetting_fd = -1;
	dtp->timer = evtimer_new(base, timer_fired, dtp);
	if (dtp->timer == NULL) {
		free(dtp);
		return NULL;
	}
	dtp->local_length = control_local->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	memcpy(&dtp->local, control_local, dtp->local_length);
	return dtp;
}

static void
set_port(struct sockaddr_storage *address, unsigned port)
{
	if (address->ss_family == AF_INET6)
		((struct sockaddr_in6 *)address)->sin6_port = htons((uint16_t)port);
	else
		((struct sockaddr_in *)address)->sin_port = htons((uint16_t)port);
}

static void
deliver(struct dtp *dtp, int error)
{
	dtp_connected_fn done = dtp->done;
	evutil_socket_t fd = -1;

	evtimer_del(dtp->timer);
	if (dtp->connect_event != NULL) {
		event_free(dtp->connect_event);
		dtp->connect_event = NULL;
	}
	if (error == 0) {
		fd = dtp->connection;
		dtp->connection = -1;
		dtp->ready = 0;
	}
	dtp->done = NULL;
	if (done != NULL)
		done(dtp->arg, error, fd);
	else if (fd >= 0)
		close(fd);
}

static void
timer_fired(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct dtp *dtp = arg;

	deliver(dtp, dtp->ready ? 0 : dtp->failure != 0 ? dtp->failure : -ETIMEDOUT);
}

/* Delivers a ready connection from the loop, never from inside dtp_connect. */
static void
deliver_soon(struct dtp *dtp)
{
	dtp->ready = 1;
	if (dtp->done != NULL)
		event_active(dtp->timer, EV_TIMEOUT, 0);
}

static void
close_listener(struct dtp *dtp)
{
	if (dtp->listen_event != NULL) {
		event_free(dtp->listen_event);
		dtp->listen_event = NULL;
	}
	if (dtp->listener >= 0) {
		close(dtp->listener);
		dtp->listener = -1;
	}
}

static void
address_text(const struct sockaddr *address, char *text, size_t size)
{
	snprintf(text, size, "?");
	if (address->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, text,
		    (socklen_t)size);
	else if (address->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, text,
		    (socklen_t)size);
}

static void
accept_connection(struct dtp *dtp, evutil_socket_t fd)
{
	close_listener(dtp);
	tcp_send_at_once(fd);
	dtp->connection = fd;
	deliver_soon(dtp);
}

/* Watches the listener, or, while a balancer's connection is vetted, will after. */
static int
watch_listener(struct dtp *dtp)
{
	if (dtp->vetting != NULL) {
		dtp->listener_rests = 1;
		return 0;
	}
	return event_add(dtp->listen_event, NULL);
}

/* A balancer's connection said whom it carries: the client, or it is refused. */
static void
vetted(void *arg, int result, const struct proxy_header *header, const char *why)
{
	struct dtp *dtp = arg;
	evutil_socket_t fd = dtp->vetting_fd;
	char text[INET6_ADDRSTRLEN];

	dtp->vetting = NULL;
	dtp->vetting_fd = -1;
	if (result == PROXY_READ_TLS) {
		/*
		 * Forwarded without a header: only the client holds the control
		 * connection's TLS session, so resuming it proves who this is.
		 */
		dtp->must_resume_tls = 1;
		accept_connection(dtp, fd);
		return;
	}
	if (result == 0 && header->address_length != 0 &&
	    data_address_same_host((const struct sockaddr *)&header->source,
	    (const struct sockaddr *)&dtp->remote)) {
		accept_connection(dtp, fd);
		return;
	}
	if (result != 0)
		log_warning("refused a passive data connection through a balancer: %s", why);
	else if (header->address_length == 0)
		log_warning("refused a passive data connection through a balancer: "
		    "its PROXY header names no client");
	else {
		address_text((const struct sockaddr *)&header->source, text, sizeof(text));
		log_warning("refused a passive data connection from %s (through a balancer): "
		    "not the control connection's host", text);
	}
	close(fd);
	if (dtp->listener_rests) {
		dtp->listener_rests = 0;
		if (event_add(dtp->listen_event, NULL) != 0)
			log_warning("cannot watch a passive port again: out of memory");
	}
}

/*
 * A connection from a proxy_trusted balancer carries a PROXY header that
 * names the client it forwards (HAProxy's send-proxy-v2 on the passive
 * ports); it is accepted when that is the control connection's client. One
 * that starts with a TLS handshake instead is accepted on condition that it
 * resumes the control connection's session (dtp_must_resume_tls).
 */
static void
start_vetting(struct dtp *dtp, evutil_socket_t fd)
{
	dtp->vetting = proxy_reader_start(dtp->base, fd, dtp->proxy_timeout, 1, vetted, dtp);
	if (dtp->vetting == NULL) {
		close(fd);
		return;
	}
	dtp->vetting_fd = fd;
	dtp->listener_rests = event_pending(dtp->listen_event, EV_READ, NULL) != 0;
	event_del(dtp->listen_event);
}

static void
passive_acceptable(evutil_socket_t listener, short what UNUSED, void *arg)
{
	struct dtp *dtp = arg;
	struct sockaddr_storage peer;
	socklen_t length = sizeof(peer);
	evutil_socket_t fd;

	if (dtp->vetting != NULL)
		return;
	fd = accept4(listener, (struct sockaddr *)&peer, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	/* A balancer's connection always brings a header (its own host is not the client). */
	if (dtp->trusted != NULL && proxy_trusted_contains(dtp->trusted, (struct sockaddr *)&peer)) {
		start_vetting(dtp, fd);
		return;
	}
	if (!data_address_same_host((struct sockaddr *)&peer, (struct sockaddr *)&dtp->remote)) {
		char text[INET6_ADDRSTRLEN];

		address_text((struct sockaddr *)&peer, text, sizeof(text));
		log_warning("refused a passive data connection from %s: not the control connection's host",
		    text);
		close(fd);
		return;
	}
	accept_connection(dtp, fd);
}

/*
 * A listening socket on port (0: the kernel's choice). reuse: bind even
 * where earlier connections linger in TIME_WAIT; without it, only a port
 * nobody holds. 0, or -errno with nothing open.
 */
static int
listen_on_port(struct dtp *dtp, unsigned port, int reuse)
{
	int one = 1, error;
	int fd = socket(dtp->local.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (reuse)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	set_port(&dtp->local, port);
	if (bind(fd, (struct sockaddr *)&dtp->local, dtp->local_length) != 0)
		goto fail;
	/*
	 * Set after a clean bind too: the connections accepted inherit it, so
	 * their TIME_WAIT remnants do not keep a later SO_REUSEADDR bind off
	 * the port. Another worker may have bound the same port at the same
	 * moment (both with SO_REUSEADDR, neither listening): listen() decides.
	 */
	if (!reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0)
		goto fail;
	if (listen(fd, 1) != 0)
		goto fail;
	dtp->listener = fd;
	return 0;
fail:
	error = -errno;
	close(fd);
	return error;
}

/* Ephemeral ports tried without SO_REUSEADDR before any with it (see listen_in_range). */
#define EPHEMERAL_CLEAN_TRIES 8

/* A random number from the kernel; random() is the same in every forked worker. */
static uint32_t
random_number(void)
{
	uint32_t number;

	if (getrandom(&number, sizeof(number), GRND_NONBLOCK) != sizeof(number))
		number = (uint32_t)random();
	return number;
}

/* The kernel's range of ephemeral ports, read once; its default if unreadable. */
static void
ephemeral_ports(unsigned *first, unsigned *last)
{
	static unsigned low, high;
	FILE *file;

	if (low == 0) {
		unsigned a = 0, b = 0;

		file = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
		if (file != NULL) {
			if (fscanf(file, "%u %u", &a, &b) != 2)
				a = b = 0;
			fclose(file);
		}
		if (a < 1024 || b > 65535 || a > b) {
			a = 32768;
			b = 60999;
		}
		low = a;
		high = b;
	}
	*first = low;
	*last = high;
}

/*
 * The port after the one this process used last, from a random start.
 * bind() to port 0 would pick one too, but the kernel then searches for a
 * port clear of every earlier data connection still in TIME_WAIT: after a
 * few thousand small transfers that search costs more than a transfer.
 * SO_REUSEADDR lets a port be chosen again while its old connections wait.
 */
static unsigned
next_ephemeral_offset(unsigned count)
{
	static unsigned cursor;
	static int started;

	if (!started) {
		cursor = random_number();
		started = 1;
	}
	return cursor++ % count;
}

/*
 * Listens on a port of the configured range (from a random start) or, with
 * none configured, of the kernel's ephemeral range (in turn); a port in use
 * (by this process or another worker) passes to the next one.
 *
 * In the ephemeral range other programs bind too, and SO_REUSEADDR would
 * let this socket take a port another program has bound but not yet put
 * to listen (an FTP client's active-mode port): its listen() would fail.
 * So a few ports are tried without it first, taking only a port nobody
 * holds; only when those all hold TIME_WAIT remnants (thousands of recent
 * transfers) does SO_REUSEADDR take one of them.
 */
static int
listen_in_range(struct dtp *dtp, const struct config *config)
{
	unsigned first = config->pasv_port_min, last = config->pasv_port_max;
	unsigned count, start, i, tries;
	int error;

	if (first == 0) {
		ephemeral_ports(&first, &last);
		count = last - first + 1;
		start = next_ephemeral_offset(count);
		/* A busy range is the kernel's to search after all. */
		tries = count < 64 ? count : 64;
	} else {
		count = last - first + 1;
		start = random_number() % count;
		tries = count;
	}
	if (config->pasv_port_min == 0) {
		for (i = 0; i < EPHEMERAL_CLEAN_TRIES; i++) {
			error = listen_on_port(dtp, first + random_number() % count, 0);
			if (error != -EADDRINUSE)
				return error;
		}
	}
	for (i = 0; i < tries; i++) {
		error = listen_on_port(dtp, first + (start + i) % count, 1);
		if (error != -EADDRINUSE)
			return error;
	}
	if (config->pasv_port_min == 0)
		return listen_on_port(dtp, 0, 1);
	return -EADDRINUSE;
}

struct dtp *
dtp_new_passive(struct event_base *base, const struct config *config,
    const struct sockaddr *control_local, const struct sockaddr *peer, int *error)
{
	struct dtp *dtp = dtp_alloc(base, control_local);

	*error = -ENOMEM;
	if (dtp == NULL)
		return NULL;
	dtp->passive = 1;
	dtp->remote_length = peer->sa_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	memcpy(&dtp->remote, peer, dtp->remote_length);
	if (config_expects_proxy(config)) {
		dtp->trusted = &config->proxy_networks;
		dtp->proxy_timeout = config->proxy_timeout;
	}
	*error = listen_in_range(dtp, config);
	if (*error != 0)
		goto fail;
	if (getsockname(dtp->listener, (struct sockaddr *)&dtp->local, &dtp->local_length) != 0) {
		*error = -errno;
		goto fail;
	}
	/*
	 * Not watched yet: the client connects before it sends the command
	 * that uses the connection, which accepts it then (dtp_connect). One
	 * wakeup of the loop fewer per transfer.
	 */
	dtp->listen_event = event_new(base, dtp->listener, EV_READ | EV_PERSIST,
	    passive_acceptable, dtp);
	if (dtp->listen_event == NULL) {
		*error = -ENOMEM;
		goto fail;
	}
	*error = 0;
	return dtp;
fail:
	dtp_free(dtp);
	return NULL;
}

struct dtp *
dtp_new_active(struct event_base *base, const struct sockaddr *control_local,
    const struct sockaddr *target, socklen_t length)
{
	struct dtp *dtp = dtp_alloc(base, control_local);

	if (dtp == NULL)
		return NULL;
	if (length > sizeof(dtp->remote))
		length = sizeof(dtp->remote);
	memcpy(&dtp->remote, target, length);
	dtp->remote_length = length;
	set_port(&dtp->local, 0);
	return dtp;
}

const struct sockaddr *
dtp_listen_address(const struct dtp *dtp)
{
	return (const struct sockaddr *)&dtp->local;
}

static void
active_connected(evutil_socket_t fd, short what UNUSED, void *arg)
{
	struct dtp *dtp = arg;
	int error = 0;
	socklen_t length = sizeof(error);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
		error = errno;
	if (error != 0) {
		close(dtp->connection);
		dtp->connection = -1;
		deliver(dtp, -error);
		return;
	}
	dtp->ready = 1;
	deliver(dtp, 0);
}

/* Starts connecting to the PORT/EPRT target from the control connection's address. */
static int
start_active_connect(struct dtp *dtp)
{
	evutil_socket_t fd;

	fd = socket(dtp->remote.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	dtp->connection = fd;
	tcp_send_at_once(fd);
	if (dtp->local.ss_family == dtp->remote.ss_family &&
	    bind(fd, (struct sockaddr *)&dtp->local, dtp->local_length) != 0)
		log_debug("active data connection: bind: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&dtp->remote, dtp->remote_length) == 0) {
		deliver_soon(dtp);
		return 0;
	}
	if (errno != EINPROGRESS)
		return -errno;
	dtp->connect_event = event_new(dtp->base, fd, EV_WRITE, active_connected, dtp);
	if (dtp->connect_event == NULL || event_add(dtp->connect_event, NULL) != 0)
		return -ENOMEM;
	return 0;
}

void
dtp_connect(struct dtp *dtp, unsigned timeout_seconds, dtp_connected_fn done, void *arg)
{
	struct timeval timeout = { (time_t)timeout_seconds, 0 };
	int error = 0;

	dtp->done = done;
	dtp->arg = arg;
	if (!dtp->passive && dtp->connection < 0)
		error = start_active_connect(dtp);
	if (error != 0) {
		if (dtp->connection >= 0) {
			close(dtp->connection);
			dtp->connection = -1;
		}
		log_info("active data connection failed: %s", strerror(-error));
		/* Not ready: the timer reports the failure from the loop at once. */
		dtp->failure = error;
		event_active(dtp->timer, EV_TIMEOUT, 0);
		return;
	}
	if (dtp->passive && !dtp->ready && dtp->listener >= 0) {
		/* Usually already there; else the listener is watched from now on. */
		passive_acceptable(dtp->listener, EV_READ, dtp);
		if (!dtp->ready && dtp->listener >= 0 && watch_listener(dtp) != 0)
			error = -ENOMEM;
	}
	if (error != 0) {
		dtp->failure = error;
		event_active(dtp->timer, EV_TIMEOUT, 0);
		return;
	}
	if (dtp->ready)
		event_active(dtp->timer, EV_TIMEOUT, 0);
	else
		evtimer_add(dtp->timer, &timeout);
}

void
dtp_free(struct dtp *dtp)
{
	if (dtp == NULL)
		return;
	proxy_reader_cancel(dtp->vetting);
	if (dtp->vetting_fd >= 0)
		close(dtp->vetting_fd);
	close_listener(dtp);
	if (dtp->connect_event != NULL)
		event_free(dtp->connect_event);
	if (dtp->connection >= 0)
		close(dtp->connection);
	event_free(dtp->timer);
	free(dtp);
}

int
dtp_must_resume_tls(const struct dtp *dtp)
{
	return dtp->must_resume_tls;
}
