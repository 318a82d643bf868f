/*
 * monitor/login_failures: failed logins per client address, across every
 * connection and worker, so parallel connections do not multiply an
 * attacker's guesses. Each failure from an address lengthens the delay
 * before its answer; ban_after_failures of them within ban_time ban the
 * address for ban_time (new connections and logins get 421).
 *
 * IPv6 addresses are grouped by their /64 (one host usually holds a whole
 * /64). The table is bounded: when it is full, the entry that matters least
 * (expired, else the oldest unbanned, else the ban ending soonest) makes
 * room, so a flood of addresses costs memory only up to the bound.
 */
#ifndef FTPD_LOGIN_FAILURES_H
#define FTPD_LOGIN_FAILURES_H

#include <time.h>

#include "monitor/message.h"

#define LOGIN_FAILURES_CAPACITY 4096
/* The longest a failed login's answer is held back for repeated failures. */
#define LOGIN_FAILURES_MAX_DELAY_MS 15000

struct login_failures;

struct login_failure_policy {
	unsigned ban_after_failures;	/* 0: never ban */
	unsigned ban_time;		/* seconds; also how long failures are remembered */
	unsigned base_delay_ms;		/* login_failure_delay: the session's own delay */
};

/* capacity: entries at most. NULL when out of memory. */
struct login_failures *login_failures_new(unsigned capacity);
void login_failures_free(struct login_failures *failures);

/* Seconds address stays banned from now, or 0 when it is not. */
unsigned login_failures_banned(struct login_failures *failures,
    const struct message_address *address, time_t now);

/*
 * A login from address failed at now. Returns the extra delay in
 * milliseconds before the failure is answered (0 for a first failure);
 * *banned_for is set to the ban's length when this failure started one.
 */
unsigned login_failures_record(struct login_failures *failures,
    const struct message_address *address, time_t now,
    const struct login_failure_policy *policy, unsigned *banned_for);

/*
 * Bans address (its /64 for IPv6) for seconds from now, unless a ban ending
 * later holds already: another instance's failures banned it (shared_state).
 */
void login_failures_ban(struct login_failures *failures, const struct message_address *address,
    time_t now, unsigned seconds);

/* Addresses (or /64 networks) remembered now. */
unsigned login_failures_count(const struct login_failures *failures);

#endif
