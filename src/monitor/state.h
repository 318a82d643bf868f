/*
 * monitor/state: the monitor's own state, shared by its files (lifecycle,
 * supervision of workers, answering their requests). Nothing else includes it.
 */
#ifndef FTPD_MONITOR_STATE_H
#define FTPD_MONITOR_STATE_H

#include <sys/queue.h>
#include <sys/types.h>

#include <time.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "config/config.h"
#include "monitor/limits.h"
#include "monitor/login_failures.h"
#include "monitor/message.h"
#include "portal/checkers/checkers.h"
#include "monitor/monitor.h"
#include "server/daemon.h"
#include "server/worker_process.h"

struct checker;
struct settings;
struct worker_pool;
struct xferlog;
struct authentication;
struct hand_off_ticket;
struct user_process;
struct pending_spawn;
struct pending_admission;
struct pending_login;
struct shared_state;

/* Password checks one worker may have running at once; more are refused. */
#define MONITOR_CHECKS_PER_WORKER 1024

/* One worker process, from the fork to its exit. */
struct worker_record {
	LIST_ENTRY(worker_record) link;
	struct monitor *monitor;
	unsigned slot;			/* 0-based; the title says slot + 1 */
	unsigned generation;
	pid_t pid;			/* 0 until forked */
	int child_fd;			/* the worker's end of the socketpair, until the fork */
	struct bufferevent *channel;	/* the monitor's end; NULL once cut */
	struct settings *settings;	/* its generation (held) */
	struct limits counted;		/* the sessions it was admitted */
	struct authentication *checks;	/* its password checks running */
	unsigned check_count;
	struct pending_admission *admissions;	/* sessions waiting for Redis's word */
	struct pending_login *logins;		/* logins waiting for Redis's word */
	/* system_users: logins it may hand off, and the socket it hands them off on. */
	struct hand_off_ticket *tickets;
	unsigned ticket_count;
	int hand_off_fd;		/* the monitor's end (SOCK_SEQPACKET) */
	int child_hand_off_fd;		/* the worker's end, until the fork */
	struct event *hand_off_event;
	int ready;			/* it sent MESSAGE_READY */
	int draining;			/* told to drain: not restarted */
	struct timespec started;
};

struct monitor {
	struct event_base *base;
	const struct monitor_options *options;
	struct settings *settings;	/* the current generation */
	unsigned generation;
	struct checker *password_checker;	/* NULL: no password logins */
	struct worker_pool *threads;	/* password checks; forks wait for them */
	struct daemon_identity identity;	/* whom workers run as */
	int drop_privileges;		/* root with a user set */
	struct xferlog *xferlog;
	struct limits limits;		/* every worker's sessions */
	struct login_failures *login_failures;	/* per address, for bans */
	struct shared_state *shared;	/* shared_state: the instances' Redis; NULL: none */

	unsigned slot_count;
	struct worker_listener *listeners;	/* slot_count rows of listeners_per_slot */
	unsigned listeners_per_slot;
	int connection_fd;		/* inetd or Accept=yes: the one connection; else -1 */

	LIST_HEAD(, worker_record) workers;
	LIST_HEAD(, user_process) user_processes;	/* system_users sessions */
	LIST_HEAD(, pending_spawn) spawns;		/* waiting for their fork */
	struct event *restart_timer;	/* workers that died wait for it */
	int announced_ready;
	int failed;			/* the first workers could not start: exit 1 */
	int stopping;
	struct event *signals[4];
	struct event *stop_deadline;
};

/* The current generation's listeners of slot. */
static inline const struct worker_listener *
monitor_slot_listeners(const struct monitor *monitor, unsigned slot)
{
	return monitor->listeners + (size_t)slot * monitor->listeners_per_slot;
}

/* supervisor.c: forks a worker of the current generation for slot. 0 or -errno (logged). */
int supervisor_start_worker(struct monitor *monitor, unsigned slot);
/* SIGCHLD: reaps workers, frees what they held, restarts those that must be. */
void supervisor_reap(struct monitor *monitor);
/* The timer that restarts workers which died too soon after their start. */
struct event *supervisor_restart_timer_new(struct monitor *monitor);
/* Sends every worker a drain message of reason (enum message_drain_reason). */
void supervisor_drain_all(struct monitor *monitor, unsigned reason);
/* Signals every worker. */
void supervisor_signal_all(struct monitor *monitor, int signal_number);
/* Frees what the monitor holds for workers (at exit). */
void supervisor_free_all(struct monitor *monitor);

/* requests.c: the worker's channel has bytes to read. */
void requests_readable(struct bufferevent *channel, void *arg);
/* Cancels a worker's running password checks and admissions (it died or misbehaved). */
void requests_cancel_all(struct worker_record *worker);
/* Redis says address is banned for seconds: this instance bans it too (owner: the monitor). */
void requests_shared_ban(void *owner, const struct message_address *address, unsigned seconds);

/* user_sessions.c: a system account logged in; *ticket lets the worker hand it off. 0 or -ENOMEM. */
int user_sessions_grant(struct worker_record *worker, const struct avatar_id *id,
    unsigned char ticket[MESSAGE_TICKET_SIZE]);
/* The worker's hand-off socket is readable. */
void user_sessions_readable(evutil_socket_t fd, short what, void *arg);
/* A child exited: 1 when it was a user process (its session no longer counts). */
int user_sessions_reap(struct monitor *monitor, pid_t pid, int status);
/* Signals every user process. */
void user_sessions_signal_all(struct monitor *monitor, int signal_number);
/* Forgets worker's tickets and hand-offs in flight (it is gone). */
void user_sessions_forget_worker(struct worker_record *worker);
/* Frees the monitor's records (at exit). */
void user_sessions_free_all(struct monitor *monitor);

/* monitor.c: a worker of the current generation is ready. */
void monitor_worker_ready(struct monitor *monitor, struct worker_record *worker);
/* Stops the monitor's worker after a protocol violation: logged, killed, reaped later. */
void monitor_cut_off(struct worker_record *worker, const char *why);

#endif
