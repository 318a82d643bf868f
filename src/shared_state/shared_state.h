/*
 * shared_state: what instances behind one balancer share through Redis
 * (shared_state = redis://...): sessions per client address, for
 * max_clients_per_ip across every instance; failed logins per address; bans.
 *
 * The monitor alone talks to Redis, on its loop, through one connection.
 * Each instance keeps its own session counts in a hash that it rewrites and
 * whose life (shared_state_ttl) it extends every third of that time, so the
 * counts of an instance that crashed expire on their own. Whatever Redis
 * cannot answer (down, silent, refusing) is decided by the instance's own
 * limits, and the log says so once when it starts and once when it ends.
 */
#ifndef FTPD_SHARED_STATE_H
#define FTPD_SHARED_STATE_H

#include <event2/event.h>

#include "config/config.h"
#include "monitor/limits.h"
#include "monitor/message.h"

/* How long a connection attempt, then an answer, may take before Redis counts as unreachable. */
#define SHARED_STATE_CONNECT_MS 1000
#define SHARED_STATE_ANSWER_MS 500
/* The wait between attempts while Redis is unreachable. */
#define SHARED_STATE_RETRY_MS 2000

struct shared_state;
struct shared_admission;
struct shared_login;
struct worker_pool;

enum shared_admit_verdict {
	SHARED_ADMIT_OK,			/* counted in Redis too */
	SHARED_ADMIT_TOO_MANY_FROM_ADDRESS,	/* max_clients_per_ip, all instances together */
	SHARED_ADMIT_BANNED,			/* a ban started on some instance */
	SHARED_ADMIT_UNANSWERED,		/* Redis did not answer: the local verdict stands */
};

/* retry_after: seconds the ban lasts, with SHARED_ADMIT_BANNED. */
typedef void (*shared_admitted_fn)(void *arg, enum shared_admit_verdict verdict,
    unsigned retry_after);
enum shared_login_verdict {
	SHARED_LOGIN_OK,			/* counted in Redis too */
	SHARED_LOGIN_TOO_MANY_FOR_USER,		/* max_sessions_per_user, all instances together */
	SHARED_LOGIN_UNANSWERED,		/* Redis did not answer: the local verdict stands */
};

typedef void (*shared_logged_in_fn)(void *arg, enum shared_login_verdict verdict);

/* Redis says address is banned for seconds (failures on every instance together). */
typedef void (*shared_banned_fn)(void *owner, const struct message_address *address,
    unsigned seconds);

/*
 * For config->shared_state (NULL when it is none, or out of memory: then
 * *failed is set). sessions is the instance's session table, read at each
 * refresh; it must outlive the shared state. Connecting starts at once, off
 * to the side: nothing waits for it. A host the configuration check could
 * not resolve is looked up in one of threads (which must outlive the state)
 * before each attempt.
 */
struct shared_state *shared_state_new(struct event_base *base, struct worker_pool *threads,
    const struct config *config, const struct limits *sessions, shared_banned_fn banned,
    void *owner, int *failed);

/* Drops the connection; answers still awaited come back as SHARED_ADMIT_UNANSWERED. */
void shared_state_free(struct shared_state *state);

/* 1 when config names the same Redis with the same TTL (a reload keeps the connection). */
int shared_state_is_for(const struct shared_state *state, const struct config *config);

/*
 * A session from address was admitted by the instance's own limits (and is
 * counted there): asks Redis whether the address is banned or has
 * max_per_address (0: no limit) sessions on the instances together, and
 * counts it there when not. done() follows, never before this returns.
 * NULL, and done() never called, while Redis is unreachable or out of memory.
 */
struct shared_admission *shared_state_admit(struct shared_state *state,
    const struct message_address *address, unsigned max_per_address,
    shared_admitted_fn done, void *arg);

/* The asker is gone: done() is not called; a session counted meanwhile is given back. */
void shared_state_admission_cancel(struct shared_admission *admission);

/*
 * A session this instance's limits let log in as user (a name, not a
 * guest): asks Redis whether max_per_user sessions (0: no limit) are logged
 * in as user on every instance together, counting it there if not. done
 * runs once, later. NULL when Redis cannot be asked now: the local verdict
 * stands.
 */
struct shared_login *shared_state_login(struct shared_state *state, const char *user,
    unsigned max_per_user, shared_logged_in_fn done, void *arg);

/* The caller went away: done will not run (a count Redis made is given back). */
void shared_state_login_cancel(struct shared_login *login);

/* A session logged in as user (counted by shared_state_login or a refresh) logged out or ended. */
void shared_state_logged_out(struct shared_state *state, const char *user);

/* A session admitted with SHARED_ADMIT_OK ended. */
void shared_state_session_ended(struct shared_state *state,
    const struct message_address *address);

/*
 * The session table changed other than one session at a time (a worker
 * died with its sessions): this instance's counts are written anew now,
 * not at the next refresh. NULL: nothing.
 */
void shared_state_sessions_changed(struct shared_state *state);

/*
 * A login from address failed: counted in Redis for ban_time seconds;
 * ban_after failures (0: never) from every instance together ban the
 * address there, and banned() tells this instance.
 */
void shared_state_login_failed(struct shared_state *state,
    const struct message_address *address, unsigned ban_after, unsigned ban_time);

/* For tests and the log: the key text of address ("192.0.2.7"; IPv6 by /64: "2001:db8::/64"). */
void shared_state_address_key(const struct message_address *address, int by_network,
    char *text, size_t size);

#endif
