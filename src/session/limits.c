/*
 * session/limits: the limits of a logged-in user, taken from the config;
 * guests have a download rate of their own (vsftpd's anon_max_rate) and no
 * quota (they cannot write).
 */
#include <string.h>

#include "config/config.h"
#include "session/limits.h"

void
session_limits_from_config(struct session_limits *limits, const struct config *config,
    int anonymous)
{
	memset(limits, 0, sizeof(*limits));
	if (!anonymous) {
		limits->quota_bytes = config->quota_bytes;
		limits->quota_files = config->quota_files;
	}
	limits->max_rate_down = config->max_rate_down;
	limits->max_rate_up = config->max_rate_up;
	if (anonymous && config->anonymous_max_rate_down != CONFIG_SIZE_UNSET)
		limits->max_rate_down = config->anonymous_max_rate_down;
}
