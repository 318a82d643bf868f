/*
 * server/user_process: the session's process from the monitor's fork on.
 * Everything of the monitor's goes first (its loop, every descriptor but the
 * connection and the xferlog), then root; only then is the first byte read.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/settings.h"
#include "log/log.h"
#include "log/xferlog.h"
#include "portal/portal.h"
#include "reply/reply.h"
#include "server/daemon.h"
#include "server/server.h"
#include "server/user_process.h"
#include "session/session.h"
#include "util/process_title.h"

static void
set_title(const struct user_start *start)
{
	const struct sockaddr_storage *peer = &start->hand_off->peer;
	char address[INET6_ADDRSTRLEN] = "local", title[160];

	if (peer->ss_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, address,
		    sizeof(address));
	else if (peer->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, address,
		    sizeof(address));
	snprintf(title, sizeof(title), "user %s %s", start->id->name, address);
	process_title_set(title);
}

static void
describe(const struct user_start *start, struct session_handover *handover)
{
	const struct message_hand_off *hand_off = start->hand_off;

	memset(handover, 0, sizeof(*handover));
	handover->peer = (const struct sockaddr *)&hand_off->peer;
	handover->peer_length = hand_off->peer_length;
	handover->local = (const struct sockaddr *)&hand_off->local;
	handover->local_length = hand_off->local_length;
	handover->front = hand_off->front_length > 0 ? (const struct sockaddr *)&hand_off->front :
	    NULL;
	handover->user = start->id->name;
	handover->tls_relayed = (hand_off->flags & MESSAGE_SESSION_TLS) != 0;
	handover->tls_token = hand_off->tls_token;
	handover->protection_size_set = (hand_off->flags & MESSAGE_SESSION_PBSZ) != 0;
	handover->protect_data = (hand_off->flags & MESSAGE_SESSION_PROTECT_DATA) != 0;
	handover->binary = (hand_off->flags & MESSAGE_SESSION_ASCII) == 0;
	handover->epsv_all = (hand_off->flags & MESSAGE_SESSION_EPSV_ALL) != 0;
	handover->mlst_facts = hand_off->mlst_facts;
	handover->input = hand_off->input;
	handover->input_length = hand_off->input_length;
}

/* Opens the account's shell and completes the login (230), or says why not. */
static void
log_in(struct session *session, struct server *server, const struct avatar_id *checked)
{
	struct settings *settings = session->settings;
	struct avatar_id *id = NULL;
	struct avatar *avatar = NULL;

	if (avatar_id_new(checked->name, checked->home, 0, &id) == 0) {
		id->account = malloc(sizeof(*id->account));
		if (id->account != NULL)
			*id->account = *checked->account;
	}
	settings->portal = portal_new(&settings->config, NULL, server->host);
	if (id == NULL || id->account == NULL || settings->portal == NULL ||
	    portal_avatar(settings->portal, id, &avatar) != 0 ||
	    portal_open_shell(settings->portal, avatar, server->host) != 0) {
		log_info("%s: login refused: %s: home directory unavailable", session->peer_text,
		    checked->name);
		avatar_logout(avatar);
		avatar_id_free(id);
		session_login_refused(session);
		session_reply(session, REPLY_HOME_UNAVAILABLE);
		session_close_after_flush(session);
		return;
	}
	avatar_id_free(id);
	session_logged_in(session, avatar);
}

void
user_process_run(const struct user_start *start)
{
	const struct system_account *account = start->id->account;
	struct session_handover handover;
	struct event_base *base;
	struct server *server;
	struct session *session;
	int keep[5];

	keep[0] = STDIN_FILENO;
	keep[1] = STDOUT_FILENO;
	keep[2] = STDERR_FILENO;
	keep[3] = start->connection_fd;
	keep[4] = start->xferlog != NULL ? xferlog_fd(start->xferlog) : -1;
	daemon_leave_monitor(start->monitor_base, start->monitor_pid, keep, 5);
	set_title(start);
	if (daemon_become(start->id->name, account->uid, account->gid, account->groups,
	    account->group_count) != 0)
		_exit(1);

	base = event_base_new();
	if (base == NULL)
		_exit(1);
	server = server_new_for_session_process(base, start->settings, start->xferlog);
	if (server == NULL)
		_exit(1);
	describe(start, &handover);
	session = session_new_handed_over(&server->services, start->settings, start->connection_fd,
	    &handover);
	if (session == NULL)
		_exit(1);
	log_in(session, server, start->id);
	event_base_dispatch(base);
	server_free(server);
	event_base_free(base);
	log_close();
	/* The monitor's structures came along with the fork and are never freed here. */
	_exit(0);
}
