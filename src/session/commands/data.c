/*
 * session/commands/data: preparing the data connection and its parameters:
 * PASV, EPSV, PORT, EPRT, REST and ABOR.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "config/config.h"
#include "dtp/data_address.h"
#include "dtp/dtp.h"
#include "dtp/transfer.h"
#include "log/log.h"
#include "session/commands/commands.h"
#include "session/session.h"
#include "tls/tls.h"
#include "util/attributes.h"

static const struct sockaddr *
control_local(struct session *session)
{
	return (const struct sockaddr *)&session->local;
}

static const struct sockaddr *
control_peer(struct session *session)
{
	return (const struct sockaddr *)&session->peer;
}

/*
 * Where the client connected to: this socket's local address, or behind a
 * balancer the balancer's (the PROXY header's destination).
 */
static const struct sockaddr *
client_side_local(struct session *session)
{
	if (session->front.sin6_family != AF_UNSPEC)
		return (const struct sockaddr *)&session->front;
	return (const struct sockaddr *)&session->local;
}

/* The family the client connected with, an IPv4-mapped IPv6 address counted as IPv4. */
static int
control_family(struct session *session)
{
	const struct sockaddr *local = client_side_local(session);
	const struct sockaddr_in6 *ipv6 = (const struct sockaddr_in6 *)local;

	if (local->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&ipv6->sin6_addr))
		return AF_INET;
	return local->sa_family;
}

/* PROT P over TLS 1.3: a fresh ticket goes out with the reply, for the data connection. */
static void
prepare_protected_data(struct session *session)
{
	/* Behind a relay the worker owns the connection and gives the ticket itself. */
	if (session->tls != NULL && session->protect_data && !session->tls_relayed)
		tls_prepare_data_connection(session->tls);
}

static struct dtp *
open_passive(struct session *session)
{
	struct dtp *dtp;
	int error;

	dtp = dtp_new_passive(session->services->base, session->config, control_local(session),
	    control_peer(session), &error);
	if (dtp == NULL) {
		log_warning("%s: cannot open a passive port: %s", session->peer_text, strerror(-error));
		session_reply(session, REPLY_CANNOT_OPEN_PASSIVE);
	}
	return dtp;
}

/*
 * A control connection on a Unix socket or a pipe (ftpd -i under socat
 * without nofork) has no address a data connection could use: say so, and
 * touch nothing (a passive socket of that family would be a file).
 */
static int
refused_without_tcp(struct session *session)
{
	int family = control_family(session);

	if (family == AF_INET || family == AF_INET6)
		return 0;
	session_reply(session, REPLY_DATA_NEEDS_TCP);
	return 1;
}

static int
refused_after_epsv_all(struct session *session)
{
	if (!session->epsv_all)
		return 0;
	session_reply(session, REPLY_BAD_SEQUENCE, "EPSV ALL in effect, only EPSV is allowed");
	return 1;
}

void
command_pasv(struct session *session, const char *argument UNUSED)
{
	const struct config *config = session->config;
	struct sockaddr_storage shown;
	char text[32];
	struct dtp *dtp;

	if (refused_after_epsv_all(session) || refused_without_tcp(session))
		return;
	if (control_family(session) != AF_INET) {
		session_reply(session, REPLY_PASV_NEEDS_IPV4);
		return;
	}
	dtp = open_passive(session);
	if (dtp == NULL)
		return;
	memcpy(&shown, dtp_listen_address(dtp), sizeof(struct sockaddr_in6));
	if (config->pasv_address == NULL && session->front.sin6_family != AF_UNSPEC) {
		/* Behind a balancer: where the client connected, with the port listened on. */
		unsigned port = data_address_port(dtp_listen_address(dtp));

		memset(&shown, 0, sizeof(shown));
		memcpy(&shown, &session->front, sizeof(session->front));
		if (shown.ss_family == AF_INET)
			((struct sockaddr_in *)&shown)->sin_port = htons((uint16_t)port);
		else
			((struct sockaddr_in6 *)&shown)->sin6_port = htons((uint16_t)port);
	} else if (config->pasv_address != NULL) {
		/* Behind NAT: announce the outside address, keep the port. */
		struct sockaddr_in *outside = (struct sockaddr_in *)&shown;
		unsigned port = data_address_port(dtp_listen_address(dtp));

		memset(&shown, 0, sizeof(shown));
		outside->sin_family = AF_INET;
		outside->sin_port = htons((uint16_t)port);
		outside->sin_addr = config->pasv_announced;
	}
	if (data_address_format_pasv((struct sockaddr *)&shown, text, sizeof(text)) != 0) {
		dtp_free(dtp);
		session_reply(session, REPLY_PASV_NEEDS_IPV4);
		return;
	}
	session_set_dtp(session, dtp);
	prepare_protected_data(session);
	session_reply(session, REPLY_ENTERING_PASSIVE, text);
}

void
command_epsv(struct session *session, const char *argument)
{
	enum epsv_request request;
	char port[8];
	struct dtp *dtp;
	int family = control_family(session);

	if (data_address_parse_epsv(argument != NULL ? argument : "", &request) != 0) {
		session_reply(session, reply_for_argument_error(-EAFNOSUPPORT));
		return;
	}
	if (request == EPSV_ALL) {
		session->epsv_all = 1;
		session_reply(session, REPLY_EPSV_ALL_OK);
		return;
	}
	if (refused_without_tcp(session))
		return;
	if ((request == EPSV_IPV4 && family != AF_INET) ||
	    (request == EPSV_IPV6 && family != AF_INET6)) {
		session_reply(session, REPLY_PROTOCOL_NOT_SUPPORTED);
		return;
	}
	dtp = open_passive(session);
	if (dtp == NULL)
		return;
	snprintf(port, sizeof(port), "%u", data_address_port(dtp_listen_address(dtp)));
	session_set_dtp(session, dtp);
	prepare_protected_data(session);
	session_reply(session, REPLY_ENTERING_EXTENDED_PASSIVE, port);
}

/* PORT and EPRT differ only in how their argument writes the address. */
typedef int active_address_parser(const char *argument, struct sockaddr_storage *out,
    socklen_t *length);

/* PORT and EPRT: only to the control connection's host, never to a privileged port. */
static void
use_active_target(struct session *session, const char *argument,
    active_address_parser *parse)
{
	struct sockaddr_storage target;
	socklen_t length;
	struct dtp *dtp;
	int error;

	if (refused_after_epsv_all(session) || refused_without_tcp(session))
		return;
	error = parse(argument, &target, &length);
	if (error != 0) {
		session_reply(session, reply_for_argument_error(error), argument);
		return;
	}
	if (!data_address_same_host((const struct sockaddr *)&target, control_peer(session))) {
		log_warning("%s: refused PORT/EPRT to another host (FTP bounce)", session->peer_text);
		session_reply(session, REPLY_FOREIGN_DATA_ADDRESS);
		return;
	}
	if (data_address_port((const struct sockaddr *)&target) < 1024) {
		session_reply(session, REPLY_PRIVILEGED_DATA_PORT);
		return;
	}
	dtp = dtp_new_active(session->services->base, control_local(session),
	    (const struct sockaddr *)&target, length);
	if (dtp == NULL) {
		session_reply(session, REPLY_LOCAL_ERROR, "PORT");
		return;
	}
	session_set_dtp(session, dtp);
	prepare_protected_data(session);
	session_reply(session, REPLY_PORT_OK);
}

void
command_port(struct session *session, const char *argument)
{
	use_active_target(session, argument, data_address_parse_port);
}

void
command_eprt(struct session *session, const char *argument)
{
	use_active_target(session, argument, data_address_parse_eprt);
}

void
command_rest(struct session *session, const char *argument)
{
	uint64_t offset;
	char text[32];
	int error;

	error = data_address_parse_rest(argument, &offset);
	if (error != 0) {
		session_reply(session, reply_for_argument_error(error), argument);
		return;
	}
	session->restart_offset = offset;
	snprintf(text, sizeof(text), "%" PRIu64, offset);
	session_reply(session, REPLY_RESTART_AT, text);
}

void
command_abor(struct session *session, const char *argument UNUSED)
{
	session->restart_offset = 0;
	if (session->transfer != NULL) {
		/* The transfer answers 426 itself, then ABOR succeeds. */
		transfer_abort(session->transfer);
		session_reply(session, REPLY_ABORT_OK);
		return;
	}
	session_set_dtp(session, NULL);
	session_reply(session, REPLY_NOTHING_TO_ABORT);
}
