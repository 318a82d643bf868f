/*
 * monitor/limits: how many sessions there are in all, per client address
 * (and how many of those have not logged in), and per user, for
 * max_clients, max_clients_per_ip, max_prelogin_per_ip and
 * max_sessions_per_user. The monitor keeps the one table that counts across
 * every worker, and one per worker of what that worker was given; a server
 * without a monitor keeps its own.
 *
 * A session is counted from its admission, first as "not logged in"; a login
 * moves it to "logged in" and, unless anonymous, counts it for its user.
 */
#ifndef FTPD_LIMITS_H
#define FTPD_LIMITS_H

#include "config/config.h"
#include "monitor/message.h"

#define LIMITS_BUCKETS 256

struct address_count;
struct user_count;

struct limits {
	unsigned total;
	struct address_count *addresses[LIMITS_BUCKETS];
	struct user_count *users[LIMITS_BUCKETS];
};

void limits_init(struct limits *limits);
/* Frees every entry. */
void limits_clear(struct limits *limits);

/* Sessions counted for address now, and how many of them have not logged in. */
unsigned limits_sessions_from(const struct limits *limits, const struct message_address *address);
unsigned limits_not_logged_in_from(const struct limits *limits,
    const struct message_address *address);
/* Logged-in sessions counted for user now. */
unsigned limits_sessions_of(const struct limits *limits, const char *user);

/*
 * Counts a new session from address, not logged in, unless max_clients,
 * max_clients_per_ip or max_prelogin_per_ip (of config; 0: no limit) would
 * be exceeded. Returns the verdict; only MESSAGE_ADMIT_OK counted it. Out
 * of memory, the session is counted in the total only (the per-address
 * limits are best effort).
 */
enum message_verdict limits_admit(struct limits *limits, const struct message_address *address,
    const struct config *config);

/*
 * A session from address logged in as user (NULL: anonymous, never counted
 * per user), unless max_sessions_per_user would be exceeded. Returns
 * MESSAGE_LOGIN_OK when it moved the session to "logged in".
 */
enum message_login_verdict limits_login(struct limits *limits,
    const struct message_address *address, const char *user, const struct config *config);

/*
 * A logged-in session logs out (to log in anew): it counts as not logged in
 * again. 0, or -ENOENT when no such session is counted (nothing changes).
 */
int limits_logout(struct limits *limits, const struct message_address *address,
    const char *user);

/* Counts a session without checking the limits (one moved between tables). */
void limits_add(struct limits *limits, const struct message_address *address, int logged_in,
    const char *user);

/*
 * A session ended: logged_in and user as it was counted. 0, or -ENOENT when
 * no such session is counted (nothing changes then).
 */
int limits_remove(struct limits *limits, const struct message_address *address, int logged_in,
    const char *user);

/* Calls each(arg, address, sessions) for every address that has sessions. */
void limits_for_each_address(const struct limits *limits,
    void (*each)(void *arg, const struct message_address *address, unsigned sessions),
    void *arg);

/* Calls each(arg, user, sessions) for every user with logged-in sessions. */
void limits_for_each_user(const struct limits *limits,
    void (*each)(void *arg, const char *user, unsigned sessions), void *arg);

/* Takes away from limits everything part counts (a worker's sessions, at its end). */
void limits_subtract(struct limits *limits, const struct limits *part);

#endif
