/*
 * session/limits: what one logged-in user may use (quotas, transfer rates):
 * the config's values, or what the user store sets for that user.
 */
#ifndef FTPD_SESSION_LIMITS_H
#define FTPD_SESSION_LIMITS_H

#include <stdint.h>

struct config;
struct user_settings;

struct session_limits {
	uint64_t quota_bytes;		/* what the home may hold; 0: no limit */
	uint64_t quota_files;
	uint64_t max_rate_down;		/* bytes per second; 0: unlimited */
	uint64_t max_rate_up;
};

/*
 * The limits config sets for a user (anonymous: a guest), each replaced by
 * the one settings gives (the user store's; NULL: none), unless unset.
 */
void session_limits_from_config(struct session_limits *limits, const struct config *config,
    int anonymous, const struct user_settings *settings);

#endif
