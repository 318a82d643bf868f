/*
 * session/limits: the limits of a logged-in user, taken from the config and
 * then from the user store where it sets them (passwd_db); guests have a
 * download rate of their own (vsftpd's anon_max_rate) and no quota (they
 * cannot write).
 */
#include <string.h>

#include "config/config.h"
#include "portal/checkers/checkers.h"
#include "session/limits.h"

/* A value of the user store's, where it set one. */
static void
override(uint64_t *limit, uint64_t stored)
{
	if (stored != USER_LIMIT_UNSET)
		*limit = stored;
}

void
session_limits_from_config(struct session_limits *limits, const struct config *config,
    int anonymous, const struct user_settings *settings)
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
	if (anonymous || settings == NULL)
		return;
	override(&limits->quota_bytes, settings->quota_bytes);
	override(&limits->quota_files, settings->quota_files);
	override(&limits->max_rate_down, settings->max_rate_down);
	override(&limits->max_rate_up, settings->max_rate_up);
}
