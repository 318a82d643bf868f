/*
 * session/limits: what one logged-in user may use (quotas, transfer rates).
 * Every user gets the config's values today; a user database can fill them per user.
 */
#ifndef FTPD_SESSION_LIMITS_H
#define FTPD_SESSION_LIMITS_H

#include <stdint.h>

struct config;

struct session_limits {
	uint64_t quota_bytes;		/* what the home may hold; 0: no limit */
	uint64_t quota_files;
	uint64_t max_rate_down;		/* bytes per second; 0: unlimited */
	uint64_t max_rate_up;
};

/* The limits config sets for a user (anonymous: a guest). */
void session_limits_from_config(struct session_limits *limits, const struct config *config,
    int anonymous);

#endif
